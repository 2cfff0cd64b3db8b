// Temporary names (env/temp_path.h), directory locks (Env::TryLockDirectory,
// DirectoryLockHolder) and the process-wide WriterLock, on the real file
// system and in memory. Other processes are real: fork()ed children that
// take a lock and hold it until told to exit.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "ckpt/writer_lock.h"
#include "env/temp_path.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::HasSubstr;

TEST(TempPathTest, NamesSayWhatAndWhoAndParseBack) {
  TempPath t(Env::Posix(), "/d/model.ckpt-7.index");
  const std::string name(Basename(t.path()));
  EXPECT_EQ(name.rfind("model.ckpt-7.index.ckpt-tmp." + std::to_string(getpid()) + ".", 0), 0u)
      << name;
  std::optional<TempName> parsed = ParseTempName(name);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->final_name, "model.ckpt-7.index");
  EXPECT_EQ(parsed->pid, getpid());
}

TEST(TempPathTest, ForeignNamesAreNotOurs) {
  for (const char* name :
       {"results.csv.tmp1", "user_notes.tempstate7", "rsync.tmp20240101",
        "model.ckpt-5.index.tempstate1234567", "checkpoint.tmp99", "x.ckpt-tmp.12.zz",
        "x.ckpt-tmp.12.0123456789abcde", "x.ckpt-tmp.12.0123456789abcdef0",
        "x.ckpt-tmp..0123456789abcdef", "x.ckpt-tmp.-1.0123456789abcdef",
        ".ckpt-tmp.12.0123456789abcdef", "x.ckpt-tmp.12.0123456789ABCDEF", "part-00000-of-00001"}) {
    EXPECT_FALSE(ParseTempName(name).has_value()) << name;
  }
}

TEST(TempPathTest, InFlightWhileAliveOnly) {
  std::string name;
  {
    TempPath t(Env::Posix(), "/d/checkpoint");
    name = std::string(Basename(t.path()));
    EXPECT_TRUE(TempNameInFlight(name));
    TempPath moved = std::move(t);
    EXPECT_TRUE(TempNameInFlight(name));
  }
  EXPECT_FALSE(TempNameInFlight(name));
}

TEST(TempPathTest, ProcessLiveness) {
  EXPECT_TRUE(ProcessIsAlive(getpid()));
  EXPECT_TRUE(ProcessIsAlive(1));
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(ProcessIsAlive(child));
  EXPECT_FALSE(ProcessIsAlive(0));
  EXPECT_FALSE(ProcessIsAlive(-5));
}

using ::ckpt::testing::LockingChild;

TEST(DirectoryLockTest, PosixLockExcludesOtherProcessesAndNamesTheHolder) {
  const std::string dir = testing::TempDir();
  LockingChild child(dir);
  ASSERT_TRUE(child.locked());
  auto mine = Env::Posix()->TryLockDirectory(dir);
  EXPECT_THAT(mine, StatusIs(StatusCode::kFailedPrecondition, dir));
  EXPECT_THAT(mine.status().message(), HasSubstr("pid " + std::to_string(child.pid())));
  auto holder = Env::Posix()->DirectoryLockHolder(dir);
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  EXPECT_THAT(*holder, HasSubstr("pid " + std::to_string(child.pid())));
  // No file appears in the directory.
  EXPECT_THAT(testing::ListDir(Env::Posix(), dir), ::testing::IsEmpty());
}

TEST(DirectoryLockTest, ADeadHoldersLockIsFree) {
  const std::string dir = testing::TempDir();
  {
    LockingChild child(dir);
    ASSERT_TRUE(child.locked());
    child.Kill();
  }
  auto lock = Env::Posix()->TryLockDirectory(dir);
  CKPT_EXPECT_OK(lock.status());
  EXPECT_EQ(Env::Posix()->DirectoryLockHolder(dir).value().find("pid " + std::to_string(getpid())),
            0u);
  lock->reset();
  EXPECT_EQ(Env::Posix()->DirectoryLockHolder(dir).value(), "");
}

TEST(DirectoryLockTest, MemEnvLocksOncePerDirectory) {
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/d"));
  auto a = mem->TryLockDirectory("/d");
  CKPT_ASSERT_OK(a.status());
  EXPECT_THAT(mem->TryLockDirectory("/d/"), StatusIs(StatusCode::kFailedPrecondition, "/d"));
  EXPECT_EQ(mem->DirectoryLockHolder("/d").value(), "locked");
  a->reset();
  EXPECT_EQ(mem->DirectoryLockHolder("/d").value(), "");
  CKPT_EXPECT_OK(mem->TryLockDirectory("/d").status());
  EXPECT_THAT(mem->TryLockDirectory("/missing"), StatusIs(StatusCode::kNotFound, "/missing"));
}

TEST(WriterLockTest, SharedWithinTheProcess) {
  const std::string dir = testing::TempDir();
  CKPT_ASSERT_OK_AND_ASSIGN(std::shared_ptr<WriterLock> a, WriterLock::Acquire(Env::Posix(), dir));
  CKPT_ASSERT_OK_AND_ASSIGN(std::shared_ptr<WriterLock> b,
                            WriterLock::Acquire(Env::Posix(), dir + "/./"));
  EXPECT_EQ(a.get(), b.get());
  a.reset();
  EXPECT_NE(Env::Posix()->DirectoryLockHolder(dir).value(), "");
  b.reset();
  EXPECT_EQ(Env::Posix()->DirectoryLockHolder(dir).value(), "");
}

TEST(WriterLockTest, SecondProcessFailsAtOnceOrWaits) {
  const std::string dir = testing::TempDir();
  LockingChild child(dir);
  ASSERT_TRUE(child.locked());
  const auto start = std::chrono::steady_clock::now();
  auto refused = WriterLock::Acquire(Env::Posix(), dir);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_THAT(refused, StatusIs(StatusCode::kFailedPrecondition,
                                "Another writer is using the checkpoint directory " + dir));
  EXPECT_THAT(refused.status().message(), HasSubstr("pid " + std::to_string(child.pid())));

  WriterLockOptions wait;
  wait.wait_seconds = 0.3;
  EXPECT_THAT(WriterLock::Acquire(Env::Posix(), dir, wait),
              StatusIs(StatusCode::kFailedPrecondition, dir));

  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    child.Release();
  });
  wait.wait_seconds = -1;  // as long as it takes
  auto waited = WriterLock::Acquire(Env::Posix(), dir, wait);
  releaser.join();
  CKPT_EXPECT_OK(waited.status());
}

TEST(WriterLockTest, MissingDirectoryIsNotFound) {
  EXPECT_THAT(WriterLock::Acquire(Env::Posix(), testing::TempDir() + "/nope"),
              StatusIs(StatusCode::kNotFound, "nope"));
}

// An Env whose file system cannot lock: writers go on, unlocked.
class NoLockEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  Result<std::unique_ptr<DirectoryLock>> TryLockDirectory(const std::string& dir) override {
    return UnimplementedError("no locks here");
  }
};

TEST(WriterLockTest, UnlockableFileSystemsStillWrite) {
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/d"));
  NoLockEnv env(mem.get());
  CKPT_EXPECT_OK(WriterLock::Acquire(&env, "/d").status());
}

}  // namespace
}  // namespace ckpt
