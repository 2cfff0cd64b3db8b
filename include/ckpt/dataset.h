// Dataset<T> and Iterator<T>: in-memory input pipelines with tf.data's
// semantics.
//
// Dataset<T> is an immutable description of a pipeline over a vector of
// elements, built as in tf.data:
//
//   auto ds = Dataset<Example>::FromVector(examples)
//                 .Shuffle(1000, seed).value()
//                 .Repeat().value()
//                 .Batch(100).value();
//   auto it = ds.MakeIterator();
//   while (std::optional<std::vector<Example>> batch = it->Next()) ...
//
// Shuffle(buffer_size, seed) is tf.data's shuffle: a buffer holding up to
// buffer_size elements, filled from the input in order; each output is a
// uniformly chosen buffer element, whose place is taken by the next input
// element (so element k of the output is one of the first k + buffer_size
// input elements, and buffer_size 1 keeps the order). With
// reshuffle_each_iteration (the default, as TF's), every pass of a following
// Repeat gets a new order; orders depend only on the seed and the pass
// number, so each MakeIterator() replays the same sequence.
// Repeat(count) plays its input count times (-1: forever; an input that
// yields nothing in a pass ends the repetition, as in TF). Batch(size,
// drop_remainder) groups consecutive elements; the last batch may be smaller
// unless drop_remainder.
//
// Ownership: a Dataset shares its (immutable) elements with the datasets
// derived from it and with its iterators; copies are cheap. Shuffle,
// Repeat and Take over FromVector's elements move pointers to them, not
// copies; an element is copied once, into what Next() returns (or, with
// NextInto, into the caller's reused storage).
// Thread safety: a Dataset may be used from several threads; an Iterator
// from one thread at a time.
#ifndef CKPT_DATASET_H_
#define CKPT_DATASET_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/random.h"
#include "ckpt/status.h"

namespace ckpt {

template <typename T>
class Iterator {
 public:
  virtual ~Iterator() = default;
  // The next element, or nullopt at the end (and forever after).
  virtual std::optional<T> Next() = 0;
  // The next element into *out, reusing *out's storage where the iterator
  // can (Dataset's iterators assign into it: a batch vector keeps its
  // capacity and so do its elements' vectors, so a loop that passes the
  // same object every time allocates nothing per element). False at the
  // end, leaving *out unspecified. The default moves from Next().
  virtual bool NextInto(T* out) {
    std::optional<T> e = Next();
    if (!e) return false;
    *out = std::move(*e);
    return true;
  }
};

namespace data_internal {
template <typename T>
class StageIterator;

// State shared by every stage of one MakeIterator() pass: how many iterators
// each shuffle stage has made so far (its "epoch").
struct PassState {
  std::vector<std::pair<const void*, uint64_t>> epochs;
  uint64_t NextEpoch(const void* stage) {
    for (auto& [key, n] : epochs) {
      if (key == stage) return n++;
    }
    epochs.emplace_back(stage, 1);
    return 0;
  }
};
}  // namespace data_internal

template <typename T>
class Dataset {
 public:
  // The elements, in order.
  static Dataset FromVector(std::vector<T> elements);

  // InvalidArgument unless buffer_size > 0.
  Result<Dataset> Shuffle(int64_t buffer_size, uint64_t seed,
                          bool reshuffle_each_iteration = true) const;
  // InvalidArgument unless count >= -1.
  Result<Dataset> Repeat(int64_t count = -1) const;
  // The first `count` elements (-1: all). InvalidArgument unless count >= -1.
  Result<Dataset> Take(int64_t count) const;
  // InvalidArgument unless batch_size > 0.
  Result<Dataset<std::vector<T>>> Batch(int64_t batch_size, bool drop_remainder = false) const;

  // A fresh pass over the pipeline.
  std::unique_ptr<Iterator<T>> MakeIterator() const;

 private:
  template <typename U>
  friend class Dataset;

  using PassState = data_internal::PassState;
  using Stage = data_internal::StageIterator<T>;
  using Factory = std::function<std::unique_ptr<Stage>(const std::shared_ptr<PassState>&)>;
  Dataset(Factory factory, bool shared) : factory_(std::move(factory)), shared_(shared) {}

  Factory factory_;
  // Whether the iterators' elements are FromVector's own (in some order):
  // then stages pass pointers to them (StageIterator::NextShared) and copy
  // an element only into the caller's output.
  bool shared_ = false;
};

}  // namespace ckpt

// The templates' definitions.
#include "ckpt/dataset_impl.h"  // IWYU pragma: export

#endif  // CKPT_DATASET_H_
