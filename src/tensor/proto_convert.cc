// Conversions between ckpt's value types and TensorFlow's protos. A Tensor
// becomes a TensorProto (TensorToProto) and back (TensorFromProto) here and
// nowhere else.
#include "tensor/proto_convert.h"

#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace ckpt {
namespace {

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

Status CountMismatch(const std::string& where, const char* field, uint64_t expected,
                     uint64_t actual, const TensorShape& shape, DataType dtype) {
  return DataLossError(where + ": expected " + std::to_string(expected) + " values in " +
                       field + " for " + std::string(DataTypeName(dtype)) + " shape " +
                       shape.DebugString() + ", found " + std::to_string(actual));
}

// Copies a repeated proto field into a new tensor, `per_element` field values
// per element (2 for complex types), converting each with static_cast<Out>.
template <typename Out, typename Field>
Result<Tensor> FromField(const Field& field, const char* field_name, DataType dtype,
                         const TensorShape& shape, uint64_t per_element,
                         const std::string& where) {
  const uint64_t expected = static_cast<uint64_t>(shape.num_elements()) * per_element;
  const uint64_t actual = static_cast<uint64_t>(field.size());
  if (actual != expected) {
    return CountMismatch(where, field_name, expected, actual, shape, dtype);
  }
  CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  Out* out = reinterpret_cast<Out*>(t.mutable_data());
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Out>(field.Get(i));
  return t;
}

// Raw little-endian element bytes (tensor_content, or float8_val).
Result<Tensor> FromBytes(const std::string& bytes, const char* field_name, DataType dtype,
                         const TensorShape& shape, const std::string& where) {
  const uint64_t elem = DataTypeSize(dtype);
  const uint64_t n = static_cast<uint64_t>(shape.num_elements());
  if (bytes.size() % elem != 0 || bytes.size() / elem != n) {
    return DataLossError(where + ": " + field_name + " holds " +
                         std::to_string(bytes.size()) + " bytes, expected " +
                         std::to_string(n) + " " + std::string(DataTypeName(dtype)) +
                         " values of " + std::to_string(elem) + " bytes for shape " +
                         shape.DebugString());
  }
  CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  if (!bytes.empty()) std::memcpy(t.mutable_data(), bytes.data(), bytes.size());
  return t;
}

}  // namespace

void ShapeToProto(const TensorShape& shape, tensorflow::TensorShapeProto* proto) {
  proto->Clear();
  for (int64_t d : shape.dims()) proto->add_dim()->set_size(d);
}

Result<TensorShape> ShapeFromProto(const tensorflow::TensorShapeProto& proto) {
  if (proto.unknown_rank()) return InvalidArgumentError("shape has unknown rank");
  if (proto.dim_size() > kMaxStoredRank) {
    return InvalidArgumentError("rank " + std::to_string(proto.dim_size()) +
                                " exceeds the limit of " + std::to_string(kMaxStoredRank) +
                                " dimensions");
  }
  std::vector<int64_t> dims;
  dims.reserve(proto.dim_size());
  for (const auto& d : proto.dim()) dims.push_back(d.size());
  return TensorShape::Make(std::move(dims));
}

void SliceToProto(const TensorSlice& slice, tensorflow::TensorSliceProto* proto) {
  proto->Clear();
  for (const auto& e : slice.extents()) {
    auto* pe = proto->add_extent();
    if (e.length != TensorSlice::kFullExtent) {
      pe->set_start(e.start);
      pe->set_length(e.length);
    }
  }
}

Result<TensorSlice> SliceFromProto(const tensorflow::TensorSliceProto& proto) {
  std::vector<TensorSlice::Extent> extents;
  for (const auto& pe : proto.extent()) {
    TensorSlice::Extent e;
    if (pe.has_length_case() == tensorflow::TensorSliceProto::Extent::kLength) {
      e.start = pe.start();
      e.length = pe.length();
      if (e.start < 0 || e.length < 0) {
        return InvalidArgumentError("slice extent has negative start or length");
      }
    }
    extents.push_back(e);
  }
  return TensorSlice(std::move(extents));
}

