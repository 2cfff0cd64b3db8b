// How integers are encoded in ckpt's files: fixed-width little-endian
// (fixed32, fixed64) and LevelDB/protobuf base-128 varints (varint64). The one
// home of these encodings; the table, bundle and record code call it
// (docs/format/bundle.md, docs/format/ for the layouts that use them).
//
// Fixed-width values are written and read byte by byte, least significant
// first, whatever the host's byte order. A varint stores 7 bits per byte, least
// significant group first, the high bit set on every byte but the last; a
// uint64 takes 1 to 10 bytes.
//
// Thread safety: pure functions.
#ifndef CKPT_SRC_ENV_CODING_H_
#define CKPT_SRC_ENV_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ckpt {

// The most bytes a varint64 takes.
constexpr int kMaxVarint64Bytes = 10;

// Writes `value` to dst[0..3] / dst[0..7], little-endian.
inline void EncodeFixed32(char* dst, uint32_t value) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}
inline void EncodeFixed64(char* dst, uint64_t value) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// Reads a little-endian value from p[0..3] / p[0..7].
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Appends the encoding of `value` to *dst.
inline void PutFixed32(std::string* dst, uint32_t value) {
  char buf[4];
  EncodeFixed32(buf, value);
  dst->append(buf, 4);
}
inline void PutFixed64(std::string* dst, uint64_t value) {
  char buf[8];
  EncodeFixed64(buf, value);
  dst->append(buf, 8);
}
inline void PutVarint64(std::string* dst, uint64_t value) {
  while (value >= 0x80) {
    dst->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  dst->push_back(static_cast<char>(value));
}

// `bytes` as a varint64 length and the bytes (LevelDB's
// PutLengthPrefixedSlice).
inline void PutLengthPrefixed(std::string* dst, std::string_view bytes) {
  PutVarint64(dst, bytes.size());
  dst->append(bytes.data(), bytes.size());
}

// Parses a varint64 from the front of *input and advances past it. Returns
// false (*value untouched, *input partly consumed) if *input ends inside the
// varint or the varint runs past kMaxVarint64Bytes bytes. As in LevelDB's
// GetVarint64, bits of a 10th byte beyond the 64th are ignored.
inline bool GetVarint64(std::string_view* input, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !input->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>((*input)[0]);
    input->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

// The field PutLengthPrefixed wrote at the front of *input, advancing past
// it; false if *input ends before the field does.
inline bool GetLengthPrefixed(std::string_view* input, std::string_view* out) {
  uint64_t size = 0;
  if (!GetVarint64(input, &size) || size > input->size()) return false;
  *out = input->substr(0, static_cast<size_t>(size));
  input->remove_prefix(static_cast<size_t>(size));
  return true;
}

}  // namespace ckpt

#endif  // CKPT_SRC_ENV_CODING_H_
