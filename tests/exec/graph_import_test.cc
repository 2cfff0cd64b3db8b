#include "ckpt/graph_import.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using testing::Floats;
using testing::StatusIs;

tensorflow::GraphDef ParseGraph(const std::string& text) {
  tensorflow::GraphDef graph;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &graph)) << text;
  return graph;
}

TEST(ParseTensorNameTest, OpAloneIsOutputZero) {
  CKPT_ASSERT_OK_AND_ASSIGN(TensorName name, ParseTensorName("dense/BiasAdd"));
  EXPECT_EQ(name.node, "dense/BiasAdd");
  EXPECT_EQ(name.index, 0);
  EXPECT_FALSE(name.is_control());
  EXPECT_EQ(name.ToString(), "dense/BiasAdd:0");
}

TEST(ParseTensorNameTest, ExplicitIndex) {
  CKPT_ASSERT_OK_AND_ASSIGN(TensorName name, ParseTensorName("split:12"));
  EXPECT_EQ(name.node, "split");
  EXPECT_EQ(name.index, 12);
}

TEST(ParseTensorNameTest, ControlInputOnlyWhereAllowed) {
  CKPT_ASSERT_OK_AND_ASSIGN(TensorName name, ParseTensorName("^init", /*allow_control=*/true));
  EXPECT_EQ(name.node, "init");
  EXPECT_TRUE(name.is_control());
  EXPECT_EQ(name.ToString(), "^init");
  EXPECT_THAT(ParseTensorName("^init"), StatusIs(StatusCode::kInvalidArgument, "control input"));
}

TEST(ParseTensorNameTest, MalformedNames) {
  for (const char* bad : {"", ":0", "x:", "x:a", "x:-1", "x:1a", "^"}) {
    EXPECT_THAT(ParseTensorName(bad, true), StatusIs(StatusCode::kInvalidArgument, "'"))
        << "'" << bad << "'";
  }
}

TEST(ImportedGraphTest, IndexesNodesByName) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportedGraph::FromGraphDef(ParseGraph(R"(
    node { name: "a" op: "Placeholder" }
    node { name: "b" op: "Identity" input: "a" input: "^a" })")));
  EXPECT_EQ(graph->num_nodes(), 2);
  ASSERT_NE(graph->FindNode("b"), nullptr);
  EXPECT_EQ(graph->FindNode("b")->op(), "Identity");
  EXPECT_EQ(graph->FindNode("c"), nullptr);
  CKPT_ASSERT_OK_AND_ASSIGN(const tensorflow::NodeDef* a, graph->GetNodeOfTensor("a:0"));
  EXPECT_EQ(a->name(), "a");
  EXPECT_EQ(graph->saver_def(), nullptr);
  EXPECT_TRUE(graph->collections().empty());
}

TEST(ImportedGraphTest, MissingTensorIsNotFoundInTensorFlowsWords) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportedGraph::FromGraphDef(ParseGraph(R"(
    node { name: "a" op: "Placeholder" })")));
  EXPECT_THAT(graph->GetNodeOfTensor("out:0"),
              StatusIs(StatusCode::kNotFound,
                       "The name 'out:0' refers to a Tensor which does not exist. The "
                       "operation, 'out', does not exist in this graph."));
  EXPECT_THAT(graph->GetNodeOfTensor("a:x"), StatusIs(StatusCode::kInvalidArgument, "'a:x'"));
}

