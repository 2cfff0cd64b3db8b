// End to end: the Estimator with the canned DNNClassifier on the shipped Iris
// data (data/iris), in a real temporary model_dir, with a clock the test
// drives (every training step takes one simulated second). This is the
// guide's premade-estimator job (issue 5): the checkpoint schedule of TF 1.8
// (docs/estimator.md), the files of model_dir, retention, evaluate and
// predict, resuming, the bad restoration, the event files
// (docs/format/events.md) and warm start.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/canned.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/data.h"
#include "ckpt/estimator.h"
#include "ckpt/hooks.h"
#include "ckpt/logging.h"
#include "ckpt/summary.h"
#include "ckpt/warm_start.h"
#include "estimator/toy_model.h"  // FakeClockEnv
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::FakeClockEnv;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;

constexpr uint64_t kSeed = 42;
constexpr char kHost[] = "testhost";
constexpr char kBadRestoreMessage[] =
    "tensor_name = dnn/hiddenlayer_0/bias; shape in shape_and_slice spec [20] does not match "
    "the shape stored in checkpoint: [10]";

// The guide's three flowers (premade_estimator.py's predict_x) and their
// expected species.
const std::vector<LabeledExample>& GuideFlowers() {
  static const auto* flowers = new std::vector<LabeledExample>{
      {{5.1f, 3.3f, 1.7f, 0.5f}, 0},  // Setosa
      {{5.9f, 3.0f, 4.2f, 1.5f}, 1},  // Versicolor
      {{6.9f, 3.1f, 5.4f, 2.1f}, 2},  // Virginica
  };
  return *flowers;
}

