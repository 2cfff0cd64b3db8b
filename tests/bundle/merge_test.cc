// MergeBundles (TensorFlow's MergeV2Checkpoints), over both Envs.
#include "ckpt/bundle.h"
#include "table/table.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::ElementsAre;

TensorSlice Slice(std::string_view s) { return TensorSlice::Parse(s).value(); }

class MergeTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override { te_ = MakeTestEnv(GetParam()); }
  Env* env() { return te_.env; }
  std::string P(const std::string& rel) { return JoinPath(te_.root, rel); }

  // Writes a bundle of `tensors` at `prefix`.
  void Write(const std::string& prefix, const std::vector<std::pair<std::string, Tensor>>& tensors) {
    BundleWriterOptions o;
    o.env = env();
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix, o));
    for (const auto& [k, t] : tensors) CKPT_ASSERT_OK(w->Add(k, t));
    CKPT_ASSERT_OK(w->Finish());
  }
  Result<std::unique_ptr<BundleReader>> Open(const std::string& prefix) {
    BundleReaderOptions o;
    o.env = env();
    return BundleReader::Open(prefix, o);
  }

  TestEnv te_;
};

TEST_P(MergeTest, TwoShardsLikeTensorFlowsShardedSave) {
  // TF1 sharded Saver: <P>_temp_<uuid>/part-0000i-of-00002, merged into P.
  const std::string tmp = P("model.ckpt-5_temp_0123/part");
  const std::string s0 = tmp + "-00000-of-00002", s1 = tmp + "-00001-of-00002";
  Tensor a = MakeTestTensor(DataType::kFloat, TensorShape({3, 4}), 1);
  Tensor b = MakeTestTensor(DataType::kInt64, TensorShape({5}), 2);
  Tensor c = MakeTestTensor(DataType::kString, TensorShape({2}), 3);
  Tensor d = MakeTestTensor(DataType::kHalf, TensorShape(), 4);
  Write(s0, {{"b", b}, {"a", a}});
  Write(s1, {{"d", d}, {"c", c}});
  const std::string merged = P("model.ckpt-5");
  CKPT_ASSERT_OK(MergeBundles(env(), {s0, s1}, merged));

  // Data files renamed into place, source indexes deleted, temp dir removed.
  EXPECT_THAT(ListDir(env(), te_.root),
              ElementsAre("model.ckpt-5.data-00000-of-00002", "model.ckpt-5.data-00001-of-00002",
                          "model.ckpt-5.index"));
  EXPECT_FALSE(env()->FileExists(MetaFilename(s0)));
  EXPECT_FALSE(env()->IsDirectory(P("model.ckpt-5_temp_0123")));

  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(merged));
  EXPECT_EQ(r->num_shards(), 2);
  ASSERT_EQ(r->entries().size(), 4u);
  const std::map<std::string, std::pair<Tensor, int>> want = {
      {"a", {a, 0}}, {"b", {b, 0}}, {"c", {c, 1}}, {"d", {d, 1}}};
  for (const auto& [k, tw] : want) {
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup(k));
    EXPECT_EQ(e->shard_id, tw.second) << k;
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(k));
    EXPECT_TRUE(got.Equals(tw.first)) << k;
  }
  // The merged header: num_shards 2, version {producer 1}.
  CKPT_ASSERT_OK_AND_ASSIGN(auto f, env()->NewRandomAccessFile(MetaFilename(merged)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto table, TableReader::Open(std::move(f), "m"));
  std::string header;
  CKPT_ASSERT_OK(table->ForEach([&](std::string_view k, std::string_view v) {
    if (k.empty()) header = std::string(v);
    return Status::OK();
  }));
  EXPECT_EQ(testing::HexString(header), "08 02 1a 02 08 01");
}

TEST_P(MergeTest, PartitionedTensorAcrossThreeBundles) {
  const TensorShape full{6, 3};
  Tensor t = MakeTestTensor(DataType::kInt32, full, 9);
  auto part = [&](const char* s) {
    Tensor out = Tensor::Allocate(DataType::kInt32, Slice(s).SliceShape(full)).value();
    CopySliceData(t, TensorSlice::Full(2), &out, Slice(s), full);
    return out;
  };
  std::vector<std::string> prefixes;
  const char* slices[] = {"0,2:-", "2,2:-", "4,2:-"};
  for (int i = 0; i < 3; ++i) {
    std::string prefix = P("s" + std::to_string(i) + "/part");
    prefixes.push_back(prefix);
    BundleWriterOptions o;
    o.env = env();
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix, o));
    CKPT_ASSERT_OK(w->AddSlice("p", full, Slice(slices[i]), part(slices[i])));
    CKPT_ASSERT_OK(w->Add("own" + std::to_string(i), Tensor::Scalar<float>(static_cast<float>(i))));
    CKPT_ASSERT_OK(w->Finish());
  }
  const std::string merged = P("out/model");
  CKPT_ASSERT_OK(MergeBundles(env(), prefixes, merged));
  EXPECT_THAT(ListDir(env(), te_.root), ElementsAre("out"));
  EXPECT_THAT(ListDir(env(), P("out")),
              ElementsAre("model.data-00000-of-00003", "model.data-00001-of-00003",
                          "model.data-00002-of-00003", "model.index"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(merged));
  EXPECT_EQ(r->num_shards(), 3);
  CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* pe, r->Lookup("p"));
  ASSERT_EQ(pe->slices.size(), 3u);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read("p"));
  EXPECT_TRUE(got.Equals(t));
  // A read spanning slices that live in different data files.
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor mid, r->ReadSlice("p", Slice("1,4:1,2")));
  Tensor want = Tensor::Allocate(DataType::kInt32, TensorShape({4, 2})).value();
  CopySliceData(t, TensorSlice::Full(2), &want, Slice("1,4:1,2"), full);
  EXPECT_TRUE(mid.Equals(want));
  for (int i = 0; i < 3; ++i) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor own, r->Read("own" + std::to_string(i)));
    EXPECT_EQ(*own.flat<float>(), static_cast<float>(i));
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* e, r->Lookup("own" + std::to_string(i)));
    EXPECT_EQ(e->shard_id, i);
  }
}

