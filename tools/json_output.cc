// JSON text for the `ckpt` subcommands (see json_output.h).
#include "json_output.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "ckpt/types.h"
#include "status/utf8.h"
#include "tensor_elements.h"

namespace ckpt::tools {
namespace {

// The code point at s[*pos] (DecodeUtf8), advancing *pos past it; false for
// bytes that are not well-formed UTF-8.
bool NextUtf8(std::string_view s, size_t* pos, uint32_t* cp) {
  const size_t n = DecodeUtf8(s, *pos, cp);
  *pos += n;
  return n > 0;
}

bool IsValidUtf8(std::string_view s) {
  size_t pos = 0;
  uint32_t cp;
  while (pos < s.size()) {
    if (!NextUtf8(s, &pos, &cp)) return false;
  }
  return true;
}

std::string Base64(std::string_view b) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  for (; i + 3 <= b.size(); i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == b.size()) {
    uint32_t v = p[i] << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == b.size()) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string JsonDouble(double v, int digits) {
  if (std::isnan(v)) return "\"nan\"";
  if (std::isinf(v)) return v < 0 ? "\"-inf\"" : "\"inf\"";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  return buf;
}

}  // namespace

std::string ShortestDecimal(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "\"" + ShortestDecimal(v) + "\"";
  return ShortestDecimal(v);
}

std::string JsonShape(const TensorShape& shape) {
  std::string s = "[";
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape.dim(i));
  }
  return s + "]";
}

std::string TensorValuesToJson(const Tensor& t) {
  const DataType d = t.dtype();
  const int64_t n = t.num_elements();
  std::string s = "[";
  for (int64_t i = 0; i < n; ++i) {
    if (i > 0) s += ", ";
    if (d == DataType::kDouble) {
      s += JsonDouble(RealValue(t, i), 17);
    } else if (d == DataType::kFloat || MiniFloatFormat(d) != nullptr) {
      s += JsonDouble(RealValue(t, i), 9);
    } else if (IsComplex(d)) {
      auto [re, im] = ComplexValue(t, i);
      int digits = d == DataType::kComplex128 ? 17 : 9;
      s += "[" + JsonDouble(re, digits) + ", " + JsonDouble(im, digits) + "]";
    } else if (IsIntegerLike(d)) {
      s += IntegerString(t, i);
    } else if (d == DataType::kBool) {
      s += JsonBool(Load<uint8_t>(t, i) != 0);
    } else if (d == DataType::kString) {
      const std::string& v = t.strings()[i];
      s += IsValidUtf8(v) ? JsonString(v) : "{\"base64\": \"" + Base64(v) + "\"}";
    } else {
      s += "null";
    }
  }
  return s + "]";
}

std::string JsonString(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string s = "\"";
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t start = pos;
    uint32_t cp;
    if (!NextUtf8(bytes, &pos, &cp)) {
      s += "\xef\xbf\xbd";  // U+FFFD
      pos = start + 1;
      continue;
    }
    switch (cp) {
      case '"':
        s += "\\\"";
        break;
      case '\\':
        s += "\\\\";
        break;
      case '\b':
        s += "\\b";
        break;
      case '\f':
        s += "\\f";
        break;
      case '\n':
        s += "\\n";
        break;
      case '\r':
        s += "\\r";
        break;
      case '\t':
        s += "\\t";
        break;
      default:
        if (cp < 0x20) {
          s += "\\u00";
          s += kHex[cp >> 4];
          s += kHex[cp & 0xf];
        } else {
          s.append(bytes.substr(start, pos - start));
        }
    }
  }
  return s + "\"";
}

}  // namespace ckpt::tools
