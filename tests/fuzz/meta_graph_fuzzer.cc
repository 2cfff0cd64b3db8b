// Fuzzes binary MetaGraphDef files: ReadMetaGraph (`.meta`) and
// ReadSavedModelMetaGraphs (`saved_model.pb`) on the same bytes, then
// DescribeMetaGraph of every graph read (collections, variables, saver).
#include <string>

#include "ckpt/meta_graph.h"
#include "fuzz_util.h"

namespace {
volatile size_t sink;
void Describe(const tensorflow::MetaGraphDef& meta) {
  auto info = ckpt::DescribeMetaGraph(meta);
  if (!info.ok()) return;
  size_t n = info->nodes.size() + info->variables.size() + info->collections.size();
  for (const auto& node : info->nodes) {
    if (info->FindNode(node.name) == nullptr) __builtin_trap();
    n += node.inputs.size();
  }
  sink = sink + n;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto env = NewMemEnv();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  ckpt::fuzz::PutFile(env.get(), "/m/model.ckpt.meta", bytes);
  ckpt::fuzz::PutFile(env.get(), "/m/saved_model.pb", bytes);
  auto meta = ReadMetaGraph(env.get(), "/m/model.ckpt.meta");
  if (meta.ok()) Describe(*meta);
  auto metas = ReadSavedModelMetaGraphs(env.get(), "/m/saved_model.pb");
  if (metas.ok()) {
    for (const auto& m : *metas) Describe(m);
  }
  return 0;
}
