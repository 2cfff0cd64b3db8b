// The op kernels, one op at a time, against values worked out by hand from
// TF's definition of each op (not from the kernels' own output).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ckpt/tensor.h"
#include "ops/kernel.h"
#include "ops/op_test_util.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// --- the table ---

TEST(RegistryTest, FindsKnownOpsAndNotOthers) {
  EXPECT_NE(exec::FindKernel("MatMul"), nullptr);
  EXPECT_NE(exec::FindKernel("AddV2"), nullptr);
  EXPECT_EQ(exec::FindKernel("ApplyGradientDescent"), nullptr);  // training: out of scope
  EXPECT_EQ(exec::FindKernel(""), nullptr);
  EXPECT_EQ(exec::FindKernel("matmul"), nullptr);
}

TEST(RegistryTest, SupportedOpsIsSortedAndEachIsFound) {
  std::vector<std::string> ops = exec::SupportedOps();
  ASSERT_GE(ops.size(), 92u);
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
  for (const std::string& op : ops) EXPECT_NE(exec::FindKernel(op), nullptr) << op;
}

// --- elementwise ---

TEST(ElementwiseTest, AddSameShape) {
  Tensor out = RunOne(Node("AddV2"), {F({2, 2}, {1, 2, 3, 4}), F({2, 2}, {10, 20, 30, 40})});
  EXPECT_EQ(out.shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(out), ElementsAre(11, 22, 33, 44));
}

TEST(ElementwiseTest, BroadcastRowAgainstMatrix) {
  // [2,3] - [3]: the vector is subtracted from each row.
  Tensor out = RunOne(Node("Sub"), {F({2, 3}, {1, 2, 3, 4, 5, 6}), F({3}, {1, 1, 2})});
  EXPECT_EQ(out.shape(), (TensorShape{2, 3}));
  EXPECT_THAT(Values<float>(out), ElementsAre(0, 1, 1, 3, 4, 4));
}

TEST(ElementwiseTest, BroadcastColumnAgainstRowGivesOuterProduct) {
  // [2,1] * [1,3] -> [2,3], out[i][j] = a[i] * b[j].
  Tensor out = RunOne(Node("Mul"), {F({2, 1}, {2, 3}), F({1, 3}, {1, 10, 100})});
  EXPECT_EQ(out.shape(), (TensorShape{2, 3}));
  EXPECT_THAT(Values<float>(out), ElementsAre(2, 20, 200, 3, 30, 300));
}

TEST(ElementwiseTest, BroadcastScalarOnTheLeftAndRankGrowth) {
  // scalar / [2]; and [3,1,2] + [2,1] -> [3,2,2].
  Tensor div = RunOne(Node("RealDiv"), {Tensor::Scalar<float>(6), F({2}, {2, 4})});
  EXPECT_THAT(Values<float>(div), ElementsAre(3, 1.5));
  Tensor a = F({3, 1, 2}, {1, 2, 3, 4, 5, 6});
  Tensor b = F({2, 1}, {10, 20});
  Tensor sum = RunOne(Node("Add"), {a, b});
  EXPECT_EQ(sum.shape(), (TensorShape{3, 2, 2}));
  EXPECT_THAT(Values<float>(sum), ElementsAre(11, 12, 21, 22, 13, 14, 23, 24, 15, 16, 25, 26));
}

TEST(ElementwiseTest, IncompatibleShapesUseTfWording) {
  auto r = RunKernel(Node("Add", "add"), {F({2, 3}, {1, 2, 3, 4, 5, 6}), F({4}, {1, 2, 3, 4})});
  EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument, "Incompatible shapes: [2,3] vs. [4]"));
  EXPECT_THAT(r.status().message(), HasSubstr("{{node add}}"));
}

TEST(ElementwiseTest, MaximumMinimumOnInt32) {
  Tensor a = I32({3}, {1, -5, 7});
  Tensor b = I32({3}, {2, -6, 7});
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Maximum"), {a, b})), ElementsAre(2, -5, 7));
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Minimum"), {a, b})), ElementsAre(1, -6, 7));
}

TEST(ElementwiseTest, MixedDtypesAreInvalid) {
  EXPECT_THAT(RunKernel(Node("Add"), {F({1}, {1}), I32({1}, {1})}),
              StatusIs(StatusCode::kInvalidArgument, "expected to be a float tensor"));
}

TEST(ElementwiseTest, UnsupportedDtypeIsUnimplementedNamingOpAndNode) {
  Tensor s = Tensor::StringScalar("x");
  EXPECT_THAT(RunKernel(Node("Add", "my_add"), {s, s}),
              StatusIs(StatusCode::kUnimplemented, "Op Add (node 'my_add')"));
  // RealDiv is for real types only.
  EXPECT_THAT(RunKernel(Node("RealDiv", "d"), {I32({1}, {4}), I32({1}, {2})}),
              StatusIs(StatusCode::kUnimplemented, "dtype int32"));
}

TEST(ElementwiseTest, UnaryMath) {
  Tensor x = F({3}, {1, 4, 16});
  EXPECT_THAT(Values<float>(RunOne(Node("Sqrt"), {x})), ElementsAre(1, 2, 4));
  EXPECT_THAT(Values<float>(RunOne(Node("Rsqrt"), {x})), ElementsAre(1, 0.5, 0.25));
  EXPECT_THAT(Values<float>(RunOne(Node("Square"), {x})), ElementsAre(1, 16, 256));
  EXPECT_THAT(Values<float>(RunOne(Node("Neg"), {x})), ElementsAre(-1, -4, -16));
  std::vector<float> e = Values<float>(RunOne(Node("Exp"), {F({2}, {0, 1})}));
  EXPECT_FLOAT_EQ(e[0], 1.0f);
  EXPECT_FLOAT_EQ(e[1], 2.7182817f);
  std::vector<float> l = Values<float>(RunOne(Node("Log"), {F({2}, {1, 2.7182817f})}));
  EXPECT_FLOAT_EQ(l[0], 0.0f);
  EXPECT_NEAR(l[1], 1.0f, 1e-6);
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Neg"), {I32({2}, {3, -2})})), ElementsAre(-3, 2));
}

// --- matmul ---

