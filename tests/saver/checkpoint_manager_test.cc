// Tests for CheckpointManager (TF2 retention) over the POSIX and in-memory
// Envs, with a controlled clock.
#include "ckpt/checkpoint_manager.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/logging.h"
#include "testutil/fake_clock.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::ckpt::testing::WriteStringToFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr double kT0 = 1700000000.25;

UpdateCheckpointStateOptions RelativePaths() {
  UpdateCheckpointStateOptions options;
  options.save_relative_paths = true;
  return options;
}

// An Env whose clock the test sets, starting at kT0.
class ClockEnv : public ::ckpt::testing::FakeClockEnv {
 public:
  explicit ClockEnv(Env* target) : FakeClockEnv(target, kT0) {}
};

// A minimal tf.train.Checkpoint stand-in: a save counter and one weight,
// written as a bundle.
class TestTarget : public CheckpointTarget {
 public:
  explicit TestTarget(Env* env) : env_(env) {}
  int64_t IncrementSaveCounter() override { return ++save_counter; }
  Status Write(const std::string& prefix) override {
    ++writes;
    if (fail_writes) return IoError("injected write failure for " + prefix);
    BundleWriterOptions options;
    options.env = env_;
    CKPT_ASSIGN_OR_RETURN(auto writer, BundleWriter::Create(prefix, options));
    CKPT_RETURN_IF_ERROR(writer->Add("save_counter", Tensor::Scalar<int64_t>(save_counter)));
    CKPT_RETURN_IF_ERROR(writer->Add("weight", Tensor::Scalar<float>(weight)));
    return writer->Finish();
  }
  Status Restore(const std::string& prefix) override {
    BundleReaderOptions options;
    options.env = env_;
    CKPT_ASSIGN_OR_RETURN(auto reader, BundleReader::Open(prefix, options));
    CKPT_ASSIGN_OR_RETURN(Tensor counter, reader->Read("save_counter"));
    CKPT_ASSIGN_OR_RETURN(Tensor w, reader->Read("weight"));
    save_counter = *counter.flat<int64_t>();
    weight = *w.flat<float>();
    return Status::OK();
  }

  int64_t save_counter = 0;
  float weight = 0;
  int writes = 0;
  bool fail_writes = false;

 private:
  Env* env_;
};

// Collects log lines while alive.
class LogCapture {
 public:
  LogCapture() {
    previous_ = SetLogSink([this](LogSeverity severity, std::string_view message) {
      if (severity == LogSeverity::kWarning) warnings.emplace_back(message);
    });
  }
  ~LogCapture() { SetLogSink(previous_); }
  std::string All() const {
    std::string out;
    for (const std::string& w : warnings) out += w + "\n";
    return out;
  }
  std::vector<std::string> warnings;

 private:
  LogSink previous_;
};

class CheckpointManagerTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    test_env_ = testing::MakeTestEnv(GetParam());
    clock_ = std::make_unique<ClockEnv>(test_env_.env);
    dir_ = JoinPath(test_env_.root, "run");
  }
  Env* env() { return clock_.get(); }
  CheckpointManagerOptions Options(std::optional<int> max_to_keep) {
    CheckpointManagerOptions options;
    options.env = env();
    options.max_to_keep = max_to_keep;
    return options;
  }
  std::unique_ptr<CheckpointManager> MakeManager(CheckpointTarget* target,
                                                 CheckpointManagerOptions options) {
    auto r = CheckpointManager::Create(target, dir_, std::move(options));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  std::string Path(const std::string& name) { return JoinPath(dir_, name); }
  // The bundle file names of checkpoint "ckpt-<n>".
  static std::vector<std::string> Files(int n) {
    std::string p = "ckpt-" + std::to_string(n);
    return {p + ".data-00000-of-00001", p + ".index"};
  }
  std::vector<std::string> Expected(std::vector<int> numbers, bool with_state = true) {
    std::vector<std::string> out;
    if (with_state) out.push_back("checkpoint");
    for (int n : numbers) {
      for (std::string& f : Files(n)) out.push_back(f);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  CheckpointState State() {
    auto r = GetCheckpointState(env(), dir_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CheckpointState{};
  }

  TestEnv test_env_;
  std::unique_ptr<ClockEnv> clock_;
  std::string dir_;
};

TEST_P(CheckpointManagerTest, NumbersCheckpointsBySaveCounter) {
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(5));
  ASSERT_NE(manager, nullptr);
  EXPECT_EQ(manager->latest_checkpoint(), std::nullopt);
  EXPECT_THAT(manager->checkpoints(), IsEmpty());
  for (int i = 1; i <= 3; ++i) {
    CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, manager->Save());
    EXPECT_EQ(prefix, Path("ckpt-" + std::to_string(i)));
  }
  EXPECT_EQ(manager->latest_checkpoint(), Path("ckpt-3"));
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-1"), Path("ckpt-2"), Path("ckpt-3")));
  EXPECT_EQ(ListDir(env(), dir_), Expected({1, 2, 3}));
  EXPECT_EQ(manager->directory(), dir_);
}

TEST_P(CheckpointManagerTest, ExplicitNumberStillIncrementsSaveCounter) {
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(5));
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string a, manager->Save(100));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string b, manager->Save());
  EXPECT_EQ(a, Path("ckpt-100"));
  EXPECT_EQ(b, Path("ckpt-2"));
  EXPECT_EQ(target.save_counter, 2);
}

TEST_P(CheckpointManagerTest, CustomCheckpointName) {
  TestTarget target(env());
  CheckpointManagerOptions options = Options(1);
  options.checkpoint_name = "model";
  auto manager = MakeManager(&target, options);
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK(manager->Save().status());
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, manager->Save());
  EXPECT_EQ(prefix, Path("model-2"));
  EXPECT_EQ(ListDir(env(), dir_),
            (std::vector<std::string>{"checkpoint", "model-2.data-00000-of-00001",
                                      "model-2.index"}));
}

TEST_P(CheckpointManagerTest, MaxToKeepDeletesOldest) {
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(2));
  ASSERT_NE(manager, nullptr);
  for (int i = 1; i <= 4; ++i) {
    clock_->Set(kT0 + i);
    CKPT_ASSERT_OK(manager->Save().status());
  }
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-3"), Path("ckpt-4")));
  EXPECT_EQ(ListDir(env(), dir_), Expected({3, 4}));
  CheckpointState state = State();
  EXPECT_EQ(state.model_checkpoint_path, Path("ckpt-4"));
  EXPECT_THAT(state.all_model_checkpoint_paths, ElementsAre(Path("ckpt-3"), Path("ckpt-4")));
  EXPECT_THAT(state.all_model_checkpoint_timestamps, ElementsAre(kT0 + 3, kT0 + 4));
}

