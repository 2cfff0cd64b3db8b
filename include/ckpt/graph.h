// GraphBuilder: lets a C++ model describe itself as a real TensorFlow 1 graph
// (a tensorflow::GraphDef), so that TensorFlow can import it next to the
// checkpoints ckpt writes (see meta_graph.h for .meta files and the Saver
// subgraph).
//
// The builder emits the ops TF Python emits for the same model, with every
// attr TF Python writes (defaults included), TF's node naming (name scopes,
// "_1" suffixes, case-insensitive uniqueness) and TF's colocation attrs.
// Every op must be in the op registry (FindOpDef), whose OpDefs equal
// TensorFlow 2.21's; they become the meta graph's stripped_op_list.
//
// Errors are sticky, as in TF's C++ Scope: a failing call records the first
// error (status()) and returns an invalid Output; later calls that receive an
// invalid Output fail too. Nothing aborts on bad input.
//
// Thread safety: a GraphBuilder is used from one thread at a time.
#ifndef CKPT_GRAPH_H_
#define CKPT_GRAPH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"
#include "tensorflow/core/framework/attr_value.pb.h"
#include "tensorflow/core/framework/graph.pb.h"
#include "tensorflow/core/framework/op_def.pb.h"
#include "tensorflow/core/framework/variable.pb.h"
#include "tensorflow/core/protobuf/meta_graph.pb.h"

namespace ckpt {

// A shape that may be partly unknown (graphs only): dims of -1 are unknown;
// unknown_rank means nothing is known.
struct PartialShape {
  bool unknown_rank = false;
  std::vector<int64_t> dims;

  static PartialShape Unknown() { return PartialShape(true, {}); }
  static PartialShape Known(const TensorShape& shape) { return PartialShape(false, shape.dims()); }
  PartialShape() = default;
  PartialShape(bool unknown, std::vector<int64_t> d) : unknown_rank(unknown), dims(std::move(d)) {}
  PartialShape(std::initializer_list<int64_t> d) : dims(d) {}  // NOLINT

  void ToProto(tensorflow::TensorShapeProto* proto) const;
  friend bool operator==(const PartialShape& a, const PartialShape& b) {
    return a.unknown_rank == b.unknown_rank && a.dims == b.dims;
  }
};

// One output of a node: what ops take as inputs.
struct Output {
  std::string node;  // empty for the result of a failed call
  int index = 0;
  DataType dtype = DataType::kInvalid;
  bool is_ref = false;  // a VariableV2/Assign ref output
  PartialShape shape = PartialShape::Unknown();

  bool valid() const { return !node.empty(); }
  // As a NodeDef input: "node" for output 0, else "node:k".
  std::string input_name() const;
  // As a tensor name: always "node:k" (e.g. "w:0" in a VariableDef).
  std::string tensor_name() const;
};

// A TF1 ref variable (VariableV2) as tf.compat.v1.Variable builds it:
// `<name>/initial_value` (Const), `<name>` (VariableV2), `<name>/Assign`
// and `<name>/read` (Identity).
struct GraphVariable {
  std::string name;  // the VariableV2 node, also its checkpoint key
  Output ref;
  Output read;
  Output initial_value;
  std::string initializer;  // the Assign node
  bool trainable = true;
  tensorflow::VariableAggregation aggregation = tensorflow::VARIABLE_AGGREGATION_NONE;

