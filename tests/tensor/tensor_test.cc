#include "ckpt/tensor.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>

#include "ckpt/types.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;

// TensorFlow's DataType enum (types.proto), its DataTypeString names and the
// in-memory element sizes, written out independently of src/tensor/types.cc.
struct Expected {
  int value;
  const char* name;
  const char* enum_name;
  size_t size;
  bool storable;
};
const Expected kExpected[] = {
    {1, "float", "DT_FLOAT", 4, true},
    {2, "double", "DT_DOUBLE", 8, true},
    {3, "int32", "DT_INT32", 4, true},
    {4, "uint8", "DT_UINT8", 1, true},
    {5, "int16", "DT_INT16", 2, true},
    {6, "int8", "DT_INT8", 1, true},
    {7, "string", "DT_STRING", 0, true},
    {8, "complex64", "DT_COMPLEX64", 8, true},
    {9, "int64", "DT_INT64", 8, true},
    {10, "bool", "DT_BOOL", 1, true},
    {11, "qint8", "DT_QINT8", 1, true},
    {12, "quint8", "DT_QUINT8", 1, true},
    {13, "qint32", "DT_QINT32", 4, true},
    {14, "bfloat16", "DT_BFLOAT16", 2, true},
    {15, "qint16", "DT_QINT16", 2, true},
    {16, "quint16", "DT_QUINT16", 2, true},
    {17, "uint16", "DT_UINT16", 2, true},
    {18, "complex128", "DT_COMPLEX128", 16, true},
    {19, "half", "DT_HALF", 2, true},
    {20, "resource", "DT_RESOURCE", 0, false},
    {21, "variant", "DT_VARIANT", 0, false},
    {22, "uint32", "DT_UINT32", 4, true},
    {23, "uint64", "DT_UINT64", 8, true},
    {24, "float8_e5m2", "DT_FLOAT8_E5M2", 1, true},
    {25, "float8_e4m3fn", "DT_FLOAT8_E4M3FN", 1, true},
    {26, "float8_e4m3fnuz", "DT_FLOAT8_E4M3FNUZ", 1, true},
    {27, "float8_e4m3b11fnuz", "DT_FLOAT8_E4M3B11FNUZ", 1, true},
    {28, "float8_e5m2fnuz", "DT_FLOAT8_E5M2FNUZ", 1, true},
    {29, "int4", "DT_INT4", 1, true},
    {30, "uint4", "DT_UINT4", 1, true},
    {31, "int2", "DT_INT2", 1, true},
    {32, "uint2", "DT_UINT2", 1, true},
    {33, "float4_e2m1fn", "DT_FLOAT4_E2M1FN", 1, true},
};

TEST(DataTypeTest, EveryTypeHasNameEnumNameAndSize) {
  for (const Expected& e : kExpected) {
    DataType dt = static_cast<DataType>(e.value);
    SCOPED_TRACE(e.name);
    EXPECT_TRUE(IsValidDataType(e.value));
    EXPECT_EQ(DataTypeName(dt), e.name);
    EXPECT_EQ(DataTypeEnumName(dt), e.enum_name);
    EXPECT_EQ(DataTypeSize(dt), e.size);
    EXPECT_EQ(IsFixedSize(dt), e.size > 0);
    EXPECT_EQ(IsStorable(dt), e.storable);
    EXPECT_EQ(DataTypeFromName(e.name), dt);
    EXPECT_EQ(DataTypeFromName(e.enum_name), dt);
  }
}

