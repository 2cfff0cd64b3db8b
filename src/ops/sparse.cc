// The ops tf.feature_column's inference paths use besides the math:
// Bucketize (bucketized_column), Where and GatherNd (dense -> sparse ids),
// and the sparse embedding lookup of embedding_column
// (SparseFillEmptyRows, SparseReshape, SparseSegmentSum/Mean/SqrtN), plus
// SparseToDense (indicator_column). A sparse tensor is TF's triple:
// indices [N, rank] int64, values [N], dense_shape [rank] int64.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

std::string Coords(const int64_t* at, int64_t n) {
  std::string s = "[";
  for (int64_t k = 0; k < n; ++k) s += (k ? "," : "") + std::to_string(at[k]);
  return s + "]";
}

Status RequireMatrix(const KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.shape().rank() != 2) {
    return InvalidArg(
        ctx, std::string(what) + " must be a matrix, got shape " + t.shape().DebugString());
  }
  return Status::OK();
}

template <typename T>
double AsDouble(const Tensor& t, int64_t i) {
  return static_cast<double>(t.flat<T>()[i]);
}

}  // namespace

// Bucketize(input; boundaries): for each x, the number of boundaries <= x.
Status Bucketize(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  std::vector<float> bounds;
  auto it = ctx->node->attr().find("boundaries");
  if (it != ctx->node->attr().end()) {
    bounds.assign(it->second.list().f().begin(), it->second.list().f().end());
  }
  if (!std::is_sorted(bounds.begin(), bounds.end())) {
    return InvalidArg(*ctx, "Expected sorted boundaries");
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, DataType::kInt32, x.shape()));
  int32_t* o = out.mutable_flat<int32_t>();
  return DispatchNumeric(*ctx, x.dtype(), [&](auto zero) -> Status {
    using T = decltype(zero);
    const T* in = x.flat<T>();
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      // TF compares in the boundaries' type (float).
      const float v = static_cast<float>(in[i]);
      o[i] =
          static_cast<int32_t>(std::upper_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

// Where(input): the coordinates (int64 [n, rank], row-major order) of the
// true / non-zero elements.
Status Where(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  if (x.shape().rank() == 0) return InvalidArg(*ctx, "WhereOp : Unhandled input dimensions: 0");
  std::vector<int64_t> hits;
  if (x.dtype() == DataType::kBool) {
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      if (x.flat<bool>()[i]) hits.push_back(i);
    }
  } else {
    CKPT_RETURN_IF_ERROR(DispatchNumeric(*ctx, x.dtype(), [&](auto zero) -> Status {
      using T = decltype(zero);
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        if (x.flat<T>()[i] != T(0)) hits.push_back(i);
      }
      return Status::OK();
    }));
  }
  const int rank = x.shape().rank();
  CKPT_ASSIGN_OR_RETURN(Tensor out,
                        AllocateOutput(*ctx, DataType::kInt64,
                                       TensorShape({static_cast<int64_t>(hits.size()), rank})));
  int64_t* o = out.mutable_flat<int64_t>();
  for (size_t h = 0; h < hits.size(); ++h) {
    int64_t rest = hits[h];
    for (int d = rank - 1; d >= 0; --d) {
      o[h * rank + d] = rest % x.shape().dim(d);
      rest /= x.shape().dim(d);
    }
  }
  ctx->outputs = {out};
  return Status::OK();
}

// GatherNd(params, indices): indices [..., K] address params' first K dims;
// out.shape = indices.shape[:-1] + params.shape[K:].
Status GatherNd(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& params = ctx->inputs[0];
  const Tensor& idx_t = ctx->inputs[1];
  const bool strings = params.dtype() == DataType::kString;
  if (!IsFixedSize(params.dtype()) && !strings) {
    return UnsupportedDtype(*ctx, params.dtype(), "fixed-size dtypes and string");
  }
  if (idx_t.shape().rank() < 1) {
    return InvalidArg(
        *ctx, "indices must be at least a vector, got shape " + idx_t.shape().DebugString());
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> idx, IndexValues(*ctx, idx_t, "indices"));
  const int k = static_cast<int>(idx_t.shape().dim(idx_t.shape().rank() - 1));
  if (k > params.shape().rank()) {
    return InvalidArg(
        *ctx, "index innermost dimension length must be <= params rank; saw: " + std::to_string(k) +
                  " vs. " + std::to_string(params.shape().rank()));
  }
  std::vector<int64_t> dims(idx_t.shape().dims().begin(), idx_t.shape().dims().end() - 1);
  int64_t slab_elems = 1;
  for (int d = k; d < params.shape().rank(); ++d) {
    dims.push_back(params.shape().dim(d));
    slab_elems *= params.shape().dim(d);
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, params.dtype(), TensorShape(dims)));
  const size_t slab = strings ? 0 : static_cast<size_t>(slab_elems) * DataTypeSize(params.dtype());
  const int64_t n = k == 0 ? out.num_elements() / std::max<int64_t>(slab_elems, 1)
                           : static_cast<int64_t>(idx.size()) / k;
  for (int64_t i = 0; i < n; ++i) {
    int64_t flat = 0;
    for (int d = 0; d < k; ++d) {
      const int64_t v = idx[i * k + d];
      if (v < 0 || v >= params.shape().dim(d)) {
        return InvalidArg(*ctx, "indices" + Coords(std::vector<int64_t>{i}.data(), 1) + " = " +
                                    Coords(&idx[i * k], k) + " does not index into param shape " +
                                    params.shape().DebugString());
      }
      flat = flat * params.shape().dim(d) + v;
    }
    if (strings) {
      std::copy_n(params.strings().begin() + flat * slab_elems, slab_elems,
                  out.mutable_strings()->begin() + i * slab_elems);
    } else if (slab > 0) {
      std::memcpy(out.mutable_data() + i * slab, params.data() + flat * slab, slab);
    }
  }
  ctx->outputs = {out};
  return Status::OK();
}

