// The safetensors dtypes (internal to the convert module): one table of
// every dtype name, its element width in bits and its TensorFlow dtype
// (docs/format/safetensors.md, "Dtypes").
#ifndef CKPT_SRC_CONVERT_SAFETENSORS_DTYPE_H_
#define CKPT_SRC_CONVERT_SAFETENSORS_DTYPE_H_

#include <string_view>

#include "ckpt/types.h"

namespace ckpt::convert {

struct SafetensorsDtype {
  std::string_view name;
  int bits;        // element width: 1 to 64 bits (F4 and F6 are packed)
  DataType dtype;  // kInvalid: TensorFlow has no such dtype
};

// The entry named `name`, or nullptr.
const SafetensorsDtype* FindSafetensorsDtype(std::string_view name);

}  // namespace ckpt::convert

#endif  // CKPT_SRC_CONVERT_SAFETENSORS_DTYPE_H_
