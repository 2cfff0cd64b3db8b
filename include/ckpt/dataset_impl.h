// The definitions of ckpt/dataset.h's templates: the iterator of each
// stage (FromVector, Shuffle, Repeat, Take, Batch) and Dataset's members.
// Not a contract: include ckpt/dataset.h, which includes this at its end.
//
// Thread safety: as ckpt/dataset.h (an iterator is used from one thread at a
// time).
#ifndef CKPT_DATASET_IMPL_H_
#define CKPT_DATASET_IMPL_H_

#include "ckpt/dataset.h"

namespace ckpt {

namespace data_internal {

// What every Dataset stage's iterator is. Over shared elements (a pipeline
// whose elements are FromVector's own: Shuffle, Repeat and Take only
// reorder and select them), stages hand each other pointers instead of
// copies: NextShared() is the next element, or nullptr at the end. The
// pointee is an element of the FromVector data set, which every iterator
// of the pipeline keeps alive, so it stays valid as long as the iterator
// that returned it. Next() and NextInto() then copy the element (into the
// caller's storage for NextInto). Only called on iterators of a Dataset
// with shared elements.
template <typename T>
class StageIterator : public Iterator<T> {
 public:
  virtual const T* NextShared() { return nullptr; }
};

// Next() and NextInto() of a stage over shared elements.
template <typename T>
class SharedStageIterator : public StageIterator<T> {
 public:
  std::optional<T> Next() final {
    const T* e = this->NextShared();
    if (e == nullptr) return std::nullopt;
    return *e;
  }
  bool NextInto(T* out) final {
    const T* e = this->NextShared();
    if (e == nullptr) return false;
    *out = *e;
    return true;
  }
};

template <typename T>
class VectorIterator : public SharedStageIterator<T> {
 public:
  explicit VectorIterator(std::shared_ptr<const std::vector<T>> v) : v_(std::move(v)) {}
  const T* NextShared() override {
    if (pos_ >= v_->size()) return nullptr;
    return &(*v_)[pos_++];
  }

 private:
  std::shared_ptr<const std::vector<T>> v_;
  size_t pos_ = 0;
};

// tf.data's shuffle buffer of elements E (std::optional<T>, or const T*
// over shared elements): one algorithm, hence the same generator draws and
// the same order either way.
template <typename E>
class ShuffleBuffer {
 public:
  ShuffleBuffer(int64_t buffer_size, uint64_t seed) : buffer_size_(buffer_size), rng_(seed) {}

  // The next output into *out, false at the end. read(E*) reads the next
  // input element, false at the end.
  template <typename Read>
  bool Next(Read read, E* out) {
    while (!input_done_ && static_cast<int64_t>(buffer_.size()) < buffer_size_) {
      E e;
      if (!read(&e)) {
        input_done_ = true;
        break;
      }
      if (buffer_.capacity() == 0) {
        buffer_.reserve(static_cast<size_t>(std::min<int64_t>(buffer_size_, 1024)));
      }
      buffer_.push_back(std::move(e));
    }
    if (buffer_.empty()) return false;
    const size_t i = static_cast<size_t>(rng_.Uniform(buffer_.size()));
    *out = std::move(buffer_[i]);
    // The chosen element's place goes to the next input element or, once
    // the input has ended, to the last buffered one.
    if (!input_done_ && !read(&buffer_[i])) input_done_ = true;
    if (input_done_) {
      if (i + 1 != buffer_.size()) buffer_[i] = std::move(buffer_.back());
      buffer_.pop_back();
    }
    return true;
  }

 private:
  const int64_t buffer_size_;
  Rng rng_;
  std::vector<E> buffer_;
  bool input_done_ = false;
};

template <typename T>
class ShuffleIterator : public StageIterator<T> {
 public:
  ShuffleIterator(std::unique_ptr<StageIterator<T>> input, int64_t buffer_size, uint64_t seed)
      : input_(std::move(input)), buffer_(buffer_size, seed) {}
  std::optional<T> Next() override {
    std::optional<T> out;  // stays empty at the end
    buffer_.Next(
        [this](std::optional<T>* e) {
          *e = input_->Next();
          return e->has_value();
        },
        &out);
    return out;
  }

 private:
  std::unique_ptr<StageIterator<T>> input_;
  ShuffleBuffer<std::optional<T>> buffer_;
};

template <typename T>
class SharedShuffleIterator : public SharedStageIterator<T> {
 public:
  SharedShuffleIterator(std::unique_ptr<StageIterator<T>> input, int64_t buffer_size,
                        uint64_t seed)
      : input_(std::move(input)), buffer_(buffer_size, seed) {}
  const T* NextShared() override {
    const T* out = nullptr;
    const bool got = buffer_.Next(
        [this](const T** e) {
          *e = input_->NextShared();
          return *e != nullptr;
        },
        &out);
    return got ? out : nullptr;
  }

