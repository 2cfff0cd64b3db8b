// Reading one element of a Tensor as a plain C++ value, for the printers of
// `ckpt inspect` (numpy_format.h, json_output.h): floating-point types of any
// width (half, bfloat16, the float8 and float4 formats of ml_dtypes) decoded
// to double, complex as two doubles, every integer-like type (quantized and
// sub-byte ones included) as its decimal digits.
//
// Thread safety: pure functions; they share no state.
#ifndef CKPT_TOOLS_TENSOR_ELEMENTS_H_
#define CKPT_TOOLS_TENSOR_ELEMENTS_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt::tools {

// Element i of `t` read as a T. REQUIRES: i * sizeof(T) is inside t's bytes.
template <typename T>
T Load(const Tensor& t, int64_t i) {
  T v;
  std::memcpy(&v, t.data() + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

// A small binary floating-point format (half, bfloat16, float8, float4).
struct MiniFloat {
  enum class Special { kIeee, kFn, kFnuz, kNone };
  int exp_bits;
  int man_bits;
  int bias;
  Special special;
  int total_bits() const { return 1 + exp_bits + man_bits; }
};

inline constexpr MiniFloat kHalfFormat{5, 10, 15, MiniFloat::Special::kIeee};

// The format of a half, bfloat16, float8 or float4 dtype; nullptr for any
// other dtype.
const MiniFloat* MiniFloatFormat(DataType dtype);

// The value of the low f.total_bits() bits of `bits` in format `f`.
double DecodeMiniFloat(uint32_t bits, const MiniFloat& f);

bool IsComplex(DataType d);

// The integer types, quantized and sub-byte ones included.
bool IsIntegerLike(DataType d);

// Element i of a real floating-point tensor (float, double, half, bfloat16,
// float8, float4) as a double.
double RealValue(const Tensor& t, int64_t i);

// Element i of a complex64/complex128 tensor as (real, imaginary).
std::pair<double, double> ComplexValue(const Tensor& t, int64_t i);

// Integer element i as a decimal string. REQUIRES: IsIntegerLike(t.dtype()).
std::string IntegerString(const Tensor& t, int64_t i);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_TENSOR_ELEMENTS_H_