// Collects the library's log lines while alive.
class LogCapture {
 public:
  LogCapture() {
    previous_ = SetLogSink([this](LogSeverity, std::string_view message) {
      lines_.emplace_back(message);
    });
  }
  ~LogCapture() { SetLogSink(previous_); }
  const std::vector<std::string>& lines() const { return lines_; }
  bool Has(const std::string& line) const {
    return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
  }
  // Index of the first line starting with `prefix`, or -1.
  int Find(const std::string& prefix) const {
    for (size_t i = 0; i < lines_.size(); ++i) {
      if (lines_[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
    }
    return -1;
  }
  // N of every "Saving checkpoints for N into ..." line.
  std::vector<int64_t> SavedSteps() const {
    std::vector<int64_t> steps;
    for (const std::string& l : lines_) {
      long long n = 0;
      if (std::sscanf(l.c_str(), "Saving checkpoints for %lld into", &n) == 1) steps.push_back(n);
    }
    return steps;
  }
  void Clear() { lines_.clear(); }

 private:
  LogSink previous_;
  std::vector<std::string> lines_;
};

std::vector<int64_t> Range(int64_t first, int64_t last, int64_t step) {
  std::vector<int64_t> out;
  for (int64_t i = first; i <= last; i += step) out.push_back(i);
  return out;
}

// The three files of checkpoint model.ckpt-N.
std::vector<std::string> CheckpointFiles(int64_t step) {
  const std::string base = "model.ckpt-" + std::to_string(step);
  return {base + ".data-00000-of-00001", base + ".index", base + ".meta"};
}

// Steps N of the model.ckpt-N.index files in `dir`, ascending.
std::vector<int64_t> CheckpointStepsOnDisk(Env* env, const std::string& dir) {
  std::set<int64_t> steps;
  for (const std::string& name : ListDir(env, dir)) {
    long long n = 0;
    char rest[64] = {0};
    if (std::sscanf(name.c_str(), "model.ckpt-%lld.%63s", &n, rest) == 2) steps.insert(n);
  }
  return {steps.begin(), steps.end()};
}

// Basenames of the state file's all_model_checkpoint_paths, and its newest.
struct StateFileView {
  std::string newest;
  std::vector<std::string> all;
};
StateFileView ReadState(Env* env, const std::string& dir) {
  Result<CheckpointState> state = GetCheckpointState(env, dir);
  EXPECT_TRUE(state.ok()) << state.status();
  StateFileView view;
  if (!state.ok()) return view;
  view.newest = std::string(Basename(state->model_checkpoint_path));
  for (const std::string& p : state->all_model_checkpoint_paths) {
    view.all.emplace_back(Basename(p));
  }
  return view;
}
std::vector<std::string> CkptNames(const std::vector<int64_t>& steps) {
  std::vector<std::string> out;
  for (int64_t s : steps) out.push_back("model.ckpt-" + std::to_string(s));
  return out;
}

template <typename T>
T ValueOr(Result<T> r, T fallback) {
  return r.ok() ? std::move(r).value() : std::move(fallback);
}

// Every file and directory below `dir`: names, sizes, modification times
// and contents, to show that a call changed nothing.
struct TreeSnapshot {
  std::map<std::string, std::string> listing;   // name -> "size mtime"
  std::map<std::string, std::string> contents;  // file name -> bytes
  bool operator==(const TreeSnapshot& o) const {
    return listing == o.listing && contents == o.contents;
  }
};
void SnapshotInto(Env* env, const std::string& dir, const std::string& prefix,
                  TreeSnapshot* out) {
  for (const std::string& name : ListDir(env, dir)) {
    const std::string path = JoinPath(dir, name);
    const double mtime = ValueOr(env->GetModificationTime(path), -1.0);
    char when[64];
    std::snprintf(when, sizeof(when), "%.9f", mtime);
    if (env->IsDirectory(path)) {
      out->listing[prefix + name + "/"] = std::string("dir ") + when;
      SnapshotInto(env, path, prefix + name + "/", out);
    } else {
      out->listing[prefix + name] =
          std::to_string(ValueOr(env->GetFileSize(path), ~uint64_t{0})) + " " + when;
      out->contents[prefix + name] = ValueOr(ReadFileToString(env, path), std::string("<unreadable>"));
    }
  }
}
TreeSnapshot Snapshot(Env* env, const std::string& dir) {
  TreeSnapshot s;
  // The directory's own mtime also shows a file created and deleted again.
  char when[64];
  std::snprintf(when, sizeof(when), "%.9f", ValueOr(env->GetModificationTime(dir), -1.0));
  s.listing["./"] = std::string("dir ") + when;
  SnapshotInto(env, dir, "", &s);
  return s;
}

// Each training step takes `secs` on the test clock: the clock moves in
// BeforeRun, between the chief hooks' BeforeRun and everyone's AfterRun,
// where TF's session.run would spend the time.
class StepTimeHook : public SessionRunHook {
 public:
  StepTimeHook(FakeClockEnv* clock, double secs) : clock_(clock), secs_(secs) {}
  Result<bool> BeforeRun(TrainingSession&, int64_t) override {
    clock_->Advance(secs_);
    return false;
  }

 private:
  FakeClockEnv* clock_;
  double secs_;
};

// Records what the session holds right after restore / initialisation (TF's
// after_create_session): copies of every variable, the global step, and the
// model's predictions for `predict` (if set).
class SessionProbe : public SessionRunHook {
 public:
  explicit SessionProbe(std::optional<Batch> predict = std::nullopt)
      : predict_(std::move(predict)) {}
  Status AfterCreateSession(TrainingSession& session) override {
    ++created_;
    global_step_ = session.global_step();
    for (const SaveableTensor& v : session.model().Variables()) {
      variables_[v.name] = v.tensor->Copy();
    }
    if (predict_) {
      CKPT_ASSIGN_OR_RETURN(predictions_, session.model().PredictBatch(*predict_));
    }
    return Status();
  }
  Result<bool> BeforeRun(TrainingSession&, int64_t) override {
    ++steps_;
    return false;
  }
  int created() const { return created_; }
  int steps() const { return steps_; }
  int64_t global_step() const { return global_step_; }
  const std::map<std::string, Tensor>& variables() const { return variables_; }
  const std::vector<Prediction>& predictions() const { return predictions_; }

 private:
  std::optional<Batch> predict_;
  int created_ = 0;
  int steps_ = 0;
  int64_t global_step_ = -1;
  std::map<std::string, Tensor> variables_;
  std::vector<Prediction> predictions_;
};

std::map<std::string, Tensor> ReadCheckpoint(Env* env, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  CheckpointReaderOptions ro;
  ro.env = env;
  auto reader = CheckpointReader::Open(prefix, ro);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return out;
  for (const VariableInfo& info : (*reader)->variables()) {
    Result<Tensor> t = (*reader)->GetTensor(info.name);
    EXPECT_TRUE(t.ok()) << t.status();
    if (t.ok()) out[info.name] = *t;
  }
  return out;
}

int64_t CheckpointGlobalStep(Env* env, const std::string& prefix) {
  std::map<std::string, Tensor> vars = ReadCheckpoint(env, prefix);
  auto it = vars.find("global_step");
  if (it == vars.end() || it->second.dtype() != DataType::kInt64) return -1;
  return *it->second.flat<int64_t>();
}

const std::vector<std::string>& TrainableKeys() {
  static const auto* keys = new std::vector<std::string>{
      "dnn/hiddenlayer_0/bias", "dnn/hiddenlayer_0/kernel", "dnn/hiddenlayer_1/bias",
      "dnn/hiddenlayer_1/kernel", "dnn/logits/bias", "dnn/logits/kernel"};
  return *keys;
}

// The scalar / histogram rows of an event directory, by tag: step -> value.
struct EventsByTag {
  std::map<std::string, std::map<int64_t, double>> scalars;
  std::map<std::string, std::map<int64_t, HistogramData>> histograms;
  std::vector<EventValue> other;  // everything else, in file order
};
EventsByTag ReadEvents(Env* env, const std::string& dir) {
  EventsByTag out;
  Result<std::vector<EventValue>> rows = ReadEventDir(env, dir);
  EXPECT_TRUE(rows.ok()) << rows.status();
  if (!rows.ok()) return out;
  for (EventValue& v : *rows) {
    if (v.kind == EventValueKind::kScalar) {
      EXPECT_EQ(out.scalars[v.tag].count(v.step), 0u) << v.tag << " twice at step " << v.step;
      out.scalars[v.tag][v.step] = v.scalar;
    } else if (v.kind == EventValueKind::kHistogram) {
      out.histograms[v.tag][v.step] = v.histogram;
    } else {
      out.other.push_back(std::move(v));
    }
  }
  return out;
}
template <typename V>
std::vector<int64_t> StepsOf(const std::map<int64_t, V>& by_step) {
  std::vector<int64_t> out;
  for (const auto& [step, v] : by_step) out.push_back(step);
  return out;
}

// What an Estimator of the suite differs in.
struct MakeArgs {
  RunConfigOptions run;  // model_dir is set by Make
  std::vector<int64_t> hidden_units = {10, 10};
  std::optional<WarmStartSettings> warm_start_from;
  int* model_fn_calls = nullptr;  // counts model_fn calls if set
};

// Run once on the real file system (a fresh temporary directory) and once
// on a MemEnv: the Estimator must do all its IO through the given Env.
class EstimatorE2eTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  // The clock starts at the real time: the Saver compares checkpoint file
  // mtimes (real ones on Posix) with its own clock for
  // keep_checkpoint_every_n_hours.
  EstimatorE2eTest()
      : fs_(MakeTestEnv(GetParam())),
        clock_(fs_.env, std::floor(Env::Posix()->NowSeconds())),
        root_(fs_.root) {}

  void SetUp() override {
    const std::string data = std::string(CKPT_SOURCE_DIR) + "/data/iris/";
    Result<IrisDataSet> train = LoadIrisCsv(Env::Posix(), data + "iris_training.csv");
    Result<IrisDataSet> test = LoadIrisCsv(Env::Posix(), data + "iris_test.csv");
    ASSERT_TRUE(train.ok()) << train.status();
    ASSERT_TRUE(test.ok()) << test.status();
    train_ = std::move(train).value();
    test_ = std::move(test).value();
    ASSERT_EQ(train_.examples.size(), 120u);
    ASSERT_EQ(test_.examples.size(), 30u);
    start_time_ = clock_.NowSeconds();
    // Log lines the test does not capture are dropped (LogCapture restores
    // this empty sink).
    previous_sink_ = SetLogSink(LogSink());
  }
  void TearDown() override { SetLogSink(previous_sink_); }

  std::string Dir(const std::string& name) const { return JoinPath(root_, name); }

  // An Estimator on `dir` (TF's defaults except a fixed tf_random_seed).
  std::unique_ptr<Estimator> Make(const std::string& dir, MakeArgs args = {}) {
    DnnClassifierConfig model;
    model.feature_names = train_.feature_names;
    model.hidden_units = args.hidden_units;
    model.n_classes = 3;
    ModelFn fn = DnnClassifierModelFn(model);
    if (args.model_fn_calls != nullptr) {
      int* calls = args.model_fn_calls;
      fn = [fn, calls](const ModelFnArgs& a) {
        ++*calls;
        return fn(a);
      };
    }
    args.run.tf_random_seed = kSeed;
    Result<RunConfig> config = RunConfig::Create(args.run);
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return nullptr;
    EstimatorOptions options;
    options.model_fn = fn;
    options.model_dir = dir;
    options.config = config.value();
    options.warm_start_from = args.warm_start_from;
    options.env = &clock_;
    options.hostname = kHost;
    Result<std::unique_ptr<Estimator>> estimator = Estimator::Create(std::move(options));
    EXPECT_TRUE(estimator.ok()) << estimator.status();
    return estimator.ok() ? std::move(estimator).value() : nullptr;
  }

  // Train with one simulated second per step.
  Result<TrainResult> Train(Estimator& estimator, std::optional<int64_t> steps,
                            std::optional<int64_t> max_steps = std::nullopt,
                            std::vector<std::shared_ptr<SessionRunHook>> hooks = {}) {
    TrainOptions options;
    options.steps = steps;
    options.max_steps = max_steps;
    options.hooks = std::move(hooks);
    options.hooks.push_back(std::make_shared<StepTimeHook>(&clock_, 1.0));
    return estimator.Train(IrisTrainInputFn(train_, 100, kSeed), options);
  }

  Result<EvalResult> Evaluate(Estimator& estimator) {
    return estimator.Evaluate(IrisEvalInputFn(test_, 100));
  }

  InputFn FlowersInput() const {
    ExamplesInputOptions o;
    o.batch_size = 100;
    o.with_labels = false;
    return ExamplesInputFn(GuideFlowers(), train_.feature_names, o);
  }
  Batch FlowersBatch() const {
    auto it = FlowersInput()();
    EXPECT_TRUE(it.ok()) << it.status();
    std::optional<Batch> b = it.ok() ? (*it)->Next() : std::nullopt;
    EXPECT_TRUE(b.has_value());
    return b.value_or(Batch{});
  }

  std::string EventFileName() const {
    char name[96];
    std::snprintf(name, sizeof(name), "events.out.tfevents.%010" PRId64 ".%s",
                  static_cast<int64_t>(start_time_), kHost);
    return name;
  }

  IrisDataSet train_;
  IrisDataSet test_;
  TestEnv fs_;
  FakeClockEnv clock_;  // all IO of the suite goes through it
  std::string root_;
  double start_time_ = 0;
  LogSink previous_sink_;
};

INSTANTIATE_TEST_SUITE_P(Envs, EstimatorE2eTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const ::testing::TestParamInfo<EnvKind>& info) {
                           return EnvKindName(info.param);
                         });

