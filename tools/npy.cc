// numpy's .npy format: the header's Python dict literal is parsed by a small
// recursive-descent reader that accepts what numpy writes (and what
// ast.literal_eval accepts for those three keys), nothing more.
#include "npy.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/escape.h"

namespace ckpt::tools {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kAlignment = 64;

// One value of the header dict.
struct HeaderValue {
  enum Kind { kString, kBool, kTuple, kOther } kind = kOther;
  std::string text;           // kString: the string; otherwise the source text
  bool boolean = false;       // kBool
  std::vector<int64_t> ints;  // kTuple
};

std::string Quote(std::string_view s) {
  std::string shown(s.substr(0, 80));
  return "'" + EscapeForDisplay(shown) + (s.size() > 80 ? "...'" : "'");
}

class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string_view name) : text_(text), name_(name) {}

  Result<std::map<std::string, HeaderValue>> ParseDict() {
    std::map<std::string, HeaderValue> dict;
    SkipSpace();
    if (!Consume('{')) return Error("'{' at the start of the header dict");
    SkipSpace();
    while (!Consume('}')) {
      CKPT_ASSIGN_OR_RETURN(std::string key, ParseString());
      SkipSpace();
      if (!Consume(':')) return Error("':' after key " + Quote(key));
      SkipSpace();
      CKPT_ASSIGN_OR_RETURN(HeaderValue value, ParseValue());
      if (dict.count(key) > 0) return Error("each key once, but " + Quote(key) + " repeats");
      dict.emplace(std::move(key), std::move(value));
      SkipSpace();
      if (Consume(',')) {
        SkipSpace();
        continue;
      }
      SkipSpace();
      if (!Consume('}')) return Error("',' or '}' after a dict entry");
      break;
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("the end of the header after '}'");
    return dict;
  }

 private:
  Status Error(const std::string& expected) const {
    std::string_view rest = text_.substr(std::min(pos_, text_.size()));
    return InvalidArgumentError(std::string(name_) + ": malformed .npy header: expected " +
                                expected + " at offset " + std::to_string(pos_) + ", found " +
                                (rest.empty() ? std::string("the end") : Quote(rest)));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(std::string_view w) {
    if (text_.substr(pos_, w.size()) == w) {
      pos_ += w.size();
      return true;
    }
    return false;
  }
  Result<std::string> ParseString() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return Error("a quoted string");
    }
    const char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') return Error("a string without escapes");
      out += text_[pos_++];
    }
    if (!Consume(quote)) return Error("the closing quote of a string");
    return out;
  }
  Result<HeaderValue> ParseValue() {
    HeaderValue v;
    const size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"')) {
      CKPT_ASSIGN_OR_RETURN(v.text, ParseString());
      v.kind = HeaderValue::kString;
      return v;
    }
    if (ConsumeWord("True") || ConsumeWord("False")) {
      v.kind = HeaderValue::kBool;
      v.boolean = text_[start] == 'T';
      v.text = std::string(text_.substr(start, pos_ - start));
      return v;
    }
    if (Consume('(')) {
      v.kind = HeaderValue::kTuple;
      SkipSpace();
      bool need_comma_for_single = true;
      while (!Consume(')')) {
        CKPT_ASSIGN_OR_RETURN(int64_t n, ParseInt());
        v.ints.push_back(n);
        SkipSpace();
        if (Consume(',')) {
          need_comma_for_single = false;
          SkipSpace();
          continue;
        }
        if (!Consume(')')) return Error("',' or ')' in the shape tuple");
        if (v.ints.size() == 1 && need_comma_for_single) {
          // "(3)" is the int 3 in Python, not a tuple.
          return Error("a tuple (\"(3,)\", not \"(3)\")");
        }
        break;
      }
      v.text = std::string(text_.substr(start, pos_ - start));
      return v;
    }
    // Anything else (a list descr of a structured dtype, a number, ...):
    // skip to the next top-level ',' or '}' so the key can be named.
    int depth = 0;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '[' || c == '(' || c == '{') ++depth;
      if (c == ']' || c == ')' || c == '}') {
        if (depth == 0) break;
        --depth;
      }
      if (c == ',' && depth == 0) break;
      ++pos_;
    }
    if (pos_ == start) return Error("a value");
    v.text = std::string(text_.substr(start, pos_ - start));
    return v;
  }
  Result<int64_t> ParseInt() {
    const size_t start = pos_;
    int64_t n = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (n > (int64_t{1} << 56)) return Error("a dimension below 2^56");
      n = n * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start) return Error("a non-negative integer dimension");
    Consume('L');  // Python 2's long suffix, in version 1.0 files numpy 1.x wrote
    return n;
  }

  std::string_view text_;
  std::string_view name_;
  size_t pos_ = 0;
};

