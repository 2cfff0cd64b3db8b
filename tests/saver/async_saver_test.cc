// AsyncSaver: same files as a synchronous Saver, values captured by Save(),
// retention and state file, background errors surfaced to the next call,
// one writer per directory, waiting in Restore and the destructor, and the
// staging budget (direct variables written while Save() waits).
#include "ckpt/async_saver.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "testutil/gate_env.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::GateEnv;
using ::ckpt::testing::OpenLater;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::ElementsAre;

// A variable set covering the snapshot paths: a tensor large enough to be
// split between copy threads, small fixed-size tensors, a string tensor and
// two partitions of one variable.
struct Model {
  explicit Model(int64_t big_rows = 1000)
      : big(MakeTestTensor(DataType::kFloat, {3, big_rows, 1001}, 1)) {}

  Tensor big;  // ~11.5 MiB by default
  Tensor bias = MakeTestTensor(DataType::kInt64, {7}, 2);
  Tensor scalar = MakeTestTensor(DataType::kDouble, {}, 3);
  Tensor words = MakeTestTensor(DataType::kString, {5}, 4);
  Tensor part0 = MakeTestTensor(DataType::kFloat, {2, 3}, 5);
  Tensor part1 = MakeTestTensor(DataType::kFloat, {1, 3}, 6);

  VarList Vars(bool with_devices = false) {
    VarList v = VarListFromMap({{"dense/kernel", &big},
                                {"dense/bias", &bias},
                                {"global_step", &scalar},
                                {"vocab", &words}});
    v.push_back({"emb", &part0, TensorShape{3, 3}, TensorSlice::Parse("0,2:-").value(), ""});
    v.push_back({"emb", &part1, TensorShape{3, 3}, TensorSlice::Parse("2,1:-").value(), ""});
    if (with_devices) {
      for (size_t i = 0; i < v.size(); ++i) v[i].device = i % 2 ? "/cpu:1" : "/cpu:0";
    }
    return v;
  }
  // Bytes of the fixed-size variables.
  size_t FixedBytes() const {
    return big.byte_size() + bias.byte_size() + scalar.byte_size() + part0.byte_size() +
           part1.byte_size();
  }
  // Changes every value in place.
  void Perturb() {
    for (Tensor* t : {&big, &bias, &scalar, &part0, &part1}) {
      for (size_t i = 0; i < t->byte_size(); ++i) t->mutable_data()[i] ^= 0x5a;
    }
    for (std::string& s : *words.mutable_strings()) s += "!";
  }
};