TEST_P(CheckpointManagerTest, MaxToKeepUnsetKeepsEverything) {
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(std::nullopt));
  ASSERT_NE(manager, nullptr);
  for (int i = 1; i <= 7; ++i) CKPT_ASSERT_OK(manager->Save().status());
  EXPECT_EQ(manager->checkpoints().size(), 7u);
  EXPECT_EQ(ListDir(env(), dir_), Expected({1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(State().all_model_checkpoint_paths.size(), 7u);
}

TEST_P(CheckpointManagerTest, ResavingAPathMovesItToTheEnd) {
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(2));
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK(manager->Save(1).status());
  CKPT_ASSERT_OK(manager->Save(2).status());
  CKPT_ASSERT_OK(manager->Save(1).status());
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-2"), Path("ckpt-1")));
  CKPT_ASSERT_OK(manager->Save(3).status());
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-1"), Path("ckpt-3")));
  EXPECT_EQ(ListDir(env(), dir_), Expected({1, 3}));
}

TEST_P(CheckpointManagerTest, PreservesOneCheckpointEveryNHours) {
  TestTarget target(env());
  CheckpointManagerOptions options = Options(1);
  options.keep_checkpoint_every_n_hours = 1.0;
  auto manager = MakeManager(&target, options);  // last preserved = kT0 - 1
  ASSERT_NE(manager, nullptr);
  for (int i = 0; i < 5; ++i) {
    clock_->Set(kT0 + 1800.0 * i);
    CKPT_ASSERT_OK(manager->Save().status());
  }
  // ckpt-1 (kT0) and ckpt-2 (kT0+1800) are less than an hour after kT0-1;
  // ckpt-3 (kT0+3600) is, so it is preserved; ckpt-4 is only 30 min after it.
  EXPECT_EQ(ListDir(env(), dir_), Expected({3, 5}));
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-5")));
  CheckpointState state = State();
  EXPECT_THAT(state.all_model_checkpoint_paths, ElementsAre(Path("ckpt-5")));
  EXPECT_EQ(state.last_preserved_timestamp, kT0 + 3600.0);
}

TEST_P(CheckpointManagerTest, ZeroHoursPreservesNothing) {
  TestTarget target(env());
  CheckpointManagerOptions options = Options(1);
  options.keep_checkpoint_every_n_hours = 0.0;  // falsy in TF
  auto manager = MakeManager(&target, options);
  ASSERT_NE(manager, nullptr);
  for (int i = 0; i < 3; ++i) {
    clock_->Set(kT0 + 10000.0 * i);
    CKPT_ASSERT_OK(manager->Save().status());
  }
  EXPECT_EQ(ListDir(env(), dir_), Expected({3}));
}

TEST_P(CheckpointManagerTest, StateFileHoldsRelativePathsAndTimestamps) {
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(2));
  ASSERT_NE(manager, nullptr);
  for (int i = 1; i <= 3; ++i) {
    clock_->Set(kT0 + 0.5 * i);
    CKPT_ASSERT_OK(manager->Save().status());
  }
  CKPT_ASSERT_OK_AND_ASSIGN(std::string text, ReadFileToString(env(), Path("checkpoint")));
  EXPECT_THAT(text, HasSubstr("model_checkpoint_path: \"ckpt-3\"\n"));
  EXPECT_THAT(text, HasSubstr("all_model_checkpoint_paths: \"ckpt-2\"\n"
                              "all_model_checkpoint_paths: \"ckpt-3\"\n"));
  EXPECT_EQ(text.find(dir_), std::string::npos) << text;
  CheckpointState state = State();
  EXPECT_THAT(state.all_model_checkpoint_timestamps, ElementsAre(kT0 + 1.0, kT0 + 1.5));
  // No state file at construction: last preserved = now - 1.
  EXPECT_EQ(state.last_preserved_timestamp, kT0 - 1.0);
}

TEST_P(CheckpointManagerTest, RestartCarriesOnRetention) {
  {
    TestTarget target(env());
    auto manager = MakeManager(&target, Options(3));
    ASSERT_NE(manager, nullptr);
    for (int i = 1; i <= 3; ++i) {
      clock_->Set(kT0 + i);
      target.weight = static_cast<float>(i);
      CKPT_ASSERT_OK(manager->Save().status());
    }
  }
  clock_->Set(kT0 + 10);
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(3));
  ASSERT_NE(manager, nullptr);
  EXPECT_EQ(manager->latest_checkpoint(), Path("ckpt-3"));
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-1"), Path("ckpt-2"), Path("ckpt-3")));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string restored, manager->RestoreOrInitialize());
  EXPECT_EQ(restored, Path("ckpt-3"));
  EXPECT_EQ(target.save_counter, 3);
  EXPECT_EQ(target.weight, 3.0f);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, manager->Save());
  EXPECT_EQ(prefix, Path("ckpt-4"));
  EXPECT_EQ(ListDir(env(), dir_), Expected({2, 3, 4}));
  EXPECT_THAT(State().all_model_checkpoint_timestamps, ElementsAre(kT0 + 2, kT0 + 3, kT0 + 10));
  EXPECT_EQ(State().last_preserved_timestamp, kT0 - 1.0);
}

