// Fuzzes `saved_model.pb` files: ReadSavedModel, FindMetaGraph for every
// meta graph's own tags (it must find a meta graph with that tag set) and
// for {"serve"}, then the import step of ImportSavedModel
// (ImportedGraph::FromMetaGraphDef) on each meta graph and through
// ImportSavedModel itself. Nothing is run (graph_exec_fuzzer runs graphs).
#include <algorithm>
#include <string>
#include <vector>

#include "ckpt/graph_import.h"
#include "ckpt/saved_model.h"
#include "fuzz_util.h"

namespace {

constexpr int kMaxMetaGraphs = 4;
volatile size_t sink;

std::vector<std::string> SortedUnique(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

std::vector<std::string> TagsOf(const tensorflow::MetaGraphDef& meta) {
  return {meta.meta_info_def().tags().begin(), meta.meta_info_def().tags().end()};
}

void CheckFind(const tensorflow::SavedModel& model, const tensorflow::MetaGraphDef& meta) {
  auto found = ckpt::FindMetaGraph(model, TagsOf(meta));
  if (!found.ok()) __builtin_trap();  // its own tag set must be found
  if (SortedUnique(TagsOf(**found)) != SortedUnique(TagsOf(meta))) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto env = ckpt::NewMemEnv();
  ckpt::fuzz::PutFile(env.get(), "/m/saved_model.pb",
                      std::string(reinterpret_cast<const char*>(data), size));
  auto model = ckpt::ReadSavedModel(env.get(), "/m");
  if (!model.ok()) return 0;
  const int n = std::min(model->meta_graphs_size(), kMaxMetaGraphs);
  for (int i = 0; i < n; ++i) {
    CheckFind(*model, model->meta_graphs(i));
    auto graph = ckpt::ImportedGraph::FromMetaGraphDef(model->meta_graphs(i));
    if (graph.ok()) sink = sink + (*graph)->graph_def().node_size();
  }
  auto serve = ckpt::FindMetaGraph(*model, {ckpt::kServeTag});
  sink = sink + serve.ok();
  auto imported = ckpt::ImportSavedModel(env.get(), "/m", {ckpt::kServeTag});
  if (imported.ok()) sink = sink + (*imported)->signatures().size();
  return 0;
}
