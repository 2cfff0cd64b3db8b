// SecondOrStepTimer: decides when a periodic training action (checkpoint,
// summary, step-rate log) is due, every N seconds or every N steps, as
// TensorFlow's tf.train.SecondOrStepTimer (identical in TF 1.5 through 1.15;
// the hooks that drive it differ between versions, not the timer).
//
// Time comes from Env::NowSeconds, so tests can control the clock.
//
// Thread safety: not thread-safe; use from the training loop's thread.
#ifndef CKPT_ESTIMATOR_TIMER_H_
#define CKPT_ESTIMATOR_TIMER_H_

#include <cstdint>
#include <optional>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

class SecondOrStepTimer {
 public:
  // Exactly one of every_secs / every_steps must be set; otherwise
  // InvalidArgument with TF's texts "Either every_secs or every_steps should
  // be provided." / "Can not provide both every_secs and every_steps.".
  // REQUIRES: env != nullptr and outlives the timer (not owned).
  static Result<SecondOrStepTimer> Create(Env* env, std::optional<double> every_secs,
                                          std::optional<int64_t> every_steps);
  static Result<SecondOrStepTimer> EverySecs(Env* env, double secs) {
    return Create(env, secs, std::nullopt);
  }
  static Result<SecondOrStepTimer> EverySteps(Env* env, int64_t steps) {
    return Create(env, std::nullopt, steps);
  }

  // True if never triggered; false if `step` is the last triggered step;
  // otherwise true once every_secs have passed since the last trigger (secs
  // mode) or step >= last triggered step + every_steps (steps mode).
  bool ShouldTriggerForStep(int64_t step) const;

  // What UpdateLastTriggeredStep reports: time and steps since the previous
  // trigger, both unset on the first trigger.
  struct Elapsed {
    std::optional<double> secs;
    std::optional<int64_t> steps;
  };
  // Records a trigger at `step` and the current time.
  Elapsed UpdateLastTriggeredStep(int64_t step);

  // Unset until the first trigger.
  std::optional<int64_t> LastTriggeredStep() const { return last_step_; }

  // Forgets the last trigger.
  void Reset() {
    last_step_.reset();
    last_time_.reset();
  }

 private:
  SecondOrStepTimer(Env* env, std::optional<double> every_secs,
                    std::optional<int64_t> every_steps)
      : env_(env), every_secs_(every_secs), every_steps_(every_steps) {}

  Env* env_;
  std::optional<double> every_secs_;
  std::optional<int64_t> every_steps_;
  std::optional<int64_t> last_step_;
  std::optional<double> last_time_;
};

}  // namespace ckpt

#endif  // CKPT_ESTIMATOR_TIMER_H_
