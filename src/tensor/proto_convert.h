// Conversions between ckpt's value types and TensorFlow's protos.
// Thread safety: pure functions.
#ifndef CKPT_SRC_TENSOR_PROTO_CONVERT_H_
#define CKPT_SRC_TENSOR_PROTO_CONVERT_H_

#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "tensorflow/core/framework/tensor.pb.h"
#include "tensorflow/core/framework/tensor_shape.pb.h"
#include "tensorflow/core/framework/tensor_slice.pb.h"

namespace ckpt {

// The highest rank a shape read from a file may have: TensorFlow's
// TensorShape::kMaxDimensions. A file claiming more is corrupt or hostile
// (per-axis work on it would be unbounded).
constexpr int kMaxStoredRank = 254;

void ShapeToProto(const TensorShape& shape, tensorflow::TensorShapeProto* proto);
// InvalidArgument for unknown rank, rank above kMaxStoredRank (checked
// before any dim is looked at), negative dims or overflowing sizes.
Result<TensorShape> ShapeFromProto(const tensorflow::TensorShapeProto& proto);

// Whole dimensions are extents with no fields set, as TensorFlow writes them.
void SliceToProto(const TensorSlice& slice, tensorflow::TensorSliceProto* proto);
Result<TensorSlice> SliceFromProto(const tensorflow::TensorSliceProto& proto);

// Tensor -> TensorProto, as TF Python's make_tensor_proto encodes a numpy
// value for a Const: tensor_content for tensors of more than one element of a
// type TF packs (numeric types except bool, uint16, complex and the 4/2-bit
// integers), the typed repeated field otherwise. InvalidArgument "a Const
// cannot hold dtype <name>" for dtypes that are not storable. Also declared
// in ckpt/graph.h, its public home.
Status TensorToProto(const Tensor& tensor, tensorflow::TensorProto* proto);

// TensorProto -> Tensor of `dtype` and `shape` (which the caller knows from
// elsewhere, e.g. a V1 checkpoint's metadata; the proto's own dtype and shape
// are not consulted): from tensor_content if it is set and `dtype` is
// fixed-size, else from the typed repeated field (two values per element for
// complex types; float8_val holds raw bytes). DataLoss, prefixed by `where`,
// when the value count or byte size does not match `shape`; Unimplemented for
// a dtype that is not storable.
Result<Tensor> TensorFromProto(const tensorflow::TensorProto& proto, DataType dtype,
                               const TensorShape& shape, const std::string& where);

}  // namespace ckpt

#endif  // CKPT_SRC_TENSOR_PROTO_CONVERT_H_
