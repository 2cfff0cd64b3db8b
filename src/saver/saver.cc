// Saver: TensorFlow 1's tf.compat.v1.train.Saver (saving and bookkeeping).
//
// A save, in order (as TF1's Saver.save, except that the .meta comes before
// the state file):
//   0. The directory's WriterLock is taken (on the first save into it; held
//      until the Saver is destroyed): one writer process per directory.
//   1. Leftovers of this Saver's crashed saves in the directory are removed
//      (checkpoint/leftovers.h: its own temporary names only).
//   2. The tensors are written: one bundle straight to the prefix (BundleWriter
//      publishes P.index last), or, sharded, one bundle per device under
//      "<P>_temp.ckpt-tmp.<pid>.<hex>/part-SSSSS-of-NNNNN" merged into P by
//      MergeBundles.
//      The per-device bundles are written concurrently (shard_write_threads);
//      nothing is merged unless every one of them was written.
//   3. The .meta file is written by the caller's meta_graph_writer (durable
//      before the next step names the checkpoint).
//   4. With write_state: the prefix is recorded in last_checkpoints (oldest
//      one moved to a deletion queue beyond max_to_keep), the state file is
//      rewritten atomically (the commit point of the whole checkpoint), and
//      at most one queued checkpoint is deleted unless the keep-every-N-hours
//      schedule keeps it.
// A crash before the state file is rewritten leaves the previous state valid.
#include "ckpt/saver.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <set>
#include <system_error>
#include <thread>

#include "checkpoint/leftovers.h"
#include "checkpoint/resolve.h"
#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/logging.h"
#include "ckpt/writer_lock.h"
#include "env/temp_path.h"
#include "filenames/filenames.h"
#include "saver/restore.h"
#include "saver/write_hooks.h"

