// The Saver subgraph, MetaGraphDef export, .meta / graph.pbtxt files and
// reading TF-written meta graphs (C1, C2 and section D of the testdata).
#include <google/protobuf/util/message_differencer.h>

#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "ckpt/saved_model.h"
#include "ckpt/saver.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;

std::vector<std::string> Inputs(const MetaGraphInfo& info, const std::string& node) {
  const auto* n = info.FindNode(node);
  return n ? n->inputs : std::vector<std::string>{"<no node " + node + ">"};
}

// x -> dense (w, b) with two variables, as in TF's reference graph.
struct SmallModel {
  GraphBuilder g;
  GraphVariable w, b;
  SmallModel() {
    Output x = g.Placeholder(DataType::kFloat, PartialShape{-1, 2}, "x");
    auto s = g.NameScope("dense");
    w = g.Variable("kernel", Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4}));
    b = g.Variable("bias", Tensor::FromVector<float>({2}, {5, 6}));
    g.BiasAdd(g.MatMul(x, w.read), b.read);
  }
};

TEST(SaverGraphTest, StructureMatchesTfSaver) {
  SmallModel m;
  GraphVariable gs = m.g.GlobalStep();
  auto def = AddSaverSubgraph(&m.g);
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->filename_tensor_name(), "save/Const:0");
  EXPECT_EQ(def->save_tensor_name(), "save/control_dependency:0");
  EXPECT_EQ(def->restore_op_name(), "save/restore_all");
  EXPECT_EQ(def->max_to_keep(), 5);
  EXPECT_EQ(def->keep_checkpoint_every_n_hours(), 10000.0f);
  EXPECT_FALSE(def->sharded());
  EXPECT_EQ(def->version(), tensorflow::SaverDef::V2);

  auto meta = BuildMetaGraphDef(m.g, &*def);
  ASSERT_TRUE(meta.ok()) << meta.status();
  auto info = DescribeMetaGraph(*meta);
  ASSERT_TRUE(info.ok());
  std::vector<std::string> save_nodes;
  for (const auto& n : info->nodes) {
    if (n.name.rfind("save/", 0) == 0) save_nodes.push_back(n.name + " " + n.op);
  }
  EXPECT_THAT(save_nodes,
              ElementsAre("save/filename/input Const", "save/filename PlaceholderWithDefault",
                          "save/Const PlaceholderWithDefault", "save/SaveV2/tensor_names Const",
                          "save/SaveV2/shape_and_slices Const", "save/SaveV2 SaveV2",
                          "save/control_dependency Identity", "save/RestoreV2/tensor_names Const",
                          "save/RestoreV2/shape_and_slices Const", "save/RestoreV2 RestoreV2",
                          "save/Assign Assign", "save/Assign_1 Assign", "save/Assign_2 Assign",
                          "save/restore_all NoOp"));
  EXPECT_THAT(Inputs(*info, "save/filename"), ElementsAre("save/filename/input"));
  EXPECT_THAT(Inputs(*info, "save/Const"), ElementsAre("save/filename"));
  // Sorted by name: dense/bias, dense/kernel, global_step.
  EXPECT_THAT(Inputs(*info, "save/SaveV2"),
              ElementsAre("save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices",
                          "dense/bias", "dense/kernel", "global_step"));
  EXPECT_THAT(Inputs(*info, "save/control_dependency"), ElementsAre("save/Const", "^save/SaveV2"));
  EXPECT_THAT(Inputs(*info, "save/Assign"), ElementsAre("dense/bias", "save/RestoreV2"));
  EXPECT_THAT(Inputs(*info, "save/Assign_1"), ElementsAre("dense/kernel", "save/RestoreV2:1"));
  EXPECT_THAT(Inputs(*info, "save/Assign_2"), ElementsAre("global_step", "save/RestoreV2:2"));
  EXPECT_THAT(Inputs(*info, "save/restore_all"),
              ElementsAre("^save/Assign", "^save/Assign_1", "^save/Assign_2"));
  EXPECT_EQ(info->FindNode("save/RestoreV2")->device, "/device:CPU:0");
  EXPECT_EQ(info->FindNode("save/RestoreV2/tensor_names")->device, "/device:CPU:0");

  const auto& graph = meta->graph_def();
  for (const auto& n : graph.node()) {
    if (n.name() == "save/SaveV2/tensor_names") {
      EXPECT_THAT(n.attr().at("value").tensor().string_val(),
                  ElementsAre("dense/bias", "dense/kernel", "global_step"));
      EXPECT_EQ(n.attr().at("value").tensor().tensor_shape().dim(0).size(), 3);
    }
    if (n.name() == "save/SaveV2") {
      EXPECT_THAT(n.attr().at("dtypes").list().type(),
                  ElementsAre(tensorflow::DT_FLOAT, tensorflow::DT_FLOAT, tensorflow::DT_INT64));
    }
    if (n.name() == "save/filename/input") {
      EXPECT_EQ(n.attr().at("value").tensor().string_val(0), "model");
    }
    if (n.name() == "save/Assign_1") {
      EXPECT_EQ(n.attr().at("_class").list().s(0), "loc:@dense/kernel");
    }
  }
  // A second saver gets its own scope.
  auto def2 = AddSaverSubgraph(&m.g, {m.w});
  ASSERT_TRUE(def2.ok());
  EXPECT_EQ(def2->filename_tensor_name(), "save_1/Const:0");
  EXPECT_EQ(def2->restore_op_name(), "save_1/restore_all");
}

