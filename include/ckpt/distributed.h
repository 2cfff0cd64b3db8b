// Distributed checkpoints: the processes of a job (ranks of a Communicator,
// e.g. `mpirun -np N`) save one TensorFlow checkpoint together, each writing
// its own tensors in parallel, and restore it later at any number of ranks.
// The result is an ordinary V2 checkpoint: TensorFlow and every ckpt reader
// read it. How it works and what a crash leaves: docs/distributed.md.
//
// Every function here is collective: every rank of the communicator calls it,
// with the same prefix or path, in the same order as the other collectives.
//
// Thread safety: as the Communicator (one thread at a time).
#ifndef CKPT_DISTRIBUTED_H_
#define CKPT_DISTRIBUTED_H_

#include <memory>
#include <string>

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
  // Every rank checks and reads before any changes a variable; if one rank
  // cannot restore, no rank changes anything: each failing rank returns its
  // own error (Saver::Restore's, in TF's wording), the others Aborted naming
  // the first failing rank.
  Status Restore(const std::string& save_path, const RestoreOptions& options = {});

  // The chief's list (empty on other ranks).
  std::vector<std::string> last_checkpoints() const;

 private:
  struct Impl;
  explicit DistributedSaver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_DISTRIBUTED_H_
