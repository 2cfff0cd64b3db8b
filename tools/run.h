// `ckpt run`: import a TensorFlow graph, restore its variables, run it.
//
//   ckpt run (--meta_graph P.meta | --graph G.pbtxt|G.pb | --saved_model DIR [--tags serve ...])
//            [--checkpoint PREFIX|none] [--feed 'input:0=x.npy' ...]
//            [--fetch 'output:0' ...] [--target op ...] [--output DIR] [--json]
//            [--printoptions k=v ...]
//   ckpt run --saved_model DIR [--tags serve ...] --signature KEY
//            [--feed INPUT_KEY=x.npy ...] [--fetch OUTPUT_KEY ...] [...as above]
//
// Checkpoint: --checkpoint PREFIX restores from PREFIX (anything
// CheckpointReader opens) through the graph's SaverDef. Without it: for
// --meta_graph, the newest checkpoint of the .meta's directory (its
// `checkpoint` state file), else the .meta's own prefix ("model.ckpt-5" for
// "model.ckpt-5.meta") if that checkpoint exists; for --saved_model,
// DIR/variables/variables; for --graph, none. A graph without a SaverDef, or
// --checkpoint none, restores nothing.
//
// Feeds are NAME=FILE.npy (split at the first '='); a value fed to a
// Placeholder of another numeric dtype is converted to it, as
// tf.compat.v1.Session.run converts a feed_dict value with np.asarray(value,
// dtype=placeholder.dtype) (bools and strings are never converted).
//
// Signatures (--signature KEY, SavedModel only): feeds are INPUT_KEY=FILE.npy
// and fetches output keys (none: every output, sorted by key, as
// saved_model_cli run), resolved by ImportedGraph::ResolveSignature
// (graph_import.h: its rules and errors; a fed value must have the
// TensorInfo's dtype, it is not converted). The outputs below are keyed by
// output key instead of tensor name (the text output's heading is
// saved_model_cli's "Result for output key KEY:"); a failing run names the
// signature.
//
// Output, for the fetches in order:
//   --output DIR   one .npy per fetch in DIR (created if missing), named
//                  NpyFileNameForTensor(name): every character other than
//                  [A-Za-z0-9._-] becomes '_' ("output_layer/output:0" ->
//                  "output_layer_output_0.npy"); stdout lists "name<TAB>path"
//                  per fetch. Two different fetches mapping to one file name
//                  are an error.
//   --json         one JSON object {"<fetch>": {"dtype": "float", "shape":
//                  [2, 3], "values": [...]}, ...} (values as
//                  json_output.h's TensorValuesToJson). With --output too,
//                  "values" is replaced by "path".
//   neither        per fetch "tensor_name:  <name>" and the value as numpy
//                  prints it (numpy_format.h; --printoptions as for
//                  `ckpt inspect`, e.g. threshold=100000 precision=4).
// Errors (unsupported op, missing feed, bad .npy, ...) go to stderr as
// "ckpt run: <status>" with exit code 1; nothing is written to stdout.
//
// Thread safety: the functions are reentrant; they share no state.
#ifndef CKPT_TOOLS_RUN_H_
#define CKPT_TOOLS_RUN_H_

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "numpy_format.h"

namespace ckpt::tools {

struct RunOptions {
  std::string meta_graph;
  std::string graph;
  std::string saved_model;
  std::vector<std::string> tags = {"serve"};
  std::string signature;             // a SignatureDef key; empty: feeds/fetches are tensor names
  std::string checkpoint;            // empty: the default (see above); "none": no restore
  std::vector<std::string> feeds;    // "name=path.npy"
  std::vector<std::string> fetches;  // tensor names
  std::vector<std::string> targets;  // node names
  std::string output_dir;
  bool json = false;
  PrintOptions print_options;  // the text output's (--printoptions k=v, as inspect)
};

// The file name a fetched tensor is written to under --output (see above).
std::string NpyFileNameForTensor(const std::string& tensor_name);

// Runs the command; returns the exit code (0 ok, 1 failure).
int RunRun(const RunOptions& options, std::ostream& out, std::ostream& err);

// Adds the `run` subcommand to `app`. REQUIRES: the pointers outlive the parse.
void AddRunCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_RUN_H_
