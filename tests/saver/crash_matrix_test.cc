// The crash matrix (docs/reliability_crash_matrix.md): every way ckpt saves
// -- a Saver save (one bundle and sharded, retention deleting), an Estimator
// training run that checkpoints, a CheckpointManager save with retention, a
// MergeBundles -- is killed at each of its file operations in turn, then the
// power fails.
//
// A dry run counts the phase's N file operations (FaultInjectionEnv in kCrash
// mode: creations, appends, flushes, syncs, closes, renames, deletions,
// directory operations) and records each commit: the state file made durable
// by a directory sync, with the tensors of every checkpoint it names. Then for
// every k in 1..N the phase runs again with operation k and all later ones
// failing (the process is dead: not even cleanup reaches the disk), then
// either the MemEnv drops what was not synced (a power loss) or not (only the
// process died), and a restarted "process" (new objects over the same
// MemEnv) must find
//   (a) the newest committed checkpoint -- the one the durable (without a
//       power loss: the last renamed) state file named before the crash
//       point -- and restore exactly its values;
//   (b) every checkpoint that state names whole (VerifyCheckpoint, values),
//       and every .index on disk whole (nothing half-written looks
//       committed);
//   (c) a next save succeeding, surviving another power loss, and no
//       leftovers of the crash after it.
// Temporary file names are never assumed: the assertions are about committed
// checkpoints, FindLeftovers and what verifies.
//
// crash_safety_test covers IO errors the process survives (its cleanup
// runs); this matrix covers the process dying.
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checkpoint/leftovers.h"
#include "ckpt/bundle.h"
#include "ckpt/checkpoint_manager.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/estimator.h"
#include "ckpt/logging.h"
#include "ckpt/object_checkpoint.h"
#include "ckpt/run_config.h"
#include "ckpt/saver.h"
#include "ckpt/verify.h"
#include "estimator/toy_model.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::FakeClockEnv;

// The .meta ordering: Saver::Save writes and syncs the .meta before the
// state file names the checkpoint (docs/format/commit.md), so a committed
// checkpoint always has its .meta. (TensorFlow's order, state file first,
// left a committed checkpoint without its .meta at 9-18 crash points per
// scenario; set this to false to count such points instead of failing.)
constexpr bool kMetaDurableBeforeState = true;

using Values = std::map<std::string, Tensor>;  // checkpoint key -> tensor

int64_t StepOf(const std::string& prefix) {
  return std::stoll(prefix.substr(prefix.rfind('-') + 1));
}

Result<Values> ReadAll(Env* env, const std::string& prefix) {
  CheckpointReaderOptions o;
  o.env = env;
  CKPT_ASSIGN_OR_RETURN(auto reader, CheckpointReader::Open(prefix, o));
  Values out;
  for (const VariableInfo& v : reader->variables()) {
    CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(v.name));
    out.emplace(v.name, std::move(t));
  }
  return out;
}

