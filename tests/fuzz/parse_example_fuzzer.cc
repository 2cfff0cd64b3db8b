// Fuzzes the ParseExampleV2 and ParseExample kernels (ops/parse_example.cc)
// on serialized tf.Examples: the input is split into up to four examples
// (the first byte, mod 4, plus one is the batch size; the rest is cut into
// that many equal pieces) and parsed with a fixed spec of every dtype, with
// and without defaults. Errors are expected; only crashes, hangs and leaks
// are findings.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ckpt/tensor.h"
#include "ops/kernel.h"

namespace {

ckpt::Tensor Strings(std::vector<std::string> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return ckpt::Tensor::FromStrings(ckpt::TensorShape({n}), std::move(v)).value();
}

// Dense keys x (float [2], default), i (int64 [1], required), s (string [],
// default "z").
void SetDenseAttrs(tensorflow::NodeDef* node) {
  auto& attrs = *node->mutable_attr();
  auto* types = attrs["Tdense"].mutable_list();
  types->add_type(tensorflow::DT_FLOAT);
  types->add_type(tensorflow::DT_INT64);
  types->add_type(tensorflow::DT_STRING);
  auto* shapes = attrs["dense_shapes"].mutable_list();
  shapes->add_shape()->add_dim()->set_size(2);
  shapes->add_shape()->add_dim()->set_size(1);
  shapes->add_shape();
}

std::vector<ckpt::Tensor> Defaults() {
  return {ckpt::Tensor::FromVector<float>(ckpt::TensorShape({2}), {1, 2}),
          ckpt::Tensor::Allocate(ckpt::DataType::kInt64, ckpt::TensorShape({0})).value(),
          ckpt::Tensor::StringScalar("z")};
}

void Run(const tensorflow::NodeDef& node, std::vector<ckpt::Tensor> inputs) {
  ckpt::exec::KernelContext ctx;
  ctx.node = &node;
  ctx.inputs = std::move(inputs);
  ckpt::exec::FindKernel(node.op())(&ctx).IgnoreError();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t batch = data[0] % 4 + 1;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string> examples;
  const size_t piece = rest.size() / batch;
  for (size_t i = 0; i < batch; ++i) {
    examples.push_back(rest.substr(i * piece, i + 1 == batch ? std::string::npos : piece));
  }

  tensorflow::NodeDef v2;
  v2.set_name("ParseExample/ParseExampleV2");
  v2.set_op("ParseExampleV2");
  SetDenseAttrs(&v2);
  std::vector<ckpt::Tensor> inputs = {Strings(examples), Strings({}), Strings({}),
                                      Strings({"x", "i", "s"}), Strings({})};
  for (auto& d : Defaults()) inputs.push_back(d);
  Run(v2, inputs);

  tensorflow::NodeDef v1;
  v1.set_name("ParseExample");
  v1.set_op("ParseExample");
  SetDenseAttrs(&v1);
  (*v1.mutable_attr())["Nsparse"].set_i(0);
  (*v1.mutable_attr())["Ndense"].set_i(3);
  inputs = {Strings(examples), Strings({}), ckpt::Tensor::StringScalar("x"),
            ckpt::Tensor::StringScalar("i"), ckpt::Tensor::StringScalar("s")};
  for (auto& d : Defaults()) inputs.push_back(d);
  Run(v1, inputs);
  return 0;
}
