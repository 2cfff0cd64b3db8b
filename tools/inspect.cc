// `ckpt inspect`: prints a checkpoint's variables and values the way
// TensorFlow's inspect_checkpoint does, or as JSON.
//
// Text output (TensorFlow's inspect_checkpoint):
//   no flags            the reader's DebugString, then a blank line
//   --all_tensor_names  "tensor_name:  <name>" per variable (name order)
//   --all_tensors       the same lines, each followed by the value
//   --tensor_name=N     "tensor_name:  N" and the value
// then "# Total number of params: <sum of element counts>". Names and slice
// keys in text output and errors go through EscapeForDisplay (ckpt/escape.h):
// control characters and invalid UTF-8 are escaped, printable names (UTF-8
// included) print exactly as TensorFlow prints them. (TensorFlow 2.21
// prints "tensor: <name> (<dtype>) <shape>" instead of "tensor_name:  <name>";
// we keep the long-standing "tensor_name:  " spelling that scripts grep for.)
//
// Values are printed as numpy 2.x's print() shows the array get_tensor
// returns: float16/32/64 with numpy's "maxprec" float formatting (shortest
// round-trip digits capped at `precision` fractional digits, a common width,
// scientific notation when the magnitudes span more than 1e3 or reach 1e8),
// integers right-aligned, bools as " True"/"False", strings as Python bytes
// literals, and ml_dtypes types (bfloat16, float8_*, float4) as ml_dtypes
// prints them (C++ ostream "%g", no padding). Known deviations from TF+numpy:
//   * quantized types (qint8, ...) print as plain integers, where numpy shows
//     the structured records TensorFlow returns ("(1,)");
//   * int4/uint4/int2/uint2 are printed like numpy integers (padded);
//   * ties in the precision cut-off are rounded on the exact binary value
//     (printf), which can differ from numpy's Dragon4 in the last digit in
//     rare cases;
//   * errors go to stderr with exit code 1 (TF prints them on stdout and
//     exits 0), and nothing is written to stdout when the command fails.
//
// JSON output (--json), one document followed by a newline:
//   {"checkpoint": "<prefix opened>", "format": "V1"|"V2",
//    "variables": [{"name": "...", "dtype": "float", "shape": [2, 3]}, ...]}
// With --all_tensors every variable also has "values", a flat row-major list:
// integers exactly; floats with %.9g (float and the 8/16-bit float types,
// converted to float) or %.17g (double); "nan", "inf", "-inf" as strings;
// complex as [re, im]; bools as true/false; strings as JSON strings when
// valid UTF-8, else {"base64": "..."}. With --tensor_name the document is a
// single object {"name", "dtype", "shape", "values"}. Nothing is summarised.
#include "inspect.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/escape.h"
#include "ckpt/types.h"
#include "command.h"
#include "status/utf8.h"

