// Checkpoint verification and directory surveys (see ckpt/verify.h).
//
// A V2 checkpoint is verified by opening its index (which checks the table's
// block CRCs), checking that every data file an entry refers to exists, and
// checksumming every stored entry (each per-slice entry and each whole
// tensor; BundleReader::VerifyEntries, which keeps no tensor); the full
// entry of a partitioned tensor is then read to check that its slices cover
// it. A V1 checkpoint is read through CheckpointReader, variable by variable.
#include "ckpt/verify.h"

#include <algorithm>
#include <map>
#include <set>

#include "checkpoint/leftovers.h"
#include "checkpoint/resolve.h"
#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/logging.h"
#include "env/temp_path.h"
#include "filenames/filenames.h"

namespace ckpt {
namespace {

Status VerifyV2(Env* env, const std::string& prefix) {
  BundleReaderOptions options;
  options.env = env;
  options.verify_checksums = true;
  CKPT_ASSIGN_OR_RETURN(auto reader, BundleReader::Open(prefix, options));
  std::set<int> shards;
  for (const BundleEntry& e : reader->entries()) {
    // Zero-byte entries need no data file (TF's reader never opens it).
    if (e.slices.empty() && e.size > 0) shards.insert(e.shard_id);
  }
  for (int shard : shards) {
    const std::string path = DataFilename(prefix, shard, reader->num_shards());
    if (!env->FileExists(path)) {
      return NotFoundError("Checkpoint " + prefix + " is missing data file " + path +
                           " (its index refers to " + std::to_string(shards.size()) + " of " +
                           std::to_string(reader->num_shards()) + " data files)");
    }
  }
  CKPT_RETURN_IF_ERROR(reader->VerifyEntries());
  for (const BundleEntry& e : reader->entries()) {
    if (e.slices.empty()) continue;
    auto t = reader->Read(e.key);
    if (!t.ok()) return t.status();
  }
  return Status::OK();
}

Status VerifyV1(Env* env, const std::string& prefix) {
  CheckpointReaderOptions options;
  options.env = env;
  options.verify_checksums = true;
  CKPT_ASSIGN_OR_RETURN(auto reader, CheckpointReader::Open(prefix, options));
  for (const VariableInfo& v : reader->variables()) {
    auto t = reader->GetTensor(v.name);
    if (!t.ok()) return t.status();
  }
  return Status::OK();
}

// A temporary file of ckpt's (env/temp_path.h) or of another writer's.
bool IsTempName(const std::string& name) {
  return ParseTempName(name).has_value() || IsForeignTempName(name);
}

bool IsFileOf(const std::string& base, const std::string& name) {
  return !IsTempName(name) && IsFileOfCheckpoint(name, base);
}

// What is on disk of `c`'s checkpoint: its files, whether it committed, its
// modification time. `c->status` is OK if committed (not verified yet).
void Describe(Env* env, const std::vector<std::string>& names, const std::string& listed_dir,
              CheckpointSummary* c) {
  const std::string& prefix = c->resolved_prefix.empty() ? c->prefix : c->resolved_prefix;
  c->step = StepOf(c->prefix);
  const std::string dir(Dirname(prefix));
  const std::string base(Basename(prefix));
  std::vector<std::string> own;
  const std::vector<std::string>* list = &names;
  if (dir != listed_dir) {
    auto children = env->GetChildren(dir.empty() ? "." : dir);
    if (children.ok()) own = std::move(children).value();
    std::sort(own.begin(), own.end());
    list = &own;
  }
  // The list is sorted and every file of a V2 checkpoint (and the V1 file
  // itself) starts with `base`: only that range is looked at, so surveying
  // a directory of C checkpoints costs about C log C name tests, not C times
  // the directory's size. A V1 glob can match anywhere: the whole list.
  auto begin = list->begin(), end = list->end();
  if (!V1PathIsGlob(base)) {
    begin = std::lower_bound(list->begin(), list->end(), base);
    end = begin;
    while (end != list->end() && std::string_view(*end).substr(0, base.size()) == base) ++end;
  }
  for (auto it = begin; it != end; ++it) {
    const std::string& name = *it;
    if (!IsFileOf(base, name)) continue;
    const std::string path = JoinPath(dir, name);
    if (env->IsDirectory(path)) continue;
    auto size = env->GetFileSize(path);
    c->files.push_back({path, size.ok() ? *size : 0});
  }
  c->committed = CheckpointExists(env, prefix);
  if (c->committed) {
    // The .index (V2), else the first V1 file.
    std::string stamp_file = MetaFilename(prefix);
    if (!env->FileExists(stamp_file)) {
      for (const CheckpointFile& f : c->files) {
        if (!HasMetaGraphSuffix(f.path)) {
          stamp_file = f.path;
          break;
        }
      }
    }
    auto mtime = env->GetModificationTime(stamp_file);
    if (mtime.ok()) c->mtime = *mtime;
    c->status = Status::OK();
  } else {
    c->status = NotFoundError("Checkpoint " + c->prefix +
                              " does not exist (no .index file and no V1 checkpoint file)");
  }
}

// Reads every committed checkpoint of `checkpoints` (VerifyCheckpoint),
// reporting progress by bytes.
void VerifyCommitted(Env* env, const SurveyOptions& options,
                     std::vector<CheckpointSummary>* checkpoints) {
  uint64_t total = 0, done = 0;
  for (const CheckpointSummary& c : *checkpoints) {
    if (c.committed) total += c.total_size();
  }
  for (CheckpointSummary& c : *checkpoints) {
    if (!c.committed) continue;
    c.status = VerifyCheckpoint(env, c.resolved_prefix.empty() ? c.prefix : c.resolved_prefix);
    done += c.total_size();
    if (options.on_progress) options.on_progress(done, total);
  }
}

}  // namespace

Status VerifyCheckpoint(Env* env, const std::string& prefix) {
  if (env == nullptr) return InvalidArgumentError("VerifyCheckpoint: env is null");
  std::optional<CheckpointOnDisk> found = FindCheckpoint(env, prefix);
  if (!found) {
    return NotFoundError("Checkpoint " + prefix + " not found: there is no " +
                         MetaFilename(prefix) + " (V2) and no V1 checkpoint file of that name");
  }
  Status s = found->format == CheckpointReader::Format::kV2 ? VerifyV2(env, prefix)
                                                            : VerifyV1(env, prefix);
  return s.WithContext("Checkpoint " + prefix + " failed verification");
}

uint64_t CheckpointSummary::total_size() const {
  uint64_t total = 0;
  for (const CheckpointFile& f : files) total += f.size;
  return total;
}

bool DirectoryReport::ok() const {
  if (!state_status.ok() && state_status.code() != StatusCode::kNotFound) return false;
  for (const CheckpointSummary& c : checkpoints) {
    if (!c.status.ok()) return false;
  }
  return true;
}

Result<DirectoryReport> SurveyCheckpointDirectory(Env* env, const std::string& dir,
                                                  const SurveyOptions& options) {
  if (env == nullptr) return InvalidArgumentError("SurveyCheckpointDirectory: env is null");
  DirectoryReport report;
  report.dir = dir;
  report.state_file = JoinPath(dir, options.latest_filename);
  if (!env->IsDirectory(dir.empty() ? "." : dir)) {
    return NotFoundError("Checkpoint directory " + dir + " does not exist or is not a directory");
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(dir.empty() ? "." : dir));
  std::sort(names.begin(), names.end());

  std::set<std::string> seen;  // prefixes as found on disk (resolved)
  auto state = GetCheckpointState(env, dir, options.latest_filename);
  report.state_status = state.status();
  if (state.ok()) {
    std::vector<std::string> listed = state->all_model_checkpoint_paths;
    if (std::find(listed.begin(), listed.end(), state->model_checkpoint_path) == listed.end()) {
      listed.push_back(state->model_checkpoint_path);
    }
    for (size_t i = 0; i < listed.size(); ++i) {
      CheckpointSummary c;
      c.prefix = listed[i];
      c.in_state_file = true;
      c.newest = listed[i] == state->model_checkpoint_path;
      if (i < state->all_model_checkpoint_paths.size() &&
          state->all_model_checkpoint_timestamps.size() ==
              state->all_model_checkpoint_paths.size()) {
        c.state_timestamp = state->all_model_checkpoint_timestamps[i];
      }
      std::string resolved = ResolveRecordedPath(env, dir, c.prefix);
      if (!resolved.empty() && resolved != c.prefix) c.resolved_prefix = resolved;
      Describe(env, names, dir, &c);
      seen.insert(resolved.empty() ? c.prefix : resolved);
      report.checkpoints.push_back(std::move(c));
    }
  }

  // Checkpoints on disk the state file does not name.
  std::vector<CheckpointSummary> unlisted;
  std::set<std::string> basenames;
  for (const CheckpointSummary& c : report.checkpoints) {
    std::string b = StepBasename(c.prefix);
    if (!b.empty()) basenames.insert(b);
  }
  for (const std::string& name : names) {
    std::optional<std::string_view> index_of = IndexFilePrefix(name);
    if (!index_of || IsTempName(name)) continue;
    std::string prefix = JoinPath(dir, *index_of);
    if (seen.count(prefix) || env->IsDirectory(JoinPath(dir, name))) continue;
    CheckpointSummary c;
    c.prefix = prefix;
    Describe(env, names, dir, &c);
    std::string b = StepBasename(prefix);
    if (!b.empty()) basenames.insert(b);
    unlisted.push_back(std::move(c));
  }
  std::sort(unlisted.begin(), unlisted.end(),
            [](const CheckpointSummary& a, const CheckpointSummary& b) {
              int64_t sa = a.step.value_or(-1), sb = b.step.value_or(-1);
              return sa != sb ? sa < sb : a.prefix < b.prefix;
            });
  for (CheckpointSummary& c : unlisted) report.checkpoints.push_back(std::move(c));
  if (options.verify) VerifyCommitted(env, options, &report.checkpoints);

  // Data files with a step-numbered name but no index also reveal basenames.
  for (const std::string& name : names) {
    std::optional<std::string_view> stem = DataFileStem(name);
    if (!stem || IsTempName(name)) continue;
    std::string b = StepBasename(*stem);
    if (!b.empty()) basenames.insert(b);
  }
  std::set<std::string> leftovers;
  if (basenames.empty()) basenames.insert("");
  for (const std::string& b : basenames) {
    LeftoverOwner owner;
    owner.checkpoint_basename = b;
    owner.file_names = {options.latest_filename};
    auto found = FindLeftovers(env, dir, owner, /*caller_holds_writer_lock=*/false);
    if (!found.ok()) return found.status().WithContext("Looking for leftovers in " + dir);
    for (const Leftover& l : *found) {
      if (!leftovers.insert(l.path).second) continue;
      (l.in_progress ? report.in_progress : report.leftovers).push_back(l.path);
    }
  }

  // A writer may have moved on while we read: a checkpoint that failed
  // because its files disappeared and that the state file no longer names
  // was deleted by retention during the scan, not damaged.
  auto now_state = GetCheckpointState(env, dir, options.latest_filename);
  std::vector<CheckpointSummary> kept;
  for (CheckpointSummary& c : report.checkpoints) {
    const std::string& prefix = c.resolved_prefix.empty() ? c.prefix : c.resolved_prefix;
    if (!c.status.ok() && !CheckpointExists(env, prefix)) {
      bool still_named = false;
      if (now_state.ok()) {
        still_named = now_state->model_checkpoint_path == c.prefix ||
                      std::find(now_state->all_model_checkpoint_paths.begin(),
                                now_state->all_model_checkpoint_paths.end(),
                                c.prefix) != now_state->all_model_checkpoint_paths.end();
      }
      if (!still_named) {
        report.deleted_during_scan.push_back(c.prefix);
        continue;
      }
    }
    kept.push_back(std::move(c));
  }
  report.checkpoints = std::move(kept);
  return report;
}

}  // namespace ckpt
