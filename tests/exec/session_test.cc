#include "ckpt/session.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ckpt/bundle_writer.h"
#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using testing::StatusIs;

using testing::Floats;

std::unique_ptr<Session> SessionFor(const tensorflow::GraphDef& graph) {
  return Session::Create(ImportedGraph::FromGraphDef(graph).value()).value();
}

std::unique_ptr<Session> SessionFor(const std::string& text) {
  tensorflow::GraphDef graph;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &graph)) << text;
  return SessionFor(graph);
}

// y = x + c, with an unrelated placeholder `unused` and an unsupported op
// `weird` that only `w_out` needs.
tensorflow::GraphDef AddGraph() {
  GraphBuilder b;
  Output x = b.Placeholder(DataType::kFloat, {-1, 2}, "x");
  b.Placeholder(DataType::kInt32, PartialShape::Unknown(), "unused");
  Output c = b.Const(Tensor::FromVector<float>({1, 2}, {10, 20}), "c");
  Output y = b.Binary("Add", x, c, "y");
  b.Identity(y, "out");
  EXPECT_TRUE(b.status().ok()) << b.status();
  tensorflow::GraphDef graph = b.graph_def();
  // An op ckpt has no kernel for (a training op), added by hand.
  tensorflow::NodeDef* weird = graph.add_node();
  weird->set_name("weird");
  weird->set_op("ApplyGradientDescent");
  weird->add_input("y");
  return graph;
}

TEST(SessionTest, FeedAndFetch) {
  auto session = SessionFor(AddGraph());
  // [1,2] + [10,20] computed by hand.
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                            session->Run({{"x:0", Tensor::FromVector<float>({1, 2}, {1.5f, -2})}},
                                         {"out:0", "y", "c:0"}));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].shape(), TensorShape({1, 2}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{11.5f, 18}));
  EXPECT_EQ(Floats(out[1]), (std::vector<float>{11.5f, 18}));
  EXPECT_EQ(Floats(out[2]), (std::vector<float>{10, 20}));
}

