// Distributed checkpoints: the processes of a job (ranks of a Communicator,
// e.g. `mpirun -np N`) save one TensorFlow checkpoint together, each writing
// its own tensors in parallel, and restore it later at any number of ranks.
// The result is an ordinary V2 checkpoint: TensorFlow and every ckpt reader
// read it. How it works and what a crash leaves: docs/distributed.md.
//
// Every function here is collective: every rank of the communicator calls it,
// with the same prefix or path, in the same order as the other collectives.
//
// Thread safety: as the Communicator (one thread at a time), except
// AsyncDistributedSaver, whose background thread has a communicator of its own.
#ifndef CKPT_DISTRIBUTED_H_
#define CKPT_DISTRIBUTED_H_

#include <memory>
#include <string>
#include <vector>

#include "ckpt/async_saver.h"
#include "ckpt/communicator.h"
#include "ckpt/env.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"

namespace ckpt {

struct DistributedSaveOptions {
  // Not owned. REQUIRES: non-null, and the same file system on every rank.
  Env* env = Env::Posix();
  // fsync data files, the index and the directory before the commit.
  bool sync = true;
  // Data files through direct IO (BundleWriterOptions::direct_io).
  bool direct_io = true;
};

// Saves the union of every rank's `vars` as one bundle at `prefix`:
//   - Rank r of N writes P.data-<r>-of-<N> holding the tensors it owns; rank 0
//     writes P.index from every rank's index entries (only metadata moves
//     between ranks). A rank that owns nothing writes an empty data file.
//   - A tensor several ranks hold (a replicated variable, or the same slice
//     of a partitioned one) is written once, by one owner: taking the
//     tensors in name order, the holder with the fewest bytes assigned so
//     far, the lowest rank on a tie. Every rank computes the same owners.
//   - Distinct slices of one partitioned variable (SaveableTensor::full_shape)
//     held by different ranks become one entry with all the slices, as
//     TensorFlow's partitioned variables are stored.
//   - Commit: rank 0 first removes an existing P.index (a re-save); the data
//     files are written under temporary names and renamed; the index is
//     written last, to a temporary name, synced and renamed to P.index, the
//     commit point. Before it there is no checkpoint at P.
// Every rank returns the same outcome. Errors: InvalidArgument (before
// anything is written) when the prefixes differ between ranks, when a rank's
// vars are invalid (as Saver::Create checks them), or when ranks disagree on
// a variable (dtype, full shape, whole on one rank and sliced on another);
// every rank that fails returns its own error, and the others Aborted
// naming the first failing rank; DeadlineExceeded / Aborted from the
// communicator. After any error no index is left at P and no rank's data
// file of this save is left.
Status DistributedSave(Communicator& comm, const std::string& prefix, const VarList& vars,
                       const DistributedSaveOptions& options = {});

// TF1's Saver over many ranks: every rank has its own variables (whole, or
// its slices of partitioned ones); Save writes them as one checkpoint with
// DistributedSave, and rank 0 (the chief) does the Saver's bookkeeping: the
// directory's WriterLock (held for the job: no other job writes there),
// leftovers, the .meta, the state file and retention (ckpt/saver.h). The
// other ranks touch nothing but their own data files.
class DistributedSaver {
 public:
  // `comm` is not owned and must outlive the saver. `options` as for Saver
  // (sharded is ignored: every rank writes one shard). Collective.
  static Result<std::unique_ptr<DistributedSaver>> Create(Communicator* comm, VarList var_list,
                                                          SaverOptions options = {});
  ~DistributedSaver();

  // Collective. Returns the prefix written (as Saver::Save), on every rank.
  // If the chief fails before the tensors are written (lock, leftovers, bad
  // arguments), every rank returns that error.
  Result<std::string> Save(const std::string& save_path, const SaveArgs& args = {});

  // Collective. Every rank restores its own variables (a slice is read from
  // whatever slices or whole tensor the checkpoint stores, so the
  // checkpoint may come from any number of ranks and any partitioning).
  // The index of a V2 checkpoint is read once, by rank 0, and broadcast:
  // the other ranks open only the data files (each rank still verifies the
  // index's checksums). When rank 0 cannot read it (or for a V1
  // checkpoint) every rank opens the checkpoint itself, as Saver::Restore.
  // Every rank checks and reads before any changes a variable; if one rank
  // cannot restore, no rank changes anything: each failing rank returns its
  // own error (Saver::Restore's, in TF's wording), the others Aborted naming
  // the first failing rank.
  Status Restore(const std::string& save_path, const RestoreOptions& options = {});

  // The chief's list (empty on other ranks).
  std::vector<std::string> last_checkpoints() const;

