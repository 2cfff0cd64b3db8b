// FakeClockEnv: an Env whose clock the test sets, for every test that needs
// time to stand still or jump (timers, checkpoint retention by age, event
// file names and wall times, the Estimator's save cadence).
//
// Everything but NowSeconds() forwards to the target Env.
//
// Thread safety: the clock is atomic (event writers read it from their own
// threads); Set and Advance may race with readers, not with each other.
#ifndef CKPT_TESTS_TESTUTIL_FAKE_CLOCK_H_
#define CKPT_TESTS_TESTUTIL_FAKE_CLOCK_H_

#include <atomic>

#include "ckpt/env.h"

namespace ckpt::testing {

class FakeClockEnv : public ForwardingEnv {
 public:
  // REQUIRES: target non-null and outlives this Env.
  explicit FakeClockEnv(Env* target, double now = 1000.0) : ForwardingEnv(target), now_(now) {}

  double NowSeconds() override { return now_.load(); }
  void Set(double now) { now_.store(now); }
  void Advance(double secs) { now_.store(now_.load() + secs); }

 private:
  std::atomic<double> now_;
};

}  // namespace ckpt::testing

#endif  // CKPT_TESTS_TESTUTIL_FAKE_CLOCK_H_