TEST(SessionTest, UnneededUnfedPlaceholderIsFine) {
  // `unused` is never fed and `weird` (no kernel) is never needed.
  auto session = SessionFor(AddGraph());
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({}, {"c:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{10, 20}));
}

TEST(SessionTest, FeedOverridesAnyTensor) {
  auto session = SessionFor(AddGraph());
  // x is not fed: feeding y cuts it off, so out is the fed value.
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      session->Run({{"y:0", Tensor::FromVector<float>({1, 2}, {7, 8})}}, {"out:0", "y:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{7, 8}));
  EXPECT_EQ(Floats(out[1]), (std::vector<float>{7, 8}));
}

TEST(SessionTest, MissingFeedIsTensorFlowsError) {
  auto session = SessionFor(AddGraph());
  EXPECT_THAT(session->Run({}, {"out:0"}),
              StatusIs(StatusCode::kInvalidArgument,
                       "You must feed a value for placeholder tensor 'x' with dtype float and "
                       "shape [?,2]"));
}

TEST(SessionTest, MissingFeedOfUnknownShapeOmitsTheShape) {
  auto session = SessionFor(AddGraph());
  Result<std::vector<Tensor>> out = session->Run({}, {"unused:0"});
  EXPECT_THAT(out,
              StatusIs(StatusCode::kInvalidArgument,
                       "You must feed a value for placeholder tensor 'unused' with dtype int32"));
  EXPECT_EQ(out.status().message().find("shape"), std::string::npos) << out.status();
}

TEST(SessionTest, FeedOfWrongDtypeOrShape) {
  auto session = SessionFor(AddGraph());
  EXPECT_THAT(session->Run({{"x:0", Tensor::FromVector<int32_t>({1, 2}, {1, 2})}}, {"out:0"}),
              StatusIs(StatusCode::kInvalidArgument, "dtype int32 for Tensor 'x:0'"));
  EXPECT_THAT(session->Run({{"x:0", Tensor::FromVector<float>({1, 3}, {1, 2, 3})}}, {"out:0"}),
              StatusIs(StatusCode::kInvalidArgument,
                       "Cannot feed value of shape [1,3] for Tensor 'x:0', which has shape "
                       "'[?,2]'"));
}

TEST(SessionTest, UnknownNamesAreNotFound) {
  auto session = SessionFor(AddGraph());
  EXPECT_THAT(session->Run({}, {"nope:0"}), StatusIs(StatusCode::kNotFound, "'nope'"));
  EXPECT_THAT(session->Run({{"nope", Tensor::Scalar<float>(1)}}, {"c:0"}),
              StatusIs(StatusCode::kNotFound, "'nope'"));
  EXPECT_THAT(session->Run({}, {}, {"nope"}), StatusIs(StatusCode::kNotFound, "'nope'"));
  EXPECT_THAT(session->Run({}, {"c:zero"}), StatusIs(StatusCode::kInvalidArgument, "'c:zero'"));
}

TEST(SessionTest, OutputIndexOutOfRange) {
  auto session = SessionFor(AddGraph());
  EXPECT_THAT(
      session->Run({}, {"c:1"}),
      StatusIs(StatusCode::kNotFound, "The operation, 'c', exists but only has 1 outputs."));
  EXPECT_THAT(session->Run({{"c:5", Tensor::Scalar<float>(1)}}, {"out:0"}),
              StatusIs(StatusCode::kNotFound, "only has 1 outputs"));
}

TEST(SessionTest, UnsupportedOpNamesOpNodeAndFetchBeforeRunning) {
  auto session = SessionFor(AddGraph());
  // `weird` (ApplyGradientDescent) has no kernel. x is unfed too, but the
  // unsupported op is found first: nothing runs.
  EXPECT_THAT(
      session->Run({}, {"c:0", "weird:0"}),
      StatusIs(StatusCode::kUnimplemented,
               "Op type 'ApplyGradientDescent' of node 'weird' is not supported by ckpt (needed by "
               "fetch 'weird:0')"));
  EXPECT_THAT(session->Run({}, {}, {"weird"}),
              StatusIs(StatusCode::kUnimplemented, "needed by target 'weird'"));
}

TEST(SessionTest, PlaceholderWithDefault) {
  GraphBuilder b;
  Output d = b.Const(Tensor::FromVector<float>({2}, {3, 4}), "d");
  b.PlaceholderWithDefault(d, {2}, "p");
  auto session = SessionFor(b.graph_def());
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({}, {"p:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{3, 4}));
  CKPT_ASSERT_OK_AND_ASSIGN(
      out, session->Run({{"p:0", Tensor::FromVector<float>({2}, {5, 6})}}, {"p:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{5, 6}));
}

TEST(SessionTest, ConstWithOneValueFillsItsShape) {
  // As TF writes tf.zeros / tf.fill: one float_val for a [2,3] tensor.
  auto session = SessionFor(R"(
    node { name: "k" op: "Const"
           attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT
             tensor_shape { dim { size: 2 } dim { size: 3 } } float_val: 0.5 } } } }
    node { name: "z" op: "Const"
           attr { key: "dtype" value { type: DT_INT32 } }
           attr { key: "value" value { tensor { dtype: DT_INT32
             tensor_shape { dim { size: 2 } } } } } })");
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({}, {"k:0", "z:0"}));
  EXPECT_EQ(out[0].shape(), TensorShape({2, 3}));
  EXPECT_EQ(Floats(out[0]), std::vector<float>(6, 0.5f));
  ASSERT_EQ(out[1].dtype(), DataType::kInt32);
  EXPECT_EQ(out[1].flat<int32_t>()[0], 0);
  EXPECT_EQ(out[1].flat<int32_t>()[1], 0);
}

TEST(SessionTest, ControlInputsRunFirst) {
  // `after` waits on `gate`, which needs an unfed placeholder: the error
  // proves the control input is followed.
  auto session = SessionFor(R"(
    node { name: "ph" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "gate" op: "Identity" input: "ph" }
    node { name: "c" op: "Const"
           attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 1 } } } }
    node { name: "after" op: "Identity" input: "c" input: "^gate" })");
  EXPECT_THAT(session->Run({}, {"after:0"}),
              StatusIs(StatusCode::kInvalidArgument, "placeholder tensor 'ph'"));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                            session->Run({{"ph:0", Tensor::Scalar<float>(2)}}, {"after:0"}));
  EXPECT_EQ(Floats(out[0]), std::vector<float>{1});
}

TEST(SessionTest, FeedingATensorTwiceIsAnError) {
  auto session = SessionFor(AddGraph());
  EXPECT_THAT(session->Run({{"x:0", Tensor::FromVector<float>({1, 2}, {1, 2})},
                            {"x", Tensor::FromVector<float>({1, 2}, {1, 2})}},
                           {"out:0"}),
              StatusIs(StatusCode::kInvalidArgument, "'x' is fed more than once"));
}

TEST(SessionTest, IdentityNForwardsEveryInput) {
  auto session = SessionFor(R"(
    node { name: "a" op: "Const"
           attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 1 } } } }
    node { name: "b" op: "Const"
           attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 2 } } } }
    node { name: "n" op: "IdentityN" input: "a" input: "b" })");
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({}, {"n:1", "n:0"}));
  EXPECT_EQ(Floats(out[0]), std::vector<float>{2});
  EXPECT_EQ(Floats(out[1]), std::vector<float>{1});
}

