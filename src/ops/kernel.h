// The contract between graph execution (src/exec: import, pruning, the
// session) and the op kernels (src/ops): one stateless function per op type.
// It lives in the ops module, which implements it (src/ops/registry.cc); the
// executor (module exec, above ops) includes it as "ops/kernel.h".
//
// A kernel computes a node's outputs from its data inputs and the node's
// attrs. Everything stateful (Placeholder feeds, variables, Assign, the
// restore ops of a SaverDef, NoOp/control edges) is the executor's, never a
// kernel's.
//
// Thread safety: kernels are pure functions of their context; the table is
// immutable.
#ifndef CKPT_SRC_OPS_KERNEL_H_
#define CKPT_SRC_OPS_KERNEL_H_

#include <string>
#include <string_view>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "tensorflow/core/framework/node_def.pb.h"

namespace ckpt::exec {

struct KernelContext {
  // The node being run: its name (for messages), op and attrs ("T", "transpose_a", ...).
  const tensorflow::NodeDef* node = nullptr;
  // Its data inputs in order (control inputs "^x" excluded), already computed.
  std::vector<Tensor> inputs;
  // Filled by the kernel: one tensor per output of the op, in order.
  std::vector<Tensor> outputs;

  // A fused epilogue, offered by the executor to a Conv2D or MatMul whose
  // output only a BiasAdd (NHWC) reads: add `bias` (that BiasAdd's second
  // input) along the last dimension, then, when `relu`, apply the Relu that
  // alone reads the BiasAdd. A kernel that does so sets `epilogue_applied`;
  // one that cannot (dtype, shape) leaves it false and returns its plain
  // output, and the executor runs the BiasAdd and Relu kernels on it.
  const Tensor* bias = nullptr;
  bool relu = false;
  bool epilogue_applied = false;
};

// Errors: InvalidArgument naming the node (ctx->node->name()), the op and
// expected vs actual, as TensorFlow words it where it has a well-known message
// ("Matrix size-incompatible: In[0]: [2,3], In[1]: [4,5]"); Unimplemented for
// a dtype or attr value the kernel does not support.
using KernelFn = Status (*)(KernelContext* ctx);

// The kernel of an op type, or nullptr when ckpt cannot run it.
KernelFn FindKernel(std::string_view op_type);
// Every op type FindKernel knows, sorted (for docs and `ckpt run`'s errors).
std::vector<std::string> SupportedOps();

}  // namespace ckpt::exec

#endif  // CKPT_SRC_OPS_KERNEL_H_
