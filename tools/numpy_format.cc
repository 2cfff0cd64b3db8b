// numpy's print() of a tensor (see numpy_format.h). FormatTensor picks the
// shown elements (CollectShown), builds one element format from them
// (ElementFormatter: numpy's FloatingFormat / IntegerFormat) and lays the
// array out (ArrayPrinter: numpy's _formatArray).
#include "numpy_format.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "ckpt/types.h"
#include "tensor_elements.h"

namespace ckpt::tools {
namespace {

bool IsNumpyFloat(DataType d) {
  return d == DataType::kFloat || d == DataType::kDouble || d == DataType::kHalf;
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
  int precision =
      -1;  // max fractional digits (positional) or mantissa digits (scientific); -1 none
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
    case FloatKind::kHalf:
      return 1e3;
    case FloatKind::kFloat:
      return 1e6;
    case FloatKind::kDouble:
      return 1e8;
  }
  return 1e8;
}

double ScalarExpCutoff(FloatKind kind) {
  switch (kind) {
    case FloatKind::kHalf:
      return 1e3;
    case FloatKind::kFloat:
      return 1e6;
    case FloatKind::kDouble:
      return 1e16;
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
    const FloatMode mode = opts.floatmode;
    style_.precision = mode == FloatMode::kUnique ? -1 : static_cast<int>(opts.precision);
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
    if (any_non_zero && (max_val >= ArrayExpCutoff(kind) ||
                         (!opts.suppress && (min_val < 0.0001 || max_val / min_val > 1000.)))) {
      exp_format_ = true;
    }
    if (finite.empty()) {
      style_.trim = '.';
    } else if (exp_format_) {
      // The first pass measures the widest element; "fixed" measures
      // exactly `precision` digits (Dragon4 without `unique`).
      FloatStyle first = style_;
      if (mode == FloatMode::kFixed) {
        first.min_digits = first.precision;
        first.trim = 'k';
      }
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
      FloatStyle first = style_;
      if (mode == FloatMode::kFixed) {
        first.min_digits = first.precision;
        first.trim = 'k';
      }
      size_t max_int = 0, max_frac = 0;
      for (double x : finite) {
        std::string s = Positional(x, kind, first);
        size_t dot = s.find('.');
        max_int = std::max(max_int, dot == std::string::npos ? s.size() : dot);
        if (dot != std::string::npos) max_frac = std::max(max_frac, s.size() - dot - 1);
      }
      style_.pad_left = static_cast<int>(max_int);
      style_.pad_right = static_cast<int>(max_frac);
      if (mode == FloatMode::kFixed || mode == FloatMode::kMaxPrecEqual) {
        // Every element gets the widest one's digits.
        style_.precision = style_.min_digits = style_.pad_right;
        style_.trim = 'k';
      } else {
        style_.trim = '.';
        style_.min_digits = 0;
      }
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
  ArrayPrinter(const TensorShape& shape, const ElementFormatter& fmt, bool summarise, int64_t edge)
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
// --printoptions.

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
  if (key == "floatmode") {
    static constexpr std::pair<std::string_view, FloatMode> kModes[] = {
        {"maxprec", FloatMode::kMaxPrec},
        {"maxprec_equal", FloatMode::kMaxPrecEqual},
        {"fixed", FloatMode::kFixed},
        {"unique", FloatMode::kUnique}};
    for (const auto& [name, mode] : kModes) {
      if (value == name) {
        options->floatmode = mode;
        return Status::OK();
      }
    }
    return bad_value("one of 'fixed', 'unique', 'maxprec' or 'maxprec_equal'");
  }
  if (key == "legacy") {
    // numpy's default (False) is all we print; legacy=True asks for numpy
    // 1.13's layout, which we do not reproduce.
    bool legacy = false;
    if (!ParseBool(value, &legacy)) return bad_value("true or false");
    if (legacy) {
      return InvalidArgumentError(
          "printoption 'legacy=" + std::string(value) +
          "' (numpy 1.13's printing) is not supported; only legacy=false is");
    }
    return Status::OK();
  }
  if (key == "formatter" || key == "override_repr") {
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

}  // namespace ckpt::tools
