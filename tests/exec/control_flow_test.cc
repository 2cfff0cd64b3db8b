// TF1 control flow in Session::Run: Switch forwards its data to the output
// the predicate picks and marks the other dead; nodes with a dead input (or
// a dead control input) are skipped; Merge forwards its first live input.
// The graph is what tf.compat.v1.cond(pred, lambda: x * 2, lambda: x * 3)
// writes with control flow v1 (node names and inputs copied from TF 2.21's
// GraphDef); the expected values are x * 2 or x * 3 by hand.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "ckpt/graph_import.h"
#include "ckpt/session.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using testing::StatusIs;

constexpr char kCondGraph[] = R"pb(
  node {
    name: "input"
    op: "Placeholder"
    attr {
      key: "dtype"
      value { type: DT_FLOAT }
    }
  }
  node {
    name: "is_training/input"
    op: "Const"
    attr {
      key: "dtype"
      value { type: DT_BOOL }
    }
    attr {
      key: "value"
      value {
        tensor {
          dtype: DT_BOOL
          tensor_shape {}
          bool_val: false
        }
      }
    }
  }
  node {
    name: "is_training"
    op: "PlaceholderWithDefault"
    input: "is_training/input"
    attr {
      key: "dtype"
      value { type: DT_BOOL }
    }
  }
  node { name: "cond/Switch" op: "Switch" input: "is_training" input: "is_training" }
  node { name: "cond/switch_t" op: "Identity" input: "cond/Switch:1" }
  node { name: "cond/switch_f" op: "Identity" input: "cond/Switch" }
  node { name: "cond/pred_id" op: "Identity" input: "is_training" }
  node {
    name: "cond/mul/y"
    op: "Const"
    input: "^cond/switch_t"
    attr {
      key: "dtype"
      value { type: DT_FLOAT }
    }
    attr {
      key: "value"
      value {
        tensor {
          dtype: DT_FLOAT
          tensor_shape {}
          float_val: 2
        }
      }
    }
  }
  node {
    name: "cond/mul"
    op: "Mul"
    input: "cond/mul/Switch:1"
    input: "cond/mul/y"
    attr {
      key: "T"
      value { type: DT_FLOAT }
    }
  }
  node { name: "cond/mul/Switch" op: "Switch" input: "input" input: "cond/pred_id" }
  node {
    name: "cond/mul_1/y"
    op: "Const"
    input: "^cond/switch_f"
    attr {
      key: "dtype"
      value { type: DT_FLOAT }
    }
    attr {
      key: "value"
      value {
        tensor {
          dtype: DT_FLOAT
          tensor_shape {}
          float_val: 3
        }
      }
    }
  }
  node {
    name: "cond/mul_1"
    op: "Mul"
    input: "cond/mul_1/Switch"
    input: "cond/mul_1/y"
    attr {
      key: "T"
      value { type: DT_FLOAT }
    }
  }
  node { name: "cond/mul_1/Switch" op: "Switch" input: "input" input: "cond/pred_id" }
  node { name: "cond/Merge" op: "Merge" input: "cond/mul_1" input: "cond/mul" }
  node { name: "out" op: "Identity" input: "cond/Merge" }
)pb";

std::unique_ptr<Session> CondSession() {
  tensorflow::GraphDef graph;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kCondGraph, &graph));
  return Session::Create(ImportedGraph::FromGraphDef(graph).value()).value();
}

using testing::Floats;

TEST(ControlFlowTest, CondTakesTheFalseBranchByDefault) {
  auto session = CondSession();
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                            session->Run({{"input:0", Tensor::FromVector<float>({2}, {1.5f, -2})}},
                                         {"out:0", "cond/Merge:1"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{4.5f, -6}));  // x * 3
  EXPECT_EQ(out[1].flat<int32_t>()[0], 0);                    // Merge picked input 0
}

