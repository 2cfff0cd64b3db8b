// Ops that pick elements by position: Slice, StridedSlice, Gather/GatherV2,
// Tile, OneHot, Unpack, Range, Pad/PadV2, Split/SplitV, TopKV2. Element moves
// are CopyElements, so every fixed-size dtype and string works.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

// Row-major strides of a shape.
std::vector<int64_t> Strides(const TensorShape& s) {
  std::vector<int64_t> st(s.rank(), 1);
  for (int d = s.rank() - 2; d >= 0; --d) st[d] = st[d + 1] * s.dim(d + 1);
  return st;
}

int64_t Product(const std::vector<int64_t>& dims, int from, int to) {
  int64_t p = 1;
  for (int d = from; d < to; ++d) p *= dims[d];
  return p;
}

}  // namespace

// Slice(input, begin, size): size[i] == -1 means "to the end".
Status Slice(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 3));
  const Tensor& x = ctx->inputs[0];
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, x));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> begin, IndexValues(*ctx, ctx->inputs[1], "begin"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> size, IndexValues(*ctx, ctx->inputs[2], "size"));
  const int rank = x.shape().rank();
  if (static_cast<int>(begin.size()) != rank || static_cast<int>(size.size()) != rank) {
    return InvalidArg(*ctx, "Expected begin and size arguments to be 1-D tensors of size " +
                                std::to_string(rank) + ", but got shapes " +
                                ctx->inputs[1].shape().DebugString() + " and " +
                                ctx->inputs[2].shape().DebugString() + " instead.");
  }
  for (int d = 0; d < rank; ++d) {
    const int64_t dim = x.shape().dim(d);
    if (size[d] == -1) size[d] = dim - begin[d];
    if (begin[d] < 0 || size[d] < 0 || begin[d] + size[d] > dim) {
      return InvalidArg(*ctx, "Expected begin[" + std::to_string(d) + "] in [0, " +
                                  std::to_string(dim) + "] and size[" + std::to_string(d) +
                                  "] in [0, " + std::to_string(dim - begin[d]) + "], but got " +
                                  std::to_string(begin[d]) + " and " + std::to_string(size[d]));
    }
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), TensorShape(size)));
  const std::vector<int64_t> st = Strides(x.shape());
  std::vector<int64_t> pos(rank, 0);
  for (int64_t k = 0; k < out.num_elements(); ++k) {
    int64_t at = 0;
    for (int d = 0; d < rank; ++d) at += (begin[d] + pos[d]) * st[d];
    CopyElements(x, at, &out, k);
    for (int d = rank - 1; d >= 0 && ++pos[d] == size[d]; --d) pos[d] = 0;
  }
  ctx->outputs = {out};
  return Status::OK();
}