::testing::AssertionResult SameValues(const Values& got, const Values& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << got.size() << " tensors, want " << want.size();
  }
  for (const auto& [key, t] : want) {
    auto it = got.find(key);
    if (it == got.end()) return ::testing::AssertionFailure() << "no tensor " << key;
    if (!it->second.Equals(t)) {
      return ::testing::AssertionFailure() << key << " differs (" << DataTypeName(t.dtype())
                                           << " " << t.shape().DebugString() << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

// `prefix` verifies and holds exactly `want`.
::testing::AssertionResult HoldsValues(Env* env, const std::string& prefix, const Values& want) {
  Status v = VerifyCheckpoint(env, prefix);
  if (!v.ok()) return ::testing::AssertionFailure() << prefix << ": " << v.ToString();
  auto got = ReadAll(env, prefix);
  if (!got.ok()) return ::testing::AssertionFailure() << prefix << ": " << got.status().ToString();
  return SameValues(*got, want) << " in " << prefix;
}

// Every "<prefix>.index" in `dir` and its subdirectories, except in the
// leftovers of interrupted saves (FindLeftovers, given the checkpoints'
// `basename`), verifies: a file that looks like a committed checkpoint is
// never half-written.
void ExpectEveryIndexVerifies(Env* env, const std::string& dir, const std::string& basename) {
  auto leftovers = FindLeftovers(env, dir, basename);
  ASSERT_TRUE(leftovers.ok()) << leftovers.status().ToString();
  const std::set<std::string> skip(leftovers->begin(), leftovers->end());
  for (const std::string& name : ListDir(env, dir)) {
    const std::string path = JoinPath(dir, name);
    if (skip.count(path) || skip.count(path + "/")) continue;
    if (env->IsDirectory(path)) {
      ExpectEveryIndexVerifies(env, path, basename);
    } else if (name.size() > 6 && name.compare(name.size() - 6, 6, ".index") == 0) {
      const std::string prefix = path.substr(0, path.size() - 6);
      CKPT_EXPECT_OK(VerifyCheckpoint(env, prefix));
    }
  }
}

// Discards ckpt's log lines while the matrix runs (hundreds of saves).
class QuietLogs {
 public:
  QuietLogs() : old_(SetLogSink({})) {}
  ~QuietLogs() { SetLogSink(old_); }

 private:
  LogSink old_;
};

bool NotEventFile(const std::string& path) {
  return path.find("events.out.tfevents") == std::string::npos;
}

// One scenario: a history written before the crash, the phase that crashes,
// and what a restarted process does.
class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual std::string name() const = 0;
  // The directory of the state file and checkpoints.
  virtual std::string dir() const = 0;
  // Checkpoint file name stem, for FindLeftovers ("model.ckpt", "ckpt").
  virtual std::string basename() const = 0;
  virtual bool writes_meta() const { return false; }
  // Which paths the operation count includes (see FaultInjectionEnv).
  virtual bool Counted(const std::string& path) const { return true; }
  // Writes the checkpoints that exist before the crashing phase.
  virtual void Setup(MemEnv* mem) = 0;
  // The phase crashed at each operation (all its IO through `env`).
  virtual Status Crashing(Env* env) = 0;
  // A restarted process over `mem`: restores, checks that it restored
  // `newest` with values `want` (gtest assertions), saves once more through
  // the same API and returns the new checkpoint's prefix.
  virtual Result<std::string> Restart(MemEnv* mem, const std::string& newest,
                                      const Values& want) = 0;
};

// A commit: a state file made durable.
struct Commit {
  int op = 0;  // the operation that made it durable; 0 = before the phase
  CheckpointState state;
};

bool SameState(const CheckpointState& a, const CheckpointState& b) {
  return a.model_checkpoint_path == b.model_checkpoint_path &&
         a.all_model_checkpoint_paths == b.all_model_checkpoint_paths;
}

// What the dry run learns.
struct Oracle {
  int operations = 0;
  std::vector<std::string> log;  // log[i] describes operation i + 1
  // State files in order, the first being the one before the phase: as
  // readers saw them (changed by a rename) and as made durable (by a sync of
  // their directory).
  std::vector<Commit> visible, durable;
  std::map<std::string, Values> values;  // every committed checkpoint, read at its commit

  // The state file after a crash at operation k (operations 1..k-1 done),
  // followed by a power loss or not.
  const Commit& At(int k, bool power_loss) const {
    const std::vector<Commit>& commits = power_loss ? durable : visible;
    const Commit* c = &commits.front();
    for (const Commit& x : commits) {
      if (x.op < k) c = &x;
    }
    return *c;
  }
};

// Appends the state file to `commits` (and records the values of
// checkpoints it names for the first time) if it differs from the last one.
void RecordCommit(MemEnv* mem, const std::string& dir, int op, std::vector<Commit>* commits,
                  std::map<std::string, Values>* values) {
  auto state = GetCheckpointState(mem, dir);
  if (!state.ok()) return;
  if (!commits->empty() && SameState(commits->back().state, *state)) return;
  commits->push_back({op, *state});
  for (const std::string& p : state->all_model_checkpoint_paths) {
    if (values->count(p)) continue;
    auto v = ReadAll(mem, p);
    ASSERT_TRUE(v.ok()) << "committed " << p << ": " << v.status().ToString();
    values->emplace(p, std::move(*v));
  }
}

void DryRun(Scenario& sc, Oracle* oracle) {
  auto mem = NewMemEnv();
  sc.Setup(mem.get());
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  RecordCommit(mem.get(), sc.dir(), 0, &oracle->visible, &oracle->values);
  RecordCommit(mem.get(), sc.dir(), 0, &oracle->durable, &oracle->values);
  ASSERT_EQ(oracle->durable.size(), 1u) << "the history must commit a checkpoint";
  FaultInjectionEnv env(mem.get(), FaultInjectionEnv::Mode::kCrash);
  env.set_counted([&sc](const std::string& p) { return sc.Counted(p); });
  env.set_observer([&](int op, const std::string& what) {
    oracle->log.push_back(what);
    RecordCommit(mem.get(), sc.dir(), op, &oracle->visible, &oracle->values);
    // A state file becomes durable when its directory is synced.
    if (what == "sync dir " + sc.dir()) {
      RecordCommit(mem.get(), sc.dir(), op, &oracle->durable, &oracle->values);
    }
  });
  CKPT_ASSERT_OK(sc.Crashing(&env));
  oracle->operations = env.operations();
  ASSERT_EQ(oracle->log.size(), static_cast<size_t>(oracle->operations));
  ASSERT_GT(oracle->durable.size(), 1u) << "the phase must commit a checkpoint";
  ASSERT_EQ(oracle->visible.size(), oracle->durable.size());
}

// Crashes `sc` at every operation, each crash followed by a power loss
// (MemEnv::DropUnsyncedData) or not (the process died, the machine did
// not); returns the number of crash points.
int RunMatrix(Scenario& sc, bool power_loss) {
  const std::string name = sc.name() + (power_loss ? ", power loss" : ", process crash");
  QuietLogs quiet;
  Oracle oracle;
  DryRun(sc, &oracle);
  if (::testing::Test::HasFatalFailure()) return 0;
  const int n = oracle.operations;
  int meta_missing = 0;  // crash points leaving a committed checkpoint without .meta
  int past_commit = 0;   // crash points after the phase's first commit
  int stale_entries = 0;  // crash points whose state file names a checkpoint retention deleted
  for (int k = 1; k <= n; ++k) {
    SCOPED_TRACE(name + ": crash at operation " + std::to_string(k) + " of " +
                 std::to_string(n) + " (" + oracle.log[k - 1] + ")");
    auto mem = NewMemEnv();
    sc.Setup(mem.get());
    if (::testing::Test::HasFatalFailure()) return n;
    {
      FaultInjectionEnv env(mem.get(), FaultInjectionEnv::Mode::kCrash);
      env.set_counted([&sc](const std::string& p) { return sc.Counted(p); });
      env.FailAfter(k - 1);
      sc.Crashing(&env).IgnoreError();  // it may fail, or not notice a late crash
      EXPECT_TRUE(env.failed());
      EXPECT_GE(env.operations(), k) << "the phase is not deterministic";
    }
    if (power_loss) mem->DropUnsyncedData();

    // (a) The state file is the last durable (or, without a power loss,
    // visible) one: the newest committed checkpoint is the one it named
    // before the crash point.
    const Commit& want = oracle.At(k, power_loss);
    if (want.op > 0) ++past_commit;
    auto state = GetCheckpointState(mem.get(), sc.dir());
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    if (!state.ok()) return n;
    EXPECT_EQ(state->model_checkpoint_path, want.state.model_checkpoint_path);
    EXPECT_EQ(state->all_model_checkpoint_paths, want.state.all_model_checkpoint_paths);
    // (b) Nothing committed is lost: every checkpoint it names is whole,
    // except one whose deletion by retention had begun before the crash.
    std::set<std::string> retiring;
    for (int op = 1; op < k; ++op) {
      const std::string& what = oracle.log[op - 1];
      if (what.rfind("delete ", 0) == 0 && what.size() > 13 &&
          what.compare(what.size() - 6, 6, ".index") == 0) {
        retiring.insert(what.substr(7, what.size() - 13));
      }
    }
    bool no_meta = false, stale = false;
    for (const std::string& p : want.state.all_model_checkpoint_paths) {
      if (retiring.count(p) && p != want.state.model_checkpoint_path &&
          !mem->FileExists(MetaFilename(p))) {
        // Retention had deleted it, but the state file rewritten without it
        // was not there yet: CheckpointManager writes the state file before
        // and after its sweep, as TensorFlow's does (documented in
        // src/saver/checkpoint_manager.cc). Not a loss: retention had dropped
        // it. The newest checkpoint is never swept.
        stale = true;
        continue;
      }
      EXPECT_TRUE(HoldsValues(mem.get(), p, oracle.values.at(p)));
      if (sc.writes_meta() && !mem->FileExists(MetaGraphFilename(p))) {
        no_meta = true;
        // See kMetaDurableBeforeState.
        if (kMetaDurableBeforeState) ADD_FAILURE() << "committed " << p << " has no .meta";
      }
    }
    meta_missing += no_meta;
    stale_entries += stale;
    auto verified = NewestVerifiedCheckpoint(mem.get(), sc.dir());
    EXPECT_TRUE(verified.ok()) << verified.status().ToString();
    if (verified.ok()) EXPECT_EQ(*verified, want.state.model_checkpoint_path);
    ExpectEveryIndexVerifies(mem.get(), sc.dir(), sc.basename());

    // (a) and (c): a restarted process restores it and saves again.
    const std::string& newest = want.state.model_checkpoint_path;
    auto next = sc.Restart(mem.get(), newest, oracle.values.at(newest));
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok() || ::testing::Test::HasFatalFailure()) return n;
    auto next_values = ReadAll(mem.get(), *next);
    EXPECT_TRUE(next_values.ok()) << next_values.status().ToString();
    if (!next_values.ok()) return n;
    auto leftovers = FindLeftovers(mem.get(), sc.dir(), sc.basename());
    EXPECT_TRUE(leftovers.ok());
    if (leftovers.ok()) EXPECT_THAT(*leftovers, ::testing::IsEmpty());
    mem->DropUnsyncedData();  // and fails again
    auto after = GetCheckpointState(mem.get(), sc.dir());
    EXPECT_TRUE(after.ok()) << after.status().ToString();
    if (after.ok()) EXPECT_EQ(after->model_checkpoint_path, *next);
    EXPECT_TRUE(HoldsValues(mem.get(), *next, *next_values));
    if (sc.writes_meta()) EXPECT_TRUE(mem->FileExists(MetaGraphFilename(*next))) << *next;
    ExpectEveryIndexVerifies(mem.get(), sc.dir(), sc.basename());
  }
  if (sc.writes_meta()) {
    if (kMetaDurableBeforeState) {
      EXPECT_EQ(meta_missing, 0);
    } else {
      // The known issue is still there (see kMetaDurableBeforeState).
      EXPECT_GT(meta_missing, 0) << "the .meta is now durable before the state file: set "
                                    "kMetaDurableBeforeState = true";
      std::cout << "[crash matrix] " << name << ": KNOWN ISSUE, " << meta_missing
                << " crash points leave a committed checkpoint without its .meta\n";
    }
  }
  EXPECT_GT(past_commit, 0);
  if (stale_entries > 0) {
    std::cout << "[crash matrix] " << name << ": " << stale_entries
              << " crash points leave the state file naming a checkpoint retention deleted "
                 "(TensorFlow's CheckpointManager order)\n";
  }
  ::testing::Test::RecordProperty(power_loss ? "crash_points_power_loss" : "crash_points_process_crash", n);
  std::cout << "[crash matrix] " << name << ": " << n << " crash points, "
            << oracle.durable.size() - 1 << " state-file commits in the phase, "
            << (::testing::Test::HasFailure() ? "FAILED" : "all passed") << "\n";
  return n;
}

