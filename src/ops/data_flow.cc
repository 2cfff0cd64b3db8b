// Ops real TF1 graphs put on their inference paths besides the math:
// gradient barriers that are identities when run forward (StopGradient,
// PreventGradient, Snapshot), AddN (feature columns' linear_model), Size,
// Rank, Assert, and the partition/stitch pair embedding_lookup builds over a
// partitioned variable (DynamicPartition, DynamicStitch,
// ParallelDynamicStitch). Element moves are byte copies, so every fixed-size
// dtype works.
#include <algorithm>
#include <cstring>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

Status RequireFixedSize(const KernelContext& ctx, const Tensor& t) {
  return IsFixedSize(t.dtype()) ? Status::OK()
                                : UnsupportedDtype(ctx, t.dtype(), "fixed-size dtypes");
}

int64_t IntAttrOr(const KernelContext& ctx, const std::string& name, int64_t fallback) {
  auto it = ctx.node->attr().find(name);
  return it == ctx.node->attr().end() ? fallback : it->second.i();
}

// True when `prefix` is the leading part of `shape`.
bool StartsWith(const TensorShape& shape, const TensorShape& prefix) {
  if (prefix.rank() > shape.rank()) return false;
  for (int d = 0; d < prefix.rank(); ++d) {
    if (shape.dim(d) != prefix.dim(d)) return false;
  }
  return true;
}

std::vector<int64_t> DimsFrom(const TensorShape& shape, int from) {
  return std::vector<int64_t>(shape.dims().begin() + from, shape.dims().end());
}

}  // namespace

// StopGradient, PreventGradient, Snapshot: the input, unchanged.
Status PassThrough(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  ctx->outputs = {ctx->inputs[0]};
  return Status::OK();
}

// AddN(inputs...): their sum; every input has the first one's shape.
Status AddN(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1, /*exact=*/false));
  const Tensor& first = ctx->inputs[0];
  for (size_t i = 1; i < ctx->inputs.size(); ++i) {
    const Tensor& t = ctx->inputs[i];
    if (t.dtype() != first.dtype() || t.shape() != first.shape()) {
      return InvalidArg(*ctx,
                        "Inputs to operation AddN must have the same size and shape.  "
                        "Input 0: " +
                            first.shape().DebugString() + " != input " + std::to_string(i) + ": " +
                            t.shape().DebugString());
    }
  }
  return DispatchNumeric(*ctx, first.dtype(), [&](auto zero) -> Status {
    using T = decltype(zero);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, first.dtype(), first.shape()));
    T* o = out.mutable_flat<T>();
    const int64_t n = first.num_elements();
    std::copy(first.flat<T>(), first.flat<T>() + n, o);
    for (size_t i = 1; i < ctx->inputs.size(); ++i) {
      const T* in = ctx->inputs[i].flat<T>();
      for (int64_t k = 0; k < n; ++k) o[k] += in[k];
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

// Size(input): its number of elements, as out_type (int32 by default).
Status Size(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const int64_t n = ctx->inputs[0].num_elements();
  const DataType out_type = TypeAttr(*ctx, "out_type", DataType::kInt32);
  if (out_type == DataType::kInt64) {
    ctx->outputs = {Tensor::Scalar<int64_t>(n)};
  } else if (out_type == DataType::kInt32) {
    if (n > INT32_MAX) {
      return InvalidArg(*ctx,
                        "Number of elements was larger than representable by 32-bit "
                        "output type");
    }
    ctx->outputs = {Tensor::Scalar<int32_t>(static_cast<int32_t>(n))};
  } else {
    return UnsupportedDtype(*ctx, out_type, "int32, int64");
  }
  return Status::OK();
}

// Rank(input): an int32 scalar.
Status Rank(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  ctx->outputs = {Tensor::Scalar<int32_t>(ctx->inputs[0].shape().rank())};
  return Status::OK();
}

// Assert(condition, data...): no outputs; InvalidArgument when the scalar
// condition is false ("assertion failed: " and the shapes of the data, as
// ckpt does not format summarized values).
Status Assert(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1, /*exact=*/false));
  const Tensor& cond = ctx->inputs[0];
  if (cond.dtype() != DataType::kBool || cond.num_elements() != 1) {
    return InvalidArg(*ctx, "In[0] expects a scalar bool, got " +
                                std::string(DataTypeName(cond.dtype())) +
                                cond.shape().DebugString());
  }
  ctx->outputs.clear();
  if (*cond.flat<bool>()) return Status::OK();
  std::string message = "assertion failed: [";
  for (size_t i = 1; i < ctx->inputs.size(); ++i) {
    const Tensor& t = ctx->inputs[i];
    if (i > 1) message += "] [";
    if (t.dtype() == DataType::kString && t.num_elements() == 1) {
      message += t.strings()[0];
    } else {
      message += std::string(DataTypeName(t.dtype())) + t.shape().DebugString();
    }
  }
  return InvalidArg(*ctx, message + "]");
}