// GatherV2(params, indices, axis) with attr batch_dims (negative counts from
// indices' rank); Gather is GatherV2 on axis 0, and so is ResourceGather
// (whose resource input the executor has read) on axis batch_dims. The first
// batch_dims dims of params and indices are shared batch dims:
// out.shape = params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis+1:].
Status GatherV2(KernelContext* ctx) {
  const bool v1 = ctx->node->op() == "Gather" || ctx->node->op() == "ResourceGather";
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, v1 ? 2 : 3));
  const Tensor& params = ctx->inputs[0];
  const TensorShape& ishape = ctx->inputs[1].shape();
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, params));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> indices,
                        IndexValues(*ctx, ctx->inputs[1], "indices"));
  int64_t batch_dims = 0;
  if (auto it = ctx->node->attr().find("batch_dims"); it != ctx->node->attr().end()) {
    batch_dims = it->second.i();
  }
  if (batch_dims < -ishape.rank() || batch_dims > ishape.rank()) {
    return InvalidArg(*ctx, "Expected batch_dims in the range [" +
                                std::to_string(-ishape.rank()) + ", " +
                                std::to_string(ishape.rank()) + "], but got " +
                                std::to_string(batch_dims));
  }
  if (batch_dims < 0) batch_dims += ishape.rank();
  int64_t axis_v = batch_dims;  // Gather: 0; ResourceGather: batch_dims
  if (!v1) {
    CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> a, IndexValues(*ctx, ctx->inputs[2], "axis"));
    if (a.size() != 1) return InvalidArg(*ctx, "axis must be a scalar");
    axis_v = a[0];
  }
  const int rank = params.shape().rank();
  if (rank == 0) return InvalidArg(*ctx, "params must be at least 1 dimensional");
  CKPT_ASSIGN_OR_RETURN(int axis, NormalizeAxis(*ctx, axis_v, rank));
  if (batch_dims != 0) {
    if (batch_dims >= rank) {
      return InvalidArg(*ctx, "batch_dims (" + std::to_string(batch_dims) +
                                  ") must be less than rank(params) (" + std::to_string(rank) +
                                  ").");
    }
    if (axis < batch_dims) {
      return InvalidArg(*ctx, "batch_dims (" + std::to_string(batch_dims) +
                                  ") must be less than or equal to axis (" +
                                  std::to_string(axis) + ").");
    }
    for (int d = 0; d < batch_dims; ++d) {
      if (params.shape().dim(d) != ishape.dim(d)) {
        return InvalidArg(*ctx, "params.shape[" + std::to_string(d) +
                                    "]: " + std::to_string(params.shape().dim(d)) +
                                    " should be equal to indices.shape[" + std::to_string(d) +
                                    "]: " + std::to_string(ishape.dim(d)));
      }
    }
  }
  const std::vector<int64_t>& pd = params.shape().dims();
  const int64_t limit = pd[axis];
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= limit) {
      return InvalidArg(*ctx, "indices[" + std::to_string(i) + "] = " +
                                  std::to_string(indices[i]) + " is not in [0, " +
                                  std::to_string(limit) + ")");
    }
  }
  const int bd = static_cast<int>(batch_dims);
  std::vector<int64_t> dims(pd.begin(), pd.begin() + axis);
  for (int d = bd; d < ishape.rank(); ++d) dims.push_back(ishape.dim(d));
  dims.insert(dims.end(), pd.begin() + axis + 1, pd.end());
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, params.dtype(), TensorShape(dims)));
  const int64_t batches = Product(pd, 0, bd);
  const int64_t outer = Product(pd, bd, axis);  // per batch
  const int64_t per_batch = batches == 0 ? 0 : static_cast<int64_t>(indices.size()) / batches;
  const int64_t slab = Product(pd, axis + 1, rank);  // elements per index
  int64_t at = 0;
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < per_batch; ++k) {
        const int64_t idx = indices[b * per_batch + k];
        CopyElements(params, ((b * outer + o) * limit + idx) * slab, &out, at, slab);
        at += slab;
      }
    }
  }
  ctx->outputs = {out};
  return Status::OK();
}

// Tile(input, multiples): out.dim(i) = input.dim(i) * multiples[i].
Status Tile(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, x));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> mult,
                        IndexValues(*ctx, ctx->inputs[1], "multiples"));
  const int rank = x.shape().rank();
  if (static_cast<int>(mult.size()) != rank) {
    return InvalidArg(*ctx, "Expected multiples argument to be a vector of length " +
                                std::to_string(rank) + " but got length " +
                                std::to_string(mult.size()));
  }
  std::vector<int64_t> dims(rank);
  for (int d = 0; d < rank; ++d) {
    if (mult[d] < 0) {
      return InvalidArg(*ctx, "Expected multiples[" + std::to_string(d) + "] >= 0, but got " +
                                  std::to_string(mult[d]));
    }
    dims[d] = x.shape().dim(d) * mult[d];
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), TensorShape(dims)));
  const std::vector<int64_t> st = Strides(x.shape());
  std::vector<int64_t> pos(rank, 0);
  for (int64_t k = 0; k < out.num_elements(); ++k) {
    int64_t at = 0;
    for (int d = 0; d < rank; ++d) at += (pos[d] % x.shape().dim(d)) * st[d];
    CopyElements(x, at, &out, k);
    for (int d = rank - 1; d >= 0 && ++pos[d] == dims[d]; --d) pos[d] = 0;
  }
  ctx->outputs = {out};
  return Status::OK();
}

