// Tests of `ckpt inspect`, run in-process through CLI11. Expected texts of
// values were produced by TensorFlow 2.21 / numpy 2.4 printing the same
// arrays (python -m tensorflow.python.tools.inspect_checkpoint and print()).
#include "inspect.h"
#include "json_output.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "command.h"
#include "table/table.h"
#include "tensorflow/core/protobuf/tensor_bundle.pb.h"
#include "testutil/testutil.h"
#include "tools/test_tensors.h"

namespace ckpt::tools {
namespace {

using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TempDir;
using ::ckpt::testing::TestDataPath;
using ::testing::HasSubstr;

const char kMkl[] =
    "serving/tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two_mkl/"
    "00000123/variables/variables";
const char kRegression[] = "rust/examples/regression_savedmodel/variables/variables";
const char kBadHalfPlusTwoDir[] =
    "serving/tensorflow_serving/servables/tensorflow/testdata/bad_half_plus_two/00000123";

// Runs `ckpt <args...>` in-process, as main.cc would.
CommandResult RunCli(const std::vector<std::string>& args) { return RunCommandLine(args); }

CommandResult Inspect(const std::string& file, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"inspect", "--file_name=" + file};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args);
}

// ---------------------------------------------------------------------------
// A minimal JSON parser, to read --json output back.

