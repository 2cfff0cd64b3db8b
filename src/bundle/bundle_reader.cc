// BundleReader: loads the whole index at Open (entries are small), opens data
// files lazily, and checks every stored size and checksum against the file
// before trusting it. Nothing is returned as valid before its checksum
// matched.
//
// A read goes through named phases: Lookup (the entry, or NotFound), the
// checks of the entry against itself and its data file (CheckFixedSize,
// Locate, CheckSlicesBackShape for partitioned tensors) and of the
// destination (CheckDestination), all before any allocation or tensor byte
// is read; then the read, and the checksum comparison (ChecksumError).
// How large and batched reads are cut up, prefetched and checksummed by the
// helper threads is read planning, in read_plan.cc.
#include "ckpt/bundle_reader.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "bundle/bundle_internal.h"
#include "bundle/read_plan.h"
#include "ckpt/filenames.h"
#include "ckpt/escape.h"
#include "crc/crc32c.h"
#include "table/table.h"
#include "tensor/proto_convert.h"

namespace ckpt {

using bundle_internal::PlannedRead;
using bundle_internal::ReadPlanner;

struct BundleReader::Impl {
  explicit Impl(const BundleReaderOptions& o) : options(o), planner(o) {}

  std::string prefix;
  BundleReaderOptions options;
  ReadPlanner planner;
  tensorflow::BundleHeaderProto header;
  std::vector<BundleEntry> entries;  // sorted by key
  mutable std::mutex mu;
  // Opened lazily; a map because num_shards comes from the (untrusted) file.
  mutable std::map<int, std::unique_ptr<RandomAccessFile>> shards;