// OneHot(indices, depth, on_value, off_value), attr axis (-1: a new last dim).
// An index outside [0, depth) gives a row of off_value.
Status OneHot(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 4));
  const Tensor& on = ctx->inputs[2];
  const Tensor& off = ctx->inputs[3];
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> idx, IndexValues(*ctx, ctx->inputs[0], "indices"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> depth_v, IndexValues(*ctx, ctx->inputs[1], "depth"));
  if (depth_v.size() != 1 || depth_v[0] < 0) {
    return InvalidArg(*ctx, "depth must be a non-negative scalar");
  }
  if (on.num_elements() != 1 || off.num_elements() != 1 || on.dtype() != off.dtype()) {
    return InvalidArg(*ctx, "on_value and off_value must be scalars of one dtype");
  }
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, on));
  const int64_t depth = depth_v[0];
  const int rank = ctx->inputs[0].shape().rank();
  auto it = ctx->node->attr().find("axis");
  const int64_t axis_attr = it != ctx->node->attr().end() ? it->second.i() : -1;
  if (axis_attr < -1 || axis_attr > rank) {
    return InvalidArg(*ctx, "Expected axis to be -1 or between [0, " + std::to_string(rank) +
                                "].  But received: " + std::to_string(axis_attr));
  }
  const int axis = axis_attr == -1 ? rank : static_cast<int>(axis_attr);
  std::vector<int64_t> dims = ctx->inputs[0].shape().dims();
  const int64_t outer = Product(dims, 0, axis);
  const int64_t inner = Product(dims, axis, rank);
  dims.insert(dims.begin() + axis, depth);
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, on.dtype(), TensorShape(dims)));
  // out[o][d][i] = (idx[o * inner + i] == d) ? on : off.
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t d = 0; d < depth; ++d) {
      for (int64_t i = 0; i < inner; ++i) {
        const bool hot = idx[o * inner + i] == d;
        CopyElements(hot ? on : off, 0, &out, (o * depth + d) * inner + i);
      }
    }
  }
  ctx->outputs = {out};
  return Status::OK();
}

// Unpack(value), attrs num and axis: num outputs, each value with axis removed.
Status Unpack(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, x));
  const int rank = x.shape().rank();
  auto it = ctx->node->attr().find("axis");
  CKPT_ASSIGN_OR_RETURN(int axis, NormalizeAxis(*ctx, it != ctx->node->attr().end()
                                                          ? it->second.i() : 0, rank));
  const std::vector<int64_t>& xd = x.shape().dims();
  const int64_t num = xd[axis];
  auto nit = ctx->node->attr().find("num");
  if (nit != ctx->node->attr().end() && nit->second.i() != num) {
    return InvalidArg(*ctx, "Input shape axis " + std::to_string(axis) + " must equal " +
                                std::to_string(nit->second.i()) + ", got shape " +
                                x.shape().DebugString());
  }
  std::vector<int64_t> dims = xd;
  dims.erase(dims.begin() + axis);
  const int64_t outer = Product(xd, 0, axis);
  const int64_t slab = Product(xd, axis + 1, rank);
  ctx->outputs.clear();
  for (int64_t n = 0; n < num; ++n) {
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), TensorShape(dims)));
    for (int64_t o = 0; o < outer; ++o) {
      CopyElements(x, (o * num + n) * slab, &out, o * slab, slab);
    }
    ctx->outputs.push_back(out);
  }
  return Status::OK();
}

// Range(start, limit, delta): ceil((limit - start) / delta) values.
Status Range(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 3));
  const DataType dtype = ctx->inputs[0].dtype();
  for (const Tensor& t : ctx->inputs) {
    if (t.dtype() != dtype || t.num_elements() != 1) {
      return InvalidArg(*ctx, "start, limit and delta must be scalars of one dtype");
    }
  }
  return DispatchNumeric(*ctx, dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T start = ctx->inputs[0].flat<T>()[0];
    const T limit = ctx->inputs[1].flat<T>()[0];
    const T delta = ctx->inputs[2].flat<T>()[0];
    if (delta == T{0}) return InvalidArg(*ctx, "Requires delta != 0: " + std::to_string(delta));
    if (delta > 0 ? start > limit : start < limit) {
      return InvalidArg(*ctx, std::string("Requires start ") + (delta > 0 ? "<=" : ">=") +
                                  " limit when delta " + (delta > 0 ? ">" : "<") + " 0: " +
                                  std::to_string(start) + "/" + std::to_string(limit));
    }
    int64_t n;
    if constexpr (std::is_integral_v<T>) {
      const T span = delta > 0 ? limit - start : start - limit;
      const T step = delta > 0 ? delta : static_cast<T>(-delta);
      n = static_cast<int64_t>((span + step - 1) / step);
    } else {
      n = static_cast<int64_t>(std::ceil(std::abs((limit - start) / delta)));
    }
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, dtype, TensorShape{n}));
    T v = start;
    for (int64_t i = 0; i < n; ++i, v += delta) out.mutable_flat<T>()[i] = v;
    ctx->outputs = {out};
    return Status::OK();
  });
}

