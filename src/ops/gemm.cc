// GemmF32's dispatch: the widest copy of gemm_simd.cc this CPU runs; a large
// product (>= kParallelMacs multiply-adds, a not transposed) is split by rows
// of c over up to hardware_concurrency() threads, the caller's included.
#include "ops/gemm.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace ckpt::ops {
namespace gemm_internal {
using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*);
void GemmGeneric(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*);
#if CKPT_GEMM_X86
void GemmAvx2(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*);
void GemmAvx512(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*);
#endif
}  // namespace gemm_internal

namespace {

struct Choice {
  gemm_internal::GemmFn fn;
  const char* isa;
};

Choice Choose() {
#if CKPT_GEMM_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("fma")) {
    return {gemm_internal::GemmAvx512, "avx512"};
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return {gemm_internal::GemmAvx2, "avx2"};
  }
#endif
  return {gemm_internal::GemmGeneric, "generic"};
}

const Choice& Chosen() {
  static const Choice choice = Choose();
  return choice;
}

// ParallelFor's threads: workers wait for a new generation, take parts by an
// atomic counter, and report when they are through with the generation; the
// caller waits for every worker's report, so no worker still reads the job
// when ParallelFor returns.
class WorkerPool {
 public:
  static WorkerPool& Get() {
    static WorkerPool* pool = new WorkerPool;  // never destroyed (threads wait)
    return *pool;
  }

  int64_t threads() const { return static_cast<int64_t>(workers_) + 1; }

  void Run(int64_t parts, const std::function<void(int64_t)>& fn) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (workers_ == 0 || in_worker_ || !busy.owns_lock() || parts <= 1) {
      for (int64_t p = 0; p < parts; ++p) fn(p);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &fn;
      parts_ = parts;
      next_.store(1, std::memory_order_relaxed);  // part 0 is the caller's
      reported_ = 0;
      ++generation_;
    }
    work_cv_.notify_all();
    fn(0);
    for (int64_t p; (p = next_.fetch_add(1)) < parts;) fn(p);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return reported_ == workers_; });
    job_ = nullptr;
  }

 private:
  WorkerPool() {
    const unsigned cores = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    for (unsigned i = 1; i < cores; ++i) {
      try {
        std::thread(&WorkerPool::Loop, this).detach();
        ++workers_;
      } catch (const std::system_error&) {
        break;  // fewer threads; Run still waits only for those started
      }
    }
  }

  void Loop() {
    in_worker_ = true;
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t)>* job;
      int64_t parts;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
        parts = parts_;
      }
      for (int64_t p; (p = next_.fetch_add(1)) < parts;) (*job)(p);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++reported_;
      }
      done_cv_.notify_one();
    }
  }

  static thread_local bool in_worker_;
  unsigned workers_ = 0;
  std::mutex busy_;  // one caller at a time
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  uint64_t generation_ = 0;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t parts_ = 0;
  std::atomic<int64_t> next_{0};
  unsigned reported_ = 0;
};

thread_local bool WorkerPool::in_worker_ = false;

// Below this many multiply-adds (about 0.1 ms on one core) starting a thread
// costs more than it saves.
constexpr int64_t kParallelMacs = int64_t{1} << 22;
// Rows per thread at least, so that each part keeps Eigen's blocking efficient.
constexpr int64_t kMinRowsPerThread = 64;

int64_t Threads(int64_t m, int64_t n, int64_t k) {
  static const int64_t cores = ParallelThreads();
  if (cores == 1 || m * n * k < kParallelMacs) return 1;
  return std::clamp<int64_t>(m / kMinRowsPerThread, 1, cores);
}

}  // namespace

void GemmF32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
             float* c) {
  const gemm_internal::GemmFn fn = Chosen().fn;
  const int64_t threads = ta ? 1 : Threads(m, n, k);
  if (threads == 1) {
    fn(ta, tb, m, n, k, a, b, c);
    return;
  }
  // Rows [begin, end) of c from the same rows of a (row-major, not transposed).
  auto part = [&](int64_t t) {
    const int64_t begin = m * t / threads, end = m * (t + 1) / threads;
    fn(false, tb, end - begin, n, k, a + begin * k, b, c + begin * n);
  };
  ParallelFor(threads, part);
}

void ParallelFor(int64_t parts, const std::function<void(int64_t)>& fn) {
  WorkerPool::Get().Run(parts, fn);
}

int64_t ParallelThreads() { return WorkerPool::Get().threads(); }

void GemmF32Serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                   const float* b, float* c) {
  Chosen().fn(ta, tb, m, n, k, a, b, c);
}

const char* GemmF32Isa() { return Chosen().isa; }

}  // namespace ckpt::ops
