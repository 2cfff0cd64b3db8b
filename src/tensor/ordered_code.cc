// Encodings (facts from TensorFlow's ordered_code):
//  NumIncreasing:       one length byte L, then L big-endian bytes (no leading zeros).
//  String:              0x00 -> 00 ff, 0xff -> ff 00, terminated by 00 01.
//  SignedNumIncreasing: n bytes of the big-endian two's-complement value with a
//                       header of n leading 1 bits (0 bits when negative) xor'ed in;
//                       n = significant bits of (v < 0 ? ~v : v) / 7 + 1.
#include "tensor/ordered_code.h"

namespace ckpt::ordered_code {
namespace {

constexpr unsigned char kHeader[11][2] = {
    {0, 0},       {0x80, 0},    {0xc0, 0},    {0xe0, 0},    {0xf0, 0},   {0xf8, 0},
    {0xfc, 0},    {0xfe, 0},    {0xff, 0},    {0xff, 0x80}, {0xff, 0xc0}};

int SignificantBits(uint64_t x) {
  int bits = 0;
  while (x != 0) {
    ++bits;
    x >>= 1;
  }
  return bits;
}

}  // namespace

void WriteNumIncreasing(std::string* dest, uint64_t value) {
  unsigned char buf[9];
  int len = 0;
  while (value > 0) {
    buf[8 - len] = static_cast<unsigned char>(value & 0xff);
    value >>= 8;
    ++len;
  }
  dest->push_back(static_cast<char>(len));
  dest->append(reinterpret_cast<const char*>(buf + 9 - len), len);
}

void WriteString(std::string* dest, std::string_view s) {
  for (char c : s) {
    dest->push_back(c);
    if (c == '\x00') dest->push_back('\xff');
    if (c == '\xff') dest->push_back('\x00');
  }
  dest->push_back('\x00');
  dest->push_back('\x01');
}

void WriteSignedNumIncreasing(std::string* dest, int64_t value) {
  uint64_t x = value < 0 ? ~static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  int len = SignificantBits(x) / 7 + 1;
  unsigned char buf[10];
  unsigned char sign = value < 0 ? 0xff : 0x00;
  buf[0] = buf[1] = sign;
  uint64_t u = static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) buf[9 - i] = static_cast<unsigned char>(u >> (8 * i));
  unsigned char* begin = buf + 10 - len;
  begin[0] ^= kHeader[len][0];
  if (len >= 2) begin[1] ^= kHeader[len][1];
  dest->append(reinterpret_cast<const char*>(begin), len);
}

bool ReadNumIncreasing(std::string_view* src, uint64_t* value) {
  if (src->empty()) return false;
  size_t len = static_cast<unsigned char>((*src)[0]);
  if (len > 8 || src->size() < len + 1) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; ++i) v = (v << 8) | static_cast<unsigned char>((*src)[1 + i]);
  *value = v;
  src->remove_prefix(len + 1);
  return true;
}

bool ReadString(std::string_view* src, std::string* result) {
  result->clear();
  size_t i = 0;
  while (i < src->size()) {
    char c = (*src)[i];
    if (c == '\x00' || c == '\xff') {
      if (i + 1 >= src->size()) return false;
      char next = (*src)[i + 1];
      if (c == '\x00' && next == '\x01') {
        src->remove_prefix(i + 2);
        return true;
      }
      if (c == '\x00' && next == '\xff') {
        result->push_back('\x00');
      } else if (c == '\xff' && next == '\x00') {
        result->push_back('\xff');
      } else {
        return false;
      }
      i += 2;
      continue;
    }
    result->push_back(c);
    ++i;
  }
  return false;
}

bool ReadSignedNumIncreasing(std::string_view* src, int64_t* value) {
  if (src->empty()) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(src->data());
  bool negative = (p[0] & 0x80) == 0;
  unsigned char flip = negative ? 0xff : 0x00;
  // Count leading header bits over the first two bytes.
  int len = 0;
  unsigned b0 = p[0] ^ flip;
  while (len < 8 && (b0 & (0x80u >> len))) ++len;
  if (len == 8) {
    if (src->size() < 2) return false;
    unsigned b1 = p[1] ^ flip;
    int extra = 0;
    while (extra < 2 && (b1 & (0x80u >> extra))) ++extra;
    len += extra;
  }
  if (len < 1 || len > 10 || src->size() < static_cast<size_t>(len)) return false;
  unsigned char buf[10];
  for (int i = 0; i < 10; ++i) buf[i] = negative ? 0xff : 0x00;
  unsigned char* begin = buf + 10 - len;
  for (int i = 0; i < len; ++i) begin[i] = p[i];
  begin[0] ^= kHeader[len][0];
  if (len >= 2) begin[1] ^= kHeader[len][1];
  uint64_t u = 0;
  for (int i = 2; i < 10; ++i) u = (u << 8) | buf[i];
  *value = static_cast<int64_t>(u);
  src->remove_prefix(len);
  return true;
}

}  // namespace ckpt::ordered_code
