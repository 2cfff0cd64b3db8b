// Bundles written by real TensorFlow (shared/testdata/tensorflow, README
// sections A and B): read back with their known contents, and re-written
// byte-identically where the index is uncompressed.
#include <algorithm>
#include <map>

#include "ckpt/bundle.h"
#include "env/coding.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::TestDataPath;

constexpr char kServing[] = "serving/tensorflow_serving/servables/tensorflow/testdata/";
constexpr char kGraphKey[] = "_CHECKPOINTABLE_OBJECT_GRAPH";

std::string Prefix(const std::string& rel) { return TestDataPath(rel + "/variables"); }

struct Expect {
  std::string key;
  DataType dtype;
  TensorShape shape;
  std::vector<double> values;  // numeric tensors (float or int64)
  int64_t offset;              // -1: not checked
  size_t string_size = 0;      // for the object graph: length of the proto
};

struct Golden {
  const char* name;
  std::string prefix;
  bool snappy;
  std::vector<Expect> tensors;
  int graph_nodes = -1;  // nodes in the object graph, if known
  std::vector<std::string> graph_strings;
};

std::vector<Golden> Goldens() {
  const std::string s = kServing;
  const TensorShape scalar, one{1}, k4{1, 1, 1, 1};
  const DataType f = DataType::kFloat;
  const std::string vv = "/.ATTRIBUTES/VARIABLE_VALUE";
  std::vector<Golden> g;
  g.push_back({"A1_half_plus_two_gpu", Prefix(s + "saved_model_half_plus_two_gpu/00000123/variables"),
               false,
               {{"a", f, scalar, {0.5}, 0}, {"b", f, scalar, {2.0}, 4}, {"c", f, scalar, {3.0}, 8}}});
  g.push_back({"A2_java_saved_model",
               Prefix("java/tensorflow-core/tensorflow-core-api/src/test/resources/saved_model/variables"),
               false,
               {{"a", f, scalar, {0.5}, 0}, {"b", f, scalar, {2.0}, 4}, {"c", f, scalar, {3.0}, 8}}});
  g.push_back({"A3_half_plus_three", Prefix(s + "saved_model_half_plus_three/00000123/variables"),
               false,
               {{"a", f, scalar, {0.5}, -1}, {"b", f, scalar, {3.0}, -1}, {"c", f, scalar, {3.0}, -1}}});
  g.push_back({"A4_half_plus_two_cpu_snappy",
               Prefix(s + "saved_model_half_plus_two_cpu/00000123/variables"), true,
               {{"a", f, scalar, {0.5}, 0},
                {"a2", f, scalar, {0.5}, 4},
                {"b", f, scalar, {2.0}, 8},
                {"c", f, scalar, {3.0}, 12},
                {"c2", f, scalar, {3.0}, 16}}});
  g.push_back({"A5_half_plus_two_mkl", Prefix(s + "saved_model_half_plus_two_mkl/00000123/variables"),
               false,
               {{"a", f, scalar, {0.5}, -1},
                {"b", f, scalar, {2.0}, -1},
                {"c", f, scalar, {3.0}, -1},
                {"conv2d/bias", f, one, {0.0}, -1},
                {"conv2d/kernel", f, k4, {-0.5223959684371948}, -1},
                {"conv2d_1/bias", f, one, {0.0}, -1},
                {"conv2d_1/kernel", f, k4, {-1.0451120138168335}, -1},
                {"conv2d_2/bias", f, one, {0.0}, -1},
                {"conv2d_2/kernel", f, k4, {1.577943205833435}, -1}}});
  g.push_back({"A6_counter", Prefix(s + "saved_model_counter/00000123/variables"), false,
               {{"counter", f, scalar, {0.0}, 0}}});
  g.push_back({"A7_rust_regression", Prefix("rust/test_resources/regression-model/variables"), false,
               {{"b", f, one, {0.0}, 0}, {"w", f, one, {-0.8578622341156006}, 4}}});
  g.push_back({"B1_java_python_model",
               Prefix("java/tensorflow-core/tensorflow-core-api/src/test/resources/"
                      "saved_model_using_python/model/variables"),
               false,
               {{kGraphKey, DataType::kString, scalar, {}, 4, 118},
                {"variable" + vv, f, scalar, {2.0}, 0}},
               -1,
               {"variable" + vv, "keras_api", "signatures"}});
  g.push_back({"B2_rust_regression_savedmodel",
               Prefix("rust/examples/regression_savedmodel/variables"),
               false,
               {{kGraphKey, DataType::kString, scalar, {}, 28, 531},
                {"b" + vv, f, one, {0.0}, 4},
                {"optimizer/decay" + vv, f, scalar, {0.0}, 16},
                {"optimizer/iter" + vv, DataType::kInt64, scalar, {0}, 8},
                {"optimizer/learning_rate" + vv, f, scalar, {0.5}, 20},
                {"optimizer/momentum" + vv, f, scalar, {0.0}, 24},
                {"w" + vv, f, one, {0.20429754257202148}, 0}},
               9,
               {"SGD/iter", "SGD/decay", "SGD/learning_rate", "SGD/momentum", "w" + vv}});
  g.push_back({"B3_half_plus_two_tf2_snappy",
               Prefix(s + "saved_model_half_plus_two_tf2_cpu/00000123/variables"), true,
               {{kGraphKey, DataType::kString, scalar, {}, 12, 613},
                {"a" + vv, f, scalar, {0.5}, 0},
                {"b" + vv, f, scalar, {2.0}, 4},
                {"c" + vv, f, scalar, {3.0}, 8}},
               24,
               {"a" + vv, "regress_xy2", "classify_x2y3"}});
  g.push_back({"B4_tf_text_regression", Prefix(s + "tf_text_regression/01/variables"), false,
               {{kGraphKey, DataType::kString, scalar, {}, 0, 921}},
               30,
               {"wp_vocab_table", "regularization_losses", "_default_save_signature"}});
  return g;
}

