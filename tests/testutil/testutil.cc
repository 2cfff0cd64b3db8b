#include "testutil/testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace ckpt::testing {

std::string TestDataPath(const std::string& relative) {
  return std::string(CKPT_TESTDATA_DIR) + "/" + relative;
}

namespace {

// Every directory TempDir() made, removed when the test that made it ends
// (directories made outside a test, e.g. in SetUpTestSuite, when the program
// ends), so repeated runs do not fill the disk. CKPT_KEEP_TEST_DIRS=1 keeps
// them for a post-mortem.
class TempDirJanitor : public ::testing::EmptyTestEventListener {
 public:
  static TempDirJanitor& Get() {
    static TempDirJanitor* janitor = [] {
      auto* j = new TempDirJanitor;
      const char* keep = std::getenv("CKPT_KEEP_TEST_DIRS");
      j->keep_ = keep != nullptr && *keep != '\0' && std::string(keep) != "0";
      // The listener list owns it from here on.
      ::testing::UnitTest::GetInstance()->listeners().Append(j);
      return j;
    }();
    return *janitor;
  }

  void Track(const std::string& dir, bool in_test) {
    std::lock_guard<std::mutex> lock(mu_);
    (in_test ? per_test_ : per_program_).push_back(dir);
  }

  void OnTestEnd(const ::testing::TestInfo&) override { RemoveAll(per_test_); }
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    RemoveAll(per_test_);
    RemoveAll(per_program_);
  }

 private:
  void RemoveAll(std::vector<std::string>& dirs) {
    std::vector<std::string> doomed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      doomed.swap(dirs);
    }
    if (keep_) return;
    for (const std::string& d : doomed) {
      std::error_code ec;  // best effort: a test may have made it read-only
      std::filesystem::remove_all(d, ec);
    }
  }

  std::mutex mu_;
  bool keep_ = false;
  std::vector<std::string> per_test_;
  std::vector<std::string> per_program_;
};

// Registered before main runs, so the janitor sees every test's end even in
// binaries that never call TempDir() before their first test.
[[maybe_unused]] const bool kJanitorRegistered = (TempDirJanitor::Get(), true);

}  // namespace

std::string TempDir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string base = ::testing::TempDir();
  std::string name = std::string("ckpt_") + (info ? info->test_suite_name() : "x") + "_" +
                     (info ? info->name() : "y") + "_" + std::to_string(getpid()) + "_" +
                     std::to_string(counter++);
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  std::string dir = base + (base.empty() || base.back() == '/' ? "" : "/") + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TempDirJanitor::Get().Track(dir, info != nullptr);
  return dir;
}

bool DirectIoWorks(const std::string& dir) {
#ifdef O_DIRECT
  const std::string probe = dir + "/direct_io_probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
  if (fd < 0) return false;
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
#else
  return false;
#endif
}

ScopedFileSizeLimit::ScopedFileSizeLimit(uint64_t bytes) {
  if (::getrlimit(RLIMIT_FSIZE, &old_limit_) != 0) return;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  if (::sigaction(SIGXFSZ, &ignore, &old_action_) != 0) return;
  struct rlimit limit = old_limit_;
  limit.rlim_cur = static_cast<rlim_t>(bytes);
  ok_ = ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
  if (!ok_) ::sigaction(SIGXFSZ, &old_action_, nullptr);
}

ScopedFileSizeLimit::~ScopedFileSizeLimit() {
  if (!ok_) return;
  ::setrlimit(RLIMIT_FSIZE, &old_limit_);
  ::sigaction(SIGXFSZ, &old_action_, nullptr);
}

Status MakeFifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0600) != 0) {
    return IoError("mkfifo '" + path + "': " + std::strerror(errno));
  }
  return Status::OK();
}

