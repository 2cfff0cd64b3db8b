// MergeBundles, TensorFlow's MergeV2Checkpoints: combine per-shard bundles
// into one prefix. Data files are renamed (never copied) to
// P.data-<new id>-of-<count>, entries are rewritten with the new shard ids,
// P.index is written last (through a temporary name), then the source .index
// files and, with delete_old_dirs, their now-empty directories are removed.
#include <map>

#include "bundle/bundle_internal.h"
#include "table/table.h"

namespace ckpt {

Status MergeBundles(Env* env, const std::vector<std::string>& prefixes,
                    const std::string& merged_prefix, bool delete_old_dirs) {
  if (prefixes.empty()) return InvalidArgumentError("MergeBundles: no input prefixes");
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
  std::string dir(Dirname(merged_prefix));
  if (!dir.empty()) CKPT_RETURN_IF_ERROR(env->CreateDirs(dir));
  // Merging over an existing bundle: unpublish its index before its data
  // files are replaced, so that a crash never pairs the old index with new data.
  if (env->FileExists(MetaFilename(merged_prefix))) {
    CKPT_RETURN_IF_ERROR(env->DeleteFile(MetaFilename(merged_prefix)));
  }
  for (const auto& [old_path, id] : renames) {
    CKPT_RETURN_IF_ERROR(
        env->RenameFile(old_path, DataFilename(merged_prefix, id, num_data_files)));
  }
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(num_data_files);
  header.set_endianness(tensorflow::BundleHeaderProto::LITTLE);
  header.mutable_version()->ParseFromString(version);

  const std::string index_path = MetaFilename(merged_prefix);
  const std::string tmp = index_path + ".tempstate" + std::to_string(env->Random64());
  Status s = [&]() -> Status {
    CKPT_ASSIGN_OR_RETURN(auto out, env->NewWritableFile(tmp));
    auto table = TableWriter::Create(out.get(), tmp);
    CKPT_RETURN_IF_ERROR(table->Add("", header.SerializeAsString()));
    for (const auto& [k, v] : merged) CKPT_RETURN_IF_ERROR(table->Add(k, v));
    CKPT_RETURN_IF_ERROR(table->Finish());
    CKPT_RETURN_IF_ERROR(out->Sync());
    CKPT_RETURN_IF_ERROR(out->Close());
    CKPT_RETURN_IF_ERROR(env->RenameFile(tmp, index_path));
    return env->SyncDir(dir.empty() ? "." : dir);
  }();
  if (!s.ok()) {
    if (env->FileExists(tmp)) env->DeleteFile(tmp).IgnoreError();
    return s.WithContext("Merging into " + merged_prefix);
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