TEST(ImportedGraphTest, OutputCountsFromTheOpRegistry) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportedGraph::FromGraphDef(ParseGraph(R"(
    node { name: "a" op: "NoOp" }
    node { name: "n" op: "RestoreV2"
           attr { key: "dtypes" value { list { type: DT_FLOAT type: DT_INT32 } } } }
    node { name: "m" op: "RestoreV2" }
    node { name: "custom" op: "MyOwnOp" })")));
  EXPECT_EQ(NumOutputs(*graph->FindNode("a")), 0);
  EXPECT_EQ(NumOutputs(*graph->FindNode("n")), 2);   // one per type in dtypes
  EXPECT_EQ(NumOutputs(*graph->FindNode("m")), -1);  // dtypes missing: unknown
  EXPECT_EQ(NumOutputs(*graph->FindNode("custom")), -1);
  CKPT_EXPECT_OK(graph->GetNodeOfTensor("n:1").status());
  EXPECT_THAT(
      graph->GetNodeOfTensor("n:2"),
      StatusIs(StatusCode::kNotFound, "The operation, 'n', exists but only has 2 outputs."));
  EXPECT_THAT(graph->GetNodeOfTensor("a:0"), StatusIs(StatusCode::kNotFound, "only has 0 outputs"));
  CKPT_EXPECT_OK(graph->GetNodeOfTensor("custom:7").status());  // not checkable
}

TEST(ImportedGraphTest, RejectsDuplicateNames) {
  EXPECT_THAT(ImportedGraph::FromGraphDef(ParseGraph(R"(
    node { name: "a" op: "NoOp" }
    node { name: "a" op: "NoOp" })")),
              StatusIs(StatusCode::kInvalidArgument, "'a' is defined more than once"));
}

TEST(ImportedGraphTest, RejectsUnknownInput) {
  EXPECT_THAT(ImportedGraph::FromGraphDef(ParseGraph(R"(
    node { name: "y" op: "Identity" input: "x:0" })")),
              StatusIs(StatusCode::kInvalidArgument, "Node 'y': Unknown input node 'x:0'"));
  EXPECT_THAT(ImportedGraph::FromGraphDef(ParseGraph(R"(
    node { name: "y" op: "NoOp" input: "^x" })")),
              StatusIs(StatusCode::kInvalidArgument, "Unknown input node '^x'"));
}

TEST(ImportedGraphTest, RejectsNamelessNode) {
  EXPECT_THAT(ImportedGraph::FromGraphDef(ParseGraph(R"(node { op: "NoOp" })")),
              StatusIs(StatusCode::kInvalidArgument, "has no name"));
}

// A MetaGraphDef as ckpt writes it: a variable, a Saver, a train_op collection.
tensorflow::MetaGraphDef BuildMeta() {
  GraphBuilder b;
  b.Variable("w", Tensor::FromVector<float>({2}, {1, 2}));
  std::string noop = b.NoOp("train");
  b.AddToCollection("train_op", noop);
  tensorflow::SaverDef saver = AddSaverSubgraph(&b).value();
  return BuildMetaGraphDef(b, &saver).value();
}

TEST(ImportedGraphTest, MetaGraphKeepsCollectionsAndSaverDef) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportedGraph::FromMetaGraphDef(BuildMeta()));
  ASSERT_NE(graph->saver_def(), nullptr);
  EXPECT_EQ(graph->saver_def()->restore_op_name(), "save/restore_all");
  EXPECT_EQ(graph->saver_def()->filename_tensor_name(), "save/Const:0");
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<std::string> train_op,
                            graph->NodeListCollection("train_op"));
  EXPECT_EQ(train_op, std::vector<std::string>{"train"});
  EXPECT_EQ(graph->collections().count("variables"), 1u);
  EXPECT_THAT(graph->NodeListCollection("variables"),
              StatusIs(StatusCode::kInvalidArgument, "not a node_list"));
  EXPECT_THAT(graph->NodeListCollection("nope"), StatusIs(StatusCode::kNotFound, "'nope'"));
}

TEST(ImportMetaGraphTest, ReadsAFile) {
  const std::string path = testing::TempDir() + "/model.meta";
  CKPT_ASSERT_OK(WriteMetaGraph(Env::Posix(), path, BuildMeta()));
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportMetaGraph(Env::Posix(), path));
  EXPECT_NE(graph->FindNode("w"), nullptr);
  EXPECT_NE(graph->saver_def(), nullptr);
  EXPECT_THAT(ImportMetaGraph(Env::Posix(), testing::TempDir() + "/missing.meta"),
              StatusIs(StatusCode::kNotFound, ""));
}

