// Data-parallel training over the ranks of a Communicator
// (EstimatorOptions::communicator; docs/distributed.md "Data-parallel
// training"): each rank's share of the input, the gradient exchange, the
// agreed restore and, with EstimatorOptions::partition, the partitioned
// variables and the collective checkpoint saves.
//
// The partitioned mode's saves. The chief's CheckpointSaverHook decides when
// to save (its timer may be time-based, so only one rank may decide); a save
// is collective (every rank writes its row blocks into its own data shard,
// DistributedSave). So the chief tells the others at each point where a save
// can happen -- AfterCreateSession, every AfterRun, End -- with one Broadcast
// per save ("save", prefix) and one at the end of the point ("go"), sent by
// its last hook (MakeLeaderHook); the others' last hook (MakeFollowerHook)
// joins each save it is told of until it hears "go". The chief's Saver keeps
// the bookkeeping (.meta, state file, retention) and writes through
// LeaderBundleWriter.
#ifndef CKPT_SRC_ESTIMATOR_DATA_PARALLEL_H_
#define CKPT_SRC_ESTIMATOR_DATA_PARALLEL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/communicator.h"
#include "ckpt/distributed.h"
#include "ckpt/estimator_input.h"
#include "ckpt/hooks.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::estimator_internal {

// Rows [b*rank/size, b*(rank+1)/size) of every batch of b rows of `input`; a
// batch of fewer rows than ranks ends the input (with a warning at rank 0).
std::unique_ptr<Iterator<Batch>> ShareOfEveryBatch(std::unique_ptr<Iterator<Batch>> input,
                                                   int rank, int size);

// Replaces every gradient by its sum over the ranks of `comm`, summed in rank
// order in double: the same values on every rank. InvalidArgument for a
// gradient that is not float or double, or ranks with different gradients.
Status SumOverRanks(Communicator& comm, std::vector<std::pair<std::string, Tensor>>* grads);
// The same, divided by the number of ranks: the mean over the ranks.
Status MeanOverRanks(Communicator& comm, std::vector<std::pair<std::string, Tensor>>* values);

// A rank's variables as checkpoints hold them. Every rank computes with whole
// variables (data-parallel: all replicas are equal); in checkpoints a
// partitioned variable is stored as one slice per rank, rows split as
// tf.compat.v1.fixed_size_partitioner(size) splits them (the first
// rows % size ranks get one row more), each rank saving and restoring only
// its own block.
class PartitionedVariables {
 public:
  // `vars`: the model's variables, the same list on every rank. With
  // `min_bytes`, each variable of a fixed-size dtype, at least `min_bytes`
  // bytes and at least `size` rows (dim 0) is partitioned; without, none is.
  static Result<std::unique_ptr<PartitionedVariables>> Create(const VarList& vars, int rank,
                                                              int size,
                                                              std::optional<int64_t> min_bytes);

  // What this rank saves and restores: the whole variables (the model's
  // tensors) and its block of each partitioned one (buffers owned here).
  const VarList& checkpoint_vars() const { return checkpoint_vars_; }

  // Copies this rank's rows of the model's tensors into its blocks (before
  // a save).
  void CopyBlocksOut();
  // After every rank restored its blocks: gathers every rank's blocks and
  // writes them into the model's tensors, so every rank again holds the
  // whole variables. Collective.
  Status AssembleAfterRestore(Communicator& comm);

 private:
  struct Part {
    Tensor* whole = nullptr;  // the model's
    Tensor block;             // this rank's rows
    int64_t rows = 0;         // of the whole variable
    size_t row_bytes = 0;
  };
  PartitionedVariables(int rank, int size) : rank_(rank), size_(size) {}
  // First row and row count of `rank`'s block of a variable of `rows` rows.
  std::pair<int64_t, int64_t> Block(int64_t rows, int rank) const;

  const int rank_, size_;
  std::vector<Part> parts_;  // never resized after Create (checkpoint_vars_ points into it)
  VarList checkpoint_vars_;
};

// Restores `checkpoint` into `vars` on every rank of `comm`, through a
// DistributedSaver (nobody changes anything unless every rank can), then
// assembles the partitioned variables. A DataLoss on any rank (corrupt
// data) is returned as DataLoss by every rank, so that every rank takes the
// same fallback. Collective.
Status RestoreOnEveryRank(Communicator& comm, PartitionedVariables& vars, Env* env,
                          const std::string& checkpoint);

// The chief's SaverOptions::bundle_writer in the partitioned mode: tells the
// other ranks to join, then saves collectively.
std::function<Status(const std::string&, const VarList&)> LeaderBundleWriter(
    Communicator* comm, PartitionedVariables* vars, DistributedSaveOptions options);

// The chief's last hook in the partitioned mode ("go" after each point
// where a save can happen).
std::shared_ptr<SessionRunHook> MakeLeaderHook(Communicator* comm);

// The other ranks' last hook in the partitioned mode: joins the chief's saves.
std::shared_ptr<SessionRunHook> MakeFollowerHook(Communicator* comm, PartitionedVariables* vars,
                                                 DistributedSaveOptions options);

}  // namespace ckpt::estimator_internal

#endif  // CKPT_SRC_ESTIMATOR_DATA_PARALLEL_H_