// ---------------------------------------------------------------------------
// Saver: steps 1..3 saved with max_to_keep = 2, then step 4 (deleting step 2)
// crashes. Tensors derive from the step; a .meta is written per checkpoint.

constexpr char kSaverDir[] = "/train";

struct StepModel {
  Tensor step = Tensor::Scalar<int64_t>(0);
  std::vector<Tensor> values;
  StepModel() {
    for (int i = 0; i < 2; ++i) {
      values.push_back(Tensor::Allocate(DataType::kInt64, TensorShape({5})).value());
    }
  }
  void Fill(int64_t s) {
    *step.mutable_flat<int64_t>() = s;
    for (int i = 0; i < 2; ++i) {
      int64_t* v = values[i].mutable_flat<int64_t>();
      for (int64_t j = 0; j < 5; ++j) v[j] = s * 1000 + i * 10 + j;
    }
  }
  VarList Vars(bool sharded) {
    VarList vars;
    vars.push_back({"step", &step, std::nullopt, {}, sharded ? "/cpu:0" : ""});
    for (int i = 0; i < 2; ++i) {
      vars.push_back({"v" + std::to_string(i), &values[i], std::nullopt, {},
                      sharded ? "/cpu:" + std::to_string(i) : ""});
    }
    return vars;
  }
};

