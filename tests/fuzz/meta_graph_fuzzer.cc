// Fuzzes binary MetaGraphDef files: ReadMetaGraph (`.meta`), then
// DescribeMetaGraph of the graph read (collections, variables, saver).
// `saved_model.pb` files have their own target (saved_model_fuzzer.cc).
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
  auto meta = ReadMetaGraph(env.get(), "/m/model.ckpt.meta");
  if (meta.ok()) Describe(*meta);
  return 0;
}