 private:
  std::unique_ptr<StageIterator<T>> input_;
  ShuffleBuffer<const T*> buffer_;
};

// Repeat's passes, for RepeatIterator (Next) and SharedRepeatIterator
// (NextShared).
template <typename T>
class RepeatState {
 public:
  using MakeInput = std::function<std::unique_ptr<StageIterator<T>>()>;
  RepeatState(MakeInput make_input, int64_t count)
      : make_input_(std::move(make_input)), count_(count) {}
  // Calls next(input) on the current pass's iterator until it yields
  // (returns true), starting passes as needed; false once done.
  template <typename NextFn>
  bool Next(NextFn next) {
    for (;;) {
      if (done_) return false;
      if (!current_) {
        if (count_ >= 0 && passes_ >= count_) {
          done_ = true;
          return false;
        }
        current_ = make_input_();
        ++passes_;
        yielded_in_pass_ = false;
      }
      if (next(current_.get())) {
        yielded_in_pass_ = true;
        return true;
      }
      current_.reset();
      if (!yielded_in_pass_) {  // An empty pass: stop instead of spinning.
        done_ = true;
        return false;
      }
    }
  }

 private:
  MakeInput make_input_;
  const int64_t count_;
  std::unique_ptr<StageIterator<T>> current_;
  int64_t passes_ = 0;
  bool yielded_in_pass_ = false;
  bool done_ = false;
};

template <typename T>
class RepeatIterator : public StageIterator<T> {
 public:
  RepeatIterator(typename RepeatState<T>::MakeInput make_input, int64_t count)
      : state_(std::move(make_input), count) {}
  std::optional<T> Next() override {
    std::optional<T> e;
    state_.Next([&e](StageIterator<T>* input) {
      e = input->Next();
      return e.has_value();
    });
    return e;
  }

 private:
  RepeatState<T> state_;
};

template <typename T>
class SharedRepeatIterator : public SharedStageIterator<T> {
 public:
  SharedRepeatIterator(typename RepeatState<T>::MakeInput make_input, int64_t count)
      : state_(std::move(make_input), count) {}
  const T* NextShared() override {
    const T* e = nullptr;
    state_.Next([&e](StageIterator<T>* input) {
      e = input->NextShared();
      return e != nullptr;
    });
    return e;
  }

 private:
  RepeatState<T> state_;
};

// Take's count, for TakeIterator (Next) and SharedTakeIterator (NextShared).
class TakeCount {
 public:
  explicit TakeCount(int64_t count) : left_(count) {}
  // next()'s element (a std::optional<T> or a const T*) while the count
  // lasts; empty once it is spent or the input has ended.
  template <typename NextFn>
  auto Next(NextFn next) -> decltype(next()) {
    using E = decltype(next());
    if (left_ == 0) return E{};
    E e = next();
    if (!e) {
      left_ = 0;
      return E{};
    }
    if (left_ > 0) --left_;
    return e;
  }

 private:
  int64_t left_;  // -1: unlimited
};

template <typename T>
class TakeIterator : public StageIterator<T> {
 public:
  TakeIterator(std::unique_ptr<StageIterator<T>> input, int64_t count)
      : input_(std::move(input)), count_(count) {}
  std::optional<T> Next() override {
    return count_.Next([this] { return input_->Next(); });
  }

 private:
  std::unique_ptr<StageIterator<T>> input_;
  TakeCount count_;
};

template <typename T>
class SharedTakeIterator : public SharedStageIterator<T> {
 public:
  SharedTakeIterator(std::unique_ptr<StageIterator<T>> input, int64_t count)
      : input_(std::move(input)), count_(count) {}
  const T* NextShared() override {
    return count_.Next([this] { return input_->NextShared(); });
  }

