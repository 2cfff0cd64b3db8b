// Training hooks driven directly through a TrainingSession of the test's
// own (docs/estimator.md), and numpy's float printing.
#include "ckpt/hooks.h"

#include <cmath>
#include <limits>

#include "ckpt/logging.h"
#include "estimator/toy_model.h"
#include "tensorflow/core/framework/graph.pb.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::FakeClockEnv;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::ToyConfig;
using ::ckpt::testing::ToyModel;
using ::testing::ElementsAre;

// ---------------------------------------------------------------- numpy printing

// Expected strings are Python's str() of numpy scalars, printed by numpy 2.4.6
// with np.set_printoptions(legacy='2.2'), i.e. the rule of numpy 1.14 to 2.2
// (positional for 1e-4 <= |v| < 1e16). numpy >= 2.3 switches float32 to
// scientific from 1e6 on; TF 1.8's logs come from numpy 1.14.
TEST(NumpyStrTest, Float32MatchesNumpy) {
  const std::vector<std::pair<double, std::string>> cases = {
      {235.59146118164062, "235.59146"},
      {0.9666666388511658, "0.96666664"},
      {51.9136962890625, "51.913696"},
      {1.0, "1.0"},
      {9.999999747378752e-06, "1e-05"},
      {1.0000000272564224e+16, "1e+16"},
      {9.999999747378752e-05, "1e-04"},
      {0.00010009999823523685, "0.0001001"},
      {123456792.0, "123456790.0"},
      {0.10000000149011612, "0.1"},
      {-2.5, "-2.5"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {1.4999999621068127e-05, "1.5e-05"},
      {3.4028234663852886e+38, "3.4028235e+38"},
      {1.401298464324817e-45, "1e-45"},
      {70.6014404296875, "70.60144"},
      {0.05920525640249252, "0.059205256"},
      {1.7761577367782593, "1.7761577"},
      {100.0, "100.0"},
      {999999986991104.0, "1000000000000000.0"},
      {16777216.0, "16777216.0"},
      {0.30000001192092896, "0.3"},
      {5000000136282112.0, "5000000000000000.0"},
  };
  for (const auto& [value, want] : cases) {
    EXPECT_EQ(NumpyFloat32Str(static_cast<float>(value)), want) << value;
  }
  EXPECT_EQ(NumpyFloat32Str(std::numeric_limits<float>::quiet_NaN()), "nan");
  EXPECT_EQ(NumpyFloat32Str(std::numeric_limits<float>::infinity()), "inf");
  EXPECT_EQ(NumpyFloat32Str(-std::numeric_limits<float>::infinity()), "-inf");
}

TEST(NumpyStrTest, Float64MatchesNumpy) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0.1, "0.1"},
      {1e-05, "1e-05"},
      {1e+16, "1e+16"},
      {123456789.123, "123456789.123"},
      {0.6666666666666666, "0.6666666666666666"},
      {0.0001, "0.0001"},
      {9.999e-05, "9.999e-05"},
      {1e+100, "1e+100"},
      {5e-324, "5e-324"},
      {490.445, "490.445"},
      {1234567890123456.0, "1234567890123456.0"},
      {-0.0, "-0.0"},
  };
  for (const auto& [value, want] : cases) EXPECT_EQ(NumpyFloat64Str(value), want) << value;
}

// ---------------------------------------------------------------- a session

class LogCapture {
 public:
  LogCapture() {
    previous_ = SetLogSink([this](LogSeverity severity, std::string_view message) {
      lines.push_back({severity, std::string(message)});
    });
  }
  ~LogCapture() { SetLogSink(previous_); }
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l.second);
    return out;
  }
  std::vector<std::pair<LogSeverity, std::string>> lines;

 private:
  LogSink previous_;
};

class FakeSession : public TrainingSession {
 public:
  FakeSession(Env* env, std::string dir, ToyModel* model, Saver* saver)
      : env_(env), dir_(std::move(dir)), model_(model), saver_(saver) {}
  ~FakeSession() override {
    for (auto& [d, w] : writers_) w->Close().IgnoreError();
  }
  Env* env() override { return env_; }
  const std::string& model_dir() const override { return dir_; }
  const RunConfig& config() const override { return config_; }
  EstimatorModel& model() override { return *model_; }
  int64_t global_step() const override {
    for (const SaveableTensor& v : model_->Variables()) {
      if (v.name == "global_step") return v.tensor->flat<int64_t>()[0];
    }
    return -1;
  }
  Saver* saver() override { return saver_; }
  const tensorflow::GraphDef* graph_def() const override { return graph_def_; }
  const tensorflow::MetaGraphDef* meta_graph_def() const override { return nullptr; }
  Result<EventWriter*> SummaryWriter(const std::string& dir) override {
    auto it = writers_.find(dir);
    if (it != writers_.end()) return it->second.get();
    EventWriterOptions o;
    o.env = env_;
    o.hostname = "h";
    o.scalar_style = ScalarStyle::kSimpleValue;
    CKPT_ASSIGN_OR_RETURN(std::unique_ptr<EventWriter> w, EventWriter::Create(dir, o));
    EventWriter* raw = w.get();
    writers_[dir] = std::move(w);
    return raw;
  }
  void RequestStop() override { stop_ = true; }
  bool stop_requested() const override { return stop_; }

