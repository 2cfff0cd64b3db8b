// `ckpt graph`: the nodes of a TensorFlow graph, and which of its op types
// ckpt can run.
//
//   ckpt graph (PATH | --saved_model DIR) [--tags serve ...] [--json]
//              [--ops [--fetch T ... [--feed T ...]] | --signatures]
//
// PATH is a .meta file, a GraphDef (.pbtxt text, .pb binary) or a SavedModel
// directory (graph_source.h says how the kind is chosen).
//
// Text output: one line per node in GraphDef order (as
// graph.as_graph_def().node lists them): "name<TAB>op<TAB>inputs", the inputs
// comma-separated as the NodeDef spells them ("x:1", "^init").
// JSON: {"nodes": [{"name": "...", "op": "...", "inputs": ["..."]}, ...]}.
//
// --ops: per op type (sorted by name) "count<TAB>op<TAB>runnable|unsupported",
// then "# <k> of <n> op types runnable; <m> of <total> nodes". An op type is
// runnable when it is in SupportedOpTypes() (ckpt/session.h: the ops the
// session runs itself and those with a kernel). JSON: {"ops": [{"op", "count",
// "runnable"}], "op_types": n, "runnable_op_types": k, "nodes": total,
// "runnable_nodes": m}. With --fetch, only the nodes a run of those tensors
// (with --feed's tensors fed) executes are counted, as Session::Run prunes
// them: the coverage of one inference path, without the Saver's and the
// optimizer's ops.
//
// --signatures: the meta graph's SignatureDefs (a SavedModel's; none for a
// GraphDef or a Saver's .meta), sorted by key, each with its inputs then its
// outputs sorted by key, one line each:
// "signature<TAB>input|output<TAB>key<TAB>tensor<TAB>DT_FLOAT<TAB>[-1, 4]"
// (the shape "unknown_rank" when unknown; a sparse tensor as
// "coo_sparse(values,indices,dense_shape)", a composite one as
// "composite(component,...)"). JSON: {"signatures": [{"key", "method_name",
// "inputs": [{"key", "name", "dtype", "shape"}], "outputs": [...]}]} with
// shape null for an unknown rank. saved_model_cli show --all lists the same.
//
// Thread safety: the functions are reentrant; they share no state.
#ifndef CKPT_TOOLS_GRAPH_CMD_H_
#define CKPT_TOOLS_GRAPH_CMD_H_

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "tensorflow/core/protobuf/meta_graph.pb.h"

namespace ckpt::tools {

struct GraphOptions {
  std::string path;
  std::string saved_model;  // --saved_model DIR, instead of path
  std::vector<std::string> tags = {"serve"};
  bool ops = false;
  std::vector<std::string> fetches;  // --ops: only the nodes these need
  std::vector<std::string> feeds;    // ... with the graph cut at these
  bool signatures = false;           // list the SignatureDefs instead of the nodes
  bool json = false;
};

// One SignatureDef as the JSON object of --signatures: {"key",
// "method_name", "inputs": [{"key", "name", "dtype", "shape"}], "outputs"}
// (inputs and outputs sorted by key; shape null for an unknown rank).
std::string SignatureJson(const std::string& key, const tensorflow::SignatureDef& sig);

// True if ckpt can run nodes of `op_type` (see above).
bool IsRunnableOp(const std::string& op_type);

// Runs the command; returns the exit code (0 ok, 1 failure).
int RunGraph(const GraphOptions& options, std::ostream& out, std::ostream& err);

// Adds the `graph` subcommand to `app`. REQUIRES: the pointers outlive the parse.
void AddGraphCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_GRAPH_CMD_H_