TEST(DataTypeTest, FloatingAndIntegerAsTensorFlowClassifiesThem) {
  // TF's DataTypeIsFloating / DataTypeIsInteger (types.h); every other
  // value is neither.
  const std::set<DataType> floating = {
      DataType::kHalf,          DataType::kBFloat16,          DataType::kFloat,
      DataType::kDouble,        DataType::kFloat8E5M2,        DataType::kFloat8E4M3FN,
      DataType::kFloat8E4M3FNUZ, DataType::kFloat8E4M3B11FNUZ, DataType::kFloat8E5M2FNUZ,
      DataType::kFloat4E2M1FN};
  const std::set<DataType> integer = {
      DataType::kInt2,  DataType::kUInt2,  DataType::kInt4,  DataType::kUInt4,
      DataType::kInt8,  DataType::kUInt8,  DataType::kInt16, DataType::kUInt16,
      DataType::kInt32, DataType::kUInt32, DataType::kInt64, DataType::kUInt64};
  for (int v = 0; v <= 33; ++v) {
    const DataType t = static_cast<DataType>(v);
    EXPECT_EQ(IsFloating(t), floating.count(t) == 1) << DataTypeName(t);
    EXPECT_EQ(IsInteger(t), integer.count(t) == 1) << DataTypeName(t);
  }
}

TEST(DataTypeTest, InvalidAndUnknownValues) {
  EXPECT_EQ(DataTypeName(DataType::kInvalid), "invalid");
  EXPECT_EQ(DataTypeEnumName(DataType::kInvalid), "DT_INVALID");
  EXPECT_EQ(DataTypeSize(DataType::kInvalid), 0u);
  EXPECT_FALSE(IsStorable(DataType::kInvalid));
  EXPECT_TRUE(IsValidDataType(0));
  for (int v : {-1, 34, 100, 101, 1000}) {
    DataType dt = static_cast<DataType>(v);
    EXPECT_FALSE(IsValidDataType(v)) << v;
    EXPECT_EQ(DataTypeName(dt), "unknown");
    EXPECT_EQ(DataTypeEnumName(dt), "DT_INVALID");
    EXPECT_EQ(DataTypeSize(dt), 0u);
    EXPECT_FALSE(IsStorable(dt));
  }
  // Reference types (value + 100) are not valid in a bundle.
  EXPECT_FALSE(IsValidDataType(101));
  for (const char* bad : {"", "Float", "FLOAT", "DT_float", "float32", "dt_float", "unknown"}) {
    EXPECT_EQ(DataTypeFromName(bad), std::nullopt) << bad;
  }
}

TEST(DataTypeTest, AllStorableTypesIsEveryStorableTypeInEnumOrder) {
  std::vector<DataType> expected;
  for (const Expected& e : kExpected) {
    if (e.storable) expected.push_back(static_cast<DataType>(e.value));
  }
  EXPECT_EQ(AllStorableTypes(), expected);
  EXPECT_EQ(AllStorableTypes().size(), 31u);
}

TEST(DataTypeTest, DataTypeOf) {
  EXPECT_EQ(DataTypeOf<float>::value, DataType::kFloat);
  EXPECT_EQ(DataTypeOf<double>::value, DataType::kDouble);
  EXPECT_EQ(DataTypeOf<int8_t>::value, DataType::kInt8);
  EXPECT_EQ(DataTypeOf<int16_t>::value, DataType::kInt16);
  EXPECT_EQ(DataTypeOf<int32_t>::value, DataType::kInt32);
  EXPECT_EQ(DataTypeOf<int64_t>::value, DataType::kInt64);
  EXPECT_EQ(DataTypeOf<uint8_t>::value, DataType::kUInt8);
  EXPECT_EQ(DataTypeOf<uint16_t>::value, DataType::kUInt16);
  EXPECT_EQ(DataTypeOf<uint32_t>::value, DataType::kUInt32);
  EXPECT_EQ(DataTypeOf<uint64_t>::value, DataType::kUInt64);
  EXPECT_EQ(DataTypeOf<bool>::value, DataType::kBool);
  EXPECT_EQ(DataTypeSize(DataTypeOf<double>::value), sizeof(double));
}

// --- TensorShape ---------------------------------------------------------------

