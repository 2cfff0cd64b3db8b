// BundleWriter. Publish protocol (crash safety):
//   1. Tensor bytes are appended to  P.data-00000-of-00001.ckpt-tmp.<pid>.<hex>.
//   2. Finish(): the index is written to P.index.ckpt-tmp.<pid>.<hex>, synced
//      and closed (while the data file may still be writing out its buffers);
//      the data file is synced, closed and renamed to its final name.
//   3. The index is renamed to P.index; then the directory is synced.
// Until step 3's rename a reader sees no bundle (or the previous one): the
// appearance of P.index is the commit point. When P.index already exists (a
// re-save to the same prefix), it is deleted before the data file is renamed,
// so the old index never describes the new data. On any error, and when a writer
// is destroyed unfinished, the temporary files are deleted; if Finish fails
// after renaming (e.g. the directory sync fails), it deletes the renamed files
// again, so an error never leaves a published bundle.
//
// Speed: a large tensor (options.parallel_checksum_min_bytes) has its CRC32C
// computed by a helper thread of the writer's pool while the calling thread
// appends it, in pieces (see AppendChecksummed); Add returns only when the
// whole CRC is known. With sync, the data file is asked to start its
// writeback every options.writeback_interval_bytes (sync_file_range on
// POSIX), so the final fsync has less left to flush. With options.direct_io
// the data file comes from Env::NewDirectWritableFile (O_DIRECT on POSIX,
// written by the file's own background thread; writeback hints are then
// moot; a large tensor whose memory and file offset are both block-aligned
// is written from its own memory, with no copy, in one Append). None of
// these changes a byte of the files.
#include "ckpt/bundle_writer.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "bundle/bundle_internal.h"
#include "ckpt/filenames.h"
#include "env/coding.h"
#include "env/temp_path.h"
#include "crc/crc32c.h"
#include "crc/crc32c_pool.h"
#include "table/table.h"
#include "tensor/proto_convert.h"

namespace ckpt {

using bundle_internal::kHeaderEntryKey;

namespace {

// Writes a bundle index holding `entries` (sorted by key: a std::map) to
// `path`, synced with `sync`, and closes it.
Status WriteIndexFile(Env* env, const std::string& path, int num_shards,
                      const std::map<std::string, tensorflow::BundleEntryProto>& entries,
                      bool sync) {
  CKPT_ASSIGN_OR_RETURN(auto index, env->NewWritableFile(path));
  auto table = TableWriter::Create(index.get(), path);
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(num_shards);
  header.set_endianness(tensorflow::BundleHeaderProto::LITTLE);
  header.mutable_version()->set_producer(bundle_internal::kTensorBundleVersion);
  header.mutable_version()->set_min_consumer(bundle_internal::kTensorBundleMinConsumer);
  CKPT_RETURN_IF_ERROR(table->Add(kHeaderEntryKey, header.SerializeAsString()));
  std::string value;
  for (const auto& [key, entry] : entries) {
    value.clear();
    entry.AppendToString(&value);
    CKPT_RETURN_IF_ERROR(table->Add(key, value));
  }
  CKPT_RETURN_IF_ERROR(table->Finish());
  if (sync) CKPT_RETURN_IF_ERROR(index->Sync());
  return index->Close();
}

std::string DirOf(const std::string& prefix) {
  std::string dir(Dirname(prefix));
  return dir.empty() ? "." : dir;
}

}  // namespace

struct BundleWriter::Impl {
  std::string prefix;
  BundleWriterOptions options;
  Env* env = nullptr;
  std::string data_path, index_path;
  TempPath data_tmp, index_tmp;  // env/temp_path.h
  std::unique_ptr<WritableFile> data;
  std::map<std::string, tensorflow::BundleEntryProto> entries;
  int64_t offset = 0;
  int64_t unhinted = 0;  // data bytes appended since the last StartWriteback
  std::unique_ptr<crc32c::Pool> pool;  // checksum helpers, started on demand
  Status status;  // first error; sticky
  bool finished = false;

  // Appends to the data file, starting writeback at every interval.
  Status AppendData(std::string_view bytes) {
    CKPT_RETURN_IF_ERROR(data->Append(bytes));
    unhinted += static_cast<int64_t>(bytes.size());
    if (options.sync && options.writeback_interval_bytes > 0 &&
        unhinted >= options.writeback_interval_bytes) {
      data->StartWriteback();
      unhinted = 0;
    }
    return Status::OK();
  }

