// Kernels where ckpt differed from TensorFlow 2.21, found by the per-op oracle
// (tests/interop/test_ops_oracle.py). Each test pins TF's behaviour as TF's
// session.run showed it (the oracle case named in the comment) and failed on
// the kernel before its fix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ckpt/tensor.h"
#include "ops/op_test_util.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Maximum-edge-f32, Minimum-edge-f32: a NaN on either side gives NaN.
TEST(NumericsTest, MaximumAndMinimumPropagateNaNFromEitherSide) {
  for (const char* op : {"Maximum", "Minimum"}) {
    SCOPED_TRACE(op);
    Tensor out = RunOne(Node(op), {F({3}, {kNaN, 0, 1}), F({3}, {0, kNaN, 2})});
    std::vector<float> v = Values<float>(out);
    ASSERT_EQ(v.size(), 3u);
    EXPECT_TRUE(std::isnan(v[0]));
    EXPECT_TRUE(std::isnan(v[1]));
    EXPECT_EQ(v[2], std::string(op) == "Maximum" ? 2 : 1);
  }
}

// Max-nan-inf, Min-nan-inf: a row holding NaN reduces to NaN, wherever it is.
TEST(NumericsTest, MaxAndMinReductionsPropagateNaN) {
  for (const char* op : {"Max", "Min"}) {
    SCOPED_TRACE(op);
    Tensor out = RunOne(Node(op), {F({3, 3}, {1, kNaN, 2, kNaN, 1, 2, 1, 2, kNaN}), I32({}, {1})});
    std::vector<float> v = Values<float>(out);
    ASSERT_EQ(v.size(), 3u);
    for (float x : v) EXPECT_TRUE(std::isnan(x)) << x;
  }
}

// Relu-edge-f32, Sign-edge-f32: NaN in, NaN out.
TEST(NumericsTest, ReluAndSignOfNaNAreNaN) {
  for (const char* op : {"Relu", "Sign"}) {
    SCOPED_TRACE(op);
    std::vector<float> v = Values<float>(RunOne(Node(op), {F({3}, {kNaN, -2, 3})}));
    ASSERT_EQ(v.size(), 3u);
    EXPECT_TRUE(std::isnan(v[0]));
    EXPECT_EQ(v[1], std::string(op) == "Relu" ? 0 : -1);
    EXPECT_EQ(v[2], std::string(op) == "Relu" ? 3 : 1);
  }
}

// MaxPool-neg-inf-nan: each window starts at the lowest finite float, so a
// window of -inf (and NaN) gives -FLT_MAX, and a NaN never wins.
TEST(NumericsTest, MaxPoolStartsAtLowestFiniteAndSkipsNaN) {
  Node pool = Node("MaxPool")
                  .Ints("ksize", {1, 1, 2, 1})
                  .Ints("strides", {1, 1, 2, 1})
                  .Str("padding", "VALID");
  Tensor out = RunOne(pool, {F({1, 1, 6, 1}, {-kInf, -kInf, kNaN, -kInf, kNaN, 5})});
  EXPECT_THAT(Values<float>(out), ElementsAre(std::numeric_limits<float>::lowest(),
                                              std::numeric_limits<float>::lowest(), 5));
}

// AsString-i64-width3-fill : `fill` is a printf flag, as TF builds the format
// ("%" + fill + width + "lld"): " " puts a space before a non-negative number
// even when it is wider than `width`, "+" a sign, "-" left-aligns.
TEST(NumericsTest, AsStringFillIsAPrintfFlag) {
  Tensor x = Tensor::FromVector<int64_t>({3}, {42, -7, 123456});
  auto run = [&](const std::string& fill, int width) {
    Tensor out = RunOne(Node("AsString").Str("fill", fill).Int("width", width), {x});
    return out.dtype() == DataType::kString ? out.strings() : std::vector<std::string>{};
  };
  EXPECT_THAT(run(" ", 3), ElementsAre(" 42", " -7", " 123456"));
  EXPECT_THAT(run("+", 4), ElementsAre(" +42", "  -7", "+123456"));
  EXPECT_THAT(run("-", 4), ElementsAre("42  ", "-7  ", "123456"));
  EXPECT_THAT(run("0", 4), ElementsAre("0042", "-007", "123456"));
  EXPECT_THAT(RunKernel(Node("AsString").Str("fill", "x"), {x}).status(),
              StatusIs(StatusCode::kInvalidArgument, "Fill argument not supported"));
}