// Species index predicted for each example.
std::vector<int64_t> ClassIds(const std::vector<Prediction>& predictions) {
  std::vector<int64_t> out;
  for (const Prediction& p : predictions) out.push_back(p.at("class_ids").flat<int64_t>()[0]);
  return out;
}

// ------------------------------------------------------------------ 1.

// The guide's premade_estimator run with TF's default RunConfig (checkpoints
// every 600 s) and 1 s per step. TF 1.8's CheckpointSaverHook saves after
// the first step (its timer has never triggered): step 1 at t0 + 1. After
// step k the clock reads t0 + k, and the timer fires once
// now >= last + 600, i.e. t0 + k >= t0 + 1 + 600: k = 601. The next would
// be 1201, beyond the end, and End saves the last step, 1000.
TEST_P(EstimatorE2eTest, GuideRunCheckpointsEvaluatesAndPredicts) {
  const std::string dir = Dir("iris");
  LogCapture log;
  auto estimator = Make(dir);
  ASSERT_NE(estimator, nullptr);
  ASSERT_EQ(estimator->config().save_checkpoints_secs(), std::optional<double>(600));
  ASSERT_FALSE(estimator->config().save_checkpoints_steps().has_value());
  EXPECT_EQ(ListDir(&clock_, root_), std::vector<std::string>{}) << "Create wrote something";

  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult trained, Train(*estimator, 1000));
  EXPECT_FALSE(trained.skipped);
  EXPECT_EQ(trained.steps_run, 1000);
  EXPECT_EQ(trained.global_step, 1000);
  EXPECT_EQ(log.SavedSteps(), (std::vector<int64_t>{1, 601, 1000}));
  EXPECT_TRUE(log.Has("Saving checkpoints for 601 into " + dir + "/model.ckpt."));
  EXPECT_EQ(clock_.NowSeconds(), start_time_ + 1000);

  // The seed log's order: the first save precedes the first loss line, the
  // step rate precedes the loss line of its step; the final loss is logged.
  const int save1 = log.Find("Saving checkpoints for 1 into");
  const int loss1 = log.Find("loss = ");
  ASSERT_GE(save1, 0);
  ASSERT_GE(loss1, 0);
  EXPECT_LT(save1, loss1);
  EXPECT_THAT(log.lines()[loss1], ::testing::EndsWith(", step = 1"));
  const int rate = log.Find("global_step/sec: ");
  ASSERT_GE(rate, 0);
  EXPECT_EQ(log.lines()[rate], "global_step/sec: 1");  // 100 steps in 100 s
  ASSERT_LT(rate + 1, static_cast<int>(log.lines().size()));
  EXPECT_THAT(log.lines()[rate + 1], ::testing::EndsWith(", step = 101 (100.000 sec)"));
  EXPECT_GE(log.Find("Loss for final step: "), 0);
  EXPECT_EQ(log.Find("Restoring parameters from"), -1);  // fresh model_dir

  // The guide's listing (docs/estimator.md, Files), with this run's checkpoint steps.
  std::vector<std::string> expected = {"checkpoint", EventFileName(), "graph.pbtxt"};
  for (int64_t step : {1, 601, 1000}) {
    for (const std::string& f : CheckpointFiles(step)) expected.push_back(f);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListDir(&clock_, dir), expected);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string state_text,
                            ReadFileToString(&clock_, JoinPath(dir, "checkpoint")));
  EXPECT_EQ(state_text,
            "model_checkpoint_path: \"model.ckpt-1000\"\n"
            "all_model_checkpoint_paths: \"model.ckpt-1\"\n"
            "all_model_checkpoint_paths: \"model.ckpt-601\"\n"
            "all_model_checkpoint_paths: \"model.ckpt-1000\"\n");
  for (int64_t step : {1, 601, 1000}) {
    EXPECT_EQ(CheckpointGlobalStep(&clock_, JoinPath(dir, "model.ckpt-" + std::to_string(step))),
              step);
  }
  EXPECT_EQ(estimator->LatestCheckpoint(), std::optional<std::string>(dir + "/model.ckpt-1000"));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, estimator->GetVariableNames());
  EXPECT_EQ(names.size(), 13u);

  // Evaluate: one batch of the 30 test rows.
  log.Clear();
  CKPT_ASSERT_OK_AND_ASSIGN(EvalResult eval, Evaluate(*estimator));
  EXPECT_TRUE(log.Has("Restoring parameters from " + dir + "/model.ckpt-1000"));
  EXPECT_GE(eval["accuracy"], 0.9);
  EXPECT_EQ(eval["global_step"], 1000);
  EXPECT_NEAR(eval["loss"], 30 * eval["average_loss"], 1e-4 * eval["loss"]);
  EXPECT_GE(log.Find("Saving dict for global step 1000: accuracy = "), 0);
  expected.push_back("eval");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListDir(&clock_, dir), expected);

  // Predict the guide's flowers.
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> predictions,
                            estimator->Predict(FlowersInput()));
  ASSERT_EQ(predictions.size(), 3u);
  EXPECT_EQ(ClassIds(predictions), (std::vector<int64_t>{0, 1, 2}));  // Setosa, Versicolor, Virginica
  for (size_t i = 0; i < predictions.size(); ++i) {
    const Prediction& p = predictions[i];
    EXPECT_EQ(p.at("classes").strings()[0], std::to_string(i));
    const float* probs = p.at("probabilities").flat<float>();
    EXPECT_NEAR(probs[0] + probs[1] + probs[2], 1.0, 1e-6);
    EXPECT_GT(probs[i], 0.5) << "flower " << i;
  }
  EXPECT_EQ(ListDir(&clock_, dir), expected) << "Predict wrote something";
}