  void set_graph_def(const tensorflow::GraphDef* g) { graph_def_ = g; }
  std::vector<EventValue> Events(const std::string& dir) {
    EXPECT_TRUE(writers_.at(dir)->Flush().ok());
    return ReadEventDir(env_, dir).value();
  }

 private:
  Env* env_;
  std::string dir_;
  RunConfig config_;
  ToyModel* model_;
  Saver* saver_;
  const tensorflow::GraphDef* graph_def_ = nullptr;
  std::map<std::string, std::unique_ptr<EventWriter>> writers_;
  bool stop_ = false;
};

class HooksTest : public ::testing::Test {
 protected:
  HooksTest() : mem_(NewMemEnv()), clock_(mem_.get()), model_(ToyConfig{}) {
    SaverOptions so;
    so.env = &clock_;
    so.save_relative_paths = true;
    so.log_saves = false;
    saver_ = Saver::Create(model_.Variables(), so).value();
    session_ = std::make_unique<FakeSession>(&clock_, dir_, &model_, saver_.get());
  }
  void SetStep(int64_t step) {
    for (const SaveableTensor& v : model_.Variables()) {
      if (v.name == "global_step") v.tensor->mutable_flat<int64_t>()[0] = step;
    }
  }
  // Runs one step from the current global step through `hook`.
  void Step(SessionRunHook& hook, int64_t local, double loss = 1.0,
            const SummaryValues* summaries = nullptr) {
    const int64_t before = session_->global_step();
    Result<bool> want = hook.BeforeRun(*session_, before);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    SetStep(before + 1);
    StepValues v;
    v.step_before = before;
    v.global_step = before + 1;
    v.local_step = local;
    v.loss = loss;
    v.summaries = summaries;
    CKPT_ASSERT_OK(hook.AfterRun(*session_, v));
  }

  std::unique_ptr<MemEnv> mem_;
  FakeClockEnv clock_;
  ToyModel model_;
  std::string dir_ = "/mem/hooks";
  std::unique_ptr<Saver> saver_;
  std::unique_ptr<FakeSession> session_;
};

// ---------------------------------------------------------------- LoggingTensorHook

TEST_F(HooksTest, LoggingTensorHookPrintsTheSeedsLines) {
  EXPECT_THAT(LoggingTensorHook::Create(&clock_, 0),
              StatusIs(StatusCode::kInvalidArgument, "invalid every_n_iter=0."));
  CKPT_ASSERT_OK_AND_ASSIGN(auto hook, LoggingTensorHook::Create(&clock_, 100));
  LogCapture log;
  for (int64_t i = 0; i <= 200; ++i) {
    clock_.Advance(0.00203);
    const double loss = i == 0 ? 235.59146 : i == 100 ? 70.60144 : 51.913696;
    Step(*hook, i, loss);
  }
  EXPECT_THAT(log.Messages(),
              ElementsAre("loss = 235.59146, step = 1", "loss = 70.60144, step = 101 (0.203 sec)",
                          "loss = 51.913696, step = 201 (0.203 sec)"));
}

// ---------------------------------------------------------------- StepCounterHook

TEST_F(HooksTest, StepCounterHookLogsAndWritesTheRate) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto hook, StepCounterHook::Create(&clock_, 100, std::nullopt, dir_));
  LogCapture log;
  for (int64_t i = 0; i < 201; ++i) {
    clock_.Advance(1.0 / 490.445);
    Step(*hook, i);
  }
  EXPECT_THAT(log.Messages(), ElementsAre("global_step/sec: 490.445", "global_step/sec: 490.445"));
  std::vector<int64_t> steps;
  for (const EventValue& e : session_->Events(dir_)) {
    if (e.kind == EventValueKind::kScalar) {
      EXPECT_EQ(e.tag, "global_step/sec");
      EXPECT_NEAR(e.scalar, 490.445, 1e-3);
      steps.push_back(e.step);
    }
  }
  EXPECT_THAT(steps, ElementsAre(101, 201));
  EXPECT_THAT(StepCounterHook::Create(&clock_, std::nullopt, std::nullopt, dir_),
              StatusIs(StatusCode::kInvalidArgument,
                       "Either every_secs or every_steps should be provided."));
}

