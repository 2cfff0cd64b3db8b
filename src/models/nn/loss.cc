#include "models/nn/loss.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "models/nn/layers.h"

namespace ckpt::nn {

Status CheckLabelRange(const std::vector<int64_t>& labels, int64_t classes) {
  for (int64_t label : labels) {
    if (label < 0 || label >= classes) {
      std::string all;
      for (int64_t l : labels) all += " " + std::to_string(l);
      return InvalidArgumentError("Received a label value of " + std::to_string(label) +
                                  " which is outside the valid range of [0, " +
                                  std::to_string(classes) + ").  Label values:" + all);
    }
  }
  return Status::OK();
}

template <typename T>
Matrix<T> LogSoftmax(const Matrix<T>& logits) {
  Matrix<T> out(logits.rows(), logits.cols());
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    if (logits.cols() == 0) continue;
    const T max = logits.row(r).maxCoeff();
    const T log_sum = std::log((logits.row(r).array() - max).exp().sum());
    out.row(r) = logits.row(r).array() - max - log_sum;
  }
  return out;
}

template <typename T>
Matrix<T> Softmax(const Matrix<T>& logits) {
  Matrix<T> out(logits.rows(), logits.cols());
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    if (logits.cols() == 0) continue;
    const T max = logits.row(r).maxCoeff();
    out.row(r) = (logits.row(r).array() - max).exp();
    out.row(r) /= out.row(r).sum();
  }
  return out;
}

template <typename T>
Result<CrossEntropyResult<T>> SparseSoftmaxCrossEntropy(const Matrix<T>& logits,
                                                        const std::vector<int64_t>& labels) {
  if (static_cast<Eigen::Index>(labels.size()) != logits.rows()) {
    return InvalidArgumentError(
        "logits and labels must have the same first dimension, got logits shape " +
        ShapeString(logits) + " and labels shape [" + std::to_string(labels.size()) + "]");
  }
  if (logits.cols() == 0 && logits.rows() > 0) {
    return InvalidArgumentError("Must have at least one class, but got logits shape " +
                                ShapeString(logits));
  }
  CKPT_RETURN_IF_ERROR(CheckLabelRange(labels, logits.cols()));
  CrossEntropyResult<T> r;
  const Matrix<T> log_probs = LogSoftmax(logits);
  r.losses.resize(logits.rows());
  r.d_logits = log_probs.array().exp().matrix();
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    r.losses(i) = -log_probs(i, labels[i]);
    r.d_logits(i, labels[i]) -= T(1);
  }
  r.loss = r.losses.sum();
  return r;
}


template <typename T>
Matrix<T> Sigmoid(const Matrix<T>& z) {
  return z.unaryExpr([](T v) { return T(1) / (T(1) + std::exp(-v)); });
}

template <typename T>
Result<CrossEntropyResult<T>> SigmoidCrossEntropy(const Matrix<T>& logits,
                                                  const std::vector<int64_t>& labels) {
  if (logits.cols() != 1) {
    return InvalidArgumentError("the binary head needs logits of shape [batch, 1], got " +
                                ShapeString(logits));
  }
  if (static_cast<Eigen::Index>(labels.size()) != logits.rows()) {
    return InvalidArgumentError(
        "logits and labels must have the same first dimension, got logits shape " +
        ShapeString(logits) + " and labels shape [" + std::to_string(labels.size()) + "]");
  }
  CKPT_RETURN_IF_ERROR(CheckLabelRange(labels, 2));
  CrossEntropyResult<T> r;
  r.losses.resize(logits.rows());
  r.d_logits = Sigmoid<T>(logits);
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    const T z = logits(i, 0);
    const T y = static_cast<T>(labels[static_cast<size_t>(i)]);
    r.losses(i) = std::max(z, T(0)) - z * y + std::log1p(std::exp(-std::abs(z)));
    r.d_logits(i, 0) -= y;
  }
  r.loss = r.losses.sum();
  return r;
}

#define CKPT_NN_INSTANTIATE(T)                                  \
  template Matrix<T> Softmax<T>(const Matrix<T>&);              \
  template Matrix<T> LogSoftmax<T>(const Matrix<T>&);           \
  template Result<CrossEntropyResult<T>> SparseSoftmaxCrossEntropy<T>( \
      const Matrix<T>&, const std::vector<int64_t>&);         \
  template Matrix<T> Sigmoid<T>(const Matrix<T>&);              \
  template Result<CrossEntropyResult<T>> SigmoidCrossEntropy<T>( \
      const Matrix<T>&, const std::vector<int64_t>&);
CKPT_NN_INSTANTIATE(float)
CKPT_NN_INSTANTIATE(double)
#undef CKPT_NN_INSTANTIATE

}  // namespace ckpt::nn
