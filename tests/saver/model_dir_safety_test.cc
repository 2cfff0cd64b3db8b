// A model_dir that survives misuse: cleanup deletes only ckpt's own
// leftovers, one writer process per directory (readers never blocked), and
// restores fall back to the newest good checkpoint when the state file names
// one that is gone or damaged. Real file system; other processes are real
// (fork()ed children holding the lock).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_manager.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/object_checkpoint.h"
#include "ckpt/saver.h"
#include "ckpt/verify.h"
#include "ckpt/writer_lock.h"
#include "env/temp_path.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::ListDir;
using ::ckpt::testing::LockingChild;
using ::ckpt::testing::SnapshotTree;
using ::ckpt::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

Status Write(const std::string& path, const std::string& data) {
  Status s = Env::Posix()->CreateDirs(std::string(Dirname(path)));
  if (!s.ok()) return s;
  return testing::WriteStringToFile(Env::Posix(), path, data);
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Files no ckpt writer of "model.ckpt" / "ckpt" may touch: other programs'
// temporaries, look-alike names, ckpt's marker on names that are not a
// checkpoint's, and a second model's files (including its own leftovers).
void SeedForeignFiles(const std::string& dir, int dead_pid) {
  const std::string dead = std::to_string(dead_pid);
  const std::string hex = Hex16(0x1234abcd5678ef90ULL);
  for (const char* name :
       {"results.csv.tmp1", "user_notes.tempstate7", "rsync.tmp20240101", "checkpoint.tmp42",
        "model.ckpt-5.index.tempstate1234567", "model.ckpt-5.data-00000-of-00001.tempstate99",
        "model.ckpt-5.meta.tmp3", "model.ckptx-1.index", "model.ckpt.bak",
        "model.ckpt-12.index.orig", "model.ckpt-3.data-00000-of-00001.bak", "MODEL.CKPT-1.index",
        "other.ckpt-1.index", "other.ckpt-1.data-00000-of-00001",
        "other.ckpt-2.data-00000-of-00001", "notes.txt"}) {
    ASSERT_TRUE(Write(JoinPath(dir, name), std::string("foreign ") + name).ok());
  }
  // ckpt's marker, but not on a name a writer of these checkpoints makes.
  for (const std::string& name : std::vector<std::string>{
           "notes.ckpt-tmp." + dead + "." + hex, "other.ckpt-3.index.ckpt-tmp." + dead + "." + hex,
        "model.ckpt-3.index.bak.ckpt-tmp." + dead + "." + hex,
        "model.ckpt-3.indexx.ckpt-tmp." + dead + "." + hex,
        "model.ckpt-3.index.ckpt-tmp." + dead + ".NOTHEX0123456789"}) {
    ASSERT_TRUE(Write(JoinPath(dir, name), "foreign " + name).ok());
  }
  // Folders that look like sharded-save folders but are not ckpt's.
  for (const std::string& path : std::vector<std::string>{
           "my_temp/part-00000-of-00001", "model.ckpt-4_temp/part-00000-of-00001.index",
        "model.ckpt-4_temp_0123456789abcdef0123456789abcdef/part-00000-of-00001.index",
        "other.ckpt-4_temp.ckpt-tmp." + dead + "." + hex + "/part-00000-of-00001.index",
        "model.ckpt-6_temp.ckpt-tmp." + dead + "." + hex + "/notes.txt",
        "model.ckpt-6_temp.ckpt-tmp." + dead + "." + hex + "/part-00000-of-00001.index"}) {
    ASSERT_TRUE(Write(JoinPath(dir, path), "foreign " + path).ok());
  }
}

class ModelDirSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir();
    w_ = testing::MakeTestTensor(DataType::kFloat, {3, 2}, 1);
    b_ = testing::MakeTestTensor(DataType::kFloat, {2}, 2);
  }
  VarList Vars() { return VarListFromMap({{"w", &w_}, {"b", &b_}}); }
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }

  std::string dir_;
  Tensor w_, b_;
};

