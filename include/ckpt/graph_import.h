// ImportedGraph: a TensorFlow graph (from a `.meta` file, a MetaGraphDef or a
// GraphDef) indexed for running: its nodes by name, TensorFlow's tensor names
// ("op:0", "op:1", "op" meaning output 0, "^op" a control input), its
// collections, its SaverDef and (a SavedModel's) signatures. What
// tf.compat.v1.train.import_meta_graph gives a Python user, without TensorFlow.
//
// Import checks what every later step relies on: node names are unique and
// every input of every node names an existing node. It does not check ops,
// attrs or types (running does, for the nodes it runs).
//
// Thread safety: an ImportedGraph is immutable after import; const methods
// may be called concurrently.
#ifndef CKPT_GRAPH_IMPORT_H_
#define CKPT_GRAPH_IMPORT_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "tensorflow/core/framework/graph.pb.h"
#include "tensorflow/core/framework/node_def.pb.h"
#include "tensorflow/core/protobuf/meta_graph.pb.h"
#include "tensorflow/core/protobuf/saver.pb.h"

namespace ckpt {

// A parsed TensorFlow tensor or input name.
struct TensorName {
  std::string node;
  int index = 0;  // the output; -1 for a control input
  bool is_control() const { return index < 0; }
  // "node:index" ("^node" for a control input).
  std::string ToString() const;
  friend bool operator==(const TensorName& a, const TensorName& b) {
    return a.node == b.node && a.index == b.index;
  }
};

// The number of outputs of `node` from its OpDef in ckpt's registry
// (FindOpDef, ckpt/graph.h) and its attrs; -1 when unknown (op not
// registered, or a list-length attr missing).
int NumOutputs(const tensorflow::NodeDef& node);

// Parses "op" (output 0), "op:k" and, if `allow_control`, "^op". InvalidArgument
// for an empty node name, a non-numeric or negative index, or "^" where a
// control input is not allowed (a fetch or feed must name a tensor).
Result<TensorName> ParseTensorName(std::string_view name, bool allow_control = false);

class ImportedGraph {
 public:
  // InvalidArgument for a node without a name, duplicate node names, or an
  // input that does not parse or names a node not in the graph (TF's wording:
  // "Node 'y': Unknown input node 'x'").
  static Result<std::shared_ptr<const ImportedGraph>> FromGraphDef(tensorflow::GraphDef graph);
  // Same, keeping the meta graph's collections and SaverDef.
  static Result<std::shared_ptr<const ImportedGraph>> FromMetaGraphDef(
      tensorflow::MetaGraphDef meta);

  ~ImportedGraph();
  ImportedGraph(const ImportedGraph&) = delete;
  ImportedGraph& operator=(const ImportedGraph&) = delete;

  const tensorflow::GraphDef& graph_def() const;
  int num_nodes() const;
  // The node named `name`, or nullptr.
  const tensorflow::NodeDef* FindNode(std::string_view name) const;
  // The node of a tensor name ("x:0" or "x"). NotFound, in TF's words, when
  // the op does not exist: "The name 'x:0' refers to a Tensor which does not
  // exist. The operation, 'x', does not exist in this graph.", or when the
  // index is past its outputs ("... exists but only has 1 outputs."; checked
  // for ops in ckpt's op registry, FindOpDef).
  Result<const tensorflow::NodeDef*> GetNodeOfTensor(std::string_view tensor_name) const;

  // The meta graph's collections (empty for a GraphDef import).
  const google::protobuf::Map<std::string, tensorflow::CollectionDef>& collections() const;
  // The node_list values of a collection ("train_op", ...). NotFound if the
  // collection is missing; InvalidArgument if it is not a node_list.
  Result<std::vector<std::string>> NodeListCollection(const std::string& key) const;
  // The meta graph's SaverDef, or nullptr if it has none.
  const tensorflow::SaverDef* saver_def() const;

