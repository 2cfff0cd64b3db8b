// Saver: TensorFlow 1's tf.compat.v1.train.Saver for C++ variables.
//
// A Saver saves a fixed list of tensors ("variables") to numbered V2
// checkpoints, records them in the directory's `checkpoint` state file,
// deletes old ones by TF1's retention rules (max_to_keep, and one kept every
// keep_checkpoint_every_n_hours), and restores them in place. Files and state
// files are those TensorFlow's Saver writes and reads.
//
// Time (checkpoint timestamps and the keep-every-N-hours schedule) comes from
// options.env->NowSeconds(), so tests control it through the Env.
//
// Thread safety: a Saver is used from one thread at a time. A sharded Save
// writes its per-device bundles on threads of its own (joined before it
// returns), which call options.env concurrently (as Env allows).
#ifndef CKPT_SAVER_H_
#define CKPT_SAVER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/filenames.h"  // MetaGraphFilename, kDefault{MetaGraphSuffix,StateFilename}
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "ckpt/writer_lock.h"

namespace ckpt {

namespace saver_internal {
struct SaverAccess;  // the saver module's internal hooks (AsyncSaver)
}  // namespace saver_internal

// One tensor a Saver saves and restores.
struct SaveableTensor {
  // The checkpoint key (TF: the variable's op name, e.g. "dense/kernel", or
  // the full variable name for a partition).
  std::string name;
  // The caller's tensor: saved from, restored into in place. Not owned.
  // REQUIRES: owning storage (not a view) for Restore.
  Tensor* tensor = nullptr;
  // For one partition of a larger variable (TF's SaveSliceInfo): the full
  // variable's shape and this part's slice of it.
  std::optional<TensorShape> full_shape;
  TensorSlice slice;
  // Tensors are grouped by device for sharded saves ("" = one device).
  std::string device;
};
using VarList = std::vector<SaveableTensor>;

// A name -> tensor map, as TF's var_list dict; keys become checkpoint keys.
VarList VarListFromMap(const std::map<std::string, Tensor*>& vars);

struct SaverOptions {
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  // Newest checkpoints kept; 0 keeps all (and the state file lists only the
  // newest). REQUIRES: >= 0.
  int max_to_keep = 5;
  // Additionally keep one checkpoint every this many hours. REQUIRES: > 0.
  double keep_checkpoint_every_n_hours = 10000.0;
  // One bundle per device, merged into one prefix.
  bool sharded = false;
  // Sharded saves: how many of the per-device bundles are written at once,
  // each by its own thread (the saving thread is one of them). 0 = one per
  // device, at most hardware_concurrency() / 2 with direct_io or
  // hardware_concurrency() without it; never less than 1. 1 = one after
  // another. The files are the same bytes whatever the value; choosing it:
  // docs/benchmarks.md, "Saver options". REQUIRES: >= 0.
  int shard_write_threads = 0;
  // "model-00001000" instead of "model-1000".
  bool pad_step_number = false;
  // Store paths in the state file relative to its directory.
  bool save_relative_paths = false;
  // Writes the .meta file for a checkpoint (the summaries/graph module
  // provides one); unset: Save writes no .meta even if asked to.
  std::function<Status(const std::string& meta_path)> meta_graph_writer;
  // Writes each save's bundle at the prefix instead of the Saver's own
  // writer (and instead of `sharded`); the Saver does the rest (lock,
  // leftovers, .meta, state file, retention). A distributed save
  // (ckpt/distributed.h) sets it on the chief. Must leave no bundle at the
  // prefix when it fails.
  std::function<Status(const std::string& prefix, const VarList& vars)> bundle_writer;
  // Log "Saving checkpoint to path <checkpoint>" on every Save (the
  // Estimator turns it off: TF's own saves log nothing, its
  // CheckpointSaverHook logs "Saving checkpoints for N into ...").
  bool log_saves = true;
  // Write each bundle's data file with direct IO (BundleWriterOptions::
  // direct_io: O_DIRECT on Env::Posix()); false: through the page cache. The
  // files are the same bytes either way; choosing it: docs/benchmarks.md,
  // "Saver options".
  bool direct_io = true;
  // The first Save into a directory takes its WriterLock (one writer process
  // per directory, ckpt/writer_lock.h) and holds it until the Saver is
  // destroyed; by default a directory another process writes into fails the
  // Save at once with FailedPrecondition.
  WriterLockOptions writer_lock;
};

struct SaveArgs {
  // Appended as "-<step>" to the path.
  std::optional<int64_t> global_step;
  std::string latest_filename = kDefaultStateFilename;
  std::string meta_graph_suffix = kDefaultMetaGraphSuffix;
  bool write_meta_graph = true;
  bool write_state = true;
};

// What a restore matched, for partial restore and warm start.
struct RestoreReport {
  std::vector<std::string> restored;    // variable names assigned
  std::vector<std::string> missing;     // checkpoint keys not found
  std::vector<std::string> unexpected;  // checkpoint keys no variable read
  std::vector<std::string> mismatched;  // dtype and shape mismatch messages
};

// What to restore and under which names (partial restore / warm start).
struct RestoreOptions {
  // Restore only variables whose name (SaveableTensor::name) fully matches
  // (unset = all).
  std::optional<std::regex> include;
  // Checkpoint key to read for a variable: variable name -> name in the
  // checkpoint (TF's assignment_map / var_name_to_prev_var_name).
  std::map<std::string, std::string> name_map;
  // Variables missing from the checkpoint are an error unless this is set,
  // in which case they keep their values (and are listed in the report).
  bool allow_missing = false;
  // Checkpoint tensors that no variable reads are ignored (as TensorFlow
  // does) unless this is false, in which case they are an error.
  bool allow_unexpected = true;
  // If set, filled with what the restore found (also on error).
  RestoreReport* report = nullptr;
  // Read values straight into the variables instead of into temporaries
  // first, so that peak memory stays about the model's size (plus the
  // largest partitioned or V1 tensor). Every check that needs no tensor
  // data (keys, dtypes, shapes) still runs before anything is changed, but
  // an error while reading (e.g. DataLoss for a checksum mismatch) leaves
  // the variables partially restored; the error keeps its code and its
  // message says so. Default false: all-or-nothing.
  bool in_place = false;
  // Called once per restore with how it stands just before the first
  // variable would change: OK when every check passed and (unless in_place)
  // every value was read, else the error that stopped it. An error it
  // returns becomes the outcome and leaves every variable unchanged (it
  // cannot turn an error into success). A
  // distributed restore (ckpt/distributed.h) agrees across ranks here.
  std::function<Status(const Status&)> agree;
};


// The checkpoint prefix Saver::Save(save_path, args) writes with these
// options: save_path, plus "-<global_step>" (8 digits with
// pad_step_number). Applies Save's argument checks first: InvalidArgument for
// an empty save_path or latest_filename, a latest_filename with '/', or (no
// step, not sharded) a latest_filename equal to save_path's basename.
Result<std::string> CheckpointPrefixForSave(const std::string& save_path, const SaveArgs& args,
                                            const SaverOptions& options);

// TF's remove_checkpoint for a V2 checkpoint: deletes
// MetaGraphFilename(prefix, meta_suffix), prefix + ".index" and every
// prefix + ".data-?????-of-?????" ('?' = any one character, as TF's glob),
// and nothing else (the prefix itself is matched literally).
// Missing files are not an error; the first other failure is returned after
// trying every file.
Status RemoveCheckpoint(Env* env, const std::string& prefix,
                        const std::string& meta_suffix = kDefaultMetaGraphSuffix);

class Saver {
 public:
  // InvalidArgument for bad options (negative max_to_keep, N-hours <= 0, null
  // env), an empty list ("No variables to save"), duplicate names (except
  // distinct slices of one partitioned variable with the same dtype and full
  // shape), null tensors, non-storable dtypes, and slices that do not fit
  // their full shape or tensor. The keep-every-N-hours schedule starts now:
  // the first checkpoint kept is one older than now + N hours.
  static Result<std::unique_ptr<Saver>> Create(VarList var_list, SaverOptions options = {});
  ~Saver();

