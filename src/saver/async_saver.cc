// AsyncSaver: snapshot in Save(), persist on a background thread.
//
// Life of a save:
//   1. Save() waits until the background thread is idle (at most one snapshot
//      in flight) and returns the previous save's error if it failed.
//   2. The staged variables are copied into the snapshot buffers, chosen and
//      allocated once in Create() within the staging budget and reused
//      (saver/snapshot.h), over `copy_threads` threads.
//   3. The job is handed to the background thread.
//   4. The background thread takes the directory's CheckpointDirectoryLock and
//      calls Saver::Save on an inner Saver whose variables are the snapshot
//      buffers and, for direct (unstaged) variables, the caller's tensors:
//      cleanup of leftovers, bundle commit, state file, retention and .meta,
//      exactly as a synchronous save. Its write hooks (saver/write_hooks.h)
//      put the direct variables first in each bundle and count them as
//      they are written. It then records the result and marks itself idle.
//   5. Save() returns once every direct variable is written (at once if
//      there is none), or when the job ended before that, with its error.
// Restores go through a second Saver over the caller's own tensors.
#include "ckpt/async_saver.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "ckpt/logging.h"
#include "ckpt/writer_lock.h"
#include "saver/background.h"
#include "saver/snapshot.h"
#include "saver/write_hooks.h"

namespace ckpt {
namespace {

// The process-wide set of locked directories.
struct DirectoryRegistry {
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> held;
};

DirectoryRegistry& Registry() {
  static DirectoryRegistry registry;
  return registry;
}

std::string DirectoryKey(Env* env, const std::string& dir) {
  const std::string d = dir.empty() ? "." : dir;
  auto real = env->RealPath(d);
  if (real.ok()) return *real;
  // Not created yet (the Saver creates it when its parent exists): key it
  // under the parent's real path so that spellings still agree.
  const std::string parent(Dirname(d));
  auto real_parent = env->RealPath(parent.empty() ? "." : parent);
  if (real_parent.ok()) return JoinPath(*real_parent, Basename(d));
  return d;
}

}  // namespace

CheckpointDirectoryLock::CheckpointDirectoryLock(Env* env, const std::string& dir)
    : key_(DirectoryKey(env, dir)) {
  DirectoryRegistry& r = Registry();
  std::unique_lock<std::mutex> lock(r.mu);
  r.cv.wait(lock, [&] { return r.held.count(key_) == 0; });
  r.held.insert(key_);
}

CheckpointDirectoryLock::~CheckpointDirectoryLock() {
  DirectoryRegistry& r = Registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.held.erase(key_);
  }
  r.cv.notify_all();
}

struct AsyncSaver::Impl {
  AsyncSaverOptions options;
  std::unique_ptr<saver_internal::Snapshot> snapshot;  // of the caller's vars
  std::unique_ptr<Saver> writer;    // saves the snapshot; used by the worker
  std::unique_ptr<Saver> restorer;  // restores the caller's tensors
  // Writer locks taken by Save on the caller's thread, so that a directory
  // another process writes into fails the Save at once rather than in the
  // background (the worker's Saver shares them).
  std::map<std::string, std::shared_ptr<WriterLock>> locks;
  size_t direct_count = 0;  // entries of the list that are not staged
  std::set<const Tensor*> direct_tensors;  // the caller's tensors they save

  // Progress of the save in flight, for a Save() waiting for its direct
  // variables.
  std::mutex mu;
  std::condition_variable cv;
  size_t direct_left = 0;  // direct variables not yet written
  bool ended = false;      // the job has returned

  // Last: stopped (a queued save persisted) before the rest goes.
  saver_internal::BackgroundSaves worker;

  // The writer's hook after each variable (maybe from several threads).
  void Written(const SaveableTensor& v) {
    if (!direct_tensors.count(v.tensor)) return;
    std::lock_guard<std::mutex> lock(mu);
    if (--direct_left == 0) cv.notify_all();
  }

  // The worker's job: the save, under the directory's process-wide lock.
  Status Persist(const std::string& save_path, const SaveArgs& args) {
    CheckpointDirectoryLock dir_lock(options.saver.env, std::string(Dirname(save_path)));
    return writer->Save(save_path, args).status();
  }
};

AsyncSaver::AsyncSaver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AsyncSaver::~AsyncSaver() {
  const Status error = impl_->worker.Stop();
  if (!error.ok()) {
    LogWarning("AsyncSaver destroyed with an unreported error of its last save: " +
               error.ToString());
  }
}

