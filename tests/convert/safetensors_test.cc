// Tests of the safetensors reader and writer (ckpt/safetensors.h): round
// trips of every dtype over both Envs, crafted files for every check of the
// reader, and atomic writes under injected faults. The files the Python
// safetensors library writes and reads: tests/interop/test_safetensors.py.
#include "ckpt/safetensors.h"

#include <string>
#include <vector>

#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvParamTest;
using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::WriteStringToFile;
using ::testing::HasSubstr;

std::string Fixed64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

// A file with header `json` (as given, unpadded) and `buffer`.
std::string Craft(const std::string& json, const std::string& buffer) {
  return Fixed64(json.size()) + json + buffer;
}

std::vector<DataType> SafetensorsTypes() {
  std::vector<DataType> types;
  for (DataType d : AllStorableTypes()) {
    if (SafetensorsDtypeName(d)) types.push_back(d);
  }
  return types;
}

class SafetensorsTest : public EnvParamTest {
 protected:
  Status Parse(const std::string& bytes) {
    const std::string path = Path("crafted.safetensors");
    CKPT_RETURN_IF_ERROR(WriteStringToFile(env_, path, bytes));
    return SafetensorsReader::Open(env_, path).status();
  }
};

INSTANTIATE_TEST_SUITE_P(Envs, SafetensorsTest,
                         ::testing::Values(testing::EnvKind::kPosix, testing::EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

TEST_P(SafetensorsTest, EveryDtypeRoundTrips) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  uint32_t seed = 1;
  for (DataType d : SafetensorsTypes()) {
    const std::string name(DataTypeName(d));
    tensors.emplace_back(name + "/matrix", MakeTestTensor(d, TensorShape({3, 5}), seed++));
    tensors.emplace_back(name + "/scalar", MakeTestTensor(d, TensorShape(), seed++));
    tensors.emplace_back(name + "/empty", MakeTestTensor(d, TensorShape({0, 4}), seed++));
  }
  ASSERT_GE(SafetensorsTypes().size(), 17u);  // BOOL ... F64, C64 and four float8s
  SafetensorsWriteOptions options;
  options.env = env_;
  options.metadata = {{"format", "pt"}, {"note", "é"}};
  const std::string path = Path("all.safetensors");
  CKPT_ASSERT_OK(WriteSafetensors(path, tensors, options));

  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, SafetensorsReader::Open(env_, path));
  EXPECT_EQ(reader->header().metadata, options.metadata);
  EXPECT_EQ(reader->header().tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor back, reader->Read(name));
    EXPECT_TRUE(back.Equals(t)) << name;
    EXPECT_EQ(reader->Find(name)->dtype_name, *SafetensorsDtypeName(t.dtype()));
  }
  EXPECT_THAT(reader->Read("nope"), StatusIs(StatusCode::kNotFound, "Key nope not found"));
}

TEST_P(SafetensorsTest, LayoutIsWidestFirstThenByNameWithPaddedHeader) {
  const std::string path = Path("layout.safetensors");
  SafetensorsWriteOptions options;
  options.env = env_;
  CKPT_ASSERT_OK(WriteSafetensors(
      path,
      {{"b", MakeTestTensor(DataType::kInt8, TensorShape({3}), 1)},
       {"a", MakeTestTensor(DataType::kInt8, TensorShape({2}), 2)},
       {"z", MakeTestTensor(DataType::kDouble, TensorShape({1}), 3)},
       {"h", MakeTestTensor(DataType::kHalf, TensorShape({1}), 4)}},
      options));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFileToString(env_, path));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, SafetensorsReader::Open(env_, path));
  EXPECT_EQ(reader->header().buffer_offset % 8, 0u);
  EXPECT_EQ(bytes[8], '{');
  std::vector<std::string> order;
  for (const auto& t : reader->header().tensors) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"z", "h", "a", "b"}));
  EXPECT_EQ(bytes.size(), reader->header().buffer_offset + 8 + 2 + 2 + 3);

  // Names of 1 to 8 characters: the JSON ends at every offset modulo 8, the
  // buffer always starts on a multiple of 8, after spaces.
  for (int n = 1; n <= 8; ++n) {
    CKPT_ASSERT_OK(
        WriteSafetensors(path, {{std::string(n, 'w'), Tensor::Scalar<float>(1)}}, options));
    CKPT_ASSERT_OK_AND_ASSIGN(bytes, ReadFileToString(env_, path));
    CKPT_ASSERT_OK_AND_ASSIGN(reader, SafetensorsReader::Open(env_, path));
    const uint64_t start = reader->header().buffer_offset;
    EXPECT_EQ(start % 8, 0u);
    const size_t json_end = bytes.rfind('}', start) + 1;
    EXPECT_LT(start - json_end, 8u);
    EXPECT_EQ(bytes.substr(json_end, start - json_end), std::string(start - json_end, ' '));
  }
}

