// Fuzzes V1 checkpoints (one table file of SavedTensorSlices): through
// CheckpointReader::Open (format detection) and V1Reader directly: the
// listing, DebugString and a Read of every variable.
#include <string>

#include "bundle/v1_reader.h"
#include "ckpt/checkpoint_reader.h"
#include "fuzz_util.h"

namespace {
volatile uint64_t sink;
void Touch(const ckpt::Tensor& t) {
  uint64_t h = t.shape().rank();
  if (t.dtype() == ckpt::DataType::kString) {
    for (const std::string& s : t.strings()) h += s.size();
  } else {
    for (char c : t.bytes()) h += static_cast<unsigned char>(c);
  }
  sink = sink + h;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto env = NewMemEnv();
  const std::string path = "/v1/model.ckpt";
  ckpt::fuzz::PutFile(env.get(), path,
                      std::string_view(reinterpret_cast<const char*>(data), size));
  auto v1 = V1Reader::Open(env.get(), path);
  if (v1.ok()) {
    sink = sink + (*v1)->DebugString().size();
    for (const VariableInfo& v : (*v1)->variables()) {
      if (!(*v1)->Contains(v.name)) __builtin_trap();
      auto t = (*v1)->Read(v.name);
      if (t.ok()) Touch(*t);
    }
    auto missing = (*v1)->Read("no such variable");
    if (missing.ok()) __builtin_trap();
  }
  CheckpointReaderOptions options;
  options.env = env.get();
  auto reader = CheckpointReader::Open(path, options);
  if (reader.ok()) {
    sink = sink + (*reader)->DebugString().size();
    for (const VariableInfo& v : (*reader)->variables()) {
      auto t = (*reader)->GetTensor(v.name);
      if (t.ok()) Touch(*t);
    }
  }
  return 0;
}
