// Reading safetensors files: the header is parsed and validated in full
// (docs/format/safetensors.md, "What a reader checks") before any tensor is
// read; a tensor is then one read of its [begin, end) range.
#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "ckpt/escape.h"
#include "ckpt/safetensors.h"
#include "convert/safetensors_dtype.h"

namespace ckpt {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kMetadataKey = "__metadata__";

uint64_t DecodeFixed64(std::string_view p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Builds error messages naming the file (and the tensor).
class Errors {
 public:
  explicit Errors(std::string_view path) : path_(EscapeForDisplay(path)) {}
  Status File(const std::string& what) const {
    return DataLossError("Corrupt safetensors file " + path_ + ": " + what);
  }
  Status Tensor(std::string_view name, const std::string& what) const {
    return File("tensor '" + EscapeForDisplay(name) + "': " + what);
  }

 private:
  std::string path_;
};

// Parses the JSON, refusing duplicate keys in any object and nesting deeper
// than a header has (object -> tensor object -> shape array).
Result<Json> ParseJson(std::string_view text, const Errors& errors) {
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  bool too_deep = false;
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth > 2) too_deep = true;
        if (event == Json::parse_event_t::object_start) keys.emplace_back();
        return !too_deep;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        return !too_deep;
      case Json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        return true;
      default:
        return true;
    }
  };
  Json json = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (json.is_discarded()) return errors.File("the header is not valid JSON");
  if (too_deep) return errors.File("the header nests deeper than a safetensors header");
  if (!duplicate.empty()) {
    return errors.File("the header names '" + EscapeForDisplay(duplicate) + "' twice");
  }
  if (!json.is_object()) return errors.File("the header is not a JSON object");
  return json;
}

Result<std::map<std::string, std::string>> ParseMetadata(const Json& value, const Errors& errors) {
  if (!value.is_object()) return errors.File("__metadata__ is not an object of strings");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      return errors.File("__metadata__ value of '" + EscapeForDisplay(key) +
                         "' is not a string");
    }
    metadata[key] = v.get<std::string>();
  }
  return metadata;
}

Result<uint64_t> Unsigned(const Json& v, std::string_view name, const char* what,
                          const Errors& errors) {
  if (!v.is_number_unsigned()) {
    return errors.Tensor(name, std::string(what) + " " + v.dump() +
                                   " is not a non-negative 64-bit integer");
  }
  return v.get<uint64_t>();
}

Result<SafetensorsTensorInfo> ParseTensor(const std::string& name, const Json& value,
                                          const Errors& errors) {
  if (!value.is_object()) return errors.Tensor(name, "its entry is not an object");
  for (const auto& [key, v] : value.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return errors.Tensor(name, "unknown field '" + EscapeForDisplay(key) + "'");
    }
  }
  if (!value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets")) {
    return errors.Tensor(name, "needs the fields dtype, shape and data_offsets");
  }
  SafetensorsTensorInfo info;
  info.name = name;
  const Json& dtype = value["dtype"];
  const convert::SafetensorsDtype* d =
      dtype.is_string() ? convert::FindSafetensorsDtype(dtype.get<std::string>()) : nullptr;
  if (d == nullptr) return errors.Tensor(name, "unknown dtype " + dtype.dump());
  info.dtype_name = std::string(d->name);
  info.dtype = d->dtype;

  const Json& shape = value["shape"];
  if (!shape.is_array()) return errors.Tensor(name, "shape is not an array");
  std::vector<int64_t> dims;
  uint64_t elements = 1;
  bool overflow = false;
  for (const Json& dim : shape) {
    CKPT_ASSIGN_OR_RETURN(uint64_t n, Unsigned(dim, name, "dimension", errors));
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    if (n != 0 && elements > std::numeric_limits<uint64_t>::max() / 64 / n) overflow = true;
    if (!overflow) elements *= n;
    dims.push_back(static_cast<int64_t>(n));
  }
  if (overflow) return errors.Tensor(name, "shape " + shape.dump() + " has too many elements");
  info.shape = TensorShape(std::move(dims));
  const uint64_t bits = elements * static_cast<uint64_t>(d->bits);
  if (bits % 8 != 0) {
    return errors.Tensor(name, "shape " + shape.dump() + " of " + info.dtype_name +
                                   " does not fill whole bytes");
  }

  const Json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    return errors.Tensor(name, "data_offsets is not [begin, end]");
  }
  CKPT_ASSIGN_OR_RETURN(info.begin, Unsigned(offsets[0], name, "begin offset", errors));
  CKPT_ASSIGN_OR_RETURN(info.end, Unsigned(offsets[1], name, "end offset", errors));
  if (info.end < info.begin) {
    return errors.Tensor(name, "data_offsets [" + std::to_string(info.begin) + ", " +
                                   std::to_string(info.end) + "] end before they begin");
  }
  if (info.end - info.begin != bits / 8) {
    return errors.Tensor(name, "data_offsets [" + std::to_string(info.begin) + ", " +
                                   std::to_string(info.end) + "] hold " +
                                   std::to_string(info.end - info.begin) + " bytes, expected " +
                                   std::to_string(bits / 8) + " (" + info.dtype_name + " " +
                                   info.shape.DebugString() + ")");
  }
  return info;
}

