// What the MPI test tools (mpi_failure_tool.cc, mpi_async_tool.cc) share:
// checks that record a failure and go on, a communicator over
// MPI_COMM_WORLD, a fresh directory, and the exit code every rank agrees on.
#ifndef CKPT_TESTS_MPI_MPI_TOOL_H_
#define CKPT_TESTS_MPI_MPI_TOOL_H_

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "ckpt/communicator.h"
#include "ckpt/mpi_communicator.h"
#include "ckpt/status.h"

namespace ckpt {

inline int g_rank = 0;
inline bool g_failed = false;

#define CHECK_TRUE(cond, what)                                                             \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "[rank %d] %s:%d: check failed: %s: %s\n", ::ckpt::g_rank,      \
                   __FILE__, __LINE__, #cond, std::string(what).c_str());                  \
      std::fflush(stderr);                                                                 \
      ::ckpt::g_failed = true;                                                             \
    }                                                                                      \
  } while (0)

#define CHECK_OK(status_expr)                                                              \
  do {                                                                                     \
    const ::ckpt::Status _s = (status_expr);                                               \
    CHECK_TRUE(_s.ok(), _s.ToString());                                                    \
  } while (0)

// A communicator over MPI_COMM_WORLD (collective); null after a failed check.
inline std::unique_ptr<Communicator> MakeComm(std::chrono::milliseconds timeout) {
  MpiCommunicatorOptions options;
  options.timeout = timeout;
  Result<std::unique_ptr<Communicator>> comm = NewMpiCommunicator(MPI_COMM_WORLD, options);
  CHECK_TRUE(comm.ok(), comm.status().ToString());
  return comm.ok() ? std::move(*comm) : nullptr;
}

// Rank 0 empties `dir` (the test's own); every rank waits for it.
inline bool FreshDir(Communicator& comm, const std::string& dir) {
  if (comm.rank() == 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir, ec);
    CHECK_TRUE(!ec, "creating " + dir + ": " + ec.message());
  }
  const Status s = comm.Barrier();
  CHECK_OK(s);
  return s.ok();
}

// The exit code of every rank: 1 if a check failed (or `rc` != 0) on any
// rank. Finalizes MPI.
inline int FinishTool(int rc, const char* tool) {
  const int failed = rc != 0 || g_failed ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (g_rank == 0 && any_failed && !failed) {
    std::fprintf(stderr, "%s: a check failed on another rank (see [rank N] lines)\n", tool);
  }
  MPI_Finalize();
  return any_failed ? 1 : 0;
}

}  // namespace ckpt

#endif  // CKPT_TESTS_MPI_MPI_TOOL_H_
