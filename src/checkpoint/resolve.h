// Which checkpoint a path or a directory means (internal to ckpt): the one
// home of the rules that turn a user's path or a state file's record into a
// checkpoint to read. ResolveCheckpointPath serves every reader of a
// user-given path (CheckpointReader::Open, hence restores and verification);
// FindCheckpoint is the one test of what a prefix names on disk
// (CheckpointExists, Saver::RecoverLastCheckpoints, VerifyCheckpoint); the
// state-file rules serve LatestCheckpoint, NewestVerifiedCheckpoint and the
// directory survey (verify.cc). File names themselves are filenames/'s.
//
// Thread safety: functions are thread-safe; what they find on disk may change
// as soon as they return.
#ifndef CKPT_SRC_CHECKPOINT_RESOLVE_H_
#define CKPT_SRC_CHECKPOINT_RESOLVE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

// What a checkpoint prefix names on disk, judged by file names alone.
struct CheckpointOnDisk {
  CheckpointReader::Format format = CheckpointReader::Format::kV2;
  // The file that dates it: "P.index" (V2), else the V1 file itself or the
  // first, in name order, of the names its glob matches.
  std::string first_file;
};
// V2 if "P.index" exists; else V1 if P is a file that is not a directory or,
// P being a glob over its base name (V1PathIsGlob), some name in its
// directory matches it; else nullopt. No file is read.
std::optional<CheckpointOnDisk> FindCheckpoint(Env* env, const std::string& prefix);

// A user-given path resolved to the checkpoint to open.
struct ResolvedCheckpoint {
  std::string prefix;
  CheckpointReader::Format format = CheckpointReader::Format::kV2;
  // " (pass the checkpoint prefix, without the .index... extension)" when the
  // path looks like one of a checkpoint's files rather than its prefix, else
  // "": to append to an error about it.
  std::string hint;
};
// A SavedModel directory D (holding saved_model.pb, or variables/variables.index
// as TF's warm start tests it) is read through its variables: the V2
// checkpoint SavedModelVariablesPrefix(D). TF's tf.train.load_checkpoint does
// not do this, its warm start does; it is what a user pointing a reader at an
// export expects. The one home of that rule.
bool IsSavedModelCheckpointDir(Env* env, const std::string& dir);
// SavedModelVariablesPrefix(dir), or NotFound naming the missing
// "<dir>/variables/variables.index".
Result<std::string> SavedModelCheckpoint(Env* env, const std::string& dir);

// The one resolution of a path to read: trailing '/' dropped; a SavedModel
// directory means SavedModelCheckpoint; another directory means its
// LatestCheckpoint (NotFound "No checkpoint found in directory ..." if it
// has none); then FindCheckpoint. NotFound in TensorFlow's words
// ("Unsuccessful TensorSliceReader constructor: Failed to find any matching
// files for <prefix>", plus the hint) if nothing is there.
Result<ResolvedCheckpoint> ResolveCheckpointPath(Env* env, const std::string& path);

// The recorded path if its checkpoint exists, else its namesake beside the
// state file in `dir` if that exists (a moved or copied directory), else "".
std::string ResolveRecordedPath(Env* env, const std::string& dir, const std::string& prefix);

// A quick check that needs no tensor data: the checkpoint exists, its index
// parses (V2), and every data file an entry refers to exists and is long
// enough for it. NotFound / DataLoss naming the file otherwise.
Status CheckCheckpointFiles(Env* env, const std::string& prefix);

}  // namespace ckpt

#endif  // CKPT_SRC_CHECKPOINT_RESOLVE_H_
