// Estimator: TF 1.8's train / evaluate / predict sequences (docs/estimator.md:
// hooks, files, log lines, errors) with a toy linear-regression model on a
// MemEnv (or the real file system) and a clock the test drives.
#include "ckpt/estimator.h"

#include <algorithm>
#include <cstdio>
#include <regex>
#include <set>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/hooks.h"
#include "ckpt/logging.h"
#include "ckpt/meta_graph.h"
#include "ckpt/summary.h"
#include "estimator/toy_model.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::ListDir;
using ::ckpt::testing::FakeClockEnv;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::ToyConfig;
using ::ckpt::testing::ToyInput;
using ::ckpt::testing::ToyModelFn;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// Collects log lines while alive.
class LogCapture {
 public:
  LogCapture() {
    previous_ = SetLogSink([this](LogSeverity severity, std::string_view message) {
      lines_.push_back({severity, std::string(message)});
    });
  }
  ~LogCapture() { SetLogSink(previous_); }
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    for (const auto& l : lines_) out.push_back(l.second);
    return out;
  }
  bool Has(LogSeverity severity, const std::string& message) const {
    for (const auto& l : lines_) {
      if (l.first == severity && l.second == message) return true;
    }
    return false;
  }
  // The N of every "Saving checkpoints for N into ..." line.
  std::vector<int64_t> SavedSteps() const {
    std::vector<int64_t> steps;
    for (const auto& l : lines_) {
      long long n = 0;
      if (std::sscanf(l.second.c_str(), "Saving checkpoints for %lld into", &n) == 1) {
        steps.push_back(n);
      }
    }
    return steps;
  }
  void Clear() { lines_.clear(); }

 private:
  LogSink previous_;
  std::vector<std::pair<LogSeverity, std::string>> lines_;
};

std::vector<int64_t> Range(int64_t first, int64_t last, int64_t step) {
  std::vector<int64_t> out;
  for (int64_t i = first; i <= last; i += step) out.push_back(i);
  return out;
}

// Every file below `dir` (relative name -> contents).
std::map<std::string, std::string> Snapshot(Env* env, const std::string& dir,
                                            const std::string& prefix = "") {
  std::map<std::string, std::string> out;
  for (const std::string& name : ListDir(env, dir)) {
    const std::string path = JoinPath(dir, name);
    if (env->IsDirectory(path)) {
      for (auto& [k, v] : Snapshot(env, path, prefix + name + "/")) out[k] = v;
    } else {
      out[prefix + name] = ReadFileToString(env, path).value();
    }
  }
  return out;
}

class EstimatorTest : public ::testing::Test {
 protected:
  EstimatorTest() : mem_(NewMemEnv()), clock_(mem_.get()) {}

  EstimatorOptions Options(const RunConfigOptions& rc, ToyConfig toy = {}) {
    if (toy.clock == nullptr) toy.clock = &clock_;
    RunConfigOptions with_dir = rc;
    with_dir.model_dir = dir_;
    EstimatorOptions o;
    o.model_fn = ToyModelFn(toy);
    o.config = RunConfig::Create(with_dir).value();
    o.env = &clock_;
    o.hostname = "testhost";
    return o;
  }
  std::unique_ptr<Estimator> Make(const RunConfigOptions& rc, ToyConfig toy = {},
                                  SaveCadence cadence = SaveCadence::kAfterFirstStep) {
    EstimatorOptions o = Options(rc, toy);
    o.save_cadence = cadence;
    return Estimator::Create(std::move(o)).value();
  }
  static RunConfigOptions Steps(int64_t every) {
    RunConfigOptions rc;
    rc.save_checkpoints_steps = every;
    return rc;
  }
  std::vector<std::string> Files() { return ListDir(&clock_, dir_); }
  std::vector<std::string> StateFilePaths() {
    CheckpointState s = GetCheckpointState(&clock_, dir_).value();
    std::vector<std::string> out;
    for (const std::string& p : s.all_model_checkpoint_paths)
      out.push_back(std::string(Basename(p)));
    return out;
  }
  std::vector<EventValue> Events(const std::string& dir) {
    return ReadEventDir(&clock_, dir).value();
  }

  std::unique_ptr<MemEnv> mem_;
  FakeClockEnv clock_;
  std::string dir_ = "/mem/models/toy";
};

TrainOptions StepsOf(int64_t n) {
  TrainOptions t;
  t.steps = n;
  return t;
}

// ---------------------------------------------------------------- construction

TEST_F(EstimatorTest, CreateLogsDefaultConfigAndCreatesNothing) {
  LogCapture log;
  EstimatorOptions o;
  o.model_fn = ToyModelFn({});
  o.model_dir = dir_;
  o.env = &clock_;
  CKPT_ASSERT_OK_AND_ASSIGN(auto est, Estimator::Create(std::move(o)));
  EXPECT_EQ(est->model_dir(), dir_);
  ASSERT_EQ(est->config().model_dir(), std::optional<std::string>(dir_));
  std::vector<std::string> lines = log.Messages();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "Using default config.");
  EXPECT_THAT(lines[1],
              HasSubstr("Using config: {'_model_dir': '/mem/models/toy', "
                        "'_tf_random_seed': None, '_save_summary_steps': 100, "
                        "'_save_checkpoints_steps': None, '_save_checkpoints_secs': 600"));
  EXPECT_FALSE(clock_.IsDirectory(dir_));
  EXPECT_FALSE(est->LatestCheckpoint().has_value());
  EXPECT_THAT(est->GetVariableNames(),
              StatusIs(StatusCode::kNotFound,
                       "Could not find trained model in model_dir: /mem/models/toy."));
  EXPECT_THAT(est->GetVariableValue("w"), StatusIs(StatusCode::kNotFound, "Could not find"));
}

