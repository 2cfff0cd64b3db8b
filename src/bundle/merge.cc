// MergeBundles, TensorFlow's MergeV2Checkpoints: combine per-shard bundles
// into one prefix. Data files are renamed (never copied) to
// P.data-<new id>-of-<count>, entries are rewritten with the new shard ids,
// P.index is written last (through a temporary name, synced, renamed, the
// directory synced), then the source .index files and, with delete_old_dirs,
// their now-empty directories are removed.
//
// Failure: everything is read and checked before any file moves. Once the
// first data file has moved, a failed step (a rename, the index write, its
// rename, the directory sync) is undone: a published P.index is removed, the
// temporary index is removed, and every moved data file is renamed back to its
// source name, last moved first. The sources then read as before and nothing
// is left under P. The original error is returned; a step of the undo that
// failed too is named in its message.
//
// A bundle already at P is replaced: its index is removed before any data file
// moves (so the old index never describes new data). A failed merge does not
// bring it back: P is left without an index, and those of its data files that
// a moved file had replaced are gone.
#include "ckpt/merge.h"

#include <map>
#include <set>

#include "bundle/bundle_internal.h"
#include "ckpt/filenames.h"
#include "ckpt/writer_lock.h"
#include "env/temp_path.h"
#include "table/table.h"

namespace ckpt {
namespace {

// Undoes a failed merge (see the top of this file) and returns `error`, with
// any step of the undo that failed too appended to its message. `published`
// is the merged index if it was already renamed into place, `made_dir` the
// merged prefix's directory if the merge created it ("" for neither).
Status UndoMerge(Env* env, const Status& error,
                 const std::vector<std::pair<std::string, std::string>>& moved,
                 const std::string& published, const std::string& tmp,
                 const std::string& made_dir) {
  if (!published.empty()) {
    Status d = env->DeleteFile(published);
    if (!d.ok()) {
      // The merged bundle is whole and readable: keep its data files in place
      // rather than leave an index that points at nothing.
      return Status(error.code(),
                    error.message() + "; undoing the merge failed too: could not remove " +
                        published + " (" + d.ToString() +
                        "), so the merged bundle stays and its sources' data files stay moved");
    }
  }
  if (env->FileExists(tmp)) env->DeleteFile(tmp).IgnoreError();
  std::string failed;
  std::set<std::string> dirs;
  for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
    Status m = env->RenameFile(it->second, it->first);
    if (!m.ok()) {
      failed += (failed.empty() ? "" : ", ") + it->second + " -> " + it->first + " (" +
                m.ToString() + ")";
    }
    dirs.insert(std::string(Dirname(it->first)));
    dirs.insert(std::string(Dirname(it->second)));
  }
  for (const std::string& d : dirs) env->SyncDir(d.empty() ? "." : d).IgnoreError();
  if (!made_dir.empty()) env->DeleteDir(made_dir).IgnoreError();  // only if left empty
  if (failed.empty()) return error;
  return Status(error.code(),
                error.message() + "; undoing the merge failed too: could not move back " + failed);
}

}  // namespace

Status MergeBundles(Env* env, const std::vector<std::string>& prefixes,
                    const std::string& merged_prefix, bool delete_old_dirs) {
  MergeOptions options;
  options.delete_old_dirs = delete_old_dirs;
  return MergeBundles(env, prefixes, merged_prefix, options);
}