TEST(ControlFlowTest, CondTakesTheTrueBranchWhenFed) {
  auto session = CondSession();
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                            session->Run({{"input:0", Tensor::FromVector<float>({2}, {1.5f, -2})},
                                          {"is_training:0", Tensor::Scalar<bool>(true)}},
                                         {"out:0", "cond/Merge:1", "cond/mul:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{3, -4}));  // x * 2
  EXPECT_EQ(out[1].flat<int32_t>()[0], 1);
  EXPECT_EQ(Floats(out[2]), (std::vector<float>{3, -4}));
}

// The same signature run again (a cached plan) with the other predicate:
// deadness is per run.
TEST(ControlFlowTest, DeadnessIsPerRunWithACachedPlan) {
  auto session = CondSession();
  for (bool training : {true, false, true}) {
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                              session->Run({{"input:0", Tensor::FromVector<float>({1}, {2})},
                                            {"is_training:0", Tensor::Scalar<bool>(training)}},
                                           {"out:0"}));
    EXPECT_EQ(Floats(out[0]), (std::vector<float>{training ? 4.0f : 6.0f})) << training;
  }
}

TEST(ControlFlowTest, FetchingTheUntakenBranchIsAnError) {
  auto session = CondSession();
  // cond/mul_1/y is dead through its control input on the true branch.
  for (const char* fetch : {"cond/mul_1:0", "cond/mul_1/y:0", "cond/mul_1/Switch:0"}) {
    EXPECT_THAT(session->Run({{"input:0", Tensor::FromVector<float>({1}, {1})},
                              {"is_training:0", Tensor::Scalar<bool>(true)}},
                             {fetch}),
                StatusIs(StatusCode::kInvalidArgument, "does not have value"))
        << fetch;
  }
  // A fed tensor is live even where the branch is not taken.
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      session->Run({{"input:0", Tensor::FromVector<float>({1}, {1})},
                    {"is_training:0", Tensor::Scalar<bool>(true)},
                    {"cond/mul_1/Switch:0", Tensor::FromVector<float>({1}, {5})}},
                   {"cond/mul_1/Switch:0", "out:0"}));
  EXPECT_EQ(Floats(out[0]), (std::vector<float>{5}));
  EXPECT_EQ(Floats(out[1]), (std::vector<float>{2}));
}

// A MatMul -> BiasAdd -> Relu chain (which Run fuses into one kernel call)
// on the taken and on the untaken side of a Switch.
TEST(ControlFlowTest, FusedChainOnABranchIsSkippedWhenDead) {
  tensorflow::GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        node {
          name: "x"
          op: "Placeholder"
          attr {
            key: "dtype"
            value { type: DT_FLOAT }
          }
        }
        node {
          name: "p"
          op: "Placeholder"
          attr {
            key: "dtype"
            value { type: DT_BOOL }
          }
        }
        node { name: "s" op: "Switch" input: "x" input: "p" }
        node {
          name: "w"
          op: "Const"
          attr {
            key: "dtype"
            value { type: DT_FLOAT }
          }
          attr {
            key: "value"
            value {
              tensor {
                dtype: DT_FLOAT
                tensor_shape {
                  dim { size: 2 }
                  dim { size: 2 }
                }
                float_val: 1
                float_val: 2
                float_val: 3
                float_val: 4
              }
            }
          }
        }
        node {
          name: "b"
          op: "Const"
          attr {
            key: "dtype"
            value { type: DT_FLOAT }
          }
          attr {
            key: "value"
            value {
              tensor {
                dtype: DT_FLOAT
                tensor_shape { dim { size: 2 } }
                float_val: 10
                float_val: -100
              }
            }
          }
        }
        node { name: "mm" op: "MatMul" input: "s:1" input: "w" }
        node { name: "ba" op: "BiasAdd" input: "mm" input: "b" }
        node { name: "r" op: "Relu" input: "ba" }
        node { name: "f" op: "Identity" input: "s" }
        node {
          name: "m"
          op: "Merge"
          input: "r"
          input: "f"
          attr {
            key: "N"
            value { i: 2 }
          }
        })pb",
      &def));
  CKPT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Session> session,
                            Session::Create(ImportedGraph::FromGraphDef(def).value()));
  const Tensor x = Tensor::FromVector<float>({1, 2}, {1, 2});
  for (int i = 0; i < 2; ++i) {
    CKPT_ASSERT_OK_AND_ASSIGN(
        std::vector<Tensor> taken,
        session->Run({{"x:0", x}, {"p:0", Tensor::Scalar<bool>(true)}}, {"m:0"}));
    EXPECT_EQ(Floats(taken[0]), (std::vector<float>{17, 0}));  // relu([7, 10] + [10, -100])
    CKPT_ASSERT_OK_AND_ASSIGN(
        std::vector<Tensor> other,
        session->Run({{"x:0", x}, {"p:0", Tensor::Scalar<bool>(false)}}, {"m:0"}));
    EXPECT_EQ(Floats(other[0]), (std::vector<float>{1, 2}));
  }
}

TEST(ControlFlowTest, SwitchPredicateMustBeAScalarBool) {
  auto session = CondSession();
  EXPECT_THAT(session->Run({{"input:0", Tensor::FromVector<float>({1}, {1})},
                            {"cond/pred_id:0", Tensor::FromVector<float>({1}, {1})}},
                           {"out:0"}),
              StatusIs(StatusCode::kInvalidArgument, "must be a scalar"));
}

TEST(ControlFlowTest, SwitchAndMergeAreSupportedOpTypes) {
  const std::vector<std::string> ops = SupportedOpTypes();
  for (const char* op : {"Switch", "Merge"}) {
    EXPECT_TRUE(std::binary_search(ops.begin(), ops.end(), std::string(op))) << op;
  }
  for (const char* op : {"Enter", "StatelessIf"}) {
    EXPECT_FALSE(std::binary_search(ops.begin(), ops.end(), std::string(op))) << op;
  }
}

}  // namespace
}  // namespace ckpt