  const BundleEntry* Find(std::string_view key) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), key,
                               [](const BundleEntry& e, std::string_view k) { return e.key < k; });
    return (it != entries.end() && it->key == key) ? &*it : nullptr;
  }

  std::string ShardPath(int shard) const {
    return DataFilename(prefix, shard, header.num_shards());
  }

  Result<RandomAccessFile*> Shard(int shard) const {
    std::lock_guard<std::mutex> lock(mu);
    if (!shards[shard]) {
      std::string path = ShardPath(shard);
      auto file = options.use_mmap ? options.env->NewMappedFile(path)
                                   : options.env->NewRandomAccessFile(path);
      if (!file.ok()) {
        // Only a file that does not exist is "missing"; one that exists but
        // cannot be opened (permissions, a FIFO) says why.
        if (file.status().code() == StatusCode::kNotFound) {
          return file.status().WithContext("Checkpoint " + prefix + " is missing data file " +
                                           path);
        }
        return file.status().WithContext("Checkpoint " + prefix);
      }
      shards[shard] = std::move(file).value();
    }
    return shards[shard].get();
  }

  Status ChecksumError(const BundleEntry& e, uint32_t stored, uint32_t actual) const {
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  " (shard %d of %d, offset %lld, %lld bytes): Checksum does not match: stored "
                  "%08x vs. calculated on the restored bytes %08x",
                  e.shard_id, header.num_shards(), static_cast<long long>(e.offset),
                  static_cast<long long>(e.size), stored, actual);
    return DataLossError("Tensor \"" + EscapeForDisplay(e.key) + "\" in " + ShardPath(e.shard_id) +
                         buf);
  }

  // Locates the stored bytes of `e`, checking they lie inside the data file.
  Result<RandomAccessFile*> Locate(const BundleEntry& e) const {
    CKPT_ASSIGN_OR_RETURN(RandomAccessFile * file, Shard(e.shard_id));
    uint64_t fsize = file->Size();
    if (static_cast<uint64_t>(e.offset) > fsize ||
        static_cast<uint64_t>(e.size) > fsize - static_cast<uint64_t>(e.offset)) {
      return DataLossError(
          "Tensor \"" + EscapeForDisplay(e.key) + "\" claims bytes [" + std::to_string(e.offset) +
          ", " + std::to_string(static_cast<uint64_t>(e.offset) + static_cast<uint64_t>(e.size)) +
          ") but data file " + ShardPath(e.shard_id) + " has only " + std::to_string(fsize) +
          " bytes (truncated file?)");
    }
    return file;
  }

  Status CheckFixedSize(const BundleEntry& e) const {
    if (!IsStorable(e.dtype)) {
      return UnimplementedError("Tensor \"" + EscapeForDisplay(e.key) + "\" has dtype " +
                                std::string(DataTypeName(e.dtype)) + ", which ckpt cannot read");
    }
    if (e.dtype == DataType::kString) {
      // Each element takes at least one length byte: bounds the allocation.
      if (static_cast<uint64_t>(e.shape.num_elements()) > static_cast<uint64_t>(e.size)) {
        return DataLossError("Invalid size in bundle entry: key " + EscapeForDisplay(e.key) +
                             "; stored size " + std::to_string(e.size) + " cannot hold " +
                             std::to_string(e.shape.num_elements()) + " strings");
      }
      return Status::OK();
    }
    // The entry's size must match its shape; checked in 128-bit-safe order.
    uint64_t elem = DataTypeSize(e.dtype);
    uint64_t n = static_cast<uint64_t>(e.shape.num_elements());
    if (n > static_cast<uint64_t>(e.size) / elem || n * elem != static_cast<uint64_t>(e.size)) {
      return DataLossError(
          "Invalid size in bundle entry: key " + EscapeForDisplay(e.key) + "; stored size " +
          std::to_string(e.size) + "; expected size " +
          (n > UINT64_MAX / elem ? std::string("(overflow)") : std::to_string(n * elem)) +
          " for shape " + e.shape.DebugString() + " of " + std::string(DataTypeName(e.dtype)));
    }
    return Status::OK();
  }

  // Reads an unpartitioned entry into `out`, which has the entry's dtype and
  // shape and owns its storage.
  Status ReadEntryInto(const BundleEntry& e, Tensor* out) const {
    CKPT_RETURN_IF_ERROR(CheckFixedSize(e));
    CKPT_ASSIGN_OR_RETURN(RandomAccessFile * file, Locate(e));
    const size_t size = static_cast<size_t>(e.size);
    uint32_t actual = 0;
    if (e.dtype == DataType::kString) {
      std::string buf(size, '\0');
      CKPT_ASSIGN_OR_RETURN(std::string_view got, file->Read(e.offset, size, buf.data()));
      if (got.size() != size)
        return DataLossError("Short read of tensor \"" + EscapeForDisplay(e.key) + "\"");
      Status s = bundle_internal::DecodeStringTensor(got, e.shape.num_elements(),
                                                     out->mutable_strings(), &actual);
      if (!s.ok()) {
        return s.WithContext("Tensor \"" + EscapeForDisplay(e.key) + "\" in " +
                             ShardPath(e.shard_id));
      }
    } else if (planner.Pieced(e.size)) {
      CKPT_RETURN_IF_ERROR(planner.ReadChecksummed(*file, e, out->mutable_data(), &actual));
    } else {
      CKPT_ASSIGN_OR_RETURN(std::string_view got,
                            file->Read(e.offset, size, out->mutable_data()));
      if (got.size() != size)
        return DataLossError("Short read of tensor \"" + EscapeForDisplay(e.key) + "\"");
      if (got.data() != out->data() && size > 0) std::memcpy(out->mutable_data(), got.data(), size);
      if (options.verify_checksums) actual = crc32c::Value(out->data(), size);
    }
    if (options.verify_checksums || e.dtype == DataType::kString) {
      uint32_t stored = crc32c::Unmask(e.masked_crc32c);
      if (stored != actual) return ChecksumError(e, stored, actual);
    }
    return Status::OK();
  }

  // ReadInto's checks of a destination against the stored entry.
  static Status CheckDestination(const BundleEntry& e, const Tensor& out) {
    if (out.dtype() != e.dtype) {
      return InvalidArgumentError("tensor_name = " + EscapeForDisplay(e.key) + "; expected dtype " +
                                  std::string(DataTypeName(out.dtype())) +
                                  " does not equal original dtype " +
                                  std::string(DataTypeName(e.dtype)));
    }
    if (out.shape() != e.shape) {
      return InvalidArgumentError(
          "tensor_name = " + EscapeForDisplay(e.key) + "; shape in shape_and_slice spec " +
          out.shape().DebugString() +
          " does not match the shape stored in checkpoint: " + e.shape.DebugString());
    }
    if (out.is_view()) {
      return InvalidArgumentError("ReadInto(\"" + EscapeForDisplay(e.key) +
                                  "\"): the destination is a read-only view");
    }
    return Status::OK();
  }

  // Checks that `e` can be viewed (ReadView's rules) and locates its mapped
  // bytes; nothing is read.
  Result<PlannedRead> ViewItem(const BundleEntry& e) const {
    if (!e.slices.empty() || !IsFixedSize(e.dtype)) {
      return InvalidArgumentError("ReadView(\"" + EscapeForDisplay(e.key) +
                                  "\"): only unpartitioned fixed-size tensors can be viewed");
    }
    CKPT_RETURN_IF_ERROR(CheckFixedSize(e));
    CKPT_ASSIGN_OR_RETURN(RandomAccessFile * file, Locate(e));
    const char* base = file->MappedData();
    if (base == nullptr) {
      return UnimplementedError("ReadView(\"" + EscapeForDisplay(e.key) +
                                "\"): data file could not be mapped");
    }
    return PlannedRead{&e, nullptr, file, base + e.offset};
  }

  // The entry of `key`, or NotFound.
  Result<const BundleEntry*> Lookup(std::string_view key) const {
    const BundleEntry* e = Find(key);
    if (e == nullptr)
      return NotFoundError("Key " + EscapeForDisplay(key) + " not found in checkpoint");
    return e;
  }

  Status ReadMany(const std::vector<ReadTarget>& targets) const {
    // 1. Check every target; nothing is read yet.
    std::vector<PlannedRead> fixed, other;
    struct Span {
      const char* begin;
      size_t n;
      const std::string* key;
    };
    std::vector<Span> spans;
    spans.reserve(targets.size());
    for (const ReadTarget& t : targets) {
      CKPT_ASSIGN_OR_RETURN(const BundleEntry* e, Lookup(t.key));
      if (t.out == nullptr) {
        return InvalidArgumentError("ReadManyInto(\"" + EscapeForDisplay(e->key) +
                                    "\"): the destination is null");
      }
      CKPT_RETURN_IF_ERROR(CheckDestination(*e, *t.out));
      if (e->dtype == DataType::kString) {
        spans.push_back({reinterpret_cast<const char*>(t.out->mutable_strings()), 1, &e->key});
      } else if (t.out->byte_size() > 0) {
        spans.push_back({t.out->data(), t.out->byte_size(), &e->key});
      }
      if (!e->slices.empty()) {
        // Every stored slice lies inside its data file.
        CKPT_RETURN_IF_ERROR(CheckSlicesBackShape(*e, e->shape.num_elements()));
        other.push_back({e, t.out, nullptr});
        continue;
      }
      CKPT_RETURN_IF_ERROR(CheckFixedSize(*e));
      CKPT_ASSIGN_OR_RETURN(RandomAccessFile * file, Locate(*e));
      if (e->dtype == DataType::kString) {
        other.push_back({e, t.out, nullptr});
      } else {
        fixed.push_back({e, t.out, file});
      }
    }
    // Destinations are filled and checksummed by several threads at once:
    // they must not share memory.
    auto addr = [](const char* p) { return reinterpret_cast<uintptr_t>(p); };
    std::sort(spans.begin(), spans.end(),
              [&](const Span& a, const Span& b) { return addr(a.begin) < addr(b.begin); });
    for (size_t i = 1; i < spans.size(); ++i) {
      if (addr(spans[i].begin) < addr(spans[i - 1].begin) + spans[i - 1].n) {
        return InvalidArgumentError("ReadManyInto: the destinations of \"" +
                                    EscapeForDisplay(*spans[i - 1].key) + "\" and \"" +
                                    EscapeForDisplay(*spans[i].key) + "\" share memory");
      }
    }
    // 2. Read in file order.
    ReadPlanner::ToFileOrder(&fixed);
    if (options.verify_checksums) {
      CKPT_RETURN_IF_ERROR(ReadManyVerified(fixed));
    } else {
      std::vector<uint32_t> unused;
      CKPT_RETURN_IF_ERROR(planner.ReadManyChecksummed(fixed, &unused));
    }
    for (const PlannedRead& it : other) {
      if (!it.e->slices.empty()) {
        CKPT_RETURN_IF_ERROR(ReadPartitioned(*it.e, TensorSlice::Full(it.e->shape.rank()), it.out));
      } else {
        CKPT_RETURN_IF_ERROR(ReadEntryInto(*it.e, it.out));
      }
    }
    return Status::OK();
  }

  // Reads (or checksums in place, for views) fixed-size entries sorted in
  // file order (ReadPlanner::ReadManyChecksummed), then compares their
  // checksums: the first error in file order, a read error or a mismatch,
  // is returned.
  Status ReadManyVerified(const std::vector<PlannedRead>& items) const {
    std::vector<uint32_t> crc;
    Status read_error = planner.ReadManyChecksummed(items, &crc);
    for (size_t i = 0; i < crc.size(); ++i) {
      const BundleEntry& e = *items[i].e;
      const uint32_t stored = crc32c::Unmask(e.masked_crc32c);
      if (stored != crc[i]) return ChecksumError(e, stored, crc[i]);
    }
    return read_error;
  }

  // What is checked of a whole tensor's entry before memory is allocated for
  // it: its stored size against its shape and its data file, or, for a
  // partitioned tensor, that its stored slices back its shape.
  Status CheckBeforeAllocating(const BundleEntry& e) const {
    if (!e.slices.empty()) return CheckSlicesBackShape(e, e.shape.num_elements());
    CKPT_RETURN_IF_ERROR(CheckFixedSize(e));
    return Locate(e).status();
  }

  Result<Tensor> ReadEntry(const BundleEntry& e) const {
    CKPT_RETURN_IF_ERROR(CheckBeforeAllocating(e));
    // The read overwrites every byte (or fails and the tensor is dropped):
    // zeroing first would touch the new memory twice.
    CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::AllocateUninitialized(e.dtype, e.shape));
    CKPT_RETURN_IF_ERROR(ReadEntryInto(e, &t));
    return t;
  }

  // A partitioned entry's shape is only trusted as far as its stored slices
  // back it: this keeps a lying shape from driving a huge allocation.
  // `needed` is the number of elements the caller will allocate.
  Status CheckSlicesBackShape(const BundleEntry& full, int64_t needed) const {
    uint64_t stored = 0;
    for (const TensorSlice& sl : full.slices) {
      const BundleEntry* se = Find(EncodeTensorNameSlice(full.key, sl));
      if (se == nullptr) continue;
      CKPT_RETURN_IF_ERROR(Locate(*se).status());  // sizes bounded by the file
      stored += static_cast<uint64_t>(se->size);
    }
    uint64_t elem = std::max<size_t>(DataTypeSize(full.dtype), 1);
    if (static_cast<uint64_t>(needed) > stored / elem) {
      return InvalidArgumentError(
          "Does not have sufficient slices for partitioned tensor " + EscapeForDisplay(full.key) +
          ": shape " + full.shape.DebugString() + ": the read needs " + std::to_string(needed) +
          " elements but its slices store " + std::to_string(stored) + " bytes");
    }
    return Status::OK();
  }

  // Fills `out` (holding `want` of the full tensor `full`) from the stored
  // slices of a partitioned tensor.
  Status ReadPartitioned(const BundleEntry& full, const TensorSlice& want, Tensor* out) const {
    if (!IsFixedSize(full.dtype)) {
      return UnimplementedError("Partitioned tensor \"" + EscapeForDisplay(full.key) +
                                "\" has dtype " + std::string(DataTypeName(full.dtype)) +
                                "; only fixed-size types can be assembled from slices");
    }
    int64_t covered = 0;
    for (const TensorSlice& stored : full.slices) {
      TensorSlice inter;
      if (!stored.Intersect(want, full.shape, &inter)) continue;
      std::string key = EncodeTensorNameSlice(full.key, stored);
      const BundleEntry* se = Find(key);
      if (se == nullptr) {
        return DataLossError("Partitioned tensor \"" + EscapeForDisplay(full.key) +
                             "\" lists slice " + stored.DebugString() +
                             " but its data entry is missing");
      }
      if (se->dtype != full.dtype || se->shape != stored.SliceShape(full.shape)) {
        return DataLossError(
            "Slice " + stored.DebugString() + " of \"" + EscapeForDisplay(full.key) +
            "\" is stored with dtype " + std::string(DataTypeName(se->dtype)) + " and shape " +
            se->shape.DebugString() + ", expected " + std::string(DataTypeName(full.dtype)) + " " +
            stored.SliceShape(full.shape).DebugString());
      }
      CKPT_ASSIGN_OR_RETURN(Tensor part, ReadEntry(*se));
      CopySliceData(part, stored, out, want, full.shape);
      covered += inter.SliceShape(full.shape).num_elements();
    }
    // Stored slices never overlap, so the element counts add up.
    if (covered < want.SliceShape(full.shape).num_elements()) {
      return InvalidArgumentError("Does not have sufficient slices for partitioned tensor " +
                                  EscapeForDisplay(full.key) +
                                  " to restore in slice_spec: " + want.DebugString());
    }
    return Status::OK();
  }
};

