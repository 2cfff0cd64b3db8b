// MetaGraphDefs: the Saver subgraph, `.meta` files and `graph.pbtxt`, and
// reading TensorFlow's `.meta` files (`saved_model.pb`: ckpt/saved_model.h).
//
// A C++ model describes itself with a GraphBuilder (graph.h), adds the
// subgraph tf.compat.v1.train.Saver builds (AddSaverSubgraph), and exports
// the whole as a MetaGraphDef that TensorFlow's import_meta_graph accepts;
// the Saver inside it restores checkpoints written by ckpt::Saver under the
// same variable names. MetaGraphWriter() plugs the export into
// SaverOptions::meta_graph_writer so every Save writes `<prefix>.meta`.
//
// Versions written (MetaGraphOptions): the op registry holds TensorFlow
// 2.21's OpDefs and nodes carry every attr TF 2.21 Python writes, so the
// graph claims to be what TF 2.21 produces: tensorflow_version "2.21.0",
// GraphDef versions.producer 2474 (TF 2.21's TF_GRAPH_DEF_VERSION),
// min_consumer 0. Older TF 1.x consumers also accept it: a producer newer
// than the consumer is allowed, and import_meta_graph uses stripped_op_list
// to drop attrs added after their release when they hold the default value
// (MatMul grad_a/grad_b, MergeV2Checkpoints allow_missing_files).
// tensorflow_git_version is "unknown", as in TF builds without git data.
//
// Thread safety: the free functions are thread-safe; a GraphBuilder is not.
#ifndef CKPT_META_GRAPH_H_
#define CKPT_META_GRAPH_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/graph.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "tensorflow/core/protobuf/meta_graph.pb.h"
#include "tensorflow/core/protobuf/saver.pb.h"

namespace ckpt {

inline constexpr char kDefaultTensorFlowVersion[] = "2.21.0";
inline constexpr int kDefaultGraphDefProducer = 2474;

struct MetaGraphOptions {
  std::string tensorflow_version = kDefaultTensorFlowVersion;
  std::string tensorflow_git_version = "unknown";
  int producer = kDefaultGraphDefProducer;
  int min_consumer = 0;
  // MetaInfoDef.tags (empty for plain .meta files).
  std::vector<std::string> tags;
};

// What tf.compat.v1.train.Saver(...) is built with.
struct SaverGraphOptions {
  // Name scope of the subgraph ("save", made unique: "save_1", ...).
  std::string name = "save";
  int max_to_keep = 5;
  float keep_checkpoint_every_n_hours = 10000.0f;
  // Only false is supported (sharded savers: Unimplemented).
  bool sharded = false;
  // Default value of the filename placeholder.
  std::string default_filename = "model";