TEST_F(ModelDirSafetyTest, SavesNeverTouchForeignFiles) {
  SeedForeignFiles(dir_, testing::DeadProcessId());
  const auto before = SnapshotTree(dir_);
  for (bool sharded : {false, true}) {
    SaverOptions o;
    o.max_to_keep = 2;
    o.sharded = sharded;
    CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(Vars(), o));
    for (int step = 1; step <= 4; ++step) {
      SaveArgs a;
      a.global_step = step + (sharded ? 10 : 0);
      CKPT_ASSERT_OK(saver->Save(Path("model.ckpt"), a).status());
    }
  }
  ObjectCheckpoint ckpt({{"w", Variable::Create(w_)}});
  CheckpointManagerOptions mo;
  mo.max_to_keep = 1;
  CKPT_ASSERT_OK_AND_ASSIGN(auto manager, CheckpointManager::Create(&ckpt, dir_ + "/tf2", mo));
  CKPT_ASSERT_OK(manager->Save().status());
  auto after = SnapshotTree(dir_);
  for (const auto& [path, data] : before) {
    auto it = after.find(path);
    ASSERT_NE(it, after.end()) << path << " was deleted";
    EXPECT_EQ(it->second, data) << path << " was changed";
  }
}

TEST_F(ModelDirSafetyTest, OwnLeftoversOfGoneWritersAreRemovedOthersKept) {
  const std::string dead = std::to_string(testing::DeadProcessId());
  const std::string hex = Hex16(0xfeedface01234567ULL);
  const std::vector<std::string> leftovers = {
      "model.ckpt-9.index.ckpt-tmp." + dead + "." + hex,
      "model.ckpt-9.data-00000-of-00001.ckpt-tmp." + dead + "." + hex,
      "model.ckpt-9.meta.ckpt-tmp." + dead + "." + hex,
      "checkpoint.ckpt-tmp." + dead + "." + hex,
      "model.ckpt-8.data-00000-of-00001",  // its index never appeared
      "model.ckpt-9_temp.ckpt-tmp." + dead + "." + hex + "/part-00000-of-00002.index",
      "model.ckpt-9_temp.ckpt-tmp." + dead + "." + hex +
          "/part-00001-of-00002.data-00000-of-00001.ckpt-tmp." + dead + "." + hex};
  for (const std::string& l : leftovers) ASSERT_TRUE(Write(Path(l), "left").ok());
  // A temporary of a running writer (pid 1 is alive) and one of this
  // process's writers still in flight stay.
  const std::string live = "model.ckpt-9.index.ckpt-tmp.1." + hex;
  ASSERT_TRUE(Write(Path(live), "live").ok());
  std::string own;
  {
    SaverOptions o;
    CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(Vars(), o));
    // Simulate an in-flight temporary of this process by registering one.
    TempPath holder(Env::Posix(), Path("model.ckpt-10.index"));
    own = holder.path();
    ASSERT_TRUE(Write(own, "mine").ok());
    SaveArgs a;
    a.global_step = 10;
    CKPT_ASSERT_OK(saver->Save(Path("model.ckpt"), a).status());
    for (const std::string& l : leftovers) {
      EXPECT_FALSE(Env::Posix()->FileExists(Path(l))) << l << " was not removed";
    }
    EXPECT_FALSE(Env::Posix()->FileExists(Path("model.ckpt-9_temp.ckpt-tmp." + dead + "." + hex)));
    EXPECT_TRUE(Env::Posix()->FileExists(Path(live)));
    EXPECT_TRUE(Env::Posix()->FileExists(own));
  }
}

