// Fuzzes the safetensors reader (ckpt/safetensors.h): any bytes give a
// reader or an error; every tensor of a file that opens reads (or is a dtype
// TensorFlow has none for), and the tensors written back with
// WriteSafetensors read back the same.
#include <memory>
#include <utility>
#include <vector>

#include "ckpt/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  std::unique_ptr<MemEnv> env = NewMemEnv();
  fuzz::PutFile(env.get(), "/f/in.safetensors",
                std::string_view(reinterpret_cast<const char*>(data), size));
  auto reader = SafetensorsReader::Open(env.get(), "/f/in.safetensors");
  if (!reader.ok()) return 0;
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const SafetensorsTensorInfo& info : (*reader)->header().tensors) {
    auto t = (*reader)->Read(info.name);
    if (!t.ok()) {
      if (info.dtype != DataType::kInvalid) __builtin_trap();
      continue;
    }
    if (t->dtype() != info.dtype || t->byte_size() != info.end - info.begin) __builtin_trap();
    tensors.emplace_back(info.name, std::move(*t));
  }
  SafetensorsWriteOptions options;
  options.env = env.get();
  options.metadata = (*reader)->header().metadata;
  // Names or metadata that are not UTF-8 are refused; nothing else may be.
  if (!WriteSafetensors("/f/out.safetensors", tensors, options).ok()) return 0;
  auto again = SafetensorsReader::Open(env.get(), "/f/out.safetensors");
  if (!again.ok()) __builtin_trap();
  if ((*again)->header().metadata != options.metadata) __builtin_trap();
  for (const auto& [name, t] : tensors) {
    auto back = (*again)->Read(name);
    if (!back.ok() || !back->Equals(t)) __builtin_trap();
  }
  return 0;
}
