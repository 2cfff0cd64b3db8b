// Snapshot (saver/snapshot.h): buffers allocated once, refilled by each Take.
#include "saver/snapshot.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <thread>

namespace ckpt::saver_internal {
namespace {

// One contiguous block to copy into the snapshot.
struct CopyRange {
  char* dst;
  const char* src;
  size_t size;
};

// Copies the bytes [begin, end) of the concatenation of `ranges`.
void CopyPart(const std::vector<CopyRange>& ranges, size_t begin, size_t end) {
  size_t pos = 0;
  for (const CopyRange& r : ranges) {
    const size_t r_end = pos + r.size;
    const size_t lo = std::max(pos, begin);
    const size_t hi = std::min(r_end, end);
    if (lo < hi) std::memcpy(r.dst + (lo - pos), r.src + (lo - pos), hi - lo);
    pos = r_end;
    if (pos >= end) break;
  }
}

}  // namespace

Result<std::unique_ptr<Snapshot>> Snapshot::Create(VarList source) {
  std::unique_ptr<Snapshot> s(new Snapshot());
  s->buffers_.reserve(source.size());
  s->vars_ = source;
  for (size_t i = 0; i < source.size(); ++i) {
    const Tensor& src = *source[i].tensor;
    CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(src.dtype(), src.shape()));
    s->buffers_.push_back(std::move(t));
    s->vars_[i].tensor = &s->buffers_.back();
  }
  s->source_ = std::move(source);
  return s;
}

Status Snapshot::Take(int threads, const std::string& who) {
  // Check every variable first: a failed Take copies nothing.
  for (size_t i = 0; i < source_.size(); ++i) {
    const Tensor& src = *source_[i].tensor;
    const Tensor& dst = buffers_[i];
    if (src.dtype() != dst.dtype() || src.shape() != dst.shape()) {
      return InvalidArgumentError(
          who + ": variable \"" + source_[i].name + "\" is now " +
          std::string(DataTypeName(src.dtype())) + src.shape().DebugString() + " but was " +
          std::string(DataTypeName(dst.dtype())) + dst.shape().DebugString() +
          " when the saver was created; a saver's variables keep their dtype and shape");
    }
  }
  std::vector<CopyRange> ranges;
  ranges.reserve(source_.size());
  size_t total = 0;
  for (size_t i = 0; i < source_.size(); ++i) {
    const Tensor& src = *source_[i].tensor;
    Tensor& dst = buffers_[i];
    if (src.dtype() == DataType::kString) {
      const std::vector<std::string>& from = src.strings();
      std::vector<std::string>& to = *dst.mutable_strings();
      for (size_t k = 0; k < from.size(); ++k) to[k].assign(from[k]);
    } else if (src.byte_size() > 0) {
      ranges.push_back({dst.mutable_data(), src.data(), src.byte_size()});
      total += src.byte_size();
    }
  }
  // Below a few MiB a thread costs more than it saves.
  constexpr size_t kMinBytesPerThread = size_t{4} << 20;
  const size_t n = std::max<size_t>(
      1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), total / kMinBytesPerThread));
  std::vector<std::thread> helpers;
  helpers.reserve(n - 1);
  for (size_t t = 1; t < n; ++t) {
    helpers.emplace_back(CopyPart, std::cref(ranges), total * t / n, total * (t + 1) / n);
  }
  CopyPart(ranges, 0, total / n);
  for (std::thread& h : helpers) h.join();
  return Status::OK();
}

size_t Snapshot::bytes() const {
  size_t n = 0;
  for (const Tensor& t : buffers_) n += t.byte_size();
  return n;
}

}  // namespace ckpt::saver_internal