std::unique_ptr<AsyncSaver> MakeAsync(VarList vars, const SaverOptions& o, int copy_threads = 2,
                                      int64_t budget = kUnlimitedStagingBudget) {
  AsyncSaverOptions ao;
  ao.saver = o;
  ao.copy_threads = copy_threads;
  ao.staging_budget_bytes = budget;
  auto r = AsyncSaver::Create(std::move(vars), ao);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::string Read(Env* env, const std::string& path) {
  auto r = ReadFileToString(env, path);
  EXPECT_TRUE(r.ok()) << path << ": " << r.status();
  return r.ok() ? *r : std::string();
}

// The state file in `dir` names one of `newest`, and every checkpoint it
// lists opens and reads completely.
void ExpectListedCheckpointsWhole(Env* env, const std::string& dir,
                                  const std::vector<std::string>& newest) {
  auto state = GetCheckpointState(env, dir);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_THAT(newest, ::testing::Contains(state->model_checkpoint_path));
  CheckpointReaderOptions ro;
  ro.env = env;
  for (const std::string& p : state->all_model_checkpoint_paths) {
    auto reader = CheckpointReader::Open(p, ro);
    ASSERT_TRUE(reader.ok()) << p << ": " << reader.status();
    for (const VariableInfo& v : (*reader)->variables()) {
      CKPT_EXPECT_OK((*reader)->GetTensor(v.name).status());
    }
  }
}

class AsyncSaverFilesTest : public ::testing::TestWithParam<std::tuple<EnvKind, bool>> {};

// For the same values, every file an AsyncSaver writes has the bytes of the
// synchronous Saver's (data, index, state file with relative paths).
TEST_P(AsyncSaverFilesTest, SameBytesAsSynchronousSaver) {
  const auto [kind, sharded] = GetParam();
  TestEnv t = MakeTestEnv(kind);
  Model m;
  SaverOptions o;
  o.env = t.env;
  o.sharded = sharded;
  o.save_relative_paths = true;
  for (int copy_threads : {1, 2}) {
    SCOPED_TRACE(copy_threads);
    const std::string sync_dir = JoinPath(t.root, "sync" + std::to_string(copy_threads));
    const std::string async_dir = JoinPath(t.root, "async" + std::to_string(copy_threads));
    CKPT_ASSERT_OK(t.env->CreateDirs(sync_dir));
    CKPT_ASSERT_OK(t.env->CreateDirs(async_dir));
    CKPT_ASSERT_OK_AND_ASSIGN(auto sync, Saver::Create(m.Vars(sharded), o));
    // The default staging budget covers the model: every variable is staged.
    AsyncSaverOptions ao;
    ao.saver = o;
    ao.copy_threads = copy_threads;
    CKPT_ASSERT_OK_AND_ASSIGN(auto async, AsyncSaver::Create(m.Vars(sharded), ao));
    ASSERT_EQ(async->snapshot_bytes(), m.FixedBytes());
    // Two saves of different values: the second reuses the snapshot buffers.
    for (int step = 1; step <= 2; ++step) {
      SaveArgs args;
      args.global_step = step;
      CKPT_ASSERT_OK(sync->Save(JoinPath(sync_dir, "model"), args).status());
      CKPT_ASSERT_OK_AND_ASSIGN(std::string ap, async->Save(JoinPath(async_dir, "model"), args));
      EXPECT_EQ(ap, JoinPath(async_dir, "model-" + std::to_string(step)));
      m.Perturb();  // after Save() returned, before the background write ends
    }
    CKPT_ASSERT_OK(async->Wait());
    std::vector<std::string> sync_files = ListDir(t.env, sync_dir);
    ASSERT_EQ(ListDir(t.env, async_dir), sync_files);
    EXPECT_EQ(sync_files.size(), sharded ? 7u : 5u);  // state file + 2 x (index + data)
    for (const std::string& f : sync_files) {
      EXPECT_EQ(Read(t.env, JoinPath(async_dir, f)), Read(t.env, JoinPath(sync_dir, f))) << f;
    }
    // The sharded save really wrote two data files.
    EXPECT_EQ(t.env->FileExists(JoinPath(async_dir, "model-1.data-00001-of-00002")), sharded);
  }
}

INSTANTIATE_TEST_SUITE_P(EnvsAndSharding, AsyncSaverFilesTest,
                         ::testing::Combine(::testing::Values(EnvKind::kMem, EnvKind::kPosix),
                                            ::testing::Bool()));

class AsyncSaverTest : public ::testing::Test {
 protected:
  AsyncSaverTest() : t_(MakeTestEnv(EnvKind::kMem)), gate_(t_.env) {}

  std::string Path(const std::string& name) const { return JoinPath(t_.root, name); }
  SaverOptions Options(Env* env) {
    SaverOptions o;
    o.env = env;
    return o;
  }
  static SaveArgs Step(int64_t step) {
    SaveArgs a;
    a.global_step = step;
    return a;
  }
  // Every value of checkpoint `prefix` equals the tensors in `expected`.
  void ExpectCheckpointHolds(const std::string& prefix, Model& expected) {
    CheckpointReaderOptions ro;
    ro.env = t_.env;
    auto reader = CheckpointReader::Open(prefix, ro);
    ASSERT_TRUE(reader.ok()) << reader.status();
    for (const SaveableTensor& v : expected.Vars()) {
      if (v.full_shape) continue;
      auto got = (*reader)->GetTensor(v.name);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_TRUE(got->Equals(*v.tensor)) << v.name;
    }
    auto emb = (*reader)->GetTensor("emb");
    ASSERT_TRUE(emb.ok()) << emb.status();
    EXPECT_EQ(std::string(emb->bytes()),
              std::string(expected.part0.bytes()) + std::string(expected.part1.bytes()));
  }

  TestEnv t_;
  GateEnv gate_;
};

// The checkpoint holds the values of the Save() call even when the caller
// changes its tensors before the background write has begun.
TEST_F(AsyncSaverTest, CapturesValuesAtSave) {
  Model m;
  Model original;  // same seeds: a copy of m's values
  auto saver = MakeAsync(m.Vars(), Options(&gate_));
  gate_.Close();
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p, saver->Save(Path("model"), Step(1)));
  gate_.WaitUntilBlocked();  // the background save has not written a byte
  EXPECT_EQ(gate_.creates(), 0);
  m.Perturb();
  gate_.Open();
  CKPT_ASSERT_OK(saver->Wait());
  ExpectCheckpointHolds(p, original);
  // The next save sees the new values.
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p2, saver->Save(Path("model"), Step(2)));
  CKPT_ASSERT_OK(saver->Wait());
  ExpectCheckpointHolds(p2, m);
}

