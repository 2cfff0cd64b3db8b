// Saver::Restore: round trips, TensorFlow's error texts, all-or-nothing,
// partial restore, name maps, partitioned variables and V1 checkpoints.
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/saver.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;

const char kMismatch[] =
    "Restoring from checkpoint failed. This is most likely due to a mismatch between the current "
    "graph and the graph from the checkpoint. Please ensure that you have not altered the graph "
    "expected based on the checkpoint. Original error:\n\n";
const char kMissing[] =
    "Restoring from checkpoint failed. This is most likely due to a Variable name or other graph "
    "key that is missing from the checkpoint. Please ensure that you have not altered the graph "
    "expected based on the checkpoint. Original error:\n\n";

class RestoreTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  RestoreTest() : t_(MakeTestEnv(GetParam())) {}

  std::string Path(const std::string& name) const { return JoinPath(t_.root, name); }

  SaverOptions Options() {
    SaverOptions o;
    o.env = t_.env;
    return o;
  }

  // Saves `vars` to Path(name) and returns the prefix.
  std::string SaveVars(const VarList& vars, const std::string& name = "model") {
    auto saver = Saver::Create(vars, Options());
    EXPECT_TRUE(saver.ok()) << saver.status();
    auto prefix = (*saver)->Save(Path(name));
    EXPECT_TRUE(prefix.ok()) << prefix.status();
    return prefix.ok() ? *prefix : "";
  }

  std::unique_ptr<Saver> MakeSaver(const VarList& vars) {
    auto saver = Saver::Create(vars, Options());
    EXPECT_TRUE(saver.ok()) << saver.status();
    return saver.ok() ? std::move(saver).value() : nullptr;
  }

  TestEnv t_;
};

TEST_P(RestoreTest, RoundTripsEveryDtype) {
  std::vector<Tensor> saved, restored;
  for (DataType dt : AllStorableTypes()) {
    saved.push_back(MakeTestTensor(dt, {2, 3}, static_cast<uint32_t>(dt)));
    restored.push_back(Tensor::Allocate(dt, {2, 3}).value());
  }
  VarList out, in;
  for (size_t i = 0; i < saved.size(); ++i) {
    const std::string name = "v/" + std::string(DataTypeName(saved[i].dtype()));
    out.push_back({name, &saved[i], std::nullopt, {}, ""});
    in.push_back({name, &restored[i], std::nullopt, {}, ""});
  }
  const std::string prefix = SaveVars(out);
  auto saver = MakeSaver(in);
  // Restoring writes into the caller's storage: keep aliases to check.
  std::vector<Tensor> aliases = restored;
  CKPT_ASSERT_OK(saver->Restore(prefix));
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_TRUE(aliases[i].Equals(saved[i])) << DataTypeName(saved[i].dtype());
  }
}

TEST_P(RestoreTest, BadPaths) {
  Tensor v = Tensor::FromVector<float>({1}, {0});
  auto saver = MakeSaver(VarListFromMap({{"v", &v}}));
  EXPECT_THAT(saver->Restore(""),
              StatusIs(StatusCode::kInvalidArgument, "Can't load save_path when it is None."));
  EXPECT_THAT(saver->Restore(Path("nope")),
              StatusIs(StatusCode::kNotFound,
                       "The passed save_path is not a valid checkpoint: " + Path("nope")));
  // A directory is not a checkpoint (TF's restore takes prefixes only).
  EXPECT_THAT(saver->Restore(t_.root),
              StatusIs(StatusCode::kNotFound, "The passed save_path is not a valid checkpoint"));
}

TEST_P(RestoreTest, MissingKeysAreNotFoundListingEach) {
  Tensor a = Tensor::FromVector<float>({1}, {1});
  const std::string prefix = SaveVars(VarListFromMap({{"a", &a}}));
  Tensor a2 = Tensor::FromVector<float>({1}, {0});
  Tensor b = Tensor::FromVector<float>({1}, {0});
  Tensor c = Tensor::FromVector<int32_t>({1}, {0});
  auto saver = MakeSaver(VarListFromMap({{"a", &a2}, {"c", &c}, {"b", &b}}));
  Status s = saver->Restore(prefix);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), std::string(kMissing) +
                             "Key b not found in checkpoint\nKey c not found in checkpoint");
  EXPECT_EQ(a2.flat<float>()[0], 0);  // nothing restored
}

TEST_P(RestoreTest, DtypeMismatchInTfWords) {
  Tensor v = Tensor::FromVector<int32_t>({2}, {1, 2});
  const std::string prefix = SaveVars(VarListFromMap({{"v", &v}}));
  Tensor f = Tensor::FromVector<float>({2}, {0, 0});
  auto saver = MakeSaver(VarListFromMap({{"v", &f}}));
  Status s = saver->Restore(prefix);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), std::string(kMismatch) +
                             "tensor_name = v; expected dtype float does not equal original "
                             "dtype int32");
}