TEST_P(SafetensorsTest, CraftedFilesAreDataLossNamingTheProblem) {
  const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  CKPT_EXPECT_OK(Parse(Craft(ok, std::string(8, 'x'))));
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "fewer than the 8"},
      {Fixed64(10).substr(0, 5), "fewer than the 8"},
      {Fixed64(uint64_t{1} << 62) + "{}", "exceeds the limit"},
      {Fixed64(200) + "{}", "runs past the end"},
      {Craft(ok, std::string(7, 'x')), "cover 8 bytes of the byte buffer, which holds 7"},
      {Craft(ok, std::string(9, 'x')), "cover 8 bytes of the byte buffer, which holds 9"},
      {Craft(R"({"t":{"dtype":"F32",)", ""), "not valid JSON"},
      {Craft(R"(["t"])", ""), "does not start with '{'"},
      {Craft("   {}", ""), "does not start with '{'"},
      {Craft(R"({"t":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", std::string(8, 'x')),
       "tensor 't': unknown dtype \"F31\""},
      {Craft(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, 'x')),
       "dimension -2 is not a non-negative"},
      {Craft(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", std::string(16, 'x')),
       "hold 16 bytes, expected 8"},
      {Craft(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, 'x')),
       "end before they begin"},
      {Craft(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", std::string(8, 'x')),
       "leaves a gap after the start of the buffer"},
      {Craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
             std::string(12, 'x')),
       "tensor 'b': data_offsets begin at 4: overlaps tensor 'a'"},
      {Craft(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
             std::string(16, 'x')),
       "names 't' twice"},
      {Craft(R"({"t":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
             std::string(8, 'x')),
       "names 'dtype' twice"},
      {Craft(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})",
             std::string(8, 'x')),
       "unknown field 'x'"},
      {Craft(R"({"t":{"dtype":"F32","shape":[2]}})", ""), "needs the fields"},
      {Craft(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", ""),
       "data_offsets is not [begin, end]"},
      {Craft(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,1e3]}})", ""),
       "end offset 1000.0 is not"},
      {Craft(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
             ""),
       "has too many elements"},
      {Craft(R"({"t":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}})", "x"),
       "does not fill whole bytes"},
      {Craft(R"({"__metadata__":{"k":1}})", ""), "__metadata__ value of 'k' is not a string"},
      {Craft(R"({"t":[[[[1]]]]})", ""), "nests deeper"},
      {Craft(R"({"t":3})", ""), "its entry is not an object"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Parse(c.bytes), StatusIs(StatusCode::kDataLoss, c.message)) << c.message;
  }
  // Every message names the file.
  EXPECT_THAT(Parse(""), StatusIs(StatusCode::kDataLoss, Path("crafted.safetensors")));
}

TEST_P(SafetensorsTest, DtypesWithoutTensorFlowCounterpartAreListedButNotRead) {
  CKPT_ASSERT_OK(WriteStringToFile(
      env_, Path("f4.safetensors"),
      Craft(R"({"t":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}})", "xy")));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, SafetensorsReader::Open(env_, Path("f4.safetensors")));
  EXPECT_EQ(reader->Find("t")->dtype, DataType::kInvalid);
  EXPECT_THAT(reader->Read("t"), StatusIs(StatusCode::kUnimplemented, "has dtype F4"));
}