  // Saves to `save_path` (+ "-<global_step>"), returning the checkpoint
  // prefix written. The first save into a directory takes its WriterLock
  // (options.writer_lock; FailedPrecondition if another process writes
  // there); every save first removes leftovers of interrupted saves of this
  // Saver's checkpoint names and state file there, and nothing else.
  // Tensors are written sorted by name (slices of one variable in list
  // order); sharded saves write one bundle per device (devices sorted) under
  // "<prefix>_temp.ckpt-tmp.<pid>.<hex>/part" and merge them;
  // the bundles are written concurrently (options.shard_write_threads), and
  // if any fails nothing is published, no temporary file is left and the
  // error of the lowest-numbered failing shard is returned.
  // As TensorFlow's SaveV2 does, a missing parent directory is created when
  // its own parent exists (non-sharded saves only); otherwise
  // InvalidArgument "Parent directory of <path> doesn't exist, can't save.".
  // InvalidArgument if latest_filename contains '/' or (without a step)
  // equals the basename of save_path. With write_state, the checkpoint is
  // recorded, the state file rewritten and at most one expired checkpoint
  // deleted (RemoveCheckpoint), as TF1's Saver does. The .meta (if
  // write_meta_graph and options.meta_graph_writer is set) is written before
  // the state file, which is the commit point of the whole checkpoint.
  Result<std::string> Save(const std::string& save_path, const SaveArgs& args = {});

  // Restores the variables from the checkpoint (V2 prefix or V1 file) at
  // `save_path`. Every selected variable is checked (presence, dtype, shape)
  // and read before any is changed; on error none is modified (unless
  // options.in_place, see there). Errors:
  //   InvalidArgument "Can't load save_path when it is None." (empty path);
  //   NotFound "The passed save_path is not a valid checkpoint: <path>";
  //   NotFound listing every missing key ("Key <name> not found in
  //     checkpoint", joined by "\n") if any key is missing (TF checks keys
  //     before dtypes);
  //   otherwise InvalidArgument listing every dtype and shape mismatch in
  //     TensorFlow's wording ("tensor_name = <key>; expected dtype float does
  //     not equal original dtype int32", "tensor_name = <key>; shape in
  //     shape_and_slice spec [20] does not match the shape stored in
  //     checkpoint: [10]").
  // Both carry TF1's "Restoring from checkpoint failed. ..." prefix. Other
  // errors (DataLoss for corrupt data, ...) pass unchanged.
  // REQUIRES: every restored tensor owns its storage (InvalidArgument if not).
  Status Restore(const std::string& save_path, const RestoreOptions& options = {});

  // Checkpoints not yet deleted, oldest first.
  std::vector<std::string> last_checkpoints() const;
  std::vector<std::pair<std::string, double>> last_checkpoints_with_time() const;
  // Replaces the list (TF's set_last_checkpoints_with_time).
  void SetLastCheckpointsWithTime(std::vector<std::pair<std::string, double>> checkpoints);
  // Re-adopts existing checkpoints after a restart, timestamped by their
  // files' modification times (prefix.index, else the first file matching
  // the V1 pattern); missing ones are dropped. Replaces the list.
  Status RecoverLastCheckpoints(const std::vector<std::string>& paths);

 private:
  friend struct saver_internal::SaverAccess;
  struct Impl;
  explicit Saver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_SAVER_H_
