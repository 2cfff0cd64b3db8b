// Helpers for tests of object-based checkpoints (object_graph_test.cc and
// saver/object_checkpoint_test.cc).
#ifndef CKPT_TESTS_CHECKPOINT_OBJECT_GRAPH_TESTING_H_
#define CKPT_TESTS_CHECKPOINT_OBJECT_GRAPH_TESTING_H_

#include <string>
#include <vector>

#include "ckpt/object_graph.h"
#include "ckpt/tensor.h"

namespace ckpt::testing {

// The local names of node's children, in stored order.
inline std::vector<std::string> ChildNames(const ObjectGraphNode& node) {
  std::vector<std::string> out;
  for (const auto& c : node.children) out.push_back(c.local_name);
  return out;
}

// The elements of a tensor of fixed-size T.
template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.flat<T>(), t.flat<T>() + t.num_elements());
}

}  // namespace ckpt::testing

#endif  // CKPT_TESTS_CHECKPOINT_OBJECT_GRAPH_TESTING_H_
