// Conversions between ckpt's summary structs and TensorFlow's protos,
// shared by the event writer and reader.
// Thread safety: pure functions.
#ifndef CKPT_SRC_SUMMARY_SUMMARY_INTERNAL_H_
#define CKPT_SRC_SUMMARY_SUMMARY_INTERNAL_H_

#include "ckpt/histogram.h"
#include "tensorflow/core/framework/summary.pb.h"

namespace ckpt::summary_internal {

inline void HistogramToProto(const HistogramData& d, tensorflow::HistogramProto* p) {
  p->set_min(d.min);
  p->set_max(d.max);
  p->set_num(d.num);
  p->set_sum(d.sum);
  p->set_sum_squares(d.sum_squares);
  for (double v : d.bucket_limit) p->add_bucket_limit(v);
  for (double v : d.bucket) p->add_bucket(v);
}

inline HistogramData HistogramFromProto(const tensorflow::HistogramProto& p) {
  HistogramData d;
  d.min = p.min();
  d.max = p.max();
  d.num = p.num();
  d.sum = p.sum();
  d.sum_squares = p.sum_squares();
  d.bucket_limit.assign(p.bucket_limit().begin(), p.bucket_limit().end());
  d.bucket.assign(p.bucket().begin(), p.bucket().end());
  return d;
}

}  // namespace ckpt::summary_internal

#endif  // CKPT_SRC_SUMMARY_SUMMARY_INTERNAL_H_
