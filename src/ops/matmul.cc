// MatMul (transpose_a/transpose_b, Eigen's GEMM over row-major maps; float
// through GemmF32, gemm.h, on the CPU's widest SIMD),
// BatchMatMulV2 (adj_x/adj_y, batch dims broadcast) and
// BiasAdd (NHWC: the bias is added along the last dimension).
#include <Eigen/Core>
#include <type_traits>

#include "ops/gemm.h"
#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::string Dims2(int64_t a, int64_t b) {
  return "[" + std::to_string(a) + "," + std::to_string(b) + "]";
}

}  // namespace

Status MatMul(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& a = ctx->inputs[0];
  const Tensor& b = ctx->inputs[1];
  if (a.shape().rank() != 2 || b.shape().rank() != 2) {
    return InvalidArg(*ctx, "In[0] and In[1] must be matrices: In[0]: " + a.shape().DebugString() +
                                ", In[1]: " + b.shape().DebugString());
  }
  if (a.dtype() != b.dtype()) {
    return InvalidArg(
        *ctx, "MatMul inputs differ in dtype: " + std::string(DataTypeName(a.dtype())) + " vs. " +
                  std::string(DataTypeName(b.dtype())));
  }
  const bool ta = BoolAttr(*ctx, "transpose_a", false);
  const bool tb = BoolAttr(*ctx, "transpose_b", false);
  const int64_t m = a.shape().dim(ta ? 1 : 0), k = a.shape().dim(ta ? 0 : 1);
  const int64_t k2 = b.shape().dim(tb ? 1 : 0), n = b.shape().dim(tb ? 0 : 1);
  if (k != k2) {
    // TF reports the shapes as used, i.e. after the transposes.
    return InvalidArg(
        *ctx, "Matrix size-incompatible: In[0]: " + Dims2(m, k) + ", In[1]: " + Dims2(k2, n));
  }
  return DispatchNumeric(*ctx, a.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    // The products write every element unless the inner dimension is 0.
    const TensorShape out_shape{m, n};
    CKPT_ASSIGN_OR_RETURN(Tensor out, k > 0
                                          ? AllocateOutputUninitialized(*ctx, a.dtype(), out_shape)
                                          : AllocateOutput(*ctx, a.dtype(), out_shape));
    if constexpr (std::is_same_v<T, float>) {
      GemmF32(ta, tb, m, n, k, a.flat<float>(), b.flat<float>(), out.mutable_flat<float>());
      if (EpilogueApplies(*ctx, out.dtype(), n)) {
        ApplyEpilogue(*ctx, out.mutable_flat<float>(), m, n);
        ctx->epilogue_applied = true;
      }
      ctx->outputs = {out};
      return Status::OK();
    }
    Eigen::Map<const RowMajor<T>> ma(a.flat<T>(), a.shape().dim(0), a.shape().dim(1));
    Eigen::Map<const RowMajor<T>> mb(b.flat<T>(), b.shape().dim(0), b.shape().dim(1));
    Eigen::Map<RowMajor<T>> mo(out.mutable_flat<T>(), m, n);
    if (!ta && !tb)
      mo.noalias() = ma * mb;
    else if (ta && !tb)
      mo.noalias() = ma.transpose() * mb;
    else if (!ta && tb)
      mo.noalias() = ma * mb.transpose();
    else
      mo.noalias() = ma.transpose() * mb.transpose();
    ctx->outputs = {out};
    return Status::OK();
  });
}