TEST_P(CheckpointManagerTest, RestartKeepsPreservedCheckpointsForever) {
  CheckpointManagerOptions options = Options(1);
  options.keep_checkpoint_every_n_hours = 1.0;
  {
    TestTarget target(env());
    auto manager = MakeManager(&target, options);
    ASSERT_NE(manager, nullptr);
    clock_->Set(kT0 + 7200);
    CKPT_ASSERT_OK(manager->Save().status());  // ckpt-1
    clock_->Set(kT0 + 7201);
    CKPT_ASSERT_OK(manager->Save().status());  // preserves ckpt-1
  }
  EXPECT_EQ(State().last_preserved_timestamp, kT0 + 7200);
  // A manager without the N-hours option never touches ckpt-1 again.
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(1));
  ASSERT_NE(manager, nullptr);
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-2")));
  CKPT_ASSERT_OK(manager->Save(3).status());
  CKPT_ASSERT_OK(manager->Save(4).status());
  EXPECT_EQ(ListDir(env(), dir_), Expected({1, 4}));
}

TEST_P(CheckpointManagerTest, RecoveryClampsFutureTimestamps) {
  CKPT_ASSERT_OK(env()->CreateDirs(dir_));
  // last_preserved_timestamp in the future: clamped to now, so nothing with
  // a (clamped) timestamp is newer and nothing is managed.
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), dir_, Path("ckpt-2"), {Path("ckpt-1"), Path("ckpt-2")},
                                       {kT0 + 500, kT0 + 600}, kT0 + 1000,
                                       RelativePaths()));
  {
    LogCapture logs;
    TestTarget target(env());
    auto manager = MakeManager(&target, Options(1));
    ASSERT_NE(manager, nullptr);
    EXPECT_THAT(manager->checkpoints(), IsEmpty());
    EXPECT_EQ(manager->latest_checkpoint(), Path("ckpt-2"));
    EXPECT_THAT(logs.All(), HasSubstr("behind the last preserved checkpoint timestamp"));
    clock_->Set(kT0 + 1);
    CKPT_ASSERT_OK(manager->Save(3).status());
    EXPECT_EQ(State().last_preserved_timestamp, kT0);
  }
  // Timestamps in the future, last preserved in the past: managed, with the
  // timestamps clamped to now.
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), dir_, Path("ckpt-2"), {Path("ckpt-1"), Path("ckpt-2")},
                                       {kT0 + 500, kT0 + 600}, kT0 - 50,
                                       RelativePaths()));
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(5));
  ASSERT_NE(manager, nullptr);
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-1"), Path("ckpt-2")));
  clock_->Set(kT0 + 2);
  CKPT_ASSERT_OK(manager->Save(7).status());
  EXPECT_THAT(State().all_model_checkpoint_timestamps, ElementsAre(kT0 + 1, kT0 + 1, kT0 + 2));
}

TEST_P(CheckpointManagerTest, StateWithoutTimestampsIsNotManaged) {
  // A TF1 Saver's state file: no timestamps, no last_preserved_timestamp.
  TestTarget writer(env());
  for (int i = 1; i <= 2; ++i) {
    writer.save_counter = i;
    CKPT_ASSERT_OK(writer.Write(Path("ckpt-" + std::to_string(i))));
  }
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), dir_, Path("ckpt-2"), {Path("ckpt-1"), Path("ckpt-2")}));
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(1));
  ASSERT_NE(manager, nullptr);
  EXPECT_THAT(manager->checkpoints(), IsEmpty());
  EXPECT_EQ(manager->latest_checkpoint(), Path("ckpt-2"));
  CKPT_ASSERT_OK(manager->Save(3).status());
  CKPT_ASSERT_OK(manager->Save(4).status());
  EXPECT_EQ(ListDir(env(), dir_), Expected({1, 2, 4}));
  EXPECT_EQ(State().last_preserved_timestamp, std::nullopt);  // 0: TF's proto default
}

