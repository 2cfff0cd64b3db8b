// AsyncDistributedSaver (ckpt/distributed.h): AsyncSaver's snapshot on the
// caller's thread, DistributedSaver's collective save on a background thread
// over a communicator nothing else uses.
//
// Life of a save, on every rank:
//   1. Save() waits until the background thread is idle and returns the
//      previous save's outcome if it failed (every rank has the same one, so
//      every rank skips the save alike).
//   2. This rank's variables are copied into the snapshot (saver/snapshot.h);
//      the save_path's checks and the copy's dtype/shape check may fail here.
//   3. The job (with that error, if any) goes to the background thread, which
//      runs DistributedSaver::Save over the snapshot: the collectives meet
//      the other ranks' background threads, and a rank's early error reaches
//      them in the first one. Save() does not wait for it.
//   4. The outcome is kept until Wait() or the next Save() reports it.
// Restores run on the caller's thread, through a DistributedSaver over the
// caller's own variables, while the background thread is idle.
#include <optional>

#include "ckpt/distributed.h"
#include "ckpt/env.h"
#include "ckpt/logging.h"
#include "saver/background.h"
#include "saver/snapshot.h"

namespace ckpt {

struct AsyncDistributedSaver::Impl {
  Communicator* comm = nullptr;
  AsyncSaverOptions options;
  std::unique_ptr<saver_internal::Snapshot> snapshot;  // of the caller's vars
  std::unique_ptr<DistributedSaver> writer;    // over the snapshot; the worker's
  std::unique_ptr<DistributedSaver> restorer;  // over the caller's vars
  // Last: stopped (a queued save run) before the rest goes.
  saver_internal::BackgroundSaves worker;

  // The worker's job. `local`: this rank's error found in Save() (OK: none).
  Status Persist(const std::string& save_path, const SaveArgs& args, const Status& local) {
    // The chief writes the bookkeeping: it alone takes the process-wide lock
    // that keeps this process's other savers out of the directory (on other
    // ranks it would only serialise ranks that share a process).
    std::optional<CheckpointDirectoryLock> dir_lock;
    if (comm->rank() == 0) dir_lock.emplace(options.saver.env, std::string(Dirname(save_path)));
    return writer->Save(save_path, args, local).status();
  }
};

AsyncDistributedSaver::AsyncDistributedSaver(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

AsyncDistributedSaver::~AsyncDistributedSaver() {
  const Status error = impl_->worker.Stop();
  if (!error.ok()) {
    LogWarning("AsyncDistributedSaver destroyed with an unreported error of its last save: " +
               error.ToString());
  }
}

Result<std::unique_ptr<AsyncDistributedSaver>> AsyncDistributedSaver::Create(
    Communicator* comm, VarList var_list, AsyncSaverOptions options) {
  if (comm == nullptr) return InvalidArgumentError("AsyncDistributedSaver: null communicator");
  // Local checks first; every rank learns them in the restorer's Create.
  Status local;
  if (options.copy_threads < 1) {
    local = InvalidArgumentError("AsyncSaverOptions.copy_threads must be >= 1, got " +
                                 std::to_string(options.copy_threads));
  } else if (!comm->concurrent_with_other_communicators()) {
    local = FailedPreconditionError(
        "AsyncDistributedSaver: its communicator cannot be used while other threads use other "
        "communicators (Communicator::concurrent_with_other_communicators() is false), and its "
        "background thread saves while training goes on; for MPI, initialize MPI with "
        "MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...) and check that it provides that level");
  }
  auto impl = std::make_unique<Impl>();
  impl->comm = comm;
  // The restorer validates the list as DistributedSaver does.
  CKPT_ASSIGN_OR_RETURN(impl->restorer,
                        DistributedSaver::Create(comm, var_list, options.saver, local));
  Result<std::unique_ptr<saver_internal::Snapshot>> snapshot =
      saver_internal::Snapshot::Create(std::move(var_list));
  VarList snapshot_vars;
  if (snapshot.ok()) {
    impl->snapshot = std::move(*snapshot);
    snapshot_vars = impl->snapshot->vars();
  }
  CKPT_ASSIGN_OR_RETURN(impl->writer, DistributedSaver::Create(comm, std::move(snapshot_vars),
                                                               options.saver, snapshot.status()));
  impl->options = std::move(options);
  return std::unique_ptr<AsyncDistributedSaver>(new AsyncDistributedSaver(std::move(impl)));
}

Result<std::string> AsyncDistributedSaver::Save(const std::string& save_path,
                                                const SaveArgs& args) {
  Impl& im = *impl_;
  CKPT_RETURN_IF_ERROR(Wait());
  Result<std::string> prefix = CheckpointPrefixForSave(save_path, args, im.options.saver);
  Status local = prefix.status();
  if (local.ok()) local = im.snapshot->Take(im.options.copy_threads, "AsyncDistributedSaver::Save");
  im.worker.Start([&im, save_path, args, local] { return im.Persist(save_path, args, local); });
  if (!local.ok()) return local;
  return prefix;
}

Result<std::string> AsyncDistributedSaver::SaveAndWait(const std::string& save_path,
                                                       const SaveArgs& args) {
  Result<std::string> prefix = Save(save_path, args);
  // OK when Save() started nothing (it reported the previous outcome).
  const Status outcome = Wait();
  if (!prefix.ok()) return prefix.status();
  CKPT_RETURN_IF_ERROR(outcome);
  return prefix;
}

Status AsyncDistributedSaver::Wait() { return impl_->worker.TakeError(); }

Status AsyncDistributedSaver::Restore(const std::string& save_path,
                                      const RestoreOptions& options) {
  impl_->worker.WaitIdle();
  return impl_->restorer->Restore(save_path, options);
}

std::vector<std::string> AsyncDistributedSaver::last_checkpoints() {
  impl_->worker.WaitIdle();
  return impl_->writer->last_checkpoints();
}

size_t AsyncDistributedSaver::snapshot_bytes() const { return impl_->snapshot->bytes(); }

}  // namespace ckpt
