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
//      them in the first one. Save() has returned by then.
//   4. The outcome is kept until Wait() or the next Save() reports it.
// Restores run on the caller's thread, through a DistributedSaver over the
// caller's own variables, while the background thread is idle.
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "ckpt/distributed.h"
#include "ckpt/env.h"
#include "ckpt/logging.h"
#include "saver/snapshot.h"

namespace ckpt {

struct AsyncDistributedSaver::Impl {
  struct Job {
    std::string save_path;
    SaveArgs args;
    Status local;  // this rank's error found in Save() (OK: none)
  };

  Communicator* comm = nullptr;
  AsyncSaverOptions options;
  std::unique_ptr<saver_internal::Snapshot> snapshot;  // of the caller's vars
  std::unique_ptr<DistributedSaver> writer;    // over the snapshot; the worker's
  std::unique_ptr<DistributedSaver> restorer;  // over the caller's vars

  std::mutex mu;
  std::condition_variable cv;
  std::optional<Job> job;  // handed to the worker
  bool busy = false;       // a job is queued or being saved
  bool stop = false;
  Status outcome;          // of the last save, not yet reported
  std::thread worker;

  void Run();
  Status Persist(const Job& j);
  void WaitIdle();
};

void AsyncDistributedSaver::Impl::Run() {
  for (;;) {
    Job j;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return job.has_value() || stop; });
      if (!job) return;
      j = std::move(*job);
      job.reset();
    }
    Status s = Persist(j);
    {
      std::lock_guard<std::mutex> lock(mu);
      busy = false;
      outcome = s;
    }
    cv.notify_all();
  }
}

Status AsyncDistributedSaver::Impl::Persist(const Job& j) {
  // The chief writes the bookkeeping: it alone takes the process-wide lock
  // that keeps this process's other savers out of the directory (on other
  // ranks it would only serialise ranks that share a process).
  std::optional<CheckpointDirectoryLock> dir_lock;
  if (comm->rank() == 0) dir_lock.emplace(options.saver.env, std::string(Dirname(j.save_path)));
  return writer->Save(j.save_path, j.args, j.local).status();
}

void AsyncDistributedSaver::Impl::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return !busy; });
}

AsyncDistributedSaver::AsyncDistributedSaver(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

AsyncDistributedSaver::~AsyncDistributedSaver() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->worker.join();  // saves a queued job first
  if (!impl_->outcome.ok()) {
    LogWarning("AsyncDistributedSaver destroyed with an unreported error of its last save: " +
               impl_->outcome.ToString());
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
  impl->worker = std::thread([p = impl.get()] { p->Run(); });
  return std::unique_ptr<AsyncDistributedSaver>(new AsyncDistributedSaver(std::move(impl)));
}

Result<std::string> AsyncDistributedSaver::Save(const std::string& save_path,
                                                const SaveArgs& args) {
  Impl& im = *impl_;
  CKPT_RETURN_IF_ERROR(Wait());
  Result<std::string> prefix = CheckpointPrefixForSave(save_path, args, im.options.saver);
  Status local = prefix.status();
  if (local.ok()) local = im.snapshot->Take(im.options.copy_threads, "AsyncDistributedSaver::Save");
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.job = Impl::Job{save_path, args, local};
    im.busy = true;
  }
  im.cv.notify_all();
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

Status AsyncDistributedSaver::Wait() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return !impl_->busy; });
  Status s = impl_->outcome;
  impl_->outcome = Status::OK();
  return s;
}

Status AsyncDistributedSaver::Restore(const std::string& save_path,
                                      const RestoreOptions& options) {
  impl_->WaitIdle();
  return impl_->restorer->Restore(save_path, options);
}

std::vector<std::string> AsyncDistributedSaver::last_checkpoints() {
  impl_->WaitIdle();
  return impl_->writer->last_checkpoints();
}

size_t AsyncDistributedSaver::snapshot_bytes() const { return impl_->snapshot->bytes(); }

}  // namespace ckpt
