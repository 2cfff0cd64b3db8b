// The POSIX file classes behind Env::Posix() (see posix_file.h).
//
// Reading: files are opened for reading only if they are regular files: the
// open is non-blocking and the type is checked on the descriptor
// (OpenRegularForReading), so a FIFO planted as a checkpoint file is an
// error, never a hang. Random access is pread; NewMappedFile maps the file
// (falling back to pread if mmap fails).
//
// Writing: appends are buffered (1 MiB) and written with write(2); Sync is
// fsync, with StartWriteback (sync_file_range) to start writeback early.
// NewDirectWritableFile writes whole aligned blocks with O_DIRECT
// (PosixDirectWritableFile below states its protocol), and falls back to a
// buffered file where O_DIRECT is refused.
#include "env/posix_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ckpt::posix {
namespace {

StatusCode ErrnoCode(int err) {
  if (err == ENOENT) return StatusCode::kNotFound;
  if (err == EACCES || err == EPERM) return StatusCode::kPermissionDenied;
  if (err == ENOSPC || err == EDQUOT) return StatusCode::kResourceExhausted;
  return StatusCode::kIoError;
}

}  // namespace

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  return Status(ErrnoCode(err), what + " '" + path + "': " + std::strerror(err));
}

namespace {

// "a FIFO", "a directory", ... for a file that is not a regular file.
const char* FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

Status NotRegularFile(const std::string& path, mode_t mode) {
  return FailedPreconditionError("'" + path + "' is " + FileTypeName(mode) +
                                 ", not a regular file");
}

// Opens `path` (symlinks followed) for reading and fills *st; refuses
// anything but a regular file without blocking: the open is non-blocking (a
// FIFO without a writer would block it forever; a socket cannot be opened at
// all, ENXIO), the type is checked on the open descriptor (no race with a
// rename), and only then is the descriptor made blocking again.
Result<int> OpenRegularForReading(const std::string& path, struct stat* st) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENXIO && stat(path.c_str(), st) == 0 && !S_ISREG(st->st_mode)) {
      return NotRegularFile(path, st->st_mode);
    }
    if (err == ENOENT) return ErrnoStatus("Could not open", path, err);
    // Not missing (a missing file is NotFound above): say it cannot be read, and why.
    return Status(ErrnoCode(err), "'" + path + "' cannot be read: " + std::strerror(err));
  }
  if (fstat(fd, st) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("Could not stat", path, err);
  }
  if (!S_ISREG(st->st_mode)) {
    close(fd);
    return NotRegularFile(path, st->st_mode);
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("Could not open", path, err);
  }
  return fd;
}