TEST(ImportMetaGraphTest, GarbageIsDataLoss) {
  const std::string path = testing::TempDir() + "/garbage.meta";
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), path, "\xff\xff\xff not a proto"));
  EXPECT_THAT(ImportMetaGraph(Env::Posix(), path), StatusIs(StatusCode::kDataLoss, ""));
}

TEST(ImportMetaGraphTest, ImportErrorsNameTheFile) {
  tensorflow::MetaGraphDef meta;
  *meta.mutable_graph_def() = ParseGraph(R"(node { name: "y" op: "Identity" input: "x" })");
  const std::string path = testing::TempDir() + "/bad_input.meta";
  CKPT_ASSERT_OK(WriteMetaGraph(Env::Posix(), path, meta));
  EXPECT_THAT(ImportMetaGraph(Env::Posix(), path),
              StatusIs(StatusCode::kInvalidArgument, "bad_input.meta"));
}

TEST(ImportGraphDefTest, ReadsTextAndBinaryGraphs) {
  const tensorflow::GraphDef graph_def = BuildMeta().graph_def();
  std::string binary, text;
  ASSERT_TRUE(graph_def.SerializeToString(&binary));
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(graph_def, &text));
  const std::string dir = testing::TempDir();
  // Text by name, binary by name, and text under a binary-looking name.
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"graph.pbtxt", text}, {"graph.pb", binary}, {"text_graph.pb", text}}) {
    CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), dir + "/" + name, bytes));
    CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportGraphDef(Env::Posix(), dir + "/" + name));
    EXPECT_EQ(graph->num_nodes(), graph_def.node_size()) << name;
    EXPECT_NE(graph->FindNode("w"), nullptr) << name;
    EXPECT_EQ(graph->saver_def(), nullptr) << name;
  }
  // Binary bytes under a text name do not parse as text.
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), dir + "/binary.pbtxt", binary));
  EXPECT_THAT(ImportGraphDef(Env::Posix(), dir + "/binary.pbtxt"),
              StatusIs(StatusCode::kDataLoss, "binary.pbtxt is not a text GraphDef"));
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), dir + "/junk.pb", "\xff\xff{ not"));
  EXPECT_THAT(ImportGraphDef(Env::Posix(), dir + "/junk.pb"),
              StatusIs(StatusCode::kDataLoss, "junk.pb is neither a binary nor a text GraphDef"));
  EXPECT_THAT(ImportGraphDef(Env::Posix(), dir + "/missing.pb"),
              StatusIs(StatusCode::kNotFound, ""));
}

// A SavedModel-style meta graph: two signatures and an asset.
tensorflow::MetaGraphDef MetaWithSignatures() {
  tensorflow::MetaGraphDef meta = BuildMeta();
  EXPECT_TRUE(google::protobuf::TextFormat::MergeFromString(R"(
    signature_def {
      key: "serving_default"
      value {
        inputs { key: "x" value { name: "w:0" dtype: DT_FLOAT
                                  tensor_shape { dim { size: -1 } dim { size: 2 } } } }
        outputs { key: "y" value { name: "w/read:0" dtype: DT_FLOAT } }
        method_name: "tensorflow/serving/predict"
      }
    }
    signature_def {
      key: "another"
      value { outputs { key: "sparse" value { coo_sparse { values_tensor_name: "v:0" } } } }
    }
    asset_file_def { tensor_info { name: "vocab_path:0" dtype: DT_STRING } filename: "vocab.txt" }
  )",
                                                            &meta));
  return meta;
}