// Save() while the previous save is still persisting waits for it.
TEST_F(AsyncSaverTest, SaveWaitsForThePreviousSave) {
  Model m;
  auto saver = MakeAsync(m.Vars(), Options(&gate_));
  gate_.Close();
  CKPT_ASSERT_OK(saver->Save(Path("model"), Step(1)).status());
  gate_.WaitUntilBlocked();
  std::thread opener = OpenLater(&gate_, 50);
  CKPT_ASSERT_OK(saver->Save(Path("model"), Step(2)).status());
  // Returning required the first checkpoint to be complete and recorded.
  EXPECT_TRUE(t_.env->FileExists(Path("model-1.index")));
  auto state = GetCheckpointState(t_.env, t_.root);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->model_checkpoint_path, Path("model-1"));
  opener.join();
  CKPT_ASSERT_OK(saver->Wait());
  EXPECT_THAT(saver->last_checkpoints(), ElementsAre(Path("model-1"), Path("model-2")));
}

// Retention and the state file follow the synchronous Saver's rules.
TEST_F(AsyncSaverTest, RetentionAndStateFileLikeSaver) {
  Model m;
  SaverOptions o = Options(t_.env);
  o.max_to_keep = 2;
  o.save_relative_paths = true;
  o.meta_graph_writer = [this](const std::string& path) {
    return testing::WriteStringToFile(t_.env, path, "meta");
  };
  CKPT_ASSERT_OK(t_.env->CreateDirs(Path("a")));
  CKPT_ASSERT_OK(t_.env->CreateDirs(Path("s")));
  CKPT_ASSERT_OK_AND_ASSIGN(auto sync, Saver::Create(m.Vars(), o));
  auto async = MakeAsync(m.Vars(), o);
  for (int step = 1; step <= 4; ++step) {
    CKPT_ASSERT_OK(sync->Save(Path("s/model"), Step(step)).status());
    CKPT_ASSERT_OK(async->Save(Path("a/model"), Step(step)).status());
  }
  CKPT_ASSERT_OK(async->Wait());
  EXPECT_THAT(ListDir(t_.env, Path("a")),
              ElementsAre("checkpoint", "model-3.data-00000-of-00001", "model-3.index",
                          "model-3.meta", "model-4.data-00000-of-00001", "model-4.index",
                          "model-4.meta"));
  EXPECT_EQ(ListDir(t_.env, Path("a")), ListDir(t_.env, Path("s")));
  EXPECT_EQ(Read(t_.env, Path("a/checkpoint")), Read(t_.env, Path("s/checkpoint")));
  EXPECT_THAT(async->last_checkpoints(), ElementsAre(Path("a/model-3"), Path("a/model-4")));
}

// A failed background write is reported once, by the next Save() (which then
// starts nothing) or by Wait(); the failed checkpoint is never listed, and
// the saver keeps working afterwards.
TEST_F(AsyncSaverTest, BackgroundErrorsSurfaceAndNothingHalfWrittenIsListed) {
  Model m(/*big_rows=*/10);
  bool failed_somewhere = false;
  bool last_succeeded = false;  // the budget then covered every operation
  for (int fail_after = 0; fail_after < 40; ++fail_after) {
    SCOPED_TRACE(fail_after);
    auto mem = NewMemEnv();
    CKPT_ASSERT_OK(mem->CreateDirs("/d"));
    FaultInjectionEnv fault(mem.get());
    auto saver = MakeAsync(m.Vars(), Options(&fault));
    CKPT_ASSERT_OK(saver->SaveAndWait("/d/model", Step(1)).status());

    fault.FailAfter(fail_after);
    CKPT_ASSERT_OK(saver->Save("/d/model", Step(2)).status());
    // Surfaced by Wait(), or by the next Save() (whose own arguments are
    // bad, so that it starts nothing when the previous save was fine).
    const bool use_wait = fail_after % 2 == 0;
    Status bg = use_wait ? saver->Wait() : saver->Save("").status();
    fault.FailAfter(-1);
    if (!use_wait && bg.code() == StatusCode::kInvalidArgument) {
      EXPECT_THAT(bg, StatusIs(StatusCode::kInvalidArgument, "save_path is empty"));
      bg = Status::OK();
    }
    if (bg.ok()) {
      // The budget outlasted the save: it is complete.
      last_succeeded = true;
      CKPT_ASSERT_OK(saver->SaveAndWait("/d/model", Step(3)).status());
      EXPECT_THAT(saver->last_checkpoints(),
                  ElementsAre("/d/model-1", "/d/model-2", "/d/model-3"));
      continue;
    }
    failed_somewhere = true;
    last_succeeded = false;
    EXPECT_EQ(bg.code(), StatusCode::kIoError) << bg;
    // Reported once: the next call is clean.
    CKPT_EXPECT_OK(saver->Wait());
    // The state file names model-1, or model-2 if only the last steps
    // (directory sync of the state file) failed; everything it lists is whole.
    ExpectListedCheckpointsWhole(mem.get(), "/d", {"/d/model-1", "/d/model-2"});
    // The saver recovers: the next save cleans up and succeeds. (model-2 is
    // listed again only if its bundle was committed before the state file
    // update failed, as with a synchronous Saver.)
    CKPT_ASSERT_OK_AND_ASSIGN(std::string p4, saver->SaveAndWait("/d/model", Step(4)));
    EXPECT_EQ(p4, "/d/model-4");
    ExpectListedCheckpointsWhole(mem.get(), "/d", {"/d/model-4"});
    std::vector<std::string> listed = saver->last_checkpoints();
    ASSERT_GE(listed.size(), 2u);
    EXPECT_EQ(listed.front(), "/d/model-1");
    EXPECT_EQ(listed.back(), "/d/model-4");
    for (const std::string& f : ListDir(mem.get(), "/d")) {
      EXPECT_EQ(f.find(".ckpt-tmp."), std::string::npos) << f;
    }
  }
  EXPECT_TRUE(failed_somewhere);
  EXPECT_TRUE(last_succeeded);
}

