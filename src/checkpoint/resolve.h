// Which checkpoint a path or a directory means (internal to ckpt): the one
// home of the rules that turn a state file's record into a checkpoint to
// read, shared by LatestCheckpoint, NewestVerifiedCheckpoint and the
// directory survey (verify.cc).
#ifndef CKPT_SRC_CHECKPOINT_RESOLVE_H_
#define CKPT_SRC_CHECKPOINT_RESOLVE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/checkpoint_state.h"
#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

// The recorded path if its checkpoint exists, else its namesake beside the
// state file in `dir` if that exists (a moved or copied directory), else "".
std::string ResolveRecordedPath(Env* env, const std::string& dir, const std::string& prefix);

// The number after the last '-' of the base name ("ckpt-42" -> 42), if any.
std::optional<int64_t> StepOf(const std::string& prefix);
// "dir/ckpt-42" -> "ckpt"; "" if the base name has no "-<digits>" suffix.
std::string StepBasename(const std::string& prefix);

// A quick check that needs no tensor data: the checkpoint exists, its index
// parses (V2), and every data file an entry refers to exists and is long
// enough for it. NotFound / DataLoss naming the file otherwise.
Status CheckCheckpointFiles(Env* env, const std::string& prefix);

}  // namespace ckpt

#endif  // CKPT_SRC_CHECKPOINT_RESOLVE_H_