// SparseFillEmptyRows(indices, values, dense_shape, default_value):
// (output_indices, output_values, empty_row_indicator, reverse_index_map).
// Entries grouped by row, input order kept within a row; each empty row gets
// one entry [row, 0, ...] = default_value.
Status SparseFillEmptyRows(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 4));
  const Tensor& ind_t = ctx->inputs[0];
  const Tensor& values = ctx->inputs[1];
  const Tensor& def = ctx->inputs[3];
  CKPT_RETURN_IF_ERROR(RequireMatrix(*ctx, ind_t, "indices"));
  const bool strings = values.dtype() == DataType::kString;
  if (!IsFixedSize(values.dtype()) && !strings) {
    return UnsupportedDtype(*ctx, values.dtype(), "fixed-size dtypes and string");
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> ind, IndexValues(*ctx, ind_t, "indices"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                        IndexValues(*ctx, ctx->inputs[2], "dense_shape"));
  const int64_t n = ind_t.shape().dim(0);
  const int64_t rank = ind_t.shape().dim(1);
  if (values.num_elements() != n || static_cast<int64_t>(shape.size()) != rank || rank < 1 ||
      def.num_elements() != 1 || def.dtype() != values.dtype()) {
    return InvalidArg(*ctx, "indices " + ind_t.shape().DebugString() + ", values " +
                                values.shape().DebugString() + ", dense_shape " +
                                ctx->inputs[2].shape().DebugString() +
                                " and a scalar default_value do not describe a sparse tensor");
  }
  const int64_t rows = shape[0];
  std::vector<int64_t> count(rows, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = ind[i * rank];
    if (r < 0 || r >= rows) {
      return InvalidArg(*ctx, "indices(" + std::to_string(i) + ", 0) is invalid: " +
                                  std::to_string(r) + " >= " + std::to_string(rows));
    }
    ++count[r];
  }
  std::vector<int64_t> start(rows + 1, 0);
  for (int64_t r = 0; r < rows; ++r) start[r + 1] = start[r] + std::max<int64_t>(count[r], 1);
  const int64_t total = start[rows];
  const size_t elem = strings ? 0 : DataTypeSize(values.dtype());
  // One element of `from` (index i) into out_val (index at).
  auto copy_value = [&](Tensor* out_val, int64_t at, const Tensor& from, int64_t i) {
    if (strings) {
      (*out_val->mutable_strings())[at] = from.strings()[i];
    } else {
      std::memcpy(out_val->mutable_data() + at * elem, from.data() + i * elem, elem);
    }
  };
  CKPT_ASSIGN_OR_RETURN(Tensor out_ind,
                        AllocateOutput(*ctx, DataType::kInt64, TensorShape({total, rank})));
  CKPT_ASSIGN_OR_RETURN(Tensor out_val, AllocateOutput(*ctx, values.dtype(), TensorShape({total})));
  CKPT_ASSIGN_OR_RETURN(Tensor empty, AllocateOutput(*ctx, DataType::kBool, TensorShape({rows})));
  CKPT_ASSIGN_OR_RETURN(Tensor reverse, AllocateOutput(*ctx, DataType::kInt64, TensorShape({n})));
  std::vector<int64_t> next(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t at = next[ind[i * rank]]++;
    std::copy(&ind[i * rank], &ind[i * rank] + rank, out_ind.mutable_flat<int64_t>() + at * rank);
    copy_value(&out_val, at, values, i);
    reverse.mutable_flat<int64_t>()[i] = at;
  }
  for (int64_t r = 0; r < rows; ++r) {
    empty.mutable_flat<bool>()[r] = count[r] == 0;
    if (count[r] > 0) continue;
    int64_t* row = out_ind.mutable_flat<int64_t>() + start[r] * rank;
    row[0] = r;  // the rest stays 0
    copy_value(&out_val, start[r], def, 0);
  }
  ctx->outputs = {out_ind, out_val, empty, reverse};
  return Status::OK();
}

