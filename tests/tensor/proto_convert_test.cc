// Both directions of Tensor <-> TensorProto (src/tensor/proto_convert).
#include "tensor/proto_convert.h"

#include <cstring>
#include <string>

#include "ckpt/types.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;

TensorShape Shape(std::vector<int64_t> dims) { return TensorShape::Make(std::move(dims)).value(); }

// MakeTestTensor with bools normalised to 0/1 (a TensorProto stores bools).
Tensor TestTensor(DataType dtype, const TensorShape& shape, uint32_t seed) {
  Tensor t = MakeTestTensor(dtype, shape, seed);
  if (dtype == DataType::kBool) {
    for (int64_t i = 0; i < t.num_elements(); ++i) t.mutable_data()[i] = t.data()[i] & 1;
  }
  return t;
}

class ProtoConvertTest : public ::testing::TestWithParam<DataType> {};

TEST_P(ProtoConvertTest, RoundTripsEveryStorableType) {
  const DataType dtype = GetParam();
  for (const TensorShape& shape : {Shape({}), Shape({2, 3}), Shape({0, 4})}) {
    const Tensor in = TestTensor(dtype, shape, 7);
    tensorflow::TensorProto proto;
    ASSERT_TRUE(TensorToProto(in, &proto).ok());
    EXPECT_EQ(proto.dtype(), static_cast<int>(dtype));
    EXPECT_EQ(proto.tensor_shape().dim_size(), shape.rank());
    auto out = TensorFromProto(proto, dtype, shape, "test");
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->dtype(), dtype);
    EXPECT_EQ(out->shape(), shape);
    if (dtype == DataType::kString) {
      EXPECT_EQ(out->strings(), in.strings());
    } else {
      EXPECT_EQ(out->bytes(), in.bytes()) << DataTypeName(dtype) << " " << shape.DebugString();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllStorable, ProtoConvertTest, ::testing::ValuesIn(AllStorableTypes()),
                         [](const ::testing::TestParamInfo<DataType>& info) {
                           return std::string(DataTypeEnumName(info.param));
                         });

TEST(ProtoConvertTest, PacksTensorContentAsTfPythonDoes) {
  tensorflow::TensorProto proto;
  ASSERT_TRUE(TensorToProto(Tensor::FromVector<float>(Shape({2}), {1.5f, -2.0f}), &proto).ok());
  EXPECT_EQ(proto.tensor_content().size(), 8u);
  EXPECT_EQ(proto.float_val_size(), 0);
  ASSERT_TRUE(TensorToProto(Tensor::Scalar<float>(3.0f), &proto).ok());
  EXPECT_TRUE(proto.tensor_content().empty());
  ASSERT_EQ(proto.float_val_size(), 1);
  EXPECT_EQ(proto.float_val(0), 3.0f);
  ASSERT_TRUE(TensorToProto(Tensor::FromVector<uint16_t>(Shape({2}), {1, 2}), &proto).ok());
  EXPECT_TRUE(proto.tensor_content().empty());  // uint16 is not packed
  EXPECT_EQ(proto.int_val_size(), 2);
}

TEST(ProtoConvertTest, UnstorableDtypesAreRefused) {
  tensorflow::TensorProto proto;
  EXPECT_THAT(TensorToProto(Tensor(), &proto),
              StatusIs(StatusCode::kInvalidArgument, "a Const cannot hold dtype"));
  EXPECT_THAT(TensorFromProto(proto, DataType::kVariant, Shape({}), "here").status(),
              StatusIs(StatusCode::kUnimplemented, "here: dtype variant"));
}

TEST(ProtoConvertTest, CountAndSizeMismatchesAreDataLoss) {
  tensorflow::TensorProto proto;
  proto.add_float_val(1.0f);
  EXPECT_THAT(TensorFromProto(proto, DataType::kFloat, Shape({2}), "where").status(),
              StatusIs(StatusCode::kDataLoss, "where: expected 2 values in float_val"));
  proto.Clear();
  proto.set_tensor_content(std::string(7, '\0'));
  EXPECT_THAT(TensorFromProto(proto, DataType::kFloat, Shape({2}), "where").status(),
              StatusIs(StatusCode::kDataLoss, "where: tensor_content holds 7 bytes"));
  proto.Clear();
  proto.add_string_val("a");
  EXPECT_THAT(TensorFromProto(proto, DataType::kString, Shape({3}), "where").status(),
              StatusIs(StatusCode::kDataLoss, "values in string_val"));
}

}  // namespace
}  // namespace ckpt
