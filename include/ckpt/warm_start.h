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
  // A checkpoint prefix, a directory (its newest checkpoint) or a
  // SavedModel directory D (holding saved_model.pb or
  // variables/variables.index): its variables D/variables/variables, as
  // TF's estimator takes them, logging "Warm-starting from a SavedModel"
  // (NotFound naming D/variables/variables.index if it lacks them). Empty:
  // InvalidArgument "`ckpt_to_initialize_from` MUST be set in
  // WarmStartSettings".
  std::string ckpt_to_initialize_from;
  // Which variables are warm-started. Patterns are ECMAScript regexes
  // matched as TF matches them (tf.get_collection's re.match): anchored at
  // the start of the variable's checkpoint key (no "/part_N"), not at its
  // end, so "dnn/hiddenlayer_0" selects dnn/hiddenlayer_0/kernel and /bias.
  //   vars_to_warm_start (default ".*"): one regex over the TRAINABLE
  //     variables only (no optimizer slots, no global_step);
  //   vars_to_warm_start_list (if non-empty, replaces the above): regexes,
  //     each over ALL variables (slots included; a variable matched by
  //     several is loaded once);
  //   neither (vars_to_warm_start unset or "", list empty): none (TF tests
  //     the value's truthiness; the trainable variables still count as
  //     "viable" for var_name_to_prev_var_name).
  // One difference from TF, which matches graph names: TF's slot of a
  // partitioned variable created inside a variable scope has a graph name
  // starting with the scope twice ("dnn/dnn/hiddenlayer_0/kernel/part_0/
  // Adagrad") while its key is "dnn/hiddenlayer_0/kernel/t_0/Adagrad"; a
  // list pattern such as "dnn/hiddenlayer_0/kernel" selects that slot here
  // but not in TF. ".*", "dnn/.*", ".*Adagrad" agree.
  std::optional<std::string> vars_to_warm_start = ".*";
  std::vector<std::string> vars_to_warm_start_list;
  // New name -> name in the old checkpoint. An entry naming no candidate
  // variable (or mapping to "") is InvalidArgument ("You provided the
  // following variables in var_name_to_prev_var_name that were not used:
  // {'x'}.  Perhaps you misspelled them?  Here is the list of viable
  // variable names: dict_keys([...])"), reported after every variable was
  // checked and before any is changed.
  std::map<std::string, std::string> var_name_to_prev_var_name;

  // The namedtuple's repr, for "Warm-starting with WarmStartSettings: %s":
  // "WarmStartSettings(ckpt_to_initialize_from='/ckpt', vars_to_warm_start='.*',
  // var_name_to_vocab_info={}, var_name_to_prev_var_name={})".
  std::string DebugString() const;
};

struct WarmStartReport {
  std::string checkpoint;  // the prefix read
  // (variable, checkpoint key) pairs loaded, in variable order.
  std::vector<std::pair<std::string, std::string>> warm_started;
};

// Loads the selected variables of `vars` from settings.ckpt_to_initialize_from.
// `trainable` lists the trainable variables' names (names not in `vars` are
// ignored). Slices of a partitioned variable (entries sharing a name, with
// full_shape set) are cut from the checkpoint's full tensor. Log lines, as
// TF 1.8 writes them (the last one from later TF):
//   "Warm-starting from: ('<ckpt_to_initialize_from>',)"   (TF logs a tuple)
//   per variable, in `vars` order:
//   "Warm-starting variable: <v>; prev_var_name: <p or Unchanged>"
//   "Initialize variable <v>:0 from checkpoint <ckpt> with <key>"
//     (partitioned: "<v>/part_0:0,<v>/part_1:0,...")
//   "Warm-started <N> variables."
// Errors (nothing changed; the first problem in `vars` order):
//   InvalidArgument: empty ckpt_to_initialize_from (TF's text above), a bad
//     regex, null or view tensors, inconsistent slices;
//   NotFound "Couldn't find 'checkpoint' file or checkpoints in given
//     directory <dir>" / "Unsuccessful TensorSliceReader constructor: Failed
//     to find any matching files for <path>";
//   NotFound "Tensor <key> is not found in <ckpt> checkpoint {'<name>':
//     [<dims>], ...}" for a missing key;
//   InvalidArgument "Shape of variable <v>:0 ((20, 10)) doesn't match with
//     shape of tensor <key> ([10, 10]) from checkpoint reader." for a plain
//     variable, and for a one-piece partitioned one, which TF's warm_start
//     hands over as its only part: "Shape of variable
//     dnn/hiddenlayer_0/bias/part_0:0 ((20,)) doesn't match with shape of
//     tensor dnn/hiddenlayer_0/bias ([10]) from checkpoint reader." (TF
//     2.21's exact text for hidden_units [20, 10] from [10, 10]); for a
//     variable in several parts RestoreV2's text (what TF raises when the
//     initialisers run): "tensor_name = <key>; shape in shape_and_slice
//     spec [4,20] does not match the shape stored in checkpoint: [4,10]";
//   InvalidArgument "tensor_name = <key>; expected dtype float does not
//     equal original dtype int64" (RestoreV2's text);
//   InvalidArgument for unused var_name_to_prev_var_name entries;
//   DataLoss etc. from reading the checkpoint.
Result<WarmStartReport> WarmStart(Env* env, const WarmStartSettings& settings, const VarList& vars,
                                  const std::vector<std::string>& trainable);

// tf.train.init_from_checkpoint(ckpt_dir_or_file, assignment_map): pairs of
// (checkpoint name, variable name), applied in order (a later pair for the
// same variable replaces an earlier one), each either
//   "old/var" -> "new/var"        one variable (any name that is a
//                                 variable of `vars`, partitioned or not);
//   "old_scope/" -> "new_scope/"  every variable under new_scope/ from the
//                                 same relative name under old_scope/;
//   "/" -> "new_scope/"           ... from the checkpoint root;
//   "old_scope/" -> "/"           every variable, from under old_scope/.
// A value that names no variable is a scope (the part before its last '/');
// its key must then end in '/', else InvalidArgument with TF's text
// ("Assignment map with scope only name new_scope should map to scope only
// old/var. Should be 'scope/': 'other_scope/'."). A scope holding no
// variable loads nothing, as in TF.
// Missing tensors: NotFound "Tensor <key> is not found in <ckpt> checkpoint
// {...}" (1:1 form) / "Tensor <key> (<relative name> in <old_scope/>) is not
// found in <ckpt> checkpoint" (scope form); shape and dtype mismatches:
// InvalidArgument as WarmStart, except that a partitioned variable (even
// one-piece) gets RestoreV2's text, since TF looks its name up as a list of
// parts (TF checks plain variables of the scope form only when the
// initialisers run; we use the 1:1 text). Every pair is checked before any tensor is
// changed. Logs "Initialize variable <v> from checkpoint <ckpt> with <key>"
// (1:1 form: TF's graph name "<v>:0"). Returns the (variable, key) pairs
// loaded, in order of first assignment.
Result<std::vector<std::pair<std::string, std::string>>> InitFromCheckpoint(
    Env* env, const std::string& ckpt_dir_or_file,
    const std::vector<std::pair<std::string, std::string>>& assignment_map, const VarList& vars);

}  // namespace ckpt

#endif  // CKPT_WARM_START_H_
