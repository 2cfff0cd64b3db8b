// Dataset: shuffle buffer semantics and determinism, repeat, batch, take.
#include <algorithm>
#include <numeric>
#include <set>

#include "ckpt/dataset.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<int> Range(int n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

template <typename T>
std::vector<T> Drain(const Dataset<T>& ds, size_t limit = 1000000) {
  std::vector<T> out;
  auto it = ds.MakeIterator();
  while (out.size() < limit) {
    std::optional<T> e = it->Next();
    if (!e) break;
    out.push_back(std::move(*e));
  }
  return out;
}

TEST(DatasetTest, FromVectorYieldsInOrderThenEnds) {
  auto ds = Dataset<int>::FromVector({3, 1, 2});
  auto it = ds.MakeIterator();
  EXPECT_EQ(it->Next(), 3);
  EXPECT_EQ(it->Next(), 1);
  EXPECT_EQ(it->Next(), 2);
  EXPECT_EQ(it->Next(), std::nullopt);
  EXPECT_EQ(it->Next(), std::nullopt);
  // A second iterator starts over.
  EXPECT_THAT(Drain(ds), ElementsAre(3, 1, 2));
}

TEST(DatasetTest, ShuffleIsAPermutationAndDeterministic) {
  auto base = Dataset<int>::FromVector(Range(100));
  auto a = Drain(base.Shuffle(1000, 7).value());
  auto b = Drain(base.Shuffle(1000, 7).value());
  auto c = Drain(base.Shuffle(1000, 8).value());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, Range(100));
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, Range(100));
  // The same dataset iterated twice replays the same order.
  auto ds = base.Shuffle(10, 3).value();
  EXPECT_EQ(Drain(ds), Drain(ds));
}

TEST(DatasetTest, ShuffleBufferOfOneKeepsOrder) {
  auto ds = Dataset<int>::FromVector(Range(50)).Shuffle(1, 123).value();
  EXPECT_EQ(Drain(ds), Range(50));
}

TEST(DatasetTest, ShuffleBufferBoundsHowFarElementsMove) {
  // With a buffer of B, output k comes from the first k + B inputs: a
  // buffer, not a full shuffle.
  constexpr int kN = 500;
  for (int buffer : {2, 5, 20}) {
    for (uint64_t seed : {1, 2, 3}) {
      auto out = Drain(Dataset<int>::FromVector(Range(kN)).Shuffle(buffer, seed).value());
      ASSERT_EQ(out.size(), kN);
      int max_advance = 0;
      for (int k = 0; k < kN; ++k) {
        EXPECT_LT(out[k], k + buffer) << "buffer " << buffer << " position " << k;
        max_advance = std::max(max_advance, out[k] - k);
      }
      // And it does use the buffer: some element comes from ahead.
      EXPECT_GT(max_advance, 0) << "buffer " << buffer;
      std::sort(out.begin(), out.end());
      EXPECT_EQ(out, Range(kN));
    }
  }
  // A full shuffle would move the last element to the front sometimes; a
  // buffer of 2 never puts element 10 before position 9.
  auto out = Drain(Dataset<int>::FromVector(Range(20)).Shuffle(2, 5).value());
  EXPECT_GE(std::find(out.begin(), out.end(), 10) - out.begin(), 9);
}

TEST(DatasetTest, ShuffleThenRepeatReshufflesEachEpoch) {
  auto ds = Dataset<int>::FromVector(Range(30)).Shuffle(1000, 42).value().Repeat(3).value();
  auto out = Drain(ds);
  ASSERT_EQ(out.size(), 90u);
  std::vector<int> e0(out.begin(), out.begin() + 30), e1(out.begin() + 30, out.begin() + 60),
      e2(out.begin() + 60, out.end());
  for (auto* e : {&e0, &e1, &e2}) {
    std::vector<int> s = *e;
    std::sort(s.begin(), s.end());
    EXPECT_EQ(s, Range(30));  // each epoch sees every element once
  }
  EXPECT_NE(e0, e1);
  EXPECT_NE(e1, e2);
  EXPECT_EQ(Drain(ds), out);  // and the whole sequence replays

  // Without reshuffling, every epoch has the same order.
  auto same = Drain(
      Dataset<int>::FromVector(Range(30)).Shuffle(1000, 42, false).value().Repeat(2).value());
  EXPECT_TRUE(std::equal(same.begin(), same.begin() + 30, same.begin() + 30));
}