TEST(TensorShapeTest, Scalar) {
  TensorShape s;
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.num_elements(), 1);
  EXPECT_EQ(s.DebugString(), "[]");
  CKPT_ASSERT_OK_AND_ASSIGN(TensorShape m, TensorShape::Make({}));
  EXPECT_EQ(m, s);
}

TEST(TensorShapeTest, Basics) {
  TensorShape s{2, 3, 4};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s.dim(0), 2);
  EXPECT_EQ(s.dim(2), 4);
  EXPECT_EQ(s.num_elements(), 24);
  EXPECT_EQ(s.DebugString(), "[2,3,4]");
  EXPECT_EQ(s.dims(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(s, TensorShape({2, 3, 4}));
  EXPECT_NE(s, TensorShape({2, 3}));
  EXPECT_NE(s, TensorShape({4, 3, 2}));
  EXPECT_NE(TensorShape(), TensorShape({1}));
  EXPECT_EQ(TensorShape({1}).DebugString(), "[1]");
}

TEST(TensorShapeTest, ZeroSizedDims) {
  CKPT_ASSERT_OK_AND_ASSIGN(TensorShape s, TensorShape::Make({3, 0, 5}));
  EXPECT_EQ(s.num_elements(), 0);
  EXPECT_EQ(s.DebugString(), "[3,0,5]");
  CKPT_ASSERT_OK_AND_ASSIGN(TensorShape z, TensorShape::Make({0}));
  EXPECT_EQ(z.num_elements(), 0);
  // A zero dim makes huge others harmless: the product is 0.
  const int64_t big = std::numeric_limits<int64_t>::max();
  CKPT_ASSERT_OK_AND_ASSIGN(TensorShape zb, TensorShape::Make({0, big, big}));
  EXPECT_EQ(zb.num_elements(), 0);
}

TEST(TensorShapeTest, HighRank) {
  std::vector<int64_t> dims = {1, 2, 1, 3, 1, 2, 1, 2, 1, 1};
  CKPT_ASSERT_OK_AND_ASSIGN(TensorShape s, TensorShape::Make(dims));
  EXPECT_EQ(s.rank(), 10);
  EXPECT_EQ(s.num_elements(), 24);
  EXPECT_EQ(s.DebugString(), "[1,2,1,3,1,2,1,2,1,1]");
  std::vector<int64_t> ones(40, 1);
  CKPT_ASSERT_OK_AND_ASSIGN(TensorShape r40, TensorShape::Make(ones));
  EXPECT_EQ(r40.rank(), 40);
  EXPECT_EQ(r40.num_elements(), 1);
}

TEST(TensorShapeTest, NegativeDimRejected) {
  EXPECT_THAT(TensorShape::Make({2, -1}), StatusIs(StatusCode::kInvalidArgument, "-1"));
  EXPECT_THAT(TensorShape::Make({-5}), StatusIs(StatusCode::kInvalidArgument, "dimension 0"));
}

TEST(TensorShapeTest, OverflowRejected) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(TensorShape::Make({int64_t{1} << 32, int64_t{1} << 32}),
              StatusIs(StatusCode::kInvalidArgument, "Invalid tensor shape"));
  EXPECT_THAT(TensorShape::Make({big, 2}), StatusIs(StatusCode::kInvalidArgument, ""));
  EXPECT_THAT(TensorShape::Make({3, big / 2}), StatusIs(StatusCode::kInvalidArgument, ""));
  std::vector<int64_t> many(64, 2);  // 2^64
  EXPECT_THAT(TensorShape::Make(many), StatusIs(StatusCode::kInvalidArgument, ""));
  // Right at the limit is fine.
  CKPT_ASSERT_OK_AND_ASSIGN(TensorShape ok, TensorShape::Make({big}));
  EXPECT_EQ(ok.num_elements(), big);
  std::vector<int64_t> many62(62, 2);
  CKPT_ASSERT_OK_AND_ASSIGN(TensorShape ok2, TensorShape::Make(many62));
  EXPECT_EQ(ok2.num_elements(), int64_t{1} << 62);
}

