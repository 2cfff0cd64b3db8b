// Tests of numpy_format.h: every kind of value printed as numpy 2.4's print()
// shows it (expected strings produced by numpy 2.4), and --printoptions
// parsing.
#include "numpy_format.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "testutil/testutil.h"
#include "tools/test_tensors.h"

namespace ckpt::tools {
namespace {

using ::ckpt::testing::StatusIs;

std::string Fmt(const Tensor& t, PrintOptions o = {}) { return FormatTensor(t, o); }

TEST(FormatTensorTest, FloatScalars) {
  EXPECT_EQ(Fmt(Tensor::Scalar(0.5f)), "0.5");
  EXPECT_EQ(Fmt(Tensor::Scalar(2.0f)), "2.0");
  EXPECT_EQ(Fmt(Tensor::Scalar(1e20f)), "1e+20");
  EXPECT_EQ(Fmt(Tensor::Scalar(1.5e-5f)), "1.5e-05");
  EXPECT_EQ(Fmt(Tensor::Scalar(-0.0f)), "-0.0");
  EXPECT_EQ(Fmt(Tensor::Scalar(std::nanf(""))), "nan");
  EXPECT_EQ(Fmt(Tensor::Scalar(-INFINITY)), "-inf");
  EXPECT_EQ(Fmt(Tensor::Scalar(1e6f)), "1e+06");
  EXPECT_EQ(Fmt(Tensor::Scalar(123456.7f)), "123456.7");
  EXPECT_EQ(Fmt(Tensor::Scalar(0.1)), "0.1");
  EXPECT_EQ(Fmt(Tensor::Scalar(1e16)), "1e+16");
  EXPECT_EQ(Fmt(Tensor::Scalar(12345678.0)), "12345678.0");
}

TEST(FormatTensorTest, FloatArrays) {
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({3}, {0, 0.5f, 1})), "[0.  0.5 1. ]");
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({4}, {1e-5f, 1, NAN, -INFINITY})),
            "[1.e-05 1.e+00    nan   -inf]");
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({2}, {NAN, INFINITY})), "[nan inf]");
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({3}, {1e-9f, 1, 5})), "[1.e-09 1.e+00 5.e+00]");
  EXPECT_EQ(Fmt(Tensor::FromVector<double>({3}, {1e-10, 1.0, 123456789.0})),
            "[1.00000000e-10 1.00000000e+00 1.23456789e+08]");
  EXPECT_EQ(Fmt(Tensor::FromVector<double>({5}, {0.1, 1.0 / 3, 2.0, -7.25, 1e-3})),
            "[ 1.00000000e-01  3.33333333e-01  2.00000000e+00 -7.25000000e+00\n"
            "  1.00000000e-03]");
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({2}, {999999.f, 1e5f})), "[999999. 100000.]");
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({2}, {1e6f, 1e5f})), "[1.e+06 1.e+05]");
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({2, 0}, {})), "[]");
}

TEST(FormatTensorTest, FloatMatrixAlignsColumns) {
  Tensor t = Tensor::FromVector<float>(
      {4, 5}, {0.12573022f, -0.13210486f, 0.64042264f, 0.10490011f, -0.5356694f, 0.36159506f,
               1.304f, 0.94708097f, -0.70373523f, -1.2654215f, -0.62327445f, 0.04132598f,
               -2.3250308f, -0.21879166f, -1.245911f, -0.7322674f, -0.544259f, -0.31630015f,
               0.41163054f, 1.0425134f});
  EXPECT_EQ(Fmt(t),
            "[[ 0.12573022 -0.13210486  0.64042264  0.10490011 -0.5356694 ]\n"
            " [ 0.36159506  1.304       0.94708097 -0.70373523 -1.2654215 ]\n"
            " [-0.62327445  0.04132598 -2.3250308  -0.21879166 -1.245911  ]\n"
            " [-0.7322674  -0.544259   -0.31630015  0.41163054  1.0425134 ]]");
}

