// `ckpt savedmodel show`: what a SavedModel holds, as TensorFlow's
// `saved_model_cli show` prints it.
//
//   ckpt savedmodel show DIR [--tag_set T1,T2 [--signature_def KEY]] [--all] [--json]
//
// DIR is a SavedModel directory (or its saved_model.pb). Text output:
//   no flags        "The given SavedModel contains the following tag-sets:",
//                   then one line per meta graph: its tags sorted, joined by
//                   ", " and quoted as Python's repr ('serve');
//   --tag_set       the meta graph's signature keys, sorted
//                   ('SignatureDef key: "serving_default"');
//   --signature_def its inputs and outputs (sorted by key; dtype, shape as
//                   "(-1, 1)" or "unknown_rank", tensor name) and method name;
//   --all           every meta graph (sorted by its tags) with every
//                   signature as above and the op types its graph uses.
// The TF1 parts are byte for byte saved_model_cli's. Left out: TF2
// SavedModels' "Concrete Functions" (the tf.functions of the object graph,
// with their argument specs): ckpt does not read the SavedObjectGraph, so
// --all prints "Concrete Functions: N/A (...)" when a meta graph has one;
// the op list is sorted (saved_model_cli prints a Python set, in hash
// order) and holds the graph's nodes' ops only, not those inside its
// function library (TF2 graphs: ckpt does not read GraphDef.library).
//
// JSON (--json), one document and a newline:
//   no flags        {"tag_sets": [["serve"], ...]}
//   --tag_set       {"tags": [...], "signature_keys": ["...", ...]}
//   --signature_def the signature as `ckpt graph --signatures` prints one:
//                   {"key", "method_name", "inputs": [{"key", "name",
//                   "dtype", "shape"}], "outputs": [...]}
//   --all           {"meta_graphs": [{"tags": [...], "signatures": [...],
//                   "ops": [...], "has_object_graph": bool}]}
//
// Errors (stderr, exit code 1, nothing on stdout): not a SavedModel
// (NotFound naming saved_model.pb), one that does not parse (DataLoss), an
// unknown tag set (listing the tag sets present), an unknown signature key
// (listing the keys present).
//
// Thread safety: reentrant; no shared state.
#ifndef CKPT_TOOLS_SAVEDMODEL_CMD_H_
#define CKPT_TOOLS_SAVEDMODEL_CMD_H_

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

#include "ckpt/env.h"

namespace ckpt::tools {

struct SavedModelShowOptions {
  Env* env = Env::Posix();
  std::string dir;
  std::string tag_set;        // "serve" or "serve,gpu"; empty: list tag sets
  std::string signature_def;  // needs tag_set
  bool all = false;
  bool json = false;
};

// Runs `savedmodel show`; returns the exit code (0 ok, 1 failure). Output is
// written to `out` only if the whole command succeeds.
int RunSavedModelShow(const SavedModelShowOptions& options, std::ostream& out, std::ostream& err);

// Adds the `savedmodel` subcommand (with `show`) to `app`. REQUIRES: the
// pointers outlive the parse.
void AddSavedModelCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_SAVEDMODEL_CMD_H_
