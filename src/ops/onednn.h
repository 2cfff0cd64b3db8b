// Float Conv2D, pooling and GEMM on oneDNN (Debian's libdnnl-dev), the library
// TensorFlow's own x86 builds run these ops on. Built in when CMake finds it
// (CKPT_ONEDNN, on by default); without it every function here returns false
// and the kernels use their Eigen paths (conv.cc's im2col, gemm.h).
//
// oneDNN runs its primitives on its own OpenMP threads. Primitives are
// created once per shape and kept in a small process-wide cache; each call
// passes its own scratch memory, so calls from several threads are safe.
//
// Thread safety: thread-safe.
#ifndef CKPT_SRC_OPS_ONEDNN_H_
#define CKPT_SRC_OPS_ONEDNN_H_

#include <cstdint>

namespace ckpt::ops::onednn {

// True when the build has oneDNN (the functions below may then do the work).
bool Built();

// The geometry of an NHWC Conv2D with an [KH,KW,C,OC] filter: input [n,h,w,c],
// output [n,oh,ow,oc]; pads in input pixels before/after each spatial dim,
// dilation as TF counts it (1: none).
struct ConvShape {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 0, kw = 0, oc = 0;
  int64_t oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

// out = conv(x, filter) (+ bias[oc] when bias is not null) (then Relu when
// relu: x < 0 ? 0 : x, NaN stays NaN). Returns false, having written nothing
// the caller relies on, when oneDNN is not built in or declines the problem;
// the caller computes it then. Throws std::bad_alloc when out of memory.
bool Conv2D(const ConvShape& s, const float* x, const float* filter, const float* bias, bool relu,
            float* out);

// MaxPool (max) or AvgPool over NHWC float x, as TF computes them: windows
// s.kh x s.kw (s.c == s.oc, no dilation), padded positions left out (AvgPool
// divides by the real elements in each window). False as for Conv2D.
bool Pool(const ConvShape& s, bool max, const float* x, float* out);

// c[m,n] = op(a) * op(b) as GemmF32 defines it (gemm.h), on the calling
// thread; lda/ldb/ldc are the stored row lengths (0: packed, as GemmF32).
// False when oneDNN is not built in or failed (c is then to be recomputed).
bool Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
           float* c, int64_t lda = 0, int64_t ldb = 0, int64_t ldc = 0);

}  // namespace ckpt::ops::onednn

#endif  // CKPT_SRC_OPS_ONEDNN_H_
