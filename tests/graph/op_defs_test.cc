// The op registry (graph/op_defs.h): its OpDefs against TensorFlow's from
// TF-written saved_model.pb files, lookups, and binding a node's inputs and
// attrs to its OpDef.
#include "graph/op_defs.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/meta_graph.h"
#include "ckpt/saved_model.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;

// ---- OpDefs against TensorFlow's, from TF-written saved_model.pb files.

struct TfOpDefs {
  // op name -> (TF version of the newest file holding it, OpDef there)
  std::map<std::string, std::pair<std::string, tensorflow::OpDef>> ops;
};

const TfOpDefs& LoadTfOpDefs() {
  static const TfOpDefs* defs = [] {
    auto* d = new TfOpDefs;
    // Oldest first, so newer files overwrite older OpDefs.
    const char* files[] = {
        "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_three/00000123/saved_model.pb",
        "java/tensorflow-core/tensorflow-core-api/src/test/resources/saved_model/saved_model.pb",
        "rust/test_resources/regression-model/saved_model.pb",
        "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_counter/00000123/saved_model.pb",
        "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_gpu/00000123/saved_model.pb",
        "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_mkl/00000123/saved_model.pb",
        "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/00000123/saved_model.pb",
        "java/tensorflow-core/tensorflow-core-api/src/test/resources/saved_model_using_python/model/saved_model.pb",
        "rust/examples/regression_savedmodel/saved_model.pb",
        "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_tf2_cpu/00000123/saved_model.pb",
    };
    for (const char* f : files) {
      auto model = ReadSavedModel(Env::Posix(), testing::TestDataPath(f));
      if (!model.ok()) continue;
      for (const auto& m : model->meta_graphs()) {
        for (const auto& op : m.meta_info_def().stripped_op_list().op()) {
          d->ops[op.name()] = {m.meta_info_def().tensorflow_version(), op};
        }
      }
    }
    return d;
  }();
  return *defs;
}

std::string Diff(const tensorflow::OpDef& a, const tensorflow::OpDef& b) {
  std::string report;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&report);
  d.Compare(a, b);
  return report;
}

TEST(OpRegistryTest, TestdataHoldsTheReferenceOps) {
  const auto& tf = LoadTfOpDefs();
  for (const char* op : {"Assign", "BiasAdd", "Const", "Identity", "MergeV2Checkpoints", "NoOp",
                         "Pack", "Placeholder", "PlaceholderWithDefault", "RestoreV2", "SaveV2",
                         "ShardedFilename", "StringJoin", "VariableV2"}) {
    EXPECT_EQ(tf.ops.count(op), 1u) << op << " missing from the testdata saved_model.pb files";
  }
}

TEST(OpRegistryTest, OpDefsEqualTfsFromTestdata) {
  const auto& tf = LoadTfOpDefs();
  int compared = 0;
  for (const std::string& name : RegisteredOps()) {
    auto it = tf.ops.find(name);
    // The others (MatMul, Relu, Softmax, ArgMax, the activations, ConcatV2,
    // ExpandDims, Rsqrt, ZerosLike) are checked in pytest
    // (test_meta_graph.py, test_graph_forms.py).
    if (it == tf.ops.end()) continue;
    const tensorflow::OpDef* ours = FindOpDef(name);
    ASSERT_NE(ours, nullptr);
    tensorflow::OpDef theirs = it->second.second;
    // Changes made in TF after the newest file holding the op (TF 2.14 or,
    // for BiasAdd, 1.12); ours are TF 2.21's. Each is applied to TF's old
    // OpDef, so the comparison still fails on any other difference.
    if (name == "BiasAdd" && it->second.first < "1.13") {
      // qint16 and quint16 were added to T after DT_BFLOAT16.
      auto* types = theirs.mutable_attr(0)->mutable_allowed_values()->mutable_list()->mutable_type();
      auto pos = std::find(types->begin(), types->end(), tensorflow::DT_BFLOAT16);
      ASSERT_NE(pos, types->end());
      int at = static_cast<int>(pos - types->begin()) + 1;
      types->Add(0);
      types->Add(0);
      for (int i = types->size() - 1; i >= at + 2; --i) types->Set(i, types->Get(i - 2));
      types->Set(at, tensorflow::DT_QINT16);
      types->Set(at + 1, tensorflow::DT_QUINT16);
    }
    if (name == "StridedSlice" && it->second.first < "2.") {
      // int16 was added to the Index types, first.
      for (auto& attr : *theirs.mutable_attr()) {
        if (attr.name() != "Index") continue;
        auto* types = attr.mutable_allowed_values()->mutable_list()->mutable_type();
        ASSERT_EQ(types->Get(0), tensorflow::DT_INT32);
        types->Add(0);
        for (int i = types->size() - 1; i >= 1; --i) types->Set(i, types->Get(i - 1));
        types->Set(0, tensorflow::DT_INT16);
      }
    }
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*ours, theirs))
        << name << " (TF " << it->second.first << "): " << Diff(*ours, theirs);
    ++compared;
  }
  // The 14 Saver/variable ops, Add, AddV2, Mul, Sub, the serving graph's
  // Cast, GatherV2, Reshape, Shape, StridedSlice, and the tf.Example
  // receiver's ParseExample and ParseExampleV2.
  EXPECT_EQ(compared, 25);
}