TEST_F(EstimatorTest, CreateRejectsDifferentModelDirs) {
  EstimatorOptions o = Options({});
  o.model_dir = "/mem/other";
  Result<std::unique_ptr<Estimator>> est = Estimator::Create(std::move(o));
  ASSERT_FALSE(est.ok());
  EXPECT_EQ(est.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(est.status().message(),
            "model_dir are set both in constructor and RunConfig, but with different values. "
            "In constructor: '/mem/other', in RunConfig: '/mem/models/toy' ");
  EstimatorOptions no_fn;
  no_fn.env = &clock_;
  EXPECT_THAT(Estimator::Create(std::move(no_fn)),
              StatusIs(StatusCode::kInvalidArgument, "model_fn"));
}

TEST_F(EstimatorTest, CreateWithoutModelDirUsesATemporaryFolder) {
  LogCapture log;
  EstimatorOptions o;
  o.model_fn = ToyModelFn({});
  o.env = &clock_;
  o.temp_root = "/mem/tmp";
  CKPT_ASSERT_OK_AND_ASSIGN(auto est, Estimator::Create(std::move(o)));
  EXPECT_TRUE(std::regex_match(est->model_dir(), std::regex("/mem/tmp/tmp[a-z0-9_]{8}")))
      << est->model_dir();
  EXPECT_TRUE(log.Has(LogSeverity::kWarning,
                      "Using temporary folder as model directory: " + est->model_dir()));
  EXPECT_THAT(log.Messages().back(), HasSubstr("'_model_dir': '" + est->model_dir() + "'"));
}

// ---------------------------------------------------------------- train: logs

TEST_F(EstimatorTest, ShortRunLogsTensorFlowsLinesInOrder) {
  auto est = Make({});  // default config: every 600 s, summaries and logs every 100 steps
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), StepsOf(3)));
  EXPECT_FALSE(r.skipped);
  EXPECT_EQ(r.steps_run, 3);
  EXPECT_EQ(r.global_step, 3);
  ASSERT_TRUE(r.final_loss.has_value());
  // Initial w = b = 0: the first loss is mean(y^2) over x = -1, -0.95, ..., -0.55.
  float first_loss = 0;
  for (int i = 0; i < 10; ++i) {
    const float x = -1.0f + 2.0f * static_cast<float>(i) / 40.0f;
    first_loss += (3 * x + 2) * (3 * x + 2);
  }
  first_loss /= 10;
  const std::string prefix = dir_ + "/model.ckpt";
  EXPECT_THAT(
      log.Messages(),
      ElementsAre(
          "Calling model_fn.", "Done calling model_fn.", "Create CheckpointSaverHook.",
          "Graph was finalized.", "Running local_init_op.", "Done running local_init_op.",
          "Saving checkpoints for 1 into " + prefix + ".",
          "loss = " + NumpyFloat32Str(first_loss) + ", step = 1",
          "Saving checkpoints for 3 into " + prefix + ".",
          "Loss for final step: " + NumpyFloat32Str(static_cast<float>(*r.final_loss)) + "."));

  // A second call restores and saves start + 1 first (Variant A).
  log.Clear();
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r2, est->Train(ToyInput(), StepsOf(2)));
  EXPECT_EQ(r2.global_step, 5);
  std::vector<std::string> lines = log.Messages();
  ASSERT_EQ(lines.size(), 11u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[3], "Graph was finalized.");
  EXPECT_EQ(lines[4], "Restoring parameters from " + prefix + "-3");
  EXPECT_EQ(lines[5], "Running local_init_op.");
  EXPECT_EQ(lines[7], "Saving checkpoints for 4 into " + prefix + ".");
  EXPECT_TRUE(std::regex_match(lines[8], std::regex("loss = [0-9.e+-]+, step = 4"))) << lines[8];
  EXPECT_EQ(lines[9], "Saving checkpoints for 5 into " + prefix + ".");
}

TEST_F(EstimatorTest, LossLinesEveryLogStepCountStepsWithTiming) {
  auto est = Make(Steps(1000));
  LogCapture log;
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(250)).status());
  std::vector<std::string> loss_lines, rate_lines;
  for (const std::string& l : log.Messages()) {
    if (l.rfind("loss = ", 0) == 0) loss_lines.push_back(l);
    if (l.rfind("global_step/sec: ", 0) == 0) rate_lines.push_back(l);
  }
  ASSERT_EQ(loss_lines.size(), 3u);
  EXPECT_TRUE(std::regex_match(loss_lines[0], std::regex("loss = [0-9.e+-]+, step = 1")));
  // 100 steps of 0.01 s each on the test clock.
  EXPECT_TRUE(std::regex_match(loss_lines[1],
                               std::regex("loss = [0-9.e+-]+, step = 101 \\(1\\.000 sec\\)")))
      << loss_lines[1];
  EXPECT_TRUE(std::regex_match(loss_lines[2],
                               std::regex("loss = [0-9.e+-]+, step = 201 \\(1\\.000 sec\\)")));
  EXPECT_THAT(rate_lines, ElementsAre("global_step/sec: 100", "global_step/sec: 100"));
  // global_step/sec comes before the loss line of the same step (hook order).
  std::vector<std::string> all = log.Messages();
  auto rate = std::find(all.begin(), all.end(), "global_step/sec: 100");
  auto loss101 = std::find(all.begin(), all.end(), loss_lines[1]);
  EXPECT_LT(rate - all.begin(), loss101 - all.begin());
}

// ---------------------------------------------------------------- train: cadence, retention

TEST_F(EstimatorTest, StepsCadenceAndRetention) {
  auto est = Make(Steps(100));
  LogCapture log;
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(1000)).status());
  std::vector<int64_t> expected = Range(1, 901, 100);
  expected.push_back(1000);
  EXPECT_EQ(log.SavedSteps(), expected);
  // Retention 5: the five newest on disk and in the state file.
  std::set<std::string> ckpt_files;
  for (const std::string& f : Files()) {
    if (f.rfind("model.ckpt-", 0) == 0) ckpt_files.insert(f);
  }
  std::set<std::string> want;
  for (int step : {601, 701, 801, 901, 1000}) {
    for (const char* ext : {".index", ".data-00000-of-00001", ".meta"}) {
      want.insert("model.ckpt-" + std::to_string(step) + ext);
    }
  }
  EXPECT_EQ(ckpt_files, want);
  EXPECT_THAT(StateFilePaths(), ElementsAre("model.ckpt-601", "model.ckpt-701", "model.ckpt-801",
                                            "model.ckpt-901", "model.ckpt-1000"));
  // Relative paths (save_relative_paths = true).
  std::string state = ReadFileToString(&clock_, dir_ + "/checkpoint").value();
  EXPECT_THAT(state, HasSubstr("model_checkpoint_path: \"model.ckpt-1000\""));
  EXPECT_TRUE(clock_.FileExists(dir_ + "/graph.pbtxt"));
  EXPECT_EQ(est->LatestCheckpoint(), std::optional<std::string>(dir_ + "/model.ckpt-1000"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor step, est->GetVariableValue("global_step"));
  EXPECT_EQ(step.flat<int64_t>()[0], 1000);
  EXPECT_THAT(est->GetVariableNames().value(), ElementsAre("b", "global_step", "w"));
  // The model learned y = 3x + 2.
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor w, est->GetVariableValue("w"));
  EXPECT_NEAR(w.flat<float>()[0], 3.0f, 0.05f);
}

