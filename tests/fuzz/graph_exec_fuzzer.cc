// Fuzzes running imported graphs: the bytes are a `.meta` file, a
// `saved_model.pb` and a binary GraphDef; every graph that imports gets a Session, a Restore from a
// small real checkpoint through the graph's own SaverDef, and Runs of the
// first nodes' outputs (no feeds, so placeholders with defaults run and the
// others are refused). Nothing may crash, hang or leak, whatever the graph
// asks for: huge shapes must end in an error (this harness runs with
// ASan's allocator_may_return_null and a 64 MiB allocation cap, see
// scripts/fuzz.sh).
#include <memory>
#include <string>
#include <vector>

#include "ckpt/bundle_writer.h"
#include "ckpt/graph_import.h"
#include "ckpt/session.h"
#include "fuzz_util.h"

namespace {

constexpr int kMaxRuns = 8;

// One checkpoint for every input: variables "w" (float [2,2]), "b" (float
// [2]), "step" (int64 scalar), which fuzzed SaverDefs may or may not name.
ckpt::Env* EnvWithCheckpoint() {
  static ckpt::MemEnv* env = [] {
    ckpt::MemEnv* e = ckpt::NewMemEnv().release();
    ckpt::BundleWriterOptions options;
    options.env = e;
    auto writer = ckpt::BundleWriter::Create("/m/model.ckpt", options);
    if (!writer.ok()) __builtin_trap();
    (*writer)->Add("w", ckpt::Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4})).IgnoreError();
    (*writer)->Add("b", ckpt::Tensor::FromVector<float>({2}, {0.5f, -1})).IgnoreError();
    (*writer)->Add("step", ckpt::Tensor::Scalar<int64_t>(7)).IgnoreError();
    if (!(*writer)->Finish().ok()) __builtin_trap();
    return e;
  }();
  return env;
}

volatile size_t sink;

void Exercise(ckpt::Env* env, std::shared_ptr<const ckpt::ImportedGraph> graph) {
  ckpt::SessionOptions options;
  options.env = env;
  auto session = ckpt::Session::Create(graph, options);
  if (!session.ok()) return;
  // Errors are expected; only crashes, hangs and leaks are findings.
  (*session)->Restore("/m/model.ckpt").IgnoreError();
  const auto& nodes = graph->graph_def().node();
  std::vector<std::string> targets;
  for (int i = 0; i < nodes.size() && i < kMaxRuns; ++i) {
    auto out = (*session)->Run({}, {nodes[i].name() + ":0"});
    if (out.ok()) sink = sink + out->size();
    targets.push_back(nodes[i].name());
  }
  auto all = (*session)->Run({}, {}, targets);
  sink = sink + all.ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ckpt::Env* env = EnvWithCheckpoint();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  ckpt::fuzz::PutFile(env, "/m/model.ckpt.meta", bytes);
  ckpt::fuzz::PutFile(env, "/m/saved_model.pb", bytes);
  ckpt::fuzz::PutFile(env, "/m/graph.pb", bytes);
  auto meta = ckpt::ImportMetaGraph(env, "/m/model.ckpt.meta");
  if (meta.ok()) Exercise(env, *meta);
  auto saved = ckpt::ImportSavedModel(env, "/m", {"serve"});
  if (saved.ok()) Exercise(env, *saved);
  auto graph = ckpt::ImportGraphDef(env, "/m/graph.pb");
  if (graph.ok()) Exercise(env, *graph);
  return 0;
}