Status TensorToProto(const Tensor& tensor, tensorflow::TensorProto* proto) {
  proto->Clear();
  const DataType dt = tensor.dtype();
  if (!IsStorable(dt)) {
    return InvalidArgumentError("a Const cannot hold dtype " + std::string(DataTypeName(dt)));
  }
  proto->set_dtype(static_cast<tensorflow::DataType>(dt));
  // Always present (empty for scalars), as TF writes it.
  ShapeToProto(tensor.shape(), proto->mutable_tensor_shape());
  const int64_t n = tensor.num_elements();
  if (dt == DataType::kString) {
    for (const auto& s : tensor.strings()) proto->add_string_val(s);
    return Status::OK();
  }
  // Types TF Python packs into tensor_content when a value has > 1 element.
  static const std::set<DataType> kContentTypes = {
      DataType::kBFloat16, DataType::kHalf, DataType::kFloat, DataType::kDouble,
      DataType::kInt8, DataType::kInt16, DataType::kInt32, DataType::kInt64,
      DataType::kUInt8, DataType::kUInt32, DataType::kUInt64, DataType::kQInt8,
      DataType::kQUInt8, DataType::kQInt16, DataType::kQUInt16, DataType::kQInt32,
      DataType::kFloat8E5M2, DataType::kFloat8E4M3FN, DataType::kFloat8E4M3FNUZ,
      DataType::kFloat8E4M3B11FNUZ, DataType::kFloat8E5M2FNUZ, DataType::kFloat4E2M1FN};
  if (n > 1 && kContentTypes.count(dt)) {
    proto->set_tensor_content(std::string(tensor.bytes()));
    return Status::OK();
  }
  const char* p = tensor.data();
  const size_t size = DataTypeSize(dt);
  for (int64_t i = 0; i < n; ++i, p += size) {
    switch (dt) {
      case DataType::kFloat: proto->add_float_val(Load<float>(p)); break;
      case DataType::kDouble: proto->add_double_val(Load<double>(p)); break;
      case DataType::kInt64: proto->add_int64_val(Load<int64_t>(p)); break;
      case DataType::kUInt32: proto->add_uint32_val(Load<uint32_t>(p)); break;
      case DataType::kUInt64: proto->add_uint64_val(Load<uint64_t>(p)); break;
      case DataType::kBool: proto->add_bool_val(Load<uint8_t>(p) != 0); break;
      case DataType::kInt32:
      case DataType::kQInt32: proto->add_int_val(Load<int32_t>(p)); break;
      case DataType::kInt16:
      case DataType::kQInt16: proto->add_int_val(Load<int16_t>(p)); break;
      case DataType::kUInt16:
      case DataType::kQUInt16: proto->add_int_val(Load<uint16_t>(p)); break;
      case DataType::kInt8:
      case DataType::kQInt8:
      case DataType::kInt4:
      case DataType::kInt2: proto->add_int_val(Load<int8_t>(p)); break;
      case DataType::kUInt8:
      case DataType::kQUInt8:
      case DataType::kUInt4:
      case DataType::kUInt2: proto->add_int_val(Load<uint8_t>(p)); break;
      case DataType::kHalf:
      case DataType::kBFloat16: proto->add_half_val(Load<uint16_t>(p)); break;
      case DataType::kComplex64:
        proto->add_scomplex_val(Load<float>(p));
        proto->add_scomplex_val(Load<float>(p + 4));
        break;
      case DataType::kComplex128:
        proto->add_dcomplex_val(Load<double>(p));
        proto->add_dcomplex_val(Load<double>(p + 8));
        break;
      case DataType::kFloat8E5M2:
      case DataType::kFloat8E4M3FN:
      case DataType::kFloat8E4M3FNUZ:
      case DataType::kFloat8E4M3B11FNUZ:
      case DataType::kFloat8E5M2FNUZ:
      case DataType::kFloat4E2M1FN: proto->mutable_float8_val()->push_back(*p); break;
      default:
        return InvalidArgumentError("a Const cannot hold dtype " + std::string(DataTypeName(dt)));
    }
  }
  return Status::OK();
}