TEST_F(EstimatorTest, RetentionContinuesAcrossCalls) {
  RunConfigOptions rc = Steps(10);
  rc.keep_checkpoint_max = 3;
  {
    auto est = Make(rc);
    CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(30)).status());  // 1, 11, 21, 30
  }
  EXPECT_THAT(StateFilePaths(), ElementsAre("model.ckpt-11", "model.ckpt-21", "model.ckpt-30"));
  auto est = Make(rc);  // a new Estimator (as a new process would)
  LogCapture log;
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(20)).status());  // 31, 41, 50
  EXPECT_THAT(log.SavedSteps(), ElementsAre(31, 41, 50));
  EXPECT_THAT(StateFilePaths(), ElementsAre("model.ckpt-31", "model.ckpt-41", "model.ckpt-50"));
  EXPECT_FALSE(clock_.FileExists(dir_ + "/model.ckpt-30.index"));
  EXPECT_FALSE(clock_.FileExists(dir_ + "/model.ckpt-11.index"));
}

TEST_F(EstimatorTest, SecsCadenceFollowsTheClock) {
  RunConfigOptions rc;
  rc.save_checkpoints_secs = 10.0;
  ToyConfig toy;
  toy.secs_per_step = 1.0;
  auto est = Make(rc, toy);
  LogCapture log;
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(35)).status());
  // After the first step, every 10 s of the clock (one step per second), and the last.
  EXPECT_THAT(log.SavedSteps(), ElementsAre(1, 11, 21, 31, 35));
}

TEST_F(EstimatorTest, SaveAtSessionCreationVariant) {
  auto est = Make(Steps(100), {}, SaveCadence::kAtSessionCreation);
  LogCapture log;
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(250)).status());
  EXPECT_THAT(log.SavedSteps(), ElementsAre(0, 100, 200, 250));
  std::vector<std::string> lines = log.Messages();
  // The step-0 save comes right after session creation, before any loss line.
  auto local_done = std::find(lines.begin(), lines.end(), "Done running local_init_op.");
  ASSERT_NE(local_done, lines.end());
  EXPECT_EQ(*(local_done + 1), "Saving checkpoints for 0 into " + dir_ + "/model.ckpt.");
  log.Clear();
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(100)).status());
  // The restored step is saved again, then the cadence continues from it.
  EXPECT_THAT(log.SavedSteps(), ElementsAre(250, 350));
}

TEST_F(EstimatorTest, SecondCallResumesAtTheSavedStep) {
  auto est = Make(Steps(100));
  LogCapture log;
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(200)).status());
  EXPECT_THAT(log.SavedSteps(), ElementsAre(1, 101, 200));
  log.Clear();
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), StepsOf(200)));
  EXPECT_EQ(r.global_step, 400);
  EXPECT_EQ(r.steps_run, 200);
  EXPECT_THAT(log.SavedSteps(), ElementsAre(201, 301, 400));
  EXPECT_TRUE(log.Has(LogSeverity::kInfo, "Restoring parameters from " + dir_ + "/model.ckpt-200"));
}

TEST_F(EstimatorTest, StepsIsIncrementalMaxStepsIsAbsoluteAndSkips) {
  int calls = 0;
  ToyConfig toy;
  toy.model_fn_calls = &calls;
  auto est = Make(Steps(1000), toy);
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult a, est->Train(ToyInput(), StepsOf(100)));
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult b, est->Train(ToyInput(), StepsOf(100)));
  EXPECT_EQ(a.global_step, 100);
  EXPECT_EQ(b.global_step, 200);
  TrainOptions max;
  max.max_steps = 250;
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult c, est->Train(ToyInput(), max));
  EXPECT_EQ(c.global_step, 250);
  EXPECT_EQ(c.steps_run, 50);
  EXPECT_EQ(calls, 3);

  // max_steps already reached: nothing is built, nothing is written.
  const std::map<std::string, std::string> before = Snapshot(&clock_, dir_);
  LogCapture log;
  for (int64_t m : {250, 100}) {
    max.max_steps = m;
    CKPT_ASSERT_OK_AND_ASSIGN(TrainResult skipped, est->Train(ToyInput(), max));
    EXPECT_TRUE(skipped.skipped);
    EXPECT_EQ(skipped.steps_run, 0);
    EXPECT_EQ(skipped.global_step, 250);
  }
  EXPECT_THAT(log.Messages(), ElementsAre("Skipping training since max_steps has already saved.",
                                          "Skipping training since max_steps has already saved."));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(Snapshot(&clock_, dir_), before);
}

TEST_F(EstimatorTest, InputEndStopsTraining) {
  auto est = Make(Steps(100));
  LogCapture log;
  // 4 batches, one epoch, no steps: train until the input ends.
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(40, 10, 1), {}));
  EXPECT_EQ(r.steps_run, 4);
  EXPECT_EQ(r.global_step, 4);
  EXPECT_THAT(log.SavedSteps(), ElementsAre(1, 4));
  // An empty input runs no step: "None", and TF's end-of-call save of step 4.
  log.Clear();
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult none, est->Train(ToyInput(0, 10, 1), {}));
  EXPECT_EQ(none.steps_run, 0);
  EXPECT_FALSE(none.final_loss.has_value());
  EXPECT_TRUE(log.Has(LogSeverity::kInfo, "Loss for final step: None."));
  EXPECT_THAT(log.SavedSteps(), ElementsAre(4));
}