// The seed's workflow: a graph with a variable and a Saver, a checkpoint
// holding the variable's value, Restore through the imported SaverDef, Run.
class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GraphBuilder b;
    Output x = b.Placeholder(DataType::kFloat, {-1, 2}, "x");
    GraphVariable w = b.Variable("w", Tensor::FromVector<float>({1, 2}, {0, 0}));
    b.Binary("Add", x, w.read, "y");
    tensorflow::SaverDef saver = AddSaverSubgraph(&b).value();
    meta_ = BuildMetaGraphDef(b, &saver).value();
    dir_ = testing::TempDir();
  }

  std::string WriteCheckpoint(const std::string& key, const Tensor& value) {
    const std::string prefix = dir_ + "/model.ckpt-" + std::to_string(++count_);
    auto writer = BundleWriter::Create(prefix).value();
    EXPECT_TRUE(writer->Add(key, value).ok());
    EXPECT_TRUE(writer->Finish().ok());
    return prefix;
  }

  std::unique_ptr<Session> MakeSession() {
    return Session::Create(ImportedGraph::FromMetaGraphDef(meta_).value()).value();
  }

  tensorflow::MetaGraphDef meta_;
  std::string dir_;
  int count_ = 0;
};

TEST_F(RestoreTest, RestoreThenRun) {
  auto session = MakeSession();
  const std::string prefix = WriteCheckpoint("w", Tensor::FromVector<float>({1, 2}, {100, 200}));
  CKPT_ASSERT_OK(session->Restore(prefix));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor w, session->VariableValue("w"));
  EXPECT_EQ(Floats(w), (std::vector<float>{100, 200}));
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      session->Run({{"x:0", Tensor::FromVector<float>({1, 2}, {1, 2})}}, {"y:0", "w/read:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{101, 202}));
  EXPECT_EQ(Floats(out[1]), (std::vector<float>{100, 200}));
}

TEST(SessionInitTest, RunningTheInitializerAssignsInitialValues) {
  GraphBuilder b;
  b.Variable("w", Tensor::FromVector<float>({2}, {3, 4}));
  b.Variable("v", Tensor::FromVector<float>({1}, {-1}));
  const std::string init = b.GlobalVariablesInitializer();
  auto session = SessionFor(b.graph_def());
  EXPECT_THAT(session->Run({}, {"w/read:0"}),
              StatusIs(StatusCode::kFailedPrecondition, "uninitialized value w"));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> none, session->Run({}, {}, {init}));
  EXPECT_TRUE(none.empty());
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({}, {"w/read:0", "v/read:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{3, 4}));
  EXPECT_EQ(Floats(out[1]), (std::vector<float>{-1}));
}

TEST(SessionInitTest, AssignOfAnotherShapeIsRejected) {
  GraphBuilder b;
  GraphVariable w = b.Variable("w", Tensor::FromVector<float>({2}, {3, 4}));
  Output other = b.Const(Tensor::FromVector<float>({3}, {1, 2, 3}), "other");
  b.Assign(w.ref, other, /*validate_shape=*/true, /*use_locking=*/true, "reassign");
  auto session = SessionFor(b.graph_def());
  CKPT_ASSERT_OK(session->Run({}, {}, {w.initializer}).status());
  EXPECT_THAT(session->Run({}, {}, {"reassign"}),
              StatusIs(StatusCode::kInvalidArgument,
                       "Assign requires shapes of both tensors to match. lhs shape= [2] rhs "
                       "shape= [3]"));
}

TEST(SessionInitTest, AssignVariableOpSetsAResourceVariable) {
  auto session = SessionFor(R"(
    node { name: "h" op: "VarHandleOp" attr { key: "shared_name" value { s: "h" } } }
    node { name: "k" op: "Const"
           attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 9 } } } }
    node { name: "h/Assign" op: "AssignVariableOp" input: "h" input: "k" }
    node { name: "read" op: "ReadVariableOp" input: "h" input: "^h/Assign" })");
  // The control input makes the read wait for the assignment in one run.
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({}, {"read:0"}));
  EXPECT_EQ(Floats(out[0]), std::vector<float>{9});
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor h, session->VariableValue("h"));
  EXPECT_EQ(Floats(h), std::vector<float>{9});
}

