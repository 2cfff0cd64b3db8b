// TF2 object-based checkpoints: tf.train.Checkpoint for C++ (writing and
// restoring a tree of objects).
//
// Build a tree of Trackable objects and Variables, hang it under an
// ObjectCheckpoint (the root, like tf.train.Checkpoint) and Save/Write it;
// Restore matches the saved graph to the tree by walking both from the root
// along child names (not by variable names), as TensorFlow does, so renamed
// variables (full_name) still restore. The checkpoint layout, its keys and
// reading one without a tree (ObjectCheckpointReader) are in
// ckpt/object_graph.h.
//
// Ownership: objects are shared (std::shared_ptr) because TensorFlow's
// object graphs are DAGs (a Keras layer is reachable as "layer-0" and
// "layer_with_weights-0"). Cycles leak; don't make them.
//
// Thread safety: none of these classes is thread-safe; use a tree and its
// ObjectCheckpoint from one thread at a time.
#ifndef CKPT_OBJECT_CHECKPOINT_H_
#define CKPT_OBJECT_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/checkpoint_manager.h"
#include "ckpt/env.h"
#include "ckpt/object_graph.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt {

// The local name tf.train.Checkpoint gives its save counter.
inline constexpr char kSaveCounterName[] = "save_counter";

class Variable;

// An object with named children, as TensorFlow's Trackable. Plain Trackables
// are containers (a model, a layer); Variable holds a value; any Trackable
// may act as an optimizer by holding slot variables.
class Trackable {
 public:
  struct Child {
    std::string local_name;  // unescaped
    std::shared_ptr<Trackable> object;
  };
  struct Slot {
    std::shared_ptr<Variable> original;
    std::string slot_name;
    std::shared_ptr<Variable> slot;
  };

  Trackable() = default;
  virtual ~Trackable() = default;
  Trackable(const Trackable&) = delete;
  Trackable& operator=(const Trackable&) = delete;

  // Tracks `object` under `local_name` (Python's setattr): a new name is
  // appended; an existing name is replaced in place. InvalidArgument for an
  // empty name or a null object.
  Status AddChild(std::string local_name, std::shared_ptr<Trackable> object);
  // Creates and tracks an empty container.
  Result<std::shared_ptr<Trackable>> AddObject(std::string local_name);
  // Creates and tracks a variable. See Variable::Create.
  Result<std::shared_ptr<Variable>> AddVariable(std::string local_name, Tensor value,
                                                std::string full_name = "");

  const std::vector<Child>& children() const { return children_; }
  // The child called `local_name`, or nullptr.
  std::shared_ptr<Trackable> GetChild(std::string_view local_name) const;

  // Makes this object an optimizer holding `slot` as slot `slot_name` of
  // `original` (Keras 2 / tf.compat.v1 optimizers: "m", "v", "momentum").
  // A slot replaces an earlier one for the same (original, slot_name).
  // InvalidArgument for an empty name, null variables, or a slot variable
  // that has children. Slots of variables the saved graph does not reach
  // are not saved (as in TensorFlow).
  Status AddSlotVariable(std::shared_ptr<Variable> original, std::string slot_name,
                         std::shared_ptr<Variable> slot);
  const std::vector<Slot>& slot_variables() const { return slots_; }
  // The slot, or nullptr.
  std::shared_ptr<Variable> GetSlot(const Variable* original,
                                    std::string_view slot_name) const;

  virtual Variable* AsVariable() { return nullptr; }

 private:
  std::vector<Child> children_;
  std::vector<Slot> slots_;
};

// A variable: a value saved as attribute VARIABLE_VALUE of its node.
class Variable : public Trackable {
 public:
  // `full_name` is the TF1-style name recorded in the graph (TensorFlow uses
  // the variable's name without ":0", e.g. "dense/kernel"; "Variable" by
  // default). REQUIRES: value is storable (not kInvalid / resource).
  static std::shared_ptr<Variable> Create(Tensor value, std::string full_name = "");

  const Tensor& value() const { return value_; }
  const std::string& full_name() const { return full_name_; }
  DataType dtype() const { return value_.dtype(); }
  const TensorShape& shape() const { return value_.shape(); }

  // Copies `value` into this variable's storage in place (tensors that alias
  // it see the new value; a view is replaced by an owning copy instead of
  // being written through). InvalidArgument, naming the variable, if dtype or
  // shape differ.
  Status Assign(const Tensor& value);

