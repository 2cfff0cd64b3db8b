// Warm starting: initialise a new model's variables from another
// checkpoint (tf.estimator.WarmStartSettings, tf.train.warm_start) and
// tf.train.init_from_checkpoint with an assignment map.
//
// TF replaces initialisers so that values are read when initialisers run;
// here the values are copied at once into the caller's tensors (what the
// Estimator does when Train starts on an empty model_dir). Either every
// selected variable is loaded or, on error, none is changed.
//
// Thread safety: functions are thread-safe; the tensors are the caller's.
#ifndef CKPT_WARM_START_H_
#define CKPT_WARM_START_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"

namespace ckpt {

struct WarmStartSettings {
  // A checkpoint prefix, or a directory (its newest checkpoint). Empty:
  // InvalidArgument "`ckpt_to_initialize_from` MUST be set in
  // WarmStartSettings".
  std::string ckpt_to_initialize_from;
  // Which variables are warm-started (checkpoint keys of the new model, no
  // "/part_N"):
  //   vars_to_warm_start (default ".*"): one regex, full match, over the
  //     TRAINABLE variables only (no optimizer slots, no global_step);
  //   vars_to_warm_start_list (if non-empty, replaces the above): regexes,
  //     each over ALL variables (slots included);
  //   neither (vars_to_warm_start unset, list empty): none.
  std::optional<std::string> vars_to_warm_start = ".*";
  std::vector<std::string> vars_to_warm_start_list;
  // New name -> name in the old checkpoint. An entry naming no selected
  // variable is InvalidArgument ("You provided the following variables in
  // var_name_to_prev_var_name that were not used: [...]").
  std::map<std::string, std::string> var_name_to_prev_var_name;

  // Python's repr-like rendering, for "Warm-starting with WarmStartSettings: %s".
  std::string DebugString() const;
};

struct WarmStartReport {
  std::string checkpoint;  // the prefix read
  // (variable, checkpoint key) pairs loaded, in variable order.
  std::vector<std::pair<std::string, std::string>> warm_started;
};

// Loads the selected variables of `vars` from settings.ckpt_to_initialize_from.
// `trainable` lists the trainable variables' names. Logs "Warm-starting from:
// <ckpt>", "Warm-starting variable: <v>; prev_var_name: <p or Unchanged>" and
// "Warm-started N variables.". Errors (nothing changed): NotFound when the
// checkpoint cannot be found; NotFound "Tensor <key> is not found in <ckpt>
// checkpoint <...>" for a missing key; InvalidArgument "Shape of variable
// <v> (<shape>) doesn't match with shape of tensor <key> (<shape>) from
// checkpoint reader." (dtype mismatches likewise); InvalidArgument for a
// bad regex or unused var_name_to_prev_var_name entries.
Result<WarmStartReport> WarmStart(Env* env, const WarmStartSettings& settings,
                                  const VarList& vars,
                                  const std::vector<std::string>& trainable);

// tf.train.init_from_checkpoint(ckpt_dir_or_file, assignment_map): pairs of
// (checkpoint name, variable name), each either
//   "old/var" -> "new/var"      one variable;
//   "old_scope/" -> "new_scope/"  every variable under new_scope/ from the
//                                 same relative name under old_scope/;
//   "/" -> "new_scope/"           ... from the checkpoint root.
// A scope key mapped to a non-scope name (or the reverse) is
// InvalidArgument with TF's text ("Assignment map with scope only name {}
// should map to scope only {}. Should be 'scope/': 'other_scope/'.").
// Missing tensors: NotFound ("Tensor <name> is not found in <ckpt>
// checkpoint" / the scope form); shape mismatch: InvalidArgument as
// WarmStart. Logs "Initialize variable <v> from checkpoint <ckpt> with <key>".
// Returns the (variable, key) pairs loaded.
Result<std::vector<std::pair<std::string, std::string>>> InitFromCheckpoint(
    Env* env, const std::string& ckpt_dir_or_file,
    const std::vector<std::pair<std::string, std::string>>& assignment_map, const VarList& vars);

}  // namespace ckpt

#endif  // CKPT_WARM_START_H_