  // max_to_keep, keep_checkpoint_every_n_hours and sharded of a ckpt::Saver.
  static SaverGraphOptions FromSaverOptions(const SaverOptions& options);
};

// Adds the non-sharded V2 Saver subgraph for `variables` (their VariableV2
// nodes are the tensors saved; checkpoint keys are the variables' names,
// sorted): save/filename/input, save/filename, save/Const,
// save/SaveV2{,/tensor_names,/shape_and_slices}, save/control_dependency,
// save/RestoreV2{,/tensor_names,/shape_and_slices}, save/Assign,
// save/Assign_1, ..., save/restore_all. Returns the SaverDef describing it.
// InvalidArgument for no variables, duplicate names, variables not in the
// graph or a builder already in error; Unimplemented for sharded.
Result<tensorflow::SaverDef> AddSaverSubgraph(GraphBuilder* graph,
                                              const std::vector<GraphVariable>& variables,
                                              const SaverGraphOptions& options = {});
// Same, for every variable of the graph.
Result<tensorflow::SaverDef> AddSaverSubgraph(GraphBuilder* graph,
                                              const SaverGraphOptions& options = {});

// The OpDefs of every op `graph` uses, sorted by name, from the registry.
// InvalidArgument if an op is not registered.
Result<tensorflow::OpList> StrippedOpList(const tensorflow::GraphDef& graph);

// The MetaGraphDef TF's export_meta_graph writes for this graph:
// meta_info_def (stripped_op_list, versions), graph_def with versions,
// saver_def (if given) and the builder's collections. Fails with the
// builder's error if it has one.
Result<tensorflow::MetaGraphDef> BuildMetaGraphDef(const GraphBuilder& graph,
                                                   const tensorflow::SaverDef* saver_def,
                                                   const MetaGraphOptions& options = {});
// The graph with versions set, as tf.io.write_graph writes it.
Result<tensorflow::GraphDef> BuildGraphDef(const GraphBuilder& graph,
                                           const MetaGraphOptions& options = {});

// Writes a binary MetaGraphDef (a `.meta` file) atomically.
Status WriteMetaGraph(Env* env, const std::string& path, const tensorflow::MetaGraphDef& meta);
// A GraphDef in protobuf text format (graph.pbtxt).
std::string GraphDefToText(const tensorflow::GraphDef& graph);
// Writes GraphDefToText(graph) atomically.
Status WriteTextGraph(Env* env, const std::string& path, const tensorflow::GraphDef& graph);

// A SaverOptions::meta_graph_writer that writes `meta` to the path it is
// given. Holds a copy of `meta`; `env` is not owned and must outlive it.
std::function<Status(const std::string&)> MetaGraphWriter(tensorflow::MetaGraphDef meta,
                                                          Env* env = Env::Posix());

// Reads a binary `.meta` file. NotFound if missing; DataLoss if it does not
// parse as a MetaGraphDef.
Result<tensorflow::MetaGraphDef> ReadMetaGraph(Env* env, const std::string& path);
// Reads a text GraphDef (graph.pbtxt). DataLoss if it does not parse.
Result<tensorflow::GraphDef> ReadTextGraph(Env* env, const std::string& path);
// Reads a GraphDef file as tf.io.write_graph writes it: text when the name
// ends in ".pbtxt" or ".txt", else binary, and text if it is not binary.
// DataLoss if it parses as neither.
Result<tensorflow::GraphDef> ReadGraphDef(Env* env, const std::string& path);

// A summary of a MetaGraphDef (ours or TensorFlow's).
struct MetaGraphInfo {
  struct Node {
    std::string name;
    std::string op;
    std::vector<std::string> inputs;  // as in the NodeDef ("^x" = control)
    std::string device;
  };
  struct Variable {
    std::string name;          // op name ("w"), from variable_name "w:0"
    std::string initializer;   // "w/Assign"
    std::string snapshot;      // "w/read:0"
    std::string initial_value; // "w/initial_value:0" (empty in old graphs)
    bool trainable = false;    // the flag, or membership in trainable_variables
    bool is_resource = false;
  };
  struct Collection {
    // "node_list", "bytes_list", "int64_list", "float_list", "any_list" or
    // "" (empty CollectionDef).
    std::string kind;
    // node names, raw bytes, numbers as decimal text, or Any type URLs.
    std::vector<std::string> values;
  };

  std::string tensorflow_version;
  std::string tensorflow_git_version;
  std::vector<std::string> tags;
  int producer = 0;
  std::vector<std::string> stripped_ops;  // OpDef names in stripped_op_list
  std::vector<std::string> used_ops;      // distinct ops of the nodes, sorted
  std::vector<Node> nodes;
  std::vector<Variable> variables;        // the `variables` collection
  std::map<std::string, Collection> collections;
  std::optional<tensorflow::SaverDef> saver_def;

  const Node* FindNode(const std::string& name) const;
};
// DataLoss if the `variables` collection holds bytes that are not a
// VariableDef.
Result<MetaGraphInfo> DescribeMetaGraph(const tensorflow::MetaGraphDef& meta);

}  // namespace ckpt

#endif  // CKPT_META_GRAPH_H_