TEST_F(EstimatorTest, ArgumentErrorsUseTensorFlowsTextsAndCreateNothing) {
  auto est = Make(Steps(100));
  TrainOptions both;
  both.steps = 1;
  both.max_steps = 1;
  EXPECT_THAT(est->Train(ToyInput(), both),
              StatusIs(StatusCode::kInvalidArgument, "Can not provide both steps and max_steps."));
  Result<TrainResult> zero = est->Train(ToyInput(), StepsOf(0));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "Must specify steps > 0, given: 0");
  TrainOptions neg;
  neg.max_steps = -3;
  Result<TrainResult> negative = est->Train(ToyInput(), neg);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(negative.status().message(), "Must specify max_steps > 0, given: -3");
  EvaluateOptions eval;
  eval.steps = 0;
  EXPECT_THAT(est->Evaluate(ToyInput(), eval),
              StatusIs(StatusCode::kInvalidArgument, "Must specify steps > 0, given: 0"));
  EXPECT_FALSE(clock_.IsDirectory(dir_));
}

TEST_F(EstimatorTest, ModelWithoutGlobalStepIsRejected) {
  class NoStep : public testing::ToyModel {
   public:
    NoStep() : ToyModel(ToyConfig{}) {}
    VarList Variables() override {
      VarList v = ToyModel::Variables();
      v.erase(v.begin() + 1);  // drop global_step
      return v;
    }
  };
  EstimatorOptions o = Options(Steps(10));
  o.model_fn = [](const ModelFnArgs&) -> Result<std::unique_ptr<EstimatorModel>> {
    return std::unique_ptr<EstimatorModel>(new NoStep());
  };
  CKPT_ASSERT_OK_AND_ASSIGN(auto est, Estimator::Create(std::move(o)));
  EXPECT_THAT(est->Train(ToyInput(), StepsOf(5)),
              StatusIs(StatusCode::kInvalidArgument, "no \"global_step\" variable"));
  EXPECT_FALSE(clock_.IsDirectory(dir_));
}

// ---------------------------------------------------------------- checkpoints off, listeners

TEST_F(EstimatorTest, CheckpointsDisabledWritesNoCheckpoint) {
  RunConfigOptions rc;
  rc.save_checkpoints_steps = TfArg<int64_t>::None();
  rc.save_checkpoints_secs = TfArg<double>::None();
  auto est = Make(rc);
  LogCapture log;
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(20)).status());
  for (const std::string& f : Files()) {
    EXPECT_TRUE(IsEventFileName(f)) << f;  // summaries only
  }
  EXPECT_FALSE(Files().empty());
  EXPECT_FALSE(log.Has(LogSeverity::kInfo, "Create CheckpointSaverHook."));
  EXPECT_TRUE(log.SavedSteps().empty());

  TrainOptions with_listener = StepsOf(5);
  with_listener.saving_listeners.push_back(std::make_shared<CheckpointSaverListener>());
  EXPECT_THAT(est->Train(ToyInput(), with_listener),
              StatusIs(StatusCode::kFailedPrecondition,
                       "There should be a CheckpointSaverHook to use saving_listeners. Please set "
                       "one of the RunConfig.save_checkpoints_steps or "
                       "RunConfig.save_checkpoints_secs."));
}

class RecordingListener : public CheckpointSaverListener {
 public:
  RecordingListener(std::vector<std::string>* calls, std::string name,
                    std::optional<int64_t> stop_after = std::nullopt)
      : calls_(calls), name_(std::move(name)), stop_after_(stop_after) {}
  Status Begin() override {
    calls_->push_back(name_ + ".begin");
    return Status();
  }
  Status BeforeSave(TrainingSession& s, int64_t step) override {
    calls_->push_back(name_ + ".before_save " + std::to_string(step));
    // The checkpoint of this step does not exist yet.
    if (s.env()->FileExists(s.model_dir() + "/model.ckpt-" + std::to_string(step) + ".index")) {
      return InternalError("checkpoint exists before the save");
    }
    return Status();
  }
  Result<bool> AfterSave(TrainingSession& s, int64_t step) override {
    calls_->push_back(name_ + ".after_save " + std::to_string(step));
    if (!s.env()->FileExists(s.model_dir() + "/model.ckpt-" + std::to_string(step) + ".index")) {
      return InternalError("checkpoint missing after the save");
    }
    return stop_after_.has_value() && step >= *stop_after_;
  }
  Status End(TrainingSession& s, int64_t step) override {
    calls_->push_back(name_ + ".end " + std::to_string(step));
    return Status();
  }

 private:
  std::vector<std::string>* calls_;
  std::string name_;
  std::optional<int64_t> stop_after_;
};

TEST_F(EstimatorTest, ListenersAreCalledInOrder) {
  auto est = Make(Steps(10));
  std::vector<std::string> calls;
  TrainOptions t = StepsOf(15);
  t.saving_listeners.push_back(std::make_shared<RecordingListener>(&calls, "a"));
  t.saving_listeners.push_back(std::make_shared<RecordingListener>(&calls, "b"));
  CKPT_ASSERT_OK(est->Train(ToyInput(), t).status());
  EXPECT_THAT(calls, ElementsAre("a.begin", "b.begin",                                      //
                                 "a.before_save 1", "b.before_save 1", "a.after_save 1",    //
                                 "b.after_save 1", "a.before_save 11", "b.before_save 11",  //
                                 "a.after_save 11", "b.after_save 11", "a.before_save 15",  //
                                 "b.before_save 15", "a.after_save 15", "b.after_save 15",  //
                                 "a.end 15", "b.end 15"));
}

TEST_F(EstimatorTest, ListenerCanStopTraining) {
  auto est = Make(Steps(10));
  std::vector<std::string> calls;
  TrainOptions t = StepsOf(100);
  t.saving_listeners.push_back(std::make_shared<RecordingListener>(&calls, "a", 21));
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), t));
  EXPECT_EQ(r.global_step, 21);
  EXPECT_THAT(log.SavedSteps(), ElementsAre(1, 11, 21));
  EXPECT_EQ(calls.back(), "a.end 21");
  bool logged = false;
  for (const std::string& l : log.Messages()) {
    logged = logged || l.rfind(
                           "A CheckpointSaverListener requested that training be stopped. "
                           "listener: ",
                           0) == 0;
  }
  EXPECT_TRUE(logged);
}

