// Convolutions and pooling, NHWC only: Conv2D (float on oneDNN when built in,
// onednn.h; otherwise im2col by blocks of output pixels, each block's GEMM
// right after it, GemmF32Serial for float (gemm.h); blocks split over the
// cores for big convolutions),
// DepthwiseConv2dNative, MaxPool, AvgPool; and FusedBatchNorm(V2/V3) in
// inference mode. Padding SAME or VALID, as TF computes it: SAME gives
// ceil(in / stride) outputs and puts the odd padding element after.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "ops/gemm.h"
#include "ops/kernel_util.h"
#include "ops/kernels.h"
#include "ops/onednn.h"

namespace ckpt::ops {
namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// One spatial dimension of a window op.
struct Window {
  int64_t in = 0, k = 1, stride = 1, dilation = 1;
  int64_t out = 0, pad_before = 0;
};

// The attrs shared by every op here: NHWC, strides, dilations, padding.
struct Spatial {
  Window h, w;
};

Status ReadSpatial(const KernelContext& ctx, const TensorShape& input, int64_t kh, int64_t kw,
                   Spatial* s) {
  auto it = ctx.node->attr().find("data_format");
  if (it != ctx.node->attr().end() && !it->second.s().empty() && it->second.s() != "NHWC") {
    return NodeError(
        ctx, StatusCode::kUnimplemented,
        ctx.node->op() + " supports data_format NHWC only, got '" + it->second.s() + "'");
  }
  if (input.rank() != 4) {
    return InvalidArg(ctx, "input must be 4-dimensional" + input.DebugString());
  }
  std::vector<int64_t> strides = IntListAttr(ctx, "strides");
  std::vector<int64_t> dil = IntListAttr(ctx, "dilations");
  if (strides.empty()) strides = {1, 1, 1, 1};
  if (dil.empty()) dil = {1, 1, 1, 1};
  if (strides.size() != 4 || dil.size() != 4 || strides[0] != 1 || strides[3] != 1 || dil[0] != 1 ||
      dil[3] != 1) {
    return InvalidArg(ctx,
                      "strides and dilations must have 4 entries, 1 in the batch and depth "
                      "dimensions");
  }
  std::string padding;
  it = ctx.node->attr().find("padding");
  if (it != ctx.node->attr().end()) padding = it->second.s();
  if (padding != "SAME" && padding != "VALID") {
    return NodeError(ctx, StatusCode::kUnimplemented,
                     ctx.node->op() + " supports padding SAME and VALID, got '" + padding + "'");
  }
  s->h = {input.dim(1), kh, strides[1], dil[1]};
  s->w = {input.dim(2), kw, strides[2], dil[2]};
  for (Window* win : {&s->h, &s->w}) {
    if (win->stride < 1 || win->dilation < 1)
      return InvalidArg(ctx, "strides and dilations must be >= 1");
    const int64_t span = (win->k - 1) * win->dilation + 1;
    if (padding == "VALID") {
      win->out = win->in >= span ? (win->in - span) / win->stride + 1 : 0;
      win->pad_before = 0;
    } else {
      win->out = (win->in + win->stride - 1) / win->stride;
      const int64_t total = std::max<int64_t>((win->out - 1) * win->stride + span - win->in, 0);
      win->pad_before = total / 2;
    }
  }
  return Status::OK();
}

// Conv2D's im2col block (about half of a core's L2) and the size (multiply-
// adds) from which it splits the blocks over threads.
constexpr int64_t kIm2colBlockBytes = 256 << 10;
constexpr int64_t kParallelConvMacs = int64_t{1} << 22;
// Pooling splits over threads from this many window taps (input reads).
constexpr int64_t kParallelPoolWork = int64_t{1} << 18;

// The padding after the last input element: what the last window reaches
// past the input (SAME's odd element included; 0 for VALID).
inline int64_t PadAfter(const Window& w) {
  return std::max<int64_t>(
      0, (w.out - 1) * w.stride + (w.k - 1) * w.dilation + 1 - w.in - w.pad_before);
}

// The geometry as onednn.h takes it.
onednn::ConvShape Shape(const Spatial& s, int64_t n, int64_t c, int64_t oc) {
  return onednn::ConvShape{n,
                           s.h.in,
                           s.w.in,
                           c,
                           s.h.k,
                           s.w.k,
                           oc,
                           s.h.out,
                           s.w.out,
                           s.h.stride,
                           s.w.stride,
                           s.h.dilation,
                           s.w.dilation,
                           s.h.pad_before,
                           s.w.pad_before,
                           PadAfter(s.h),
                           PadAfter(s.w)};
}

// Input coordinate of output o, tap t (may be outside [0, in): padding).
inline int64_t Tap(const Window& w, int64_t o, int64_t t) {
  return o * w.stride - w.pad_before + t * w.dilation;
}

// The convolutions' shared checks: a 4-d filter [KH,KW,...] and the
// spatial geometry of its window over x.
Status ReadFilterSpatial(const KernelContext& ctx, const Tensor& x, const Tensor& f, Spatial* s) {
  if (f.shape().rank() != 4) {
    return InvalidArg(ctx, "filter must be 4-dimensional: " + f.shape().DebugString());
  }
  return ReadSpatial(ctx, x.shape(), f.shape().dim(0), f.shape().dim(1), s);
}

}  // namespace