// A parsed descr.
struct Descr {
  DataType dtype = DataType::kInvalid;
  size_t item_size = 0;  // bytes per element in the file
  size_t swap_unit = 1;  // bytes reversed together for a big-endian file
  bool big_endian = false;
  bool unicode = false;  // 'U': UCS-4 code points
};

Result<Descr> ParseDescr(const std::string& descr, std::string_view name) {
  auto bad = [&](const std::string& why) {
    return UnimplementedError(std::string(name) + ": .npy dtype " + Quote(descr) +
                              " is not supported (" + why +
                              "; supported: f2 f4 f8 c8 c16 i1 i2 i4 i8 u1 u2 u4 u8 b1 S<n> U<n>)");
  };
  std::string_view d = descr;
  Descr out;
  char order = '=';
  if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=')) {
    order = d[0];
    d.remove_prefix(1);
  }
  if (d.size() < 2) return bad("not a simple type code");
  const char kind = d[0];
  d.remove_prefix(1);
  uint64_t size = 0;
  for (char c : d) {
    if (c < '0' || c > '9' || size > (uint64_t{1} << 32)) return bad("not a simple type code");
    size = size * 10 + static_cast<uint64_t>(c - '0');
  }
  out.big_endian = order == '>';
  out.item_size = size;
  out.swap_unit = size;
  struct Entry {
    char kind;
    uint64_t size;
    DataType dtype;
  };
  static constexpr Entry kTable[] = {
      {'f', 2, DataType::kHalf},      {'f', 4, DataType::kFloat},       {'f', 8, DataType::kDouble},
      {'c', 8, DataType::kComplex64}, {'c', 16, DataType::kComplex128}, {'i', 1, DataType::kInt8},
      {'i', 2, DataType::kInt16},     {'i', 4, DataType::kInt32},       {'i', 8, DataType::kInt64},
      {'u', 1, DataType::kUInt8},     {'u', 2, DataType::kUInt16},      {'u', 4, DataType::kUInt32},
      {'u', 8, DataType::kUInt64},    {'b', 1, DataType::kBool},
  };
  for (const Entry& e : kTable) {
    if (e.kind == kind && e.size == size) {
      out.dtype = e.dtype;
      if (kind == 'c') out.swap_unit = size / 2;
      return out;
    }
  }
  if ((kind == 'S' || kind == 'a' || kind == 'U') && size == 0) {
    // numpy never writes these for data (np.array([b'']) is S1); with no
    // bytes per element the element count would be bounded by nothing.
    return bad("zero-size elements");
  }
  if (kind == 'S' || kind == 'a') {
    out.dtype = DataType::kString;
    out.swap_unit = 1;
    return out;
  }
  if (kind == 'U') {
    if (size > (uint64_t{1} << 30)) return bad("too long");
    out.dtype = DataType::kString;
    out.unicode = true;
    out.item_size = size * 4;
    out.swap_unit = 4;
    return out;
  }
  return bad("no ckpt dtype for it");
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The row-major position of each element stored in Fortran (column-major)
// order: result[f] = c.
std::vector<int64_t> FortranToC(const std::vector<int64_t>& dims, int64_t n) {
  std::vector<int64_t> c_stride(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) {
    c_stride[i] = c_stride[i + 1] * dims[i + 1];
  }
  std::vector<int64_t> index(dims.size(), 0), out(n);
  int64_t c = 0;
  for (int64_t f = 0; f < n; ++f) {
    out[f] = c;
    for (size_t d = 0; d < dims.size(); ++d) {  // first axis fastest
      ++index[d];
      c += c_stride[d];
      if (index[d] < dims[d]) break;
      c -= c_stride[d] * dims[d];
      index[d] = 0;
    }
  }
  return out;
}

std::string ShapeRepr(const TensorShape& shape) {
  std::string s = "(";
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape.dim(i));
  }
  if (shape.rank() == 1) s += ",";
  return s + ")";
}

}  // namespace

