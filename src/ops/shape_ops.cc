// Ops that move or retype elements: Identity, Reshape (one -1 inferred),
// Shape, ExpandDims, Squeeze, ConcatV2, Cast, AsString, ArgMax, Transpose,
// Pack, and the makers ZerosLike, OnesLike, Fill.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

// Dispatch over the dtypes Cast converts between.
template <typename F>
Status DispatchCastable(const KernelContext& ctx, DataType dtype, F&& f) {
  switch (dtype) {
    case DataType::kBool: return f(bool{});
    case DataType::kInt64: return f(int64_t{});
    default:
      return DispatchNumeric(ctx, dtype, f);  // float, double, int32
  }
}

}  // namespace

Status Identity(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  ctx->outputs = {ctx->inputs[0]};  // tensors are immutable to kernels: share
  return Status::OK();
}

Status IdentityN(KernelContext* ctx) {
  ctx->outputs = ctx->inputs;
  return Status::OK();
}

Status Reshape(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  if (ctx->inputs[1].shape().rank() > 1) {
    return InvalidArg(*ctx, "shape must be a vector of {int32,int64}, got shape " +
                                ctx->inputs[1].shape().DebugString());
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> dims, IndexValues(*ctx, ctx->inputs[1], "shape"));
  // TF's rule: `known` multiplies the non-zero sizes only, so that a -1 next
  // to a 0 is still inferred from the input's non-zero dims ([0,3] -> [-1,0]
  // gives [3,0]).
  int unknown = -1;
  int64_t known = 1;
  bool has_zero = false;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (unknown >= 0) {
        return InvalidArg(*ctx, "Only one input size may be -1, not both " +
                                    std::to_string(unknown) + " and " + std::to_string(i));
      }
      unknown = static_cast<int>(i);
    } else if (dims[i] < 0) {
      return InvalidArg(*ctx, "Size " + std::to_string(i) +
                                  " must be non-negative, not " + std::to_string(dims[i]));
    } else if (dims[i] == 0) {
      has_zero = true;
    } else if (known > std::numeric_limits<int64_t>::max() / dims[i]) {
      return InvalidArg(*ctx, "Encountered overflow when multiplying " + std::to_string(known) +
                                  " with " + std::to_string(dims[i]));
    } else {
      known *= dims[i];
    }
  }
  const int64_t n = x.num_elements();
  if (unknown >= 0) {
    int64_t in = 1;  // the input's elements, its zero dims skipped when the shape has one
    bool in_zero = false;
    for (int64_t d : x.shape().dims()) {
      if (d == 0 && has_zero) {
        in_zero = true;
      } else {
        in *= d;
      }
    }
    if (!in_zero && in % known != 0) {
      return InvalidArg(*ctx, "Input to reshape is a tensor with " + std::to_string(n) +
                                  " values, but the requested shape requires a multiple of " +
                                  std::to_string(known));
    }
    dims[unknown] = in / known;
  }
  const int64_t total = has_zero ? 0 : unknown >= 0 ? known * dims[unknown] : known;
  if (total != n) {
    return InvalidArg(*ctx, "Input to reshape is a tensor with " + std::to_string(n) +
                                " values, but the requested shape has " + std::to_string(total));
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, WithShape(*ctx, x, TensorShape(std::move(dims))));
  ctx->outputs = {out};
  return Status::OK();
}

Status Shape(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const std::vector<int64_t>& dims = ctx->inputs[0].shape().dims();
  const TensorShape shape{static_cast<int64_t>(dims.size())};
  const DataType out_type = TypeAttr(*ctx, "out_type", DataType::kInt32);
  if (out_type == DataType::kInt64) {
    ctx->outputs = {Tensor::FromVector<int64_t>(shape, dims)};
  } else if (out_type == DataType::kInt32) {
    ctx->outputs = {Tensor::FromVector<int32_t>(shape, std::vector<int32_t>(dims.begin(),
                                                                           dims.end()))};
  } else {
    return UnsupportedDtype(*ctx, out_type, "int32, int64");
  }
  return Status::OK();
}

