// Read planning for BundleReader: how the bytes of large and batched reads
// are cut into parts, announced to the file (Prefetch), read and checksummed
// by the calling thread and the reader's helper threads. The reader decides
// what to read and checks the results; this decides how.
//
// Thread safety: a ReadPlanner's const methods may be called from several
// threads at once (its helper pool is started once, by the first caller that
// needs it).
#ifndef CKPT_SRC_BUNDLE_READ_PLAN_H_
#define CKPT_SRC_BUNDLE_READ_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ckpt/bundle_reader.h"
#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "crc/crc32c_pool.h"

namespace ckpt::bundle_internal {

// One fixed-size, unpartitioned entry of a batched read (ReadManyInto,
// ReadManyViews), already checked against its destination and its file.
struct PlannedRead {
  const BundleEntry* e;
  Tensor* out;
  const RandomAccessFile* file;
  // ReadManyViews: the entry's mapped bytes (checksummed in place; `out`
  // unused). Null: the bytes are read into `out`.
  const char* view = nullptr;
  // Where to read to when `out` is null and `view` is too. All three null:
  // the bytes are only checksummed (read into buffers of the planner's; the
  // CRC is computed whatever verify_checksums says).
  char* dst = nullptr;

  char* destination() const { return out != nullptr ? out->mutable_data() : dst; }
  bool checksum_only() const { return out == nullptr && view == nullptr && dst == nullptr; }
};

// Reads `n` bytes at `at` of entry `e` into `dst`; DataLoss on a short read.
Status ReadExactly(const RandomAccessFile& file, const BundleEntry& e, size_t at, size_t n,
                   char* dst);

// The CRC32C of `n` bytes at `at` of entry `e`, read in pieces of `piece`
// bytes into a buffer of the calling thread's; DataLoss on a short read.
Status ChecksumPieces(const RandomAccessFile& file, const BundleEntry& e, size_t at, size_t n,
                      size_t piece, uint32_t* crc);

class ReadPlanner {
 public:
  // REQUIRES: options.checksum_threads >= 0, options.checksum_chunk_bytes > 0.
  explicit ReadPlanner(const BundleReaderOptions& options);
  ReadPlanner(const ReadPlanner&) = delete;
  ReadPlanner& operator=(const ReadPlanner&) = delete;

  // Reads of at least this many bytes announce their ranges with Prefetch;
  // gaps up to this size between the tensors of one batched read are
  // prefetched too (cheaper than splitting the hint).
  static constexpr uint64_t kPrefetchMin = uint64_t{1} << 20;

  // Whether a fixed-size tensor of `size` bytes is read by ReadChecksummed.
  bool Pieced(int64_t size) const;

  // Reads the `e.size` bytes of a fixed-size entry into `dst` and returns
  // their CRC in *crc (the caller compares it). The first read error in file
  // order is returned.
  Status ReadChecksummed(const RandomAccessFile& file, const BundleEntry& e, char* dst,
                         uint32_t* crc) const;

  // The size of the parts ReadChecksummed cuts a tensor of `size` bytes
  // into: checksum_chunk_bytes, except that a tensor of more than one huge
  // page (Tensor::kHugePageBytes) and at most two chunks is cut in two at a
  // huge-page boundary, so that the helper shares it and, in new memory,
  // each thread faults huge pages of its own (two threads faulting one huge
  // page wait for each other).
  size_t PartBytes(size_t size) const;

  // CRC of `size` mapped bytes at `p`, computed by the helpers and the
  // calling thread together.
  uint32_t ChecksumMapped(const char* p, size_t size) const;

  // Sorts `items` into file order (shard, then offset).
  static void ToFileOrder(std::vector<PlannedRead>* items);

  // Announces the byte ranges of `items` (in file order) to their files
  // (RandomAccessFile::Prefetch): runs of entries closer than kPrefetchMin
  // are merged into one range; runs smaller than that are left to readahead.
  static void PrefetchItems(const std::vector<PlannedRead>& items);

  // Reads (or, for views, checksums in place) every item of `items`, sorted
  // in file order, and computes each item's CRC (without verify_checksums,
  // only reads them: the CRCs are then 0). Announces the ranges first
  // (PrefetchItems) unless it reads them directly (ReadDirect). On return crcs->size() is
  // the number of leading items that were read whole: all of them when OK
  // is returned, else those before the item of the first read error in file
  // order, which is returned. The caller compares the CRCs.
  Status ReadManyChecksummed(const std::vector<PlannedRead>& items,
                             std::vector<uint32_t>* crcs) const;

 private:
  // Verified tensors larger than this are read in pieces of this size.
  static constexpr size_t kCachePiece = size_t{256} << 10;
  size_t Piece() const;
  // Null without helper threads: a Job then computes every piece in the
  // calling thread.
  crc32c::Pool* Helpers() const;

  // Direct reads (see read_plan.cc): a read of at least kDirectMin bytes of
  // which under a quarter is in the page cache bypasses it, in aligned
  // chunks of kDirectChunk staged in memory of the planner's.
  static constexpr uint64_t kDirectMin = uint64_t{8} << 20;
  static constexpr size_t kDirectChunk = size_t{8} << 20;
  bool DirectPays(const std::vector<PlannedRead>& items) const;
  Status ReadManyDirect(const std::vector<PlannedRead>& items, std::vector<uint32_t>* crcs) const;
  Status ReadManyBuffered(const std::vector<PlannedRead>& items, std::vector<uint32_t>* crcs) const;

  const bool verify_checksums_;
  const bool direct_reads_;
  const int checksum_threads_;
  const size_t chunk_bytes_;
  mutable std::once_flag pool_once_;
  mutable std::unique_ptr<crc32c::Pool> pool_;
};

}  // namespace ckpt::bundle_internal

#endif  // CKPT_SRC_BUNDLE_READ_PLAN_H_
