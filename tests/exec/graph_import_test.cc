#include "ckpt/graph_import.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

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

}  // namespace
}  // namespace ckpt