// Conv2D(input [N,H,W,C], filter [KH,KW,C,OC]) -> [N,OH,OW,OC].
Status Conv2D(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  const Tensor& f = ctx->inputs[1];
  Spatial s;
  CKPT_RETURN_IF_ERROR(ReadFilterSpatial(*ctx, x, f, &s));
  const int64_t n = x.shape().dim(0), c = x.shape().dim(3), oc = f.shape().dim(3);
  if (f.shape().dim(2) != c) {
    return InvalidArg(*ctx, "input depth must be evenly divisible by filter depth: " +
                                std::to_string(c) + " vs " + std::to_string(f.shape().dim(2)));
  }
  if (x.dtype() != f.dtype()) return InvalidArg(*ctx, "input and filter differ in dtype");
  return DispatchReal(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    const int64_t patch = s.h.k * s.w.k * c, rows = n * s.h.out * s.w.out;
    // The GEMMs write every element unless the product is empty (patch 0).
    const TensorShape out_shape{n, s.h.out, s.w.out, oc};
    CKPT_ASSIGN_OR_RETURN(Tensor out, patch > 0
                                          ? AllocateOutputUninitialized(*ctx, x.dtype(), out_shape)
                                          : AllocateOutput(*ctx, x.dtype(), out_shape));
    const T* px = x.flat<T>();
    const T* pf = f.flat<T>();
    T* po = out.mutable_flat<T>();
    const bool epilogue = EpilogueApplies(*ctx, x.dtype(), oc);
    if constexpr (std::is_same_v<T, float>) {
      if (onednn::Built() && rows > 0 && patch > 0 && oc > 0) {
        if (onednn::Conv2D(Shape(s, n, c, oc), px, pf,
                           epilogue ? ctx->bias->flat<float>() : nullptr, epilogue && ctx->relu,
                           po)) {
          ctx->epilogue_applied = epilogue;
          ctx->outputs = {out};
          return Status::OK();
        }
      }
    }
    // im2col in blocks of output pixels (rows), each block's GEMM right after
    // it while the block is still in cache: row r holds output pixel r's
    // receptive field, tap-major then channel; taps in the padding are 0.
    // Every element is written, so the buffer is not cleared.
    // At least one row, so the buffer never exceeds max(256 KiB, one
    // receptive field), which is no bigger than the filter.
    const int64_t block = std::clamp<int64_t>(
        kIm2colBlockBytes / std::max<int64_t>(1, patch * static_cast<int64_t>(sizeof(T))), 1, 1024);
    const int64_t blocks = (rows + block - 1) / block;
    const size_t buffer_size = static_cast<size_t>(std::min(rows, block) * patch);
    auto run_blocks = [&](int64_t first, int64_t last, std::vector<T>* buffer) {
      if (buffer->size() < buffer_size) buffer->resize(buffer_size);
      T* cols = buffer->data();
      for (int64_t bi = first; bi < last; ++bi) {
        const int64_t r0 = bi * block, r1 = std::min(rows, r0 + block);
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t ow = r % s.w.out, oh = r / s.w.out % s.h.out, b = r / s.w.out / s.h.out;
          T* row = cols + (r - r0) * patch;
          for (int64_t th = 0; th < s.h.k; ++th) {
            const int64_t ih = Tap(s.h, oh, th);
            for (int64_t tw = 0; tw < s.w.k; ++tw) {
              const int64_t iw = Tap(s.w, ow, tw);
              T* __restrict dst = row + (th * s.w.k + tw) * c;
              if (ih < 0 || ih >= s.h.in || iw < 0 || iw >= s.w.in) {
                std::fill(dst, dst + c, T{0});
              } else {
                // The input and the buffer never overlap: the copy vectorises.
                const T* __restrict src = px + ((b * s.h.in + ih) * s.w.in + iw) * c;
                for (int64_t j = 0; j < c; ++j) dst[j] = src[j];  // c is often 1..64
              }
            }
          }
        }
        if constexpr (std::is_same_v<T, float>) {
          GemmF32Serial(false, false, r1 - r0, oc, patch, cols, pf, po + r0 * oc);
          if (epilogue) ApplyEpilogue(*ctx, po + r0 * oc, r1 - r0, oc);  // while in cache
        } else {
          Eigen::Map<const RowMajor<T>> mc(cols, r1 - r0, patch);
          Eigen::Map<const RowMajor<T>> mf(pf, patch, oc);
          Eigen::Map<RowMajor<T>> mo(po + r0 * oc, r1 - r0, oc);
          mo.noalias() = mc * mf;
        }
      }
    };
    // Blocks split over the cores (ParallelFor: the caller and the pool's
    // threads) when the convolution is big enough to pay for the hand-off.
    const int64_t threads =
        rows * patch * oc < kParallelConvMacs ? 1 : std::min<int64_t>(ParallelThreads(), blocks);
    // Each thread keeps its im2col buffer between calls (pool threads live on).
    ParallelFor(threads, [&](int64_t t) {
      thread_local std::vector<T> buffer;
      run_blocks(blocks * t / threads, blocks * (t + 1) / threads, &buffer);
    });
    ctx->epilogue_applied = epilogue;
    ctx->outputs = {out};
    return Status::OK();
  });
}