// ---------------------------------------------------------------- SummarySaverHook

TEST_F(HooksTest, SummarySaverHookRequestsAndWrites) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto hook, SummarySaverHook::Create(&clock_, 10, std::nullopt, dir_));
  CKPT_ASSERT_OK(hook->Begin(*session_));
  CKPT_ASSERT_OK(hook->End(*session_));  // nothing written yet: End creates nothing
  EXPECT_FALSE(clock_.IsDirectory(dir_));
  SummaryValues summaries;
  summaries.scalars = {{"a", 1.5}};
  summaries.histograms = {{"h", {1.0, 2.0, 3.0}}};
  std::vector<int64_t> requested;
  for (int64_t i = 0; i < 25; ++i) {
    const int64_t before = session_->global_step();
    CKPT_ASSERT_OK_AND_ASSIGN(bool want, hook->BeforeRun(*session_, before));
    if (want) requested.push_back(before + 1);
    SetStep(before + 1);
    StepValues v;
    v.step_before = before;
    v.global_step = before + 1;
    v.local_step = i;
    v.loss = 0.5;
    v.summaries = want ? &summaries : nullptr;
    CKPT_ASSERT_OK(hook->AfterRun(*session_, v));
  }
  CKPT_ASSERT_OK(hook->End(*session_));
  EXPECT_THAT(requested, ElementsAre(1, 11, 21));
  std::vector<std::string> rows;
  for (const EventValue& e : session_->Events(dir_)) {
    if (e.kind == EventValueKind::kSessionLog) {
      rows.push_back("start@" + std::to_string(e.step));
    } else if (e.kind == EventValueKind::kScalar || e.kind == EventValueKind::kHistogram) {
      rows.push_back(e.tag + "@" + std::to_string(e.step));
    }
  }
  // The model reported no "loss": the hook adds it.
  EXPECT_THAT(rows, ElementsAre("start@1", "a@1", "loss@1", "h@1", "a@11", "loss@11", "h@11",
                                "a@21", "loss@21", "h@21"));
}

// ---------------------------------------------------------------- StopAtStepHook

TEST_F(HooksTest, StopAtStepHook) {
  EXPECT_THAT(
      StopAtStepHook::Create(std::nullopt, std::nullopt),
      StatusIs(StatusCode::kInvalidArgument, "One of num_steps or last_step must be specified."));
  EXPECT_THAT(StopAtStepHook::Create(1, 2),
              StatusIs(StatusCode::kInvalidArgument,
                       "Only one of num_steps or last_step can be specified."));
  SetStep(40);
  CKPT_ASSERT_OK_AND_ASSIGN(auto num, StopAtStepHook::Create(5, std::nullopt));
  CKPT_ASSERT_OK(num->AfterCreateSession(*session_));
  int64_t ran = 0;
  while (!session_->stop_requested()) Step(*num, ran++);
  EXPECT_EQ(ran, 5);
  EXPECT_EQ(session_->global_step(), 45);

  FakeSession other(&clock_, dir_, &model_, saver_.get());
  CKPT_ASSERT_OK_AND_ASSIGN(auto last, StopAtStepHook::Create(std::nullopt, 47));
  CKPT_ASSERT_OK(last->AfterCreateSession(other));
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(other.stop_requested());
    SetStep(45 + i);
    StepValues v;
    v.step_before = 45 + i;
    v.global_step = 46 + i;
    CKPT_ASSERT_OK(last->AfterRun(other, v));
  }
  EXPECT_TRUE(other.stop_requested());
}

// ---------------------------------------------------------------- NanTensorHook

TEST_F(HooksTest, NanTensorHookFailsOrStops) {
  LogCapture log;
  NanTensorHook fail;
  StepValues v;
  v.loss = 3.0;
  CKPT_ASSERT_OK(fail.AfterRun(*session_, v));
  v.loss = std::numeric_limits<double>::quiet_NaN();
  Status s = fail.AfterRun(*session_, v);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "NaN loss during training.");
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0].first, LogSeverity::kError);
  EXPECT_EQ(log.lines[0].second, "Model diverged with loss = NaN.");
  EXPECT_FALSE(session_->stop_requested());

  NanTensorHook stop(/*fail_on_nan_loss=*/false);
  CKPT_ASSERT_OK(stop.AfterRun(*session_, v));
  EXPECT_TRUE(session_->stop_requested());
  EXPECT_EQ(log.lines.back().first, LogSeverity::kWarning);
}

