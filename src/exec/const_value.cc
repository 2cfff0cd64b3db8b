#include "exec/const_value.h"

#include <cstring>

#include "tensor/proto_convert.h"

namespace ckpt::exec {
namespace {

// A fixed-size tensor of `shape` holding `scalar`'s element everywhere.
Result<Tensor> Fill(const Tensor& scalar, const TensorShape& shape) {
  CKPT_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(scalar.dtype(), shape));
  const size_t size = scalar.byte_size();
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    std::memcpy(out.mutable_data() + i * size, scalar.data(), size);
  }
  return out;
}

}  // namespace

Result<Tensor> ConstValue(const tensorflow::NodeDef& node) {
  const std::string where = "Const node '" + node.name() + "'";
  auto value = node.attr().find("value");
  auto dtype_attr = node.attr().find("dtype");
  if (value == node.attr().end() || !value->second.has_tensor() ||
      dtype_attr == node.attr().end()) {
    return InvalidArgumentError(where + " has no \"value\" tensor or \"dtype\" attr");
  }
  const tensorflow::TensorProto& proto = value->second.tensor();
  const auto dtype = static_cast<DataType>(dtype_attr->second.type());
  CKPT_ASSIGN_OR_RETURN(TensorShape shape, ShapeFromProto(proto.tensor_shape()));
  Result<Tensor> whole = TensorFromProto(proto, dtype, shape, where);
  if (whole.ok() || !IsFixedSize(dtype) || !proto.tensor_content().empty() ||
      shape.num_elements() <= 1) {
    return whole;
  }
  // TF's fill rule: a single typed value fills the shape; none means zeros.
  Result<Tensor> scalar = TensorFromProto(proto, dtype, TensorShape(), where);
  if (scalar.ok()) return Fill(*scalar, shape);
  Result<Tensor> empty = TensorFromProto(proto, dtype, TensorShape({0}), where);
  if (empty.ok()) return Tensor::Allocate(dtype, shape);
  return whole;
}

}  // namespace ckpt::exec