// DepthwiseConv2dNative(input [N,H,W,C], filter [KH,KW,C,M]) -> [N,OH,OW,C*M].
Status DepthwiseConv2dNative(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  const Tensor& f = ctx->inputs[1];
  Spatial s;
  CKPT_RETURN_IF_ERROR(ReadFilterSpatial(*ctx, x, f, &s));
  const int64_t n = x.shape().dim(0), c = x.shape().dim(3), m = f.shape().dim(3);
  if (f.shape().dim(2) != c) {
    return InvalidArg(*ctx, "input and filter must have the same depth: " + std::to_string(c) +
                                " vs " + std::to_string(f.shape().dim(2)));
  }
  if (x.dtype() != f.dtype()) return InvalidArg(*ctx, "input and filter differ in dtype");
  return DispatchReal(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out,
                          AllocateOutput(*ctx, x.dtype(), TensorShape{n, s.h.out, s.w.out, c * m}));
    const T* px = x.flat<T>();
    const T* pf = f.flat<T>();
    T* po = out.mutable_flat<T>();
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t oh = 0; oh < s.h.out; ++oh) {
        for (int64_t ow = 0; ow < s.w.out; ++ow) {
          T* dst = po + ((b * s.h.out + oh) * s.w.out + ow) * c * m;
          for (int64_t th = 0; th < s.h.k; ++th) {
            const int64_t ih = Tap(s.h, oh, th);
            if (ih < 0 || ih >= s.h.in) continue;
            for (int64_t tw = 0; tw < s.w.k; ++tw) {
              const int64_t iw = Tap(s.w, ow, tw);
              if (iw < 0 || iw >= s.w.in) continue;
              const T* src = px + ((b * s.h.in + ih) * s.w.in + iw) * c;
              const T* w = pf + (th * s.w.k + tw) * c * m;
              for (int64_t k = 0; k < c * m; ++k) dst[k] += src[k / m] * w[k];
            }
          }
        }
      }
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