TEST(SignatureTest, MetaGraphKeepsSignaturesAndAssets) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportedGraph::FromMetaGraphDef(MetaWithSignatures()));
  EXPECT_EQ(graph->signatures().size(), 2u);
  CKPT_ASSERT_OK_AND_ASSIGN(const tensorflow::SignatureDef* sig,
                            graph->Signature("serving_default"));
  EXPECT_EQ(sig->method_name(), "tensorflow/serving/predict");
  ASSERT_EQ(sig->inputs().count("x"), 1u);
  EXPECT_EQ(sig->inputs().at("x").name(), "w:0");
  EXPECT_EQ(sig->inputs().at("x").tensor_shape().dim(1).size(), 2);
  EXPECT_EQ(sig->outputs().at("y").dtype(), tensorflow::DT_FLOAT);
  ASSERT_EQ(graph->asset_files().size(), 1);
  EXPECT_EQ(graph->asset_files()[0].filename(), "vocab.txt");
  EXPECT_EQ(graph->asset_files()[0].tensor_info().name(), "vocab_path:0");
  // The rest of the meta graph is imported as before.
  EXPECT_NE(graph->saver_def(), nullptr);
}

TEST(SignatureTest, UnknownKeyListsTheKeysSorted) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportedGraph::FromMetaGraphDef(MetaWithSignatures()));
  EXPECT_THAT(graph->Signature("predict"),
              StatusIs(StatusCode::kNotFound,
                       "No signature 'predict' in the meta graph; it has 'another', "
                       "'serving_default'"));
}

TEST(SignatureTest, GraphDefAndSaverMetaHaveNone) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto from_meta, ImportedGraph::FromMetaGraphDef(BuildMeta()));
  CKPT_ASSERT_OK_AND_ASSIGN(auto from_graph, ImportedGraph::FromGraphDef(BuildMeta().graph_def()));
  for (const auto& graph : {from_meta, from_graph}) {
    EXPECT_TRUE(graph->signatures().empty());
    EXPECT_TRUE(graph->asset_files().empty());
    EXPECT_THAT(graph->Signature("serving_default"),
                StatusIs(StatusCode::kNotFound,
                         "No signature 'serving_default': the meta graph has no signatures"));
  }
}

TEST(SignatureTest, SignaturesSurviveAMetaFile) {
  const std::string path = testing::TempDir() + "/signed.meta";
  CKPT_ASSERT_OK(WriteMetaGraph(Env::Posix(), path, MetaWithSignatures()));
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportMetaGraph(Env::Posix(), path));
  CKPT_ASSERT_OK_AND_ASSIGN(const tensorflow::SignatureDef* sig, graph->Signature("another"));
  EXPECT_EQ(sig->outputs().at("sparse").coo_sparse().values_tensor_name(), "v:0");
}

TEST(SignatureTest, DenseTensorNameRefusesSparseAndComposite) {
  tensorflow::TensorInfo info;
  info.set_name("x:0");
  CKPT_ASSERT_OK_AND_ASSIGN(std::string name, DenseTensorName(info, "input 'x'"));
  EXPECT_EQ(name, "x:0");
  info.mutable_coo_sparse()->set_values_tensor_name("v:0");
  EXPECT_THAT(DenseTensorName(info, "input 'x'"),
              StatusIs(StatusCode::kUnimplemented, "input 'x' is a sparse tensor (coo_sparse)"));
  info.mutable_composite_tensor()->add_components()->set_name("c:0");
  EXPECT_THAT(DenseTensorName(info, "output 'r'"),
              StatusIs(StatusCode::kUnimplemented, "output 'r' is a composite tensor"));
  info.Clear();
  EXPECT_THAT(DenseTensorName(info, "output 'r'"),
              StatusIs(StatusCode::kInvalidArgument, "output 'r' names no tensor"));
  info.set_name("");
  EXPECT_THAT(DenseTensorName(info, "output 'r'"),
              StatusIs(StatusCode::kInvalidArgument, "names no tensor"));
}

