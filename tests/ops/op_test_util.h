// Test helpers for the op kernels: a NodeDef builder and a runner that goes
// through the op table (exec::FindKernel), as Session does.
#ifndef CKPT_TESTS_OPS_OP_TEST_UTIL_H_
#define CKPT_TESTS_OPS_OP_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ops/kernel.h"

namespace ckpt {

// A NodeDef of `op` named `name`, with attrs set through the builder calls.
class Node {
 public:
  Node(std::string op, std::string name = "n") {
    def_.set_op(std::move(op));
    def_.set_name(std::move(name));
  }
  Node& Type(const std::string& attr, DataType t) {
    (*def_.mutable_attr())[attr].set_type(static_cast<tensorflow::DataType>(t));
    return *this;
  }
  Node& Bool(const std::string& attr, bool b) {
    (*def_.mutable_attr())[attr].set_b(b);
    return *this;
  }
  Node& Str(const std::string& attr, const std::string& s) {
    (*def_.mutable_attr())[attr].set_s(s);
    return *this;
  }
  Node& Int(const std::string& attr, int64_t i) {
    (*def_.mutable_attr())[attr].set_i(i);
    return *this;
  }
  Node& Float(const std::string& attr, float f) {
    (*def_.mutable_attr())[attr].set_f(f);
    return *this;
  }
  Node& Ints(const std::string& attr, std::vector<int64_t> v) {
    auto* list = (*def_.mutable_attr())[attr].mutable_list();
    for (int64_t i : v) list->add_i(i);
    return *this;
  }
  const tensorflow::NodeDef& def() const { return def_; }

 private:
  tensorflow::NodeDef def_;
};

// Runs the kernel of node.op() on `inputs`; the outputs, or the error.
inline Result<std::vector<Tensor>> RunKernel(const Node& node, std::vector<Tensor> inputs) {
  exec::KernelFn fn = exec::FindKernel(node.def().op());
  if (fn == nullptr) return InternalError("no kernel for " + node.def().op());
  exec::KernelContext ctx;
  ctx.node = &node.def();
  ctx.inputs = std::move(inputs);
  CKPT_RETURN_IF_ERROR(fn(&ctx));
  return std::move(ctx.outputs);
}

// The single output of a successful run.
inline Tensor RunOne(const Node& node, std::vector<Tensor> inputs) {
  Result<std::vector<Tensor>> r = RunKernel(node, std::move(inputs));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || r.value().size() != 1) return Tensor();
  return r.value()[0];
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DataTypeOf<T>::value);
  if (t.dtype() != DataTypeOf<T>::value) return {};
  return std::vector<T>(t.flat<T>(), t.flat<T>() + t.num_elements());
}

inline Tensor F(TensorShape s, std::vector<float> v) { return Tensor::FromVector<float>(s, v); }
inline Tensor I32(TensorShape s, std::vector<int32_t> v) {
  return Tensor::FromVector<int32_t>(s, v);
}

}  // namespace ckpt

#endif  // CKPT_TESTS_OPS_OP_TEST_UTIL_H_