namespace {

// The pooling loop over output rows [first, last) (row r: image r / out_h,
// row r % out_h), one instantiation per kind so the channel loops vectorise.
// Each window's taps inside the input are found once, not tested per tap.
template <bool kMax, typename T>
void PoolRows(const Spatial& s, int64_t c, const T* px, T* po, int64_t first, int64_t last) {
  std::vector<T> acc_storage(static_cast<size_t>(c));
  T* __restrict acc = acc_storage.data();
  // The taps [*t0, *t1) of output o that fall inside the input.
  auto taps = [](const Window& w, int64_t o, int64_t* t0, int64_t* t1) {
    const int64_t start = o * w.stride - w.pad_before;
    *t0 = start >= 0 ? 0 : (-start + w.dilation - 1) / w.dilation;
    *t1 =
        start + (w.k - 1) * w.dilation < w.in ? w.k : (w.in - start + w.dilation - 1) / w.dilation;
    *t1 = std::max(*t1, *t0);
  };
  for (int64_t r = first; r < last; ++r) {
    const int64_t b = r / s.h.out, oh = r % s.h.out;
    int64_t h0, h1;
    taps(s.h, oh, &h0, &h1);
    for (int64_t ow = 0; ow < s.w.out; ++ow) {
      int64_t w0, w1;
      taps(s.w, ow, &w0, &w1);
      std::fill(acc, acc + c, kMax ? std::numeric_limits<T>::lowest() : T{0});
      for (int64_t th = h0; th < h1; ++th) {
        const int64_t ih = Tap(s.h, oh, th);
        for (int64_t tw = w0; tw < w1; ++tw) {
          const T* __restrict src = px + ((b * s.h.in + ih) * s.w.in + Tap(s.w, ow, tw)) * c;
          if constexpr (kMax) {
            for (int64_t k = 0; k < c; ++k) acc[k] = acc[k] < src[k] ? src[k] : acc[k];
          } else {
            for (int64_t k = 0; k < c; ++k) acc[k] += src[k];
          }
        }
      }
      T* __restrict dst = po + (r * s.w.out + ow) * c;
      const int64_t count = (h1 - h0) * (w1 - w0);
      if (kMax || count == 0) {
        std::copy(acc, acc + c, dst);
      } else {
        for (int64_t k = 0; k < c; ++k) dst[k] = acc[k] / static_cast<T>(count);
      }
    }
  }
}

// Pooling over the cores by output rows, for big inputs.
template <bool kMax, typename T>
void PoolLoop(const Spatial& s, int64_t n, int64_t c, const T* px, T* po) {
  const int64_t rows = n * s.h.out;
  const int64_t work = rows * s.w.out * c * s.h.k * s.w.k;
  const int64_t parts = work < kParallelPoolWork ? 1 : std::min(ParallelThreads(), rows);
  ParallelFor(parts, [&](int64_t p) {
    PoolRows<kMax>(s, c, px, po, rows * p / parts, rows * (p + 1) / parts);
  });
}

// MaxPool / AvgPool: ksize [1,kh,kw,1]; padded positions are skipped (AvgPool
// divides by the number of real elements in the window, as TF does). MaxPool
// starts each window at the lowest finite value, as TF does: a window of
// -inf and NaN only gives -FLT_MAX, and a NaN never replaces a number.
Status Pool(KernelContext* ctx, bool max) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  const std::vector<int64_t> ksize = IntListAttr(*ctx, "ksize");
  if (ksize.size() != 4 || ksize[0] != 1 || ksize[3] != 1) {
    return InvalidArg(*ctx,
                      "Pooling is only supported on the spatial dimensions: ksize must "
                      "be [1, kh, kw, 1]");
  }
  Spatial s;
  CKPT_RETURN_IF_ERROR(ReadSpatial(*ctx, x.shape(), ksize[1], ksize[2], &s));
  const int64_t n = x.shape().dim(0), c = x.shape().dim(3);
  return DispatchReal(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    // Every output element is written below.
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutputUninitialized(
                                          *ctx, x.dtype(), TensorShape{n, s.h.out, s.w.out, c}));
    if constexpr (std::is_same_v<T, float>) {
      if (onednn::Built() && n > 0 && c > 0 && s.h.out > 0 && s.w.out > 0 &&
          onednn::Pool(Shape(s, n, c, c), max, x.flat<float>(), out.mutable_flat<float>())) {
        ctx->outputs = {out};
        return Status::OK();
      }
    }
    if (max) {
      PoolLoop<true>(s, n, c, x.flat<T>(), out.mutable_flat<T>());
    } else {
      PoolLoop<false>(s, n, c, x.flat<T>(), out.mutable_flat<T>());
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

}  // namespace

Status MaxPool(KernelContext* ctx) { return Pool(ctx, true); }
Status AvgPool(KernelContext* ctx) { return Pool(ctx, false); }

// FusedBatchNorm/V2/V3(x, scale, offset, mean, variance), is_training false:
// y = (x - mean) / sqrt(variance + epsilon) * scale + offset over the channel
// dim (last for NHWC, 1 for NCHW). The other outputs repeat mean and variance (V3 adds an empty
// reserve_space_3), as TF's inference kernel does.
Status FusedBatchNorm(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 5));
  if (BoolAttr(*ctx, "is_training", true)) {
    return NodeError(*ctx, StatusCode::kUnimplemented,
                     ctx->node->op() + " runs in inference mode only (is_training=false)");
  }
  auto it = ctx->node->attr().find("data_format");
  const std::string format = it != ctx->node->attr().end() ? it->second.s() : "";
  if (!format.empty() && format != "NHWC" && format != "NCHW") {
    return NodeError(*ctx, StatusCode::kUnimplemented,
                     ctx->node->op() + " supports data_format NHWC and NCHW, got '" + format + "'");
  }
  const bool nchw = format == "NCHW";
  it = ctx->node->attr().find("epsilon");
  const double eps = it != ctx->node->attr().end() && it->second.has_f() ? it->second.f() : 1e-4;
  const Tensor& x = ctx->inputs[0];
  if (x.shape().rank() != 4) {
    return InvalidArg(*ctx, "input must be 4-dimensional" + x.shape().DebugString());
  }
  const int64_t c = x.shape().dim(nchw ? 1 : 3);
  const int64_t inner = nchw ? x.shape().dim(2) * x.shape().dim(3) : 1;  // per channel value
  for (int i = 1; i < 5; ++i) {
    const Tensor& p = ctx->inputs[i];
    if (p.shape().rank() != 1 || p.shape().dim(0) != c || p.dtype() != DataType::kFloat) {
      return InvalidArg(*ctx,
                        "scale, offset, mean and variance must be float vectors of the "
                        "depth " +
                            std::to_string(c) + ", got " + p.shape().DebugString());
    }
  }
  return DispatchReal(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor y, AllocateOutput(*ctx, x.dtype(), x.shape()));
    const float* scale = ctx->inputs[1].flat<float>();
    const float* offset = ctx->inputs[2].flat<float>();
    const float* mean = ctx->inputs[3].flat<float>();
    const float* var = ctx->inputs[4].flat<float>();
    std::vector<float> mul(c), add(c);
    for (int64_t k = 0; k < c; ++k) {
      mul[k] = scale[k] / std::sqrt(var[k] + static_cast<float>(eps));
      add[k] = offset[k] - mean[k] * mul[k];
    }
    const T* px = x.flat<T>();
    T* py = y.mutable_flat<T>();
    const int64_t count = x.num_elements();
    // Runs of `inner` elements share a channel; channels cycle (NHWC: runs of 1).
    for (int64_t i = 0, k = 0; i < count; i += inner, k = k + 1 == c ? 0 : k + 1) {
      for (int64_t j = i; j < i + inner; ++j) py[j] = static_cast<T>(px[j] * mul[k] + add[k]);
    }
    ctx->outputs = {y, ctx->inputs[3], ctx->inputs[4], ctx->inputs[3], ctx->inputs[4]};
    if (ctx->node->op() == "FusedBatchNormV3") {
      CKPT_ASSIGN_OR_RETURN(Tensor empty, AllocateOutput(*ctx, DataType::kFloat, TensorShape{0}));
      ctx->outputs.push_back(empty);
    }
    return Status::OK();
  });
}

}  // namespace ckpt::ops