TEST_F(RestoreTest, UninitializedVariableIsFailedPrecondition) {
  auto session = MakeSession();
  EXPECT_THAT(session->Run({{"x:0", Tensor::FromVector<float>({1, 2}, {1, 2})}}, {"y:0"}),
              StatusIs(StatusCode::kFailedPrecondition, "Attempting to use uninitialized value w"));
  EXPECT_THAT(session->VariableValue("w"), StatusIs(StatusCode::kNotFound, "'w'"));
}

TEST_F(RestoreTest, MissingKeyIsNotFound) {
  auto session = MakeSession();
  const std::string prefix = WriteCheckpoint("v", Tensor::FromVector<float>({1, 2}, {1, 2}));
  EXPECT_THAT(session->Restore(prefix), StatusIs(StatusCode::kNotFound, "Key w not found"));
  EXPECT_THAT(session->VariableValue("w"), StatusIs(StatusCode::kNotFound, ""));
}

TEST_F(RestoreTest, ShapeOrDtypeMismatchIsInvalidArgument) {
  auto session = MakeSession();
  EXPECT_THAT(session->Restore(WriteCheckpoint("w", Tensor::FromVector<float>({3}, {1, 2, 3}))),
              StatusIs(StatusCode::kInvalidArgument,
                       "Assign requires shapes of both tensors to match. lhs shape= [1,2] rhs "
                       "shape= [3]"));
  EXPECT_THAT(session->Restore(WriteCheckpoint("w", Tensor::FromVector<double>({1, 2}, {1, 2}))),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = w; expected dtype float does not equal original dtype "
                       "double"));
}

TEST_F(RestoreTest, GraphWithoutSaverCannotRestore) {
  auto session = SessionFor(meta_.graph_def());
  EXPECT_THAT(session->Restore(dir_ + "/none"),
              StatusIs(StatusCode::kFailedPrecondition, "no SaverDef"));
}

// Session::Run caches what it prepared per (feed names, fetches, targets);
// these check that a repeated or changed call behaves exactly as a first one.

TEST(SessionPlanCacheTest, RepeatedRunUsesTheNewFeedValues) {
  auto session = SessionFor(AddGraph());
  // x + [10,20], by hand, for three different x through the same signature.
  for (float v : {1.0f, -4.0f, 0.5f}) {
    CKPT_ASSERT_OK_AND_ASSIGN(
        std::vector<Tensor> out,
        session->Run({{"x:0", Tensor::FromVector<float>({2, 2}, {v, v, 2 * v, 0})}}, {"out:0"}));
    EXPECT_EQ(out[0].shape(), TensorShape({2, 2}));
    EXPECT_EQ(Floats(out[0]), (std::vector<float>{v + 10, v + 20, 2 * v + 10, 20}));
  }
}

