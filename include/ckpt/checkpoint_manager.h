// CheckpointManager: TensorFlow 2's tf.train.CheckpointManager.
//
// Saves numbered checkpoints ("<directory>/<checkpoint_name>-<N>") of a
// CheckpointTarget, keeps the newest max_to_keep plus one every
// keep_checkpoint_every_n_hours, and persists its bookkeeping in the
// directory's `checkpoint` state file (relative paths, timestamps,
// last_preserved_timestamp) so retention continues across restarts. It only
// ever deletes checkpoints it manages, inside its directory.
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
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  // Positive, or unset to keep every checkpoint.
  std::optional<int> max_to_keep = 5;
  std::optional<double> keep_checkpoint_every_n_hours;
  std::string checkpoint_name = "ckpt";
  // With checkpoint_interval: Save() skips until the step advanced enough.
  const int64_t* step_counter = nullptr;
  std::optional<int64_t> checkpoint_interval;
};

class CheckpointManager {
 public:
  // Reads the directory's state file (if any) to carry on its bookkeeping.
  // InvalidArgument for bad options (TF's messages).
  static Result<std::unique_ptr<CheckpointManager>> Create(CheckpointTarget* target,
                                                           std::string directory,
                                                           CheckpointManagerOptions options = {});
  ~CheckpointManager();

  // Saves a checkpoint numbered `checkpoint_number` (default: the target's
  // incremented save counter) and returns its prefix; returns an empty string
  // without saving when check_interval and the step did not advance enough.
  Result<std::string> Save(std::optional<int64_t> checkpoint_number = std::nullopt,
                           bool check_interval = true);

  // Restores the newest checkpoint if there is one (returns its prefix), or
  // returns an empty string and leaves the target as it is.
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