TEST(DatasetTest, ShuffleBatchRepeatStillReshuffles) {
  auto ds = Dataset<int>::FromVector(Range(10))
                .Shuffle(100, 1).value()
                .Batch(10).value()
                .Repeat(2).value();
  auto out = Drain(ds);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0], out[1]);
}

TEST(DatasetTest, Repeat) {
  auto base = Dataset<int>::FromVector({1, 2});
  EXPECT_THAT(Drain(base.Repeat(3).value()), ElementsAre(1, 2, 1, 2, 1, 2));
  EXPECT_THAT(Drain(base.Repeat(0).value()), IsEmpty());
  EXPECT_THAT(Drain(base.Repeat(1).value()), ElementsAre(1, 2));
  // Forever: take as many as we like.
  auto forever = Drain(base.Repeat().value(), 1001);
  EXPECT_EQ(forever.size(), 1001u);
  EXPECT_EQ(forever[1000], 1);
  // An empty input repeated forever ends instead of spinning.
  EXPECT_THAT(Drain(Dataset<int>::FromVector({}).Repeat().value()), IsEmpty());
  EXPECT_THAT(base.Repeat(-2), StatusIs(StatusCode::kInvalidArgument, "-2"));
}

TEST(DatasetTest, BatchSizesIncludingRemainder) {
  auto base = Dataset<int>::FromVector(Range(7));
  auto batches = Drain(base.Batch(3).value());
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(batches[0], ElementsAre(0, 1, 2));
  EXPECT_THAT(batches[1], ElementsAre(3, 4, 5));
  EXPECT_THAT(batches[2], ElementsAre(6));
  auto dropped = Drain(base.Batch(3, /*drop_remainder=*/true).value());
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_THAT(dropped[1], ElementsAre(3, 4, 5));
  EXPECT_EQ(Drain(base.Batch(7).value()).size(), 1u);
  EXPECT_EQ(Drain(base.Batch(100).value())[0].size(), 7u);
  EXPECT_THAT(Drain(base.Batch(100, true).value()), IsEmpty());
  EXPECT_THAT(Drain(Dataset<int>::FromVector({}).Batch(2).value()), IsEmpty());
  EXPECT_THAT(base.Batch(0), StatusIs(StatusCode::kInvalidArgument, "greater than zero"));
}

TEST(DatasetTest, IrisTrainingPipelineShape) {
  // 120 examples, shuffle(1000) -> repeat -> batch(100): full batches that
  // cross epoch boundaries, every epoch a permutation.
  auto ds = Dataset<int>::FromVector(Range(120))
                .Shuffle(1000, 9).value()
                .Repeat().value()
                .Batch(100).value();
  auto it = ds.MakeIterator();
  std::vector<int> flat;
  for (int step = 0; step < 12; ++step) {
    auto batch = it->Next();
    ASSERT_TRUE(batch.has_value());
    ASSERT_EQ(batch->size(), 100u);
    flat.insert(flat.end(), batch->begin(), batch->end());
  }
  for (int epoch = 0; epoch < 10; ++epoch) {
    std::set<int> seen(flat.begin() + epoch * 120, flat.begin() + (epoch + 1) * 120);
    EXPECT_EQ(seen.size(), 120u) << "epoch " << epoch;
  }
  // Eval: batch(100) over 30 rows, a single pass -> one batch of 30.
  auto eval = Drain(Dataset<int>::FromVector(Range(30)).Batch(100).value());
  ASSERT_EQ(eval.size(), 1u);
  EXPECT_EQ(eval[0].size(), 30u);
}

