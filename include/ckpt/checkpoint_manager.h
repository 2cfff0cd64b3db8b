// CheckpointManager: TensorFlow 2's tf.train.CheckpointManager.
//
// Saves numbered checkpoints ("<directory>/<checkpoint_name>-<N>") of a
// CheckpointTarget, keeps the newest max_to_keep plus one every
// keep_checkpoint_every_n_hours, and persists its bookkeeping in the
// directory's `checkpoint` state file (relative paths, timestamps,
// last_preserved_timestamp) so retention continues across restarts.
//
// Deletion safety (stricter than TensorFlow): the state file is treated as
// untrusted input. A listed checkpoint is deleted only if its name is
// "<checkpoint_name>-<number>", it lies directly inside `directory` (checked
// lexically and, on the real file system, after resolving symlinks) and none
// of its files is a symlink; then exactly its ".index" and
// ".data-NNNNN-of-NNNNN" files are removed. Anything else is dropped from the
// managed set with a warning (ckpt::Log) and left on disk. Deletion problems
// never fail a save.
//
// Other differences from tf.train.CheckpointManager: an unreadable state file
// (DataLoss from GetCheckpointState, including an empty
// model_checkpoint_path, where TF raises) is ignored with a warning, as TF
// ignores parse errors; checkpoint_name must be a plain file name; there is
// no init_fn (RestoreOrInitialize returns "" and the caller initializes).
//
// Thread safety: a CheckpointManager is used from one thread at a time.
#ifndef CKPT_CHECKPOINT_MANAGER_H_
#define CKPT_CHECKPOINT_MANAGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/writer_lock.h"

namespace ckpt {

// What a CheckpointManager saves: TF2's tf.train.Checkpoint and anything
// that behaves like it.
class CheckpointTarget {
 public:
  virtual ~CheckpointTarget() = default;
  // Increments the save counter and returns its new value.
  virtual int64_t IncrementSaveCounter() = 0;
  // Writes a complete checkpoint at exactly `prefix`, publishing it
  // atomically; writes no state file.
  virtual Status Write(const std::string& prefix) = 0;
  // Restores from the checkpoint at `prefix`.
  virtual Status Restore(const std::string& prefix) = 0;
};

struct CheckpointManagerOptions {
  // All IO and the clock (NowSeconds, for checkpoint timestamps). Not owned.
  // REQUIRES: non-null.
  Env* env = Env::Posix();
  // Positive, or unset to keep every checkpoint.
  std::optional<int> max_to_keep = 5;
  // A checkpoint leaving the active set is kept for good if it is at least
  // this many hours newer than the last one kept so; unset or 0: never.
  std::optional<double> keep_checkpoint_every_n_hours;
  // File name stem; no '/'.
  std::string checkpoint_name = "ckpt";
  // With checkpoint_interval: Save() skips until the step advanced enough.
  // Not owned; read at each Save(). REQUIRES: set if checkpoint_interval is.
  const int64_t* step_counter = nullptr;
  std::optional<int64_t> checkpoint_interval;
  // The first Save takes the directory's WriterLock and holds it until the
  // manager is destroyed (ckpt/writer_lock.h): by default Save fails at once
  // with FailedPrecondition while another process writes there.
  WriterLockOptions writer_lock;
};

class CheckpointManager {
 public:
  // Reads the directory's state file (if any) to carry on its bookkeeping
  // (TF's recovery rules: entries no newer than last_preserved_timestamp, or
  // without timestamps, are not managed; future times are clamped to now).
  // Writes nothing. InvalidArgument for bad options (TF's messages). `target`
  // is not owned and must outlive the manager.
  static Result<std::unique_ptr<CheckpointManager>> Create(CheckpointTarget* target,
                                                           std::string directory,
                                                           CheckpointManagerOptions options = {});
  ~CheckpointManager();

  // Saves a checkpoint numbered `checkpoint_number` (default: the target's
  // incremented save counter, which is incremented either way), records it in
  // the state file, deletes or preserves checkpoints beyond max_to_keep,
  // writes the state file again and returns the new checkpoint's prefix.
  // The first save takes the directory's WriterLock (FailedPrecondition,
  // nothing counted, if another process writes there) and cleans up what a
  // crashed save of this manager's checkpoints left in the directory. Returns an
  // empty string without saving (or counting) when a checkpoint_interval is
  // set and the step equals the last saved step, or check_interval and the
  // step is less than checkpoint_interval past it.
  Result<std::string> Save(std::optional<int64_t> checkpoint_number = std::nullopt,
                           bool check_interval = true);

  // Restores the newest checkpoint if there is one (returns its prefix), or
  // returns an empty string and leaves the target as it is. When the state
  // file's newest checkpoint is missing, damaged or fails to restore with
  // DataLoss, the newest checkpoint of the directory that verifies is
  // restored instead, with a warning naming what was skipped and why.
  Result<std::string> RestoreOrInitialize();

  // The newest checkpoint, if any.
  std::optional<std::string> latest_checkpoint() const;
  // Managed checkpoints, oldest first.
  std::vector<std::string> checkpoints() const;
  const std::string& directory() const;

 private:
  struct Impl;
  explicit CheckpointManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_CHECKPOINT_MANAGER_H_
