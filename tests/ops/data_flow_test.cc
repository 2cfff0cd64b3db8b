// data_flow.cc's kernels (StopGradient/Snapshot, AddN, Size, Rank, Assert,
// DynamicPartition, DynamicStitch) and ResourceGather, against values worked
// out by hand from TF's op definitions; random.cc's RandomUniform against
// TF's own numbers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ckpt/tensor.h"
#include "ops/kernel.h"
#include "ops/kernels.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;

tensorflow::NodeDef MakeNode(const std::string& op,
                             std::vector<std::pair<std::string, int64_t>> int_attrs = {}) {
  tensorflow::NodeDef def;
  def.set_op(op);
  def.set_name("n");
  for (const auto& [name, value] : int_attrs) (*def.mutable_attr())[name].set_i(value);
  return def;
}

Result<std::vector<Tensor>> RunOp(const tensorflow::NodeDef& def, std::vector<Tensor> inputs) {
  exec::KernelFn fn = exec::FindKernel(def.op());
  if (fn == nullptr) return InternalError("no kernel for " + def.op());
  exec::KernelContext ctx;
  ctx.node = &def;
  ctx.inputs = std::move(inputs);
  CKPT_RETURN_IF_ERROR(fn(&ctx));
  return std::move(ctx.outputs);
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DataTypeOf<T>::value);
  if (t.dtype() != DataTypeOf<T>::value) return {};
  return std::vector<T>(t.flat<T>(), t.flat<T>() + t.num_elements());
}

Tensor F(TensorShape s, std::vector<float> v) { return Tensor::FromVector<float>(s, v); }
Tensor I32(TensorShape s, std::vector<int32_t> v) { return Tensor::FromVector<int32_t>(s, v); }

TEST(DataFlowTest, GradientBarriersAreIdentities) {
  for (const char* op : {"StopGradient", "PreventGradient", "Snapshot"}) {
    auto out = RunOp(MakeNode(op), {F({2}, {1.5f, -2})});
    ASSERT_TRUE(out.ok()) << op << ": " << out.status().ToString();
    ASSERT_EQ(out.value().size(), 1u);
    EXPECT_THAT(Values<float>(out.value()[0]), ElementsAre(1.5f, -2.0f)) << op;
  }
}

TEST(DataFlowTest, AddNSumsSameShapeInputs) {
  auto out = RunOp(MakeNode("AddN"), {F({2}, {1, 2}), F({2}, {10, 20}), F({2}, {100, 200})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_THAT(Values<float>(out.value()[0]), ElementsAre(111.0f, 222.0f));
  auto ints = RunOp(MakeNode("AddN"), {I32({}, {3}), I32({}, {-5})});
  ASSERT_TRUE(ints.ok());
  EXPECT_THAT(Values<int32_t>(ints.value()[0]), ElementsAre(-2));
  EXPECT_THAT(RunOp(MakeNode("AddN"), {F({2}, {1, 2}), F({3}, {1, 2, 3})}).status(),
              StatusIs(StatusCode::kInvalidArgument, "Input 0: [2] != input 1: [3]"));
}

TEST(DataFlowTest, SizeAndRank) {
  auto size = RunOp(MakeNode("Size"), {F({2, 3}, {0, 0, 0, 0, 0, 0})});
  ASSERT_TRUE(size.ok());
  EXPECT_THAT(Values<int32_t>(size.value()[0]), ElementsAre(6));
  tensorflow::NodeDef size64 = MakeNode("Size");
  (*size64.mutable_attr())["out_type"].set_type(tensorflow::DT_INT64);
  auto s64 = RunOp(size64, {F({0, 4}, {})});
  ASSERT_TRUE(s64.ok());
  EXPECT_THAT(Values<int64_t>(s64.value()[0]), ElementsAre(0));
  auto rank = RunOp(MakeNode("Rank"), {F({2, 1, 3}, {0, 0, 0, 0, 0, 0})});
  ASSERT_TRUE(rank.ok());
  EXPECT_THAT(Values<int32_t>(rank.value()[0]), ElementsAre(3));
}

TEST(DataFlowTest, AssertPassesOrFailsWithItsMessage) {
  auto ok = RunOp(MakeNode("Assert"), {Tensor::Scalar<bool>(true), F({1}, {1})});
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value().empty());
  EXPECT_THAT(RunOp(MakeNode("Assert"),
                    {Tensor::Scalar<bool>(false), Tensor::StringScalar("x must be positive")})
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "assertion failed: [x must be positive]"));
}

