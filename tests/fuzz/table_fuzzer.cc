// Fuzzes the sorted string table reader (the format of .index files and V1
// checkpoints): TableReader::Open validates the footer and block handles,
// ForEach walks every block and entry.
#include <string>

#include "fuzz_util.h"
#include "table/table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto env = NewMemEnv();
  const std::string path = "/t/table";
  ckpt::fuzz::PutFile(env.get(), path,
                      std::string_view(reinterpret_cast<const char*>(data), size));
  auto file = env->NewRandomAccessFile(path);
  if (!file.ok()) return 0;
  auto table = TableReader::Open(std::move(file).value(), path);
  if (!table.ok()) return 0;
  size_t n = 0;
  (*table)->ForEach([&](std::string_view key, std::string_view value) {
    n += key.size() + value.size();
    return Status::OK();
  }).IgnoreError();
  // Stopping early must be clean too.
  (*table)->ForEach([](std::string_view, std::string_view) {
    return DataLossError("stop");
  }).IgnoreError();
  return 0;
}