Result<std::unique_ptr<AsyncSaver>> AsyncSaver::Create(VarList var_list,
                                                       AsyncSaverOptions options) {
  if (options.copy_threads < 1) {
    return InvalidArgumentError("AsyncSaverOptions.copy_threads must be >= 1, got " +
                                std::to_string(options.copy_threads));
  }
  if (options.staging_budget_bytes < 0 &&
      options.staging_budget_bytes != kUnlimitedStagingBudget) {
    return InvalidArgumentError(
        "AsyncSaverOptions.staging_budget_bytes must be >= 0 or kUnlimitedStagingBudget (" +
        std::to_string(kUnlimitedStagingBudget) + "), got " +
        std::to_string(options.staging_budget_bytes));
  }
  auto impl = std::make_unique<Impl>();
  Impl* im = impl.get();
  // The restorer validates the list (names, null tensors, dtypes, slices).
  CKPT_ASSIGN_OR_RETURN(impl->restorer, Saver::Create(var_list, options.saver));
  std::vector<bool> staged = saver_internal::ChooseStaged(var_list, options.staging_budget_bytes);
  for (size_t i = 0; i < var_list.size(); ++i) {
    if (staged[i]) continue;
    ++impl->direct_count;
    impl->direct_tensors.insert(var_list[i].tensor);
  }
  CKPT_ASSIGN_OR_RETURN(impl->snapshot,
                        saver_internal::Snapshot::Create(std::move(var_list), std::move(staged)));
  CKPT_ASSIGN_OR_RETURN(impl->writer, Saver::Create(impl->snapshot->vars(), options.saver));
  if (impl->direct_count > 0) {
    saver_internal::WriteHooks hooks;
    hooks.write_first = [im](const SaveableTensor& v) {
      return im->direct_tensors.count(v.tensor) > 0;
    };
    hooks.written = [im](const SaveableTensor& v) { im->Written(v); };
    saver_internal::SaverAccess::SetWriteHooks(*impl->writer, std::move(hooks));
  }
  impl->options = std::move(options);
  return std::unique_ptr<AsyncSaver>(new AsyncSaver(std::move(impl)));
}

Result<std::string> AsyncSaver::Save(const std::string& save_path, const SaveArgs& args) {
  Impl& im = *impl_;
  CKPT_RETURN_IF_ERROR(Wait());
  // The Saver's argument checks, here so that they fail at once.
  CKPT_ASSIGN_OR_RETURN(std::string checkpoint_file,
                        CheckpointPrefixForSave(save_path, args, im.options.saver));
  const std::string dir(Dirname(save_path));
  Env* env = im.options.saver.env;
  if (!im.locks.count(dir) && env->IsDirectory(dir.empty() ? "." : dir)) {
    CKPT_ASSIGN_OR_RETURN(std::shared_ptr<WriterLock> lock,
                          WriterLock::Acquire(env, dir.empty() ? "." : dir,
                                              im.options.saver.writer_lock));
    im.locks[dir] = std::move(lock);
  }
  CKPT_RETURN_IF_ERROR(im.snapshot->Take(im.options.copy_threads, "AsyncSaver::Save"));
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.direct_left = im.direct_count;
    im.ended = false;
  }
  im.worker.Start([&im, save_path, args] {
    Status s = im.Persist(save_path, args);
    {
      std::lock_guard<std::mutex> lock(im.mu);
      im.ended = true;
    }
    im.cv.notify_all();
    return s;
  });
  if (im.direct_count == 0) return checkpoint_file;
  bool direct_written;
  {
    std::unique_lock<std::mutex> lock(im.mu);
    im.cv.wait(lock, [&im] { return im.direct_left == 0 || im.ended; });
    direct_written = im.direct_left == 0;
  }
  // Ended first: failed (or, with a user bundle_writer, which calls no
  // hook, done). Its outcome is reported here, and only here.
  if (!direct_written) CKPT_RETURN_IF_ERROR(im.worker.TakeError());
  return checkpoint_file;
}

Result<std::string> AsyncSaver::SaveAndWait(const std::string& save_path, const SaveArgs& args) {
  CKPT_ASSIGN_OR_RETURN(std::string prefix, Save(save_path, args));
  CKPT_RETURN_IF_ERROR(Wait());
  return prefix;
}

Status AsyncSaver::Wait() { return impl_->worker.TakeError(); }

Status AsyncSaver::Restore(const std::string& save_path, const RestoreOptions& options) {
  impl_->worker.WaitIdle();
  return impl_->restorer->Restore(save_path, options);
}

std::vector<std::string> AsyncSaver::last_checkpoints() {
  impl_->worker.WaitIdle();
  return impl_->writer->last_checkpoints();
}

std::vector<std::pair<std::string, double>> AsyncSaver::last_checkpoints_with_time() {
  impl_->worker.WaitIdle();
  return impl_->writer->last_checkpoints_with_time();
}

void AsyncSaver::SetLastCheckpointsWithTime(
    std::vector<std::pair<std::string, double>> checkpoints) {
  impl_->worker.WaitIdle();
  impl_->writer->SetLastCheckpointsWithTime(std::move(checkpoints));
}

Status AsyncSaver::RecoverLastCheckpoints(const std::vector<std::string>& paths) {
  impl_->worker.WaitIdle();
  return impl_->writer->RecoverLastCheckpoints(paths);
}

size_t AsyncSaver::snapshot_bytes() const { return impl_->snapshot->bytes(); }

}  // namespace ckpt
