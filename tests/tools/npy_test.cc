// Tests of tools/npy: numpy's .npy format. The golden byte strings were
// written by numpy 2.x (np.save, np.lib.format.write_array with
// version=(2, 0) / (3, 0)) from the arrays named beside them.
#include "npy.h"

#include <gtest/gtest.h>

#include <complex>
#include <cstring>
#include <string>
#include <vector>

#include "testutil/testutil.h"

namespace ckpt::tools {
namespace {

using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;

// np.array([[1.5, -2, 3], [4, 5, 6.25]], dtype='<f4'): np.save, and
// write_array with version (2, 0) and (3, 0); np.array([1, -2, 70000],
// dtype='>i4'); np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3));
// np.array([b'ab', b'', b'xyz']); np.array(['a', '\u00e9\u20ac']);
// np.array(True); np.array([1+2j, -3.5j], dtype='<c8').
// kF4v1
const std::string kF4v1(
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }             "
    "                                             "
    "\x0a\x00\x00\xc0?\x00\x00\x00\xc0\x00\x00@@\x00\x00\x80@\x00\x00\xa0@\x00\x00\xc8@",
    152);
// kF4v2
const std::string kF4v2(
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }     "
    "                                                   "
    "\x0a\x00\x00\xc0?\x00\x00\x00\xc0\x00\x00@@\x00\x00\x80@\x00\x00\xa0@\x00\x00\xc8@",
    152);
// kF4v3
const std::string kF4v3(
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }     "
    "                                                   "
    "\x0a\x00\x00\xc0?\x00\x00\x00\xc0\x00\x00@@\x00\x00\x80@\x00\x00\xa0@\x00\x00\xc8@",
    152);
// kI4BigEndian
const std::string kI4BigEndian(
    "\x93NUMPY\x01\x00v\x00{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }               "
    "                                             "
    "\x0a\x00\x00\x00\x01\xff\xff\xff\xfe\x00\x01\x11p",
    140);
// kF8Fortran
const std::string kF8Fortran(
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }              "
    "                                             "
    "\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\x00\x00\xf0?"
    "\x00\x00\x00\x00\x00\x00\x10@\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x14@",
    176);
// kBytes
const std::string kBytes(
    "\x93NUMPY\x01\x00v\x00{'descr': '|S3', 'fortran_order': False, 'shape': (3,), }               "
    "                                             \x0a"
    "ab\x00\x00\x00\x00xyz",
    137);
// kUnicode
const std::string kUnicode(
    "\x93NUMPY\x01\x00v\x00{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }               "
    "                                             \x0a"
    "a\x00\x00\x00\x00\x00\x00\x00\xe9\x00\x00\x00\xac \x00\x00",
    144);
// kBoolScalar
const std::string kBoolScalar(
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (), }                 "
    "                                             \x0a\x01",
    129);
// kC8
const std::string kC8(
    "\x93NUMPY\x01\x00v\x00{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }               "
    "                                             "
    "\x0a\x00\x00\x80?\x00\x00\x00@\x00\x00\x00\x80\x00\x00`\xc0",
    144);

using testing::Floats;

TEST(NpyGoldenTest, Float32AllHeaderVersions) {
  for (const std::string* bytes : {&kF4v1, &kF4v2, &kF4v3}) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, ParseNpy(*bytes, "x.npy"));
    EXPECT_EQ(t.shape(), TensorShape({2, 3}));
    EXPECT_EQ(Floats(t), (std::vector<float>{1.5f, -2, 3, 4, 5, 6.25f}));
  }
}

TEST(NpyGoldenTest, BigEndianIsSwapped) {
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, ParseNpy(kI4BigEndian));
  ASSERT_EQ(t.dtype(), DataType::kInt32);
  EXPECT_EQ(std::vector<int32_t>(t.flat<int32_t>(), t.flat<int32_t>() + 3),
            (std::vector<int32_t>{1, -2, 70000}));
}

TEST(NpyGoldenTest, FortranOrderIsTransposedToRowMajor) {
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, ParseNpy(kF8Fortran));
  ASSERT_EQ(t.dtype(), DataType::kDouble);
  EXPECT_EQ(t.shape(), TensorShape({2, 3}));
  EXPECT_EQ(std::vector<double>(t.flat<double>(), t.flat<double>() + 6),
            (std::vector<double>{0, 1, 2, 3, 4, 5}));
}