  Variable* AsVariable() override { return this; }

 private:
  Variable(Tensor value, std::string full_name);
  Tensor value_;
  std::string full_name_;
};

struct ObjectCheckpointOptions {
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  // fsync files and directories before publishing.
  bool sync = true;
};

// What a restore matched. Paths are the checkpoint's (escaped) for saved
// values and ours for objects.
class ObjectRestoreStatus {
 public:
  // Like tf.train.Checkpoint.restore(...).assert_consumed(): OK if every
  // saved value was restored into an object and every object of the tree
  // was matched to a saved object and every variable got its value.
  // Otherwise FailedPrecondition listing each problem on its own line.
  Status AssertConsumed() const;
  // Like assert_existing_objects_matched(): OK if every variable of the
  // tree was restored; saved values and containers without a counterpart
  // are allowed.
  Status AssertExistingObjectsMatched() const;

  // Variables given a value: our path -> checkpoint key.
  std::vector<std::pair<std::string, std::string>> restored;
  // Saved values no object took: "<checkpoint path> (<key>)".
  std::vector<std::string> unused_checkpoint_values;
  // Our objects with no counterpart in the checkpoint.
  std::vector<std::string> unmatched_objects;
  // Our variables that got no value (unmatched, or matched to a saved
  // object without a value).
  std::vector<std::string> unrestored_variables;
};

// The root of a tree of objects, like tf.train.Checkpoint: its children are
// the keyword arguments plus `save_counter`, an int64 scalar variable created
// on the first Save/IncrementSaveCounter (or restored from a checkpoint that
// has one).
class ObjectCheckpoint : public CheckpointTarget {
 public:
  // Children in name order, as tf.train.Checkpoint(**kwargs) sorts them.
  // Entries with an empty name or a null object are skipped (AddChild
  // reports them). Unlike TensorFlow, a child called "root" is an ordinary
  // child, not a replacement root.
  explicit ObjectCheckpoint(std::map<std::string, std::shared_ptr<Trackable>> children = {},
                            ObjectCheckpointOptions options = {});
  ~ObjectCheckpoint() override;

  // Tracks another child (setattr on the checkpoint).
  Status AddChild(std::string local_name, std::shared_ptr<Trackable> object) {
    return root_->AddChild(std::move(local_name), std::move(object));
  }
  Trackable& root() { return *root_; }
  // nullptr before the first save or restore that creates it.
  std::shared_ptr<Variable> save_counter() const;

  // CheckpointTarget.
  int64_t IncrementSaveCounter() override;
  // Writes the bundle at exactly `prefix` (tf.train.Checkpoint.write): data
  // in object-graph order, the graph string last, through TensorFlow's
  // sharded path (a temporary "<prefix>_temp.ckpt-tmp.<pid>.<hex>/part-00000-
  // of-00001", TF: "<prefix>_temp/") merged into `prefix`, holding the
  // directory's WriterLock (ckpt/writer_lock.h). No state file. InvalidArgument if the tree cannot be saved (a variable
  // with a non-storable value, two objects with the same key).
  Status Write(const std::string& prefix) override;
  // Restores and ignores what did not match (tf.train.Checkpoint.restore
  // without assertions). Errors as RestoreWithStatus.
  Status Restore(const std::string& path) override;

  // tf.train.Checkpoint.save: increments the counter, writes
  // "<file_prefix>-<counter>", and points the `checkpoint` state file in the
  // prefix's directory at it (relative path, one-entry list). Returns the
  // path written.
  Result<std::string> Save(const std::string& file_prefix);

  // Matches the saved graph to this tree from the roots along child names
  // and slot references, checks every matched value's dtype and shape, and
  // only then assigns them all. On any error nothing is modified:
  // InvalidArgument "Received incompatible tensor with shape [3] when
  // attempting to restore variable with shape [2] and name <full_name>"
  // (and the dtype analogue), one line per mismatch; NotFound if `path` is
  // not a checkpoint or a referenced key is missing; DataLoss for corrupt
  // files.
  Result<ObjectRestoreStatus> RestoreWithStatus(const std::string& path);

 private:
  ObjectCheckpointOptions options_;
  std::shared_ptr<Trackable> root_;
};

}  // namespace ckpt

#endif  // CKPT_OBJECT_CHECKPOINT_H_
