// Histogram: TensorFlow's default buckets and HistogramProto encoding.
#include <cfloat>
#include <cmath>

#include "ckpt/histogram.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::testing::ElementsAre;

TEST(HistogramTest, DefaultBucketLimits) {
  const auto& limits = Histogram::DefaultBucketLimits();
  // 774 positive limits 1e-12 * 1.1^k < 1e20, their negatives, 0, +-DBL_MAX.
  ASSERT_EQ(limits.size(), 1551u);
  EXPECT_EQ(limits.front(), -DBL_MAX);
  EXPECT_EQ(limits.back(), DBL_MAX);
  EXPECT_EQ(limits[775], 0.0);
  EXPECT_EQ(limits[776], 1e-12);
  EXPECT_EQ(limits[774], -1e-12);
  EXPECT_DOUBLE_EQ(limits[777], 1.1e-12);
  EXPECT_LT(limits[1549], 1e20);
  EXPECT_GT(limits[1549] * 1.1, 1e20 * 0.999999);
  for (size_t i = 1; i < limits.size(); ++i) ASSERT_LT(limits[i - 1], limits[i]) << i;
  for (size_t i = 0; i < limits.size(); ++i) ASSERT_EQ(limits[i], -limits[1550 - i]) << i;
  for (size_t i = 777; i < 1550; ++i) ASSERT_NEAR(limits[i] / limits[i - 1], 1.1, 1e-12) << i;
}

TEST(HistogramTest, EmptyHistogram) {
  Histogram h;
  HistogramData d = h.ToData();
  EXPECT_EQ(d.min, DBL_MAX);
  EXPECT_EQ(d.max, -DBL_MAX);
  EXPECT_EQ(d.num, 0);
  EXPECT_THAT(d.bucket_limit, ElementsAre(DBL_MAX));
  EXPECT_THAT(d.bucket, ElementsAre(0.0));
  EXPECT_EQ(h.ToData(/*preserve_zero_buckets=*/true).bucket.size(), 1551u);
}

TEST(HistogramTest, ValuesLandInHalfOpenBuckets) {
  // Custom limits make the bucket rule visible: [limit[i-1], limit[i]).
  Histogram h({0.0, 1.0, 2.0, DBL_MAX});
  for (double v : {-5.0, 0.0, 0.5, 1.0, 1.0, 3.0}) h.Add(v);
  HistogramData d = h.ToData(true);
  EXPECT_THAT(d.bucket, ElementsAre(1.0, 2.0, 2.0, 1.0));
  EXPECT_EQ(d.min, -5.0);
  EXPECT_EQ(d.max, 3.0);
  EXPECT_EQ(d.num, 6);
  EXPECT_EQ(d.sum, 0.5);
  EXPECT_EQ(d.sum_squares, 25 + 0.25 + 1 + 1 + 9);
}

TEST(HistogramTest, EmptyRunsCollapseToTheirLastLimit) {
  Histogram h({1, 2, 3, 4, 5, 6, DBL_MAX});
  h.Add(2.5);  // bucket [2, 3)
  h.Add(5.5);  // bucket [5, 6)
  HistogramData d = h.ToData();
  // Empty (<1), (1..2) collapse into limit 2; then 3:1; empty 4,5 -> 5;
  // then 6:1; then empty DBL_MAX.
  EXPECT_THAT(d.bucket_limit, ElementsAre(2, 3, 5, 6, DBL_MAX));
  EXPECT_THAT(d.bucket, ElementsAre(0, 1, 0, 1, 0));
}

TEST(HistogramTest, DefaultBucketsForSmallAndZeroValues) {
  Histogram h;
  h.Add(0.0);
  h.Add(0.0);
  h.Add(-1.0);
  HistogramData d = h.ToData();
  // 0 falls in [0, 1e-12); -1 in the bucket whose upper limit is the
  // smallest default limit above -1.
  const auto& limits = Histogram::DefaultBucketLimits();
  double above_minus_one = 0;
  for (double l : limits) {
    if (l > -1.0) {
      above_minus_one = l;
      break;
    }
  }
  // Runs: empty up to -1's bucket, -1's bucket, empty up to limit 0,
  // [0, 1e-12) with both zeros, empty up to DBL_MAX.
  ASSERT_EQ(d.bucket_limit.size(), 5u);
  EXPECT_EQ(d.bucket[0], 0);
  EXPECT_EQ(d.bucket_limit[1], above_minus_one);
  EXPECT_EQ(d.bucket[1], 1);
  EXPECT_EQ(d.bucket_limit[2], 0.0);
  EXPECT_EQ(d.bucket[2], 0);
  EXPECT_EQ(d.bucket_limit[3], 1e-12);
  EXPECT_EQ(d.bucket[3], 2);
  EXPECT_EQ(d.bucket_limit[4], DBL_MAX);
  EXPECT_EQ(d.bucket[4], 0);
  h.Clear();
  EXPECT_EQ(h.ToData().num, 0);
}

}  // namespace
}  // namespace ckpt