// Counts the top-level field-1 (nodes) entries of a TrackableObjectGraph;
// -1 if the bytes are not a well-formed message of length-delimited fields.
int CountObjectGraphNodes(std::string_view in) {
  auto varint = [&](uint64_t* v) { return GetVarint64(&in, v); };
  int nodes = 0;
  while (!in.empty()) {
    uint64_t tag, len;
    if (!varint(&tag) || (tag & 7) != 2 || !varint(&len) || len > in.size()) return -1;
    if ((tag >> 3) == 1) ++nodes;
    in.remove_prefix(len);
  }
  return nodes;
}

class GoldenTest : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenTest, ReadsKnownContents) {
  const Golden& g = GetParam();
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(g.prefix));
  EXPECT_EQ(r->num_shards(), 1);
  ASSERT_EQ(r->entries().size(), g.tensors.size());
  std::vector<std::string> keys;
  for (const auto& e : r->entries()) keys.push_back(e.key);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  for (const Expect& x : g.tensors) {
    SCOPED_TRACE(x.key);
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup(x.key));
    EXPECT_EQ(e->dtype, x.dtype);
    EXPECT_EQ(e->shape, x.shape);
    EXPECT_EQ(e->shard_id, 0);
    if (x.offset >= 0) EXPECT_EQ(e->offset, x.offset);
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, r->Read(x.key));
    ASSERT_EQ(t.dtype(), x.dtype);
    if (x.dtype == DataType::kString) {
      ASSERT_EQ(t.strings().size(), 1u);
      const std::string& graph = t.strings()[0];
      EXPECT_EQ(graph.size(), x.string_size);
      // varint length (1 or 2 bytes) + 4-byte length CRC + body.
      EXPECT_EQ(static_cast<size_t>(e->size), graph.size() + (graph.size() < 128 ? 1 : 2) + 4);
      if (g.graph_nodes >= 0) EXPECT_EQ(CountObjectGraphNodes(graph), g.graph_nodes);
      else EXPECT_GT(CountObjectGraphNodes(graph), 1);
      for (const auto& s : g.graph_strings) {
        EXPECT_NE(graph.find(s), std::string::npos) << "object graph lacks " << s;
      }
      continue;
    }
    ASSERT_EQ(static_cast<size_t>(t.num_elements()), x.values.size());
    for (size_t i = 0; i < x.values.size(); ++i) {
      if (x.dtype == DataType::kFloat) {
        EXPECT_EQ(t.flat<float>()[i], static_cast<float>(x.values[i]));
      } else {
        ASSERT_EQ(x.dtype, DataType::kInt64);
        EXPECT_EQ(t.flat<int64_t>()[i], static_cast<int64_t>(x.values[i]));
      }
    }
  }
}

TEST_P(GoldenTest, ReadsWithMmapViews) {
  const Golden& g = GetParam();
  BundleReaderOptions o;
  o.use_mmap = true;
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(g.prefix, o));
  for (const Expect& x : g.tensors) {
    if (x.dtype == DataType::kString) continue;
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor v, r->ReadView(x.key));
    EXPECT_TRUE(v.is_view());
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, r->Read(x.key));
    EXPECT_TRUE(v.Equals(t)) << x.key;
  }
}

