// RepairCheckpointDirectory (`ckpt fsck --repair`): see ckpt/verify.h.
//
// Under the directory's WriterLock: survey with verification, choose what the
// state file should name (entries that verify, in their order, and the
// newest checkpoint that verifies last), rewrite it only if that differs from
// what it says, then delete the provable leftovers of every checkpoint base
// name seen. Checkpoint files themselves are never touched.
#include <algorithm>
#include <map>
#include <set>

#include "checkpoint/leftovers.h"
#include "checkpoint/resolve.h"
#include "ckpt/bundle.h"
#include "ckpt/logging.h"
#include "ckpt/verify.h"
#include "filenames/filenames.h"

namespace ckpt {
namespace {

// How the state file stores `prefix`: relative to `dir` when it lies
// directly inside it, else as it is.
std::string StoredPath(Env* env, const std::string& dir, const std::string& prefix) {
  if (std::string(Dirname(prefix)) == dir) return std::string(Basename(prefix));
  auto real_dir = env->RealPath(dir.empty() ? "." : dir);
  std::string parent(Dirname(prefix));
  auto real_parent = env->RealPath(parent.empty() ? "." : parent);
  if (real_dir.ok() && real_parent.ok() && *real_dir == *real_parent) {
    return std::string(Basename(prefix));
  }
  return prefix;
}

// What UpdateCheckpointState needs to store `stored` (as StoredPath gives it).
std::string PathForUpdate(const std::string& dir, const std::string& stored) {
  if (IsAbsolutePath(stored) || IsAbsolutePath(dir) || dir.empty()) return stored;
  return JoinPath(dir, stored);  // relative paths are taken relative to the cwd
}

}  // namespace

Result<RepairReport> RepairCheckpointDirectory(Env* env, const std::string& dir,
                                               const RepairOptions& options) {
  if (env == nullptr) return InvalidArgumentError("RepairCheckpointDirectory: env is null");
  const std::string d = dir.empty() ? "." : dir;
  if (!env->IsDirectory(d)) {
    return NotFoundError("Checkpoint directory " + d + " does not exist or is not a directory");
  }
  std::shared_ptr<WriterLock> lock;
  if (!options.dry_run) {
    CKPT_ASSIGN_OR_RETURN(lock, WriterLock::Acquire(env, d, options.writer_lock));
  }
  RepairReport out;
  SurveyOptions so;
  so.latest_filename = options.latest_filename;
  so.verify = true;
  CKPT_ASSIGN_OR_RETURN(out.survey, SurveyCheckpointDirectory(env, dir, so));
  const DirectoryReport& r = out.survey;

  // The checkpoints the state file should list, oldest first.
  std::vector<const CheckpointSummary*> keep;
  const bool state_ok = r.state_status.ok();
  Result<CheckpointState> state = GetCheckpointState(env, dir, options.latest_filename);
  std::map<std::string, double> timestamps;
  std::optional<double> last_preserved;
  if (state.ok()) {
    last_preserved = state->last_preserved_timestamp;
    if (state->all_model_checkpoint_timestamps.size() == state->all_model_checkpoint_paths.size()) {
      for (size_t i = 0; i < state->all_model_checkpoint_paths.size(); ++i) {
        timestamps[state->all_model_checkpoint_paths[i]] = state->all_model_checkpoint_timestamps[i];
      }
    }
  }
  std::string latest;
  if (state_ok) {
    for (const CheckpointSummary& c : r.checkpoints) {
      if (!c.in_state_file) continue;
      if (c.status.ok()) {
        keep.push_back(&c);
      } else {
        out.dropped.push_back(c.prefix + ": " + c.status.ToString());
      }
    }
    Result<std::string> newest = NewestVerifiedCheckpoint(env, dir, options.latest_filename);
    if (newest.ok()) latest = *newest;
  } else {
    // No usable state file: the checkpoints on disk, if they are one model's.
    std::set<std::string> basenames;
    std::vector<const CheckpointSummary*> on_disk;
    for (const CheckpointSummary& c : r.checkpoints) {
      if (!c.status.ok() || !c.step) continue;
      basenames.insert(StepBasename(c.prefix));
      on_disk.push_back(&c);
    }
    if (basenames.size() > 1) {
      std::string names;
      for (const std::string& b : basenames) names += (names.empty() ? "" : ", ") + b;
      out.remaining.push_back("no usable state file and checkpoints of several models (" + names +
                              "): not guessing which one it should name");
    } else if (!on_disk.empty()) {
      std::sort(on_disk.begin(), on_disk.end(), [](const auto* a, const auto* b) {
        return *a->step < *b->step;
      });
      keep = on_disk;
      latest = on_disk.back()->resolved_prefix.empty() ? on_disk.back()->prefix
                                                       : on_disk.back()->resolved_prefix;
    }
  }
  auto where = [](const CheckpointSummary* c) {
    return c->resolved_prefix.empty() ? c->prefix : c->resolved_prefix;
  };
  std::vector<std::string> kept;
  std::vector<double> kept_times;
  bool have_all_times = !keep.empty();
  for (const CheckpointSummary* c : keep) {
    if (where(c) == latest) continue;  // listed last
    kept.push_back(where(c));
    auto t = timestamps.find(c->prefix);
    if (t != timestamps.end()) {
      kept_times.push_back(t->second);
    } else {
      have_all_times = false;
    }
  }
  if (!latest.empty()) {
    kept.push_back(latest);
    auto t = timestamps.find(latest);
    if (t != timestamps.end()) {
      kept_times.push_back(t->second);
    } else if (auto m = env->GetModificationTime(MetaFilename(latest)); m.ok() && !timestamps.empty()) {
      kept_times.push_back(*m);
    } else {
      have_all_times = false;
    }
  }

  // Rewrite only if the state file would say something else.
  if (!latest.empty()) {
    std::vector<std::string> stored;
    for (const std::string& p : kept) stored.push_back(StoredPath(env, dir, p));
    bool same = state.ok();
    if (same) {
      std::vector<std::string> was;
      for (const std::string& p : state->all_model_checkpoint_paths) was.push_back(p);
      std::vector<std::string> now;
      for (const std::string& p : kept) now.push_back(p);
      same = was == now && state->model_checkpoint_path == latest;
      // Absolute paths inside the directory are made relative too.
      Result<std::string> text = ReadFileToString(env, JoinPath(dir, options.latest_filename));
      if (same && text.ok()) {
        for (const std::string& p : kept) {
          if (StoredPath(env, dir, p) != p && IsAbsolutePath(p) &&
              text->find("\"" + p + "\"") != std::string::npos) {
            same = false;
          }
        }
      }
    }
    out.latest = latest;
    out.kept = kept;
    if (!same) {
      out.state_rewritten = true;
      if (!options.dry_run) {
        std::vector<std::string> paths;
        for (const std::string& p : stored) paths.push_back(PathForUpdate(dir, p));
        UpdateCheckpointStateOptions uo;
        uo.latest_filename = options.latest_filename;
        CKPT_RETURN_IF_ERROR(UpdateCheckpointState(
            env, d, paths.back(), paths,
            have_all_times && kept_times.size() == paths.size() ? kept_times : std::vector<double>{},
            last_preserved, uo));
        LogWarning("Rewrote " + JoinPath(dir, options.latest_filename) + " to name " + latest +
                   " (" + std::to_string(kept.size()) + " checkpoints listed, " +
                   std::to_string(out.dropped.size()) + " dropped)");
      }
    }
  } else if (state_ok || r.state_status.code() != StatusCode::kNotFound) {
    if (!r.checkpoints.empty() || state_ok) {
      out.remaining.push_back("no checkpoint of " + d + " verifies; the state file is left as it is");
    }
  }

  // Leftovers of every base name seen, and the state file's.
  std::set<std::string> basenames;
  for (const CheckpointSummary& c : r.checkpoints) basenames.insert(StepBasename(c.prefix));
  for (const std::string& p : r.leftovers) {
    std::string name(Basename(p.back() == '/' ? p.substr(0, p.size() - 1) : p));
    if (std::optional<std::string_view> stem = DataFileStem(name)) {
      basenames.insert(StepBasename(*stem));
    }
  }
  basenames.erase("");
  if (basenames.empty()) basenames.insert("");
  for (const std::string& b : basenames) {
    LeftoverOwner owner;
    owner.checkpoint_basename = b;
    owner.file_names = {options.latest_filename};
    if (options.dry_run) {
      CKPT_ASSIGN_OR_RETURN(std::vector<Leftover> found,
                            FindLeftovers(env, dir, owner, /*caller_holds_writer_lock=*/false));
      for (const Leftover& l : found) {
        if (!l.in_progress) out.removed.push_back(l.path);
      }
    } else {
      CKPT_ASSIGN_OR_RETURN(std::vector<std::string> removed, CleanupLeftovers(env, dir, owner));
      out.removed.insert(out.removed.end(), removed.begin(), removed.end());
    }
  }

  for (const CheckpointSummary& c : r.checkpoints) {
    if (!c.status.ok() && c.committed) {
      out.remaining.push_back(c.prefix + " is corrupt (left in place): " + c.status.ToString());
    }
  }
  return out;
}

}  // namespace ckpt
