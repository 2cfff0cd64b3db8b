// Tests for V1Reader: TensorFlow-written golden V1 files, V1 files built here
// with TableWriter and the SavedTensorSlices protos (every dtype, scalars,
// empty and sliced tensors across shard files), and corrupt or lying files,
// which must give clean errors.
#include "bundle/v1_reader.h"

#include <cstring>
#include <map>

#include <google/protobuf/stubs/logging.h>

#include "ckpt/bundle.h"
#include "ckpt/tensor_slice.h"
#include "table/table.h"
#include "tensor/proto_convert.h"
#include "tensorflow/core/util/saved_tensor_slice.pb.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TempDir;
using ::ckpt::testing::TestDataPath;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char kBadHalfPlusTwo[] =
    "serving/tensorflow_serving/servables/tensorflow/testdata/bad_half_plus_two/00000123/export";
// "?????" (spelled so that "??-" is no trigraph).
const std::string kFiveQ(5, '?');
const char kHalfPlusTwoDir[] =
    "serving/tensorflow_serving/session_bundle/testdata/half_plus_two/00000123";

// ---------------------------------------------------------------------------
// Building V1 files.

// Encodes `t`'s values the way TensorFlow's V1 writer does (typed repeated
// fields), written independently of the reader's decoder.
tensorflow::TensorProto ValuesProto(const Tensor& t) {
  tensorflow::TensorProto p;
  const int64_t n = t.num_elements();
  auto bytes = [&](int64_t i, size_t size) { return t.data() + i * size; };
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype()) {
      case DataType::kFloat: p.add_float_val(t.flat<float>()[i]); break;
      case DataType::kDouble: p.add_double_val(t.flat<double>()[i]); break;
      case DataType::kInt32:
      case DataType::kQInt32: p.add_int_val(t.flat<int32_t>()[i]); break;
      case DataType::kInt16:
      case DataType::kQInt16: {
        int16_t v;
        std::memcpy(&v, bytes(i, 2), 2);
        p.add_int_val(v);
        break;
      }
      case DataType::kUInt16:
      case DataType::kQUInt16: {
        uint16_t v;
        std::memcpy(&v, bytes(i, 2), 2);
        p.add_int_val(v);
        break;
      }
      case DataType::kInt8:
      case DataType::kQInt8:
      case DataType::kInt4:
      case DataType::kInt2: p.add_int_val(static_cast<int8_t>(t.data()[i])); break;
      case DataType::kUInt8:
      case DataType::kQUInt8:
      case DataType::kUInt4:
      case DataType::kUInt2: p.add_int_val(static_cast<uint8_t>(t.data()[i])); break;
      case DataType::kInt64: p.add_int64_val(t.flat<int64_t>()[i]); break;
      case DataType::kBool: p.add_bool_val(t.flat<bool>()[i]); break;
      case DataType::kUInt32: p.add_uint32_val(t.flat<uint32_t>()[i]); break;
      case DataType::kUInt64: p.add_uint64_val(t.flat<uint64_t>()[i]); break;
      case DataType::kComplex64:
        p.add_scomplex_val(t.flat<float>()[2 * i]);
        p.add_scomplex_val(t.flat<float>()[2 * i + 1]);
        break;
      case DataType::kComplex128:
        p.add_dcomplex_val(t.flat<double>()[2 * i]);
        p.add_dcomplex_val(t.flat<double>()[2 * i + 1]);
        break;
      case DataType::kHalf:
      case DataType::kBFloat16: {
        uint16_t v;
        std::memcpy(&v, bytes(i, 2), 2);
        p.add_half_val(v);
        break;
      }
      case DataType::kString: p.add_string_val(t.strings()[i]); break;
      default:  // float8 and float4 types: one byte each
        p.mutable_float8_val()->push_back(t.data()[i]);
        break;
    }
  }
  return p;
}

// One V1 table file under construction: the meta and the data entries are
// public so tests can tamper with them before Write().
struct V1File {
  tensorflow::SavedTensorSlices meta;
  std::map<std::string, std::string> entries;  // bytewise key order

  V1File() { meta.mutable_meta()->mutable_versions()->set_producer(1); }

  tensorflow::SavedSliceMeta* MetaFor(const std::string& name, DataType dtype,
                                      const TensorShape& shape) {
    for (auto& t : *meta.mutable_meta()->mutable_tensor()) {
      if (t.name() == name) return &t;
    }
    auto* t = meta.mutable_meta()->add_tensor();
    t->set_name(name);
    t->set_type(static_cast<tensorflow::DataType>(dtype));
    ShapeToProto(shape, t->mutable_shape());
    return t;
  }