Status MergeBundles(Env* env, const std::vector<std::string>& prefixes,
                    const std::string& merged_prefix, const MergeOptions& options) {
  const bool delete_old_dirs = options.delete_old_dirs;
  if (prefixes.empty()) return InvalidArgumentError("MergeBundles: no input prefixes");
  // Merging a bundle into its own prefix would rename data files over each
  // other's names and delete the merged index as a source index afterwards.
  std::set<std::string_view> seen;
  for (const std::string& p : prefixes) {
    if (p == merged_prefix) {
      return InvalidArgumentError("MergeBundles: the merged prefix \"" + merged_prefix +
                                  "\" is also one of the inputs; merge into a new prefix");
    }
    if (!seen.insert(p).second) {
      return InvalidArgumentError("MergeBundles: input prefix \"" + p + "\" is listed twice");
    }
  }
  struct Source {
    std::string prefix;
    int num_shards;
  };
  std::vector<Source> sources;
  std::map<std::string, std::string> merged;  // key -> serialized entry
  std::map<std::string, tensorflow::BundleEntryProto> sliced;  // full entries, slices merged
  std::string version;
  int total_shards = 0;
  // (source index, source shard) -> new shard id, in first-seen order.
  std::map<std::pair<size_t, int>, int> shard_map;
  std::vector<std::pair<std::string, int>> renames;  // old data path, new id

  // Progress is the bytes of the source indexes read (the data files are
  // renamed, never read).
  uint64_t index_bytes_total = 0, index_bytes_done = 0;
  std::vector<uint64_t> index_bytes(prefixes.size(), 0);
  if (options.on_progress) {
    for (size_t i = 0; i < prefixes.size(); ++i) {
      auto size = env->GetFileSize(MetaFilename(prefixes[i]));
      index_bytes[i] = size.ok() ? *size : 0;
      index_bytes_total += index_bytes[i];
    }
  }
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const std::string index_path = MetaFilename(prefixes[i]);
    CKPT_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(index_path));
    CKPT_ASSIGN_OR_RETURN(auto table, TableReader::Open(std::move(file), index_path));
    tensorflow::BundleHeaderProto header;
    bool saw_header = false;
    Status s = table->ForEach([&](std::string_view key, std::string_view value) -> Status {
      if (!saw_header) {
        if (!key.empty() || !header.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return DataLossError("Merging " + index_path + ": missing bundle header");
        }
        saw_header = true;
        CKPT_RETURN_IF_ERROR(bundle_internal::CheckHeader(header, index_path));
        std::string v = header.version().SerializeAsString();
        if (i == 0) {
          version = v;
        } else if (v != version) {
          return InvalidArgumentError("Merging bundles with different format versions: " +
                                      index_path + " differs from " + MetaFilename(prefixes[0]));
        }
        total_shards += header.num_shards();
        return Status::OK();
      }
      tensorflow::BundleEntryProto entry;
      if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return DataLossError("Merging " + index_path + ": bad entry for \"" + std::string(key) + "\"");
      }
      std::string k(key);
      if (entry.slices_size() > 0) {
        auto [it, fresh] = sliced.emplace(k, entry);
        if (!fresh) {
          for (const auto& sl : entry.slices()) *it->second.add_slices() = sl;
        }
        return Status::OK();
      }
      if (merged.count(k) || sliced.count(k)) {
        return InvalidArgumentError("Duplicate tensor keyed by " + k +
                                    " encountered, when merging prefix: " + prefixes[i]);
      }
      if (entry.shard_id() < 0 || entry.shard_id() >= header.num_shards()) {
        return DataLossError("Merging " + index_path + ": entry \"" + k + "\" has bad shard id");
      }
      auto sk = std::make_pair(i, entry.shard_id());
      auto found = shard_map.find(sk);
      if (found == shard_map.end()) {
        int id = static_cast<int>(shard_map.size());
        found = shard_map.emplace(sk, id).first;
        renames.emplace_back(DataFilename(prefixes[i], entry.shard_id(), header.num_shards()), id);
      }
      entry.set_shard_id(found->second);
      merged.emplace(std::move(k), entry.SerializeAsString());
      return Status::OK();
    });
    CKPT_RETURN_IF_ERROR(s);
    if (!saw_header) return DataLossError("Merging " + index_path + ": empty index");
    sources.push_back({prefixes[i], header.num_shards()});
    if (options.on_progress) {
      index_bytes_done += index_bytes[i];
      options.on_progress(index_bytes_done, index_bytes_total);
    }
  }
  for (auto& [k, e] : sliced) {
    if (merged.count(k)) {
      return InvalidArgumentError("Duplicate tensor keyed by " + k +
                                  " encountered, when merging (whole and partitioned)");
    }
    merged.emplace(k, e.SerializeAsString());
  }

  // Named and counted by the summed shard count of the inputs (as TensorFlow's
  // header does); equal to the number of data files unless an input shard
  // held no tensors.
  const int num_data_files = total_shards;
  const std::string dir(Dirname(merged_prefix));
  const std::string sync_dir = dir.empty() ? "." : dir;
  const bool made_dir = !dir.empty() && !env->IsDirectory(dir);
  if (made_dir) CKPT_RETURN_IF_ERROR(env->CreateDirs(dir));
  // One writer per directory (ckpt/writer_lock.h); shared with a Saver of
  // this process that merges its shards.
  Result<std::shared_ptr<WriterLock>> lock = WriterLock::Acquire(env, dir);
  if (!lock.ok()) {
    if (made_dir) env->DeleteDir(dir).IgnoreError();
    return lock.status().WithContext("MergeBundles into " + merged_prefix);
  }
  const std::string index_path = MetaFilename(merged_prefix);
  // Merging over an existing bundle: unpublish its index before its data
  // files are replaced, so that a crash never pairs the old index with new data.
  if (env->FileExists(index_path)) CKPT_RETURN_IF_ERROR(env->DeleteFile(index_path));

  tensorflow::BundleHeaderProto header;
  header.set_num_shards(num_data_files);
  header.set_endianness(tensorflow::BundleHeaderProto::LITTLE);
  header.mutable_version()->ParseFromString(version);

  const TempPath temp(env, index_path);
  const std::string& tmp = temp.path();
  std::vector<std::pair<std::string, std::string>> moved;  // (source name, merged name)
  bool published = false;
  Status s = [&]() -> Status {
    for (const auto& [old_path, id] : renames) {
      std::string to = DataFilename(merged_prefix, id, num_data_files);
      CKPT_RETURN_IF_ERROR(env->RenameFile(old_path, to));
      moved.emplace_back(old_path, std::move(to));
    }
    CKPT_ASSIGN_OR_RETURN(auto out, env->NewWritableFile(tmp));
    auto table = TableWriter::Create(out.get(), tmp);
    CKPT_RETURN_IF_ERROR(table->Add("", header.SerializeAsString()));
    for (const auto& [k, v] : merged) CKPT_RETURN_IF_ERROR(table->Add(k, v));
    CKPT_RETURN_IF_ERROR(table->Finish());
    CKPT_RETURN_IF_ERROR(out->Sync());
    CKPT_RETURN_IF_ERROR(out->Close());
    CKPT_RETURN_IF_ERROR(env->RenameFile(tmp, index_path));
    published = true;
    return env->SyncDir(sync_dir);
  }();
  if (!s.ok()) {
    return UndoMerge(env, s.WithContext("Merging into " + merged_prefix), moved,
                     published ? index_path : "", tmp, made_dir ? dir : "");
  }

  for (const Source& src : sources) {
    env->DeleteFile(MetaFilename(src.prefix)).IgnoreError();
    std::string src_dir(Dirname(src.prefix));
    if (delete_old_dirs && src_dir != dir && !src_dir.empty()) {
      env->DeleteDir(src_dir).IgnoreError();
    }
  }
  return Status::OK();
}

}  // namespace ckpt
