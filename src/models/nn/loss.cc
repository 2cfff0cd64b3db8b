#include "models/nn/loss.h"

#include <cmath>
#include <string>

#include "models/nn/layers.h"

namespace ckpt::nn {

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
  const int64_t classes = logits.cols();
  for (int64_t label : labels) {
    if (label < 0 || label >= classes) {
      std::string all;
      for (int64_t l : labels) all += " " + std::to_string(l);
      return InvalidArgumentError("Received a label value of " + std::to_string(label) +
                                  " which is outside the valid range of [0, " +
                                  std::to_string(classes) + ").  Label values:" + all);
    }
  }
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

#define CKPT_NN_INSTANTIATE(T)                                  \
  template Matrix<T> Softmax<T>(const Matrix<T>&);              \
  template Matrix<T> LogSoftmax<T>(const Matrix<T>&);           \
  template Result<CrossEntropyResult<T>> SparseSoftmaxCrossEntropy<T>( \
      const Matrix<T>&, const std::vector<int64_t>&);
CKPT_NN_INSTANTIATE(float)
CKPT_NN_INSTANTIATE(double)
#undef CKPT_NN_INSTANTIATE

}  // namespace ckpt::nn
