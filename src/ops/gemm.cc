// GemmF32's dispatch: the widest copy of gemm_simd.cc this CPU runs; a large
// product (>= kParallelMacs multiply-adds, a not transposed) is split by rows
// of c over up to hardware_concurrency() threads, the caller's included.
#include "ops/gemm.h"

#include <algorithm>
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

// Below this many multiply-adds (about 0.1 ms on one core) starting a thread
// costs more than it saves.
constexpr int64_t kParallelMacs = int64_t{1} << 22;
// Rows per thread at least, so that each part keeps Eigen's blocking efficient.
constexpr int64_t kMinRowsPerThread = 64;

int64_t Threads(int64_t m, int64_t n, int64_t k) {
  static const int64_t cores = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 8);
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
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<size_t>(threads - 1));
  for (int64_t t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(part, t);
    } catch (const std::system_error&) {
      part(t);  // no thread available: this part on the caller
    }
  }
  part(0);
  for (std::thread& h : helpers) h.join();
}

void GemmF32Serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                   const float* b, float* c) {
  Chosen().fn(ta, tb, m, n, k, a, b, c);
}

const char* GemmF32Isa() { return Chosen().isa; }

}  // namespace ckpt::ops
