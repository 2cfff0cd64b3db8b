// BundleWriter: writes one TensorFlow V2 checkpoint ("tensor bundle") with
// prefix P: the index P.index and its data file (docs/format/bundle.md).
// Files written here are byte-identical to what TensorFlow's SaveV2 writes
// for the same tensors in the same order.
//
// Thread safety: a BundleWriter is used from one thread; distinct writers
// (of distinct prefixes) may run concurrently.
#ifndef CKPT_BUNDLE_WRITER_H_
#define CKPT_BUNDLE_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"

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
  // Choosing the sizes: docs/benchmarks.md, "Option guidance".
  int64_t parallel_checksum_min_bytes = int64_t{512} << 10;
  int64_t checksum_chunk_bytes = int64_t{1} << 20;
  // With sync: every this many bytes of tensor data, ask the OS to start
  // writing the data file back (WritableFile::StartWriteback) so that the
  // fsync in Finish() has less left to do. 0 = never.
  int64_t writeback_interval_bytes = int64_t{64} << 20;
  // Write the data file through Env::NewDirectWritableFile, bypassing the
  // page cache (the index stays buffered). The files are byte-identical
  // either way; Envs without direct IO (MemEnv, ForwardingEnv subclasses that
  // do not forward it) and file systems refusing O_DIRECT write buffered. A
  // tensor of at least 8 MiB whose memory is 4096-byte aligned
  // (Tensor::Allocate aligns storage of 1 MiB or more) and whose file offset
  // is too (the first tensor, or any with data_alignment = 4096) is written
  // straight from its memory, with no copy, while the checksum helpers read
  // it. Trade-off: a restore right after the save reads the device instead
  // of the cache; Env::Posix() keeps 32 MiB of staging buffers for reuse by
  // later saves. Why it is on by default, with measurements:
  // docs/benchmarks.md, "Option guidance".
  bool direct_io = true;
  // One data shard of a bundle that several writers (processes) write
  // together, each its own shard (a distributed save, ckpt/distributed.h):
  // the data file is P.data-<shard>-of-<num_shards>, and the writer ends with
  // FinishShard instead of Finish; WriteBundleIndex then writes the one index
  // from every shard's entries. REQUIRES: 0 <= shard < num_shards.
  int shard = 0;
  int num_shards = 1;
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

  // Instead of Finish, for a shard of a bundle written by several writers
  // (see BundleWriterOptions::shard): syncs the data file, renames it to its
  // final name (P.index is not touched: a data file without its index is no
  // bundle) and returns this shard's index entries, an opaque string for
  // WriteBundleIndex. After an error the data file is removed.
  Result<std::string> FinishShard();

  const std::string& prefix() const;

 private:
  struct Impl;
  explicit BundleWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes and publishes P.index for a bundle whose num_shards data files were
// written by shard writers (BundleWriter::FinishShard), from their entries
// (shard_entries[i]: shard i's). Slices of one partitioned variable written
// by several shards become one entry, as MergeBundles merges them. Errors,
// before anything is written: InvalidArgument for a key written whole by two
// shards, or whole by one and sliced by another ("Duplicate tensor keyed by
// <key> ..."), or slices of one key with different dtypes or full shapes;
// DataLoss for entries that do not parse. The index goes to a temporary
// name, is synced (with `sync`) and renamed to P.index, the commit point; an
// existing P.index is replaced.
Status WriteBundleIndex(Env* env, const std::string& prefix, int num_shards,
                        const std::vector<std::string>& shard_entries, bool sync = true);

}  // namespace ckpt

#endif  // CKPT_BUNDLE_WRITER_H_
