// Element decoding for the `ckpt inspect` printers (see tensor_elements.h).
#include "tensor_elements.h"

#include <cmath>
#include <limits>

namespace ckpt::tools {
namespace {

constexpr MiniFloat kBFloat16Format{8, 7, 127, MiniFloat::Special::kIeee};

uint32_t MiniFloatBits(const Tensor& t, int64_t i) {
  if (DataTypeSize(t.dtype()) == 2) return Load<uint16_t>(t, i);
  return Load<uint8_t>(t, i);
}

}  // namespace

const MiniFloat* MiniFloatFormat(DataType dtype) {
  static constexpr MiniFloat kE5M2{5, 2, 15, MiniFloat::Special::kIeee};
  static constexpr MiniFloat kE4M3FN{4, 3, 7, MiniFloat::Special::kFn};
  static constexpr MiniFloat kE4M3FNUZ{4, 3, 8, MiniFloat::Special::kFnuz};
  static constexpr MiniFloat kE4M3B11FNUZ{4, 3, 11, MiniFloat::Special::kFnuz};
  static constexpr MiniFloat kE5M2FNUZ{5, 2, 16, MiniFloat::Special::kFnuz};
  static constexpr MiniFloat kE2M1FN{2, 1, 1, MiniFloat::Special::kNone};
  switch (dtype) {
    case DataType::kHalf:
      return &kHalfFormat;
    case DataType::kBFloat16:
      return &kBFloat16Format;
    case DataType::kFloat8E5M2:
      return &kE5M2;
    case DataType::kFloat8E4M3FN:
      return &kE4M3FN;
    case DataType::kFloat8E4M3FNUZ:
      return &kE4M3FNUZ;
    case DataType::kFloat8E4M3B11FNUZ:
      return &kE4M3B11FNUZ;
    case DataType::kFloat8E5M2FNUZ:
      return &kE5M2FNUZ;
    case DataType::kFloat4E2M1FN:
      return &kE2M1FN;
    default:
      return nullptr;
  }
}

double DecodeMiniFloat(uint32_t bits, const MiniFloat& f) {
  const int total = f.total_bits();
  bits &= (1u << total) - 1;
  const uint32_t sign_bit = 1u << (total - 1);
  const uint32_t exp_max = (1u << f.exp_bits) - 1;
  const uint32_t man_max = (1u << f.man_bits) - 1;
  const bool negative = (bits & sign_bit) != 0;
  const uint32_t e = (bits >> f.man_bits) & exp_max;
  const uint32_t m = bits & man_max;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  switch (f.special) {
    case MiniFloat::Special::kIeee:
      if (e == exp_max) {
        if (m != 0) return nan;
        return negative ? -HUGE_VAL : HUGE_VAL;
      }
      break;
    case MiniFloat::Special::kFn:
      if (e == exp_max && m == man_max) return nan;
      break;
    case MiniFloat::Special::kFnuz:
      if (bits == sign_bit) return nan;
      break;
    case MiniFloat::Special::kNone:
      break;
  }
  double v = e == 0 ? std::ldexp(static_cast<double>(m), 1 - f.bias - f.man_bits)
                    : std::ldexp(static_cast<double>(m + (man_max + 1)),
                                 static_cast<int>(e) - f.bias - f.man_bits);
  return negative ? -v : v;
}

bool IsComplex(DataType d) { return d == DataType::kComplex64 || d == DataType::kComplex128; }

double RealValue(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kFloat:
      return Load<float>(t, i);
    case DataType::kDouble:
      return Load<double>(t, i);
    default:
      return DecodeMiniFloat(MiniFloatBits(t, i), *MiniFloatFormat(t.dtype()));
  }
}

std::pair<double, double> ComplexValue(const Tensor& t, int64_t i) {
  if (t.dtype() == DataType::kComplex64) {
    return {Load<float>(t, 2 * i), Load<float>(t, 2 * i + 1)};
  }
  return {Load<double>(t, 2 * i), Load<double>(t, 2 * i + 1)};
}

bool IsIntegerLike(DataType d) {
  switch (d) {
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kUInt8:
    case DataType::kUInt16:
    case DataType::kUInt32:
    case DataType::kUInt64:
    case DataType::kQInt8:
    case DataType::kQUInt8:
    case DataType::kQInt16:
    case DataType::kQUInt16:
    case DataType::kQInt32:
    case DataType::kInt4:
    case DataType::kUInt4:
    case DataType::kInt2:
    case DataType::kUInt2:
      return true;
    default:
      return false;
  }
}

std::string IntegerString(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kInt8:
    case DataType::kQInt8:
      return std::to_string(Load<int8_t>(t, i));
    case DataType::kInt16:
    case DataType::kQInt16:
      return std::to_string(Load<int16_t>(t, i));
    case DataType::kInt32:
    case DataType::kQInt32:
      return std::to_string(Load<int32_t>(t, i));
    case DataType::kInt64:
      return std::to_string(Load<int64_t>(t, i));
    case DataType::kUInt8:
    case DataType::kQUInt8:
      return std::to_string(Load<uint8_t>(t, i));
    case DataType::kUInt16:
    case DataType::kQUInt16:
      return std::to_string(Load<uint16_t>(t, i));
    case DataType::kUInt32:
      return std::to_string(Load<uint32_t>(t, i));
    case DataType::kUInt64:
      return std::to_string(Load<uint64_t>(t, i));
    case DataType::kInt4: {
      int v = Load<uint8_t>(t, i) & 0xf;
      return std::to_string(v >= 8 ? v - 16 : v);
    }
    case DataType::kUInt4:
      return std::to_string(Load<uint8_t>(t, i) & 0xf);
    case DataType::kInt2: {
      int v = Load<uint8_t>(t, i) & 0x3;
      return std::to_string(v >= 2 ? v - 4 : v);
    }
    case DataType::kUInt2:
      return std::to_string(Load<uint8_t>(t, i) & 0x3);
    default:
      return "?";
  }
}

}  // namespace ckpt::tools