TEST(SaverGraphTest, Errors) {
  SmallModel m;
  EXPECT_THAT(AddSaverSubgraph(&m.g, std::vector<GraphVariable>{}),
              StatusIs(StatusCode::kInvalidArgument, "No variables to save"));
  EXPECT_THAT(AddSaverSubgraph(&m.g, {m.w, m.w}),
              StatusIs(StatusCode::kInvalidArgument, "duplicate variable"));
  SaverGraphOptions sharded;
  sharded.sharded = true;
  EXPECT_THAT(AddSaverSubgraph(&m.g, sharded), StatusIs(StatusCode::kUnimplemented, "sharded"));
  GraphVariable foreign;
  foreign.name = "nope";
  EXPECT_THAT(AddSaverSubgraph(&m.g, {foreign}),
              StatusIs(StatusCode::kInvalidArgument, "not in the graph"));
  SaverOptions so;
  so.max_to_keep = 3;
  so.keep_checkpoint_every_n_hours = 2.5;
  auto def = AddSaverSubgraph(&m.g, SaverGraphOptions::FromSaverOptions(so));
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->max_to_keep(), 3);
  EXPECT_EQ(def->keep_checkpoint_every_n_hours(), 2.5f);
}

TEST(MetaGraphTest, ExportHasOpsVersionsAndCollections) {
  SmallModel m;
  m.g.GlobalStep();
  m.g.AddToCollection("train_op", m.g.GlobalVariablesInitializer());
  auto def = AddSaverSubgraph(&m.g);
  ASSERT_TRUE(def.ok());
  auto meta = BuildMetaGraphDef(m.g, &*def);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->meta_info_def().tensorflow_version(), "2.21.0");
  EXPECT_EQ(meta->graph_def().versions().producer(), 2474);
  auto info = DescribeMetaGraph(*meta);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->stripped_ops, info->used_ops);
  EXPECT_THAT(info->stripped_ops,
              ElementsAre("Assign", "BiasAdd", "Const", "Identity", "MatMul", "NoOp", "Placeholder",
                          "PlaceholderWithDefault", "RestoreV2", "SaveV2", "VariableV2"));
  ASSERT_EQ(info->variables.size(), 3u);
  EXPECT_EQ(info->variables[0].name, "dense/kernel");
  EXPECT_EQ(info->variables[0].snapshot, "dense/kernel/read:0");
  EXPECT_TRUE(info->variables[0].trainable);
  EXPECT_EQ(info->variables[2].name, "global_step");
  EXPECT_FALSE(info->variables[2].trainable);
  EXPECT_EQ(info->collections.at("train_op").kind, "node_list");
  EXPECT_THAT(info->collections.at("train_op").values, ElementsAre("init"));
  EXPECT_EQ(info->collections.at("trainable_variables").values.size(), 2u);
  EXPECT_EQ(info->collections.at("global_step").kind, "bytes_list");  // as TF 2.x writes it
  ASSERT_TRUE(info->saver_def.has_value());

  // Ops outside the registry cannot be exported.
  tensorflow::GraphDef bad;
  bad.add_node()->set_op("Conv2D");
  EXPECT_THAT(StrippedOpList(bad), StatusIs(StatusCode::kInvalidArgument, "Conv2D"));
}