Result<std::unique_ptr<BundleReader>> BundleReader::Open(std::string prefix,
                                                         BundleReaderOptions options) {
  if (options.env == nullptr) return InvalidArgumentError("BundleReaderOptions.env is null");
  if (options.checksum_threads < 0 || options.checksum_chunk_bytes <= 0) {
    return InvalidArgumentError("BundleReaderOptions: checksum_threads must be >= 0 and "
                                "checksum_chunk_bytes > 0, got " +
                                std::to_string(options.checksum_threads) + " and " +
                                std::to_string(options.checksum_chunk_bytes));
  }
  auto impl = std::make_unique<Impl>(options);
  impl->prefix = std::move(prefix);
  const std::string index_path = MetaFilename(impl->prefix);
  auto file = options.env->NewRandomAccessFile(index_path);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound) {
      return NotFoundError("Unsuccessful TensorSliceReader constructor: Failed to find any "
                           "matching files for " + impl->prefix + " (no file " + index_path + ")");
    }
    return file.status();
  }
  CKPT_ASSIGN_OR_RETURN(auto table, TableReader::Open(std::move(file).value(), index_path));
  // A first pass counts the entries, so the list is allocated once at its
  // size instead of grown by doubling (each step a fresh, page-faulted copy).
  size_t count = 0;
  CKPT_RETURN_IF_ERROR(table->ForEach([&count](std::string_view, std::string_view) {
    ++count;
    return Status::OK();
  }));
  impl->entries.reserve(count > 0 ? count - 1 : 0);  // the header is no entry
  bool saw_header = false;
  // Each entry is decoded as the table yields it, into one reused proto (it
  // keeps its allocations between entries): no second copy of the index is
  // held, so Open's time and peak memory grow linearly with the entry count
  // (docs/benchmarks.md, "Cost curves").
  tensorflow::BundleEntryProto proto;
  Status s = table->ForEach([&](std::string_view key, std::string_view value) -> Status {
    if (!saw_header) {
      if (!key.empty() || !impl->header.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return DataLossError("Unable to read file (" + index_path +
                             "). Perhaps the file is corrupt or was produced by a newer version "
                             "of TensorFlow with format changes (no bundle header; is this a V1 "
                             "checkpoint or not a checkpoint at all?)");
      }
      saw_header = true;
      return bundle_internal::CheckHeader(impl->header, index_path);
    }
    if (!proto.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return DataLossError("Checkpoint " + index_path + ": entry for tensor \"" +
                           EscapeForDisplay(key) + "\" is not a valid BundleEntryProto");
    }
    auto e = bundle_internal::EntryFromProto(std::string(key), proto, impl->header.num_shards());
    if (!e.ok()) return e.status().WithContext("Checkpoint index " + index_path);
    impl->entries.push_back(std::move(e).value());
    return Status::OK();
  });
  CKPT_RETURN_IF_ERROR(s);
  if (!saw_header) {
    return DataLossError("Checkpoint index " + index_path + " is empty (no bundle header)");
  }
  return std::unique_ptr<BundleReader>(new BundleReader(std::move(impl)));
}

