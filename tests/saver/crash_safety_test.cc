// Crash safety of saves (docs/format/commit.md): a save that fails at any
// write, sync or rename, optionally followed by a simulated power loss
// (MemEnv::DropUnsyncedData), never costs the previous checkpoint, never
// leaves the state file naming a partial checkpoint, and the next save
// removes what it left behind.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/saver.h"
#include "ckpt/verify.h"
#include "checkpoint/leftovers.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::ListDir;

constexpr char kDir[] = "/train";
constexpr int kElems = 97;

int64_t StepOf(const std::string& prefix) {
  return std::stoll(prefix.substr(prefix.rfind('-') + 1));
}

int64_t ValueAt(int64_t step, int tensor, int64_t j) { return step * 100003 + tensor * 1009 + j; }

// Two int64 tensors whose values are derived from the step.
struct Model {
  Tensor step = Tensor::Scalar<int64_t>(0);
  std::vector<Tensor> values;
  explicit Model(int64_t elems) {
    for (int i = 0; i < 2; ++i) {
      values.push_back(Tensor::Allocate(DataType::kInt64, TensorShape({elems})).value());
    }
  }
  void Fill(int64_t s) {
    *step.mutable_flat<int64_t>() = s;
    for (int i = 0; i < 2; ++i) {
      int64_t* v = values[i].mutable_flat<int64_t>();
      for (int64_t j = 0; j < values[i].num_elements(); ++j) v[j] = ValueAt(s, i, j);
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

// Reads every tensor of `prefix` and checks it against the step in its name.
::testing::AssertionResult HoldsItsStep(Env* env, const std::string& prefix) {
  Status v = VerifyCheckpoint(env, prefix);
  if (!v.ok()) return ::testing::AssertionFailure() << v.ToString();
  CheckpointReaderOptions o;
  o.env = env;
  auto reader = CheckpointReader::Open(prefix, o);
  if (!reader.ok()) return ::testing::AssertionFailure() << reader.status().ToString();
  const int64_t s = StepOf(prefix);
  auto step = (*reader)->GetTensor("step");
  if (!step.ok() || *step->flat<int64_t>() != s) {
    return ::testing::AssertionFailure() << prefix << ": bad \"step\"";
  }
  for (int i = 0; i < 2; ++i) {
    auto t = (*reader)->GetTensor("v" + std::to_string(i));
    if (!t.ok()) return ::testing::AssertionFailure() << t.status().ToString();
    for (int64_t j = 0; j < t->num_elements(); ++j) {
      if (t->flat<int64_t>()[j] != ValueAt(s, i, j)) {
        return ::testing::AssertionFailure() << prefix << ": v" << i << "[" << j << "] is "
                                             << t->flat<int64_t>()[j];
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// Names in kDir that only an interrupted save leaves.
std::vector<std::string> TempNames(Env* env) {
  std::vector<std::string> out;
  for (const std::string& name : ListDir(env, kDir)) {
    if (name.find(".ckpt-tmp.") != std::string::npos ||
        name.find("_temp") != std::string::npos) {
      out.push_back(name);
    }
  }
  return out;
}

struct Scenario {
  bool sharded;
  bool drop_unsynced;  // power loss (true) or process crash (false)
};

std::string ScenarioName(const ::testing::TestParamInfo<Scenario>& info) {
  return std::string(info.param.sharded ? "Sharded" : "Single") +
         (info.param.drop_unsynced ? "PowerLoss" : "ProcessCrash");
}

class SaverCrashTest : public ::testing::TestWithParam<Scenario> {
 protected:
  // Saves steps 1..3 cleanly, then step 4 with every operation after the
  // first `fail_after` failing. Returns whether save 4 succeeded.
  bool SaveWithFault(MemEnv* mem, FaultInjectionEnv* fault, int fail_after) {
    EXPECT_TRUE(mem->CreateDirs(kDir).ok());
    Model model(kElems);
    SaverOptions o;
    o.env = fault;
    o.max_to_keep = 2;
    o.sharded = GetParam().sharded;
    auto saver = Saver::Create(model.Vars(o.sharded), o);
    EXPECT_TRUE(saver.ok()) << saver.status().ToString();
    SaveArgs args;
    for (int64_t s = 1; s <= 3; ++s) {
      model.Fill(s);
      args.global_step = s;
      auto r = (*saver)->Save(JoinPath(kDir, "model.ckpt"), args);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
    model.Fill(4);
    args.global_step = 4;
    fault->FailAfter(fail_after);
    auto r = (*saver)->Save(JoinPath(kDir, "model.ckpt"), args);
    fault->FailAfter(-1);
    return r.ok();
  }
};

TEST_P(SaverCrashTest, FailureAtEveryOperationLosesNothingCommitted) {
  // Count the operations of saves 1..4 done cleanly.
  int total = 0;
  {
    auto mem = NewMemEnv();
    FaultInjectionEnv fault(mem.get());
    ASSERT_TRUE(SaveWithFault(mem.get(), &fault, -1));
    total = fault.operations();
  }
  // Operations of save 4 alone: replay saves 1..3 and count.
  int ops_123 = 0;
  {
    auto mem = NewMemEnv();
    FaultInjectionEnv fault(mem.get());
    ASSERT_TRUE(mem->CreateDirs(kDir).ok());
    Model model(kElems);
    SaverOptions o;
    o.env = &fault;
    o.max_to_keep = 2;
    o.sharded = GetParam().sharded;
    auto saver = Saver::Create(model.Vars(o.sharded), o);
    ASSERT_TRUE(saver.ok());
    SaveArgs args;
    for (int64_t s = 1; s <= 3; ++s) {
      model.Fill(s);
      args.global_step = s;
      ASSERT_TRUE((*saver)->Save(JoinPath(kDir, "model.ckpt"), args).ok());
    }
    ops_123 = fault.operations();
  }
  const int save_ops = total - ops_123;
  ASSERT_GT(save_ops, 5) << "a save must write, sync and rename";

  for (int k = 0; k <= save_ops; ++k) {
    SCOPED_TRACE("failing after " + std::to_string(k) + " of " + std::to_string(save_ops) +
                 " operations of save 4");
    auto mem = NewMemEnv();
    FaultInjectionEnv fault(mem.get());
    const bool saved = SaveWithFault(mem.get(), &fault, k);
    EXPECT_EQ(saved, k == save_ops);
    if (GetParam().drop_unsynced) mem->DropUnsyncedData();

    // The state file names only whole checkpoints, and the newest is 4 if the
    // save reported success, else 3 or 4.
    auto state = GetCheckpointState(mem.get(), kDir);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    const int64_t newest = StepOf(state->model_checkpoint_path);
    if (saved) {
      EXPECT_EQ(newest, 4);
    } else {
      EXPECT_TRUE(newest == 3 || newest == 4) << newest;
    }
    for (const std::string& p : state->all_model_checkpoint_paths) {
      EXPECT_TRUE(HoldsItsStep(mem.get(), p)) << "named by the state file: " << p;
    }
    // Step 3 was committed before the fault and is inside max_to_keep = 2.
    EXPECT_TRUE(HoldsItsStep(mem.get(), JoinPath(kDir, "model.ckpt-3")));
    auto verified = NewestVerifiedCheckpoint(mem.get(), kDir);
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    EXPECT_EQ(*verified, state->model_checkpoint_path);

    // A restarted saver's next save cleans up and commits.
    Model model(kElems);
    SaverOptions o;
    o.env = mem.get();
    o.max_to_keep = 2;
    o.sharded = GetParam().sharded;
    auto saver = Saver::Create(model.Vars(o.sharded), o);
    ASSERT_TRUE(saver.ok());
    CKPT_ASSERT_OK((*saver)->RecoverLastCheckpoints(state->all_model_checkpoint_paths));
    model.Fill(newest + 1);
    SaveArgs args;
    args.global_step = newest + 1;
    auto r = (*saver)->Save(JoinPath(kDir, "model.ckpt"), args);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_THAT(TempNames(mem.get()), ::testing::IsEmpty());
    auto leftovers = FindLeftovers(mem.get(), kDir, "model.ckpt");
    ASSERT_TRUE(leftovers.ok());
    EXPECT_THAT(*leftovers, ::testing::IsEmpty());
    mem->DropUnsyncedData();
    auto after = GetCheckpointState(mem.get(), kDir);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(StepOf(after->model_checkpoint_path), newest + 1);
    EXPECT_TRUE(HoldsItsStep(mem.get(), after->model_checkpoint_path));
  }
}

INSTANTIATE_TEST_SUITE_P(All, SaverCrashTest,
                         ::testing::Values(Scenario{false, false}, Scenario{false, true},
                                           Scenario{true, false}, Scenario{true, true}),
                         ScenarioName);

// Re-saving to the same prefix (a save without a step) must never pair the
// old index with the new data: after a fault the prefix holds the old
// tensors, the new ones, or no checkpoint at all, never a corrupt one.
TEST(BundleOverwriteCrashTest, ReSaveToSamePrefixIsNeverCorrupt) {
  const std::string prefix = JoinPath(kDir, "model");
  auto write = [&](Env* env, int64_t elems, int64_t value) -> Status {
    BundleWriterOptions o;
    o.env = env;
    CKPT_ASSIGN_OR_RETURN(auto w, BundleWriter::Create(prefix, o));
    std::vector<int64_t> v(static_cast<size_t>(elems), value);
    CKPT_RETURN_IF_ERROR(w->Add("v", Tensor::FromVector<int64_t>(TensorShape({elems}), v)));
    return w->Finish();
  };
  int ops = 0;
  {
    auto mem = NewMemEnv();
    ASSERT_TRUE(mem->CreateDirs(kDir).ok());
    FaultInjectionEnv fault(mem.get());
    CKPT_ASSERT_OK(write(mem.get(), 10, 1));
    CKPT_ASSERT_OK(write(&fault, 30, 2));
    ops = fault.operations();
  }
  for (bool drop : {false, true}) {
    for (int k = 0; k <= ops; ++k) {
      SCOPED_TRACE("drop=" + std::to_string(drop) + " k=" + std::to_string(k));
      auto mem = NewMemEnv();
      ASSERT_TRUE(mem->CreateDirs(kDir).ok());
      FaultInjectionEnv fault(mem.get());
      CKPT_ASSERT_OK(write(mem.get(), 10, 1));
      fault.FailAfter(k);
      Status s = write(&fault, 30, 2);
      EXPECT_EQ(s.ok(), k == ops) << s.ToString();
      if (drop) mem->DropUnsyncedData();
      if (!CheckpointExists(mem.get(), prefix)) continue;  // lost, but not corrupt
      CKPT_EXPECT_OK(VerifyCheckpoint(mem.get(), prefix));
      BundleReaderOptions ro;
      ro.env = mem.get();
      auto reader = BundleReader::Open(prefix, ro);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      auto t = (*reader)->Read("v");
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      const int64_t first = t->flat<int64_t>()[0];
      EXPECT_TRUE((t->num_elements() == 10 && first == 1) ||
                  (t->num_elements() == 30 && first == 2));
      if (s.ok()) EXPECT_EQ(first, 2);
    }
  }
}

// The state file is replaced atomically: after a fault at any step of
// UpdateCheckpointState (and a power loss) it parses and names either the
// old or the new checkpoint.
TEST(StateFileCrashTest, UpdateIsAtomic) {
  int ops = 0;
  {
    auto mem = NewMemEnv();
    ASSERT_TRUE(mem->CreateDirs(kDir).ok());
    FaultInjectionEnv fault(mem.get());
    CKPT_ASSERT_OK(UpdateCheckpointState(&fault, kDir, "/train/a-1", {}));
    ops = fault.operations();
  }
  ASSERT_GE(ops, 3);
  for (bool drop : {false, true}) {
    for (int k = 0; k <= ops; ++k) {
      SCOPED_TRACE("drop=" + std::to_string(drop) + " k=" + std::to_string(k));
      auto mem = NewMemEnv();
      ASSERT_TRUE(mem->CreateDirs(kDir).ok());
      CKPT_ASSERT_OK(UpdateCheckpointState(mem.get(), kDir, "/train/a-1", {}));
      FaultInjectionEnv fault(mem.get());
      fault.FailAfter(k);
      Status s = UpdateCheckpointState(&fault, kDir, "/train/a-2", {"/train/a-1"});
      EXPECT_EQ(s.ok(), k == ops) << s.ToString();
      if (drop) mem->DropUnsyncedData();
      auto state = GetCheckpointState(mem.get(), kDir);
      ASSERT_TRUE(state.ok()) << state.status().ToString();
      if (s.ok()) {
        EXPECT_EQ(state->model_checkpoint_path, "/train/a-2");
      } else {
        EXPECT_TRUE(state->model_checkpoint_path == "/train/a-1" ||
                    state->model_checkpoint_path == "/train/a-2");
      }
      if (!drop) {
        // Without a power loss the failed write cleans up its temporary file.
        EXPECT_THAT(TempNames(mem.get()), ::testing::IsEmpty());
      }
    }
  }
}

}  // namespace
}  // namespace ckpt