  // Adds `slice` (holding `values`) of tensor `name` with `full_shape`.
  void AddSlice(const std::string& name, const TensorShape& full_shape, const TensorSlice& slice,
                const Tensor& values) {
    SliceToProto(slice, MetaFor(name, values.dtype(), full_shape)->add_slice());
    SetData(name, slice, ValuesProto(values));
  }
  void Add(const std::string& name, const Tensor& t) {
    AddSlice(name, t.shape(), TensorSlice::Full(t.shape().rank()), t);
  }
  // Replaces the stored values of one slice.
  void SetData(const std::string& name, const TensorSlice& slice, tensorflow::TensorProto data) {
    tensorflow::SavedTensorSlices rec;
    rec.mutable_data()->set_name(name);
    SliceToProto(slice, rec.mutable_data()->mutable_slice());
    *rec.mutable_data()->mutable_data() = std::move(data);
    entries[EncodeTensorNameSlice(name, slice)] = rec.SerializeAsString();
  }

  Status Write(Env* env, const std::string& path, bool with_meta = true) const {
    std::map<std::string, std::string> all = entries;
    if (with_meta) all[""] = meta.SerializeAsString();
    return WriteTable(env, path, all);
  }

  static Status WriteTable(Env* env, const std::string& path,
                           const std::map<std::string, std::string>& all) {
    CKPT_ASSIGN_OR_RETURN(auto file, env->NewWritableFile(path));
    auto writer = TableWriter::Create(file.get(), path);
    for (const auto& [k, v] : all) CKPT_RETURN_IF_ERROR(writer->Add(k, v));
    CKPT_RETURN_IF_ERROR(writer->Finish());
    return file->Close();
  }
};

// Copies row range / column range pieces of a full tensor.
Tensor SliceOf(const Tensor& full, const TensorSlice& slice) {
  Tensor out = Tensor::Allocate(full.dtype(), slice.SliceShape(full.shape())).value();
  CopySliceData(full, TensorSlice::Full(full.shape().rank()), &out, slice, full.shape());
  return out;
}

TensorSlice S(const std::string& text) { return TensorSlice::Parse(text).value(); }

// ---------------------------------------------------------------------------
// Golden files written by TensorFlow.

TEST(V1GoldenTest, BadHalfPlusTwo) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader,
                            V1Reader::Open(Env::Posix(), TestDataPath(kBadHalfPlusTwo)));
  ASSERT_EQ(reader->variables().size(), 2u);
  EXPECT_EQ(reader->variables()[0].name, "Variable");
  EXPECT_EQ(reader->variables()[0].dtype, DataType::kFloat);
  EXPECT_EQ(reader->variables()[0].shape, TensorShape{});
  EXPECT_EQ(reader->variables()[1].name, "Variable_1");
  EXPECT_TRUE(reader->Contains("Variable"));
  EXPECT_FALSE(reader->Contains("Variable_2"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor a, reader->Read("Variable"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor b, reader->Read("Variable_1"));
  EXPECT_TRUE(a.Equals(Tensor::Scalar<float>(0.5f)));
  EXPECT_TRUE(b.Equals(Tensor::Scalar<float>(2.0f)));
  EXPECT_EQ(reader->DebugString(), "Variable (DT_FLOAT) []\nVariable_1 (DT_FLOAT) []\n");
  EXPECT_THAT(reader->Read("Variable_2"),
              StatusIs(StatusCode::kNotFound, "Variable_2 not found in checkpoint file"));
}

TEST(V1GoldenTest, HalfPlusTwoShardByNameAndByPattern) {
  const std::string dir = TestDataPath(kHalfPlusTwoDir);
  for (const std::string& pattern :
       {dir + "/export-00000-of-00001", dir + "/export-" + kFiveQ + "-of-00001", dir + "/export-*"}) {
    SCOPED_TRACE(pattern);
    CKPT_ASSERT_OK_AND_ASSIGN(auto reader, V1Reader::Open(Env::Posix(), pattern));
    ASSERT_EQ(reader->variables().size(), 2u);
    EXPECT_EQ(reader->variables()[0].name, "a");
    EXPECT_EQ(reader->variables()[1].name, "b");
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor a, reader->Read("a"));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor b, reader->Read("b"));
    EXPECT_TRUE(a.Equals(Tensor::Scalar<float>(0.5f)));
    EXPECT_TRUE(b.Equals(Tensor::Scalar<float>(2.0f)));
  }
  // "export.meta" must not match the shard pattern.
  EXPECT_THAT(V1Reader::Open(Env::Posix(), dir + "/export-" + kFiveQ + "-of-00002"),
              StatusIs(StatusCode::kNotFound, "Failed to find any matching files"));
}

