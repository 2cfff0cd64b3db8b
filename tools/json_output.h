// JSON text for the `ckpt` subcommands' --json output: string literals,
// shapes and a tensor's values. The documents themselves (their keys and
// layout) are described by each subcommand's header.
//
// Tensor values (TensorValuesToJson) are a flat, row-major array, nothing
// summarised: integers exactly; floats with %.9g (float and the 8/16-bit
// float types, converted to float) or %.17g (double); "nan", "inf", "-inf"
// as strings; complex as [re, im]; bools as true/false; strings as JSON
// strings when valid UTF-8, else {"base64": "..."}.
//
// Thread safety: the functions are reentrant; they share no state.
#ifndef CKPT_TOOLS_JSON_OUTPUT_H_
#define CKPT_TOOLS_JSON_OUTPUT_H_

#include <string>
#include <string_view>

#include "ckpt/tensor.h"

namespace ckpt::tools {

// A JSON string literal for `bytes`; invalid UTF-8 becomes U+FFFD.
std::string JsonString(std::string_view bytes);

// "true" or "false".
inline std::string JsonBool(bool b) { return b ? "true" : "false"; }

// The shortest decimal that reads back as `v`; "nan", "inf" or "-inf" for
// the non-finite values (the text the subcommands' text and CSV outputs
// print).
std::string ShortestDecimal(double v);

// ShortestDecimal(v) as a JSON value: "nan", "inf" and "-inf" become JSON
// strings.
std::string JsonNumber(double v);

// The dimensions as a JSON array: "[2, 3]", "[]" for a scalar.
std::string JsonShape(const TensorShape& shape);

// The tensor's elements as a flat, row-major JSON array (see above).
std::string TensorValuesToJson(const Tensor& tensor);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_JSON_OUTPUT_H_
