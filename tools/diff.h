// `ckpt diff`: compare the tensors of two checkpoints, of any formats
// (TensorFlow checkpoints, safetensors files; ckpt/convert.h's sources).
//
//   ckpt diff A B [--atol X] [--rtol Y] [--equal-nan] [--name-map RULE]...
//                 [--no-default-name-map]
//
// Names are compared after the name rules (applied to both sides; TF2 object
// checkpoints first lose "/.ATTRIBUTES/VARIABLE_VALUE"). Values are equal as
// numpy.allclose(a, b, rtol, atol) says: |a - b| <= atol + rtol * |b| for
// every element (defaults rtol 1e-05, atol 1e-08; infinities equal only to
// themselves; NaN unequal to everything unless --equal-nan); strings and
// bools must match exactly. Output, one line per difference:
//   only in A: NAME (DTYPE) SHAPE
//   only in B: NAME (DTYPE) SHAPE
//   changed: NAME: float [2,3] -> half [2,3]
//   values differ: NAME: 3 of 6 elements, max abs diff 0.5, max rel diff 0.25
// then "N tensors equal, M differ". Exit codes: 0 equal, 1 different,
// 2 error (unreadable file, bad command line).
//
// Thread safety: reentrant; no shared state.
#ifndef CKPT_TOOLS_DIFF_H_
#define CKPT_TOOLS_DIFF_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <ostream>

#include "ckpt/tensor.h"

namespace ckpt::tools {

struct Closeness {
  double atol = 1e-08;
  double rtol = 1e-05;
  bool equal_nan = false;
};

// How two tensors of one dtype and shape differ.
struct ValueDiff {
  int64_t differing = 0;     // elements not close
  double max_abs = 0;        // max |a - b| over all elements (NaN pairs excluded)
  double max_rel = 0;        // max |a - b| / |b| (infinite where b = 0 != a)
};

// REQUIRES: a and b have one dtype and shape.
ValueDiff CompareValues(const Tensor& a, const Tensor& b, const Closeness& close);

// Adds the `diff` subcommand to `app` (see command.h).
// REQUIRES: the pointers outlive the parse.
void AddDiffCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_DIFF_H_