std::string NpyDescr(DataType dtype) {
  switch (dtype) {
    case DataType::kHalf:
      return "<f2";
    case DataType::kFloat:
      return "<f4";
    case DataType::kDouble:
      return "<f8";
    case DataType::kComplex64:
      return "<c8";
    case DataType::kComplex128:
      return "<c16";
    case DataType::kInt8:
      return "|i1";
    case DataType::kInt16:
      return "<i2";
    case DataType::kInt32:
      return "<i4";
    case DataType::kInt64:
      return "<i8";
    case DataType::kUInt8:
      return "|u1";
    case DataType::kUInt16:
      return "<u2";
    case DataType::kUInt32:
      return "<u4";
    case DataType::kUInt64:
      return "<u8";
    case DataType::kBool:
      return "|b1";
    default:
      return "";
  }
}

Result<Tensor> ParseNpy(std::string_view bytes, std::string_view name) {
  const std::string file(name);
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic) {
    return InvalidArgumentError(file +
                                ": not a .npy file: expected the magic \"\\x93NUMPY\", found " +
                                Quote(bytes.substr(0, kMagic.size())));
  }
  if (bytes.size() < kMagic.size() + 2) {
    return DataLossError(file + ": .npy file ends inside its version (" +
                         std::to_string(bytes.size()) + " bytes)");
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  const int minor = static_cast<uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    return InvalidArgumentError(file + ": .npy version " + std::to_string(major) + "." +
                                std::to_string(minor) + " is not one of 1.0, 2.0, 3.0");
  }
  const size_t len_size = major == 1 ? 2 : 4;
  const size_t prefix = kMagic.size() + 2 + len_size;
  if (bytes.size() < prefix) {
    return DataLossError(file + ": .npy file ends inside its header length (" +
                         std::to_string(bytes.size()) + " bytes, need " + std::to_string(prefix) +
                         ")");
  }
  uint64_t header_len = 0;
  for (size_t i = 0; i < len_size; ++i) {
    header_len |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
  }
  if (header_len > bytes.size() - prefix) {
    return DataLossError(file + ": .npy header is " + std::to_string(header_len) +
                         " bytes but only " + std::to_string(bytes.size() - prefix) +
                         " follow the header length");
  }
  std::string_view header = bytes.substr(prefix, header_len);
  HeaderParser parser(header, file);
  CKPT_ASSIGN_OR_RETURN(auto dict, parser.ParseDict());
  if (dict.size() != 3 || !dict.count("descr") || !dict.count("fortran_order") ||
      !dict.count("shape")) {
    std::string keys;
    for (const auto& [k, v] : dict) keys += (keys.empty() ? "" : ", ") + Quote(k);
    return InvalidArgumentError(file +
                                ": .npy header must have exactly the keys 'descr', "
                                "'fortran_order', 'shape'; found " +
                                (keys.empty() ? std::string("none") : keys));
  }
  const HeaderValue& descr_v = dict["descr"];
  const HeaderValue& order_v = dict["fortran_order"];
  const HeaderValue& shape_v = dict["shape"];
  if (descr_v.kind != HeaderValue::kString) {
    return UnimplementedError(file + ": .npy descr " + Quote(descr_v.text) +
                              " is a structured dtype; only simple dtypes are supported");
  }
  if (order_v.kind != HeaderValue::kBool) {
    return InvalidArgumentError(file + ": .npy fortran_order must be True or False, found " +
                                Quote(order_v.text));
  }
  if (shape_v.kind != HeaderValue::kTuple) {
    return InvalidArgumentError(file + ": .npy shape must be a tuple of ints, found " +
                                Quote(shape_v.text));
  }
  CKPT_ASSIGN_OR_RETURN(Descr descr, ParseDescr(descr_v.text, file));
  auto shape_or = TensorShape::Make(shape_v.ints);
  if (!shape_or.ok()) {
    return InvalidArgumentError(file + ": .npy shape " + shape_v.text +
                                " is not a valid shape: " + shape_or.status().message());
  }
  TensorShape shape = *shape_or;
  const int64_t n = shape.num_elements();
  std::string_view data = bytes.substr(prefix + header_len);
  const uint64_t need = descr.item_size == 0 ? 0 : static_cast<uint64_t>(n) * descr.item_size;
  if (descr.item_size > 0 && static_cast<uint64_t>(n) > data.size() / descr.item_size) {
    return DataLossError(file + ": .npy data is " + std::to_string(data.size()) +
                         " bytes, expected " + std::to_string(n) + " elements of " +
                         std::to_string(descr.item_size) + " bytes (" + descr_v.text + ", shape " +
                         shape_v.text + ")");
  }
  if (data.size() != need) {
    return DataLossError(file + ": .npy data is " + std::to_string(data.size()) +
                         " bytes, expected " + std::to_string(need) + " (" + descr_v.text +
                         ", shape " + shape_v.text + "); trailing bytes after the array");
  }
  // The elements in file order, in native (little-endian) byte order.
  std::string native;
  if (descr.big_endian && descr.swap_unit > 1) {
    native.assign(data);
    for (size_t i = 0; i + descr.swap_unit <= native.size(); i += descr.swap_unit) {
      std::reverse(native.begin() + i, native.begin() + i + descr.swap_unit);
    }
    data = native;
  }
  std::vector<int64_t> order;
  if (order_v.boolean && shape.rank() > 1) order = FortranToC(shape.dims(), n);
  auto dest = [&](int64_t i) { return order.empty() ? i : order[i]; };

  if (descr.dtype == DataType::kString) {
    std::vector<std::string> values(n);
    for (int64_t i = 0; i < n; ++i) {
      std::string_view item = data.substr(i * descr.item_size, descr.item_size);
      std::string s;
      if (descr.unicode) {
        for (size_t k = 0; k + 4 <= item.size(); k += 4) {
          uint32_t cp = 0;
          std::memcpy(&cp, item.data() + k, 4);
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return InvalidArgumentError(file + ": .npy element " + std::to_string(i) + " holds " +
                                        std::to_string(cp) + ", not a Unicode code point");
          }
          AppendUtf8(cp, &s);
        }
      } else {
        s.assign(item);
      }
      while (!s.empty() && s.back() == '\0') s.pop_back();
      values[dest(i)] = std::move(s);
    }
    return Tensor::FromStrings(shape, std::move(values));
  }
  CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(descr.dtype, shape));
  char* out = t.mutable_data();
  const size_t item = descr.item_size;
  if (order.empty()) {
    if (!data.empty()) std::memcpy(out, data.data(), data.size());
  } else {
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(out + order[i] * item, data.data() + i * item, item);
  }
  if (descr.dtype == DataType::kBool) {
    for (int64_t i = 0; i < n; ++i) out[i] = out[i] != 0 ? 1 : 0;
  }
  return t;
}

