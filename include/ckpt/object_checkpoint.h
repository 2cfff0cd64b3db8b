// TF2 object-based checkpoints: tf.train.Checkpoint for C++.
//
// An object-based checkpoint is an ordinary V2 bundle whose keys are derived
// from a graph of objects rather than from variable names, plus the
// serialized graph itself (a TrackableObjectGraph proto) stored as a string
// scalar under "_CHECKPOINTABLE_OBJECT_GRAPH". Node 0 of the graph is the
// root; every node lists its named children, its saved attributes (normally
// one, "VARIABLE_VALUE", for a variable) and, for an optimizer, the slot
// variables it holds for other variables. docs/format/object_graph.md
// describes the layout.
//
// Keys: each local name is escaped ('.' -> "..", then '/' -> ".S"); an
// object's path is the escaped local names from the root joined by '/'
// (the first path a breadth-first walk over children finds); a variable's
// value is stored under "<path>/.ATTRIBUTES/VARIABLE_VALUE"; a slot
// variable's path is "<variable path>/.OPTIMIZER_SLOT/<optimizer path>/
// <escaped slot name>". Paths below are always in this escaped form.
//
// Reading: ObjectCheckpointReader opens any object-based checkpoint (written
// by TensorFlow, Keras or ckpt) and exposes its graph and values by path.
//
// Writing and restoring: build a tree of Trackable objects and Variables,
// hang it under an ObjectCheckpoint (the root, like tf.train.Checkpoint) and
// Save/Write it; Restore matches the saved graph to the tree by walking both
// from the root along child names (not by variable names), as TensorFlow
// does, so renamed variables (full_name) still restore.
//
// Ownership: objects are shared (std::shared_ptr) because TensorFlow's
// object graphs are DAGs (a Keras layer is reachable as "layer-0" and
// "layer_with_weights-0"). Cycles leak; don't make them.
//
// Thread safety: none of these classes is thread-safe except the const
// methods of ObjectGraph and ObjectCheckpointReader.
#ifndef CKPT_OBJECT_CHECKPOINT_H_
#define CKPT_OBJECT_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/checkpoint_manager.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt {

// The bundle key holding the serialized TrackableObjectGraph.
inline constexpr char kObjectGraphKey[] = "_CHECKPOINTABLE_OBJECT_GRAPH";
// The attribute name of a variable's value.
inline constexpr char kVariableValueAttribute[] = "VARIABLE_VALUE";
// The local name tf.train.Checkpoint gives its save counter.
inline constexpr char kSaveCounterName[] = "save_counter";

// ------------------------------------------------------------------ keys

// '.' -> "..", then '/' -> ".S" (trackable_utils.escape_local_name).
std::string EscapeLocalName(std::string_view name);
// The inverse. InvalidArgument for a '.' followed by anything but '.' or 'S'
// (a trailing '.' included).
Result<std::string> UnescapeLocalName(std::string_view escaped);
// Escaped local names joined by '/'.
std::string ObjectPath(const std::vector<std::string>& local_names);
// "<object_path>/.ATTRIBUTES/<escaped attribute>".
std::string AttributeCheckpointKey(std::string_view object_path,
                                   std::string_view attribute = kVariableValueAttribute);
// "<variable_path>/.OPTIMIZER_SLOT/<optimizer_path>/<escaped slot_name>".
std::string SlotVariablePath(std::string_view variable_path,
                             std::string_view optimizer_path,
                             std::string_view slot_name);

// ---------------------------------------------------------------- reading

// One node of a saved object graph, decoded.
struct ObjectGraphNode {
  struct Child {
    int node_id = 0;
    std::string local_name;  // unescaped, as stored
  };
  struct Attribute {
    std::string name;       // usually "VARIABLE_VALUE"
    std::string full_name;  // the TF1-style variable name, e.g. "dense/kernel"
    std::string checkpoint_key;
  };
  struct SlotVariable {
    int original_variable_node_id = 0;
    std::string slot_name;
    int slot_variable_node_id = 0;
  };
  struct RegisteredSaver {
    std::string name;
    std::string object_name;
  };

  int id = 0;
  // Escaped path from the root ("" for the root). Slot variables get their
  // slot path. Empty with reachable == false for a node no walk reaches.
  std::string path;
  bool reachable = false;
  std::vector<Child> children;
  std::vector<Attribute> attributes;
  std::vector<SlotVariable> slot_variables;
  std::optional<RegisteredSaver> registered_saver;
  // Field 5 (TF >= 2.10); unset when the writer did not record it.
  std::optional<bool> has_checkpoint_values;

  // The attribute called `name`, or nullptr.
  const Attribute* FindAttribute(std::string_view name) const;
};

// A decoded TrackableObjectGraph with paths computed for every node.
class ObjectGraph {
 public:
  // Parses a serialized TrackableObjectGraph (fields in any order).
  // DataLoss if it does not parse, has no nodes, or refers to a node id out
  // of range.
  static Result<ObjectGraph> Parse(std::string_view serialized);

  const std::vector<ObjectGraphNode>& nodes() const { return nodes_; }

  // The node at `path` (escaped; "" is the root). Any route through children
  // is accepted ("model/layer-0/kernel" as well as the canonical
  // "model/layer_with_weights-0/kernel"), and slot paths resolve through
  // the optimizer's slot references. NotFound names the first segment that
  // does not exist.
  Result<const ObjectGraphNode*> Find(std::string_view path) const;

  // One line per reachable node in id order:
  // "<id> <path or (root)> [children...] [attributes...]".
  std::string DebugString() const;

 private:
  std::vector<ObjectGraphNode> nodes_;
};

// A variable of an object-based checkpoint, as the reader lists it.
struct ObjectVariableInfo {
  std::string path;            // the object's escaped path
  std::string full_name;
  std::string checkpoint_key;
  DataType dtype = DataType::kInvalid;
  TensorShape shape;
};

// Reads an object-based checkpoint: tf.train.load_checkpoint plus the
// object graph.
class ObjectCheckpointReader {
 public:
  // `path` as CheckpointReader::Open takes it (a prefix or a directory).
  // NotFound if the checkpoint has no object graph (a TF1 name-based
  // checkpoint); DataLoss if the graph is corrupt.
  static Result<std::unique_ptr<ObjectCheckpointReader>> Open(
      const std::string& path, CheckpointReaderOptions options = {});

  const std::string& prefix() const { return reader_->prefix(); }
  const ObjectGraph& graph() const { return graph_; }
  const CheckpointReader& reader() const { return *reader_; }

  // Every node's VARIABLE_VALUE attribute, in node id order, with dtype and
  // shape from the index (kInvalid / [] if the key is missing).
  std::vector<ObjectVariableInfo> Variables() const;

  // The value of attribute `attribute` of the object at `path`. NotFound for
  // an unknown path or an object without that attribute.
  Result<Tensor> GetAttribute(std::string_view path,
                              std::string_view attribute) const;
  Result<Tensor> GetVariable(std::string_view path) const {
    return GetAttribute(path, kVariableValueAttribute);
  }

 private:
  ObjectCheckpointReader(std::unique_ptr<CheckpointReader> reader, ObjectGraph graph)
      : reader_(std::move(reader)), graph_(std::move(graph)) {}
  std::unique_ptr<CheckpointReader> reader_;
  ObjectGraph graph_;
};

// ---------------------------------------------------------------- writing

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