// ---------------------------------------------------------------- event files

TEST_F(EstimatorTest, TrainingEventFile) {
  auto est = Make(Steps(100));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(1000)).status());
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<std::string> files, ListEventFiles(&clock_, dir_));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(std::string(Basename(files[0])), "events.out.tfevents.0000001000.testhost");
  std::vector<EventValue> events = Events(dir_);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[0].kind, EventValueKind::kFileVersion);
  EXPECT_EQ(events[1].kind, EventValueKind::kGraphDef);
  EXPECT_EQ(events[2].kind, EventValueKind::kMetaGraphDef);
  std::vector<int64_t> loss_steps, rate_steps, w_steps, checkpoint_steps, start_steps, histo_steps;
  for (const EventValue& e : events) {
    if (e.kind == EventValueKind::kScalar) {
      EXPECT_FALSE(e.from_tensor) << "TF1 events use simple_value";
      if (e.tag == "loss") loss_steps.push_back(e.step);
      if (e.tag == "toy/w") w_steps.push_back(e.step);
      if (e.tag == "global_step/sec") {
        rate_steps.push_back(e.step);
        EXPECT_NEAR(e.scalar, 100.0, 1e-3);
      }
    }
    if (e.kind == EventValueKind::kHistogram && e.tag == "toy/x") histo_steps.push_back(e.step);
    if (e.kind == EventValueKind::kSessionLog) {
      if (e.session_status == SessionLogStatus::kStart) start_steps.push_back(e.step);
      if (e.session_status == SessionLogStatus::kCheckpoint) {
        checkpoint_steps.push_back(e.step);
        EXPECT_EQ(e.text, dir_ + "/model.ckpt");
      }
    }
  }
  EXPECT_EQ(loss_steps, Range(1, 901, 100));
  EXPECT_EQ(w_steps, Range(1, 901, 100));
  EXPECT_EQ(histo_steps, Range(1, 901, 100));
  EXPECT_EQ(rate_steps, Range(101, 901, 100));
  EXPECT_THAT(start_steps, ElementsAre(1));
  std::vector<int64_t> saves = Range(1, 901, 100);
  saves.push_back(1000);
  EXPECT_EQ(checkpoint_steps, saves);

  // A second call appends to the same file (one writer per directory).
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(10)).status());
  EXPECT_EQ(ListEventFiles(&clock_, dir_).value().size(), 1u);
  std::vector<EventValue> more = Events(dir_);
  EXPECT_GT(more.size(), events.size());
  EXPECT_EQ(more.back().kind, EventValueKind::kSessionLog);
  EXPECT_EQ(more.back().step, 1010);
}

TEST_F(EstimatorTest, EstimatorAddsLossSummaryWhenTheModelHasNone) {
  ToyConfig toy;
  toy.report_loss_summary = false;
  auto est = Make(Steps(100), toy);
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), StepsOf(1)));
  int losses = 0;
  for (const EventValue& e : Events(dir_)) {
    if (e.kind == EventValueKind::kScalar && e.tag == "loss") {
      ++losses;
      EXPECT_FLOAT_EQ(static_cast<float>(e.scalar), static_cast<float>(*r.final_loss));
    }
  }
  EXPECT_EQ(losses, 1);
}

TEST_F(EstimatorTest, GraphAndMetaGraphFiles) {
  auto est = Make(Steps(100));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(3)).status());
  CKPT_ASSERT_OK_AND_ASSIGN(tensorflow::GraphDef graph,
                            ReadTextGraph(&clock_, dir_ + "/graph.pbtxt"));
  std::set<std::string> nodes;
  for (const auto& n : graph.node()) nodes.insert(n.name());
  EXPECT_TRUE(nodes.count("w") && nodes.count("b") && nodes.count("global_step"));
  EXPECT_TRUE(nodes.count("save/SaveV2") && nodes.count("save/restore_all"));
  for (int step : {1, 3}) {
    CKPT_ASSERT_OK_AND_ASSIGN(
        tensorflow::MetaGraphDef meta,
        ReadMetaGraph(&clock_, dir_ + "/model.ckpt-" + std::to_string(step) + ".meta"));
    EXPECT_EQ(meta.saver_def().restore_op_name(), "save/restore_all");
  }

  // A model that describes no graph: no graph.pbtxt, no .meta, checkpoints as usual.
  ToyConfig toy;
  toy.describe_graph = false;
  dir_ = "/mem/models/nograph";
  auto plain = Make(Steps(100), toy);
  CKPT_ASSERT_OK(plain->Train(ToyInput(), StepsOf(3)).status());
  EXPECT_THAT(Files(), ElementsAre("checkpoint", "events.out.tfevents.0000001000.testhost",
                                   "model.ckpt-1.data-00000-of-00001", "model.ckpt-1.index",
                                   "model.ckpt-3.data-00000-of-00001", "model.ckpt-3.index"));
}

// ---------------------------------------------------------------- failures

TEST_F(EstimatorTest, NanLossFailsWithoutFinalCheckpoint) {
  ToyConfig toy;
  toy.nan_at_step = 5;
  auto est = Make(Steps(100), toy);
  LogCapture log;
  Result<TrainResult> r = est->Train(ToyInput(), StepsOf(50));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "NaN loss during training.");
  EXPECT_TRUE(log.Has(LogSeverity::kError, "Model diverged with loss = NaN."));
  EXPECT_THAT(log.SavedSteps(), ElementsAre(1));
  EXPECT_THAT(StateFilePaths(), ElementsAre("model.ckpt-1"));
  EXPECT_FALSE(clock_.FileExists(dir_ + "/model.ckpt-5.index"));
  for (const std::string& l : log.Messages()) {
    EXPECT_EQ(l.rfind("Loss for final step", 0), std::string::npos);
  }
}

