// Runs ckpt::Optimizer on one float32 variable for pytest
// (test_optimizers.py), which compares the result with TensorFlow's
// tf.compat.v1.train optimizers.
//
//   ckpt_optimizer_driver <name> <learning_rate>     (name as Optimizer::Create)
// stdin:  "<n> <steps>", then n initial values, then steps x n gradients.
// stdout: "var v0 v1 ...", one "slot <name> v0 v1 ..." per slot, one
//         "nonslot <name> v" per non-slot variable (%.9g: exact float32).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "ckpt/optimizer.h"

namespace {

void Print(const char* kind, const std::string& name, const ckpt::Tensor& t) {
  std::printf("%s", kind);
  if (!name.empty()) std::printf(" %s", name.c_str());
  for (int64_t i = 0; i < t.num_elements(); ++i) std::printf(" %.9g", t.flat<float>()[i]);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: ckpt_optimizer_driver <name> <learning_rate>\n";
    return 2;
  }
  auto opt = ckpt::Optimizer::Create(argv[1], std::atof(argv[2]));
  if (!opt.ok()) {
    std::cerr << opt.status() << "\n";
    return 1;
  }
  int64_t n = 0, steps = 0;
  if (!(std::cin >> n >> steps) || n <= 0 || steps < 0) {
    std::cerr << "bad input header\n";
    return 2;
  }
  auto read = [&](std::vector<float>* v) {
    v->resize(n);
    for (float& x : *v) {
      if (!(std::cin >> x)) return false;
    }
    return true;
  };
  std::vector<float> values;
  if (!read(&values)) return (std::cerr << "bad initial values\n", 2);
  ckpt::Tensor var = ckpt::Tensor::FromVector<float>(ckpt::TensorShape({n}), values);
  ckpt::Status s = (*opt)->AddVariable("w", &var);
  for (int64_t k = 0; s.ok() && k < steps; ++k) {
    if (!read(&values)) return (std::cerr << "bad gradients\n", 2);
    s = (*opt)->ApplyGradients({{"w", ckpt::Tensor::FromVector<float>(ckpt::TensorShape({n}), values)}});
  }
  if (!s.ok()) return (std::cerr << s << "\n", 1);
  Print("var", "", var);
  for (const auto& slot : (*opt)->slots()) Print("slot", slot.slot_name, *slot.tensor);
  for (const std::string& name : (*opt)->non_slot_names()) {
    Print("nonslot", name, *(*opt)->GetNonSlot(name));
  }
  return 0;
}
