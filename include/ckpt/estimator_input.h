// Input functions of ckpt::Estimator: tf.estimator's input_fn (InputFn,
// the batches of one Train / Evaluate / Predict call) and ExamplesInputFn,
// one over in-memory labelled examples (src/estimator/input.cc).
//
// Thread safety: an InputFn may be called from any thread; each call's
// iterator is used from one thread at a time.
#ifndef CKPT_ESTIMATOR_INPUT_H_
#define CKPT_ESTIMATOR_INPUT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/dataset.h"
#include "ckpt/estimator_model.h"
#include "ckpt/iris.h"
#include "ckpt/status.h"

namespace ckpt {

// tf.estimator's input_fn: called once per Train / Evaluate / Predict call
// (the pipeline is rebuilt every call, as in TF), returning the batches.
// The iterator's end is TF's end-of-input (OutOfRange).
using InputFn = std::function<Result<std::unique_ptr<Iterator<Batch>>>()>;

// An input function over in-memory examples, as the Iris example's
// train_input_fn / eval_input_fn: feature j of every example becomes the
// float32 column feature_names[j]; optionally shuffle(buffer, seed) (TF's
// buffer semantics), repeat() forever, then batch(batch_size) (last batch
// may be short).
struct ExamplesInputOptions {
  int64_t batch_size = 100;           // REQUIRES: > 0
  std::optional<int64_t> shuffle_buffer;  // unset: no shuffle
  uint64_t seed = 0;                  // the shuffle seed
  bool repeat = false;                // true: repeat() forever
  bool with_labels = true;            // false: prediction input
};
InputFn ExamplesInputFn(std::vector<LabeledExample> examples,
                        std::vector<std::string> feature_names,
                        const ExamplesInputOptions& options);

}  // namespace ckpt

#endif  // CKPT_ESTIMATOR_INPUT_H_