namespace ckpt::tools {
namespace {

// ---------------------------------------------------------------------------
// Element decoding.

template <typename T>
T Load(const Tensor& t, int64_t i) {
  T v;
  std::memcpy(&v, t.data() + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

// A small binary floating-point format (half, bfloat16, float8, float4).
struct MiniFloat {
  enum class Special { kIeee, kFn, kFnuz, kNone };
  int exp_bits;
  int man_bits;
  int bias;
  Special special;
  int total_bits() const { return 1 + exp_bits + man_bits; }
};

constexpr MiniFloat kHalfFormat{5, 10, 15, MiniFloat::Special::kIeee};
constexpr MiniFloat kBFloat16Format{8, 7, 127, MiniFloat::Special::kIeee};

const MiniFloat* MiniFloatFormat(DataType dtype) {
  static constexpr MiniFloat kE5M2{5, 2, 15, MiniFloat::Special::kIeee};
  static constexpr MiniFloat kE4M3FN{4, 3, 7, MiniFloat::Special::kFn};
  static constexpr MiniFloat kE4M3FNUZ{4, 3, 8, MiniFloat::Special::kFnuz};
  static constexpr MiniFloat kE4M3B11FNUZ{4, 3, 11, MiniFloat::Special::kFnuz};
  static constexpr MiniFloat kE5M2FNUZ{5, 2, 16, MiniFloat::Special::kFnuz};
  static constexpr MiniFloat kE2M1FN{2, 1, 1, MiniFloat::Special::kNone};
  switch (dtype) {
    case DataType::kHalf: return &kHalfFormat;
    case DataType::kBFloat16: return &kBFloat16Format;
    case DataType::kFloat8E5M2: return &kE5M2;
    case DataType::kFloat8E4M3FN: return &kE4M3FN;
    case DataType::kFloat8E4M3FNUZ: return &kE4M3FNUZ;
    case DataType::kFloat8E4M3B11FNUZ: return &kE4M3B11FNUZ;
    case DataType::kFloat8E5M2FNUZ: return &kE5M2FNUZ;
    case DataType::kFloat4E2M1FN: return &kE2M1FN;
    default: return nullptr;
  }
}

double DecodeMiniFloat(uint32_t bits, const MiniFloat& f) {
  const int total = f.total_bits();
  bits &= (1u << total) - 1;
  const uint32_t sign_bit = 1u << (total - 1);
  const uint32_t exp_max = (1u << f.exp_bits) - 1;
  const uint32_t man_max = (1u << f.man_bits) - 1;
  const bool negative = (bits & sign_bit) != 0;
  const uint32_t e = (bits >> f.man_bits) & exp_max;
  const uint32_t m = bits & man_max;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  switch (f.special) {
    case MiniFloat::Special::kIeee:
      if (e == exp_max) {
        if (m != 0) return nan;
        return negative ? -HUGE_VAL : HUGE_VAL;
      }
      break;
    case MiniFloat::Special::kFn:
      if (e == exp_max && m == man_max) return nan;
      break;
    case MiniFloat::Special::kFnuz:
      if (bits == sign_bit) return nan;
      break;
    case MiniFloat::Special::kNone:
      break;
  }
  double v = e == 0 ? std::ldexp(static_cast<double>(m), 1 - f.bias - f.man_bits)
                    : std::ldexp(static_cast<double>(m + (man_max + 1)), static_cast<int>(e) - f.bias - f.man_bits);
  return negative ? -v : v;
}

uint32_t MiniFloatBits(const Tensor& t, int64_t i) {
  if (DataTypeSize(t.dtype()) == 2) return Load<uint16_t>(t, i);
  return Load<uint8_t>(t, i);
}

bool IsNumpyFloat(DataType d) {
  return d == DataType::kFloat || d == DataType::kDouble || d == DataType::kHalf;
}
bool IsComplex(DataType d) { return d == DataType::kComplex64 || d == DataType::kComplex128; }

// Element i of a real floating-point tensor (float, double, half, bfloat16,
// float8, float4) as a double.
double RealValue(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kFloat: return Load<float>(t, i);
    case DataType::kDouble: return Load<double>(t, i);
    default: return DecodeMiniFloat(MiniFloatBits(t, i), *MiniFloatFormat(t.dtype()));
  }
}

std::pair<double, double> ComplexValue(const Tensor& t, int64_t i) {
  if (t.dtype() == DataType::kComplex64) {
    return {Load<float>(t, 2 * i), Load<float>(t, 2 * i + 1)};
  }
  return {Load<double>(t, 2 * i), Load<double>(t, 2 * i + 1)};
}

// Integer element i as a decimal string (all integer-like types, including
// quantized and sub-byte ones).
bool IsIntegerLike(DataType d) {
  switch (d) {
    case DataType::kInt8: case DataType::kInt16: case DataType::kInt32: case DataType::kInt64:
    case DataType::kUInt8: case DataType::kUInt16: case DataType::kUInt32: case DataType::kUInt64:
    case DataType::kQInt8: case DataType::kQUInt8: case DataType::kQInt16: case DataType::kQUInt16:
    case DataType::kQInt32: case DataType::kInt4: case DataType::kUInt4: case DataType::kInt2:
    case DataType::kUInt2:
      return true;
    default:
      return false;
  }
}

std::string IntegerString(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kInt8: case DataType::kQInt8: return std::to_string(Load<int8_t>(t, i));
    case DataType::kInt16: case DataType::kQInt16: return std::to_string(Load<int16_t>(t, i));
    case DataType::kInt32: case DataType::kQInt32: return std::to_string(Load<int32_t>(t, i));
    case DataType::kInt64: return std::to_string(Load<int64_t>(t, i));
    case DataType::kUInt8: case DataType::kQUInt8: return std::to_string(Load<uint8_t>(t, i));
    case DataType::kUInt16: case DataType::kQUInt16: return std::to_string(Load<uint16_t>(t, i));
    case DataType::kUInt32: return std::to_string(Load<uint32_t>(t, i));
    case DataType::kUInt64: return std::to_string(Load<uint64_t>(t, i));
    case DataType::kInt4: {
      int v = Load<uint8_t>(t, i) & 0xf;
      return std::to_string(v >= 8 ? v - 16 : v);
    }
    case DataType::kUInt4: return std::to_string(Load<uint8_t>(t, i) & 0xf);
    case DataType::kInt2: {
      int v = Load<uint8_t>(t, i) & 0x3;
      return std::to_string(v >= 2 ? v - 4 : v);
    }
    case DataType::kUInt2: return std::to_string(Load<uint8_t>(t, i) & 0x3);
    default: return "?";
  }
}

// ---------------------------------------------------------------------------
// numpy's float formatting (Dragon4 "unique" mode), for float16/32/64.

enum class FloatKind { kHalf, kFloat, kDouble };

FloatKind KindOf(DataType d) {
  if (d == DataType::kDouble || d == DataType::kComplex128) return FloatKind::kDouble;
  if (d == DataType::kHalf) return FloatKind::kHalf;
  return FloatKind::kFloat;
}

// Decimal digits (no trailing zeros) and exponent e of a finite, positive
// value: value ~= d0.d1d2... * 10^e.
struct Decimal {
  std::string digits;
  int exponent = 0;
};

Decimal ParseScientific(const char* s) {
  Decimal d;
  const char* p = s;
  for (; *p != '\0' && *p != 'e' && *p != 'E'; ++p) {
    if (*p >= '0' && *p <= '9') d.digits.push_back(*p);
  }
  if (*p != '\0') d.exponent = std::atoi(p + 1);
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  return d;
}

// True if decimal value p rounds to the half with magnitude bits `mag`.
bool RoundsToHalf(double p, uint32_t mag) {
  double x = DecodeMiniFloat(mag, kHalfFormat);
  if (p == x) return true;
  double down = DecodeMiniFloat(mag - 1, kHalfFormat);
  double up = DecodeMiniFloat(mag + 1, kHalfFormat);
  if (std::isinf(up)) up = x + (x - down);
  bool even = (mag & 1) == 0;
  if (p > x) {
    double half_gap = (up - x) / 2;
    return p - x < half_gap || (p - x == half_gap && even);
  }
  double half_gap = (x - down) / 2;
  return x - p < half_gap || (x - p == half_gap && even);
}

// The shortest digits that round-trip to `v` (finite, > 0) in its type.
Decimal ShortestDigits(double v, FloatKind kind) {
  char buf[64];
  if (kind == FloatKind::kDouble) {
    auto r = std::to_chars(buf, buf + sizeof(buf) - 1, v, std::chars_format::scientific);
    *r.ptr = '\0';
    return ParseScientific(buf);
  }
  if (kind == FloatKind::kFloat) {
    auto r = std::to_chars(buf, buf + sizeof(buf) - 1, static_cast<float>(v),
                           std::chars_format::scientific);
    *r.ptr = '\0';
    return ParseScientific(buf);
  }
  // Half: try 1..5 significant digits (5 always suffice). v is an exact
  // half value, so its magnitude bits follow from frexp.
  uint32_t mag;
  if (v < std::ldexp(1.0, -14)) {
    mag = static_cast<uint32_t>(std::ldexp(v, 24));  // subnormal
  } else {
    int e;
    double f = std::frexp(v, &e);  // v = f * 2^e, f in [0.5, 1)
    mag = (static_cast<uint32_t>(e - 1 + 15) << 10) |
          static_cast<uint32_t>(std::ldexp(f * 2 - 1, 10));
  }
  for (int n = 1; n <= 5; ++n) {
    std::snprintf(buf, sizeof(buf), "%.*e", n - 1, v);
    if (RoundsToHalf(std::strtod(buf, nullptr), mag)) return ParseScientific(buf);
  }
  std::snprintf(buf, sizeof(buf), "%.4e", v);
  return ParseScientific(buf);
}

// How trailing zeros are treated, as Dragon4's trim modes: 'k' keep, '.'
// trim zeros but keep the point, '0' keep one zero, '-' trim zeros and point.
struct FloatStyle {
  int precision = -1;  // max fractional digits (positional) or mantissa digits (scientific); -1 none
  int min_digits = 0;
  char trim = '.';
  bool sign_plus = false;
  int pad_left = 0;
  int pad_right = 0;    // positional only
  int exp_digits = -1;  // scientific only
};

std::string FinishNumber(bool negative, const FloatStyle& st, std::string int_part,
                         std::string frac) {
  while (static_cast<int>(frac.size()) < st.min_digits) frac.push_back('0');
  std::string s = negative ? "-" : (st.sign_plus ? "+" : "");
  s += int_part;
  if (frac.empty()) {
    if (st.trim == '0') {
      frac = "0";
    } else if (st.trim == '-') {
      return s;
    }
  }
  if (static_cast<int>(s.size()) < st.pad_left) s.insert(0, st.pad_left - s.size(), ' ');
  s += '.';
  s += frac;
  if (static_cast<int>(frac.size()) < st.pad_right) s.append(st.pad_right - frac.size(), ' ');
  return s;
}

std::string Positional(double v, FloatKind kind, const FloatStyle& st) {
  const bool negative = std::signbit(v);
  const double a = std::fabs(v);
  std::string int_part = "0";
  std::string frac;
  if (a != 0) {
    Decimal d = ShortestDigits(a, kind);
    const int n = static_cast<int>(d.digits.size());
    const int frac_digits = std::max(0, n - 1 - d.exponent);
    int exact = -1;
    if (st.precision >= 0 && frac_digits > st.precision) exact = st.precision;
    if (st.min_digits > frac_digits) exact = st.min_digits;
    if (exact >= 0) {
      int len = std::snprintf(nullptr, 0, "%.*f", exact, a);
      std::string s(static_cast<size_t>(std::max(len, 0)) + 1, '\0');
      std::snprintf(s.data(), s.size(), "%.*f", exact, a);
      s.pop_back();
      size_t dot = s.find('.');
      int_part = s.substr(0, dot);
      if (dot != std::string::npos) frac = s.substr(dot + 1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
    } else if (d.exponent >= 0) {
      if (n > d.exponent + 1) {
        int_part = d.digits.substr(0, d.exponent + 1);
        frac = d.digits.substr(d.exponent + 1);
      } else {
        int_part = d.digits + std::string(d.exponent + 1 - n, '0');
      }
    } else {
      frac = std::string(-d.exponent - 1, '0') + d.digits;
    }
  }
  return FinishNumber(negative, st, int_part, frac);
}

std::string Scientific(double v, FloatKind kind, const FloatStyle& st) {
  const bool negative = std::signbit(v);
  const double a = std::fabs(v);
  Decimal d;
  d.digits = "0";
  if (a != 0) {
    d = ShortestDigits(a, kind);
    const int frac_digits = static_cast<int>(d.digits.size()) - 1;
    // Past the cut-off, or short of min_digits, Dragon4 prints the exact
    // value's digits, correctly rounded; so does printf.
    int exact = -1;
    if (st.precision >= 0 && frac_digits > st.precision) exact = st.precision;
    if (st.min_digits > frac_digits) exact = st.min_digits;
    if (exact >= 0) {
      char buf[400];
      std::snprintf(buf, sizeof(buf), "%.*e", exact, a);
      d = ParseScientific(buf);
    }
  }
  FloatStyle mantissa_style = st;
  mantissa_style.sign_plus = st.sign_plus;
  mantissa_style.pad_right = 0;
  std::string s = FinishNumber(negative, mantissa_style, d.digits.substr(0, 1), d.digits.substr(1));
  std::string e = std::to_string(std::abs(d.exponent));
  int width = std::max(2, st.exp_digits);
  if (static_cast<int>(e.size()) < width) e.insert(0, width - e.size(), '0');
  s += 'e';
  s += d.exponent < 0 ? '-' : '+';
  s += e;
  return s;
}

// numpy 2.x switches to scientific notation from a type-dependent magnitude:
// 10^min(8, finfo.precision) in arrays, and 1e3/1e6/1e16 for scalars of
// half/float/double.
double ArrayExpCutoff(FloatKind kind) {
  switch (kind) {
    case FloatKind::kHalf: return 1e3;
    case FloatKind::kFloat: return 1e6;
    case FloatKind::kDouble: return 1e8;
  }
  return 1e8;
}

double ScalarExpCutoff(FloatKind kind) {
  switch (kind) {
    case FloatKind::kHalf: return 1e3;
    case FloatKind::kFloat: return 1e6;
    case FloatKind::kDouble: return 1e16;
  }
  return 1e16;
}

// str() of a numpy float scalar: positional with one trailing zero kept for
// 1e-4 <= |v| < ScalarExpCutoff (and zero), scientific otherwise. `trim` '-' drops a
// trailing ".0" (complex components).
std::string FloatScalarRepr(double v, FloatKind kind, bool drop_point_zero = false) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  const double a = std::fabs(v);
  FloatStyle st;
  if (a == 0 || (a >= 1e-4 && a < ScalarExpCutoff(kind))) {
    st.trim = drop_point_zero ? '-' : '0';
    return Positional(v, kind, st);
  }
  st.trim = '-';
  return Scientific(v, kind, st);
}

// numpy's FloatingFormat: one style for all displayed elements of an array.
class FloatArrayFormat {
 public:
  FloatArrayFormat(const std::vector<double>& data, FloatKind kind, const PrintOptions& opts,
                   char sign)
      : kind_(kind), opts_(opts), sign_(sign) {
    style_.precision = static_cast<int>(opts.precision);
    style_.sign_plus = sign == '+';
    std::vector<double> finite;
    for (double x : data) {
      if (std::isfinite(x)) finite.push_back(x);
    }
    double max_val = 0, min_val = 0;
    bool any_non_zero = false;
    for (double x : finite) {
      double a = std::fabs(x);
      if (a == 0) continue;
      if (!any_non_zero) {
        max_val = min_val = a;
        any_non_zero = true;
      } else {
        max_val = std::max(max_val, a);
        min_val = std::min(min_val, a);
      }
    }
    if (any_non_zero &&
        (max_val >= ArrayExpCutoff(kind) || (!opts.suppress && (min_val < 0.0001 || max_val / min_val > 1000.)))) {
      exp_format_ = true;
    }
    if (finite.empty()) {
      style_.trim = '.';
    } else if (exp_format_) {
      FloatStyle first = style_;
      size_t max_int = 0, max_frac = 0, max_exp = 0;
      for (double x : finite) {
        std::string s = Scientific(x, kind, first);
        size_t e = s.find('e');
        size_t dot = s.find('.');
        std::string mant = s.substr(0, e);
        max_exp = std::max(max_exp, s.size() - e - 2);
        if (dot == std::string::npos || dot > e) {
          max_int = std::max(max_int, mant.size());
        } else {
          max_int = std::max(max_int, dot);
          max_frac = std::max(max_frac, e - dot - 1);
        }
      }
      style_.exp_digits = static_cast<int>(max_exp);
      style_.trim = 'k';
      style_.precision = static_cast<int>(max_frac);
      style_.min_digits = style_.precision;
      style_.pad_left = static_cast<int>(max_int);
      style_.pad_right = style_.exp_digits + 2 + style_.precision;
    } else {
      size_t max_int = 0, max_frac = 0;
      for (double x : finite) {
        std::string s = Positional(x, kind, style_);
        size_t dot = s.find('.');
        max_int = std::max(max_int, dot == std::string::npos ? s.size() : dot);
        if (dot != std::string::npos) max_frac = std::max(max_frac, s.size() - dot - 1);
      }
      style_.pad_left = static_cast<int>(max_int);
      style_.pad_right = static_cast<int>(max_frac);
      style_.trim = '.';
      style_.min_digits = 0;
    }
    if (sign == ' ') {
      bool any_negative = false;
      for (double x : finite) any_negative |= std::signbit(x);
      if (!any_negative) ++style_.pad_left;
    }
    if (finite.size() != data.size()) {
      bool neginf = sign != '-';
      for (double x : data) neginf |= (std::isinf(x) && x < 0);
      int offset = style_.pad_right + 1;
      int nanlen = static_cast<int>(opts.nanstr.size());
      int inflen = static_cast<int>(opts.infstr.size()) + (neginf ? 1 : 0);
      style_.pad_left = std::max({style_.pad_left, nanlen - offset, inflen - offset});
    }
  }

