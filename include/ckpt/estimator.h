// Estimator: TensorFlow 1.8's tf.estimator.Estimator in C++, the training
// loop that keeps all of its state in `model_dir` (checkpoints, the state
// file, graph.pbtxt, .meta files, event files for TensorBoard).
//
// Every Train / Evaluate / Predict call builds a fresh model with the
// model_fn, restores the newest checkpoint of model_dir (or, training on an
// empty model_dir, initialises it and applies the warm start), runs, and
// forgets the model. This is TF's design (state 100% on disk), and what
// makes "run it again and it resumes" work.
//
//   EstimatorOptions options;
//   options.model_fn = DnnClassifierModelFn(dnn_config);   // ckpt/canned.h
//   options.model_dir = "models/iris";
//   CKPT_ASSIGN_OR_RETURN(auto estimator, Estimator::Create(options));
//   TrainOptions train;
//   train.steps = 1000;
//   CKPT_RETURN_IF_ERROR(estimator->Train(train_input_fn, train).status());
//   CKPT_ASSIGN_OR_RETURN(EvalResult metrics, estimator->Evaluate(eval_input_fn));
//
// A custom model implements EstimatorModel (ckpt/estimator_model.h: the C++
// counterpart of what a model_fn builds: variables, a train step, metrics,
// predictions) and is handed over as a ModelFn; input comes from an InputFn
// (ckpt/estimator_input.h); the Estimator supplies everything else
// (checkpoint cadence, retention, restore, hooks, summaries, log lines).
//
// Behaviour and log lines follow TF 1.8 (docs/estimator.md; the guide's
// logs): "Using config: {...}", "Create CheckpointSaverHook.", "Graph was
// finalized.", "Restoring parameters from <ckpt>", "Saving checkpoints for
// N into <dir>/model.ckpt.", "loss = ..., step = ... (0.203 sec)",
// "global_step/sec: ...", "Loss for final step: ...".
//
// One deliberate difference from TF: Train opens no file in model_dir until
// the model is built and its checkpoint restored, so a model that does not
// match its checkpoint fails with TF's error and leaves model_dir exactly as
// it was (TF has already created an event file by then).
//
// Thread safety: an Estimator runs one call at a time (external
// synchronisation); distinct Estimators on distinct directories are
// independent. Train holds model_dir's WriterLock (ckpt/writer_lock.h) for
// the whole call: a second process training into the same model_dir fails at
// once with FailedPrecondition naming the directory and the holder (or waits,
// EstimatorOptions::writer_lock), and nothing of either is lost. Evaluate and
// Predict only read checkpoints and take no lock.
#ifndef CKPT_ESTIMATOR_H_
#define CKPT_ESTIMATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/communicator.h"
#include "ckpt/env.h"
#include "ckpt/estimator_input.h"
#include "ckpt/estimator_model.h"
#include "ckpt/hooks.h"
#include "ckpt/run_config.h"
#include "ckpt/saved_model.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/warm_start.h"
#include "ckpt/writer_lock.h"

