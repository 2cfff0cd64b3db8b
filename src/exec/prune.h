// Pruning: which nodes a Run executes, in which order. As TensorFlow's
// session does, a run executes exactly the nodes the fetches and targets
// depend on (through data and control inputs), and a fed tensor cuts the
// graph: its producer is not run for it (it still runs if something else
// needs it, e.g. a control input or another of its outputs).
//
// Thread safety: pure function of its arguments.
#ifndef CKPT_SRC_EXEC_PRUNE_H_
#define CKPT_SRC_EXEC_PRUNE_H_

#include <set>
#include <string>
#include <vector>

#include "ckpt/graph_import.h"
#include "ckpt/status.h"

namespace ckpt::exec {

struct PrunedGraph {
  // The nodes to run, in a topological order (every producer before its
  // consumers; ties in GraphDef order, so runs are reproducible).
  std::vector<const tensorflow::NodeDef*> order;
  // For each node of `order`, the index into `roots` of the first root that
  // needs it (for errors naming "the fetch that needs it").
  std::vector<int> first_root;
};

// `fed`: tensor names in canonical "node:k" form (TensorName::ToString).
// `roots`: node names to run (the fetches' nodes, then the targets).
// REQUIRES: every root is a node of `graph` (the caller resolved them).
// InvalidArgument naming the nodes when the needed nodes contain a cycle.
Result<PrunedGraph> Prune(const ImportedGraph& graph, const std::set<std::string>& fed,
                          const std::vector<std::string>& roots);

}  // namespace ckpt::exec

#endif  // CKPT_SRC_EXEC_PRUNE_H_