struct Json {
  enum Type { kNull, kBool, kNumber, kString, kArray, kObject } type = kNull;
  bool b = false;
  double number = 0;
  std::string text;  // number literal or string value
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  const Json& operator[](const std::string& key) const {
    for (const auto& [k, v] : object) {
      if (k == key) return v;
    }
    static const Json kMissing;
    ADD_FAILURE() << "missing key " << key;
    return kMissing;
  }
  bool Has(const std::string& key) const {
    for (const auto& kv : object) {
      if (kv.first == key) return true;
    }
    return false;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  bool Parse(Json* out) {
    if (!Value(out)) return false;
    Ws();
    return pos_ == s_.size();
  }

 private:
  void Ws() {
    while (pos_ < s_.size() && std::strchr(" \t\r\n", s_[pos_]) != nullptr) ++pos_;
  }
  bool Lit(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  bool Hex4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      *v <<= 4;
      if (c >= '0' && c <= '9') *v |= c - '0';
      else if (c >= 'a' && c <= 'f') *v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') *v |= c - 'A' + 10;
      else return false;
    }
    return true;
  }
  bool String(std::string* out) {
    if (!Lit("\"")) return false;
    while (pos_ < s_.size()) {
      unsigned char c = s_[pos_++];
      if (c == '"') return true;
      if (c < 0x20) return false;  // raw control characters are invalid JSON
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {
            uint32_t lo;
            if (!Lit("\\u") || !Hex4(&lo) || lo < 0xdc00 || lo > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  bool Value(Json* v) {
    Ws();
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v->type = Json::kObject;
      Ws();
      if (Lit("}")) return true;
      while (true) {
        Ws();
        std::string key;
        if (!String(&key)) return false;
        Ws();
        if (!Lit(":")) return false;
        Json child;
        if (!Value(&child)) return false;
        v->object.emplace_back(std::move(key), std::move(child));
        Ws();
        if (Lit("}")) return true;
        if (!Lit(",")) return false;
      }
    }
    if (c == '[') {
      ++pos_;
      v->type = Json::kArray;
      Ws();
      if (Lit("]")) return true;
      while (true) {
        Json child;
        if (!Value(&child)) return false;
        v->array.push_back(std::move(child));
        Ws();
        if (Lit("]")) return true;
        if (!Lit(",")) return false;
      }
    }
    if (c == '"') {
      v->type = Json::kString;
      return String(&v->text);
    }
    if (Lit("true")) {
      v->type = Json::kBool;
      v->b = true;
      return true;
    }
    if (Lit("false")) {
      v->type = Json::kBool;
      return true;
    }
    if (Lit("null")) return true;
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size() && std::strchr("0123456789.eE+-", s_[pos_]) != nullptr) ++pos_;
    if (pos_ == start) return false;
    v->type = Json::kNumber;
    v->text = std::string(s_.substr(start, pos_ - start));
    char* end = nullptr;
    v->number = std::strtod(v->text.c_str(), &end);
    return end == v->text.c_str() + v->text.size();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Json ParseJsonOrFail(const std::string& s) {
  Json j;
  JsonParser p(s);
  EXPECT_TRUE(p.Parse(&j)) << "not valid JSON: " << s;
  return j;
}

std::vector<int64_t> ShapeOf(const Json& j) {
  std::vector<int64_t> dims;
  for (const Json& d : j.array) dims.push_back(static_cast<int64_t>(d.number));
  return dims;
}

// Writes a bundle of the given tensors (in order) at a fresh prefix.
std::string WriteBundle(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::string prefix = TempDir() + "/model.ckpt-1";
  auto writer = BundleWriter::Create(prefix);
  EXPECT_TRUE(writer.ok()) << writer.status();
  if (!writer.ok()) return prefix;
  for (const auto& [name, t] : tensors) {
    Status s = (*writer)->Add(name, t);
    EXPECT_TRUE(s.ok()) << s;
  }
  Status s = (*writer)->Finish();
  EXPECT_TRUE(s.ok()) << s;
  return prefix;
}

// Rewrites the index of `prefix` with `edit` applied to the entry of `key`
// (a valid table: only the entry's bytes change).
void EditEntry(const std::string& prefix, const std::string& key,
               const std::function<void(tensorflow::BundleEntryProto*)>& edit) {
  Env* env = Env::Posix();
  const std::string index = MetaFilename(prefix);
  std::vector<std::pair<std::string, std::string>> rows;
  {
    auto file = env->NewRandomAccessFile(index);
    ASSERT_TRUE(file.ok()) << file.status();
    auto table = TableReader::Open(std::move(file).value(), index);
    ASSERT_TRUE(table.ok()) << table.status();
    CKPT_ASSERT_OK((*table)->ForEach([&](std::string_view k, std::string_view v) {
      rows.emplace_back(std::string(k), std::string(v));
      return Status::OK();
    }));
  }
  for (auto& [k, v] : rows) {
    if (k != key) continue;
    tensorflow::BundleEntryProto e;
    ASSERT_TRUE(e.ParseFromString(v));
    edit(&e);
    v = e.SerializeAsString();
  }
  auto out = env->NewWritableFile(index);
  ASSERT_TRUE(out.ok()) << out.status();
  auto writer = TableWriter::Create(out->get(), index);
  for (const auto& [k, v] : rows) CKPT_ASSERT_OK(writer->Add(k, v));
  CKPT_ASSERT_OK(writer->Finish());
  CKPT_ASSERT_OK((*out)->Close());
}

// ---------------------------------------------------------------------------
// TensorFlow-written golden checkpoints.

TEST(InspectGoldenTest, DefaultPrintsDebugStringAndParamCount) {
  CommandResult r = Inspect(TestDataPath(kMkl));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "a (DT_FLOAT) []\n"
            "b (DT_FLOAT) []\n"
            "c (DT_FLOAT) []\n"
            "conv2d/bias (DT_FLOAT) [1]\n"
            "conv2d/kernel (DT_FLOAT) [1,1,1,1]\n"
            "conv2d_1/bias (DT_FLOAT) [1]\n"
            "conv2d_1/kernel (DT_FLOAT) [1,1,1,1]\n"
            "conv2d_2/bias (DT_FLOAT) [1]\n"
            "conv2d_2/kernel (DT_FLOAT) [1,1,1,1]\n"
            "\n"
            "# Total number of params: 9\n");
}

TEST(InspectGoldenTest, AllTensorNames) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--all_tensor_names"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "tensor_name:  a\n"
            "tensor_name:  b\n"
            "tensor_name:  c\n"
            "tensor_name:  conv2d/bias\n"
            "tensor_name:  conv2d/kernel\n"
            "tensor_name:  conv2d_1/bias\n"
            "tensor_name:  conv2d_1/kernel\n"
            "tensor_name:  conv2d_2/bias\n"
            "tensor_name:  conv2d_2/kernel\n"
            "# Total number of params: 9\n");
}

const char kMklAllTensors[] =
    "tensor_name:  a\n0.5\n"
    "tensor_name:  b\n2.0\n"
    "tensor_name:  c\n3.0\n"
    "tensor_name:  conv2d/bias\n[0.]\n"
    "tensor_name:  conv2d/kernel\n[[[[-0.52239597]]]]\n"
    "tensor_name:  conv2d_1/bias\n[0.]\n"
    "tensor_name:  conv2d_1/kernel\n[[[[-1.045112]]]]\n"
    "tensor_name:  conv2d_2/bias\n[0.]\n"
    "tensor_name:  conv2d_2/kernel\n[[[[1.5779432]]]]\n"
    "# Total number of params: 9\n";

TEST(InspectGoldenTest, Tf2StyleHeaders) {
  // TensorFlow 2.x's inspect_checkpoint: "tensor: <name> (<dtype.name>) <shape list>".
  CommandResult r = Inspect(TestDataPath(kMkl), {"--all_tensor_names", "--style", "tf2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "tensor: a (float32) []\n"
            "tensor: b (float32) []\n"
            "tensor: c (float32) []\n"
            "tensor: conv2d/bias (float32) [1]\n"
            "tensor: conv2d/kernel (float32) [1, 1, 1, 1]\n"
            "tensor: conv2d_1/bias (float32) [1]\n"
            "tensor: conv2d_1/kernel (float32) [1, 1, 1, 1]\n"
            "tensor: conv2d_2/bias (float32) [1]\n"
            "tensor: conv2d_2/kernel (float32) [1, 1, 1, 1]\n"
            "# Total number of params: 9\n");
  r = Inspect(TestDataPath(kMkl), {"--tensor_name=conv2d/kernel", "--style=tf2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "tensor: conv2d/kernel (float32) [1, 1, 1, 1]\n[[[[-0.52239597]]]]\n"
            "# Total number of params: 9\n");
  r = Inspect(TestDataPath(kMkl), {"--style=tf3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
}

// The parameter count of a V2 checkpoint is summed from its bundle's entries
// (without building CheckpointReader::variables()): the same variables, so a
// partitioned tensor counts once at its full shape, its slice entries not at
// all, and a tensor whose name merely starts with a 0 byte counts.
TEST(InspectCountTest, PartitionedTensorCountsOnceAtItsFullShape) {
  const std::string prefix = TempDir() + "/part.ckpt-1";
  {
    auto w = BundleWriter::Create(prefix);
    ASSERT_TRUE(w.ok()) << w.status();
    CKPT_ASSERT_OK((*w)->Add("bias", Tensor::Scalar<float>(1)));
    CKPT_ASSERT_OK((*w)->Add(std::string("\0odd", 4), MakeTestTensor(DataType::kFloat, {3}, 2)));
    const TensorShape full{4, 2};
    Tensor t = MakeTestTensor(DataType::kFloat, full, 3);
    for (const char* text : {"0,1:-", "1,3:-"}) {
      TensorSlice slice = TensorSlice::Parse(text).value();
      Tensor piece = Tensor::Allocate(DataType::kFloat, slice.SliceShape(full)).value();
      CopySliceData(t, TensorSlice::Full(2), &piece, slice, full);
      CKPT_ASSERT_OK((*w)->AddSlice("emb", full, slice, piece));
    }
    CKPT_ASSERT_OK((*w)->Finish());
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(prefix));
  int64_t listed = 0;
  for (const VariableInfo& v : reader->variables()) listed += v.shape.num_elements();
  EXPECT_EQ(listed, 1 + 3 + 8);
  CommandResult r = Inspect(prefix);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::EndsWith("# Total number of params: 12\n"));
  r = Inspect(prefix, {"--count_exclude_pattern=emb"});
  EXPECT_THAT(r.out, ::testing::EndsWith(
                         "# Excluding 1 tensors (8 params) that match emb when counting.\n"
                         "# Total number of params: 4\n"));
}

TEST(InspectGoldenTest, CountExcludePattern) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--all_tensor_names", "--count_exclude_pattern",
                                                 "kernel$", "--style", "tf2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::EndsWith(
                         "tensor: conv2d_2/kernel (float32) [1, 1, 1, 1]\n"
                         "# Excluding 3 tensors (3 params) that match kernel$ when counting.\n"
                         "# Total number of params: 6\n"));
  // A search anywhere in the name, as Python's re.search; no match excludes nothing.
  r = Inspect(TestDataPath(kMkl), {"--count_exclude_pattern=^conv2d_[12]"});
  EXPECT_THAT(r.out, ::testing::EndsWith(
                         "# Excluding 4 tensors (4 params) that match ^conv2d_[12] when counting.\n"
                         "# Total number of params: 5\n"));
  r = Inspect(TestDataPath(kMkl), {"--count_exclude_pattern=nothing"});
  EXPECT_THAT(r.out, ::testing::EndsWith(
                         "# Excluding 0 tensors (0 params) that match nothing when counting.\n"
                         "# Total number of params: 9\n"));
  r = Inspect(TestDataPath(kMkl), {"--count_exclude_pattern=("});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("not a valid regular expression"));
}

