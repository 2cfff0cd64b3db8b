// Reading TF2 object-based checkpoints (tf.train.Checkpoint, Keras): the
// object graph, the keys derived from it, and a reader of values by path.
//
// An object-based checkpoint is an ordinary V2 bundle whose keys are derived
// from a graph of objects rather than from variable names, plus the
// serialized graph itself (a TrackableObjectGraph proto) stored as a string
// scalar under "_CHECKPOINTABLE_OBJECT_GRAPH". Node 0 of the graph is the
// root; every node lists its named children, its saved attributes (normally
// one, "VARIABLE_VALUE", for a variable) and, for an optimizer, the slot
// variables it holds for other variables.
//
// Keys: each local name is escaped ('.' -> "..", then '/' -> ".S"); an
// object's path is the escaped local names from the root joined by '/'
// (the first path a breadth-first walk over children finds); a variable's
// value is stored under "<path>/.ATTRIBUTES/VARIABLE_VALUE"; a slot
// variable's path is "<variable path>/.OPTIMIZER_SLOT/<optimizer path>/
// <escaped slot name>". Paths below are always in this escaped form.
//
// ObjectCheckpointReader opens any object-based checkpoint (written by
// TensorFlow, Keras or ckpt) and exposes its graph and values by path.
// Writing and restoring a tree of objects is ckpt/object_checkpoint.h.
//
// Thread safety: the free functions are reentrant; the const methods of
// ObjectGraph and ObjectCheckpointReader may be called from several threads
// at once.
#ifndef CKPT_OBJECT_GRAPH_H_
#define CKPT_OBJECT_GRAPH_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt {

// The bundle key holding the serialized TrackableObjectGraph.
inline constexpr char kObjectGraphKey[] = "_CHECKPOINTABLE_OBJECT_GRAPH";
// The attribute name of a variable's value.
inline constexpr char kVariableValueAttribute[] = "VARIABLE_VALUE";

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
  // `path` as CheckpointReader::Open takes it (a prefix, a directory, or a
  // SavedModel directory: tf.saved_model.save writes an object-based
  // checkpoint as its variables).
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

}  // namespace ckpt

#endif  // CKPT_OBJECT_GRAPH_H_
