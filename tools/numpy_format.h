// numpy-style printing of a Tensor for `ckpt inspect`: the text numpy 2.x's
// print() shows for the array TensorFlow's CheckpointReader.get_tensor
// returns, and the numpy.set_printoptions settings that shape it.
//
// float16/32/64 use numpy's float formatting (by default "maxprec": shortest
// round-trip digits capped at `precision` fractional digits; the other
// floatmodes as numpy.set_printoptions describes them; a common width,
// scientific notation when the magnitudes span more than 1e3 or reach 1e8), integers
// are right-aligned, bools print as " True"/"False", strings as Python bytes
// literals, and ml_dtypes types (bfloat16, float8_*, float4) as ml_dtypes
// prints them (C++ ostream "%g", no padding). Known deviations from numpy:
//   * quantized types (qint8, ...) print as plain integers, where numpy shows
//     the structured records TensorFlow returns ("(1,)");
//   * int4/uint4/int2/uint2 are printed like numpy integers (padded);
//   * ties in the precision cut-off are rounded on the exact binary value
//     (printf), which can differ from numpy's Dragon4 in the last digit in
//     rare cases.
//
// Thread safety: the functions are reentrant; they share no state.
#ifndef CKPT_TOOLS_NUMPY_FORMAT_H_
#define CKPT_TOOLS_NUMPY_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::tools {

// numpy's floatmode: how many fractional digits array elements get.
enum class FloatMode {
  kMaxPrec,       // "maxprec": shortest round-trip digits, at most `precision`
  kMaxPrecEqual,  // "maxprec_equal": as maxprec, then as many for every element
  kFixed,         // "fixed": exactly `precision` digits
  kUnique,        // "unique": shortest round-trip digits, `precision` ignored
};

// The subset of numpy.set_printoptions that FormatTensor honours (legacy is
// accepted only as False: numpy's 1.13 printing is not reproduced).
struct PrintOptions {
  int64_t threshold = 1000;  // summarise arrays with more elements than this
  int64_t edgeitems = 3;     // items kept at each edge of a summarised axis
  int64_t precision = 8;     // maximum fractional digits of floats
  int64_t linewidth = 75;    // wrap rows longer than this
  bool suppress = false;     // never switch to scientific notation for small values
  char sign = '-';           // '-', '+' or ' ', as numpy
  std::string nanstr = "nan";
  std::string infstr = "inf";
  FloatMode floatmode = FloatMode::kMaxPrec;
};

// Applies one "key=value" as numpy.set_printoptions(key=value) would.
// InvalidArgument for a malformed pair, an unknown or unsupported key, or a
// bad value.
Status SetPrintOption(std::string_view key_value, PrintOptions* options);

// The tensor as numpy's print() shows the array TensorFlow's
// CheckpointReader.get_tensor returns (numpy 2.x, default legacy mode).
std::string FormatTensor(const Tensor& tensor, const PrintOptions& options);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_NUMPY_FORMAT_H_
