// Session::Restore through a graph's own SaverDef: a meta graph TensorFlow
// wrote (a sharded V1 saver), resource variables, partitioned variables.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "ckpt/bundle_writer.h"
#include "ckpt/session.h"
#include "tensorflow/core/example/example.pb.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using testing::StatusIs;

using testing::Floats;

std::unique_ptr<Session> SessionForMeta(const std::string& text) {
  tensorflow::MetaGraphDef meta;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &meta)) << text;
  return Session::Create(ImportedGraph::FromMetaGraphDef(meta).value()).value();
}

std::string WriteCheckpoint(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  const std::string prefix = testing::TempDir() + "/model.ckpt";
  auto writer = BundleWriter::Create(prefix).value();
  for (const auto& [key, value] : tensors) EXPECT_TRUE(writer->Add(key, value).ok());
  EXPECT_TRUE(writer->Finish().ok());
  return prefix;
}

std::string StringConst(const std::string& name, const std::vector<std::string>& values) {
  std::string text = "node { name: \"" + name + "\" op: \"Const\" " +
                     "attr { key: \"dtype\" value { type: DT_STRING } } " +
                     "attr { key: \"value\" value { tensor { dtype: DT_STRING tensor_shape { " +
                     "dim { size: " + std::to_string(values.size()) + " } } ";
  for (const std::string& v : values) text += "string_val: \"" + v + "\" ";
  return text + "} } } }\n";
}

struct RefVariable {
  std::string node;        // VariableV2 name
  std::string key;         // checkpoint key
  std::string slice_spec;  // "" = whole
  int64_t size;            // a float vector of this length
};

// A TF1-style saver graph over float vector VariableV2s: one RestoreV2 whose
// outputs are assigned to the variables, grouped under save/restore_all.
std::string RefSaverMeta(const std::vector<RefVariable>& vars) {
  std::string text = "graph_def {\n";
  std::vector<std::string> keys, slices;
  std::string restore_all = "node { name: \"save/restore_all\" op: \"NoOp\" ";
  for (size_t i = 0; i < vars.size(); ++i) {
    const RefVariable& v = vars[i];
    text += "node { name: \"" + v.node + "\" op: \"VariableV2\" " +
            "attr { key: \"dtype\" value { type: DT_FLOAT } } " +
            "attr { key: \"shape\" value { shape { dim { size: " + std::to_string(v.size) +
            " } } } } }\n";
    text += "node { name: \"" + v.node + "/read\" op: \"Identity\" input: \"" + v.node + "\" }\n";
    const std::string assign = "save/Assign_" + std::to_string(i);
    text += "node { name: \"" + assign + "\" op: \"Assign\" input: \"" + v.node +
            "\" input: \"save/RestoreV2:" + std::to_string(i) + "\" }\n";
    restore_all += "input: \"^" + assign + "\" ";
    keys.push_back(v.key);
    slices.push_back(v.slice_spec);
  }
  text += StringConst("save/Const", {"model"});
  text += StringConst("save/RestoreV2/tensor_names", keys);
  text += StringConst("save/RestoreV2/shape_and_slices", slices);
  text +=
      "node { name: \"save/RestoreV2\" op: \"RestoreV2\" input: \"save/Const\" "
      "input: \"save/RestoreV2/tensor_names\" input: \"save/RestoreV2/shape_and_slices\" }\n";
  text += restore_all + "}\n}\n";
  return text +
         "saver_def { filename_tensor_name: \"save/Const:0\" "
         "restore_op_name: \"save/restore_all\" }\n";
}