// ------------------------------------------------------------------ 2.

// save_checkpoints_steps = 100: the timer fires at step 1 (first trigger),
// then when step >= last + 100: 101, 201, ..., 901; End adds 1000. Of these
// 11, keep_checkpoint_max = 5 keeps the newest five.
TEST_P(EstimatorE2eTest, RetentionKeepsTheFiveNewestCheckpoints) {
  const std::string dir = Dir("steps100");
  LogCapture log;
  MakeArgs args;
  args.run.save_checkpoints_steps = 100;
  auto estimator = Make(dir, args);
  ASSERT_NE(estimator, nullptr);
  CKPT_ASSERT_OK(Train(*estimator, 1000).status());

  std::vector<int64_t> saved = Range(1, 901, 100);
  saved.push_back(1000);
  EXPECT_EQ(log.SavedSteps(), saved);
  const std::vector<int64_t> kept = {601, 701, 801, 901, 1000};
  EXPECT_EQ(CheckpointStepsOnDisk(&clock_, dir), kept);
  for (int64_t step : kept) {
    for (const std::string& f : CheckpointFiles(step)) {
      EXPECT_TRUE(clock_.FileExists(JoinPath(dir, f))) << f;
    }
  }
  for (int64_t step : Range(1, 501, 100)) {
    for (const std::string& f : CheckpointFiles(step)) {
      EXPECT_FALSE(clock_.FileExists(JoinPath(dir, f))) << f << " should have been deleted";
    }
  }
  StateFileView state = ReadState(&clock_, dir);
  EXPECT_EQ(state.newest, "model.ckpt-1000");
  EXPECT_EQ(state.all, CkptNames(kept));
  // Only checkpoint files, the state file, the graph and the event file.
  EXPECT_EQ(ListDir(&clock_, dir).size(), 3 + 3 * kept.size());
}

