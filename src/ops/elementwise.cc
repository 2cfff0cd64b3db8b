// Elementwise kernels: binary ops broadcast their two inputs as numpy and TF
// do (kernel_util's BroadcastShape/BroadcastIndex); unary ops map each element.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

// The dtype check TF's executor makes before any kernel runs.
Status CheckSameDtype(const KernelContext& ctx) {
  for (size_t i = 1; i < ctx.inputs.size(); ++i) {
    if (ctx.inputs[i].dtype() != ctx.inputs[0].dtype()) {
      return InvalidArg(ctx, "cannot compute " + ctx.node->op() + " as input #" +
                                 std::to_string(i) + "(zero-based) was expected to be a " +
                                 std::string(DataTypeName(ctx.inputs[0].dtype())) +
                                 " tensor but is a " +
                                 std::string(DataTypeName(ctx.inputs[i].dtype())) + " tensor");
    }
  }
  return Status::OK();
}

// Out is T for arithmetic, bool for comparisons.
template <typename T, typename Out, typename Op>
Status BinaryTyped(KernelContext* ctx, Op op) {
  const Tensor& a = ctx->inputs[0];
  const Tensor& b = ctx->inputs[1];
  CKPT_ASSIGN_OR_RETURN(TensorShape shape, BroadcastShape(*ctx, a.shape(), b.shape()));
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, DataTypeOf<Out>::value, shape));
  const T* pa = a.flat<T>();
  const T* pb = b.flat<T>();
  Out* po = out.mutable_flat<Out>();
  const int64_t n = out.num_elements();
  if (a.shape() == shape && b.shape() == shape) {
    for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]);
  } else if (a.shape() == shape && b.num_elements() == 1) {
    for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[0]);
  } else {
    const std::vector<int64_t> ia = BroadcastIndex(a.shape(), shape);
    const std::vector<int64_t> ib = BroadcastIndex(b.shape(), shape);
    for (int64_t i = 0; i < n; ++i) po[i] = op(pa[ia[i]], pb[ib[i]]);
  }
  ctx->outputs = {out};
  return Status::OK();
}

// `Op` is a generic functor; `Real` limits the op to float/double; `Compare`
// makes the output bool.
template <bool Real, typename Op, bool Compare = false>
Status Binary(KernelContext* ctx, Op op) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  CKPT_RETURN_IF_ERROR(CheckSameDtype(*ctx));
  auto typed = [&](auto tag) {
    using T = decltype(tag);
    return BinaryTyped<T, std::conditional_t<Compare, bool, T>>(ctx, op);
  };
  if constexpr (Real) {
    return DispatchReal(*ctx, ctx->inputs[0].dtype(), typed);
  } else {
    return DispatchNumeric(*ctx, ctx->inputs[0].dtype(), typed);
  }
}

template <bool Real, typename Op>
Status Unary(KernelContext* ctx, Op op) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  auto typed = [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), x.shape()));
    const T* px = x.flat<T>();
    T* po = out.mutable_flat<T>();
    for (int64_t i = 0; i < x.num_elements(); ++i) po[i] = op(px[i]);
    ctx->outputs = {out};
    return Status::OK();
  };
  if constexpr (Real) {
    return DispatchReal(*ctx, x.dtype(), typed);
  } else {
    return DispatchNumeric(*ctx, x.dtype(), typed);
  }
}

// Integer quotient and remainder truncated toward zero, as C's / and %,
// except that the one overflowing case, the most negative value over -1,
// wraps (giving itself, remainder 0) instead of trapping.
template <typename T>
T TruncDiv(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return b == -1 ? static_cast<T>(U{0} - static_cast<U>(a)) : static_cast<T>(a / b);
}
template <typename T>
T TruncMod(T a, T b) {
  return b == -1 ? T{0} : static_cast<T>(a % b);
}