  std::string operator()(double x) const {
    if (!std::isfinite(x)) {
      std::string r;
      if (std::isnan(x)) {
        r = (sign_ == '+' ? "+" : "") + opts_.nanstr;
      } else {
        r = (x < 0 ? "-" : (sign_ == '+' ? "+" : "")) + opts_.infstr;
      }
      int width = style_.pad_left + style_.pad_right + 1;
      if (static_cast<int>(r.size()) < width) r.insert(0, width - r.size(), ' ');
      return r;
    }
    return exp_format_ ? Scientific(x, kind_, style_) : Positional(x, kind_, style_);
  }

 private:
  FloatKind kind_;
  const PrintOptions& opts_;
  char sign_;
  bool exp_format_ = false;
  FloatStyle style_;
};

// ml_dtypes prints its types through C++ `ostream << float` (%g, 6 digits).
std::string MlDtypesRepr(double v) {
  if (std::isnan(v)) return "nan";
  std::ostringstream s;
  s << static_cast<float>(v);
  return s.str();
}

// Python's repr() of a bytes object.
std::string PythonBytesRepr(std::string_view b) {
  const bool has_single = b.find('\'') != std::string_view::npos;
  const bool has_double = b.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string s = "b";
  s += quote;
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : b) {
    if (c == quote || c == '\\') {
      s += '\\';
      s += static_cast<char>(c);
    } else if (c == '\t') {
      s += "\\t";
    } else if (c == '\n') {
      s += "\\n";
    } else if (c == '\r') {
      s += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      s += "\\x";
      s += kHex[c >> 4];
      s += kHex[c & 0xf];
    } else {
      s += static_cast<char>(c);
    }
  }
  s += quote;
  return s;
}

// Formats the element at a flat index; built from the displayed elements.
class ElementFormatter {
 public:
  ElementFormatter(const Tensor& t, const std::vector<int64_t>& shown, const PrintOptions& opts)
      : t_(t), dtype_(t.dtype()) {
    if (IsNumpyFloat(dtype_)) {
      std::vector<double> data;
      data.reserve(shown.size());
      for (int64_t i : shown) data.push_back(RealValue(t, i));
      real_ = std::make_unique<FloatArrayFormat>(data, KindOf(dtype_), opts, opts.sign);
    } else if (IsComplex(dtype_)) {
      std::vector<double> re, im;
      for (int64_t i : shown) {
        auto c = ComplexValue(t, i);
        re.push_back(c.first);
        im.push_back(c.second);
      }
      real_ = std::make_unique<FloatArrayFormat>(re, KindOf(dtype_), opts, opts.sign);
      imag_ = std::make_unique<FloatArrayFormat>(im, KindOf(dtype_), opts, '+');
    } else if (IsIntegerLike(dtype_)) {
      // numpy's IntegerFormat: '+' or ' ' before non-negative values (' '
      // only if no value is negative), right-aligned to a common width.
      bool any_negative = false, any_non_negative = false;
      for (int64_t i : shown) {
        std::string v = IntegerString(t, i);
        width_ = std::max(width_, v.size());
        (v[0] == '-' ? any_negative : any_non_negative) = true;
      }
      int_sign_ = opts.sign;
      if (int_sign_ == ' ' && any_negative) int_sign_ = '-';
      if (int_sign_ != '-' && any_non_negative) {
        size_t w = 0;
        for (int64_t i : shown) {
          std::string v = IntegerString(t, i);
          w = std::max(w, v.size() + (v[0] == '-' ? 0 : 1));
        }
        width_ = w;
      }
    }
  }

