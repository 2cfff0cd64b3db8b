// Fuzzes TF2 object graphs (a serialized TrackableObjectGraph, as stored
// under _CHECKPOINTABLE_OBJECT_GRAPH): ObjectGraph::Parse, DebugString and
// Find of every node's path and of paths through slot variables.
#include <string>

#include "ckpt/object_graph.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto graph = ObjectGraph::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!graph.ok()) return 0;
  volatile size_t n = graph->DebugString().size();
  for (const ObjectGraphNode& node : graph->nodes()) {
    auto found = graph->Find(node.path);
    if (found.ok()) n = n + (*found)->attributes.size();
    auto below = graph->Find(node.path + "/x/.ATTRIBUTES");
    (void)below;
  }
  (void)graph->Find("");
  (void)graph->Find("a/b/c/.OPTIMIZER_SLOT/opt/m");
  return 0;
}
