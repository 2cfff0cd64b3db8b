// Read planning for BundleReader (see read_plan.h).
//
// One large tensor (ReadChecksummed): a verified tensor of more than 256 KiB
// is read in 256 KiB pieces, each checksummed right after it landed, while it
// is still in the core's cache (a CRC pass over memory just copied costs a
// fraction of one over DRAM; a piece and its page-cache source fit in L2),
// instead of one CRC pass over the whole tensor afterwards. A tensor of more
// than options.checksum_chunk_bytes is also split into parts of that size
// that the helper threads (options.checksum_threads) read and checksum
// alongside the calling thread. The parts' CRCs are combined into the
// tensor's (crc32c::Combine); the reader compares it, and only then is the
// read reported as successful.
//
// Many tensors (ReadManyChecksummed): the bytes of all requested tensors, in
// file order, are cut into batches of checksum_chunk_bytes that the helpers
// and the calling thread read and checksum alongside, so small tensors (below
// both sizes above, which a single read handles in one thread) get the second
// core too. Mapped tensors (ReadManyViews) are checksummed in place the same
// way.
//
// Cold reads: a read of at least kDirectMin bytes of which under a quarter is
// in the page cache is read directly from the device (ReadManyDirect, below,
// with BundleReaderOptions::direct_reads). Otherwise, before reading a large
// tensor or many tensors, the file is told which byte ranges follow
// (RandomAccessFile::Prefetch), so the kernel can queue the device reads for
// all of them at once rather than one readahead window at a time as the
// reads reach them.
#include "bundle/read_plan.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "ckpt/escape.h"
#include "crc/crc32c.h"