TEST(FormatTensorTest, LargeArraysAreSummarised) {
  std::vector<float> v(2000);
  for (int i = 0; i < 2000; ++i) v[i] = static_cast<float>(i);
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({40, 50}, v)),
            "[[0.000e+00 1.000e+00 2.000e+00 ... 4.700e+01 4.800e+01 4.900e+01]\n"
            " [5.000e+01 5.100e+01 5.200e+01 ... 9.700e+01 9.800e+01 9.900e+01]\n"
            " [1.000e+02 1.010e+02 1.020e+02 ... 1.470e+02 1.480e+02 1.490e+02]\n"
            " ...\n"
            " [1.850e+03 1.851e+03 1.852e+03 ... 1.897e+03 1.898e+03 1.899e+03]\n"
            " [1.900e+03 1.901e+03 1.902e+03 ... 1.947e+03 1.948e+03 1.949e+03]\n"
            " [1.950e+03 1.951e+03 1.952e+03 ... 1.997e+03 1.998e+03 1.999e+03]]");
  std::vector<int64_t> w(3000);
  for (int i = 0; i < 3000; ++i) w[i] = i;
  EXPECT_EQ(Fmt(Tensor::FromVector<int64_t>({3, 1000}, w)),
            "[[   0    1    2 ...  997  998  999]\n"
            " [1000 1001 1002 ... 1997 1998 1999]\n"
            " [2000 2001 2002 ... 2997 2998 2999]]");
  // Exactly at the threshold nothing is summarised.
  PrintOptions o;
  o.threshold = 3000;
  EXPECT_EQ(Fmt(Tensor::FromVector<int64_t>({3, 1000}, w), o).find("..."), std::string::npos);
}

TEST(FormatTensorTest, Integers) {
  EXPECT_EQ(Fmt(Tensor::FromVector<int32_t>({3}, {1, -20, 300})), "[  1 -20 300]");
  EXPECT_EQ(Fmt(Tensor::Scalar<int64_t>(-5)), "-5");
  EXPECT_EQ(Fmt(Tensor::FromVector<uint8_t>({2, 2}, {0, 255, 7, 8})), "[[  0 255]\n [  7   8]]");
  EXPECT_EQ(Fmt(Tensor::FromVector<int8_t>({2}, {-128, 127})), "[-128  127]");
  EXPECT_EQ(Fmt(Tensor::FromVector<uint64_t>({2}, {UINT64_MAX, 0})),
            "[18446744073709551615                    0]");
  std::vector<int64_t> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i;
  EXPECT_EQ(Fmt(Tensor::FromVector<int64_t>({2, 3, 4}, v)),
            "[[[ 0  1  2  3]\n  [ 4  5  6  7]\n  [ 8  9 10 11]]\n\n"
            " [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]");
}

TEST(FormatTensorTest, Rank4BlankLines) {
  Tensor t = Tensor::FromVector<float>(
      {2, 2, 2, 2}, {0.51190764f, 0.15659417f, 0.28087965f, -0.10410746f, -1.2526814f,
                     1.4095237f, -1.0435919f, -0.87062633f, 0.65627056f, 0.1798748f, -0.796037f,
                     -0.65754735f, -0.15869749f, -0.43608218f, 0.64652634f, -1.1642191f});
  EXPECT_EQ(Fmt(t),
            "[[[[ 0.51190764  0.15659417]\n"
            "   [ 0.28087965 -0.10410746]]\n\n"
            "  [[-1.2526814   1.4095237 ]\n"
            "   [-1.0435919  -0.87062633]]]\n\n\n"
            " [[[ 0.65627056  0.1798748 ]\n"
            "   [-0.796037   -0.65754735]]\n\n"
            "  [[-0.15869749 -0.43608218]\n"
            "   [ 0.64652634 -1.1642191 ]]]]");
}

