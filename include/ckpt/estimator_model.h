// The model contract of ckpt::Estimator: what a model_fn builds
// (EstimatorModel: variables, a train step, metrics, predictions, optionally
// its TF1 graph), the Batch it is fed and the ModelFn that makes it. Models
// (ckpt/canned.h, a custom model) and hooks (ckpt/hooks.h) depend on this
// header, not on the Estimator (ckpt/estimator.h).
//
// Thread safety: an EstimatorModel is used from one thread at a time (the
// Estimator's calling thread); the Estimator makes a fresh one per call.
#ifndef CKPT_ESTIMATOR_MODEL_H_
#define CKPT_ESTIMATOR_MODEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/run_config.h"
#include "ckpt/saved_model.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

class GraphBuilder;

// tf.estimator.ModeKeys.
enum class Mode { kTrain, kEval, kPredict };
// "train", "eval", "infer" (TF's values).
const char* ModeName(Mode mode);

// One batch from an input function: feature columns by name (each a tensor
// whose first dimension is the batch, e.g. float32 [batch]) and, except in
// prediction, labels (int64 [batch] class ids, or string [batch] when the
// model has a label vocabulary).
struct Batch {
  std::map<std::string, Tensor> features;
  std::optional<Tensor> labels;
  // dim 0 of the first feature (0 if there is none).
  int64_t size() const;
};

// Scalars and histograms a model reports for TensorBoard at a step (the
// tf.summary ops of a TF model_fn), written by the SummarySaverHook.
struct SummaryValues {
  std::vector<std::pair<std::string, double>> scalars;
  std::vector<std::pair<std::string, std::vector<double>>> histograms;
};

struct TrainStepResult {
  // The training loss of the step (what LoggingTensorHook prints, what
  // NanTensorHook checks).
  double loss = 0;
  // Filled only when the step was asked for summaries.
  SummaryValues summaries;
};

// One example's predictions, e.g. for the canned classifiers "logits"
// (float [n]), "probabilities" (float [n]), "class_ids" (int64 [1]),
// "classes" (string [1]).
using Prediction = std::map<std::string, Tensor>;

struct ModelFnArgs {
  Mode mode = Mode::kTrain;
  const RunConfig* config = nullptr;
  // RunConfig::tf_random_seed if set, else a fresh random value: seeds the
  // model's initialisers and dropout (TF's graph-level seed).
  uint64_t seed = 0;
};

// What a model_fn builds for one call. Created by the ModelFn, then the
// Estimator restores (or warm-starts) its variables and drives it.
class EstimatorModel {
 public:
  virtual ~EstimatorModel() = default;

  // Every variable a checkpoint holds, with its checkpoint key, including
  // "global_step" (int64 scalar, starting at 0; InvalidArgument from the
  // Estimator if absent). The tensors belong to the model and keep their
  // addresses for its lifetime (the Saver writes and restores them in place).
  virtual VarList Variables() = 0;

  // Checkpoint keys of the trainable variables (TF's TRAINABLE_VARIABLES:
  // not slots, not global_step); warm start's single-regex form selects
  // among these.
  virtual std::vector<std::string> TrainableVariableNames() const = 0;

  // Mode::kTrain: one training step on `batch`, which must increment
  // global_step by one. `want_summaries`: also fill result.summaries.
  // An error aborts Train (no final checkpoint, as in TF).
  virtual Result<TrainStepResult> TrainStep(const Batch& batch, bool want_summaries) = 0;

  // Mode::kEval: accumulates the metrics of one batch and returns its loss
  // (the same loss as training; the Estimator's "loss" metric is the mean of
  // these over batches, as TF's).
  virtual Result<double> EvalStep(const Batch& batch) = 0;
  // The metrics accumulated so far (e.g. "accuracy", "average_loss"); must
  // not contain "loss" or "global_step" (InvalidArgument from Evaluate).
  virtual Result<std::map<std::string, double>> EvalMetrics() = 0;

  // Mode::kPredict: one Prediction per example of the batch.
  virtual Result<std::vector<Prediction>> PredictBatch(const Batch& batch) = 0;

  // Adds the model's TF1 graph (variables incl. global_step, the forward
  // pass) to `graph`, for graph.pbtxt and the .meta files; the Estimator adds
  // the Saver subgraph. Unimplemented (the default): the Estimator writes
  // neither graph.pbtxt nor .meta files.
  virtual Status DescribeGraph(GraphBuilder* graph) const;

  // Mode::kPredict: adds the model's serving graph to `graph` for
  // Estimator::ExportSavedModel: its variables (GraphBuilder::Variable,
  // under their checkpoint keys, global_step excluded: the Estimator adds
  // it) and its inference on `features` (feature name -> the receiver's
  // tensor, [batch] or [batch, 1] per numeric feature), and returns its
  // export outputs by signature key (TF's EstimatorSpec.export_outputs, e.g.
  // serving_default, classification, predict). InvalidArgument for a
  // feature the model needs that is missing or of a dtype it cannot take,
  // naming it. Unimplemented (the default): the model cannot be exported.
  virtual Result<std::map<std::string, ExportOutput>> DescribeServing(
      GraphBuilder* graph, const std::map<std::string, Output>& features) const;

  // Data-parallel training (EstimatorOptions::communicator): every training
  // step passes its gradients (variable key -> gradient) through `combine`
  // before applying them; `combine` replaces each by its sum over the ranks
  // (identical on every rank), so that a model whose loss is a SUM over the
  // batch's examples (the canned classifiers, as TF1's) applies the gradient
  // of the whole global batch. Unimplemented (the default): the model cannot
  // train data-parallel.
  using GradientCombiner = std::function<Status(std::vector<std::pair<std::string, Tensor>>*)>;
  virtual Status SetGradientCombiner(GradientCombiner combine);

  // Data-parallel training: state each rank updates from its own share of
  // the batch that is not a gradient (batch normalisation's moving
  // statistics) passes through `average` every step, before it is stored;
  // `average` replaces each value by its mean over the ranks, so every rank
  // keeps the same state: what TF saves for such variables under a
  // distribution strategy (synchronization ON_READ, aggregation MEAN; the
  // moving averages are linear, so averaging every step gives the mean of
  // the ranks' own averages). Unimplemented (the default): the model has no
  // such state.
  virtual Status SetStateAverager(GradientCombiner average);

  // Data-parallel evaluation: the metrics accumulated by EvalStep so far as
  // bytes (for another process of the same build, same model), and
  // SetEvalState replacing them by the sum of several such states (merged
  // in the order given, so every rank computes the same metrics).
  // Unimplemented (the default): the model cannot evaluate data-parallel.
  virtual Result<std::string> EvalState() const;
  virtual Status SetEvalState(const std::vector<std::string>& states);
};

using ModelFn = std::function<Result<std::unique_ptr<EstimatorModel>>(const ModelFnArgs&)>;

}  // namespace ckpt

#endif  // CKPT_ESTIMATOR_MODEL_H_
