// Tensors built for the tests of the `ckpt` tools' printers.
#ifndef CKPT_TESTS_TOOLS_TEST_TENSORS_H_
#define CKPT_TESTS_TOOLS_TEST_TENSORS_H_

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/tensor.h"

namespace ckpt::tools {

// A string tensor. REQUIRES: v has shape.num_elements() elements.
inline Tensor Strings(TensorShape shape, std::vector<std::string> v) {
  return Tensor::FromStrings(std::move(shape), std::move(v)).value();
}

// A tensor of 16-bit (or 8-bit) encoded elements, given as their bits.
template <typename T>
Tensor Raw(DataType dtype, TensorShape shape, const std::vector<T>& bits) {
  Tensor t = Tensor::Allocate(dtype, std::move(shape)).value();
  std::memcpy(t.mutable_data(), bits.data(), bits.size() * sizeof(T));
  return t;
}

}  // namespace ckpt::tools

#endif  // CKPT_TESTS_TOOLS_TEST_TENSORS_H_