Status ExpandDims(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> dim, IndexValues(*ctx, ctx->inputs[1], "dim"));
  if (dim.size() != 1) {
    return InvalidArg(*ctx, "'dim' must be a tensor with a single value, got " +
                                std::to_string(dim.size()) + " values");
  }
  const int rank = x.shape().rank();
  if (dim[0] < -rank - 1 || dim[0] > rank) {
    return InvalidArg(*ctx, "Tried to expand dim index " + std::to_string(dim[0]) +
                                " for tensor with " + std::to_string(rank) + " dimensions.");
  }
  const int64_t at = dim[0] < 0 ? dim[0] + rank + 1 : dim[0];
  std::vector<int64_t> dims = x.shape().dims();
  dims.insert(dims.begin() + at, 1);
  CKPT_ASSIGN_OR_RETURN(Tensor out, WithShape(*ctx, x, TensorShape(std::move(dims))));
  ctx->outputs = {out};
  return Status::OK();
}

Status Squeeze(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  const int rank = x.shape().rank();
  std::vector<bool> drop(rank, false);
  const std::vector<int64_t> axes = IntListAttr(*ctx, "squeeze_dims");
  for (int64_t a : axes) {
    CKPT_ASSIGN_OR_RETURN(int d, NormalizeAxis(*ctx, a, rank));
    if (x.shape().dim(d) != 1) {
      return InvalidArg(*ctx, "Can not squeeze dim[" + std::to_string(d) +
                                  "], expected a dimension of 1, got " +
                                  std::to_string(x.shape().dim(d)));
    }
    drop[d] = true;
  }
  std::vector<int64_t> dims;
  for (int d = 0; d < rank; ++d) {
    const bool squeeze = axes.empty() ? x.shape().dim(d) == 1 : drop[d];
    if (!squeeze) dims.push_back(x.shape().dim(d));
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, WithShape(*ctx, x, TensorShape(std::move(dims))));
  ctx->outputs = {out};
  return Status::OK();
}

// ConcatV2(values..., axis): every value has the same rank and dims except
// along axis. Fixed-size dtypes, by bytes.
Status ConcatV2(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2, /*exact=*/false));
  const int n = static_cast<int>(ctx->inputs.size()) - 1;
  const Tensor& first = ctx->inputs[0];
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> axis_v,
                        IndexValues(*ctx, ctx->inputs[n], "axis"));
  if (axis_v.size() != 1) return InvalidArg(*ctx, "axis must be a scalar");
  const int rank = first.shape().rank();
  if (rank == 0) return InvalidArg(*ctx, "Can't concatenate scalars (use tf.stack instead)");
  CKPT_ASSIGN_OR_RETURN(int axis, NormalizeAxis(*ctx, axis_v[0], rank));
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, first));
  std::vector<int64_t> dims = first.shape().dims();
  dims[axis] = 0;
  for (int i = 0; i < n; ++i) {
    const Tensor& t = ctx->inputs[i];
    if (t.dtype() != first.dtype()) {
      return InvalidArg(*ctx, "ConcatV2 values differ in dtype: " +
                                  std::string(DataTypeName(first.dtype())) + " vs. " +
                                  std::string(DataTypeName(t.dtype())));
    }
    bool ok = t.shape().rank() == rank;
    for (int d = 0; ok && d < rank; ++d) ok = d == axis || t.shape().dim(d) == first.shape().dim(d);
    if (!ok) {
      return InvalidArg(*ctx, "ConcatOp : Dimension " + std::to_string(axis) +
                                  " in both shapes must be equal: shape[0] = " +
                                  first.shape().DebugString() + " vs. shape[" + std::to_string(i) +
                                  "] = " + t.shape().DebugString());
    }
    dims[axis] += t.shape().dim(axis);
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, first.dtype(), TensorShape(dims)));
  // Copy row by row: `outer` blocks, each the inputs' inner slabs in order.
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= dims[d];
  int64_t at = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int i = 0; i < n; ++i) {
      const Tensor& t = ctx->inputs[i];
      const int64_t slab = outer == 0 ? 0 : t.num_elements() / outer;
      CopyElements(t, o * slab, &out, at, slab);
      at += slab;
    }
  }
  ctx->outputs = {out};
  return Status::OK();
}

