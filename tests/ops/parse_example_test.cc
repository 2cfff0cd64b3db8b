// ParseExampleV2 / ParseExample kernels (ops/parse_example.cc): dense
// features of float, int64 and string, shapes, defaults, and every error
// with its code and the key or batch index it names. The values TF itself
// parses from random examples are compared in
// tests/interop/test_parse_example.py.
#include <string>
#include <vector>

#include "op_test_util.h"
#include "tensorflow/core/example/example.pb.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Builds serialized tf.Examples feature by feature.
class ExampleBuilder {
 public:
  ExampleBuilder& Floats(const std::string& key, std::vector<float> v) {
    auto* list = Feature(key)->mutable_float_list();
    for (float x : v) list->add_value(x);
    return *this;
  }
  ExampleBuilder& Ints(const std::string& key, std::vector<int64_t> v) {
    auto* list = Feature(key)->mutable_int64_list();
    for (int64_t x : v) list->add_value(x);
    return *this;
  }
  ExampleBuilder& Bytes(const std::string& key, std::vector<std::string> v) {
    auto* list = Feature(key)->mutable_bytes_list();
    for (auto& x : v) list->add_value(x);
    return *this;
  }
  ExampleBuilder& Empty(const std::string& key) {
    Feature(key);
    return *this;
  }
  std::string Serialize() const { return example_.SerializeAsString(); }

 private:
  tensorflow::Feature* Feature(const std::string& key) {
    return &(*example_.mutable_features()->mutable_feature())[key];
  }
  tensorflow::Example example_;
};

struct Spec {
  std::string key;
  DataType dtype;
  std::vector<int64_t> shape;
  Tensor default_value;  // empty: required
};

Tensor Strings(std::vector<std::string> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::FromStrings(TensorShape({n}), std::move(v)).value();
}
Tensor NoDefault(DataType dtype) { return Tensor::Allocate(dtype, TensorShape({0})).value(); }

Node V2Node(const std::vector<Spec>& specs) {
  Node node("ParseExampleV2", "ParseExample/ParseExampleV2");
  node.Int("num_sparse", 0);
  auto& attrs = *const_cast<tensorflow::NodeDef&>(node.def()).mutable_attr();
  auto* types = attrs["Tdense"].mutable_list();
  auto* shapes = attrs["dense_shapes"].mutable_list();
  for (const Spec& s : specs) {
    types->add_type(static_cast<tensorflow::DataType>(s.dtype));
    auto* shape = shapes->add_shape();
    for (int64_t d : s.shape) shape->add_dim()->set_size(d);
  }
  return node;
}

Result<std::vector<Tensor>> ParseV2(const std::vector<std::string>& serialized,
                                    const std::vector<Spec>& specs,
                                    std::vector<std::string> sparse_keys = {}) {
  std::vector<std::string> keys;
  for (const Spec& s : specs) keys.push_back(s.key);
  std::vector<Tensor> inputs = {Strings(serialized), Strings({}), Strings(std::move(sparse_keys)),
                                Strings(keys), Strings({})};
  for (const Spec& s : specs) {
    inputs.push_back(s.default_value.dtype() == DataType::kInvalid ? NoDefault(s.dtype)
                                                                   : s.default_value);
  }
  return RunKernel(V2Node(specs), std::move(inputs));
}

TEST(ParseExampleTest, FloatsInt64sAndStringsOfShapesScalarOneAndTwo) {
  const std::string a =
      ExampleBuilder().Floats("f", {1.5f, -2}).Ints("i", {7}).Bytes("s", {"x"}).Serialize();
  const std::string b =
      ExampleBuilder().Floats("f", {3, 4}).Ints("i", {-9}).Bytes("s", {""}).Serialize();
  auto out = ParseV2({a, b}, {{"f", DataType::kFloat, {2}, {}},
                              {"i", DataType::kInt64, {1}, {}},
                              {"s", DataType::kString, {}, {}}});
  CKPT_ASSERT_OK(out.status());
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[0].shape().dims(), (std::vector<int64_t>{2, 2}));
  EXPECT_THAT(Values<float>((*out)[0]), ElementsAre(1.5f, -2, 3, 4));
  EXPECT_EQ((*out)[1].shape().dims(), (std::vector<int64_t>{2, 1}));
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(7, -9));
  EXPECT_EQ((*out)[2].shape().dims(), (std::vector<int64_t>{2}));
  EXPECT_THAT((*out)[2].strings(), ElementsAre("x", ""));
}

