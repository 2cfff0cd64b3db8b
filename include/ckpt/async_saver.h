// AsyncSaver: a Saver whose saves block the caller only for an in-memory copy
// of (part of) the model.
//
// Save() copies ("snapshots") the variables of the VarList into buffers the
// AsyncSaver owns, as far as the staging budget allows, and a background
// thread persists them through an ordinary Saver. The caller's tensors are
// read only until Save() returns, so training may change them as soon as it
// has. Everything else is the Saver's: the same naming, retention
// (max_to_keep, keep-every-N-hours), `checkpoint` state file and
// crash-safety protocol (docs/format/commit.md), and files TensorFlow reads;
// when every variable is staged, the files have the synchronous Saver's
// bytes.
//
// Bounded memory: when it is created, the AsyncSaver picks the variables it
// stages, whole ones, within options.staging_budget_bytes (first fit by
// decreasing size; string tensors are always staged and not counted), and
// allocates their snapshot buffers for its whole lifetime (the pages are
// touched then, so a Save never pays for fresh memory; snapshot_bytes()). The
// other variables are "direct": the background save writes them first,
// straight from the caller's tensors, and Save() returns once they are in the
// checkpoint's data file (written, or copied into the file's own buffer);
// the staged ones follow in the background. So Save()
// blocks for the copy of the staged variables plus the writing of the direct
// ones, and memory stays about model + budget (docs/benchmarks.md). With
// every variable staged (the budget covers the model, or
// kUnlimitedStagingBudget) Save() returns right after the copy. In a data
// file with direct variables they come first (the index is sorted as
// always). At most one save is in flight: a Save() while the previous one is
// still being persisted first waits for it to finish.
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
// save -- or by Wait(). The exception: an error that ends the save before
// its direct variables are all written is returned by the Save() that
// started it (which waits for them). As with the Saver, a failed save never
// leaves the state file naming a checkpoint that is not whole. The
// destructor waits for an in-flight save and logs its error if nobody
// collected it.
//
// With SaverOptions::bundle_writer set, the AsyncSaver cannot tell when a
// direct variable is written: if any variable is direct, Save() waits until
// the whole save has ended (and returns its error).
//
// Time: checkpoint timestamps are options.saver.env->NowSeconds() when the
// background save records the checkpoint, as a synchronous Saver would after
// writing it. The meta_graph_writer, if set, runs on the background thread.
//
// Thread safety: an AsyncSaver is used from one thread at a time (its own
// background thread is internal). With direct variables, Save() waits for
// the background save, which takes the directory's CheckpointDirectoryLock:
// the calling thread must not hold that lock then.
#ifndef CKPT_ASYNC_SAVER_H_
#define CKPT_ASYNC_SAVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"

namespace ckpt {

// AsyncSaverOptions::staging_budget_bytes that stages every variable.
inline constexpr int64_t kUnlimitedStagingBudget = -1;

struct AsyncSaverOptions {
  // Options of the Saver that persists the snapshots.
  SaverOptions saver;
  // Threads copying the snapshot inside Save() (the caller's thread is one of
  // them). Large tensors are split between them. REQUIRES: >= 1.
  int copy_threads = 2;
  // At most this many bytes of snapshot buffers (fixed-size variables;
  // string tensors are always staged); the variables that do not fit are
  // written from the caller's tensors while Save() waits (see "Bounded
  // memory" above). 0 stages no fixed-size variable; kUnlimitedStagingBudget
  // stages all. AsyncDistributedSaver (ckpt/distributed.h) stages every
  // variable whatever this says. REQUIRES: >= 0 or kUnlimitedStagingBudget.
  int64_t staging_budget_bytes = int64_t{256} << 20;
};

class AsyncSaver {
 public:
  // InvalidArgument for what Saver::Create rejects, copy_threads < 1 and a
  // negative staging_budget_bytes other than kUnlimitedStagingBudget.
  // Allocates the snapshot buffers of the staged variables.
  static Result<std::unique_ptr<AsyncSaver>> Create(VarList var_list,
                                                    AsyncSaverOptions options = {});
  // Waits for an in-flight save.
  ~AsyncSaver();

  AsyncSaver(const AsyncSaver&) = delete;
  AsyncSaver& operator=(const AsyncSaver&) = delete;

  // Waits for the previous save; if it failed, returns its error and starts
  // nothing. Otherwise snapshots the staged variables, starts persisting the
  // checkpoint as Saver::Save(save_path, args) would, waits until the direct
  // variables are written, and returns the checkpoint prefix that will be
  // written (save_path + "-<global_step>"). Argument errors (empty save_path
  // or latest_filename, '/' in latest_filename, a latest_filename equal to
  // the basename of a step-less save_path, a variable whose dtype or shape
  // changed since Create()) are returned at once; an error that ends the
  // background save before the direct variables are written is returned
  // here; later errors come from the next Save() or Wait().
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

  // Bytes of the snapshot buffers (staged fixed-size variables; strings not
  // counted): at most options.staging_budget_bytes unless unlimited.
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
