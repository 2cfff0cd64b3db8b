// Reading the `checkpoint` state file (a text-format CheckpointState) to find
// the newest checkpoint of a directory.
#include <google/protobuf/text_format.h>

#include "bundle/v1_reader.h"
#include "checkpoint/checkpoint_state.h"
#include "ckpt/checkpoint_reader.h"

namespace ckpt {

Result<tensorflow::CheckpointState> ReadCheckpointState(Env* env, const std::string& dir,
                                                        const std::string& latest_filename) {
  const std::string path = JoinPath(dir, latest_filename);
  if (!env->FileExists(path)) {
    return NotFoundError("No checkpoint state file " + path);
  }
  CKPT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(env, path));
  tensorflow::CheckpointState state;
  if (!google::protobuf::TextFormat::ParseFromString(text, &state)) {
    return DataLossError("Checkpoint state file " + path +
                         " is not a valid text-format CheckpointState");
  }
  if (state.model_checkpoint_path().empty()) {
    return DataLossError("Invalid checkpoint state loaded from " + dir +
                         " (model_checkpoint_path is empty)");
  }
  auto absolutize = [&](std::string* p) {
    if (!IsAbsolutePath(*p)) *p = JoinPath(dir, *p);
  };
  absolutize(state.mutable_model_checkpoint_path());
  for (auto& p : *state.mutable_all_model_checkpoint_paths()) absolutize(&p);
  return state;
}

bool CheckpointExists(Env* env, const std::string& prefix) {
  if (env->FileExists(MetaFilename(prefix))) return true;
  std::string dir(Dirname(prefix));
  std::string base(Basename(prefix));
  if (base.find_first_of("?*") == std::string::npos) {
    return env->FileExists(prefix) && !env->IsDirectory(prefix);
  }
  auto children = env->GetChildren(dir.empty() ? "." : dir);
  if (!children.ok()) return false;
  for (const std::string& c : *children) {
    if (GlobMatch(base, c)) return true;
  }
  return false;
}

Result<std::string> LatestCheckpoint(Env* env, const std::string& dir,
                                     const std::string& latest_filename) {
  CKPT_ASSIGN_OR_RETURN(tensorflow::CheckpointState state,
                        ReadCheckpointState(env, dir, latest_filename));
  const std::string& path = state.model_checkpoint_path();
  if (CheckpointExists(env, path)) return path;
  // A directory that was moved or copied: the recorded absolute path is gone
  // but the checkpoint sits beside the state file.
  std::string local = JoinPath(dir, std::string(Basename(path)));
  if (local != path && CheckpointExists(env, local)) return local;
  return NotFoundError("Couldn't match files for checkpoint " + path + " (named by " +
                       JoinPath(dir, latest_filename) + ")");
}

}  // namespace ckpt