// data = [[1,2],[3,4],[5,6],[7,8]], partitions = [1,0,1,2]:
// out0 = [[3,4]], out1 = [[1,2],[5,6]], out2 = [[7,8]].
TEST(DataFlowTest, DynamicPartitionRows) {
  auto out = RunOp(MakeNode("DynamicPartition", {{"num_partitions", 3}}),
                   {F({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), I32({4}, {1, 0, 1, 2})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out.value().size(), 3u);
  EXPECT_EQ(out.value()[0].shape(), TensorShape({1, 2}));
  EXPECT_THAT(Values<float>(out.value()[0]), ElementsAre(3, 4));
  EXPECT_EQ(out.value()[1].shape(), TensorShape({2, 2}));
  EXPECT_THAT(Values<float>(out.value()[1]), ElementsAre(1, 2, 5, 6));
  EXPECT_THAT(Values<float>(out.value()[2]), ElementsAre(7, 8));
}

TEST(DataFlowTest, DynamicPartitionErrors) {
  EXPECT_THAT(RunOp(MakeNode("DynamicPartition", {{"num_partitions", 2}}),
                    {F({2}, {1, 2}), I32({2}, {0, 2})})
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "partitions[1] = 2 is not in [0, 2)"));
  EXPECT_THAT(RunOp(MakeNode("DynamicPartition", {{"num_partitions", 2}}),
                    {F({2}, {1, 2}), I32({3}, {0, 0, 0})})
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "must start with"));
}

// indices [0,2] and [1], data [[1,1],[3,3]] and [[2,2]] -> [[1,1],[2,2],[3,3]];
// what embedding_lookup does to put partitioned rows back in order.
TEST(DataFlowTest, DynamicStitchMergesInIndexOrder) {
  for (const char* op : {"DynamicStitch", "ParallelDynamicStitch"}) {
    auto out = RunOp(MakeNode(op, {{"N", 2}}),
                     {I32({2}, {0, 2}), I32({1}, {1}), F({2, 2}, {1, 1, 3, 3}), F({1, 2}, {2, 2})});
    ASSERT_TRUE(out.ok()) << op << ": " << out.status().ToString();
    EXPECT_EQ(out.value()[0].shape(), TensorShape({3, 2}));
    EXPECT_THAT(Values<float>(out.value()[0]), ElementsAre(1, 1, 2, 2, 3, 3)) << op;
  }
  // A repeated index: the later input wins (DynamicStitch's documented order).
  auto dup = RunOp(MakeNode("DynamicStitch", {{"N", 2}}),
                   {I32({1}, {0}), I32({1}, {0}), F({1}, {5}), F({1}, {7})});
  ASSERT_TRUE(dup.ok());
  EXPECT_THAT(Values<float>(dup.value()[0]), ElementsAre(7));
  EXPECT_THAT(
      RunOp(MakeNode("DynamicStitch", {{"N", 1}}), {I32({2}, {0, 1}), F({3}, {1, 2, 3})}).status(),
      StatusIs(StatusCode::kInvalidArgument, "does not start with"));
}

