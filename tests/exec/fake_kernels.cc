// A test-only kernel table so that the session tests link without the ops
// module (another branch): "Add" for float tensors of one shape, nothing else.
// It deliberately knows no other op, so unsupported-op paths can be tested.
#include "exec/kernel.h"

namespace ckpt::exec {
namespace {

Status FakeAddFloat(KernelContext* ctx) {
  if (ctx->inputs.size() != 2) return InvalidArgumentError("fake Add needs 2 inputs");
  const Tensor& x = ctx->inputs[0];
  const Tensor& y = ctx->inputs[1];
  if (x.dtype() != DataType::kFloat || y.dtype() != DataType::kFloat || x.shape() != y.shape()) {
    return UnimplementedError("fake Add (node '" + ctx->node->name() +
                              "') takes two float tensors of one shape");
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(DataType::kFloat, x.shape()));
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    out.mutable_flat<float>()[i] = x.flat<float>()[i] + y.flat<float>()[i];
  }
  ctx->outputs.push_back(std::move(out));
  return Status::OK();
}

}  // namespace

KernelFn FindKernel(std::string_view op_type) {
  return op_type == "Add" ? &FakeAddFloat : nullptr;
}

std::vector<std::string> SupportedOps() { return {"Add"}; }

}  // namespace ckpt::exec
