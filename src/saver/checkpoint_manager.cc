// CheckpointManager: TF2's retention policy over numbered checkpoints.
//
// Bookkeeping mirrors TensorFlow's tf.train.CheckpointManager: an ordered
// "active set" of (prefix, timestamp) plus last_preserved_timestamp, recovered
// from the directory's `checkpoint` state file at construction and written
// back (relative paths, timestamps, last_preserved_timestamp) after every save:
//
//   1. target->Write(prefix)                  the checkpoint is published
//   2. record prefix at the end of the active set, write the state file
//   3. sweep: pop the oldest while more than max_to_keep remain; preserve it
//      (forget it, keep its files) if keep_checkpoint_every_n_hours allows,
//      else delete its .index and .data-NNNNN-of-NNNNN files
//   4. write the state file again
//
// A crash between any two steps leaves a directory TensorFlow and a new
// manager can read: the state file is replaced atomically and at worst names
// a checkpoint whose files were already deleted, or misses one (unmanaged).
//
// Deletion safety: the state file is input, possibly hand-edited. A prefix is
// only deleted if it names "<checkpoint_name>-<number>" directly inside the
// manager's directory (compared lexically and, on the real file system, after
// resolving symlinks), and none of its files is a symlink. Anything else is
// dropped from the active set with a warning and left on disk.
#include "ckpt/checkpoint_manager.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/logging.h"
#include "checkpoint/leftovers.h"
#include "ckpt/verify.h"
#include "ckpt/writer_lock.h"
#include "filenames/filenames.h"

namespace ckpt {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

struct CheckpointManager::Impl {
  CheckpointTarget* target = nullptr;
  std::string directory;
  CheckpointManagerOptions options;
  std::string prefix;  // JoinPath(directory, checkpoint_name)
  // The active set, oldest first; prefixes are unique.
  std::vector<std::pair<std::string, double>> active;
  std::optional<std::string> latest;
  double last_preserved_timestamp = 0;
  std::optional<int64_t> last_checkpoint_step;
  bool cleaned_up = false;
  // The directory's writer lock, from the first Save on (ckpt/writer_lock.h).
  std::shared_ptr<WriterLock> lock;

  Env* env() const { return options.env; }

  void Record(const std::string& path, double timestamp) {
    for (auto it = active.begin(); it != active.end(); ++it) {
      if (it->first == path) {
        active.erase(it);
        break;
      }
    }
    active.emplace_back(path, timestamp);
    latest = path;
  }

  Status WriteState() const {
    std::vector<std::string> paths;
    std::vector<double> timestamps;
    for (const auto& [path, timestamp] : active) {
      paths.push_back(path);
      timestamps.push_back(timestamp);
    }
    UpdateCheckpointStateOptions state_options;
    state_options.save_relative_paths = true;
    return UpdateCheckpointState(env(), directory, latest.value_or(""), std::move(paths),
                                 std::move(timestamps), last_preserved_timestamp, state_options);
  }

  // The path to delete for `prefix` (always JoinPath(directory, basename)),
  // or nullopt with a warning if `prefix` is not a checkpoint this manager
  // may delete.
  std::optional<std::string> ManagedPath(const std::string& prefix) const {
    const std::string base(Basename(prefix));
    const std::string dir = Dirname(prefix).empty() ? "." : std::string(Dirname(prefix));
    const std::string own_dir = directory.empty() ? "." : directory;
    auto refuse = [&](const std::string& why) {
      LogWarning("CheckpointManager: not deleting " + Quote(prefix) + " listed in " +
                 Quote(JoinPath(directory, kDefaultStateFilename)) + ": " + why +
                 "; it is no longer managed and its files are left as they are");
      return std::nullopt;
    };
    if (!IsNumberedCheckpointName(base, options.checkpoint_name)) {
      return refuse("its name is not \"" + options.checkpoint_name + "-<number>\"");
    }
    if (RelativePath(dir, own_dir) != ".") {
      return refuse("it is not directly inside the directory " + Quote(own_dir));
    }
    Result<std::string> real_dir = env()->RealPath(dir.empty() ? "." : dir);
    Result<std::string> real_own = env()->RealPath(own_dir.empty() ? "." : own_dir);
    if (!real_dir.ok() || !real_own.ok() || *real_dir != *real_own) {
      return refuse("its directory resolves to " +
                    Quote(real_dir.ok() ? *real_dir : "<unresolvable>") +
                    ", not to the manager's directory " +
                    Quote(real_own.ok() ? *real_own : "<unresolvable>"));
    }
    return JoinPath(directory, base);
  }

