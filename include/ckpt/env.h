// Env: the single seam through which ckpt does all file IO.
//
// Every ckpt component takes an Env* (through its options) and never touches
// the file system directly, so tests can substitute an in-memory Env or wrap
// one to inject faults. Two implementations ship: Env::Posix() (the real file
// system) and NewMemEnv() (a process-local, thread-safe map of files whose
// unsynced data can be dropped to simulate a crash).
//
// Thread safety: Env implementations are thread-safe. File objects are not;
// use each from one thread at a time (RandomAccessFile::Read is the exception:
// it is safe to call concurrently).
#ifndef CKPT_ENV_H_
#define CKPT_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/status.h"

namespace ckpt {

// A file opened for reading at arbitrary offsets.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;

  // Reads up to `n` bytes at `offset` into `scratch` and returns the bytes
  // read, which may point into `scratch` or into memory owned by the file
  // (valid as long as the file object lives). Fewer than `n` bytes are
  // returned only at end of file; reading at or past the end returns an
  // empty view. REQUIRES: scratch holds at least n bytes.
  virtual Result<std::string_view> Read(uint64_t offset, size_t n,
                                        char* scratch) const = 0;

  // Size of the file when it was opened.
  virtual uint64_t Size() const = 0;

  // If the whole file is addressable in memory (mmap or in-memory Env), a
  // view of it, valid while this object lives; otherwise nullptr.
  virtual const char* MappedData() const { return nullptr; }

  // A hint that the `n` bytes at `offset` will be read soon: the file may
  // start fetching them from the device now, all at once, instead of as the
  // reads reach them. Never changes what a read returns. Default: nothing.
  virtual void Prefetch(uint64_t /*offset*/, uint64_t /*n*/) const {}

  // Direct reads, for large reads of bytes the page cache does not hold:
  // straight from the device into the caller's memory, with no page-cache
  // pages allocated, filled and copied out (O_DIRECT on POSIX).
  //
  // How many of the bytes [offset, offset + n) are in the page cache now, or
  // -1 if this file cannot tell. Default: -1.
  virtual int64_t CachedBytes(uint64_t /*offset*/, uint64_t /*n*/) const { return -1; }
  // The alignment ReadDirect needs of its offset, size and destination
  // address; 0 if this file has no direct reads (the default).
  virtual size_t DirectReadAlignment() const { return 0; }
  // Reads `n` bytes at `offset` from the device into `dst` and returns how
  // many were read: fewer only at the end of the file. The bytes are the
  // ones Read would return. REQUIRES: offset, n and dst are multiples of
  // DirectReadAlignment() (> 0). Unimplemented (or InvalidArgument, if the
  // file system refused the read) means: use Read.
  virtual Result<size_t> ReadDirect(uint64_t /*offset*/, size_t /*n*/, char* /*dst*/) const {
    return UnimplementedError("Direct reads are not supported by this file");
  }
};

// A RandomAccessFile over `contents`, bytes already in memory: Read returns
// views into them (no copy), MappedData() is their start, Size() their size.
// The file shares `contents` (it never changes them); opening many files over
// one buffer costs no copy. REQUIRES: contents is non-null.
std::unique_ptr<RandomAccessFile> NewStringRandomAccessFile(
    std::shared_ptr<const std::string> contents);

// A file opened for sequential appending.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Flush() = 0;
  // Makes everything appended so far durable.
  virtual Status Sync() = 0;
  // A hint, for a file that will be synced: start writing what was appended
  // so far to the storage device now, without waiting for it, so that the
  // final Sync() has less left to do. Durability still needs Sync(), which
  // also reports any error. Default: nothing (in-memory and wrapping files).
  virtual void StartWriteback() {}
  virtual Status Close() = 0;
  // Bytes appended so far.
  virtual uint64_t Tell() const = 0;
  // True if Append(data), called now, would write `data` to the device
  // straight from the caller's memory, with no copy into a buffer of the
  // file (Env::Posix()'s direct files: block-aligned memory of at least one
  // staging buffer's size, appended at a block-aligned file offset). A
  // caller can then hand over a large range with one Append instead of in
  // pieces. Append's contract is the same either way: it returns once the
  // bytes are written or copied, so the memory may be reused right after.
  // Default: false.
  virtual bool AppendsWithoutCopy(std::string_view /*data*/) const { return false; }
};

// An advisory lock on a directory, held until this object is destroyed
// (Env::TryLockDirectory). A lock of a process that died is free again.
class DirectoryLock {
 public:
  virtual ~DirectoryLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The real file system. Never null; not owned by the caller.
  static Env* Posix();

  // Opens `path` for reading. Only regular files (symbolic links followed)
  // can be opened: a directory, FIFO, socket or device is refused with
  // FailedPrecondition ("'<path>' is a FIFO, not a regular file"), and the
  // call never blocks on one (a FIFO without a writer).
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  // Like NewRandomAccessFile but the file may be memory-mapped, so that
  // MappedData() is available. Falls back to plain reads.
  virtual Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(
      const std::string& path) {
    return NewRandomAccessFile(path);
  }
  // Creates or truncates `path`.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // Like NewWritableFile, for a large file written once sequentially: the
  // data may bypass the OS page cache (Env::Posix(): O_DIRECT, whole aligned
  // blocks from an aligned staging buffer written by a background thread; the
  // unaligned tail goes through the page cache at Flush/Sync/Close). The
  // bytes in the file and every WritableFile contract (Tell, Sync, errors)
  // are the same as NewWritableFile's; only the speed and the page-cache
  // footprint differ (a later read of the file comes from the device).
  // Where direct IO is not available (the file system refuses O_DIRECT, an
  // Env without it) this is NewWritableFile. Default: NewWritableFile, so an
  // Env that overrides NewWritableFile (e.g. a ForwardingEnv injecting
  // faults) sees these files too.
  virtual Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(
      const std::string& path) {
    return NewWritableFile(path);
  }

  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  // Modification time in seconds since the epoch.
  virtual Result<double> GetModificationTime(const std::string& path) = 0;
  // Names (not paths) of the entries in `dir`, without "." and "..".
  virtual Result<std::vector<std::string>> GetChildren(
      const std::string& dir) = 0;
  virtual bool IsDirectory(const std::string& path) = 0;
  // True if `path` itself is a symbolic link (file systems without links:
  // always false).
  virtual bool IsSymlink(const std::string& /*path*/) { return false; }
  // `path` with every symbolic link, "." and ".." resolved, as an absolute
  // path; NotFound if it does not exist.
  virtual Result<std::string> RealPath(const std::string& path) = 0;

