// Training hooks: TF 1.8's SessionRunHook family, driving what happens
// around each training step of Estimator::Train (checkpoints, step-rate and
// loss logging, summaries, stopping).
//
// The Estimator calls, for the hooks in TF's order (CheckpointSaverHook,
// StepCounterHook, SummarySaverHook, then the worker hooks: the user's,
// StopAtStepHook, NanTensorHook, LoggingTensorHook):
//   Begin(s)               once, before the model is restored;
//   AfterCreateSession(s)  once, after restore / initialisation;
//   BeforeRun(s, step)     before each step; `step` is the global step before
//                          it (TF's "stale" step); a hook may ask for the
//                          model's summaries of this step;
//   AfterRun(s, values)    after each step, in list order;
//   End(s)                 once, if the loop ended without error (a hook
//                          error, a model error or NaN skips it: no final
//                          checkpoint, as in TF).
// A hook's error aborts Train with that error.
//
// Thread safety: hooks are called from the training thread only.
#ifndef CKPT_HOOKS_H_
#define CKPT_HOOKS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/estimator_model.h"
#include "ckpt/estimator_timer.h"
#include "ckpt/run_config.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/summary.h"

namespace tensorflow {
class MetaGraphDef;
class GraphDef;
}  // namespace tensorflow

namespace ckpt {

// What hooks see of a running Train call (TF's session + graph).
class TrainingSession {
 public:
  virtual ~TrainingSession() = default;
  virtual Env* env() = 0;
  virtual const std::string& model_dir() const = 0;
  virtual const RunConfig& config() const = 0;
  virtual EstimatorModel& model() = 0;
  // The current value of the global_step variable.
  virtual int64_t global_step() const = 0;
  // The checkpoint Saver (model_dir retention); null when checkpoints are
  // disabled.
  virtual Saver* saver() = 0;
  // The graph and meta graph (with SaverDef) of the model; null if the model
  // does not describe one.
  virtual const tensorflow::GraphDef* graph_def() const = 0;
  virtual const tensorflow::MetaGraphDef* meta_graph_def() const = 0;
  // The TF1-style (simple_value scalars) event writer for `dir`: one per
  // directory per process, as TF's FileWriterCache (repeated Train calls
  // append to the same file). Creates `dir` and the file on first use.
  virtual Result<EventWriter*> SummaryWriter(const std::string& dir) = 0;
  // Ends the loop after the current step (then End runs).
  virtual void RequestStop() = 0;
  virtual bool stop_requested() const = 0;
};

// When the CheckpointSaverHook takes a call's first checkpoint.
enum class SaveCadence {
  // TF <= 1.8 (the seed logs, the default): after the call's first step
  // ("Saving checkpoints for 1"), then every secs/steps from there, and
  // after the last step.
  kAfterFirstStep,
  // TF >= 1.9: at session creation, before any step ("Saving checkpoints
  // for 0", or the restored step again), then every secs/steps, and after
  // the last step.
  kAtSessionCreation,
};

// What a step produced.
struct StepValues {
  int64_t step_before = 0;   // global_step before the step (TF's stale step)
  int64_t global_step = 0;   // after the step
  int64_t local_step = 0;    // 0 for the call's first step, then 1, 2, ...
  double loss = 0;
  // Non-null iff some hook asked for summaries in BeforeRun.
  const SummaryValues* summaries = nullptr;
};

class SessionRunHook {
 public:
  virtual ~SessionRunHook() = default;
  virtual Status Begin(TrainingSession& session) { return Status(); }
  virtual Status AfterCreateSession(TrainingSession& session) { return Status(); }
  // Returns true to have the model compute summaries for this step.
  virtual Result<bool> BeforeRun(TrainingSession& session, int64_t step_before) { return false; }
  virtual Status AfterRun(TrainingSession& session, const StepValues& values) { return Status(); }
  virtual Status End(TrainingSession& session) { return Status(); }
};

// tf.train.CheckpointSaverListener: told about every checkpoint save.
class CheckpointSaverListener {
 public:
  virtual ~CheckpointSaverListener() = default;
  virtual Status Begin() { return Status(); }
  virtual Status BeforeSave(TrainingSession& session, int64_t global_step) { return Status(); }
  // Returns true to request that training stop (logged as in TF: "A
  // CheckpointSaverListener requested that training be stopped. listener: ...").
  virtual Result<bool> AfterSave(TrainingSession& session, int64_t global_step) { return false; }
  virtual Status End(TrainingSession& session, int64_t global_step) { return Status(); }
};

struct CheckpointSaverHookOptions {
  std::string checkpoint_dir;
  // Exactly one (InvalidArgument otherwise, the timer's texts).
  std::optional<double> save_secs;
  std::optional<int64_t> save_steps;
  std::string checkpoint_basename = "model.ckpt";
  SaveCadence cadence = SaveCadence::kAfterFirstStep;
  std::vector<std::shared_ptr<CheckpointSaverListener>> listeners;
};

// Saves through session.saver() on the schedule of docs/estimator.md
// ("Checkpoint cadence"): logs "Create CheckpointSaverHook." when created;
// on the first step (kAfterFirstStep) or at session creation
// (kAtSessionCreation) writes graph.pbtxt (text GraphDef, atomically) and
// adds graph + meta graph to the event file; each
// save logs "Saving checkpoints for N into <dir>/model.ckpt.", calls the
// listeners, saves "<dir>/model.ckpt-N" (+ .meta) and adds a SessionLog
// CHECKPOINT event; End saves the final step unless just saved. Begin
// starts the timer on session.env()'s clock and fails (FailedPrecondition)
// without a session Saver. Nothing is written before the first step
// (kAfterFirstStep) or AfterCreateSession (kAtSessionCreation).
class CheckpointSaverHook : public SessionRunHook {
 public:
  static Result<std::unique_ptr<CheckpointSaverHook>> Create(CheckpointSaverHookOptions options);
  Status Begin(TrainingSession& session) override;
  Status AfterCreateSession(TrainingSession& session) override;
  Result<bool> BeforeRun(TrainingSession& session, int64_t step_before) override;
  Status AfterRun(TrainingSession& session, const StepValues& values) override;
  Status End(TrainingSession& session) override;
  // Steps saved by this hook, in order (for tests and logs).
  const std::vector<int64_t>& saved_steps() const { return saved_steps_; }