// The tensors, sorted by offset, must tile [0, buffer_size) exactly.
Status CheckCoverage(std::vector<SafetensorsTensorInfo>* tensors, uint64_t buffer_size,
                     const Errors& errors) {
  std::stable_sort(tensors->begin(), tensors->end(),
                   [](const SafetensorsTensorInfo& a, const SafetensorsTensorInfo& b) {
                     return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
                   });
  uint64_t expected = 0;
  const SafetensorsTensorInfo* previous = nullptr;
  for (const SafetensorsTensorInfo& t : *tensors) {
    if (t.begin != expected) {
      std::string what = t.begin < expected ? "overlaps" : "leaves a gap after";
      std::string other = previous ? "tensor '" + EscapeForDisplay(previous->name) + "'"
                                   : std::string("the start of the buffer");
      return errors.Tensor(t.name, "data_offsets begin at " + std::to_string(t.begin) +
                                       ": " + what + " " + other + " (expected " +
                                       std::to_string(expected) + ")");
    }
    expected = t.end;
    previous = &t;
  }
  if (expected != buffer_size) {
    return errors.File("the tensors cover " + std::to_string(expected) +
                       " bytes of the byte buffer, which holds " + std::to_string(buffer_size));
  }
  return Status::OK();
}

}  // namespace

Result<SafetensorsHeader> ParseSafetensorsHeader(std::string_view prefix, uint64_t file_size,
                                                 std::string_view path) {
  const Errors errors(path);
  if (file_size < 8 || prefix.size() < 8) {
    return errors.File("it has " + std::to_string(file_size) +
                       " bytes, fewer than the 8 of the header length");
  }
  const uint64_t n = DecodeFixed64(prefix);
  if (n > kMaxSafetensorsHeaderBytes) {
    return errors.File("header length " + std::to_string(n) + " exceeds the limit of " +
                       std::to_string(kMaxSafetensorsHeaderBytes) + " bytes");
  }
  if (n > file_size - 8) {
    return errors.File("header length " + std::to_string(n) + " runs past the end of the " +
                       std::to_string(file_size) + "-byte file (truncated?)");
  }
  if (prefix.size() < 8 + n) return errors.File("the header could not be read whole");
  std::string_view text = prefix.substr(8, n);
  if (text.empty() || text.front() != '{') return errors.File("the header does not start with '{'");

  CKPT_ASSIGN_OR_RETURN(Json json, ParseJson(text, errors));
  SafetensorsHeader header;
  header.buffer_offset = 8 + n;
  for (const auto& [key, value] : json.items()) {
    if (key == kMetadataKey) {
      CKPT_ASSIGN_OR_RETURN(header.metadata, ParseMetadata(value, errors));
      continue;
    }
    CKPT_ASSIGN_OR_RETURN(SafetensorsTensorInfo info, ParseTensor(key, value, errors));
    header.tensors.push_back(std::move(info));
  }
  CKPT_RETURN_IF_ERROR(CheckCoverage(&header.tensors, file_size - header.buffer_offset, errors));
  return header;
}