  // What TF stores in the `variables` collection.
  tensorflow::VariableDef ToVariableDef() const;
};

// One dense feature of tf.io.parse_example, as tf.io.FixedLenFeature(shape,
// dtype, default_value) describes it.
struct DenseFeature {
  std::string key;  // the feature's name in the tf.Example
  DataType dtype = DataType::kFloat;  // float, int64 or string
  PartialShape shape;  // fully known: every example holds exactly its element count
  // Taken when an example lacks the feature; any shape with `shape`'s element
  // count and `dtype`. None: the feature is required.
  std::optional<Tensor> default_value;
};

// Attr name -> value, for the generic AddOp.
using AttrMap = std::map<std::string, tensorflow::AttrValue>;

// The op registry: OpDefs (as TensorFlow 2.21 registers them, docs
// stripped) of every op the builder can emit. nullptr if `op` is unknown.
// The returned pointer lives for the whole program.
const tensorflow::OpDef* FindOpDef(std::string_view op);
// Names of the registered ops, sorted.
std::vector<std::string> RegisteredOps();

// A TensorProto for a Const node from a tensor, as TF Python's
// make_tensor_proto encodes a numpy value: tensor_content for tensors of
// more than one element of a type TF packs (numeric types except bool,
// uint16, complex and the 4/2-bit integers), the typed repeated field
// otherwise. InvalidArgument for dtypes a Const cannot hold.
Status TensorToProto(const Tensor& tensor, tensorflow::TensorProto* proto);

// AttrValue helpers.
tensorflow::AttrValue AttrType(DataType type);
tensorflow::AttrValue AttrTypeList(const std::vector<DataType>& types);
tensorflow::AttrValue AttrBool(bool b);
tensorflow::AttrValue AttrInt(int64_t i);
tensorflow::AttrValue AttrString(std::string s);
tensorflow::AttrValue AttrShape(const PartialShape& shape);
tensorflow::AttrValue AttrStringList(const std::vector<std::string>& values);

class GraphBuilder {
 public:
  GraphBuilder();
  ~GraphBuilder();
  GraphBuilder(const GraphBuilder&) = delete;
  GraphBuilder& operator=(const GraphBuilder&) = delete;

  // The first error of any call (OK if none).
  const Status& status() const;

  // ---- names

  // Restores the previous name scope when destroyed.
  class ScopeGuard {
   public:
    ScopeGuard(ScopeGuard&& other) noexcept;
    ~ScopeGuard();
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    ScopeGuard& operator=(ScopeGuard&&) = delete;

   private:
    friend class GraphBuilder;
    ScopeGuard(GraphBuilder* b, std::string previous) : b_(b), previous_(std::move(previous)) {}
    GraphBuilder* b_;
    std::string previous_;
  };
  // tf.name_scope: "dense" opens the unique scope "dense" (then "dense_1",
  // ...) inside the current one; a name ending in "/" re-enters that exact
  // (absolute) scope; "" returns to the root.
  [[nodiscard]] ScopeGuard NameScope(std::string_view name);
  // The current scope: "" or "a/b/".
  const std::string& current_scope() const { return scope_; }
  // TF's Graph.unique_name: scope + base, suffixed "_1", "_2", ... if that
  // name (compared case-insensitively) was used; marks the result used.
  std::string UniqueName(std::string_view base);
  // How every op below names its node: a name ending in "/" is the exact,
  // absolute node name (without the slash), as TF treats a captured scope
  // ("save/SaveV2/" names the node "save/SaveV2"); anything else is
  // UniqueName(name).
  std::string ResolveName(std::string_view name);

  // ---- generic nodes

  // Adds a node of a registered op named ResolveName(name): checks the input
  // count against the OpDef (one per arg; number/list args take all the
  // remaining inputs) and that every attr without a default is given, fills
  // in default attrs, and sorts the control inputs (node names) by name as
  // TF's GraphDef export does. Returns the node's name ("" on error).
  // `num_outputs`-style typing is left to the caller: this returns no
  // Output; use output() to make one.
  std::string AddOp(std::string_view op, std::string_view name,
                    const std::vector<Output>& inputs, AttrMap attrs,
                    std::vector<std::string> control_inputs = {},
                    std::string device = "");
  // An Output of an existing node (no check beyond existence).
  Output output(const std::string& node, int index, DataType dtype,
                PartialShape shape = PartialShape::Unknown()) const;
  // Sets the device of an existing node.
  void SetDevice(const std::string& node, std::string device);
  // Sets an attr on an existing node (e.g. "_class").
  void SetAttr(const std::string& node, const std::string& attr, tensorflow::AttrValue value);