Result<std::string> SerializeNpy(const Tensor& tensor) {
  std::string descr;
  size_t string_size = 0;
  if (tensor.dtype() == DataType::kString) {
    for (const std::string& s : tensor.strings()) {
      if (!s.empty() && s.back() == '\0') {
        return InvalidArgumentError(
            "a string element ending in '\\0' cannot be written as a numpy 'S' array (numpy "
            "strips trailing NULs)");
      }
      string_size = std::max(string_size, s.size());
    }
    string_size = std::max<size_t>(string_size, 1);
    descr = "|S" + std::to_string(string_size);
  } else {
    descr = NpyDescr(tensor.dtype());
    if (descr.empty()) {
      return UnimplementedError("dtype " + std::string(DataTypeName(tensor.dtype())) +
                                " has no numpy .npy equivalent");
    }
  }
  std::string dict = "{'descr': '" + descr +
                     "', 'fortran_order': False, 'shape': " + ShapeRepr(tensor.shape()) + ", }";
  size_t prefix = kMagic.size() + 2 + 2;
  int major = 1;
  size_t total = prefix + dict.size() + 1;
  size_t padded = (total + kAlignment - 1) / kAlignment * kAlignment;
  if (padded - prefix > 0xFFFF) {
    major = 2;
    prefix += 2;
    total = prefix + dict.size() + 1;
    padded = (total + kAlignment - 1) / kAlignment * kAlignment;
  }
  const uint64_t header_len = padded - prefix;
  std::string out(kMagic);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) {
    out += static_cast<char>((header_len >> (8 * i)) & 0xFF);
  }
  out += dict;
  out.append(padded - total, ' ');
  out += '\n';
  if (tensor.dtype() == DataType::kString) {
    for (const std::string& s : tensor.strings()) {
      out += s;
      out.append(string_size - s.size(), '\0');
    }
  } else {
    out.append(tensor.data(), tensor.byte_size());
  }
  return out;
}

Result<Tensor> ReadNpy(Env* env, const std::string& path) {
  if (!env->FileExists(path)) return NotFoundError(path + ": no such .npy file");
  CKPT_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(env, path));
  return ParseNpy(bytes, path);
}

Status WriteNpy(Env* env, const std::string& path, const Tensor& tensor) {
  auto bytes = SerializeNpy(tensor);
  if (!bytes.ok()) return bytes.status().WithContext(path);
  return WriteStringToFileAtomic(env, path, *bytes);
}

}  // namespace ckpt::tools
