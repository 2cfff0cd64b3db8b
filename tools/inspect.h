// `ckpt inspect`: the counterpart of TensorFlow's inspect_checkpoint.
#ifndef CKPT_TOOLS_INSPECT_H_
#define CKPT_TOOLS_INSPECT_H_

#include <CLI/CLI.hpp>

#include <ostream>

namespace ckpt::tools {

// Adds the `inspect` subcommand to `app`; when it runs, output goes to `out`
// and errors to `err`, and *exit_code is set.
void AddInspectCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_INSPECT_H_