TEST(V1GoldenTest, MetaGraphFileIsNotAV1Checkpoint) {
  const std::string path = TestDataPath(std::string(kBadHalfPlusTwo) + ".meta");
  EXPECT_THAT(V1Reader::Open(Env::Posix(), path), StatusIs(StatusCode::kDataLoss, path));
}

// The scalar key layout the golden files use: 00 <name> 00 01 00.
TEST(V1GoldenTest, ScalarKeyLayout) {
  EXPECT_EQ(EncodeTensorNameSlice("Variable", TensorSlice::Full(0)),
            std::string("\0Variable\0\1\0", 12));
}

// ---------------------------------------------------------------------------
// Files written here, on both Envs.

class V1ReaderTest : public ::ckpt::testing::EnvParamTest {
 protected:
  // Writes `file` to `name` and opens it.
  Result<std::unique_ptr<V1Reader>> WriteAndOpen(const V1File& file,
                                                 const std::string& name = "model") {
    Status s = file.Write(env_, Path(name));
    if (!s.ok()) return s;
    return V1Reader::Open(env_, Path(name));
  }
};

INSTANTIATE_TEST_SUITE_P(Envs, V1ReaderTest, ::testing::Values(EnvKind::kMem, EnvKind::kPosix),
                         [](const auto& info) { return EnvKindName(info.param); });

TEST_P(V1ReaderTest, EveryStorableDtypeRoundTrips) {
  V1File file;
  std::map<std::string, Tensor> want;
  uint32_t seed = 1;
  for (DataType dtype : AllStorableTypes()) {
    const std::string name = "t_" + std::string(DataTypeName(dtype));
    Tensor t = MakeTestTensor(dtype, TensorShape{2, 3}, seed++);
    file.Add(name, t);
    want.emplace(name, t);
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  ASSERT_EQ(reader->variables().size(), want.size());
  for (const auto& [name, t] : want) {
    SCOPED_TRACE(name);
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->Read(name));
    EXPECT_TRUE(got.Equals(t)) << name;
  }
}

// Known values, decoded independently of ValuesProto.
TEST_P(V1ReaderTest, HandWrittenValues) {
  V1File file;
  auto add = [&](const std::string& name, DataType dtype, const TensorShape& shape,
                 const tensorflow::TensorProto& data) {
    SliceToProto(TensorSlice::Full(shape.rank()), file.MetaFor(name, dtype, shape)->add_slice());
    file.SetData(name, TensorSlice::Full(shape.rank()), data);
  };
  tensorflow::TensorProto i64, b, s, h, u16, c64;
  for (int64_t v : {int64_t{1}, int64_t{-2}, int64_t{1} << 40}) i64.add_int64_val(v);
  for (bool v : {true, false, true}) b.add_bool_val(v);
  for (const char* v : {"a", "", "xyz"}) s.add_string_val(v);
  s.add_string_val(std::string("\0\xff", 2));
  for (int v : {0x3c00, 0x8000}) h.add_half_val(v);
  for (int v : {65535, 7}) u16.add_int_val(v);
  for (float v : {1.5f, -2.f, 3.f, 4.25f}) c64.add_scomplex_val(v);
  add("i64", DataType::kInt64, {3}, i64);
  add("bool", DataType::kBool, {3}, b);
  add("str", DataType::kString, {2, 2}, s);
  add("half", DataType::kHalf, {2}, h);
  add("u16", DataType::kUInt16, {2}, u16);
  add("c64", DataType::kComplex64, {2}, c64);
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));

  CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, reader->Read("i64"));
  EXPECT_TRUE(t.Equals(Tensor::FromVector<int64_t>({3}, {1, -2, int64_t{1} << 40})));
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("bool"));
  EXPECT_TRUE(t.Equals(Tensor::FromVector<bool>({3}, {true, false, true})));
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("str"));
  EXPECT_EQ(t.shape(), (TensorShape{2, 2}));
  EXPECT_THAT(t.strings(), ElementsAre("a", "", "xyz", std::string("\0\xff", 2)));
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("half"));
  ASSERT_EQ(t.dtype(), DataType::kHalf);
  EXPECT_EQ(t.bytes(), std::string("\x00\x3c\x00\x80", 4));
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("u16"));
  EXPECT_TRUE(t.Equals(Tensor::FromVector<uint16_t>({2}, {65535, 7})));
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("c64"));
  ASSERT_EQ(t.dtype(), DataType::kComplex64);
  ASSERT_EQ(t.num_elements(), 2);
  EXPECT_EQ(t.flat<float>()[0], 1.5f);
  EXPECT_EQ(t.flat<float>()[1], -2.f);
  EXPECT_EQ(t.flat<float>()[3], 4.25f);
}

