// Failing IO at every step of a save, and crashes (MemEnv::DropUnsyncedData):
// an error never publishes a bundle, never leaves temporary files, never
// harms another bundle; a finished save survives a crash.
#include "ckpt/bundle.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;

constexpr char kDir[] = "/f";
constexpr char kGood[] = "/f/good";
constexpr char kNew[] = "/f/new";

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CKPT_ASSERT_OK(mem_->CreateDirs(kDir));
    good_ = {{"g1", MakeTestTensor(DataType::kFloat, TensorShape({64}), 1)},
             {"g2", MakeTestTensor(DataType::kString, TensorShape({5}), 2)}};
    // Large enough to need several appends and table blocks.
    tensors_ = {{"a", MakeTestTensor(DataType::kDouble, TensorShape({100, 10}), 3)},
                {"b", MakeTestTensor(DataType::kString, TensorShape({7}), 4)},
                {"c", MakeTestTensor(DataType::kInt8, TensorShape(), 5)}};
    CKPT_ASSERT_OK(Save(mem_.get(), kGood, good_));
    mem_->DropUnsyncedData();  // it was published durably
    ExpectReadable(kGood, good_);
  }

  static Status Save(Env* env, const std::string& prefix,
                     const std::vector<std::pair<std::string, Tensor>>& tensors, bool sync = true) {
    BundleWriterOptions o;
    o.env = env;
    o.sync = sync;
    CKPT_ASSIGN_OR_RETURN(auto w, BundleWriter::Create(prefix, o));
    for (const auto& [k, t] : tensors) CKPT_RETURN_IF_ERROR(w->Add(k, t));
    return w->Finish();
  }

  void ExpectReadable(const std::string& prefix,
                      const std::vector<std::pair<std::string, Tensor>>& tensors) {
    BundleReaderOptions o;
    o.env = mem_.get();
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(prefix, o));
    ASSERT_EQ(r->entries().size(), tensors.size());
    for (const auto& [k, t] : tensors) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(k));
      EXPECT_TRUE(got.Equals(t)) << prefix << " " << k;
    }
  }

  void ExpectAbsent(const std::string& prefix) {
    BundleReaderOptions o;
    o.env = mem_.get();
    EXPECT_THAT(BundleReader::Open(prefix, o), StatusIs(StatusCode::kNotFound, ""));
  }

  std::vector<std::string> GoodFiles() {
    return {"good.data-00000-of-00001", "good.index"};
  }

  std::unique_ptr<MemEnv> mem_ = NewMemEnv();
  std::vector<std::pair<std::string, Tensor>> good_, tensors_;
};

TEST_F(FaultTest, CountsOperations) {
  FaultInjectionEnv fenv(mem_.get());
  CKPT_ASSERT_OK(Save(&fenv, kNew, tensors_));
  // create + appends + sync + rename (data), create + appends + sync +
  // rename (index), sync dir.
  EXPECT_GE(fenv.operations(), 9);
  ExpectReadable(kNew, tensors_);
}

TEST_F(FaultTest, FailureAtEveryOperation) {
  int total;
  {
    FaultInjectionEnv probe(mem_.get());
    CKPT_ASSERT_OK(Save(&probe, "/f/probe", tensors_));
    total = probe.operations();
  }
  for (int k = 0; k < total; ++k) {
    SCOPED_TRACE("failing operation " + std::to_string(k) + " of " + std::to_string(total));
    FaultInjectionEnv fenv(mem_.get());
    fenv.FailAfter(k);
    Status s = Save(&fenv, kNew, tensors_);
    EXPECT_THAT(s, StatusIs(StatusCode::kIoError, "injected fault"));
    // Not published, no leftovers, the other bundles intact.
    EXPECT_FALSE(mem_->FileExists(MetaFilename(kNew)));
    std::vector<std::string> files = ListDir(mem_.get(), kDir);
    std::vector<std::string> want = {"good.data-00000-of-00001", "good.index", "probe.data-00000-of-00001", "probe.index"};
    EXPECT_EQ(files, want);
    ExpectAbsent(kNew);
    ExpectReadable(kGood, good_);
    ExpectReadable("/f/probe", tensors_);
    // After the crash that may follow, still no new bundle and the old ones
    // intact.
    mem_->DropUnsyncedData();
    ExpectAbsent(kNew);
    ExpectReadable(kGood, good_);
    ExpectReadable("/f/probe", tensors_);
    if (HasFatalFailure()) return;
  }
  // With no fault the same save succeeds.
  FaultInjectionEnv fenv(mem_.get());
  CKPT_ASSERT_OK(Save(&fenv, kNew, tensors_));
  EXPECT_EQ(fenv.operations(), total);
  ExpectReadable(kNew, tensors_);
}