TEST(DatasetTest, TakeAndErrors) {
  auto base = Dataset<int>::FromVector(Range(5));
  EXPECT_THAT(Drain(base.Take(2).value()), ElementsAre(0, 1));
  EXPECT_THAT(Drain(base.Take(-1).value()), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(Drain(base.Take(0).value()), IsEmpty());
  EXPECT_THAT(Drain(base.Repeat().value().Take(7).value()), ElementsAre(0, 1, 2, 3, 4, 0, 1));
  EXPECT_THAT(base.Take(-5), StatusIs(StatusCode::kInvalidArgument, "-5"));
  EXPECT_THAT(base.Shuffle(0, 1), StatusIs(StatusCode::kInvalidArgument, "buffer_size"));
}

// The exact order, pinned (recorded from the implementation that copied
// every element through each stage, before stages passed pointers to
// FromVector's elements): the draws and buffer moves of the shuffle must
// not change, for elements from FromVector (pointers) and for elements a
// stage made (batches, held by value).
TEST(DatasetTest, ShuffleOrderIsPinned) {
  auto shared = Dataset<int>::FromVector(Range(30))
                    .Shuffle(10, 5).value()
                    .Repeat(3).value()
                    .Batch(7).value();
  auto batches = Drain(shared);
  ASSERT_EQ(batches.size(), 13u);
  EXPECT_THAT(batches[0], ElementsAre(9, 6, 3, 12, 10, 4, 14));
  EXPECT_THAT(batches[4], ElementsAre(17, 26, 2, 5, 11, 1, 0));
  EXPECT_THAT(batches[8], ElementsAre(29, 26, 19, 17, 8, 7, 11));
  EXPECT_THAT(batches[12], ElementsAre(1, 6, 29, 27, 21, 24));

  auto owned = Dataset<int>::FromVector(Range(30))
                   .Batch(3).value()
                   .Shuffle(4, 11).value()
                   .Repeat(2).value();
  std::vector<int> firsts;
  for (const std::vector<int>& b : Drain(owned)) firsts.push_back(b.at(0));
  EXPECT_THAT(firsts, ElementsAre(6, 12, 0, 3, 9, 18, 27, 24, 21, 15, 6, 0, 9, 3, 18, 15, 27, 24,
                                  21, 12));
}

// NextInto gives what Next gives, reusing the caller's batch: its
// elements' storage stays where it was.
TEST(DatasetTest, NextIntoMatchesNextAndReusesStorage) {
  struct Example {
    std::vector<float> features;
    int label = 0;
  };
  std::vector<Example> examples;
  for (int i = 0; i < 25; ++i) examples.push_back({{float(i), float(-i)}, i});
  auto ds = Dataset<Example>::FromVector(examples)
                .Shuffle(8, 2).value()
                .Repeat().value()
                .Take(60).value()
                .Batch(10).value();
  auto a = ds.MakeIterator();
  auto b = ds.MakeIterator();
  std::vector<Example> batch;
  std::vector<const float*> storage;
  int batches = 0;
  while (std::optional<std::vector<Example>> want = a->Next()) {
    ASSERT_TRUE(b->NextInto(&batch));
    ASSERT_EQ(batch.size(), want->size());
    for (size_t i = 0; i < batch.size(); ++i) {
      EXPECT_EQ(batch[i].label, (*want)[i].label);
      EXPECT_EQ(batch[i].features, (*want)[i].features);
    }
    if (batches == 0) {
      for (const Example& e : batch) storage.push_back(e.features.data());
    } else {
      for (size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(batch[i].features.data(), storage[i]);
    }
    ++batches;
  }
  EXPECT_EQ(batches, 6);
  EXPECT_FALSE(b->NextInto(&batch));

  // A shorter last batch, and drop_remainder.
  auto seven = Dataset<int>::FromVector(Range(7));
  auto it = seven.Batch(3).value().MakeIterator();
  std::vector<int> ints = {9, 9, 9, 9, 9};
  ASSERT_TRUE(it->NextInto(&ints));
  EXPECT_THAT(ints, ElementsAre(0, 1, 2));
  ASSERT_TRUE(it->NextInto(&ints));
  ASSERT_TRUE(it->NextInto(&ints));
  EXPECT_THAT(ints, ElementsAre(6));
  EXPECT_FALSE(it->NextInto(&ints));
  auto dropped = seven.Batch(3, /*drop_remainder=*/true).value().MakeIterator();
  ASSERT_TRUE(dropped->NextInto(&ints));
  ASSERT_TRUE(dropped->NextInto(&ints));
  EXPECT_THAT(ints, ElementsAre(3, 4, 5));
  EXPECT_FALSE(dropped->NextInto(&ints));

  // Elements without shared storage (batches of a Batch stage) through
  // Shuffle/Take, and an element iterator's NextInto.
  auto nested = seven.Batch(2).value().Shuffle(2, 4).value().Take(3).value();
  auto n1 = nested.MakeIterator();
  auto n2 = nested.MakeIterator();
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) {
    std::optional<std::vector<int>> want = n1->Next();
    ASSERT_TRUE(want.has_value());
    ASSERT_TRUE(n2->NextInto(&got));
    EXPECT_EQ(got, *want);
  }
  EXPECT_FALSE(n2->NextInto(&got));
  auto elems = seven.Shuffle(3, 1).value().MakeIterator();
  int x = -1;
  ASSERT_TRUE(elems->NextInto(&x));
  EXPECT_EQ(x, Drain(seven.Shuffle(3, 1).value())[0]);
}

}  // namespace
}  // namespace ckpt
