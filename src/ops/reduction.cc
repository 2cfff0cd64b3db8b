// Sum, Mean, Max, Min, Prod over the axes given as input 1 (reduction_indices,
// int32/int64, scalar or vector, negative counting from the end, repeats
// allowed), with attr keep_dims. An empty axes list reduces nothing.
#include <algorithm>
#include <limits>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

enum class Reducer { kSum, kMean, kMax, kMin, kProd };

template <typename T>
T Initial(Reducer r) {
  constexpr bool kInf = std::numeric_limits<T>::has_infinity;
  switch (r) {
    case Reducer::kMax:
      return kInf ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
    case Reducer::kMin:
      return kInf ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
    case Reducer::kProd:
      return T{1};
    default:
      return T{0};
  }
}

Status Reduce(KernelContext* ctx, Reducer r) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  const int rank = x.shape().rank();
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                        IndexValues(*ctx, ctx->inputs[1], "reduction_indices"));
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return InvalidArg(*ctx, "Invalid reduction dimension (" + std::to_string(a) +
                                  " for input with " + std::to_string(rank) + " dimension(s)");
    }
    reduced[a < 0 ? a + rank : a] = true;
  }
  // keep: the input's shape with each reduced dim made 1 (the keep_dims shape).
  std::vector<int64_t> keep = x.shape().dims(), squeezed;
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    if (reduced[d]) {
      count *= keep[d];
      keep[d] = 1;
    } else {
      squeezed.push_back(keep[d]);
    }
  }
  const bool keep_dims = BoolAttr(*ctx, "keep_dims", false);
  TensorShape out_shape(keep_dims ? keep : squeezed);
  // For each input element, the output element it goes into.
  const std::vector<int64_t> into = BroadcastIndex(TensorShape(keep), x.shape());
  return DispatchNumeric(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), out_shape));
    T* po = out.mutable_flat<T>();
    std::fill(po, po + out.num_elements(), Initial<T>(r));
    const T* px = x.flat<T>();
    for (size_t i = 0; i < into.size(); ++i) {
      T& acc = po[into[i]];
      switch (r) {
        case Reducer::kMax: acc = MaxPropagateNaN(acc, px[i]); break;
        case Reducer::kMin: acc = MinPropagateNaN(acc, px[i]); break;
        case Reducer::kProd: acc *= px[i]; break;
        default: acc += px[i]; break;
      }
    }
    if (r == Reducer::kMean) {
      // Integers divide as integers, as TF's Mean does; 0/0 is NaN for floats.
      for (int64_t i = 0; i < out.num_elements(); ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          po[i] /= static_cast<T>(count);
        } else if (count != 0) {
          po[i] /= static_cast<T>(count);
        }
      }
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

}  // namespace

Status Sum(KernelContext* ctx) { return Reduce(ctx, Reducer::kSum); }
Status Mean(KernelContext* ctx) { return Reduce(ctx, Reducer::kMean); }
Status Max(KernelContext* ctx) { return Reduce(ctx, Reducer::kMax); }
Status Min(KernelContext* ctx) { return Reduce(ctx, Reducer::kMin); }
Status Prod(KernelContext* ctx) { return Reduce(ctx, Reducer::kProd); }

}  // namespace ckpt::ops