TEST_P(V1ReaderTest, TensorContentIsAccepted) {
  V1File file;
  Tensor t = Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4});
  SliceToProto(TensorSlice::Full(2), file.MetaFor("x", DataType::kFloat, t.shape())->add_slice());
  tensorflow::TensorProto p;
  p.set_tensor_content(std::string(t.bytes()));
  file.SetData("x", TensorSlice::Full(2), p);
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->Read("x"));
  EXPECT_TRUE(got.Equals(t));

  // Three bytes short.
  p.set_tensor_content(std::string(t.bytes().substr(3)));
  file.SetData("x", TensorSlice::Full(2), p);
  CKPT_ASSERT_OK_AND_ASSIGN(reader, WriteAndOpen(file, "short"));
  EXPECT_THAT(reader->Read("x"), StatusIs(StatusCode::kDataLoss, "tensor_content holds 13 bytes"));
}

TEST_P(V1ReaderTest, ScalarsAndEmptyTensors) {
  V1File file;
  file.Add("scalar_i64", Tensor::Scalar<int64_t>(-7));
  file.Add("scalar_str", Tensor::StringScalar("hello"));
  file.Add("empty", Tensor::Allocate(DataType::kFloat, TensorShape{0}).value());
  file.Add("empty2d", Tensor::Allocate(DataType::kInt32, TensorShape{2, 0}).value());
  file.Add("empty_str", Tensor::FromStrings(TensorShape{0, 3}, {}).value());
  // The scalar is stored under 00 <name> 00 01 00.
  EXPECT_EQ(file.entries.count(std::string("\0scalar_i64\0\1\0", 14)), 1u);
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));

  CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, reader->Read("scalar_i64"));
  EXPECT_TRUE(t.Equals(Tensor::Scalar<int64_t>(-7)));
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("scalar_str"));
  EXPECT_TRUE(t.Equals(Tensor::StringScalar("hello")));
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("empty"));
  EXPECT_EQ(t.shape(), TensorShape{0});
  EXPECT_EQ(t.dtype(), DataType::kFloat);
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("empty2d"));
  EXPECT_EQ(t.shape(), (TensorShape{2, 0}));
  CKPT_ASSERT_OK_AND_ASSIGN(t, reader->Read("empty_str"));
  EXPECT_EQ(t.shape(), (TensorShape{0, 3}));
  EXPECT_EQ(t.dtype(), DataType::kString);
  EXPECT_EQ(reader->DebugString(),
            "empty (DT_FLOAT) [0]\n"
            "empty2d (DT_INT32) [2,0]\n"
            "empty_str (DT_STRING) [0,3]\n"
            "scalar_i64 (DT_INT64) []\n"
            "scalar_str (DT_STRING) []\n");
}

