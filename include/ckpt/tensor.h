// TensorShape and Tensor: a typed, shaped block of elements.
//
// A Tensor either owns its storage (shared between copies; copying a Tensor is
// cheap and aliases the same bytes) or is a view of a caller's buffer, which
// lets BundleWriter save a caller's memory without copying it. String tensors
// hold std::string elements (arbitrary bytes).
//
// Thread safety: a Tensor may be read from several threads; writes through
// mutable_data() need external synchronisation.
#ifndef CKPT_TENSOR_H_
#define CKPT_TENSOR_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/types.h"

namespace ckpt {

class TensorShape {
 public:
  TensorShape() = default;  // a scalar
  TensorShape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit TensorShape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  // Validates dims: each >= 0, product fits in int64.
  static Result<TensorShape> Make(std::vector<int64_t> dims);

  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t dim(int i) const { return dims_[i]; }
  const std::vector<int64_t>& dims() const { return dims_; }
  // Product of the dims (1 for a scalar). REQUIRES: a valid shape.
  int64_t num_elements() const;

  // TensorFlow's spelling: "[]", "[2,3]".
  std::string DebugString() const;

  friend bool operator==(const TensorShape& a, const TensorShape& b) {
    return a.dims_ == b.dims_;
  }
  friend bool operator!=(const TensorShape& a, const TensorShape& b) {
    return !(a == b);
  }

 private:
  std::vector<int64_t> dims_;
};

class Tensor {
 public:
  // An empty tensor of DataType kInvalid.
  Tensor();

  // Allocates zero-initialised storage (empty strings for kString); storage
  // of 1 MiB or more starts on a 4096-byte boundary (direct IO can write it
  // without a copy). Fails for non-storable dtypes or invalid shapes.
  static Result<Tensor> Allocate(DataType dtype, TensorShape shape);

  // Allocate without clearing: the contents of fixed-size dtypes are
  // unspecified (strings are still empty). For callers that write every
  // element before anyone reads the tensor (kernels' outputs). Storage of
  // 1 MiB or more may be a block a freed tensor left (see tensor.cc's cache).
  // Storage of kHugePageBytes or more starts on a boundary of that size and
  // its whole huge pages are advised as transparent huge pages.
  static Result<Tensor> AllocateUninitialized(DataType dtype, TensorShape shape);
  static constexpr size_t kHugePageBytes = size_t{2} << 20;  // x86-64's huge page

  // A non-owning view of `data`, which must hold shape.num_elements() *
  // DataTypeSize(dtype) bytes and outlive every copy of the view.
  // REQUIRES: IsFixedSize(dtype).
  static Tensor View(DataType dtype, TensorShape shape, const void* data);

  // A string tensor. REQUIRES: values.size() == shape.num_elements().
  static Result<Tensor> FromStrings(TensorShape shape,
                                    std::vector<std::string> values);

  // Convenience: an owning tensor from a vector of values.
  template <typename T>
  static Tensor FromVector(TensorShape shape, const std::vector<T>& values);
  template <typename T>
  static Tensor Scalar(T value) {
    return FromVector<T>(TensorShape(), std::vector<T>{value});
  }
  static Tensor StringScalar(std::string value);

  DataType dtype() const { return dtype_; }
  const TensorShape& shape() const { return shape_; }
  int64_t num_elements() const { return shape_.num_elements(); }
  bool is_view() const { return owner_ == nullptr && dtype_ != DataType::kString; }

  // Bytes of element data (fixed-size types only; 0 for strings).
  size_t byte_size() const;
  // Raw little-endian element bytes. REQUIRES: IsFixedSize(dtype()).
  const char* data() const { return data_; }
  // REQUIRES: an owning tensor (not a view).
  char* mutable_data() { return const_cast<char*>(data_); }
  std::string_view bytes() const { return {data_, byte_size()}; }

  // String elements. REQUIRES: dtype() == kString.
  const std::vector<std::string>& strings() const { return *strings_; }
  std::vector<std::string>* mutable_strings() { return strings_.get(); }

  // Typed access. REQUIRES: DataTypeOf<T>::value == dtype().
  template <typename T>
  const T* flat() const {
    return reinterpret_cast<const T*>(data_);
  }
  template <typename T>
  T* mutable_flat() {
    return reinterpret_cast<T*>(mutable_data());
  }

  // A deep copy that owns its storage.
  Tensor Copy() const;

  // Same dtype, shape and element bytes (or strings).
  bool Equals(const Tensor& other) const;

 private:
  static Result<Tensor> AllocateStorage(DataType dtype, TensorShape shape, bool zeroed);

  DataType dtype_;
  TensorShape shape_;
  std::shared_ptr<char[]> owner_;  // null for views and strings
  const char* data_ = nullptr;
  std::shared_ptr<std::vector<std::string>> strings_;
};

template <typename T>
Tensor Tensor::FromVector(TensorShape shape, const std::vector<T>& values) {
  Tensor t = Allocate(DataTypeOf<T>::value, std::move(shape)).value();
  T* out = t.mutable_flat<T>();
  for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.num_elements()); ++i) {
    out[i] = values[i];
  }
  return t;
}

}  // namespace ckpt

#endif  // CKPT_TENSOR_H_