TEST(SessionPlanCacheTest, ChangedFeedsFetchesAndTargetsAreNotConfused) {
  auto session = SessionFor(AddGraph());
  const Tensor x = Tensor::FromVector<float>({1, 2}, {1, 2});
  const Tensor y = Tensor::FromVector<float>({1, 2}, {7, 8});
  for (int round = 0; round < 2; ++round) {  // the second round hits the cache
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> a, session->Run({{"x:0", x}}, {"out:0"}));
    EXPECT_EQ(Floats(a[0]), (std::vector<float>{11, 22}));
    // Feeding y instead cuts x off: out is the fed value.
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> b, session->Run({{"y:0", y}}, {"out:0"}));
    EXPECT_EQ(Floats(b[0]), (std::vector<float>{7, 8}));
    // Same feed, other fetches, in another order.
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> c,
                              session->Run({{"x:0", x}}, {"c:0", "y:0", "x:0"}));
    EXPECT_EQ(Floats(c[0]), (std::vector<float>{10, 20}));
    EXPECT_EQ(Floats(c[1]), (std::vector<float>{11, 22}));
    EXPECT_EQ(Floats(c[2]), (std::vector<float>{1, 2}));
    // "x" and "x:0" are the same tensor but different spellings.
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> d, session->Run({{"x", y}}, {"out"}));
    EXPECT_EQ(Floats(d[0]), (std::vector<float>{17, 28}));
    // Both feeds: y wins for out, x is still returned as fed.
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> e,
                              session->Run({{"x:0", x}, {"y:0", y}}, {"out:0", "x:0"}));
    EXPECT_EQ(Floats(e[0]), (std::vector<float>{7, 8}));
    EXPECT_EQ(Floats(e[1]), (std::vector<float>{1, 2}));
  }
}

TEST(SessionPlanCacheTest, ErrorsAreRaisedOnEveryCall) {
  auto session = SessionFor(AddGraph());
  const Tensor good = Tensor::FromVector<float>({1, 2}, {1, 2});
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(
        session->Run({}, {"out:0"}),
        StatusIs(StatusCode::kInvalidArgument, "You must feed a value for placeholder tensor 'x'"));
    EXPECT_THAT(session->Run({}, {"c:0", "weird:0"}),
                StatusIs(StatusCode::kUnimplemented, "'ApplyGradientDescent'"));
    EXPECT_THAT(session->Run({}, {"nope:0"}), StatusIs(StatusCode::kNotFound, "'nope'"));
    EXPECT_THAT(session->Run({{"x:0", good}, {"x", good}}, {"out:0"}),
                StatusIs(StatusCode::kInvalidArgument, "fed more than once"));
    // A signature that ran before still checks each fed value.
    CKPT_ASSERT_OK(session->Run({{"x:0", good}}, {"out:0"}).status());
    EXPECT_THAT(session->Run({{"x:0", Tensor::FromVector<int32_t>({1, 2}, {1, 2})}}, {"out:0"}),
                StatusIs(StatusCode::kInvalidArgument, "dtype int32 for Tensor 'x:0'"));
    EXPECT_THAT(session->Run({{"x:0", Tensor::FromVector<float>({1, 3}, {1, 2, 3})}}, {"out:0"}),
                StatusIs(StatusCode::kInvalidArgument, "Cannot feed value of shape [1,3]"));
  }
}

TEST(SessionPlanCacheTest, ManySignaturesStayCorrect) {
  auto session = SessionFor(AddGraph());
  // More distinct signatures than the cache keeps (fetch lists of growing
  // length), twice: evicted ones are prepared again.
  for (int round = 0; round < 2; ++round) {
    for (int n = 1; n <= 80; ++n) {
      std::vector<std::string> fetches(static_cast<size_t>(n), "out:0");
      fetches.back() = "c:0";
      CKPT_ASSERT_OK_AND_ASSIGN(
          std::vector<Tensor> out,
          session->Run({{"x:0", Tensor::FromVector<float>({1, 2}, {float(n), 0})}}, fetches));
      ASSERT_EQ(out.size(), fetches.size());
      EXPECT_EQ(Floats(out.back()), (std::vector<float>{10, 20}));
      if (n > 1) EXPECT_EQ(Floats(out[0]), (std::vector<float>{n + 10.0f, 20}));
    }
  }
}