TEST(ParseExampleTest, MatrixShapeAndScalarSerialized) {
  const std::string e = ExampleBuilder().Ints("m", {1, 2, 3, 4, 5, 6}).Serialize();
  Node node = V2Node({{"m", DataType::kInt64, {2, 3}, {}}});
  auto out = RunKernel(node, {Tensor::StringScalar(e), Strings({}), Strings({}), Strings({"m"}),
                              Strings({}), NoDefault(DataType::kInt64)});
  CKPT_ASSERT_OK(out.status());
  EXPECT_EQ((*out)[0].shape().dims(), (std::vector<int64_t>{2, 3}));  // no batch dimension
  EXPECT_THAT(Values<int64_t>((*out)[0]), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(ParseExampleTest, MissingOrEmptyFeatureTakesTheDefault) {
  const std::string missing = ExampleBuilder().Floats("other", {1}).Serialize();
  const std::string empty = ExampleBuilder().Empty("x").Serialize();
  const std::string present = ExampleBuilder().Floats("x", {5, 6}).Serialize();
  auto out = ParseV2({missing, empty, present}, {{"x", DataType::kFloat, {2}, F({2}, {-1, -2})},
                                                 {"w", DataType::kString, {1}, Strings({"dflt"})}});
  CKPT_ASSERT_OK(out.status());
  EXPECT_THAT(Values<float>((*out)[0]), ElementsAre(-1, -2, -1, -2, 5, 6));
  EXPECT_THAT((*out)[1].strings(), ElementsAre("dflt", "dflt", "dflt"));
}

TEST(ParseExampleTest, EmptyBatch) {
  auto out = ParseV2({}, {{"x", DataType::kFloat, {3}, {}}});
  CKPT_ASSERT_OK(out.status());
  EXPECT_EQ((*out)[0].shape().dims(), (std::vector<int64_t>{0, 3}));
}

TEST(ParseExampleTest, MissingRequiredFeatureIsInvalidArgumentNamingIt) {
  const std::string e = ExampleBuilder().Floats("y", {1}).Serialize();
  EXPECT_THAT(ParseV2({e}, {{"x", DataType::kFloat, {1}, {}}}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "Name: <unknown>, Feature: x (data type: float) is required but could "
                       "not be found."));
}

TEST(ParseExampleTest, WrongTypeIsInvalidArgumentInTfsWords) {
  const std::string ok = ExampleBuilder().Ints("x", {1}).Serialize();
  const std::string bad = ExampleBuilder().Floats("x", {1}).Serialize();
  EXPECT_THAT(ParseV2({ok, bad}, {{"x", DataType::kInt64, {1}, {}}}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "Name: <unknown>, Key: x, Index: 1.  Data types don't match. Data type: "
                       "float but expected type: int64"));
  const std::string bytes = ExampleBuilder().Bytes("k", {"a"}).Serialize();
  EXPECT_THAT(ParseV2({bytes}, {{"k", DataType::kFloat, {1}, {}}}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "Data types don't match. Data type: string but expected type: float"));
}

TEST(ParseExampleTest, WrongCountIsInvalidArgumentWithSizeAndShape) {
  const std::string e = ExampleBuilder().Floats("x", {1, 2, 3}).Bytes("s", {"a", "b"}).Serialize();
  EXPECT_THAT(ParseV2({e}, {{"x", DataType::kFloat, {2}, {}}}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "Name: <unknown>, Key: x, Index: 0.  Number of float values != expected.  "
                       "Values size: 3 but output shape: [2]"));
  EXPECT_THAT(ParseV2({e}, {{"s", DataType::kString, {3, 1}, {}}}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "Key: s, Index: 0.  Number of bytes values != expected.  Values size: 2 "
                       "but output shape: [3,1]"));
}

TEST(ParseExampleTest, GarbageBytesAreInvalidArgumentNamingTheBatchIndex) {
  const std::string ok = ExampleBuilder().Floats("x", {1}).Serialize();
  Result<std::vector<Tensor>> out = ParseV2({ok, ok,
                                             std::string("\x0a\x03"
                                                         "abc")},
                                            {{"x", DataType::kFloat, {1}, {}}});
  EXPECT_THAT(out.status(),
              StatusIs(StatusCode::kInvalidArgument, "Could not parse example input, value: '"));
  EXPECT_THAT(out.status().message(), HasSubstr("serialized[2]"));
}

TEST(ParseExampleTest, ExampleNamesAppearInMessages) {
  const std::string e = ExampleBuilder().Serialize();
  Node node = V2Node({{"x", DataType::kFloat, {1}, {}}});
  auto out = RunKernel(node, {Strings({e}), Strings({"ex-0"}), Strings({}), Strings({"x"}),
                              Strings({}), NoDefault(DataType::kFloat)});
  EXPECT_THAT(out.status(), StatusIs(StatusCode::kInvalidArgument, "Name: ex-0, Feature: x"));
}

TEST(ParseExampleTest, SparseKeysAreUnimplementedNamingThem) {
  const std::string e = ExampleBuilder().Floats("x", {1}).Serialize();
  EXPECT_THAT(ParseV2({e}, {{"x", DataType::kFloat, {1}, {}}}, {"tags", "ids"}).status(),
              StatusIs(StatusCode::kUnimplemented, "sparse keys: tags, ids"));
}

TEST(ParseExampleTest, BadDefaultAndAttrMismatchAreInvalidArgument) {
  const std::string e = ExampleBuilder().Floats("x", {1, 2}).Serialize();
  EXPECT_THAT(ParseV2({e}, {{"x", DataType::kFloat, {2}, F({3}, {1, 2, 3})}}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "def_value[0].shape() == [3] is not compatible with "
                       "dense_shapes_[0] == [2] (key x)"));
  Node node = V2Node({{"x", DataType::kFloat, {2}, {}}});
  auto out = RunKernel(node, {Strings({e}), Strings({}), Strings({}), Strings({"x", "y"}),
                              Strings({}), NoDefault(DataType::kFloat)});
  EXPECT_THAT(out.status(), StatusIs(StatusCode::kInvalidArgument, "one entry per dense key (2)"));
}

TEST(ParseExampleTest, V1TakesScalarKeys) {
  const std::string e = ExampleBuilder().Floats("b", {2}).Ints("a", {4, 5}).Serialize();
  Node node("ParseExample", "p");
  node.Int("Nsparse", 0).Int("Ndense", 2);
  auto& attrs = *const_cast<tensorflow::NodeDef&>(node.def()).mutable_attr();
  attrs["Tdense"].mutable_list()->add_type(tensorflow::DT_INT64);
  attrs["Tdense"].mutable_list()->add_type(tensorflow::DT_FLOAT);
  attrs["dense_shapes"].mutable_list()->add_shape()->add_dim()->set_size(2);
  attrs["dense_shapes"].mutable_list()->add_shape();
  auto out = RunKernel(
      node, {Strings({e}), Strings({}), Tensor::StringScalar("a"), Tensor::StringScalar("b"),
             NoDefault(DataType::kInt64), NoDefault(DataType::kFloat)});
  CKPT_ASSERT_OK(out.status());
  EXPECT_THAT(Values<int64_t>((*out)[0]), ElementsAre(4, 5));
  EXPECT_THAT(Values<float>((*out)[1]), ElementsAre(2));
  EXPECT_THAT(RunKernel(node, {Strings({e})}).status(),
              StatusIs(StatusCode::kInvalidArgument, "Expected 2 + Nsparse + 2 * Ndense inputs"));
}

}  // namespace
}  // namespace ckpt