Status BiasAdd(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  const Tensor& bias = ctx->inputs[1];
  auto it = ctx->node->attr().find("data_format");
  const std::string format = it != ctx->node->attr().end() ? it->second.s() : "";
  if (!format.empty() && format != "NHWC" && format != "NCHW") {
    return NodeError(*ctx, StatusCode::kUnimplemented,
                     "BiasAdd supports data_format NHWC and NCHW, got '" + format + "'");
  }
  if (x.shape().rank() < 2) {
    return InvalidArg(*ctx, "Input tensor must be at least 2D: " + x.shape().DebugString());
  }
  if (bias.shape().rank() != 1) {
    return InvalidArg(*ctx, "Biases must be 1D: " + bias.shape().DebugString());
  }
  // The channel dim: the last (NHWC) or dim 1 (NCHW); `inner` elements follow
  // each channel value in memory.
  const bool nchw = format == "NCHW";
  const int64_t c = x.shape().dim(nchw ? 1 : x.shape().rank() - 1);
  int64_t inner = 1;
  if (nchw) {
    for (int d = 2; d < x.shape().rank(); ++d) inner *= x.shape().dim(d);
  }
  if (bias.shape().dim(0) != c) {
    return InvalidArg(*ctx,
                      "Must provide as many biases as the last dimension of the input "
                      "tensor: " +
                          bias.shape().DebugString() + " vs. " + x.shape().DebugString());
  }
  if (x.dtype() != bias.dtype()) {
    return InvalidArg(
        *ctx, "BiasAdd inputs differ in dtype: " + std::string(DataTypeName(x.dtype())) + " vs. " +
                  std::string(DataTypeName(bias.dtype())));
  }
  return DispatchNumeric(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), x.shape()));
    const T* px = x.flat<T>();
    const T* pb = bias.flat<T>();
    T* po = out.mutable_flat<T>();
    if (nchw) {
      for (int64_t i = 0; i < x.num_elements(); ++i) po[i] = px[i] + pb[(i / inner) % c];
    } else {
      const int64_t rows = c == 0 ? 0 : x.num_elements() / c;
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < c; ++j) po[r * c + j] = px[r * c + j] + pb[j];
      }
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

// BatchMatMulV2(x, y): x [..., m, k] times y [..., k, n] per batch element,
// the batch dims broadcasting as numpy's; adj_x/adj_y transpose (real types:
// the adjoint is the transpose).
Status BatchMatMulV2(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  const Tensor& y = ctx->inputs[1];
  const int rx = x.shape().rank(), ry = y.shape().rank();
  if (rx < 2 || ry < 2) {
    return InvalidArg(*ctx, "In[0] and In[1] must have rank >= 2: " + x.shape().DebugString() +
                                " vs. " + y.shape().DebugString());
  }
  if (x.dtype() != y.dtype()) {
    return InvalidArg(
        *ctx, "BatchMatMulV2 inputs differ in dtype: " + std::string(DataTypeName(x.dtype())) +
                  " vs. " + std::string(DataTypeName(y.dtype())));
  }
  const bool ax = BoolAttr(*ctx, "adj_x", false), ay = BoolAttr(*ctx, "adj_y", false);
  const int64_t xr = x.shape().dim(rx - 2), xc = x.shape().dim(rx - 1);
  const int64_t yr = y.shape().dim(ry - 2), yc = y.shape().dim(ry - 1);
  const int64_t m = ax ? xc : xr, k = ax ? xr : xc, k2 = ay ? yc : yr, n = ay ? yr : yc;
  if (k != k2) {
    return InvalidArg(*ctx, "Matrix size-incompatible: In[0]: " + x.shape().DebugString() +
                                ", In[1]: " + y.shape().DebugString());
  }
  const TensorShape bx(std::vector<int64_t>(x.shape().dims().begin(), x.shape().dims().end() - 2));
  const TensorShape by(std::vector<int64_t>(y.shape().dims().begin(), y.shape().dims().end() - 2));
  CKPT_ASSIGN_OR_RETURN(TensorShape batch, BroadcastShape(*ctx, bx, by));
  std::vector<int64_t> dims = batch.dims();
  dims.push_back(m);
  dims.push_back(n);
  const std::vector<int64_t> ix = BroadcastIndex(bx, batch), iy = BroadcastIndex(by, batch);
  return DispatchNumeric(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), TensorShape(dims)));
    for (size_t b = 0; b < ix.size(); ++b) {
      Eigen::Map<const RowMajor<T>> mx(x.flat<T>() + ix[b] * xr * xc, xr, xc);
      Eigen::Map<const RowMajor<T>> my(y.flat<T>() + iy[b] * yr * yc, yr, yc);
      Eigen::Map<RowMajor<T>> mo(out.mutable_flat<T>() + b * m * n, m, n);
      if (!ax && !ay)
        mo.noalias() = mx * my;
      else if (ax && !ay)
        mo.noalias() = mx.transpose() * my;
      else if (!ax && ay)
        mo.noalias() = mx * my.transpose();
      else
        mo.noalias() = mx.transpose() * my.transpose();
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

}  // namespace ckpt::ops