struct SafetensorsReader::Impl {
  std::string path;
  std::unique_ptr<RandomAccessFile> file;
  SafetensorsHeader header;
  std::map<std::string, size_t, std::less<>> by_name;
};

SafetensorsReader::SafetensorsReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsReader::~SafetensorsReader() = default;

Result<std::unique_ptr<SafetensorsReader>> SafetensorsReader::Open(Env* env,
                                                                   const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  CKPT_ASSIGN_OR_RETURN(impl->file, env->NewRandomAccessFile(path));
  const uint64_t size = impl->file->Size();
  // The length first, then exactly the header it announces (once checked).
  char length[8];
  CKPT_ASSIGN_OR_RETURN(std::string_view head, impl->file->Read(0, 8, length));
  std::string prefix(head);
  if (prefix.size() == 8) {
    const uint64_t n = DecodeFixed64(prefix);
    if (n <= kMaxSafetensorsHeaderBytes && n <= size - 8) {
      std::string text(n, '\0');
      CKPT_ASSIGN_OR_RETURN(std::string_view got, impl->file->Read(8, n, text.data()));
      prefix.append(got);
    }
  }
  CKPT_ASSIGN_OR_RETURN(impl->header, ParseSafetensorsHeader(prefix, size, path));
  for (size_t i = 0; i < impl->header.tensors.size(); ++i) {
    impl->by_name.emplace(impl->header.tensors[i].name, i);
  }
  return std::unique_ptr<SafetensorsReader>(new SafetensorsReader(std::move(impl)));
}

const std::string& SafetensorsReader::path() const { return impl_->path; }
const SafetensorsHeader& SafetensorsReader::header() const { return impl_->header; }

const SafetensorsTensorInfo* SafetensorsReader::Find(std::string_view name) const {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->header.tensors[it->second];
}

Result<Tensor> SafetensorsReader::Read(std::string_view name) const {
  const SafetensorsTensorInfo* info = Find(name);
  if (info == nullptr) {
    return NotFoundError("Key " + EscapeForDisplay(name) + " not found in " +
                         EscapeForDisplay(impl_->path));
  }
  if (info->dtype == DataType::kInvalid) {
    return UnimplementedError("Tensor '" + EscapeForDisplay(name) + "' of " +
                              EscapeForDisplay(impl_->path) + " has dtype " + info->dtype_name +
                              ", which TensorFlow has no dtype for");
  }
  CKPT_ASSIGN_OR_RETURN(Tensor tensor, Tensor::AllocateUninitialized(info->dtype, info->shape));
  const uint64_t n = info->end - info->begin;
  if (n != tensor.byte_size()) return InternalError("safetensors size check missed a mismatch");
  if (n == 0) return tensor;
  CKPT_ASSIGN_OR_RETURN(std::string_view got,
                        impl_->file->Read(impl_->header.buffer_offset + info->begin, n,
                                          tensor.mutable_data()));
  if (got.size() != n) {
    return DataLossError("Safetensors file " + EscapeForDisplay(impl_->path) +
                         " is shorter than when it was opened: tensor '" +
                         EscapeForDisplay(name) + "' needs " + std::to_string(n) +
                         " bytes, read " + std::to_string(got.size()));
  }
  if (got.data() != tensor.data()) std::memcpy(tensor.mutable_data(), got.data(), n);
  return tensor;
}

}  // namespace ckpt