TEST_P(CheckpointManagerTest, CorruptStateFileIsIgnoredWithAWarning) {
  CKPT_ASSERT_OK(env()->CreateDirs(dir_));
  CKPT_ASSERT_OK(WriteStringToFile(env(), Path("checkpoint"), "model_checkpoint_path: ["));
  LogCapture logs;
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(1));
  ASSERT_NE(manager, nullptr);
  EXPECT_EQ(manager->latest_checkpoint(), std::nullopt);
  EXPECT_THAT(logs.All(), HasSubstr("checkpoint state ignored"));
  CKPT_ASSERT_OK(manager->Save().status());
  EXPECT_EQ(State().model_checkpoint_path, Path("ckpt-1"));
}

TEST_P(CheckpointManagerTest, CheckpointInterval) {
  TestTarget target(env());
  int64_t step = 0;
  CheckpointManagerOptions options = Options(std::nullopt);
  options.step_counter = &step;
  options.checkpoint_interval = 10;
  auto manager = MakeManager(&target, options);
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string first, manager->Save());  // no last step yet
  EXPECT_EQ(first, Path("ckpt-1"));
  step = 5;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string skipped, manager->Save());
  EXPECT_EQ(skipped, "");
  step = 10;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string second, manager->Save());
  EXPECT_EQ(second, Path("ckpt-2"));
  // Same step: skipped even without the interval check.
  CKPT_ASSERT_OK_AND_ASSIGN(std::string same, manager->Save(std::nullopt, false));
  EXPECT_EQ(same, "");
  step = 12;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string forced, manager->Save(std::nullopt, false));
  EXPECT_EQ(forced, Path("ckpt-3"));
  EXPECT_EQ(target.save_counter, 3);  // skipped saves do not count
  EXPECT_EQ(target.writes, 3);

  // After a restart, RestoreOrInitialize takes the current step as the last.
  TestTarget target2(env());
  auto restarted = MakeManager(&target2, options);
  ASSERT_NE(restarted, nullptr);
  step = 15;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string restored, restarted->RestoreOrInitialize());
  EXPECT_EQ(restored, Path("ckpt-3"));
  step = 24;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string too_soon, restarted->Save());
  EXPECT_EQ(too_soon, "");
  step = 25;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string saved, restarted->Save());
  EXPECT_EQ(saved, Path("ckpt-4"));
}

TEST_P(CheckpointManagerTest, RestoreOrInitializeWithoutCheckpoints) {
  TestTarget target(env());
  target.weight = 42;
  auto manager = MakeManager(&target, Options(3));
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string restored, manager->RestoreOrInitialize());
  EXPECT_EQ(restored, "");
  EXPECT_EQ(target.weight, 42.0f);
  EXPECT_EQ(target.save_counter, 0);
}

TEST_P(CheckpointManagerTest, RestoreOrInitializeReportsAMissingCheckpoint) {
  CKPT_ASSERT_OK(env()->CreateDirs(dir_));
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), dir_, Path("ckpt-9"), {}));
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(3));
  ASSERT_NE(manager, nullptr);
  EXPECT_THAT(manager->RestoreOrInitialize(), StatusIs(StatusCode::kNotFound, "ckpt-9"));
}

TEST_P(CheckpointManagerTest, FailedWriteLeavesStateUnchanged) {
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(1));
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK(manager->Save().status());
  target.fail_writes = true;
  EXPECT_THAT(manager->Save(), StatusIs(StatusCode::kIoError, "injected write failure"));
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-1")));
  EXPECT_EQ(State().model_checkpoint_path, Path("ckpt-1"));
  EXPECT_EQ(ListDir(env(), dir_), Expected({1}));
}