TEST_P(SafetensorsTest, UnsupportedDtypesAndNamesAreRefusedBeforeWriting) {
  SafetensorsWriteOptions options;
  options.env = env_;
  const std::string path = Path("out.safetensors");
  EXPECT_THAT(WriteSafetensors(path, {{"words", Tensor::StringScalar("x")}}, options),
              StatusIs(StatusCode::kInvalidArgument,
                       "Cannot write tensor 'words' to " + path +
                           ": safetensors has no dtype for string"));
  EXPECT_THAT(WriteSafetensors(path,
                               {{"c", MakeTestTensor(DataType::kComplex128, TensorShape({1}), 1)}},
                               options),
              StatusIs(StatusCode::kInvalidArgument, "no dtype for complex128"));
  EXPECT_THAT(WriteSafetensors(path, {{"__metadata__", Tensor::Scalar<float>(1)}}, options),
              StatusIs(StatusCode::kInvalidArgument, "reserved"));
  EXPECT_THAT(WriteSafetensors(path, {{"a", Tensor::Scalar<float>(1)}, {"a", Tensor::Scalar<float>(2)}},
                               options),
              StatusIs(StatusCode::kInvalidArgument, "duplicate name"));
  EXPECT_THAT(WriteSafetensors(path, {{std::string("\xff"), Tensor::Scalar<float>(1)}}, options),
              StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
  EXPECT_TRUE(ListDir(env_, dir_).empty());
}

TEST_P(SafetensorsTest, FetchedTensorOfTheWrongShapeLeavesNothing) {
  SafetensorsWriteOptions options;
  options.env = env_;
  const std::string path = Path("out.safetensors");
  Status s = WriteSafetensors(
      path, {{"t", DataType::kFloat, TensorShape({2})}},
      [](size_t) -> Result<Tensor> { return Tensor::Scalar<float>(1); }, options);
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "expected float [2], got float []"));
  EXPECT_TRUE(ListDir(env_, dir_).empty());
}

TEST_P(SafetensorsTest, FailedWriteLeavesNoFileAndKeepsTheOldOne) {
  const std::string path = Path("model.safetensors");
  CKPT_ASSERT_OK(WriteStringToFile(env_, path, "old contents"));
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"w", MakeTestTensor(DataType::kFloat, TensorShape({16}), 7)}};
  int failures = 0;
  for (int n = 0;; ++n) {
    FaultInjectionEnv faulty(env_);
    faulty.FailAfter(n);
    SafetensorsWriteOptions options;
    options.env = &faulty;
    Status s = WriteSafetensors(path, tensors, options);
    if (s.ok()) break;
    ++failures;
    EXPECT_EQ(ListDir(env_, dir_), std::vector<std::string>{"model.safetensors"}) << n;
    // Before the rename the old file is intact; the directory sync after it
    // is the only failure that leaves the new (whole) file.
    CKPT_ASSERT_OK_AND_ASSIGN(std::string now, ReadFileToString(env_, path));
    if (now != "old contents") {
      CKPT_EXPECT_OK(SafetensorsReader::Open(env_, path).status());
    }
  }
  EXPECT_GE(failures, 4);  // create, append(s), sync, rename, sync dir
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, SafetensorsReader::Open(env_, path));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor w, reader->Read("w"));
  EXPECT_TRUE(w.Equals(tensors[0].second));
}

TEST(SafetensorsDtypeTest, NamesMapBothWays) {
  EXPECT_EQ(DataTypeFromSafetensors("BF16"), DataType::kBFloat16);
  EXPECT_EQ(DataTypeFromSafetensors("F8_E4M3"), DataType::kFloat8E4M3FN);
  EXPECT_EQ(DataTypeFromSafetensors("F6_E2M3"), DataType::kInvalid);
  EXPECT_EQ(DataTypeFromSafetensors("f32"), std::nullopt);
  for (DataType d : SafetensorsTypes()) {
    EXPECT_EQ(DataTypeFromSafetensors(*SafetensorsDtypeName(d)), d) << DataTypeName(d);
  }
  EXPECT_EQ(SafetensorsDtypeName(DataType::kString), std::nullopt);
  EXPECT_EQ(SafetensorsDtypeName(DataType::kInt4), std::nullopt);
  EXPECT_EQ(SafetensorsDtypeName(DataType::kQInt8), std::nullopt);
}

}  // namespace
}  // namespace ckpt