TEST(MetaGraphTest, FilesRoundTrip) {
  auto te = testing::MakeTestEnv(testing::EnvKind::kMem);
  SmallModel m;
  auto def = AddSaverSubgraph(&m.g);
  ASSERT_TRUE(def.ok());
  auto meta = BuildMetaGraphDef(m.g, &*def);
  ASSERT_TRUE(meta.ok());
  const std::string meta_path = JoinPath(te.root, "model.meta");
  CKPT_ASSERT_OK(WriteMetaGraph(te.env, meta_path, *meta));
  auto back = ReadMetaGraph(te.env, meta_path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*meta, *back));

  const std::string text_path = JoinPath(te.root, "graph.pbtxt");
  CKPT_ASSERT_OK(WriteTextGraph(te.env, text_path, meta->graph_def()));
  auto text = ReadTextGraph(te.env, text_path);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(meta->graph_def(), *text));

  EXPECT_THAT(ReadMetaGraph(te.env, JoinPath(te.root, "missing.meta")),
              StatusIs(StatusCode::kNotFound, "missing.meta"));
  CKPT_ASSERT_OK(testing::WriteStringToFile(te.env, JoinPath(te.root, "junk"), "\xff\xff\xff"));
  EXPECT_THAT(ReadMetaGraph(te.env, JoinPath(te.root, "junk")),
              StatusIs(StatusCode::kDataLoss, "not a binary MetaGraphDef"));
  EXPECT_THAT(ReadTextGraph(te.env, JoinPath(te.root, "junk")),
              StatusIs(StatusCode::kDataLoss, "not a text GraphDef"));
}

// TF 2.x writes NodeDef.experimental_type (a FullTypeDef, not in ckpt's
// protos) into frozen graphs; the text reader skips it as the binary reader
// keeps it as an unknown field. Syntax errors say where.
TEST(MetaGraphTest, TextGraphSkipsNewerFieldsAndLocatesErrors) {
  auto te = testing::MakeTestEnv(testing::EnvKind::kMem);
  const std::string path = JoinPath(te.root, "frozen.pbtxt");
  CKPT_ASSERT_OK(testing::WriteStringToFile(
      te.env, path,
      "node {\n  name: \"x\"\n  op: \"Placeholder\"\n"
      "  experimental_type {\n    type_id: TFT_PRODUCT\n"
      "    args { type_id: TFT_TENSOR args { type_id: TFT_FLOAT } }\n  }\n}\n"
      "node { name: \"y\" op: \"Identity\" input: \"x\" }\n"));
  auto graph = ReadTextGraph(te.env, path);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_EQ(graph->node_size(), 2);
  EXPECT_EQ(graph->node(0).op(), "Placeholder");
  EXPECT_EQ(graph->node(1).input(0), "x");

  CKPT_ASSERT_OK(testing::WriteStringToFile(te.env, path, "node {\n  name: \"x\"\n  op: 3 {\n"));
  EXPECT_THAT(ReadTextGraph(te.env, path),
              StatusIs(StatusCode::kDataLoss, "not a text GraphDef (line 3:"));
}

TEST(MetaGraphTest, SaverHookWritesMeta) {
  auto te = testing::MakeTestEnv(testing::EnvKind::kMem);
  SmallModel m;
  auto def = AddSaverSubgraph(&m.g);
  ASSERT_TRUE(def.ok());
  auto meta = BuildMetaGraphDef(m.g, &*def);
  ASSERT_TRUE(meta.ok());
  Tensor w = Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::FromVector<float>({2}, {5, 6});
  SaverOptions options;
  options.env = te.env;
  options.meta_graph_writer = MetaGraphWriter(*meta, te.env);
  auto saver = Saver::Create(VarListFromMap({{m.w.name, &w}, {m.b.name, &b}}), options);
  ASSERT_TRUE(saver.ok());
  SaveArgs args;
  args.global_step = 12;
  auto prefix = (*saver)->Save(JoinPath(te.root, "model.ckpt"), args);
  ASSERT_TRUE(prefix.ok()) << prefix.status();
  auto back = ReadMetaGraph(te.env, *prefix + ".meta");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->saver_def().restore_op_name(), "save/restore_all");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*meta, *back));
}

// ---- TensorFlow-written meta graphs

TEST(ReadTfMetaGraphTest, C1BadHalfPlusTwo) {
  auto meta = ReadMetaGraph(Env::Posix(), testing::TestDataPath(
      "serving/tensorflow_serving/servables/tensorflow/testdata/bad_half_plus_two/00000123/export.meta"));
  ASSERT_TRUE(meta.ok()) << meta.status();
  auto info = DescribeMetaGraph(*meta);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->producer, 11);
  ASSERT_TRUE(info->saver_def.has_value());
  EXPECT_EQ(info->saver_def->filename_tensor_name(), "save/Const:0");
  EXPECT_EQ(info->saver_def->save_tensor_name(), "save/control_dependency:0");
  EXPECT_EQ(info->saver_def->restore_op_name(), "save/restore_all");
  EXPECT_EQ(info->saver_def->max_to_keep(), 5);
  EXPECT_EQ(info->saver_def->keep_checkpoint_every_n_hours(), 10000.0f);
  EXPECT_EQ(info->saver_def->version(), tensorflow::SaverDef::LEGACY);
  EXPECT_THAT(info->used_ops, Contains("Variable"));
  EXPECT_THAT(info->used_ops, Contains("SaveSlices"));
  EXPECT_THAT(info->used_ops, Contains("RestoreSlice"));
  ASSERT_NE(info->FindNode("save/restore_all"), nullptr);
  EXPECT_EQ(info->FindNode("save/restore_all")->op, "NoOp");
  std::vector<std::string> vars;
  for (const auto& v : info->variables) vars.push_back(v.name);
  EXPECT_THAT(vars, ElementsAre("Variable", "Variable_1"));
}