TEST(InspectGoldenTest, AllTensors) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--all_tensors"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, kMklAllTensors);
}

TEST(InspectGoldenTest, FlagSpellingsAreEquivalent) {
  const std::string file = TestDataPath(kMkl);
  EXPECT_EQ(RunCli({"inspect", "--file_name", file, "--all_tensors"}).out, kMklAllTensors);
  EXPECT_EQ(Inspect(file, {"--all_tensors=True"}).out, kMklAllTensors);
  EXPECT_EQ(Inspect(file, {"--all_tensors", "true"}).out, kMklAllTensors);
  const std::string listing = Inspect(file).out;
  EXPECT_EQ(Inspect(file, {"--all_tensors=False"}).out, listing);
  EXPECT_EQ(Inspect(file, {"--all_tensor_names=false"}).out, listing);
  EXPECT_EQ(RunCli({"inspect", "--file_name", file, "--tensor_name", "b"}).out,
            Inspect(file, {"--tensor_name=b"}).out);
}

TEST(InspectGoldenTest, TensorName) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--tensor_name=conv2d/kernel"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "tensor_name:  conv2d/kernel\n"
            "[[[[-0.52239597]]]]\n"
            "# Total number of params: 9\n");
}

TEST(InspectGoldenTest, Int64AndObjectGraphString) {
  CommandResult r = Inspect(TestDataPath(kRegression),
                        {"--tensor_name=optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "tensor_name:  optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE\n0\n"
            "# Total number of params: 7\n");
  r = Inspect(TestDataPath(kRegression), {"--tensor_name=w/.ATTRIBUTES/VARIABLE_VALUE"});
  EXPECT_THAT(r.out, HasSubstr("\n[0.20429754]\n"));
  // The object graph is a serialized proto: a bytes literal with escapes.
  r = Inspect(TestDataPath(kRegression), {"--tensor_name=_CHECKPOINTABLE_OBJECT_GRAPH"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\nb'\\n"));
  EXPECT_THAT(r.out, HasSubstr("VARIABLE_VALUE"));
}

TEST(InspectGoldenTest, JsonListing) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = ParseJsonOrFail(r.out);
  EXPECT_EQ(j["format"].text, "V2");
  EXPECT_EQ(j["checkpoint"].text, TestDataPath(kMkl));
  const Json& vars = j["variables"];
  ASSERT_EQ(vars.array.size(), 9u);
  EXPECT_EQ(vars.array[0]["name"].text, "a");
  EXPECT_EQ(vars.array[0]["dtype"].text, "float");
  EXPECT_TRUE(vars.array[0]["shape"].array.empty());
  EXPECT_FALSE(vars.array[0].Has("values"));
  EXPECT_EQ(vars.array[4]["name"].text, "conv2d/kernel");
  EXPECT_EQ(ShapeOf(vars.array[4]["shape"]), (std::vector<int64_t>{1, 1, 1, 1}));
}

TEST(InspectGoldenTest, JsonValuesRoundTrip) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--json", "--all_tensors"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = ParseJsonOrFail(r.out);
  const Json& vars = j["variables"];
  ASSERT_EQ(vars.array.size(), 9u);
  std::map<std::string, float> expected = {{"a", 0.5f},
                                           {"b", 2.0f},
                                           {"c", 3.0f},
                                           {"conv2d/bias", 0.0f},
                                           {"conv2d/kernel", -0.5223959684371948f},
                                           {"conv2d_1/kernel", -1.0451120138168335f},
                                           {"conv2d_2/kernel", 1.577943205833435f}};
  for (const Json& v : vars.array) {
    ASSERT_EQ(v["values"].array.size(), 1u) << v["name"].text;
    auto it = expected.find(v["name"].text);
    if (it == expected.end()) continue;
    // %.9g round-trips float exactly.
    EXPECT_EQ(static_cast<float>(v["values"].array[0].number), it->second) << it->first;
  }
}

TEST(InspectGoldenTest, JsonSingleTensor) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--json", "--tensor_name", "conv2d_2/kernel"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"name\": \"conv2d_2/kernel\", \"dtype\": \"float\", \"shape\": [1, 1, 1, 1], "
            "\"values\": [1.57794321]}\n");
}

