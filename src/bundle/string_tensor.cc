// The string-tensor layout and its two checksums (see bundle_internal.h and
// docs/format/bundle.md).
#include <cstdio>

#include "bundle/bundle_internal.h"
#include "ckpt/escape.h"
#include "crc/crc32c.h"
#include "env/coding.h"
#include "tensor/proto_convert.h"

namespace ckpt::bundle_internal {
namespace {

// Extends `crc` over `len` as a fixed32, or a fixed64 if it exceeds 32 bits.
uint32_t ExtendWithLength(uint32_t crc, uint64_t len) {
  char buf[8];
  if (len > 0xffffffffull) {
    EncodeFixed64(buf, len);
    return crc32c::Extend(crc, buf, 8);
  }
  EncodeFixed32(buf, static_cast<uint32_t>(len));
  return crc32c::Extend(crc, buf, 4);
}

}  // namespace

std::string EncodeStringTensorPrefix(const std::vector<std::string>& values, uint32_t* crc) {
  std::string out;
  for (const std::string& s : values) {
    PutVarint64(&out, s.size());
    *crc = ExtendWithLength(*crc, s.size());
  }
  char buf[4];
  EncodeFixed32(buf, crc32c::Mask(*crc));
  out.append(buf, 4);
  *crc = crc32c::Extend(*crc, buf, 4);
  return out;
}

Status DecodeStringTensor(std::string_view bytes, int64_t num_elements,
                          std::vector<std::string>* out, uint32_t* crc) {
  // Each element needs at least one length byte: a cheap bound that keeps a
  // lying shape from driving a huge allocation.
  if (num_elements < 0 || static_cast<uint64_t>(num_elements) > bytes.size()) {
    return DataLossError("string tensor of " + std::to_string(num_elements) +
                         " elements cannot fit in " + std::to_string(bytes.size()) +
                         " stored bytes");
  }
  std::string_view in = bytes;
  std::vector<uint64_t> lengths(static_cast<size_t>(num_elements));
  uint32_t c = 0;
  uint64_t total = 0;
  for (auto& len : lengths) {
    if (!GetVarint64(&in, &len)) return DataLossError("truncated string length");
    c = ExtendWithLength(c, len);
    if (len > bytes.size()) return DataLossError("string length " + std::to_string(len) +
                                                 " exceeds the stored size");
    total += len;
  }
  if (in.size() < 4) return DataLossError("truncated string length checksum");
  const uint32_t stored_masked = DecodeFixed32(in.data());
  if (crc32c::Unmask(stored_masked) != c) {
    char buf[96];
    std::snprintf(buf, sizeof(buf),
                  "The length checksum does not match: expected %08x but actual is %08x",
                  crc32c::Unmask(stored_masked), c);
    return DataLossError(buf);
  }
  c = crc32c::Extend(c, in.data(), 4);
  in.remove_prefix(4);
  if (total != in.size()) {
    return DataLossError("string tensor holds " + std::to_string(in.size()) +
                         " bytes of element data but its lengths add up to " +
                         std::to_string(total));
  }
  out->resize(lengths.size());
  for (size_t i = 0; i < lengths.size(); ++i) {
    (*out)[i].assign(in.data(), lengths[i]);
    in.remove_prefix(lengths[i]);
  }
  c = crc32c::Extend(c, bytes.data() + (bytes.size() - total), total);
  *crc = c;
  return Status::OK();
}

Status CheckHeader(const tensorflow::BundleHeaderProto& header, const std::string& index_path) {
  const auto& v = header.version();
  const int consumer = kTensorBundleVersion;
  if (v.producer() < 0) {
    return InvalidArgumentError("Checkpoint " + index_path + " has producer version " +
                                std::to_string(v.producer()) +
                                ", which is invalid; the file is probably not a checkpoint");
  }
  if (v.min_consumer() > consumer) {
    return InvalidArgumentError(
        "Checkpoint " + index_path + " requires a reader of version " +
        std::to_string(v.min_consumer()) + " or newer, but ckpt reads version " +
        std::to_string(consumer) +
        " (written by a newer TensorFlow with format changes; re-save it with an older one)");
  }
  for (int bad : v.bad_consumers()) {
    if (bad == consumer) {
      return InvalidArgumentError("Checkpoint " + index_path + " disallows reader version " +
                                  std::to_string(consumer) + "; please upgrade ckpt");
    }
  }
  if (header.endianness() != tensorflow::BundleHeaderProto::LITTLE) {
    return InvalidArgumentError(
        "Checkpoint " + index_path + " stores its tensors " +
        (header.endianness() == tensorflow::BundleHeaderProto::BIG
             ? std::string("big-endian")
             : "with unknown endianness " + std::to_string(header.endianness())) +
        "; ckpt reads little-endian bundles only. Hint: restore it with TensorFlow on the "
        "machine that wrote it and save it again on a little-endian machine");
  }
  if (header.num_shards() <= 0) {
    return DataLossError("Checkpoint " + index_path + " has an invalid shard count " +
                         std::to_string(header.num_shards()));
  }
  return Status::OK();
}

Result<BundleEntry> EntryFromProto(std::string key, const tensorflow::BundleEntryProto& proto,
                                   int num_shards) {
  BundleEntry e;
  e.key = std::move(key);
  auto bad = [&](const std::string& what) {
    return DataLossError("Invalid bundle entry for tensor \"" + EscapeForDisplay(e.key) +
                         "\": " + what);
  };
  if (!IsValidDataType(proto.dtype()) || proto.dtype() == 0) {
    return bad("unknown dtype " + std::to_string(proto.dtype()));
  }
  e.dtype = static_cast<DataType>(proto.dtype());
  auto shape = ShapeFromProto(proto.shape());
  if (!shape.ok()) return bad("Invalid tensor shape: " + shape.status().message());
  e.shape = std::move(shape).value();
  if (proto.shard_id() < 0 || proto.shard_id() >= num_shards) {
    return bad("shard id " + std::to_string(proto.shard_id()) + " outside [0, " +
               std::to_string(num_shards) + ")");
  }
  if (proto.offset() < 0 || proto.size() < 0) {
    return bad("negative offset or size");
  }
  e.shard_id = proto.shard_id();
  e.offset = proto.offset();
  e.size = proto.size();
  e.masked_crc32c = proto.crc32c();
  for (const auto& sp : proto.slices()) {
    auto slice = SliceFromProto(sp);
    if (!slice.ok()) return bad(slice.status().message());
    Status s = slice->ValidateAgainst(e.shape);
    if (!s.ok()) return bad(s.message());
    e.slices.push_back(*slice);
  }
  return e;
}

}  // namespace ckpt::bundle_internal