// base^exponent for exponent >= 0 by repeated squaring, wrapping on overflow
// (two's complement) as TF's integer Pow does.
template <typename T>
T IntPow(T base, T exponent) {
  using U = std::make_unsigned_t<T>;
  U result = 1, b = static_cast<U>(base);
  for (U e = static_cast<U>(exponent); e != 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<T>(result);
}

bool IsInteger(const Tensor& t) {
  return t.dtype() == DataType::kInt32 || t.dtype() == DataType::kInt64;
}

// Whether any element of an int32 or int64 tensor satisfies pred.
template <typename Pred>
bool AnyInteger(const Tensor& t, Pred pred) {
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const int64_t v = t.dtype() == DataType::kInt32 ? t.flat<int32_t>()[i] : t.flat<int64_t>()[i];
    if (pred(v)) return true;
  }
  return false;
}

Status CheckNoZero(const KernelContext& ctx, const Tensor& t) {
  if (AnyInteger(t, [](int64_t v) { return v == 0; })) {
    return InvalidArg(ctx, "Integer division by zero");
  }
  return Status::OK();
}

// LogicalAnd/LogicalOr: bool inputs, broadcasting.
Status Logical(KernelContext* ctx, bool is_and) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  for (const Tensor& t : ctx->inputs) {
    if (t.dtype() != DataType::kBool) return UnsupportedDtype(*ctx, t.dtype(), "bool");
  }
  if (is_and) return BinaryTyped<bool, bool>(ctx, [](bool a, bool b) { return a && b; });
  return BinaryTyped<bool, bool>(ctx, [](bool a, bool b) { return a || b; });
}

}  // namespace

Status Add(KernelContext* ctx) {
  return Binary<false>(ctx, [](auto a, auto b) { return a + b; });
}
Status Sub(KernelContext* ctx) {
  return Binary<false>(ctx, [](auto a, auto b) { return a - b; });
}
Status Mul(KernelContext* ctx) {
  return Binary<false>(ctx, [](auto a, auto b) { return a * b; });
}
// RealDiv is for floating types (TF's Div/FloorDiv handle integers).
Status RealDiv(KernelContext* ctx) {
  return Binary<true>(ctx, [](auto a, auto b) { return a / b; });
}
// Div: RealDiv on floats; on integers the quotient truncated toward zero
// (C's /), and division by zero is InvalidArgument, as in TF.
Status Div(KernelContext* ctx) {
  if (ctx->inputs.size() == 2 && IsInteger(ctx->inputs[1])) {
    CKPT_RETURN_IF_ERROR(CheckNoZero(*ctx, ctx->inputs[1]));
  }
  return Binary<false>(ctx, [](auto a, auto b) {
    if constexpr (std::is_integral_v<decltype(a)>) {
      return TruncDiv(a, b);
    } else {
      return a / b;
    }
  });
}
Status Maximum(KernelContext* ctx) {
  return Binary<false>(ctx, [](auto a, auto b) { return MaxPropagateNaN(a, b); });
}
Status Minimum(KernelContext* ctx) {
  return Binary<false>(ctx, [](auto a, auto b) { return MinPropagateNaN(a, b); });
}

template <typename Op>
Status Comparison(KernelContext* ctx, Op op) {
  return Binary<false, Op, true>(ctx, op);
}

Status Equal(KernelContext* ctx) {
  return Comparison(ctx, [](auto a, auto b) { return a == b; });
}
Status NotEqual(KernelContext* ctx) {
  return Comparison(ctx, [](auto a, auto b) { return a != b; });
}
Status Greater(KernelContext* ctx) {
  return Comparison(ctx, [](auto a, auto b) { return a > b; });
}
Status GreaterEqual(KernelContext* ctx) {
  return Comparison(ctx, [](auto a, auto b) { return a >= b; });
}
Status Less(KernelContext* ctx) {
  return Comparison(ctx, [](auto a, auto b) { return a < b; });
}
Status LessEqual(KernelContext* ctx) {
  return Comparison(ctx, [](auto a, auto b) { return a <= b; });
}

