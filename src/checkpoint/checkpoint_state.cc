// The `checkpoint` state file (a text-format tensorflow.CheckpointState):
// reading with TensorFlow's path rules, atomic writing, and finding the
// newest checkpoint of a directory.
#include "ckpt/checkpoint_state.h"

#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <climits>

#include "ckpt/logging.h"
#include "tensorflow/python/training/checkpoint_state.pb.h"

namespace ckpt {
namespace {

std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i);
    if (c == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!IsAbsolutePath(path)) {
        out.push_back(c);
      }
    } else if (!c.empty() && c != ".") {
      out.push_back(c);
    }
    i = j + 1;
  }
  return out;
}

std::string CurrentDir() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof(buf)) != nullptr ? std::string(buf) : std::string("/");
}

}  // namespace

std::string RelativePath(const std::string& path, const std::string& start) {
  std::string p = path, s = start.empty() ? "." : start;
  if (IsAbsolutePath(p) != IsAbsolutePath(s)) {
    if (!IsAbsolutePath(p)) p = JoinPath(CurrentDir(), p);
    if (!IsAbsolutePath(s)) s = JoinPath(CurrentDir(), s);
  }
  std::vector<std::string> pc = Components(p), sc = Components(s);
  size_t common = 0;
  while (common < pc.size() && common < sc.size() && pc[common] == sc[common]) ++common;
  std::string out;
  for (size_t i = common; i < sc.size(); ++i) out += out.empty() ? ".." : "/..";
  for (size_t i = common; i < pc.size(); ++i) out += (out.empty() ? "" : "/") + pc[i];
  return out.empty() ? "." : out;
}

Result<CheckpointState> GetCheckpointState(Env* env, const std::string& dir,
                                           const std::string& latest_filename) {
  const std::string path = JoinPath(dir, latest_filename);
  if (!env->FileExists(path)) return NotFoundError("No checkpoint state file " + path);
  CKPT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(env, path));
  tensorflow::CheckpointState proto;
  if (!google::protobuf::TextFormat::ParseFromString(text, &proto)) {
    return DataLossError("Checkpoint state file " + path +
                         " is not a valid text-format CheckpointState");
  }
  if (proto.model_checkpoint_path().empty()) {
    return DataLossError("Invalid checkpoint state loaded from " + dir +
                         " (model_checkpoint_path is empty)");
  }
  auto absolutize = [&](const std::string& p) { return IsAbsolutePath(p) ? p : JoinPath(dir, p); };
  CheckpointState state;
  state.model_checkpoint_path = absolutize(proto.model_checkpoint_path());
  for (const std::string& p : proto.all_model_checkpoint_paths()) {
    state.all_model_checkpoint_paths.push_back(absolutize(p));
  }
  state.all_model_checkpoint_timestamps.assign(proto.all_model_checkpoint_timestamps().begin(),
                                               proto.all_model_checkpoint_timestamps().end());
  if (proto.last_preserved_timestamp() != 0) {
    state.last_preserved_timestamp = proto.last_preserved_timestamp();
  }
  return state;
}

Status UpdateCheckpointState(Env* env, const std::string& save_dir,
                             const std::string& model_checkpoint_path,
                             std::vector<std::string> all_paths, std::vector<double> timestamps,
                             std::optional<double> last_preserved_timestamp,
                             const UpdateCheckpointStateOptions& options) {
  if (options.latest_filename.empty() ||
      options.latest_filename.find('/') != std::string::npos) {
    return InvalidArgumentError("'latest_filename' must not contain path components: \"" +
                                options.latest_filename + "\"");
  }
  const std::string state_path = JoinPath(save_dir, options.latest_filename);
  std::string model = model_checkpoint_path;
  if (options.save_relative_paths) {
    if (IsAbsolutePath(model)) model = RelativePath(model, save_dir);
    for (std::string& p : all_paths) {
      if (IsAbsolutePath(p)) p = RelativePath(p, save_dir);
    }
  }
  if (all_paths.empty() || all_paths.back() != model) {
    LogInfo(model + " is not in all_model_checkpoint_paths. Manually adding it.");
    all_paths.push_back(model);
  }
  if (!timestamps.empty() && timestamps.size() != all_paths.size()) {
    return InvalidArgumentError("Checkpoint timestamps, if provided, must match checkpoint paths "
                                "(" + std::to_string(timestamps.size()) + " timestamps for " +
                                std::to_string(all_paths.size()) + " paths)");
  }
  // Relative paths are stored relative to a relative save_dir.
  if (!IsAbsolutePath(save_dir)) {
    if (!IsAbsolutePath(model)) model = RelativePath(model, save_dir);
    for (std::string& p : all_paths) {
      if (!IsAbsolutePath(p)) p = RelativePath(p, save_dir);
    }
  }
  if (JoinPath(save_dir, model) == state_path || model == state_path) {
    return InvalidArgumentError("Save path '" + model_checkpoint_path +
                                "' conflicts with path used for checkpoint state. Please use a "
                                "different save path.");
  }
  tensorflow::CheckpointState proto;
  proto.set_model_checkpoint_path(model);
  for (const std::string& p : all_paths) proto.add_all_model_checkpoint_paths(p);
  for (double t : timestamps) proto.add_all_model_checkpoint_timestamps(t);
  if (last_preserved_timestamp) proto.set_last_preserved_timestamp(*last_preserved_timestamp);
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(proto, &text)) {
    return InternalError("Could not format the checkpoint state for " + state_path);
  }
  if (!save_dir.empty()) CKPT_RETURN_IF_ERROR(env->CreateDirs(save_dir));
  return WriteStringToFileAtomic(env, state_path, text);
}

}  // namespace ckpt