  std::string operator()(int64_t i) const {
    if (IsNumpyFloat(dtype_)) return (*real_)(RealValue(t_, i));
    if (IsComplex(dtype_)) {
      auto c = ComplexValue(t_, i);
      std::string r = (*real_)(c.first);
      std::string im = (*imag_)(c.second);
      size_t end = im.find_last_not_of(' ') + 1;
      im.insert(end, "j");
      return r + im;
    }
    if (IsIntegerLike(dtype_)) {
      std::string s = IntegerString(t_, i);
      if (int_sign_ != '-' && s[0] != '-') s.insert(0, 1, int_sign_);
      if (s.size() < width_) s.insert(0, width_ - s.size(), ' ');
      return s;
    }
    if (dtype_ == DataType::kBool) return Load<uint8_t>(t_, i) != 0 ? " True" : "False";
    if (dtype_ == DataType::kString) return PythonBytesRepr(t_.strings()[i]);
    if (MiniFloatFormat(dtype_) != nullptr) return MlDtypesRepr(RealValue(t_, i));
    return "?";
  }

 private:
  const Tensor& t_;
  DataType dtype_;
  std::unique_ptr<FloatArrayFormat> real_, imag_;
  size_t width_ = 0;
  char int_sign_ = '-';
};

std::string ScalarRepr(const Tensor& t) {
  const DataType d = t.dtype();
  if (IsNumpyFloat(d)) return FloatScalarRepr(RealValue(t, 0), KindOf(d));
  if (IsComplex(d)) {
    auto [re, im] = ComplexValue(t, 0);
    std::string ims = FloatScalarRepr(im, KindOf(d), /*drop_point_zero=*/true);
    if (ims[0] != '-') ims.insert(0, "+");
    if (re == 0 && !std::signbit(re)) return ims.substr(ims[0] == '+' ? 1 : 0) + "j";
    return "(" + FloatScalarRepr(re, KindOf(d), true) + ims + "j)";
  }
  if (IsIntegerLike(d)) return IntegerString(t, 0);
  if (d == DataType::kBool) return Load<uint8_t>(t, 0) != 0 ? "True" : "False";
  if (d == DataType::kString) return PythonBytesRepr(t.strings()[0]);
  if (MiniFloatFormat(d) != nullptr) return MlDtypesRepr(RealValue(t, 0));
  return "?";
}

// The shown positions along one axis of length `len` (numpy's summarised
// _formatArray walk): the first `leading`, then "..." if summarised, then
// the last max(trailing, 1) (numpy always prints the last element, even
// with edgeitems=0).
struct AxisItems {
  int64_t len;
  int64_t leading;
  bool summary;
  int64_t tail;  // positions after "...": len - tail .. len - 1