TEST_P(RestoreTest, ShapeMismatchInTfWords) {
  Tensor v = Tensor::Allocate(DataType::kFloat, {10}).value();
  const std::string prefix = SaveVars(VarListFromMap({{"v", &v}}));
  Tensor big = Tensor::Allocate(DataType::kFloat, {20}).value();
  auto saver = MakeSaver(VarListFromMap({{"v", &big}}));
  Status s = saver->Restore(prefix);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), std::string(kMismatch) +
                             "tensor_name = v; shape in shape_and_slice spec [20] does not match "
                             "the shape stored in checkpoint: [10]");
}

TEST_P(RestoreTest, ReportsEveryMismatchAndChangesNothing) {
  Tensor a = Tensor::FromVector<float>({2}, {1, 2});
  Tensor b = Tensor::FromVector<int64_t>({2, 2}, {1, 2, 3, 4});
  Tensor c = Tensor::FromVector<double>({1}, {5});
  Tensor d = Tensor::FromVector<float>({3}, {6, 7, 8});
  const std::string prefix = SaveVars(VarListFromMap({{"a", &a}, {"b", &b}, {"c", &c}, {"d", &d}}));

  Tensor a2 = Tensor::FromVector<float>({2}, {0, 0});          // fine
  Tensor b2 = Tensor::FromVector<int32_t>({2, 2}, {0, 0, 0, 0});  // dtype
  Tensor c2 = Tensor::FromVector<double>({1}, {0});            // fine
  Tensor d2 = Tensor::FromVector<float>({1, 3}, {0, 0, 0});    // shape
  auto saver = MakeSaver(VarListFromMap({{"a", &a2}, {"b", &b2}, {"c", &c2}, {"d", &d2}}));
  Status s = saver->Restore(prefix);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            std::string(kMismatch) +
                "tensor_name = b; expected dtype int32 does not equal original dtype int64\n"
                "tensor_name = d; shape in shape_and_slice spec [1,3] does not match the shape "
                "stored in checkpoint: [3]");
  EXPECT_EQ(a2.flat<float>()[0], 0);
  EXPECT_EQ(c2.flat<double>()[0], 0);
}

TEST_P(RestoreTest, MissingUnexpectedAndMismatchesInOneMessage) {
  Tensor a = Tensor::FromVector<float>({2}, {1, 2});
  Tensor b = Tensor::FromVector<float>({3}, {3, 4, 5});
  Tensor extra = Tensor::FromVector<int64_t>({}, {7});
  const std::string prefix =
      SaveVars(VarListFromMap({{"a", &a}, {"b", &b}, {"old/extra", &extra}}));

  Tensor a2 = Tensor::FromVector<float>({2}, {0, 0});     // fine
  Tensor b2 = Tensor::FromVector<float>({4}, {0, 0, 0, 0});  // shape
  Tensor n2 = Tensor::FromVector<float>({1}, {0});        // missing
  auto saver = MakeSaver(VarListFromMap({{"a", &a2}, {"b", &b2}, {"new", &n2}}));
  RestoreReport report;
  RestoreOptions opts;
  opts.allow_unexpected = false;
  opts.report = &report;
  Status s = saver->Restore(prefix, opts);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            std::string(kMismatch) +
                "Key new not found in checkpoint\n"
                "tensor_name = b; shape in shape_and_slice spec [4] does not match the shape "
                "stored in checkpoint: [3]\n"
                "Checkpoint tensor old/extra is not read by any variable");
  EXPECT_EQ(report.missing, std::vector<std::string>{"new"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"old/extra"});
  EXPECT_EQ(report.mismatched.size(), 1u);
  EXPECT_TRUE(report.restored.empty());
  EXPECT_EQ(a2.flat<float>()[0], 0);  // nothing restored

  // By default (as TensorFlow) unexpected tensors are only reported.
  RestoreReport lenient;
  RestoreOptions allow;
  allow.allow_missing = true;
  allow.report = &lenient;
  auto ok_saver = MakeSaver(VarListFromMap({{"a", &a2}, {"new", &n2}}));
  CKPT_ASSERT_OK(ok_saver->Restore(prefix, allow));
  EXPECT_EQ(lenient.restored, std::vector<std::string>{"a"});
  EXPECT_EQ(lenient.missing, std::vector<std::string>{"new"});
  EXPECT_EQ(lenient.unexpected, (std::vector<std::string>{"b", "old/extra"}));
  EXPECT_EQ(a2.flat<float>()[1], 2);
}