Result<Tensor> TensorFromProto(const tensorflow::TensorProto& proto, DataType dtype,
                               const TensorShape& shape, const std::string& where) {
  if (IsFixedSize(dtype) && !proto.tensor_content().empty()) {
    return FromBytes(proto.tensor_content(), "tensor_content", dtype, shape, where);
  }
  switch (dtype) {
    case DataType::kFloat:
      return FromField<float>(proto.float_val(), "float_val", dtype, shape, 1, where);
    case DataType::kDouble:
      return FromField<double>(proto.double_val(), "double_val", dtype, shape, 1, where);
    case DataType::kInt32:
    case DataType::kQInt32:
      return FromField<int32_t>(proto.int_val(), "int_val", dtype, shape, 1, where);
    case DataType::kInt16:
    case DataType::kQInt16:
      return FromField<int16_t>(proto.int_val(), "int_val", dtype, shape, 1, where);
    case DataType::kUInt16:
    case DataType::kQUInt16:
      return FromField<uint16_t>(proto.int_val(), "int_val", dtype, shape, 1, where);
    case DataType::kInt8:
    case DataType::kQInt8:
    case DataType::kInt4:
    case DataType::kInt2:
      return FromField<int8_t>(proto.int_val(), "int_val", dtype, shape, 1, where);
    case DataType::kUInt8:
    case DataType::kQUInt8:
    case DataType::kUInt4:
    case DataType::kUInt2:
      return FromField<uint8_t>(proto.int_val(), "int_val", dtype, shape, 1, where);
    case DataType::kInt64:
      return FromField<int64_t>(proto.int64_val(), "int64_val", dtype, shape, 1, where);
    case DataType::kBool:
      return FromField<bool>(proto.bool_val(), "bool_val", dtype, shape, 1, where);
    case DataType::kComplex64:
      return FromField<float>(proto.scomplex_val(), "scomplex_val", dtype, shape, 2, where);
    case DataType::kComplex128:
      return FromField<double>(proto.dcomplex_val(), "dcomplex_val", dtype, shape, 2, where);
    case DataType::kHalf:
    case DataType::kBFloat16:
      return FromField<uint16_t>(proto.half_val(), "half_val", dtype, shape, 1, where);
    case DataType::kUInt32:
      return FromField<uint32_t>(proto.uint32_val(), "uint32_val", dtype, shape, 1, where);
    case DataType::kUInt64:
      return FromField<uint64_t>(proto.uint64_val(), "uint64_val", dtype, shape, 1, where);
    case DataType::kFloat8E5M2:
    case DataType::kFloat8E4M3FN:
    case DataType::kFloat8E4M3FNUZ:
    case DataType::kFloat8E4M3B11FNUZ:
    case DataType::kFloat8E5M2FNUZ:
    case DataType::kFloat4E2M1FN:
      return FromBytes(proto.float8_val(), "float8_val", dtype, shape, where);
    case DataType::kString: {
      const uint64_t n = static_cast<uint64_t>(shape.num_elements());
      if (static_cast<uint64_t>(proto.string_val_size()) != n) {
        return CountMismatch(where, "string_val", n, proto.string_val_size(), shape, dtype);
      }
      std::vector<std::string> values(proto.string_val().begin(), proto.string_val().end());
      return Tensor::FromStrings(shape, std::move(values));
    }
    default:
      return UnimplementedError(where + ": dtype " + std::string(DataTypeName(dtype)) +
                                " cannot be read from a TensorProto");
  }
}

}  // namespace ckpt