namespace {

int64_t IntAttr(const KernelContext& ctx, const std::string& name) {
  auto it = ctx.node->attr().find(name);
  return it != ctx.node->attr().end() ? it->second.i() : 0;
}

// One input dimension of a strided slice: first index, step, count, and
// whether the output keeps it (shrink_axis drops it).
struct DimSlice {
  int64_t begin = 0, stride = 1, size = 0;
};

}  // namespace

// StridedSlice(input, begin, end, strides) with begin_mask, end_mask,
// ellipsis_mask, new_axis_mask, shrink_axis_mask, as Python's x[b:e:s, ...].
// Phase 1 expands the sparse spec (ellipsis, new axes) to one entry per input
// dim; phase 2 resolves each dim's range; phase 3 copies.
Status StridedSlice(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 4));
  const Tensor& x = ctx->inputs[0];
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, x));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> begin, IndexValues(*ctx, ctx->inputs[1], "begin"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> end, IndexValues(*ctx, ctx->inputs[2], "end"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> strides,
                        IndexValues(*ctx, ctx->inputs[3], "strides"));
  const int n = static_cast<int>(begin.size());
  if (static_cast<int>(end.size()) != n || static_cast<int>(strides.size()) != n) {
    return InvalidArg(*ctx, "Expected begin, end, and strides to be 1D equal size tensors, but "
                            "got shapes " + ctx->inputs[1].shape().DebugString() + ", " +
                                ctx->inputs[2].shape().DebugString() + ", and " +
                                ctx->inputs[3].shape().DebugString() + " instead.");
  }
  const int64_t begin_mask = IntAttr(*ctx, "begin_mask"), end_mask = IntAttr(*ctx, "end_mask");
  const int64_t ellipsis_mask = IntAttr(*ctx, "ellipsis_mask");
  const int64_t new_axis_mask = IntAttr(*ctx, "new_axis_mask");
  const int64_t shrink_mask = IntAttr(*ctx, "shrink_axis_mask");
  auto bit = [](int64_t mask, int i) { return ((mask >> i) & 1) != 0; };
  if ((ellipsis_mask & (ellipsis_mask - 1)) != 0) {
    return InvalidArg(*ctx, "Multiple ellipses in slice spec not allowed");
  }
  const int rank = x.shape().rank();

  // Phase 1: the output shape is built as the spec is walked; `dims` gets one
  // entry per input dim.
  std::vector<DimSlice> dims;
  std::vector<int64_t> out_dims;
  int consumed = 0;  // sparse entries that consume an input dim (not new-axis, not ellipsis)
  for (int i = 0; i < n; ++i) {
    if (!bit(ellipsis_mask, i) && !bit(new_axis_mask, i)) ++consumed;
  }
  const bool has_ellipsis = ellipsis_mask != 0;
  if (consumed > rank) {
    return InvalidArg(*ctx, "Index out of range using input dim " + std::to_string(rank) +
                                "; input has only " + std::to_string(rank) + " dims");
  }
  auto full = [&](int d) {
    dims.push_back({0, 1, x.shape().dim(d)});
    out_dims.push_back(x.shape().dim(d));
  };
  for (int i = 0; i < n; ++i) {
    if (bit(ellipsis_mask, i)) {
      for (int k = 0; k < rank - consumed; ++k) full(static_cast<int>(dims.size()));
      continue;
    }
    if (bit(new_axis_mask, i)) {
      out_dims.push_back(1);
      continue;
    }
    // Phase 2: one input dim.
    const int d = static_cast<int>(dims.size());
    const int64_t dim = x.shape().dim(d);
    const int64_t st = strides[i];
    if (st == 0) return InvalidArg(*ctx, "strides[" + std::to_string(i) + "] must be non-zero");
    if (bit(shrink_mask, i)) {
      const int64_t b = begin[i] < 0 ? begin[i] + dim : begin[i];
      if (b < 0 || b >= dim) {
        return InvalidArg(*ctx, "slice index " + std::to_string(begin[i]) + " of dimension " +
                                    std::to_string(d) + " out of bounds.");
      }
      dims.push_back({b, 1, 1});
      continue;
    }
    auto resolve = [&](int64_t v, bool masked, bool is_begin) {
      if (masked) return st > 0 ? (is_begin ? 0 : dim) : (is_begin ? dim - 1 : -1);
      if (v < 0) v += dim;
      return st > 0 ? std::clamp<int64_t>(v, 0, dim) : std::clamp<int64_t>(v, -1, dim - 1);
    };
    const int64_t b = resolve(begin[i], bit(begin_mask, i), true);
    const int64_t e = resolve(end[i], bit(end_mask, i), false);
    const int64_t span = st > 0 ? e - b : b - e;
    const int64_t step = st > 0 ? st : -st;
    const int64_t size = span <= 0 ? 0 : (span + step - 1) / step;
    dims.push_back({b, st, size});
    out_dims.push_back(size);
  }
  if (!has_ellipsis) {
    while (static_cast<int>(dims.size()) < rank) full(static_cast<int>(dims.size()));
  }

  // Phase 3: walk the selected elements in order; the output is their
  // sequence (new and shrunk axes are size 1 and do not change the order).
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), TensorShape(out_dims)));
  const std::vector<int64_t> stv = Strides(x.shape());
  std::vector<int64_t> pos(rank, 0);
  for (int64_t k = 0; k < out.num_elements(); ++k) {
    int64_t at = 0;
    for (int d = 0; d < rank; ++d) at += (dims[d].begin + pos[d] * dims[d].stride) * stv[d];
    CopyElements(x, at, &out, k);
    for (int d = rank - 1; d >= 0 && ++pos[d] == dims[d].size; --d) pos[d] = 0;
  }
  ctx->outputs = {out};
  return Status::OK();
}

