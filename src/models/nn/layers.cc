#include "models/nn/layers.h"

#include <cmath>
#include <string>

namespace ckpt::nn {

template <typename T>
Result<Matrix<T>> DenseForward(const Matrix<T>& x, const Matrix<T>& kernel,
                               const RowVector<T>& bias) {
  if (x.cols() != kernel.rows()) {
    return InvalidArgumentError("DenseForward: input " + ShapeString(x) +
                                " does not match kernel " + ShapeString(kernel) +
                                " (input columns must equal kernel rows)");
  }
  if (bias.size() != kernel.cols()) {
    return InvalidArgumentError("DenseForward: bias of size " + std::to_string(bias.size()) +
                                " does not match kernel " + ShapeString(kernel));
  }
  Matrix<T> y = x * kernel;
  y.rowwise() += bias;
  return y;
}

template <typename T>
Result<DenseGradients<T>> DenseBackward(const Matrix<T>& x, const Matrix<T>& kernel,
                                        const Matrix<T>& d_output) {
  if (x.cols() != kernel.rows() || d_output.rows() != x.rows() ||
      d_output.cols() != kernel.cols()) {
    return InvalidArgumentError("DenseBackward: shapes do not agree: input " + ShapeString(x) +
                                ", kernel " + ShapeString(kernel) + ", d_output " +
                                ShapeString(d_output));
  }
  DenseGradients<T> g;
  g.d_input = d_output * kernel.transpose();
  g.d_kernel = x.transpose() * d_output;
  g.d_bias = d_output.colwise().sum();
  return g;
}

template <typename T>
Matrix<T> Relu(const Matrix<T>& x) {
  return x.cwiseMax(T(0));
}

template <typename T>
Result<Matrix<T>> ReluBackward(const Matrix<T>& output, const Matrix<T>& d_output) {
  if (output.rows() != d_output.rows() || output.cols() != d_output.cols()) {
    return InvalidArgumentError("ReluBackward: output " + ShapeString(output) +
                                " and d_output " + ShapeString(d_output) + " differ in shape");
  }
  return Matrix<T>((output.array() > T(0)).select(d_output, T(0)));
}

namespace {
// TF's selu constants (tf.nn.selu).
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
// tf.nn.leaky_relu's default alpha.
constexpr double kLeakyReluAlpha = 0.2;

struct ActivationEntry {
  const char* name;
  Activation activation;
};
constexpr ActivationEntry kActivations[] = {
    {"relu", Activation::kRelu},         {"relu6", Activation::kRelu6},
    {"elu", Activation::kElu},           {"selu", Activation::kSelu},
    {"tanh", Activation::kTanh},         {"sigmoid", Activation::kSigmoid},
    {"softplus", Activation::kSoftplus}, {"softsign", Activation::kSoftsign},
    {"leaky_relu", Activation::kLeakyRelu},
};

template <typename T>
T ActivateOne(Activation a, T z) {
  switch (a) {
    case Activation::kRelu:
      return z > T(0) ? z : T(0);
    case Activation::kRelu6:
      return z > T(0) ? (z < T(6) ? z : T(6)) : T(0);
    case Activation::kElu:
      return z > T(0) ? z : std::expm1(z);
    case Activation::kSelu:
      return z > T(0) ? T(kSeluScale) * z : T(kSeluScale * kSeluAlpha) * std::expm1(z);
    case Activation::kTanh:
      return std::tanh(z);
    case Activation::kSigmoid:
      return T(1) / (T(1) + std::exp(-z));
    case Activation::kSoftplus:  // stable for large |z|
      return z > T(0) ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
    case Activation::kSoftsign:
      return z / (T(1) + std::abs(z));
    case Activation::kLeakyRelu:
      return z > T(0) ? z : T(kLeakyReluAlpha) * z;
  }
  return z;
}

// d y / d z at one element.
template <typename T>
T DerivativeOne(Activation a, T z, T y) {
  switch (a) {
    case Activation::kRelu:
      return z > T(0) ? T(1) : T(0);
    case Activation::kRelu6:
      return z > T(0) && z < T(6) ? T(1) : T(0);
    case Activation::kElu:
      return z > T(0) ? T(1) : y + T(1);
    case Activation::kSelu:
      return z > T(0) ? T(kSeluScale) : y + T(kSeluScale * kSeluAlpha);
    case Activation::kTanh:
      return T(1) - y * y;
    case Activation::kSigmoid:
      return y * (T(1) - y);
    case Activation::kSoftplus:
      return T(1) / (T(1) + std::exp(-z));
    case Activation::kSoftsign: {
      const T d = T(1) + std::abs(z);
      return T(1) / (d * d);
    }
    case Activation::kLeakyRelu:
      return z > T(0) ? T(1) : T(kLeakyReluAlpha);
  }
  return T(1);
}
}  // namespace

Result<Activation> ActivationFromName(const std::string& name) {
  std::string accepted;
  for (const ActivationEntry& e : kActivations) {
    if (name == e.name) return e.activation;
    accepted += std::string(accepted.empty() ? "" : ", ") + e.name;
  }
  return InvalidArgumentError("unknown activation \"" + name + "\"; accepted: " + accepted);
}

const char* ActivationName(Activation activation) {
  for (const ActivationEntry& e : kActivations) {
    if (e.activation == activation) return e.name;
  }
  return "unknown";
}

template <typename T>
Matrix<T> Activate(Activation activation, const Matrix<T>& z) {
  if (activation == Activation::kRelu) return Relu<T>(z);
  return z.unaryExpr([activation](T v) { return ActivateOne<T>(activation, v); });
}

template <typename T>
Result<Matrix<T>> ActivationBackward(Activation activation, const Matrix<T>& z,
                                     const Matrix<T>& y, const Matrix<T>& d_output) {
  if (z.rows() != d_output.rows() || z.cols() != d_output.cols() || y.rows() != z.rows() ||
      y.cols() != z.cols()) {
    return InvalidArgumentError("ActivationBackward: input " + ShapeString(z) + ", output " +
                                ShapeString(y) + " and d_output " + ShapeString(d_output) +
                                " differ in shape");
  }
  Matrix<T> d(z.rows(), z.cols());
  for (Eigen::Index i = 0; i < z.size(); ++i) {
    d.data()[i] = d_output.data()[i] * DerivativeOne<T>(activation, z.data()[i], y.data()[i]);
  }
  return d;
}

template <typename T>
Result<DropoutResult<T>> DropoutForward(const Matrix<T>& x, double rate, Rng* rng) {
  if (!(rate >= 0.0 && rate < 1.0)) {
    return InvalidArgumentError("DropoutForward: rate must be a scalar tensor or a float in the "
                                "range [0, 1), got " + std::to_string(rate));
  }
  DropoutResult<T> r;
  if (rate == 0.0) {
    r.output = x;
    r.scale = Matrix<T>::Ones(x.rows(), x.cols());
    return r;
  }
  if (rng == nullptr) return InvalidArgumentError("DropoutForward: null rng");
  const T keep_scale = T(1) / (T(1) - static_cast<T>(rate));
  r.scale.resize(x.rows(), x.cols());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double u = rng->UniformDouble();
    r.scale.data()[i] = u >= rate ? keep_scale : T(0);
  }
  r.output = x.cwiseProduct(r.scale);
  return r;
}