TEST_P(MergeTest, KeepDirsWhenAskedOrNotEmpty) {
  Write(P("d0/part"), {{"x", Tensor::Scalar<float>(1)}});
  Write(P("d1/part"), {{"y", Tensor::Scalar<float>(2)}});
  CKPT_ASSERT_OK(testing::WriteStringToFile(env(), P("d1/keep.txt"), "other file"));
  CKPT_ASSERT_OK(MergeBundles(env(), {P("d0/part"), P("d1/part")}, P("m/model"),
                              /*delete_old_dirs=*/true));
  EXPECT_FALSE(env()->IsDirectory(P("d0")));
  EXPECT_THAT(ListDir(env(), P("d1")), ElementsAre("keep.txt"));

  Write(P("e0/part"), {{"x", Tensor::Scalar<float>(1)}});
  CKPT_ASSERT_OK(MergeBundles(env(), {P("e0/part")}, P("m2/model"), /*delete_old_dirs=*/false));
  EXPECT_TRUE(env()->IsDirectory(P("e0")));
  EXPECT_TRUE(ListDir(env(), P("e0")).empty());
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(P("m2/model")));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor x, r->Read("x"));
  EXPECT_EQ(*x.flat<float>(), 1.0f);
}

TEST_P(MergeTest, SourcesInTheTargetDirectory) {
  Write(P("part-0"), {{"x", Tensor::Scalar<int32_t>(1)}});
  Write(P("part-1"), {{"y", Tensor::Scalar<int32_t>(2)}});
  CKPT_ASSERT_OK(MergeBundles(env(), {P("part-0"), P("part-1")}, P("model")));
  EXPECT_TRUE(env()->IsDirectory(te_.root));
  EXPECT_THAT(ListDir(env(), te_.root),
              ElementsAre("model.data-00000-of-00002", "model.data-00001-of-00002", "model.index"));
}

TEST_P(MergeTest, DuplicatesRejected) {
  Write(P("t/a"), {{"dup", Tensor::Scalar<float>(1)}, {"u", Tensor::Scalar<float>(2)}});
  Write(P("t/b"), {{"dup", Tensor::Scalar<float>(3)}});
  EXPECT_THAT(MergeBundles(env(), {P("t/a"), P("t/b")}, P("out/m")),
              StatusIs(StatusCode::kInvalidArgument,
                       "Duplicate tensor keyed by dup encountered, when merging prefix: " + P("t/b")));
  // Nothing was published or destroyed.
  EXPECT_FALSE(env()->FileExists(MetaFilename(P("out/m"))));
  for (const char* p : {"t/a", "t/b"}) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(P(p)));
    CKPT_EXPECT_OK(r->Read("dup").status());
  }
  // A whole tensor in one input and slices of it in another.
  Write(P("w/a"), {{"p", Tensor::FromVector<float>(TensorShape({2}), {1, 2})}});
  {
    BundleWriterOptions o;
    o.env = env();
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(P("w/b"), o));
    CKPT_ASSERT_OK(w->AddSlice("p", TensorShape({2}), Slice("0,1"),
                               Tensor::FromVector<float>(TensorShape({1}), {1})));
    CKPT_ASSERT_OK(w->Finish());
  }
  EXPECT_THAT(MergeBundles(env(), {P("w/a"), P("w/b")}, P("out/m")),
              StatusIs(StatusCode::kInvalidArgument, "Duplicate tensor keyed by p"));
}

TEST_P(MergeTest, BadInputs) {
  EXPECT_THAT(MergeBundles(env(), {}, P("m")), StatusIs(StatusCode::kInvalidArgument, ""));
  Write(P("ok"), {{"x", Tensor::Scalar<float>(1)}});
  EXPECT_THAT(MergeBundles(env(), {P("ok"), P("missing")}, P("m")),
              StatusIs(StatusCode::kNotFound, ""));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(P("ok")));  // untouched
  CKPT_ASSERT_OK(testing::WriteStringToFile(env(), MetaFilename(P("junk")), std::string(100, 'j')));
  EXPECT_THAT(MergeBundles(env(), {P("ok"), P("junk")}, P("m")),
              StatusIs(StatusCode::kDataLoss, ""));
}

TEST_P(MergeTest, EmptyInputCountsAsAShard) {
  Write(P("a/part"), {{"x", Tensor::Scalar<float>(1)}});
  Write(P("b/part"), {});
  Write(P("c/part"), {{"z", Tensor::Scalar<float>(3)}});
  CKPT_ASSERT_OK(MergeBundles(env(), {P("a/part"), P("b/part"), P("c/part")}, P("m/model")));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(P("m/model")));
  EXPECT_EQ(r->num_shards(), 3);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor z, r->Read("z"));
  EXPECT_EQ(*z.flat<float>(), 3.0f);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor x, r->Read("x"));
  EXPECT_EQ(*x.flat<float>(), 1.0f);
  EXPECT_FALSE(env()->FileExists(MetaFilename(P("b/part"))));
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, MergeTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const ::testing::TestParamInfo<EnvKind>& info) {
                           return EnvKindName(info.param);
                         });

}  // namespace
}  // namespace ckpt