TEST_F(ModelDirSafetyTest, AnotherProcessWritingMakesEveryWriterFailAtOnceReadersWork) {
  SaverOptions o;
  CKPT_ASSERT_OK_AND_ASSIGN(auto first, Saver::Create(Vars(), o));
  SaveArgs a;
  a.global_step = 1;
  CKPT_ASSERT_OK(first->Save(Path("model.ckpt"), a).status());
  first.reset();  // releases the lock
  const auto before = SnapshotTree(dir_);

  auto other = std::make_unique<LockingChild>(dir_);
  ASSERT_TRUE(other->locked());
  const std::string holder = "pid " + std::to_string(other->pid());

  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(Vars(), o));
  a.global_step = 2;
  auto saved = saver->Save(Path("model.ckpt"), a);
  EXPECT_THAT(saved, StatusIs(StatusCode::kFailedPrecondition, dir_));
  EXPECT_THAT(saved.status().message(), HasSubstr(holder));

  ObjectCheckpoint ckpt({{"w", Variable::Create(w_)}});
  CKPT_ASSERT_OK_AND_ASSIGN(auto manager, CheckpointManager::Create(&ckpt, dir_));
  EXPECT_THAT(manager->Save(), StatusIs(StatusCode::kFailedPrecondition, dir_));
  EXPECT_EQ(ckpt.save_counter(), nullptr) << "a refused save counted";
  EXPECT_THAT(ckpt.Save(Path("ckpt")), StatusIs(StatusCode::kFailedPrecondition, dir_));
  EXPECT_THAT(ckpt.Write(Path("ckpt-7")), StatusIs(StatusCode::kFailedPrecondition, dir_));
  EXPECT_THAT(MergeBundles(Env::Posix(), {Path("model.ckpt-1")}, Path("merged")),
              StatusIs(StatusCode::kFailedPrecondition, dir_));

  // Readers are not blocked.
  CKPT_EXPECT_OK(LatestCheckpoint(Env::Posix(), dir_).status());
  CKPT_EXPECT_OK(CheckpointReader::Open(dir_).status());
  CKPT_EXPECT_OK(saver->Restore(Path("model.ckpt-1")));
  CKPT_EXPECT_OK(VerifyCheckpoint(Env::Posix(), Path("model.ckpt-1")));

  EXPECT_EQ(SnapshotTree(dir_), before) << "a refused writer changed the directory";

  // Once the other writer is gone, the same objects write.
  other.reset();  // the child exits
  CKPT_EXPECT_OK(saver->Save(Path("model.ckpt"), a).status());
}

TEST_F(ModelDirSafetyTest, WaitingForTheLock) {
  LockingChild other(dir_);
  ASSERT_TRUE(other.locked());
  SaverOptions o;
  o.writer_lock.wait_seconds = 30;
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(Vars(), o));
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    other.Release();
  });
  SaveArgs a;
  a.global_step = 3;
  auto saved = saver->Save(Path("model.ckpt"), a);
  releaser.join();
  CKPT_EXPECT_OK(saved.status());
}

TEST_F(ModelDirSafetyTest, MetaIsPublishedBeforeTheStateFileNamesTheCheckpoint) {
  // Records the order in which files get their final names.
  class RenameLog : public ForwardingEnv {
   public:
    using ForwardingEnv::ForwardingEnv;
    Status RenameFile(const std::string& from, const std::string& to) override {
      renamed.push_back(std::string(Basename(to)));
      return ForwardingEnv::RenameFile(from, to);
    }
    std::vector<std::string> renamed;
  } env(Env::Posix());
  SaverOptions o;
  o.env = &env;
  o.meta_graph_writer = [&env](const std::string& path) {
    return WriteStringToFileAtomic(&env, path, "meta");
  };
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(Vars(), o));
  SaveArgs a;
  a.global_step = 5;
  CKPT_ASSERT_OK(saver->Save(Path("model.ckpt"), a).status());
  auto pos = [&](const std::string& name) {
    return std::find(env.renamed.begin(), env.renamed.end(), name) - env.renamed.begin();
  };
  ASSERT_THAT(env.renamed, Contains("model.ckpt-5.meta"));
  ASSERT_THAT(env.renamed, Contains("checkpoint"));
  EXPECT_LT(pos("model.ckpt-5.index"), pos("checkpoint"));
  EXPECT_LT(pos("model.ckpt-5.meta"), pos("checkpoint"));
}

