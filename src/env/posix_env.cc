// Env::Posix(): the Env over the POSIX file system. Files are opened by the
// classes of posix_file.cc; this file holds the rest of the Env: file
// metadata, directory listing, rename and delete, directory creation and
// fsync (SyncDir, the last step of every atomic publish), and writer locks.
//
// Locks: TryLockDirectory takes flock(2) LOCK_EX | LOCK_NB on the directory's
// own descriptor, held until the returned DirectoryLock is destroyed (the
// descriptor is closed); the kernel drops it when the process dies. The
// holder of a lock is read from /proc/locks (LockHolder).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <vector>

#include "ckpt/env.h"
#include "env/posix_file.h"

namespace ckpt {
namespace {

using posix::ErrnoStatus;

// flock(2) on a directory's own descriptor; released by closing it.
class PosixDirectoryLock : public DirectoryLock {
 public:
  explicit PosixDirectoryLock(int fd) : fd_(fd) {}
  ~PosixDirectoryLock() override { close(fd_); }

 private:
  int fd_;
};

// Sets `holder` to "pid N: <command line>" of the process /proc/locks names
// as holding a flock on the file open at `fd`, or "" if none does. False if
// /proc/locks cannot be read.
bool LockHolder(int fd, std::string* holder) {
  holder->clear();
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  char want[64];
  std::snprintf(want, sizeof(want), "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  std::ifstream locks("/proc/locks");
  if (!locks) return false;
  std::string line;
  while (std::getline(locks, line)) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters have "->".
    if (line.find("->") != std::string::npos || line.find("FLOCK") == std::string::npos) continue;
    char type[16], kind[16], mode[16], dev[64];
    long long pid = 0;
    if (std::sscanf(line.c_str(), "%*d: %15s %15s %15s %lld %63s", type, kind, mode, &pid, dev) !=
            5 ||
        std::string(dev) != want || pid <= 0) {
      continue;
    }
    *holder = "pid " + std::to_string(pid);
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
    for (char& c : cmd) {
      if (c == '\0') c = ' ';
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    if (cmd.size() > 200) cmd = cmd.substr(0, 200) + "...";
    if (!cmd.empty()) *holder += ": " + cmd;
    return true;
  }
  return true;
}

class PosixEnv : public Env {
 public:
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return posix::NewRandomAccessFile(path);
  }
  Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(const std::string& path) override {
    return posix::NewMappedFile(path);
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return posix::NewWritableFile(path);
  }
  Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) override {
    return posix::NewDirectWritableFile(path);
  }

  bool FileExists(const std::string& path) override {
    return access(path.c_str(), F_OK) == 0;
  }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return ErrnoStatus("Could not stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }
  Result<double> GetModificationTime(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return ErrnoStatus("Could not stat", path, errno);
    return static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec * 1e-9;
  }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return ErrnoStatus("Could not list directory", dir, errno);
    std::vector<std::string> out;
    while (struct dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") out.push_back(std::move(name));
    }
    closedir(d);
    return out;
  }
  bool IsDirectory(const std::string& path) override {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  bool IsSymlink(const std::string& path) override {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  }
  Result<std::string> RealPath(const std::string& path) override {
    char buf[PATH_MAX];
    if (realpath(path.empty() ? "." : path.c_str(), buf) == nullptr) {
      return ErrnoStatus("Could not resolve", path, errno);
    }
    return std::string(buf);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus("Could not rename to '" + to + "':", from, errno);
    }
    return Status::OK();
  }
  Status DeleteFile(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return ErrnoStatus("Could not delete", path, errno);
    return Status::OK();
  }
  Status CreateDirs(const std::string& dir) override {
    if (dir.empty() || IsDirectory(dir)) return Status::OK();
    std::string parent(Dirname(dir));
    if (!parent.empty() && parent != dir) CKPT_RETURN_IF_ERROR(CreateDirs(parent));
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("Could not create directory", dir, errno);
    }
    return Status::OK();
  }
  Status DeleteDir(const std::string& dir) override {
    if (rmdir(dir.c_str()) != 0) return ErrnoStatus("Could not delete directory", dir, errno);
    return Status::OK();
  }
  Status SyncDir(const std::string& dir) override {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("Could not open directory", dir, errno);
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL) return ErrnoStatus("fsync failed on directory", dir, err);
    return Status::OK();
  }
  Result<std::unique_ptr<DirectoryLock>> TryLockDirectory(const std::string& dir) override {
    const std::string d = dir.empty() ? "." : dir;
    int fd = open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("Could not open directory", d, errno);
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      return std::unique_ptr<DirectoryLock>(new PosixDirectoryLock(fd));
    }
    const int err = errno;
    if (err == EWOULDBLOCK) {
      std::string holder;
      LockHolder(fd, &holder);
      close(fd);
      return FailedPreconditionError("Directory '" + d + "' is locked by another writer" +
                                     (holder.empty() ? "" : " (" + holder + ")"));
    }
    close(fd);
    if (err == ENOLCK || err == EOPNOTSUPP || err == EBADF || err == EINVAL) {
      return UnimplementedError("Cannot lock directory '" + d + "': " + std::strerror(err));
    }
    return ErrnoStatus("Could not lock directory", d, err);
  }
  Result<std::string> DirectoryLockHolder(const std::string& dir) override {
    const std::string d = dir.empty() ? "." : dir;
    int fd = open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("Could not open directory", d, errno);
    std::string holder;
    const bool known = LockHolder(fd, &holder);
    close(fd);
    if (!known) return UnimplementedError("Cannot read /proc/locks");
    return holder;
  }
  uint64_t Random64() override {
    std::lock_guard<std::mutex> lock(mu_);
    return rng_();
  }
  double NowSeconds() override {
    return std::chrono::duration<double>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  std::mutex mu_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

Env* Env::Posix() {
  static PosixEnv* const env = new PosixEnv();
  return env;
}

}  // namespace ckpt
