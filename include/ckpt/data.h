// In-memory input pipelines with tf.data's semantics, and the Iris data set.
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
// derived from it and with its iterators; copies are cheap.
// Thread safety: a Dataset may be used from several threads; an Iterator
// from one thread at a time.
#ifndef CKPT_DATA_H_
#define CKPT_DATA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/random.h"
#include "ckpt/status.h"

namespace ckpt {

template <typename T>
class Iterator {
 public:
  virtual ~Iterator() = default;
  // The next element, or nullopt at the end (and forever after).
  virtual std::optional<T> Next() = 0;
};

namespace data_internal {
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
  using Factory =
      std::function<std::unique_ptr<Iterator<T>>(const std::shared_ptr<PassState>&)>;
  explicit Dataset(Factory factory) : factory_(std::move(factory)) {}

  Factory factory_;
};

// ------------------------------------------------------------------ Iris

// One labelled example: numeric features in a data set's feature order.
struct LabeledExample {
  std::vector<float> features;
  int64_t label = 0;
};

struct IrisDataSet {
  // "SepalLength", "SepalWidth", "PetalLength", "PetalWidth": the CSV column
  // order (the DNN's input layer sorts them by name).
  std::vector<std::string> feature_names;
  // From the header: {"setosa", "versicolor", "virginica"}.
  std::vector<std::string> class_names;
  std::vector<LabeledExample> examples;
};

// The Iris CSV column names, in file order (the last is the label).
const std::vector<std::string>& IrisColumnNames();

// Parses the Iris CSV layout of TensorFlow's premade-estimator example:
// a header "<rows>,<features>,<class names...>" (rows = number of data rows,
// features = 4), then rows "SepalLength,SepalWidth,PetalLength,PetalWidth,
// label" with an integer label in [0, number of classes). Numbers are
// parsed as float64 and stored as float32 (as pandas then TF do). Blank
// lines are skipped; "\r\n" line ends are accepted. Every error is
// InvalidArgument and names `filename`, the 1-based line and, for a field,
// the 1-based column and its name, e.g.
//   iris.csv:7: column 2 (SepalWidth): "abc" is not a number
//   iris.csv:9: expected 5 columns, got 4
//   iris.csv:3: column 5 (label): label 3 is out of range [0, 3)
//   iris.csv:1: bad header "120,4": expected "<rows>,4,<class names...>"
//   iris.csv: header declares 120 rows but the file has 119
Result<IrisDataSet> ParseIrisCsv(std::string_view contents, const std::string& filename);

// Reads `path` through `env` and parses it. NotFound/IoError from the Env
// pass through. REQUIRES: env non-null (InvalidArgument otherwise).
Result<IrisDataSet> LoadIrisCsv(Env* env, const std::string& path);

// ------------------------------------------------ Dataset implementation

namespace data_internal {

template <typename T>
class VectorIterator : public Iterator<T> {
 public:
  explicit VectorIterator(std::shared_ptr<const std::vector<T>> v) : v_(std::move(v)) {}
  std::optional<T> Next() override {
    if (pos_ >= v_->size()) return std::nullopt;
    return (*v_)[pos_++];
  }

 private:
  std::shared_ptr<const std::vector<T>> v_;
  size_t pos_ = 0;
};

template <typename T>
class ShuffleIterator : public Iterator<T> {
 public:
  ShuffleIterator(std::unique_ptr<Iterator<T>> input, int64_t buffer_size, uint64_t seed)
      : input_(std::move(input)), buffer_size_(buffer_size), rng_(seed) {}
  std::optional<T> Next() override {
    while (!input_done_ && static_cast<int64_t>(buffer_.size()) < buffer_size_) {
      std::optional<T> e = input_->Next();
      if (!e) {
        input_done_ = true;
        break;
      }
      buffer_.push_back(std::move(*e));
    }
    if (buffer_.empty()) return std::nullopt;
    const size_t i = static_cast<size_t>(rng_.Uniform(buffer_.size()));
    T out = std::move(buffer_[i]);
    std::optional<T> refill;
    if (!input_done_) {
      refill = input_->Next();
      if (!refill) input_done_ = true;
    }
    if (refill) {
      buffer_[i] = std::move(*refill);
    } else {
      if (i + 1 != buffer_.size()) buffer_[i] = std::move(buffer_.back());
      buffer_.pop_back();
    }
    return out;
  }

 private:
  std::unique_ptr<Iterator<T>> input_;
  const int64_t buffer_size_;
  Rng rng_;
  std::vector<T> buffer_;
  bool input_done_ = false;
};

template <typename T>
class RepeatIterator : public Iterator<T> {
 public:
  using MakeInput = std::function<std::unique_ptr<Iterator<T>>()>;
  RepeatIterator(MakeInput make_input, int64_t count)
      : make_input_(std::move(make_input)), count_(count) {}
  std::optional<T> Next() override {
    for (;;) {
      if (done_) return std::nullopt;
      if (!current_) {
        if (count_ >= 0 && passes_ >= count_) {
          done_ = true;
          return std::nullopt;
        }
        current_ = make_input_();
        ++passes_;
        yielded_in_pass_ = false;
      }
      std::optional<T> e = current_->Next();
      if (e) {
        yielded_in_pass_ = true;
        return e;
      }
      current_.reset();
      if (!yielded_in_pass_) {  // An empty pass: stop instead of spinning.
        done_ = true;
        return std::nullopt;
      }
    }
  }