Status Cast(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  const DataType dst = TypeAttr(*ctx, "DstT", DataType::kInvalid);
  return DispatchCastable(*ctx, x.dtype(), [&](auto src_tag) -> Status {
    using S = decltype(src_tag);
    return DispatchCastable(*ctx, dst, [&](auto dst_tag) -> Status {
      using D = decltype(dst_tag);
      CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, dst, x.shape()));
      const S* px = x.flat<S>();
      D* po = out.mutable_flat<D>();
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        if constexpr (std::is_same_v<D, bool>) {
          po[i] = px[i] != S{0};
        } else {
          po[i] = static_cast<D>(px[i]);
        }
      }
      ctx->outputs = {out};
      return Status::OK();
    });
  });
}

// AsString(input): numbers to strings with printf's formats, as TF builds
// them from the attrs: "%" + fill + width + ("." precision) + ("e" if
// scientific, "g" if shortest, else "f") for reals; "%lld" for integers;
// "true"/"false" for bool. `fill` is a printf flag, as in TF: "0" pads with
// zeros, " " puts a space before non-negative numbers, "+" a plus sign, "-"
// left-aligns, "#" is the alternate form.
Status AsString(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  const auto& attrs = ctx->node->attr();
  auto int_attr = [&](const char* name, int64_t fallback) {
    auto it = attrs.find(name);
    return it != attrs.end() && it->second.value_case() == tensorflow::AttrValue::kI
               ? it->second.i() : fallback;
  };
  const int64_t width = int_attr("width", -1), precision = int_attr("precision", -1);
  auto it = attrs.find("fill");
  const std::string fill = it != attrs.end() ? it->second.s() : "";
  if (fill.size() > 1 ||
      (fill.size() == 1 && std::string_view(" +-0#").find(fill[0]) == std::string_view::npos)) {
    return InvalidArg(*ctx, "Fill argument not supported: \"" + fill + "\"");
  }
  const bool scientific = BoolAttr(*ctx, "scientific", false);
  const bool shortest = BoolAttr(*ctx, "shortest", false);
  if (scientific && shortest) {
    return InvalidArg(*ctx, "Cannot select both scientific and shortest notation");
  }
  std::string spec = "%" + fill;
  if (width > -1) spec += std::to_string(width);
  const bool real = x.dtype() == DataType::kFloat || x.dtype() == DataType::kDouble;
  const std::string type_name(DataTypeName(x.dtype()));
  if (!real && (scientific || shortest)) {
    return InvalidArg(*ctx, "scientific and shortest format not supported for datatype " +
                                type_name);
  }
  if (!real && precision > -1) {
    return InvalidArg(*ctx, "precision not supported for datatype " + type_name);
  }
  if (real) {
    if (precision > -1) spec += "." + std::to_string(precision);
    spec += scientific ? "e" : shortest ? "g" : "f";
  } else {
    spec += "lld";
  }
  std::vector<std::string> out(static_cast<size_t>(x.num_elements()));
  char buf[512];
  auto print = [&](auto v) {
    std::snprintf(buf, sizeof(buf), spec.c_str(), v);  // NOLINT: the format is built above
    return std::string(buf);
  };
  for (size_t i = 0; i < out.size(); ++i) {
    switch (x.dtype()) {
      case DataType::kFloat: out[i] = print(static_cast<double>(x.flat<float>()[i])); break;
      case DataType::kDouble: out[i] = print(x.flat<double>()[i]); break;
      case DataType::kInt32: out[i] = print(static_cast<long long>(x.flat<int32_t>()[i])); break;
      case DataType::kInt64: out[i] = print(static_cast<long long>(x.flat<int64_t>()[i])); break;
      case DataType::kBool: out[i] = x.flat<bool>()[i] ? "true" : "false"; break;
      default:
        return UnsupportedDtype(*ctx, x.dtype(), "float, double, int32, int64, bool");
    }
  }
  Result<Tensor> t = Tensor::FromStrings(x.shape(), std::move(out));
  if (!t.ok()) return InvalidArg(*ctx, t.status().message());
  ctx->outputs = {t.value()};
  return Status::OK();
}

