// A distributed restore reads the checkpoint's index once (internal to the
// dist module): rank 0 reads the .index file of the V2 checkpoint the restore
// will open and broadcasts its bytes, and every rank's restore reads them
// from memory through an IndexServingEnv. On a parallel file system this
// turns N reads of the same (up to several MB) file into one.
//
// Nothing is trusted more than before: the table reader checks the bytes'
// block checksums on every rank, as it checks a file's.
#ifndef CKPT_SRC_DIST_INDEX_BROADCAST_H_
#define CKPT_SRC_DIST_INDEX_BROADCAST_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ckpt/communicator.h"
#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt::dist {

// One file's path and bytes.
struct ServedFile {
  std::string path;
  std::shared_ptr<const std::string> contents;
};

// Collective. Rank 0 resolves `save_path` as a restore does
// (ResolveCheckpointPath) and, for a V2 checkpoint, reads its index through
// `env`; every rank returns that index. nullopt (on every rank) when there is
// nothing to share: a V1 checkpoint, an index too large for one message, or
// rank 0 could not resolve or read it; each rank then opens the checkpoint
// itself and so finds any error itself, in Saver::Restore's words. Errors:
// the communicator's (DeadlineExceeded, Aborted), Internal for a malformed
// message from rank 0.
Result<std::optional<ServedFile>> BroadcastIndex(Communicator& comm, Env* env,
                                                 const std::string& save_path);

// Forwards every call to its target, except for the one file being served:
// opening it (NewRandomAccessFile, NewMappedFile) reads the bytes in memory,
// FileExists is true and GetFileSize their size. Serves nothing until
// Serve(). Direct writable files are the target's (unlike ForwardingEnv's
// default), so a Saver writing through this Env writes as through its target.
// Thread-safe.
class IndexServingEnv : public ForwardingEnv {
 public:
  explicit IndexServingEnv(Env* target) : ForwardingEnv(target) {}

  // Serves `file` (replacing any other) until StopServing().
  void Serve(ServedFile file);
  void StopServing();

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) override {
    return ForwardDirectWritableFile(path);
  }
  bool FileExists(const std::string& path) override;
  Result<uint64_t> GetFileSize(const std::string& path) override;

 private:
  // The served bytes if `path` is the served file, else null.
  std::shared_ptr<const std::string> Served(const std::string& path) const;

  mutable std::mutex mu_;
  std::optional<ServedFile> served_;
};

// Serves a file (if any) for the lifetime of this object.
class ScopedServe {
 public:
  ScopedServe(IndexServingEnv* env, std::optional<ServedFile> file);
  ~ScopedServe();
  ScopedServe(const ScopedServe&) = delete;
  ScopedServe& operator=(const ScopedServe&) = delete;

 private:
  IndexServingEnv* env_;
};

}  // namespace ckpt::dist

#endif  // CKPT_SRC_DIST_INDEX_BROADCAST_H_
