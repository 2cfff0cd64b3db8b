// Test helpers: Status matchers, tensor builders, a fault-injecting Env and
// the location of TensorFlow-written golden files.
#ifndef CKPT_TESTS_TESTUTIL_TESTUTIL_H_
#define CKPT_TESTS_TESTUTIL_TESTUTIL_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/logging.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::testing {

#define CKPT_ASSERT_OK(expr)                    \
  do {                                          \
    ::ckpt::Status s_ = (expr);                 \
    ASSERT_TRUE(s_.ok()) << s_.ToString();      \
  } while (0)
#define CKPT_EXPECT_OK(expr)                    \
  do {                                          \
    ::ckpt::Status s_ = (expr);                 \
    EXPECT_TRUE(s_.ok()) << s_.ToString();      \
  } while (0)

// `auto x = CKPT_ASSERT_OK_AND_GET(expr);` is not portable in gtest; use:
#define CKPT_ASSERT_OK_AND_ASSIGN(lhs, expr)                          \
  auto CKPT_CONCAT_(r_, __LINE__) = (expr);                           \
  ASSERT_TRUE(CKPT_CONCAT_(r_, __LINE__).ok())                        \
      << CKPT_CONCAT_(r_, __LINE__).status().ToString();              \
  lhs = std::move(CKPT_CONCAT_(r_, __LINE__)).value()

inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const Result<T>& r) {
  return r.status();
}

// Matches a Status (or Result) with the given code whose message contains
// `substr`.
MATCHER_P2(StatusIs, code, substr, "") {
  const ::ckpt::Status& s = ::ckpt::testing::GetStatus(arg);
  if (s.code() != code) {
    *result_listener << "status is " << s.ToString();
    return false;
  }
  if (s.message().find(substr) == std::string::npos) {
    *result_listener << "message is \"" << s.message() << "\"";
    return false;
  }
  return true;
}

// Absolute path of a TensorFlow-written test file (relative to
// shared/testdata/tensorflow).
std::string TestDataPath(const std::string& relative);

// A fresh empty directory under the test's temp dir.
std::string TempDir();

// True if the file system under `dir` accepts O_DIRECT (where it does not,
// a direct writable file is the buffered one by design, and tests of the
// direct path have nothing to check).
bool DirectIoWorks(const std::string& dir);

// Lowers this process's file size limit (RLIMIT_FSIZE) to `bytes` and
// ignores SIGXFSZ, so that a write past the limit fails with EFBIG, a real
// IO error from the kernel; both are restored on destruction. ok() is false
// if the limit could not be set.
class ScopedFileSizeLimit {
 public:
  explicit ScopedFileSizeLimit(uint64_t bytes);
  ~ScopedFileSizeLimit();
  ScopedFileSizeLimit(const ScopedFileSizeLimit&) = delete;
  ScopedFileSizeLimit& operator=(const ScopedFileSizeLimit&) = delete;
  bool ok() const { return ok_; }

 private:
  struct rlimit old_limit_ {};
  struct sigaction old_action_ {};
  bool ok_ = false;
};

// Creates a FIFO at `path` (mkfifo, mode 0600).
Status MakeFifo(const std::string& path);

// Opens and closes each FIFO in `fifos` for writing without blocking, so a
// reader blocked opening one (or reading it) returns (end of file).
void UnblockFifoReaders(const std::vector<std::string>& fifos);

// Runs `fn` on another thread and returns its result. If it has not
// returned after `seconds` the test fails (a hang is a bug), and the FIFOs
// in `fifos` are unblocked (UnblockFifoReaders) until it does, so a
// regression fails instead of hanging the test binary.
template <typename Fn>
auto ReturnsPromptly(Fn fn, const std::vector<std::string>& fifos, double seconds = 5)
    -> decltype(fn()) {
  auto done = std::async(std::launch::async, std::move(fn));
  if (done.wait_for(std::chrono::duration<double>(seconds)) != std::future_status::ready) {
    ADD_FAILURE() << "still running after " << seconds << " s (blocked on a FIFO?)";
    while (done.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      UnblockFifoReaders(fifos);
    }
  }
  return done.get();
}

// Runs `fn` in a forked child process without root's file permission
// override (as user "nobody" if this process is root) and returns the string
// it returned (a placeholder naming the failure if the child died); nullopt
// if the child could not drop its privileges.
std::optional<std::string> RunUnprivileged(const std::function<std::string()>& fn);

// A deterministic tensor of any storable dtype and shape: element i has bytes
// derived from (seed, i); strings vary in length and contain NUL and 0xff.
Tensor MakeTestTensor(DataType dtype, const TensorShape& shape, uint32_t seed);

// Lowercase hex bytes separated by spaces: "00 ff 1a".
std::string HexString(std::string_view bytes);

// Writes `data` to `path` directly (no temp, no sync): for crafting files.
Status WriteStringToFile(Env* env, const std::string& path, std::string_view data);

// Sorted names in `dir` (empty if it does not exist).
std::vector<std::string> ListDir(Env* env, const std::string& dir);

// A test's file system: the real one rooted at a fresh temp dir, or a MemEnv
// rooted at a directory created in it. Typed suites run over both.
enum class EnvKind { kPosix, kMem };
std::string EnvKindName(EnvKind kind);
struct TestEnv {
  Env* env = nullptr;
  std::unique_ptr<MemEnv> mem;  // set for kMem
  std::string root;             // an existing, empty directory
};
TestEnv MakeTestEnv(EnvKind kind);