// serving_default: inputs "b" (float [?, 2]) and "a" (int32, any shape;
// default 1), outputs "z", "y", "x"; "sparse": a coo_sparse input;
// "bad_defaults": a default of the wrong dtype ("f"), one that does not
// parse (two values for a scalar, "g").
std::shared_ptr<const ImportedGraph> GraphToResolve() {
  tensorflow::MetaGraphDef meta = BuildMeta();
  EXPECT_TRUE(google::protobuf::TextFormat::MergeFromString(R"(
    signature_def {
      key: "serving_default"
      value {
        inputs { key: "b" value { name: "b_in:0" dtype: DT_FLOAT
                                  tensor_shape { dim { size: -1 } dim { size: 2 } } } }
        inputs { key: "a" value { name: "a_in:0" dtype: DT_INT32
                                  tensor_shape { unknown_rank: true } } }
        outputs { key: "z" value { name: "z_out:0" } }
        outputs { key: "y" value { name: "y_out:0" } }
        outputs { key: "x" value { name: "x_out:1" } }
        defaults { key: "a" value { dtype: DT_INT32 int_val: 1 } }
      }
    }
    signature_def {
      key: "sparse"
      value { inputs { key: "s" value { coo_sparse { values_tensor_name: "v:0" } } } }
    }
    signature_def {
      key: "bad_defaults"
      value {
        inputs { key: "f" value { name: "f:0" dtype: DT_INT32 } }
        inputs { key: "g" value { name: "g:0" dtype: DT_INT32 } }
        defaults { key: "f" value { dtype: DT_FLOAT float_val: 1 } }
        defaults { key: "g" value { dtype: DT_INT32 int_val: 1 int_val: 2 } }
      }
    }
  )",
                                                            &meta));
  return ImportedGraph::FromMetaGraphDef(std::move(meta)).value();
}

