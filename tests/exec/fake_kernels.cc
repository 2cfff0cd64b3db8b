// A test-only kernel table so that the session tests link without the ops
// module (another branch): "Add" and "Mul" for float tensors of one shape or
// a scalar with a tensor, nothing else. It deliberately knows few ops, so
// unsupported-op paths can be tested.
#include "exec/kernel.h"

namespace ckpt::exec {
namespace {

template <typename Fn>
Status FloatBinary(KernelContext* ctx, Fn fn) {
  if (ctx->inputs.size() != 2) return InvalidArgumentError("fake kernel needs 2 inputs");
  const Tensor& x = ctx->inputs[0];
  const Tensor& y = ctx->inputs[1];
  const bool same = x.shape() == y.shape();
  if (x.dtype() != DataType::kFloat || y.dtype() != DataType::kFloat ||
      (!same && x.shape().rank() != 0 && y.shape().rank() != 0)) {
    return UnimplementedError("fake " + ctx->node->op() + " (node '" + ctx->node->name() +
                              "') takes float tensors of one shape or a scalar");
  }
  const TensorShape& shape = x.shape().rank() == 0 ? y.shape() : x.shape();
  CKPT_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(DataType::kFloat, shape));
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    const float a = x.flat<float>()[x.num_elements() == 1 ? 0 : i];
    const float b = y.flat<float>()[y.num_elements() == 1 ? 0 : i];
    out.mutable_flat<float>()[i] = fn(a, b);
  }
  ctx->outputs.push_back(std::move(out));
  return Status::OK();
}

Status FakeAdd(KernelContext* ctx) {
  return FloatBinary(ctx, [](float a, float b) { return a + b; });
}
Status FakeMul(KernelContext* ctx) {
  return FloatBinary(ctx, [](float a, float b) { return a * b; });
}

}  // namespace

KernelFn FindKernel(std::string_view op_type) {
  if (op_type == "Add") return &FakeAdd;
  if (op_type == "Mul") return &FakeMul;
  return nullptr;
}

std::vector<std::string> SupportedOps() { return {"Add", "Mul"}; }

}  // namespace ckpt::exec
