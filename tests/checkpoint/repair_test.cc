// Directory surveys while writers run (saves in progress, checkpoints that
// retention deletes during the scan) and RepairCheckpointDirectory (`ckpt
// fsck --repair`). Real file system.
#include <algorithm>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/saver.h"
#include "ckpt/verify.h"
#include "env/temp_path.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::LockingChild;
using ::ckpt::testing::SnapshotTree;
using ::ckpt::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class RepairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir();
    w_ = testing::MakeTestTensor(DataType::kFloat, {4}, 1);
  }
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }
  // Saves model.ckpt-<step> for each step, state file listing them all.
  void SaveSteps(std::initializer_list<int> steps, Env* env = Env::Posix()) {
    SaverOptions o;
    o.env = env;
    o.max_to_keep = 10;
    auto saver = Saver::Create(VarListFromMap({{"w", &w_}}), o).value();
    for (int step : steps) {
      SaveArgs a;
      a.global_step = step;
      ASSERT_TRUE(saver->Save(Path("model.ckpt"), a).ok());
    }
  }
  std::string dir_;
  Tensor w_;
};

TEST_F(RepairTest, SurveyTellsSavesInProgressFromLeftovers) {
  SaveSteps({1});
  const std::string hex = "0123456789abcdef";
  const std::string dead = std::to_string(testing::DeadProcessId());
  // A live writer's temporary: pid 1 is alive. A gone writer's: a reaped pid.
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), Path("model.ckpt-2.index.ckpt-tmp.1." + hex), "x"));
  CKPT_ASSERT_OK(testing::WriteStringToFile(
      Env::Posix(), Path("model.ckpt-2.data-00000-of-00001.ckpt-tmp." + dead + "." + hex), "x"));
  CKPT_ASSERT_OK_AND_ASSIGN(DirectoryReport r, SurveyCheckpointDirectory(Env::Posix(), dir_));
  EXPECT_THAT(r.in_progress, ElementsAre(Path("model.ckpt-2.index.ckpt-tmp.1." + hex)));
  EXPECT_THAT(r.leftovers,
              ElementsAre(Path("model.ckpt-2.data-00000-of-00001.ckpt-tmp." + dead + "." + hex)));
  EXPECT_TRUE(r.ok()) << "leftovers and saves in progress are not damage";

  // An orphan data file is in progress while a writer holds the lock.
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), Path("model.ckpt-3.data-00000-of-00001"), "x"));
  {
    LockingChild writer(dir_);
    ASSERT_TRUE(writer.locked());
    CKPT_ASSERT_OK_AND_ASSIGN(r, SurveyCheckpointDirectory(Env::Posix(), dir_));
    EXPECT_THAT(r.in_progress, Contains(Path("model.ckpt-3.data-00000-of-00001")));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(r, SurveyCheckpointDirectory(Env::Posix(), dir_));
  EXPECT_THAT(r.leftovers, Contains(Path("model.ckpt-3.data-00000-of-00001")));
}

// Retention deletes a checkpoint (and rewrites the state file) while the
// survey reads it.
TEST_F(RepairTest, CheckpointDeletedDuringTheScanIsNotCalledMissing) {
  SaveSteps({1, 2, 3});
  class DeletesDuringScan : public ForwardingEnv {
   public:
    DeletesDuringScan(Env* target, std::string dir) : ForwardingEnv(target), dir_(std::move(dir)) {}
    Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
      if (!done_ && path.find("model.ckpt-1.") != std::string::npos) {
        done_ = true;
        // What the writer's next save does: drop ckpt-1 from the state, delete it.
        Status s = UpdateCheckpointState(target(), dir_, JoinPath(dir_, "model.ckpt-3"),
                                         {JoinPath(dir_, "model.ckpt-2"), JoinPath(dir_, "model.ckpt-3")});
        if (s.ok()) s = RemoveCheckpoint(target(), JoinPath(dir_, "model.ckpt-1"));
        if (!s.ok()) return s;
      }
      return ForwardingEnv::NewRandomAccessFile(path);
    }
    bool done_ = false;
    std::string dir_;
  } env(Env::Posix(), dir_);
  CKPT_ASSERT_OK_AND_ASSIGN(DirectoryReport r, SurveyCheckpointDirectory(&env, dir_));
  ASSERT_TRUE(env.done_);
  EXPECT_THAT(r.deleted_during_scan, ElementsAre(Path("model.ckpt-1")));
  for (const CheckpointSummary& c : r.checkpoints) EXPECT_TRUE(c.status.ok()) << c.prefix;
  EXPECT_TRUE(r.ok());
}