TEST_P(RestoreTest, CorruptDataChangesNothing) {
  Tensor a = Tensor::FromVector<float>({2}, {1, 2});
  Tensor b = Tensor::FromVector<float>({2}, {3, 4});
  const std::string prefix = SaveVars(VarListFromMap({{"a", &a}, {"b", &b}}));
  // Flip a byte of b's data (a is first: bytes 0..7, b: 8..15).
  const std::string data = DataFilename(prefix, 0, 1);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFileToString(t_.env, data));
  ASSERT_EQ(bytes.size(), 16u);
  bytes[12] ^= 0x40;
  CKPT_ASSERT_OK(testing::WriteStringToFile(t_.env, data, bytes));
  Tensor a2 = Tensor::FromVector<float>({2}, {0, 0});
  Tensor b2 = Tensor::FromVector<float>({2}, {0, 0});
  auto saver = MakeSaver(VarListFromMap({{"a", &a2}, {"b", &b2}}));
  EXPECT_EQ(saver->Restore(prefix).code(), StatusCode::kDataLoss);
  EXPECT_EQ(a2.flat<float>()[0], 0);
}

TEST_P(RestoreTest, IncludeRegexRestoresASubset) {
  Tensor a = Tensor::FromVector<float>({1}, {1});
  Tensor b = Tensor::FromVector<float>({1}, {2});
  const std::string prefix = SaveVars(VarListFromMap({{"dense/kernel", &a}, {"head/w", &b}}));
  Tensor a2 = Tensor::FromVector<float>({1}, {0});
  Tensor b2 = Tensor::FromVector<float>({1}, {0});
  Tensor extra = Tensor::FromVector<float>({1}, {-1});  // not in the checkpoint, not selected
  auto saver =
      MakeSaver(VarListFromMap({{"dense/kernel", &a2}, {"head/w", &b2}, {"new/v", &extra}}));
  RestoreOptions ro;
  ro.include = std::regex("dense/.*");
  CKPT_ASSERT_OK(saver->Restore(prefix, ro));
  EXPECT_EQ(a2.flat<float>()[0], 1);
  EXPECT_EQ(b2.flat<float>()[0], 0);
  EXPECT_EQ(extra.flat<float>()[0], -1);
  // A partial match is no match.
  ro.include = std::regex("dense");
  a2.mutable_flat<float>()[0] = 0;
  CKPT_ASSERT_OK(saver->Restore(prefix, ro));
  EXPECT_EQ(a2.flat<float>()[0], 0);
}

