// GemmF32's dispatch: oneDNN's sgemm (one thread per call) for all but small
// products when built in (onednn.h), otherwise the widest copy of
// gemm_simd.cc this CPU runs; a large
// product (>= kParallelMacs multiply-adds, a not transposed) is split by rows
// of c over up to hardware_concurrency() threads, the caller's included; a
// product of few rows with a big b (a dense layer at batch 1) by parts of b.
#include "ops/gemm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "ops/onednn.h"

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

// ParallelFor's threads. Parts are claimed one at a time under the mutex,
// by the caller and by whichever workers wake up in time; the caller waits
// only for parts that were claimed to finish, never for a worker that has
// not run yet (on a busy machine a worker may wake milliseconds late: it then
// finds nothing left to claim, and never sees a finished job).
//
// A worker that finished a job polls for the next one for kSpin before it
// sleeps: waking a sleeping thread takes tens of microseconds on a VM, as
// long as a whole small kernel, and a graph runs its kernels back to back.
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
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &fn;
      parts_ = parts;
      next_ = 0;
      finished_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      wake = sleeping_ > 0;
    }
    if (wake) work_cv_.notify_all();
    Work();
    // The last parts are the workers' and end soon: poll for kSpin before
    // sleeping (being woken costs as much as a small part).
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 1; finished_.load(std::memory_order_acquire) != parts; ++i) {
      if (i % 64 == 0 && std::chrono::steady_clock::now() > until) break;
      std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return finished_.load() == parts_; });
    job_ = nullptr;
    // A part that threw (std::bad_alloc, say): every part has ended, so the
    // caller gets the first exception as if it had run the parts itself.
    if (std::exception_ptr error = std::exchange(error_, nullptr)) {
      lock.unlock();
      std::rethrow_exception(error);
    }
  }

 private:
  static constexpr std::chrono::microseconds kSpin{50};

  WorkerPool() {
    const unsigned cores = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    for (unsigned i = 1; i < cores; ++i) {
      try {
        std::thread(&WorkerPool::Loop, this).detach();
        ++workers_;
      } catch (const std::system_error&) {
        break;  // fewer threads; Run works with any number
      }
    }
  }

  // Claims and runs parts of the current job until none is left.
  void Work() {
    for (;;) {
      const std::function<void(int64_t)>* job;
      int64_t part;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (job_ == nullptr || next_ >= parts_) return;
        job = job_;
        part = next_++;
      }
      std::exception_ptr error;
      try {
        (*job)(part);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (error && !error_) error_ = error;
      if (finished_.fetch_add(1, std::memory_order_release) + 1 == parts_) done_cv_.notify_one();
    }
  }

  void Loop() {
    in_worker_ = true;
    uint64_t seen = 0;
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      for (int i = 1; generation_.load(std::memory_order_acquire) == seen; ++i) {
        if (i % 64 == 0 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(mu_);
          ++sleeping_;
          work_cv_.wait(lock, [&] { return generation_.load() != seen; });
          --sleeping_;
          break;
        }
        std::this_thread::yield();
      }
      seen = generation_.load(std::memory_order_acquire);
      Work();
    }
  }

  static thread_local bool in_worker_;
  unsigned workers_ = 0;
  std::mutex busy_;  // one caller at a time
  std::mutex mu_;    // guards the job fields below
  std::condition_variable work_cv_, done_cv_;
  std::atomic<uint64_t> generation_{0};  // changed under mu_
  unsigned sleeping_ = 0;                // workers waiting on work_cv_
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t parts_ = 0;
  std::exception_ptr error_;          // the first exception a part threw
  int64_t next_ = 0;                  // the next part to claim
  std::atomic<int64_t> finished_{0};  // parts run to the end (changed under mu_)
};

thread_local bool WorkerPool::in_worker_ = false;

// Below this many multiply-adds (about 0.1 ms on one core) starting a thread
// costs more than it saves.
constexpr int64_t kParallelMacs = int64_t{1} << 22;
// From this many multiply-adds a GEMM runs on oneDNN's sgemm when built in
// (faster from here; below, its call overhead is not worth it).
constexpr int64_t kOnednnMacs = int64_t{1} << 16;
// GemmF32's split of b for a product of few rows (FewRowThreads): from
// this size of b, with at least this many columns or rows of b per thread.
constexpr int64_t kSplitBBytes = int64_t{512} << 10;
constexpr int64_t kMinColumnsPerThread = 32;
constexpr int64_t kMinDepthPerThread = 256;
// Rows per thread at least, so that each part keeps Eigen's blocking efficient.
constexpr int64_t kMinRowsPerThread = 64;

