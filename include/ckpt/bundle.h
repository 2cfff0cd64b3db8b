// TensorFlow V2 checkpoints ("tensor bundles"): BundleWriter and BundleReader.
//
// A bundle with prefix P is the file P.index (a LevelDB-format table mapping
// tensor names to BundleEntryProto metadata, plus a header under key "") and
// one or more data files P.data-SSSSS-of-NNNNN holding the tensor bytes.
// docs/format/bundle.md describes the layout. Files written here are
// byte-identical to what TensorFlow's SaveV2 writes for the same tensors in
// the same order.
//
// Thread safety: a BundleWriter is used from one thread. A BundleReader's
// const methods may be called from several threads at once.
#ifndef CKPT_BUNDLE_H_
#define CKPT_BUNDLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/filenames.h"  // MetaFilename, DataFilename
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "ckpt/types.h"

namespace ckpt {

struct BundleWriterOptions {
  // All IO goes through this Env. Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  // Each tensor's data starts at a multiple of this many bytes (zero padding
  // between tensors). 1 = dense, as TensorFlow writes by default.
  int data_alignment = 1;
  // fsync the files and the directory before publishing.
  bool sync = true;
  // Helper threads that compute the CRC32C of large tensors while the
  // calling thread writes them (started on the first such tensor, stopped
  // with the writer); 0 = checksum in the calling thread. The bytes written
  // do not depend on this.
  int checksum_threads = 1;
  // Tensors of at least parallel_checksum_min_bytes are checksummed with the
  // helpers. Tensors of at least 2 * checksum_chunk_bytes are appended (and
  // checksummed) in pieces of checksum_chunk_bytes, the last piece taking
  // the remainder; one the data file writes without a copy (see direct_io)
  // is appended whole and only checksummed in those pieces. Both > 0.
  // (Env::Posix() copies appends under 1 MiB through its buffer: smaller
  // pieces cost a copy.)
  int64_t parallel_checksum_min_bytes = int64_t{512} << 10;
  int64_t checksum_chunk_bytes = int64_t{1} << 20;
  // With sync: every this many bytes of tensor data, ask the OS to start
  // writing the data file back (WritableFile::StartWriteback) so that the
  // fsync in Finish() has less left to do. 0 = never.
  int64_t writeback_interval_bytes = int64_t{64} << 20;
  // Write the data file through Env::NewDirectWritableFile: on Env::Posix()
  // that is O_DIRECT from 4 x 8 MiB aligned staging buffers written by a
  // background thread, bypassing the page cache (the index stays buffered).
  // The files are byte-identical either way; Envs without direct IO (MemEnv,
  // ForwardingEnv subclasses that do not forward it) and file systems
  // refusing O_DIRECT write buffered. A tensor of at least 8 MiB whose
  // memory is 4096-byte aligned (Tensor::Allocate aligns storage of 1 MiB or
  // more) and whose file offset is too (the first tensor, or any with
  // data_alignment = 4096) is written straight from its memory, with no copy
  // into the staging buffers (WritableFile::AppendsWithoutCopy), while the
  // checksum helpers read it. On by default because it measured
  // faster than direct_io = false for both the one-tensor and the
  // 10,000-tensor 1 GiB saves on the development VM (ext4 on virtio-blk;
  // docs/benchmarks.md, "Save"): no page-cache page is allocated, dirtied
  // or written back, and half the CPU. Trade-off: a restore right after the
  // save reads the device instead of the cache. Costs 32 MiB of buffers,
  // kept for reuse by later saves.
  bool direct_io = true;
};

// Writes one bundle. Data goes to temporary files; Finish() publishes them
// by renaming, data file first, so that P.index appearing is the commit
// point. Destroying an unfinished writer deletes its temporary files.
class BundleWriter {
 public:
  // Creates the prefix's directory if needed.
  static Result<std::unique_ptr<BundleWriter>> Create(
      std::string prefix, BundleWriterOptions options = {});
  ~BundleWriter();

  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  // Appends a whole tensor under `key`. Keys must be unique; data is written
  // in call order. The tensor's bytes are consumed before Add returns.
  Status Add(std::string_view key, const Tensor& tensor);

  // Appends one slice of the partitioned tensor `full_key`. A slice covering
  // the whole tensor is an ordinary Add.
  Status AddSlice(std::string_view full_key, const TensorShape& full_shape,
                  const TensorSlice& slice, const Tensor& slice_tensor);

  // Writes the index and publishes the bundle. After an error the bundle is
  // not published and the temporary files are removed.
  Status Finish();

  const std::string& prefix() const;

 private:
  struct Impl;
  explicit BundleWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

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
  // Verifying large tensors. Read/ReadInto read a tensor of more than
  // min(256 KiB, checksum_chunk_bytes) in pieces of that size and checksum
  // each piece as soon as it landed, while it is still in cache. A tensor
  // of more than checksum_chunk_bytes (> 0) is split into parts of that size
  // that checksum_threads helper threads read and checksum alongside the
  // calling thread (helpers start on the first such read and stop with the
  // reader; 0 = the calling thread does all). ReadView splits its check of
  // the mapped bytes the same way. Nothing is returned as valid before the
  // whole tensor's checksum matched; mismatches are the same DataLoss.
  int checksum_threads = 1;
  int64_t checksum_chunk_bytes = int64_t{4} << 20;
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

// Merges bundles written separately (e.g. one per device) into one bundle at
// `merged_prefix`, as TensorFlow's MergeV2Checkpoints does: data files are
// renamed, not copied; the source .index files are deleted; with
// delete_old_dirs, the source directories are removed if empty.
// On failure the sources are left as they were (moved data files are moved
// back) and no index is left at `merged_prefix`; a bundle that was already at
// `merged_prefix` is replaced, and is not restored by a failed merge.
// REQUIRES: the prefixes are distinct and none is `merged_prefix`
// (InvalidArgument otherwise).
Status MergeBundles(Env* env, const std::vector<std::string>& prefixes,
                    const std::string& merged_prefix,
                    bool delete_old_dirs = true);

}  // namespace ckpt

#endif  // CKPT_BUNDLE_H_
