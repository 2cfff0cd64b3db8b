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

namespace {

// Polynomial arithmetic over GF(2) modulo the CRC-32C polynomial, in the
// bit-reflected form the CRC uses: bit 31 holds the coefficient of x^0,
// bit 0 that of x^31.
constexpr uint32_t kPolyReflected = 0x82f63b78u;
constexpr uint32_t kOne = 0x80000000u;  // x^0

// a(x) * b(x) mod P(x).
constexpr uint32_t MulMod(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  // For each power x^i present in a (from x^0 up), add b(x) * x^i; b is
  // multiplied by x (and reduced) on every step.
  for (uint32_t bit = kOne; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPolyReflected : b >> 1;
  }
  return product;
}

// kPow2Pow2.v[k] = x^(2^k) mod P(x), for every k that an 8 * (64-bit byte
// count) needs.
struct PowerTable {
  uint32_t v[67] = {};
  constexpr PowerTable() {
    v[0] = kOne >> 1;  // x^1
    for (int k = 1; k < 67; ++k) v[k] = MulMod(v[k - 1], v[k - 1]);
  }
};
constexpr PowerTable kPow2Pow2;

// x^(8 * n) mod P(x): the factor that shifts a CRC past n zero bytes.
uint32_t ShiftBytes(uint64_t n) {
  uint32_t result = kOne;
  for (int k = 3; n != 0; n >>= 1, ++k) {  // 8 * n = sum over set bits of 2^(bit + 3)
    if (n & 1) result = MulMod(kPow2Pow2.v[k], result);
  }
  return result;
}

}  // namespace

uint32_t Combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  // With the standard pre- and post-inversion, CRC(A || B) =
  // CRC(A) * x^(8|B|) + CRC(B) (mod P): the inversions cancel.
  return MulMod(ShiftBytes(len_b), crc_a) ^ crc_b;
}

}  // namespace ckpt::crc32c