TEST(ReadTfMetaGraphTest, C2ShardedV1) {
  auto meta = ReadMetaGraph(Env::Posix(), testing::TestDataPath(
      "serving/tensorflow_serving/session_bundle/testdata/half_plus_two/00000123/export.meta"));
  ASSERT_TRUE(meta.ok()) << meta.status();
  auto info = DescribeMetaGraph(*meta);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->tensorflow_version, "0.12.head");
  EXPECT_EQ(info->producer, 19);
  ASSERT_TRUE(info->saver_def.has_value());
  EXPECT_EQ(info->saver_def->filename_tensor_name(), "save/Const:0");
  EXPECT_EQ(info->saver_def->save_tensor_name(), "save/ShardedFilespec:0");
  EXPECT_EQ(info->saver_def->restore_op_name(), "save/restore_all");
  EXPECT_TRUE(info->saver_def->sharded());
  EXPECT_EQ(info->saver_def->keep_checkpoint_every_n_hours(), 10000.0f);
  EXPECT_EQ(info->saver_def->version(), tensorflow::SaverDef::V1);
  EXPECT_THAT(info->used_ops, Contains("ShardedFilespec"));
  std::vector<std::string> vars;
  for (const auto& v : info->variables) vars.push_back(v.name);
  EXPECT_THAT(vars, ElementsAre("a", "b", "global_step"));
  EXPECT_TRUE(info->variables[0].trainable);  // from trainable_variables (no flag then)
  EXPECT_EQ(info->collections.at("serving_signatures").kind, "any_list");
  // Binary round trip keeps everything, including fields ckpt leaves out
  // (same size; map entries may be reordered).
  auto original = ReadFileToString(Env::Posix(), testing::TestDataPath(
      "serving/tensorflow_serving/session_bundle/testdata/half_plus_two/00000123/export.meta"));
  ASSERT_TRUE(original.ok());
  EXPECT_EQ(meta->SerializeAsString().size(), original->size());
}

TEST(ReadTfMetaGraphTest, SavedModelShardedSaver) {
  auto model = ReadSavedModel(Env::Posix(), testing::TestDataPath(
      "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/00000123/saved_model.pb"));
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_GE(model->meta_graphs_size(), 1);
  auto info = DescribeMetaGraph(model->meta_graphs(0));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tensorflow_version, "1.14.0");
  EXPECT_EQ(info->producer, 149);
  EXPECT_THAT(info->tags, Contains("serve"));
  EXPECT_EQ(info->stripped_ops, info->used_ops);
  ASSERT_TRUE(info->saver_def.has_value());
  EXPECT_TRUE(info->saver_def->sharded());
  EXPECT_EQ(info->saver_def->version(), tensorflow::SaverDef::V2);
  EXPECT_EQ(info->saver_def->save_tensor_name(), "save/Identity:0");
  ASSERT_NE(info->FindNode("save/MergeV2Checkpoints"), nullptr);
  std::vector<std::string> vars;
  for (const auto& v : info->variables) vars.push_back(v.name);
  EXPECT_THAT(vars, ElementsAre("a", "b", "c", "a2", "c2"));
}

TEST(ReadTfMetaGraphTest, EverySavedModelParses) {
  for (const char* f : {
           "java/tensorflow-core/tensorflow-core-api/src/test/resources/saved_model/saved_model.pb",
           "rust/test_resources/regression-model/saved_model.pb",
           "rust/examples/regression_savedmodel/saved_model.pb",
           "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_tf2_cpu/00000123/saved_model.pb"}) {
    auto model = ReadSavedModel(Env::Posix(), testing::TestDataPath(f));
    ASSERT_TRUE(model.ok()) << f << ": " << model.status();
    ASSERT_GT(model->meta_graphs_size(), 0) << f;
    auto info = DescribeMetaGraph(model->meta_graphs(0));
    ASSERT_TRUE(info.ok()) << f;
    EXPECT_FALSE(info->nodes.empty()) << f;
    EXPECT_THAT(info->stripped_ops, Contains("RestoreV2")) << f;
  }
}

}  // namespace
}  // namespace ckpt