// y = relu(x . w + b): MatMul -> BiasAdd -> Relu, which Run folds (the bias
// and relu are applied in place on the MatMul's output).
constexpr char kDenseRelu[] = R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "w" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT
             tensor_shape { dim { size: 2 } dim { size: 3 } }
             float_val: 1 float_val: -1 float_val: 2 float_val: 0 float_val: 1 float_val: -3 } } } }
    node { name: "b" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: B } }
             BIAS } } } }
    node { name: "mm" op: "MatMul" input: "x" input: "w" }
    node { name: "ba" op: "BiasAdd" input: "mm" input: "b" }
    node { name: "r" op: "Relu" input: "ba" })";

std::string DenseRelu(const std::string& bias_values, int n) {
  std::string text = kDenseRelu;
  text.replace(text.find("BIAS"), 4, bias_values);
  text.replace(text.find("size: B"), 7, "size: " + std::to_string(n));
  return text;
}

TEST(SessionPlanCacheTest, FoldedBiasAddAndReluGiveTheKernelsValues) {
  auto session = SessionFor(DenseRelu("float_val: 0.5 float_val: 1 float_val: -10", 3));
  // x . w by hand: [1,2] -> [1, 1, -4]; [-1,0] -> [-1, 1, -2]; + b; relu.
  const Tensor x = Tensor::FromVector<float>({2, 2}, {1, 2, -1, 0});
  for (int i = 0; i < 2; ++i) {
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({{"x:0", x}}, {"r:0"}));
    EXPECT_EQ(Floats(out[0]), (std::vector<float>{1.5f, 2, 0, 0, 2, 0}));
  }
  // Fetching the MatMul's or the BiasAdd's output too: they keep their own
  // values (nothing is changed in place under a reader).
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> all,
                            session->Run({{"x:0", x}}, {"r:0", "mm:0", "ba:0"}));
  EXPECT_EQ(Floats(all[0]), (std::vector<float>{1.5f, 2, 0, 0, 2, 0}));
  EXPECT_EQ(Floats(all[1]), (std::vector<float>{1, 1, -4, -1, 1, -2}));
  EXPECT_EQ(Floats(all[2]), (std::vector<float>{1.5f, 2, -14, -0.5f, 2, -12}));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ba, session->Run({{"x:0", x}}, {"ba:0"}));
  EXPECT_EQ(Floats(ba[0]), (std::vector<float>{1.5f, 2, -14, -0.5f, 2, -12}));
}

TEST(SessionPlanCacheTest, FoldedBiasAddStillReportsTheKernelsErrors) {
  // A bias of the wrong length: BiasAdd's own error, on every call.
  auto session = SessionFor(DenseRelu("float_val: 1 float_val: 2", 2));
  const Tensor x = Tensor::FromVector<float>({1, 2}, {1, 2});
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(session->Run({{"x:0", x}}, {"r:0"}),
                StatusIs(StatusCode::kInvalidArgument, "Must provide as many biases"));
  }
  // A MatMul error comes first, as before.
  EXPECT_THAT(session->Run({{"x:0", Tensor::FromVector<float>({1, 3}, {1, 2, 3})}}, {"r:0"}),
              StatusIs(StatusCode::kInvalidArgument, "Matrix size-incompatible"));
}

TEST(SessionPlanCacheTest, FusedChainRunsWhenTheBiasComesAfterTheProduct) {
  // The bias node is listed (and so ordered) after the MatMul: the chain
  // runs at the Relu, where the bias is ready. Relu keeps NaN, as TF's does.
  auto session = SessionFor(R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "w" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT
             tensor_shape { dim { size: 2 } dim { size: 2 } }
             float_val: 1 float_val: 0 float_val: 0 float_val: 1 } } } }
    node { name: "mm" op: "MatMul" input: "x" input: "w" }
    node { name: "ba" op: "BiasAdd" input: "mm" input: "b2" }
    node { name: "r" op: "Relu" input: "ba" }
    node { name: "b1" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }
             float_val: 1 float_val: -5 } } } }
    node { name: "b2" op: "Identity" input: "b1" })");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::FromVector<float>({2, 2}, {1, 2, nan, -3});
  for (int i = 0; i < 2; ++i) {
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, session->Run({{"x:0", x}}, {"r:0"}));
    const std::vector<float> got = Floats(out[0]);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0], 2);  // relu([1, 2] + [1, -5])
    EXPECT_EQ(got[1], 0);
    EXPECT_FALSE(std::signbit(got[1]));
    EXPECT_TRUE(std::isnan(got[2]));  // NaN * 0 poisons the whole row
    EXPECT_TRUE(std::isnan(got[3]));
  }
  // Fetching the inner value too: the chain is not fused, both are right.
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> both, session->Run({{"x:0", x}}, {"r:0", "ba:0"}));
  EXPECT_EQ(Floats(both[1])[1], -3);
}

