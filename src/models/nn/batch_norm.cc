#include "models/nn/batch_norm.h"

#include <cmath>
#include <string>

#include "models/nn/layers.h"

namespace ckpt::nn {
namespace {

template <typename T>
Status CheckSize(const char* fn, const char* what, Eigen::Index size, Eigen::Index features) {
  if (size != features) {
    return InvalidArgumentError(std::string(fn) + ": " + what + " has " + std::to_string(size) +
                                " elements, expected one per feature (" +
                                std::to_string(features) + ")");
  }
  return Status::OK();
}

template <typename T>
Matrix<T> Normalize(const Matrix<T>& x, const RowVector<T>& mean, const RowVector<T>& inv_std) {
  Matrix<T> x_hat = x;
  x_hat.rowwise() -= mean;
  x_hat.array().rowwise() *= inv_std.array();
  return x_hat;
}

template <typename T>
Matrix<T> ScaleShift(const Matrix<T>& x_hat, const RowVector<T>& gamma,
                     const RowVector<T>& beta) {
  Matrix<T> y = x_hat;
  y.array().rowwise() *= gamma.array();
  y.rowwise() += beta;
  return y;
}

}  // namespace

template <typename T>
Result<Matrix<T>> BatchNormTrain(const Matrix<T>& x, const RowVector<T>& gamma,
                                 const RowVector<T>& beta, RowVector<T>* moving_mean,
                                 RowVector<T>* moving_variance, const BatchNormConfig& config,
                                 BatchNormCache<T>* cache) {
  constexpr const char* kFn = "BatchNormTrain";
  if (moving_mean == nullptr || moving_variance == nullptr) {
    return InvalidArgumentError("BatchNormTrain: null moving statistics");
  }
  if (x.rows() == 0) return InvalidArgumentError("BatchNormTrain: empty batch");
  const Eigen::Index f = x.cols();
  CKPT_RETURN_IF_ERROR(CheckSize<T>(kFn, "gamma", gamma.size(), f));
  CKPT_RETURN_IF_ERROR(CheckSize<T>(kFn, "beta", beta.size(), f));
  CKPT_RETURN_IF_ERROR(CheckSize<T>(kFn, "moving_mean", moving_mean->size(), f));
  CKPT_RETURN_IF_ERROR(CheckSize<T>(kFn, "moving_variance", moving_variance->size(), f));

  const T n = static_cast<T>(x.rows());
  const RowVector<T> mean = x.colwise().sum() / n;
  Matrix<T> centered = x;
  centered.rowwise() -= mean;
  const RowVector<T> variance = centered.array().square().matrix().colwise().sum() / n;
  const T eps = static_cast<T>(config.epsilon);
  const RowVector<T> inv_std = (variance.array() + eps).rsqrt().matrix();
  Matrix<T> x_hat = Normalize<T>(x, mean, inv_std);
  Matrix<T> y = ScaleShift<T>(x_hat, gamma, beta);

  const T decay = T(1) - static_cast<T>(config.momentum);
  *moving_mean -= (*moving_mean - mean) * decay;
  *moving_variance -= (*moving_variance - variance) * decay;
  if (cache != nullptr) {
    cache->x_hat = std::move(x_hat);
    cache->inv_std = inv_std;
    cache->training = true;
  }
  return y;
}

template <typename T>
Result<Matrix<T>> BatchNormInference(const Matrix<T>& x, const RowVector<T>& gamma,
                                     const RowVector<T>& beta, const RowVector<T>& moving_mean,
                                     const RowVector<T>& moving_variance,
                                     const BatchNormConfig& config, BatchNormCache<T>* cache) {
  constexpr const char* kFn = "BatchNormInference";
  const Eigen::Index f = x.cols();
  CKPT_RETURN_IF_ERROR(CheckSize<T>(kFn, "gamma", gamma.size(), f));
  CKPT_RETURN_IF_ERROR(CheckSize<T>(kFn, "beta", beta.size(), f));
  CKPT_RETURN_IF_ERROR(CheckSize<T>(kFn, "moving_mean", moving_mean.size(), f));
  CKPT_RETURN_IF_ERROR(CheckSize<T>(kFn, "moving_variance", moving_variance.size(), f));
  const T eps = static_cast<T>(config.epsilon);
  const RowVector<T> inv_std = (moving_variance.array() + eps).rsqrt().matrix();
  Matrix<T> x_hat = Normalize<T>(x, moving_mean, inv_std);
  Matrix<T> y = ScaleShift<T>(x_hat, gamma, beta);
  if (cache != nullptr) {
    cache->x_hat = std::move(x_hat);
    cache->inv_std = inv_std;
    cache->training = false;
  }
  return y;
}

template <typename T>
Result<BatchNormGradients<T>> BatchNormBackward(const Matrix<T>& d_output,
                                                const RowVector<T>& gamma,
                                                const BatchNormCache<T>& cache) {
  if (d_output.rows() != cache.x_hat.rows() || d_output.cols() != cache.x_hat.cols() ||
      gamma.size() != d_output.cols() || cache.inv_std.size() != d_output.cols()) {
    return InvalidArgumentError("BatchNormBackward: d_output " + ShapeString(d_output) +
                                " does not match the forward pass " +
                                ShapeString(cache.x_hat) + " or gamma of size " +
                                std::to_string(gamma.size()));
  }
  BatchNormGradients<T> g;
  g.d_beta = d_output.colwise().sum();
  g.d_gamma = d_output.cwiseProduct(cache.x_hat).colwise().sum();
  Matrix<T> d_xhat = d_output;
  d_xhat.array().rowwise() *= gamma.array();
  if (!cache.training) {
    d_xhat.array().rowwise() *= cache.inv_std.array();
    g.d_input = std::move(d_xhat);
    return g;
  }
  const T n = static_cast<T>(d_output.rows());
  const RowVector<T> sum_g = d_xhat.colwise().sum();
  const RowVector<T> sum_gx = d_xhat.cwiseProduct(cache.x_hat).colwise().sum();
  Matrix<T> dx = d_xhat * n;
  dx.rowwise() -= sum_g;
  Matrix<T> correction = cache.x_hat;
  correction.array().rowwise() *= sum_gx.array();
  dx -= correction;
  dx.array().rowwise() *= (cache.inv_std.array() / n);
  g.d_input = std::move(dx);
  return g;
}

#define CKPT_NN_INSTANTIATE(T)                                                              \
  template Result<Matrix<T>> BatchNormTrain<T>(const Matrix<T>&, const RowVector<T>&,       \
                                               const RowVector<T>&, RowVector<T>*,          \
                                               RowVector<T>*, const BatchNormConfig&,       \
                                               BatchNormCache<T>*);                         \
  template Result<Matrix<T>> BatchNormInference<T>(                                         \
      const Matrix<T>&, const RowVector<T>&, const RowVector<T>&, const RowVector<T>&,      \
      const RowVector<T>&, const BatchNormConfig&, BatchNormCache<T>*);                     \
  template Result<BatchNormGradients<T>> BatchNormBackward<T>(                              \
      const Matrix<T>&, const RowVector<T>&, const BatchNormCache<T>&);
CKPT_NN_INSTANTIATE(float)
CKPT_NN_INSTANTIATE(double)
#undef CKPT_NN_INSTANTIATE

}  // namespace ckpt::nn