// A missing parent directory is found by the background save.
TEST_F(AsyncSaverTest, SetupErrorsComeFromWait) {
  Model m;
  auto saver = MakeAsync(m.Vars(), Options(t_.env));
  CKPT_ASSERT_OK(saver->Save(Path("no/such/model"), Step(1)).status());
  EXPECT_THAT(saver->Wait(), StatusIs(StatusCode::kInvalidArgument, "doesn't exist, can't save"));
  EXPECT_THAT(saver->SaveAndWait(Path("no/such/model"), Step(1)),
              StatusIs(StatusCode::kInvalidArgument, "doesn't exist, can't save"));
}

TEST_F(AsyncSaverTest, ArgumentErrorsAreImmediate) {
  Model m;
  auto saver = MakeAsync(m.Vars(), Options(&gate_));
  gate_.Close();  // nothing may reach the background thread
  EXPECT_THAT(saver->Save(""), StatusIs(StatusCode::kInvalidArgument, "save_path is empty"));
  SaveArgs args;
  args.latest_filename = "a/b";
  EXPECT_THAT(saver->Save(Path("model"), args),
              StatusIs(StatusCode::kInvalidArgument, "must not contain path components"));
  args.latest_filename = "model";
  EXPECT_THAT(saver->Save(Path("model"), args),
              StatusIs(StatusCode::kInvalidArgument, "collides with 'save_path'"));
  // A variable whose shape changed since Create().
  m.bias = MakeTestTensor(DataType::kInt64, {8}, 2);
  EXPECT_THAT(saver->Save(Path("model"), Step(1)),
              StatusIs(StatusCode::kInvalidArgument, "\"dense/bias\" is now int64[8] but was "
                                                     "int64[7]"));
  gate_.Open();
  CKPT_EXPECT_OK(saver->Wait());
  EXPECT_EQ(gate_.creates(), 0);

  AsyncSaverOptions bad;
  bad.saver = Options(t_.env);
  bad.copy_threads = 0;
  EXPECT_THAT(AsyncSaver::Create(m.Vars(), bad),
              StatusIs(StatusCode::kInvalidArgument, "copy_threads"));
  bad.copy_threads = 1;
  EXPECT_THAT(AsyncSaver::Create({}, bad),
              StatusIs(StatusCode::kInvalidArgument, "No variables to save"));
}