  AxisItems(int64_t length, bool summarise, int64_t edge) : len(length) {
    summary = summarise && 2 * edge < len;
    leading = summary ? edge : 0;
    tail = std::max<int64_t>(summary ? edge : len, 1);
  }
  int64_t count() const { return leading + (summary ? 1 : 0) + tail; }
  // The index of item k, or -1 for the "..." item.
  int64_t Index(int64_t k) const {
    if (k < leading) return k;
    if (summary && k == leading) return -1;
    return len - tail + (k - leading - (summary ? 1 : 0));
  }
};

// Port of numpy's _formatArray for str() (separator ' ', prefix ""). numpy
// recurses per axis; this walks the axes with an explicit stack and appends
// to one string, so a tensor of any rank takes neither stack depth nor
// time quadratic in its rank. At axis k the hanging indent is k + 1 spaces
// and the line width linewidth - k, as in numpy's recursion.
class ArrayPrinter {
 public:
  ArrayPrinter(const TensorShape& shape, const ElementFormatter& fmt, bool summarise,
               int64_t edge)
      : dims_(shape.dims()), fmt_(fmt), summarise_(summarise), edge_(edge) {
    strides_.assign(dims_.size(), 1);
    for (int i = static_cast<int>(dims_.size()) - 2; i >= 0; --i) {
      strides_[i] = strides_[i + 1] * dims_[i + 1];
    }
  }