// SelectV2(condition, t, e): all three broadcast together (numpy's where).
Status SelectV2(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 3));
  const Tensor& c = ctx->inputs[0];
  const Tensor& t = ctx->inputs[1];
  const Tensor& e = ctx->inputs[2];
  if (c.dtype() != DataType::kBool) {
    return InvalidArg(*ctx, "condition must be bool, got " + std::string(DataTypeName(c.dtype())));
  }
  if (t.dtype() != e.dtype()) {
    return InvalidArg(*ctx,
                      "SelectV2 branches differ in dtype: " + std::string(DataTypeName(t.dtype())) +
                          " vs. " + std::string(DataTypeName(e.dtype())));
  }
  CKPT_ASSIGN_OR_RETURN(TensorShape te, BroadcastShape(*ctx, t.shape(), e.shape()));
  CKPT_ASSIGN_OR_RETURN(TensorShape shape, BroadcastShape(*ctx, c.shape(), te));
  return DispatchNumeric(*ctx, t.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, t.dtype(), shape));
    const std::vector<int64_t> ic = BroadcastIndex(c.shape(), shape);
    const std::vector<int64_t> it = BroadcastIndex(t.shape(), shape);
    const std::vector<int64_t> ie = BroadcastIndex(e.shape(), shape);
    T* po = out.mutable_flat<T>();
    for (size_t i = 0; i < ic.size(); ++i) {
      po[i] = c.flat<bool>()[ic[i]] ? t.flat<T>()[it[i]] : e.flat<T>()[ie[i]];
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

// Select(condition, t, e) (V1): t and e of one shape; condition of that
// shape, a scalar, or a vector choosing whole rows (t's first dim).
Status Select(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 3));
  const Tensor& c = ctx->inputs[0];
  const Tensor& t = ctx->inputs[1];
  const Tensor& e = ctx->inputs[2];
  if (c.dtype() != DataType::kBool) {
    return InvalidArg(*ctx, "condition must be bool, got " + std::string(DataTypeName(c.dtype())));
  }
  if (t.shape() != e.shape() || t.dtype() != e.dtype()) {
    return InvalidArg(*ctx, "'then' and 'else' must have the same size.  but received: " +
                                t.shape().DebugString() + " vs. " + e.shape().DebugString());
  }
  const bool rows = c.shape().rank() == 1 && t.shape().rank() > 1;
  if (c.shape() != t.shape() && c.shape().rank() != 0 &&
      !(rows && c.shape().dim(0) == t.shape().dim(0))) {
    return InvalidArg(
        *ctx, "'cond' must be a scalar, a vector of size " +
                  (t.shape().rank() > 0 ? std::to_string(t.shape().dim(0)) : std::string("1")) +
                  ", or have the shape of 'then': " + c.shape().DebugString() + " vs. " +
                  t.shape().DebugString());
  }
  // Elements of t per condition element.
  const int64_t per = c.num_elements() == 0 ? 0 : t.num_elements() / c.num_elements();
  return DispatchNumeric(*ctx, t.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, t.dtype(), t.shape()));
    T* po = out.mutable_flat<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      po[i] = c.flat<bool>()[per == 0 ? 0 : i / per] ? t.flat<T>()[i] : e.flat<T>()[i];
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