// The damage two unlocked writers used to cause: the state file names a
// checkpoint whose files are gone.
TEST_F(ModelDirSafetyTest, RestoreFallsBackToTheNewestGoodCheckpoint) {
  SaverOptions o;
  o.max_to_keep = 5;
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(Vars(), o));
  std::vector<Tensor> saved_w;
  for (int step = 1; step <= 3; ++step) {
    w_ = testing::MakeTestTensor(DataType::kFloat, {3, 2}, 10 + step);
    saved_w.push_back(w_);
    SaveArgs a;
    a.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model.ckpt"), a).status());
  }
  saver.reset();
  // Newest index gone: LatestCheckpoint and restores use model.ckpt-2.
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(Path("model.ckpt-3.index")));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string latest, LatestCheckpoint(Env::Posix(), dir_));
  EXPECT_EQ(latest, Path("model.ckpt-2"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(dir_));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor w, reader->GetTensor("w"));
  EXPECT_TRUE(w.Equals(saved_w[1]));

  // Its data file truncated too: model.ckpt-1.
  CKPT_ASSERT_OK(Write(Path("model.ckpt-2.data-00000-of-00001"), "short"));
  CKPT_ASSERT_OK_AND_ASSIGN(latest, LatestCheckpoint(Env::Posix(), dir_));
  EXPECT_EQ(latest, Path("model.ckpt-1"));

  // Nothing usable: NotFound saying why.
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(Path("model.ckpt-1.index")));
  EXPECT_THAT(LatestCheckpoint(Env::Posix(), dir_),
              StatusIs(StatusCode::kNotFound, "model.ckpt-3"));
}

TEST_F(ModelDirSafetyTest, FallbackFindsCheckpointsTheStateFileDoesNotList) {
  SaverOptions o;
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(Vars(), o));
  for (int step : {4, 7}) {
    SaveArgs a;
    a.global_step = step;
    a.write_state = step == 4;  // another writer's checkpoint, never listed
    CKPT_ASSERT_OK(saver->Save(Path("model.ckpt"), a).status());
  }
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(Path("model.ckpt-4.index")));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string latest, LatestCheckpoint(Env::Posix(), dir_));
  EXPECT_EQ(latest, Path("model.ckpt-7"));
}

TEST_F(ModelDirSafetyTest, CheckpointManagerRestoresTheNewestGoodCheckpoint) {
  auto var = Variable::Create(Tensor::Scalar<float>(1));
  ObjectCheckpoint ckpt({{"v", var}});
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto manager, CheckpointManager::Create(&ckpt, dir_));
    CKPT_ASSERT_OK(manager->Save().status());  // ckpt-1: 1
    CKPT_ASSERT_OK(var->Assign(Tensor::Scalar<float>(2)));
    CKPT_ASSERT_OK(manager->Save().status());  // ckpt-2: 2
  }
  // Corrupt one byte of ckpt-2's data: its files exist, its checksum fails.
  const std::string data = Path("ckpt-2.data-00000-of-00001");
  std::string bytes = Env::Posix()->FileExists(data) ? ReadFileToString(Env::Posix(), data).value() : "";
  ASSERT_FALSE(bytes.empty());
  bytes[0] ^= 0x5a;
  CKPT_ASSERT_OK(Write(data, bytes));
  auto restored_var = Variable::Create(Tensor::Scalar<float>(0));
  ObjectCheckpoint restored({{"v", restored_var}});
  CKPT_ASSERT_OK_AND_ASSIGN(auto manager, CheckpointManager::Create(&restored, dir_));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string from, manager->RestoreOrInitialize());
  EXPECT_EQ(from, Path("ckpt-1"));
  EXPECT_EQ(*restored_var->value().flat<float>(), 1.0f);
}

}  // namespace
}  // namespace ckpt
