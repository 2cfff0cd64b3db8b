// Pruning in two phases: (1) walk backwards from each root, in root order,
// over control inputs and unfed data inputs, marking each node with the first
// root that reaches it; (2) order the marked nodes with Kahn's algorithm,
// seeded and broken in GraphDef order. Nodes left over in phase 2 lie on a
// cycle (or behind one).
#include "exec/prune.h"

#include <deque>
#include <unordered_map>

namespace ckpt::exec {
namespace {

// The producers a node waits for: its control inputs and its unfed data inputs.
std::vector<const tensorflow::NodeDef*> Dependencies(const ImportedGraph& graph,
                                                     const tensorflow::NodeDef& node,
                                                     const std::set<std::string>& fed) {
  std::vector<const tensorflow::NodeDef*> deps;
  for (const std::string& input : node.input()) {
    Result<TensorName> name = ParseTensorName(input, /*allow_control=*/true);
    if (!name.ok()) continue;  // import rejected these already
    if (!name->is_control() && fed.count(name->ToString()) > 0) continue;
    if (const tensorflow::NodeDef* producer = graph.FindNode(name->node)) deps.push_back(producer);
  }
  return deps;
}

// Phase 1.
std::unordered_map<const tensorflow::NodeDef*, int> MarkNeeded(
    const ImportedGraph& graph, const std::set<std::string>& fed,
    const std::vector<std::string>& roots) {
  std::unordered_map<const tensorflow::NodeDef*, int> needed;
  for (int r = 0; r < static_cast<int>(roots.size()); ++r) {
    std::vector<const tensorflow::NodeDef*> stack;
    if (const tensorflow::NodeDef* root = graph.FindNode(roots[r])) stack.push_back(root);
    while (!stack.empty()) {
      const tensorflow::NodeDef* node = stack.back();
      stack.pop_back();
      if (!needed.emplace(node, r).second) continue;
      for (const tensorflow::NodeDef* dep : Dependencies(graph, *node, fed)) {
        if (needed.count(dep) == 0) stack.push_back(dep);
      }
    }
  }
  return needed;
}

}  // namespace

Result<PrunedGraph> Prune(const ImportedGraph& graph, const std::set<std::string>& fed,
                          const std::vector<std::string>& roots) {
  const std::unordered_map<const tensorflow::NodeDef*, int> needed = MarkNeeded(graph, fed, roots);

  // Phase 2: in-degrees and consumers among the needed nodes.
  std::unordered_map<const tensorflow::NodeDef*, int> waiting;
  std::unordered_map<const tensorflow::NodeDef*, std::vector<const tensorflow::NodeDef*>> consumers;
  for (const auto& [node, root] : needed) {
    std::vector<const tensorflow::NodeDef*> deps = Dependencies(graph, *node, fed);
    waiting[node] = static_cast<int>(deps.size());
    for (const tensorflow::NodeDef* dep : deps) consumers[dep].push_back(node);
  }
  std::deque<const tensorflow::NodeDef*> ready;
  for (const tensorflow::NodeDef& node : graph.graph_def().node()) {
    auto it = waiting.find(&node);
    if (it != waiting.end() && it->second == 0) ready.push_back(&node);
  }
  PrunedGraph out;
  while (!ready.empty()) {
    const tensorflow::NodeDef* node = ready.front();
    ready.pop_front();
    out.order.push_back(node);
    out.first_root.push_back(needed.at(node));
    for (const tensorflow::NodeDef* consumer : consumers[node]) {
      if (--waiting[consumer] == 0) ready.push_back(consumer);
    }
  }
  if (out.order.size() < needed.size()) {
    std::string names;
    int listed = 0;
    for (const tensorflow::NodeDef& node : graph.graph_def().node()) {
      auto it = waiting.find(&node);
      if (it == waiting.end() || it->second == 0) continue;
      if (listed++ == 5) {
        names += ", ...";
        break;
      }
      names += (names.empty() ? "'" : ", '") + node.name() + "'";
    }
    return InvalidArgumentError("The graph has a cycle among the nodes to run (" +
                                std::to_string(needed.size() - out.order.size()) +
                                " nodes cannot be ordered, e.g. " + names +
                                "); TF1 control flow (while loops) is not supported");
  }
  return out;
}

}  // namespace ckpt::exec