namespace ckpt {

// EstimatorOptions::partition: the variables data-parallel training stores
// partitioned over the ranks.
struct VariablePartitioning {
  // Those of a fixed-size dtype, at least this many bytes and at least as
  // many rows (dim 0) as ranks. The default is the min_slice_size of TF's
  // min_max_variable_partitioner.
  int64_t min_bytes = int64_t{256} << 10;
};

struct EstimatorOptions {
  // REQUIRES: set.
  ModelFn model_fn;
  // Must equal config->model_dir() if both are set (InvalidArgument, TF's
  // text). Neither set: a fresh temporary directory (RunConfig::
  // ResolveModelDir, TF's warning).
  std::optional<std::string> model_dir;
  // Unset: TF's defaults, logged as "Using default config.".
  std::optional<RunConfig> config;
  // Applied when Train finds no checkpoint in model_dir, right after
  // model_fn (where TF logs "Warm-starting with WarmStartSettings: ...");
  // never by Evaluate / Predict (they need a checkpoint).
  std::optional<WarmStartSettings> warm_start_from;
  SaveCadence save_cadence = SaveCadence::kAfterFirstStep;
  // Write graph.pbtxt and a .meta per checkpoint (TF's
  // checkpoint_save_graph_def); only for models that DescribeGraph.
  bool save_graph_def = true;
  // Not owned; all IO and the clock. REQUIRES: non-null, and outlives the
  // Estimator. Event writers are cached per (env, directory) for the
  // process, as TF's FileWriterCache; those of an env other than
  // Env::Posix() are closed when the last Estimator using it is destroyed.
  Env* env = Env::Posix();
  // Where a temporary model_dir is created; empty: RunConfig::DefaultTempRoot().
  std::string temp_root;
  // Host name in event file names; empty: the machine's.
  std::string hostname;
  // Whether Train waits for another process's writer lock on model_dir
  // (default: fail at once).
  WriterLockOptions writer_lock;
  // Data-parallel training over the ranks of this communicator (not owned;
  // null or a group of one: one process). Every rank runs the same Train
  // call with the same input_fn, model_fn, seed and model_dir (REQUIRES:
  // set, the same directory for every rank):
  //   - each rank trains on its share of every batch input_fn yields (rows
  //     [b*r/N, b*(r+1)/N) of a batch of b rows; a batch of fewer rows than
  //     ranks ends the input, with a warning);
  //   - every step's gradients are summed over the ranks before the update
  //     (EstimatorModel::SetGradientCombiner; the canned classifiers' SUM loss
  //     makes that the global batch's gradient), so every rank keeps the same
  //     variables, equal to one process training on the whole batches up to
  //     float rounding; state that is not trained (batch normalisation's
  //     moving statistics) is averaged over the ranks every step
  //     (EstimatorModel::SetStateAverager), as TF's ON_READ / MEAN variables;
  //   - only the chief (rank 0) takes the writer lock and writes checkpoints,
  //     summaries, graph.pbtxt and the .meta files; every rank restores the
  //     newest checkpoint at the start, as one process does.
  // Evaluate is data-parallel too (every rank calls it): each rank evaluates
  // its share of every batch, the metrics are merged over the ranks
  // (EstimatorModel::EvalState), every rank returns them and the chief writes
  // the eval summary. Predict is not distributed (each rank runs it whole).
  Communicator* communicator = nullptr;
  // With a communicator of several ranks: partitioned variables, as a
  // parameter-server job partitions large (embedding-like) variables.
  // Training is unchanged (every rank computes with whole variables); in
  // checkpoints each variable `partition` selects (optimizer slots
  // included) is stored as one slice per rank, rows split as
  // tf.compat.v1.fixed_size_partitioner(ranks) splits them, and:
  //   - every save is collective, at the chief's schedule: each rank writes
  //     its slices and its share of the other variables into its own data
  //     shard of one checkpoint (DistributedSave; ckpt/distributed.h);
  //   - at the start every rank reads only its slices, from a checkpoint
  //     written by any number of ranks and partitioning, and the ranks
  //     exchange them (docs/distributed.md "Partitioned variables").
  // Every reader (TF's included) reads the variables whole; a TF1 Saver
  // restores them into partitioned variables.
  std::optional<VariablePartitioning> partition;
};

struct TrainOptions {
  // steps: train this many more steps (incremental). max_steps: until
  // global_step reaches it (absolute). Neither: until the input ends.
  // Both: InvalidArgument "Can not provide both steps and max_steps.";
  // <= 0: InvalidArgument "Must specify steps > 0, given: <n>" (resp.
  // max_steps).
  std::optional<int64_t> steps;
  std::optional<int64_t> max_steps;
  // TF's order: after the chief hooks (CheckpointSaverHook,
  // StepCounterHook, SummarySaverHook), before StopAtStepHook, NanTensorHook
  // and LoggingTensorHook. If one is a CheckpointSaverHook, the Estimator
  // creates none (saving_listeners must then be empty: InvalidArgument).
  std::vector<std::shared_ptr<SessionRunHook>> hooks;
  // Attached to the CheckpointSaverHook. FailedPrecondition (TF's text) if
  // checkpoints are disabled in the RunConfig (both cadences None, or the
  // one set is 0: TF tests them for truth).
  std::vector<std::shared_ptr<CheckpointSaverListener>> saving_listeners;
};

struct TrainResult {
  // True when max_steps was already reached: nothing was built or written
  // ("Skipping training since max_steps has already saved.").
  bool skipped = false;
  int64_t steps_run = 0;
  int64_t global_step = 0;          // at the end of the call
  std::optional<double> final_loss;  // the last step's loss
};

struct EvaluateOptions {
  // Evaluate at most this many batches (> 0); unset: until the input ends.
  std::optional<int64_t> steps;
  // Unset: the newest checkpoint of model_dir; none → NotFound
  // "Could not find trained model in model_dir: <dir>." (TF 1.8).
  std::optional<std::string> checkpoint_path;
  // Events go to model_dir/eval, or model_dir/eval_<name>.
  std::string name;
};

// The model's metrics plus "loss" (mean batch loss) and "global_step" (of
// the evaluated checkpoint), e.g. accuracy, average_loss, loss, global_step.
using EvalResult = std::map<std::string, double>;

struct PredictOptions {
  // Only these keys of each Prediction (unset: all); an unknown key is
  // InvalidArgument.
  std::vector<std::string> predict_keys;
  // As EvaluateOptions::checkpoint_path.
  std::optional<std::string> checkpoint_path;
};

// One serving input of an exported model: its dtype and its per-example
// shape (without the batch dimension): the inputs are [batch] + shape. The
// default {1} is a numeric column's (TF's FixedLenFeature((1,))); {} makes
// raw inputs plain [batch] vectors.
struct ServingFeature {
  DataType dtype = DataType::kFloat;
  PartialShape shape = PartialShape{1};
};

// How an exported SavedModel receives its features (TF's
// serving_input_receiver_fn).
struct ServingInput {
  enum class Kind { kRaw, kParseExample };
  Kind kind = Kind::kParseExample;
  // Feature name -> input. REQUIRES: non-empty.
  std::map<std::string, ServingFeature> features;
  // The batch dimension of the inputs; unset: any.
  std::optional<int64_t> default_batch_size;