class SaverScenario : public Scenario {
 public:
  explicit SaverScenario(bool sharded) : sharded_(sharded) {}
  std::string name() const override { return sharded_ ? "Saver (sharded)" : "Saver"; }
  std::string dir() const override { return kSaverDir; }
  std::string basename() const override { return "model.ckpt"; }
  bool writes_meta() const override { return true; }

  void Setup(MemEnv* mem) override {
    CKPT_ASSERT_OK(mem->CreateDirs(kSaverDir));
    CKPT_ASSERT_OK_AND_ASSIGN(auto saver, MakeSaver(mem, &model_));
    for (int64_t s = 1; s <= 3; ++s) CKPT_ASSERT_OK(Save(saver.get(), &model_, s).status());
  }
  Status Crashing(Env* env) override {
    // A restarted saver picks up the existing checkpoints, as TF's does.
    CKPT_ASSIGN_OR_RETURN(auto saver, MakeSaver(env, &model_));
    CKPT_ASSIGN_OR_RETURN(CheckpointState state, GetCheckpointState(env, kSaverDir));
    CKPT_RETURN_IF_ERROR(saver->RecoverLastCheckpoints(state.all_model_checkpoint_paths));
    return Save(saver.get(), &model_, 4).status();
  }
  Result<std::string> Restart(MemEnv* mem, const std::string& newest,
                              const Values& want) override {
    StepModel model;
    CKPT_ASSIGN_OR_RETURN(auto saver, MakeSaver(mem, &model));
    CKPT_ASSIGN_OR_RETURN(CheckpointState state, GetCheckpointState(mem, kSaverDir));
    CKPT_RETURN_IF_ERROR(saver->RecoverLastCheckpoints(state.all_model_checkpoint_paths));
    CKPT_RETURN_IF_ERROR(saver->Restore(state.model_checkpoint_path));
    EXPECT_EQ(state.model_checkpoint_path, newest);
    EXPECT_TRUE(SameValues({{"step", model.step}, {"v0", model.values[0]},
                            {"v1", model.values[1]}},
                           want));
    return Save(saver.get(), &model, *model.step.flat<int64_t>() + 1);
  }

