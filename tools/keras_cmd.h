// `ckpt keras-convert`: Keras 3 weights files <-> TF2 object checkpoints.
//
//   ckpt keras-convert SRC DST --template T [--model-name model] [--no-optimizer]
//
// The direction follows the file names: SRC ending in ".h5" is a Keras 3
// `.weights.h5` converted into the object checkpoint DST (a prefix; T is an
// object checkpoint of the same model); otherwise SRC is an object
// checkpoint converted into the weights file DST, which must end in ".h5"
// (T is a `.weights.h5` of the same model). See ckpt/keras_weights.h and
// docs/format/keras_weights.md. Prints "wrote DST" on success; exit code 1
// with the error on stderr when the conversion fails, 2 for a bad command
// line.
#ifndef CKPT_TOOLS_KERAS_CMD_H_
#define CKPT_TOOLS_KERAS_CMD_H_

#include <CLI/CLI.hpp>
#include <ostream>

namespace ckpt::tools {

// Adds the `keras-convert` subcommand to `app` (see command.h).
// REQUIRES: the pointers outlive the parse.
void AddKerasConvertCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_KERAS_CMD_H_