  // Deletes exactly prefix.index and prefix.data-NNNNN-of-NNNNN, after
  // checking every one. Problems are logged; a sweep never fails a save.
  void DeleteCheckpoint(const std::string& prefix) const {
    std::optional<std::string> path = ManagedPath(prefix);
    if (!path) return;
    const std::string base(Basename(*path));
    std::vector<std::string> files;
    const std::string index = MetaFilename(*path);
    if (env()->FileExists(index)) files.push_back(index);
    Result<std::vector<std::string>> children =
        env()->GetChildren(directory.empty() ? "." : directory);
    if (!children.ok()) {
      LogWarning("CheckpointManager: cannot list " + Quote(directory) + " to delete " +
                 Quote(*path) + ": " + children.status().ToString());
      return;
    }
    for (const std::string& child : *children) {
      if (IsDataFileOf(child, base)) files.push_back(JoinPath(directory, child));
    }
    for (const std::string& file : files) {
      if (env()->IsSymlink(file)) {
        LogWarning("CheckpointManager: not deleting checkpoint " + Quote(*path) + ": " +
                   Quote(file) + " is a symbolic link; its files are left as they are");
        return;
      }
    }
    for (const std::string& file : files) {
      Status s = env()->DeleteFile(file);
      if (!s.ok()) {
        LogWarning("CheckpointManager: could not delete " + Quote(file) + ": " + s.ToString());
      }
    }
  }

