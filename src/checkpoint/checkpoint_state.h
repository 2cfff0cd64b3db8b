// The `checkpoint` state file: which checkpoints a directory holds.
#ifndef CKPT_SRC_CHECKPOINT_CHECKPOINT_STATE_H_
#define CKPT_SRC_CHECKPOINT_CHECKPOINT_STATE_H_

#include <string>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "tensorflow/python/training/checkpoint_state.pb.h"

namespace ckpt {

// Parses `dir`/`latest_filename`; relative paths are joined onto `dir`.
// NotFound if the file is missing, DataLoss if it does not parse or names no
// checkpoint.
Result<tensorflow::CheckpointState> ReadCheckpointState(Env* env, const std::string& dir,
                                                        const std::string& latest_filename);

// True if a V2 (`prefix.index`) or V1 (`prefix` itself, possibly a glob)
// checkpoint exists.
bool CheckpointExists(Env* env, const std::string& prefix);

}  // namespace ckpt

#endif  // CKPT_SRC_CHECKPOINT_CHECKPOINT_STATE_H_