  // REQUIRES: rank >= 1 and no dimension is 0.
  std::string Print(int64_t linewidth) {
    const size_t rank = dims_.size();
    struct Frame {
      int64_t offset;  // flat index of this sub-array's first element
      int64_t item;    // next item of the axis to print
    };
    std::vector<Frame> stack;
    stack.push_back({0, 0});
    std::string out = "[";
    bool returned = false;  // a sub-array of the top frame was just closed
    while (!stack.empty()) {
      const size_t axis = stack.size() - 1;
      if (axis + 1 == rank) {
        AppendRow(stack.back().offset, axis, linewidth, &out);
        stack.pop_back();
        returned = true;
        continue;
      }
      Frame& f = stack.back();
      const AxisItems items(dims_[axis], summarise_, edge_);
      const size_t blank_lines = rank - axis - 1;
      if (returned) {
        returned = false;
        if (++f.item < items.count()) out.append(blank_lines, '\n');
      }
      bool descended = false;
      while (f.item < items.count()) {
        if (f.item > 0) out.append(axis + 1, ' ');
        const int64_t i = items.Index(f.item);
        if (i < 0) {
          out += "...";
          out.append(blank_lines, '\n');
          ++f.item;
          continue;
        }
        const int64_t child = f.offset + i * strides_[axis];
        out += '[';
        stack.push_back({child, 0});  // invalidates f
        descended = true;
        break;
      }
      if (descended) continue;
      out += ']';
      stack.pop_back();
      returned = true;
    }
    return out;
  }

 private:
  static void ExtendLine(std::string* s, std::string* line, const std::string& word, int64_t width,
                         const std::string& next_prefix) {
    bool wrap = static_cast<int64_t>(line->size() + word.size()) > width;
    if (line->size() <= next_prefix.size()) wrap = false;
    if (wrap) {
      size_t end = line->find_last_not_of(' ');
      *s += line->substr(0, end == std::string::npos ? 0 : end + 1);
      *s += '\n';
      *line = next_prefix;
    }
    *line += word;
  }

  // Appends the elements of the last axis starting at flat index `offset`,
  // wrapped at the axis's line width, and the closing bracket (the opening
  // one is already out).
  void AppendRow(int64_t offset, size_t axis, int64_t linewidth, std::string* out) const {
    const std::string hanging(axis + 1, ' ');
    const int64_t elem_width = linewidth - static_cast<int64_t>(axis) - 1;
    const AxisItems items(dims_[axis], summarise_, edge_);
    std::string s;
    std::string line = hanging;
    for (int64_t k = 0; k < items.count(); ++k) {
      const int64_t i = items.Index(k);
      ExtendLine(&s, &line, i < 0 ? std::string("...") : fmt_(offset + i), elem_width, hanging);
      if (k + 1 < items.count()) line += ' ';
    }
    s += line;
    out->append(s, hanging.size(), std::string::npos);
    *out += ']';
  }

