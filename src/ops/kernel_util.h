// What every kernel family shares: node-attributed errors, attr and input
// checks, the dtype dispatch and TF's broadcasting rule. Internal to ops.
//
// Thread safety: free functions without state.
#ifndef CKPT_SRC_OPS_KERNEL_UTIL_H_
#define CKPT_SRC_OPS_KERNEL_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"
#include "ops/kernel.h"

namespace ckpt::ops {

using exec::KernelContext;

// "<message>\n\t [[{{node NAME}} = Op]]": TF's wording first, then where.
Status NodeError(const KernelContext& ctx, StatusCode code, std::string message);
Status InvalidArg(const KernelContext& ctx, std::string message);
// Unimplemented: "Op Add (node 'add') has no kernel for dtype string
// (supported: float, double, int32, int64)".
Status UnsupportedDtype(const KernelContext& ctx, DataType dtype, std::string_view supported);

// InvalidArgument unless ctx has exactly n data inputs (at least n when !exact).
Status CheckNumInputs(const KernelContext& ctx, int n, bool exact = true);

// Attr readers. A missing attr gives `fallback` (TF's default for that op).
DataType TypeAttr(const KernelContext& ctx, const std::string& name, DataType fallback);
bool BoolAttr(const KernelContext& ctx, const std::string& name, bool fallback);
std::vector<int64_t> IntListAttr(const KernelContext& ctx, const std::string& name);

// The elements of an int32 or int64 tensor (axes, dims, shapes) as int64.
Result<std::vector<int64_t>> IndexValues(const KernelContext& ctx, const Tensor& t,
                                         std::string_view what);
// Maps axis in [-rank, rank) to [0, rank); InvalidArgument otherwise, in TF's
// words: "Expected dimension in the range [-2, 2), but got 5".
Result<int> NormalizeAxis(const KernelContext& ctx, int64_t axis, int rank);

// A tensor of `dtype` and `shape` (InvalidArgument for a bad shape).
Result<Tensor> AllocateOutput(const KernelContext& ctx, DataType dtype, TensorShape shape);
// The same, not cleared (Tensor::AllocateUninitialized): only for kernels that
// write every element of the output.
Result<Tensor> AllocateOutputUninitialized(const KernelContext& ctx, DataType dtype,
                                           TensorShape shape);

// Same elements, another shape (a copy; num_elements must match).
Result<Tensor> WithShape(const KernelContext& ctx, const Tensor& t, TensorShape shape);

// The ops that only move elements (Slice, Gather, Tile, Transpose, ConcatV2,
// ...) take every fixed-size dtype, moved as bytes, and strings, as TF's
// do. Unimplemented (UnsupportedDtype) for other dtypes.
Status RequireMovable(const KernelContext& ctx, const Tensor& t);
// Copies elements [src_at, src_at + count) of `src` to [dst_at, dst_at + count)
// of `dst`. REQUIRES: same dtype, movable, both ranges inside the tensors.
void CopyElements(const Tensor& src, int64_t src_at, Tensor* dst, int64_t dst_at,
                  int64_t count = 1);

// The fused epilogue a Conv2D or MatMul may take (KernelContext::bias,
// relu): true when one is offered and it applies to a float output whose last
// dimension has `c` elements (the bias a float vector of length c).
bool EpilogueApplies(const KernelContext& ctx, DataType out_dtype, int64_t c);
// Applies it to `rows` rows of `c` floats: + bias, then Relu when asked
// (x < 0 ? 0 : x, the Relu kernel's expression: NaN stays NaN).
// REQUIRES: EpilogueApplies(ctx, kFloat, c).
void ApplyEpilogue(const KernelContext& ctx, float* data, int64_t rows, int64_t c);

// numpy/TF broadcasting of two shapes: aligned from the last dim, each pair
// equal or one of them 1. InvalidArgument "Incompatible shapes: [2,3] vs. [4]".
Result<TensorShape> BroadcastShape(const KernelContext& ctx, const TensorShape& a,
                                   const TensorShape& b);
// For each element of `out` (row-major), the flat index into a tensor of shape
// `in` broadcast to `out`. REQUIRES: `in` broadcasts to `out`.
std::vector<int64_t> BroadcastIndex(const TensorShape& in, const TensorShape& out);

// max and min as TF's Maximum, Minimum and its Max/Min reductions compute
// them: a NaN operand gives NaN (std::max/min would return either operand,
// depending on the order).
template <typename T>
T MaxPropagateNaN(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (a != a) return a;
    if (b != b) return b;
  }
  return a < b ? b : a;
}
template <typename T>
T MinPropagateNaN(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (a != a) return a;
    if (b != b) return b;
  }
  return b < a ? b : a;
}

// Calls f(T{}) for the numeric dtypes ckpt's kernels support, or returns
// UnsupportedDtype. Real: float, double. Numeric: those and int32, int64.
template <typename F>
Status DispatchReal(const KernelContext& ctx, DataType dtype, F&& f) {
  switch (dtype) {
    case DataType::kFloat:
      return f(float{});
    case DataType::kDouble:
      return f(double{});
    default:
      return UnsupportedDtype(ctx, dtype, "float, double");
  }
}
template <typename F>
Status DispatchNumeric(const KernelContext& ctx, DataType dtype, F&& f) {
  switch (dtype) {
    case DataType::kFloat:
      return f(float{});
    case DataType::kDouble:
      return f(double{});
    case DataType::kInt32:
      return f(int32_t{});
    case DataType::kInt64:
      return f(int64_t{});
    default:
      return UnsupportedDtype(ctx, dtype, "float, double, int32, int64");
  }
}

}  // namespace ckpt::ops

#endif  // CKPT_SRC_OPS_KERNEL_UTIL_H_