// A second saver on the same directory does not
// persist while the first one is writing there; one on another directory
// does.
TEST_F(AsyncSaverTest, TwoSaversOnOneDirectoryDoNotOverlap) {
  Model m;
  CKPT_ASSERT_OK(t_.env->CreateDirs(Path("d")));
  CKPT_ASSERT_OK(t_.env->CreateDirs(Path("other")));
  GateEnv second(t_.env);  // never closed: counts the second saver's writes
  GateEnv third(t_.env);
  auto a = MakeAsync(m.Vars(), Options(&gate_));
  auto b = MakeAsync(m.Vars(), Options(&second));
  auto c = MakeAsync(m.Vars(), Options(&third));
  gate_.Close();
  CKPT_ASSERT_OK(a->Save(Path("d/a"), Step(1)).status());
  gate_.WaitUntilBlocked();
  CKPT_ASSERT_OK(b->Save(Path("d/b"), Step(1)).status());
  CKPT_ASSERT_OK(c->SaveAndWait(Path("other/c"), Step(1)).status());
  EXPECT_GT(third.creates(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(second.creates(), 0) << "b wrote while a held the directory";
  gate_.Open();
  CKPT_ASSERT_OK(a->Wait());
  CKPT_ASSERT_OK(b->Wait());
  EXPECT_GT(second.creates(), 0);
  EXPECT_TRUE(t_.env->FileExists(Path("d/a-1.index")));
  EXPECT_TRUE(t_.env->FileExists(Path("d/b-1.index")));
}

// A synchronous save under CheckpointDirectoryLock excludes the AsyncSaver.
TEST_F(AsyncSaverTest, DirectoryLockExcludesBackgroundSave) {
  Model m;
  auto saver = MakeAsync(m.Vars(), Options(&gate_));
  std::unique_ptr<CheckpointDirectoryLock> lock =
      std::make_unique<CheckpointDirectoryLock>(t_.env, t_.root + "/.");
  EXPECT_EQ(lock->key(), t_.env->RealPath(t_.root).value());
  CKPT_ASSERT_OK(saver->Save(Path("model"), Step(1)).status());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(gate_.creates(), 0) << "the background save ignored the lock";
  lock.reset();
  CKPT_ASSERT_OK(saver->Wait());
  EXPECT_GT(gate_.creates(), 0);
}

TEST_F(AsyncSaverTest, RestoreWaitsForTheSaveInFlight) {
  Model m;
  Model original;
  auto saver = MakeAsync(m.Vars(), Options(&gate_));
  gate_.Close();
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p, saver->Save(Path("model"), Step(1)));
  gate_.WaitUntilBlocked();
  m.Perturb();
  std::thread opener = OpenLater(&gate_, 30);
  // Without waiting, the checkpoint would not exist yet (NotFound).
  CKPT_EXPECT_OK(saver->Restore(p));
  opener.join();
  EXPECT_TRUE(m.big.Equals(original.big));
  EXPECT_TRUE(m.words.Equals(original.words));
  EXPECT_TRUE(m.part1.Equals(original.part1));
}

TEST_F(AsyncSaverTest, DestructorFinishesTheSaveInFlight) {
  Model m;
  Model original;
  std::thread opener;
  {
    auto saver = MakeAsync(m.Vars(), Options(&gate_));
    gate_.Close();
    CKPT_ASSERT_OK(saver->Save(Path("model"), Step(7)).status());
    gate_.WaitUntilBlocked();
    m.Perturb();
    opener = OpenLater(&gate_, 30);
  }  // blocks until the gate opens and the save completes
  opener.join();
  auto state = GetCheckpointState(t_.env, t_.root);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->model_checkpoint_path, Path("model-7"));
  ExpectCheckpointHolds(Path("model-7"), original);
}

TEST_F(AsyncSaverTest, RecoverAndSnapshotSize) {
  Model m;
  auto saver = MakeAsync(m.Vars(), Options(t_.env));
  EXPECT_EQ(saver->snapshot_bytes(), m.FixedBytes());
  CKPT_ASSERT_OK(saver->Save(Path("model"), Step(1)).status());
  CKPT_ASSERT_OK(saver->Save(Path("model"), Step(2)).status());
  auto fresh = MakeAsync(m.Vars(), Options(t_.env));
  CKPT_ASSERT_OK(fresh->RecoverLastCheckpoints(saver->last_checkpoints()));
  EXPECT_THAT(fresh->last_checkpoints(), ElementsAre(Path("model-1"), Path("model-2")));
}

// --- Staging budget ---

// Appends to data files whose bytes are exactly `match` are held until
// Release() or fail with an IoError: a test's handle on the moment a given
// tensor is written.
class AppendTrapEnv : public ForwardingEnv {
 public:
  enum class Action { kHold, kFail };
  explicit AppendTrapEnv(Env* target) : ForwardingEnv(target) {}

