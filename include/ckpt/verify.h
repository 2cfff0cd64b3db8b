// Checkpoint verification: is a checkpoint whole, and which checkpoint of a
// directory can be trusted after a crash or a bad copy?
//
// VerifyCheckpoint reads every tensor of one checkpoint (V2 or V1), checking
// every checksum and every data file the index refers to.
// NewestVerifiedCheckpoint walks a directory's `checkpoint` state file from
// the newest entry to the oldest and returns the first that verifies.
// SurveyCheckpointDirectory describes a whole directory (every checkpoint the
// state file names, checkpoints on disk it does not name, leftovers of
// interrupted saves); `ckpt verify` and `ckpt ls` print it.
// RepairCheckpointDirectory (`ckpt fsck --repair`) makes a damaged directory
// usable again: the state file rewritten to what exists, leftovers removed.
//
// Verification reads all the data: its cost is that of restoring every
// checkpoint examined. Only RepairCheckpointDirectory modifies anything.
//
// Thread safety: the functions are thread-safe (they share no state); results
// are values.
#ifndef CKPT_VERIFY_H_
#define CKPT_VERIFY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/checkpoint_state.h"
#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/writer_lock.h"

namespace ckpt {

// OK if the checkpoint at `prefix` (a V2 prefix, or a V1 file or glob) can be
// read completely: its index parses, every data file an entry refers to
// exists and holds the entry's bytes, every tensor's CRC32C matches, and
// every partitioned tensor's slices cover it. Otherwise:
//   NotFound   no checkpoint at `prefix`, or a data file it needs is missing;
//   DataLoss   corrupt or truncated bytes (the message names file and tensor);
//   another code from the Env or the readers.
// REQUIRES: env non-null.
Status VerifyCheckpoint(Env* env, const std::string& prefix);

// The newest checkpoint of `dir` that verifies: the state file's
// model_checkpoint_path first, then its all_model_checkpoint_paths from
// newest to oldest, then checkpoints on disk with the same base name
// ("<name>-<step>"), highest step first. A recorded path that is gone but has
// a namesake beside the state file (a moved directory) is resolved as
// LatestCheckpoint does. If any was skipped, one warning (LogWarning) names
// each and why. NotFound if there is no state file or nothing verifies;
// DataLoss if the state file does not parse.
Result<std::string> NewestVerifiedCheckpoint(
    Env* env, const std::string& dir, const std::string& latest_filename = kDefaultStateFilename);

// One file of a checkpoint, as found on disk.
struct CheckpointFile {
  std::string path;
  uint64_t size = 0;
};

// One checkpoint of a directory.
struct CheckpointSummary {
  // As named by the state file (made absolute by joining onto the directory),
  // or as found on disk.
  std::string prefix;
  // Where its files were found, if not at `prefix` (a moved directory).
  std::string resolved_prefix;
  // The number after the last '-' of the base name ("ckpt-42" -> 42), if any.
  std::optional<int64_t> step;
  // Listed in the state file's all_model_checkpoint_paths or
  // model_checkpoint_path. A checkpoint on disk that the state file does not
  // list was preserved by the keep-every-N-hours rule (or left by another
  // saver).
  bool in_state_file = false;
  // The state file's model_checkpoint_path.
  bool newest = false;
  // From the state file's timestamps, when it has them.
  std::optional<double> state_timestamp;
  // Modification time of the .index (V2) or the first V1 file, if it exists.
  std::optional<double> mtime;
  // The checkpoint's files present on disk (.index, .data-*, .meta, or the V1
  // files), sorted by name.
  std::vector<CheckpointFile> files;
  // Its .index (V2) or V1 file exists: the save committed and the files
  // were not deleted since. False = missing.
  bool committed = false;
  // VerifyCheckpoint's verdict when the survey verified; otherwise OK if
  // committed, NotFound if not.
  Status status;