// keep_checkpoint_max = 0 deletes nothing; the state file then lists only
// the newest checkpoint (TF 1.8's Saver tracks nothing).
TEST_P(EstimatorE2eTest, KeepCheckpointMaxZeroKeepsAll) {
  const std::string dir = Dir("keepall");
  LogCapture log;
  MakeArgs args;
  args.run.save_checkpoints_steps = 100;
  args.run.keep_checkpoint_max = 0;
  auto estimator = Make(dir, args);
  ASSERT_NE(estimator, nullptr);
  CKPT_ASSERT_OK(Train(*estimator, 1000).status());
  std::vector<int64_t> saved = Range(1, 901, 100);
  saved.push_back(1000);
  EXPECT_EQ(log.SavedSteps(), saved);
  EXPECT_EQ(CheckpointStepsOnDisk(&clock_, dir), saved);
  StateFileView state = ReadState(&clock_, dir);
  EXPECT_EQ(state.newest, "model.ckpt-1000");
  EXPECT_EQ(state.all, std::vector<std::string>{"model.ckpt-1000"});
}

// ------------------------------------------------------------------ 3.

// Running the guide again: a second Estimator on the same model_dir restores
// the newest checkpoint and continues its global step; retention continues
// from the state file across Estimators; max_steps already reached builds
// and writes nothing.
TEST_P(EstimatorE2eTest, SecondEstimatorResumesFromTheNewestCheckpoint) {
  const std::string dir = Dir("iris");
  {
    auto first = Make(dir);
    ASSERT_NE(first, nullptr);
    CKPT_ASSERT_OK(Train(*first, 1000).status());
  }
  const std::map<std::string, Tensor> saved = ReadCheckpoint(&clock_, dir + "/model.ckpt-1000");
  ASSERT_EQ(saved.size(), 13u);

  LogCapture log;
  auto second = Make(dir);
  ASSERT_NE(second, nullptr);
  auto probe = std::make_shared<SessionProbe>();
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult resumed, Train(*second, 200, std::nullopt, {probe}));
  EXPECT_EQ(resumed.steps_run, 200);
  EXPECT_EQ(resumed.global_step, 1200);
  EXPECT_TRUE(log.Has("Restoring parameters from " + dir + "/model.ckpt-1000"));
  EXPECT_EQ(log.SavedSteps(), (std::vector<int64_t>{1001, 1200}));
  const int loss = log.Find("loss = ");
  ASSERT_GE(loss, 0);
  EXPECT_THAT(log.lines()[loss], ::testing::EndsWith(", step = 1001"));

  // The session started from exactly the checkpoint's values (all 13
  // variables: weights, Adagrad slots, global_step).
  EXPECT_EQ(probe->created(), 1);
  EXPECT_EQ(probe->global_step(), 1000);
  ASSERT_EQ(probe->variables().size(), saved.size());
  for (const auto& [name, value] : saved) {
    auto it = probe->variables().find(name);
    ASSERT_NE(it, probe->variables().end()) << name;
    EXPECT_TRUE(it->second.Equals(value)) << name;
  }
  EXPECT_EQ(CheckpointStepsOnDisk(&clock_, dir), (std::vector<int64_t>{1, 601, 1000, 1001, 1200}));

  // A third run: 1201 and 1400 push out 1 and 601 (retention re-seeded from
  // the state file, not restarted).
  {
    auto third = Make(dir);
    ASSERT_NE(third, nullptr);
    log.Clear();
    CKPT_ASSERT_OK(Train(*third, 200).status());
    EXPECT_EQ(log.SavedSteps(), (std::vector<int64_t>{1201, 1400}));
  }
  const std::vector<int64_t> kept = {1000, 1001, 1200, 1201, 1400};
  EXPECT_EQ(CheckpointStepsOnDisk(&clock_, dir), kept);
  EXPECT_EQ(ReadState(&clock_, dir).all, CkptNames(kept));

  // max_steps already reached: skipped before anything is built, nothing
  // written (names, sizes, mtimes, contents).
  second.reset();  // closes its event writer
  const TreeSnapshot before = Snapshot(&clock_, dir);
  int model_fn_calls = 0;
  MakeArgs counting;
  counting.model_fn_calls = &model_fn_calls;
  auto fourth = Make(dir, counting);
  ASSERT_NE(fourth, nullptr);
  log.Clear();
  for (int64_t max_steps : {1400, 1000}) {
    CKPT_ASSERT_OK_AND_ASSIGN(TrainResult skipped, Train(*fourth, std::nullopt, max_steps));
    EXPECT_TRUE(skipped.skipped);
    EXPECT_EQ(skipped.steps_run, 0);
    EXPECT_EQ(skipped.global_step, 1400);
  }
  EXPECT_TRUE(log.Has("Skipping training since max_steps has already saved."));
  EXPECT_EQ(model_fn_calls, 0);
  EXPECT_TRUE(log.SavedSteps().empty());
  fourth.reset();
  const TreeSnapshot after = Snapshot(&clock_, dir);
  EXPECT_EQ(before.listing, after.listing);
  EXPECT_TRUE(before == after);

  // max_steps is absolute: 1500 trains the missing 100 steps.
  auto fifth = Make(dir);
  ASSERT_NE(fifth, nullptr);
  log.Clear();
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult to1500, Train(*fifth, std::nullopt, 1500));
  EXPECT_EQ(to1500.steps_run, 100);
  EXPECT_EQ(to1500.global_step, 1500);
  EXPECT_EQ(log.SavedSteps(), (std::vector<int64_t>{1401, 1500}));
  fifth.reset();

  // Each resumed call counts summaries from its own first step (TF's
  // SummarySaverHook starts afresh): 1..901, then 1001, 1101, 1201, 1301,
  // 1401; a SessionLog START at each call's first step.
  EventsByTag events = ReadEvents(&clock_, dir);
  std::vector<int64_t> summary_steps = Range(1, 1401, 100);
  EXPECT_EQ(StepsOf(events.scalars["loss"]), summary_steps);
  std::vector<int64_t> starts;
  for (const EventValue& v : events.other) {
    if (v.kind == EventValueKind::kSessionLog && v.session_status == SessionLogStatus::kStart) {
      starts.push_back(v.step);
    }
  }
  EXPECT_EQ(starts, (std::vector<int64_t>{1, 1001, 1201, 1401}));
}