TEST_P(RestoreTest, NameMapWarmStartsFromOtherKeys) {
  Tensor old_w = Tensor::FromVector<float>({2}, {3, 4});
  const std::string prefix = SaveVars(VarListFromMap({{"old/w", &old_w}}));
  Tensor w = Tensor::FromVector<float>({2}, {0, 0});
  Tensor fresh = Tensor::FromVector<float>({1}, {9});
  auto saver = MakeSaver(VarListFromMap({{"new/w", &w}, {"fresh", &fresh}}));
  RestoreOptions ro;
  ro.name_map["new/w"] = "old/w";
  EXPECT_THAT(saver->Restore(prefix, ro),
              StatusIs(StatusCode::kNotFound, "Key fresh not found in checkpoint"));
  EXPECT_EQ(w.flat<float>()[0], 0);
  ro.allow_missing = true;
  CKPT_ASSERT_OK(saver->Restore(prefix, ro));
  EXPECT_TRUE(w.Equals(old_w));
  EXPECT_EQ(fresh.flat<float>()[0], 9);
  // Mismatches name the checkpoint key.
  Tensor wrong = Tensor::FromVector<float>({3}, {0, 0, 0});
  auto saver2 = MakeSaver(VarListFromMap({{"new/w", &wrong}}));
  RestoreOptions ro2;
  ro2.name_map["new/w"] = "old/w";
  EXPECT_THAT(saver2->Restore(prefix, ro2),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = old/w; shape in shape_and_slice spec [3] does not match"));
  ro2.name_map["nobody"] = "old/w";
  EXPECT_THAT(saver2->Restore(prefix, ro2),
              StatusIs(StatusCode::kInvalidArgument, "holds no variable \"nobody\""));
}

TEST_P(RestoreTest, WholeIntoPartitionsAndBack) {
  Tensor whole = Tensor::FromVector<int32_t>({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const std::string prefix = SaveVars(VarListFromMap({{"emb", &whole}}));
  Tensor p0 = Tensor::Allocate(DataType::kInt32, {1, 2}).value();
  Tensor p1 = Tensor::Allocate(DataType::kInt32, {3, 2}).value();
  VarList parts = {{"emb", &p0, TensorShape{4, 2}, TensorSlice::Parse("0,1:-").value(), ""},
                   {"emb", &p1, TensorShape{4, 2}, TensorSlice::Parse("1,3:-").value(), ""}};
  auto saver = MakeSaver(parts);
  CKPT_ASSERT_OK(saver->Restore(prefix));
  EXPECT_TRUE(p0.Equals(Tensor::FromVector<int32_t>({1, 2}, {1, 2})));
  EXPECT_TRUE(p1.Equals(Tensor::FromVector<int32_t>({3, 2}, {3, 4, 5, 6, 7, 8})));

  // Save partitioned (by columns), restore whole and by other partitions.
  Tensor c0 = Tensor::FromVector<int32_t>({4, 1}, {1, 3, 5, 7});
  Tensor c1 = Tensor::FromVector<int32_t>({4, 1}, {2, 4, 6, 8});
  const std::string prefix2 = SaveVars(
      {{"emb", &c0, TensorShape{4, 2}, TensorSlice::Parse("-:0,1").value(), ""},
       {"emb", &c1, TensorShape{4, 2}, TensorSlice::Parse("-:1,1").value(), ""}},
      "model2");
  Tensor back = Tensor::Allocate(DataType::kInt32, {4, 2}).value();
  CKPT_ASSERT_OK(MakeSaver(VarListFromMap({{"emb", &back}}))->Restore(prefix2));
  EXPECT_TRUE(back.Equals(whole));
  p0 = Tensor::Allocate(DataType::kInt32, {1, 2}).value();
  p1 = Tensor::Allocate(DataType::kInt32, {3, 2}).value();
  CKPT_ASSERT_OK(saver->Restore(prefix2));
  EXPECT_TRUE(p1.Equals(Tensor::FromVector<int32_t>({3, 2}, {3, 4, 5, 6, 7, 8})));
}

TEST_P(RestoreTest, PartitionedFullShapeMismatch) {
  Tensor whole = Tensor::Allocate(DataType::kFloat, {10, 4}).value();
  const std::string prefix = SaveVars(VarListFromMap({{"part/rows", &whole}}));
  Tensor p0 = Tensor::Allocate(DataType::kFloat, {6, 4}).value();
  Tensor p1 = Tensor::Allocate(DataType::kFloat, {6, 4}).value();
  auto saver = MakeSaver(
      {{"part/rows", &p0, TensorShape{12, 4}, TensorSlice::Parse("0,6:-").value(), ""},
       {"part/rows", &p1, TensorShape{12, 4}, TensorSlice::Parse("6,6:-").value(), ""}});
  Status s = saver->Restore(prefix);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  // One line per partition, as TF's RestoreV2 reports each slice.
  const std::string line =
      "tensor_name = part/rows; shape in shape_and_slice spec [12,4] does not match the shape "
      "stored in checkpoint: [10,4]";
  EXPECT_EQ(s.message(), std::string(kMismatch) + line + "\n" + line);
}

TEST_P(RestoreTest, PartitionedStrings) {
  Tensor s0 = Tensor::FromStrings({3}, {"a", std::string("\0b", 2), "c"}).value();
  const std::string prefix = SaveVars(VarListFromMap({{"s", &s0}}));
  Tensor p = Tensor::FromStrings({2}, {"", ""}).value();
  auto saver = MakeSaver({{"s", &p, TensorShape{3}, TensorSlice::Parse("1,2").value(), ""}});
  CKPT_ASSERT_OK(saver->Restore(prefix));
  EXPECT_EQ(p.strings()[0], std::string("\0b", 2));
  EXPECT_EQ(p.strings()[1], "c");
}

TEST_P(RestoreTest, ViewsCannotBeRestored) {
  float buf[2] = {1, 2};
  Tensor view = Tensor::View(DataType::kFloat, {2}, buf);
  const std::string prefix = SaveVars(VarListFromMap({{"v", &view}}));
  auto saver = MakeSaver(VarListFromMap({{"v", &view}}));
  EXPECT_THAT(saver->Restore(prefix),
              StatusIs(StatusCode::kInvalidArgument, "owns its storage"));
}

INSTANTIATE_TEST_SUITE_P(Envs, RestoreTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

TEST(RestoreV1Test, RestoresTensorFlowV1Checkpoint) {
  const std::string path = testing::TestDataPath(
      "serving/tensorflow_serving/session_bundle/testdata/half_plus_two/00000123/"
      "export-00000-of-00001");
  Tensor a = Tensor::Scalar<float>(0);
  Tensor b = Tensor::Scalar<float>(0);
  SaverOptions o;
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(VarListFromMap({{"a", &a}, {"b", &b}}), o));
  CKPT_ASSERT_OK(saver->Restore(path));
  EXPECT_EQ(a.flat<float>()[0], 0.5f);
  EXPECT_EQ(b.flat<float>()[0], 2.0f);
  Tensor wrong = Tensor::Scalar<double>(0);
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver2, Saver::Create(VarListFromMap({{"a", &wrong}}), o));
  EXPECT_THAT(saver2->Restore(path),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = a; expected dtype double does not equal original dtype float"));
}

}  // namespace
}  // namespace ckpt