// --- Tensor ---------------------------------------------------------------------

TEST(TensorTest, DefaultIsInvalidAndEmpty) {
  Tensor t;
  EXPECT_EQ(t.dtype(), DataType::kInvalid);
  EXPECT_EQ(t.byte_size(), 0u);
  EXPECT_TRUE(t.Equals(Tensor()));
}

class TensorDtypeTest : public ::testing::TestWithParam<DataType> {};

TEST_P(TensorDtypeTest, AllocateIsZeroedAndSized) {
  const DataType dt = GetParam();
  TensorShape shape{2, 3};
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, Tensor::Allocate(dt, shape));
  EXPECT_EQ(t.dtype(), dt);
  EXPECT_EQ(t.shape(), shape);
  EXPECT_EQ(t.num_elements(), 6);
  EXPECT_FALSE(t.is_view());
  if (dt == DataType::kString) {
    EXPECT_EQ(t.byte_size(), 0u);
    ASSERT_EQ(t.strings().size(), 6u);
    for (const auto& s : t.strings()) EXPECT_TRUE(s.empty());
  } else {
    EXPECT_EQ(t.byte_size(), 6 * DataTypeSize(dt));
    EXPECT_EQ(t.bytes().size(), t.byte_size());
    for (char c : t.bytes()) EXPECT_EQ(c, 0);
  }
}

TEST_P(TensorDtypeTest, ScalarAndZeroSized) {
  const DataType dt = GetParam();
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor s, Tensor::Allocate(dt, TensorShape()));
  EXPECT_EQ(s.num_elements(), 1);
  if (dt != DataType::kString) EXPECT_EQ(s.byte_size(), DataTypeSize(dt));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor z, Tensor::Allocate(dt, TensorShape({4, 0})));
  EXPECT_EQ(z.num_elements(), 0);
  EXPECT_EQ(z.byte_size(), 0u);
  if (dt != DataType::kString) {
    EXPECT_NE(z.data(), nullptr);
  } else {
    EXPECT_TRUE(z.strings().empty());
  }
  EXPECT_TRUE(z.Equals(z.Copy()));
}

TEST_P(TensorDtypeTest, CopyIsDeepAndEqual) {
  const DataType dt = GetParam();
  Tensor a = MakeTestTensor(dt, TensorShape({3, 5}), 7);
  Tensor b = a.Copy();
  EXPECT_TRUE(a.Equals(b));
  EXPECT_TRUE(b.Equals(a));
  if (dt == DataType::kString) {
    (*b.mutable_strings())[4] += "x";
  } else {
    EXPECT_NE(a.data(), b.data());
    b.mutable_data()[3] ^= 1;
  }
  EXPECT_FALSE(a.Equals(b));
  // Another seed gives different contents.
  EXPECT_FALSE(a.Equals(MakeTestTensor(dt, TensorShape({3, 5}), 8)));
}

TEST_P(TensorDtypeTest, EqualsComparesShapeAndDtype) {
  const DataType dt = GetParam();
  Tensor a = MakeTestTensor(dt, TensorShape({6}), 1);
  Tensor b = MakeTestTensor(dt, TensorShape({2, 3}), 1);
  EXPECT_FALSE(a.Equals(b));
  DataType other = dt == DataType::kFloat ? DataType::kInt32 : DataType::kFloat;
  Tensor c = MakeTestTensor(other, TensorShape({6}), 1);
  EXPECT_FALSE(a.Equals(c));
}

INSTANTIATE_TEST_SUITE_P(AllStorable, TensorDtypeTest, ::testing::ValuesIn(AllStorableTypes()),
                         [](const ::testing::TestParamInfo<DataType>& info) {
                           return std::string(DataTypeName(info.param));
                         });