TEST(InspectGoldenTest, DirectoryResolvesToV1Checkpoint) {
  CommandResult r = Inspect(TestDataPath(kBadHalfPlusTwoDir), {"--json", "--all_tensors"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = ParseJsonOrFail(r.out);
  EXPECT_EQ(j["format"].text, "V1");
  EXPECT_THAT(j["checkpoint"].text, HasSubstr("export"));
  const Json& vars = j["variables"];
  ASSERT_EQ(vars.array.size(), 2u);
  EXPECT_EQ(vars.array[0]["name"].text, "Variable");
  EXPECT_EQ(vars.array[0]["values"].array[0].number, 0.5);
  EXPECT_EQ(vars.array[1]["name"].text, "Variable_1");
  EXPECT_EQ(vars.array[1]["values"].array[0].number, 2.0);

  r = Inspect(TestDataPath(kBadHalfPlusTwoDir), {"--all_tensors"});
  EXPECT_EQ(r.out,
            "tensor_name:  Variable\n0.5\ntensor_name:  Variable_1\n2.0\n"
            "# Total number of params: 2\n");
}

// ---------------------------------------------------------------------------
// Checkpoints written with BundleWriter.

TEST(InspectWrittenTest, EveryStorableDtype) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (DataType d : AllStorableTypes()) {
    tensors.emplace_back("v_" + std::string(DataTypeName(d)),
                         MakeTestTensor(d, TensorShape({2, 3}), 7));
  }
  const std::string prefix = WriteBundle(tensors);

  CommandResult text = Inspect(prefix, {"--all_tensors"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.err, "");
  for (const auto& [name, t] : tensors) {
    EXPECT_THAT(text.out, HasSubstr("tensor_name:  " + name + "\n[[")) << name;
  }
  EXPECT_THAT(text.out, HasSubstr("# Total number of params: " +
                                  std::to_string(6 * tensors.size()) + "\n"));

  CommandResult json = Inspect(prefix, {"--all_tensors", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  Json j = ParseJsonOrFail(json.out);
  const Json& vars = j["variables"];
  ASSERT_EQ(vars.array.size(), tensors.size());
  std::map<std::string, Tensor> by_name(tensors.begin(), tensors.end());
  for (const Json& v : vars.array) {
    SCOPED_TRACE(v["name"].text);
    const Tensor& t = by_name.at(v["name"].text);
    EXPECT_EQ(v["dtype"].text, DataTypeName(t.dtype()));
    EXPECT_EQ(ShapeOf(v["shape"]), (std::vector<int64_t>{2, 3}));
    ASSERT_EQ(v["values"].array.size(), 6u);
    for (size_t i = 0; i < 6; ++i) {
      const Json& e = v["values"].array[i];
      switch (t.dtype()) {
        case DataType::kFloat: {
          float x = t.flat<float>()[i];
          if (std::isnan(x)) {
            EXPECT_EQ(e.text, "nan");
          } else if (std::isinf(x)) {
            EXPECT_EQ(e.text, x < 0 ? "-inf" : "inf");
          } else {
            EXPECT_EQ(static_cast<float>(e.number), x);
          }
          break;
        }
        case DataType::kDouble: {
          double x = t.flat<double>()[i];
          if (std::isfinite(x)) EXPECT_EQ(e.number, x);
          break;
        }
        case DataType::kInt64:
          EXPECT_EQ(e.text, std::to_string(t.flat<int64_t>()[i]));
          break;
        case DataType::kUInt64:
          EXPECT_EQ(e.text, std::to_string(t.flat<uint64_t>()[i]));
          break;
        case DataType::kInt32:
          EXPECT_EQ(e.text, std::to_string(t.flat<int32_t>()[i]));
          break;
        case DataType::kBool:
          EXPECT_EQ(e.type, Json::kBool);
          EXPECT_EQ(e.b, t.flat<bool>()[i]);
          break;
        case DataType::kComplex64:
        case DataType::kComplex128:
          EXPECT_EQ(e.type, Json::kArray);
          EXPECT_EQ(e.array.size(), 2u);
          break;
        case DataType::kString: {
          // MakeTestTensor strings hold 0xff bytes or are plain ASCII.
          const std::string& s = t.strings()[i];
          if (s.find('\xff') != std::string::npos || s.find('\x80') != std::string::npos) {
            EXPECT_EQ(e.type, Json::kObject);
            EXPECT_TRUE(e.Has("base64"));
          }
          break;
        }
        default:
          EXPECT_TRUE(e.type == Json::kNumber || e.type == Json::kString);
      }
    }
  }
}

TEST(InspectWrittenTest, JsonExactValues) {
  Tensor c = Tensor::Allocate(DataType::kComplex64, TensorShape({1})).value();
  c.mutable_flat<float>()[0] = 1.5f;
  c.mutable_flat<float>()[1] = -2;
  const std::string prefix = WriteBundle({
      {"b", Tensor::FromVector<bool>({2}, {true, false})},
      {"c", c},
      {"d", Tensor::FromVector<double>({3}, {0.1, NAN, -INFINITY})},
      {"f", Tensor::FromVector<float>({2, 2}, {0.1f, INFINITY, -0.0f, 3})},
      {"h", Raw<uint16_t>(DataType::kHalf, {1}, {0x2e66})},
      {"i", Tensor::FromVector<int64_t>({2}, {INT64_MIN, INT64_MAX})},
      {"s", Strings({3}, {"plain", std::string("nul\0x", 5), "\xff\xfe"})},
  });
  CommandResult r = Inspect(prefix, {"--json", "--all_tensors"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"checkpoint\": " + JsonString(prefix) +
                ", \"format\": \"V2\", \"variables\": [\n"
                "  {\"name\": \"b\", \"dtype\": \"bool\", \"shape\": [2], \"values\": [true, "
                "false]},\n"
                "  {\"name\": \"c\", \"dtype\": \"complex64\", \"shape\": [1], \"values\": "
                "[[1.5, -2]]},\n"
                "  {\"name\": \"d\", \"dtype\": \"double\", \"shape\": [3], \"values\": "
                "[0.10000000000000001, \"nan\", \"-inf\"]},\n"
                "  {\"name\": \"f\", \"dtype\": \"float\", \"shape\": [2, 2], \"values\": "
                "[0.100000001, \"inf\", -0, 3]},\n"
                "  {\"name\": \"h\", \"dtype\": \"half\", \"shape\": [1], \"values\": "
                "[0.0999755859]},\n"
                "  {\"name\": \"i\", \"dtype\": \"int64\", \"shape\": [2], \"values\": "
                "[-9223372036854775808, 9223372036854775807]},\n"
                "  {\"name\": \"s\", \"dtype\": \"string\", \"shape\": [3], \"values\": "
                "[\"plain\", \"nul\\u0000x\", {\"base64\": \"//4=\"}]}\n"
                "]}\n");
  Json j = ParseJsonOrFail(r.out);
  EXPECT_EQ(j["variables"].array[6]["values"].array[1].text, std::string("nul\0x", 5));
}

TEST(InspectWrittenTest, JsonEscapesNames) {
  const std::string weird = std::string("q\"uote\\back\nline\ttab\x01") + "\xc3\xa9\xe2\x82\xac" +
                            "\xf0\x9f\x98\x80";
  const std::string prefix = WriteBundle({{weird, Tensor::Scalar(1.0f)}});
  CommandResult r = Inspect(prefix, {"--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("q\\\"uote\\\\back\\nline\\ttab\\u0001"));
  Json j = ParseJsonOrFail(r.out);
  EXPECT_EQ(j["variables"].array[0]["name"].text, weird);

  r = Inspect(prefix, {"--json", "--tensor_name=" + weird});
  ASSERT_EQ(r.code, 0) << r.err;
  Json single = ParseJsonOrFail(r.out);
  EXPECT_EQ(single["name"].text, weird);
  EXPECT_EQ(single["values"].array[0].number, 1.0);
}

TEST(InspectWrittenTest, JsonIsNeverTruncated) {
  std::vector<int32_t> v(5000);
  for (int i = 0; i < 5000; ++i) v[i] = i;
  const std::string prefix = WriteBundle({{"big", Tensor::FromVector<int32_t>({5000}, v)}});
  CommandResult r = Inspect(prefix, {"--json", "--tensor_name=big", "--printoptions", "threshold=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = ParseJsonOrFail(r.out);
  ASSERT_EQ(j["values"].array.size(), 5000u);
  EXPECT_EQ(j["values"].array[4999].number, 4999);
}

TEST(InspectWrittenTest, PrintoptionsFlag) {
  std::vector<int32_t> v(10);
  for (int i = 0; i < 10; ++i) v[i] = i;
  const std::string prefix = WriteBundle({{"x", Tensor::FromVector<int32_t>({10}, v)}});
  CommandResult r =
      Inspect(prefix, {"--tensor_name=x", "--printoptions", "threshold=4", "edgeitems=2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tensor_name:  x\n[0 1 ... 8 9]\n# Total number of params: 10\n");
  r = Inspect(prefix, {"--printoptions=threshold=4", "--tensor_name=x"});
  EXPECT_EQ(r.out, "tensor_name:  x\n[0 1 2 ... 7 8 9]\n# Total number of params: 10\n");
}

TEST(InspectWrittenTest, StringsWithNulAndInvalidUtf8) {
  const std::string prefix =
      WriteBundle({{"s", Strings({2}, {std::string("a\0b", 3), "\x80\xff"})}});
  CommandResult r = Inspect(prefix, {"--all_tensors"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tensor_name:  s\n[b'a\\x00b' b'\\x80\\xff']\n# Total number of params: 2\n");
}

TEST(InspectWrittenTest, DirectoryWithCheckpointFile) {
  const std::string prefix = WriteBundle({{"v", Tensor::Scalar(0.25f)}});
  const std::string dir = prefix.substr(0, prefix.rfind('/'));
  {
    std::ofstream f(dir + "/checkpoint");
    f << "model_checkpoint_path: \"model.ckpt-1\"\n"
         "all_model_checkpoint_paths: \"model.ckpt-1\"\n";
  }
  CommandResult r = Inspect(dir, {"--all_tensors"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tensor_name:  v\n0.25\n# Total number of params: 1\n");
}

// ---------------------------------------------------------------------------
// Errors.

TEST(InspectErrorTest, MissingFileName) {
  CommandResult r = RunCli({"inspect", "--all_tensors"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Usage: inspect_checkpoint --file_name=checkpoint_file_name "
            "[--tensor_name=tensor_to_print] [--all_tensors] [--all_tensor_names] "
            "[--count_exclude_pattern] [--printoptions]\n");
}

TEST(InspectErrorTest, MissingCheckpoint) {
  CommandResult r = Inspect(TempDir() + "/nope/model.ckpt-5");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("V2 checkpoint")));
}

TEST(InspectErrorTest, IndexExtensionGetsPrefixHint) {
  const std::string file = TestDataPath(kMkl) + ".index";
  CommandResult r = Inspect(file);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("It's likely that this is a V2 checkpoint"));
  EXPECT_THAT(r.err, HasSubstr("--file_name=" + TestDataPath(kMkl) + "\n"));
  r = Inspect(TestDataPath(kMkl) + ".data-00000-of-00001");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("--file_name=" + TestDataPath(kMkl) + "\n"));
}

TEST(InspectErrorTest, UnknownTensor) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--tensor_name=nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("Tensor nope not found in checkpoint"));
  r = Inspect(TestDataPath(kMkl), {"--tensor_name=nope", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
}

TEST(InspectErrorTest, CorruptDataFileWritesNothingToStdout) {
  std::vector<float> v(100, 1.5f);
  const std::string prefix = WriteBundle({{"a", Tensor::Scalar(1.0f)},
                                          {"z", Tensor::FromVector<float>({100}, v)}});
  {
    std::fstream f(DataFilename(prefix, 0, 1), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(50);
    f.put('\x42');
  }
  // Listing does not read data and still works.
  EXPECT_EQ(Inspect(prefix).code, 0);
  for (auto extra : std::vector<std::vector<std::string>>{
           {"--all_tensors"}, {"--tensor_name=z"}, {"--all_tensors", "--json"}}) {
    CommandResult r = Inspect(prefix, extra);
    EXPECT_EQ(r.code, 1) << extra[0];
    EXPECT_EQ(r.out, "") << extra[0];
    EXPECT_THAT(r.err, HasSubstr("DATA_LOSS")) << extra[0];
  }
}

TEST(InspectErrorTest, CorruptIndex) {
  const std::string prefix = WriteBundle({{"a", Tensor::Scalar(1.0f)}});
  {
    std::ofstream f(MetaFilename(prefix), std::ios::binary | std::ios::trunc);
    f << "garbage, not a table";
  }
  CommandResult r = Inspect(prefix);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err, "");
}

TEST(InspectErrorTest, RankAboveTheLimitIsAnErrorNotACrash) {
  // A one-element tensor whose index entry claims 100000 (or 255) axes of 1:
  // sizes and checksums still agree, only the rank is hostile.
  for (int rank : {255, 100000}) {
    const std::string prefix = WriteBundle({{"deep", Tensor::FromVector<float>({1}, {1.5f})}});
    EditEntry(prefix, "deep", [&](tensorflow::BundleEntryProto* e) {
      e->mutable_shape()->Clear();
      for (int i = 0; i < rank; ++i) e->mutable_shape()->add_dim()->set_size(1);
    });
    for (auto extra : std::vector<std::vector<std::string>>{{}, {"--all_tensors"}, {"--json"}}) {
      CommandResult r = Inspect(prefix, extra);
      EXPECT_EQ(r.code, 1) << rank;
      EXPECT_EQ(r.out, "") << rank;
      EXPECT_THAT(r.err, HasSubstr("DATA_LOSS")) << rank;
      EXPECT_THAT(r.err, HasSubstr(MetaFilename(prefix))) << rank;
      EXPECT_THAT(r.err, HasSubstr("\"deep\"")) << rank;
      EXPECT_THAT(r.err, HasSubstr("rank " + std::to_string(rank) + " exceeds the limit of 254"))
          << rank;
    }
  }
}

TEST(InspectErrorTest, FifoIndexOrDataFileIsAnErrorNotAHang) {
  using ::ckpt::testing::MakeFifo;
  using ::ckpt::testing::ReturnsPromptly;
  const std::string prefix = WriteBundle({{"a", Tensor::Scalar(1.0f)}});
  const std::string data = DataFilename(prefix, 0, 1);
  const std::string index = MetaFilename(prefix);
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(data));
  CKPT_ASSERT_OK(MakeFifo(data));
  CommandResult r = ReturnsPromptly([&] { return Inspect(prefix, {"--all_tensors"}); }, {data});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("'" + data + "' is a FIFO, not a regular file"));
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(index));
  CKPT_ASSERT_OK(MakeFifo(index));
  r = ReturnsPromptly([&] { return Inspect(prefix); }, {index, data});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("'" + index + "' is a FIFO, not a regular file"));
}

TEST(InspectWrittenTest, ControlCharactersInNamesAreEscaped) {
  const std::string evil = "evil\x1b[2J\r\n\x07\x7f\xff\xc2\x9b";
  const std::string shown = "evil\\x1b[2J\\r\\n\\x07\\x7f\\xff\\u009b";
  const std::string cafe = "caf\xc3\xa9";                // é
  const std::string namae = "\xe5\x90\x8d\xe5\x89\x8d";  // 名前
  const std::string prefix = WriteBundle(
      {{cafe, Tensor::Scalar(1.0f)}, {evil, Tensor::Scalar(2.0f)}, {namae, Tensor::Scalar(3.0f)}});
  CommandResult names = Inspect(prefix, {"--all_tensor_names"});
  ASSERT_EQ(names.code, 0) << names.err;
  EXPECT_EQ(names.out, "tensor_name:  " + cafe + "\ntensor_name:  " + shown +
                           "\ntensor_name:  " + namae + "\n# Total number of params: 3\n");
  CommandResult listing = Inspect(prefix);
  ASSERT_EQ(listing.code, 0) << listing.err;
  EXPECT_EQ(listing.out, cafe + " (DT_FLOAT) []\n" + shown + " (DT_FLOAT) []\n" + namae +
                             " (DT_FLOAT) []\n\n# Total number of params: 3\n");
  CommandResult all = Inspect(prefix, {"--all_tensors"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_THAT(all.out, HasSubstr("tensor_name:  " + shown + "\n2.0\n"));
  CommandResult one = Inspect(prefix, {"--tensor_name=" + evil});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(one.out, "tensor_name:  " + shown + "\n2.0\n# Total number of params: 3\n");
  // An unknown name in the error message.
  CommandResult missing = Inspect(prefix, {"--tensor_name=no\x1b[2J"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("Tensor no\\x1b[2J not found"));
  for (const CommandResult* r : {&names, &listing, &all, &one, &missing}) {
    EXPECT_EQ((r->out + r->err).find('\x1b'), std::string::npos) << r->out << r->err;
    EXPECT_EQ((r->out + r->err).find('\r'), std::string::npos) << r->out << r->err;
  }
}

TEST(InspectErrorTest, BadPrintoptionsExitWithUsageError) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--printoptions", "nosuchkey=1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("'nosuchkey' is not a valid printoption."));
  r = Inspect(TestDataPath(kMkl), {"--printoptions", "threshold"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("not in the form k=v"));
  r = Inspect(TestDataPath(kMkl), {"--printoptions", "precision=abc"});
  EXPECT_EQ(r.code, 2);
}

TEST(InspectErrorTest, CommandLineErrors) {
  CommandResult r = Inspect(TestDataPath(kMkl), {"--no_such_flag"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  r = Inspect(TestDataPath(kMkl), {"--all_tensors=maybe"});
  EXPECT_EQ(r.code, 2);
  r = RunCli({});
  EXPECT_EQ(r.code, 2);
  r = RunCli({"frobnicate"});
  EXPECT_EQ(r.code, 2);
}

TEST(InspectErrorTest, Help) {
  CommandResult r = RunCli({"inspect", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--file_name"));
  EXPECT_THAT(r.out, HasSubstr("--printoptions"));
  EXPECT_THAT(r.out, HasSubstr("--json"));
}

// The program's own help names it in the usage line and lists every
// subcommand; --version prints the project's version.
TEST(CliTest, HelpNamesTheProgramAndVersionPrintsIt) {
  CommandResult r = RunCli({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: ckpt [OPTIONS] SUBCOMMAND"));
  for (const char* command : {"inspect", "verify", "ls", "events", "fsck", "run", "graph"}) {
    EXPECT_THAT(r.out, HasSubstr(std::string("\n  ") + command + " ")) << command;
  }
  EXPECT_THAT(r.out, HasSubstr("--version"));
  r = RunCli({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("ckpt ") + CKPT_TEST_VERSION + "\n");
}

}  // namespace
}  // namespace ckpt::tools
