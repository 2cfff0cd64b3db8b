// The example programs under a file-size limit (ulimit -f): a write past it
// must fail with a clean "File too large" error and exit code 1, not kill
// the process with SIGXFSZ. Each program is run as a child process with the
// limit set and SIGXFSZ at its default action (killing), so only the
// program's own handling can save it.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::TempDir;
using ::testing::HasSubstr;

struct ChildResult {
  int wait_status = 0;
  std::string output;  // stdout and stderr
};

// Runs `argv` with RLIMIT_FSIZE = `limit` bytes and SIGXFSZ at SIG_DFL. Its
// output goes through a pipe (a regular file would be cut at the limit too).
ChildResult RunWithFileSizeLimit(const std::vector<std::string>& argv, rlim_t limit) {
  ChildResult r;
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::signal(SIGXFSZ, SIG_DFL);
    struct rlimit rl;
    ::getrlimit(RLIMIT_FSIZE, &rl);
    rl.rlim_cur = limit;
    if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(121);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(122);
  }
  ::close(fds[1]);
  EXPECT_GT(pid, 0);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    r.output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (pid > 0) {
    while (::waitpid(pid, &r.wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  return r;
}

void ExpectCleanFileTooLarge(const ChildResult& r) {
  ASSERT_FALSE(WIFSIGNALED(r.wait_status))
      << "killed by signal " << WTERMSIG(r.wait_status) << "; output:\n"
      << r.output;
  ASSERT_TRUE(WIFEXITED(r.wait_status));
  EXPECT_EQ(WEXITSTATUS(r.wait_status), 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("File too large"));
}

TEST(FileSizeLimitTest, WriteReadCheckpointReportsFileTooLarge) {
  const std::string dir = TempDir();
  ExpectCleanFileTooLarge(
      RunWithFileSizeLimit({WRITE_READ_CHECKPOINT_BIN, dir + "/model.ckpt"}, 16));
}

TEST(FileSizeLimitTest, PremadeEstimatorReportsFileTooLarge) {
  const std::string dir = TempDir();
  ExpectCleanFileTooLarge(RunWithFileSizeLimit(
      {PREMADE_ESTIMATOR_BIN, "--model_dir=" + dir + "/model", "--train_steps=1", "--seed=1"}, 64));
}

#ifdef CKPT_CLI_BIN
// `ckpt fsck --repair` writes a state file: past the limit it reports the
// error instead of dying.
TEST(FileSizeLimitTest, CkptFsckRepairReportsFileTooLarge) {
  const std::string dir = TempDir();
  auto w = BundleWriter::Create(dir + "/model.ckpt-1");
  ASSERT_TRUE(w.ok());
  CKPT_ASSERT_OK((*w)->Add("w", testing::MakeTestTensor(DataType::kFloat, {4}, 1)));
  CKPT_ASSERT_OK((*w)->Finish());
  // The state file names a checkpoint that is gone: repair rewrites it.
  CKPT_ASSERT_OK(UpdateCheckpointState(Env::Posix(), dir, dir + "/model.ckpt-2",
                                       {dir + "/model.ckpt-1", dir + "/model.ckpt-2"}));
  ExpectCleanFileTooLarge(RunWithFileSizeLimit({CKPT_CLI_BIN, "fsck", "--repair", dir}, 16));
  EXPECT_EQ(LatestCheckpoint(Env::Posix(), dir).value(), dir + "/model.ckpt-1");
}
#endif

}  // namespace
}  // namespace ckpt