TEST_F(FaultTest, FinishedBundleSurvivesACrash) {
  CKPT_ASSERT_OK(Save(mem_.get(), kNew, tensors_));
  mem_->DropUnsyncedData();
  ExpectReadable(kNew, tensors_);
  ExpectReadable(kGood, good_);
  EXPECT_THAT(ListDir(mem_.get(), kDir),
              ElementsAre("good.data-00000-of-00001", "good.index", "new.data-00000-of-00001",
                          "new.index"));
}

TEST_F(FaultTest, CrashBeforeFinishLeavesNoBundle) {
  BundleWriterOptions o;
  o.env = mem_.get();
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(kNew, o));
  for (const auto& [k, t] : tensors_) CKPT_ASSERT_OK(w->Add(k, t));
  mem_->DropUnsyncedData();  // crash: the writer never finishes
  ExpectAbsent(kNew);
  ExpectReadable(kGood, good_);
  EXPECT_EQ(ListDir(mem_.get(), kDir), GoodFiles());
  w.reset();
  EXPECT_EQ(ListDir(mem_.get(), kDir), GoodFiles());
}

TEST_F(FaultTest, CrashAtEveryOperationLeavesOldOrNewBundle) {
  // "Crash" right after operation k: the operations after it fail, then the
  // unsynced state is dropped. Overwrites an existing bundle at the prefix.
  int total;
  {
    FaultInjectionEnv probe(mem_.get());
    CKPT_ASSERT_OK(Save(&probe, kNew, good_));
    total = probe.operations();
  }
  mem_->DropUnsyncedData();
  ExpectReadable(kNew, good_);
  for (int k = 0; k <= total; ++k) {
    SCOPED_TRACE("crash after operation " + std::to_string(k));
    FaultInjectionEnv fenv(mem_.get());
    fenv.FailAfter(k);
    Status s = Save(&fenv, kNew, tensors_);
    mem_->DropUnsyncedData();
    // The bundle at the prefix is wholly old or (only once Finish succeeded)
    // wholly new: never a mixture, never unreadable.
    BundleReaderOptions ro;
    ro.env = mem_.get();
    CKPT_ASSERT_OK_AND_ASSIGN(auto r, BundleReader::Open(kNew, ro));
    const auto& want = s.ok() ? tensors_ : good_;
    ASSERT_EQ(r->entries().size(), want.size()) << s;
    for (const auto& [key, t] : want) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, r->Read(key));
      EXPECT_TRUE(got.Equals(t)) << key;
    }
    if (s.ok()) {
      // Restore the old contents for the next round.
      CKPT_ASSERT_OK(Save(mem_.get(), kNew, good_));
    }
  }
}

TEST_F(FaultTest, UnsyncedSaveDoesNotSurviveACrash) {
  // sync = false: Finish succeeds, but nothing was made durable.
  CKPT_ASSERT_OK(Save(mem_.get(), kNew, tensors_, /*sync=*/false));
  ExpectReadable(kNew, tensors_);
  mem_->DropUnsyncedData();
  ExpectAbsent(kNew);
  ExpectReadable(kGood, good_);
}

TEST_F(FaultTest, FailedMergeLeavesNoIndex) {
  for (const char* p : {"/f/s0/part", "/f/s1/part"}) {
    CKPT_ASSERT_OK(Save(mem_.get(), p, {{std::string(p).substr(3, 2), Tensor::Scalar<float>(1)}}));
  }
  FaultInjectionEnv fenv(mem_.get());
  fenv.FailAfter(0);
  EXPECT_THAT(MergeBundles(&fenv, {"/f/s0/part", "/f/s1/part"}, "/f/merged"),
              StatusIs(StatusCode::kIoError, "injected fault"));
  EXPECT_FALSE(mem_->FileExists(MetaFilename("/f/merged")));
  ExpectReadable(kGood, good_);
  // Nothing had moved: both sources are whole (merge_test fails every later
  // step too).
  ExpectReadable("/f/s0/part", {{"s0", Tensor::Scalar<float>(1)}});
  ExpectReadable("/f/s1/part", {{"s1", Tensor::Scalar<float>(1)}});
}

}  // namespace
}  // namespace ckpt
