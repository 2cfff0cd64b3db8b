// Env over the POSIX file system: pread for random access, mmap on request,
// buffered write(2) for appends, fsync for durability (with early writeback
// through sync_file_range where Linux has it).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <random>
#include <chrono>
#include <mutex>

#include "ckpt/env.h"

namespace ckpt {
namespace {

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " '" + path + "': " + std::strerror(err);
  if (err == ENOENT) return NotFoundError(std::move(msg));
  if (err == ENOSPC || err == EDQUOT) return ResourceExhaustedError(std::move(msg));
  return IoError(std::move(msg));
}

class PosixRandomAccessFile : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixRandomAccessFile() override { close(fd_); }

  Result<std::string_view> Read(uint64_t offset, size_t n,
                                char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd_, scratch + done, n - done, offset + done);
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("Read failed on", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return std::string_view(scratch, done);
  }
  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixMappedFile : public RandomAccessFile {
 public:
  PosixMappedFile(const char* base, uint64_t size) : base_(base), size_(size) {}
  ~PosixMappedFile() override {
    if (base_ != nullptr) munmap(const_cast<char*>(base_), size_);
  }
  Result<std::string_view> Read(uint64_t offset, size_t n,
                                char* scratch) const override {
    if (offset >= size_) return std::string_view();
    n = std::min<uint64_t>(n, size_ - offset);
    return std::string_view(base_ + offset, n);
  }
  uint64_t Size() const override { return size_; }
  const char* MappedData() const override { return base_ != nullptr ? base_ : ""; }

 private:
  const char* base_;
  uint64_t size_;
};

class PosixWritableFile : public WritableFile {
 public:
  static constexpr size_t kBufferSize = 1 << 20;
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
    buffer_.reserve(kBufferSize);
  }
  ~PosixWritableFile() override {
    if (fd_ >= 0) close(fd_);
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return FailedPreconditionError("Append to closed file '" + path_ + "'");
    pos_ += data.size();
    if (buffer_.size() + data.size() <= kBufferSize) {
      buffer_.append(data.data(), data.size());
      return Status::OK();
    }
    CKPT_RETURN_IF_ERROR(FlushBuffer());
    if (data.size() < kBufferSize) {
      buffer_.append(data.data(), data.size());
      return Status::OK();
    }
    return WriteRaw(data.data(), data.size());
  }
  Status Flush() override { return FlushBuffer(); }
  void StartWriteback() override {
#ifdef SYNC_FILE_RANGE_WRITE
    // Only what already reached the file; the buffer is left alone so the
    // sequence of writes does not change. Errors show up at the Sync().
    const uint64_t written = pos_ - buffer_.size();
    if (fd_ < 0 || written <= writeback_from_) return;
    if (sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                        static_cast<off_t>(written - writeback_from_), SYNC_FILE_RANGE_WRITE) == 0) {
      writeback_from_ = written;
    }
#endif
  }
  Status Sync() override {
    CKPT_RETURN_IF_ERROR(FlushBuffer());
    if (fdatasync(fd_) != 0) return ErrnoStatus("fsync failed on", path_, errno);
    return Status::OK();
  }
  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Status s = FlushBuffer();
    if (close(fd_) != 0 && s.ok()) s = ErrnoStatus("close failed on", path_, errno);
    fd_ = -1;
    return s;
  }
  uint64_t Tell() const override { return pos_; }

 private:
  Status FlushBuffer() {
    if (buffer_.empty()) return Status::OK();
    Status s = WriteRaw(buffer_.data(), buffer_.size());
    buffer_.clear();
    return s;
  }
  Status WriteRaw(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("Write failed on", path_, errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  }

  std::string path_;
  int fd_;
  uint64_t pos_ = 0;
  uint64_t writeback_from_ = 0;  // StartWriteback() covered [0, writeback_from_)
  std::string buffer_;
};

class PosixEnv : public Env {
 public:
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("Could not open", path, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus("Could not stat", path, err);
    }
    if (S_ISDIR(st.st_mode)) {
      close(fd);
      return InvalidArgumentError("'" + path + "' is a directory, not a file");
    }
    return std::unique_ptr<RandomAccessFile>(
        new PosixRandomAccessFile(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(
      const std::string& path) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("Could not open", path, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus("Could not stat", path, err);
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    const char* base = nullptr;
    if (size > 0) {
      void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) {
        close(fd);
        return NewRandomAccessFile(path);
      }
      base = static_cast<const char*>(p);
    }
    close(fd);
    return std::unique_ptr<RandomAccessFile>(new PosixMappedFile(base, size));
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("Could not create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
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
