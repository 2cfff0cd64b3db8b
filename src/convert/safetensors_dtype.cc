#include "convert/safetensors_dtype.h"

#include <iterator>

#include "ckpt/safetensors.h"

namespace ckpt::convert {
namespace {

// The dtypes of the safetensors library (its Dtype enum). F8_E4M3 is
// float8_e4m3fn (PyTorch's and ml_dtypes' name); TensorFlow has no F4 (it
// stores float4_e2m1fn one per byte, safetensors two), no F6 and no E8M0.
constexpr SafetensorsDtype kDtypes[] = {
    {"BOOL", 8, DataType::kBool},
    {"U8", 8, DataType::kUInt8},
    {"I8", 8, DataType::kInt8},
    {"U16", 16, DataType::kUInt16},
    {"I16", 16, DataType::kInt16},
    {"U32", 32, DataType::kUInt32},
    {"I32", 32, DataType::kInt32},
    {"U64", 64, DataType::kUInt64},
    {"I64", 64, DataType::kInt64},
    {"F16", 16, DataType::kHalf},
    {"BF16", 16, DataType::kBFloat16},
    {"F32", 32, DataType::kFloat},
    {"F64", 64, DataType::kDouble},
    {"C64", 64, DataType::kComplex64},
    {"F8_E4M3", 8, DataType::kFloat8E4M3FN},
    {"F8_E5M2", 8, DataType::kFloat8E5M2},
    {"F8_E4M3FNUZ", 8, DataType::kFloat8E4M3FNUZ},
    {"F8_E5M2FNUZ", 8, DataType::kFloat8E5M2FNUZ},
    {"F8_E8M0", 8, DataType::kInvalid},
    {"F6_E2M3", 6, DataType::kInvalid},
    {"F6_E3M2", 6, DataType::kInvalid},
    {"F4", 4, DataType::kInvalid},
};

}  // namespace

const SafetensorsDtype* FindSafetensorsDtype(std::string_view name) {
  for (const SafetensorsDtype& d : kDtypes) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

}  // namespace ckpt::convert

namespace ckpt {

std::optional<DataType> DataTypeFromSafetensors(std::string_view name) {
  const convert::SafetensorsDtype* d = convert::FindSafetensorsDtype(name);
  if (d == nullptr) return std::nullopt;
  return d->dtype;
}

std::optional<std::string_view> SafetensorsDtypeName(DataType dtype) {
  if (dtype == DataType::kInvalid) return std::nullopt;
  for (const convert::SafetensorsDtype& d : convert::kDtypes) {
    if (d.dtype == dtype) return d.name;
  }
  return std::nullopt;
}

}  // namespace ckpt