template <typename T>
Result<Matrix<T>> DropoutBackward(const Matrix<T>& scale, const Matrix<T>& d_output) {
  if (scale.rows() != d_output.rows() || scale.cols() != d_output.cols()) {
    return InvalidArgumentError("DropoutBackward: scale " + ShapeString(scale) +
                                " and d_output " + ShapeString(d_output) + " differ in shape");
  }
  return Matrix<T>(d_output.cwiseProduct(scale));
}

#define CKPT_NN_INSTANTIATE(T)                                                             \
  template Result<Matrix<T>> DenseForward<T>(const Matrix<T>&, const Matrix<T>&,           \
                                             const RowVector<T>&);                         \
  template Result<DenseGradients<T>> DenseBackward<T>(const Matrix<T>&, const Matrix<T>&,  \
                                                      const Matrix<T>&);                   \
  template Matrix<T> Relu<T>(const Matrix<T>&);                                            \
  template Result<Matrix<T>> ReluBackward<T>(const Matrix<T>&, const Matrix<T>&);          \
  template Result<DropoutResult<T>> DropoutForward<T>(const Matrix<T>&, double, Rng*);     \
  template Result<Matrix<T>> DropoutBackward<T>(const Matrix<T>&, const Matrix<T>&);          \
  template Matrix<T> Activate<T>(Activation, const Matrix<T>&);                            \
  template Result<Matrix<T>> ActivationBackward<T>(Activation, const Matrix<T>&,           \
                                                   const Matrix<T>&, const Matrix<T>&);
CKPT_NN_INSTANTIATE(float)
CKPT_NN_INSTANTIATE(double)
#undef CKPT_NN_INSTANTIATE

}  // namespace ckpt::nn
