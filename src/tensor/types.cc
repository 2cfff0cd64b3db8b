#include <string>

#include "ckpt/types.h"

namespace ckpt {
namespace {

struct TypeInfo {
  DataType dtype;
  const char* name;
  const char* enum_name;
  size_t size;
};

// Element sizes as stored in a bundle (in-memory size of the element type;
// sub-byte types are kept one element per byte, as TensorFlow holds them).
constexpr TypeInfo kTypes[] = {
    {DataType::kInvalid, "invalid", "DT_INVALID", 0},
    {DataType::kFloat, "float", "DT_FLOAT", 4},
    {DataType::kDouble, "double", "DT_DOUBLE", 8},
    {DataType::kInt32, "int32", "DT_INT32", 4},
    {DataType::kUInt8, "uint8", "DT_UINT8", 1},
    {DataType::kInt16, "int16", "DT_INT16", 2},
    {DataType::kInt8, "int8", "DT_INT8", 1},
    {DataType::kString, "string", "DT_STRING", 0},
    {DataType::kComplex64, "complex64", "DT_COMPLEX64", 8},
    {DataType::kInt64, "int64", "DT_INT64", 8},
    {DataType::kBool, "bool", "DT_BOOL", 1},
    {DataType::kQInt8, "qint8", "DT_QINT8", 1},
    {DataType::kQUInt8, "quint8", "DT_QUINT8", 1},
    {DataType::kQInt32, "qint32", "DT_QINT32", 4},
    {DataType::kBFloat16, "bfloat16", "DT_BFLOAT16", 2},
    {DataType::kQInt16, "qint16", "DT_QINT16", 2},
    {DataType::kQUInt16, "quint16", "DT_QUINT16", 2},
    {DataType::kUInt16, "uint16", "DT_UINT16", 2},
    {DataType::kComplex128, "complex128", "DT_COMPLEX128", 16},
    {DataType::kHalf, "half", "DT_HALF", 2},
    {DataType::kResource, "resource", "DT_RESOURCE", 0},
    {DataType::kVariant, "variant", "DT_VARIANT", 0},
    {DataType::kUInt32, "uint32", "DT_UINT32", 4},
    {DataType::kUInt64, "uint64", "DT_UINT64", 8},
    {DataType::kFloat8E5M2, "float8_e5m2", "DT_FLOAT8_E5M2", 1},
    {DataType::kFloat8E4M3FN, "float8_e4m3fn", "DT_FLOAT8_E4M3FN", 1},
    {DataType::kFloat8E4M3FNUZ, "float8_e4m3fnuz", "DT_FLOAT8_E4M3FNUZ", 1},
    {DataType::kFloat8E4M3B11FNUZ, "float8_e4m3b11fnuz", "DT_FLOAT8_E4M3B11FNUZ", 1},
    {DataType::kFloat8E5M2FNUZ, "float8_e5m2fnuz", "DT_FLOAT8_E5M2FNUZ", 1},
    {DataType::kInt4, "int4", "DT_INT4", 1},
    {DataType::kUInt4, "uint4", "DT_UINT4", 1},
    {DataType::kInt2, "int2", "DT_INT2", 1},
    {DataType::kUInt2, "uint2", "DT_UINT2", 1},
    {DataType::kFloat4E2M1FN, "float4_e2m1fn", "DT_FLOAT4_E2M1FN", 1},
};
constexpr int kNumTypes = sizeof(kTypes) / sizeof(kTypes[0]);

const TypeInfo* Find(DataType dtype) {
  int v = static_cast<int>(dtype);
  return (v >= 0 && v < kNumTypes) ? &kTypes[v] : nullptr;
}

}  // namespace

std::string_view DataTypeName(DataType dtype) {
  const TypeInfo* t = Find(dtype);
  return t ? t->name : "unknown";
}

std::string_view DataTypeEnumName(DataType dtype) {
  const TypeInfo* t = Find(dtype);
  return t ? t->enum_name : "DT_INVALID";
}

std::optional<DataType> DataTypeFromName(std::string_view name) {
  for (const TypeInfo& t : kTypes) {
    if (name == t.name || name == t.enum_name) return t.dtype;
  }
  return std::nullopt;
}

size_t DataTypeSize(DataType dtype) {
  const TypeInfo* t = Find(dtype);
  return t ? t->size : 0;
}

bool IsFloating(DataType dtype) {
  switch (dtype) {
    case DataType::kHalf:
    case DataType::kBFloat16:
    case DataType::kFloat:
    case DataType::kDouble:
    case DataType::kFloat8E5M2:
    case DataType::kFloat8E4M3FN:
    case DataType::kFloat8E4M3FNUZ:
    case DataType::kFloat8E4M3B11FNUZ:
    case DataType::kFloat8E5M2FNUZ:
    case DataType::kFloat4E2M1FN:
      return true;
    default:
      return false;
  }
}

bool IsInteger(DataType dtype) {
  switch (dtype) {
    case DataType::kInt2:
    case DataType::kUInt2:
    case DataType::kInt4:
    case DataType::kUInt4:
    case DataType::kInt8:
    case DataType::kUInt8:
    case DataType::kInt16:
    case DataType::kUInt16:
    case DataType::kInt32:
    case DataType::kUInt32:
    case DataType::kInt64:
    case DataType::kUInt64:
      return true;
    default:
      return false;
  }
}

bool IsStorable(DataType dtype) {
  return IsFixedSize(dtype) || dtype == DataType::kString;
}

bool IsValidDataType(int value) { return value >= 0 && value < kNumTypes; }

const std::vector<DataType>& AllStorableTypes() {
  static const std::vector<DataType>* const types = [] {
    auto* v = new std::vector<DataType>();
    for (const TypeInfo& t : kTypes) {
      if (IsStorable(t.dtype)) v->push_back(t.dtype);
    }
    return v;
  }();
  return *types;
}

}  // namespace ckpt
