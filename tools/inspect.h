// `ckpt inspect`: the counterpart of TensorFlow's inspect_checkpoint.
//
//   ckpt inspect --file_name=PATH [--tensor_name=NAME] [--all_tensors]
//                [--all_tensor_names] [--count_exclude_pattern=REGEX]
//                [--printoptions k=v ...] [--style tf1|tf2] [--json]
//
// PATH is a V2 prefix, a V1 file or a directory (its newest checkpoint).
//
// Text output follows TensorFlow's layout:
//   no flags            the reader's DebugString, then a blank line
//   --all_tensor_names  a header line per variable (name order)
//   --all_tensors       the same lines, each followed by the value
//   --tensor_name=N     N's header line and the value
// then "# Total number of params: <sum of element counts>", preceded with
// --count_exclude_pattern by "# Excluding <n> tensors (<m> params) that match
// <REGEX> when counting." (variables whose name the ECMAScript regex matches
// anywhere, as Python's re.search, are left out of the total). The header
// line has two styles: `--style tf1` (the default; TensorFlow 1.x and the
// Checkpoints guide) prints "tensor_name:  <name>", `--style tf2` prints
// TensorFlow 2.x's "tensor: <name> (<dtype>) <shape>", e.g.
// "tensor: dense/kernel (float32) [4, 10]". Values are
// printed as numpy's print() shows them (numpy_format.h). Names and slice
// keys in text output and errors go through EscapeForDisplay (ckpt/escape.h):
// control characters and invalid UTF-8 are escaped, printable names (UTF-8
// included) print exactly as TensorFlow prints them.
//
// JSON output (--json), one document followed by a newline:
//   {"checkpoint": "<prefix opened>", "format": "V1"|"V2",
//    "variables": [{"name": "...", "dtype": "float", "shape": [2, 3]}, ...]}
// With --all_tensors every variable also has "values", a flat row-major list
// (TensorValuesToJson, json_output.h). With --tensor_name the document is a
// single object {"name", "dtype", "shape", "values"}. Nothing is summarised.
//
// Errors go to stderr with exit code 1 (TensorFlow prints them on stdout and
// exits 0), and nothing is written to stdout when the command fails.
//
// Thread safety: the functions are reentrant; they share no state.
#ifndef CKPT_TOOLS_INSPECT_H_
#define CKPT_TOOLS_INSPECT_H_

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

#include "numpy_format.h"

namespace ckpt::tools {

struct InspectOptions {
  enum class Style { kTf1, kTf2 };  // the per-tensor header line (see above)

  std::string file_name;
  std::string tensor_name;
  bool all_tensors = false;
  bool all_tensor_names = false;
  bool json = false;
  Style style = Style::kTf1;
  std::string count_exclude_pattern;  // ECMAScript regex; empty: count every tensor
  PrintOptions print_options;
};

// Runs the command; returns the exit code (0 ok, 1 failure). Output is
// written to `out` only if the whole command succeeds.
int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err);

// Adds the `inspect` subcommand to `app`; when it runs, output goes to `out`
// and errors to `err`, and *exit_code is set (2 for a bad --printoptions).
// REQUIRES: the pointers outlive the parse.
void AddInspectCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_INSPECT_H_