namespace ckpt::bundle_internal {

Status ReadExactly(const RandomAccessFile& file, const BundleEntry& e, size_t at, size_t n,
                   char* dst) {
  CKPT_ASSIGN_OR_RETURN(std::string_view got,
                        file.Read(static_cast<uint64_t>(e.offset) + at, n, dst));
  if (got.size() != n)
    return DataLossError("Short read of tensor \"" + EscapeForDisplay(e.key) + "\"");
  if (got.data() != dst) std::memcpy(dst, got.data(), n);
  return Status::OK();
}

Status ChecksumPieces(const RandomAccessFile& file, const BundleEntry& e, size_t at, size_t n,
                      size_t piece, uint32_t* crc) {
  // One buffer per thread, kept: checksum-only reads come in many segments.
  thread_local std::vector<char> scratch;
  if (scratch.size() < piece) scratch.resize(piece);
  uint32_t c = 0;
  for (size_t end = at + n; at < end;) {
    const size_t k = std::min(piece, end - at);
    CKPT_ASSIGN_OR_RETURN(std::string_view got,
                          file.Read(static_cast<uint64_t>(e.offset) + at, k, scratch.data()));
    if (got.size() != k)
      return DataLossError("Short read of tensor \"" + EscapeForDisplay(e.key) + "\"");
    c = crc32c::Extend(c, got.data(), k);
    at += k;
  }
  *crc = c;
  return Status::OK();
}

ReadPlanner::ReadPlanner(const BundleReaderOptions& options)
    : verify_checksums_(options.verify_checksums),
      direct_reads_(options.direct_reads),
      checksum_threads_(options.checksum_threads),
      chunk_bytes_(static_cast<size_t>(options.checksum_chunk_bytes)) {}

size_t ReadPlanner::Piece() const { return std::min(kCachePiece, chunk_bytes_); }

bool ReadPlanner::Pieced(int64_t size) const {
  return verify_checksums_ && static_cast<uint64_t>(size) > Piece();
}

crc32c::Pool* ReadPlanner::Helpers() const {
  if (checksum_threads_ <= 0) return nullptr;
  std::call_once(pool_once_, [this] { pool_ = std::make_unique<crc32c::Pool>(checksum_threads_); });
  return pool_.get();
}

// The tensor is cut into parts (PartBytes); a part is read in
// Piece()s, each checksummed as soon as it landed. Parts are queued for the
// helpers and taken in order by the calling thread too, so with a free core
// both threads read and checksum, and without helpers (or on a busy machine)
// the calling thread does every part. Every part runs to its end, so the
// error returned is the first in file order.
Status ReadPlanner::ReadChecksummed(const RandomAccessFile& file, const BundleEntry& e, char* dst,
                                   uint32_t* crc) const {
  const size_t size = static_cast<size_t>(e.size);
  {
    const std::vector<PlannedRead> one = {{&e, nullptr, &file, nullptr, dst}};
    if (DirectPays(one)) {
      std::vector<uint32_t> crcs;
      Status s = ReadManyDirect(one, &crcs);
      *crc = crcs.empty() ? 0 : crcs[0];
      return s;
    }
  }
  if (size >= kPrefetchMin) file.Prefetch(e.offset, size);
  const size_t part = PartBytes(size);
  const size_t parts = (size + part - 1) / part;
  const size_t piece = Piece();
  std::vector<Status> errors(parts);
  crc32c::Job job(parts > 1 ? Helpers() : nullptr);  // waits for its parts on every return
  for (size_t i = 0; i < parts; ++i) {
    const size_t begin = i * part;
    const size_t end = std::min(size, begin + part);
    job.AddWork(end - begin, [&, i, begin, end]() -> uint32_t {
      uint32_t c = 0;
      for (size_t at = begin; at < end;) {
        const size_t n = std::min(piece, end - at);
        Status s = ReadExactly(file, e, at, n, dst + at);
        if (!s.ok()) {
          errors[i] = std::move(s);
          break;
        }
        c = crc32c::Extend(c, dst + at, n);
        at += n;
      }
      return c;
    });
  }
  *crc = job.Finish();
  for (Status& s : errors) {
    if (!s.ok()) return s;
  }
  return Status::OK();
}

size_t ReadPlanner::PartBytes(size_t size) const {
  constexpr size_t kHuge = Tensor::kHugePageBytes;
  if (size <= kHuge || size > 2 * chunk_bytes_ || chunk_bytes_ < kHuge) return chunk_bytes_;
  const size_t half = size - size / 2;
  return (half + kHuge - 1) / kHuge * kHuge;
}

uint32_t ReadPlanner::ChecksumMapped(const char* p, size_t size) const {
  const size_t chunk = chunk_bytes_;
  crc32c::Job job(Helpers());
  for (size_t done = 0; done < size; done += chunk) job.Add(p + done, std::min(chunk, size - done));
  return job.Finish();
}

void ReadPlanner::ToFileOrder(std::vector<PlannedRead>* items) {
  std::sort(items->begin(), items->end(), [](const PlannedRead& a, const PlannedRead& b) {
    return a.e->shard_id != b.e->shard_id ? a.e->shard_id < b.e->shard_id
                                          : a.e->offset < b.e->offset;
  });
}

void ReadPlanner::PrefetchItems(const std::vector<PlannedRead>& items) {
  size_t i = 0;
  while (i < items.size()) {
    const RandomAccessFile* file = items[i].file;
    const uint64_t begin = static_cast<uint64_t>(items[i].e->offset);
    uint64_t end = begin + static_cast<uint64_t>(items[i].e->size);
    size_t j = i + 1;
    for (; j < items.size() && items[j].file == file; ++j) {
      const uint64_t at = static_cast<uint64_t>(items[j].e->offset);
      if (at > end + kPrefetchMin) break;
      end = std::max(end, at + static_cast<uint64_t>(items[j].e->size));
    }
    if (end - begin >= kPrefetchMin) file->Prefetch(begin, end - begin);
    i = j;
  }
}

// As ReadChecksummed does one tensor: the bytes of all entries, in file
// order, are cut into batches of checksum_chunk_bytes (an entry may span
// batches); a batch is read in Piece()s, each checksummed right after it
// landed. Batches are queued for the helpers and taken in order by the
// calling thread too, so with a free core two threads read and checksum
// (small tensors included), and without one the caller does everything.
// Every batch runs to its end or its first read error. Items with a `view`
// are not read: their mapped bytes are checksummed in place, batched the
// same way.
namespace {

// A batched read's bytes cut up: `n` bytes at `at` of item `item`, and their
// CRC once read.
struct Segment {
  size_t item;
  size_t at;  // offset in the entry
  size_t n;
  uint32_t crc;
};

// The first error of one job (batch or chunk), and the item it hit.
struct JobError {
  size_t item = SIZE_MAX;
  Status status;
};

// The results of a batched read: the first error in file order (the lowest
// item any job failed on), and in *crcs the CRCs of the items before it,
// combined from their segments.
Status CollectResults(const std::vector<JobError>& errors, const std::vector<Segment>& segs,
                      size_t items, std::vector<uint32_t>* crcs) {
  size_t first_error = SIZE_MAX;
  const Status* error = nullptr;
  for (const JobError& je : errors) {
    if (je.item < first_error) {
      first_error = je.item;
      error = &je.status;
    }
  }
  crcs->assign(std::min(first_error, items), 0);
  for (const Segment& sg : segs) {
    if (sg.item < crcs->size()) (*crcs)[sg.item] = crc32c::Combine((*crcs)[sg.item], sg.crc, sg.n);
  }
  return error != nullptr ? *error : Status::OK();
}

}  // namespace

Status ReadPlanner::ReadManyChecksummed(const std::vector<PlannedRead>& items,
                                        std::vector<uint32_t>* crcs) const {
  if (DirectPays(items)) return ReadManyDirect(items, crcs);
  PrefetchItems(items);
  return ReadManyBuffered(items, crcs);
}

Status ReadPlanner::ReadManyBuffered(const std::vector<PlannedRead>& items,
                                     std::vector<uint32_t>* crcs) const {
  // 1. Cut the items' bytes, in file order, into segments grouped in batches.
  const size_t part = chunk_bytes_;
  const size_t piece = Piece();
  std::vector<Segment> segs;
  std::vector<size_t> batch_begin;  // first segment of each batch
  size_t fill = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const size_t size = static_cast<size_t>(items[i].e->size);
    for (size_t at = 0; at < size;) {
      if (fill == 0) batch_begin.push_back(segs.size());
      const size_t n = std::min(size - at, part - fill);
      segs.push_back({i, at, n, 0});
      at += n;
      fill = fill + n == part ? 0 : fill + n;
    }
  }
  const size_t batches = batch_begin.size();
  batch_begin.push_back(segs.size());
  // 2. Read and checksum the batches, helpers and the calling thread together.
  std::vector<JobError> errors(batches);
  {
    crc32c::Job job(batches > 1 ? Helpers() : nullptr);  // waits for its batches on every exit
    for (size_t b = 0; b < batches; ++b) {
      job.AddWork(0, [&, b]() -> uint32_t {
        for (size_t k = batch_begin[b]; k < batch_begin[b + 1]; ++k) {
          Segment& sg = segs[k];
          const PlannedRead& it = items[sg.item];
          if (it.view != nullptr) {
            sg.crc = crc32c::Value(it.view + sg.at, sg.n);
            continue;
          }
          if (it.checksum_only()) {
            Status st = ChecksumPieces(*it.file, *it.e, sg.at, sg.n, piece, &sg.crc);
            if (!st.ok()) {
              errors[b] = {sg.item, std::move(st)};
              return 0;
            }
            continue;
          }
          char* dst = it.destination();
          uint32_t c = 0;
          for (size_t at = sg.at, end = sg.at + sg.n; at < end;) {
            const size_t n = std::min(piece, end - at);
            Status st = ReadExactly(*it.file, *it.e, at, n, dst + at);
            if (!st.ok()) {
              errors[b] = {sg.item, std::move(st)};
              return 0;
            }
            if (verify_checksums_) c = crc32c::Extend(c, dst + at, n);
            at += n;
          }
          sg.crc = c;
        }
        return 0;
      });
    }
    job.Finish();
  }
  // 3. The first read error in file order; the CRCs of the items before it.
  return CollectResults(errors, segs, items.size(), crcs);
}