class FailingHook : public SessionRunHook {
 public:
  explicit FailingHook(int64_t at) : at_(at) {}
  Status AfterRun(TrainingSession& s, const StepValues& v) override {
    if (v.global_step == at_) return IoError("hook failed");
    return Status();
  }
  Status End(TrainingSession& s) override {
    ended = true;
    return Status();
  }
  bool ended = false;

 private:
  int64_t at_;
};

TEST_F(EstimatorTest, HookErrorAbortsWithoutFinalCheckpoint) {
  auto est = Make(Steps(100));
  auto hook = std::make_shared<FailingHook>(7);
  TrainOptions t = StepsOf(50);
  t.hooks.push_back(hook);
  LogCapture log;
  EXPECT_THAT(est->Train(ToyInput(), t), StatusIs(StatusCode::kIoError, "hook failed"));
  EXPECT_FALSE(hook->ended);
  EXPECT_THAT(log.SavedSteps(), ElementsAre(1));
  EXPECT_FALSE(clock_.FileExists(dir_ + "/model.ckpt-7.index"));
  // Events up to the failure were flushed.
  bool start = false;
  for (const EventValue& e : Events(dir_)) {
    start = start ||
            (e.kind == EventValueKind::kSessionLog && e.session_status == SessionLogStatus::kStart);
  }
  EXPECT_TRUE(start);
}

// TF's hook order: chief hooks, then the user's, then StopAtStepHook,
// NanTensorHook, LoggingTensorHook.
TEST_F(EstimatorTest, UserHooksRunBetweenChiefAndEstimatorWorkerHooks) {
  class LoggingHook : public SessionRunHook {
   public:
    Status AfterRun(TrainingSession& s, const StepValues& v) override {
      LogInfo("user hook " + std::to_string(v.global_step));
      return Status();
    }
  };
  auto est = Make(Steps(100));
  TrainOptions t = StepsOf(1);
  t.hooks.push_back(std::make_shared<LoggingHook>());
  LogCapture log;
  CKPT_ASSERT_OK(est->Train(ToyInput(), t).status());
  std::vector<std::string> lines = log.Messages();
  auto save = std::find(lines.begin(), lines.end(),
                        "Saving checkpoints for 1 into " + dir_ + "/model.ckpt.");
  ASSERT_NE(save, lines.end());
  EXPECT_EQ(*(save + 1), "user hook 1");
  EXPECT_EQ((save + 2)->rfind("loss = ", 0), 0u);
}

TEST_F(EstimatorTest, ModelStepErrorAborts) {
  ToyConfig toy;
  toy.error_at_step = 3;
  auto est = Make(Steps(100), toy);
  EXPECT_THAT(est->Train(ToyInput(), StepsOf(10)),
              StatusIs(StatusCode::kInternal, "toy model failure at step 3"));
  EXPECT_THAT(StateFilePaths(), ElementsAre("model.ckpt-1"));
}

TEST(EstimatorPosixTest, MismatchedModelFailsAndLeavesModelDirUntouched) {
  FakeClockEnv clock(Env::Posix());
  const std::string dir = ::ckpt::testing::TempDir() + "/model";
  auto make = [&](int64_t width) {
    ToyConfig toy;
    toy.width = width;
    toy.clock = &clock;
    RunConfigOptions rc;
    rc.model_dir = dir;
    rc.save_checkpoints_steps = 100;
    EstimatorOptions o;
    o.model_fn = ToyModelFn(toy);
    o.config = RunConfig::Create(rc).value();
    o.env = &clock;
    o.hostname = "testhost";
    return Estimator::Create(std::move(o)).value();
  };
  auto good = make(1);
  CKPT_ASSERT_OK(good->Train(ToyInput(), StepsOf(20)).status());
  const std::map<std::string, std::string> before = Snapshot(&clock, dir);
  ASSERT_GT(before.size(), 5u);
  clock.Advance(5000);  // a new event file, if one were created, would get a new name

  auto bad = make(2);
  LogCapture log;
  Result<TrainResult> r = bad->Train(ToyInput(), StepsOf(20));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("tensor_name = w; shape in shape_and_slice spec [2] does not match the "
                        "shape stored in checkpoint: [1]"));
  EXPECT_TRUE(log.Has(LogSeverity::kInfo, "Restoring parameters from " + dir + "/model.ckpt-20"));
  EXPECT_EQ(Snapshot(&clock, dir), before);
  // Evaluate and Predict fail the same way.
  EXPECT_THAT(bad->Evaluate(ToyInput(40, 10, 1)),
              StatusIs(StatusCode::kInvalidArgument, "does not match the shape stored"));
  EXPECT_THAT(bad->Predict(ToyInput(40, 10, 1, false)),
              StatusIs(StatusCode::kInvalidArgument, "does not match the shape stored"));
  EXPECT_EQ(Snapshot(&clock, dir), before);
}

// The state file names a checkpoint whose index is gone: Train falls back to
// the newest one that verifies; with none left, the restore fails with TF's
// error.
TEST_F(EstimatorTest, StateFileNamingAMissingCheckpointFallsBackOrFailsTheRestore) {
  auto est = Make(Steps(100));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(5)).status());  // model.ckpt-1, -5
  CKPT_ASSERT_OK(clock_.DeleteFile(dir_ + "/model.ckpt-5.index"));
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), StepsOf(5)));
  EXPECT_EQ(r.global_step, 6);
  for (const char* step : {"1", "2", "6"}) {
    const std::string index = dir_ + "/model.ckpt-" + step + ".index";
    if (clock_.FileExists(index)) CKPT_ASSERT_OK(clock_.DeleteFile(index));
  }
  EXPECT_THAT(est->Train(ToyInput(), StepsOf(5)),
              StatusIs(StatusCode::kNotFound, "The passed save_path is not a valid checkpoint"));
}

// ---------------------------------------------------------------- evaluate