// AsString-scientific-and-shortest, AsString-int-precision,
// AsString-int-scientific: TF refuses attrs that do not apply.
TEST(NumericsTest, AsStringRefusesAttrsThatDoNotApply) {
  Tensor f = F({1}, {1.5f});
  Tensor i = I32({1}, {1});
  EXPECT_THAT(
      RunKernel(Node("AsString").Bool("scientific", true).Bool("shortest", true), {f}).status(),
      StatusIs(StatusCode::kInvalidArgument,
               "Cannot select both scientific and shortest notation"));
  EXPECT_THAT(RunKernel(Node("AsString").Int("precision", 2), {i}).status(),
              StatusIs(StatusCode::kInvalidArgument, "precision not supported for datatype int32"));
  EXPECT_THAT(RunKernel(Node("AsString").Bool("shortest", true), {i}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "scientific and shortest format not supported for datatype int32"));
}

// GatherV2-batch-dims1-axis1 and friends: batch_dims was ignored (each batch
// gathered from every batch).
TEST(NumericsTest, GatherV2BatchDimsGathersWithinEachBatch) {
  // params [2,3], indices [2,2], batch_dims 1, axis 1: out[b][k] = params[b][indices[b][k]].
  Tensor params = F({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor indices = I32({2, 2}, {2, 0, 1, 1});
  Tensor out = RunOne(Node("GatherV2").Int("batch_dims", 1), {params, indices, I32({}, {1})});
  EXPECT_EQ(out.shape(), (TensorShape{2, 2}));
  EXPECT_THAT(Values<float>(out), ElementsAre(3, 1, 5, 5));

  // batch_dims -1 (indices rank 2 -> 1), params [2,2,2], axis 2: out [2,2,2]
  // (params[:2] + indices[1:]); out[b][i][k] = params[b][i][indices[b][k]].
  Tensor p3 = F({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor idx = I32({2, 2}, {1, 0, 0, 0});
  out = RunOne(Node("GatherV2").Int("batch_dims", -1), {p3, idx, I32({}, {2})});
  EXPECT_EQ(out.shape(), (TensorShape{2, 2, 2}));
  EXPECT_THAT(Values<float>(out), ElementsAre(2, 1, 4, 3, 5, 5, 7, 7));

  // TF's checks: axis below batch_dims, batch dims that differ.
  EXPECT_THAT(
      RunKernel(Node("GatherV2", "g").Int("batch_dims", 2), {p3, idx, I32({}, {1})}).status(),
      StatusIs(StatusCode::kInvalidArgument,
               "batch_dims (2) must be less than or equal to axis (1)."));
  EXPECT_THAT(RunKernel(Node("GatherV2").Int("batch_dims", 1),
                        {F({3, 2}, {1, 2, 3, 4, 5, 6}), idx, I32({}, {1})})
                  .status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "params.shape[0]: 3 should be equal to indices.shape[0]: 2"));
}

// BiasAdd-NCHW, BiasAdd-NCHW-rank3, FusedBatchNormV3-NCHW: TF's CPU kernels
// take NCHW (channel dim 1); ckpt refused them (Unimplemented).
TEST(NumericsTest, BiasAddAndFusedBatchNormTakeNchw) {
  // x [1,2,1,2] NCHW: channel 0 holds x[0..1], channel 1 x[2..3].
  Tensor x = F({1, 2, 1, 2}, {1, 3, 5, 7});
  Tensor out = RunOne(Node("BiasAdd").Str("data_format", "NCHW"), {x, F({2}, {10, 20})});
  EXPECT_THAT(Values<float>(out), ElementsAre(11, 13, 25, 27));
  // scale [1,2], offset [0,1], mean [1,0], variance [3,0], epsilon 1:
  // mul = scale / sqrt(var + eps) = [0.5, 2], add = offset - mean * mul = [-0.5, 1].
  Node bn = Node("FusedBatchNormV3")
                .Str("data_format", "NCHW")
                .Bool("is_training", false)
                .Float("epsilon", 1.0f);
  Result<std::vector<Tensor>> r =
      RunKernel(bn, {x, F({2}, {1, 2}), F({2}, {0, 1}), F({2}, {1, 0}), F({2}, {3, 0})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(Values<float>(r.value()[0]), ElementsAre(0, 1, 11, 15));
}

// The *-dtype-string cases: the ops that only move elements take strings, as
// TF's do (ckpt's took fixed-size dtypes only).
TEST(NumericsTest, ElementMovesTakeStrings) {
  Result<Tensor> s = Tensor::FromStrings({2, 2}, {"a", "bb", "", "d"});
  ASSERT_TRUE(s.ok());
  auto strings = [](const Tensor& t) {
    return t.dtype() == DataType::kString ? t.strings() : std::vector<std::string>{};
  };
  EXPECT_THAT(strings(RunOne(Node("Transpose"), {s.value(), I32({2}, {1, 0})})),
              ElementsAre("a", "", "bb", "d"));
  EXPECT_THAT(strings(RunOne(Node("Tile"), {s.value(), I32({2}, {1, 2})})),
              ElementsAre("a", "bb", "a", "bb", "", "d", "", "d"));
  EXPECT_THAT(strings(RunOne(Node("GatherV2"), {s.value(), I32({2}, {1, 1}), I32({}, {1})})),
              ElementsAre("bb", "bb", "d", "d"));
  EXPECT_THAT(strings(RunOne(Node("ConcatV2"), {s.value(), s.value(), I32({}, {0})})),
              ElementsAre("a", "bb", "", "d", "a", "bb", "", "d"));
  EXPECT_THAT(strings(RunOne(Node("Pad"), {s.value(), I32({2, 2}, {0, 0, 1, 0})})),
              ElementsAre("", "a", "bb", "", "", "d"));
}

// Reshape-infer-from-empty: TF infers a -1 beside a 0 from the input's
// non-zero dims ([0,3] -> [-1,0] is [3,0]); ckpt refused ("a multiple of 0").
// Reshape-shape-overflow: sizes whose product overflows int64 are refused.
TEST(NumericsTest, ReshapeInfersBesideAZeroSizeAsTf) {
  Tensor out = RunOne(Node("Reshape"), {F({0, 3}, {}), I32({2}, {-1, 0})});
  EXPECT_EQ(out.shape(), (TensorShape{3, 0}));
  EXPECT_THAT(
      RunKernel(Node("Reshape"), {F({2, 3}, {1, 2, 3, 4, 5, 6}), I32({2}, {-1, 0})}).status(),
      StatusIs(StatusCode::kInvalidArgument,
               "tensor with 6 values, but the requested shape has 0"));
  EXPECT_THAT(
      RunKernel(Node("Reshape"), {F({0}, {}), Tensor::FromVector<int64_t>(
                                                  {2}, {int64_t{1} << 40, int64_t{1} << 40})})
          .status(),
      StatusIs(StatusCode::kInvalidArgument, "overflow"));
}

// ArgMax-nan-axis0: a NaN at index 0 held the place (nothing compares larger
// than NaN); TF's search starts at lowest(), so NaN and -inf never win.
TEST(NumericsTest, ArgMaxSkipsNaNAndMinusInfinity) {
  Tensor x = F({4, 3}, {kNaN, 1, -kInf, kNaN, 5, -kInf, 3, kNaN, -kInf, 2, kNaN, -kInf});
  Tensor out = RunOne(Node("ArgMax"), {x, I32({}, {0})});
  EXPECT_THAT(Values<int64_t>(out), ElementsAre(2, 1, 0));
}

}  // namespace
}  // namespace ckpt
