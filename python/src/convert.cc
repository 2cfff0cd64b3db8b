// Tensors to and from (dtype, shape, payload) tuples (python/src/binding.h).
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "binding.h"
#include "ckpt/types.h"

namespace ckpt::python {

namespace {

nb::list ShapeToList(const TensorShape& shape) {
  nb::list dims;
  for (int64_t d : shape.dims()) dims.append(d);
  return dims;
}

}  // namespace

nb::tuple TensorToPython(const Tensor& tensor, nb::handle owner) {
  int dtype = static_cast<int>(tensor.dtype());
  if (tensor.dtype() == DataType::kString) {
    nb::list values;
    for (const std::string& s : tensor.strings()) values.append(nb::bytes(s.data(), s.size()));
    return nb::make_tuple(dtype, ShapeToList(tensor.shape()), values);
  }
  size_t size = tensor.byte_size();
  if (owner.is_valid()) {
    // Read-only: a mapped checkpoint file is never written through.
    nb::ndarray<nb::numpy, const uint8_t, nb::ndim<1>> bytes(tensor.data(), {size}, owner);
    return nb::make_tuple(dtype, ShapeToList(tensor.shape()), bytes.cast());
  }
  // The capsule holds a Tensor handle that shares the storage.
  auto* keep = new Tensor(tensor);
  nb::capsule free(keep, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>> bytes(keep->mutable_data(), {size}, free);
  return nb::make_tuple(dtype, ShapeToList(tensor.shape()), bytes.cast());
}

Tensor TensorFromPython(nb::handle entry) {
  nb::tuple t = nb::cast<nb::tuple>(entry);
  if (t.size() != 3) throw nb::value_error("expected (dtype, shape, payload)");
  int dtype_value = nb::cast<int>(t[0]);
  if (!IsValidDataType(dtype_value)) {
    ThrowIfError(InvalidArgumentError("invalid dtype enum value " + std::to_string(dtype_value)));
  }
  DataType dtype = static_cast<DataType>(dtype_value);
  TensorShape shape = ValueOrThrow(TensorShape::Make(nb::cast<std::vector<int64_t>>(t[1])));
  if (dtype == DataType::kString) {
    std::vector<std::string> values;
    for (nb::handle v : nb::cast<nb::list>(t[2])) {
      nb::bytes b = nb::cast<nb::bytes>(v);
      values.emplace_back(b.c_str(), b.size());
    }
    return ValueOrThrow(Tensor::FromStrings(std::move(shape), std::move(values)));
  }
  if (!IsStorable(dtype)) {
    ThrowIfError(InvalidArgumentError("dtype " + std::string(DataTypeName(dtype)) +
                                      " cannot be stored in a checkpoint"));
  }
  auto bytes = nb::cast<nb::ndarray<const uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>>(t[2]);
  size_t want = static_cast<size_t>(shape.num_elements()) * DataTypeSize(dtype);
  if (bytes.size() != want) {
    ThrowIfError(InvalidArgumentError("payload of " + std::to_string(bytes.size()) +
                                      " bytes for a " + std::string(DataTypeName(dtype)) +
                                      " tensor of shape " + shape.DebugString() + " (expected " +
                                      std::to_string(want) + ")"));
  }
  return Tensor::View(dtype, std::move(shape), bytes.data());
}

}  // namespace ckpt::python
