// Float GEMM for MatMul and Conv2D, on the best instruction set the CPU has.
//
// Eigen picks its SIMD width when compiled (SSE2 for a portable build), so the
// same Eigen GEMM is also compiled in gemm_simd.cc with AVX2+FMA and with
// AVX-512 flags, each copy inside its own namespace (the name `Eigen` is
// renamed there, so no inline function is shared between the copies), and
// GemmF32 calls the widest one the running CPU supports (checked once).
//
// Thread safety: thread-compatible (pure function of its arguments).
#ifndef CKPT_SRC_OPS_GEMM_H_
#define CKPT_SRC_OPS_GEMM_H_

#include <cstdint>
#include <functional>

namespace ckpt::ops {

// c[m,n] = op(a) * op(b), row-major, op(x) = x or x^T (ta/tb). a is [m,k]
// ([k,m] if ta), b is [k,n] ([n,k] if tb); c must not alias a or b.
void GemmF32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
             float* c);

// The same on the calling thread only (for callers that split the work).
void GemmF32Serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                   const float* b, float* c);

// Runs fn(0), ..., fn(parts - 1), each once, and returns when all are done:
// part 0 on the caller, the others on a process-wide pool of
// hardware_concurrency() - 1 persistent threads (started on first use). When
// the pool is serving another caller, is called from one of its own threads,
// or could not start its threads, every part runs on the caller in order.
// A part that throws does not end the process: once every started part has
// ended, ParallelFor rethrows the first exception on the caller (parts not yet
// claimed may still run). Thread-safe.
void ParallelFor(int64_t parts, const std::function<void(int64_t)>& fn);

// The number of threads ParallelFor can use (the caller's included), >= 1.
int64_t ParallelThreads();

// What GemmF32 runs its large products on: "onednn" when built in (onednn.h),
// else the instruction set of its Eigen copy on this CPU: "avx512", "avx2"
// or "generic".
const char* GemmF32Isa();

}  // namespace ckpt::ops

#endif  // CKPT_SRC_OPS_GEMM_H_
