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

std::vector<bool> ChooseStaged(const VarList& vars, int64_t budget_bytes) {
  std::vector<bool> staged(vars.size(), true);
  if (budget_bytes < 0) return staged;
  std::vector<size_t> order;
  for (size_t i = 0; i < vars.size(); ++i) {
    if (vars[i].tensor->dtype() != DataType::kString) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return vars[a].tensor->byte_size() > vars[b].tensor->byte_size();
  });
  uint64_t left = static_cast<uint64_t>(budget_bytes);
  for (size_t i : order) {
    const uint64_t size = vars[i].tensor->byte_size();
    staged[i] = size <= left;
    if (staged[i]) left -= size;
  }
  return staged;
}

Result<std::unique_ptr<Snapshot>> Snapshot::Create(VarList source, std::vector<bool> staged) {
  std::unique_ptr<Snapshot> s(new Snapshot());
  if (staged.empty()) staged.assign(source.size(), true);
  s->buffers_.reserve(std::count(staged.begin(), staged.end(), true));
  s->vars_ = source;
  for (size_t i = 0; i < source.size(); ++i) {
    const Tensor& src = *source[i].tensor;
    s->dtypes_.push_back(src.dtype());
    s->shapes_.push_back(src.shape());
    s->buffer_of_.push_back(staged[i] ? static_cast<int>(s->buffers_.size()) : -1);
    if (!staged[i]) continue;
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
    if (src.dtype() != dtypes_[i] || src.shape() != shapes_[i]) {
      return InvalidArgumentError(
          who + ": variable \"" + source_[i].name + "\" is now " +
          std::string(DataTypeName(src.dtype())) + src.shape().DebugString() + " but was " +
          std::string(DataTypeName(dtypes_[i])) + shapes_[i].DebugString() +
          " when the saver was created; a saver's variables keep their dtype and shape");
    }
  }
  std::vector<CopyRange> ranges;
  ranges.reserve(source_.size());
  size_t total = 0;
  for (size_t i = 0; i < source_.size(); ++i) {
    if (!staged(i)) continue;
    const Tensor& src = *source_[i].tensor;
    Tensor& dst = buffers_[buffer_of_[i]];
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