  std::vector<int64_t> dims_;
  std::vector<int64_t> strides_;
  const ElementFormatter& fmt_;
  bool summarise_;
  int64_t edge_;
};

// Flat indices of the elements a (possibly summarised) print shows, in
// print order: an odometer over the axes (no recursion per axis).
// REQUIRES: edge > 0 if summarise.
void CollectShown(const std::vector<int64_t>& dims, bool summarise, int64_t edge,
                  std::vector<int64_t>* out) {
  const size_t rank = dims.size();
  for (int64_t d : dims) {
    if (d == 0) return;
  }
  std::vector<int64_t> strides(rank, 1);
  for (size_t a = rank; a-- > 1;) strides[a - 1] = strides[a] * dims[a];
  std::vector<int64_t> index(rank, 0);
  int64_t offset = 0;
  while (true) {
    out->push_back(offset);
    size_t a = rank;
    while (true) {
      if (a == 0) return;
      --a;
      const int64_t len = dims[a];
      int64_t next = index[a] + 1;
      if (summarise && len > 2 * edge && next == edge) next = len - edge;
      if (next < len) {
        offset += (next - index[a]) * strides[a];
        index[a] = next;
        break;
      }
      offset -= index[a] * strides[a];
      index[a] = 0;
    }
  }
}

// ---------------------------------------------------------------------------
// JSON.

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

std::string JsonShape(const TensorShape& shape) {
  std::string s = "[";
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape.dim(i));
  }
  return s + "]";
}

std::string JsonVariableHead(std::string_view name, DataType dtype, const TensorShape& shape) {
  return "{\"name\": " + JsonString(name) + ", \"dtype\": " + JsonString(DataTypeName(dtype)) +
         ", \"shape\": " + JsonShape(shape);
}

// ---------------------------------------------------------------------------
// The command.

std::string ParamCountLine(const CheckpointReader& reader) {
  int64_t total = 0;
  for (const VariableInfo& v : reader.variables()) total += v.shape.num_elements();
  return "# Total number of params: " + std::to_string(total) + "\n";
}

void PrintError(const Status& status, const std::string& file_name, std::ostream& err) {
  err << "ckpt inspect: " << EscapeForDisplay(status.ToString()) << "\n";
  if (status.message().find("corrupted compressed block contents") != std::string::npos) {
    err << "It's likely that your checkpoint file has been compressed with SNAPPY.\n";
  }
  const bool data_loss_or_missing =
      status.code() == StatusCode::kDataLoss || status.code() == StatusCode::kNotFound;
  if (data_loss_or_missing) {
    for (const char* ext : {".index", ".meta", ".data"}) {
      if (file_name.find(ext) == std::string::npos) continue;
      std::string proposed = file_name.substr(0, file_name.rfind('.'));
      err << "\nIt's likely that this is a V2 checkpoint and you need to provide the filename\n"
             "*prefix*.  Try removing the '.' and extension.  Try:\n"
             "ckpt inspect --file_name="
          << EscapeForDisplay(proposed) << "\n";
      break;
    }
  }
}

Status Inspect(const InspectOptions& options, std::string* out) {
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> reader,
                        CheckpointReader::Open(options.file_name));
  const bool show_values = options.all_tensors;
  const bool list = options.all_tensors || options.all_tensor_names;
  if (!list && !options.tensor_name.empty() && !reader->HasTensor(options.tensor_name)) {
    return NotFoundError("Tensor " + EscapeForDisplay(options.tensor_name) +
                         " not found in checkpoint");
  }

  if (options.json) {
    if (!list && !options.tensor_name.empty()) {
      CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(options.tensor_name));
      *out += JsonVariableHead(options.tensor_name, t.dtype(), t.shape()) +
              ", \"values\": " + TensorValuesToJson(t) + "}\n";
      return Status::OK();
    }
    *out += "{\"checkpoint\": " + JsonString(reader->prefix()) + ", \"format\": \"" +
            (reader->format() == CheckpointReader::Format::kV1 ? "V1" : "V2") +
            "\", \"variables\": [";
    bool first = true;
    for (const VariableInfo& v : reader->variables()) {
      *out += first ? "\n  " : ",\n  ";
      first = false;
      *out += JsonVariableHead(v.name, v.dtype, v.shape);
      if (show_values) {
        CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(v.name));
        *out += ", \"values\": " + TensorValuesToJson(t);
      }
      *out += "}";
    }
    *out += first ? "]}\n" : "\n]}\n";
    return Status::OK();
  }

  if (list) {
    for (const VariableInfo& v : reader->variables()) {
      *out += "tensor_name:  " + EscapeForDisplay(v.name) + "\n";
      if (show_values) {
        CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(v.name));
        *out += FormatTensor(t, options.print_options) + "\n";
      }
    }
  } else if (options.tensor_name.empty()) {
    *out += reader->DebugString() + "\n";
  } else {
    CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(options.tensor_name));
    *out += "tensor_name:  " + EscapeForDisplay(options.tensor_name) + "\n";
    *out += FormatTensor(t, options.print_options) + "\n";
  }
  *out += ParamCountLine(*reader);
  return Status::OK();
}

bool ParseInt(std::string_view s, int64_t* v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// absl's boolean spellings.
bool ParseBool(std::string_view s, bool* v) {
  std::string l;
  for (char c : s) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (l == "true" || l == "t" || l == "yes" || l == "y" || l == "1") {
    *v = true;
    return true;
  }
  if (l == "false" || l == "f" || l == "no" || l == "n" || l == "0") {
    *v = false;
    return true;
  }
  return false;
}

}  // namespace