  // ---- typed ops (names go through ResolveName)

  Output Placeholder(DataType dtype, PartialShape shape = PartialShape::Unknown(),
                     std::string_view name = "Placeholder");
  Output PlaceholderWithDefault(const Output& input, PartialShape shape,
                                std::string_view name = "PlaceholderWithDefault");
  Output Const(const Tensor& value, std::string_view name = "Const");
  Output Identity(const Output& input, std::string_view name = "Identity",
                  std::vector<std::string> control_inputs = {});
  Output MatMul(const Output& a, const Output& b, bool transpose_a = false,
                bool transpose_b = false, std::string_view name = "MatMul");
  Output BiasAdd(const Output& value, const Output& bias, std::string_view name = "BiasAdd");
  Output Relu(const Output& features, std::string_view name = "Relu");
  Output Softmax(const Output& logits, std::string_view name = "Softmax");
  // An element-wise op with one input and only the type attr T, as the
  // activations TF's tf.nn functions emit: "Relu", "Relu6", "Elu", "Selu",
  // "Tanh", "Sigmoid", "Softplus", "Softsign", and "Rsqrt", "ZerosLike".
  // The node is named `name`, or the op's name if empty.
  // InvalidArgument for another op.
  Output Unary(std::string_view op, const Output& x, std::string_view name = "");
  // tf.nn.leaky_relu: a LeakyRelu node with its alpha attr.
  Output LeakyRelu(const Output& features, float alpha = 0.2f,
                   std::string_view name = "LeakyRelu");
  // An element-wise op of two inputs with broadcasting, attr T only:
  // "Add", "AddV2", "Sub", "Mul". Named `name`, or the op's name if empty
  // (TF Python's `x + y` names its node "add", so pass the name).
  Output Binary(std::string_view op, const Output& x, const Output& y,
                std::string_view name = "");
  // tf.concat(values, axis): a ConcatV2 node whose axis is the int32 Const
  // `<name>/axis`. REQUIRES: at least two values of one dtype.
  Output ConcatV2(const std::vector<Output>& values, int axis,
                  std::string_view name = "concat");
  // tf.expand_dims(input, axis): an ExpandDims node whose axis is the int32
  // Const `<name>/dim`.
  Output ExpandDims(const Output& input, int axis, std::string_view name = "ExpandDims");
  // Creates `<name>/dimension` (int32 Const) for the axis.
  Output ArgMax(const Output& input, int axis, DataType output_type = DataType::kInt64,
                std::string_view name = "ArgMax");
  // REQUIRES: ref.is_ref. Colocated with the ref's node, as TF does.
  Output Assign(const Output& ref, const Output& value, bool validate_shape = true,
                bool use_locking = true, std::string_view name = "Assign");
  // Returns the node name ("" on error).
  std::string NoOp(std::string_view name = "NoOp", std::vector<std::string> control_inputs = {});
  Output StringJoin(const std::vector<Output>& inputs, std::string_view separator = "",
                    std::string_view name = "StringJoin");
  Output ShardedFilename(const Output& basename, const Output& shard, const Output& num_shards,
                         std::string_view name = "ShardedFilename");
  Output Pack(const std::vector<Output>& values, int64_t axis = 0, std::string_view name = "Pack");
  std::string MergeV2Checkpoints(const Output& checkpoint_prefixes, const Output& destination_prefix,
                                 bool delete_old_dirs = true, std::string_view name = "MergeV2Checkpoints");
  std::string SaveV2(const Output& prefix, const Output& tensor_names,
                     const Output& shape_and_slices, const std::vector<Output>& tensors,
                     std::string_view name = "SaveV2");
  std::vector<Output> RestoreV2(const Output& prefix, const Output& tensor_names,
                                const Output& shape_and_slices, const std::vector<DataType>& dtypes,
                                std::string_view name = "RestoreV2", std::string device = "");