// ArgMax(input, dimension): the index of the largest value along dimension,
// the first one on ties; output_type int64 (default) or int32. As TF's, the
// search starts at (index 0, lowest()) and only a larger value moves it: NaN
// and -inf never win, so an all-NaN or all -inf row gives 0.
Status ArgMax(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> dim_v,
                        IndexValues(*ctx, ctx->inputs[1], "dimension"));
  if (dim_v.size() != 1) return InvalidArg(*ctx, "dimension must be a scalar");
  const int rank = x.shape().rank();
  CKPT_ASSIGN_OR_RETURN(int axis, NormalizeAxis(*ctx, dim_v[0], rank));
  const int64_t len = x.shape().dim(axis);
  if (len == 0) {
    return InvalidArg(*ctx, "Reduction axis " + std::to_string(axis) + " is empty in shape " +
                                x.shape().DebugString());
  }
  const DataType out_type = TypeAttr(*ctx, "output_type", DataType::kInt64);
  if (out_type != DataType::kInt64 && out_type != DataType::kInt32) {
    return UnsupportedDtype(*ctx, out_type, "int32, int64");
  }
  std::vector<int64_t> out_dims;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < rank; ++d) {
    if (d != axis) out_dims.push_back(x.shape().dim(d));
    if (d < axis) outer *= x.shape().dim(d);
    if (d > axis) inner *= x.shape().dim(d);
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, out_type, TensorShape(out_dims)));
  return DispatchNumeric(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* px = x.flat<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        int64_t best = 0;
        T best_value = std::numeric_limits<T>::lowest();
        for (int64_t j = 0; j < len; ++j) {
          const T v = px[(o * len + j) * inner + i];
          if (v > best_value) {
            best = j;
            best_value = v;
          }
        }
        if (out_type == DataType::kInt64) {
          out.mutable_flat<int64_t>()[o * inner + i] = best;
        } else {
          out.mutable_flat<int32_t>()[o * inner + i] = static_cast<int32_t>(best);
        }
      }
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

// Transpose(x, perm): out.dim(i) = x.dim(perm[i]). Fixed-size dtypes, by bytes.
Status Transpose(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& x = ctx->inputs[0];
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> perm, IndexValues(*ctx, ctx->inputs[1], "perm"));
  const int rank = x.shape().rank();
  if (static_cast<int>(perm.size()) != rank) {
    return InvalidArg(*ctx, "transpose expects a vector of size " + std::to_string(rank) +
                                ". But input(1) is a vector of size " +
                                std::to_string(perm.size()));
  }
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> dims(rank);
  for (int i = 0; i < rank; ++i) {
    const int64_t p = perm[i];
    if (p < 0 || p >= rank || seen[p]) {
      return InvalidArg(*ctx, std::to_string(p) + " is out of range [0 .. " +
                                  std::to_string(rank) + ") or repeated in perm");
    }
    seen[p] = true;
    dims[i] = x.shape().dim(static_cast<int>(p));
  }
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, x));
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), TensorShape(dims)));
  // in_stride[i]: the input stride of output dim i.
  std::vector<int64_t> stride(rank, 1), in_stride(rank);
  for (int d = rank - 2; d >= 0; --d) stride[d] = stride[d + 1] * x.shape().dim(d + 1);
  for (int i = 0; i < rank; ++i) in_stride[i] = stride[perm[i]];
  std::vector<int64_t> pos(rank, 0);
  int64_t at = 0;
  for (int64_t k = 0; k < out.num_elements(); ++k) {
    CopyElements(x, at, &out, k);
    for (int d = rank - 1; d >= 0; --d) {
      ++pos[d];
      at += in_stride[d];
      if (pos[d] < dims[d]) break;
      at -= in_stride[d] * pos[d];
      pos[d] = 0;
    }
  }
  ctx->outputs = {out};
  return Status::OK();
}