// A sharded V1 save: two files, each a complete table listing its own slices.
TEST_P(V1ReaderTest, SlicedTensorsAcrossTwoShards) {
  Tensor rows = MakeTestTensor(DataType::kFloat, {4, 3}, 11);
  Tensor cols = MakeTestTensor(DataType::kComplex128, {3, 4}, 12);
  Tensor vec = MakeTestTensor(DataType::kInt64, {6}, 13);
  Tensor bits = MakeTestTensor(DataType::kBool, {5}, 14);
  Tensor half = MakeTestTensor(DataType::kHalf, {2, 2}, 15);
  V1File shard0, shard1;
  shard0.AddSlice("rows", rows.shape(), S("0,2:-"), SliceOf(rows, S("0,2:-")));
  shard1.AddSlice("rows", rows.shape(), S("2,2:-"), SliceOf(rows, S("2,2:-")));
  shard0.AddSlice("cols", cols.shape(), S("-:0,1"), SliceOf(cols, S("-:0,1")));
  shard1.AddSlice("cols", cols.shape(), S("-:1,3"), SliceOf(cols, S("-:1,3")));
  shard0.AddSlice("vec", vec.shape(), S("0,1"), SliceOf(vec, S("0,1")));
  shard0.AddSlice("vec", vec.shape(), S("1,3"), SliceOf(vec, S("1,3")));
  shard1.AddSlice("vec", vec.shape(), S("4,2"), SliceOf(vec, S("4,2")));
  shard1.Add("bits", bits);
  shard0.Add("half", half);
  CKPT_ASSERT_OK(shard0.Write(env_, Path("model-00000-of-00002")));
  CKPT_ASSERT_OK(shard1.Write(env_, Path("model-00001-of-00002")));
  // A temporary file of an unfinished save must not match the pattern.
  CKPT_ASSERT_OK(V1File::WriteTable(env_, Path("model-00001-of-00002.tempstate123"), {}));

  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, V1Reader::Open(env_, Path("model-" + kFiveQ + "-of-00002")));
  std::vector<std::string> names;
  for (const VariableInfo& v : reader->variables()) names.push_back(v.name);
  EXPECT_THAT(names, ElementsAre("bits", "cols", "half", "rows", "vec"));
  EXPECT_EQ(reader->variables()[1].shape, (TensorShape{3, 4}));
  EXPECT_EQ(reader->variables()[1].dtype, DataType::kComplex128);
  EXPECT_EQ(reader->DebugString(),
            "bits (DT_BOOL) [5]\n"
            "cols (DT_COMPLEX128) [3,4], 2 slices\n"
            "half (DT_HALF) [2,2]\n"
            "rows (DT_FLOAT) [4,3], 2 slices\n"
            "vec (DT_INT64) [6], 3 slices\n");
  for (const auto& [name, want] : std::map<std::string, Tensor>{
           {"rows", rows}, {"cols", cols}, {"vec", vec}, {"bits", bits}, {"half", half}}) {
    SCOPED_TRACE(name);
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->Read(name));
    EXPECT_TRUE(got.Equals(want));
  }

  // One shard alone lists only part of "rows".
  CKPT_ASSERT_OK_AND_ASSIGN(auto half_reader, V1Reader::Open(env_, Path("model-00000-of-00002")));
  EXPECT_THAT(half_reader->Read("rows"),
              StatusIs(StatusCode::kDataLoss, "cover 6 of the 12 elements"));
  EXPECT_THAT(half_reader->Read("bits"),
              StatusIs(StatusCode::kNotFound, "bits not found in checkpoint file"));
}

TEST_P(V1ReaderTest, StarPatternAndNoMatch) {
  V1File file;
  file.Add("x", Tensor::Scalar<int32_t>(3));
  CKPT_ASSERT_OK(file.Write(env_, Path("ckpt-a")));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, V1Reader::Open(env_, Path("ckpt-*")));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, reader->Read("x"));
  EXPECT_TRUE(t.Equals(Tensor::Scalar<int32_t>(3)));
  EXPECT_THAT(V1Reader::Open(env_, Path("other-*")),
              StatusIs(StatusCode::kNotFound, "Failed to find any matching files for"));
  EXPECT_THAT(V1Reader::Open(env_, Path("missing")), StatusIs(StatusCode::kNotFound, "missing"));
  EXPECT_THAT(V1Reader::Open(env_, Path("nodir/x-*")), StatusIs(StatusCode::kNotFound, "nodir"));
}

// ---------------------------------------------------------------------------
// Corrupt and lying files.

TEST_P(V1ReaderTest, WrongValueCountIsDataLoss) {
  V1File file;
  SliceToProto(TensorSlice::Full(1), file.MetaFor("w", DataType::kFloat, {3})->add_slice());
  tensorflow::TensorProto p;
  p.add_float_val(1);
  p.add_float_val(2);
  file.SetData("w", TensorSlice::Full(1), p);
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  auto got = reader->Read("w");
  EXPECT_THAT(got, StatusIs(StatusCode::kDataLoss, "expected 3 values in float_val"));
  EXPECT_THAT(got, StatusIs(StatusCode::kDataLoss, "found 2"));
  EXPECT_THAT(got, StatusIs(StatusCode::kDataLoss, Path("model")));
  EXPECT_THAT(got, StatusIs(StatusCode::kDataLoss, "\"w\""));
}

