#include "models/nn/layers.h"

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
  template Result<Matrix<T>> DropoutBackward<T>(const Matrix<T>&, const Matrix<T>&);
CKPT_NN_INSTANTIATE(float)
CKPT_NN_INSTANTIATE(double)
#undef CKPT_NN_INSTANTIATE

}  // namespace ckpt::nn
