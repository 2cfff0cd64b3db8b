#include "ckpt/estimator_timer.h"

#include <memory>

#include "testutil/fake_clock.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;

using ::ckpt::testing::FakeClockEnv;

class TimerTest : public ::testing::Test {
 protected:
  TimerTest() : mem_(NewMemEnv()), clock_(mem_.get()) {}
  std::unique_ptr<MemEnv> mem_;
  FakeClockEnv clock_;
};

TEST_F(TimerTest, NeitherOrBothIsTensorFlowsError) {
  Result<SecondOrStepTimer> neither = SecondOrStepTimer::Create(&clock_, std::nullopt, std::nullopt);
  ASSERT_FALSE(neither.ok());
  EXPECT_EQ(neither.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(neither.status().message(), "Either every_secs or every_steps should be provided.");
  Result<SecondOrStepTimer> both = SecondOrStepTimer::Create(&clock_, 1.0, int64_t{1});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(both.status().message(), "Can not provide both every_secs and every_steps.");
  EXPECT_THAT(SecondOrStepTimer::EverySteps(nullptr, 5),
              StatusIs(StatusCode::kInvalidArgument, "env must not be null"));
}

TEST_F(TimerTest, StepCadence) {
  CKPT_ASSERT_OK_AND_ASSIGN(SecondOrStepTimer timer, SecondOrStepTimer::EverySteps(&clock_, 10));
  EXPECT_FALSE(timer.LastTriggeredStep().has_value());
  EXPECT_TRUE(timer.ShouldTriggerForStep(1));  // never triggered
  SecondOrStepTimer::Elapsed first = timer.UpdateLastTriggeredStep(1);
  EXPECT_FALSE(first.secs.has_value());
  EXPECT_FALSE(first.steps.has_value());
  EXPECT_EQ(timer.LastTriggeredStep(), std::optional<int64_t>(1));

  EXPECT_FALSE(timer.ShouldTriggerForStep(1));  // same step
  EXPECT_FALSE(timer.ShouldTriggerForStep(10));
  clock_.Advance(1e6);                            // time is irrelevant in steps mode
  EXPECT_FALSE(timer.ShouldTriggerForStep(10));
  EXPECT_TRUE(timer.ShouldTriggerForStep(11));
  EXPECT_TRUE(timer.ShouldTriggerForStep(50));

  clock_.Advance(2.5);
  SecondOrStepTimer::Elapsed second = timer.UpdateLastTriggeredStep(11);
  ASSERT_TRUE(second.secs.has_value());
  ASSERT_TRUE(second.steps.has_value());
  EXPECT_DOUBLE_EQ(*second.secs, 1e6 + 2.5);
  EXPECT_EQ(*second.steps, 10);
  EXPECT_FALSE(timer.ShouldTriggerForStep(20));
  EXPECT_TRUE(timer.ShouldTriggerForStep(21));
}

TEST_F(TimerTest, TF18CheckpointScheduleIsOneThenEveryNPlusOne) {
  // The TF <= 1.8 CheckpointSaverHook asks the timer after each step with the
  // new global step; with every_steps=N it saves at 1, N+1, 2N+1, ...
  CKPT_ASSERT_OK_AND_ASSIGN(SecondOrStepTimer timer, SecondOrStepTimer::EverySteps(&clock_, 100));
  std::vector<int64_t> saved;
  for (int64_t step = 1; step <= 350; ++step) {
    if (timer.ShouldTriggerForStep(step)) {
      timer.UpdateLastTriggeredStep(step);
      saved.push_back(step);
    }
  }
  EXPECT_EQ(saved, (std::vector<int64_t>{1, 101, 201, 301}));
}

TEST_F(TimerTest, SecondCadence) {
  CKPT_ASSERT_OK_AND_ASSIGN(SecondOrStepTimer timer, SecondOrStepTimer::EverySecs(&clock_, 600));
  EXPECT_TRUE(timer.ShouldTriggerForStep(0));
  timer.UpdateLastTriggeredStep(0);
  EXPECT_FALSE(timer.ShouldTriggerForStep(1000000));  // steps are irrelevant
  clock_.Advance(599.5);
  EXPECT_FALSE(timer.ShouldTriggerForStep(5));
  clock_.Advance(0.5);                              // exactly 600 s: >= triggers
  EXPECT_TRUE(timer.ShouldTriggerForStep(5));
  EXPECT_FALSE(timer.ShouldTriggerForStep(0));      // the last triggered step never triggers
  SecondOrStepTimer::Elapsed e = timer.UpdateLastTriggeredStep(7);
  EXPECT_DOUBLE_EQ(e.secs.value_or(-1), 600.0);
  EXPECT_EQ(e.steps.value_or(-1), 7);
  EXPECT_FALSE(timer.ShouldTriggerForStep(8));
}

TEST_F(TimerTest, ResetForgetsTheLastTrigger) {
  CKPT_ASSERT_OK_AND_ASSIGN(SecondOrStepTimer timer, SecondOrStepTimer::EverySteps(&clock_, 10));
  timer.UpdateLastTriggeredStep(5);
  EXPECT_FALSE(timer.ShouldTriggerForStep(6));
  timer.Reset();
  EXPECT_FALSE(timer.LastTriggeredStep().has_value());
  EXPECT_TRUE(timer.ShouldTriggerForStep(6));
  EXPECT_FALSE(timer.UpdateLastTriggeredStep(6).secs.has_value());
}

}  // namespace
}  // namespace ckpt
