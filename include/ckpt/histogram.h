// Histogram summaries: TensorFlow's default-bucket histogram and the
// contents of a HistogramProto, as EventWriter writes them and
// EventFileReader returns them.
//
// Thread safety: a Histogram is used from one thread at a time;
// HistogramData is a plain value.
#ifndef CKPT_HISTOGRAM_H_
#define CKPT_HISTOGRAM_H_

#include <vector>

namespace ckpt {

// The contents of a HistogramProto. bucket[i] counts the values v with
// bucket_limit[i-1] <= v < bucket_limit[i] (the first bucket starts at
// -infinity).
struct HistogramData {
  double min = 0;
  double max = 0;
  double num = 0;
  double sum = 0;
  double sum_squares = 0;
  std::vector<double> bucket_limit;
  std::vector<double> bucket;
};

// Accumulates values into buckets, as TensorFlow's histogram::Histogram
// that tf.compat.v1.summary.histogram uses.
class Histogram {
 public:
  // TensorFlow's default buckets: limits 1e-12 * 1.1^k below 1e20 and their
  // negatives, 0, and +-DBL_MAX.
  Histogram();
  // Custom limits. REQUIRES: strictly increasing; the last should be DBL_MAX
  // so that every value has a bucket (larger values are counted in the last
  // bucket).
  explicit Histogram(std::vector<double> bucket_limits);

  // The default bucket limits, in increasing order (1551 values).
  static const std::vector<double>& DefaultBucketLimits();

  void Add(double value);
  void Clear();

  // The summary TensorFlow writes: min, max, num, sum, sum_squares, and the
  // buckets with every run of empty buckets collapsed into one (its last
  // limit, count 0) unless `preserve_zero_buckets`. An empty histogram has
  // one bucket (DBL_MAX, 0).
  HistogramData ToData(bool preserve_zero_buckets = false) const;

 private:
  std::vector<double> limits_;
  std::vector<double> counts_;
  double min_ = 0;
  double max_ = 0;
  double num_ = 0;
  double sum_ = 0;
  double sum_squares_ = 0;
};

}  // namespace ckpt

#endif  // CKPT_HISTOGRAM_H_