// Direct reads. Reading cold bytes through the page cache costs a page-cache
// page per 4 KiB (allocated, filled by the device, copied out, later
// reclaimed) and is paced by readahead; a direct read of large aligned
// chunks lets the device stream into memory that is reused chunk after
// chunk. It pays only when most of the bytes are not cached (a direct read
// of cached bytes goes to the device again), so the page cache is asked
// first (RandomAccessFile::CachedBytes).
bool ReadPlanner::DirectPays(const std::vector<PlannedRead>& items) const {
  if (!direct_reads_ || items.empty()) return false;
  uint64_t bytes = 0;
  for (const PlannedRead& it : items) {
    if (it.view != nullptr) return false;
    bytes += static_cast<uint64_t>(it.e->size);
  }
  if (bytes < kDirectMin) return false;
  // The span of each file's run of items (they are in file order).
  uint64_t span = 0;
  uint64_t cached = 0;
  for (size_t i = 0; i < items.size();) {
    const RandomAccessFile* file = items[i].file;
    const uint64_t begin = static_cast<uint64_t>(items[i].e->offset);
    uint64_t end = begin;
    size_t j = i;
    for (; j < items.size() && items[j].file == file; ++j) {
      end = std::max(end, static_cast<uint64_t>(items[j].e->offset + items[j].e->size));
    }
    const int64_t c = file->CachedBytes(begin, end - begin);
    if (c < 0) return false;
    span += end - begin;
    cached += static_cast<uint64_t>(c);
    i = j;
  }
  if (cached * 4 >= span) return false;
  for (const PlannedRead& it : items) {
    const size_t a = it.file->DirectReadAlignment();
    if (a == 0 || kDirectChunk % a != 0) return false;
  }
  return true;
}