// ---------------------------------------------------------------- CheckpointSaverHook

TEST_F(HooksTest, CheckpointSaverHookCreation) {
  CheckpointSaverHookOptions o;
  o.checkpoint_dir = dir_;
  EXPECT_THAT(CheckpointSaverHook::Create(o),
              StatusIs(StatusCode::kInvalidArgument,
                       "Either every_secs or every_steps should be provided."));
  o.save_secs = 1.0;
  o.save_steps = 2;
  EXPECT_THAT(
      CheckpointSaverHook::Create(o),
      StatusIs(StatusCode::kInvalidArgument, "Can not provide both every_secs and every_steps."));
  o.save_secs.reset();
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(auto hook, CheckpointSaverHook::Create(o));
  EXPECT_THAT(log.Messages(), ElementsAre("Create CheckpointSaverHook."));
  FakeSession no_saver(&clock_, dir_, &model_, nullptr);
  EXPECT_THAT(hook->Begin(no_saver), StatusIs(StatusCode::kFailedPrecondition, "Saver"));
}

TEST_F(HooksTest, CheckpointSaverHookAfterFirstStep) {
  CheckpointSaverHookOptions o;
  o.checkpoint_dir = dir_;
  o.save_steps = 10;
  CKPT_ASSERT_OK_AND_ASSIGN(auto hook, CheckpointSaverHook::Create(o));
  tensorflow::GraphDef graph;
  graph.add_node()->set_name("n");
  session_->set_graph_def(&graph);
  CKPT_ASSERT_OK(hook->Begin(*session_));
  CKPT_ASSERT_OK(hook->AfterCreateSession(*session_));
  EXPECT_FALSE(clock_.IsDirectory(dir_));  // nothing before the first step
  for (int64_t i = 0; i < 25; ++i) Step(*hook, i);
  CKPT_ASSERT_OK(hook->End(*session_));
  EXPECT_THAT(hook->saved_steps(), ElementsAre(1, 11, 21, 25));
  EXPECT_TRUE(clock_.FileExists(dir_ + "/graph.pbtxt"));
  EXPECT_TRUE(clock_.FileExists(dir_ + "/model.ckpt-25.index"));
  std::vector<std::string> kinds;
  for (const EventValue& e : session_->Events(dir_)) {
    if (e.kind == EventValueKind::kGraphDef) kinds.push_back("graph");
    if (e.kind == EventValueKind::kSessionLog) {
      EXPECT_EQ(e.session_status, SessionLogStatus::kCheckpoint);
      EXPECT_EQ(e.text, dir_ + "/model.ckpt");
      kinds.push_back("ckpt@" + std::to_string(e.step));
    }
  }
  EXPECT_THAT(kinds, ElementsAre("graph", "ckpt@1", "ckpt@11", "ckpt@21", "ckpt@25"));
}

TEST_F(HooksTest, CheckpointSaverHookAtSessionCreation) {
  CheckpointSaverHookOptions o;
  o.checkpoint_dir = dir_;
  o.save_steps = 10;
  o.cadence = SaveCadence::kAtSessionCreation;
  CKPT_ASSERT_OK_AND_ASSIGN(auto hook, CheckpointSaverHook::Create(o));
  SetStep(7);
  CKPT_ASSERT_OK(hook->Begin(*session_));
  CKPT_ASSERT_OK(hook->AfterCreateSession(*session_));
  EXPECT_THAT(hook->saved_steps(), ElementsAre(7));
  for (int64_t i = 0; i < 20; ++i) Step(*hook, i);  // to 27
  CKPT_ASSERT_OK(hook->End(*session_));
  EXPECT_THAT(hook->saved_steps(), ElementsAre(7, 17, 27));  // 27 saved by AfterRun, not again
  EXPECT_FALSE(clock_.FileExists(dir_ + "/graph.pbtxt"));    // the session has no graph
}

TEST_F(HooksTest, CheckpointSaverHookSecsMode) {
  CheckpointSaverHookOptions o;
  o.checkpoint_dir = dir_;
  o.save_secs = 5.0;
  CKPT_ASSERT_OK_AND_ASSIGN(auto hook, CheckpointSaverHook::Create(o));
  CKPT_ASSERT_OK(hook->Begin(*session_));
  for (int64_t i = 0; i < 12; ++i) {
    clock_.Advance(1.0);
    Step(*hook, i);
  }
  CKPT_ASSERT_OK(hook->End(*session_));
  EXPECT_THAT(hook->saved_steps(), ElementsAre(1, 6, 11, 12));
}

}  // namespace
}  // namespace ckpt
