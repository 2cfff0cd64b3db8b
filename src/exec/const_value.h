// The value of a Const node: its "value" TensorProto as a Tensor.
// Thread safety: pure function.
#ifndef CKPT_SRC_EXEC_CONST_VALUE_H_
#define CKPT_SRC_EXEC_CONST_VALUE_H_

#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "tensorflow/core/framework/node_def.pb.h"

namespace ckpt::exec {

// The node's "value" attr with its "dtype" attr: through TensorFromProto
// (src/tensor/proto_convert.h), plus TensorFlow's fill rule for typed fields
// that hold fewer values than the shape (one value fills the tensor, as
// tf.zeros([784, 256]) is written; no value means zeros). InvalidArgument
// naming the node if an attr is missing; DataLoss for a value that does not
// match its shape.
Result<Tensor> ConstValue(const tensorflow::NodeDef& node);

}  // namespace ckpt::exec

#endif  // CKPT_SRC_EXEC_CONST_VALUE_H_
