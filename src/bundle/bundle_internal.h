// Helpers shared by the bundle writer, reader and merger.
#ifndef CKPT_SRC_BUNDLE_BUNDLE_INTERNAL_H_
#define CKPT_SRC_BUNDLE_BUNDLE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/bundle_reader.h"
#include "ckpt/status.h"
#include "tensorflow/core/protobuf/tensor_bundle.pb.h"

namespace ckpt::bundle_internal {

// TensorFlow's tensor bundle format version.
constexpr int kTensorBundleVersion = 1;
constexpr int kTensorBundleMinConsumer = 0;
// The header lives under the empty key.
constexpr std::string_view kHeaderEntryKey = "";

// String tensor layout: varint64 length of each element, the masked CRC of
// those lengths (each hashed as a 4-byte little-endian integer, or 8 bytes if
// it exceeds 32 bits), then the element bytes. Returns the prefix (lengths and
// masked length CRC) and extends *crc over everything but the element bytes;
// the caller extends it over each element as it writes them.
std::string EncodeStringTensorPrefix(const std::vector<std::string>& values, uint32_t* crc);

// Parses `bytes` (exactly the stored bytes of a string tensor with
// `num_elements` elements) into `out`, verifying the length checksum and
// computing the entry checksum into *crc.
Status DecodeStringTensor(std::string_view bytes, int64_t num_elements,
                          std::vector<std::string>* out, uint32_t* crc);

// Checks a header's version the way TensorFlow's consumer version 1 does.
Status CheckHeader(const tensorflow::BundleHeaderProto& header, const std::string& index_path);

// Converts and validates one index entry.
Result<BundleEntry> EntryFromProto(std::string key, const tensorflow::BundleEntryProto& proto,
                                   int num_shards);

}  // namespace ckpt::bundle_internal

#endif  // CKPT_SRC_BUNDLE_BUNDLE_INTERNAL_H_
