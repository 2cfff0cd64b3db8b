// Fuzzes the Iris CSV loader (LoadIrisCsv through the Env).
#include <string>

#include "ckpt/data.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto env = NewMemEnv();
  ckpt::fuzz::PutFile(env.get(), "/d/iris.csv",
                      std::string_view(reinterpret_cast<const char*>(data), size));
  auto set = LoadIrisCsv(env.get(), "/d/iris.csv");
  if (set.ok()) {
    volatile size_t n = set->examples.size() + set->class_names.size();
    (void)n;
  }
  return 0;
}