// ------------------------------------------------------------------ 4.

// The guide's bad restoration: hidden_units [20, 20] on a model_dir trained
// with [10, 10]. Train, Evaluate and Predict fail with the seed's error
// (the first mismatching key in sorted order) and touch nothing.
TEST_P(EstimatorE2eTest, BadRestorationFailsAndLeavesModelDirUntouched) {
  const std::string dir = Dir("iris");
  {
    auto good = Make(dir);
    ASSERT_NE(good, nullptr);
    // The Checkpoints guide's train(steps=200): its exact listing.
    CKPT_ASSERT_OK(Train(*good, 200).status());
    std::vector<std::string> listing = {"checkpoint", EventFileName(), "graph.pbtxt"};
    for (int64_t step : {1, 200}) {
      for (const std::string& f : CheckpointFiles(step)) listing.push_back(f);
    }
    EXPECT_EQ(ListDir(&clock_, dir), listing);
    CKPT_ASSERT_OK(Evaluate(*good).status());
  }
  const TreeSnapshot before = Snapshot(&clock_, dir);
  ASSERT_EQ(before.contents.size(), 10u);  // the 9 above + eval/'s event file

  LogCapture log;
  int model_fn_calls = 0;
  MakeArgs args;
  args.hidden_units = {20, 20};
  args.model_fn_calls = &model_fn_calls;
  auto bad = Make(dir, args);
  ASSERT_NE(bad, nullptr);
  auto probe = std::make_shared<SessionProbe>();
  Result<TrainResult> trained = Train(*bad, 200, std::nullopt, {probe});
  EXPECT_THAT(trained, StatusIs(StatusCode::kInvalidArgument, kBadRestoreMessage));
  EXPECT_EQ(probe->created(), 0);
  EXPECT_EQ(probe->steps(), 0);
  EXPECT_THAT(bad->Evaluate(IrisEvalInputFn(test_, 100)),
              StatusIs(StatusCode::kInvalidArgument, kBadRestoreMessage));
  EXPECT_THAT(bad->Predict(FlowersInput()),
              StatusIs(StatusCode::kInvalidArgument, kBadRestoreMessage));
  EXPECT_EQ(model_fn_calls, 3);  // each call built the model, then failed to restore
  EXPECT_TRUE(log.SavedSteps().empty());
  EXPECT_TRUE(log.Has("Restoring parameters from " + dir + "/model.ckpt-200"));
  bad.reset();  // would close any event writer it had opened

  const TreeSnapshot after = Snapshot(&clock_, dir);
  EXPECT_EQ(before.listing, after.listing);
  EXPECT_TRUE(before == after) << "a file's contents changed";
}