BundleReader::BundleReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BundleReader::~BundleReader() = default;

const std::string& BundleReader::prefix() const { return impl_->prefix; }
int BundleReader::num_shards() const { return impl_->header.num_shards(); }
const std::vector<BundleEntry>& BundleReader::entries() const { return impl_->entries; }

bool BundleReader::Contains(std::string_view key) const { return impl_->Find(key) != nullptr; }

Result<const BundleEntry*> BundleReader::Lookup(std::string_view key) const {
  return impl_->Lookup(key);
}

Result<Tensor> BundleReader::Read(std::string_view key) const {
  CKPT_ASSIGN_OR_RETURN(const BundleEntry* e, Lookup(key));
  if (e->slices.empty()) return impl_->ReadEntry(*e);
  CKPT_RETURN_IF_ERROR(impl_->CheckBeforeAllocating(*e));
  CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(e->dtype, e->shape));
  CKPT_RETURN_IF_ERROR(impl_->ReadPartitioned(*e, TensorSlice::Full(e->shape.rank()), &t));
  return t;
}

Result<std::vector<Tensor>> BundleReader::ReadMany(const std::vector<std::string_view>& keys) const {
  // 1. Every entry is checked against itself and its data file (Read's
  // checks) before anything is allocated: a lying size cannot drive a huge
  // allocation.
  std::vector<const BundleEntry*> found;
  found.reserve(keys.size());
  for (std::string_view key : keys) {
    CKPT_ASSIGN_OR_RETURN(const BundleEntry* e, Lookup(key));
    CKPT_RETURN_IF_ERROR(impl_->CheckBeforeAllocating(*e));
    found.push_back(e);
  }
  // 2. Allocate (fixed-size tensors uninitialized: the read overwrites every
  // byte, and a fresh page is touched first by the thread that fills it).
  std::vector<Tensor> out;
  out.reserve(found.size());
  for (const BundleEntry* e : found) {
    const bool whole = e->slices.empty() && IsFixedSize(e->dtype);
    CKPT_ASSIGN_OR_RETURN(Tensor t, whole ? Tensor::AllocateUninitialized(e->dtype, e->shape)
                                          : Tensor::Allocate(e->dtype, e->shape));
    out.push_back(std::move(t));
  }
  // 3. Read them all as one batch.
  std::vector<ReadTarget> targets;
  targets.reserve(found.size());
  for (size_t i = 0; i < found.size(); ++i) targets.push_back({found[i]->key, &out[i]});
  CKPT_RETURN_IF_ERROR(impl_->ReadMany(targets));
  return out;
}

