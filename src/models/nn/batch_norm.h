// Batch normalisation over the batch axis of a [batch, features] matrix, as
// tf.compat.v1.layers.BatchNormalization in the canned DNN
// (momentum 0.999, epsilon 0.001, gamma initialised to ones, beta to zeros,
// moving mean to zeros, moving variance to ones).
//
// Training: y = gamma * (x - mean) / sqrt(var + epsilon) + beta with the
// batch's mean and biased variance (divided by the batch size, not
// batch - 1, as Keras' non-fused path for rank-2 inputs), and the moving
// statistics updated as Keras does: moving -= (moving - batch) * (1 - momentum).
// Inference: the same formula with the moving statistics, which are not
// changed.
//
// Thread safety: functions are pure apart from the moving statistics the
// caller passes in.
#ifndef CKPT_SRC_MODELS_NN_BATCH_NORM_H_
#define CKPT_SRC_MODELS_NN_BATCH_NORM_H_

#include "ckpt/status.h"
#include "models/nn/types.h"

namespace ckpt::nn {

struct BatchNormConfig {
  double momentum = 0.999;
  double epsilon = 0.001;
};

// Everything the backward pass needs, filled by a forward pass.
template <typename T>
struct BatchNormCache {
  Matrix<T> x_hat;        // (x - mean) / sqrt(var + epsilon)
  RowVector<T> inv_std;   // 1 / sqrt(var + epsilon), per feature
  bool training = false;  // whether the statistics were the batch's
};

// Training-mode forward pass. Updates *moving_mean and *moving_variance
// (per feature, [features]) and fills *cache (both may alias nothing).
// InvalidArgument when a vector's size is not x.cols(), when x has no rows,
// or when a pointer is null.
template <typename T>
Result<Matrix<T>> BatchNormTrain(const Matrix<T>& x, const RowVector<T>& gamma,
                                 const RowVector<T>& beta, RowVector<T>* moving_mean,
                                 RowVector<T>* moving_variance, const BatchNormConfig& config,
                                 BatchNormCache<T>* cache);

// Inference-mode forward pass with the moving statistics. `cache` may be
// null. InvalidArgument when a vector's size is not x.cols().
template <typename T>
Result<Matrix<T>> BatchNormInference(const Matrix<T>& x, const RowVector<T>& gamma,
                                     const RowVector<T>& beta, const RowVector<T>& moving_mean,
                                     const RowVector<T>& moving_variance,
                                     const BatchNormConfig& config, BatchNormCache<T>* cache);

template <typename T>
struct BatchNormGradients {
  Matrix<T> d_input;
  RowVector<T> d_gamma;
  RowVector<T> d_beta;
};

// Gradients given the cache of the forward pass. For a training-mode cache
// the gradient flows through the batch mean and variance:
//   d_x = inv_std / N * (N * g - sum(g) - x_hat * sum(g * x_hat)),
//   g = d_output * gamma;
// for an inference-mode cache, d_x = d_output * gamma * inv_std.
// InvalidArgument when the shapes disagree with the cache.
template <typename T>
Result<BatchNormGradients<T>> BatchNormBackward(const Matrix<T>& d_output,
                                                const RowVector<T>& gamma,
                                                const BatchNormCache<T>& cache);

}  // namespace ckpt::nn

#endif  // CKPT_SRC_MODELS_NN_BATCH_NORM_H_