  // Sum of the sizes of `files`.
  uint64_t total_size() const;
};

struct SurveyOptions {
  std::string latest_filename = kDefaultStateFilename;
  // Read every tensor of every checkpoint (VerifyCheckpoint); otherwise only
  // look at which files exist.
  bool verify = true;
  // When verifying: called after each checkpoint is read, with the bytes of
  // the checkpoints verified so far and of all that will be (their files'
  // sizes), e.g. for a progress bar. Called on the surveying thread; may be
  // empty.
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> on_progress;
};

// What a directory holds.
struct DirectoryReport {
  std::string dir;
  std::string state_file;  // JoinPath(dir, latest_filename)
  // Reading the state file: OK, NotFound (no state file), DataLoss (does not
  // parse).
  Status state_status;
  // Checkpoints named by the state file (oldest first, as listed), followed
  // by the checkpoints found on disk that it does not name (by step, then
  // name).
  std::vector<CheckpointSummary> checkpoints;
  // Leftovers of interrupted saves (ckpt's temporary files and directories
  // whose writer is gone, data files whose index never appeared; see
  // docs/format/commit.md); directories end with '/'. The next save of
  // their writer removes them, as does `ckpt fsck --repair`.
  std::vector<std::string> leftovers;
  // Files of a save in progress (their writer is running): not a problem.
  std::vector<std::string> in_progress;
  // Checkpoints that disappeared while the survey read them and that the
  // state file no longer names: a writer's retention deleted them. Not a
  // problem, and not in `checkpoints`.
  std::vector<std::string> deleted_during_scan;

  // True unless something committed is damaged: the state file does not
  // parse, or a checkpoint it names (or, when verified, any other
  // checkpoint) is missing or corrupt. Leftovers and saves in progress do
  // not count (monitoring scripts use this: `ckpt verify`'s exit code).
  bool ok() const;
};

// Surveys `dir`. Errors only if `dir` cannot be listed (NotFound if it does
// not exist); problems with its contents are recorded in the report.
Result<DirectoryReport> SurveyCheckpointDirectory(Env* env, const std::string& dir,
                                                  const SurveyOptions& options = {});

struct RepairOptions {
  std::string latest_filename = kDefaultStateFilename;
  // Change nothing; only say what would be done.
  bool dry_run = false;
  // Waiting for another writer's lock (RepairCheckpointDirectory writes).
  WriterLockOptions writer_lock;
};

// What RepairCheckpointDirectory found and did.
struct RepairReport {
  // The directory before any change (verified).
  DirectoryReport survey;
  // The state file was (or, dry run, would be) rewritten to `kept`, newest
  // last, naming `latest`.
  bool state_rewritten = false;
  std::string latest;
  std::vector<std::string> kept;
  // State-file entries dropped (missing or corrupt), with the reason.
  std::vector<std::string> dropped;
  // Leftovers deleted (or, dry run, that would be).
  std::vector<std::string> removed;
  // Problems repair leaves alone: a corrupt checkpoint is reported, never
  // deleted; a directory whose checkpoints have several base names and no
  // state file is not guessed at.
  std::vector<std::string> remaining;

  // True when the directory is (or, dry run, would be) healthy afterwards.
  bool healthy() const { return remaining.empty(); }
};

// `ckpt fsck --repair`: takes `dir`'s WriterLock (FailedPrecondition if a
// writer is running there), surveys it, and
//   - rewrites the state file to the checkpoints that exist and verify, in
//     their order, naming the newest that verifies (NewestVerifiedCheckpoint's
//     choice) as model_checkpoint_path; timestamps and last_preserved_timestamp
//     are kept; paths inside `dir` are stored relative to it. Without a state
//     file (or with one that does not parse), one is written for the
//     checkpoints on disk if they share one base name. Nothing is rewritten
//     when the state file is already right;
//   - deletes the provable leftovers of interrupted saves (FindLeftovers:
//     ckpt's own temporary files of the directory's checkpoint names and
//     state file, whose writer is gone) and nothing else.
// No checkpoint file is ever deleted or changed.
Result<RepairReport> RepairCheckpointDirectory(Env* env, const std::string& dir,
                                               const RepairOptions& options = {});

}  // namespace ckpt

#endif  // CKPT_VERIFY_H_