TEST_P(CheckpointManagerTest, InvalidOptions) {
  TestTarget target(env());
  EXPECT_THAT(CheckpointManager::Create(&target, dir_, Options(0)),
              StatusIs(StatusCode::kInvalidArgument,
                       "Expected a positive integer or `None` for `max_to_keep`, got 0."));
  EXPECT_THAT(CheckpointManager::Create(&target, dir_, Options(-3)),
              StatusIs(StatusCode::kInvalidArgument, "got -3."));
  CheckpointManagerOptions interval = Options(1);
  interval.checkpoint_interval = 5;
  EXPECT_THAT(CheckpointManager::Create(&target, dir_, interval),
              StatusIs(StatusCode::kInvalidArgument,
                       "`step_counter` should be passed if `checkpoint_interval` is not None."));
  EXPECT_THAT(CheckpointManager::Create(nullptr, dir_, Options(1)),
              StatusIs(StatusCode::kInvalidArgument, "target"));
  CheckpointManagerOptions no_env = Options(1);
  no_env.env = nullptr;
  EXPECT_THAT(CheckpointManager::Create(&target, dir_, no_env),
              StatusIs(StatusCode::kInvalidArgument, "env"));
  CheckpointManagerOptions bad_name = Options(1);
  bad_name.checkpoint_name = "sub/ckpt";
  EXPECT_THAT(CheckpointManager::Create(&target, dir_, bad_name),
              StatusIs(StatusCode::kInvalidArgument, "\"sub/ckpt\""));
  EXPECT_FALSE(env()->FileExists(dir_));  // nothing was written
}

// ---------------------------------------------------------------- safety

class CheckpointManagerSafetyTest : public CheckpointManagerTest {
 protected:
  void SetUp() override {
    CheckpointManagerTest::SetUp();
    outside_ = JoinPath(test_env_.root, "outside");
    CKPT_ASSERT_OK(env()->CreateDirs(outside_));
    CKPT_ASSERT_OK(env()->CreateDirs(dir_));
  }
  // Creates outside/<name>.index and .data with recognisable bytes.
  void PlantOutside(const std::string& name) {
    for (const std::string& suffix : {".index", ".data-00000-of-00001"}) {
      std::string path = JoinPath(outside_, name + suffix);
      CKPT_ASSERT_OK(WriteStringToFile(env(), path, "precious " + path));
    }
  }
  void ExpectOutsideIntact(const std::string& name) {
    for (const std::string& suffix : {".index", ".data-00000-of-00001"}) {
      std::string path = JoinPath(outside_, name + suffix);
      auto contents = ReadFileToString(env(), path);
      ASSERT_TRUE(contents.ok()) << path << ": " << contents.status();
      EXPECT_EQ(*contents, "precious " + path);
    }
  }
  // A hand-written state file listing `paths` as managed (recent timestamps).
  void WriteHostileState(const std::vector<std::string>& paths) {
    std::string text = "model_checkpoint_path: \"" + paths.back() + "\"\n";
    for (const std::string& p : paths) text += "all_model_checkpoint_paths: \"" + p + "\"\n";
    for (size_t i = 0; i < paths.size(); ++i) {
      text += "all_model_checkpoint_timestamps: " + std::to_string(kT0 - 10 + i) + "\n";
    }
    text += "last_preserved_timestamp: " + std::to_string(kT0 - 100) + "\n";
    CKPT_ASSERT_OK(WriteStringToFile(env(), Path("checkpoint"), text));
  }
  std::string outside_;
};

TEST_P(CheckpointManagerSafetyTest, RefusesPathsOutsideTheDirectory) {
  PlantOutside("ckpt-1");
  PlantOutside("ckpt-2");
  PlantOutside("ckpt-3");
  WriteHostileState({"../outside/ckpt-1", JoinPath(outside_, "ckpt-2"),
                     Path("ckpt-5/../../outside/ckpt-3")});
  LogCapture logs;
  TestTarget target(env());
  target.save_counter = 10;
  auto manager = MakeManager(&target, Options(1));
  ASSERT_NE(manager, nullptr);
  EXPECT_EQ(manager->checkpoints().size(), 3u);
  CKPT_ASSERT_OK(manager->Save().status());
  EXPECT_THAT(manager->checkpoints(), ElementsAre(Path("ckpt-11")));
  ExpectOutsideIntact("ckpt-1");
  ExpectOutsideIntact("ckpt-2");
  ExpectOutsideIntact("ckpt-3");
  EXPECT_EQ(logs.warnings.size(), 3u) << logs.All();
  EXPECT_THAT(logs.All(), HasSubstr("not directly inside the directory"));
  EXPECT_THAT(logs.All(), HasSubstr("../outside/ckpt-1"));
  EXPECT_EQ(ListDir(env(), dir_), Expected({11}));
}

