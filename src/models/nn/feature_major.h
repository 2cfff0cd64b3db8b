// The training pass's kernels in feature-major layout.
//
// The reference functions of layers.h and loss.h take activations as
// [batch, units] matrices, the layout of a TensorFlow tensor. Their inner
// loops run along the units (3 to 10 of them for Iris), too short for SIMD,
// and every call returns fresh matrices. The DNN's training step instead
// keeps each layer's activations transposed, [units, batch] (row-major, so
// one unit's values over the batch are contiguous): every inner loop below
// runs along the batch and vectorises whatever the layer widths are, and
// every kernel writes into buffers the caller owns and reuses from step to
// step (Eigen resizes a buffer only when the batch size changes).
//
// Kernels and variables keep TensorFlow's layout: kernel [in, out] and
// bias [out], row-major, as stored in the checkpoint.
//
// The kernels compute what the reference functions compute; only the
// order of float additions in the sums over the batch (the d_kernel and
// d_bias reductions) differs, so results agree to float32 rounding
// (tests/models/nn_test.cc compares them).
//
// float32 runs kernels written for SIMD vectors and compiled for AVX-512F,
// AVX2+FMA and the build's baseline, picked from the CPU at the first call
// (see feature_major.cc for what that changes in the numerics: the order
// of the batch sums, fused multiply-adds on AVX2/AVX-512, exp/log within
// 2 ulp); double runs the Eigen-packet versions.
//
// Thread safety: pure functions; outputs are the caller's buffers.
// SetKernelIsaForTesting must not race with running kernels.
#ifndef CKPT_SRC_MODELS_NN_FEATURE_MAJOR_H_
#define CKPT_SRC_MODELS_NN_FEATURE_MAJOR_H_

#include <cstdint>
#include <vector>

#include "ckpt/random.h"
#include "models/nn/types.h"

namespace ckpt::nn {

// The instruction sets the float kernels are compiled for.
enum class KernelIsa { kBaseline, kAvx2, kAvx512 };
// "baseline", "avx2", "avx512f".
const char* KernelIsaName(KernelIsa isa);
// The variants this CPU can run (kBaseline first).
std::vector<KernelIsa> SupportedKernelIsas();
// The variant the float kernels use: the widest supported one, unless a
// test chose another.
KernelIsa ActiveKernelIsa();
// Tests and benchmarks: use `isa` from now on if the CPU supports it
// (otherwise nothing changes); returns the variant used before.
KernelIsa SetKernelIsaForTesting(KernelIsa isa);

// y_t = (x * kernel + bias)^T given x_t = x^T [in, batch]; with `relu`,
// max(., 0) of that. The products are summed over `in` in order, then the
// bias is added, as DenseForward does. REQUIRES: kernel is [in, out] with
// in == x_t.rows(), bias has `out` elements, y_t is not x_t.
template <typename T>
void DenseForwardFM(const T* kernel, const T* bias, int64_t in, int64_t out,
                    const Matrix<T>& x_t, bool relu, Matrix<T>* y_t);

// Gradients of a dense layer given d_t = (d loss / d y)^T [out, batch] and
// its input x_t [in, batch]:
//   d_kernel [in, out] (row-major) = x^T * d,  d_bias [out] = column sums of d,
//   d_input_t [in, batch] = (d * kernel^T)^T = kernel * d_t.
// d_input_t may be null (the first layer's input needs no gradient). With
// `relu_output` (the relu output that x_t is, or that x_t was computed
// from elementwise), d_input_t is passed through ReluGrad as well: 0 where
// relu_output <= 0. REQUIRES: shapes agree; outputs do not alias inputs.
template <typename T>
void DenseBackwardFM(const T* kernel, int64_t in, int64_t out, const Matrix<T>& x_t,
                     const Matrix<T>& d_t, T* d_kernel, T* d_bias, Matrix<T>* d_input_t,
                     const Matrix<T>* relu_output = nullptr);

// TensorFlow's ReluGrad in place: d_t stays where the relu's output y_t is
// > 0 and becomes 0 elsewhere. REQUIRES: same shapes.
template <typename T>
void ReluBackwardInPlace(const Matrix<T>& y_t, Matrix<T>* d_t);

// Training-mode dropout's scale, transposed: (*scale_t)(u, b) is the scale
// DropoutForward would give element (b, u) of a [batch, units] input with
// the same generator state, i.e. draws are made in [batch, units]
// row-major order, one per element: 1 / (1 - rate) when the uniform draw
// is >= rate, else 0. REQUIRES: 0 < rate < 1, rng not null.
template <typename T>
void DropoutScaleFM(int64_t units, int64_t batch, double rate, Rng* rng, Matrix<T>* scale_t);

// Sparse softmax cross-entropy of logits_t [classes, batch] (TensorFlow's
// SparseSoftmaxXentWithLogits): per example, shifted = logits - max,
// losses[b] = log(sum exp(shifted)) - shifted[label], and
// d_t = exp(shifted) / sum - onehot(label). REQUIRES: labels.size() ==
// batch, labels in range (CheckLabelRange), losses has batch elements.
template <typename T>
void SoftmaxCrossEntropyFM(const Matrix<T>& logits_t, const std::vector<int64_t>& labels,
                           T* losses, Matrix<T>* d_t);

// The binary logistic head on logits_t [1, batch]: losses as
// SigmoidCrossEntropy, d_t = sigmoid(z) - y. Same REQUIRES (labels 0 or 1).
template <typename T>
void SigmoidCrossEntropyFM(const Matrix<T>& logits_t, const std::vector<int64_t>& labels,
                           T* losses, Matrix<T>* d_t);

}  // namespace ckpt::nn

#endif  // CKPT_SRC_MODELS_NN_FEATURE_MAJOR_H_
