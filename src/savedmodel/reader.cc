// Reading SavedModels (ckpt/saved_model.h).
#include <algorithm>

#include "ckpt/filenames.h"
#include "ckpt/saved_model.h"

namespace ckpt {

Result<tensorflow::SavedModel> ReadSavedModel(Env* env, const std::string& path) {
  if (env == nullptr) return InvalidArgumentError("ReadSavedModel: env is null");
  const bool dir = env->IsDirectory(path);
  const std::string pb = dir ? SavedModelProtoPath(path) : path;
  if (!env->FileExists(pb)) {
    return NotFoundError(dir ? path + " is not a SavedModel directory: it has no " + pb
                             : "SavedModel " + pb + " does not exist");
  }
  CKPT_ASSIGN_OR_RETURN(std::string data, ReadFileToString(env, pb));
  if (data.size() > static_cast<size_t>(INT32_MAX)) {
    return ResourceExhaustedError(pb + " is too large for a SavedModel (" +
                                  std::to_string(data.size()) + " bytes; protobuf reads at most 2 GiB)");
  }
  tensorflow::SavedModel model;
  if (!model.ParseFromString(data)) return DataLossError(pb + " is not a SavedModel");
  return model;
}

bool IsSavedModelDir(Env* env, const std::string& dir) {
  return env->IsDirectory(dir) && env->FileExists(SavedModelProtoPath(dir));
}

namespace {

std::string TagSetString(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  std::string s = "{";
  for (size_t i = 0; i < tags.size(); ++i) s += (i ? ", " : "") + tags[i];
  return s + "}";
}

}  // namespace

Result<const tensorflow::MetaGraphDef*> FindMetaGraph(const tensorflow::SavedModel& model,
                                                      const std::vector<std::string>& tags) {
  std::vector<std::string> wanted = tags;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  std::string present;
  for (const tensorflow::MetaGraphDef& meta : model.meta_graphs()) {
    std::vector<std::string> have(meta.meta_info_def().tags().begin(),
                                  meta.meta_info_def().tags().end());
    std::sort(have.begin(), have.end());
    have.erase(std::unique(have.begin(), have.end()), have.end());
    if (have == wanted) return &meta;
    present += (present.empty() ? "" : ", ") + TagSetString(have);
  }
  return NotFoundError("the SavedModel has no meta graph with tags " + TagSetString(wanted) +
                       (present.empty() ? std::string("; it has no meta graphs")
                                        : "; it has " + present));
}

}  // namespace ckpt
