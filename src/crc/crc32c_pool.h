// Helper threads that compute CRC-32C while the calling thread does IO.
//
// A bundle's checksum covers a whole tensor, and for a large tensor the
// checksum pass costs about as much CPU as the copy into or out of the page
// cache. Pool lets that pass run on another core: the caller splits the
// bytes into consecutive pieces, hands each to a Job as soon as it is in
// memory (after a read) or before it is written, and asks the Job for the
// checksum of the whole. Each piece's CRC is computed on its own, by any
// helper or by the caller, and the results are joined with crc32c::Combine,
// so pieces may finish in any order.
//
// Thread safety: a Pool may be shared by any number of threads, each with its
// own Jobs. A Job is used by one thread at a time. A Pool must outlive its
// Jobs.
#ifndef CKPT_SRC_CRC_CRC32C_POOL_H_
#define CKPT_SRC_CRC_CRC32C_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ckpt::crc32c {

class Job;

class Pool {
 public:
  // Starts up to `threads` helper threads (fewer if the system refuses to
  // create them; threads() says how many run). A pool without threads is
  // valid: its jobs compute every piece in the calling thread.
  explicit Pool(int threads);
  // Stops the helpers. REQUIRES: every Job using this pool is destroyed.
  ~Pool();

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  friend class Job;
  struct Task {
    Job* job;
    void* piece;  // Job::Piece*
  };
  void Post(Task task);
  // Removes the oldest queued task of `job`, if any is still queued.
  bool TakeNext(const Job* job, Task* task);
  // Removes the task for `piece` if it is still queued.
  bool Take(const void* piece);
  // Removes every queued task of `job`; returns how many.
  size_t Cancel(const Job* job);
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// The CRC-32C of one byte sequence given as consecutive pieces.
class Job {
 public:
  // `pool` may be null (or have no threads): Add then computes in the
  // calling thread, so the result is the same either way.
  explicit Job(Pool* pool);
  // Drops queued pieces and waits for those a helper is computing: they
  // read the caller's memory.
  ~Job();

  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // Queues the next `n` bytes at `data` for a helper thread.
  // REQUIRES: the bytes stay valid and unchanged until Finish() returns or
  // the job is destroyed.
  void Add(const char* data, size_t n);
  // Queues work that produces the next piece (e.g. reads it into memory)
  // and returns its CRC-32C; `n` is the piece's length. The work runs on a
  // helper or, from Finish or RunIfQueued, in the calling thread.
  // REQUIRES: what `work` uses outlives Finish() or the job.
  void AddWork(size_t n, std::function<uint32_t()> work);
  // Computes the next piece in the calling thread before returning.
  void AddHere(const char* data, size_t n);
  // Runs piece `index` (0-based, in Add order) in the calling thread now if
  // no helper has started it; returns whether it did. Lets a caller
  // checksum a piece it has just touched, while it is in its cache.
  bool RunIfQueued(size_t index);
  // Returns the CRC-32C of the pieces' concatenation (Value() of the whole).
  // Pieces no helper has started yet are computed in the calling thread too
  // (oldest first, like the helpers, so all walk through memory, or a mapped
  // file, in one direction); then it waits for the rest. The job is empty
  // again afterwards.
  uint32_t Finish();

 private:
  friend class Pool;
  struct Piece {
    size_t n;
    uint32_t crc;
    std::function<uint32_t()> work;  // empty once run
  };
  static void Compute(void* piece);
  void Done();  // one queued piece was computed

  Pool* pool_;
  std::deque<Piece> pieces_;  // push_back keeps element addresses stable
  std::mutex mu_;
  std::condition_variable cv_;
  size_t pending_ = 0;  // guarded by mu_
};

}  // namespace ckpt::crc32c

#endif  // CKPT_SRC_CRC_CRC32C_POOL_H_