Status BundleReader::ReadInto(std::string_view key, Tensor* out) const {
  CKPT_ASSIGN_OR_RETURN(const BundleEntry* e, Lookup(key));
  CKPT_RETURN_IF_ERROR(Impl::CheckDestination(*e, *out));
  if (!e->slices.empty()) {
    return impl_->ReadPartitioned(*e, TensorSlice::Full(e->shape.rank()), out);
  }
  return impl_->ReadEntryInto(*e, out);
}

Status BundleReader::ReadManyInto(const std::vector<ReadTarget>& targets) const {
  return impl_->ReadMany(targets);
}

Status BundleReader::VerifyEntries() const {
  std::vector<PlannedRead> fixed;
  std::vector<const BundleEntry*> other;  // strings, and entries without bytes
  for (const BundleEntry& e : impl_->entries) {
    if (!e.slices.empty()) continue;
    if (!IsFixedSize(e.dtype) || e.size == 0) {
      other.push_back(&e);
      continue;
    }
    CKPT_RETURN_IF_ERROR(impl_->CheckFixedSize(e));
    CKPT_ASSIGN_OR_RETURN(RandomAccessFile * file, impl_->Locate(e));
    fixed.push_back({&e, nullptr, file});  // checksum only (read_plan.h)
  }
  ReadPlanner::ToFileOrder(&fixed);
  CKPT_RETURN_IF_ERROR(impl_->ReadManyVerified(fixed));
  for (const BundleEntry* e : other) CKPT_RETURN_IF_ERROR(Read(e->key).status());
  return Status::OK();
}