TEST(FormatTensorTest, DeepTensorDoesNotRecursePerAxis) {
  // A library user's tensor may have any rank: printing takes no stack per
  // axis (rank 200000 overflowed the old recursive printer's stack).
  const int rank = 200000;
  Tensor t = Tensor::Allocate(DataType::kFloat, TensorShape(std::vector<int64_t>(rank, 1))).value();
  reinterpret_cast<float*>(t.mutable_data())[0] = 1.5f;
  EXPECT_EQ(FormatTensor(t, PrintOptions()),
            std::string(rank, '[') + "1.5" + std::string(rank, ']'));
  // Two elements along the last of many axes, and along the first (wide
  // lines: at axis k numpy's line width is linewidth - k).
  PrintOptions wide;
  wide.linewidth = 100000;
  std::vector<int64_t> dims(300, 1);
  dims.back() = 2;
  t = Tensor::FromVector<int32_t>(TensorShape(dims), {7, 8});
  EXPECT_EQ(FormatTensor(t, wide), std::string(300, '[') + "7 8" + std::string(300, ']'));
  dims.back() = 1;
  dims.front() = 2;
  t = Tensor::FromVector<int32_t>(TensorShape(dims), {7, 8});
  EXPECT_EQ(FormatTensor(t, wide), std::string(300, '[') + "7" + std::string(299, ']') +
                                       std::string(299, '\n') + " " + std::string(299, '[') + "8" +
                                       std::string(300, ']'));
}

TEST(FormatTensorTest, Bools) {
  EXPECT_EQ(Fmt(Tensor::FromVector<bool>({3}, {true, false, true})), "[ True False  True]");
  EXPECT_EQ(Fmt(Tensor::FromVector<bool>({2}, {true, true})), "[ True  True]");
  EXPECT_EQ(Fmt(Tensor::Scalar(false)), "False");
}

TEST(FormatTensorTest, Complex) {
  Tensor c64 = Tensor::Allocate(DataType::kComplex64, TensorShape({2})).value();
  float* f = c64.mutable_flat<float>();
  f[0] = 1, f[1] = 2, f[2] = 3.5f, f[3] = -4;
  EXPECT_EQ(Fmt(c64), "[1. +2.j 3.5-4.j]");
  Tensor c128 = Tensor::Allocate(DataType::kComplex128, TensorShape({2, 2})).value();
  double* d = c128.mutable_flat<double>();
  double vals[] = {1, 2, NAN, 0, 0, 0, 0, 1e-6};
  std::memcpy(d, vals, sizeof(vals));
  EXPECT_EQ(Fmt(c128), "[[ 1.+2.e+00j nan+0.e+00j]\n [ 0.+0.e+00j  0.+1.e-06j]]");
  Tensor s = Tensor::Allocate(DataType::kComplex64, TensorShape()).value();
  s.mutable_flat<float>()[0] = 1, s.mutable_flat<float>()[1] = 2;
  EXPECT_EQ(Fmt(s), "(1+2j)");
  Tensor imag = Tensor::Allocate(DataType::kComplex128, TensorShape()).value();
  imag.mutable_flat<double>()[1] = 2;
  EXPECT_EQ(Fmt(imag), "2j");
  imag.mutable_flat<double>()[0] = 1.5, imag.mutable_flat<double>()[1] = -0.25;
  EXPECT_EQ(Fmt(imag), "(1.5-0.25j)");
}

TEST(FormatTensorTest, StringsAsPythonBytes) {
  EXPECT_EQ(Fmt(Tensor::StringScalar("abc")), "b'abc'");
  EXPECT_EQ(Fmt(Strings({4}, {"a", "bcd", std::string("x\0\xff'\"\n", 6), "it's"})),
            "[b'a' b'bcd' b'x\\x00\\xff\\'\"\\n' b\"it's\"]");
  EXPECT_EQ(Fmt(Strings({2, 3}, {std::string(30, 'a'), std::string(30, 'b'),
                                 std::string(30, 'c'), "d", "e", "f"})),
            "[[b'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' b'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'\n"
            "  b'cccccccccccccccccccccccccccccc']\n"
            " [b'd' b'e' b'f']]");
}

