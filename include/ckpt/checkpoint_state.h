// The `checkpoint` state file: which checkpoints a directory holds, newest
// last, as TensorFlow's tf.train.get_checkpoint_state /
// update_checkpoint_state read and write it (a text-format CheckpointState).
//
// Thread safety: functions are thread-safe; concurrent writers of one state
// file race (the last rename wins), so one process should own a directory.
#ifndef CKPT_CHECKPOINT_STATE_H_
#define CKPT_CHECKPOINT_STATE_H_

#include <optional>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/filenames.h"  // kDefaultStateFilename
#include "ckpt/status.h"

namespace ckpt {

struct CheckpointState {
  // The newest checkpoint prefix.
  std::string model_checkpoint_path;
  // Oldest first; the last equals model_checkpoint_path.
  std::vector<std::string> all_model_checkpoint_paths;
  // Seconds since the epoch, parallel to all_model_checkpoint_paths (may be
  // empty: TF1 Savers write none).
  std::vector<double> all_model_checkpoint_timestamps;
  // Written by CheckpointManager; absent in TF1 state files.
  std::optional<double> last_preserved_timestamp;
};

// Reads `dir`/`latest_filename`. Relative paths are joined onto `dir`.
// NotFound if the file does not exist; DataLoss if it does not parse or names
// no checkpoint.
Result<CheckpointState> GetCheckpointState(Env* env, const std::string& dir,
                                           const std::string& latest_filename = kDefaultStateFilename);

struct UpdateCheckpointStateOptions {
  std::string latest_filename = kDefaultStateFilename;
  // Store absolute paths relative to the directory (TF1 Saver's
  // save_relative_paths; CheckpointManager always does).
  bool save_relative_paths = false;
};

// Writes the state file in `save_dir` atomically (temporary file, fsync,
// rename, directory fsync). Applies TensorFlow's rules: model_checkpoint_path
// is appended to `all_paths` if it is not already last; timestamps, when
// given, must match the paths in number; relative paths are stored relative
// to `save_dir` when `save_dir` is itself relative.
Status UpdateCheckpointState(Env* env, const std::string& save_dir,
                             const std::string& model_checkpoint_path,
                             std::vector<std::string> all_paths,
                             std::vector<double> timestamps = {},
                             std::optional<double> last_preserved_timestamp = std::nullopt,
                             const UpdateCheckpointStateOptions& options = {});

// The newest checkpoint of `dir` per its state file. The recorded
// model_checkpoint_path is returned when its files are whole as far as can be
// told without reading tensor data (a V2 index that parses and data files
// long enough for it, or a V1 file or glob); if it is gone but a checkpoint
// of the same name sits beside the state file (a moved or copied directory),
// that one, with a warning. Otherwise (deleted or damaged behind the state
// file's back) the newest checkpoint of the directory that verifies
// completely (NewestVerifiedCheckpoint's order: the state file's other
// entries, then checkpoints on disk of the same base name), with one warning
// naming what was skipped and why. NotFound if there is no state file or
// nothing usable; DataLoss if the state file does not parse.
Result<std::string> LatestCheckpoint(Env* env, const std::string& dir,
                                     const std::string& latest_filename = kDefaultStateFilename);

// True if a V2 (`prefix.index`) or V1 (`prefix` itself, possibly a glob over
// the base name) checkpoint exists.
bool CheckpointExists(Env* env, const std::string& prefix);

// Python's os.path.relpath for '/'-separated paths. Relative inputs are taken
// relative to the current directory.
std::string RelativePath(const std::string& path, const std::string& start);

}  // namespace ckpt

#endif  // CKPT_CHECKPOINT_STATE_H_
