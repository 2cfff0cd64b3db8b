// `ckpt inspect`: the counterpart of TensorFlow's inspect_checkpoint.
//
//   ckpt inspect --file_name=PATH [--tensor_name=NAME] [--all_tensors]
//                [--all_tensor_names] [--printoptions k=v ...] [--json]
//
// PATH is a V2 prefix, a V1 file or a directory (its newest checkpoint).
// Text output follows TensorFlow's layout; values are printed as
// numpy's print() shows them (see FormatTensor). --json prints a
// machine-readable document instead (see the schema in inspect.cc).
//
// Thread safety: the functions are reentrant; they share no state.
#ifndef CKPT_TOOLS_INSPECT_H_
#define CKPT_TOOLS_INSPECT_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::tools {

// The subset of numpy.set_printoptions that FormatTensor honours.
struct PrintOptions {
  int64_t threshold = 1000;  // summarise arrays with more elements than this
  int64_t edgeitems = 3;     // items kept at each edge of a summarised axis
  int64_t precision = 8;     // maximum fractional digits of floats
  int64_t linewidth = 75;    // wrap rows longer than this
  bool suppress = false;     // never switch to scientific notation for small values
  char sign = '-';           // '-', '+' or ' ', as numpy
  std::string nanstr = "nan";
  std::string infstr = "inf";
};

// Applies one "key=value" as numpy.set_printoptions(key=value) would.
// InvalidArgument for a malformed pair, an unknown or unsupported key, or a
// bad value.
Status SetPrintOption(std::string_view key_value, PrintOptions* options);

// The tensor as numpy's print() shows the array TensorFlow's
// CheckpointReader.get_tensor returns (numpy 2.x, default legacy mode).
std::string FormatTensor(const Tensor& tensor, const PrintOptions& options);

// The tensor's elements as a flat, row-major JSON array (see inspect.cc).
std::string TensorValuesToJson(const Tensor& tensor);

// A JSON string literal for `bytes`; invalid UTF-8 becomes U+FFFD.
std::string JsonString(std::string_view bytes);

struct InspectOptions {
  std::string file_name;
  std::string tensor_name;
  bool all_tensors = false;
  bool all_tensor_names = false;
  bool json = false;
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
