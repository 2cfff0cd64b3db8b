// Communicator: the few collectives a distributed save or restore needs
// (ckpt/distributed.h), over any transport. ckpt ships two: one process
// (NewLocalCommunicator, here) and Open MPI (ckpt/mpi_communicator.h, built
// when MPI is found). Saves and restores send only metadata through it
// (names, shapes, index entries, outcomes), never tensor data; data-parallel
// training also sends its gradients, and partitioned variables' restored
// slices (ckpt/estimator.h).
//
// Every rank of the group calls the same collectives in the same order. A
// collective that cannot complete in time (a rank died, hangs, or calls
// something else) returns DeadlineExceeded naming the ranks it waited for;
// after such an error the communicator is broken and every later call
// returns Aborted.
//
// Thread safety: one thread at a time per communicator; several
// communicators at once only if concurrent_with_other_communicators().
#ifndef CKPT_COMMUNICATOR_H_
#define CKPT_COMMUNICATOR_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/status.h"

namespace ckpt {

class Communicator {
 public:
  virtual ~Communicator() = default;

  // This process's rank in [0, size()).
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Every rank's `mine`, in rank order, at `root`; other ranks get an empty
  // vector. REQUIRES: 0 <= root < size().
  virtual Result<std::vector<std::string>> Gather(std::string_view mine, int root) = 0;

  // `root`'s `value` at every rank (other ranks' `value` is ignored).
  virtual Result<std::string> Broadcast(std::string_view value, int root) = 0;

  // Every rank's `mine`, in rank order, at every rank.
  Result<std::vector<std::string>> AllGather(std::string_view mine);

  // Returns when every rank has called it (an AllGather of nothing).
  Status Barrier();

  // Whether one thread may call this communicator while other threads of
  // the process call other communicators at the same time (each still used
  // by one thread at a time). AsyncDistributedSaver (ckpt/distributed.h)
  // needs it: its background thread saves over its own communicator while
  // training uses another. NewLocalCommunicator's: true; MPI's: only when
  // MPI runs at MPI_THREAD_MULTIPLE. The default is false: a transport that
  // has not said otherwise is assumed not to allow it.
  virtual bool concurrent_with_other_communicators() const { return false; }
};

// A group of one: rank 0 of 1 (what single-process code passes).
std::unique_ptr<Communicator> NewLocalCommunicator();

}  // namespace ckpt

#endif  // CKPT_COMMUNICATOR_H_
