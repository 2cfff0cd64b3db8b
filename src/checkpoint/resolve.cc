// Resolving a path to the checkpoint to read (ResolveCheckpointPath,
// FindCheckpoint, CheckpointExists), a directory to the checkpoint to restore
// (LatestCheckpoint, NewestVerifiedCheckpoint), a SavedModel directory to its
// variables (SavedModelCheckpoint), and the path rules they share (resolve.h).
//
// LatestCheckpoint trusts the state file's model_checkpoint_path when its
// files pass CheckCheckpointFiles (no tensor data read). When they do not (a
// checkpoint deleted or damaged behind the state file's back, e.g. by a
// second writer), it falls back to the newest checkpoint of the directory
// that verifies completely: the state file's other entries from newest to
// oldest, then checkpoints on disk with the same base name, highest step
// first. One warning names what was skipped and why. With nothing better,
// a named checkpoint whose files exist is returned as TensorFlow would.
#include "checkpoint/resolve.h"

#include <algorithm>
#include <map>
#include <set>

#include "ckpt/bundle.h"
#include "ckpt/logging.h"
#include "ckpt/verify.h"
#include "env/path.h"
#include "filenames/filenames.h"

namespace ckpt {
namespace {

// Candidates after the state file's model_checkpoint_path, newest first.
std::vector<std::string> FallbackCandidates(Env* env, const std::string& dir,
                                            const CheckpointState& state) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    if (p != state.model_checkpoint_path && std::find(out.begin(), out.end(), p) == out.end()) {
      out.push_back(p);
    }
  };
  for (auto it = state.all_model_checkpoint_paths.rbegin();
       it != state.all_model_checkpoint_paths.rend(); ++it) {
    add(*it);
  }
  // On disk: "<basename>-<step>.index" of the basenames the state file uses.
  std::set<std::string> basenames;
  basenames.insert(StepBasename(state.model_checkpoint_path));
  for (const std::string& p : state.all_model_checkpoint_paths) basenames.insert(StepBasename(p));
  basenames.erase("");
  auto names = env->GetChildren(dir.empty() ? "." : dir);
  if (!names.ok()) return out;
  std::vector<std::pair<int64_t, std::string>> on_disk;
  for (const std::string& name : *names) {
    std::optional<std::string_view> index_of = IndexFilePrefix(name);
    if (!index_of) continue;
    std::string prefix = JoinPath(dir, *index_of);
    std::optional<int64_t> step = StepOf(prefix);
    if (step && basenames.count(StepBasename(prefix))) on_disk.emplace_back(*step, prefix);
  }
  std::sort(on_disk.rbegin(), on_disk.rend());
  for (const auto& [step, prefix] : on_disk) {
    if (ResolveRecordedPath(env, dir, state.model_checkpoint_path) != prefix) add(prefix);
  }
  return out;
}

// The newest candidate that verifies, or NotFound listing why each failed.
// `skipped` holds reasons found already ("  <path>: <why>" lines).
Result<std::string> NewestThatVerifies(Env* env, const std::string& dir,
                                       const std::vector<std::string>& candidates,
                                       std::string* skipped) {
  for (const std::string& path : candidates) {
    const std::string resolved = ResolveRecordedPath(env, dir, path);
    Status s = resolved.empty() ? NotFoundError("does not exist (no " + MetaFilename(path) +
                                                " and no V1 checkpoint file)")
                                : VerifyCheckpoint(env, resolved);
    if (s.ok()) return resolved;
    *skipped += "\n  " + path + ": " + s.ToString();
  }
  return NotFoundError("no checkpoint of " + (dir.empty() ? std::string(".") : dir) +
                       " verifies:" + *skipped);
}

}  // namespace

