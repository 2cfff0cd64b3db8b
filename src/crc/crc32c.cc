#include "crc/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace ckpt::crc32c {

uint32_t Extend(uint32_t init, const char* data, size_t n) {
  // ISA-L works on the non-inverted running value and takes an int length.
  uint32_t state = ~init;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  constexpr size_t kChunk = size_t{1} << 30;
  while (n > 0) {
    size_t len = n < kChunk ? n : kChunk;
    state = crc32_iscsi(const_cast<unsigned char*>(p), static_cast<int>(len), state);
    p += len;
    n -= len;
  }
  return ~state;
}

}  // namespace ckpt::crc32c
