// RunConfig: the run settings of an Estimator, with TensorFlow's fields,
// defaults and validation (TF 1.8 `tf.estimator.RunConfig`).
//
//   RunConfigOptions options;
//   options.model_dir = "models/iris";
//   CKPT_ASSIGN_OR_RETURN(RunConfig config, RunConfig::Create(options));
//   LogInfo(config.UsingConfigLog());   // "Using config: {'_model_dir': ...}"
//
// Checkpoint cadence follows TF's three-way rule for save_checkpoints_steps
// and save_checkpoints_secs (each a TfArg: omitted, None, or a value):
//   - both omitted                     -> every 600 seconds (steps unset);
//   - one given a value                -> that one, the other unset;
//   - both given values                -> InvalidArgument (TF's ValueError);
//   - any given as None, none a value  -> checkpoints off: no CheckpointSaverHook.
// So a caller turns checkpoints off with
//   options.save_checkpoints_steps = TfArg<int64_t>::None();
//   options.save_checkpoints_secs = TfArg<double>::None();
// (either one alone, left with the other omitted, has the same effect, as in TF).
//
// Fields TF types as "int or None" where None and 0 mean the same thing
// (save_summary_steps, keep_checkpoint_max) are plain integers here: 0 is
// TF's None.
//
// Thread safety: a RunConfig is a value; const methods are thread-safe.
// ResolveModelDir mutates it and needs external synchronisation.
#ifndef CKPT_RUN_CONFIG_H_
#define CKPT_RUN_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

// A Python keyword argument that may be omitted, passed as None, or passed a
// value.
template <typename T>
class TfArg {
 public:
  TfArg() = default;                                    // omitted
  TfArg(T value) : state_(kValue), value_(value) {}     // NOLINT: implicit by design
  static TfArg None() {
    TfArg arg;
    arg.state_ = kNone;
    return arg;
  }
  bool omitted() const { return state_ == kOmitted; }
  bool is_none() const { return state_ == kNone; }
  bool has_value() const { return state_ == kValue; }
  // REQUIRES: has_value().
  T value() const { return value_; }

 private:
  enum State { kOmitted, kNone, kValue };
  State state_ = kOmitted;
  T value_{};
};

struct RunConfigOptions {
  // Where checkpoints and events go. Unset: the Estimator picks a temporary
  // directory (ResolveModelDir). Set but empty: InvalidArgument.
  std::optional<std::string> model_dir;
  // Graph-level random seed; unset is TF's None.
  std::optional<int64_t> tf_random_seed;
  // SummarySaverHook cadence in steps; >= 0, 0 disables summaries.
  int64_t save_summary_steps = 100;
  // Checkpoint cadence; see the file comment for the three-way rule.
  TfArg<int64_t> save_checkpoints_steps;  // >= 0
  TfArg<double> save_checkpoints_secs;    // >= 0
  // Newest checkpoints kept; >= 0, 0 keeps all.
  int64_t keep_checkpoint_max = 5;
  // Also keep one checkpoint per this many hours; > 0.
  double keep_checkpoint_every_n_hours = 10000;
  // StepCounterHook / loss-logging cadence in steps; > 0.
  int64_t log_step_count_steps = 100;
};

class RunConfig {
 public:
  // A config with every TF default (model_dir unset, checkpoints every 600 s).
  RunConfig() = default;

  // Applies TF's defaults and validation. Errors are InvalidArgument with
  // TF's ValueError texts, e.g. "save_summary_steps should be >= 0" or
  // "`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set."
  static Result<RunConfig> Create(const RunConfigOptions& options);

  const std::optional<std::string>& model_dir() const { return model_dir_; }
  const std::optional<int64_t>& tf_random_seed() const { return tf_random_seed_; }
  int64_t save_summary_steps() const { return save_summary_steps_; }
  const std::optional<int64_t>& save_checkpoints_steps() const {
    return save_checkpoints_steps_;
  }
  const std::optional<double>& save_checkpoints_secs() const {
    return save_checkpoints_secs_;
  }
  // False when both cadences are None: the Estimator saves no checkpoints.
  bool checkpoints_enabled() const {
    return save_checkpoints_steps_.has_value() || save_checkpoints_secs_.has_value();
  }
  int64_t keep_checkpoint_max() const { return keep_checkpoint_max_; }
  double keep_checkpoint_every_n_hours() const { return keep_checkpoint_every_n_hours_; }
  int64_t log_step_count_steps() const { return log_step_count_steps_; }

  // The message TF 1.8's Estimator logs at INFO level:
  // "Using config: {'_model_dir': 'models/iris', '_tf_random_seed': None, ...}"
  // with TF 1.8's keys in its order. Fields ckpt does not model print their
  // local (no TF_CONFIG) values; '_cluster_spec' prints as Python's object
  // repr, with `cluster_spec_address` as the (meaningless) address, formatted
  // as on the 64-bit Windows run in the TF guide ("0x000001AB820D8400").
  std::string UsingConfigLog(uint64_t cluster_spec_address = 0) const;

  // Returns model_dir if set. Otherwise creates a fresh directory named
  // "tmp" + 8 random characters in `temp_root` (as Python's
  // tempfile.mkdtemp), stores it as model_dir, logs TF's WARNING
  // "Using temporary folder as model directory: <dir>" and returns it.
  // The directory is created through env->CreateDirs; Env cannot create a
  // directory exclusively or set its mode, so the name is checked to be
  // unused first (a concurrent creator of the same random name could race)
  // and the mode is the Env's (0755 less umask for Env::Posix(), not
  // mkdtemp's 0700). REQUIRES: env != nullptr; temp_root exists or can be
  // created.
  Result<std::string> ResolveModelDir(Env* env,
                                      const std::string& temp_root = DefaultTempRoot());

  // Python's tempfile.gettempdir() on POSIX, reduced: $TMPDIR if set and
  // non-empty, else "/tmp". Read only when a caller uses the default argument.
  static std::string DefaultTempRoot();

 private:
  std::optional<std::string> model_dir_;
  std::optional<int64_t> tf_random_seed_;
  int64_t save_summary_steps_ = 100;
  std::optional<int64_t> save_checkpoints_steps_;
  std::optional<double> save_checkpoints_secs_ = 600;
  int64_t keep_checkpoint_max_ = 5;
  double keep_checkpoint_every_n_hours_ = 10000;
  int64_t log_step_count_steps_ = 100;
};

// Python's repr() of a str (quotes and escapes as CPython 3 does for ASCII;
// other bytes pass through). Exposed for the Estimator's other log lines.
std::string PyRepr(const std::string& s);
// Python's repr() of a float that came from a number the user wrote: integral
// values print as integers ("600"), others in shortest round-trip form.
std::string PyNumber(double value);

}  // namespace ckpt

#endif  // CKPT_RUN_CONFIG_H_