  // Appends a fixed-size tensor's bytes and returns their CRC.
  //
  // Small tensors: one append, then one CRC pass (the bytes are still in
  // cache from the copy). Larger ones go in pieces of at least
  // checksum_chunk_bytes (the last piece takes the remainder, so that every
  // append stays large enough to bypass the file's buffer). With helpers,
  // every piece's CRC is queued before the first append and a free helper
  // computes them ahead of the writes; a piece no helper has started by the
  // time it was appended is checksummed by the calling thread right away,
  // from cache. Without helpers, each piece is checksummed after its append.
  //
  // When the data file writes the tensor straight from its memory
  // (WritableFile::AppendsWithoutCopy: aligned memory at an aligned offset
  // of a direct file), there is no copy to checksum from cache: the pieces'
  // CRCs are queued for the helpers as above, the whole tensor goes in one
  // Append (so the device gets large writes), and the calling thread then
  // computes whatever the helpers have not started (Job::Finish).
  Status AppendChecksummed(std::string_view bytes, uint32_t* crc) {
    const size_t chunk = static_cast<size_t>(options.checksum_chunk_bytes);
    const bool helpers = options.checksum_threads > 0 &&
                         static_cast<int64_t>(bytes.size()) >= options.parallel_checksum_min_bytes;
    if (data->AppendsWithoutCopy(bytes)) {
      if (!helpers) {
        CKPT_RETURN_IF_ERROR(AppendData(bytes));
        *crc = crc32c::Value(bytes.data(), bytes.size());
        return Status::OK();
      }
      if (pool == nullptr) pool = std::make_unique<crc32c::Pool>(options.checksum_threads);
      crc32c::Job job(pool.get());  // waits for its pieces on every return
      for (size_t at = 0; at < bytes.size(); at += chunk) {
        job.Add(bytes.data() + at, std::min(chunk, bytes.size() - at));
      }
      CKPT_RETURN_IF_ERROR(AppendData(bytes));
      *crc = job.Finish();
      return Status::OK();
    }
    if (!helpers && bytes.size() < 2 * chunk) {
      CKPT_RETURN_IF_ERROR(AppendData(bytes));
      *crc = crc32c::Value(bytes.data(), bytes.size());
      return Status::OK();
    }
    std::vector<std::string_view> pieces;
    for (size_t at = 0; at < bytes.size();) {
      const size_t left = bytes.size() - at;
      const size_t n = left >= 2 * chunk ? chunk : left;
      pieces.push_back(bytes.substr(at, n));
      at += n;
    }
    if (helpers && pool == nullptr) pool = std::make_unique<crc32c::Pool>(options.checksum_threads);
    crc32c::Job job(helpers ? pool.get() : nullptr);  // waits for its pieces on every return
    if (helpers) {
      for (std::string_view p : pieces) job.Add(p.data(), p.size());
    }
    for (size_t i = 0; i < pieces.size(); ++i) {
      CKPT_RETURN_IF_ERROR(AppendData(pieces[i]));
      if (helpers) {
        job.RunIfQueued(i);
      } else {
        job.AddHere(pieces[i].data(), pieces[i].size());
      }
    }
    *crc = job.Finish();
    return Status::OK();
  }

  Status Fail(Status s) {
    if (status.ok()) status = s;
    return s;
  }

  void RemoveTemps() {
    data.reset();
    for (TempPath* p : {&data_tmp, &index_tmp}) {
      if (!p->empty() && env->FileExists(p->path())) env->DeleteFile(p->path()).IgnoreError();
      *p = TempPath();
    }
  }

  Status Pad() {
    if (options.data_alignment <= 1) return Status::OK();
    int64_t rem = offset % options.data_alignment;
    if (rem == 0) return Status::OK();
    std::string zeros(static_cast<size_t>(options.data_alignment - rem), '\0');
    CKPT_RETURN_IF_ERROR(AppendData(zeros));
    offset += static_cast<int64_t>(zeros.size());
    return Status::OK();
  }