TEST(NpyGoldenTest, BytesAndUnicodeStrings) {
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor s, ParseNpy(kBytes));
  ASSERT_EQ(s.dtype(), DataType::kString);
  EXPECT_EQ(s.strings(), (std::vector<std::string>{"ab", "", "xyz"}));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor u, ParseNpy(kUnicode));
  ASSERT_EQ(u.dtype(), DataType::kString);
  EXPECT_EQ(u.strings(), (std::vector<std::string>{"a", "\xc3\xa9\xe2\x82\xac"}));
}

TEST(NpyGoldenTest, BoolScalarAndComplex) {
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor b, ParseNpy(kBoolScalar));
  ASSERT_EQ(b.dtype(), DataType::kBool);
  EXPECT_EQ(b.shape(), TensorShape({}));
  EXPECT_TRUE(*b.flat<bool>());
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor c, ParseNpy(kC8));
  ASSERT_EQ(c.dtype(), DataType::kComplex64);
  const auto* v = reinterpret_cast<const std::complex<float>*>(c.data());
  EXPECT_EQ(v[0], std::complex<float>(1, 2));
  EXPECT_EQ(v[1], std::complex<float>(0, -3.5f));
}

TEST(NpyRoundTripTest, EveryDtype) {
  const DataType kTypes[] = {DataType::kHalf,      DataType::kFloat,     DataType::kDouble,
                             DataType::kInt8,      DataType::kInt16,     DataType::kInt32,
                             DataType::kInt64,     DataType::kUInt8,     DataType::kUInt16,
                             DataType::kUInt32,    DataType::kUInt64,    DataType::kBool,
                             DataType::kComplex64, DataType::kComplex128};
  for (DataType dtype : kTypes) {
    for (const TensorShape& shape :
         {TensorShape({}), TensorShape({0}), TensorShape({5}), TensorShape({2, 3, 4})}) {
      Tensor t = MakeTestTensor(dtype, shape, 7);
      if (dtype == DataType::kBool) {
        for (int64_t i = 0; i < t.num_elements(); ++i) t.mutable_data()[i] &= 1;
      }
      CKPT_ASSERT_OK_AND_ASSIGN(std::string bytes, SerializeNpy(t));
      EXPECT_EQ((bytes.size() - t.byte_size()) % 64, 0u) << "header padded to 64 bytes";
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor back, ParseNpy(bytes));
      EXPECT_TRUE(back.Equals(t)) << DataTypeName(dtype) << " " << shape.DebugString();
    }
  }
}

TEST(NpyRoundTripTest, Strings) {
  Tensor t =
      Tensor::FromStrings(TensorShape({2, 2}), {"a", "", "\xff\x00z", "long string"}).value();
  CKPT_ASSERT_OK_AND_ASSIGN(std::string bytes, SerializeNpy(t));
  EXPECT_NE(bytes.find("'descr': '|S11'"), std::string::npos) << bytes;
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor back, ParseNpy(bytes));
  EXPECT_TRUE(back.Equals(t));
}

TEST(NpyWriteTest, UnrepresentableValuesAreErrors) {
  Tensor nul = Tensor::FromStrings(TensorShape({1}), {std::string("a\0", 2)}).value();
  EXPECT_THAT(SerializeNpy(nul), StatusIs(StatusCode::kInvalidArgument, "trailing NULs"));
  EXPECT_THAT(SerializeNpy(MakeTestTensor(DataType::kBFloat16, TensorShape({2}), 1)),
              StatusIs(StatusCode::kUnimplemented, "bfloat16"));
}

TEST(NpyWriteTest, LargeHeaderUsesVersion2) {
  // 25000 dims of 1 make a header longer than 65535 bytes.
  Tensor t = Tensor::Allocate(DataType::kInt8, TensorShape(std::vector<int64_t>(25000, 1))).value();
  CKPT_ASSERT_OK_AND_ASSIGN(std::string bytes, SerializeNpy(t));
  EXPECT_EQ(bytes[6], '\x02');
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor back, ParseNpy(bytes));
  EXPECT_TRUE(back.Equals(t));
}

TEST(NpyWriteTest, FilesThroughEnv) {
  const std::string path = testing::TempDir() + "/a.npy";
  Tensor t = Tensor::FromVector<int64_t>({3}, {1, -1, 1LL << 40});
  CKPT_ASSERT_OK(WriteNpy(Env::Posix(), path, t));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor back, ReadNpy(Env::Posix(), path));
  EXPECT_TRUE(back.Equals(t));
  EXPECT_THAT(ReadNpy(Env::Posix(), path + ".missing"), StatusIs(StatusCode::kNotFound, "a.npy"));
}