TEST_F(RepairTest, RepairRewritesTheStateFileToWhatExistsAndRemovesLeftovers) {
  SaveSteps({1, 2, 3});
  // The state file names a deleted checkpoint, with absolute paths.
  CKPT_ASSERT_OK(RemoveCheckpoint(Env::Posix(), Path("model.ckpt-3")));
  CKPT_ASSERT_OK(UpdateCheckpointState(Env::Posix(), dir_, Path("model.ckpt-3"),
                                       {Path("model.ckpt-1"), Path("model.ckpt-2"),
                                        Path("model.ckpt-3")},
                                       {10.0, 20.0, 30.0}, 5.0));
  const std::string dead = std::to_string(testing::DeadProcessId());
  const std::string leftover = Path("model.ckpt-4.index.ckpt-tmp." + dead + ".0123456789abcdef");
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), leftover, "x"));
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), Path("notes.tmp1"), "mine"));

  RepairOptions dry;
  dry.dry_run = true;
  const auto before = SnapshotTree(dir_);
  CKPT_ASSERT_OK_AND_ASSIGN(RepairReport planned, RepairCheckpointDirectory(Env::Posix(), dir_, dry));
  EXPECT_EQ(SnapshotTree(dir_), before) << "a dry run changed the directory";
  EXPECT_TRUE(planned.state_rewritten);
  EXPECT_THAT(planned.removed, ElementsAre(leftover));

  CKPT_ASSERT_OK_AND_ASSIGN(RepairReport done, RepairCheckpointDirectory(Env::Posix(), dir_));
  EXPECT_TRUE(done.healthy());
  EXPECT_EQ(done.latest, Path("model.ckpt-2"));
  EXPECT_THAT(done.dropped.size(), 1u);
  EXPECT_FALSE(Env::Posix()->FileExists(leftover));
  EXPECT_EQ(ReadFileToString(Env::Posix(), Path("notes.tmp1")).value(), "mine");
  CKPT_ASSERT_OK_AND_ASSIGN(std::string text, ReadFileToString(Env::Posix(), Path("checkpoint")));
  EXPECT_EQ(text,
            "model_checkpoint_path: \"model.ckpt-2\"\n"
            "all_model_checkpoint_paths: \"model.ckpt-1\"\n"
            "all_model_checkpoint_paths: \"model.ckpt-2\"\n"
            "all_model_checkpoint_timestamps: 10\n"
            "all_model_checkpoint_timestamps: 20\n"
            "last_preserved_timestamp: 5\n");
  // Healthy now: a second repair changes nothing.
  const auto repaired = SnapshotTree(dir_);
  CKPT_ASSERT_OK_AND_ASSIGN(RepairReport again, RepairCheckpointDirectory(Env::Posix(), dir_));
  EXPECT_FALSE(again.state_rewritten);
  EXPECT_THAT(again.removed, IsEmpty());
  EXPECT_EQ(SnapshotTree(dir_), repaired);
}

TEST_F(RepairTest, RepairWritesAStateFileForOneModelWithoutOne) {
  SaveSteps({5, 9});
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(Path("checkpoint")));
  CKPT_ASSERT_OK_AND_ASSIGN(RepairReport done, RepairCheckpointDirectory(Env::Posix(), dir_));
  EXPECT_TRUE(done.healthy());
  EXPECT_EQ(LatestCheckpoint(Env::Posix(), dir_).value(), Path("model.ckpt-9"));
  // Two models and no state file: not guessed.
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(Path("checkpoint")));
  SaverOptions o;
  auto saver = Saver::Create(VarListFromMap({{"w", &w_}}), o).value();
  SaveArgs a;
  a.global_step = 1;
  a.write_state = false;
  CKPT_ASSERT_OK(saver->Save(Path("other"), a).status());
  CKPT_ASSERT_OK_AND_ASSIGN(done, RepairCheckpointDirectory(Env::Posix(), dir_));
  EXPECT_FALSE(done.healthy());
  EXPECT_FALSE(Env::Posix()->FileExists(Path("checkpoint")));
}

TEST_F(RepairTest, RepairLeavesCorruptCheckpointsAndRefusesWhileAWriterRuns) {
  SaveSteps({1, 2});
  const std::string data = Path("model.ckpt-2.data-00000-of-00001");
  std::string bytes = ReadFileToString(Env::Posix(), data).value();
  bytes[0] ^= 1;
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), data, bytes));
  {
    LockingChild writer(dir_);
    ASSERT_TRUE(writer.locked());
    EXPECT_THAT(RepairCheckpointDirectory(Env::Posix(), dir_),
                StatusIs(StatusCode::kFailedPrecondition, dir_));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(RepairReport done, RepairCheckpointDirectory(Env::Posix(), dir_));
  EXPECT_EQ(done.latest, Path("model.ckpt-1"));
  EXPECT_FALSE(done.healthy()) << "a corrupt checkpoint remains (never deleted)";
  EXPECT_TRUE(Env::Posix()->FileExists(data));
  EXPECT_EQ(LatestCheckpoint(Env::Posix(), dir_).value(), Path("model.ckpt-1"));
}

}  // namespace
}  // namespace ckpt