// Pad(input, paddings) and PadV2(..., constant_values): paddings is [rank, 2]
// (before, after) per dim; the new elements are 0 or constant_values.
Status Pad(KernelContext* ctx) {
  const bool v2 = ctx->node->op() == "PadV2";
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, v2 ? 3 : 2));
  const Tensor& x = ctx->inputs[0];
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, x));
  const int rank = x.shape().rank();
  const TensorShape& ps = ctx->inputs[1].shape();
  if (ps.rank() != 2 || ps.dim(0) != rank || ps.dim(1) != 2) {
    return InvalidArg(*ctx, "The first dimension of paddings must be the rank of inputs" +
                                std::string(" and the second 2: ") + ps.DebugString() +
                                " for input " + x.shape().DebugString());
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> pads, IndexValues(*ctx, ctx->inputs[1], "paddings"));
  std::vector<int64_t> dims(rank);
  for (int d = 0; d < rank; ++d) {
    if (pads[2 * d] < 0 || pads[2 * d + 1] < 0) {
      return InvalidArg(*ctx, "Paddings must be non-negative: " + std::to_string(pads[2 * d]) +
                                  " " + std::to_string(pads[2 * d + 1]));
    }
    dims[d] = pads[2 * d] + x.shape().dim(d) + pads[2 * d + 1];
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), TensorShape(dims)));
  if (v2) {
    const Tensor& cv = ctx->inputs[2];
    if (cv.num_elements() != 1 || cv.dtype() != x.dtype()) {
      return InvalidArg(*ctx, "constant_values must be a scalar of the input's dtype");
    }
    for (int64_t k = 0; k < out.num_elements(); ++k) CopyElements(cv, 0, &out, k);
  }  // else: Allocate zero-fills (empty strings)
  const std::vector<int64_t> st = Strides(out.shape());
  std::vector<int64_t> pos(rank, 0);
  for (int64_t k = 0; k < x.num_elements(); ++k) {
    int64_t at = 0;
    for (int d = 0; d < rank; ++d) at += (pos[d] + pads[2 * d]) * st[d];
    CopyElements(x, k, &out, at);
    for (int d = rank - 1; d >= 0 && ++pos[d] == x.shape().dim(d); --d) pos[d] = 0;
  }
  ctx->outputs = {out};
  return Status::OK();
}