TEST_P(V1ReaderTest, AbsurdShapeDoesNotAllocate) {
  V1File file;
  const int64_t huge = 1000000000000;  // 1e12 floats would be 4 TB
  SliceToProto(TensorSlice::Full(1), file.MetaFor("big", DataType::kFloat, {huge})->add_slice());
  tensorflow::TensorProto one;
  one.add_float_val(1);
  file.SetData("big", TensorSlice::Full(1), one);
  // Sliced variant: a 1-element slice of a 1e12-element tensor.
  Tensor one_t = Tensor::FromVector<float>({1}, {1});
  file.AddSlice("big_sliced", {huge}, S("0,1"), one_t);
  // Strings claim 1e12 elements with one stored value.
  SliceToProto(TensorSlice::Full(1),
               file.MetaFor("big_str", DataType::kString, {huge})->add_slice());
  tensorflow::TensorProto str;
  str.add_string_val("x");
  file.SetData("big_str", TensorSlice::Full(1), str);
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  EXPECT_EQ(reader->variables()[0].shape, TensorShape{huge});
  EXPECT_THAT(reader->Read("big"), StatusIs(StatusCode::kDataLoss, "expected 1000000000000"));
  EXPECT_THAT(reader->Read("big_sliced"),
              StatusIs(StatusCode::kDataLoss, "cover 1 of the 1000000000000 elements"));
  EXPECT_THAT(reader->Read("big_str"), StatusIs(StatusCode::kDataLoss, "string_val"));
}

TEST_P(V1ReaderTest, OverflowingShapeIsDataLossAtOpen) {
  V1File file;
  file.MetaFor("x", DataType::kFloat, {int64_t{1} << 40, int64_t{1} << 40});
  EXPECT_THAT(WriteAndOpen(file), StatusIs(StatusCode::kDataLoss, "Invalid tensor shape"));
}

TEST_P(V1ReaderTest, RankAboveTheLimitIsDataLossAtOpen) {
  V1File file;
  file.Add("ok",
           Tensor::Allocate(DataType::kFloat, TensorShape(std::vector<int64_t>(254, 1))).value());
  CKPT_ASSERT_OK(WriteAndOpen(file).status());
  file.MetaFor("deep", DataType::kFloat, TensorShape(std::vector<int64_t>(255, 1)));
  auto r = WriteAndOpen(file);
  EXPECT_THAT(r, StatusIs(StatusCode::kDataLoss, Path("model") + ": tensor \"deep\""));
  EXPECT_THAT(r, StatusIs(StatusCode::kDataLoss, "rank 255 exceeds the limit of 254"));
}

TEST_P(V1ReaderTest, MissingSliceDataIsDataLoss) {
  Tensor t = MakeTestTensor(DataType::kInt32, {4}, 3);
  V1File file;
  file.AddSlice("v", t.shape(), S("0,2"), SliceOf(t, S("0,2")));
  file.AddSlice("v", t.shape(), S("2,2"), SliceOf(t, S("2,2")));
  file.entries.erase(EncodeTensorNameSlice("v", S("2,2")));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  EXPECT_THAT(reader->Read("v"), StatusIs(StatusCode::kDataLoss, "data entry is missing"));
  EXPECT_THAT(reader->Read("v"), StatusIs(StatusCode::kDataLoss, "\"2,2\""));
}

TEST_P(V1ReaderTest, SliceNotListedInMetaIsDataLoss) {
  Tensor t = MakeTestTensor(DataType::kDouble, {4, 2}, 3);
  V1File file;
  file.AddSlice("v", t.shape(), S("0,1:-"), SliceOf(t, S("0,1:-")));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  EXPECT_THAT(reader->Read("v"), StatusIs(StatusCode::kDataLoss, "cover 2 of the 8 elements"));
}

TEST_P(V1ReaderTest, TensorWithNoSlicesIsDataLoss) {
  V1File file;
  file.MetaFor("v", DataType::kFloat, {2});
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  EXPECT_TRUE(reader->Contains("v"));
  EXPECT_THAT(reader->Read("v"), StatusIs(StatusCode::kDataLoss, "no slices"));
}

TEST_P(V1ReaderTest, NotATableIsDataLoss) {
  CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, Path("junk"), std::string(100, 'x')));
  EXPECT_THAT(V1Reader::Open(env_, Path("junk")), StatusIs(StatusCode::kDataLoss, Path("junk")));
  CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, Path("empty"), ""));
  EXPECT_THAT(V1Reader::Open(env_, Path("empty")),
              StatusIs(StatusCode::kDataLoss, Path("empty")));
}

