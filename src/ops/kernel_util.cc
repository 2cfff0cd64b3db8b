#include "ops/kernel_util.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace ckpt::ops {

Status NodeError(const KernelContext& ctx, StatusCode code, std::string message) {
  message += "\n\t [[{{node " + ctx.node->name() + "}} = " + ctx.node->op() + "]]";
  return Status(code, std::move(message));
}

Status InvalidArg(const KernelContext& ctx, std::string message) {
  return NodeError(ctx, StatusCode::kInvalidArgument, std::move(message));
}

Status UnsupportedDtype(const KernelContext& ctx, DataType dtype, std::string_view supported) {
  return Status(StatusCode::kUnimplemented, "Op " + ctx.node->op() + " (node '" + ctx.node->name() +
                                                "') has no kernel for dtype " +
                                                std::string(DataTypeName(dtype)) +
                                                " (supported: " + std::string(supported) + ")");
}

Status CheckNumInputs(const KernelContext& ctx, int n, bool exact) {
  const int got = static_cast<int>(ctx.inputs.size());
  if (exact ? got == n : got >= n) return Status::OK();
  return InvalidArg(ctx, ctx.node->op() + " expects " + (exact ? "" : "at least ") +
                             std::to_string(n) + " input(s), got " + std::to_string(got));
}

DataType TypeAttr(const KernelContext& ctx, const std::string& name, DataType fallback) {
  auto it = ctx.node->attr().find(name);
  if (it == ctx.node->attr().end() || !it->second.has_type()) return fallback;
  return static_cast<DataType>(it->second.type());
}

bool BoolAttr(const KernelContext& ctx, const std::string& name, bool fallback) {
  auto it = ctx.node->attr().find(name);
  if (it == ctx.node->attr().end() || !it->second.has_b()) return fallback;
  return it->second.b();
}

std::vector<int64_t> IntListAttr(const KernelContext& ctx, const std::string& name) {
  auto it = ctx.node->attr().find(name);
  if (it == ctx.node->attr().end() || !it->second.has_list()) return {};
  const auto& l = it->second.list().i();
  return std::vector<int64_t>(l.begin(), l.end());
}

Result<std::vector<int64_t>> IndexValues(const KernelContext& ctx, const Tensor& t,
                                         std::string_view what) {
  std::vector<int64_t> out(static_cast<size_t>(t.num_elements()));
  if (t.dtype() == DataType::kInt32) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.flat<int32_t>()[i];
  } else if (t.dtype() == DataType::kInt64) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.flat<int64_t>()[i];
  } else {
    return InvalidArg(ctx, std::string(what) + " must be int32 or int64, got " +
                               std::string(DataTypeName(t.dtype())));
  }
  return out;
}

Result<int> NormalizeAxis(const KernelContext& ctx, int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) {
    return InvalidArg(ctx, "Expected dimension in the range [" + std::to_string(-rank) + ", " +
                               std::to_string(rank) + "), but got " + std::to_string(axis));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

Result<Tensor> AllocateOutput(const KernelContext& ctx, DataType dtype, TensorShape shape) {
  Result<Tensor> t = Tensor::Allocate(dtype, std::move(shape));
  if (!t.ok()) return InvalidArg(ctx, t.status().message());
  return t;
}

Result<Tensor> AllocateOutputUninitialized(const KernelContext& ctx, DataType dtype,
                                           TensorShape shape) {
  Result<Tensor> t = Tensor::AllocateUninitialized(dtype, std::move(shape));
  if (!t.ok()) return InvalidArg(ctx, t.status().message());
  return t;
}

Result<Tensor> WithShape(const KernelContext& ctx, const Tensor& t, TensorShape shape) {
  if (t.dtype() == DataType::kString) {
    Result<Tensor> s = Tensor::FromStrings(std::move(shape), t.strings());
    if (!s.ok()) return InvalidArg(ctx, s.status().message());
    return s;
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutputUninitialized(ctx, t.dtype(), std::move(shape)));
  if (out.byte_size() > 0) std::memcpy(out.mutable_data(), t.data(), out.byte_size());
  return out;
}

Status RequireMovable(const KernelContext& ctx, const Tensor& t) {
  return IsFixedSize(t.dtype()) || t.dtype() == DataType::kString
             ? Status::OK()
             : UnsupportedDtype(ctx, t.dtype(), "fixed-size dtypes and string");
}

void CopyElements(const Tensor& src, int64_t src_at, Tensor* dst, int64_t dst_at, int64_t count) {
  if (count <= 0) return;
  if (src.dtype() == DataType::kString) {
    std::copy_n(src.strings().begin() + src_at, count, dst->mutable_strings()->begin() + dst_at);
    return;
  }
  const size_t elem = DataTypeSize(src.dtype());
  std::memcpy(dst->mutable_data() + dst_at * elem, src.data() + src_at * elem,
              static_cast<size_t>(count) * elem);
}

Result<TensorShape> BroadcastShape(const KernelContext& ctx, const TensorShape& a,
                                   const TensorShape& b) {
  const int rank = std::max(a.rank(), b.rank());
  std::vector<int64_t> dims(rank);
  for (int i = 0; i < rank; ++i) {
    const int ia = a.rank() - rank + i, ib = b.rank() - rank + i;
    const int64_t da = ia >= 0 ? a.dim(ia) : 1, db = ib >= 0 ? b.dim(ib) : 1;
    if (da != db && da != 1 && db != 1) {
      return InvalidArg(ctx, "Incompatible shapes: " + a.DebugString() + " vs. " + b.DebugString());
    }
    dims[i] = da == 1 ? db : da;
  }
  return TensorShape(std::move(dims));
}

std::vector<int64_t> BroadcastIndex(const TensorShape& in, const TensorShape& out) {
  const int rank = out.rank();
  // Stride of each output dim in the input (0 where the input is broadcast).
  std::vector<int64_t> stride(rank, 0);
  int64_t s = 1;
  for (int i = rank - 1, j = in.rank() - 1; i >= 0; --i, --j) {
    if (j >= 0) {
      if (in.dim(j) != 1) stride[i] = s;
      s *= in.dim(j);
    }
  }
  std::vector<int64_t> index(static_cast<size_t>(out.num_elements()));
  std::vector<int64_t> pos(rank, 0);
  int64_t at = 0;
  for (size_t k = 0; k < index.size(); ++k) {
    index[k] = at;
    for (int d = rank - 1; d >= 0; --d) {  // odometer step
      ++pos[d];
      at += stride[d];
      if (pos[d] < out.dim(d)) break;
      at -= stride[d] * pos[d];
      pos[d] = 0;
    }
  }
  return index;
}

bool EpilogueApplies(const KernelContext& ctx, DataType out_dtype, int64_t c) {
  return ctx.bias != nullptr && out_dtype == DataType::kFloat &&
         ctx.bias->dtype() == DataType::kFloat && ctx.bias->shape().rank() == 1 &&
         ctx.bias->shape().dim(0) == c;
}

void ApplyEpilogue(const KernelContext& ctx, float* data, int64_t rows, int64_t c) {
  const float* __restrict bias = ctx.bias->flat<float>();
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict row = data + r * c;
    if (ctx.relu) {
      for (int64_t j = 0; j < c; ++j) {
        const float v = row[j] + bias[j];
        row[j] = v < 0 ? float{0} : v;
      }
    } else {
      for (int64_t j = 0; j < c; ++j) row[j] = row[j] + bias[j];
    }
  }
}

}  // namespace ckpt::ops