std::optional<CheckpointOnDisk> FindCheckpoint(Env* env, const std::string& prefix) {
  const std::string index = MetaFilename(prefix);
  if (env->FileExists(index)) return CheckpointOnDisk{CheckpointReader::Format::kV2, index};
  if (!V1PathIsGlob(prefix)) {
    if (env->FileExists(prefix) && !env->IsDirectory(prefix)) {
      return CheckpointOnDisk{CheckpointReader::Format::kV1, prefix};
    }
    return std::nullopt;
  }
  const std::string dir(Dirname(prefix));
  const std::string base(Basename(prefix));
  auto children = env->GetChildren(dir.empty() ? "." : dir);
  if (!children.ok()) return std::nullopt;
  std::vector<std::string> names = std::move(children).value();
  std::sort(names.begin(), names.end());
  for (const std::string& c : names) {
    if (GlobMatch(base, c)) return CheckpointOnDisk{CheckpointReader::Format::kV1, JoinPath(dir, c)};
  }
  return std::nullopt;
}

bool CheckpointExists(Env* env, const std::string& prefix) {
  return FindCheckpoint(env, prefix).has_value();
}

bool IsSavedModelCheckpointDir(Env* env, const std::string& dir) {
  return env->IsDirectory(dir) && (env->FileExists(SavedModelProtoPath(dir)) ||
                                   env->FileExists(MetaFilename(SavedModelVariablesPrefix(dir))));
}

Result<std::string> SavedModelCheckpoint(Env* env, const std::string& dir) {
  std::string prefix = SavedModelVariablesPrefix(dir);
  const std::string index = MetaFilename(prefix);
  if (!env->FileExists(index)) {
    return NotFoundError("SavedModel " + dir + " has no variables: " + index + " does not exist");
  }
  return prefix;
}

Result<ResolvedCheckpoint> ResolveCheckpointPath(Env* env, const std::string& path) {
  std::string prefix = path;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (IsSavedModelCheckpointDir(env, prefix)) {
    CKPT_ASSIGN_OR_RETURN(prefix, SavedModelCheckpoint(env, prefix));
  } else if (env->IsDirectory(prefix)) {
    auto latest = LatestCheckpoint(env, prefix);
    if (!latest.ok()) {
      return NotFoundError("No checkpoint found in directory " + prefix + ": " +
                           latest.status().message());
    }
    prefix = *latest;
  }
  const std::string_view ext = CheckpointFileExtensionIn(prefix);
  std::string hint;
  if (!ext.empty()) {
    hint = " (pass the checkpoint prefix, without the " + std::string(ext) + "... extension)";
  }
  std::optional<CheckpointOnDisk> found = FindCheckpoint(env, prefix);
  if (!found) {
    return NotFoundError("Unsuccessful TensorSliceReader constructor: Failed to find any "
                         "matching files for " + prefix + hint);
  }
  return ResolvedCheckpoint{prefix, found->format, hint};
}

std::string ResolveRecordedPath(Env* env, const std::string& dir, const std::string& prefix) {
  if (CheckpointExists(env, prefix)) return prefix;
  std::string local = JoinPath(dir, std::string(Basename(prefix)));
  if (local != prefix && CheckpointExists(env, local)) return local;
  return "";
}

Status CheckCheckpointFiles(Env* env, const std::string& prefix) {
  std::optional<CheckpointOnDisk> found = FindCheckpoint(env, prefix);
  if (!found) {
    return NotFoundError("Checkpoint " + prefix + " does not exist (no " + MetaFilename(prefix) +
                         " and no V1 checkpoint file)");
  }
  if (found->format == CheckpointReader::Format::kV1) return Status::OK();  // read on restore
  BundleReaderOptions options;
  options.env = env;
  CKPT_ASSIGN_OR_RETURN(auto reader, BundleReader::Open(prefix, options));
  std::map<int, int64_t> needed;  // shard -> bytes its entries reach
  for (const BundleEntry& e : reader->entries()) {
    if (!e.slices.empty() || e.size == 0) continue;
    int64_t& end = needed[e.shard_id];
    end = std::max(end, e.offset + e.size);
  }
  for (const auto& [shard, end] : needed) {
    const std::string path = DataFilename(prefix, shard, reader->num_shards());
    Result<uint64_t> size = env->GetFileSize(path);
    if (!size.ok()) {
      if (size.status().code() == StatusCode::kNotFound) {
        return NotFoundError("Checkpoint " + prefix + " is missing data file " + path);
      }
      return size.status();
    }
    if (*size < static_cast<uint64_t>(end)) {
      return DataLossError("Checkpoint " + prefix + ": data file " + path + " holds " +
                           std::to_string(*size) + " bytes but its index refers to " +
                           std::to_string(end) + " (truncated)");
    }
  }
  return Status::OK();
}