// A test suite run once per EnvKind (INSTANTIATE_TEST_SUITE_P over
// ::testing::Values(EnvKind::kPosix, EnvKind::kMem)): env_ and an empty
// directory dir_ in it, fresh for every test. Subclasses that override SetUp
// call EnvParamTest::SetUp() first.
class EnvParamTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    test_env_ = MakeTestEnv(GetParam());
    env_ = test_env_.env;
    dir_ = test_env_.root;
  }
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }

  TestEnv test_env_;
  Env* env_ = nullptr;
  std::string dir_;
};

// An Env that fails chosen operations. Two modes:
//
// kFault (an IO error the process survives): after `fail_after` successful
// creations/appends/syncs/renames/directory syncs (counted together), every
// one of those fails with IoError; deletions, closes and flushes still work,
// so the caller's error handling can clean up.
//
// kCrash (the process dies): every mutating operation counts -- also
// deletions, flushes, closes, directory creation and deletion -- and once
// `fail_after` of them have succeeded, every one fails ("injected crash"),
// cleanup included: nothing reaches the file system after the crash point.
// Reads keep working (they change nothing). Follow a crash with
// MemEnv::DropUnsyncedData() for a power loss. set_counted() excludes the
// files of background threads (e.g. event files) from the count, so that
// the numbering stays deterministic; they still fail after the crash.
class FaultInjectionEnv : public ForwardingEnv {
 public:
  enum class Mode { kFault, kCrash };
  explicit FaultInjectionEnv(Env* target, Mode mode = Mode::kFault)
      : ForwardingEnv(target), mode_(mode) {}
  // -1 disables failures.
  void FailAfter(int n) { budget_ = n; }
  int operations() const { return ops_; }
  // True once an operation was refused.
  bool failed() const { return failed_; }
  // kCrash: only operations on paths for which `counted` is true count (and
  // reach the observer); the others fail too once the crash happened (a
  // counted operation was refused).
  void set_counted(std::function<bool(const std::string& path)> counted) {
    counted_ = std::move(counted);
  }
  // Called after each counted operation was done (whatever the target
  // returned; not for refused ones), with its number (1-based)
  // and a description ("create <path>", "append <path>", "sync <path>",
  // "close <path>", "flush <path>", "rename <from> -> <to>", "delete <path>",
  // "create dirs <dir>", "delete dir <dir>", "sync dir <dir>"). Not called
  // concurrently as long as the operations are not.
  void set_observer(std::function<void(int op, const std::string& what)> observer) {
    observer_ = std::move(observer);
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  Status DeleteFile(const std::string& path) override;
  Status CreateDirs(const std::string& dir) override;
  Status DeleteDir(const std::string& dir) override;

  // Counts one operation of `kind` ("append", "flush", ...) on `path`;
  // returns an error if the budget is spent. `crash_only` operations count
  // only in kCrash mode. The returned number is for Done().
  Result<int> Tick(const std::string& kind, const std::string& path, bool crash_only = false);
  // Reports operation `op` (from Tick; 0 = uncounted) as done to the observer.
  void Done(int op, const std::string& what);

 private:
  const Mode mode_;
  std::atomic<int> budget_{-1};
  std::atomic<int> ops_{0};
  std::atomic<bool> failed_{false};
  std::function<bool(const std::string&)> counted_;
  std::function<void(int, const std::string&)> observer_;
};

// Another process holding a directory's writer lock: a fork()ed child takes
// Env::Posix()->TryLockDirectory(dir) and holds it until Release() (or the
// object's destruction) or Kill().
class LockingChild {
 public:
  explicit LockingChild(const std::string& dir);
  ~LockingChild();
  LockingChild(const LockingChild&) = delete;
  LockingChild& operator=(const LockingChild&) = delete;
  // The child took the lock.
  bool locked() const { return locked_; }
  int pid() const { return pid_; }
  void Release();
  void Kill();

 private:
  int pid_ = -1;
  int release_ = -1;
  bool locked_ = false;
};

// The id of a process that has exited (forked and reaped), for names of
// writers that are gone.
int DeadProcessId();

// Every regular file under `dir` (recursively; directories as "<path>/"),
// with its bytes: a snapshot to compare before and after.
std::map<std::string, std::string> SnapshotTree(const std::string& dir);

// The elements of a float tensor, in order (expects dtype float).
inline std::vector<float> Floats(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DataType::kFloat);
  return std::vector<float>(t.flat<float>(), t.flat<float>() + t.num_elements());
}

// Collects the messages of one severity logged while alive (the previous
// sink is restored on destruction).
class LogCapture {
 public:
  explicit LogCapture(LogSeverity severity = LogSeverity::kInfo) {
    previous_ = SetLogSink([this, severity](LogSeverity s, std::string_view message) {
      if (s == severity) lines_.emplace_back(message);
    });
  }
  ~LogCapture() { SetLogSink(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  LogSink previous_;
  std::vector<std::string> lines_;
};

}  // namespace ckpt::testing

#endif  // CKPT_TESTS_TESTUTIL_TESTUTIL_H_