 private:
  Result<std::unique_ptr<Saver>> MakeSaver(Env* env, StepModel* model) {
    SaverOptions o;
    o.env = env;
    o.max_to_keep = 2;
    o.sharded = sharded_;
    o.shard_write_threads = 1;  // one operation order: the count is deterministic
    o.log_saves = false;
    o.meta_graph_writer = [env](const std::string& path) {
      return WriteStringToFileAtomic(env, path, "a meta graph");
    };
    return Saver::Create(model->Vars(sharded_), o);
  }
  static Result<std::string> Save(Saver* saver, StepModel* model, int64_t step) {
    model->Fill(step);
    SaveArgs args;
    args.global_step = step;
    return saver->Save(JoinPath(kSaverDir, "model.ckpt"), args);
  }

  bool sharded_;
  StepModel model_;
};

TEST(CrashMatrixTest, Saver) {
  SaverScenario sc(/*sharded=*/false);
  for (bool power_loss : {true, false}) EXPECT_GT(RunMatrix(sc, power_loss), 10);
}

TEST(CrashMatrixTest, SaverSharded) {
  SaverScenario sc(/*sharded=*/true);
  for (bool power_loss : {true, false}) EXPECT_GT(RunMatrix(sc, power_loss), 10);
}

// ---------------------------------------------------------------------------
// Estimator: the toy model trains 5 steps (checkpoints 1, 5 with
// save_checkpoints_steps = 5, keep_checkpoint_max = 2), then a new Estimator
// trains 5 more (checkpoints 6 and 10, each deleting an old one and writing a
// .meta) and crashes somewhere in them.

