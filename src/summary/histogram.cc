// TensorFlow's default-bucket histogram (what HistogramSummary writes).
#include <algorithm>
#include <cfloat>
#include <utility>

#include "ckpt/histogram.h"

namespace ckpt {
namespace {

std::vector<double> MakeDefaultLimits() {
  // Positive limits grow by 10% from 1e-12 to just below 1e20; the
  // negative side mirrors them; 0 and +-DBL_MAX close the range.
  std::vector<double> positive;
  for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) positive.push_back(v);
  std::vector<double> limits;
  limits.reserve(2 * positive.size() + 3);
  limits.push_back(-DBL_MAX);
  for (auto it = positive.rbegin(); it != positive.rend(); ++it) limits.push_back(-*it);
  limits.push_back(0.0);
  limits.insert(limits.end(), positive.begin(), positive.end());
  limits.push_back(DBL_MAX);
  return limits;
}

}  // namespace

const std::vector<double>& Histogram::DefaultBucketLimits() {
  static const std::vector<double>* limits = new std::vector<double>(MakeDefaultLimits());
  return *limits;
}

Histogram::Histogram() : Histogram(DefaultBucketLimits()) {}

Histogram::Histogram(std::vector<double> bucket_limits) : limits_(std::move(bucket_limits)) {
  if (limits_.empty()) limits_.push_back(DBL_MAX);
  Clear();
}

void Histogram::Clear() {
  counts_.assign(limits_.size(), 0.0);
  min_ = limits_.back();
  max_ = -DBL_MAX;
  num_ = 0;
  sum_ = 0;
  sum_squares_ = 0;
}

void Histogram::Add(double value) {
  // The bucket whose range [limit[b-1], limit[b]) holds the value.
  size_t b = std::upper_bound(limits_.begin(), limits_.end(), value) - limits_.begin();
  if (b >= counts_.size()) b = counts_.size() - 1;
  counts_[b] += 1.0;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  num_ += 1;
  sum_ += value;
  sum_squares_ += value * value;
}

HistogramData Histogram::ToData(bool preserve_zero_buckets) const {
  HistogramData d;
  d.min = min_;
  d.max = max_;
  d.num = num_;
  d.sum = sum_;
  d.sum_squares = sum_squares_;
  for (size_t i = 0; i < counts_.size();) {
    double limit = limits_[i];
    double count = counts_[i];
    ++i;
    if (!preserve_zero_buckets && count <= 0.0) {
      // A run of empty buckets becomes one, ending at the run's last limit.
      while (i < counts_.size() && counts_[i] <= 0.0) {
        limit = limits_[i];
        count = counts_[i];
        ++i;
      }
    }
    d.bucket_limit.push_back(limit);
    d.bucket.push_back(count);
  }
  if (d.bucket.empty()) {
    d.bucket_limit.push_back(DBL_MAX);
    d.bucket.push_back(0.0);
  }
  return d;
}

}  // namespace ckpt