  // Appends the tensor's bytes and fills offset/size/crc of `entry`.
  Status WriteTensor(const Tensor& t, tensorflow::BundleEntryProto* entry) {
    CKPT_RETURN_IF_ERROR(Pad());
    entry->set_offset(offset);
    uint32_t crc = 0;
    int64_t size = 0;
    if (t.dtype() == DataType::kString) {
      std::string head = bundle_internal::EncodeStringTensorPrefix(t.strings(), &crc);
      CKPT_RETURN_IF_ERROR(AppendData(head));
      size += static_cast<int64_t>(head.size());
      for (const std::string& s : t.strings()) {
        CKPT_RETURN_IF_ERROR(AppendData(s));
        crc = crc32c::Extend(crc, s.data(), s.size());
        size += static_cast<int64_t>(s.size());
      }
    } else {
      std::string_view bytes = t.bytes();
      CKPT_RETURN_IF_ERROR(AppendChecksummed(bytes, &crc));
      size = static_cast<int64_t>(bytes.size());
    }
    entry->set_size(size);
    entry->set_crc32c(crc32c::Mask(crc));
    offset += size;
    return Status::OK();
  }
};

Result<std::unique_ptr<BundleWriter>> BundleWriter::Create(std::string prefix,
                                                           BundleWriterOptions options) {
  if (options.env == nullptr) return InvalidArgumentError("BundleWriterOptions.env is null");
  if (prefix.empty()) return InvalidArgumentError("Checkpoint prefix is empty");
  if (options.data_alignment < 1) {
    return InvalidArgumentError("data_alignment must be >= 1, got " +
                                std::to_string(options.data_alignment));
  }
  if (options.checksum_threads < 0 || options.checksum_chunk_bytes <= 0 ||
      options.parallel_checksum_min_bytes <= 0 || options.writeback_interval_bytes < 0) {
    return InvalidArgumentError(
        "BundleWriterOptions: need checksum_threads >= 0, checksum_chunk_bytes > 0, "
        "parallel_checksum_min_bytes > 0 and writeback_interval_bytes >= 0; got " +
        std::to_string(options.checksum_threads) + ", " +
        std::to_string(options.checksum_chunk_bytes) + ", " +
        std::to_string(options.parallel_checksum_min_bytes) + ", " +
        std::to_string(options.writeback_interval_bytes));
  }
  if (options.num_shards < 1 || options.shard < 0 || options.shard >= options.num_shards) {
    return InvalidArgumentError("BundleWriterOptions: need 0 <= shard < num_shards, got shard " +
                                std::to_string(options.shard) + " of " +
                                std::to_string(options.num_shards));
  }
  auto impl = std::make_unique<Impl>();
  impl->prefix = std::move(prefix);
  impl->options = options;
  impl->env = options.env;
  std::string dir(Dirname(impl->prefix));
  if (!dir.empty()) CKPT_RETURN_IF_ERROR(impl->env->CreateDirs(dir));
  impl->data_path = DataFilename(impl->prefix, options.shard, options.num_shards);
  impl->index_path = MetaFilename(impl->prefix);
  impl->data_tmp = TempPath(impl->env, impl->data_path);
  if (options.direct_io) {
    CKPT_ASSIGN_OR_RETURN(impl->data, impl->env->NewDirectWritableFile(impl->data_tmp.path()));
  } else {
    CKPT_ASSIGN_OR_RETURN(impl->data, impl->env->NewWritableFile(impl->data_tmp.path()));
  }
  return std::unique_ptr<BundleWriter>(new BundleWriter(std::move(impl)));
}

BundleWriter::BundleWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BundleWriter::~BundleWriter() {
  if (!impl_->finished) impl_->RemoveTemps();
}

const std::string& BundleWriter::prefix() const { return impl_->prefix; }

Status BundleWriter::Add(std::string_view key, const Tensor& tensor) {
  Impl& r = *impl_;
  CKPT_RETURN_IF_ERROR(r.status);
  if (r.finished) return FailedPreconditionError("BundleWriter::Add after Finish");
  if (key == kHeaderEntryKey) {
    return InvalidArgumentError("Tensor key must not be empty (the empty key holds the header)");
  }
  if (!IsStorable(tensor.dtype())) {
    return InvalidArgumentError("Cannot save tensor \"" + std::string(key) + "\" of dtype " +
                                std::string(DataTypeName(tensor.dtype())));
  }
  std::string k(key);
  if (r.entries.count(k)) return InvalidArgumentError("Adding duplicate key: " + k);
  tensorflow::BundleEntryProto entry;
  entry.set_dtype(static_cast<tensorflow::DataType>(tensor.dtype()));
  ShapeToProto(tensor.shape(), entry.mutable_shape());
  Status s = r.WriteTensor(tensor, &entry);
  if (!s.ok()) return r.Fail(s.WithContext("Writing tensor \"" + k + "\" to " + r.data_tmp.path()));
  r.entries.emplace(std::move(k), std::move(entry));
  return Status::OK();
}

Status BundleWriter::AddSlice(std::string_view full_key, const TensorShape& full_shape,
                              const TensorSlice& slice, const Tensor& slice_tensor) {
  Impl& r = *impl_;
  CKPT_RETURN_IF_ERROR(r.status);
  std::string key(full_key);
  CKPT_RETURN_IF_ERROR(slice.ValidateAgainst(full_shape).WithContext("AddSlice(\"" + key + "\")"));
  if (slice.CoversAll(full_shape)) return Add(full_key, slice_tensor);
  if (slice_tensor.shape() != slice.SliceShape(full_shape)) {
    return InvalidArgumentError("AddSlice(\"" + key + "\"): slice " + slice.DebugString() +
                                " of shape " + full_shape.DebugString() + " has shape " +
                                slice.SliceShape(full_shape).DebugString() +
                                " but the tensor given has shape " +
                                slice_tensor.shape().DebugString());
  }
  auto it = r.entries.find(key);
  if (it == r.entries.end()) {
    tensorflow::BundleEntryProto full;
    full.set_dtype(static_cast<tensorflow::DataType>(slice_tensor.dtype()));
    ShapeToProto(full_shape, full.mutable_shape());
    it = r.entries.emplace(key, std::move(full)).first;
  } else {
    auto existing_shape = ShapeFromProto(it->second.shape());
    if (it->second.slices_size() == 0 || !existing_shape.ok() ||
        *existing_shape != full_shape ||
        it->second.dtype() != static_cast<int>(slice_tensor.dtype())) {
      return InvalidArgumentError("AddSlice(\"" + key +
                                  "\"): conflicts with an earlier entry of that name "
                                  "(a whole tensor, or another shape or dtype)");
    }
  }
  for (const auto& sp : it->second.slices()) {
    auto prev = SliceFromProto(sp);
    if (prev.ok() && *prev == slice) {
      return InvalidArgumentError("AddSlice(\"" + key + "\"): slice " + slice.DebugString() +
                                  " was already added");
    }
  }
  SliceToProto(slice, it->second.add_slices());
  return Add(EncodeTensorNameSlice(full_key, slice), slice_tensor);
}

Status BundleWriter::Finish() {
  Impl& r = *impl_;
  if (r.finished) return FailedPreconditionError("BundleWriter::Finish called twice");
  if (r.options.num_shards != 1) {
    return FailedPreconditionError("BundleWriter::Finish on a writer of shard " +
                                   std::to_string(r.options.shard) + " of " +
                                   std::to_string(r.options.num_shards) + ": use FinishShard");
  }
  Status s = r.status;
  // Names published so far; unpublished again if a later step fails, so that
  // an error always means "no bundle".
  std::vector<std::string> published;
  if (s.ok()) {
    s = [&]() -> Status {
      // The index goes to its temporary file first, while the data file may
      // still be writing out its queued buffers (direct IO): building and
      // syncing it then costs no time of its own. The commit point is still
      // the index rename below, after the data file's.
      r.index_tmp = TempPath(r.env, r.index_path);
      CKPT_RETURN_IF_ERROR(
          WriteIndexFile(r.env, r.index_tmp.path(), 1, r.entries, r.options.sync));

      if (r.options.sync) CKPT_RETURN_IF_ERROR(r.data->Sync());
      CKPT_RETURN_IF_ERROR(r.data->Close());
      r.data.reset();
      // Re-saving over an existing bundle: unpublish its index first, so that
      // a process crash between the renames below leaves no bundle, never the
      // old index over the new data. (Not synced on its own: after a power
      // loss the deletion and renames persist in order, up to the final
      // directory sync.)
      if (r.env->FileExists(r.index_path)) {
        CKPT_RETURN_IF_ERROR(r.env->DeleteFile(r.index_path));
      }
      CKPT_RETURN_IF_ERROR(r.env->RenameFile(r.data_tmp.path(), r.data_path));
      r.data_tmp = TempPath();
      published.push_back(r.data_path);

      CKPT_RETURN_IF_ERROR(r.env->RenameFile(r.index_tmp.path(), r.index_path));
      r.index_tmp = TempPath();
      published.push_back(r.index_path);
      if (r.options.sync) {
        CKPT_RETURN_IF_ERROR(r.env->SyncDir(DirOf(r.prefix)));
      }
      return Status::OK();
    }();
  }
  r.finished = true;
  if (!s.ok()) {
    r.RemoveTemps();
    // Index first: its disappearance un-commits the bundle.
    for (auto it = published.rbegin(); it != published.rend(); ++it) {
      r.env->DeleteFile(*it).IgnoreError();
    }
    return s.WithContext("Could not write checkpoint " + r.prefix);
  }
  return s;
}

Result<std::string> BundleWriter::FinishShard() {
  Impl& r = *impl_;
  if (r.finished) return FailedPreconditionError("BundleWriter::FinishShard called twice");
  r.finished = true;
  bool renamed = false;
  Status s = r.status;
  if (s.ok()) {
    s = [&]() -> Status {
      if (r.options.sync) CKPT_RETURN_IF_ERROR(r.data->Sync());
      CKPT_RETURN_IF_ERROR(r.data->Close());
      r.data.reset();
      CKPT_RETURN_IF_ERROR(r.env->RenameFile(r.data_tmp.path(), r.data_path));
      r.data_tmp = TempPath();
      renamed = true;
      if (r.options.sync) CKPT_RETURN_IF_ERROR(r.env->SyncDir(DirOf(r.prefix)));
      return Status::OK();
    }();
  }
  if (!s.ok()) {
    r.RemoveTemps();
    if (renamed) r.env->DeleteFile(r.data_path).IgnoreError();
    return s.WithContext("Could not write shard " + std::to_string(r.options.shard) + " of " +
                         std::to_string(r.options.num_shards) + " of checkpoint " + r.prefix);
  }
  // Length-prefixed key and entry pairs; data entries name this shard.
  std::string out, value;
  for (auto& [key, entry] : r.entries) {
    if (entry.slices_size() == 0) entry.set_shard_id(r.options.shard);
    value.clear();
    entry.AppendToString(&value);
    PutLengthPrefixed(&out, key);
    PutLengthPrefixed(&out, value);
  }
  return out;
}

Status WriteBundleIndex(Env* env, const std::string& prefix, int num_shards,
                        const std::vector<std::string>& shard_entries, bool sync) {
  if (num_shards < 1 || static_cast<int>(shard_entries.size()) != num_shards) {
    return InvalidArgumentError("WriteBundleIndex: " + std::to_string(shard_entries.size()) +
                                " shards' entries for a bundle of " + std::to_string(num_shards) +
                                " shards");
  }
  std::map<std::string, tensorflow::BundleEntryProto> entries;
  std::map<std::string, int> whole_from;  // key of a whole tensor -> its shard
  for (int shard = 0; shard < num_shards; ++shard) {
    std::string_view in = shard_entries[shard];
    while (!in.empty()) {
      std::string_view key, value;
      if (!GetLengthPrefixed(&in, &key) || !GetLengthPrefixed(&in, &value)) {
        return DataLossError("WriteBundleIndex: the entries of shard " + std::to_string(shard) +
                             " of " + prefix + " are truncated");
      }
      tensorflow::BundleEntryProto entry;
      if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
          entry.shard_id() < 0 || entry.shard_id() >= num_shards) {
        return DataLossError("WriteBundleIndex: bad entry for \"" + std::string(key) +
                             "\" in shard " + std::to_string(shard) + " of " + prefix);
      }
      const std::string k(key);
      auto it = entries.find(k);
      if (it == entries.end()) {
        if (entry.slices_size() == 0) whole_from[k] = shard;
        entries.emplace(k, std::move(entry));
        continue;
      }
      tensorflow::BundleEntryProto& have = it->second;
      if (entry.slices_size() == 0 || have.slices_size() == 0) {
        const int other = whole_from.count(k) ? whole_from[k] : shard;
        return InvalidArgumentError("Duplicate tensor keyed by " + k +
                                    " encountered, when writing the index of " + prefix +
                                    " (shards " + std::to_string(std::min(other, shard)) + " and " +
                                    std::to_string(std::max(other, shard)) + ")");
      }
      if (entry.dtype() != have.dtype() ||
          entry.shape().SerializeAsString() != have.shape().SerializeAsString()) {
        return InvalidArgumentError("Slices of " + k + " in the shards of " + prefix +
                                    " differ in dtype or full shape");
      }
      for (const auto& slice : entry.slices()) *have.add_slices() = slice;
    }
  }
  const std::string index_path = MetaFilename(prefix);
  const TempPath temp(env, index_path);
  Status s = WriteIndexFile(env, temp.path(), num_shards, entries, sync);
  if (s.ok()) s = env->RenameFile(temp.path(), index_path);
  if (!s.ok()) {
    if (env->FileExists(temp.path())) env->DeleteFile(temp.path()).IgnoreError();
    return s.WithContext("Could not write the index of checkpoint " + prefix);
  }
  if (sync) {
    s = env->SyncDir(DirOf(prefix));
    if (!s.ok()) {
      env->DeleteFile(index_path).IgnoreError();
      return s.WithContext("Could not write the index of checkpoint " + prefix);
    }
  }
  return Status::OK();
}

}  // namespace ckpt