TEST(TensorTest, AllocateRejectsUnstorableTypes) {
  for (DataType dt : {DataType::kInvalid, DataType::kResource, DataType::kVariant,
                      static_cast<DataType>(77)}) {
    EXPECT_THAT(Tensor::Allocate(dt, TensorShape({2})),
                StatusIs(StatusCode::kInvalidArgument, "Cannot allocate"));
  }
}

TEST(TensorTest, AllocateRejectsBadShapes) {
  EXPECT_THAT(Tensor::Allocate(DataType::kFloat, TensorShape({2, -3})),
              StatusIs(StatusCode::kInvalidArgument, "Invalid tensor shape"));
  EXPECT_THAT(Tensor::Allocate(DataType::kFloat, TensorShape({int64_t{1} << 40, int64_t{1} << 40})),
              StatusIs(StatusCode::kInvalidArgument, ""));
  // Representable element count but far too many bytes: refused before
  // allocating.
  EXPECT_THAT(Tensor::Allocate(DataType::kComplex128, TensorShape({int64_t{1} << 62})),
              StatusIs(StatusCode::kResourceExhausted, "too large"));
  EXPECT_THAT(Tensor::FromStrings(TensorShape({-1}), {}),
              StatusIs(StatusCode::kInvalidArgument, ""));
}

// Large blocks (>= 1 MiB) go back to a bounded cache when the last tensor
// using them is freed; the next allocation of the same size may get one.
TEST(TensorTest, RecycledLargeBlocksAreZeroedByAllocateAndNeverShared) {
  const TensorShape shape({3, 1 << 18});  // 3 MiB of float
  const int64_t n = shape.num_elements();
  for (int round = 0; round < 3; ++round) {
    {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor dirty,
                                Tensor::AllocateUninitialized(DataType::kFloat, shape));
      float* p = dirty.mutable_flat<float>();
      for (int64_t i = 0; i < n; ++i) p[i] = 1.5f;
    }  // freed: its block may be cached
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor a, Tensor::Allocate(DataType::kFloat, shape));
    const float* pa = a.flat<float>();
    int64_t nonzero = 0;
    for (int64_t i = 0; i < n; ++i) nonzero += pa[i] != 0.0f;
    EXPECT_EQ(nonzero, 0) << "round " << round;
    // Live tensors of the same size never share storage, recycled or not.
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor b, Tensor::AllocateUninitialized(DataType::kFloat, shape));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor c, Tensor::AllocateUninitialized(DataType::kFloat, shape));
    EXPECT_NE(a.data(), b.data());
    EXPECT_NE(b.data(), c.data());
    EXPECT_NE(a.data(), c.data());
    // Writing one leaves the others alone.
    b.mutable_flat<float>()[n - 1] = 7.0f;
    c.mutable_flat<float>()[n - 1] = 8.0f;
    EXPECT_EQ(pa[n - 1], 0.0f);
    EXPECT_EQ(b.flat<float>()[n - 1], 7.0f);
    // A copy keeps its values after the original is freed and reused.
    Tensor copy = c.Copy();
    c = Tensor();
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor d, Tensor::AllocateUninitialized(DataType::kFloat, shape));
    d.mutable_flat<float>()[n - 1] = 9.0f;
    EXPECT_EQ(copy.flat<float>()[n - 1], 8.0f);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(d.data()) % 4096, 0u);
  }
}

// The VMA line of /proc/self/smaps holding `p`, and its THPeligible value
// ("" when the kernel does not report it).
std::string ThpEligible(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2 && line.find('-') < 17) {
      inside = addr >= begin && addr < end;
    } else if (inside && line.rfind("THPeligible:", 0) == 0) {
      return line.substr(line.find_last_of(' ') + 1);
    }
  }
  return "";
}