// SparseReshape(input_indices, input_shape, new_shape): the same entries
// addressed in the new shape (one -1 inferred).
Status SparseReshape(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 3));
  CKPT_RETURN_IF_ERROR(RequireMatrix(*ctx, ctx->inputs[0], "input_indices"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> ind, IndexValues(*ctx, ctx->inputs[0], "indices"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> in_shape,
                        IndexValues(*ctx, ctx->inputs[1], "input_shape"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> out_shape,
                        IndexValues(*ctx, ctx->inputs[2], "new_shape"));
  const int64_t n = ctx->inputs[0].shape().dim(0);
  const int64_t in_rank = ctx->inputs[0].shape().dim(1);
  if (static_cast<int64_t>(in_shape.size()) != in_rank) {
    return InvalidArg(*ctx, "Input shape should be a vector of length " + std::to_string(in_rank) +
                                ", got " + std::to_string(in_shape.size()));
  }
  int64_t dense = 1, known = 1, unknown = -1;
  for (int64_t d : in_shape) dense *= d;
  for (size_t d = 0; d < out_shape.size(); ++d) {
    if (out_shape[d] == -1) {
      if (unknown >= 0) return InvalidArg(*ctx, "only one output dimension may be -1");
      unknown = static_cast<int64_t>(d);
    } else if (out_shape[d] < 0) {
      return InvalidArg(*ctx, "size " + std::to_string(d) + " must be non-negative, not " +
                                  std::to_string(out_shape[d]));
    } else {
      known *= out_shape[d];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || dense % known != 0) {
      return InvalidArg(*ctx, "Input to reshape is a SparseTensor with " + std::to_string(dense) +
                                  " dense values, but the requested shape requires a multiple "
                                  "of " +
                                  std::to_string(known));
    }
    out_shape[unknown] = dense / known;
  } else if (known != dense) {
    return InvalidArg(*ctx, "Input to reshape is a tensor with " + std::to_string(dense) +
                                " dense values, but the requested shape has " +
                                std::to_string(known));
  }
  const int64_t out_rank = static_cast<int64_t>(out_shape.size());
  CKPT_ASSIGN_OR_RETURN(Tensor out_ind,
                        AllocateOutput(*ctx, DataType::kInt64, TensorShape({n, out_rank})));
  int64_t* o = out_ind.mutable_flat<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t flat = 0;
    for (int64_t d = 0; d < in_rank; ++d) flat = flat * in_shape[d] + ind[i * in_rank + d];
    for (int64_t d = out_rank - 1; d >= 0; --d) {
      o[i * out_rank + d] = out_shape[d] == 0 ? 0 : flat % out_shape[d];
      if (out_shape[d] != 0) flat /= out_shape[d];
    }
  }
  ctx->outputs = {out_ind, Tensor::FromVector<int64_t>(TensorShape({out_rank}), out_shape)};
  return Status::OK();
}

// SparseSegmentSum / Mean / SqrtN(data, indices, segment_ids):
// out[s] = reduce over j with segment_ids[j] == s of data[indices[j]];
// segment_ids sorted; out has segment_ids[-1] + 1 rows, empty ones 0.
Status SparseSegmentReduce(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 3));
  const Tensor& data = ctx->inputs[0];
  const std::string& op = ctx->node->op();
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> idx, IndexValues(*ctx, ctx->inputs[1], "indices"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> seg, IndexValues(*ctx, ctx->inputs[2], "segment_ids"));
  if (data.shape().rank() < 1) return InvalidArg(*ctx, "data must be at least 1-D");
  if (idx.size() != seg.size()) {
    return InvalidArg(*ctx, "segment_ids and indices should have same size.");
  }
  const int64_t rows = data.shape().dim(0);
  for (size_t j = 0; j < seg.size(); ++j) {
    if (idx[j] < 0 || idx[j] >= rows) {
      return InvalidArg(*ctx, "Bad: indices[" + std::to_string(j) +
                                  "] == " + std::to_string(idx[j]) + " out of range [0, " +
                                  std::to_string(rows) + ")");
    }
    if (seg[j] < 0 || (j > 0 && seg[j] < seg[j - 1])) {
      return InvalidArg(*ctx, "segment ids are not increasing");
    }
  }
  const int64_t segments = seg.empty() ? 0 : seg.back() + 1;
  std::vector<int64_t> dims = data.shape().dims();
  dims[0] = segments;
  const int64_t inner = rows == 0 ? 0 : data.num_elements() / rows;
  return DispatchReal(*ctx, data.dtype(), [&](auto zero) -> Status {
    using T = decltype(zero);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, data.dtype(), TensorShape(dims)));
    T* o = out.mutable_flat<T>();
    const T* in = data.flat<T>();
    std::vector<int64_t> count(segments, 0);
    for (size_t j = 0; j < seg.size(); ++j) {
      ++count[seg[j]];
      for (int64_t k = 0; k < inner; ++k) o[seg[j] * inner + k] += in[idx[j] * inner + k];
    }
    for (int64_t s = 0; s < segments; ++s) {
      if (count[s] == 0 || op == "SparseSegmentSum") continue;
      const T div = op == "SparseSegmentMean" ? static_cast<T>(count[s])
                                              : std::sqrt(static_cast<T>(count[s]));
      for (int64_t k = 0; k < inner; ++k) o[s * inner + k] /= div;
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

// SparseToDense(sparse_indices, output_shape, sparse_values, default_value).
Status SparseToDense(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 4));
  const Tensor& ind_t = ctx->inputs[0];
  const Tensor& values = ctx->inputs[2];
  const Tensor& def = ctx->inputs[3];
  if (!IsFixedSize(values.dtype()) || def.dtype() != values.dtype() || def.num_elements() != 1) {
    return InvalidArg(*ctx,
                      "sparse_values and a scalar default_value of one fixed-size dtype "
                      "expected");
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> ind, IndexValues(*ctx, ind_t, "sparse_indices"));
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                        IndexValues(*ctx, ctx->inputs[1], "output_shape"));
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t n = ind_t.shape().rank() == 0 ? 1 : ind_t.shape().dim(0);
  const int64_t per = ind_t.shape().rank() == 2 ? ind_t.shape().dim(1) : 1;
  if (per != rank || (values.num_elements() != n && values.num_elements() != 1)) {
    return InvalidArg(*ctx, "sparse_indices " + ind_t.shape().DebugString() + ", output_shape " +
                                ctx->inputs[1].shape().DebugString() + " and sparse_values " +
                                values.shape().DebugString() + " do not agree");
  }
  // validate_indices (TF's default true): indices in strictly increasing
  // row-major order, as TF checks them.
  auto validate = ctx->node->attr().find("validate_indices");
  if (validate == ctx->node->attr().end() || validate->second.b()) {
    for (int64_t i = 1; i < n; ++i) {
      const int64_t* prev = &ind[(i - 1) * rank];
      const int64_t* cur = &ind[i * rank];
      if (std::equal(prev, prev + rank, cur)) {
        return InvalidArg(
            *ctx, "indices[" + std::to_string(i) + "] = " + Coords(cur, rank) + " is repeated");
      }
      if (std::lexicographical_compare(cur, cur + rank, prev, prev + rank)) {
        return InvalidArg(*ctx, "indices[" + std::to_string(i) + "] = " + Coords(cur, rank) +
                                    " is out of order. Many sparse ops require sorted indices.");
      }
    }
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, values.dtype(), TensorShape(shape)));
  const size_t elem = DataTypeSize(values.dtype());
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    std::memcpy(out.mutable_data() + i * elem, def.data(), elem);
  }
  for (int64_t i = 0; i < n; ++i) {
    int64_t flat = 0;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t v = ind[i * rank + d];
      if (v < 0 || v >= shape[d]) {
        return InvalidArg(
            *ctx, "indices[" + std::to_string(i) + "] = " + Coords(&ind[i * rank], rank) +
                      " is out of bounds: need 0 <= " + "index < " + Coords(shape.data(), rank));
      }
      flat = flat * shape[d] + v;
    }
    const int64_t src = values.num_elements() == 1 ? 0 : i;
    std::memcpy(out.mutable_data() + flat * elem, values.data() + src * elem, elem);
  }
  ctx->outputs = {out};
  return Status::OK();
}

}  // namespace ckpt::ops