namespace ckpt {
namespace {

std::string DirOrDot(std::string_view dir) { return dir.empty() ? "." : std::string(dir); }

// Deletes `path` if it exists; NotFound is not an error.
Status DeleteIfExists(Env* env, const std::string& path) {
  if (!env->FileExists(path)) return Status::OK();
  Status s = env->DeleteFile(path);
  if (s.code() == StatusCode::kNotFound) return Status::OK();
  return s;
}

// Moves the tensors `hooks` wants first to the front, keeping the order
// within both groups.
void OrderForHooks(const saver_internal::WriteHooks& hooks,
                   std::vector<const SaveableTensor*>* tensors) {
  if (!hooks.write_first) return;
  std::stable_partition(tensors->begin(), tensors->end(),
                        [&](const SaveableTensor* t) { return hooks.write_first(*t); });
}

// Writes `tensors` in their order, calling hooks.written after each one.
// `abandon`, if set, is asked before each tensor and before publishing; when
// it returns true the write stops unpublished (temporary files removed) with
// an error the caller discards.
Status WriteBundle(Env* env, const std::string& prefix,
                   const std::vector<const SaveableTensor*>& tensors, bool direct_io,
                   const saver_internal::WriteHooks& hooks,
                   const std::function<bool()>& abandon = nullptr) {
  BundleWriterOptions wo;
  wo.env = env;
  wo.direct_io = direct_io;
  CKPT_ASSIGN_OR_RETURN(auto writer, BundleWriter::Create(prefix, wo));
  for (const SaveableTensor* t : tensors) {
    if (abandon && abandon()) return FailedPreconditionError("Abandoned writing " + prefix);
    if (t->full_shape) {
      CKPT_RETURN_IF_ERROR(writer->AddSlice(t->name, *t->full_shape, t->slice, *t->tensor));
    } else {
      CKPT_RETURN_IF_ERROR(writer->Add(t->name, *t->tensor));
    }
    if (hooks.written) hooks.written(*t);
  }
  if (abandon && abandon()) return FailedPreconditionError("Abandoned writing " + prefix);
  return writer->Finish();
}

// One per-device bundle of a sharded save.
struct ShardJob {
  std::string prefix;  // "<P>_temp.ckpt-tmp.<pid>.<hex>/part-SSSSS-of-NNNNN"
  std::string device;
  const std::vector<const SaveableTensor*>* tensors;
};

// Writes every shard's bundle, up to `threads` at once (the calling thread is
// one of them; shards are started in order). Returns the error of the
// lowest-numbered failing shard, whatever the timing: a failure abandons only
// higher-numbered shards (whose errors could not be the one returned), and
// lower-numbered ones run to their end. Every shard has finished or been
// abandoned, its temporary files removed, when this returns.
Status WriteShards(Env* env, const std::vector<ShardJob>& jobs, int threads, bool direct_io,
                   const saver_internal::WriteHooks& hooks) {
  const int n = static_cast<int>(jobs.size());
  std::vector<Status> results(jobs.size());
  std::atomic<int> lowest_failed{n};
  std::atomic<int> next{0};
  auto work = [&] {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      if (lowest_failed.load() < i) continue;
      const ShardJob& job = jobs[i];
      Status s = WriteBundle(env, job.prefix, *job.tensors, direct_io, hooks,
                             [&lowest_failed, i] { return lowest_failed.load() < i; });
      if (s.ok()) continue;
      results[i] = s.WithContext("Writing shard " + std::to_string(i) + " of " +
                                 std::to_string(n) + " (device \"" + job.device + "\") to " +
                                 job.prefix);
      int lowest = lowest_failed.load();
      while (i < lowest && !lowest_failed.compare_exchange_weak(lowest, i)) {
      }
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < std::min(threads, n); ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // go on with the threads we got; the calling thread always works
    }
  }
  work();
  for (std::thread& t : helpers) t.join();
  for (const Status& s : results) {
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status ValidateVarList(const VarList& vars) {
  if (vars.empty()) return InvalidArgumentError("No variables to save");
  std::map<std::string, std::vector<const SaveableTensor*>> by_name;
  for (const SaveableTensor& v : vars) {
    if (v.name.empty()) {
      return InvalidArgumentError(
          "A variable has an empty name (the empty key holds the bundle header)");
    }
    if (v.tensor == nullptr) {
      return InvalidArgumentError("Variable \"" + v.name + "\" has a null tensor");
    }
    if (!IsStorable(v.tensor->dtype())) {
      return InvalidArgumentError("Variable \"" + v.name + "\" has dtype " +
                                  std::string(DataTypeName(v.tensor->dtype())) +
                                  ", which a checkpoint cannot store");
    }
    if (v.full_shape) {
      Status s = v.slice.ValidateAgainst(*v.full_shape);
      if (!s.ok()) {
        return InvalidArgumentError("Variable \"" + v.name + "\": slice \"" +
                                    v.slice.DebugString() + "\" does not fit full shape " +
                                    v.full_shape->DebugString() + ": " + s.message());
      }
      TensorShape expected = v.slice.SliceShape(*v.full_shape);
      if (expected != v.tensor->shape()) {
        return InvalidArgumentError("Variable \"" + v.name + "\": slice \"" +
                                    v.slice.DebugString() + "\" of full shape " +
                                    v.full_shape->DebugString() + " has shape " +
                                    expected.DebugString() + " but its tensor has shape " +
                                    v.tensor->shape().DebugString());
      }
    }
    by_name[v.name].push_back(&v);
  }
  for (const auto& [name, parts] : by_name) {
    if (parts.size() < 2) continue;
    const SaveableTensor& first = *parts[0];
    // Distinct slices: a set of their texts (equal texts <=> equal slices),
    // not a comparison of every pair, which is quadratic in the partitions.
    std::set<std::string> slices;
    for (const SaveableTensor* part : parts) {
      const SaveableTensor& p = *part;
      bool ok = p.full_shape && first.full_shape && *p.full_shape == *first.full_shape &&
                p.tensor->dtype() == first.tensor->dtype() &&
                slices.insert(p.slice.DebugString()).second;
      if (!ok) {
        return InvalidArgumentError("At least two variables have the same name: " + name +
                                    " (only distinct slices of one partitioned variable, with "
                                    "the same dtype and full shape, may share a name)");
      }
    }
  }
  return Status::OK();
}

}  // namespace

VarList VarListFromMap(const std::map<std::string, Tensor*>& vars) {
  VarList out;
  for (const auto& [name, tensor] : vars) {
    SaveableTensor t;
    t.name = name;
    t.tensor = tensor;
    out.push_back(std::move(t));
  }
  return out;
}

Status RemoveCheckpoint(Env* env, const std::string& prefix, const std::string& meta_suffix) {
  Status first;
  auto note = [&](Status s) {
    if (!s.ok() && first.ok()) first = s;
  };
  note(DeleteIfExists(env, MetaGraphFilename(prefix, meta_suffix)));
  note(DeleteIfExists(env, MetaFilename(prefix)));
  const std::string dir(Dirname(prefix));
  const std::string base(Basename(prefix));
  auto children = env->GetChildren(DirOrDot(dir));
  if (!children.ok()) {
    if (children.status().code() != StatusCode::kNotFound) note(children.status());
    return first;
  }
  for (const std::string& c : *children) {
    if (!MatchesDataFileGlob(c, base)) continue;
    note(DeleteIfExists(env, dir.empty() ? c : JoinPath(dir, c)));
  }
  return first;
}

struct Saver::Impl {
  VarList vars;  // sorted by name, slices of a name in list order
  SaverOptions options;
  std::vector<std::pair<std::string, double>> last;
  std::deque<std::pair<std::string, double>> to_delete;
  double next_checkpoint_time = 0;
  // The writer locks of the directories saved into (see Save).
  std::map<std::string, std::shared_ptr<WriterLock>> locks;
  saver_internal::WriteHooks hooks;  // AsyncSaver's (saver/write_hooks.h)