 private:
  explicit CheckpointSaverHook(CheckpointSaverHookOptions options, SecondOrStepTimer timer);
  Status Save(TrainingSession& session, int64_t step);
  Status WriteGraph(TrainingSession& session);

  CheckpointSaverHookOptions options_;
  SecondOrStepTimer timer_;
  bool graph_written_ = false;
  std::vector<int64_t> saved_steps_;
};

// tf.train.StepCounterHook: every N steps (or secs) logs "global_step/sec: %g"
// and writes the scalar "global_step/sec" to output_dir's event file. The
// first trigger only starts the clock (values at 101, 201, ... in TF 1.8
// runs); an interval of zero seconds (a frozen test clock) gives no value.
class StepCounterHook : public SessionRunHook {
 public:
  static Result<std::unique_ptr<StepCounterHook>> Create(
      Env* env, std::optional<int64_t> every_n_steps, std::optional<double> every_n_secs,
      std::string output_dir);
  Status AfterRun(TrainingSession& session, const StepValues& values) override;

 private:
  StepCounterHook(SecondOrStepTimer timer, std::string output_dir);
  SecondOrStepTimer timer_;
  std::string output_dir_;
};

// tf.train.SummarySaverHook: SessionLog START at the first step, then the
// model's summaries (plus "loss" if the model does not report it) every N
// steps (or secs) into output_dir's event file; End flushes.
class SummarySaverHook : public SessionRunHook {
 public:
  static Result<std::unique_ptr<SummarySaverHook>> Create(
      Env* env, std::optional<int64_t> save_steps, std::optional<double> save_secs,
      std::string output_dir);
  Status Begin(TrainingSession& session) override;
  Result<bool> BeforeRun(TrainingSession& session, int64_t step_before) override;
  Status AfterRun(TrainingSession& session, const StepValues& values) override;
  Status End(TrainingSession& session) override;

 private:
  SummarySaverHook(SecondOrStepTimer timer, std::string output_dir);
  SecondOrStepTimer timer_;
  std::string output_dir_;
  bool first_run_ = true;
  bool requested_ = false;
};

// The Estimator's LoggingTensorHook({loss, step}): on local iterations 0, N,
// 2N, ... logs "loss = <loss>, step = <global_step>", later lines with
// " (%.3f sec)" since the previous one. Numbers print as numpy float32 /
// int64 scalars do (e.g. "loss = 235.59146, step = 1").
class LoggingTensorHook : public SessionRunHook {
 public:
  static Result<std::unique_ptr<LoggingTensorHook>> Create(Env* env, int64_t every_n_iter);
  Status AfterRun(TrainingSession& session, const StepValues& values) override;

 private:
  LoggingTensorHook(Env* env, int64_t every_n_iter) : env_(env), every_n_iter_(every_n_iter) {}
  Env* env_;
  int64_t every_n_iter_;
  std::optional<double> last_time_;
};

// tf.train.StopAtStepHook: stop after num_steps more steps (counted from the
// global step at session creation) or at last_step. Exactly one
// (InvalidArgument otherwise).
class StopAtStepHook : public SessionRunHook {
 public:
  static Result<std::unique_ptr<StopAtStepHook>> Create(std::optional<int64_t> num_steps,
                                                        std::optional<int64_t> last_step);
  Status AfterCreateSession(TrainingSession& session) override;
  Status AfterRun(TrainingSession& session, const StepValues& values) override;

 private:
  StopAtStepHook(std::optional<int64_t> num_steps, std::optional<int64_t> last_step)
      : num_steps_(num_steps), last_step_(last_step) {}
  std::optional<int64_t> num_steps_;
  std::optional<int64_t> last_step_;
};

// tf.train.NanTensorHook: a NaN loss logs ERROR "Model diverged with loss =
// NaN." and fails the call with FailedPrecondition "NaN loss during
// training." (TF's NanLossDuringTrainingError: the model diverged and cannot
// train on from its variables), or with fail_on_nan_loss = false, only
// requests a stop.
class NanTensorHook : public SessionRunHook {
 public:
  explicit NanTensorHook(bool fail_on_nan_loss = true) : fail_(fail_on_nan_loss) {}
  Status AfterRun(TrainingSession& session, const StepValues& values) override;

 private:
  bool fail_;
};

// Python's str() of a numpy float32 / float64 scalar (shortest repr that
// round-trips in that precision, e.g. "235.59146", "0.96666664", "1e-05").
std::string NumpyFloat32Str(float value);
std::string NumpyFloat64Str(double value);

}  // namespace ckpt

#endif  // CKPT_HOOKS_H_