// Re-writing the same tensors in the data file's order reproduces
// TensorFlow's files byte for byte.
TEST_P(GoldenTest, RewriteIsByteIdentical) {
  const Golden& g = GetParam();
  if (g.snappy) GTEST_SKIP() << "index written with Snappy blocks; TF's writers never compress";
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(g.prefix));
  std::vector<const BundleEntry*> order;
  for (const auto& e : r->entries()) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const BundleEntry* a, const BundleEntry* b) { return a->offset < b->offset; });
  auto mem = NewMemEnv();
  BundleWriterOptions wo;
  wo.env = mem.get();
  const std::string out = "/golden/out/variables";
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(out, wo));
  for (const BundleEntry* e : order) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, r->Read(e->key));
    CKPT_ASSERT_OK(w->Add(e->key, t));
  }
  CKPT_ASSERT_OK(w->Finish());
  for (const auto& [golden_path, our_path] :
       {std::make_pair(MetaFilename(g.prefix), MetaFilename(out)),
        std::make_pair(DataFilename(g.prefix, 0, 1), DataFilename(out, 0, 1))}) {
    CKPT_ASSERT_OK_AND_ASSIGN(std::string want, ReadFileToString(Env::Posix(), golden_path));
    CKPT_ASSERT_OK_AND_ASSIGN(std::string got, ReadFileToString(mem.get(), our_path));
    EXPECT_EQ(got.size(), want.size()) << golden_path;
    EXPECT_TRUE(got == want) << golden_path << "\nwant " << testing::HexString(want)
                             << "\ngot  " << testing::HexString(got);
  }
}

INSTANTIATE_TEST_SUITE_P(TensorFlowWritten, GoldenTest, ::testing::ValuesIn(Goldens()),
                         [](const ::testing::TestParamInfo<Golden>& info) {
                           return std::string(info.param.name);
                         });

TEST(GoldenFacts, A1AndA2AreIdenticalAndMatchTheSpec) {
  const std::string a1 = Prefix(std::string(kServing) + "saved_model_half_plus_two_gpu/00000123/variables");
  const std::string a2 =
      Prefix("java/tensorflow-core/tensorflow-core-api/src/test/resources/saved_model/variables");
  for (const std::string& p : {a1, a2}) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(p));
    std::map<std::string, uint32_t> crcs;
    for (const auto& e : r->entries()) crcs[e.key] = e.masked_crc32c;
    EXPECT_EQ(crcs["a"], 0x1f273806u);
    EXPECT_EQ(crcs["b"], 0x4f78fd10u);
    EXPECT_EQ(crcs["c"], 0xc382d6efu);
    EXPECT_EQ(r->DebugString(), "a (DT_FLOAT) []\nb (DT_FLOAT) []\nc (DT_FLOAT) []\n");
    CKPT_ASSERT_OK_AND_ASSIGN(std::string data, ReadFileToString(Env::Posix(), DataFilename(p, 0, 1)));
    EXPECT_EQ(testing::HexString(data), "00 00 00 3f 00 00 00 40 00 00 40 40");
  }
}

TEST(GoldenFacts, CounterCrc) {
  CKPT_ASSERT_OK_AND_ASSIGN(
      auto r, BundleReader::Open(Prefix(std::string(kServing) + "saved_model_counter/00000123/variables")));
  CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup("counter"));
  EXPECT_EQ(e->masked_crc32c, 0x3a117ba6u);
}

TEST(GoldenFacts, MklDebugString) {
  CKPT_ASSERT_OK_AND_ASSIGN(
      auto r,
      BundleReader::Open(Prefix(std::string(kServing) + "saved_model_half_plus_two_mkl/00000123/variables")));
  const std::string want =
      "a (DT_FLOAT) []\n"
      "b (DT_FLOAT) []\n"
      "c (DT_FLOAT) []\n"
      "conv2d/bias (DT_FLOAT) [1]\n"
      "conv2d/kernel (DT_FLOAT) [1,1,1,1]\n";
  EXPECT_EQ(r->DebugString().substr(0, want.size()), want);
  CKPT_ASSERT_OK_AND_ASSIGN(uint64_t size,
                            Env::Posix()->GetFileSize(DataFilename(r->prefix(), 0, 1)));
  EXPECT_EQ(size, 36u);
}

TEST(GoldenFacts, B1ObjectGraphStringLayout) {
  const std::string p = Prefix(
      "java/tensorflow-core/tensorflow-core-api/src/test/resources/saved_model_using_python/model/"
      "variables");
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(p));
  CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup(kGraphKey));
  EXPECT_EQ(e->size, 123);
  EXPECT_EQ(e->masked_crc32c, 0xfb2c5df0u);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string data, ReadFileToString(Env::Posix(), DataFilename(p, 0, 1)));
  ASSERT_GE(data.size(), 9u);
  EXPECT_EQ(testing::HexString(data.substr(4, 5)), "76 63 1e 4b ea");
}

}  // namespace
}  // namespace ckpt
