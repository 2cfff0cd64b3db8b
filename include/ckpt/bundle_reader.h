// BundleReader: reads a TensorFlow V2 checkpoint ("tensor bundle") with
// prefix P: the index P.index (a LevelDB-format table mapping tensor names to
// their metadata) and the data files P.data-SSSSS-of-NNNNN
// (docs/format/bundle.md). Also the entry and variable descriptions it lists.
//
// Thread safety: a BundleReader's const methods may be called from several
// threads at once.
#ifndef CKPT_BUNDLE_READER_H_
#define CKPT_BUNDLE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "ckpt/types.h"

namespace ckpt {

// A variable as a reader lists it: name, dtype and full shape.
struct VariableInfo {
  std::string name;
  DataType dtype = DataType::kInvalid;
  TensorShape shape;
};

// What the index records for one key.
struct BundleEntry {
  std::string key;
  DataType dtype = DataType::kInvalid;
  TensorShape shape;
  int shard_id = 0;
  int64_t offset = 0;
  int64_t size = 0;
  uint32_t masked_crc32c = 0;
  // Non-empty only for the full entry of a partitioned tensor.
  std::vector<TensorSlice> slices;
};

struct BundleReaderOptions {
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  // Verify the CRC32C of every tensor read (TensorFlow always does).
  bool verify_checksums = true;
  // Map data files into memory so ReadView() can return zero-copy views.
  bool use_mmap = false;
  // Verifying large tensors. A tensor of more than checksum_chunk_bytes
  // (> 0) is split into parts of that size that checksum_threads helper
  // threads read and checksum alongside the calling thread (helpers start on
  // the first such read and stop with the reader; 0 = the calling thread
  // does all); a read tensor of more than 2 MiB and at most two chunks is
  // cut in two at a 2 MiB boundary instead. ReadView splits its check of the
  // mapped bytes into parts of checksum_chunk_bytes. Nothing is returned as
  // valid before the whole tensor's checksum matched; mismatches are the
  // same DataLoss.
  int checksum_threads = 1;
  int64_t checksum_chunk_bytes = int64_t{4} << 20;
  // Cold reads: a read of many MiB (one large tensor, or ReadManyInto) whose
  // bytes are mostly not in the page cache is read straight from the device
  // (RandomAccessFile::ReadDirect: O_DIRECT on POSIX) in large aligned
  // chunks by the calling thread and the helpers, instead of through the
  // page cache. The bytes, checks and errors are the same either way; files
  // without direct reads are read as usual. docs/format/bundle.md has the
  // rule.
  bool direct_reads = true;
};

// One destination of BundleReader::ReadManyInto.
struct ReadTarget {
  std::string_view key;  // must stay valid during the call
  // Not owned; must own its storage and have the stored dtype and shape.
  Tensor* out = nullptr;
};

class BundleReader {
 public:
  // Opens P.index. Fails with NotFound if it does not exist, DataLoss if it
  // is corrupt, InvalidArgument if its version or endianness is unsupported.
  static Result<std::unique_ptr<BundleReader>> Open(
      std::string prefix, BundleReaderOptions options = {});
  ~BundleReader();

  const std::string& prefix() const;
  int num_shards() const;

  // Every entry in key order, including the per-slice entries of partitioned
  // tensors (whose keys start with a 0 byte).
  const std::vector<BundleEntry>& entries() const;

  bool Contains(std::string_view key) const;
  // NotFound "Key <key> not found in checkpoint".
  Result<const BundleEntry*> Lookup(std::string_view key) const;