  // tf.io.parse_example(serialized, {key: FixedLenFeature(...)}) in graph
  // mode, as TF 2.21 emits it: `name` is the ParseExampleV2 node's; its
  // directory is the parse's name scope (made unique, "ParseExample_1").
  // Inside that scope, in TF's order (features sorted by key): per default,
  // `key_<key>` (Const; characters outside [A-Za-z0-9_.-/] become '_') and
  // `Reshape` to the feature's shape; per feature without one, an empty
  // `Const` of its dtype; then the node's `names`, `sparse_keys`,
  // `dense_keys` (sorted) and `ragged_keys` Consts and the node itself.
  // Returns one Output per feature in the caller's order, of shape
  // [batch] + shape for a vector `serialized` (shape for a scalar).
  // Dense features only: sparse (VarLenFeature) and ragged features are not
  // needed by the serving receivers and are not built. InvalidArgument (the
  // key named) for no features, a repeated key, a dtype other than float,
  // int64, string, a shape not fully known, or a default of another dtype or
  // element count; an empty vector then.
  std::vector<Output> ParseExample(const Output& serialized, const std::vector<DenseFeature>& dense,
                                   std::string_view name = "ParseExample/ParseExampleV2");

  // ---- variables and collections

  // tf.compat.v1.Variable(initial_value, name=name, trainable=trainable)
  // (a ref variable). Adds it to the `variables` collection and, if
  // trainable, `trainable_variables`.
  GraphVariable Variable(std::string_view name, const Tensor& initial_value, bool trainable = true);
  // tf.compat.v1.train.get_or_create_global_step(): int64 scalar
  // "global_step" initialized by "global_step/Initializer/zeros", not
  // trainable, in `variables` and `global_step`. Returns the existing one if
  // already created.
  GraphVariable GlobalStep();
  // tf.compat.v1.global_variables_initializer(): a NoOp depending on every
  // variable's initializer. Returns its name.
  std::string GlobalVariablesInitializer(std::string_view name = "init");

  // Every variable, in creation order.
  const std::vector<GraphVariable>& variables() const { return variables_; }
  // Appends a node name to a node_list collection (e.g. "train_op").
  void AddToCollection(const std::string& key, const std::string& node_name);
  // Appends to a bytes_list collection.
  void AddBytesToCollection(const std::string& key, std::string bytes);
  const google::protobuf::Map<std::string, tensorflow::CollectionDef>& collections() const {
    return collections_;
  }

  // The graph so far (nodes only; meta_graph.h adds versions).
  const tensorflow::GraphDef& graph_def() const { return graph_; }
  bool HasNode(const std::string& name) const { return nodes_.count(name) > 0; }
  // Sorted names of the ops used.
  std::vector<std::string> UsedOps() const;

 private:
  Output Fail(Status s);
  bool CheckInputs(std::string_view what, const std::vector<Output>& inputs);
  tensorflow::NodeDef* AddNodeNamed(const std::string& full_name, std::string_view op,
                                    const std::vector<Output>& inputs, AttrMap attrs,
                                    std::vector<std::string> control_inputs, std::string device);
  Status CheckDenseFeatures(const Output& serialized, const std::vector<DenseFeature>& dense) const;
  // The dense_defaults input of one feature (see ParseExample).
  Output DenseDefault(const DenseFeature& f);
  Output UnaryT(std::string_view op, const Output& x, std::string_view name,
                PartialShape shape);
  // The tail every variable shares, inside its name scope: "Assign" and
  // "read" (with the _class colocation attr), then the bookkeeping.
  GraphVariable FinishVariable(const std::string& full, Output ref, Output init,
                               bool trainable, bool global_step);
  void AddVariableToCollections(const GraphVariable& v, bool global_step);

  Status status_;
  tensorflow::GraphDef graph_;
  std::map<std::string, int> nodes_;           // name -> index in graph_
  std::map<std::string, int> names_in_use_;    // lowercase name -> count
  std::string scope_;
  std::vector<GraphVariable> variables_;
  google::protobuf::Map<std::string, tensorflow::CollectionDef> collections_;
};

}  // namespace ckpt

#endif  // CKPT_GRAPH_H_