TEST(TensorTest, LargeTensorsStartOnHugePagesAdvisedForThem) {
  // From 2 MiB on, storage is 2 MiB-aligned and its whole huge pages are
  // advised MADV_HUGEPAGE (first-touch faults per 2 MiB, not per 4 KiB).
  for (bool zeroed : {true, false}) {
    const TensorShape shape({(3 << 20) / 4 + 3});
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, zeroed ? Tensor::Allocate(DataType::kFloat, shape)
                                               : Tensor::AllocateUninitialized(DataType::kFloat, shape));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % (2 << 20), 0u);
    t.mutable_flat<float>()[shape.num_elements() - 1] = 1.0f;  // the small-page tail is usable
    std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string mode((std::istreambuf_iterator<char>(thp)), std::istreambuf_iterator<char>());
    const std::string eligible = ThpEligible(t.data());
    if (mode.find("[never]") == std::string::npos && !eligible.empty()) {
      EXPECT_EQ(eligible, "1") << "mode " << mode;
    }
  }
  // Below 2 MiB: block alignment only.
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor mid, Tensor::Allocate(DataType::kFloat, TensorShape({(1 << 19) - 1024})));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(mid.data()) % 4096, 0u);
}

TEST(TensorTest, AllocateUninitializedShapesAndErrorsAsAllocate) {
  for (DataType dt : AllStorableTypes()) {
    for (const TensorShape& shape :
         {TensorShape(), TensorShape({4, 0}), TensorShape({5, 3}), TensorShape({1 << 20})}) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, Tensor::AllocateUninitialized(dt, shape));
      EXPECT_EQ(t.dtype(), dt);
      EXPECT_EQ(t.shape(), shape);
      if (dt == DataType::kString) {
        for (const std::string& v : t.strings()) EXPECT_EQ(v, "");
      } else {
        EXPECT_NE(t.data(), nullptr);
        EXPECT_EQ(t.byte_size(), static_cast<size_t>(shape.num_elements()) * DataTypeSize(dt));
      }
    }
  }
  EXPECT_THAT(Tensor::AllocateUninitialized(DataType::kResource, TensorShape({2})),
              StatusIs(StatusCode::kInvalidArgument, "Cannot allocate"));
  EXPECT_THAT(Tensor::AllocateUninitialized(DataType::kFloat, TensorShape({2, -3})),
              StatusIs(StatusCode::kInvalidArgument, "Invalid tensor shape"));
  EXPECT_THAT(Tensor::AllocateUninitialized(DataType::kComplex128, TensorShape({int64_t{1} << 62})),
              StatusIs(StatusCode::kResourceExhausted, "too large"));
}

TEST(TensorTest, FromVectorAndScalar) {
  Tensor t = Tensor::FromVector<int32_t>(TensorShape({2, 2}), {1, -2, 3, 4});
  EXPECT_EQ(t.dtype(), DataType::kInt32);
  EXPECT_EQ(t.byte_size(), 16u);
  EXPECT_EQ(t.flat<int32_t>()[1], -2);
  EXPECT_EQ(t.flat<int32_t>()[3], 4);
  // Little-endian raw bytes.
  EXPECT_EQ(t.bytes().substr(4, 4), std::string_view("\xfe\xff\xff\xff", 4));
  Tensor s = Tensor::Scalar<double>(2.5);
  EXPECT_EQ(s.dtype(), DataType::kDouble);
  EXPECT_EQ(s.shape().rank(), 0);
  EXPECT_EQ(*s.flat<double>(), 2.5);
  Tensor b = Tensor::Scalar<bool>(true);
  EXPECT_EQ(b.dtype(), DataType::kBool);
  EXPECT_EQ(b.bytes(), std::string_view("\x01", 1));
  Tensor f = Tensor::Scalar<float>(0.5f);
  EXPECT_EQ(f.bytes(), std::string_view("\x00\x00\x00\x3f", 4));
}

TEST(TensorTest, CopiesOfOwningTensorsAlias) {
  Tensor a = Tensor::FromVector<float>(TensorShape({3}), {1, 2, 3});
  Tensor b = a;  // shares storage
  b.mutable_flat<float>()[0] = 9;
  EXPECT_EQ(a.flat<float>()[0], 9.0f);
  EXPECT_EQ(a.data(), b.data());
}