  // The meta graph's SignatureDefs by key ("serving_default", ...): what a
  // SavedModel's meta graph carries; empty for a GraphDef import and for the
  // `.meta` files Savers write. Not checked at import: a signature naming a
  // tensor the graph lacks fails when it is run, as in TF.
  const google::protobuf::Map<std::string, tensorflow::SignatureDef>& signatures() const;
  // The signature `key`. NotFound naming the key and the available keys
  // (sorted), or saying the graph has none.
  Result<const tensorflow::SignatureDef*> Signature(const std::string& key) const;
  // The meta graph's asset files (SavedModel `assets/`); empty otherwise.
  const google::protobuf::RepeatedPtrField<tensorflow::AssetFileDef>& asset_files() const;

  // A run of signature `key` resolved to graph tensors, for Session::Run:
  // `inputs` are values by input key, `output_keys` the outputs wanted (empty:
  // every output, sorted by key, as saved_model_cli run). Each input must be
  // a key of the signature, given once, with the TensorInfo's dtype (no
  // conversion) and a shape compatible with its known dims. An input not
  // given is fed its value in the SignatureDef's `defaults` (after the given
  // ones, sorted by key); without one it is an error. Errors name the
  // signature and the key: Signature's NotFound; InvalidArgument for an
  // unknown input or output key (listing the valid ones, sorted), an input
  // given twice or missing without a default, a dtype or shape mismatch (of a
  // given value or a default); DataLoss for a default that does not parse;
  // DenseTensorName's errors (Unimplemented for a sparse or composite
  // TensorInfo). A TensorInfo naming a tensor the graph lacks is not checked
  // here (Session::Run's NotFound).
  struct SignatureRun {
    std::vector<std::pair<std::string, Tensor>> feeds;  // (tensor name, value)
    std::vector<std::string> fetches;                   // tensor names, in output_keys' order
    std::vector<std::string> output_keys;               // the outputs fetched
  };
  Result<SignatureRun> ResolveSignature(const std::string& key,
                                        std::vector<std::pair<std::string, Tensor>> inputs,
                                        const std::vector<std::string>& output_keys = {}) const;

 private:
  struct Impl;
  explicit ImportedGraph(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The graph tensor name ("op:0") of a dense TensorInfo, for feeding or
// fetching it. Unimplemented for a sparse (coo_sparse) or composite
// (composite_tensor) one, InvalidArgument for one with no encoding set;
// `what` names it in the message (e.g. "input 'x' of signature
// 'serving_default'").
Result<std::string> DenseTensorName(const tensorflow::TensorInfo& info, std::string_view what);

// Reads a binary `.meta` file (ReadMetaGraph) and imports it. NotFound if the
// file is missing, DataLoss if it does not parse, and FromMetaGraphDef's errors.
Result<std::shared_ptr<const ImportedGraph>> ImportMetaGraph(Env* env, const std::string& path);

// Reads a GraphDef file (ReadGraphDef: graph.pbtxt text, or binary) and
// imports it. A bare GraphDef has no SaverDef and no collections.
Result<std::shared_ptr<const ImportedGraph>> ImportGraphDef(Env* env, const std::string& path);

// Imports the MetaGraphDef of a SavedModel (`path`: its directory or its
// `saved_model.pb`; ReadSavedModel, ckpt/saved_model.h) whose tag set
// equals `tags` (order and repeats ignored; FindMetaGraph), as TF's loader
// chooses it; its variables are then restored from
// SavedModelVariablesPrefix(export_dir). NotFound, in TF's words, when no
// meta graph has those tags: "Could not find meta graph def matching
// supplied tags: { serve }. ..." followed by the tag sets present; NotFound
// if the file is missing, DataLoss if it does not parse.
Result<std::shared_ptr<const ImportedGraph>> ImportSavedModel(Env* env, const std::string& path,
                                                              const std::vector<std::string>& tags);

}  // namespace ckpt

#endif  // CKPT_GRAPH_IMPORT_H_