constexpr char kEstimatorDir[] = "/mem/est";

class EstimatorScenario : public Scenario {
 public:
  std::string name() const override { return "Estimator"; }
  std::string dir() const override { return kEstimatorDir; }
  std::string basename() const override { return "model.ckpt"; }
  bool writes_meta() const override { return true; }
  // Event files are written by a background thread.
  bool Counted(const std::string& path) const override { return NotEventFile(path); }

  void Setup(MemEnv* mem) override { CKPT_ASSERT_OK(Train(mem, 5).status()); }
  Status Crashing(Env* env) override { return Train(env, 5).status(); }
  Result<std::string> Restart(MemEnv* mem, const std::string& newest,
                              const Values& want) override {
    {
      FakeClockEnv clock(mem);
      CKPT_ASSIGN_OR_RETURN(auto est, Make(&clock));
      EXPECT_EQ(est->LatestCheckpoint(), newest);
      for (const auto& [key, t] : want) {
        auto got = est->GetVariableValue(key);
        EXPECT_TRUE(got.ok() && got->Equals(t)) << key;
      }
    }
    CKPT_ASSIGN_OR_RETURN(TrainResult r, Train(mem, 2));
    // Training resumed from the restored global_step.
    EXPECT_EQ(r.global_step, StepOf(newest) + 2);
    return JoinPath(kEstimatorDir, "model.ckpt-" + std::to_string(r.global_step));
  }

 private:
  static Result<std::unique_ptr<Estimator>> Make(FakeClockEnv* clock) {
    RunConfigOptions rc;
    rc.model_dir = kEstimatorDir;
    rc.save_checkpoints_steps = 5;
    rc.keep_checkpoint_max = 2;
    EstimatorOptions o;
    testing::ToyConfig toy;
    toy.clock = clock;
    o.model_fn = testing::ToyModelFn(toy);
    CKPT_ASSIGN_OR_RETURN(RunConfig config, RunConfig::Create(rc));
    o.config = config;
    o.env = clock;
    o.hostname = "testhost";
    return Estimator::Create(std::move(o));
  }
  static Result<TrainResult> Train(Env* env, int64_t steps) {
    FakeClockEnv clock(env);
    CKPT_ASSIGN_OR_RETURN(auto est, Make(&clock));
    TrainOptions t;
    t.steps = steps;
    return est->Train(testing::ToyInput(), t);
  }
};

TEST(CrashMatrixTest, Estimator) {
  EstimatorScenario sc;
  for (bool power_loss : {true, false}) EXPECT_GT(RunMatrix(sc, power_loss), 30);
}

// ---------------------------------------------------------------------------
// CheckpointManager: an ObjectCheckpoint with one variable saved 3 times with
// max_to_keep = 2, then a restarted process restores and saves a 4th
// (deleting ckpt-2), crashing.

constexpr char kManagerDir[] = "/cm";
constexpr char kWeightKey[] = "w/.ATTRIBUTES/VARIABLE_VALUE";

Tensor WeightFor(int64_t counter) {
  std::vector<float> v;
  for (int j = 0; j < 4; ++j) v.push_back(static_cast<float>(counter * 10 + j));
  return Tensor::FromVector<float>(TensorShape({4}), v);
}