TEST(TensorTest, ViewDoesNotCopy) {
  std::vector<int64_t> buf = {10, 20, 30, 40, 50, 60};
  Tensor v = Tensor::View(DataType::kInt64, TensorShape({2, 3}), buf.data());
  EXPECT_TRUE(v.is_view());
  EXPECT_EQ(v.data(), reinterpret_cast<const char*>(buf.data()));
  EXPECT_EQ(v.byte_size(), 48u);
  EXPECT_EQ(v.flat<int64_t>()[4], 50);
  // The view tracks changes to the caller's buffer.
  buf[4] = 55;
  EXPECT_EQ(v.flat<int64_t>()[4], 55);
  // Copies of a view are views of the same memory.
  Tensor v2 = v;
  EXPECT_TRUE(v2.is_view());
  EXPECT_EQ(v2.data(), v.data());
  // Copy() owns its storage and is independent of the buffer.
  Tensor owned = v.Copy();
  EXPECT_FALSE(owned.is_view());
  EXPECT_NE(owned.data(), v.data());
  EXPECT_TRUE(owned.Equals(v));
  buf[0] = -1;
  EXPECT_FALSE(owned.Equals(v));
  EXPECT_EQ(owned.flat<int64_t>()[0], 10);
}

TEST(TensorTest, OwningTensorsAreNotViews) {
  EXPECT_FALSE(Tensor::Scalar<float>(1).is_view());
  EXPECT_FALSE(Tensor::StringScalar("x").is_view());
  EXPECT_FALSE(Tensor::Allocate(DataType::kHalf, TensorShape({0})).value().is_view());
}

TEST(TensorTest, Strings) {
  std::vector<std::string> vals = {"", std::string("a\0b", 3), std::string(1000, '\xff'), "z"};
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, Tensor::FromStrings(TensorShape({2, 2}), vals));
  EXPECT_EQ(t.dtype(), DataType::kString);
  EXPECT_EQ(t.num_elements(), 4);
  EXPECT_EQ(t.byte_size(), 0u);
  EXPECT_FALSE(t.is_view());
  EXPECT_EQ(t.strings(), vals);
  EXPECT_EQ(t.strings()[1].size(), 3u);
  Tensor c = t.Copy();
  EXPECT_TRUE(c.Equals(t));
  (*c.mutable_strings())[1][1] = 'x';
  EXPECT_FALSE(c.Equals(t));
  EXPECT_EQ(t.strings()[1], std::string("a\0b", 3));

  Tensor s = Tensor::StringScalar(std::string("\0\0", 2));
  EXPECT_EQ(s.shape(), TensorShape());
  ASSERT_EQ(s.strings().size(), 1u);
  EXPECT_EQ(s.strings()[0], std::string("\0\0", 2));
}

TEST(TensorTest, FromStringsCountMismatch) {
  EXPECT_THAT(Tensor::FromStrings(TensorShape({3}), {"a", "b"}),
              StatusIs(StatusCode::kInvalidArgument, "needs 3 values, got 2"));
  EXPECT_THAT(Tensor::FromStrings(TensorShape(), {}),
              StatusIs(StatusCode::kInvalidArgument, ""));
}

TEST(TensorTest, MakeTestTensorIsDeterministic) {
  for (DataType dt : AllStorableTypes()) {
    Tensor a = MakeTestTensor(dt, TensorShape({4, 4}), 3);
    Tensor b = MakeTestTensor(dt, TensorShape({4, 4}), 3);
    EXPECT_TRUE(a.Equals(b)) << DataTypeName(dt);
  }
  Tensor bools = MakeTestTensor(DataType::kBool, TensorShape({64}), 1);
  std::set<char> seen(bools.bytes().begin(), bools.bytes().end());
  EXPECT_EQ(seen, (std::set<char>{0, 1}));
}

}  // namespace
}  // namespace ckpt
