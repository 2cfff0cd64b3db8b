// WriterLock: one writer per checkpoint directory.
//
// Everything in ckpt that writes checkpoints into a directory (Saver,
// AsyncSaver, CheckpointManager, ObjectCheckpoint saves, the Estimator,
// MergeBundles, `ckpt fsck --repair`) holds the directory's WriterLock while
// it writes. The lock is an advisory lock on the directory itself
// (Env::TryLockDirectory: no file appears in the directory), so
//   - a second writer *process* fails at once with FailedPrecondition naming
//     the directory and, where it can be known, the holder (or waits, with
//     WriterLockOptions::wait_seconds);
//   - a writer that died holds nothing: its lock is free again;
//   - readers (CheckpointReader, restores, `ckpt inspect`, `ckpt verify`)
//     take no lock and are never blocked.
// Within one process the writers of a directory share one lock (reference
// counted), so an Estimator and the Saver it drives, or a CheckpointManager
// and its ObjectCheckpoint, cooperate. A cleanup of leftovers runs only under
// the lock (checkpoint/leftovers.h), so it never takes a live writer's files
// for leftovers.
//
// Where the file system cannot lock (Unimplemented from the Env), writers go
// on without the lock, with one warning per directory.
//
// Thread safety: Acquire may be called from any thread.
#ifndef CKPT_WRITER_LOCK_H_
#define CKPT_WRITER_LOCK_H_

#include <memory>
#include <string>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

struct WriterLockOptions {
  // How long to wait for another process's lock before failing: 0 (the
  // default) fails at once; a negative value waits for as long as it takes.
  double wait_seconds = 0;
};

class WriterLock {
 public:
  // Holds `dir`'s writer lock for this process until every WriterLock
  // returned for it is destroyed. `dir` must exist. FailedPrecondition
  // ("Another writer holds the checkpoint directory <dir> (pid ...); ...")
  // if another process holds it after waiting options.wait_seconds.
  static Result<std::shared_ptr<WriterLock>> Acquire(Env* env, const std::string& dir,
                                                     const WriterLockOptions& options = {});
  ~WriterLock();

  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  // The directory as given to the Acquire that took the lock.
  const std::string& dir() const { return dir_; }

 private:
  WriterLock(Env* env, std::string dir, std::string key, std::unique_ptr<DirectoryLock> lock);
  Env* env_;
  std::string dir_;
  std::string key_;
  std::unique_ptr<DirectoryLock> lock_;  // null where the file system cannot lock
};

}  // namespace ckpt

#endif  // CKPT_WRITER_LOCK_H_