  // TF's build_raw_serving_input_receiver_fn(features): one Placeholder
  // [batch] + shape per feature, named after it; the receiver tensors (the
  // signatures' inputs) are the features themselves. With several features, TF's classification
  // signatures cannot take them (they need one string tensor): only
  // "predict" is exported, and TF warns "Export includes no default
  // signature!" (so does ckpt).
  static ServingInput Raw(std::map<std::string, ServingFeature> features,
                          std::optional<int64_t> default_batch_size = std::nullopt);
  // TF's build_parsing_serving_input_receiver_fn(feature_spec): one string
  // Placeholder "input_example_tensor" [batch] of serialized tf.Example
  // protos, the receiver tensor "examples", parsed by a ParseExampleV2 node
  // into dense features (FixedLenFeature of each feature's shape and dtype,
  // no default: an example without one is an error when served). Every
  // signature can take it: serving_default, classification, predict (and
  // regression for a binary classifier).
  static ServingInput ParseExample(std::map<std::string, ServingFeature> features,
                                   std::optional<int64_t> default_batch_size = std::nullopt);
};

struct ExportOptions {
  // Unset: the newest checkpoint of model_dir; none → NotFound "Couldn't
  // find trained model at <model_dir>." (TF's text).
  std::optional<std::string> checkpoint_path;
  // The meta graph's tags.
  std::vector<std::string> tags = {kServeTag};
};

class Estimator {
 public:
  // Resolves the config and model_dir, logs "Using default config." /
  // TF's temporary-folder warning / "Using config: {...}". Creates nothing
  // in model_dir.
  static Result<std::unique_ptr<Estimator>> Create(EstimatorOptions options);
  ~Estimator();
  Estimator(const Estimator&) = delete;
  Estimator& operator=(const Estimator&) = delete;

  const std::string& model_dir() const;
  const RunConfig& config() const;

  // estimator.train. Checkpoints go through a Saver (retention of the
  // RunConfig, continued across calls from the state file), summaries and
  // graph through the model_dir's event writer. Errors: the argument
  // checks above; the restore error (the Saver's text, nothing written); a
  // model or hook error (also FailedPrecondition if TrainStep does not add
  // one to global_step), after which no final checkpoint is taken; DataLoss
  // for a state file that does not parse (TF would warn and start from
  // scratch, losing track of the checkpoints). Events queued before an
  // error are flushed.
  Result<TrainResult> Train(const InputFn& input_fn, const TrainOptions& options = {});

  // estimator.evaluate: restores the checkpoint, runs the input to its
  // end (or `steps` batches), logs "Saving dict for global step N: ...",
  // writes the metrics (not global_step) as scalars at the checkpoint's step
  // into the eval directory.
  Result<EvalResult> Evaluate(const InputFn& input_fn, const EvaluateOptions& options = {});

  // estimator.predict, eagerly: every example's Prediction in input
  // order.
  Result<std::vector<Prediction>> Predict(const InputFn& input_fn,
                                          const PredictOptions& options = {});

  // estimator.export_saved_model: builds the model's serving graph
  // (EstimatorModel::DescribeServing) on the inputs of `input`, restores the
  // checkpoint into it and writes a SavedModel (ckpt/saved_model.h) to
  // export_dir_base/<seconds>, the current Unix time (one second later, up
  // to ten times, while that directory exists, as TF), built in
  // a temporary directory of its own beside it and renamed into place. Signatures: those
  // of the model's export outputs that take the receiver tensors (TF's
  // build_all_signature_defs). The variables are the serving graph's (the
  // model's weights and global_step; no optimizer slots), with the
  // checkpoint's values. Returns the export directory. Errors: the
  // checkpoint's NotFound; Unimplemented for a model without a serving
  // graph; InvalidArgument for a ServingInput the model cannot use (a
  // feature it lacks or of the wrong dtype, naming it) or with no
  // signature left; the writer's errors (nothing is left in
  // export_dir_base but what was there).
  Result<std::string> ExportSavedModel(const std::string& export_dir_base, const ServingInput& input,
                                       const ExportOptions& options = {});

  // The newest checkpoint in model_dir, if any (tf.train.latest_checkpoint).
  std::optional<std::string> LatestCheckpoint() const;
  // Keys and values of the newest checkpoint; NotFound "Could not find
  // trained model in model_dir: <dir>." without one.
  Result<std::vector<std::string>> GetVariableNames() const;
  Result<Tensor> GetVariableValue(const std::string& name) const;

 private:
  struct Impl;
  explicit Estimator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_ESTIMATOR_H_