// The bytes of all items, in file order, are cut at the aligned boundaries of
// kDirectChunk-sized chunks of each file (a gap of a whole chunk or more
// between items starts a new chunk at the next item). Each chunk is one job
// for the helpers and the calling thread: one ReadDirect of the chunk into a
// staging buffer, then each item's part copied to its destination in
// Piece()s, each checksummed right after the copy, in cache. A file system
// that refuses the direct read (InvalidArgument, Unimplemented) gets the
// chunk's parts read through Read instead. Errors and CRCs are reported as
// ReadManyBuffered reports them.
Status ReadPlanner::ReadManyDirect(const std::vector<PlannedRead>& items,
                                   std::vector<uint32_t>* crcs) const {
  struct Chunk {
    const RandomAccessFile* file;
    uint64_t begin;  // aligned
    uint64_t end;    // of its last segment
    size_t first_segment;
  };
  std::vector<Segment> segs;
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < items.size(); ++i) {
    const PlannedRead& it = items[i];
    const uint64_t offset = static_cast<uint64_t>(it.e->offset);
    const uint64_t size = static_cast<uint64_t>(it.e->size);
    const uint64_t align = it.file->DirectReadAlignment();
    for (uint64_t at = 0; at < size;) {
      const uint64_t pos = offset + at;
      // (Entries may overlap, in a crafted file: one can start before the
      // chunk its predecessor ended in.)
      if (chunks.empty() || chunks.back().file != it.file || pos < chunks.back().begin ||
          pos >= chunks.back().begin + kDirectChunk) {
        chunks.push_back({it.file, pos / align * align, pos, segs.size()});
      }
      Chunk& c = chunks.back();
      const uint64_t n = std::min(size - at, c.begin + kDirectChunk - pos);
      segs.push_back({i, static_cast<size_t>(at), static_cast<size_t>(n), 0});
      c.end = std::max(c.end, pos + n);
      at += n;
    }
  }
  // Staging buffers, one per thread at work, handed out as jobs start.
  std::mutex staging_mu;
  std::vector<Tensor> staging;
  std::vector<char*> free_staging;
  auto take_staging = [&]() -> char* {
    std::lock_guard<std::mutex> lock(staging_mu);
    if (!free_staging.empty()) {
      char* p = free_staging.back();
      free_staging.pop_back();
      return p;
    }
    auto t = Tensor::AllocateUninitialized(DataType::kUInt8,
                                           TensorShape({static_cast<int64_t>(kDirectChunk)}));
    if (!t.ok()) return nullptr;
    staging.push_back(std::move(*t));
    return staging.back().mutable_data();
  };
  auto give_staging = [&](char* p) {
    std::lock_guard<std::mutex> lock(staging_mu);
    free_staging.push_back(p);
  };
  std::vector<JobError> errors(chunks.size());
  const size_t piece = Piece();
  {
    crc32c::Job job(chunks.size() > 1 ? Helpers() : nullptr);  // waits for its chunks on every exit
    for (size_t k = 0; k < chunks.size(); ++k) {
      job.AddWork(0, [&, k]() -> uint32_t {
        const Chunk& c = chunks[k];
        const size_t last = k + 1 < chunks.size() ? chunks[k + 1].first_segment : segs.size();
        const size_t align = c.file->DirectReadAlignment();
        const size_t want = static_cast<size_t>((c.end - c.begin + align - 1) / align * align);
        char* buf = take_staging();
        Result<size_t> got = buf != nullptr ? c.file->ReadDirect(c.begin, want, buf)
                                            : Result<size_t>(ResourceExhaustedError("staging"));
        const bool fallback = !got.ok() && (got.status().code() == StatusCode::kUnimplemented ||
                                            got.status().code() == StatusCode::kInvalidArgument ||
                                            got.status().code() == StatusCode::kResourceExhausted);
        if (!got.ok() && !fallback) {
          errors[k] = {segs[c.first_segment].item, got.status()};
          if (buf != nullptr) give_staging(buf);
          return 0;
        }
        for (size_t s = c.first_segment; s < last; ++s) {
          Segment& sg = segs[s];
          const PlannedRead& it = items[sg.item];
          char* const dst = it.checksum_only() ? nullptr : it.destination() + sg.at;
          const uint64_t pos = static_cast<uint64_t>(it.e->offset) + sg.at;
          if (fallback) {
            Status st;
            if (dst != nullptr) {
              st = ReadExactly(*it.file, *it.e, sg.at, sg.n, dst);
              sg.crc = st.ok() && verify_checksums_ ? crc32c::Value(dst, sg.n) : 0;
            } else {
              st = ChecksumPieces(*it.file, *it.e, sg.at, sg.n, piece, &sg.crc);
            }
            if (!st.ok()) {
              errors[k] = {sg.item, std::move(st)};
              break;
            }
            continue;
          }
          if (pos + sg.n > c.begin + *got) {
            errors[k] = {sg.item, DataLossError("Short read of tensor \"" +
                                                EscapeForDisplay(it.e->key) + "\"")};
            break;
          }
          const char* src = buf + (pos - c.begin);
          if (it.checksum_only()) {
            sg.crc = crc32c::Value(src, sg.n);
            continue;
          }
          uint32_t crc = 0;
          for (size_t at = 0; at < sg.n; at += piece) {
            const size_t n = std::min(piece, sg.n - at);
            std::memcpy(dst + at, src + at, n);
            if (verify_checksums_) crc = crc32c::Extend(crc, dst + at, n);
          }
          sg.crc = crc;
        }
        if (buf != nullptr) give_staging(buf);
        return 0;
      });
    }
    job.Finish();
  }
  return CollectResults(errors, segs, items.size(), crcs);
}

}  // namespace ckpt::bundle_internal
