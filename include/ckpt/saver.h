// Saver: TensorFlow 1's tf.compat.v1.train.Saver for C++ variables.
//
// A Saver saves a fixed list of tensors ("variables") to numbered V2
// checkpoints, records them in the directory's `checkpoint` state file,
// deletes old ones by TF1's retention rules (max_to_keep, and one kept every
// keep_checkpoint_every_n_hours), and restores them in place. Files and state
// files are those TensorFlow's Saver writes and reads.
//
// Thread safety: a Saver is used from one thread at a time.
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
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"

namespace ckpt {

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
  // "model-00001000" instead of "model-1000".
  bool pad_step_number = false;
  // Store paths in the state file relative to its directory.
  bool save_relative_paths = false;
  // Writes the .meta file for a checkpoint (the summaries/graph module
  // provides one); unset: Save writes no .meta even if asked to.
  std::function<Status(const std::string& meta_path)> meta_graph_writer;
};

struct SaveArgs {
  // Appended as "-<step>" to the path.
  std::optional<int64_t> global_step;
  std::string latest_filename = "checkpoint";
  std::string meta_graph_suffix = "meta";
  bool write_meta_graph = true;
  bool write_state = true;
};

// What to restore and under which names (partial restore / warm start).
struct RestoreOptions {
  // Restore only variables whose checkpoint key fully matches (empty = all).
  std::optional<std::regex> include;
  // Checkpoint key to read for a variable: variable name -> name in the
  // checkpoint (TF's assignment_map / var_name_to_prev_var_name).
  std::map<std::string, std::string> name_map;
  // Variables missing from the checkpoint are an error unless this is set,
  // in which case they keep their values (and are reported by the caller).
  bool allow_missing = false;
};

class Saver {
 public:
  // InvalidArgument for bad options (negative max_to_keep, N-hours <= 0),
  // duplicate names, null or invalid tensors.
  static Result<std::unique_ptr<Saver>> Create(VarList var_list, SaverOptions options = {});
  ~Saver();

  // Saves to `save_path` (+ "-<global_step>"), returning the checkpoint
  // prefix written. InvalidArgument if the parent directory does not exist
  // ("Parent directory of <path> doesn't exist, can't save.").
  Result<std::string> Save(const std::string& save_path, const SaveArgs& args = {});

  // Restores every variable from the checkpoint at `save_path`. Every
  // variable is checked (presence, dtype, shape) before any is changed; on
  // error none is modified and the message lists every mismatch in
  // TensorFlow's wording.
  Status Restore(const std::string& save_path, const RestoreOptions& options = {});

  // Checkpoints not yet deleted, oldest first.
  std::vector<std::string> last_checkpoints() const;
  std::vector<std::pair<std::string, double>> last_checkpoints_with_time() const;
  // Replaces the list (TF's set_last_checkpoints_with_time).
  void SetLastCheckpointsWithTime(std::vector<std::pair<std::string, double>> checkpoints);
  // Re-adopts existing checkpoints after a restart, timestamped by their
  // files' modification times; missing ones are dropped.
  Status RecoverLastCheckpoints(const std::vector<std::string>& paths);

 private:
  struct Impl;
  explicit Saver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_SAVER_H_