TEST_P(CheckpointManagerSafetyTest, RefusesNamesItDoesNotManage) {
  TestTarget writer(env());
  for (const std::string name : {"other-1", "ckpt-x", "ckpt-", "ckpt"}) {
    CKPT_ASSERT_OK(writer.Write(Path(name)));
  }
  WriteHostileState({"other-1", "ckpt-x", "ckpt-", "ckpt", "checkpoint"});
  std::vector<std::string> before = ListDir(env(), dir_);
  LogCapture logs;
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(1));
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK(manager->Save().status());
  EXPECT_EQ(logs.warnings.size(), 5u) << logs.All();
  EXPECT_THAT(logs.All(), HasSubstr("its name is not \"ckpt-<number>\""));
  std::vector<std::string> after = ListDir(env(), dir_);
  for (const std::string& f : before) {
    EXPECT_NE(std::find(after.begin(), after.end(), f), after.end()) << f << " was deleted";
  }
}

TEST_P(CheckpointManagerSafetyTest, DeletesExactlyIndexAndDataFiles) {
  TestTarget target(env());
  auto manager = MakeManager(&target, Options(1));
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK(manager->Save().status());  // ckpt-1
  // Neighbours that only look like ckpt-1's files.
  const std::vector<std::string> neighbours = {
      "ckpt-1.meta", "ckpt-1.data-00000-of-00001.bak", "ckpt-1.data-0000x-of-00001",
      "ckpt-10.index", "ckpt-10.data-00000-of-00001", "ckpt-1x", "ckpt-1.indexx"};
  for (const std::string& n : neighbours) CKPT_ASSERT_OK(WriteStringToFile(env(), Path(n), n));
  // A second shard of ckpt-1 must go with it.
  CKPT_ASSERT_OK(WriteStringToFile(env(), Path("ckpt-1.data-00001-of-00002"), "shard"));
  CKPT_ASSERT_OK(manager->Save().status());  // ckpt-2, deletes ckpt-1
  std::vector<std::string> expected = Expected({2});
  expected.insert(expected.end(), neighbours.begin(), neighbours.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListDir(env(), dir_), expected);
  for (const std::string& n : neighbours) {
    EXPECT_EQ(*ReadFileToString(env(), Path(n)), n);
  }
}

TEST_P(CheckpointManagerSafetyTest, ParentReferenceThatStaysInsideIsAllowed) {
  CKPT_ASSERT_OK(env()->CreateDirs(Path("sub")));
  TestTarget writer(env());
  CKPT_ASSERT_OK(writer.Write(Path("ckpt-3")));
  WriteHostileState({"sub/../ckpt-3"});
  TestTarget target(env());
  target.save_counter = 3;
  auto manager = MakeManager(&target, Options(1));
  ASSERT_NE(manager, nullptr);
  CKPT_ASSERT_OK(manager->Save().status());
  std::vector<std::string> expected = Expected({4});
  expected.push_back("sub");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListDir(env(), dir_), expected);
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, CheckpointManagerTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });
INSTANTIATE_TEST_SUITE_P(AllEnvs, CheckpointManagerSafetyTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

// Symlinks exist only on the real file system.
class CheckpointManagerSymlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::TempDir();
    dir_ = JoinPath(root_, "run");
    outside_ = JoinPath(root_, "outside");
    ASSERT_TRUE(env_.CreateDirs(dir_).ok());
    ASSERT_TRUE(env_.CreateDirs(outside_).ok());
  }
  std::string Plant(const std::string& name) {
    std::string path = JoinPath(outside_, name);
    EXPECT_TRUE(WriteStringToFile(&env_, path, "precious " + name).ok());
    return path;
  }
  void ExpectIntact(const std::string& name) {
    auto contents = ReadFileToString(&env_, JoinPath(outside_, name));
    ASSERT_TRUE(contents.ok()) << name;
    EXPECT_EQ(*contents, "precious " + name);
  }
  void WriteState(const std::vector<std::string>& paths) {
    std::string text = "model_checkpoint_path: \"" + paths.back() + "\"\n";
    for (const std::string& p : paths) text += "all_model_checkpoint_paths: \"" + p + "\"\n";
    for (size_t i = 0; i < paths.size(); ++i) {
      text += "all_model_checkpoint_timestamps: " + std::to_string(kT0 - 10 + i) + "\n";
    }
    text += "last_preserved_timestamp: " + std::to_string(kT0 - 100) + "\n";
    ASSERT_TRUE(WriteStringToFile(&env_, JoinPath(dir_, "checkpoint"), text).ok());
  }
  ClockEnv env_{Env::Posix()};
  std::string root_, dir_, outside_;
};

