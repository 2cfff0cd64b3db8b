// Fuzzes text GraphDefs (graph.pbtxt): ReadTextGraph and printing the
// result back (GraphDefToText).
#include <string>

#include "ckpt/meta_graph.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto env = NewMemEnv();
  ckpt::fuzz::PutFile(env.get(), "/m/graph.pbtxt",
                      std::string_view(reinterpret_cast<const char*>(data), size));
  auto graph = ReadTextGraph(env.get(), "/m/graph.pbtxt");
  if (graph.ok()) {
    volatile size_t n = GraphDefToText(*graph).size();
    (void)n;
  }
  return 0;
}