TEST_P(V1ReaderTest, TableWithoutMetaIsDataLoss) {
  V1File file;
  file.Add("x", Tensor::Scalar<float>(1));
  CKPT_ASSERT_OK(file.Write(env_, Path("nometa"), /*with_meta=*/false));
  EXPECT_THAT(V1Reader::Open(env_, Path("nometa")),
              StatusIs(StatusCode::kDataLoss, "no meta entry"));
  // A meta entry that holds something else.
  CKPT_ASSERT_OK(V1File::WriteTable(env_, Path("badmeta"), {{"", "\xff\xff\xff"}}));
  EXPECT_THAT(V1Reader::Open(env_, Path("badmeta")),
              StatusIs(StatusCode::kDataLoss, Path("badmeta")));
}

TEST_P(V1ReaderTest, V2IndexIsNotAV1Checkpoint) {
  BundleWriterOptions options;
  options.env = env_;
  CKPT_ASSERT_OK_AND_ASSIGN(auto writer, BundleWriter::Create(Path("v2"), options));
  CKPT_ASSERT_OK(writer->Add("a", Tensor::Scalar<float>(1)));
  CKPT_ASSERT_OK(writer->Finish());
  EXPECT_THAT(V1Reader::Open(env_, MetaFilename(Path("v2"))),
              StatusIs(StatusCode::kDataLoss, "not a SavedTensorSlices meta"));
  // The data file is not a table at all.
  EXPECT_THAT(V1Reader::Open(env_, DataFilename(Path("v2"), 0, 1)),
              StatusIs(StatusCode::kDataLoss, "Unable to read V1 checkpoint file"));
}

TEST_P(V1ReaderTest, GarbageDataEntryIsDataLoss) {
  V1File file;
  file.Add("x", Tensor::FromVector<float>({2}, {1, 2}));
  file.entries[EncodeTensorNameSlice("x", TensorSlice::Full(1))] = "\xff\xff\xff\xff";
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  EXPECT_THAT(reader->Read("x"), StatusIs(StatusCode::kDataLoss, "not a SavedTensorSlices"));
}

TEST_P(V1ReaderTest, DataEntryForAnotherTensorOrDtypeIsDataLoss) {
  V1File file;
  file.Add("x", Tensor::FromVector<float>({2}, {1, 2}));
  file.Add("y", Tensor::FromVector<float>({2}, {3, 4}));
  // x's key holds y's record.
  file.entries[EncodeTensorNameSlice("x", TensorSlice::Full(1))] =
      file.entries[EncodeTensorNameSlice("y", TensorSlice::Full(1))];
  tensorflow::TensorProto p;
  p.set_dtype(tensorflow::DT_INT32);
  p.add_int_val(1);
  p.add_int_val(2);
  file.SetData("y", TensorSlice::Full(1), p);
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  EXPECT_THAT(reader->Read("x"), StatusIs(StatusCode::kDataLoss, "names tensor \"y\""));
  EXPECT_THAT(reader->Read("y"), StatusIs(StatusCode::kDataLoss, "stored as dtype int32"));
}

TEST_P(V1ReaderTest, BadMetaIsDataLossAtOpen) {
  {
    V1File file;  // slice out of bounds
    SliceToProto(S("2,3"), file.MetaFor("x", DataType::kFloat, {4})->add_slice());
    EXPECT_THAT(WriteAndOpen(file, "oob"), StatusIs(StatusCode::kDataLoss, "out of bounds"));
  }
  {
    V1File file;  // slice rank differs from the shape's
    SliceToProto(S("-:-"), file.MetaFor("x", DataType::kFloat, {4})->add_slice());
    EXPECT_THAT(WriteAndOpen(file, "rank"), StatusIs(StatusCode::kDataLoss, "rank"));
  }
  {
    V1File file;  // overlapping slices
    SliceToProto(S("0,3"), file.MetaFor("x", DataType::kFloat, {4})->add_slice());
    SliceToProto(S("2,2"), file.MetaFor("x", DataType::kFloat, {4})->add_slice());
    EXPECT_THAT(WriteAndOpen(file, "overlap"),
                StatusIs(StatusCode::kDataLoss, "overlapping slices"));
  }
  {
    V1File file;  // unknown dtype
    file.MetaFor("x", DataType::kFloat, {4})->set_type(static_cast<tensorflow::DataType>(999));
    EXPECT_THAT(WriteAndOpen(file, "dtype"), StatusIs(StatusCode::kDataLoss, "invalid dtype 999"));
  }
  {
    V1File file;  // negative dimension
    file.MetaFor("x", DataType::kFloat, {4})->mutable_shape()->mutable_dim(0)->set_size(-5);
    EXPECT_THAT(WriteAndOpen(file, "neg"), StatusIs(StatusCode::kDataLoss, "Invalid tensor shape"));
  }
  {
    V1File file;  // written by a future TensorFlow
    file.meta.mutable_meta()->mutable_versions()->set_min_consumer(7);
    EXPECT_THAT(WriteAndOpen(file, "future"),
                StatusIs(StatusCode::kInvalidArgument, "requires reader version >= 7"));
  }
}