// DynamicPartition(data, partitions; num_partitions): output i holds, in
// order, the slices data[j...] whose partitions[j...] == i. partitions.shape
// must be a prefix of data.shape.
Status DynamicPartition(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& data = ctx->inputs[0];
  const Tensor& part = ctx->inputs[1];
  CKPT_RETURN_IF_ERROR(RequireFixedSize(*ctx, data));
  if (part.dtype() != DataType::kInt32) {
    return UnsupportedDtype(*ctx, part.dtype(), "int32 partitions");
  }
  const int64_t num = IntAttrOr(*ctx, "num_partitions", -1);
  if (num < 1)
    return InvalidArg(*ctx, "num_partitions must be at least 1, got " + std::to_string(num));
  if (!StartsWith(data.shape(), part.shape())) {
    return InvalidArg(*ctx, "data.shape must start with partitions.shape, got data.shape = " +
                                data.shape().DebugString() +
                                ", partitions.shape = " + part.shape().DebugString());
  }
  const int32_t* p = part.flat<int32_t>();
  const int64_t n = part.num_elements();
  std::vector<int64_t> counts(num, 0);
  for (int64_t j = 0; j < n; ++j) {
    if (p[j] < 0 || p[j] >= num) {
      return InvalidArg(*ctx, "partitions[" + std::to_string(j) + "] = " + std::to_string(p[j]) +
                                  " is not in [0, " + std::to_string(num) + ")");
    }
    ++counts[p[j]];
  }
  const std::vector<int64_t> inner = DimsFrom(data.shape(), part.shape().rank());
  int64_t slab_elems = 1;
  for (int64_t d : inner) slab_elems *= d;
  const size_t slab = static_cast<size_t>(slab_elems) * DataTypeSize(data.dtype());
  std::vector<Tensor> outs;
  std::vector<char*> cursor;
  for (int64_t i = 0; i < num; ++i) {
    std::vector<int64_t> dims{counts[i]};
    dims.insert(dims.end(), inner.begin(), inner.end());
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, data.dtype(), TensorShape(dims)));
    outs.push_back(std::move(out));
  }
  for (Tensor& t : outs) cursor.push_back(t.mutable_data());
  for (int64_t j = 0; j < n; ++j) {
    if (slab == 0) break;
    std::memcpy(cursor[p[j]], data.data() + j * slab, slab);
    cursor[p[j]] += slab;
  }
  ctx->outputs = std::move(outs);
  return Status::OK();
}

// DynamicStitch / ParallelDynamicStitch(indices[N], data[N]):
// merged[indices[m][i...], ...] = data[m][i..., ...]; merged has
// max(indices) + 1 rows, rows no index names are zero; for a repeated index
// the later input wins.
Status DynamicStitch(KernelContext* ctx) {
  const size_t total = ctx->inputs.size();
  if (total == 0 || total % 2 != 0) {
    return InvalidArg(
        *ctx, "expects N indices and N data inputs, got " + std::to_string(total) + " inputs");
  }
  const size_t n = total / 2;
  const Tensor& data0 = ctx->inputs[n];
  CKPT_RETURN_IF_ERROR(RequireFixedSize(*ctx, data0));
  const int index_rank0 = ctx->inputs[0].shape().rank();
  if (!StartsWith(data0.shape(), ctx->inputs[0].shape())) {
    return InvalidArg(*ctx, "data[0].shape = " + data0.shape().DebugString() +
                                " does not start with indices[0].shape = " +
                                ctx->inputs[0].shape().DebugString());
  }
  const std::vector<int64_t> inner = DimsFrom(data0.shape(), index_rank0);
  std::vector<std::vector<int64_t>> indices(n);
  int64_t max_index = -1;
  for (size_t m = 0; m < n; ++m) {
    const Tensor& idx = ctx->inputs[m];
    const Tensor& data = ctx->inputs[n + m];
    if (idx.dtype() != DataType::kInt32) return UnsupportedDtype(*ctx, idx.dtype(), "int32");
    if (data.dtype() != data0.dtype()) {
      return InvalidArg(*ctx, "data[" + std::to_string(m) + "] has dtype " +
                                  std::string(DataTypeName(data.dtype())) + ", data[0] has " +
                                  std::string(DataTypeName(data0.dtype())));
    }
    std::vector<int64_t> expected = idx.shape().dims();
    expected.insert(expected.end(), inner.begin(), inner.end());
    if (data.shape() != TensorShape(expected)) {
      return InvalidArg(*ctx, "data[" + std::to_string(m) + "].shape = " +
                                  data.shape().DebugString() + " does not start with indices[" +
                                  std::to_string(m) + "].shape = " + idx.shape().DebugString());
    }
    CKPT_ASSIGN_OR_RETURN(indices[m], IndexValues(*ctx, idx, "indices"));
    for (int64_t v : indices[m]) {
      if (v < 0) {
        return InvalidArg(
            *ctx, "indices[" + std::to_string(m) + "] has a negative index " + std::to_string(v));
      }
      max_index = std::max(max_index, v);
    }
  }
  std::vector<int64_t> dims{max_index + 1};
  dims.insert(dims.end(), inner.begin(), inner.end());
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, data0.dtype(), TensorShape(dims)));
  int64_t slab_elems = 1;
  for (int64_t d : inner) slab_elems *= d;
  const size_t slab = static_cast<size_t>(slab_elems) * DataTypeSize(data0.dtype());
  for (size_t m = 0; m < n && slab > 0; ++m) {
    const char* src = ctx->inputs[n + m].data();
    for (size_t i = 0; i < indices[m].size(); ++i) {
      std::memcpy(out.mutable_data() + indices[m][i] * slab, src + i * slab, slab);
    }
  }
  ctx->outputs = {out};
  return Status::OK();
}

}  // namespace ckpt::ops
