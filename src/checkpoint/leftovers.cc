// FindLeftovers / CleanupLeftovers: see leftovers.h.
#include "checkpoint/leftovers.h"

#include <algorithm>

#include "ckpt/logging.h"
#include "env/temp_path.h"
#include "filenames/filenames.h"

namespace ckpt {
namespace {

// A file a writer of `owner` publishes under this (final) name.
bool IsOwnedFile(const std::string& final_name, const LeftoverOwner& owner) {
  if (std::find(owner.file_names.begin(), owner.file_names.end(), final_name) !=
      owner.file_names.end()) {
    return true;
  }
  std::string_view rest;
  if (!SplitCheckpointName(final_name, owner.checkpoint_basename, &rest)) return false;
  return IsCheckpointFileSuffix(rest);
}

// A sharded save's directory "<checkpoint>_temp" (its final name).
bool IsOwnedShardDir(const std::string& final_name, const LeftoverOwner& owner) {
  std::string_view rest;
  return SplitCheckpointName(final_name, owner.checkpoint_basename, &rest) &&
         rest == kShardedSaveDirSuffix;
}

// A file of a per-device bundle inside a sharded save's directory, published
// or temporary.
bool IsShardPartFile(const std::string& name) {
  std::optional<TempName> temp = ParseTempName(name);
  return IsShardPartFileName(temp ? temp->final_name : name);
}

// Whether the writer of a temporary may still be running, and why not.
bool WriterMayBeRunning(const std::string& name, const TempName& temp, std::string* why) {
  if (temp.pid == CurrentProcessId()) {
    if (TempNameInFlight(name)) return true;
    *why = "written by this process, whose writer of it has ended";
    return false;
  }
  if (ProcessIsAlive(temp.pid)) return true;
  *why = "written by ckpt process " + std::to_string(temp.pid) + ", which is no longer running";
  return false;
}

// An orphan data file's checkpoint prefix ("<basename>-<digits>"), or "".
std::string OrphanDataPrefix(const std::string& name, const LeftoverOwner& owner) {
  std::string_view rest;
  if (!SplitCheckpointName(name, owner.checkpoint_basename, &rest) || !ParseDataSuffix(rest)) {
    return "";
  }
  std::string prefix = name.substr(0, name.size() - rest.size());
  return prefix.size() > owner.checkpoint_basename.size() + 1 ? prefix : "";
}

}  // namespace

Result<std::vector<Leftover>> FindLeftovers(Env* env, const std::string& dir,
                                            const LeftoverOwner& owner,
                                            bool caller_holds_writer_lock) {
  std::vector<Leftover> out;
  const std::string d = dir.empty() ? "." : dir;
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(d));
  std::sort(names.begin(), names.end());
  // Another writer may be publishing orphan-looking data files right now
  // unless the caller holds the lock; a lock that cannot be probed counts as
  // held, so that nothing is taken for a leftover that may not be one.
  bool other_writer = false;
  if (!caller_holds_writer_lock) {
    Result<std::string> holder = env->DirectoryLockHolder(d);
    other_writer = !holder.ok() || !holder->empty();
  }
  for (const std::string& name : names) {
    const std::string path = JoinPath(dir, name);
    std::optional<TempName> temp = ParseTempName(name);
    if (temp) {
      const bool is_dir = env->IsDirectory(path);
      if (is_dir ? !IsOwnedShardDir(temp->final_name, owner)
                 : !IsOwnedFile(temp->final_name, owner)) {
        continue;
      }
      std::string why;
      const bool running = WriterMayBeRunning(name, *temp, &why);
      if (!is_dir) {
        out.push_back({path,
                       running ? "temporary file of a running save"
                               : "temporary file of an interrupted save of " + temp->final_name +
                                     " (" + why + ")",
                       running});
        continue;
      }
      auto parts = env->GetChildren(path);
      if (!parts.ok()) continue;
      // Only a directory holding nothing but shard parts is ours.
      if (!std::all_of(parts->begin(), parts->end(), IsShardPartFile)) continue;
      std::sort(parts->begin(), parts->end());
      const std::string reason =
          running ? "sharded save in progress"
                  : "sharded-save directory of an interrupted save of " +
                        temp->final_name.substr(0, temp->final_name.size() - kShardedSaveDirSuffix.size()) + " (" + why + ")";
      for (const std::string& p : *parts) out.push_back({JoinPath(path, p), reason, running});
      out.push_back({path + "/", reason, running});
      continue;
    }
    std::string prefix = OrphanDataPrefix(name, owner);
    if (!prefix.empty() && !env->FileExists(MetaFilename(JoinPath(dir, prefix)))) {
      out.push_back({path,
                     other_writer ? "data file of a save in progress"
                                  : "data file of " + prefix +
                                        " whose index was never written (an interrupted save)",
                     other_writer});
    }
  }
  return out;
}

Result<std::vector<std::string>> FindLeftovers(Env* env, const std::string& dir,
                                               const std::string& checkpoint_basename) {
  LeftoverOwner owner;
  owner.checkpoint_basename = checkpoint_basename;
  CKPT_ASSIGN_OR_RETURN(std::vector<Leftover> found,
                        FindLeftovers(env, dir, owner, /*caller_holds_writer_lock=*/false));
  std::vector<std::string> out;
  for (const Leftover& l : found) {
    if (!l.in_progress) out.push_back(l.path);
  }
  return out;
}

Result<std::vector<std::string>> CleanupLeftovers(Env* env, const std::string& dir,
                                                  const LeftoverOwner& owner) {
  CKPT_ASSIGN_OR_RETURN(std::vector<Leftover> found,
                        FindLeftovers(env, dir, owner, /*caller_holds_writer_lock=*/true));
  Status first;
  std::vector<std::string> deleted;
  for (const Leftover& l : found) {
    if (l.in_progress) continue;
    const bool is_dir = !l.path.empty() && l.path.back() == '/';
    Status s = is_dir ? env->DeleteDir(l.path.substr(0, l.path.size() - 1))
                      : env->DeleteFile(l.path);
    if (s.ok()) {
      deleted.push_back(l.path);
      LogWarning("Removed " + l.path + ": " + l.reason);
    } else if (first.ok()) {
      first = s;
    }
  }
  if (!first.ok()) return first.WithContext("Cleaning up leftovers in " + dir);
  return deleted;
}

}  // namespace ckpt