  // Reads the whole tensor `key`, assembling it from its slices if it is
  // partitioned.
  Result<Tensor> Read(std::string_view key) const;
  // Reads the tensors `keys` (repeats allowed) into new memory, returned in
  // the order of `keys`: Read of each, but batched as ReadManyInto reads
  // (file order; the bytes of all fixed-size tensors cut into parts that the
  // helper threads and the calling thread read and checksum alongside, so
  // small tensors use the helpers too and each thread faults its own new
  // memory). Every key is checked (Read's errors) before anything is
  // allocated or read; a read error or checksum mismatch is then ReadManyInto's
  // DataLoss and nothing is returned.
  Result<std::vector<Tensor>> ReadMany(const std::vector<std::string_view>& keys) const;
  // Reads into a caller-provided tensor whose dtype and shape must match.
  Status ReadInto(std::string_view key, Tensor* out) const;
  // Reads many tensors, each into its caller tensor as ReadInto does, in
  // data-file order whatever the order of `targets`. With verify_checksums,
  // the bytes of all fixed-size tensors, in file order, are cut into parts
  // of checksum_chunk_bytes that the helper threads and the calling thread
  // read and checksum alongside (as ReadInto does for one large tensor), so
  // many small tensors use the helpers too. String and partitioned tensors
  // are read as ReadInto reads them, after the others.
  // Before any tensor byte is read, every target is checked: NotFound "Key
  // <key> not found in checkpoint"; InvalidArgument (ReadInto's wording,
  // naming the key, expected vs stored) for a dtype or shape mismatch, a
  // null or view destination, or two targets sharing destination memory;
  // DataLoss for an entry whose size or position is impossible. After that,
  // a short read or checksum mismatch is a DataLoss naming the key and the
  // data file (the first in file order among the fixed-size tensors); the
  // contents of every destination are then unspecified (some may hold new
  // bytes, some old, one a mix). On OK every destination holds its tensor.
  Status ReadManyInto(const std::vector<ReadTarget>& targets) const;
  // Reads the part `slice` of tensor `key`.
  Result<Tensor> ReadSlice(std::string_view key, const TensorSlice& slice) const;
  // A zero-copy view into the mapped data file (after verifying its checksum
  // if verify_checksums). Valid while this reader lives.
  // REQUIRES: options.use_mmap; a fixed-size, unpartitioned tensor.
  Result<Tensor> ReadView(std::string_view key) const;
  // ReadView of every key, in the order of `keys` (repeats allowed), with
  // the checksums verified as ReadManyInto verifies its reads: the mapped
  // bytes of all the tensors, in file order, are cut into parts of
  // checksum_chunk_bytes that the helper threads and the calling thread
  // checksum alongside, so many small tensors use the helpers too.
  // Before anything is checksummed, every key is checked: NotFound "Key
  // <key> not found in checkpoint"; InvalidArgument (ReadView's wording,
  // naming the key) for a partitioned or string tensor; DataLoss for an
  // entry whose size or position is impossible. A mismatch is then ReadView's
  // DataLoss for the first mismatching tensor in file order. Views are valid
  // while this reader lives.
  // REQUIRES: options.use_mmap (else FailedPrecondition).
  Result<std::vector<Tensor>> ReadManyViews(const std::vector<std::string_view>& keys) const;

  // Reads every stored entry (each per-slice entry and each unpartitioned
  // tensor; not the full entries of partitioned tensors, which hold no
  // bytes) and checks its checksum, whatever options.verify_checksums says,
  // without keeping the bytes: memory stays at a few buffers of a few MiB
  // per thread whatever the tensors' sizes. The fixed-size
  // entries are read as ReadManyInto reads them (file order, helper
  // threads, direct reads when cold), then the string entries as Read reads
  // them. Errors are Read's: DataLoss naming the tensor and the data file
  // for an entry whose size or position is impossible, a short read or a
  // checksum mismatch (the first in file order among the fixed-size
  // entries); NotFound for a missing data file.
  Status VerifyEntries() const;

  // TensorFlow's listing: "<key> (<DT_NAME>) <shape>\n" for every entry
  // that is not the full entry of a partitioned tensor. Keys are shown
  // through EscapeForDisplay (ckpt/escape.h), as in every error message, so
  // a key holding control characters cannot forge lines or drive the
  // terminal; ordinary keys are unchanged.
  std::string DebugString() const;

 private:
  struct Impl;
  explicit BundleReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_BUNDLE_READER_H_
