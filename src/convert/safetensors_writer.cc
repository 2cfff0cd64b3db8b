// Writing safetensors files. The protocol (docs/format/safetensors.md,
// "How ckpt writes one"):
//   1. check every entry (dtype, name) before creating anything;
//   2. lay the tensors out: element width, widest first, then name;
//   3. write the header (padded with spaces to a multiple of 8 bytes) and the
//      tensors, fetched one at a time, to a temporary name beside `path`;
//   4. fsync, rename to `path`, fsync the directory.
// Any failure deletes the temporary; `path` is never half written.
#include <algorithm>
#include <numeric>
#include <set>

#include <nlohmann/json.hpp>

#include "ckpt/escape.h"
#include "ckpt/safetensors.h"
#include "convert/safetensors_dtype.h"
#include "env/temp_path.h"
#include "status/utf8.h"

namespace ckpt {
namespace {

bool IsUtf8(std::string_view s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string EncodeFixed64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

Status CheckEntries(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                    const std::map<std::string, std::string>& metadata) {
  for (const auto& [key, value] : metadata) {
    if (!IsUtf8(key) || !IsUtf8(value)) {
      return InvalidArgumentError("Cannot write metadata '" + EscapeForDisplay(key) + "' to " +
                                  EscapeForDisplay(path) + ": safetensors metadata is UTF-8");
    }
  }
  std::set<std::string_view> names;
  for (const SafetensorsEntry& e : entries) {
    const std::string where =
        "Cannot write tensor '" + EscapeForDisplay(e.name) + "' to " + EscapeForDisplay(path);
    if (!SafetensorsDtypeName(e.dtype)) {
      return InvalidArgumentError(where + ": safetensors has no dtype for " +
                                  std::string(DataTypeName(e.dtype)));
    }
    if (e.name.empty() || e.name == "__metadata__") {
      return InvalidArgumentError(where + ": the name is reserved in safetensors");
    }
    if (!IsUtf8(e.name)) {
      return InvalidArgumentError(where + ": safetensors names are UTF-8 (JSON strings)");
    }
    if (!names.insert(e.name).second) return InvalidArgumentError(where + ": duplicate name");
  }
  return Status::OK();
}

// Entry indices in the order of the byte buffer.
std::vector<size_t> Layout(const std::vector<SafetensorsEntry>& entries) {
  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const size_t wa = DataTypeSize(entries[a].dtype), wb = DataTypeSize(entries[b].dtype);
    if (wa != wb) return wa > wb;
    return entries[a].name < entries[b].name;
  });
  return order;
}

std::string Header(const std::vector<SafetensorsEntry>& entries, const std::vector<size_t>& order,
                   const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  if (!metadata.empty()) json["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (size_t i : order) {
    const SafetensorsEntry& e = entries[i];
    const uint64_t bytes = static_cast<uint64_t>(e.shape.num_elements()) * DataTypeSize(e.dtype);
    json[e.name] = {{"dtype", std::string(*SafetensorsDtypeName(e.dtype))},
                    {"shape", e.shape.dims()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  // CheckEntries refused strings that are not UTF-8 (dump would throw).
  std::string text = json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.resize((text.size() + 7) / 8 * 8, ' ');
  return EncodeFixed64(text.size()) + text;
}

Status WriteTensors(WritableFile* file, const std::string& path,
                    const std::vector<SafetensorsEntry>& entries, const std::vector<size_t>& order,
                    const SafetensorsTensorFetcher& fetch) {
  for (size_t i : order) {
    const SafetensorsEntry& e = entries[i];
    CKPT_ASSIGN_OR_RETURN(Tensor t, fetch(i));
    if (t.dtype() != e.dtype || t.shape() != e.shape) {
      return InvalidArgumentError("Cannot write tensor '" + EscapeForDisplay(e.name) + "' to " +
                                  EscapeForDisplay(path) + ": expected " +
                                  std::string(DataTypeName(e.dtype)) + " " +
                                  e.shape.DebugString() + ", got " +
                                  std::string(DataTypeName(t.dtype())) + " " +
                                  t.shape().DebugString());
    }
    CKPT_RETURN_IF_ERROR(file->Append(t.bytes()));
  }
  return Status::OK();
}

}  // namespace

Status WriteSafetensors(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                        const SafetensorsTensorFetcher& fetch,
                        const SafetensorsWriteOptions& options) {
  CKPT_RETURN_IF_ERROR(CheckEntries(path, entries, options.metadata));
  Env* env = options.env;
  const std::vector<size_t> order = Layout(entries);
  const TempPath temp(env, path);
  Status s = [&]() -> Status {
    CKPT_ASSIGN_OR_RETURN(auto file, env->NewWritableFile(temp.path()));
    CKPT_RETURN_IF_ERROR(file->Append(Header(entries, order, options.metadata)));
    CKPT_RETURN_IF_ERROR(WriteTensors(file.get(), path, entries, order, fetch));
    if (options.sync) CKPT_RETURN_IF_ERROR(file->Sync());
    CKPT_RETURN_IF_ERROR(file->Close());
    CKPT_RETURN_IF_ERROR(env->RenameFile(temp.path(), path));
    if (!options.sync) return Status::OK();
    const std::string dir(Dirname(path));
    return env->SyncDir(dir.empty() ? "." : dir);
  }();
  if (!s.ok() && env->FileExists(temp.path())) env->DeleteFile(temp.path()).IgnoreError();
  return s;
}

Status WriteSafetensors(const std::string& path,
                        const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const SafetensorsWriteOptions& options) {
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, t] : tensors) entries.push_back({name, t.dtype(), t.shape()});
  return WriteSafetensors(
      path, entries, [&](size_t i) -> Result<Tensor> { return tensors[i].second; }, options);
}

}  // namespace ckpt