// Pack(values..., attr axis): stacks N same-shaped tensors along a new axis.
Status Pack(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1, /*exact=*/false));
  const Tensor& first = ctx->inputs[0];
  const int n = static_cast<int>(ctx->inputs.size());
  const int rank = first.shape().rank();
  auto it = ctx->node->attr().find("axis");
  const int64_t axis_attr = it != ctx->node->attr().end() ? it->second.i() : 0;
  if (axis_attr < -rank - 1 || axis_attr > rank) {
    return InvalidArg(*ctx, "axis = " + std::to_string(axis_attr) + " not in [" +
                                std::to_string(-rank - 1) + ", " + std::to_string(rank + 1) + ")");
  }
  const int axis = static_cast<int>(axis_attr < 0 ? axis_attr + rank + 1 : axis_attr);
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, first));
  for (int i = 1; i < n; ++i) {
    const Tensor& t = ctx->inputs[i];
    if (t.shape() != first.shape() || t.dtype() != first.dtype()) {
      return InvalidArg(*ctx, "Shapes of all inputs must match: values[0].shape = " +
                                  first.shape().DebugString() + " != values[" + std::to_string(i) +
                                  "].shape = " + t.shape().DebugString());
    }
  }
  std::vector<int64_t> dims = first.shape().dims();
  dims.insert(dims.begin() + axis, n);
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, first.dtype(), TensorShape(dims)));
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= first.shape().dim(d);
  const int64_t slab = outer == 0 ? 0 : first.num_elements() / outer;
  int64_t at = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int i = 0; i < n; ++i) {
      CopyElements(ctx->inputs[i], o * slab, &out, at, slab);
      at += slab;
    }
  }
  ctx->outputs = {out};
  return Status::OK();
}

namespace {

Status FillWith(KernelContext* ctx, DataType dtype, TensorShape shape, double value) {
  return DispatchCastable(*ctx, dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, dtype, std::move(shape)));
    std::fill(out.mutable_flat<T>(), out.mutable_flat<T>() + out.num_elements(),
              static_cast<T>(value));
    ctx->outputs = {out};
    return Status::OK();
  });
}

}  // namespace

Status ZerosLike(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  return FillWith(ctx, ctx->inputs[0].dtype(), ctx->inputs[0].shape(), 0);
}

Status OnesLike(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  return FillWith(ctx, ctx->inputs[0].dtype(), ctx->inputs[0].shape(), 1);
}

// Fill(dims, value): a tensor of shape dims, every element value (a scalar).
Status Fill(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& value = ctx->inputs[1];
  if (ctx->inputs[0].shape().rank() != 1) {
    return InvalidArg(*ctx, "dims must be a vector, got shape " +
                                ctx->inputs[0].shape().DebugString());
  }
  if (value.shape().rank() != 0) {
    return InvalidArg(*ctx, "value must be a scalar, got shape " + value.shape().DebugString());
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> dims, IndexValues(*ctx, ctx->inputs[0], "dims"));
  CKPT_ASSIGN_OR_RETURN(TensorShape shape, [&]() -> Result<TensorShape> {
    Result<TensorShape> s = TensorShape::Make(dims);
    if (!s.ok()) return InvalidArg(*ctx, s.status().message());
    return s;
  }());
  // Broadcast the scalar: one element to each output element.
  CKPT_RETURN_IF_ERROR(RequireMovable(*ctx, value));
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, value.dtype(), shape));
  for (int64_t i = 0; i < out.num_elements(); ++i) CopyElements(value, 0, &out, i);
  ctx->outputs = {out};
  return Status::OK();
}

}  // namespace ckpt::ops