// ------------------------------------------------------------------ 5.

// The event files of the guide run: training summaries every
// save_summary_steps (1, 101, ..., 901, nothing extra at the end), the step
// rate from 101, session logs, the graph; the eval directory holds the
// metrics Evaluate returned at the checkpoint's step.
TEST_P(EstimatorE2eTest, SummariesOfTrainingAndEvaluation) {
  const std::string dir = Dir("iris");
  LogCapture log;
  auto estimator = Make(dir);
  ASSERT_NE(estimator, nullptr);
  CKPT_ASSERT_OK(Train(*estimator, 1000).status());
  CKPT_ASSERT_OK_AND_ASSIGN(EvalResult eval, Evaluate(*estimator));

  EventsByTag train = ReadEvents(&clock_, dir);
  const std::vector<int64_t> every100 = Range(1, 901, 100);
  const std::vector<std::string> scalar_tags = {
      "loss", "average_loss", "dnn/dnn/hiddenlayer_0/fraction_of_zero_values",
      "dnn/dnn/hiddenlayer_1/fraction_of_zero_values", "dnn/dnn/logits/fraction_of_zero_values"};
  for (const std::string& tag : scalar_tags) {
    EXPECT_EQ(StepsOf(train.scalars[tag]), every100) << tag;
  }
  for (const auto& [tag, values] : train.scalars) {
    if (tag.find("fraction_of_zero_values") == std::string::npos) continue;
    for (const auto& [step, v] : values) {
      EXPECT_GE(v, 0) << tag;
      EXPECT_LE(v, 1) << tag;
    }
  }
  // Batch loss is the sum over the 100 examples; average_loss its mean.
  for (int64_t step : every100) {
    const double loss = train.scalars["loss"][step];
    EXPECT_GT(loss, 0);
    EXPECT_NEAR(train.scalars["average_loss"][step], loss / 100, 1e-5 * loss);
  }
  // The summaries hold the loss the loss/step log lines print.
  EXPECT_TRUE(log.Has("loss = " + NumpyFloat32Str(static_cast<float>(train.scalars["loss"][1])) +
                      ", step = 1"));
  EXPECT_TRUE(log.Has("loss = " + NumpyFloat32Str(static_cast<float>(train.scalars["loss"][101])) +
                      ", step = 101 (100.000 sec)"));
  // global_step/sec: the first trigger (step 1) only starts the clock.
  ASSERT_EQ(StepsOf(train.scalars["global_step/sec"]), Range(101, 901, 100));
  for (const auto& [step, v] : train.scalars["global_step/sec"]) EXPECT_EQ(v, 1.0) << step;
  std::set<std::string> tags;
  for (const auto& [tag, values] : train.scalars) tags.insert(tag);
  EXPECT_EQ(tags.size(), scalar_tags.size() + 1) << "unexpected scalar tags";

  const std::vector<std::pair<std::string, double>> histograms = {
      {"dnn/dnn/hiddenlayer_0/activation", 100 * 10},
      {"dnn/dnn/hiddenlayer_1/activation", 100 * 10},
      {"dnn/dnn/logits/activation", 100 * 3}};
  EXPECT_EQ(train.histograms.size(), histograms.size());
  for (const auto& [tag, count] : histograms) {
    EXPECT_EQ(StepsOf(train.histograms[tag]), every100) << tag;
    for (const auto& [step, h] : train.histograms[tag]) {
      EXPECT_EQ(h.num, count) << tag << " at " << step;
      EXPECT_LE(h.min, h.max);
      if (tag.find("hiddenlayer") != std::string::npos) EXPECT_GE(h.min, 0) << "relu output";
    }
  }

  // Session logs: START at the first step, CHECKPOINT at every save; the
  // graph and meta graph went out with the first step.
  std::vector<int64_t> checkpoints;
  int starts = 0, graphs = 0, meta_graphs = 0, versions = 0;
  for (const EventValue& v : train.other) {
    switch (v.kind) {
      case EventValueKind::kSessionLog:
        if (v.session_status == SessionLogStatus::kStart) {
          ++starts;
          EXPECT_EQ(v.step, 1);
        } else if (v.session_status == SessionLogStatus::kCheckpoint) {
          checkpoints.push_back(v.step);
          EXPECT_EQ(v.text, dir + "/model.ckpt");
        }
        break;
      case EventValueKind::kGraphDef: ++graphs; break;
      case EventValueKind::kMetaGraphDef: ++meta_graphs; break;
      case EventValueKind::kFileVersion:
        ++versions;
        EXPECT_EQ(v.text, "brain.Event:2");
        break;
      default: break;
    }
  }
  EXPECT_EQ(versions, 1);
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(graphs, 1);
  EXPECT_EQ(meta_graphs, 1);
  EXPECT_EQ(checkpoints, (std::vector<int64_t>{1, 601, 1000}));

  // eval/: accuracy, average_loss, loss (not global_step) at step 1000,
  // as float32 values of what Evaluate returned.
  EventsByTag evaluated = ReadEvents(&clock_, dir + "/eval");
  EXPECT_EQ(evaluated.scalars.size(), 3u);
  for (const char* tag : {"accuracy", "average_loss", "loss"}) {
    ASSERT_EQ(StepsOf(evaluated.scalars[tag]), std::vector<int64_t>{1000}) << tag;
    EXPECT_EQ(evaluated.scalars[tag][1000], static_cast<float>(eval[tag])) << tag;
  }
  EXPECT_EQ(evaluated.scalars.count("global_step"), 0u);
  EXPECT_GE(evaluated.scalars["accuracy"][1000], 0.9);
}