  // Atomically replaces `to` with `from`.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Creates `dir` and missing parents; OK if it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  // Deletes an empty directory.
  virtual Status DeleteDir(const std::string& dir) = 0;
  // Makes the directory entries of `dir` (creations, renames) durable.
  virtual Status SyncDir(const std::string& dir) = 0;

  // Takes an exclusive advisory lock on the existing directory `dir` without
  // waiting, creating no file (Env::Posix(): flock(2) on the directory
  // itself, so a lock whose process died is free again). FailedPrecondition
  // if it is held, by another process or by another lock object of this one,
  // with the holder ("pid 1234: trainer --model_dir=...") when it can be
  // known; Unimplemented where the file system cannot lock. Default:
  // Unimplemented.
  virtual Result<std::unique_ptr<DirectoryLock>> TryLockDirectory(const std::string& dir);
  // Whether `dir` is locked (by any process, this one included) as
  // TryLockDirectory locks it, without taking or disturbing the lock: "" if
  // not, else a description of the holder ("pid 1234: ..." where known,
  // "locked" otherwise). Unimplemented where this cannot be known. Default:
  // Unimplemented.
  virtual Result<std::string> DirectoryLockHolder(const std::string& dir);

  // Random 64-bit value for temporary names.
  virtual uint64_t Random64() = 0;
  // Wall clock, seconds since the epoch.
  virtual double NowSeconds() = 0;
};

// An in-memory file system. Every file's data counts as durable only once
// synced; DropUnsyncedData() forgets the rest, as a crash would.
class MemEnv : public Env {
 public:
  // Discards data appended after the last Sync() of each file, and files
  // (or renames) whose directory was not synced since they were created.
  virtual void DropUnsyncedData() = 0;
};
std::unique_ptr<MemEnv> NewMemEnv();

// Forwards every call to a target Env; subclass it to inject faults.
// NewDirectWritableFile is the exception: it stays Env's default (this
// object's NewWritableFile), so a subclass that wraps NewWritableFile's files
// sees every writable file. A subclass that only changes other calls (e.g.
// the clock) and wants the target's direct IO overrides it with
// ForwardDirectWritableFile.
class ForwardingEnv : public Env {
 public:
  explicit ForwardingEnv(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    return target_->NewRandomAccessFile(path);
  }
  Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(
      const std::string& path) override {
    return target_->NewMappedFile(path);
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    return target_->NewWritableFile(path);
  }
  bool FileExists(const std::string& path) override {
    return target_->FileExists(path);
  }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    return target_->GetFileSize(path);
  }
  Result<double> GetModificationTime(const std::string& path) override {
    return target_->GetModificationTime(path);
  }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    return target_->GetChildren(dir);
  }
  bool IsDirectory(const std::string& path) override {
    return target_->IsDirectory(path);
  }
  bool IsSymlink(const std::string& path) override { return target_->IsSymlink(path); }
  Result<std::string> RealPath(const std::string& path) override {
    return target_->RealPath(path);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return target_->RenameFile(from, to);
  }
  Status DeleteFile(const std::string& path) override {
    return target_->DeleteFile(path);
  }
  Status CreateDirs(const std::string& dir) override {
    return target_->CreateDirs(dir);
  }
  Status DeleteDir(const std::string& dir) override {
    return target_->DeleteDir(dir);
  }
  Status SyncDir(const std::string& dir) override {
    return target_->SyncDir(dir);
  }
  Result<std::unique_ptr<DirectoryLock>> TryLockDirectory(const std::string& dir) override {
    return target_->TryLockDirectory(dir);
  }
  Result<std::string> DirectoryLockHolder(const std::string& dir) override {
    return target_->DirectoryLockHolder(dir);
  }
  uint64_t Random64() override { return target_->Random64(); }
  double NowSeconds() override { return target_->NowSeconds(); }

 protected:
  Result<std::unique_ptr<WritableFile>> ForwardDirectWritableFile(const std::string& path) {
    return target_->NewDirectWritableFile(path);
  }

 private:
  Env* target_;
};

// Path helpers (pure string manipulation, '/'-separated).
std::string JoinPath(std::string_view a, std::string_view b);
// "a/b/c" -> "a/b"; "c" -> ""; "/c" -> "/".
std::string_view Dirname(std::string_view path);
// "a/b/c" -> "c".
std::string_view Basename(std::string_view path);
bool IsAbsolutePath(std::string_view path);

// Reads a whole file. REQUIRES: the file fits in memory.
Result<std::string> ReadFileToString(Env* env, const std::string& path);
// Writes `data` to `path` through a temporary name, syncs it, renames it into
// place and syncs the directory: readers see the old or the new contents.
Status WriteStringToFileAtomic(Env* env, const std::string& path,
                               std::string_view data);

}  // namespace ckpt

#endif  // CKPT_ENV_H_