namespace {

// The pieces of x along axis, of the given sizes (summing to the dim).
Status SplitInto(KernelContext* ctx, const Tensor& x, int axis, const std::vector<int64_t>& sizes) {
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, x));
  const std::vector<int64_t>& xd = x.shape().dims();
  const int64_t outer = Product(xd, 0, axis);
  const int64_t inner = Product(xd, axis + 1, x.shape().rank());
  ctx->outputs.clear();
  int64_t offset = 0;
  for (int64_t size : sizes) {
    std::vector<int64_t> dims = xd;
    dims[axis] = size;
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), TensorShape(dims)));
    for (int64_t o = 0; o < outer; ++o) {
      CopyElements(x, (o * xd[axis] + offset) * inner, &out, o * size * inner, size * inner);
    }
    offset += size;
    ctx->outputs.push_back(out);
  }
  return Status::OK();
}

}  // namespace

// Split(axis, value), attr num_split: equal pieces.
Status Split(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[1];
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> a, IndexValues(*ctx, ctx->inputs[0], "axis"));
  if (a.size() != 1) return InvalidArg(*ctx, "axis must be a scalar");
  CKPT_ASSIGN_OR_RETURN(int axis, NormalizeAxis(*ctx, a[0], x.shape().rank()));
  const int64_t num = IntAttr(*ctx, "num_split");
  const int64_t dim = x.shape().dim(axis);
  if (num <= 0 || dim % num != 0) {
    return InvalidArg(*ctx, "Number of ways to split should evenly divide the split dimension, "
                            "but got split_dim " + std::to_string(axis) + " (size = " +
                                std::to_string(dim) + ") and num_split " + std::to_string(num));
  }
  return SplitInto(ctx, x, axis, std::vector<int64_t>(num, dim / num));
}

// SplitV(value, size_splits, axis): given sizes, at most one -1 (the rest).
Status SplitV(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 3));
  const Tensor& x = ctx->inputs[0];
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> sizes,
                        IndexValues(*ctx, ctx->inputs[1], "size_splits"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> a, IndexValues(*ctx, ctx->inputs[2], "axis"));
  if (a.size() != 1) return InvalidArg(*ctx, "axis must be a scalar");
  CKPT_ASSIGN_OR_RETURN(int axis, NormalizeAxis(*ctx, a[0], x.shape().rank()));
  const int64_t dim = x.shape().dim(axis);
  int64_t known = 0;
  int unknown = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1 && unknown < 0) {
      unknown = static_cast<int>(i);
    } else if (sizes[i] < 0) {
      return InvalidArg(*ctx, "size_splits may hold one -1 and otherwise non-negative sizes");
    } else {
      known += sizes[i];
    }
  }
  if (unknown >= 0 && known <= dim) sizes[unknown] = dim - known;
  const bool unresolved = unknown >= 0 && known > dim;
  if (unresolved || std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != dim) {
    return InvalidArg(*ctx, "Determined shape must either match input shape along split_dim "
                            "exactly if fully specified, or be less than the size of the input "
                            "along split_dim if not fully specified.  Got: " +
                                std::to_string(known));
  }
  return SplitInto(ctx, x, axis, sizes);
}

// TopKV2(input, k): the k largest along the last dim, largest first, and their
// int32 indices; equal values keep the lower index first.
Status TopKV2(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> kv, IndexValues(*ctx, ctx->inputs[1], "k"));
  if (kv.size() != 1 || kv[0] < 0) return InvalidArg(*ctx, "k must be a non-negative scalar");
  const int rank = x.shape().rank();
  if (rank < 1) return InvalidArg(*ctx, "input must be at least rank 1");
  const int64_t k = kv[0], len = x.shape().dim(rank - 1);
  if (len < k) {
    return InvalidArg(*ctx, "input must have at least k columns. Had " + std::to_string(len) +
                                ", needed " + std::to_string(k));
  }
  std::vector<int64_t> dims = x.shape().dims();
  dims.back() = k;
  return DispatchNumeric(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor values, AllocateOutput(*ctx, x.dtype(), TensorShape(dims)));
    CKPT_ASSIGN_OR_RETURN(Tensor indices, AllocateOutput(*ctx, DataType::kInt32, TensorShape(dims)));
    const int64_t rows = len == 0 ? 0 : x.num_elements() / len;
    std::vector<int32_t> order(len);
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = x.flat<T>() + r * len;
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [row](int32_t a, int32_t b) { return row[a] > row[b]; });
      for (int64_t j = 0; j < k; ++j) {
        values.mutable_flat<T>()[r * k + j] = row[order[j]];
        indices.mutable_flat<int32_t>()[r * k + j] = order[j];
      }
    }
    ctx->outputs = {values, indices};
    return Status::OK();
  });
}

}  // namespace ckpt::ops
