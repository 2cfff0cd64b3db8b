#include "models/nn/types.h"

#include <cstring>
#include <string>

#include "ckpt/types.h"

namespace ckpt::nn {
namespace {

template <typename T>
Status CheckTensor(const Tensor& tensor, int rank, const char* what) {
  if (tensor.dtype() != DataTypeOf<T>::value) {
    return InvalidArgumentError(std::string(what) + ": expected dtype " +
                                std::string(DataTypeName(DataTypeOf<T>::value)) + ", got " +
                                std::string(DataTypeName(tensor.dtype())));
  }
  if (tensor.shape().rank() != rank) {
    return InvalidArgumentError(std::string(what) + ": expected a rank-" + std::to_string(rank) +
                                " tensor, got shape " + tensor.shape().DebugString());
  }
  return Status::OK();
}

template <typename T>
Status CopyInto(const T* data, int64_t n, Tensor* tensor) {
  if (tensor == nullptr) return InvalidArgumentError("AssignToTensor: null tensor");
  if (tensor->dtype() != DataTypeOf<T>::value) {
    return InvalidArgumentError("AssignToTensor: tensor dtype " +
                                std::string(DataTypeName(tensor->dtype())) + " is not " +
                                std::string(DataTypeName(DataTypeOf<T>::value)));
  }
  if (tensor->num_elements() != n) {
    return InvalidArgumentError("AssignToTensor: tensor of shape " +
                                tensor->shape().DebugString() + " cannot hold " +
                                std::to_string(n) + " elements");
  }
  if (tensor->is_view()) {
    return InvalidArgumentError("AssignToTensor: tensor is a view, not owning storage");
  }
  if (n > 0) std::memcpy(tensor->mutable_data(), data, sizeof(T) * n);
  return Status::OK();
}

}  // namespace

template <typename T>
Result<Matrix<T>> MatrixFromTensor(const Tensor& tensor) {
  CKPT_RETURN_IF_ERROR(CheckTensor<T>(tensor, 2, "MatrixFromTensor"));
  Matrix<T> m(tensor.shape().dim(0), tensor.shape().dim(1));
  if (m.size() > 0) std::memcpy(m.data(), tensor.data(), sizeof(T) * m.size());
  return m;
}

template <typename T>
Result<RowVector<T>> RowVectorFromTensor(const Tensor& tensor) {
  CKPT_RETURN_IF_ERROR(CheckTensor<T>(tensor, 1, "RowVectorFromTensor"));
  RowVector<T> v(tensor.shape().dim(0));
  if (v.size() > 0) std::memcpy(v.data(), tensor.data(), sizeof(T) * v.size());
  return v;
}

template <typename T>
Tensor TensorFromMatrix(const Matrix<T>& m) {
  Tensor t = Tensor::Allocate(DataTypeOf<T>::value, TensorShape({m.rows(), m.cols()})).value();
  if (m.size() > 0) std::memcpy(t.mutable_data(), m.data(), sizeof(T) * m.size());
  return t;
}

template <typename T>
Tensor TensorFromRowVector(const RowVector<T>& v) {
  Tensor t = Tensor::Allocate(DataTypeOf<T>::value, TensorShape({v.size()})).value();
  if (v.size() > 0) std::memcpy(t.mutable_data(), v.data(), sizeof(T) * v.size());
  return t;
}

template <typename T>
Status AssignToTensor(const Matrix<T>& m, Tensor* tensor) {
  return CopyInto<T>(m.data(), m.size(), tensor);
}

template <typename T>
Status AssignToTensor(const RowVector<T>& v, Tensor* tensor) {
  return CopyInto<T>(v.data(), v.size(), tensor);
}

#define CKPT_NN_INSTANTIATE(T)                                         \
  template Result<Matrix<T>> MatrixFromTensor<T>(const Tensor&);       \
  template Result<RowVector<T>> RowVectorFromTensor<T>(const Tensor&); \
  template Tensor TensorFromMatrix<T>(const Matrix<T>&);               \
  template Tensor TensorFromRowVector<T>(const RowVector<T>&);         \
  template Status AssignToTensor<T>(const Matrix<T>&, Tensor*);        \
  template Status AssignToTensor<T>(const RowVector<T>&, Tensor*);
CKPT_NN_INSTANTIATE(float)
CKPT_NN_INSTANTIATE(double)
#undef CKPT_NN_INSTANTIATE

}  // namespace ckpt::nn