Status SquaredDifference(KernelContext* ctx) {
  return Binary<false>(ctx, [](auto a, auto b) { return (a - b) * (a - b); });
}
// Pow: std::pow on floats; on integers exact, wrapping on overflow, and a
// negative exponent is InvalidArgument, as in TF.
Status Pow(KernelContext* ctx) {
  if (ctx->inputs.size() == 2 && IsInteger(ctx->inputs[1])) {
    if (AnyInteger(ctx->inputs[1], [](int64_t v) { return v < 0; })) {
      return InvalidArg(*ctx, "Integers to negative integer powers are not allowed");
    }
  }
  return Binary<false>(ctx, [](auto a, auto b) {
    if constexpr (std::is_integral_v<decltype(a)>) {
      return IntPow(a, b);
    } else {
      return std::pow(a, b);
    }
  });
}
// Python's // and %: the quotient rounds toward -inf, the remainder takes the
// divisor's sign. Integer division by zero is InvalidArgument, as in TF.
Status FloorDiv(KernelContext* ctx) {
  if (ctx->inputs.size() == 2 && IsInteger(ctx->inputs[1])) {
    CKPT_RETURN_IF_ERROR(CheckNoZero(*ctx, ctx->inputs[1]));
  }
  return Binary<false>(ctx, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_integral_v<T>) {
      const T q = TruncDiv(a, b);
      return (TruncMod(a, b) != 0 && ((a < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
    } else {
      return std::floor(a / b);
    }
  });
}
Status FloorMod(KernelContext* ctx) {
  if (ctx->inputs.size() == 2 && IsInteger(ctx->inputs[1])) {
    CKPT_RETURN_IF_ERROR(CheckNoZero(*ctx, ctx->inputs[1]));
  }
  return Binary<false>(ctx, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_integral_v<T>) {
      const T r = TruncMod(a, b);
      return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
    } else {
      const T r = std::fmod(a, b);
      return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
    }
  });
}

Status LogicalAnd(KernelContext* ctx) { return Logical(ctx, true); }
Status LogicalOr(KernelContext* ctx) { return Logical(ctx, false); }
Status LogicalNot(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  if (x.dtype() != DataType::kBool) return UnsupportedDtype(*ctx, x.dtype(), "bool");
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, DataType::kBool, x.shape()));
  for (int64_t i = 0; i < x.num_elements(); ++i) out.mutable_flat<bool>()[i] = !x.flat<bool>()[i];
  ctx->outputs = {out};
  return Status::OK();
}

Status Abs(KernelContext* ctx) {
  return Unary<false>(ctx, [](auto x) { return x < 0 ? static_cast<decltype(x)>(-x) : x; });
}
// Sign(NaN) is NaN, as in TF.
Status Sign(KernelContext* ctx) {
  return Unary<false>(ctx, [](auto x) {
    using T = decltype(x);
    if (x != x) return x;
    return static_cast<T>((x > T{0}) - (x < T{0}));
  });
}
Status Floor(KernelContext* ctx) {
  return Unary<true>(ctx, [](auto x) { return std::floor(x); });
}
Status Ceil(KernelContext* ctx) {
  return Unary<true>(ctx, [](auto x) { return std::ceil(x); });
}
// Round half to even (banker's rounding), as TF's Round.
Status Round(KernelContext* ctx) {
  return Unary<false>(ctx, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_integral_v<T>) {
      return x;
    } else {
      return std::nearbyint(x);  // the default FE_TONEAREST mode is half to even
    }
  });
}
Status Reciprocal(KernelContext* ctx) {
  return Unary<true>(ctx, [](auto x) { return static_cast<decltype(x)>(1) / x; });
}
Status Log1p(KernelContext* ctx) {
  return Unary<true>(ctx, [](auto x) { return std::log1p(x); });
}

Status Neg(KernelContext* ctx) {
  return Unary<false>(ctx, [](auto x) { return static_cast<decltype(x)>(-x); });
}
Status Square(KernelContext* ctx) {
  return Unary<false>(ctx, [](auto x) { return x * x; });
}
Status Sqrt(KernelContext* ctx) {
  return Unary<true>(ctx, [](auto x) { return std::sqrt(x); });
}
Status Rsqrt(KernelContext* ctx) {
  return Unary<true>(ctx, [](auto x) { return static_cast<decltype(x)>(1) / std::sqrt(x); });
}
Status Exp(KernelContext* ctx) {
  return Unary<true>(ctx, [](auto x) { return std::exp(x); });
}
Status Log(KernelContext* ctx) {
  return Unary<true>(ctx, [](auto x) { return std::log(x); });
}

}  // namespace ckpt::ops
