// Safetensors files: reading and writing the format of Hugging Face's
// `safetensors` library (docs/format/safetensors.md): an 8-byte little-endian
// header length N, N bytes of JSON describing every tensor (dtype, shape,
// [begin, end) offsets into the buffer) plus optional string metadata, then
// the byte buffer.
//
// SafetensorsReader::Open validates the whole header before anything is read
// (header length against the file size, every dtype, shape and offset, the
// offsets covering the buffer exactly, duplicate names) and fails with
// DataLoss naming the file and the tensor; it never trusts a length it has
// not checked. WriteSafetensors publishes atomically (temporary name, fsync,
// rename, directory fsync): a failed write leaves no file behind and an
// existing file untouched.
//
// Thread safety: a SafetensorsReader's const methods may be called
// concurrently. WriteSafetensors is reentrant.
#ifndef CKPT_SAFETENSORS_H_
#define CKPT_SAFETENSORS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt {

// The largest header the reader accepts (as the safetensors library).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// The TensorFlow dtype of a safetensors dtype name ("F32" -> kFloat), or
// nullopt for a name that is not a safetensors dtype. Safetensors dtypes
// with no TensorFlow counterpart ("F4", "F6_E2M3", "F6_E3M2", "F8_E8M0")
// give kInvalid: such files are read, but their tensors cannot be converted.
std::optional<DataType> DataTypeFromSafetensors(std::string_view name);
// The safetensors name of a TensorFlow dtype ("F32" for kFloat), or nullopt
// for a dtype safetensors cannot hold (string, complex128, int4, qint8, ...).
std::optional<std::string_view> SafetensorsDtypeName(DataType dtype);

// One tensor of a safetensors file, as its header describes it.
struct SafetensorsTensorInfo {
  std::string name;
  std::string dtype_name;  // as in the file: "F32", "BF16", ...
  DataType dtype;          // kInvalid if TensorFlow has no such dtype
  TensorShape shape;
  uint64_t begin = 0;      // offsets into the byte buffer
  uint64_t end = 0;
};

// The parsed header of a safetensors file.
struct SafetensorsHeader {
  // In buffer order (by begin offset).
  std::vector<SafetensorsTensorInfo> tensors;
  std::map<std::string, std::string> metadata;
  // Where the byte buffer starts in the file: 8 + header length.
  uint64_t buffer_offset = 0;
};

// Parses and validates the first bytes of a file of `file_size` bytes:
// `prefix` holds at least min(file_size, 8 + header length) bytes of it.
// `path` is only used in messages. DataLoss for anything malformed.
Result<SafetensorsHeader> ParseSafetensorsHeader(std::string_view prefix, uint64_t file_size,
                                                 std::string_view path);

class SafetensorsReader {
 public:
  // Opens and validates `path` (see the top of this file).
  static Result<std::unique_ptr<SafetensorsReader>> Open(Env* env, const std::string& path);
  ~SafetensorsReader();

  const std::string& path() const;
  const SafetensorsHeader& header() const;
  // The tensor's description, or nullptr if there is none by that name.
  const SafetensorsTensorInfo* Find(std::string_view name) const;
  // Reads one tensor. NotFound for an unknown name ("Key <name> not found in
  // <path>"); Unimplemented for a dtype TensorFlow has no counterpart for.
  Result<Tensor> Read(std::string_view name) const;

 private:
  struct Impl;
  explicit SafetensorsReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What WriteSafetensors writes for one tensor; the bytes come later (see
// below), so large checkpoints need not be in memory at once.
struct SafetensorsEntry {
  std::string name;
  DataType dtype = DataType::kInvalid;
  TensorShape shape;
};

struct SafetensorsWriteOptions {
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  // The header's "__metadata__" (omitted when empty).
  std::map<std::string, std::string> metadata;
  // fsync the file and its directory before and after publishing.
  bool sync = true;
};

// Returns the tensor of entries[i], with that entry's dtype and shape.
using SafetensorsTensorFetcher = std::function<Result<Tensor>(size_t i)>;

// Writes `entries` to `path` atomically. Tensors are laid out as the
// safetensors library lays them out: by element size, largest first, then
// by name; the header is padded with spaces to a multiple of 8 bytes.
// Errors, before anything is written: InvalidArgument for a dtype
// safetensors cannot hold (naming the tensor and its dtype), a duplicate or
// empty name, or the name "__metadata__"; later: the fetcher's error, or
// InvalidArgument if a fetched tensor's dtype or shape is not its entry's.
Status WriteSafetensors(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                        const SafetensorsTensorFetcher& fetch,
                        const SafetensorsWriteOptions& options = {});
// The same for tensors in memory.
Status WriteSafetensors(const std::string& path,
                        const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const SafetensorsWriteOptions& options = {});

}  // namespace ckpt

#endif  // CKPT_SAFETENSORS_H_