TEST_F(EstimatorTest, EvaluateLogsMetricsAndWritesEvalEvents) {
  auto est = Make(Steps(100));
  EXPECT_THAT(est->Evaluate(ToyInput(40, 10, 1)),
              StatusIs(StatusCode::kNotFound,
                       "Could not find trained model in model_dir: /mem/models/toy."));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(200)).status());
  clock_.Set(1529404546.0);  // 2018-06-19 10:35:46 UTC
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(EvalResult metrics, est->Evaluate(ToyInput(40, 10, 1)));
  std::vector<std::string> keys;
  for (const auto& [k, v] : metrics) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre("average_loss", "global_step", "loss", "mae"));
  EXPECT_EQ(metrics["global_step"], 200);
  // Equal batches: the mean batch loss equals the mean example loss.
  EXPECT_NEAR(metrics["loss"], metrics["average_loss"], 1e-6);
  const std::string dict =
      "Saving dict for global step 200: average_loss = " +
      NumpyFloat32Str(static_cast<float>(metrics["average_loss"])) +
      ", global_step = 200, loss = " + NumpyFloat32Str(static_cast<float>(metrics["loss"])) +
      ", mae = " + NumpyFloat32Str(static_cast<float>(metrics["mae"]));
  EXPECT_THAT(log.Messages(),
              ElementsAre("Calling model_fn.", "Done calling model_fn.",
                          "Starting evaluation at 2018-06-19-10:35:46", "Graph was finalized.",
                          "Restoring parameters from " + dir_ + "/model.ckpt-200",
                          "Running local_init_op.", "Done running local_init_op.",
                          "Finished evaluation at 2018-06-19-10:35:46", dict));
  std::map<std::string, double> scalars;
  for (const EventValue& e : Events(dir_ + "/eval")) {
    if (e.kind == EventValueKind::kScalar) {
      EXPECT_EQ(e.step, 200);
      EXPECT_FALSE(e.from_tensor);
      scalars[e.tag] = e.scalar;
    }
  }
  EXPECT_EQ(scalars.size(), 3u);  // not global_step
  EXPECT_FLOAT_EQ(static_cast<float>(scalars["loss"]), static_cast<float>(metrics["loss"]));
  EXPECT_FLOAT_EQ(static_cast<float>(scalars["mae"]), static_cast<float>(metrics["mae"]));
  EXPECT_EQ(scalars.count("global_step"), 0u);
}

TEST_F(EstimatorTest, EvaluateWithStepsNameAndCheckpointPath) {
  auto est = Make(Steps(10));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(30)).status());
  LogCapture log;
  EvaluateOptions o;
  o.steps = 2;
  o.name = "holdout";
  o.checkpoint_path = dir_ + "/model.ckpt-11";
  CKPT_ASSERT_OK_AND_ASSIGN(EvalResult metrics, est->Evaluate(ToyInput(40, 10, 1), o));
  EXPECT_EQ(metrics["global_step"], 11);
  std::vector<std::string> progress;
  for (const std::string& l : log.Messages()) {
    if (l.rfind("Evaluation [", 0) == 0) progress.push_back(l);
  }
  EXPECT_THAT(progress, ElementsAre("Evaluation [1/2]", "Evaluation [2/2]"));
  EXPECT_TRUE(clock_.IsDirectory(dir_ + "/eval_holdout"));
  EXPECT_FALSE(clock_.IsDirectory(dir_ + "/eval"));
  // Unequal batches: loss is the mean of batch losses (TF's definition).
  CKPT_ASSERT_OK_AND_ASSIGN(EvalResult uneven, est->Evaluate(ToyInput(15, 10, 1)));
  EXPECT_GT(std::fabs(uneven["loss"] - uneven["average_loss"]), 1e-6);
}

TEST_F(EstimatorTest, EvaluateRejectsReservedMetricNames) {
  class LossMetric : public testing::ToyModel {
   public:
    LossMetric() : ToyModel(ToyConfig{}) {}
    Result<std::map<std::string, double>> EvalMetrics() override {
      return std::map<std::string, double>{{"loss", 1.0}};
    }
  };
  {
    auto est = Make(Steps(10));
    CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(2)).status());
  }
  EstimatorOptions o = Options(Steps(10));
  o.model_fn = [](const ModelFnArgs&) -> Result<std::unique_ptr<EstimatorModel>> {
    return std::unique_ptr<EstimatorModel>(new LossMetric());
  };
  CKPT_ASSERT_OK_AND_ASSIGN(auto est, Estimator::Create(std::move(o)));
  EXPECT_THAT(est->Evaluate(ToyInput(40, 10, 1)),
              StatusIs(StatusCode::kInvalidArgument, "Metric with name \"loss\" is not allowed"));
}

// ---------------------------------------------------------------- predict

TEST_F(EstimatorTest, PredictRestoresAndFiltersKeys) {
  auto est = Make(Steps(100));
  EXPECT_THAT(est->Predict(ToyInput(4, 3, 1, false)),
              StatusIs(StatusCode::kNotFound, "Could not find trained model in model_dir"));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(300)).status());
  const float w = est->GetVariableValue("w").value().flat<float>()[0];
  const float b = est->GetVariableValue("b").value().flat<float>()[0];
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> all, est->Predict(ToyInput(4, 3, 1, false)));
  ASSERT_EQ(all.size(), 4u);  // batches of 3 and 1, in input order
  for (int i = 0; i < 4; ++i) {
    const float x = -1.0f + 2.0f * static_cast<float>(i) / 4.0f;
    EXPECT_EQ(all[i].size(), 2u);
    EXPECT_FLOAT_EQ(all[i].at("y").flat<float>()[0], w * x + b);
  }
  EXPECT_TRUE(log.Has(LogSeverity::kInfo, "Restoring parameters from " + dir_ + "/model.ckpt-300"));
  PredictOptions keys;
  keys.predict_keys = {"y"};
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> only_y,
                            est->Predict(ToyInput(4, 3, 1, false), keys));
  ASSERT_EQ(only_y.size(), 4u);
  EXPECT_EQ(only_y[2].size(), 1u);
  EXPECT_EQ(only_y[2].count("y"), 1u);
  keys.predict_keys = {"y", "nope"};
  EXPECT_THAT(est->Predict(ToyInput(4, 3, 1, false), keys),
              StatusIs(StatusCode::kInvalidArgument, "'nope'"));
}

// ---------------------------------------------------------------- warm start