// One "process": the object tree and its manager.
struct ManagerProcess {
  std::shared_ptr<Variable> w = Variable::Create(WeightFor(0));
  std::unique_ptr<ObjectCheckpoint> root;
  std::unique_ptr<CheckpointManager> manager;

  Status Open(Env* env) {
    ObjectCheckpointOptions oo;
    oo.env = env;
    root = std::make_unique<ObjectCheckpoint>(
        std::map<std::string, std::shared_ptr<Trackable>>{{"w", w}}, oo);
    CheckpointManagerOptions mo;
    mo.env = env;
    mo.max_to_keep = 2;
    CKPT_ASSIGN_OR_RETURN(manager, CheckpointManager::Create(root.get(), kManagerDir, mo));
    return manager->RestoreOrInitialize().status();
  }
  int64_t counter() const {
    auto c = root->save_counter();
    return c ? *c->value().flat<int64_t>() : 0;
  }
  Result<std::string> Save() {
    CKPT_RETURN_IF_ERROR(w->Assign(WeightFor(counter() + 1)));
    return manager->Save();
  }
};

class ManagerScenario : public Scenario {
 public:
  std::string name() const override { return "CheckpointManager"; }
  std::string dir() const override { return kManagerDir; }
  std::string basename() const override { return "ckpt"; }

  void Setup(MemEnv* mem) override {
    CKPT_ASSERT_OK(mem->CreateDirs(kManagerDir));
    ManagerProcess p;
    CKPT_ASSERT_OK(p.Open(mem));
    for (int i = 0; i < 3; ++i) CKPT_ASSERT_OK(p.Save().status());
  }
  Status Crashing(Env* env) override {
    ManagerProcess p;
    CKPT_RETURN_IF_ERROR(p.Open(env));
    return p.Save().status();
  }
  Result<std::string> Restart(MemEnv* mem, const std::string& newest,
                              const Values& want) override {
    ManagerProcess p;
    CKPT_RETURN_IF_ERROR(p.Open(mem));
    EXPECT_EQ(p.manager->latest_checkpoint(), newest);
    EXPECT_EQ(p.counter(), StepOf(newest));
    EXPECT_TRUE(p.w->value().Equals(want.at(kWeightKey)));
    return p.Save();
  }
};

TEST(CrashMatrixTest, CheckpointManager) {
  ManagerScenario sc;
  for (bool power_loss : {true, false}) EXPECT_GT(RunMatrix(sc, power_loss), 10);
}

// ---------------------------------------------------------------------------
// MergeBundles: two per-device bundles in "<P>_temp/" (as a sharded save
// leaves them) merged into P. There is no state file: the commit point is
// P.index made durable. Before it the sources must be whole, after it P.

