// Activations (elementwise) and Softmax/LogSoftmax over the last dimension,
// computed as TF does: shift by the row's max before exp, for stability.
#include <algorithm>
#include <cmath>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

template <typename Dispatch, typename Op>
Status Activation(KernelContext* ctx, Dispatch dispatch, Op op) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  return dispatch(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    // Every element is written below.
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutputUninitialized(*ctx, x.dtype(), x.shape()));
    const T* px = x.flat<T>();
    T* po = out.mutable_flat<T>();
    const int64_t count = x.num_elements();  // not re-evaluated per element
    for (int64_t i = 0; i < count; ++i) po[i] = op(px[i]);
    ctx->outputs = {out};
    return Status::OK();
  });
}

constexpr auto kNumeric = [](const KernelContext& c, DataType d, auto f) {
  return DispatchNumeric(c, d, f);
};
constexpr auto kReal = [](const KernelContext& c, DataType d, auto f) {
  return DispatchReal(c, d, f);
};

Status SoftmaxImpl(KernelContext* ctx, bool log) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& x = ctx->inputs[0];
  if (x.shape().rank() < 1) {
    return InvalidArg(*ctx, "logits must have >= 1 dimension, got " + x.shape().DebugString());
  }
  return DispatchReal(*ctx, x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, x.dtype(), x.shape()));
    const int64_t c = x.shape().dim(x.shape().rank() - 1);
    const int64_t rows = c == 0 ? 0 : x.num_elements() / c;
    for (int64_t r = 0; r < rows; ++r) {
      const T* px = x.flat<T>() + r * c;
      T* po = out.mutable_flat<T>() + r * c;
      const T max = *std::max_element(px, px + c);
      T sum = 0;
      for (int64_t j = 0; j < c; ++j) sum += std::exp(px[j] - max);
      for (int64_t j = 0; j < c; ++j) {
        po[j] = log ? (px[j] - max) - std::log(sum) : std::exp(px[j] - max) / sum;
      }
    }
    ctx->outputs = {out};
    return Status::OK();
  });
}

}  // namespace

// Relu(NaN) is NaN, as in TF.
Status Relu(KernelContext* ctx) {
  return Activation(ctx, kNumeric, [](auto x) { return x < 0 ? decltype(x){0} : x; });
}
Status Relu6(KernelContext* ctx) {
  return Activation(ctx, kNumeric, [](auto x) {
    using T = decltype(x);
    return std::min(std::max(x, T{0}), T{6});
  });
}
Status Sigmoid(KernelContext* ctx) {
  return Activation(ctx, kReal, [](auto x) {
    using T = decltype(x);
    return T{1} / (T{1} + std::exp(-x));
  });
}
Status Tanh(KernelContext* ctx) {
  return Activation(ctx, kReal, [](auto x) { return std::tanh(x); });
}
Status Elu(KernelContext* ctx) {
  return Activation(ctx, kReal, [](auto x) {
    using T = decltype(x);
    return x < T{0} ? std::expm1(x) : x;
  });
}
// SELU's constants, as published (Klambauer et al. 2017) and used by TF.
Status Selu(KernelContext* ctx) {
  return Activation(ctx, kReal, [](auto x) {
    using T = decltype(x);
    const T scale = static_cast<T>(1.0507009873554804934193349852946);
    const T alpha = static_cast<T>(1.6732632423543772848170429916717);
    return x < T{0} ? scale * alpha * std::expm1(x) : scale * x;
  });
}
Status LeakyRelu(KernelContext* ctx) {
  auto it = ctx->node->attr().find("alpha");
  const double alpha = it != ctx->node->attr().end() && it->second.has_f() ? it->second.f() : 0.2;
  return Activation(ctx, kReal, [alpha](auto x) {
    using T = decltype(x);
    return x < T{0} ? static_cast<T>(alpha) * x : x;
  });
}
// log(1 + e^x), computed without overflow for large x.
Status Softplus(KernelContext* ctx) {
  return Activation(ctx, kReal, [](auto x) {
    using T = decltype(x);
    return x > T{0} ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  });
}
Status Softsign(KernelContext* ctx) {
  return Activation(ctx, kReal, [](auto x) {
    using T = decltype(x);
    return x / (T{1} + std::abs(x));
  });
}

Status Softmax(KernelContext* ctx) { return SoftmaxImpl(ctx, false); }
Status LogSoftmax(KernelContext* ctx) { return SoftmaxImpl(ctx, true); }

}  // namespace ckpt::ops