Result<Tensor> BundleReader::ReadSlice(std::string_view key, const TensorSlice& slice) const {
  CKPT_ASSIGN_OR_RETURN(const BundleEntry* e, Lookup(key));
  CKPT_RETURN_IF_ERROR(slice.ValidateAgainst(e->shape).WithContext(
      "ReadSlice(\"" + EscapeForDisplay(e->key) + "\")"));
  if (!IsFixedSize(e->dtype)) {
    return UnimplementedError("ReadSlice(\"" + EscapeForDisplay(e->key) + "\"): dtype " +
                              std::string(DataTypeName(e->dtype)) + " cannot be sliced");
  }
  if (!e->slices.empty()) {
    CKPT_RETURN_IF_ERROR(
        impl_->CheckSlicesBackShape(*e, slice.SliceShape(e->shape).num_elements()));
  } else {
    CKPT_RETURN_IF_ERROR(impl_->CheckFixedSize(*e));
    CKPT_RETURN_IF_ERROR(impl_->Locate(*e).status());  // before allocating
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(e->dtype, slice.SliceShape(e->shape)));
  if (!e->slices.empty()) {
    CKPT_RETURN_IF_ERROR(impl_->ReadPartitioned(*e, slice, &out));
    return out;
  }
  CKPT_ASSIGN_OR_RETURN(Tensor whole, impl_->ReadEntry(*e));
  CopySliceData(whole, TensorSlice::Full(e->shape.rank()), &out, slice, e->shape);
  return out;
}