  void Arm(std::string_view match, Action action) {
    std::lock_guard<std::mutex> l(mu_);
    match_ = std::string(match);
    action_ = action;
    armed_ = true;
    triggered_ = false;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> l(mu_);
      armed_ = false;
    }
    cv_.notify_all();
  }
  void WaitUntilHeld() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return held_; });
  }
  bool triggered() {
    std::lock_guard<std::mutex> l(mu_);
    return triggered_;
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    CKPT_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, ForwardingEnv::NewWritableFile(path));
    return std::unique_ptr<WritableFile>(new File(this, std::move(f), path));
  }

 private:
  class File : public WritableFile {
   public:
    File(AppendTrapEnv* env, std::unique_ptr<WritableFile> f, std::string path)
        : env_(env), f_(std::move(f)), path_(std::move(path)) {}
    Status Append(std::string_view data) override {
      CKPT_RETURN_IF_ERROR(env_->BeforeAppend(path_, data));
      return f_->Append(data);
    }
    Status Flush() override { return f_->Flush(); }
    Status Sync() override { return f_->Sync(); }
    Status Close() override { return f_->Close(); }
    uint64_t Tell() const override { return f_->Tell(); }

   private:
    AppendTrapEnv* env_;
    std::unique_ptr<WritableFile> f_;
    std::string path_;
  };

  Status BeforeAppend(const std::string& path, std::string_view data) {
    std::unique_lock<std::mutex> l(mu_);
    if (!armed_ || path.find(".data-") == std::string::npos || data != match_) {
      return Status::OK();
    }
    triggered_ = true;
    if (action_ == Action::kFail) return IoError("injected failure appending to " + path);
    held_ = true;
    cv_.notify_all();
    cv_.wait(l, [&] { return !armed_; });
    held_ = false;
    return Status::OK();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::string match_;
  Action action_ = Action::kHold;
  bool armed_ = false;
  bool held_ = false;
  bool triggered_ = false;
};

// Every variable of checkpoint `a` equals the one of `b` (same keys).
void ExpectSameTensors(Env* env, const std::string& a, const std::string& b) {
  CheckpointReaderOptions ro;
  ro.env = env;
  auto ra = CheckpointReader::Open(a, ro);
  auto rb = CheckpointReader::Open(b, ro);
  ASSERT_TRUE(ra.ok()) << ra.status();
  ASSERT_TRUE(rb.ok()) << rb.status();
  std::vector<std::string> names_a, names_b;
  for (const VariableInfo& v : (*ra)->variables()) names_a.push_back(v.name);
  for (const VariableInfo& v : (*rb)->variables()) names_b.push_back(v.name);
  ASSERT_EQ(names_a, names_b);
  for (const std::string& name : names_a) {
    auto ta = (*ra)->GetTensor(name);
    auto tb = (*rb)->GetTensor(name);
    ASSERT_TRUE(ta.ok()) << name << ": " << ta.status();
    ASSERT_TRUE(tb.ok()) << name << ": " << tb.status();
    EXPECT_TRUE(ta->Equals(*tb)) << name;
  }
}

class AsyncSaverBudgetTest
    : public ::testing::TestWithParam<std::tuple<EnvKind, bool, int64_t>> {};

// Whatever the budget, the checkpoint holds the values of the Save() call
// although the caller changes every variable (direct and staged) as soon as
// Save() returns, and restores them exactly.
TEST_P(AsyncSaverBudgetTest, CheckpointHoldsTheValuesOfSave) {
  const auto [kind, sharded, budget] = GetParam();
  TestEnv t = MakeTestEnv(kind);
  Model m;
  Model original;  // same seeds: a copy of m's values
  SaverOptions o;
  o.env = t.env;
  o.sharded = sharded;
  auto saver = MakeAsync(m.Vars(sharded), o, /*copy_threads=*/2, budget);
  ASSERT_NE(saver, nullptr);
  if (budget >= 0) EXPECT_LE(saver->snapshot_bytes(), static_cast<size_t>(budget));
  SaveArgs args;
  args.global_step = 1;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p, saver->Save(JoinPath(t.root, "model"), args));
  m.Perturb();
  CKPT_ASSERT_OK(saver->Wait());

  CKPT_ASSERT_OK_AND_ASSIGN(auto sync, Saver::Create(original.Vars(sharded), o));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string sp, sync->Save(JoinPath(t.root, "sync"), args));
  ExpectSameTensors(t.env, p, sp);
  EXPECT_EQ(t.env->FileExists(p + ".data-00001-of-00002"), sharded);

  CKPT_ASSERT_OK(saver->Restore(p));
  EXPECT_TRUE(m.big.Equals(original.big));
  EXPECT_TRUE(m.bias.Equals(original.bias));
  EXPECT_TRUE(m.scalar.Equals(original.scalar));
  EXPECT_TRUE(m.words.Equals(original.words));
  EXPECT_TRUE(m.part0.Equals(original.part0));
  EXPECT_TRUE(m.part1.Equals(original.part1));
}