TEST(MatMulTest, PlainProduct) {
  // [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]].
  Tensor a = F({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = F({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor out = RunOne(Node("MatMul"), {a, b});
  EXPECT_EQ(out.shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(out), ElementsAre(58, 64, 139, 154));
}

TEST(MatMulTest, Transposes) {
  // a^T with a = [[1,4],[2,5],[3,6]] stored [3,2] is [[1,2,3],[4,5,6]].
  Tensor at = F({3, 2}, {1, 4, 2, 5, 3, 6});
  // b^T with b stored [2,3] = [[7,9,11],[8,10,12]] is [[7,8],[9,10],[11,12]].
  Tensor bt = F({2, 3}, {7, 9, 11, 8, 10, 12});
  Tensor b = F({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor a = F({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_THAT(Values<float>(RunOne(Node("MatMul").Bool("transpose_a", true), {at, b})),
              ElementsAre(58, 64, 139, 154));
  EXPECT_THAT(Values<float>(RunOne(Node("MatMul").Bool("transpose_b", true), {a, bt})),
              ElementsAre(58, 64, 139, 154));
  EXPECT_THAT(Values<float>(RunOne(
                  Node("MatMul").Bool("transpose_a", true).Bool("transpose_b", true), {at, bt})),
              ElementsAre(58, 64, 139, 154));
}

TEST(MatMulTest, SizeIncompatibleUsesTfWording) {
  auto r = RunKernel(Node("MatMul", "mm"), {F({2, 3}, std::vector<float>(6)), F({4, 5}, {})});
  EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument,
                          "Matrix size-incompatible: In[0]: [2,3], In[1]: [4,5]"));
  EXPECT_THAT(r.status().message(), HasSubstr("{{node mm}}"));
  EXPECT_THAT(RunKernel(Node("MatMul"), {F({6}, {}), F({6, 1}, {})}),
              StatusIs(StatusCode::kInvalidArgument, "must be matrices"));
}

TEST(MatMulTest, Int32AndUnsupportedDtype) {
  Tensor out = RunOne(Node("MatMul"), {I32({1, 2}, {2, 3}), I32({2, 1}, {4, 5})});
  EXPECT_THAT(Values<int32_t>(out), ElementsAre(23));
  Tensor b = Tensor::FromVector<bool>({1, 1}, {true});
  EXPECT_THAT(RunKernel(Node("MatMul", "mb"), {b, b}),
              StatusIs(StatusCode::kUnimplemented, "Op MatMul (node 'mb') has no kernel for"));
}

TEST(BiasAddTest, AddsAlongLastDimension) {
  Tensor out = RunOne(Node("BiasAdd"), {F({2, 3}, {1, 2, 3, 4, 5, 6}), F({3}, {10, 20, 30})});
  EXPECT_THAT(Values<float>(out), ElementsAre(11, 22, 33, 14, 25, 36));
  EXPECT_THAT(RunKernel(Node("BiasAdd"), {F({2, 3}, {}), F({2}, {})}),
              StatusIs(StatusCode::kInvalidArgument, "Must provide as many biases"));
  EXPECT_THAT(RunKernel(Node("BiasAdd").Str("data_format", "HWCN"), {F({2, 3}, {}), F({3}, {})}),
              StatusIs(StatusCode::kUnimplemented, "NHWC and NCHW"));
}

// --- nn ---

TEST(NnTest, Activations) {
  Tensor x = F({5}, {-2, 0, 3, 6, 8});
  EXPECT_THAT(Values<float>(RunOne(Node("Relu"), {x})), ElementsAre(0, 0, 3, 6, 8));
  EXPECT_THAT(Values<float>(RunOne(Node("Relu6"), {x})), ElementsAre(0, 0, 3, 6, 6));
  std::vector<float> s = Values<float>(RunOne(Node("Sigmoid"), {F({3}, {0, 2, -2})}));
  EXPECT_FLOAT_EQ(s[0], 0.5f);
  EXPECT_NEAR(s[1], 0.88079708f, 1e-7);  // 1 / (1 + e^-2)
  EXPECT_NEAR(s[2], 0.11920292f, 1e-7);
  std::vector<float> t = Values<float>(RunOne(Node("Tanh"), {F({2}, {0, 1})}));
  EXPECT_FLOAT_EQ(t[0], 0.0f);
  EXPECT_NEAR(t[1], 0.76159416f, 1e-7);
}

TEST(NnTest, SoftmaxRowsSumToOne) {
  // Row [0, ln 3] -> [1/4, 3/4]; row [5,5] -> [1/2, 1/2].
  Tensor x = F({2, 2}, {0, std::log(3.0f), 5, 5});
  std::vector<float> p = Values<float>(RunOne(Node("Softmax"), {x}));
  EXPECT_NEAR(p[0], 0.25f, 1e-6);
  EXPECT_NEAR(p[1], 0.75f, 1e-6);
  EXPECT_NEAR(p[2], 0.5f, 1e-6);
  EXPECT_NEAR(p[3], 0.5f, 1e-6);
  std::vector<float> lp = Values<float>(RunOne(Node("LogSoftmax"), {x}));
  EXPECT_NEAR(lp[0], std::log(0.25f), 1e-6);
  EXPECT_NEAR(lp[1], std::log(0.75f), 1e-6);
}

TEST(NnTest, SoftmaxIsStableForLargeLogits) {
  // exp(1000) overflows; the shifted form still gives [1/2, 1/2].
  std::vector<float> p = Values<float>(RunOne(Node("Softmax"), {F({1, 2}, {1000, 1000})}));
  EXPECT_NEAR(p[0], 0.5f, 1e-6);
  EXPECT_NEAR(p[1], 0.5f, 1e-6);
}

// --- shape ops ---

TEST(ShapeOpsTest, ReshapeWithInferredDim) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor out = RunOne(Node("Reshape"), {x, I32({2}, {-1, 2})});
  EXPECT_EQ(out.shape(), (TensorShape{3, 2}));
  EXPECT_THAT(Values<float>(out), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(
      RunKernel(Node("Reshape"), {x, I32({2}, {4, 2})}),
      StatusIs(StatusCode::kInvalidArgument,
               "Input to reshape is a tensor with 6 values, but the requested shape has 8"));
  EXPECT_THAT(RunKernel(Node("Reshape"), {x, I32({2}, {-1, 4})}),
              StatusIs(StatusCode::kInvalidArgument, "requires a multiple of 4"));
  EXPECT_THAT(RunKernel(Node("Reshape"), {x, I32({2}, {-1, -1})}),
              StatusIs(StatusCode::kInvalidArgument, "Only one input size may be -1"));
}

TEST(ShapeOpsTest, ShapeDefaultsToInt32AndHonoursOutType) {
  Tensor x = F({2, 3}, std::vector<float>(6));
  Tensor s = RunOne(Node("Shape"), {x});
  EXPECT_THAT(Values<int32_t>(s), ElementsAre(2, 3));
  Tensor s64 = RunOne(Node("Shape").Type("out_type", DataType::kInt64), {x});
  EXPECT_THAT(Values<int64_t>(s64), ElementsAre(2, 3));
}

TEST(ShapeOpsTest, ExpandDimsAndSqueeze) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(RunOne(Node("ExpandDims"), {x, I32({}, {0})}).shape(), (TensorShape{1, 2, 3}));
  EXPECT_EQ(RunOne(Node("ExpandDims"), {x, I32({}, {-1})}).shape(), (TensorShape{2, 3, 1}));
  EXPECT_THAT(RunKernel(Node("ExpandDims"), {x, I32({}, {4})}),
              StatusIs(StatusCode::kInvalidArgument, "Tried to expand dim index 4"));
  Tensor y = F({1, 2, 1, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(RunOne(Node("Squeeze"), {y}).shape(), (TensorShape{2, 3}));
  Tensor z = RunOne(Node("Squeeze").Ints("squeeze_dims", {-2}), {y});
  EXPECT_EQ(z.shape(), (TensorShape{1, 2, 3}));
  EXPECT_THAT(Values<float>(z), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(RunKernel(Node("Squeeze").Ints("squeeze_dims", {1}), {y}),
              StatusIs(StatusCode::kInvalidArgument, "Can not squeeze dim[1]"));
}

TEST(ShapeOpsTest, ConcatV2AlongEachAxis) {
  Tensor a = F({2, 2}, {1, 2, 3, 4});
  Tensor b = F({2, 1}, {5, 6});
  Tensor c1 = RunOne(Node("ConcatV2"), {a, b, I32({}, {1})});
  EXPECT_EQ(c1.shape(), (TensorShape{2, 3}));
  EXPECT_THAT(Values<float>(c1), ElementsAre(1, 2, 5, 3, 4, 6));
  Tensor c0 = RunOne(Node("ConcatV2"), {a, F({1, 2}, {7, 8}), I32({}, {-2})});
  EXPECT_EQ(c0.shape(), (TensorShape{3, 2}));
  EXPECT_THAT(Values<float>(c0), ElementsAre(1, 2, 3, 4, 7, 8));
  EXPECT_THAT(RunKernel(Node("ConcatV2"), {a, b, I32({}, {0})}),
              StatusIs(StatusCode::kInvalidArgument,
                       "ConcatOp : Dimension 0 in both shapes must be equal"));
}

TEST(ShapeOpsTest, Cast) {
  Tensor x = F({4}, {1.7f, -1.7f, 0, 2});
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Cast").Type("DstT", DataType::kInt32), {x})),
              ElementsAre(1, -1, 0, 2));  // truncation toward zero, as C++ and TF
  EXPECT_THAT(Values<bool>(RunOne(Node("Cast").Type("DstT", DataType::kBool), {x})),
              ElementsAre(true, true, false, true));
  EXPECT_THAT(Values<double>(RunOne(Node("Cast").Type("DstT", DataType::kDouble),
                                    {Tensor::FromVector<int64_t>({1}, {3})})),
              ElementsAre(3.0));
  EXPECT_THAT(RunKernel(Node("Cast", "c").Type("DstT", DataType::kString), {x}),
              StatusIs(StatusCode::kUnimplemented, "Op Cast (node 'c')"));
}

TEST(ShapeOpsTest, ArgMaxFirstOnTiesAndOutputType) {
  Tensor x = F({2, 3}, {1, 9, 9, 7, 2, 3});
  EXPECT_THAT(Values<int64_t>(RunOne(Node("ArgMax"), {x, I32({}, {1})})), ElementsAre(1, 0));
  EXPECT_THAT(Values<int32_t>(
                  RunOne(Node("ArgMax").Type("output_type", DataType::kInt32), {x, I32({}, {0})})),
              ElementsAre(1, 0, 0));
  EXPECT_THAT(RunKernel(Node("ArgMax"), {x, I32({}, {2})}),
              StatusIs(StatusCode::kInvalidArgument, "Expected dimension in the range [-2, 2)"));
}

TEST(ShapeOpsTest, IdentityPassesTheTensorThrough) {
  Tensor x = F({2}, {1, 2});
  Tensor out = RunOne(Node("Identity"), {x});
  EXPECT_TRUE(out.Equals(x));
}

// --- reductions ---

TEST(ReductionTest, SumMeanMaxMinOverOneAxis) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_THAT(Values<float>(RunOne(Node("Sum"), {x, I32({}, {0})})), ElementsAre(5, 7, 9));
  EXPECT_THAT(Values<float>(RunOne(Node("Mean"), {x, I32({1}, {1})})), ElementsAre(2, 5));
  EXPECT_THAT(Values<float>(RunOne(Node("Max"), {x, I32({}, {-1})})), ElementsAre(3, 6));
  EXPECT_THAT(Values<float>(RunOne(Node("Min"), {x, I32({}, {0})})), ElementsAre(1, 2, 3));
}

TEST(ReductionTest, KeepDimsAndAllAxes) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor k = RunOne(Node("Sum").Bool("keep_dims", true), {x, I32({}, {1})});
  EXPECT_EQ(k.shape(), (TensorShape{2, 1}));
  EXPECT_THAT(Values<float>(k), ElementsAre(6, 15));
  Tensor all = RunOne(Node("Mean"), {x, Tensor::FromVector<int64_t>({2}, {0, 1})});
  EXPECT_EQ(all.shape(), TensorShape());
  EXPECT_THAT(Values<float>(all), ElementsAre(3.5));
  Tensor none = RunOne(Node("Sum"), {x, I32({0}, {})});
  EXPECT_EQ(none.shape(), (TensorShape{2, 3}));
  EXPECT_THAT(Values<float>(none), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(ReductionTest, IntegerMeanTruncatesAndBadAxisFails) {
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Mean"), {I32({2}, {1, 2}), I32({}, {0})})),
              ElementsAre(1));  // 3 / 2 in integers
  EXPECT_THAT(RunKernel(Node("Sum"), {F({2}, {1, 2}), I32({}, {1})}),
              StatusIs(StatusCode::kInvalidArgument, "Invalid reduction dimension"));
}

TEST(ReductionTest, MiddleAxisOfRank3) {
  // x[i][j][k] = 100i + 10j + k over [2,2,2]; sum over j: 2*(100i + k) + 10.
  Tensor x = F({2, 2, 2}, {0, 1, 10, 11, 100, 101, 110, 111});
  EXPECT_THAT(Values<float>(RunOne(Node("Sum"), {x, I32({}, {1})})), ElementsAre(10, 12, 210, 212));
}

// --- batch 2: comparisons, select, more activations, layout, makers ---

TEST(ElementwiseTest, ComparisonsGiveBoolAndBroadcast) {
  Tensor x = F({3}, {1, 2, 3});
  Tensor two = Tensor::Scalar<float>(2);
  EXPECT_THAT(Values<bool>(RunOne(Node("Greater"), {x, two})), ElementsAre(false, false, true));
  EXPECT_THAT(Values<bool>(RunOne(Node("GreaterEqual"), {x, two})), ElementsAre(false, true, true));
  EXPECT_THAT(Values<bool>(RunOne(Node("Equal"), {x, two})), ElementsAre(false, true, false));
  EXPECT_THAT(Values<bool>(RunOne(Node("NotEqual"), {x, two})), ElementsAre(true, false, true));
  EXPECT_THAT(Values<bool>(RunOne(Node("LessEqual"), {x, two})), ElementsAre(true, true, false));
  // [[1],[3]] < [2,3] -> [[1<2, 1<3], [3<2, 3<3]].
  Tensor less = RunOne(Node("Less"), {F({2, 1}, {1, 3}), F({2}, {2, 3})});
  EXPECT_EQ(less.shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<bool>(less), ElementsAre(true, true, false, false));
}

TEST(ElementwiseTest, SelectV2Broadcasts) {
  // The condition [2] picks columns; the else branch is a scalar.
  Tensor cond = Tensor::FromVector<bool>({2}, {true, false});
  Tensor out = RunOne(Node("SelectV2"), {cond, F({2, 2}, {1, 2, 3, 4}), Tensor::Scalar<float>(0)});
  EXPECT_EQ(out.shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(out), ElementsAre(1, 0, 3, 0));
  EXPECT_THAT(RunKernel(Node("SelectV2"), {F({2}, {1, 0}), F({2}, {}), F({2}, {})}),
              StatusIs(StatusCode::kInvalidArgument, "condition must be bool"));
}

TEST(NnTest, MoreActivations) {
  std::vector<float> elu = Values<float>(RunOne(Node("Elu"), {F({2}, {-1, 2})}));
  EXPECT_NEAR(elu[0], -0.63212056f, 1e-7);  // e^-1 - 1
  EXPECT_FLOAT_EQ(elu[1], 2.0f);
  std::vector<float> selu = Values<float>(RunOne(Node("Selu"), {F({2}, {1, -1})}));
  EXPECT_NEAR(selu[0], 1.0507009f, 1e-6);
  EXPECT_NEAR(selu[1], -1.1113307f, 1e-6);  // 1.0507 * 1.6733 * (e^-1 - 1)
  EXPECT_THAT(Values<float>(RunOne(Node("LeakyRelu"), {F({2}, {-1, 2})})),
              ElementsAre(-0.2f, 2.0f));  // default alpha 0.2
  std::vector<float> l =
      Values<float>(RunOne(Node("LeakyRelu").Float("alpha", 0.1f), {F({2}, {-3, 2})}));
  EXPECT_NEAR(l[0], -0.3f, 1e-6);
  EXPECT_FLOAT_EQ(l[1], 2.0f);
  std::vector<float> sp = Values<float>(RunOne(Node("Softplus"), {F({3}, {0, 100, -100})}));
  EXPECT_NEAR(sp[0], 0.69314718f, 1e-7);  // ln 2
  EXPECT_FLOAT_EQ(sp[1], 100.0f);         // no overflow
  EXPECT_NEAR(sp[2], 0.0f, 1e-30);
  EXPECT_THAT(Values<float>(RunOne(Node("Softsign"), {F({2}, {3, -1})})),
              ElementsAre(0.75f, -0.5f));
}

TEST(ShapeOpsTest, Transpose) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor t = RunOne(Node("Transpose"), {x, I32({2}, {1, 0})});
  EXPECT_EQ(t.shape(), (TensorShape{3, 2}));
  EXPECT_THAT(Values<float>(t), ElementsAre(1, 4, 2, 5, 3, 6));
  // x[i][0][k] = 1 + 3i + k; perm [2,0,1]: out[k][i][0] = x[i][0][k].
  Tensor t3 = RunOne(Node("Transpose"), {F({2, 1, 3}, {1, 2, 3, 4, 5, 6}), I32({3}, {2, 0, 1})});
  EXPECT_EQ(t3.shape(), (TensorShape{3, 2, 1}));
  EXPECT_THAT(Values<float>(t3), ElementsAre(1, 4, 2, 5, 3, 6));
  EXPECT_THAT(RunKernel(Node("Transpose"), {x, I32({2}, {0, 0})}),
              StatusIs(StatusCode::kInvalidArgument, "repeated"));
  EXPECT_THAT(RunKernel(Node("Transpose"), {x, I32({1}, {0})}),
              StatusIs(StatusCode::kInvalidArgument, "transpose expects a vector of size 2"));
}

TEST(ShapeOpsTest, PackAlongEachAxis) {
  Tensor a = F({2}, {1, 2});
  Tensor b = F({2}, {3, 4});
  EXPECT_THAT(Values<float>(RunOne(Node("Pack"), {a, b})), ElementsAre(1, 2, 3, 4));
  Tensor p1 = RunOne(Node("Pack").Int("axis", -1), {a, b});
  EXPECT_EQ(p1.shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(p1), ElementsAre(1, 3, 2, 4));
  EXPECT_THAT(RunKernel(Node("Pack"), {a, F({3}, {})}),
              StatusIs(StatusCode::kInvalidArgument, "Shapes of all inputs must match"));
}

TEST(ShapeOpsTest, ZerosOnesFill) {
  EXPECT_THAT(Values<int32_t>(RunOne(Node("ZerosLike"), {I32({2}, {5, 6})})), ElementsAre(0, 0));
  EXPECT_THAT(Values<int32_t>(RunOne(Node("OnesLike"), {I32({2}, {5, 6})})), ElementsAre(1, 1));
  Tensor f = RunOne(Node("Fill"), {I32({2}, {2, 3}), Tensor::Scalar<float>(7.5f)});
  EXPECT_EQ(f.shape(), (TensorShape{2, 3}));
  EXPECT_THAT(Values<float>(f), ElementsAreArray(std::vector<float>(6, 7.5f)));
  EXPECT_THAT(RunKernel(Node("Fill"), {I32({2}, {2, 3}), F({1}, {1})}),
              StatusIs(StatusCode::kInvalidArgument, "value must be a scalar"));
}

TEST(ReductionTest, Prod) {
  EXPECT_THAT(Values<float>(RunOne(Node("Prod"), {F({2, 3}, {1, 2, 3, 4, 5, 6}), I32({}, {1})})),
              ElementsAre(6, 120));
}

// --- batch 3: indexing ---

TEST(IndexingTest, Slice) {
  Tensor x = F({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor rows = RunOne(Node("Slice"), {x, I32({2}, {1, 0}), I32({2}, {2, -1})});
  EXPECT_EQ(rows.shape(), (TensorShape{2, 3}));
  EXPECT_THAT(Values<float>(rows), ElementsAre(4, 5, 6, 7, 8, 9));
  Tensor col = RunOne(Node("Slice"), {x, I32({2}, {0, 1}), I32({2}, {3, 1})});
  EXPECT_THAT(Values<float>(col), ElementsAre(2, 5, 8));
  EXPECT_THAT(RunKernel(Node("Slice"), {x, I32({2}, {2, 0}), I32({2}, {2, 1})}),
              StatusIs(StatusCode::kInvalidArgument, "Expected begin[0] in [0, 3]"));
}

TEST(IndexingTest, GatherAlongAxes) {
  Tensor p = F({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor g0 = RunOne(Node("GatherV2"), {p, I32({2}, {2, 0}), I32({}, {0})});
  EXPECT_EQ(g0.shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(g0), ElementsAre(5, 6, 1, 2));
  Tensor g1 = RunOne(Node("GatherV2"), {p, I32({1}, {1}), I32({}, {1})});
  EXPECT_EQ(g1.shape(), (TensorShape{3, 1}));
  EXPECT_THAT(Values<float>(g1), ElementsAre(2, 4, 6));
  // Matrix indices on axis 0: out[i][j] = p[idx[i][j]].
  Tensor gm = RunOne(Node("Gather"), {p, I32({2, 2}, {0, 1, 1, 0})});
  EXPECT_EQ(gm.shape(), (TensorShape{2, 2, 2}));
  EXPECT_THAT(Values<float>(gm), ElementsAre(1, 2, 3, 4, 3, 4, 1, 2));
  EXPECT_THAT(RunKernel(Node("GatherV2"), {p, I32({1}, {3}), I32({}, {0})}),
              StatusIs(StatusCode::kInvalidArgument, "indices[0] = 3 is not in [0, 3)"));
}

TEST(IndexingTest, Tile) {
  EXPECT_THAT(Values<float>(RunOne(Node("Tile"), {F({2}, {1, 2}), I32({1}, {3})})),
              ElementsAre(1, 2, 1, 2, 1, 2));
  Tensor t = RunOne(Node("Tile"), {F({2, 1}, {1, 2}), I32({2}, {1, 3})});
  EXPECT_EQ(t.shape(), (TensorShape{2, 3}));
  EXPECT_THAT(Values<float>(t), ElementsAre(1, 1, 1, 2, 2, 2));
}

TEST(IndexingTest, OneHot) {
  Tensor on = Tensor::Scalar<float>(1), off = Tensor::Scalar<float>(0);
  Tensor h = RunOne(Node("OneHot"), {I32({3}, {0, 2, 5}), I32({}, {3}), on, off});
  EXPECT_EQ(h.shape(), (TensorShape{3, 3}));
  EXPECT_THAT(Values<float>(h), ElementsAre(1, 0, 0, 0, 0, 1, 0, 0, 0));  // 5 is out of range
  Tensor h0 = RunOne(Node("OneHot").Int("axis", 0), {I32({2}, {1, 0}), I32({}, {3}), on, off});
  EXPECT_EQ(h0.shape(), (TensorShape{3, 2}));
  EXPECT_THAT(Values<float>(h0), ElementsAre(0, 1, 1, 0, 0, 0));
}

TEST(IndexingTest, UnpackAndIdentityN) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  Result<std::vector<Tensor>> rows = RunKernel(Node("Unpack").Int("num", 2), {x});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows.value().size(), 2u);
  EXPECT_THAT(Values<float>(rows.value()[1]), ElementsAre(4, 5, 6));
  Result<std::vector<Tensor>> cols = RunKernel(Node("Unpack").Int("axis", 1), {x});
  ASSERT_TRUE(cols.ok());
  ASSERT_EQ(cols.value().size(), 3u);
  EXPECT_THAT(Values<float>(cols.value()[0]), ElementsAre(1, 4));
  EXPECT_THAT(Values<float>(cols.value()[2]), ElementsAre(3, 6));
  EXPECT_THAT(RunKernel(Node("Unpack").Int("num", 3), {x}),
              StatusIs(StatusCode::kInvalidArgument, "must equal 3"));
  Result<std::vector<Tensor>> ids = RunKernel(Node("IdentityN"), {x, I32({1}, {7})});
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids.value().size(), 2u);
  EXPECT_THAT(Values<int32_t>(ids.value()[1]), ElementsAre(7));
}

TEST(IndexingTest, Range) {
  auto i = [](int32_t v) { return Tensor::Scalar<int32_t>(v); };
  auto f = [](float v) { return Tensor::Scalar<float>(v); };
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Range"), {i(0), i(10), i(3)})), ElementsAre(0, 3, 6, 9));
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Range"), {i(5), i(1), i(-2)})), ElementsAre(5, 3));
  EXPECT_THAT(Values<float>(RunOne(Node("Range"), {f(0), f(1), f(0.25f)})),
              ElementsAre(0, 0.25f, 0.5f, 0.75f));
  EXPECT_THAT(RunKernel(Node("Range"), {i(0), i(1), i(0)}),
              StatusIs(StatusCode::kInvalidArgument, "Requires delta != 0"));
  EXPECT_THAT(RunKernel(Node("Range"), {i(5), i(1), i(1)}),
              StatusIs(StatusCode::kInvalidArgument, "Requires start <= limit when delta > 0"));
}

// StridedSlice(x, begin, end, strides) with masks, each case written as the
// Python slice it stands for.
Result<std::vector<Tensor>> Strided(const Tensor& x, std::vector<int32_t> b, std::vector<int32_t> e,
                                    std::vector<int32_t> s, Node node = Node("StridedSlice")) {
  const int64_t n = static_cast<int64_t>(b.size());
  return RunKernel(node, {x, I32({n}, b), I32({n}, e), I32({n}, s)});
}

std::vector<float> Iota(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

TEST(IndexingTest, StridedSliceRangesAndSteps) {
  Tensor x = F({3, 4}, Iota(12));  // x[i][j] = 4i + j
  // x[1:3, ::2]
  auto r = Strided(x, {1, 0}, {3, 0}, {1, 2},
                   Node("StridedSlice").Int("begin_mask", 2).Int("end_mask", 2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()[0].shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(4, 6, 8, 10));
  // x[:, 1]
  r = Strided(
      x, {0, 1}, {0, 2}, {1, 1},
      Node("StridedSlice").Int("begin_mask", 1).Int("end_mask", 1).Int("shrink_axis_mask", 2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()[0].shape(), (TensorShape{3}));
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(1, 5, 9));
  // x[-1] (the last row; an implicit ellipsis fills the remaining dim)
  r = Strided(x, {-1}, {0}, {1}, Node("StridedSlice").Int("shrink_axis_mask", 1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(8, 9, 10, 11));
}

TEST(IndexingTest, StridedSliceShapeIndexReverseAndTail) {
  // tf.shape(x)[0] on a shape vector [3,4]: a scalar.
  auto r =
      Strided(I32({2}, {3, 4}), {0}, {1}, {1}, Node("StridedSlice").Int("shrink_axis_mask", 1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()[0].shape(), TensorShape());
  EXPECT_THAT(Values<int32_t>(r.value()[0]), ElementsAre(3));
  Tensor v = F({4}, {1, 2, 3, 4});
  // v[::-1]
  r = Strided(v, {0}, {0}, {-1}, Node("StridedSlice").Int("begin_mask", 1).Int("end_mask", 1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(4, 3, 2, 1));
  // v[-2:]
  r = Strided(v, {-2}, {0}, {1}, Node("StridedSlice").Int("end_mask", 1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(3, 4));
  // v[3:1:-1]
  r = Strided(v, {3}, {1}, {-1});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(4, 3));
}

TEST(IndexingTest, StridedSliceEllipsisNewAxisAndErrors) {
  Tensor x = F({2, 2, 2}, Iota(8));  // x[i][j][k] = 4i + 2j + k
  // x[..., 1]
  auto r = Strided(x, {0, 1}, {0, 2}, {1, 1},
                   Node("StridedSlice").Int("ellipsis_mask", 1).Int("shrink_axis_mask", 2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()[0].shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(1, 3, 5, 7));
  // y[tf.newaxis, 0] on y [2,3]: shape [1,3], row 0.
  r = Strided(F({2, 3}, Iota(6)), {0, 0}, {0, 1}, {1, 1},
              Node("StridedSlice").Int("new_axis_mask", 1).Int("shrink_axis_mask", 2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()[0].shape(), (TensorShape{1, 3}));
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(0, 1, 2));
  EXPECT_THAT(Strided(x, {5}, {6}, {1}, Node("StridedSlice").Int("shrink_axis_mask", 1)),
              StatusIs(StatusCode::kInvalidArgument, "slice index 5 of dimension 0 out of bounds"));
  EXPECT_THAT(Strided(x, {0}, {1}, {0}),
              StatusIs(StatusCode::kInvalidArgument, "strides[0] must be non-zero"));
}

TEST(MatMulTest, BatchMatMulV2BroadcastsBatchDims) {
  // x: two [1,2] matrices [[1,2]] and [[3,4]]; y one [2,1] matrix [[5],[6]],
  // broadcast to both: 1*5+2*6 = 17, 3*5+4*6 = 39.
  Tensor x = F({2, 1, 2}, {1, 2, 3, 4});
  Tensor y = F({2, 1}, {5, 6});
  Tensor out = RunOne(Node("BatchMatMulV2"), {x, y});
  EXPECT_EQ(out.shape(), (TensorShape{2, 1, 1}));
  EXPECT_THAT(Values<float>(out), ElementsAre(17, 39));
  // adj_x: [[1],[2]]^T = [[1,2]].
  Tensor xt = RunOne(Node("BatchMatMulV2").Bool("adj_x", true), {F({1, 2, 1}, {1, 2}), y});
  EXPECT_EQ(xt.shape(), (TensorShape{1, 1, 1}));
  EXPECT_THAT(Values<float>(xt), ElementsAre(17));
  EXPECT_THAT(RunKernel(Node("BatchMatMulV2"), {x, F({3, 1}, {})}),
              StatusIs(StatusCode::kInvalidArgument, "Matrix size-incompatible"));
  EXPECT_THAT(RunKernel(Node("BatchMatMulV2"), {F({2, 1, 2}, {}), F({3, 2, 1}, {})}),
              StatusIs(StatusCode::kInvalidArgument, "Incompatible shapes: [2] vs. [3]"));
}

TEST(ElementwiseTest, SelectV1RowsAndElements) {
  Tensor t = F({2, 2}, {1, 2, 3, 4});
  Tensor e = F({2, 2}, {5, 6, 7, 8});
  Tensor rows = Tensor::FromVector<bool>({2}, {true, false});
  EXPECT_THAT(Values<float>(RunOne(Node("Select"), {rows, t, e})), ElementsAre(1, 2, 7, 8));
  Tensor each = Tensor::FromVector<bool>({2, 2}, {true, false, false, true});
  EXPECT_THAT(Values<float>(RunOne(Node("Select"), {each, t, e})), ElementsAre(1, 6, 7, 4));
  EXPECT_THAT(RunKernel(Node("Select"), {rows, t, F({2}, {})}),
              StatusIs(StatusCode::kInvalidArgument, "'then' and 'else' must have the same size"));
}

TEST(IndexingTest, PadAndPadV2) {
  EXPECT_THAT(Values<float>(RunOne(Node("Pad"), {F({2}, {1, 2}), I32({1, 2}, {1, 2})})),
              ElementsAre(0, 1, 2, 0, 0));
  Tensor p = RunOne(Node("Pad"), {F({2, 2}, {1, 2, 3, 4}), I32({2, 2}, {1, 0, 0, 1})});
  EXPECT_EQ(p.shape(), (TensorShape{3, 3}));
  EXPECT_THAT(Values<float>(p), ElementsAre(0, 0, 0, 1, 2, 0, 3, 4, 0));
  EXPECT_THAT(Values<float>(RunOne(Node("PadV2"),
                                   {F({1}, {5}), I32({1, 2}, {1, 1}), Tensor::Scalar<float>(9)})),
              ElementsAre(9, 5, 9));
  EXPECT_THAT(RunKernel(Node("Pad"), {F({2}, {1, 2}), I32({2}, {1, 1})}),
              StatusIs(StatusCode::kInvalidArgument, "paddings"));
}

TEST(IndexingTest, SplitAndSplitV) {
  Tensor x = F({2, 4}, Iota(8));
  Result<std::vector<Tensor>> r = RunKernel(Node("Split").Int("num_split", 2), {I32({}, {1}), x});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value().size(), 2u);
  EXPECT_EQ(r.value()[0].shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(0, 1, 4, 5));
  EXPECT_THAT(Values<float>(r.value()[1]), ElementsAre(2, 3, 6, 7));
  EXPECT_THAT(RunKernel(Node("Split").Int("num_split", 3), {I32({}, {1}), x}),
              StatusIs(StatusCode::kInvalidArgument, "evenly divide"));
  Tensor v = F({5}, Iota(5));
  r = RunKernel(Node("SplitV"), {v, I32({2}, {2, -1}), I32({}, {0})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value().size(), 2u);
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(0, 1));
  EXPECT_THAT(Values<float>(r.value()[1]), ElementsAre(2, 3, 4));
  EXPECT_THAT(RunKernel(Node("SplitV"), {v, I32({2}, {-1, 6}), I32({}, {0})}),
              StatusIs(StatusCode::kInvalidArgument, "Determined shape must"));
}

TEST(IndexingTest, TopKV2LargestFirstLowerIndexOnTies) {
  Tensor x = F({2, 4}, {1, 3, 2, 3, 5, 4, 6, 0});
  Result<std::vector<Tensor>> r = RunKernel(Node("TopKV2"), {x, I32({}, {2})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value().size(), 2u);
  EXPECT_EQ(r.value()[0].shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(3, 3, 6, 5));
  EXPECT_THAT(Values<int32_t>(r.value()[1]), ElementsAre(1, 3, 2, 0));
  EXPECT_THAT(RunKernel(Node("TopKV2"), {x, I32({}, {5})}),
              StatusIs(StatusCode::kInvalidArgument, "input must have at least k columns"));
}

// --- conv.cc: NHWC windows ---

Node Window(const std::string& op, const std::string& padding, std::vector<int64_t> strides) {
  Node n(op);
  n.Str("padding", padding).Ints("strides", std::move(strides));
  return n;
}

TEST(ConvTest, Conv2DValidSameAndChannels) {
  Tensor x = F({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor ones = F({2, 2, 1, 1}, {1, 1, 1, 1});
  // VALID, stride 1: the sums of the four 2x2 windows.
  Tensor v = RunOne(Window("Conv2D", "VALID", {1, 1, 1, 1}), {x, ones});
  EXPECT_EQ(v.shape(), (TensorShape{1, 2, 2, 1}));
  EXPECT_THAT(Values<float>(v), ElementsAre(12, 16, 24, 28));
  // SAME, stride 2: out 2x2, one padding row/column after: windows
  // {1,2,4,5}, {3,6}, {7,8}, {9}.
  Tensor s2 = RunOne(Window("Conv2D", "SAME", {1, 2, 2, 1}), {x, ones});
  EXPECT_EQ(s2.shape(), (TensorShape{1, 2, 2, 1}));
  EXPECT_THAT(Values<float>(s2), ElementsAre(12, 9, 15, 9));
  // 1x1 conv mixing 2 channels into 2: o0 = 1*1 + 2*3, o1 = 1*2 + 2*4.
  Tensor mix = RunOne(Window("Conv2D", "VALID", {1, 1, 1, 1}),
                      {F({1, 1, 1, 2}, {1, 2}), F({1, 1, 2, 2}, {1, 2, 3, 4})});
  EXPECT_THAT(Values<float>(mix), ElementsAre(7, 10));
  // Dilation 2 along W: taps x[i] and x[i+2].
  Tensor d = RunOne(Window("Conv2D", "VALID", {1, 1, 1, 1}).Ints("dilations", {1, 1, 2, 1}),
                    {F({1, 1, 5, 1}, {1, 2, 3, 4, 5}), F({1, 2, 1, 1}, {1, 1})});
  EXPECT_THAT(Values<float>(d), ElementsAre(4, 6, 8));
  EXPECT_THAT(RunKernel(Window("Conv2D", "EXPLICIT", {1, 1, 1, 1}), {x, ones}),
              StatusIs(StatusCode::kUnimplemented, "padding SAME and VALID"));
  EXPECT_THAT(RunKernel(Window("Conv2D", "VALID", {1, 1, 1, 1}), {x, F({1, 1, 2, 1}, {})}),
              StatusIs(StatusCode::kInvalidArgument, "depth"));
}

TEST(ConvTest, DepthwiseKeepsChannelsApart) {
  // out[c*M + m] = x[c] * f[c][m]: {1*1, 1*2, 2*3, 2*4}.
  Tensor out = RunOne(Window("DepthwiseConv2dNative", "VALID", {1, 1, 1, 1}),
                      {F({1, 1, 1, 2}, {1, 2}), F({1, 1, 2, 2}, {1, 2, 3, 4})});
  EXPECT_EQ(out.shape(), (TensorShape{1, 1, 1, 4}));
  EXPECT_THAT(Values<float>(out), ElementsAre(1, 2, 6, 8));
}

TEST(ConvTest, MaxAndAvgPoolSkipPadding) {
  Tensor x = F({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_THAT(Values<float>(RunOne(
                  Window("MaxPool", "VALID", {1, 1, 1, 1}).Ints("ksize", {1, 2, 2, 1}), {x})),
              ElementsAre(5, 6, 8, 9));
  // SAME stride 2: windows {1,2,4,5}, {3,6}, {7,8}, {9}; the average counts
  // only real elements.
  EXPECT_THAT(Values<float>(
                  RunOne(Window("AvgPool", "SAME", {1, 2, 2, 1}).Ints("ksize", {1, 2, 2, 1}), {x})),
              ElementsAre(3, 4.5, 7.5, 9));
  EXPECT_THAT(Values<float>(
                  RunOne(Window("MaxPool", "SAME", {1, 2, 2, 1}).Ints("ksize", {1, 2, 2, 1}), {x})),
              ElementsAre(5, 6, 8, 9));
}

TEST(ConvTest, FusedBatchNormInference) {
  // y = (x - mean) / sqrt(var + eps) * scale + offset, eps 0:
  // c0: (1-1)/2*2+0 = 0; c1: (2-0)/0.5*1+1 = 5.
  Node bn = Node("FusedBatchNormV3");
  bn.Bool("is_training", false).Float("epsilon", 0);
  std::vector<Tensor> in = {F({1, 1, 1, 2}, {1, 2}), F({2}, {2, 1}), F({2}, {0, 1}), F({2}, {1, 0}),
                            F({2}, {4, 0.25f})};
  Result<std::vector<Tensor>> r = RunKernel(bn, in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value().size(), 6u);
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(0, 5));
  EXPECT_THAT(RunKernel(Node("FusedBatchNormV3", "bn"), in),
              StatusIs(StatusCode::kUnimplemented, "inference mode only"));
}

// --- more elementwise ---

TEST(ElementwiseTest, FloorDivAndFloorModRoundTowardMinusInfinity) {
  Tensor a = I32({4}, {7, -7, 7, -7});
  Tensor b = I32({4}, {2, 2, -2, -2});
  EXPECT_THAT(Values<int32_t>(RunOne(Node("FloorDiv"), {a, b})), ElementsAre(3, -4, -4, 3));
  EXPECT_THAT(Values<int32_t>(RunOne(Node("FloorMod"), {a, b})), ElementsAre(1, 1, -1, -1));
  EXPECT_THAT(Values<float>(RunOne(Node("FloorDiv"), {F({1}, {-7}), F({1}, {2})})),
              ElementsAre(-4));
  EXPECT_THAT(Values<float>(RunOne(Node("FloorMod"), {F({1}, {-7}), F({1}, {2})})), ElementsAre(1));
  EXPECT_THAT(RunKernel(Node("FloorDiv"), {a, I32({1}, {0})}),
              StatusIs(StatusCode::kInvalidArgument, "Integer division by zero"));
}

TEST(ElementwiseTest, MoreBinaryAndLogical) {
  EXPECT_THAT(
      Values<float>(RunOne(Node("SquaredDifference"), {F({2}, {1, 5}), Tensor::Scalar<float>(3)})),
      ElementsAre(4, 4));
  EXPECT_THAT(Values<float>(RunOne(Node("Pow"), {F({2}, {2, 3}), Tensor::Scalar<float>(2)})),
              ElementsAre(4, 9));
  Tensor p = Tensor::FromVector<bool>({3}, {true, true, false});
  Tensor q = Tensor::FromVector<bool>({3}, {true, false, false});
  EXPECT_THAT(Values<bool>(RunOne(Node("LogicalAnd"), {p, q})), ElementsAre(true, false, false));
  EXPECT_THAT(Values<bool>(RunOne(Node("LogicalOr"), {p, q})), ElementsAre(true, true, false));
  EXPECT_THAT(Values<bool>(RunOne(Node("LogicalNot"), {q})), ElementsAre(false, true, true));
  // Integer Div truncates toward zero; the quotient that overflows
  // (most negative / -1) wraps instead of trapping, in Div, FloorDiv, FloorMod.
  EXPECT_THAT(
      Values<int32_t>(RunOne(Node("Div"), {I32({4}, {7, -7, 7, -7}), I32({4}, {2, 2, -2, -2})})),
      ElementsAre(3, -3, -3, 3));
  const int32_t lowest = std::numeric_limits<int32_t>::min();
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Div"), {I32({1}, {lowest}), I32({1}, {-1})})),
              ElementsAre(lowest));
  EXPECT_THAT(Values<int32_t>(RunOne(Node("FloorDiv"), {I32({1}, {lowest}), I32({1}, {-1})})),
              ElementsAre(lowest));
  EXPECT_THAT(Values<int32_t>(RunOne(Node("FloorMod"), {I32({1}, {lowest}), I32({1}, {-1})})),
              ElementsAre(0));
  EXPECT_THAT(RunKernel(Node("Div", "dv"), {I32({1}, {7}), I32({1}, {0})}),
              StatusIs(StatusCode::kInvalidArgument, "Integer division by zero"));
  // Integer Pow: exact, wrapping; a negative exponent is an error.
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Pow"), {I32({3}, {-2, 3, 0}), I32({3}, {3, 40, 0})})),
              ElementsAre(-8, 689956897 /* 3^40 mod 2^32 */, 1));
  EXPECT_THAT(RunKernel(Node("Pow", "pw"), {I32({1}, {2}), I32({1}, {-1})}),
              StatusIs(StatusCode::kInvalidArgument, "negative integer powers"));
}

TEST(ElementwiseTest, MoreUnary) {
  EXPECT_THAT(Values<float>(RunOne(Node("Abs"), {F({2}, {-2, 3})})), ElementsAre(2, 3));
  EXPECT_THAT(Values<int32_t>(RunOne(Node("Sign"), {I32({3}, {-2, 0, 3})})), ElementsAre(-1, 0, 1));
  EXPECT_THAT(Values<float>(RunOne(Node("Floor"), {F({2}, {-1.5f, 1.5f})})), ElementsAre(-2, 1));
  EXPECT_THAT(Values<float>(RunOne(Node("Ceil"), {F({2}, {-1.5f, 1.5f})})), ElementsAre(-1, 2));
  // Half to even.
  EXPECT_THAT(Values<float>(RunOne(Node("Round"), {F({4}, {0.5f, 1.5f, 2.5f, -2.5f})})),
              ElementsAre(0, 2, 2, -2));
  EXPECT_THAT(Values<float>(RunOne(Node("Reciprocal"), {F({1}, {4})})), ElementsAre(0.25));
  EXPECT_THAT(Values<float>(RunOne(Node("Log1p"), {F({1}, {0})})), ElementsAre(0));
}

TEST(ShapeOpsTest, AsStringFormatsAsPrintf) {
  // The canned heads' `classes`: int64 class ids as decimal strings.
  Tensor ids = Tensor::FromVector<int64_t>({3}, {0, 2, -12});
  Tensor s = RunOne(Node("AsString"), {ids});
  ASSERT_EQ(s.dtype(), DataType::kString);
  EXPECT_THAT(s.strings(), ElementsAre("0", "2", "-12"));
  // Floats default to %f; precision and shortest as TF's attrs.
  EXPECT_THAT(RunOne(Node("AsString"), {F({1}, {1.5f})}).strings(), ElementsAre("1.500000"));
  EXPECT_THAT(RunOne(Node("AsString").Int("precision", 2), {F({1}, {1.5f})}).strings(),
              ElementsAre("1.50"));
  EXPECT_THAT(RunOne(Node("AsString").Bool("shortest", true), {F({1}, {1.5f})}).strings(),
              ElementsAre("1.5"));
  EXPECT_THAT(RunOne(Node("AsString").Int("width", 3).Str("fill", "0"), {I32({1}, {7})}).strings(),
              ElementsAre("007"));
}

}  // namespace
}  // namespace ckpt