  void Sweep() {
    if (!options.max_to_keep) return;
    const size_t keep = static_cast<size_t>(*options.max_to_keep);
    const double hours = options.keep_checkpoint_every_n_hours.value_or(0.0);
    while (active.size() > keep) {
      auto [path, timestamp] = active.front();
      active.erase(active.begin());
      if (hours != 0 && timestamp - hours * 3600.0 >= last_preserved_timestamp) {
        last_preserved_timestamp = timestamp;
        continue;
      }
      DeleteCheckpoint(path);
    }
  }
};

Result<std::unique_ptr<CheckpointManager>> CheckpointManager::Create(
    CheckpointTarget* target, std::string directory, CheckpointManagerOptions options) {
  if (target == nullptr) return InvalidArgumentError("CheckpointManager: target is null");
  if (options.env == nullptr) return InvalidArgumentError("CheckpointManager: options.env is null");
  if (options.max_to_keep && *options.max_to_keep <= 0) {
    return InvalidArgumentError("Expected a positive integer or `None` for `max_to_keep`, got " +
                                std::to_string(*options.max_to_keep) + ".");
  }
  if (options.checkpoint_interval && options.step_counter == nullptr) {
    return InvalidArgumentError(
        "`step_counter` should be passed if `checkpoint_interval` is not None.");
  }
  if (options.checkpoint_name.empty() || options.checkpoint_name.find('/') != std::string::npos) {
    return InvalidArgumentError("CheckpointManager: checkpoint_name must be a non-empty file name "
                                "without '/', got " + Quote(options.checkpoint_name));
  }
  auto impl = std::make_unique<Impl>();
  impl->target = target;
  impl->directory = std::move(directory);
  impl->options = std::move(options);
  impl->prefix = JoinPath(impl->directory, impl->options.checkpoint_name);

  Env* env = impl->env();
  Result<CheckpointState> state = GetCheckpointState(env, impl->directory);
  const double now = env->NowSeconds();
  if (!state.ok() && state.status().code() != StatusCode::kNotFound &&
      state.status().code() != StatusCode::kDataLoss) {
    return state.status();
  }
  if (!state.ok()) {
    if (state.status().code() == StatusCode::kDataLoss) {
      // TensorFlow ignores an unreadable state file the same way.
      LogWarning(state.status().ToString() + "; checkpoint state ignored, starting afresh in " +
                 Quote(impl->directory));
    }
    impl->last_preserved_timestamp = now - 1.0;
    return std::unique_ptr<CheckpointManager>(new CheckpointManager(std::move(impl)));
  }
  impl->latest = state->model_checkpoint_path;
  impl->last_preserved_timestamp = state->last_preserved_timestamp.value_or(0.0);
  if (now < impl->last_preserved_timestamp) {
    LogWarning("CheckpointManager: the clock is " +
               std::to_string(impl->last_preserved_timestamp - now) +
               " seconds behind the last preserved checkpoint timestamp in " +
               Quote(JoinPath(impl->directory, kDefaultStateFilename)));
    impl->last_preserved_timestamp = now;
  }
  const std::vector<std::string>& paths = state->all_model_checkpoint_paths;
  std::vector<double> timestamps = state->all_model_checkpoint_timestamps;
  if (timestamps.empty()) timestamps.assign(paths.size(), impl->last_preserved_timestamp);
  for (size_t i = 0; i < paths.size() && i < timestamps.size(); ++i) {
    const double timestamp = std::min(timestamps[i], now);
    if (timestamp <= impl->last_preserved_timestamp) continue;
    // A repeated path keeps its first position and takes the last timestamp.
    auto it = std::find_if(impl->active.begin(), impl->active.end(),
                           [&](const auto& entry) { return entry.first == paths[i]; });
    if (it != impl->active.end()) {
      it->second = timestamp;
    } else {
      impl->active.emplace_back(paths[i], timestamp);
    }
  }
  return std::unique_ptr<CheckpointManager>(new CheckpointManager(std::move(impl)));
}

CheckpointManager::CheckpointManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CheckpointManager::~CheckpointManager() = default;

Result<std::string> CheckpointManager::Save(std::optional<int64_t> checkpoint_number,
                                            bool check_interval) {
  Impl& m = *impl_;
  if (!m.directory.empty()) CKPT_RETURN_IF_ERROR(m.env()->CreateDirs(m.directory));
  if (m.lock == nullptr) {
    CKPT_ASSIGN_OR_RETURN(m.lock, WriterLock::Acquire(m.env(), m.directory.empty() ? "." : m.directory,
                                                      m.options.writer_lock));
  }
  if (m.options.checkpoint_interval) {
    const int64_t step = *m.options.step_counter;
    if (m.last_checkpoint_step) {
      if (step == *m.last_checkpoint_step) return std::string();
      if (check_interval && step < *m.last_checkpoint_step + *m.options.checkpoint_interval) {
        return std::string();
      }
    }
    m.last_checkpoint_step = step;
  }
  const int64_t counter = m.target->IncrementSaveCounter();
  const std::string prefix =
      CheckpointPrefixWithStep(m.prefix, checkpoint_number.value_or(counter));

  if (!m.cleaned_up) {
    // Files a crashed save left behind are never part of a checkpoint.
    LeftoverOwner owner;
    owner.checkpoint_basename = m.options.checkpoint_name;
    Result<std::vector<std::string>> removed =
        CleanupLeftovers(m.env(), m.directory.empty() ? "." : m.directory, owner);
    if (!removed.ok()) {
      LogWarning("CheckpointManager: cleaning up after an earlier crashed save in " +
                 Quote(m.directory) + " failed: " + removed.status().ToString());
    }
    m.cleaned_up = true;
  }
  CKPT_RETURN_IF_ERROR(m.target->Write(prefix));
  m.Record(prefix, m.env()->NowSeconds());
  CKPT_RETURN_IF_ERROR(m.WriteState());
  m.Sweep();
  CKPT_RETURN_IF_ERROR(m.WriteState());
  return prefix;
}

Result<std::string> CheckpointManager::RestoreOrInitialize() {
  Impl& m = *impl_;
  if (!m.latest) return std::string();
  // The state file's newest checkpoint, or, if it is gone or damaged, the
  // newest one of the directory that verifies (LatestCheckpoint warns).
  const std::string dir = m.directory.empty() ? "." : m.directory;
  std::string prefix = *m.latest;
  Result<std::string> usable = LatestCheckpoint(m.env(), dir);
  if (usable.ok()) prefix = *usable;
  Status s = m.target->Restore(prefix);
  if (s.code() == StatusCode::kDataLoss) {
    // Corrupt tensor data (the restore changed nothing): the newest
    // checkpoint that verifies instead.
    Result<std::string> verified = NewestVerifiedCheckpoint(m.env(), dir);
    if (verified.ok() && *verified != prefix) {
      LogWarning("Checkpoint " + prefix + " cannot be restored (" + s.ToString() +
                 "); restoring " + *verified + ", the newest checkpoint of " + dir +
                 " that verifies");
      prefix = *verified;
      s = m.target->Restore(prefix);
    }
  }
  CKPT_RETURN_IF_ERROR(s);
  if (m.options.checkpoint_interval) m.last_checkpoint_step = *m.options.step_counter;
  return prefix;
}

std::optional<std::string> CheckpointManager::latest_checkpoint() const { return impl_->latest; }

std::vector<std::string> CheckpointManager::checkpoints() const {
  std::vector<std::string> out;
  for (const auto& entry : impl_->active) out.push_back(entry.first);
  return out;
}

const std::string& CheckpointManager::directory() const { return impl_->directory; }

}  // namespace ckpt