TEST(FormatTensorTest, HalfAndMlDtypes) {
  // float16 0.1, 0.2, 1.5, 65504, -3
  EXPECT_EQ(Fmt(Raw<uint16_t>(DataType::kHalf, {5}, {0x2e66, 0x3266, 0x3e00, 0x7bff, 0xc200})),
            "[ 1.00e-01  2.00e-01  1.50e+00  6.55e+04 -3.00e+00]");
  EXPECT_EQ(Fmt(Raw<uint16_t>(DataType::kHalf, {}, {0x2e66})), "0.1");
  EXPECT_EQ(Fmt(Raw<uint16_t>(DataType::kHalf, {}, {0x63d0})), "1e+03");
  // bfloat16 0.1, 0.2, 1.5, -1 (ml_dtypes prints with %g and no padding).
  EXPECT_EQ(Fmt(Raw<uint16_t>(DataType::kBFloat16, {4}, {0x3dcd, 0x3e4d, 0x3fc0, 0xbf80})),
            "[0.100098 0.200195 1.5 -1]");
  EXPECT_EQ(Fmt(Raw<uint16_t>(DataType::kBFloat16, {}, {0x3f80})), "1");
  // float8_e4m3fn 0.1, 0.2, 1.5 and float8_e5m2 0.1, 448, -2.
  EXPECT_EQ(Fmt(Raw<uint8_t>(DataType::kFloat8E4M3FN, {3}, {0x1d, 0x25, 0x3c})),
            "[0.101562 0.203125 1.5]");
  EXPECT_EQ(Fmt(Raw<uint8_t>(DataType::kFloat8E5M2, {3}, {0x2e, 0x5f, 0xc0})),
            "[0.09375 448 -2]");
}

TEST(FormatTensorTest, PrintOptions) {
  Tensor t = Tensor::FromVector<float>({3}, {0.123456f, 1.5f, -2.0f});
  PrintOptions o;
  o.precision = 2;
  EXPECT_EQ(Fmt(t, o), "[ 0.12  1.5  -2.  ]");
  o = {};
  o.sign = '+';
  EXPECT_EQ(Fmt(Tensor::FromVector<int32_t>({3}, {1, -20, 300}), o), "[  +1  -20 +300]");
  o = {};
  o.suppress = true;
  EXPECT_EQ(Fmt(Tensor::FromVector<float>({3}, {1e-9f, 1, 5}), o), "[0. 1. 5.]");
  o = {};
  o.threshold = 5;
  o.edgeitems = 1;
  std::vector<int32_t> v(10);
  for (int i = 0; i < 10; ++i) v[i] = i * 11;
  EXPECT_EQ(Fmt(Tensor::FromVector<int32_t>({10}, v), o), "[ 0 ... 99]");
  o = {};
  o.linewidth = 20;
  EXPECT_EQ(Fmt(Tensor::FromVector<int32_t>({10}, v), o), "[ 0 11 22 33 44 55\n 66 77 88 99]");
}