TEST_P(V1ReaderTest, ShardsDisagreeingOnATensorIsDataLoss) {
  V1File a, b;
  a.AddSlice("x", {4}, S("0,2"), Tensor::FromVector<float>({2}, {1, 2}));
  b.AddSlice("x", {4}, S("2,2"), Tensor::FromVector<int32_t>({2}, {3, 4}));
  CKPT_ASSERT_OK(a.Write(env_, Path("m-00000-of-00002")));
  CKPT_ASSERT_OK(b.Write(env_, Path("m-00001-of-00002")));
  EXPECT_THAT(V1Reader::Open(env_, Path("m-" + kFiveQ + "-of-00002")),
              StatusIs(StatusCode::kDataLoss, "m-00000-of-00002 lists it as float [4]"));
}

TEST_P(V1ReaderTest, SlicedStringsAreUnimplemented) {
  V1File file;
  file.AddSlice("s", {2}, S("0,1"), Tensor::FromStrings({1}, {"a"}).value());
  file.AddSlice("s", {2}, S("1,1"), Tensor::FromStrings({1}, {"b"}).value());
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, WriteAndOpen(file));
  EXPECT_THAT(reader->Read("s"), StatusIs(StatusCode::kUnimplemented, "2 slices"));
}

// Every single-byte change of the stored protos (with valid table checksums)
// must yield either a value or a clean error, never a crash.
TEST_P(V1ReaderTest, MutatedRecordsNeverCrash) {
  V1File base;
  Tensor rows = MakeTestTensor(DataType::kFloat, {4, 2}, 5);
  base.AddSlice("rows", rows.shape(), S("0,1:-"), SliceOf(rows, S("0,1:-")));
  base.AddSlice("rows", rows.shape(), S("1,3:-"), SliceOf(rows, S("1,3:-")));
  base.Add("s", Tensor::FromStrings({2}, {"ab", "c"}).value());
  base.Add("i", Tensor::Scalar<int64_t>(-3));
  std::map<std::string, std::string> all = base.entries;
  all[""] = base.meta.SerializeAsString();
  int cases = 0, failures = 0;
  // Invalid UTF-8 in names makes protobuf log each rejected record; mute it.
  google::protobuf::LogSilencer silence_protobuf;
  for (const auto& [key, value] : all) {
    for (size_t i = 0; i < value.size(); ++i) {
      for (uint8_t mask : {0x01, 0xff}) {
        std::map<std::string, std::string> mutated = all;
        mutated[key][i] = static_cast<char>(mutated[key][i] ^ mask);
        const std::string path = Path("mut");
        CKPT_ASSERT_OK(V1File::WriteTable(env_, path, mutated));
        ++cases;
        auto reader = V1Reader::Open(env_, path);
        if (!reader.ok()) {
          ++failures;
          EXPECT_THAT(reader.status().code(),
                      ::testing::AnyOf(StatusCode::kDataLoss, StatusCode::kInvalidArgument))
              << reader.status();
          continue;
        }
        for (const VariableInfo& v : (*reader)->variables()) {
          auto t = (*reader)->Read(v.name);
          if (t.ok()) continue;
          ++failures;
          EXPECT_THAT(t.status().code(),
                      ::testing::AnyOf(StatusCode::kDataLoss, StatusCode::kUnimplemented))
              << t.status();
        }
      }
    }
  }
  EXPECT_GT(cases, 100);
  EXPECT_GT(failures, 0);  // some mutations must be detected
}

}  // namespace
}  // namespace ckpt