TEST_F(RestoreTest, CachedRunSeesVariablesRestoredLater) {
  auto session = MakeSession();
  const Tensor x = Tensor::FromVector<float>({1, 2}, {1, 2});
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(session->Run({{"x:0", x}}, {"y:0"}),
                StatusIs(StatusCode::kFailedPrecondition, "uninitialized value w"));
  }
  EXPECT_THAT(session->VariableValue("w"), StatusIs(StatusCode::kNotFound, "'w'"));
  CKPT_ASSERT_OK(
      session->Restore(WriteCheckpoint("w", Tensor::FromVector<float>({1, 2}, {100, 200}))));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> a, session->Run({{"x:0", x}}, {"y:0"}));
  EXPECT_EQ(Floats(a[0]), (std::vector<float>{101, 202}));
  CKPT_ASSERT_OK(
      session->Restore(WriteCheckpoint("w", Tensor::FromVector<float>({1, 2}, {-1, -2}))));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> b, session->Run({{"x:0", x}}, {"y:0"}));
  EXPECT_EQ(Floats(b[0]), (std::vector<float>{0, 0}));
}

TEST(SessionPlanCacheTest, ResultsDoNotAliasLaterRuns) {
  auto session = SessionFor(AddGraph());
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> first,
      session->Run({{"x:0", Tensor::FromVector<float>({1, 2}, {1, 2})}}, {"out:0", "c:0"}));
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> second,
      session->Run({{"x:0", Tensor::FromVector<float>({1, 2}, {5, 5})}}, {"out:0", "c:0"}));
  EXPECT_EQ(Floats(first[0]), (std::vector<float>{11, 22}));
  EXPECT_EQ(Floats(second[0]), (std::vector<float>{15, 25}));
  EXPECT_EQ(Floats(first[1]), (std::vector<float>{10, 20}));
}

// Outputs of 1 MiB or more live in blocks that freed tensors hand back to
// Tensor's cache: a fetched result must keep its values while later Runs
// allocate (and overwrite) blocks of the same size.
TEST(SessionPlanCacheTest, LargeResultsDoNotAliasLaterRuns) {
  auto session = SessionFor(AddGraph());
  const int64_t rows = 300000;  // [rows, 2] float: 2.4 MB per tensor
  auto input = [&](float base) {
    std::vector<float> v(static_cast<size_t>(rows * 2));
    for (size_t i = 0; i < v.size(); ++i) v[i] = base + static_cast<float>(i % 7);
    return Tensor::FromVector<float>({rows, 2}, v);
  };
  auto expected = [&](float base) {  // x + [10, 20] by hand
    std::vector<float> v(static_cast<size_t>(rows * 2));
    for (size_t i = 0; i < v.size(); ++i) {
      v[i] = base + static_cast<float>(i % 7) + (i % 2 == 0 ? 10.0f : 20.0f);
    }
    return v;
  };
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> first,
                            session->Run({{"x:0", input(1)}}, {"out:0", "y:0"}));
  for (int i = 0; i < 4; ++i) {
    // Each later Run's result is freed before the next: its blocks are reused.
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> later,
                              session->Run({{"x:0", input(100.0f + i)}}, {"out:0", "y:0"}));
    EXPECT_EQ(Floats(later[0]), expected(100.0f + i));
    EXPECT_NE(later[0].data(), first[0].data());
  }
  EXPECT_EQ(Floats(first[0]), expected(1));
  EXPECT_EQ(Floats(first[1]), expected(1));
}

}  // namespace
}  // namespace ckpt