TEST(FormatTensorTest, FloatModes) {
  // numpy 2.4: np.set_printoptions(floatmode=..., precision=...); print(a).
  struct Case {
    FloatMode mode;
    int precision;
    bool is_double;  // else float32
    std::vector<double> values;
    const char* expected;
  };
  const Case cases[] = {
      {FloatMode::kFixed, 3, true, {1.5, 0.123456, 3.0}, "[1.500 0.123 3.000]"},
      {FloatMode::kFixed, 3, true, {1e-05, 112.3456}, "[1.000e-05 1.123e+02]"},
      {FloatMode::kFixed, 3, true, {1.0, 2.0}, "[1.000 2.000]"},
      {FloatMode::kFixed, 3, false, {0.1f, 1.5f, -2.25f}, "[ 0.100  1.500 -2.250]"},
      {FloatMode::kFixed, 3, false, {NAN, 1.25f, -INFINITY}, "[  nan 1.250  -inf]"},
      {FloatMode::kFixed, 3, true, {0.0, -0.5, 0.001}, "[ 0.000 -0.500  0.001]"},
      {FloatMode::kFixed, 3, false, {10000000.0f, 3.0f}, "[1.000e+07 3.000e+00]"},
      {FloatMode::kFixed, 0, true, {1.5, 0.123456, 3.0}, "[2. 0. 3.]"},
      {FloatMode::kFixed, 0, true, {1e-05, 112.3456}, "[1.e-05 1.e+02]"},
      {FloatMode::kFixed, 0, true, {1.0, 2.0}, "[1. 2.]"},
      {FloatMode::kFixed, 0, false, {0.1f, 1.5f, -2.25f}, "[ 0.  2. -2.]"},
      {FloatMode::kFixed, 0, false, {NAN, 1.25f, -INFINITY}, "[ nan   1. -inf]"},
      {FloatMode::kFixed, 0, true, {0.0, -0.5, 0.001}, "[ 0. -0.  0.]"},
      {FloatMode::kFixed, 0, false, {10000000.0f, 3.0f}, "[1.e+07 3.e+00]"},
      {FloatMode::kUnique, 3, true, {1.5, 0.123456, 3.0}, "[1.5      0.123456 3.      ]"},
      {FloatMode::kUnique, 3, true, {1e-05, 112.3456}, "[1.000000e-05 1.123456e+02]"},
      {FloatMode::kUnique, 3, true, {1.0, 2.0}, "[1. 2.]"},
      {FloatMode::kUnique, 3, false, {0.1f, 1.5f, -2.25f}, "[ 0.1   1.5  -2.25]"},
      {FloatMode::kUnique, 3, false, {NAN, 1.25f, -INFINITY}, "[ nan 1.25 -inf]"},
      {FloatMode::kUnique, 3, true, {0.0, -0.5, 0.001}, "[ 0.    -0.5    0.001]"},
      {FloatMode::kUnique, 3, false, {10000000.0f, 3.0f}, "[1.e+07 3.e+00]"},
      {FloatMode::kUnique, 0, true, {1.5, 0.123456, 3.0}, "[1.5      0.123456 3.      ]"},
      {FloatMode::kUnique, 0, true, {1e-05, 112.3456}, "[1.000000e-05 1.123456e+02]"},
      {FloatMode::kUnique, 0, true, {1.0, 2.0}, "[1. 2.]"},
      {FloatMode::kUnique, 0, false, {0.1f, 1.5f, -2.25f}, "[ 0.1   1.5  -2.25]"},
      {FloatMode::kUnique, 0, false, {NAN, 1.25f, -INFINITY}, "[ nan 1.25 -inf]"},
      {FloatMode::kUnique, 0, true, {0.0, -0.5, 0.001}, "[ 0.    -0.5    0.001]"},
      {FloatMode::kUnique, 0, false, {10000000.0f, 3.0f}, "[1.e+07 3.e+00]"},
      {FloatMode::kMaxPrecEqual, 3, true, {1.5, 0.123456, 3.0}, "[1.500 0.123 3.000]"},
      {FloatMode::kMaxPrecEqual, 3, true, {1e-05, 112.3456}, "[1.000e-05 1.123e+02]"},
      {FloatMode::kMaxPrecEqual, 3, true, {1.0, 2.0}, "[1. 2.]"},
      {FloatMode::kMaxPrecEqual, 3, false, {0.1f, 1.5f, -2.25f}, "[ 0.10  1.50 -2.25]"},
      {FloatMode::kMaxPrecEqual, 3, false, {NAN, 1.25f, -INFINITY}, "[ nan 1.25 -inf]"},
      {FloatMode::kMaxPrecEqual, 3, true, {0.0, -0.5, 0.001}, "[ 0.000 -0.500  0.001]"},
      {FloatMode::kMaxPrecEqual, 3, false, {10000000.0f, 3.0f}, "[1.e+07 3.e+00]"},
      {FloatMode::kMaxPrecEqual, 0, true, {1.5, 0.123456, 3.0}, "[2. 0. 3.]"},
      {FloatMode::kMaxPrecEqual, 0, true, {1e-05, 112.3456}, "[1.e-05 1.e+02]"},
      {FloatMode::kMaxPrecEqual, 0, true, {1.0, 2.0}, "[1. 2.]"},
      {FloatMode::kMaxPrecEqual, 0, false, {0.1f, 1.5f, -2.25f}, "[ 0.  2. -2.]"},
      {FloatMode::kMaxPrecEqual, 0, false, {NAN, 1.25f, -INFINITY}, "[ nan   1. -inf]"},
      {FloatMode::kMaxPrecEqual, 0, true, {0.0, -0.5, 0.001}, "[ 0. -0.  0.]"},
      {FloatMode::kMaxPrecEqual, 0, false, {10000000.0f, 3.0f}, "[1.e+07 3.e+00]"},
  };
  for (const Case& c : cases) {
    PrintOptions o;
    o.floatmode = c.mode;
    o.precision = c.precision;
    const int64_t n = static_cast<int64_t>(c.values.size());
    Tensor t = c.is_double ? Tensor::FromVector<double>({n}, c.values)
                           : Tensor::FromVector<float>(
                                 {n}, std::vector<float>(c.values.begin(), c.values.end()));
    EXPECT_EQ(Fmt(t, o), c.expected) << static_cast<int>(c.mode) << " precision " << c.precision;
  }
  // Complex numbers format both parts in the mode; scalars ignore it.
  PrintOptions fixed;
  fixed.floatmode = FloatMode::kFixed;
  fixed.precision = 3;
  Tensor c128 = Tensor::Allocate(DataType::kComplex128, TensorShape({2})).value();
  double parts[] = {1.0, 2.0, 3.25, -1e-3};
  std::memcpy(c128.mutable_flat<double>(), parts, sizeof(parts));
  EXPECT_EQ(Fmt(c128, fixed), "[1.000+2.000e+00j 3.250-1.000e-03j]");
  EXPECT_EQ(Fmt(Tensor::Scalar(1.5), fixed), "1.5");
}

