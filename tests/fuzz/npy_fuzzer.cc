// Fuzzes the .npy reader of `ckpt run --feed` (tools/npy.h): any bytes give
// a tensor or an error; a tensor that parses serializes and parses back to
// the same dtype, shape and bytes.
#include "npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tensor = ckpt::tools::ParseNpy(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy");
  if (!tensor.ok()) return 0;
  auto bytes = ckpt::tools::SerializeNpy(*tensor);
  if (!bytes.ok()) return 0;  // dtypes numpy cannot hold are refused, not written
  auto again = ckpt::tools::ParseNpy(*bytes, "again.npy");
  if (!again.ok()) __builtin_trap();
  if (again->dtype() != tensor->dtype() || !(again->shape() == tensor->shape())) __builtin_trap();
  if (tensor->dtype() == ckpt::DataType::kString) {
    if (again->strings() != tensor->strings()) __builtin_trap();
  } else if (again->bytes() != tensor->bytes()) {
    __builtin_trap();
  }
  return 0;
}