// A header with `dict` (padded, v1.0) followed by `data`.
std::string WithHeader(const std::string& dict, const std::string& data = "") {
  std::string header = dict + "\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

TEST(NpyMalformedTest, ErrorsSayWhatWasExpected) {
  const std::string f4x2(8, '\0');
  struct Case {
    std::string bytes;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", StatusCode::kInvalidArgument, "expected the magic"},
      {"PK\x03\x04 zip file", StatusCode::kInvalidArgument, "not a .npy file"},
      {std::string("\x93NUMPY\x04\x00", 8), StatusCode::kInvalidArgument, "version 4.0"},
      {std::string("\x93NUMPY\x01", 7), StatusCode::kDataLoss, "inside its version"},
      {std::string("\x93NUMPY\x01\x00\x10", 9), StatusCode::kDataLoss, "header length"},
      {std::string("\x93NUMPY\x01\x00\xff\x00{}", 12), StatusCode::kDataLoss,
       "header is 255 bytes but only 2 follow"},
      {WithHeader("[1, 2]"), StatusCode::kInvalidArgument, "expected '{'"},
      {WithHeader("{'descr': '<f4', 'shape': (2,), }", f4x2), StatusCode::kInvalidArgument,
       "exactly the keys"},
      {WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", f4x2),
       StatusCode::kInvalidArgument, "'x'"},
      {WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", f4x2),
       StatusCode::kInvalidArgument, "not \"(3)\""},
      {WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", f4x2),
       StatusCode::kInvalidArgument, "non-negative integer"},
      {WithHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", f4x2),
       StatusCode::kInvalidArgument, "fortran_order must be True or False, found '0'"},
      {WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", f4x2),
       StatusCode::kInvalidArgument, "shape must be a tuple"},
      {WithHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", f4x2),
       StatusCode::kUnimplemented, "structured"},
      {WithHeader("{'descr': '<M8[s]', 'fortran_order': False, 'shape': (1,), }", f4x2),
       StatusCode::kUnimplemented, "'<M8[s]'"},
      {WithHeader("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", f4x2),
       StatusCode::kUnimplemented, "'|O'"},
      {WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4x2),
       StatusCode::kDataLoss, "data is 8 bytes, expected 3 elements of 4 bytes"},
      {WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4x2),
       StatusCode::kDataLoss, "trailing bytes"},
      {WithHeader("{'descr': '<f4', 'fortran_order': False, "
                  "'shape': (72057594037927936, 72057594037927936), }",
                  f4x2),
       StatusCode::kInvalidArgument, "shape"},
      {WithHeader("{'descr': '<U1', 'fortran_order': False, 'shape': (1,), }",
                  std::string("\x00\xd8\x00\x00", 4)),
       StatusCode::kInvalidArgument, "not a Unicode code point"},
      {WithHeader("{'descr': '|S0', 'fortran_order': False, 'shape': (72057594037927935,), }"),
       StatusCode::kUnimplemented, "zero-size elements"},
      {WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", f4x2),
       StatusCode::kInvalidArgument, "expected a quoted string"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseNpy(c.bytes, "bad.npy"), StatusIs(c.code, c.message))
        << testing::HexString(c.bytes.substr(0, 80));
    Result<Tensor> r = ParseNpy(c.bytes, "bad.npy");
    if (!r.ok()) EXPECT_NE(r.status().message().find("bad.npy"), std::string::npos);
  }
}

TEST(NpyMalformedTest, EveryTruncationAndByteFlipFailsCleanly) {
  for (const std::string* golden :
       {&kF4v1, &kF4v2, &kI4BigEndian, &kF8Fortran, &kBytes, &kUnicode, &kC8}) {
    for (size_t n = 0; n < golden->size(); ++n) {
      EXPECT_FALSE(ParseNpy(golden->substr(0, n)).ok()) << n;
    }
    for (size_t i = 0; i < golden->size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string b = *golden;
        b[i] ^= static_cast<char>(1 << bit);
        ParseNpy(b).status().IgnoreError();  // any status; no crash (ASan/UBSan builds)
      }
    }
  }
}

}  // namespace
}  // namespace ckpt::tools