TEST(CrashMatrixTest, MergeBundles) {
  QuietLogs quiet;
  const std::string merged = "/m/model";
  const std::vector<std::string> parts = {"/m/model_temp/part-00000-of-00002",
                                          "/m/model_temp/part-00001-of-00002"};
  const std::vector<Values> part_values = {
      {{"a", testing::MakeTestTensor(DataType::kFloat, TensorShape({3, 2}), 1)},
       {"b", testing::MakeTestTensor(DataType::kString, TensorShape({2}), 2)}},
      {{"c", testing::MakeTestTensor(DataType::kInt64, TensorShape({4}), 3)}}};
  Values all;
  for (const Values& v : part_values) all.insert(v.begin(), v.end());
  auto setup = [&](MemEnv* mem) {
    CKPT_ASSERT_OK(mem->CreateDirs("/m/model_temp"));
    for (size_t i = 0; i < parts.size(); ++i) {
      BundleWriterOptions o;
      o.env = mem;
      CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(parts[i], o));
      for (const auto& [k, t] : part_values[i]) CKPT_ASSERT_OK(w->Add(k, t));
      CKPT_ASSERT_OK(w->Finish());
    }
  };

  // Dry run: P.index appears with its rename (visible) and is durable once
  // its directory is synced.
  int n = 0, visible_op = 0, durable_op = 0;
  std::vector<std::string> log;
  {
    auto mem = NewMemEnv();
    setup(mem.get());
    ASSERT_FALSE(HasFatalFailure());
    FaultInjectionEnv env(mem.get(), FaultInjectionEnv::Mode::kCrash);
    env.set_observer([&](int op, const std::string& what) {
      log.push_back(what);
      if (!mem->FileExists(MetaFilename(merged))) return;
      if (visible_op == 0) visible_op = op;
      if (durable_op == 0 && what == "sync dir /m") durable_op = op;
    });
    CKPT_ASSERT_OK(MergeBundles(&env, parts, merged));
    n = env.operations();
  }
  ASSERT_GT(visible_op, 0);
  ASSERT_GT(durable_op, 0);
  for (bool power_loss : {true, false}) {
    const std::string name =
        std::string("MergeBundles, ") + (power_loss ? "power loss" : "process crash");
    int sources_broken = 0;
    for (int k = 1; k <= n; ++k) {
      SCOPED_TRACE(name + ": crash at operation " + std::to_string(k) + " of " +
                   std::to_string(n) + " (" + log[k - 1] + ")");
      auto mem = NewMemEnv();
      setup(mem.get());
      {
        FaultInjectionEnv env(mem.get(), FaultInjectionEnv::Mode::kCrash);
        env.FailAfter(k - 1);
        MergeBundles(&env, parts, merged).IgnoreError();
        EXPECT_TRUE(env.failed());
      }
      if (power_loss) mem->DropUnsyncedData();
      const bool committed = k > (power_loss ? durable_op : visible_op);
      // P.index is there exactly once committed, and then whole.
      EXPECT_EQ(mem->FileExists(MetaFilename(merged)), committed);
      if (committed) EXPECT_TRUE(HoldsValues(mem.get(), merged, all));
      bool sources_whole = true;
      for (size_t i = 0; i < parts.size(); ++i) {
        sources_whole = sources_whole && HoldsValues(mem.get(), parts[i], part_values[i]);
      }
      if (!committed && !sources_whole) {
        // KNOWN LIMITATION (as TensorFlow's MergeV2Checkpoints): data files
        // are moved, not copied, so a process that dies between the first
        // move and the publication of P.index leaves neither P nor whole
        // sources. A power loss undoes the unsynced moves (MemEnv; a real
        // file system may keep them). The Saver's sharded save is
        // unaffected: its sources are temporary and its commit point is the
        // state file (the Saver scenarios above).
        ++sources_broken;
        EXPECT_FALSE(power_loss);
      }
      // The sources are the caller's bundles in a folder of its own (not
      // ckpt's temporaries): once their data files moved, their indexes are
      // stale until the merge removes them, which only a whole source avoids.
      if (sources_whole) ExpectEveryIndexVerifies(mem.get(), "/m", "model");
      // A restarted process merges again if the merge had not committed.
      if (!committed && sources_whole) CKPT_EXPECT_OK(MergeBundles(mem.get(), parts, merged));
      if (!committed && !sources_whole) continue;
      // Without a power loss a committed merge may not be durable yet, and
      // nobody syncs it after the crash.
      if (!power_loss && committed) continue;
      mem->DropUnsyncedData();
      EXPECT_TRUE(HoldsValues(mem.get(), merged, all));
      ExpectEveryIndexVerifies(mem.get(), "/m", "model");
    }
    RecordProperty(power_loss ? "crash_points_power_loss" : "crash_points_process_crash", n);
    std::cout << "[crash matrix] " << name << ": " << n << " crash points (commit at operation "
              << (power_loss ? durable_op : visible_op) << "), "
              << (HasFailure() ? "FAILED" : "all passed");
    if (sources_broken > 0) {
      std::cout << "; KNOWN LIMITATION: " << sources_broken
                << " crash points leave neither the merged bundle nor whole sources";
    }
    std::cout << "\n";
  }
}

}  // namespace
}  // namespace ckpt
