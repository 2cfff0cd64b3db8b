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
// Cold reads: before reading a large tensor or many tensors, the file is told
// which byte ranges follow (RandomAccessFile::Prefetch), so the kernel can
// queue the device reads for all of them at once rather than one readahead
// window at a time as the reads reach them.
#include "bundle/read_plan.h"

#include <algorithm>
#include <cstring>
#include <string>

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

ReadPlanner::ReadPlanner(const BundleReaderOptions& options)
    : verify_checksums_(options.verify_checksums),
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

// The tensor is cut into parts of checksum_chunk_bytes; a part is read in
// Piece()s, each checksummed as soon as it landed. Parts are queued for the
// helpers and taken in order by the calling thread too, so with a free core
// both threads read and checksum, and without helpers (or on a busy machine)
// the calling thread does every part. Every part runs to its end, so the
// error returned is the first in file order.
Status ReadPlanner::ReadChecksummed(const RandomAccessFile& file, const BundleEntry& e, char* dst,
                                   uint32_t* crc) const {
  const size_t size = static_cast<size_t>(e.size);
  const size_t part = chunk_bytes_;
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
  PrefetchItems(*items);
}

// Announces the byte ranges of `items` (fixed-size entries in file order) to
// their files: runs of entries closer than kPrefetchMin are merged into one
// range; runs smaller than kPrefetchMin are left to normal readahead.
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
Status ReadPlanner::ReadManyChecksummed(const std::vector<PlannedRead>& items,
                                        std::vector<uint32_t>* crcs) const {
  // 1. Cut the items' bytes, in file order, into segments grouped in batches.
  const size_t part = chunk_bytes_;
  const size_t piece = Piece();
  struct Segment {
    size_t item;
    size_t at;  // offset in the entry
    size_t n;
    uint32_t crc;
  };
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
  struct BatchError {
    size_t item = SIZE_MAX;
    Status status;
  };
  std::vector<BatchError> errors(batches);
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
          char* dst = it.out->mutable_data();
          uint32_t c = 0;
          for (size_t at = sg.at, end = sg.at + sg.n; at < end;) {
            const size_t n = std::min(piece, end - at);
            Status st = ReadExactly(*it.file, *it.e, at, n, dst + at);
            if (!st.ok()) {
              errors[b] = {sg.item, std::move(st)};
              return 0;
            }
            c = crc32c::Extend(c, dst + at, n);
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
  size_t first_error = SIZE_MAX;
  const Status* error = nullptr;
  for (const BatchError& be : errors) {
    if (be.item < first_error) {
      first_error = be.item;
      error = &be.status;
    }
  }
  crcs->assign(std::min(first_error, items.size()), 0);
  for (const Segment& sg : segs) {
    if (sg.item < crcs->size()) (*crcs)[sg.item] = crc32c::Combine((*crcs)[sg.item], sg.crc, sg.n);
  }
  return error != nullptr ? *error : Status::OK();
}

}  // namespace ckpt::bundle_internal
