// AsyncSaver: a Saver whose saves block the caller only for an in-memory copy.
//
// Save() copies ("snapshots") every variable of the VarList into buffers the
// AsyncSaver owns and returns; a background thread then persists the snapshot
// through an ordinary Saver. The caller's tensors are read only inside Save(),
// so training may change them as soon as Save() returns. Everything else is the
// Saver's: the same files with the same bytes (TensorFlow reads them), the same
// naming, retention (max_to_keep, keep-every-N-hours), `checkpoint` state file
// and crash-safety protocol (docs/format/commit.md).
//
// Bounded memory: the AsyncSaver allocates one snapshot buffer per variable
// when it is created (a second copy of the model for its whole lifetime; the
// pages are touched then, so a Save never pays for fresh memory) and reuses
// it for every save. At most one snapshot is in flight: a Save() while the
// previous one is still being persisted first waits for it to finish.
//
// One writer per directory: persisting takes a process-wide lock on the
// checkpoint's directory (see CheckpointDirectoryLock), so two AsyncSavers,
// or an AsyncSaver and a synchronous save done under the lock, never write
// into one directory at the same time; the later one waits. (Each saver
// still keeps its own list of checkpoints: two savers sharing a directory
// rewrite the state file with their own lists, as TensorFlow's would.)
//
// Errors of a background save (IO errors, a missing parent directory, ...)
// are returned, once, by the next Save() -- which then does not start a new
// save -- or by Wait(). As with the Saver, a failed save never leaves the
// state file naming a checkpoint that is not whole. The destructor waits for
// an in-flight save and logs its error if nobody collected it.
//
// Time: checkpoint timestamps are options.saver.env->NowSeconds() when the
// background save records the checkpoint, as a synchronous Saver would after
// writing it. The meta_graph_writer, if set, runs on the background thread.
//
// Thread safety: an AsyncSaver is used from one thread at a time (its own
// background thread is internal).
#ifndef CKPT_ASYNC_SAVER_H_
#define CKPT_ASYNC_SAVER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"

namespace ckpt {

struct AsyncSaverOptions {
  // Options of the Saver that persists the snapshots.
  SaverOptions saver;
  // Threads copying the snapshot inside Save() (the caller's thread is one of
  // them). Large tensors are split between them. REQUIRES: >= 1.
  int copy_threads = 2;
};

class AsyncSaver {
 public:
  // InvalidArgument for what Saver::Create rejects and copy_threads < 1.
  // Allocates the snapshot buffers (as much memory as the variables).
  static Result<std::unique_ptr<AsyncSaver>> Create(VarList var_list,
                                                    AsyncSaverOptions options = {});
  // Waits for an in-flight save.
  ~AsyncSaver();

  AsyncSaver(const AsyncSaver&) = delete;
  AsyncSaver& operator=(const AsyncSaver&) = delete;

  // Waits for the previous save; if it failed, returns its error and starts
  // nothing. Otherwise snapshots the variables, starts persisting them as
  // Saver::Save(save_path, args) would, and returns the checkpoint prefix
  // that will be written (save_path + "-<global_step>"). Argument errors
  // (empty save_path or latest_filename, '/' in latest_filename, a
  // latest_filename equal to the basename of a step-less save_path) are
  // returned at once; errors found while persisting come from the next
  // Save() or Wait().
  Result<std::string> Save(const std::string& save_path, const SaveArgs& args = {});

  // Save() then Wait(): a synchronous save with the same bookkeeping.
  Result<std::string> SaveAndWait(const std::string& save_path, const SaveArgs& args = {});

  // Waits until no save is in flight and returns the error of the last
  // background save not yet reported (OK if none); the error is then cleared.
  Status Wait();

  // Waits for an in-flight save (its error stays pending for the next
  // Save()/Wait()), then restores the caller's variables as Saver::Restore
  // does. The snapshot is not involved.
  Status Restore(const std::string& save_path, const RestoreOptions& options = {});

  // As Saver's, after waiting for an in-flight save.
  std::vector<std::string> last_checkpoints();
  std::vector<std::pair<std::string, double>> last_checkpoints_with_time();
  void SetLastCheckpointsWithTime(std::vector<std::pair<std::string, double>> checkpoints);
  Status RecoverLastCheckpoints(const std::vector<std::string>& paths);

  // Bytes of the snapshot buffers (fixed-size dtypes; strings not counted).
  size_t snapshot_bytes() const;

 private:
  struct Impl;
  explicit AsyncSaver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A process-wide lock on a checkpoint directory, the one AsyncSaver takes
// while persisting. Hold it around a synchronous Saver::Save (or any other
// writer) into the same directory to keep it from racing an AsyncSaver.
// Directories are identified by env->RealPath() (the lexical path if it does
// not exist yet), so different spellings of one directory share a lock.
// Not reentrant: one thread must not hold two locks on one directory.
class CheckpointDirectoryLock {
 public:
  // Blocks until no other holder has `dir` ("" = the current directory).
  CheckpointDirectoryLock(Env* env, const std::string& dir);
  ~CheckpointDirectoryLock();

  CheckpointDirectoryLock(const CheckpointDirectoryLock&) = delete;
  CheckpointDirectoryLock& operator=(const CheckpointDirectoryLock&) = delete;

  // The key the directory was locked under.
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

}  // namespace ckpt

#endif  // CKPT_ASYNC_SAVER_H_