Status SetPrintOption(std::string_view key_value, PrintOptions* options) {
  const size_t eq = key_value.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgumentError("'" + std::string(key_value) + "' is not in the form k=v.");
  }
  const std::string key(key_value.substr(0, eq));
  const std::string_view value = key_value.substr(eq + 1);
  auto bad_value = [&](const char* what) {
    return InvalidArgumentError("invalid value '" + std::string(value) + "' for printoption '" +
                                key + "': expected " + what);
  };
  int64_t* int_field = nullptr;
  int64_t min = 0;
  if (key == "threshold") {
    int_field = &options->threshold;
    min = std::numeric_limits<int64_t>::min();
  } else if (key == "edgeitems") {
    int_field = &options->edgeitems;
  } else if (key == "precision") {
    int_field = &options->precision;
  } else if (key == "linewidth") {
    int_field = &options->linewidth;
    min = 1;
  }
  if (int_field != nullptr) {
    int64_t v;
    if (!ParseInt(value, &v) || v < min || (key == "precision" && v > 300) ||
        (key == "edgeitems" && v > (int64_t{1} << 40))) {
      return bad_value(key == "precision" ? "an integer in [0, 300]"
                       : min == 1         ? "a positive integer"
                       : min == 0         ? "a non-negative integer"
                                          : "an integer");
    }
    *int_field = v;
    return Status::OK();
  }
  if (key == "suppress") {
    if (!ParseBool(value, &options->suppress)) return bad_value("true or false");
    return Status::OK();
  }
  if (key == "sign") {
    if (value != "-" && value != "+" && value != " ") return bad_value("'-', '+' or ' '");
    options->sign = value[0];
    return Status::OK();
  }
  if (key == "nanstr") {
    options->nanstr = std::string(value);
    return Status::OK();
  }
  if (key == "infstr") {
    options->infstr = std::string(value);
    return Status::OK();
  }
  if (key == "floatmode" || key == "legacy" || key == "formatter" || key == "override_repr") {
    return InvalidArgumentError("Setting '" + key + "' from the command line is not supported.");
  }
  return InvalidArgumentError("'" + key + "' is not a valid printoption.");
}

std::string FormatTensor(const Tensor& tensor, const PrintOptions& options) {
  if (tensor.shape().rank() == 0) return ScalarRepr(tensor);
  const int64_t n = tensor.num_elements();
  if (n == 0) return "[]";
  const bool summarise = n > options.threshold;
  std::vector<int64_t> shown;
  // With edgeitems=0 numpy's a[-0:] selects everything, so every element
  // takes part in choosing the format.
  CollectShown(tensor.shape().dims(), summarise && options.edgeitems > 0, options.edgeitems,
               &shown);
  ElementFormatter fmt(tensor, shown, options);
  ArrayPrinter printer(tensor.shape(), fmt, summarise, options.edgeitems);
  return printer.Print(options.linewidth);
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
      s += Load<uint8_t>(t, i) != 0 ? "true" : "false";
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
      case '"': s += "\\\""; break;
      case '\\': s += "\\\\"; break;
      case '\b': s += "\\b"; break;
      case '\f': s += "\\f"; break;
      case '\n': s += "\\n"; break;
      case '\r': s += "\\r"; break;
      case '\t': s += "\\t"; break;
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

int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err) {
  if (options.file_name.empty()) {
    err << "Usage: inspect_checkpoint --file_name=checkpoint_file_name "
           "[--tensor_name=tensor_to_print] [--all_tensors] [--all_tensor_names] "
           "[--printoptions]\n";
    return kExitFailure;
  }
  std::string text;
  Status s = Inspect(options, &text);
  if (!s.ok()) {
    PrintError(s, options.file_name, err);
    return kExitFailure;
  }
  out << text;
  out.flush();
  return kExitOk;
}

void AddInspectCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "inspect", "Print the variables of a checkpoint (like TensorFlow's inspect_checkpoint)");
  auto options = std::make_shared<InspectOptions>();
  auto printoptions = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--file_name", options->file_name,
                  "Checkpoint: a V2 prefix, a V1 file, or a directory (newest checkpoint)");
  cmd->add_option("--tensor_name", options->tensor_name, "Name of the tensor to print");
  cmd->add_option("--all_tensors", options->all_tensors,
                  "Print the names and values of all tensors")
      ->expected(0, 1)
      ->default_str("true");
  cmd->add_option("--all_tensor_names", options->all_tensor_names,
                  "Print the names of all tensors")
      ->expected(0, 1)
      ->default_str("true");
  cmd->add_option("--printoptions", *printoptions,
                  "numpy print options as k=v: threshold, edgeitems, precision, linewidth, "
                  "suppress, sign, nanstr, infstr")
      ->expected(0, CLI::detail::expected_max_vector_size);
  cmd->add_flag("--json", options->json, "Print JSON instead of text");
  cmd->callback([options, printoptions, out, err, exit_code] {
    InspectOptions run = *options;
    for (const std::string& kv : *printoptions) {
      Status s = SetPrintOption(kv, &run.print_options);
      if (!s.ok()) {
        *err << "ckpt inspect: --printoptions: " << s.message() << "\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    *exit_code = RunInspect(run, *out, *err);
  });
}

}  // namespace ckpt::tools
