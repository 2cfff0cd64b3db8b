// Fuzzes `ckpt inspect`'s value printer: FormatTensor (numpy's print() of
// the array, summarised or not, under fuzzed print options) and
// TensorValuesToJson, for a tensor of any storable dtype built from the
// input. Input: dtype, rank, dims, print options, then element bytes.
// Ranks are capped at 32 and sizes at 4096 elements: the printer recurses
// per dimension and the inputs of real checkpoints go through the bundle
// reader's rank limit first.
#include <limits>
#include <string>
#include <vector>

#include "ckpt/tensor.h"
#include "ckpt/types.h"
#include "fuzz_util.h"
#include "json_output.h"
#include "numpy_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  ckpt::fuzz::Bytes in(data, size);
  const std::vector<DataType>& types = AllStorableTypes();
  const DataType dtype = types[in.U8() % types.size()];
  const int rank = in.U8() % 33;
  std::vector<int64_t> dims;
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) {
    int64_t d = in.U8() % 9;
    if (n * d > 4096) d = 1;
    n *= d;
    dims.push_back(d);
  }
  tools::PrintOptions options;
  const uint8_t t = in.U8();
  options.threshold = t == 255 ? std::numeric_limits<int64_t>::max()
                      : t == 254 ? std::numeric_limits<int64_t>::min()
                                 : static_cast<int64_t>(t) - 8;
  const uint8_t e = in.U8();
  options.edgeitems = e == 255 ? (int64_t{1} << 40) : e % 12;
  options.precision = (in.U8() | (in.U8() << 8)) % 301;
  const uint8_t w = in.U8();
  options.linewidth = w == 255 ? std::numeric_limits<int64_t>::max() : 1 + w;
  const uint8_t flags = in.U8();
  options.suppress = flags & 1;
  options.sign = "-+ -"[(flags >> 1) & 3];
  if (flags & 8) options.nanstr = "NaN";
  if (flags & 16) options.infstr = "";

  auto tensor = Tensor::Allocate(dtype, TensorShape(dims));
  if (!tensor.ok()) return 0;
  if (dtype == DataType::kString) {
    for (std::string& s : *tensor->mutable_strings()) {
      const size_t len = in.U8() % 24;
      for (size_t i = 0; i < len; ++i) s += static_cast<char>(in.U8());
    }
  } else {
    char* p = tensor->mutable_data();
    for (size_t i = 0; i < tensor->byte_size(); ++i) p[i] = static_cast<char>(in.U8());
  }
  volatile size_t out = tools::FormatTensor(*tensor, options).size();
  out = out + tools::TensorValuesToJson(*tensor).size();
  return 0;
}