TEST_F(EstimatorTest, WarmStartAppliesOnlyWithoutACheckpoint) {
  {
    auto source = Make(Steps(100));
    CKPT_ASSERT_OK(source->Train(ToyInput(), StepsOf(300)).status());
  }
  const std::string source_dir = dir_;
  const float w_source = CheckpointReader::Open(source_dir + "/model.ckpt-300", {&clock_, true})
                             .value()
                             ->GetTensor("w")
                             .value()
                             .flat<float>()[0];
  dir_ = "/mem/models/warm";
  EstimatorOptions o = Options(Steps(100));
  WarmStartSettings ws;
  ws.ckpt_to_initialize_from = source_dir;
  o.warm_start_from = ws;
  CKPT_ASSERT_OK_AND_ASSIGN(auto est, Estimator::Create(std::move(o)));
  LogCapture log;
  // Predict needs a checkpoint: no warm start there.
  EXPECT_THAT(est->Predict(ToyInput(4, 3, 1, false)), StatusIs(StatusCode::kNotFound, ""));
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), StepsOf(1)));
  EXPECT_EQ(r.global_step, 1);  // global_step is not warm-started
  std::vector<std::string> lines = log.Messages();
  auto done = std::find(lines.begin(), lines.end(), "Done calling model_fn.");
  ASSERT_NE(done, lines.end());
  EXPECT_EQ((done + 1)->rfind("Warm-starting with WarmStartSettings: ", 0), 0u) << *(done + 1);
  // One small SGD step from the source's w, not from 0.
  const float w1 = est->GetVariableValue("w").value().flat<float>()[0];
  EXPECT_NEAR(w1, w_source, 0.05f);
  EXPECT_GT(std::fabs(w1), 1.0f);
  // With a checkpoint in model_dir, no warm start.
  log.Clear();
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(1)).status());
  for (const std::string& l : log.Messages()) {
    EXPECT_EQ(l.rfind("Warm-starting", 0), std::string::npos) << l;
  }
}

// ---------------------------------------------------------------- writer cache

TEST_F(EstimatorTest, TwoEstimatorsOnOneDirectoryShareTheEventFile) {
  auto a = Make(Steps(100));
  auto b = Make(Steps(100));
  CKPT_ASSERT_OK(a->Train(ToyInput(), StepsOf(5)).status());
  clock_.Advance(100);
  CKPT_ASSERT_OK(b->Train(ToyInput(), StepsOf(5)).status());
  CKPT_ASSERT_OK(a->Evaluate(ToyInput(40, 10, 1)).status());
  clock_.Advance(100);
  CKPT_ASSERT_OK(b->Evaluate(ToyInput(40, 10, 1)).status());
  EXPECT_EQ(ListEventFiles(&clock_, dir_).value().size(), 1u);
  EXPECT_EQ(ListEventFiles(&clock_, dir_ + "/eval").value().size(), 1u);
  int checkpoints = 0, evals = 0;
  for (const EventValue& e : Events(dir_)) {
    checkpoints +=
        e.kind == EventValueKind::kSessionLog && e.session_status == SessionLogStatus::kCheckpoint;
  }
  for (const EventValue& e : Events(dir_ + "/eval")) evals += e.tag == "loss";
  EXPECT_EQ(checkpoints, 4);  // 1, 5, 6, 10
  EXPECT_EQ(evals, 2);
}

}  // namespace
}  // namespace ckpt

// ------------------------------------------------- one writer, bad model_dirs

namespace ckpt {
namespace {

TEST_F(EstimatorTest, TrainFailsAtOnceWhileAnotherWriterHoldsModelDir) {
  auto est = Make(Steps(5));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(10)).status());
  const std::map<std::string, std::string> before = Snapshot(&clock_, dir_);
  {
    // Another process's writer: a lock object of its own on the directory.
    auto other = mem_->TryLockDirectory(dir_);
    CKPT_ASSERT_OK(other.status());
    EXPECT_THAT(est->Train(ToyInput(), StepsOf(10)),
                StatusIs(StatusCode::kFailedPrecondition,
                         "Another writer is using the checkpoint directory " + dir_));
    EXPECT_EQ(Snapshot(&clock_, dir_), before) << "a refused Train wrote into model_dir";
    // Readers are not blocked.
    CKPT_EXPECT_OK(est->Evaluate(ToyInput(40, 10, 1)).status());
  }
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), StepsOf(10)));
  EXPECT_EQ(r.global_step, 20);
}

TEST_F(EstimatorTest, TrainResumesFromTheNewestGoodCheckpointWhenTheNamedOneIsGone) {
  auto est = Make(Steps(5));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(10)).status());  // ckpt 1, 6, 10
  CKPT_ASSERT_OK(clock_.DeleteFile(dir_ + "/model.ckpt-10.index"));
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), StepsOf(3)));
  EXPECT_EQ(r.global_step, 9);
  EXPECT_TRUE(log.Has(LogSeverity::kInfo, "Restoring parameters from " + dir_ + "/model.ckpt-6"));
  bool warned = false;
  for (const std::string& m : log.Messages()) {
    warned = warned || (m.find("model.ckpt-10") != std::string::npos &&
                        m.find("Skipped") != std::string::npos);
  }
  EXPECT_TRUE(warned);
  EXPECT_EQ(LatestCheckpoint(&clock_, dir_).value(), dir_ + "/model.ckpt-9");
}

TEST_F(EstimatorTest, CorruptNewestCheckpointFallsBackOnDataLoss) {
  auto est = Make(Steps(5));
  CKPT_ASSERT_OK(est->Train(ToyInput(), StepsOf(10)).status());
  const std::string data = dir_ + "/model.ckpt-10.data-00000-of-00001";
  std::string bytes = ReadFileToString(&clock_, data).value();
  ASSERT_FALSE(bytes.empty());
  bytes[0] ^= 0x40;
  CKPT_ASSERT_OK(testing::WriteStringToFile(&clock_, data, bytes));
  CKPT_ASSERT_OK_AND_ASSIGN(EvalResult e, est->Evaluate(ToyInput(40, 10, 1)));
  EXPECT_EQ(e.at("global_step"), 6);  // checkpoints 1, 6, 10: 10 is corrupt
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult r, est->Train(ToyInput(), StepsOf(1)));
  EXPECT_EQ(r.global_step, 7);
}

}  // namespace
}  // namespace ckpt