 private:
  MakeInput make_input_;
  const int64_t count_;
  std::unique_ptr<Iterator<T>> current_;
  int64_t passes_ = 0;
  bool yielded_in_pass_ = false;
  bool done_ = false;
};

template <typename T>
class TakeIterator : public Iterator<T> {
 public:
  TakeIterator(std::unique_ptr<Iterator<T>> input, int64_t count)
      : input_(std::move(input)), left_(count) {}
  std::optional<T> Next() override {
    if (left_ == 0) return std::nullopt;
    std::optional<T> e = input_->Next();
    if (!e) {
      left_ = 0;
      return std::nullopt;
    }
    if (left_ > 0) --left_;
    return e;
  }

 private:
  std::unique_ptr<Iterator<T>> input_;
  int64_t left_;  // -1: unlimited
};

template <typename T>
class BatchIterator : public Iterator<std::vector<T>> {
 public:
  BatchIterator(std::unique_ptr<Iterator<T>> input, int64_t batch_size, bool drop_remainder)
      : input_(std::move(input)), batch_size_(batch_size), drop_remainder_(drop_remainder) {}
  std::optional<std::vector<T>> Next() override {
    if (done_) return std::nullopt;
    std::vector<T> batch;
    while (static_cast<int64_t>(batch.size()) < batch_size_) {
      std::optional<T> e = input_->Next();
      if (!e) {
        done_ = true;
        break;
      }
      batch.push_back(std::move(*e));
    }
    if (batch.empty()) return std::nullopt;
    if (done_ && drop_remainder_ && static_cast<int64_t>(batch.size()) < batch_size_) {
      return std::nullopt;
    }
    return batch;
  }

 private:
  std::unique_ptr<Iterator<T>> input_;
  const int64_t batch_size_;
  const bool drop_remainder_;
  bool done_ = false;
};

}  // namespace data_internal

template <typename T>
Dataset<T> Dataset<T>::FromVector(std::vector<T> elements) {
  auto v = std::make_shared<const std::vector<T>>(std::move(elements));
  return Dataset([v](const std::shared_ptr<PassState>&) -> std::unique_ptr<Iterator<T>> {
    return std::make_unique<data_internal::VectorIterator<T>>(v);
  });
}

template <typename T>
Result<Dataset<T>> Dataset<T>::Shuffle(int64_t buffer_size, uint64_t seed,
                                       bool reshuffle_each_iteration) const {
  if (buffer_size <= 0) {
    return InvalidArgumentError("buffer_size must be greater than zero, got " +
                                std::to_string(buffer_size));
  }
  // The stage's identity keys its epoch counter in a pass.
  auto stage = std::make_shared<char>(0);
  Factory input = factory_;
  return Dataset([input, stage, buffer_size, seed, reshuffle_each_iteration](
                     const std::shared_ptr<PassState>& pass) -> std::unique_ptr<Iterator<T>> {
    const uint64_t epoch = pass->NextEpoch(stage.get());
    const uint64_t epoch_seed =
        Rng::DeriveSeed(seed, reshuffle_each_iteration ? epoch : 0);
    return std::make_unique<data_internal::ShuffleIterator<T>>(input(pass), buffer_size,
                                                              epoch_seed);
  });
}

template <typename T>
Result<Dataset<T>> Dataset<T>::Repeat(int64_t count) const {
  if (count < -1) {
    return InvalidArgumentError("Repeat count must be -1 (forever) or >= 0, got " +
                                std::to_string(count));
  }
  Factory input = factory_;
  return Dataset([input, count](
                     const std::shared_ptr<PassState>& pass) -> std::unique_ptr<Iterator<T>> {
    return std::make_unique<data_internal::RepeatIterator<T>>([input, pass] { return input(pass); },
                                                             count);
  });
}

template <typename T>
Result<Dataset<T>> Dataset<T>::Take(int64_t count) const {
  if (count < -1) {
    return InvalidArgumentError("Take count must be -1 (all) or >= 0, got " +
                                std::to_string(count));
  }
  Factory input = factory_;
  return Dataset([input, count](
                     const std::shared_ptr<PassState>& pass) -> std::unique_ptr<Iterator<T>> {
    return std::make_unique<data_internal::TakeIterator<T>>(input(pass), count);
  });
}

template <typename T>
Result<Dataset<std::vector<T>>> Dataset<T>::Batch(int64_t batch_size,
                                                  bool drop_remainder) const {
  if (batch_size <= 0) {
    return InvalidArgumentError("Batch size must be greater than zero, got " +
                                std::to_string(batch_size));
  }
  Factory input = factory_;
  using Out = Dataset<std::vector<T>>;
  return Out([input, batch_size, drop_remainder](const std::shared_ptr<PassState>& pass)
                 -> std::unique_ptr<Iterator<std::vector<T>>> {
    return std::make_unique<data_internal::BatchIterator<T>>(input(pass), batch_size,
                                                            drop_remainder);
  });
}

template <typename T>
std::unique_ptr<Iterator<T>> Dataset<T>::MakeIterator() const {
  return factory_(std::make_shared<PassState>());
}

}  // namespace ckpt

#endif  // CKPT_DATA_H_
