// DataType: the element types a checkpoint can hold, numbered as TensorFlow's
// DataType enum (types.proto), so values cast directly to and from the proto.
//
// Thread safety: all functions are pure.
#ifndef CKPT_TYPES_H_
#define CKPT_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ckpt {

enum class DataType : int {
  kInvalid = 0,
  kFloat = 1,
  kDouble = 2,
  kInt32 = 3,
  kUInt8 = 4,
  kInt16 = 5,
  kInt8 = 6,
  kString = 7,
  kComplex64 = 8,
  kInt64 = 9,
  kBool = 10,
  kQInt8 = 11,
  kQUInt8 = 12,
  kQInt32 = 13,
  kBFloat16 = 14,
  kQInt16 = 15,
  kQUInt16 = 16,
  kUInt16 = 17,
  kComplex128 = 18,
  kHalf = 19,
  kResource = 20,
  kVariant = 21,
  kUInt32 = 22,
  kUInt64 = 23,
  kFloat8E5M2 = 24,
  kFloat8E4M3FN = 25,
  kFloat8E4M3FNUZ = 26,
  kFloat8E4M3B11FNUZ = 27,
  kFloat8E5M2FNUZ = 28,
  kInt4 = 29,
  kUInt4 = 30,
  kInt2 = 31,
  kUInt2 = 32,
  kFloat4E2M1FN = 33,
};

// TensorFlow's short name: "float", "int64", "string", "bfloat16", ...
// "unknown" for values outside the enum.
std::string_view DataTypeName(DataType dtype);
// The proto enum name: "DT_FLOAT", "DT_INT64", ...; "DT_INVALID" if unknown.
std::string_view DataTypeEnumName(DataType dtype);
// Parses either spelling ("float" or "DT_FLOAT").
std::optional<DataType> DataTypeFromName(std::string_view name);

// Bytes per element as stored in a bundle, or 0 for types without a fixed
// size (string, variant, resource, invalid).
size_t DataTypeSize(DataType dtype);

// True for types whose elements are raw little-endian values (everything with
// DataTypeSize > 0).
inline bool IsFixedSize(DataType dtype) { return DataTypeSize(dtype) > 0; }

// TF's DataTypeIsFloating: half, bfloat16, float, double and the 8- and
// 4-bit floats.
bool IsFloating(DataType dtype);
// TF's DataTypeIsInteger: the signed and unsigned integers of 2 to 64 bits
// (not bool, not the quantized types).
bool IsInteger(DataType dtype);

// True for the types a bundle can store: every fixed-size type and string.
bool IsStorable(DataType dtype);

// True if `value` names a DataType enum value (0..33).
bool IsValidDataType(int value);

// All storable types, in enum order (used by typed tests and tools).
const std::vector<DataType>& AllStorableTypes();

// Maps a C++ element type to its DataType.
template <typename T>
struct DataTypeOf;
#define CKPT_DATATYPE_OF_(T, DT) \
  template <>                    \
  struct DataTypeOf<T> {         \
    static constexpr DataType value = DataType::DT; \
  }
CKPT_DATATYPE_OF_(float, kFloat);
CKPT_DATATYPE_OF_(double, kDouble);
CKPT_DATATYPE_OF_(int8_t, kInt8);
CKPT_DATATYPE_OF_(int16_t, kInt16);
CKPT_DATATYPE_OF_(int32_t, kInt32);
CKPT_DATATYPE_OF_(int64_t, kInt64);
CKPT_DATATYPE_OF_(uint8_t, kUInt8);
CKPT_DATATYPE_OF_(uint16_t, kUInt16);
CKPT_DATATYPE_OF_(uint32_t, kUInt32);
CKPT_DATATYPE_OF_(uint64_t, kUInt64);
CKPT_DATATYPE_OF_(bool, kBool);
#undef CKPT_DATATYPE_OF_

}  // namespace ckpt

#endif  // CKPT_TYPES_H_