class PosixRandomAccessFile : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixRandomAccessFile() override {
    close(fd_);
    if (direct_fd_ >= 0) close(direct_fd_);
  }

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
  void Prefetch(uint64_t offset, uint64_t n) const override {
    if (n > 0) ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), POSIX_FADV_WILLNEED);
  }

  // cachestat(2) (Linux 6.5+), else mincore(2) over a temporary mapping.
  int64_t CachedBytes(uint64_t offset, uint64_t n) const override {
    if (offset >= size_ || n == 0) return 0;
    n = std::min<uint64_t>(n, size_ - offset);
    static std::atomic<bool> no_cachestat{false};
    if (!no_cachestat.load(std::memory_order_relaxed)) {
      struct {
        uint64_t off, len;
      } range{offset, n};
      struct {
        uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
      } stat{};
      if (::syscall(kCachestatSyscall, fd_, &range, &stat, 0) == 0) {
        return static_cast<int64_t>(std::min<uint64_t>(n, stat.nr_cache * kPageBytes));
      }
      if (errno != ENOSYS) return -1;
      no_cachestat.store(true, std::memory_order_relaxed);
    }
    const uint64_t begin = offset / kPageBytes * kPageBytes;
    const size_t len = static_cast<size_t>(offset + n - begin);
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(begin));
    if (p == MAP_FAILED) return -1;
    std::vector<unsigned char> resident((len + kPageBytes - 1) / kPageBytes);
    const int rc = ::mincore(p, len, resident.data());
    ::munmap(p, len);
    if (rc != 0) return -1;
    uint64_t pages = 0;
    for (unsigned char r : resident) pages += r & 1;
    return static_cast<int64_t>(std::min<uint64_t>(n, pages * kPageBytes));
  }

  size_t DirectReadAlignment() const override { return DirectFd() >= 0 ? kDirectAlign : 0; }

  Result<size_t> ReadDirect(uint64_t offset, size_t n, char* dst) const override {
    const int fd = DirectFd();
    if (fd < 0) return UnimplementedError("No direct reads of '" + path_ + "'");
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EINVAL) return InvalidArgumentError("Direct read refused on '" + path_ + "'");
        return ErrnoStatus("Read failed on", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
      if (done % kDirectAlign != 0) break;  // the end of the file
    }
    return done;
  }

 private:
  static constexpr uint64_t kPageBytes = 4096;
  static constexpr size_t kDirectAlign = 4096;
  static constexpr long kCachestatSyscall = 451;  // the same number on every architecture

  // A second descriptor of the same file, opened with O_DIRECT on first use
  // through /proc/self/fd (so it is the file this object opened even if its
  // path now names another), or -1 where that fails (no /proc, a file
  // system without O_DIRECT).
  int DirectFd() const {
    std::call_once(direct_once_, [this] {
      const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
      const int fd = ::open(proc.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
      if (fd < 0) return;
      struct stat a, b;
      if (fstat(fd_, &a) != 0 || fstat(fd, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        close(fd);
        return;
      }
      direct_fd_ = fd;
    });
    return direct_fd_;
  }

  std::string path_;
  int fd_;
  uint64_t size_;
  mutable std::once_flag direct_once_;
  mutable int direct_fd_ = -1;
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
  void Prefetch(uint64_t offset, uint64_t n) const override {
    if (base_ == nullptr || offset >= size_ || n == 0) return;
    n = std::min<uint64_t>(n, size_ - offset);
    // madvise wants a page-aligned start.
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t begin = offset / page * page;
    ::madvise(const_cast<char*>(base_) + begin, offset + n - begin, MADV_WILLNEED);
  }

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

#ifdef O_DIRECT
// Staging buffers of the direct files, kept for reuse: a new buffer is
// memory the process has never touched, and on a VM that hands freed guest
// memory back to the host, faulting 32 MiB in again for every save costs
// tens of milliseconds.
class DirectBufferPool {
 public:
  static constexpr size_t kAlign = 4096;
  static constexpr size_t kBytes = size_t{8} << 20;
  static constexpr size_t kKeep = 4;
  static constexpr size_t kHugeAlign = size_t{2} << 20;

  static char* Get() {
    {
      std::lock_guard<std::mutex> lock(mu());
      if (!free_list().empty()) {
        char* b = free_list().back();
        free_list().pop_back();
        return b;
      }
    }
    // Huge-page aligned and, where the kernel allows, backed by huge pages:
    // physically contiguous memory lets the block layer merge a buffer into
    // far fewer, larger requests than scattered 4 KiB pages do (on the
    // development VM's virtio-blk: ~1.1-1.7 MiB instead of ~0.8 MiB per
    // write request, and 20-30% more O_DIRECT write throughput).
    char* b = static_cast<char*>(std::aligned_alloc(kHugeAlign, kBytes));
#ifdef MADV_HUGEPAGE
    if (b != nullptr) madvise(b, kBytes, MADV_HUGEPAGE);
#endif
    return b;
  }
  static void Put(char* b) {
    if (b == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(mu());
      if (free_list().size() < kKeep) {
        free_list().push_back(b);
        return;
      }
    }
    std::free(b);
  }

 private:
  static std::mutex& mu() {
    static std::mutex* m = new std::mutex;
    return *m;
  }
  static std::vector<char*>& free_list() {
    static std::vector<char*>* v = new std::vector<char*>;
    return *v;
  }
};

// A sequential file written with O_DIRECT. Appends are copied into one of
// kBuffers aligned staging buffers (4 x 8 MiB: one being written, the rest
// absorb the IO thread's scheduling delays on a busy machine); a full buffer is handed to a background
// thread (started on the first one) that writes it with pwrite at its
// offset while the caller fills the next. An append of block-aligned memory
// of at least kInPlaceMinBytes at a block-aligned file offset is not copied
// (AppendsWithoutCopy): once the queued buffers are written, the calling
// thread writes the whole blocks still in the current buffer and then the
// caller's whole blocks straight from its memory, in kInPlaceChunk pwrites,
// before Append returns; the remainder (less than a block) is copied into
// the staging buffer as usual. The file only ever receives whole
// aligned blocks through O_DIRECT. The bytes after the last whole block (at
// most one buffer's worth, usually less than a block) are written at
// Flush/Sync/Close: their whole blocks with O_DIRECT and the final partial
// block through the page cache, with O_DIRECT switched off on the file
// descriptor while nothing else writes. They stay in the staging buffer, so
// appends after a Sync rewrite that block (O_DIRECT writes flush and drop any
// cached pages of the range first). If a direct write is refused (EINVAL:
// an alignment this device does not accept, or a short write that left an
// unaligned remainder), O_DIRECT is dropped for the rest of the file and the
// write is retried buffered: the bytes are what matter.
class PosixDirectWritableFile : public WritableFile {
 public:
  static constexpr size_t kAlign = DirectBufferPool::kAlign;
  static constexpr size_t kBufBytes = DirectBufferPool::kBytes;
  static constexpr int kBuffers = 4;
  // Appends of aligned memory at least this large are written in place.
  // Smaller ones are cheaper to copy than to wait for the queued buffers.
  static constexpr size_t kInPlaceMinBytes = kBufBytes;
  // Size of each pwrite of an in-place append (the block layer splits it
  // into requests and keeps them in flight together).
  static constexpr size_t kInPlaceChunk = size_t{8} << 20;

  PosixDirectWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixDirectWritableFile() override {
    StopThread();
    if (fd_ >= 0) close(fd_);
    for (Slot& s : slots_) DirectBufferPool::Put(s.buf);
  }

  // Allocates the staging buffers; false if memory is short.
  bool Init() {
    for (Slot& s : slots_) {
      s.buf = DirectBufferPool::Get();
      if (s.buf == nullptr) return false;
    }
    return true;
  }

  // pos_ % kAlign == 0 means the current buffer holds only whole blocks
  // (base_ is block-aligned), which can be written before `data`.
  bool AppendsWithoutCopy(std::string_view data) const override {
    return fd_ >= 0 && direct_.load(std::memory_order_relaxed) && pos_ % kAlign == 0 &&
           data.size() >= kInPlaceMinBytes &&
           reinterpret_cast<uintptr_t>(data.data()) % kAlign == 0;
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return FailedPreconditionError("Append to closed file '" + path_ + "'");
    CKPT_RETURN_IF_ERROR(IoStatus());
    if (AppendsWithoutCopy(data)) {
      // From here until the next SubmitCurrent the IO thread is idle: only
      // this thread writes.
      CKPT_RETURN_IF_ERROR(Drain());
      // A queued buffer's write may have dropped O_DIRECT (EINVAL): then
      // copying is as good as anything.
      if (direct_) {
        const size_t whole = data.size() & ~(kAlign - 1);
        CKPT_RETURN_IF_ERROR(WriteInPlace(data.data(), whole));
        data.remove_prefix(whole);
      }
    }
    while (!data.empty()) {
      const size_t n = std::min(kBufBytes - fill_, data.size());
      std::memcpy(slots_[cur_].buf + fill_, data.data(), n);
      fill_ += n;
      pos_ += n;
      data.remove_prefix(n);
      if (fill_ == kBufBytes) CKPT_RETURN_IF_ERROR(SubmitCurrent());
    }
    return Status::OK();
  }
  Status Flush() override {
    if (fd_ < 0) return Status::OK();
    return WriteOut();
  }
  Status Sync() override {
    if (fd_ < 0) return FailedPreconditionError("Sync of closed file '" + path_ + "'");
    CKPT_RETURN_IF_ERROR(WriteOut());
    if (fdatasync(fd_) != 0) return ErrnoStatus("fsync failed on", path_, errno);
    return Status::OK();
  }
  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Status s = WriteOut();
    StopThread();
    if (close(fd_) != 0 && s.ok()) s = ErrnoStatus("close failed on", path_, errno);
    fd_ = -1;
    return s;
  }
  uint64_t Tell() const override { return pos_; }

 private:
  struct Slot {
    char* buf = nullptr;
    bool busy = false;  // queued or being written by the thread
  };
  struct Job {
    int slot;
    uint64_t offset;
  };

  Status IoStatus() {
    std::lock_guard<std::mutex> lock(mu_);
    return io_status_;
  }
  // Records `s` as the sticky error if it is the first; returns it.
  Status Sticky(Status s) {
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (io_status_.ok()) io_status_ = s;
    }
    return s;
  }

  // Writes the current buffer's whole blocks, then `n` bytes (whole blocks)
  // at `p`, all at base_, from the calling thread. REQUIRES: drained (the IO
  // thread idle), pos_ block-aligned (so fill_ is whole blocks).
  Status WriteInPlace(const char* p, size_t n) {
    if (fill_ > 0) {
      CKPT_RETURN_IF_ERROR(Sticky(WriteAt(slots_[cur_].buf, fill_, base_)));
      base_ += fill_;
      fill_ = 0;
    }
    for (size_t done = 0; done < n;) {
      const size_t k = std::min(kInPlaceChunk, n - done);
      CKPT_RETURN_IF_ERROR(Sticky(WriteAt(p + done, k, base_)));
      base_ += k;
      pos_ += k;
      done += k;
    }
    return Status::OK();
  }

  // Queues the full current buffer and moves to the next one, waiting until
  // the thread has written it.
  Status SubmitCurrent() {
    if (!io_thread_.joinable()) io_thread_ = std::thread([this] { IoLoop(); });
    std::unique_lock<std::mutex> lock(mu_);
    slots_[cur_].busy = true;
    jobs_.push_back(Job{cur_, base_});
    cv_.notify_all();
    base_ += kBufBytes;
    cur_ = (cur_ + 1) % kBuffers;
    fill_ = 0;
    cv_.wait(lock, [&] { return !slots_[cur_].busy; });
    return io_status_;
  }

  void IoLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stop_ and nothing left
      const Job job = jobs_.front();
      const bool skip = !io_status_.ok();
      lock.unlock();
      Status s = skip ? Status::OK() : WriteAt(slots_[job.slot].buf, kBufBytes, job.offset);
      lock.lock();
      if (!s.ok() && io_status_.ok()) io_status_ = s;
      jobs_.pop_front();
      slots_[job.slot].busy = false;
      cv_.notify_all();
    }
  }

  void StopThread() {
    if (!io_thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    io_thread_.join();
    stop_ = false;
  }

  // Waits until the thread has written every queued buffer.
  Status Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return jobs_.empty(); });
    return io_status_;
  }

  // Writes everything appended so far (see the class comment).
  Status WriteOut() {
    CKPT_RETURN_IF_ERROR(Drain());
    const size_t whole = fill_ & ~(kAlign - 1);
    const char* buf = slots_[cur_].buf;
    Status s;
    if (whole > 0) s = WriteAt(buf, whole, base_);
    if (s.ok() && fill_ > whole) {
      const bool was_direct = direct_;
      if (was_direct) s = SetDirect(false);
      if (s.ok()) s = WriteAt(buf + whole, fill_ - whole, base_ + whole);
      if (s.ok() && was_direct) s = SetDirect(true);
    }
    return Sticky(s);
  }

  Status SetDirect(bool on) {
    int flags = fcntl(fd_, F_GETFL);
    if (flags < 0 || fcntl(fd_, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT)) != 0) {
      return ErrnoStatus(on ? "Could not enable O_DIRECT on" : "Could not disable O_DIRECT on",
                         path_, errno);
    }
    direct_ = on;
    return Status::OK();
  }

  // pwrite of all n bytes at `offset`, continuing after short writes. Only
  // one thread writes at a time (the IO thread, or the caller once drained:
  // WriteOut, WriteInPlace), so SetDirect cannot race with another write.
  Status WriteAt(const char* p, size_t n, uint64_t offset) {
    while (n > 0) {
      ssize_t w = pwrite(fd_, p, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EINVAL && direct_) {
          CKPT_RETURN_IF_ERROR(SetDirect(false));
          continue;
        }
        return ErrnoStatus("Write failed on", path_, errno);
      }
      if (w == 0) return IoError("Write failed on '" + path_ + "': wrote 0 bytes");
      p += w;
      offset += static_cast<uint64_t>(w);
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  }

  std::string path_;
  int fd_;
  // O_DIRECT currently set on fd_; changed only by the writing thread, read
  // by AppendsWithoutCopy from the caller's while the IO thread may write.
  std::atomic<bool> direct_{true};
  Slot slots_[kBuffers];
  int cur_ = 0;         // slot being filled by Append
  size_t fill_ = 0;     // bytes in it
  uint64_t base_ = 0;   // file offset of its first byte (block-aligned: whole
                        // buffers and in-place whole blocks precede it)
  uint64_t pos_ = 0;    // bytes appended

  std::thread io_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  Status io_status_;  // first write error, sticky
};
#endif  // O_DIRECT

}  // namespace

Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) {
  struct stat st;
  CKPT_ASSIGN_OR_RETURN(int fd, OpenRegularForReading(path, &st));
  return std::unique_ptr<RandomAccessFile>(
      new PosixRandomAccessFile(path, fd, static_cast<uint64_t>(st.st_size)));
}

Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(const std::string& path) {
  struct stat st;
  CKPT_ASSIGN_OR_RETURN(int fd, OpenRegularForReading(path, &st));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  const char* base = nullptr;
  if (size > 0) {
    void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      // Plain reads instead, through the descriptor already checked.
      return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd, size));
    }
    base = static_cast<const char*>(p);
  }
  close(fd);
  return std::unique_ptr<RandomAccessFile>(new PosixMappedFile(base, size));
}

Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("Could not create", path, errno);
  return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
}

Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) {
#ifdef O_DIRECT
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
  if (fd < 0) {
    // EINVAL: this file system does not do O_DIRECT; write through the cache.
    if (errno == EINVAL) return NewWritableFile(path);
    return ErrnoStatus("Could not create", path, errno);
  }
  auto file = std::make_unique<PosixDirectWritableFile>(path, fd);
  if (!file->Init()) {
    file.reset();
    return NewWritableFile(path);
  }
  return std::unique_ptr<WritableFile>(std::move(file));
#else
  return NewWritableFile(path);
#endif
}

}  // namespace ckpt::posix
