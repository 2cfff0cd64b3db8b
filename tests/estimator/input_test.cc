// ExamplesInputFn, Batch::size and ModeName.
#include <set>
#include <string>
#include <vector>

#include "ckpt/estimator_input.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;

std::vector<LabeledExample> MakeExamples(int n) {
  std::vector<LabeledExample> out;
  for (int i = 0; i < n; ++i) out.push_back({{static_cast<float>(i), 100.0f + i}, i % 3});
  return out;
}

std::vector<Batch> Drain(Iterator<Batch>* it, int limit = 1000) {
  std::vector<Batch> out;
  while (static_cast<int>(out.size()) < limit) {
    std::optional<Batch> b = it->Next();
    if (!b) break;
    out.push_back(std::move(*b));
  }
  return out;
}

TEST(ModeNameTest, TfValues) {
  EXPECT_STREQ(ModeName(Mode::kTrain), "train");
  EXPECT_STREQ(ModeName(Mode::kEval), "eval");
  EXPECT_STREQ(ModeName(Mode::kPredict), "infer");
}

TEST(BatchTest, SizeIsFirstFeatureDim0) {
  Batch empty;
  EXPECT_EQ(empty.size(), 0);
  Batch b;
  b.features["a"] = Tensor::FromVector<float>(TensorShape({7}), std::vector<float>(7, 1.0f));
  EXPECT_EQ(b.size(), 7);
}

TEST(ExamplesInputFnTest, BatchesInOrderWithColumnsAndLabels) {
  ExamplesInputOptions options;
  options.batch_size = 4;
  InputFn fn = ExamplesInputFn(MakeExamples(10), {"x", "y"}, options);
  CKPT_ASSERT_OK_AND_ASSIGN(auto it, fn());
  std::vector<Batch> batches = Drain(it.get());
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(), 4);
  EXPECT_EQ(batches[2].size(), 2);  // the last batch is short
  const Batch& b = batches[1];
  ASSERT_EQ(b.features.size(), 2u);
  const Tensor& x = b.features.at("x");
  const Tensor& y = b.features.at("y");
  EXPECT_EQ(x.dtype(), DataType::kFloat);
  EXPECT_EQ(x.shape(), TensorShape({4}));
  ASSERT_TRUE(b.labels.has_value());
  EXPECT_EQ(b.labels->dtype(), DataType::kInt64);
  EXPECT_EQ(b.labels->shape(), TensorShape({4}));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(x.flat<float>()[i], 4.0f + i);
    EXPECT_EQ(y.flat<float>()[i], 104.0f + i);
    EXPECT_EQ(b.labels->flat<int64_t>()[i], (4 + i) % 3);
  }
  // The end stays the end.
  EXPECT_FALSE(it->Next().has_value());
}

TEST(ExamplesInputFnTest, WithoutLabels) {
  ExamplesInputOptions options;
  options.batch_size = 100;
  options.with_labels = false;
  CKPT_ASSERT_OK_AND_ASSIGN(auto it, ExamplesInputFn(MakeExamples(3), {"x", "y"}, options)());
  std::vector<Batch> batches = Drain(it.get());
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_FALSE(batches[0].labels.has_value());
  EXPECT_EQ(batches[0].size(), 3);
}

TEST(ExamplesInputFnTest, ShuffleRepeatIsAPermutationPerPassAndReplaysPerCall) {
  ExamplesInputOptions options;
  options.batch_size = 5;
  options.shuffle_buffer = 1000;
  options.seed = 42;
  options.repeat = true;
  InputFn fn = ExamplesInputFn(MakeExamples(10), {"x", "y"}, options);
  CKPT_ASSERT_OK_AND_ASSIGN(auto it1, fn());
  std::vector<Batch> first = Drain(it1.get(), 8);  // 4 passes
  ASSERT_EQ(first.size(), 8u);                      // repeat never ends
  std::vector<float> order;
  for (const Batch& b : first) {
    for (int i = 0; i < 5; ++i) order.push_back(b.features.at("x").flat<float>()[i]);
  }
  for (int pass = 0; pass < 4; ++pass) {
    std::set<float> seen(order.begin() + pass * 10, order.begin() + pass * 10 + 10);
    EXPECT_EQ(seen.size(), 10u) << "pass " << pass << " is not a permutation";
  }
  const std::vector<float> pass0(order.begin(), order.begin() + 10);
  const std::vector<float> pass1(order.begin() + 10, order.begin() + 20);
  std::vector<float> identity;
  for (int i = 0; i < 10; ++i) identity.push_back(static_cast<float>(i));
  EXPECT_NE(pass0, identity);
  EXPECT_NE(pass0, pass1);  // reshuffled each pass
  // Features and labels of an example stay together.
  for (const Batch& b : first) {
    for (int i = 0; i < 5; ++i) {
      const float x = b.features.at("x").flat<float>()[i];
      EXPECT_EQ(b.features.at("y").flat<float>()[i], 100.0f + x);
      EXPECT_EQ(b.labels->flat<int64_t>()[i], static_cast<int64_t>(x) % 3);
    }
  }
  // A second call rebuilds the pipeline: the same sequence again.
  CKPT_ASSERT_OK_AND_ASSIGN(auto it2, fn());
  std::vector<Batch> second = Drain(it2.get(), 8);
  ASSERT_EQ(second.size(), 8u);
  for (size_t k = 0; k < 8; ++k) {
    EXPECT_TRUE(second[k].features.at("x").Equals(first[k].features.at("x"))) << k;
  }
}

TEST(ExamplesInputFnTest, Errors) {
  ExamplesInputOptions options;
  options.batch_size = 0;
  EXPECT_THAT(ExamplesInputFn(MakeExamples(3), {"x", "y"}, options)(),
              StatusIs(StatusCode::kInvalidArgument, "batch_size"));
  options.batch_size = 2;
  EXPECT_THAT(ExamplesInputFn(MakeExamples(3), {"x"}, options)(),
              StatusIs(StatusCode::kInvalidArgument, "example 0 has 2 features, expected 1"));
  EXPECT_THAT(ExamplesInputFn(MakeExamples(3), {"x", "x"}, options)(),
              StatusIs(StatusCode::kInvalidArgument, "duplicate feature name \"x\""));
  options.shuffle_buffer = 0;
  EXPECT_THAT(ExamplesInputFn(MakeExamples(3), {"x", "y"}, options)(),
              StatusIs(StatusCode::kInvalidArgument, "buffer_size"));
}

}  // namespace
}  // namespace ckpt
