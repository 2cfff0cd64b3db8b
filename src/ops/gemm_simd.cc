// One copy of the float GEMM, compiled once per instruction set (see gemm.h
// and CMakeLists.txt): CKPT_GEMM_NAME is the function's name, and `Eigen` is
// renamed to a namespace of its own, so this copy's Eigen code cannot replace
// another copy's at link time. Uses no heap containers of its own. Without
// the macros (ckpt_ops' own copy) it is GemmGeneric.
#ifndef CKPT_GEMM_NAME
#define CKPT_GEMM_NAME GemmGeneric
#define CKPT_GEMM_EIGEN_NS ckpt_eigen_generic
#endif
#define Eigen CKPT_GEMM_EIGEN_NS
#include <Eigen/Core>
#include <cstdint>

namespace ckpt::ops::gemm_internal {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void CKPT_GEMM_NAME(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                    const float* b, float* c) {
  Eigen::Map<const RowMajor> ma(a, ta ? k : m, ta ? m : k);
  Eigen::Map<const RowMajor> mb(b, tb ? n : k, tb ? k : n);
  Eigen::Map<RowMajor> mc(c, m, n);
  if (!ta && !tb)
    mc.noalias() = ma * mb;
  else if (ta && !tb)
    mc.noalias() = ma.transpose() * mb;
  else if (!ta && tb)
    mc.noalias() = ma * mb.transpose();
  else
    mc.noalias() = ma.transpose() * mb.transpose();
}

}  // namespace ckpt::ops::gemm_internal