void UnblockFifoReaders(const std::vector<std::string>& fifos) {
  for (const std::string& f : fifos) {
    int fd = ::open(f.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
  }
}

std::optional<std::string> RunUnprivileged(const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    ::close(fds[0]);
    // 65534: "nobody". Group first, while still allowed to change it.
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    const std::string out = fn();
    size_t done = 0;
    while (done < out.size()) {
      ssize_t w = ::write(fds[1], out.data() + done, out.size() - done);
      if (w <= 0) ::_exit(4);
      done += static_cast<size_t>(w);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t r;
  while ((r = ::read(fds[0], buf, sizeof(buf))) != 0) {
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) return std::nullopt;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "<the unprivileged child failed: wait status " + std::to_string(status) + ">";
  }
  return out;
}

Tensor MakeTestTensor(DataType dtype, const TensorShape& shape, uint32_t seed) {
  if (dtype == DataType::kString) {
    std::vector<std::string> values(static_cast<size_t>(shape.num_elements()));
    for (size_t i = 0; i < values.size(); ++i) {
      std::string s;
      size_t len = (i * 7 + seed) % 13;
      for (size_t j = 0; j < len; ++j) s.push_back(static_cast<char>((seed + i * 31 + j * 17) & 0xff));
      if (i % 3 == 0) s += std::string("\0\xff", 2);
      values[i] = s;
    }
    return Tensor::FromStrings(shape, std::move(values)).value();
  }
  Tensor t = Tensor::Allocate(dtype, shape).value();
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < t.byte_size(); ++i) {
    x = x * 1103515245u + 12345u;
    t.mutable_data()[i] = static_cast<char>(x >> 16);
  }
  if (dtype == DataType::kBool) {
    for (size_t i = 0; i < t.byte_size(); ++i) t.mutable_data()[i] &= 1;
  }
  return t;
}

std::string HexString(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

Status WriteStringToFile(Env* env, const std::string& path, std::string_view data) {
  CKPT_ASSIGN_OR_RETURN(auto f, env->NewWritableFile(path));
  CKPT_RETURN_IF_ERROR(f->Append(data));
  return f->Close();
}

std::vector<std::string> ListDir(Env* env, const std::string& dir) {
  auto r = env->GetChildren(dir);
  if (!r.ok()) return {};
  std::vector<std::string> v = std::move(r).value();
  std::sort(v.begin(), v.end());
  return v;
}

std::string EnvKindName(EnvKind kind) { return kind == EnvKind::kPosix ? "Posix" : "Mem"; }

TestEnv MakeTestEnv(EnvKind kind) {
  TestEnv t;
  if (kind == EnvKind::kPosix) {
    t.env = Env::Posix();
    t.root = TempDir();
  } else {
    t.mem = NewMemEnv();
    t.env = t.mem.get();
    t.root = "/mem/test";
    t.env->CreateDirs(t.root).IgnoreError();
  }
  return t;
}

Result<int> FaultInjectionEnv::Tick(const std::string& kind, const std::string& path,
                                     bool crash_only) {
  const bool crash = mode_ == Mode::kCrash;
  if (crash_only && !crash) return 0;
  const std::string what = kind + " " + path;
  const bool counted = !crash || !counted_ || counted_(path);
  int b = budget_.load();
  if (!counted) {
    // Until the crash itself (a counted operation refused), these still work.
    if (crash ? failed_.load() : b == 0) {
      failed_ = true;
      return IoError(std::string(crash ? "injected crash: " : "injected fault: ") + what);
    }
    return 0;
  }
  const int op = ++ops_;
  if (b < 0) return op;
  if (b == 0) {
    failed_ = true;
    return IoError(std::string(crash ? "injected crash: " : "injected fault: ") + what);
  }
  budget_ = b - 1;
  return op;
}

void FaultInjectionEnv::Done(int op, const std::string& what) {
  if (op > 0 && observer_) observer_(op, what);
}

namespace {
class FaultyWritableFile : public WritableFile {
 public:
  FaultyWritableFile(FaultInjectionEnv* env, std::unique_ptr<WritableFile> f, std::string path)
      : env_(env), f_(std::move(f)), path_(std::move(path)) {}
  Status Append(std::string_view d) override { return Run("append", false, [&] { return f_->Append(d); }); }
  Status Flush() override { return Run("flush", true, [&] { return f_->Flush(); }); }
  Status Sync() override { return Run("sync", false, [&] { return f_->Sync(); }); }
  Status Close() override { return Run("close", true, [&] { return f_->Close(); }); }
  uint64_t Tell() const override { return f_->Tell(); }

 private:
  template <typename F>
  Status Run(const char* kind, bool crash_only, F op) {
    CKPT_ASSIGN_OR_RETURN(int n, env_->Tick(kind, path_, crash_only));
    Status s = op();
    env_->Done(n, std::string(kind) + " " + path_);
    return s;
  }

  FaultInjectionEnv* env_;
  std::unique_ptr<WritableFile> f_;
  std::string path_;
};
}  // namespace

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path) {
  CKPT_ASSIGN_OR_RETURN(int n, Tick("create", path));
  auto f = target()->NewWritableFile(path);
  Done(n, "create " + path);
  if (!f.ok()) return f.status();
  return std::unique_ptr<WritableFile>(new FaultyWritableFile(this, std::move(*f), path));
}
Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  CKPT_ASSIGN_OR_RETURN(int n, Tick("rename", from));
  Status s = target()->RenameFile(from, to);
  Done(n, "rename " + from + " -> " + to);
  return s;
}
Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  CKPT_ASSIGN_OR_RETURN(int n, Tick("sync dir", dir));
  Status s = target()->SyncDir(dir);
  Done(n, "sync dir " + dir);
  return s;
}
Status FaultInjectionEnv::DeleteFile(const std::string& path) {
  CKPT_ASSIGN_OR_RETURN(int n, Tick("delete", path, /*crash_only=*/true));
  Status s = target()->DeleteFile(path);
  Done(n, "delete " + path);
  return s;
}
Status FaultInjectionEnv::CreateDirs(const std::string& dir) {
  CKPT_ASSIGN_OR_RETURN(int n, Tick("create dirs", dir, /*crash_only=*/true));
  Status s = target()->CreateDirs(dir);
  Done(n, "create dirs " + dir);
  return s;
}
Status FaultInjectionEnv::DeleteDir(const std::string& dir) {
  CKPT_ASSIGN_OR_RETURN(int n, Tick("delete dir", dir, /*crash_only=*/true));
  Status s = target()->DeleteDir(dir);
  Done(n, "delete dir " + dir);
  return s;
}

}  // namespace ckpt::testing

