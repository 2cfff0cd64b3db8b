// `ckpt convert`: a checkpoint into another format (ckpt/convert.h).
//
//   ckpt convert SRC DST [--to tf|safetensors|keras-h5] [--from ...]
//                [--name-map RULE]... [--no-default-name-map]
//                [--metadata KEY=VALUE]... [--skip-unsupported] [--state-file]
//                [--template T [--model-name model] [--no-optimizer]]
//
// SRC is a TensorFlow checkpoint (prefix, V1 file or directory; TF2 object
// checkpoints too), a .safetensors file or a Keras 3 .weights.h5 file; DST's
// format comes from --to or from its name (.safetensors, .h5, else a
// TensorFlow V2 prefix; an existing directory or a name ending in '/' gets
// DST/model.ckpt and a `checkpoint` state file). Prints one line per tensor
// written ("SRC_NAME -> DST_NAME") and per tensor skipped, then "Wrote N
// tensors to DST". A Keras weights file to or from a TF2 object checkpoint
// needs --template (the output's structure; ckpt/keras_weights.h) and prints
// "Wrote DST". On a terminal a progress bar is drawn on stderr. Exit codes: 0
// written, 1 failed (nothing written), 2 bad command line.
//
// Thread safety: reentrant; no shared state.
#ifndef CKPT_TOOLS_CONVERT_H_
#define CKPT_TOOLS_CONVERT_H_

#include <CLI/CLI.hpp>
#include <ostream>

namespace ckpt::tools {

// Adds the `convert` subcommand to `app` (see command.h).
// REQUIRES: the pointers outlive the parse.
void AddConvertCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_CONVERT_H_