// 0: no fixed-size variable staged; 60: only dense/bias (56 bytes); 100: all
// but the large one; unlimited: all.
INSTANTIATE_TEST_SUITE_P(EnvsShardingBudgets, AsyncSaverBudgetTest,
                         ::testing::Combine(::testing::Values(EnvKind::kMem, EnvKind::kPosix),
                                            ::testing::Bool(),
                                            ::testing::Values(int64_t{0}, int64_t{60},
                                                              int64_t{100},
                                                              kUnlimitedStagingBudget)));

// Whole variables, first fit by decreasing size; strings are not counted.
TEST_F(AsyncSaverTest, StagingBudgetChoosesWholeVariables) {
  Model m;
  const size_t big = m.big.byte_size();
  const size_t small = m.bias.byte_size() + m.part0.byte_size() + m.part1.byte_size() +
                       m.scalar.byte_size();
  ASSERT_EQ(small, 100u);
  const std::vector<std::pair<int64_t, size_t>> cases = {
      {0, 0},
      {60, m.bias.byte_size()},  // then nothing else fits in the 4 bytes left
      {100, small},
      {static_cast<int64_t>(big), big},
      {static_cast<int64_t>(big + small - 1), big + small - m.scalar.byte_size()},
      {static_cast<int64_t>(big + small), big + small},
      {kUnlimitedStagingBudget, big + small}};
  for (const auto& [budget, staged] : cases) {
    SCOPED_TRACE(budget);
    auto saver = MakeAsync(m.Vars(), Options(t_.env), 2, budget);
    ASSERT_NE(saver, nullptr);
    EXPECT_EQ(saver->snapshot_bytes(), staged);
  }
  // The default budget covers this model.
  AsyncSaverOptions ao;
  ao.saver = Options(t_.env);
  CKPT_ASSERT_OK_AND_ASSIGN(auto by_default, AsyncSaver::Create(m.Vars(), ao));
  EXPECT_EQ(by_default->snapshot_bytes(), big + small);
}

TEST_F(AsyncSaverTest, BadBudgetAndChangedDirectVariablesAreRejected) {
  Model m;
  AsyncSaverOptions bad;
  bad.saver = Options(t_.env);
  for (int64_t budget : {int64_t{-2}, int64_t{-1000}}) {
    bad.staging_budget_bytes = budget;
    EXPECT_THAT(AsyncSaver::Create(m.Vars(), bad),
                StatusIs(StatusCode::kInvalidArgument,
                         "AsyncSaverOptions.staging_budget_bytes must be >= 0 or "
                         "kUnlimitedStagingBudget (-1), got " + std::to_string(budget)));
  }
  // A direct variable's shape is checked as a staged one's.
  auto saver = MakeAsync(m.Vars(), Options(&gate_), 2, /*budget=*/0);
  gate_.Close();
  m.bias = MakeTestTensor(DataType::kInt64, {8}, 2);
  EXPECT_THAT(saver->Save(Path("model"), Step(1)),
              StatusIs(StatusCode::kInvalidArgument,
                       "\"dense/bias\" is now int64[8] but was int64[7]"));
  gate_.Open();
  CKPT_EXPECT_OK(saver->Wait());
  EXPECT_EQ(gate_.creates(), 0);
}

// Direct variables come first in the data file; with everything staged the
// order is the synchronous Saver's (by name).
TEST_F(AsyncSaverTest, DirectVariablesComeFirstInTheDataFile) {
  Model m;
  for (int64_t budget : {kUnlimitedStagingBudget, int64_t{60}}) {
    SCOPED_TRACE(budget);
    auto saver = MakeAsync(m.Vars(), Options(t_.env), 2, budget);
    const std::string name = budget < 0 ? "all" : "partial";
    CKPT_ASSERT_OK_AND_ASSIGN(std::string p, saver->SaveAndWait(Path(name), Step(1)));
    const std::string data = Read(t_.env, p + ".data-00000-of-00001");
    // Sorted by name, dense/bias is first; with budget 60 it is the one
    // staged variable, so dense/kernel leads.
    const std::string_view first = budget < 0 ? m.bias.bytes() : m.big.bytes();
    EXPECT_EQ(data.substr(0, first.size()), first);
  }
}

