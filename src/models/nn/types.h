// Matrix types of the neural-network math, and conversions to ckpt::Tensor.
//
// Matrices are row-major, so a [rows, cols] Matrix has the element layout of
// a TensorFlow [rows, cols] tensor (a kernel [fan_in, fan_out] converts to
// and from a checkpoint tensor by copying bytes). A RowVector is a [n] bias,
// scale or offset.
//
// Every function in src/models/nn is templated on the scalar: float is what
// the estimator trains with (as TensorFlow's float32 graph), double is what
// the gradient checks use. Both are instantiated.
//
// Thread safety: functions are pure; values are not shared.
#ifndef CKPT_SRC_MODELS_NN_TYPES_H_
#define CKPT_SRC_MODELS_NN_TYPES_H_

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::nn {

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
template <typename T>
using ColVector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// A [rows, cols] matrix from a rank-2 tensor of dtype T (float or double).
// InvalidArgument for another dtype or rank.
template <typename T>
Result<Matrix<T>> MatrixFromTensor(const Tensor& tensor);
// A [n] row vector from a rank-1 tensor of dtype T.
template <typename T>
Result<RowVector<T>> RowVectorFromTensor(const Tensor& tensor);

// An owning rank-2 (resp. rank-1) tensor holding a copy of the values.
template <typename T>
Tensor TensorFromMatrix(const Matrix<T>& m);
template <typename T>
Tensor TensorFromRowVector(const RowVector<T>& v);

// Copies `m` into an existing tensor of the same dtype and element count
// (e.g. a variable a Saver holds a pointer to). InvalidArgument on mismatch;
// REQUIRES: `tensor` owns its storage.
template <typename T>
Status AssignToTensor(const Matrix<T>& m, Tensor* tensor);
template <typename T>
Status AssignToTensor(const RowVector<T>& v, Tensor* tensor);

}  // namespace ckpt::nn

#endif  // CKPT_SRC_MODELS_NN_TYPES_H_
