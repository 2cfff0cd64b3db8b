// Dense layers, relu and dropout: forward and backward passes.
//
// Shapes follow TensorFlow's tf.layers.dense: inputs x [batch, in], kernel
// [in, out], bias [out], outputs x * kernel + bias [batch, out]. Backward
// functions take d_output, the gradient of a scalar loss with respect to the
// layer's output, and return the gradients of that loss with respect to the
// layer's inputs and parameters.
//
// Thread safety: pure functions (DropoutForward draws from the caller's Rng).
#ifndef CKPT_SRC_MODELS_NN_LAYERS_H_
#define CKPT_SRC_MODELS_NN_LAYERS_H_

#include <string>

#include "ckpt/random.h"
#include "ckpt/status.h"
#include "models/nn/types.h"

namespace ckpt::nn {

// x * kernel + bias (bias broadcast over rows). InvalidArgument when
// x.cols() != kernel.rows() or bias.size() != kernel.cols().
template <typename T>
Result<Matrix<T>> DenseForward(const Matrix<T>& x, const Matrix<T>& kernel,
                               const RowVector<T>& bias);

template <typename T>
struct DenseGradients {
  Matrix<T> d_input;   // [batch, in] = d_output * kernel^T
  Matrix<T> d_kernel;  // [in, out]   = x^T * d_output
  RowVector<T> d_bias; // [out]       = column sums of d_output
};

// InvalidArgument when the shapes of x, kernel and d_output disagree.
template <typename T>
Result<DenseGradients<T>> DenseBackward(const Matrix<T>& x, const Matrix<T>& kernel,
                                        const Matrix<T>& d_output);

// max(x, 0) element-wise.
template <typename T>
Matrix<T> Relu(const Matrix<T>& x);

// The gradient through relu, as TensorFlow's ReluGrad: d_output where the
// relu's output (or, equivalently, input) is > 0, else 0. InvalidArgument
// when the shapes differ.
template <typename T>
Result<Matrix<T>> ReluBackward(const Matrix<T>& output, const Matrix<T>& d_output);

// The hidden-layer activations the canned DNN accepts by name (TF's
// activation_fn), with TensorFlow's definitions:
//   relu max(z, 0)            relu6 min(max(z, 0), 6)
//   elu z > 0 ? z : exp(z) - 1
//   selu scale * (z > 0 ? z : alpha * (exp(z) - 1)), TF's scale and alpha
//   tanh, sigmoid 1 / (1 + exp(-z)), softplus log(1 + exp(z)),
//   softsign z / (1 + |z|), leaky_relu z > 0 ? z : 0.2 z (TF's alpha).
enum class Activation { kRelu, kRelu6, kElu, kSelu, kTanh, kSigmoid, kSoftplus, kSoftsign,
                        kLeakyRelu };

// By TF's name ("relu", "relu6", "elu", "selu", "tanh", "sigmoid",
// "softplus", "softsign", "leaky_relu"). InvalidArgument for another name
// (the message lists the accepted ones).
Result<Activation> ActivationFromName(const std::string& name);
const char* ActivationName(Activation activation);

// The activation applied element-wise to the pre-activation z.
template <typename T>
Matrix<T> Activate(Activation activation, const Matrix<T>& z);

// d loss / d z given z, the activation's output y = Activate(z) and
// d_output = d loss / d y (TF's *Grad kernels: relu and relu6 pass the
// gradient where 0 < z (< 6), elu and selu use the output for z <= 0).
// InvalidArgument when the shapes differ.
template <typename T>
Result<Matrix<T>> ActivationBackward(Activation activation, const Matrix<T>& z,
                                     const Matrix<T>& y, const Matrix<T>& d_output);

template <typename T>
struct DropoutResult {
  Matrix<T> output;
  // Per element: 0 for dropped, 1 / (1 - rate) for kept; the backward pass
  // multiplies by it.
  Matrix<T> scale;
};

// Training-mode dropout as tf.layers.dropout / tf.nn.dropout: each element
// is kept when a uniform [0, 1) draw is >= rate, and kept elements are
// scaled by 1 / (1 - rate). Elements are drawn in row-major order.
// rate == 0 returns x unchanged (and draws nothing). InvalidArgument unless
// 0 <= rate < 1. Inference mode is the identity: do not call this.
template <typename T>
Result<DropoutResult<T>> DropoutForward(const Matrix<T>& x, double rate, Rng* rng);

// d_output * scale element-wise. InvalidArgument when the shapes differ.
template <typename T>
Result<Matrix<T>> DropoutBackward(const Matrix<T>& scale, const Matrix<T>& d_output);

// "[rows,cols]", for error messages.
template <typename Derived>
std::string ShapeString(const Eigen::EigenBase<Derived>& m) {
  return "[" + std::to_string(m.rows()) + "," + std::to_string(m.cols()) + "]";
}

}  // namespace ckpt::nn

#endif  // CKPT_SRC_MODELS_NN_LAYERS_H_
