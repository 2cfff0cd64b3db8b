// CRC-32C (Castagnoli), computed by ISA-L, and TensorFlow's masking of
// stored checksums.
//
// A CRC stored next to the data it covers is "masked" (rotated and offset) so
// that a CRC of bytes that themselves contain CRCs stays well distributed.
// Thread safety: pure functions.
#ifndef CKPT_SRC_CRC_CRC32C_H_
#define CKPT_SRC_CRC_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ckpt::crc32c {

// CRC-32C of `data` continuing from the CRC `init` of the bytes before it
// (0 for none). Value("123456789") == 0xE3069283.
uint32_t Extend(uint32_t init, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Value(s.data(), s.size()); }

// The CRC-32C of A followed by B, from crc_a = Value(A), crc_b = Value(B) and
// len_b = |B|, without reading the bytes: lets independent pieces of one
// buffer be checksummed in parallel. O(log len_b).
uint32_t Combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

constexpr uint32_t kMaskDelta = 0xa282ead8u;

inline uint32_t Mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace ckpt::crc32c

#endif  // CKPT_SRC_CRC_CRC32C_H_
