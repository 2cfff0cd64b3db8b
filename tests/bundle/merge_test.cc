// MergeBundles (TensorFlow's MergeV2Checkpoints), over both Envs.
#include <functional>

#include "ckpt/bundle.h"
#include "table/table.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Tensors = std::vector<std::pair<std::string, Tensor>>;

TensorSlice Slice(std::string_view s) { return TensorSlice::Parse(s).value(); }

// FaultInjectionEnv fails every operation once its budget is spent, as a
// dead disk would. A transient fault (a full disk while the index is written,
// one bad rename) fails one operation and lets the undo run: this forwards to
// a FaultInjectionEnv and switches it off after the first error it returns.
class TransientFaultEnv : public ForwardingEnv {
 public:
  explicit TransientFaultEnv(FaultInjectionEnv* faults) : ForwardingEnv(faults), faults_(faults) {}

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    auto f = target()->NewWritableFile(path);
    if (!f.ok()) return Disarm(f.status());
    return std::unique_ptr<WritableFile>(new File(this, std::move(*f)));
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return Disarm(target()->RenameFile(from, to));
  }
  Status SyncDir(const std::string& dir) override { return Disarm(target()->SyncDir(dir)); }

 private:
  class File : public WritableFile {
   public:
    File(TransientFaultEnv* env, std::unique_ptr<WritableFile> f) : env_(env), f_(std::move(f)) {}
    Status Append(std::string_view d) override { return env_->Disarm(f_->Append(d)); }
    Status Flush() override { return env_->Disarm(f_->Flush()); }
    Status Sync() override { return env_->Disarm(f_->Sync()); }
    Status Close() override { return env_->Disarm(f_->Close()); }
    uint64_t Tell() const override { return f_->Tell(); }

   private:
    TransientFaultEnv* env_;
    std::unique_ptr<WritableFile> f_;
  };
  Status Disarm(Status s) {
    if (!s.ok()) faults_->FailAfter(-1);
    return s;
  }
  FaultInjectionEnv* faults_;
};

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
  // The bundle at `prefix` holds exactly `tensors`.
  void ExpectBundle(const std::string& prefix, const Tensors& tensors) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, Open(prefix));
    EXPECT_EQ(r->entries().size(), tensors.size()) << prefix;
    for (const auto& [k, t] : tensors) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(k));
      EXPECT_TRUE(got.Equals(t)) << prefix << " " << k;
    }
  }
  // Every file under the root, as paths relative to it, sorted.
  std::vector<std::string> Tree(const std::string& rel = "") {
    std::vector<std::string> out;
    for (const std::string& name : ListDir(env(), rel.empty() ? te_.root : P(rel))) {
      const std::string child = rel.empty() ? name : rel + "/" + name;
      if (env()->IsDirectory(P(child))) {
        out.push_back(child + "/");
        for (std::string& f : Tree(child)) out.push_back(std::move(f));
      } else {
        out.push_back(child);
      }
    }
    return out;
  }
  // Fails a merge of `sources` into `merged` at every operation in turn (a
  // transient fault), checking each time that the sources still read back,
  // that the tree is as before and that the error is the injected one; then
  // the merge with no fault must succeed and read back everything. Returns
  // the number of operations the merge counts.
  int FailMergeEverywhere(const std::map<std::string, Tensors>& sources,
                          const std::string& merged) {
    std::vector<std::string> prefixes;
    Tensors all;
    for (const auto& [prefix, tensors] : sources) {
      Write(prefix, tensors);
      prefixes.push_back(prefix);
      all.insert(all.end(), tensors.begin(), tensors.end());
    }
    const std::vector<std::string> before = Tree();
    for (int k = 0;; ++k) {
      SCOPED_TRACE("fault at operation " + std::to_string(k));
      FaultInjectionEnv faults(env());
      TransientFaultEnv fenv(&faults);
      faults.FailAfter(k);
      Status s = MergeBundles(&fenv, prefixes, merged);
      if (s.ok()) {
        EXPECT_EQ(faults.operations(), k) << "the merge succeeded before its last operation";
        // The first undamaged run: the merged bundle has everything, the
        // source indexes are gone.
        ExpectBundle(merged, all);
        for (const std::string& p : prefixes) EXPECT_FALSE(env()->FileExists(MetaFilename(p))) << p;
        return k;
      }
      EXPECT_THAT(s, StatusIs(StatusCode::kIoError, "Merging into " + merged + ": injected fault"));
      EXPECT_THAT(s.message(), Not(HasSubstr("undoing")));
      EXPECT_FALSE(env()->FileExists(MetaFilename(merged)));
      EXPECT_EQ(Tree(), before) << s;
      for (const auto& [prefix, tensors] : sources) ExpectBundle(prefix, tensors);
      if (HasFailure() || k > 1000) return -1;
    }
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

TEST_P(MergeTest, ProgressIsTheSourceIndexBytesRead) {
  const std::vector<std::string> sources = {P("a/p"), P("b/p"), P("c/p")};
  uint64_t index_bytes = 0;
  for (size_t i = 0; i < sources.size(); ++i) {
    Write(sources[i], {{"t" + std::to_string(i), MakeTestTensor(DataType::kFloat,
                                                                TensorShape({64}), i + 1)}});
    CKPT_ASSERT_OK_AND_ASSIGN(uint64_t size, env()->GetFileSize(MetaFilename(sources[i])));
    index_bytes += size;
  }
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  MergeOptions options;
  options.on_progress = [&calls](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  CKPT_ASSERT_OK(MergeBundles(env(), sources, P("merged"), options));
  ASSERT_EQ(calls.size(), sources.size());  // one call per source index
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, index_bytes);
    if (i > 0) EXPECT_GT(calls[i].first, calls[i - 1].first);
  }
  EXPECT_EQ(calls.back().first, index_bytes);
  EXPECT_FALSE(env()->IsDirectory(P("a")));  // options.delete_old_dirs, the default
  ExpectBundle(P("merged"), {{"t0", MakeTestTensor(DataType::kFloat, TensorShape({64}), 1)},
                             {"t1", MakeTestTensor(DataType::kFloat, TensorShape({64}), 2)},
                             {"t2", MakeTestTensor(DataType::kFloat, TensorShape({64}), 3)}});
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

TEST_P(MergeTest, FailureAtEveryStepOfATwoSourceMergeLosesNothing) {
  // The Saver's sharded layout: sources in a temp dir beside the prefix.
  const std::string tmp = P("model.ckpt-5_temp_0123/part");
  const int ops =
      FailMergeEverywhere({{tmp + "-00000-of-00002",
                            {{"b", MakeTestTensor(DataType::kInt64, TensorShape({5}), 2)},
                             {"a", MakeTestTensor(DataType::kFloat, TensorShape({300, 40}), 1)}}},
                           {tmp + "-00001-of-00002",
                            {{"c", MakeTestTensor(DataType::kString, TensorShape({2}), 3)},
                             {"d", MakeTestTensor(DataType::kHalf, TensorShape(), 4)}}}},
                          P("model.ckpt-5"));
  // 2 data renames; create, appends, sync, rename of the index; dir sync.
  EXPECT_GE(ops, 2 + 5);
}

TEST_P(MergeTest, FailureAtEveryStepOfAThreeSourceMergeLosesNothing) {
  // Sources in three directories, merged into a directory the merge creates
  // (and removes again when it fails).
  const int ops = FailMergeEverywhere(
      {{P("s0/part"), {{"x", MakeTestTensor(DataType::kDouble, TensorShape({100, 10}), 5)}}},
       {P("s1/part"),
        {{"y", MakeTestTensor(DataType::kInt8, TensorShape({3}), 6)},
         {"z", MakeTestTensor(DataType::kString, TensorShape({7}), 7)}}},
       {P("s2/part"), {{"w", MakeTestTensor(DataType::kBool, TensorShape({4, 2}), 8)}}}},
      P("out/model"));
  EXPECT_GE(ops, 3 + 5);
  EXPECT_THAT(ListDir(env(), P("out")),
              ElementsAre("model.data-00000-of-00003", "model.data-00001-of-00003",
                          "model.data-00002-of-00003", "model.index"));
}

TEST_P(MergeTest, WhenTheUndoFailsTooTheErrorSaysWhatWasNotMovedBack) {
  // A fault that does not go away: the renames back fail as well, and the
  // message names the data files left under the merged prefix.
  const std::string s0 = P("t/part-0"), s1 = P("t/part-1"), merged = P("model");
  Write(s0, {{"a", Tensor::Scalar<float>(1)}});
  Write(s1, {{"b", Tensor::Scalar<float>(2)}});
  FaultInjectionEnv faults(env());
  faults.FailAfter(2);  // both data files renamed, creating the index fails
  Status s = MergeBundles(&faults, {s0, s1}, merged);
  EXPECT_THAT(
      s, StatusIs(StatusCode::kIoError, "Merging into " + merged + ": injected fault: create"));
  EXPECT_THAT(s.message(), HasSubstr("; undoing the merge failed too: could not move back " +
                                     DataFilename(merged, 1, 2) + " -> " + DataFilename(s1, 0, 1) +
                                     " (IO_ERROR"));
  EXPECT_THAT(s.message(), HasSubstr(DataFilename(merged, 0, 2) + " -> " + DataFilename(s0, 0, 1)));
  EXPECT_FALSE(env()->FileExists(MetaFilename(merged)));
  // Once the disk works again, the files can be moved back by hand.
  faults.FailAfter(-1);
  CKPT_ASSERT_OK(env()->RenameFile(DataFilename(merged, 0, 2), DataFilename(s0, 0, 1)));
  CKPT_ASSERT_OK(env()->RenameFile(DataFilename(merged, 1, 2), DataFilename(s1, 0, 1)));
  ExpectBundle(s0, {{"a", Tensor::Scalar<float>(1)}});
  ExpectBundle(s1, {{"b", Tensor::Scalar<float>(2)}});
}

TEST_P(MergeTest, FailedMergeOverAnExistingBundleKeepsTheSources) {
  // The bundle already at the merged prefix is unpublished before any data
  // file moves; a failed merge keeps the sources but does not bring it back.
  const std::string merged = P("model");
  Write(merged, {{"old", Tensor::Scalar<float>(0)}});
  const Tensors t0 = {{"a", Tensor::Scalar<float>(1)}}, t1 = {{"b", Tensor::Scalar<float>(2)}};
  Write(P("t/part-0"), t0);
  Write(P("t/part-1"), t1);
  FaultInjectionEnv faults(env());
  TransientFaultEnv fenv(&faults);
  faults.FailAfter(1);  // the second data rename
  EXPECT_THAT(MergeBundles(&fenv, {P("t/part-0"), P("t/part-1")}, merged),
              StatusIs(StatusCode::kIoError,
                       "injected fault: rename " + DataFilename(P("t/part-1"), 0, 1)));
  EXPECT_THAT(Open(merged), StatusIs(StatusCode::kNotFound, ""));
  ExpectBundle(P("t/part-0"), t0);
  ExpectBundle(P("t/part-1"), t1);
  // The retry replaces it.
  CKPT_ASSERT_OK(MergeBundles(env(), {P("t/part-0"), P("t/part-1")}, merged));
  ExpectBundle(merged, {{"a", Tensor::Scalar<float>(1)}, {"b", Tensor::Scalar<float>(2)}});
}

TEST_P(MergeTest, MergingIntoAnInputOrListingOneTwiceIsRejected) {
  const Tensors t0 = {{"a", Tensor::Scalar<float>(1)}}, t1 = {{"b", Tensor::Scalar<float>(2)}};
  Write(P("m"), t0);
  Write(P("n"), t1);
  const std::vector<std::string> before = Tree();
  EXPECT_THAT(MergeBundles(env(), {P("m")}, P("m")),
              StatusIs(StatusCode::kInvalidArgument,
                       "MergeBundles: the merged prefix \"" + P("m") +
                           "\" is also one of the inputs; merge into a new prefix"));
  EXPECT_THAT(MergeBundles(env(), {P("n"), P("m")}, P("m")),
              StatusIs(StatusCode::kInvalidArgument, "is also one of the inputs"));
  EXPECT_THAT(MergeBundles(env(), {P("m"), P("n"), P("m")}, P("out")),
              StatusIs(StatusCode::kInvalidArgument,
                       "MergeBundles: input prefix \"" + P("m") + "\" is listed twice"));
  EXPECT_EQ(Tree(), before);
  ExpectBundle(P("m"), t0);
  ExpectBundle(P("n"), t1);
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, MergeTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const ::testing::TestParamInfo<EnvKind>& info) {
                           return EnvKindName(info.param);
                         });

}  // namespace
}  // namespace ckpt