 private:
  friend class AsyncDistributedSaver;
  struct Impl;
  explicit DistributedSaver(std::unique_ptr<Impl> impl);
  // Create and Save with this rank's error so far (OK: none): a rank that
  // fails before the collective still takes part in it, so that every rank
  // returns at once (the failing rank its error, the others Aborted).
  static Result<std::unique_ptr<DistributedSaver>> Create(Communicator* comm, VarList var_list,
                                                          SaverOptions options, Status local);
  Result<std::string> Save(const std::string& save_path, const SaveArgs& args, Status local);
  std::unique_ptr<Impl> impl_;
};

// AsyncSaver (ckpt/async_saver.h) over many ranks: Save() blocks the caller
// only to copy ("snapshot") this rank's variables into buffers the saver
// owns; a background thread then runs DistributedSaver::Save over the
// snapshot, collectively with the other ranks' background threads.
//
// The rule that keeps this free of deadlocks (docs/distributed.md,
// "Asynchronous saves"):
//   - `comm` is the saver's own: nothing else uses it (with MPI, a second
//     NewMpiCommunicator, which duplicates the MPI_Comm, so its messages
//     never match the application's). Create and Restore use it on the
//     caller's thread while no save is in flight, the background thread
//     during saves; Save() calls no collective on the caller's thread.
//   - Every rank issues the same saves in the same order (as any
//     collective), so the background threads meet in the same collectives
//     whatever the training threads do meanwhile on their communicators.
//   - Two threads then call the transport at once: `comm` must allow it
//     (Communicator::concurrent_with_other_communicators(); for MPI,
//     MPI_Init_thread with MPI_THREAD_MULTIPLE), or Create fails.
//   - A save that cannot complete (a rank died, hangs, or skipped the save)
//     ends at the communicator's deadline with DeadlineExceeded, from Wait()
//     or the next Save() (which waits for the previous save: at most one
//     snapshot is in flight). The communicator is then broken (every later
//     save returns Aborted): make a new saver over a new communicator. Its
//     timeout must cover how far the ranks drift apart between their calls
//     of the same Save() plus the save itself.
//
// Every save's outcome is DistributedSaver::Save's, the same on every rank
// (each failing rank its own error, the others Aborted naming it), and is
// reported once, by Wait() or by the next Save() -- which then starts
// nothing, on every rank alike.
//
// Thread safety: one thread at a time (its background thread is internal).
class AsyncDistributedSaver {
 public:
  // Collective over `comm` (not owned; it must outlive the saver). `options`
  // as for AsyncSaver (`saver` as for DistributedSaver). Allocates the
  // snapshot buffers (as much memory as this rank's variables). Errors,
  // agreed by every rank (a failing rank its own, the others Aborted naming
  // it): FailedPrecondition if
  // `comm->concurrent_with_other_communicators()` is false; InvalidArgument
  // for what DistributedSaver::Create rejects and copy_threads < 1.
  static Result<std::unique_ptr<AsyncDistributedSaver>> Create(Communicator* comm,
                                                               VarList var_list,
                                                               AsyncSaverOptions options = {});
  // Waits for an in-flight save (at most the communicator's deadline) and
  // logs its error if nobody collected it.
  ~AsyncDistributedSaver();

  AsyncDistributedSaver(const AsyncDistributedSaver&) = delete;
  AsyncDistributedSaver& operator=(const AsyncDistributedSaver&) = delete;

  // Every rank, in the same order. Waits for the previous save; if it
  // failed, returns its error and starts nothing. Otherwise snapshots this
  // rank's variables, hands the save to the background thread, and returns
  // the prefix that will be written (save_path + "-<global_step>"); the
  // caller may change its variables at once. A save that fails here (its
  // arguments, or a variable whose dtype or shape changed) returns the error
  // at once and still runs the collective with it, so the other ranks' saves
  // fail at once too; that error is then also the save's outcome.
  Result<std::string> Save(const std::string& save_path, const SaveArgs& args = {});

  // Save() then Wait(): this save's outcome.
  Result<std::string> SaveAndWait(const std::string& save_path, const SaveArgs& args = {});

  // Waits until no save is in flight; returns the outcome of the last save
  // not yet reported (OK if none) and clears it.
  Status Wait();

  // Collective, on the caller's thread: waits for an in-flight save (its
  // outcome stays pending), then restores the caller's variables as
  // DistributedSaver::Restore does. The snapshot is not involved.
  Status Restore(const std::string& save_path, const RestoreOptions& options = {});

  // The chief's list (empty on other ranks), after waiting for an in-flight save.
  std::vector<std::string> last_checkpoints();

  // Bytes of this rank's snapshot buffers (fixed-size dtypes; strings not counted).
  size_t snapshot_bytes() const;

 private:
  struct Impl;
  explicit AsyncDistributedSaver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_DISTRIBUTED_H_