Result<std::string> LatestCheckpoint(Env* env, const std::string& dir,
                                     const std::string& latest_filename) {
  CKPT_ASSIGN_OR_RETURN(CheckpointState state, GetCheckpointState(env, dir, latest_filename));
  const std::string state_path = JoinPath(dir, latest_filename);
  const std::string& path = state.model_checkpoint_path;
  const std::string resolved = ResolveRecordedPath(env, dir, path);
  Status named = resolved.empty() ? NotFoundError("does not exist (no " + MetaFilename(path) +
                                                  " and no V1 checkpoint file)")
                                  : CheckCheckpointFiles(env, resolved);
  if (named.ok()) {
    if (resolved != path) {
      LogWarning("Checkpoint " + path + " named by " + state_path + " does not exist; using " +
                 resolved + " found beside the state file (was the directory moved or copied?)");
    }
    return resolved;
  }
  std::string skipped = "\n  " + path + ": " + named.ToString();
  Result<std::string> fallback =
      NewestThatVerifies(env, dir, FallbackCandidates(env, dir, state), &skipped);
  if (fallback.ok()) {
    LogWarning("Checkpoint " + path + " named by " + state_path + " cannot be used; using " +
               *fallback + ", the newest checkpoint of " + (dir.empty() ? std::string(".") : dir) +
               " that verifies. Skipped:" + skipped);
    return fallback;
  }
  if (!resolved.empty()) {
    // Nothing better: the named checkpoint as TensorFlow would return it
    // (its files exist); reading it reports what is wrong.
    if (resolved != path) {
      LogWarning("Checkpoint " + path + " named by " + state_path + " does not exist; using " +
                 resolved + " found beside the state file (was the directory moved or copied?)");
    }
    return resolved;
  }
  return NotFoundError("Couldn't match files for checkpoint " + path + " (named by " +
                       state_path + "): " + fallback.status().message());
}

Result<std::string> NewestVerifiedCheckpoint(Env* env, const std::string& dir,
                                             const std::string& latest_filename) {
  if (env == nullptr) return InvalidArgumentError("NewestVerifiedCheckpoint: env is null");
  const std::string state_path = JoinPath(dir, latest_filename);
  CKPT_ASSIGN_OR_RETURN(CheckpointState state, GetCheckpointState(env, dir, latest_filename));
  std::vector<std::string> candidates = {state.model_checkpoint_path};
  for (std::string& c : FallbackCandidates(env, dir, state)) candidates.push_back(std::move(c));
  std::string skipped;
  Result<std::string> found = NewestThatVerifies(env, dir, candidates, &skipped);
  if (!found.ok()) {
    return NotFoundError("None of the " + std::to_string(candidates.size()) +
                         " checkpoints of " + state_path + " and its directory verifies:" +
                         skipped);
  }
  const std::string first = ResolveRecordedPath(env, dir, state.model_checkpoint_path);
  if (!skipped.empty()) {
    LogWarning("Using " + *found + ", the newest checkpoint of " +
               (dir.empty() ? std::string(".") : dir) + " that verifies. Skipped:" + skipped);
  } else if (first != state.model_checkpoint_path) {
    LogWarning("Checkpoint " + state.model_checkpoint_path + " named by " + state_path +
               " does not exist; using " + *found +
               " found beside the state file (was the directory moved or copied?)");
  }
  return found;
}

}  // namespace ckpt