  Status Write(const std::string& prefix);
  void RecordLastCheckpoint(const std::string& path);
  void MaybeDeleteOldCheckpoints(const std::string& meta_suffix);
};

Saver::Saver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Saver::~Saver() = default;

Result<std::unique_ptr<Saver>> Saver::Create(VarList var_list, SaverOptions options) {
  if (options.env == nullptr) return InvalidArgumentError("SaverOptions.env is null");
  if (options.max_to_keep < 0) {
    return InvalidArgumentError("SaverOptions.max_to_keep must be >= 0 (0 keeps every "
                                "checkpoint), got " + std::to_string(options.max_to_keep));
  }
  if (options.shard_write_threads < 0) {
    return InvalidArgumentError("SaverOptions.shard_write_threads must be >= 0 (0 = one per "
                                "device, up to the number of cores), got " +
                                std::to_string(options.shard_write_threads));
  }
  if (!(options.keep_checkpoint_every_n_hours > 0)) {
    return InvalidArgumentError("SaverOptions.keep_checkpoint_every_n_hours must be > 0, got " +
                                std::to_string(options.keep_checkpoint_every_n_hours));
  }
  CKPT_RETURN_IF_ERROR(ValidateVarList(var_list));
  auto impl = std::make_unique<Impl>();
  std::stable_sort(var_list.begin(), var_list.end(),
                   [](const SaveableTensor& a, const SaveableTensor& b) { return a.name < b.name; });
  impl->vars = std::move(var_list);
  impl->options = std::move(options);
  impl->next_checkpoint_time =
      impl->options.env->NowSeconds() + impl->options.keep_checkpoint_every_n_hours * 3600;
  return std::unique_ptr<Saver>(new Saver(std::move(impl)));
}

Status Saver::Impl::Write(const std::string& prefix) {
  Env* env = options.env;
  if (options.bundle_writer) return options.bundle_writer(prefix, vars);
  if (!options.sharded) {
    std::vector<const SaveableTensor*> all;
    for (const SaveableTensor& v : vars) all.push_back(&v);
    OrderForHooks(hooks, &all);
    return WriteBundle(env, prefix, all, options.direct_io, hooks);
  }
  std::map<std::string, std::vector<const SaveableTensor*>> by_device;
  for (const SaveableTensor& v : vars) by_device[v.device].push_back(&v);
  for (auto& [device, tensors] : by_device) OrderForHooks(hooks, &tensors);
  const int n = static_cast<int>(by_device.size());
  const TempPath temp(env, ShardedSaveDirName(prefix));
  const std::string& temp_dir = temp.path();
  std::vector<std::string> shards;
  std::vector<ShardJob> jobs;
  for (const auto& [device, tensors] : by_device) {
    shards.push_back(ShardPartPrefix(temp_dir, static_cast<int>(shards.size()), n));
    jobs.push_back({shards.back(), device, &tensors});
  }
  int threads = options.shard_write_threads;
  if (threads == 0) {
    // A direct-IO writer keeps two threads busy (docs/benchmarks.md, "Saver options").
    const unsigned cores = std::thread::hardware_concurrency();
    threads = static_cast<int>(std::max(1u, options.direct_io ? cores / 2 : cores));
  }
  // Created here once rather than by each shard's writer at the same time.
  Status s = env->CreateDirs(temp_dir);
  if (s.ok()) s = WriteShards(env, jobs, threads, options.direct_io, hooks);
  if (s.ok()) s = MergeBundles(env, shards, prefix, /*delete_old_dirs=*/true);
  if (!s.ok()) {
    // Best effort: leave no shard behind (CleanupLeftovers would find it too).
    auto children = env->GetChildren(temp_dir);
    if (children.ok()) {
      for (const std::string& c : *children) env->DeleteFile(JoinPath(temp_dir, c)).IgnoreError();
    }
    env->DeleteDir(temp_dir).IgnoreError();
  }
  return s;
}

void Saver::Impl::RecordLastCheckpoint(const std::string& path) {
  if (options.max_to_keep == 0) return;
  last.erase(std::remove_if(last.begin(), last.end(),
                            [&](const auto& p) { return p.first == path; }),
             last.end());
  last.emplace_back(path, options.env->NowSeconds());
  if (static_cast<int>(last.size()) > options.max_to_keep) {
    to_delete.push_back(last.front());
    last.erase(last.begin());
  }
}

void Saver::Impl::MaybeDeleteOldCheckpoints(const std::string& meta_suffix) {
  if (to_delete.empty()) return;
  auto [path, time] = to_delete.front();
  to_delete.pop_front();
  if (time > next_checkpoint_time) {
    next_checkpoint_time += options.keep_checkpoint_every_n_hours * 3600;
    return;
  }
  Status s = RemoveCheckpoint(options.env, path, meta_suffix);
  if (!s.ok()) LogWarning("Ignoring: could not delete old checkpoint " + path + ": " + s.ToString());
}

Result<std::string> CheckpointPrefixForSave(const std::string& save_path, const SaveArgs& args,
                                            const SaverOptions& options) {
  if (save_path.empty()) return InvalidArgumentError("Saver::Save: save_path is empty");
  if (args.latest_filename.empty()) {
    return InvalidArgumentError("'latest_filename' must not be empty");
  }
  if (args.latest_filename.find('/') != std::string::npos) {
    return InvalidArgumentError("'latest_filename' must not contain path components: \"" +
                                args.latest_filename + "\"");
  }
  std::string checkpoint_file = save_path;
  if (args.global_step) {
    checkpoint_file = CheckpointPrefixWithStep(save_path, *args.global_step,
                                               options.pad_step_number ? 8 : 0);
  } else if (Basename(save_path) == args.latest_filename && !options.sharded) {
    return InvalidArgumentError("'latest_filename' collides with 'save_path': '" +
                                args.latest_filename + "' and '" + save_path + "'");
  }
  return checkpoint_file;
}

Result<std::string> Saver::Save(const std::string& save_path, const SaveArgs& args) {
  Impl& im = *impl_;
  Env* env = im.options.env;
  CKPT_ASSIGN_OR_RETURN(const std::string checkpoint_file,
                        CheckpointPrefixForSave(save_path, args, im.options));

  // SaveV2 creates the prefix's directory when its parent exists; a sharded
  // save creates "<prefix>_temp.ckpt-tmp.<pid>.<hex>" there instead, which needs it to exist.
  const std::string save_dir(Dirname(save_path));
  if (!env->IsDirectory(DirOrDot(save_dir))) {
    if (im.options.sharded || save_dir.empty() || !env->IsDirectory(DirOrDot(Dirname(save_dir)))) {
      return InvalidArgumentError("Parent directory of " + save_path +
                                  " doesn't exist, can't save.");
    }
    CKPT_RETURN_IF_ERROR(env->CreateDirs(save_dir));
  }

  std::shared_ptr<WriterLock>& lock = im.locks[DirOrDot(save_dir)];
  if (lock == nullptr) {
    CKPT_ASSIGN_OR_RETURN(lock,
                          WriterLock::Acquire(env, DirOrDot(save_dir), im.options.writer_lock));
  }

  LeftoverOwner owner;
  owner.checkpoint_basename = std::string(Basename(save_path));
  owner.file_names = {args.latest_filename};
  auto cleaned = CleanupLeftovers(env, DirOrDot(save_dir), owner);
  if (!cleaned.ok()) {
    LogWarning("Could not remove leftovers of an earlier save in " + DirOrDot(save_dir) + ": " +
               cleaned.status().ToString());
  }

  if (im.options.log_saves) LogInfo("Saving checkpoint to path " + checkpoint_file);
  CKPT_RETURN_IF_ERROR(im.Write(checkpoint_file));

  if (args.write_meta_graph && im.options.meta_graph_writer) {
    CKPT_RETURN_IF_ERROR(
        im.options.meta_graph_writer(MetaGraphFilename(checkpoint_file, args.meta_graph_suffix)));
  }
  if (args.write_state) {
    im.RecordLastCheckpoint(checkpoint_file);
    UpdateCheckpointStateOptions uo;
    uo.latest_filename = args.latest_filename;
    uo.save_relative_paths = im.options.save_relative_paths;
    CKPT_RETURN_IF_ERROR(UpdateCheckpointState(env, save_dir, checkpoint_file,
                                               last_checkpoints(), {}, std::nullopt, uo));
    im.MaybeDeleteOldCheckpoints(args.meta_graph_suffix);
  }
  return checkpoint_file;
}

void saver_internal::SaverAccess::SetWriteHooks(Saver& saver, WriteHooks hooks) {
  saver.impl_->hooks = std::move(hooks);
}

Status Saver::Restore(const std::string& save_path, const RestoreOptions& options) {
  return saver_internal::RestoreVariables(impl_->options.env, impl_->vars, save_path, options);
}

std::vector<std::string> Saver::last_checkpoints() const {
  std::vector<std::string> out;
  for (const auto& p : impl_->last) out.push_back(p.first);
  return out;
}

std::vector<std::pair<std::string, double>> Saver::last_checkpoints_with_time() const {
  return impl_->last;
}

void Saver::SetLastCheckpointsWithTime(std::vector<std::pair<std::string, double>> checkpoints) {
  impl_->last = std::move(checkpoints);
}

Status Saver::RecoverLastCheckpoints(const std::vector<std::string>& paths) {
  Env* env = impl_->options.env;
  std::vector<std::pair<std::string, double>> found;
  for (const std::string& path : paths) {
    // V2: the index file. V1: the first file matching the path as a glob.
    std::optional<CheckpointOnDisk> on_disk = FindCheckpoint(env, path);
    if (!on_disk) continue;  // deleted meanwhile: dropped, as TF does
    auto mtime = env->GetModificationTime(on_disk->first_file);
    if (!mtime.ok()) {
      if (mtime.status().code() == StatusCode::kNotFound) continue;
      return mtime.status();
    }
    found.emplace_back(path, *mtime);
  }
  impl_->last = std::move(found);
  return Status::OK();
}

}  // namespace ckpt