TEST(OpRegistryTest, KnownOpsAndLookups) {
  EXPECT_THAT(RegisteredOps(),
              ElementsAre("Add", "AddV2", "ArgMax", "AsString", "Assign", "BiasAdd", "Cast",
                          "ConcatV2", "Const", "Elu", "ExpandDims", "GatherV2", "Identity",
                          "LeakyRelu", "MatMul", "MergeV2Checkpoints", "Mul", "NoOp", "Pack",
                          "ParseExample", "ParseExampleV2", "Placeholder",
                          "PlaceholderWithDefault", "Relu", "Relu6", "Reshape", "RestoreV2",
                          "Rsqrt", "SaveV2", "Selu", "Shape", "ShardedFilename", "Sigmoid",
                          "Softmax", "Softplus", "Softsign", "StridedSlice", "StringJoin", "Sub",
                          "Tanh", "Tile", "VariableV2", "ZerosLike"));
  EXPECT_EQ(FindOpDef("Conv2D"), nullptr);
  ASSERT_NE(FindOpDef("VariableV2"), nullptr);
  EXPECT_TRUE(FindOpDef("VariableV2")->is_stateful());
  EXPECT_TRUE(FindOpDef("VariableV2")->output_arg(0).is_ref());
}

// ---- Binding inputs and attrs.

Output In(DataType dtype, bool is_ref = false) {
  Output o;
  o.node = "x";
  o.dtype = dtype;
  o.is_ref = is_ref;
  return o;
}

TEST(OpDefCheckTest, BindInputsInfersNumberAndTypeAttrs) {
  AttrMap attrs;
  CKPT_ASSERT_OK(graph_internal::BindInputs(*FindOpDef("Pack"),
                                            {In(DataType::kFloat), In(DataType::kFloat)},
                                            "node 'p' (Pack)", &attrs));
  EXPECT_EQ(attrs.at("N").i(), 2);
  EXPECT_EQ(attrs.at("T").type(), tensorflow::DT_FLOAT);
}

TEST(OpDefCheckTest, BindInputsRejectsWrongDtypeCountAndRef) {
  AttrMap attrs;
  EXPECT_THAT(graph_internal::BindInputs(*FindOpDef("Add"),
                                         {In(DataType::kFloat), In(DataType::kInt32)},
                                         "node 'a' (Add)", &attrs),
              StatusIs(StatusCode::kInvalidArgument,
                       "node 'a' (Add): input 'y' has dtype int32, expected float"));
  attrs.clear();
  EXPECT_THAT(graph_internal::BindInputs(*FindOpDef("Identity"),
                                         {In(DataType::kFloat), In(DataType::kFloat)}, "node 'i'",
                                         &attrs),
              StatusIs(StatusCode::kInvalidArgument, "2 inputs given, the op takes 1"));
  attrs.clear();
  EXPECT_THAT(graph_internal::BindInputs(*FindOpDef("Assign"),
                                         {In(DataType::kFloat), In(DataType::kFloat)}, "node 's'",
                                         &attrs),
              StatusIs(StatusCode::kInvalidArgument, "must be a ref"));
}

TEST(OpDefCheckTest, CheckAttrsFillsDefaultsAndRejectsBadValues) {
  AttrMap attrs = {{"T", AttrType(DataType::kFloat)}};
  CKPT_ASSERT_OK(graph_internal::CheckAttrs(*FindOpDef("MatMul"), "node 'm'", &attrs));
  EXPECT_FALSE(attrs.at("transpose_a").b());
  EXPECT_FALSE(attrs.at("grad_b").b());

  attrs = {{"T", AttrType(DataType::kFloat)}, {"bogus", AttrBool(true)}};
  EXPECT_THAT(graph_internal::CheckAttrs(*FindOpDef("MatMul"), "node 'm'", &attrs),
              StatusIs(StatusCode::kInvalidArgument, "node 'm': op has no attr 'bogus'"));
  attrs = {{"T", AttrType(DataType::kFloat)}, {"_class", AttrString("internal")}};
  CKPT_EXPECT_OK(graph_internal::CheckAttrs(*FindOpDef("MatMul"), "node 'm'", &attrs));

  attrs = {{"T", AttrType(DataType::kBool)}};
  EXPECT_THAT(graph_internal::CheckAttrs(*FindOpDef("MatMul"), "node 'm'", &attrs),
              StatusIs(StatusCode::kInvalidArgument, "value of attr 'T' is not allowed (bool)"));
  attrs = {};
  EXPECT_THAT(graph_internal::CheckAttrs(*FindOpDef("Identity"), "node 'i'", &attrs),
              StatusIs(StatusCode::kInvalidArgument, "missing attr 'T'"));
  attrs = {{"T", AttrType(DataType::kFloat)}, {"N", AttrInt(1)}, {"Tidx", AttrType(DataType::kInt32)}};
  EXPECT_THAT(graph_internal::CheckAttrs(*FindOpDef("ConcatV2"), "node 'c'", &attrs),
              StatusIs(StatusCode::kInvalidArgument, "attr 'N' is 1, below its minimum 2"));
}

}  // namespace
}  // namespace ckpt