 private:
  std::unique_ptr<StageIterator<T>> input_;
  TakeCount count_;
};

template <typename T>
class BatchIterator : public StageIterator<std::vector<T>> {
 public:
  BatchIterator(std::unique_ptr<StageIterator<T>> input, bool input_shared, int64_t batch_size,
                bool drop_remainder)
      : input_(std::move(input)),
        input_shared_(input_shared),
        batch_size_(batch_size),
        drop_remainder_(drop_remainder) {}
  std::optional<std::vector<T>> Next() override {
    std::vector<T> batch;
    if (!NextInto(&batch)) return std::nullopt;
    return batch;
  }
  // Assigns into *out's existing elements first (their storage is reused),
  // then appends.
  bool NextInto(std::vector<T>* out) override {
    if (done_) return false;
    size_t n = 0;
    const size_t size = static_cast<size_t>(batch_size_);
    while (n < size) {
      if (input_shared_) {
        const T* e = input_->NextShared();
        if (e == nullptr) {
          done_ = true;
          break;
        }
        if (n < out->size()) {
          (*out)[n] = *e;
        } else {
          out->push_back(*e);
        }
      } else {
        std::optional<T> e = input_->Next();
        if (!e) {
          done_ = true;
          break;
        }
        if (n < out->size()) {
          (*out)[n] = std::move(*e);
        } else {
          out->push_back(std::move(*e));
        }
      }
      ++n;
    }
    if (n == 0) return false;
    if (done_ && drop_remainder_ && n < size) return false;
    out->erase(out->begin() + static_cast<std::ptrdiff_t>(n), out->end());
    return true;
  }

 private:
  std::unique_ptr<StageIterator<T>> input_;
  const bool input_shared_;
  const int64_t batch_size_;
  const bool drop_remainder_;
  bool done_ = false;
};

}  // namespace data_internal

template <typename T>
Dataset<T> Dataset<T>::FromVector(std::vector<T> elements) {
  auto v = std::make_shared<const std::vector<T>>(std::move(elements));
  return Dataset(
      [v](const std::shared_ptr<PassState>&) -> std::unique_ptr<Stage> {
        return std::make_unique<data_internal::VectorIterator<T>>(v);
      },
      /*shared=*/true);
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
  const bool shared = shared_;
  return Dataset(
      [input, stage, buffer_size, seed, reshuffle_each_iteration,
       shared](const std::shared_ptr<PassState>& pass) -> std::unique_ptr<Stage> {
        const uint64_t epoch = pass->NextEpoch(stage.get());
        const uint64_t epoch_seed = Rng::DeriveSeed(seed, reshuffle_each_iteration ? epoch : 0);
        if (shared) {
          return std::make_unique<data_internal::SharedShuffleIterator<T>>(
              input(pass), buffer_size, epoch_seed);
        }
        return std::make_unique<data_internal::ShuffleIterator<T>>(input(pass), buffer_size,
                                                                  epoch_seed);
      },
      shared);
}

template <typename T>
Result<Dataset<T>> Dataset<T>::Repeat(int64_t count) const {
  if (count < -1) {
    return InvalidArgumentError("Repeat count must be -1 (forever) or >= 0, got " +
                                std::to_string(count));
  }
  Factory input = factory_;
  const bool shared = shared_;
  return Dataset(
      [input, count, shared](const std::shared_ptr<PassState>& pass) -> std::unique_ptr<Stage> {
        auto make_input = [input, pass] { return input(pass); };
        if (shared) {
          return std::make_unique<data_internal::SharedRepeatIterator<T>>(make_input, count);
        }
        return std::make_unique<data_internal::RepeatIterator<T>>(make_input, count);
      },
      shared);
}

template <typename T>
Result<Dataset<T>> Dataset<T>::Take(int64_t count) const {
  if (count < -1) {
    return InvalidArgumentError("Take count must be -1 (all) or >= 0, got " +
                                std::to_string(count));
  }
  Factory input = factory_;
  const bool shared = shared_;
  return Dataset(
      [input, count, shared](const std::shared_ptr<PassState>& pass) -> std::unique_ptr<Stage> {
        if (shared) return std::make_unique<data_internal::SharedTakeIterator<T>>(input(pass), count);
        return std::make_unique<data_internal::TakeIterator<T>>(input(pass), count);
      },
      shared);
}

template <typename T>
Result<Dataset<std::vector<T>>> Dataset<T>::Batch(int64_t batch_size,
                                                  bool drop_remainder) const {
  if (batch_size <= 0) {
    return InvalidArgumentError("Batch size must be greater than zero, got " +
                                std::to_string(batch_size));
  }
  Factory input = factory_;
  const bool shared = shared_;
  using Out = Dataset<std::vector<T>>;
  return Out(
      [input, shared, batch_size, drop_remainder](const std::shared_ptr<PassState>& pass)
          -> std::unique_ptr<data_internal::StageIterator<std::vector<T>>> {
        return std::make_unique<data_internal::BatchIterator<T>>(input(pass), shared, batch_size,
                                                                drop_remainder);
      },
      /*shared=*/false);
}

template <typename T>
std::unique_ptr<Iterator<T>> Dataset<T>::MakeIterator() const {
  return factory_(std::make_shared<PassState>());
}

}  // namespace ckpt

#endif  // CKPT_DATASET_IMPL_H_
