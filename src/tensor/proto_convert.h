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

void ShapeToProto(const TensorShape& shape, tensorflow::TensorShapeProto* proto);
// InvalidArgument for unknown rank, negative dims or overflowing sizes.
Result<TensorShape> ShapeFromProto(const tensorflow::TensorShapeProto& proto);

// Whole dimensions are extents with no fields set, as TensorFlow writes them.
void SliceToProto(const TensorSlice& slice, tensorflow::TensorSliceProto* proto);
Result<TensorSlice> SliceFromProto(const tensorflow::TensorSliceProto& proto);

}  // namespace ckpt

#endif  // CKPT_SRC_TENSOR_PROTO_CONVERT_H_
