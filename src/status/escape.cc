// EscapeForDisplay (ckpt/escape.h): one pass over the bytes, decoding UTF-8
// to tell printable code points (copied as their bytes) from controls and
// malformed bytes (escaped).
#include "ckpt/escape.h"

#include <cstdint>

#include "status/utf8.h"

namespace ckpt {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHexByte(unsigned char c, std::string* out) {
  *out += "\\x";
  *out += kHex[c >> 4];
  *out += kHex[c & 0xf];
}

}  // namespace

size_t DecodeUtf8(std::string_view text, size_t i, uint32_t* cp) {
  const auto c = static_cast<unsigned char>(text[i]);
  size_t n;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    n = 2;
    v = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    v = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (text.size() - i < n) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    v = (v << 6) | (cc & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

std::string EscapeForDisplay(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] >= 0x20 && text[i] < 0x7f) ++i;
  if (i == text.size()) return std::string(text);  // printable ASCII
  std::string out(text.substr(0, i));
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x80) {  // C0 or DEL
      switch (c) {
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        default: AppendHexByte(c, &out);
      }
      ++i;
    } else {
      uint32_t cp = 0;
      const size_t n = DecodeUtf8(text, i, &cp);
      if (n == 0) {
        AppendHexByte(c, &out);
        ++i;
      } else if (cp <= 0x9f) {  // C1 control
        out += "\\u00";
        out += kHex[cp >> 4];
        out += kHex[cp & 0xf];
        i += n;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
    }
  }
  return out;
}

}  // namespace ckpt
