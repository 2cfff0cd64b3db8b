// A Communicator over MPI (Open MPI here; any MPI 3 library), for
// distributed checkpoints (ckpt/distributed.h). Built and installed when CMake
// finds MPI: link ckpt::mpi.
//
// The communicator works on its own duplicate of the caller's (MPI_Comm_dup),
// so ckpt's messages never mix with the application's. Its collectives are
// non-blocking point-to-point messages polled against a deadline (MPI's own
// collectives cannot time out): a rank that died, hangs or is busy elsewhere
// makes the others return DeadlineExceeded naming it within `timeout`,
// never a hang. After that the communicator is broken (Aborted); the job
// goes on over a new one, and should keep the broken one until every rank
// has moved on (docs/distributed.md, "Not done yet").
//
// A Broadcast travels down a binomial tree (log2(size) rounds; the root
// sends to log2(size) ranks): a rank waiting for it names the root and, if
// another rank relays it, that rank.
//
// Thread safety: one thread at a time per communicator; MPI must have been
// initialized (MPI_Init_thread) with at least MPI_THREAD_SERIALIZED if several
// threads use MPI in turn, and with MPI_THREAD_MULTIPLE if they use it at
// the same time (two communicators on two threads, as AsyncDistributedSaver
// does: concurrent_with_other_communicators() says which).
#ifndef CKPT_MPI_COMMUNICATOR_H_
#define CKPT_MPI_COMMUNICATOR_H_

#include <mpi.h>

#include <chrono>
#include <memory>

#include "ckpt/communicator.h"
#include "ckpt/status.h"

namespace ckpt {

struct MpiCommunicatorOptions {
  // How long a collective waits for the other ranks. REQUIRES: > 0.
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

// Duplicates `comm` (collective over it, as MPI_Comm_dup; blocking). The
// duplicate is freed when the communicator is destroyed (before
// MPI_Finalize). FailedPrecondition if MPI is not initialized.
Result<std::unique_ptr<Communicator>> NewMpiCommunicator(MPI_Comm comm,
                                                         MpiCommunicatorOptions options = {});

}  // namespace ckpt

#endif  // CKPT_MPI_COMMUNICATOR_H_