// ------------------------------------------------------------------ 6.

// Warm start from the trained model_dir into a fresh one, with TF's default
// settings (".*" over the trainable variables): at session creation the
// weights equal the source's newest checkpoint bit for bit (so do the
// predictions), the Adagrad accumulators keep their initial 0.1 and
// global_step restarts at 0. Later calls restore their own checkpoint.
TEST_P(EstimatorE2eTest, WarmStartCopiesTrainableWeightsOnly) {
  const std::string source = Dir("source");
  {
    auto trained = Make(source);
    ASSERT_NE(trained, nullptr);
    CKPT_ASSERT_OK(Train(*trained, 1000).status());
  }
  const std::map<std::string, Tensor> source_vars =
      ReadCheckpoint(&clock_, source + "/model.ckpt-1000");
  ASSERT_EQ(source_vars.size(), 13u);
  auto source_estimator = Make(source);
  ASSERT_NE(source_estimator, nullptr);
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> source_predictions,
                            source_estimator->Predict(FlowersInput()));
  ASSERT_EQ(source_predictions.size(), 3u);
  source_estimator.reset();
  const TreeSnapshot source_before = Snapshot(&clock_, source);

  const std::string target = Dir("warm");
  LogCapture log;
  WarmStartSettings ws;
  ws.ckpt_to_initialize_from = source;
  MakeArgs args;
  args.warm_start_from = ws;
  auto warm = Make(target, args);
  ASSERT_NE(warm, nullptr);
  auto probe = std::make_shared<SessionProbe>(FlowersBatch());
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult first, Train(*warm, 1, std::nullopt, {probe}));
  EXPECT_GE(log.Find("Warm-starting with WarmStartSettings: "), 0);
  EXPECT_EQ(log.Find("Restoring parameters from"), -1);

  ASSERT_EQ(probe->created(), 1);
  EXPECT_EQ(probe->global_step(), 0);
  ASSERT_EQ(probe->variables().size(), 13u);
  for (const std::string& key : TrainableKeys()) {
    ASSERT_EQ(probe->variables().count(key), 1u) << key;
    EXPECT_TRUE(probe->variables().at(key).Equals(source_vars.at(key))) << key;
  }
  for (const auto& [name, value] : probe->variables()) {
    if (name.find("/Adagrad") == std::string::npos) continue;
    const float* v = value.flat<float>();
    bool all_initial = true;
    for (int64_t i = 0; i < value.num_elements(); ++i) all_initial = all_initial && v[i] == 0.1f;
    EXPECT_TRUE(all_initial) << name << " was copied";
    EXPECT_FALSE(value.Equals(source_vars.at(name))) << name;
  }
  // Same weights, same predictions.
  ASSERT_EQ(probe->predictions().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    for (const char* key : {"logits", "probabilities", "class_ids"}) {
      EXPECT_TRUE(probe->predictions()[i].at(key).Equals(source_predictions[i].at(key)))
          << key << " of flower " << i;
    }
  }

  EXPECT_EQ(first.global_step, 1);
  EXPECT_EQ(log.SavedSteps(), std::vector<int64_t>{1});
  EXPECT_EQ(CheckpointStepsOnDisk(&clock_, target), std::vector<int64_t>{1});
  const std::map<std::string, Tensor> target_vars =
      ReadCheckpoint(&clock_, target + "/model.ckpt-1");
  EXPECT_FALSE(target_vars.at("dnn/logits/kernel").Equals(source_vars.at("dnn/logits/kernel")))
      << "one training step changes the weights";

  // The next call restores model.ckpt-1 and does not warm-start again.
  log.Clear();
  CKPT_ASSERT_OK_AND_ASSIGN(TrainResult second, Train(*warm, 1));
  EXPECT_EQ(second.global_step, 2);
  EXPECT_TRUE(log.Has("Restoring parameters from " + target + "/model.ckpt-1"));
  EXPECT_EQ(log.Find("Warm-starting"), -1);

  warm.reset();
  EXPECT_TRUE(Snapshot(&clock_, source) == source_before) << "warm start changed the source";
}

}  // namespace
}  // namespace ckpt