TEST(ResolveSignatureTest, MapsKeysToTensorsAndOutputsSortedByDefault) {
  auto graph = GraphToResolve();
  Tensor b = Tensor::FromVector<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  CKPT_ASSERT_OK_AND_ASSIGN(
      ImportedGraph::SignatureRun run,
      graph->ResolveSignature("serving_default", {{"b", b}, {"a", Tensor::Scalar<int32_t>(7)}}));
  ASSERT_EQ(run.feeds.size(), 2u);
  EXPECT_EQ(run.feeds[0].first, "b_in:0");
  EXPECT_EQ(Floats(run.feeds[0].second), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(run.feeds[1].first, "a_in:0");
  EXPECT_EQ(run.output_keys, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(run.fetches, (std::vector<std::string>{"x_out:1", "y_out:0", "z_out:0"}));
  // Chosen outputs, in the order asked; "a" left out is fed its default, 1.
  CKPT_ASSERT_OK_AND_ASSIGN(run,
                            graph->ResolveSignature("serving_default", {{"b", b}}, {"z", "x"}));
  ASSERT_EQ(run.feeds.size(), 2u);
  EXPECT_EQ(run.feeds[1].first, "a_in:0");
  EXPECT_EQ(run.feeds[1].second.dtype(), DataType::kInt32);
  EXPECT_EQ(run.feeds[1].second.shape(), TensorShape());
  EXPECT_EQ(*run.feeds[1].second.flat<int32_t>(), 1);
  EXPECT_EQ(run.output_keys, (std::vector<std::string>{"z", "x"}));
  EXPECT_EQ(run.fetches, (std::vector<std::string>{"z_out:0", "x_out:1"}));
}

TEST(ResolveSignatureTest, Errors) {
  auto graph = GraphToResolve();
  const Tensor b = Tensor::FromVector<float>({1, 2}, {1, 2});
  EXPECT_THAT(graph->ResolveSignature("predict", {{"b", b}}),
              StatusIs(StatusCode::kNotFound, "No signature 'predict'"));
  EXPECT_THAT(graph->ResolveSignature("serving_default", {{"c", b}}),
              StatusIs(StatusCode::kInvalidArgument,
                       "signature 'serving_default' has no input 'c'; its inputs: 'a', 'b'"));
  EXPECT_THAT(graph->ResolveSignature("serving_default", {{"b", b}}, {"w"}),
              StatusIs(StatusCode::kInvalidArgument,
                       "signature 'serving_default' has no output 'w'; its outputs: 'x', 'y', "
                       "'z'"));
  EXPECT_THAT(graph->ResolveSignature("serving_default", {{"b", b}, {"b", b}}),
              StatusIs(StatusCode::kInvalidArgument, "input 'b' given more than once"));
  EXPECT_THAT(
      graph->ResolveSignature("serving_default", {}),
      StatusIs(StatusCode::kInvalidArgument, "signature 'serving_default': input 'b' not fed"));
  EXPECT_THAT(
      graph->ResolveSignature("serving_default",
                              {{"b", Tensor::FromVector<double>({1, 2}, {1, 2})}}),
      StatusIs(StatusCode::kInvalidArgument,
               "signature 'serving_default': input 'b' (tensor b_in:0): expects dtype float, the "
               "value is double"));
  EXPECT_THAT(
      graph->ResolveSignature("serving_default", {{"b", Tensor::FromVector<float>({2}, {1, 2})}}),
      StatusIs(StatusCode::kInvalidArgument, "expects shape [?, 2], the value is [2]"));
  EXPECT_THAT(graph->ResolveSignature("serving_default",
                                      {{"b", Tensor::FromVector<float>({1, 3}, {1, 2, 3})}}),
              StatusIs(StatusCode::kInvalidArgument, "expects shape [?, 2], the value is [1, 3]"));
  // An unknown rank takes any shape.
  CKPT_EXPECT_OK(
      graph
          ->ResolveSignature("serving_default",
                             {{"b", b}, {"a", Tensor::FromVector<int32_t>({2, 1}, {1, 2})}})
          .status());
  // Defaults are checked as given values are, and must parse.
  EXPECT_THAT(graph->ResolveSignature("bad_defaults", {{"g", Tensor::Scalar<int32_t>(0)}}),
              StatusIs(StatusCode::kInvalidArgument,
                       "signature 'bad_defaults': the default of input 'f' (tensor f:0): expects "
                       "dtype int32, the value is float"));
  EXPECT_THAT(
      graph->ResolveSignature("bad_defaults", {{"f", Tensor::Scalar<int32_t>(0)}}),
      StatusIs(StatusCode::kDataLoss, "signature 'bad_defaults': the default of input 'g'"));
  EXPECT_THAT(graph->ResolveSignature("sparse", {{"s", b}}),
              StatusIs(StatusCode::kUnimplemented,
                       "input 's' of signature 'sparse' is a sparse tensor (coo_sparse)"));
}

// TF 1.14 wrote this SavedModel; saved_model_cli show --all lists its five
// signatures (serving_default: x:0 -> y:0, float, shape (-1, 1)).
TEST(SignatureTest, TensorFlowsHalfPlusTwoSignatures) {
  const std::string dir = testing::TestDataPath(
      "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/"
      "00000123");
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph,
                            ImportSavedModel(Env::Posix(), dir + "/saved_model.pb", {"serve"}));
  std::set<std::string> keys;
  for (const auto& entry : graph->signatures()) keys.insert(entry.first);
  EXPECT_EQ(keys, (std::set<std::string>{"classify_x_to_y", "regress_x2_to_y3", "regress_x_to_y",
                                         "regress_x_to_y2", "serving_default"}));
  CKPT_ASSERT_OK_AND_ASSIGN(const tensorflow::SignatureDef* sig,
                            graph->Signature("serving_default"));
  EXPECT_EQ(sig->method_name(), "tensorflow/serving/predict");
  const tensorflow::TensorInfo& x = sig->inputs().at("x");
  EXPECT_EQ(x.name(), "x:0");
  EXPECT_EQ(x.dtype(), tensorflow::DT_FLOAT);
  ASSERT_EQ(x.tensor_shape().dim_size(), 2);
  EXPECT_EQ(x.tensor_shape().dim(0).size(), -1);
  EXPECT_EQ(x.tensor_shape().dim(1).size(), 1);
  EXPECT_EQ(sig->outputs().at("y").name(), "y:0");
  CKPT_ASSERT_OK_AND_ASSIGN(sig, graph->Signature("classify_x_to_y"));
  EXPECT_EQ(sig->inputs().at("inputs").dtype(), tensorflow::DT_STRING);
  EXPECT_TRUE(sig->inputs().at("inputs").tensor_shape().unknown_rank());
}

}  // namespace
}  // namespace ckpt