int64_t Threads(int64_t m, int64_t n, int64_t k) {
  static const int64_t cores = ParallelThreads();
  if (cores == 1 || m * n * k < kParallelMacs) return 1;
  return std::clamp<int64_t>(m / kMinRowsPerThread, 1, cores);
}

// A product of a few rows (a layer at batch 1) is bound by reading b: when b
// is big (kSplitBBytes) each thread reads, and keeps in its own cache between
// runs, one contiguous part of it. Not transposed, b is split by rows (the
// depth k: each thread computes a partial product, summed after); transposed,
// by rows too, which are the columns of c. oneDNN only (strided operands).
int64_t FewRowThreads(bool tb, int64_t m, int64_t n, int64_t k) {
  static const int64_t cores = ParallelThreads();
  if (cores == 1 || !onednn::Built() || m >= kMinRowsPerThread * 2 ||
      n * k * static_cast<int64_t>(sizeof(float)) < kSplitBBytes) {
    return 1;
  }
  return std::clamp<int64_t>(tb ? n / kMinColumnsPerThread : k / kMinDepthPerThread, 1, cores);
}

// GemmF32 over `parts` threads, each on one part of b (FewRowThreads). False
// when oneDNN failed (c is then rewritten whole by the caller).
bool FewRowsGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                 const float* b, float* c, int64_t parts) {
  std::vector<char> failed(static_cast<size_t>(parts), 0);
  const int64_t lda = ta ? m : k;
  if (tb) {
    ParallelFor(parts, [&](int64_t t) {
      const int64_t begin = n * t / parts, end = n * (t + 1) / parts;
      failed[t] = !onednn::Sgemm(ta, true, m, end - begin, k, a, b + begin * k, c + begin, lda, k, n);
    });
    return std::find(failed.begin(), failed.end(), 1) == failed.end();
  }
  // Part 0 writes c, the others a partial product each; c is their sum.
  std::vector<float> partial(static_cast<size_t>((parts - 1) * m * n));
  ParallelFor(parts, [&](int64_t t) {
    const int64_t begin = k * t / parts, end = k * (t + 1) / parts;
    float* out = t == 0 ? c : partial.data() + (t - 1) * m * n;
    failed[t] = !onednn::Sgemm(ta, false, m, n, end - begin, ta ? a + begin * m : a + begin,
                               b + begin * n, out, lda, n, n);
  });
  if (std::find(failed.begin(), failed.end(), 1) != failed.end()) return false;
  for (int64_t t = 1; t < parts; ++t) {
    const float* p = partial.data() + (t - 1) * m * n;
    for (int64_t i = 0; i < m * n; ++i) c[i] += p[i];
  }
  return true;
}

}  // namespace

void GemmF32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
             float* c) {
  if (const int64_t parts = FewRowThreads(tb, m, n, k);
      parts > 1 && FewRowsGemm(ta, tb, m, n, k, a, b, c, parts)) {
    return;
  }
  const int64_t threads = ta ? 1 : Threads(m, n, k);
  if (threads == 1) {
    GemmF32Serial(ta, tb, m, n, k, a, b, c);
    return;
  }
  // Rows [begin, end) of c from the same rows of a (row-major, not transposed).
  auto part = [&](int64_t t) {
    const int64_t begin = m * t / threads, end = m * (t + 1) / threads;
    GemmF32Serial(false, tb, end - begin, n, k, a + begin * k, b, c + begin * n);
  };
  ParallelFor(threads, part);
}

void ParallelFor(int64_t parts, const std::function<void(int64_t)>& fn) {
  WorkerPool::Get().Run(parts, fn);
}

int64_t ParallelThreads() { return WorkerPool::Get().threads(); }

void GemmF32Serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                   const float* b, float* c) {
  if (m * n * k >= kOnednnMacs && onednn::Sgemm(ta, tb, m, n, k, a, b, c)) return;
  Chosen().fn(ta, tb, m, n, k, a, b, c);
}

const char* GemmF32Isa() { return onednn::Built() ? "onednn" : Chosen().isa; }

}  // namespace ckpt::ops