TEST(RestoreGoldenTest, TensorFlowsHalfPlusTwoSessionBundle) {
  // TF 0.12 wrote this .meta (pre-1.0 "Variable" ops, a sharded V1 saver whose
  // restore_all depends on save/restore_shard) and its V1 checkpoint with
  // a = 0.5, b = 2.0 (README C2). y = a * x + b, x an Identity we feed.
  const std::string dir = testing::TestDataPath(
      "serving/tensorflow_serving/session_bundle/testdata/half_plus_two/00000123");
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportMetaGraph(Env::Posix(), dir + "/export.meta"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(graph));
  CKPT_ASSERT_OK(session->Restore(dir + "/export-?????" "-of-00001"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor a, session->VariableValue("a"));
  EXPECT_EQ(Floats(a), std::vector<float>{0.5f});
  // 0.5 * [1, 2, 3] + 2, by hand.
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      session->Run({{"x:0", Tensor::FromVector<float>({3}, {1, 2, 3})}}, {"y:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{2.5f, 3, 3.5f}));
  // Without that feed, x comes from the serialized tf.Examples fed to
  // tf_example, parsed by the graph's (V1) ParseExample.
  std::vector<std::string> examples;
  for (float x : {1.0f, 2.0f, 3.0f}) {
    tensorflow::Example example;
    (*example.mutable_features()->mutable_feature())["x"].mutable_float_list()->add_value(x);
    examples.push_back(example.SerializeAsString());
  }
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor serialized, Tensor::FromStrings({3}, examples));
  CKPT_ASSERT_OK_AND_ASSIGN(out, session->Run({{"tf_example:0", serialized}}, {"y:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{2.5f, 3, 3.5f}));
  // One without x: ParseExample's error, in TF's words.
  examples[1] = tensorflow::Example().SerializeAsString();
  CKPT_ASSERT_OK_AND_ASSIGN(serialized, Tensor::FromStrings({3}, examples));
  EXPECT_THAT(session->Run({{"tf_example:0", serialized}}, {"y:0"}),
              StatusIs(StatusCode::kInvalidArgument,
                       "Feature: x (data type: float) is required but could not be found."));
}

TEST(RestoreGoldenTest, TensorFlowsHalfPlusTwoSavedModel) {
  // TF 1.14 wrote this SavedModel (a sharded V2 saver, a Snappy-compressed
  // index) with a = 0.5, b = 2, c = 3 (README A4): y = a*x + b, y2 = a*x + c.
  const std::string dir = testing::TestDataPath(
      "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/"
      "00000123");
  EXPECT_THAT(ImportSavedModel(Env::Posix(), dir + "/saved_model.pb", {"serve", "gpu"}),
              StatusIs(StatusCode::kNotFound,
                       "Could not find meta graph def matching supplied tags: { gpu, serve }"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph,
                            ImportSavedModel(Env::Posix(), dir + "/saved_model.pb", {"serve"}));
  CKPT_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(graph));
  CKPT_ASSERT_OK(session->Restore(dir + "/variables/variables"));
  // By hand: 0.5 * [1, 2, 3] + 2 and + 3.
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      session->Run({{"x:0", Tensor::FromVector<float>({3}, {1, 2, 3})}}, {"y:0", "y2:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{2.5f, 3, 3.5f}));
  EXPECT_EQ(Floats(out[1]), (std::vector<float>{3.5f, 4, 4.5f}));
}

TEST(SaverDefRestoreTest, ResourceVariableByItsSharedName) {
  auto session = SessionForMeta(R"(
    graph_def {
      node { name: "v" op: "VarHandleOp"
             attr { key: "dtype" value { type: DT_FLOAT } }
             attr { key: "shape" value { shape { dim { size: 2 } } } }
             attr { key: "shared_name" value { s: "v_shared" } } }
      node { name: "v/Read/ReadVariableOp" op: "ReadVariableOp" input: "v"
             attr { key: "dtype" value { type: DT_FLOAT } } }
      node { name: "save/Const" op: "Const"
             attr { key: "dtype" value { type: DT_STRING } }
             attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape {} string_val: "m" } } } }
      node { name: "save/RestoreV2/tensor_names" op: "Const"
             attr { key: "dtype" value { type: DT_STRING } }
             attr { key: "value" value { tensor { dtype: DT_STRING
               tensor_shape { dim { size: 1 } } string_val: "dense/kernel" } } } }
      node { name: "save/RestoreV2/shape_and_slices" op: "Const"
             attr { key: "dtype" value { type: DT_STRING } }
             attr { key: "value" value { tensor { dtype: DT_STRING
               tensor_shape { dim { size: 1 } } string_val: "" } } } }
      node { name: "save/RestoreV2" op: "RestoreV2" input: "save/Const"
             input: "save/RestoreV2/tensor_names" input: "save/RestoreV2/shape_and_slices" }
      node { name: "save/Identity" op: "Identity" input: "save/RestoreV2" }
      node { name: "save/AssignVariableOp" op: "AssignVariableOp" input: "v" input: "save/Identity" }
      node { name: "save/restore_all" op: "NoOp" input: "^save/AssignVariableOp" }
    }
    saver_def { filename_tensor_name: "save/Const:0" restore_op_name: "save/restore_all" })");
  EXPECT_THAT(session->Run({}, {"v/Read/ReadVariableOp:0"}),
              StatusIs(StatusCode::kFailedPrecondition, "v_shared"));
  CKPT_ASSERT_OK(session->Restore(
      WriteCheckpoint({{"dense/kernel", Tensor::FromVector<float>({2}, {-1, 4})}})));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor v, session->VariableValue("v_shared"));
  EXPECT_EQ(Floats(v), (std::vector<float>{-1, 4}));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({}, {"v/Read/ReadVariableOp:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{-1, 4}));
}

TEST(SaverDefRestoreTest, PartitionedVariableGetsItsSlice) {
  auto session =
      SessionForMeta(RefSaverMeta({{"w/part_0", "w", "5 0,2", 2}, {"w/part_1", "w", "5 2,3", 3}}));
  CKPT_ASSERT_OK(
      session->Restore(WriteCheckpoint({{"w", Tensor::FromVector<float>({5}, {1, 2, 3, 4, 5})}})));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                            session->Run({}, {"w/part_0/read:0", "w/part_1/read"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(Floats(out[1]), (std::vector<float>{3, 4, 5}));
}

TEST(SaverDefRestoreTest, SliceOfATensorOfAnotherShape) {
  auto session = SessionForMeta(RefSaverMeta({{"w/part_0", "w", "4 0,2", 2}}));
  EXPECT_THAT(
      session->Restore(WriteCheckpoint({{"w", Tensor::FromVector<float>({5}, {1, 2, 3, 4, 5})}})),
      StatusIs(StatusCode::kInvalidArgument,
               "the graph expects a full shape of [4], the checkpoint holds [5]"));
}

TEST(SaverDefRestoreTest, MalformedSliceSpec) {
  auto session = SessionForMeta(RefSaverMeta({{"w/part_0", "w", "4 3,2", 2}}));
  EXPECT_THAT(
      session->Restore(WriteCheckpoint({{"w", Tensor::FromVector<float>({4}, {1, 2, 3, 4})}})),
      StatusIs(StatusCode::kInvalidArgument, "Restoring variable 'w/part_0'"));
}

TEST(SaverDefRestoreTest, NothingIsAssignedUnlessEveryVariableReads) {
  auto session = SessionForMeta(RefSaverMeta({{"a", "a", "", 1}, {"b", "b", "", 1}}));
  EXPECT_THAT(session->Restore(WriteCheckpoint({{"a", Tensor::FromVector<float>({1}, {7})}})),
              StatusIs(StatusCode::kNotFound, "Key b not found in checkpoint"));
  EXPECT_THAT(session->VariableValue("a"), StatusIs(StatusCode::kNotFound, "'a'"));
}

TEST(SaverDefRestoreTest, RestoreOpMissingFromTheGraph) {
  auto session = SessionForMeta(R"(
    graph_def { node { name: "c" op: "NoOp" } }
    saver_def { restore_op_name: "save/restore_all" })");
  EXPECT_THAT(session->Restore("/nonexistent/ckpt"),
              StatusIs(StatusCode::kNotFound, "restore op 'save/restore_all' is not in the graph"));
}

}  // namespace
}  // namespace ckpt