namespace ckpt::testing {

LockingChild::LockingChild(const std::string& dir) {
  int ready[2], release[2];
  if (pipe(ready) != 0) return;
  if (pipe(release) != 0) {
    close(ready[0]);
    close(ready[1]);
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    close(ready[0]);
    close(release[1]);
    auto lock = Env::Posix()->TryLockDirectory(dir);
    char c = lock.ok() ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(3);
    char buf;
    while (read(release[0], &buf, 1) > 0) {
    }
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  release_ = release[1];
  char c = 0;
  locked_ = pid_ > 0 && read(ready[0], &c, 1) == 1 && c == 'y';
  close(ready[0]);
}

LockingChild::~LockingChild() {
  Release();
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

void LockingChild::Release() {
  if (release_ >= 0) close(release_);
  release_ = -1;
}

void LockingChild::Kill() {
  if (pid_ > 0) kill(pid_, SIGKILL);
}

int DeadProcessId() {
  pid_t child = fork();
  if (child == 0) _exit(0);
  if (child > 0) waitpid(child, nullptr, 0);
  return child;
}

std::map<std::string, std::string> SnapshotTree(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::vector<std::string> todo = {dir};
  while (!todo.empty()) {
    std::string d = todo.back();
    todo.pop_back();
    for (const std::string& name : ListDir(Env::Posix(), d)) {
      std::string path = JoinPath(d, name);
      if (Env::Posix()->IsDirectory(path)) {
        out[path + "/"] = "";
        todo.push_back(path);
      } else {
        auto data = ReadFileToString(Env::Posix(), path);
        out[path] = data.ok() ? *data : "<unreadable: " + data.status().ToString() + ">";
      }
    }
  }
  return out;
}

}  // namespace ckpt::testing