// ResourceGather gets the variable's value (the executor reads the handle).
TEST(DataFlowTest, ResourceGatherIsGatherOnAxis0) {
  auto out = RunOp(MakeNode("ResourceGather"), {F({3, 2}, {1, 2, 3, 4, 5, 6}), I32({2}, {2, 0})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_THAT(Values<float>(out.value()[0]), ElementsAre(5, 6, 1, 2));
}

// RandomUniform's numbers are TF's: the expected values are what TF 2.21's
// first sess.run of tf.raw_ops.RandomUniform gave for these seeds.
TEST(RandomTest, RandomUniformIsTfsPhiloxStream) {
  tensorflow::NodeDef def = MakeNode("RandomUniform", {{"seed", 1}, {"seed2", 2}});
  (*def.mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
  auto out = RunOp(def, {I32({1}, {6})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_THAT(Values<float>(out.value()[0]),
              ElementsAre(0.406396746635437f, 0.8575996160507202f, 0.05539584159851074f,
                          0.08587229251861572f, 0.41215360164642334f, 0.036630868911743164f));
  tensorflow::NodeDef def2 = MakeNode("RandomUniform", {{"seed", 87654321}, {"seed2", 0}});
  (*def2.mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
  auto out2 = RunOp(def2, {I32({2}, {2, 3})});
  ASSERT_TRUE(out2.ok()) << out2.status().ToString();
  EXPECT_EQ(out2.value()[0].shape(), TensorShape({2, 3}));
  EXPECT_THAT(Values<float>(out2.value()[0]),
              ElementsAre(0.10086262226104736f, 0.970166802406311f, 0.848764181137085f,
                          0.048281311988830566f, 0.04852306842803955f, 0.7774746417999268f));
  // Unseeded: values in [0, 1).
  tensorflow::NodeDef unseeded = MakeNode("RandomUniform");
  (*unseeded.mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
  auto out3 = RunOp(unseeded, {I32({1}, {100})});
  ASSERT_TRUE(out3.ok());
  for (float v : Values<float>(out3.value()[0])) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LT(v, 1.0f);
  }
  (*unseeded.mutable_attr())["dtype"].set_type(tensorflow::DT_DOUBLE);
  EXPECT_THAT(RunOp(unseeded, {I32({1}, {2})}).status(),
              StatusIs(StatusCode::kUnimplemented, "double"));
}

// ---- sparse.cc (feature columns)

Tensor I64(TensorShape s, std::vector<int64_t> v) { return Tensor::FromVector<int64_t>(s, v); }

TEST(SparseTest, BucketizeCountsBoundariesAtOrBelow) {
  tensorflow::NodeDef def = MakeNode("Bucketize");
  for (float b : {0.0f, 10.0f, 100.0f})
    (*def.mutable_attr())["boundaries"].mutable_list()->add_f(b);
  auto out = RunOp(def, {F({5}, {-5, 0, 5, 10, 150})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_THAT(Values<int32_t>(out.value()[0]), ElementsAre(0, 1, 1, 2, 3));
}

TEST(SparseTest, WhereGivesRowMajorCoordinates) {
  auto b = RunOp(MakeNode("Where"), {Tensor::FromVector<bool>({2, 2}, {true, false, false, true})});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b.value()[0].shape(), TensorShape({2, 2}));
  EXPECT_THAT(Values<int64_t>(b.value()[0]), ElementsAre(0, 0, 1, 1));
  auto f = RunOp(MakeNode("Where"), {F({4}, {0, 3, 0, -1})});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value()[0].shape(), TensorShape({2, 1}));
  EXPECT_THAT(Values<int64_t>(f.value()[0]), ElementsAre(1, 3));
  EXPECT_THAT(RunOp(MakeNode("Where"), {Tensor::Scalar<bool>(true)}).status(),
              StatusIs(StatusCode::kInvalidArgument, "Unhandled input dimensions: 0"));
}

TEST(SparseTest, GatherNdElementsAndRows) {
  const Tensor params = F({2, 2}, {1, 2, 3, 4});
  auto elems = RunOp(MakeNode("GatherNd"), {params, I64({2, 2}, {1, 0, 0, 1})});
  ASSERT_TRUE(elems.ok()) << elems.status().ToString();
  EXPECT_THAT(Values<float>(elems.value()[0]), ElementsAre(3, 2));
  auto rows = RunOp(MakeNode("GatherNd"), {params, I32({1, 1}, {1})});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows.value()[0].shape(), TensorShape({1, 2}));
  EXPECT_THAT(Values<float>(rows.value()[0]), ElementsAre(3, 4));
  const Tensor words = Tensor::FromStrings(TensorShape({2, 2}), {"a", "", "c", "d"}).value();
  auto picked = RunOp(MakeNode("GatherNd"), {words, I64({2, 2}, {1, 1, 0, 0})});
  ASSERT_TRUE(picked.ok()) << picked.status().ToString();
  EXPECT_THAT(picked.value()[0].strings(), ElementsAre("d", "a"));
  EXPECT_THAT(RunOp(MakeNode("GatherNd"), {params, I64({1, 2}, {2, 0})}).status(),
              StatusIs(StatusCode::kInvalidArgument, "does not index into param shape [2,2]"));
}

// Rows 0 and 2 are empty and get [row, 0] = -1; row 1 keeps input order.
TEST(SparseTest, SparseFillEmptyRows) {
  auto out =
      RunOp(MakeNode("SparseFillEmptyRows"), {I64({3, 2}, {3, 0, 1, 1, 1, 0}), F({3}, {30, 11, 10}),
                                              I64({2}, {4, 3}), Tensor::Scalar<float>(-1)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out.value().size(), 4u);
  EXPECT_THAT(Values<int64_t>(out.value()[0]), ElementsAre(0, 0, 1, 1, 1, 0, 2, 0, 3, 0));
  EXPECT_THAT(Values<float>(out.value()[1]), ElementsAre(-1, 11, 10, -1, 30));
  EXPECT_THAT(Values<bool>(out.value()[2]), ElementsAre(true, false, true, false));
  EXPECT_THAT(Values<int64_t>(out.value()[3]), ElementsAre(4, 1, 2));
  auto words = RunOp(MakeNode("SparseFillEmptyRows"),
                     {I64({1, 1}, {1}), Tensor::FromStrings(TensorShape({1}), {"w"}).value(),
                      I64({1}, {2}), Tensor::StringScalar("?")});
  ASSERT_TRUE(words.ok()) << words.status().ToString();
  EXPECT_THAT(words.value()[1].strings(), ElementsAre("?", "w"));
  EXPECT_THAT(RunOp(MakeNode("SparseFillEmptyRows"),
                    {I64({1, 2}, {4, 0}), F({1}, {1}), I64({2}, {4, 3}), Tensor::Scalar<float>(0)})
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "indices(0, 0) is invalid: 4 >= 4"));
}

// [2,3] -> [3,-1] = [3,2]: flat 1 -> [0,1], flat 5 -> [2,1].
TEST(SparseTest, SparseReshape) {
  auto out = RunOp(MakeNode("SparseReshape"),
                   {I64({2, 2}, {0, 1, 1, 2}), I64({2}, {2, 3}), I64({2}, {3, -1})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_THAT(Values<int64_t>(out.value()[0]), ElementsAre(0, 1, 2, 1));
  EXPECT_THAT(Values<int64_t>(out.value()[1]), ElementsAre(3, 2));
  EXPECT_THAT(
      RunOp(MakeNode("SparseReshape"), {I64({1, 2}, {0, 1}), I64({2}, {2, 3}), I64({1}, {5})})
          .status(),
      StatusIs(StatusCode::kInvalidArgument, "6 dense values"));
}

// data rows r0=[1,2], r1=[3,4], r2=[5,6]; indices [0,2,1], segments [0,0,2]:
// segment 0 = r0 + r2 = [6,8] (mean [3,4], sqrtN [6,8]/sqrt(2)), segment 1
// empty = 0, segment 2 = r1.
TEST(SparseTest, SparseSegmentSumMeanSqrtN) {
  const Tensor data = F({3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor idx = I32({3}, {0, 2, 1});
  const Tensor seg = I32({3}, {0, 0, 2});
  auto sum = RunOp(MakeNode("SparseSegmentSum"), {data, idx, seg});
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_THAT(Values<float>(sum.value()[0]), ElementsAre(6, 8, 0, 0, 3, 4));
  auto mean = RunOp(MakeNode("SparseSegmentMean"), {data, idx, seg});
  ASSERT_TRUE(mean.ok());
  EXPECT_THAT(Values<float>(mean.value()[0]), ElementsAre(3, 4, 0, 0, 3, 4));
  auto sqrtn = RunOp(MakeNode("SparseSegmentSqrtN"), {data, idx, seg});
  ASSERT_TRUE(sqrtn.ok());
  EXPECT_THAT(Values<float>(sqrtn.value()[0]),
              ElementsAre(6 / std::sqrt(2.0f), 8 / std::sqrt(2.0f), 0, 0, 3, 4));
  EXPECT_THAT(RunOp(MakeNode("SparseSegmentSum"), {data, idx, I32({3}, {1, 0, 0})}).status(),
              StatusIs(StatusCode::kInvalidArgument, "not increasing"));
}

TEST(SparseTest, SparseToDense) {
  auto out = RunOp(MakeNode("SparseToDense"), {I64({2, 2}, {0, 1, 2, 0}), I64({2}, {3, 2}),
                                               F({2}, {5, 7}), Tensor::Scalar<float>(0)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_THAT(Values<float>(out.value()[0]), ElementsAre(0, 5, 0, 0, 7, 0));
  EXPECT_THAT(RunOp(MakeNode("SparseToDense"),
                    {I64({1, 2}, {3, 0}), I64({2}, {3, 2}), F({1}, {5}), Tensor::Scalar<float>(0)})
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "out of bounds"));
  // validate_indices (default true): sorted, no repeats, as TF checks.
  EXPECT_THAT(RunOp(MakeNode("SparseToDense"), {I64({2, 2}, {2, 0, 0, 1}), I64({2}, {3, 2}),
                                                F({2}, {5, 7}), Tensor::Scalar<float>(0)})
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "indices[1] = [0,1] is out of order"));
  EXPECT_THAT(RunOp(MakeNode("SparseToDense"), {I64({2, 2}, {0, 1, 0, 1}), I64({2}, {3, 2}),
                                                F({2}, {5, 7}), Tensor::Scalar<float>(0)})
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "indices[1] = [0,1] is repeated"));
  tensorflow::NodeDef unchecked = MakeNode("SparseToDense");
  (*unchecked.mutable_attr())["validate_indices"].set_b(false);
  auto any_order = RunOp(unchecked, {I64({2, 2}, {2, 0, 0, 1}), I64({2}, {3, 2}), F({2}, {5, 7}),
                                     Tensor::Scalar<float>(0)});
  ASSERT_TRUE(any_order.ok()) << any_order.status().ToString();
  EXPECT_THAT(Values<float>(any_order.value()[0]), ElementsAre(0, 7, 0, 0, 5, 0));
}

// ---- string_ops.cc

TEST(StringOpsTest, EqualAndNotEqualOnStringsAndBools) {
  const Tensor words = Tensor::FromStrings(TensorShape({3}), {"", "cat", ""}).value();
  auto ne = RunOp(MakeNode("NotEqual"), {words, Tensor::StringScalar("")});
  ASSERT_TRUE(ne.ok()) << ne.status().ToString();
  EXPECT_THAT(Values<bool>(ne.value()[0]), ElementsAre(false, true, false));
  auto eq = RunOp(MakeNode("Equal"), {words, Tensor::StringScalar("cat")});
  ASSERT_TRUE(eq.ok());
  EXPECT_THAT(Values<bool>(eq.value()[0]), ElementsAre(false, true, false));
  auto bools = RunOp(MakeNode("Equal"),
                     {Tensor::FromVector<bool>({2}, {true, false}), Tensor::Scalar<bool>(false)});
  ASSERT_TRUE(bools.ok());
  EXPECT_THAT(Values<bool>(bools.value()[0]), ElementsAre(false, true));
  // Numbers still go through the elementwise kernel.
  auto nums = RunOp(MakeNode("NotEqual"), {F({2}, {1, 2}), F({}, {2})});
  ASSERT_TRUE(nums.ok());
  EXPECT_THAT(Values<bool>(nums.value()[0]), ElementsAre(true, false));
  EXPECT_THAT(RunOp(MakeNode("Equal"), {words, F({}, {1})}).status(),
              StatusIs(StatusCode::kInvalidArgument, "expected to be a string tensor"));
}

// ---- string_ops.cc: expected values are TF 2.21's tf.fingerprint (uint64 LE) and
// tf.strings.to_hash_bucket_fast(s, 1000) of the same strings; lengths cover
// each FarmHash branch (0-16, 17-32, 33-64, > 64).
TEST(HashTest, StringToHashBucketFastIsTfsFingerprint64) {
  std::vector<std::string> s = {"",
                                "a",
                                "abc",
                                "abcd",
                                "hello wor",
                                "0123456789abcdef",
                                "0123456789abcdefg",
                                std::string(32, 'x'),
                                std::string(33, 'y'),
                                "The quick brown fox jumps over the lazy dog 0123",
                                std::string(64, 'z'),
                                std::string(65, 'w')};
  std::string bytes200;
  for (int i = 0; i < 200; ++i) bytes200.push_back(static_cast<char>(i));
  s.push_back(bytes200);
  const std::vector<uint64_t> fingerprints = {
      11160318154034397263ULL, 12917804110809363939ULL, 2640714258260161385ULL,
      1897425971756105985ULL,  568376189322566502ULL,   6105018409752412263ULL,
      12024047538191061578ULL, 12901576723999808517ULL, 8610735037765521150ULL,
      8938627730308717417ULL,  294799756062990872ULL,   12495383604066267776ULL,
      525935771297148851ULL};
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(ops::Fingerprint64(s[i]), fingerprints[i]) << "length " << s[i].size();
  }
  tensorflow::NodeDef def = MakeNode("StringToHashBucketFast", {{"num_buckets", 1000}});
  auto out = RunOp(def, {Tensor::FromStrings(TensorShape({13}), s).value()});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<int64_t> expected;
  for (uint64_t f : fingerprints) expected.push_back(static_cast<int64_t>(f % 1000));
  EXPECT_EQ(Values<int64_t>(out.value()[0]), expected);
  EXPECT_THAT(expected, ElementsAre(263, 939, 385, 985, 502, 263, 578, 517, 150, 417, 872, 776,
                                    851));  // TF's buckets
  EXPECT_THAT(
      RunOp(MakeNode("StringToHashBucketFast", {{"num_buckets", 0}}), {Tensor::StringScalar("a")})
          .status(),
      StatusIs(StatusCode::kInvalidArgument, "num_buckets"));
}

}  // namespace
}  // namespace ckpt