TEST_F(CheckpointManagerSymlinkTest, RefusesCheckpointFilesThatAreSymlinks) {
  std::string index = Plant("victim.index");
  std::string data = Plant("victim.data-00000-of-00001");
  ASSERT_EQ(symlink(index.c_str(), JoinPath(dir_, "ckpt-1.index").c_str()), 0);
  ASSERT_EQ(symlink(data.c_str(), JoinPath(dir_, "ckpt-1.data-00000-of-00001").c_str()), 0);
  WriteState({"ckpt-1"});
  LogCapture logs;
  TestTarget target(&env_);
  target.save_counter = 1;
  CheckpointManagerOptions options;
  options.env = &env_;
  options.max_to_keep = 1;
  auto manager = CheckpointManager::Create(&target, dir_, options);
  ASSERT_TRUE(manager.ok()) << manager.status();
  CKPT_ASSERT_OK((*manager)->Save().status());
  ExpectIntact("victim.index");
  ExpectIntact("victim.data-00000-of-00001");
  EXPECT_THAT(logs.All(), HasSubstr("is a symbolic link"));
  EXPECT_TRUE(env_.FileExists(JoinPath(dir_, "ckpt-1.index")));  // the link is kept too
}

TEST_F(CheckpointManagerSymlinkTest, RefusesPathsThroughSymlinkedDirectories) {
  ASSERT_EQ(symlink(outside_.c_str(), JoinPath(dir_, "link").c_str()), 0);
  ASSERT_TRUE(env_.CreateDirs(JoinPath(outside_, "deeper")).ok());
  ASSERT_EQ(symlink(JoinPath(outside_, "deeper").c_str(), JoinPath(dir_, "deep").c_str()), 0);
  Plant("ckpt-1.index");
  Plant("ckpt-1.data-00000-of-00001");
  // "deep/.." lexically stays in the directory but physically is outside_.
  WriteState({"link/ckpt-1", "deep/../ckpt-1", JoinPath(outside_, "ckpt-1")});
  LogCapture logs;
  TestTarget target(&env_);
  target.save_counter = 1;
  CheckpointManagerOptions options;
  options.env = &env_;
  options.max_to_keep = 1;
  auto manager = CheckpointManager::Create(&target, dir_, options);
  ASSERT_TRUE(manager.ok()) << manager.status();
  CKPT_ASSERT_OK((*manager)->Save().status());
  ExpectIntact("ckpt-1.index");
  ExpectIntact("ckpt-1.data-00000-of-00001");
  EXPECT_EQ(logs.warnings.size(), 3u) << logs.All();
}

TEST_F(CheckpointManagerSymlinkTest, ManagesADirectoryReachedThroughASymlink) {
  std::string alias = JoinPath(root_, "alias");
  ASSERT_EQ(symlink(dir_.c_str(), alias.c_str()), 0);
  TestTarget target(&env_);
  CheckpointManagerOptions options;
  options.env = &env_;
  options.max_to_keep = 1;
  auto manager = CheckpointManager::Create(&target, alias, options);
  ASSERT_TRUE(manager.ok()) << manager.status();
  CKPT_ASSERT_OK((*manager)->Save().status());
  CKPT_ASSERT_OK((*manager)->Save().status());
  EXPECT_EQ(ListDir(&env_, dir_),
            (std::vector<std::string>{"checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index"}));
}

}  // namespace
}  // namespace ckpt