TEST(SetPrintOptionTest, ParsesAndRejects) {
  PrintOptions o;
  CKPT_EXPECT_OK(SetPrintOption("threshold=5", &o));
  EXPECT_EQ(o.threshold, 5);
  CKPT_EXPECT_OK(SetPrintOption("suppress=True", &o));
  EXPECT_TRUE(o.suppress);
  CKPT_EXPECT_OK(SetPrintOption("nanstr=NaN", &o));
  EXPECT_EQ(o.nanstr, "NaN");
  EXPECT_THAT(SetPrintOption("bogus=1", &o),
              StatusIs(StatusCode::kInvalidArgument, "'bogus' is not a valid printoption."));
  EXPECT_THAT(SetPrintOption("threshold", &o),
              StatusIs(StatusCode::kInvalidArgument, "is not in the form k=v"));
  EXPECT_THAT(SetPrintOption("precision=x", &o), StatusIs(StatusCode::kInvalidArgument, "'x'"));
  EXPECT_THAT(SetPrintOption("edgeitems=-1", &o), StatusIs(StatusCode::kInvalidArgument, ""));
  EXPECT_THAT(SetPrintOption("suppress=maybe", &o), StatusIs(StatusCode::kInvalidArgument, ""));
  CKPT_EXPECT_OK(SetPrintOption("floatmode=fixed", &o));
  EXPECT_EQ(o.floatmode, FloatMode::kFixed);
  CKPT_EXPECT_OK(SetPrintOption("floatmode=maxprec_equal", &o));
  EXPECT_EQ(o.floatmode, FloatMode::kMaxPrecEqual);
  EXPECT_THAT(SetPrintOption("floatmode=shortest", &o),
              StatusIs(StatusCode::kInvalidArgument, "'fixed', 'unique'"));
  CKPT_EXPECT_OK(SetPrintOption("legacy=False", &o));
  EXPECT_THAT(SetPrintOption("legacy=True", &o),
              StatusIs(StatusCode::kInvalidArgument, "not supported"));
  EXPECT_THAT(SetPrintOption("formatter=x", &o),
              StatusIs(StatusCode::kInvalidArgument, "not supported"));
}

}  // namespace
}  // namespace ckpt::tools