// Save() returns only once every direct variable is in the data file, and
// does not wait for the staged ones.
TEST_F(AsyncSaverTest, SaveReturnsOnceTheDirectVariablesAreWritten) {
  Model m;
  Model original;
  AppendTrapEnv trap(t_.env);
  // Stages dense/bias; the direct ones are written by name: dense/kernel,
  // emb's two slices, global_step.
  auto saver = MakeAsync(m.Vars(), Options(&trap), 2, /*budget=*/60);
  ASSERT_EQ(saver->snapshot_bytes(), m.bias.byte_size());

  trap.Arm(m.scalar.bytes(), AppendTrapEnv::Action::kHold);  // the last direct one
  auto save = std::async(std::launch::async, [&] { return saver->Save(Path("model"), Step(1)); });
  trap.WaitUntilHeld();
  // A Save() that did not wait would return in this time.
  EXPECT_EQ(save.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  trap.Release();
  CKPT_ASSERT_OK(save.get().status());
  CKPT_ASSERT_OK(saver->Wait());
  ExpectCheckpointHolds(Path("model-1"), original);

  trap.Arm(m.bias.bytes(), AppendTrapEnv::Action::kHold);  // staged
  auto save2 = std::async(std::launch::async, [&] { return saver->Save(Path("model"), Step(2)); });
  const bool returned = save2.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  if (!returned) trap.Release();
  ASSERT_TRUE(returned) << "Save() waited for a staged variable";
  CKPT_ASSERT_OK(save2.get().status());
  trap.WaitUntilHeld();
  m.Perturb();
  trap.Release();
  CKPT_ASSERT_OK(saver->Wait());
  ExpectCheckpointHolds(Path("model-2"), original);
}

// An error while the direct variables are written is returned by that Save()
// (once) and leaves no checkpoint; one after them comes from the next call.
TEST_F(AsyncSaverTest, ErrorWhileWritingDirectVariablesComesFromSave) {
  Model m;
  AppendTrapEnv trap(t_.env);
  auto saver = MakeAsync(m.Vars(), Options(&trap), 2, /*budget=*/60);
  CKPT_ASSERT_OK(saver->SaveAndWait(Path("model"), Step(1)).status());

  trap.Arm(m.scalar.bytes(), AppendTrapEnv::Action::kFail);  // direct
  EXPECT_THAT(saver->Save(Path("model"), Step(2)),
              StatusIs(StatusCode::kIoError, "injected failure appending to"));
  EXPECT_TRUE(trap.triggered());
  CKPT_EXPECT_OK(saver->Wait());  // reported once
  for (const std::string& f : ListDir(t_.env, t_.root)) {
    EXPECT_EQ(f.rfind("model-2", 0), std::string::npos) << f;
  }
  auto state = GetCheckpointState(t_.env, t_.root);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->model_checkpoint_path, Path("model-1"));

  trap.Arm(m.bias.bytes(), AppendTrapEnv::Action::kFail);  // staged
  CKPT_ASSERT_OK(saver->Save(Path("model"), Step(3)).status());
  EXPECT_THAT(saver->Wait(), StatusIs(StatusCode::kIoError, "injected failure appending to"));
  EXPECT_TRUE(trap.triggered());
  EXPECT_FALSE(t_.env->FileExists(Path("model-3.index")));

  trap.Release();
  CKPT_ASSERT_OK(saver->SaveAndWait(Path("model"), Step(4)).status());
  EXPECT_THAT(saver->last_checkpoints(), ElementsAre(Path("model-1"), Path("model-4")));
}

// With a bundle_writer the saver cannot see the direct variables written:
// Save() waits for the whole save and returns its outcome.
TEST_F(AsyncSaverTest, WithABundleWriterSaveWaitsForTheWholeSave) {
  Model m;
  SaverOptions o = Options(t_.env);
  bool fail = false;
  o.bundle_writer = [&](const std::string& prefix, const VarList& vars) -> Status {
    // A Save() that does not wait returns while this sleeps.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (fail) return IoError("bundle_writer failed");
    BundleWriterOptions wo;
    wo.env = t_.env;
    CKPT_ASSIGN_OR_RETURN(auto w, BundleWriter::Create(prefix, wo));
    for (const SaveableTensor& v : vars) {
      CKPT_RETURN_IF_ERROR(v.full_shape ? w->AddSlice(v.name, *v.full_shape, v.slice, *v.tensor)
                                        : w->Add(v.name, *v.tensor));
    }
    return w->Finish();
  };
  auto saver = MakeAsync(m.Vars(), o, 2, /*budget=*/0);
  CKPT_ASSERT_OK(saver->Save(Path("model"), Step(1)).status());
  auto state = GetCheckpointState(t_.env, t_.root);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->model_checkpoint_path, Path("model-1"));
  fail = true;
  EXPECT_THAT(saver->Save(Path("model"), Step(2)),
              StatusIs(StatusCode::kIoError, "bundle_writer failed"));
  CKPT_EXPECT_OK(saver->Wait());
}

}  // namespace
}  // namespace ckpt
