// Conversions between ckpt's value types and TensorFlow's protos.
// Thread safety: pure functions.
#ifndef CKPT_SRC_TENSOR_PROTO_CONVERT_H_
#define CKPT_SRC_TENSOR_PROTO_CONVERT_H_

#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
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

}  // namespace ckpt

#endif  // CKPT_SRC_TENSOR_PROTO_CONVERT_H_