Result<Tensor> BundleReader::ReadView(std::string_view key) const {
  if (!impl_->options.use_mmap) {
    return FailedPreconditionError("ReadView needs a reader opened with use_mmap");
  }
  CKPT_ASSIGN_OR_RETURN(const BundleEntry* e, Lookup(key));
  CKPT_ASSIGN_OR_RETURN(PlannedRead it, impl_->ViewItem(*e));
  const RandomAccessFile* file = it.file;
  const char* p = it.view;
  if (impl_->options.verify_checksums) {
    if (static_cast<uint64_t>(e->size) >= ReadPlanner::kPrefetchMin) file->Prefetch(e->offset, e->size);
    uint32_t stored = crc32c::Unmask(e->masked_crc32c);
    const size_t size = static_cast<size_t>(e->size);
    uint32_t actual = e->size > impl_->options.checksum_chunk_bytes && impl_->options.checksum_threads > 0
                          ? impl_->planner.ChecksumMapped(p, size)
                          : crc32c::Value(p, size);
    if (stored != actual) return impl_->ChecksumError(*e, stored, actual);
  }
  return Tensor::View(e->dtype, e->shape, p);
}

Result<std::vector<Tensor>> BundleReader::ReadManyViews(
    const std::vector<std::string_view>& keys) const {
  if (!impl_->options.use_mmap) {
    return FailedPreconditionError("ReadManyViews needs a reader opened with use_mmap");
  }
  // 1. Check every key; nothing is read yet.
  std::vector<PlannedRead> items;
  items.reserve(keys.size());
  for (std::string_view key : keys) {
    CKPT_ASSIGN_OR_RETURN(const BundleEntry* e, Lookup(key));
    CKPT_ASSIGN_OR_RETURN(PlannedRead it, impl_->ViewItem(*e));
    items.push_back(it);
  }
  std::vector<Tensor> views;
  views.reserve(items.size());
  for (const PlannedRead& it : items) views.push_back(Tensor::View(it.e->dtype, it.e->shape, it.view));
  // 2. Verify in file order.
  if (impl_->options.verify_checksums) {
    ReadPlanner::ToFileOrder(&items);
    CKPT_RETURN_IF_ERROR(impl_->ReadManyVerified(items));
  }
  return views;
}

std::string BundleReader::DebugString() const {
  size_t guess = 0;  // a line is its key plus about 24 bytes of dtype and shape
  for (const BundleEntry& e : impl_->entries) guess += e.key.size() + 24;
  std::string out;
  out.reserve(guess);
  for (const BundleEntry& e : impl_->entries) {
    if (!e.slices.empty()) continue;
    out += EscapeForDisplay(e.key);
    out += " (";
    out += DataTypeEnumName(e.dtype);
    out += ") ";
    out += e.shape.DebugString();
    out += "\n";
  }
  return out;
}

}  // namespace ckpt
