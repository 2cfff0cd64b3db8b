// SecondOrStepTimer, as tf.train.SecondOrStepTimer.
#include "ckpt/estimator_timer.h"

namespace ckpt {

Result<SecondOrStepTimer> SecondOrStepTimer::Create(Env* env, std::optional<double> every_secs,
                                                    std::optional<int64_t> every_steps) {
  if (!every_secs.has_value() && !every_steps.has_value()) {
    return InvalidArgumentError("Either every_secs or every_steps should be provided.");
  }
  if (every_secs.has_value() && every_steps.has_value()) {
    return InvalidArgumentError("Can not provide both every_secs and every_steps.");
  }
  if (env == nullptr) return InvalidArgumentError("SecondOrStepTimer: env must not be null");
  return SecondOrStepTimer(env, every_secs, every_steps);
}

bool SecondOrStepTimer::ShouldTriggerForStep(int64_t step) const {
  if (!last_step_.has_value()) return true;
  if (*last_step_ == step) return false;
  if (every_secs_.has_value() && env_->NowSeconds() >= *last_time_ + *every_secs_) return true;
  if (every_steps_.has_value() && step >= *last_step_ + *every_steps_) return true;
  return false;
}

SecondOrStepTimer::Elapsed SecondOrStepTimer::UpdateLastTriggeredStep(int64_t step) {
  const double now = env_->NowSeconds();
  Elapsed elapsed;
  if (last_time_.has_value()) {
    elapsed.secs = now - *last_time_;
    elapsed.steps = step - *last_step_;
  }
  last_time_ = now;
  last_step_ = step;
  return elapsed;
}

}  // namespace ckpt
