// Tests of VerifyCheckpoint, NewestVerifiedCheckpoint and
// SurveyCheckpointDirectory, over both Envs.
#include "ckpt/verify.h"

#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/logging.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::ckpt::testing::WriteStringToFile;
using ::testing::HasSubstr;

class VerifyTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override { t_ = MakeTestEnv(GetParam()); }
  Env* env() { return t_.env; }
  std::string Path(const std::string& name) { return JoinPath(t_.root, name); }

  // A bundle with a float, a string and a partitioned tensor.
  void Write(const std::string& prefix, uint32_t seed) {
    BundleWriterOptions o;
    o.env = env();
    auto w = BundleWriter::Create(prefix, o);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    CKPT_ASSERT_OK((*w)->Add("a", MakeTestTensor(DataType::kFloat, TensorShape({16}), seed)));
    CKPT_ASSERT_OK((*w)->Add("s", MakeTestTensor(DataType::kString, TensorShape({3}), seed)));
    TensorShape full({4, 2});
    for (int64_t start : {0, 2}) {
      TensorSlice slice = TensorSlice::Full(2);
      auto parsed = TensorSlice::Parse(std::to_string(start) + ",2:-");
      ASSERT_TRUE(parsed.ok());
      slice = *parsed;
      CKPT_ASSERT_OK((*w)->AddSlice("p", full, slice,
                                    MakeTestTensor(DataType::kInt32, TensorShape({2, 2}), seed)));
    }
    CKPT_ASSERT_OK((*w)->Finish());
  }

  void FlipByte(const std::string& path, uint64_t offset) {
    auto data = ReadFileToString(env(), path);
    ASSERT_TRUE(data.ok());
    std::string d = *data;
    ASSERT_LT(offset, d.size());
    d[offset] ^= 0x40;
    CKPT_ASSERT_OK(WriteStringToFile(env(), path, d));
  }

  TestEnv t_;
};

TEST_P(VerifyTest, WholeCheckpointVerifies) {
  Write(Path("ckpt-1"), 1);
  CKPT_EXPECT_OK(VerifyCheckpoint(env(), Path("ckpt-1")));
}

TEST_P(VerifyTest, FlippedDataByteIsDataLossNamingTensor) {
  Write(Path("ckpt-1"), 1);
  FlipByte(DataFilename(Path("ckpt-1"), 0, 1), 3);  // inside "a"
  EXPECT_THAT(VerifyCheckpoint(env(), Path("ckpt-1")),
              StatusIs(StatusCode::kDataLoss, "Tensor \"a\""));
}

TEST_P(VerifyTest, FlippedSliceByteIsDataLoss) {
  Write(Path("ckpt-1"), 1);
  const std::string data = DataFilename(Path("ckpt-1"), 0, 1);
  auto size = env()->GetFileSize(data);
  ASSERT_TRUE(size.ok());
  FlipByte(data, *size - 1);  // the last slice of "p"
  EXPECT_THAT(VerifyCheckpoint(env(), Path("ckpt-1")),
              StatusIs(StatusCode::kDataLoss, "Checksum does not match"));
}

TEST_P(VerifyTest, TruncatedDataIsDataLoss) {
  Write(Path("ckpt-1"), 1);
  const std::string data = DataFilename(Path("ckpt-1"), 0, 1);
  auto bytes = ReadFileToString(env(), data);
  ASSERT_TRUE(bytes.ok());
  CKPT_ASSERT_OK(WriteStringToFile(env(), data, bytes->substr(0, bytes->size() / 2)));
  EXPECT_THAT(VerifyCheckpoint(env(), Path("ckpt-1")),
              StatusIs(StatusCode::kDataLoss, "truncated"));
}

TEST_P(VerifyTest, MissingDataFileIsNotFoundNamingIt) {
  Write(Path("ckpt-1"), 1);
  CKPT_ASSERT_OK(env()->DeleteFile(DataFilename(Path("ckpt-1"), 0, 1)));
  EXPECT_THAT(VerifyCheckpoint(env(), Path("ckpt-1")),
              StatusIs(StatusCode::kNotFound, DataFilename(Path("ckpt-1"), 0, 1)));
}

TEST_P(VerifyTest, CorruptIndexIsDataLoss) {
  Write(Path("ckpt-1"), 1);
  FlipByte(MetaFilename(Path("ckpt-1")), 2);
  EXPECT_THAT(VerifyCheckpoint(env(), Path("ckpt-1")), StatusIs(StatusCode::kDataLoss, ""));
}

TEST_P(VerifyTest, NoCheckpointIsNotFound) {
  EXPECT_THAT(VerifyCheckpoint(env(), Path("nope")),
              StatusIs(StatusCode::kNotFound, Path("nope")));
}

TEST_P(VerifyTest, NewestVerifiedSkipsCorruptAndMissingWithWarnings) {
  for (int s = 1; s <= 3; ++s) Write(Path("ckpt-" + std::to_string(s)), s);
  Write(Path("ckpt-5"), 5);
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), t_.root, Path("ckpt-4"),
                                       {Path("ckpt-1"), Path("ckpt-2"), Path("ckpt-3"),
                                        Path("ckpt-5")}));
  // ckpt-4 (model_checkpoint_path) does not exist; ckpt-5 and ckpt-3 are corrupt.
  FlipByte(DataFilename(Path("ckpt-5"), 0, 1), 0);
  FlipByte(DataFilename(Path("ckpt-3"), 0, 1), 0);
  std::vector<std::string> warnings;
  LogSink old = SetLogSink([&](LogSeverity sev, std::string_view m) {
    if (sev == LogSeverity::kWarning) warnings.emplace_back(m);
  });
  auto newest = NewestVerifiedCheckpoint(env(), t_.root);
  SetLogSink(old);
  ASSERT_TRUE(newest.ok()) << newest.status().ToString();
  EXPECT_EQ(*newest, Path("ckpt-2"));
  // One warning naming each checkpoint skipped, newest first, and why.
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("Using " + Path("ckpt-2") + ", the newest checkpoint"));
  const size_t at4 = warnings[0].find(Path("ckpt-4") + ": NOT_FOUND");
  const size_t at5 = warnings[0].find(Path("ckpt-5") + ": DATA_LOSS");
  const size_t at3 = warnings[0].find(Path("ckpt-3") + ": DATA_LOSS");
  ASSERT_NE(at4, std::string::npos) << warnings[0];
  ASSERT_NE(at5, std::string::npos) << warnings[0];
  ASSERT_NE(at3, std::string::npos) << warnings[0];
  EXPECT_LT(at4, at5);
  EXPECT_LT(at5, at3);
}

TEST_P(VerifyTest, NewestVerifiedFailsWhenNothingVerifies) {
  Write(Path("ckpt-1"), 1);
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), t_.root, Path("ckpt-1"), {}));
  FlipByte(DataFilename(Path("ckpt-1"), 0, 1), 0);
  LogSink old = SetLogSink(nullptr);
  auto newest = NewestVerifiedCheckpoint(env(), t_.root);
  SetLogSink(old);
  EXPECT_THAT(newest, StatusIs(StatusCode::kNotFound, "None of the 1 checkpoints"));
  EXPECT_THAT(NewestVerifiedCheckpoint(env(), Path("empty")),
              StatusIs(StatusCode::kNotFound, "No checkpoint state file"));
}

TEST_P(VerifyTest, SurveyReportsListedUnlistedMissingCorruptAndLeftovers) {
  for (int s : {1, 2, 3}) Write(Path("ckpt-" + std::to_string(s)), s);
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), t_.root, Path("ckpt-3"),
                                       {Path("ckpt-2"), Path("ckpt-4")}));
  FlipByte(DataFilename(Path("ckpt-2"), 0, 1), 0);
  const std::string leftover = Path("ckpt-5.index.ckpt-tmp." +
                                    std::to_string(testing::DeadProcessId()) + ".0123456789abcdef");
  CKPT_ASSERT_OK(WriteStringToFile(env(), leftover, "x"));
  // Another program's temporary file is not ckpt's leftover.
  CKPT_ASSERT_OK(WriteStringToFile(env(), Path("ckpt-5.index.tempstate123"), "x"));
  CKPT_ASSERT_OK(WriteStringToFile(env(), DataFilename(Path("ckpt-6"), 0, 1), "x"));

  auto report = SurveyCheckpointDirectory(env(), t_.root);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  CKPT_EXPECT_OK(report->state_status);
  ASSERT_EQ(report->checkpoints.size(), 4u);
  const auto& c = report->checkpoints;
  EXPECT_EQ(c[0].prefix, Path("ckpt-2"));
  EXPECT_TRUE(c[0].committed);
  EXPECT_EQ(c[0].status.code(), StatusCode::kDataLoss);
  EXPECT_EQ(c[1].prefix, Path("ckpt-4"));
  EXPECT_FALSE(c[1].committed);
  EXPECT_EQ(c[1].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(c[2].prefix, Path("ckpt-3"));
  EXPECT_TRUE(c[2].newest);
  EXPECT_TRUE(c[2].in_state_file);
  CKPT_EXPECT_OK(c[2].status);
  EXPECT_EQ(c[2].step, 3);
  EXPECT_EQ(c[2].files.size(), 2u);
  EXPECT_GT(c[2].total_size(), 0u);
  EXPECT_EQ(c[3].prefix, Path("ckpt-1"));
  EXPECT_FALSE(c[3].in_state_file);
  CKPT_EXPECT_OK(c[3].status);
  EXPECT_THAT(report->leftovers,
              ::testing::UnorderedElementsAre(leftover, DataFilename(Path("ckpt-6"), 0, 1)));
  EXPECT_FALSE(report->ok());

  // Without verification the corrupt checkpoint is not noticed.
  SurveyOptions quick;
  quick.verify = false;
  auto listing = SurveyCheckpointDirectory(env(), t_.root, quick);
  ASSERT_TRUE(listing.ok());
  CKPT_EXPECT_OK(listing->checkpoints[0].status);
}

// Each checkpoint's files are found in the sorted listing by its prefix
// range: "ckpt-1" gets its own files only, not those of ckpt-10..ckpt-12
// that share its prefix, nor its leftovers or other programs' files.
TEST_P(VerifyTest, SurveyFindsEachCheckpointsOwnFilesAmongPrefixSharingNames) {
  for (int s = 1; s <= 12; ++s) Write(Path("ckpt-" + std::to_string(s)), s);
  CKPT_ASSERT_OK(WriteStringToFile(env(), Path("ckpt-1.meta"), "graph"));
  CKPT_ASSERT_OK(WriteStringToFile(env(), Path("ckpt-1.txt"), "not a checkpoint file"));
  CKPT_ASSERT_OK(WriteStringToFile(env(), Path("ckpt-0"), "x"));
  SurveyOptions quick;
  quick.verify = false;
  auto report = SurveyCheckpointDirectory(env(), t_.root, quick);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->checkpoints.size(), 12u);
  for (const CheckpointSummary& c : report->checkpoints) {
    SCOPED_TRACE(c.prefix);
    std::vector<std::string> want = {DataFilename(c.prefix, 0, 1), MetaFilename(c.prefix)};
    if (c.prefix == Path("ckpt-1")) want.push_back(Path("ckpt-1.meta"));
    std::sort(want.begin(), want.end());
    std::vector<std::string> got;
    for (const CheckpointFile& f : c.files) got.push_back(f.path);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
    EXPECT_TRUE(c.committed);
  }
}

TEST_P(VerifyTest, SurveyOfHealthyDirectoryIsOk) {
  for (int s : {1, 2}) Write(Path("ckpt-" + std::to_string(s)), s);
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), t_.root, Path("ckpt-2"), {Path("ckpt-1")}));
  auto report = SurveyCheckpointDirectory(env(), t_.root);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->checkpoints.size(), 2u);
  EXPECT_THAT(SurveyCheckpointDirectory(env(), Path("missing")),
              StatusIs(StatusCode::kNotFound, Path("missing")));
}

TEST_P(VerifyTest, SurveyReportsProgressByBytesOfCommittedCheckpoints) {
  for (int s : {1, 2, 3}) Write(Path("ckpt-" + std::to_string(s)), s);
  CKPT_ASSERT_OK(UpdateCheckpointState(env(), t_.root, Path("ckpt-3"),
                                       {Path("ckpt-1"), Path("ckpt-2"), Path("ckpt-9")}));
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  SurveyOptions options;
  options.on_progress = [&calls](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  auto report = SurveyCheckpointDirectory(env(), t_.root, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  uint64_t committed_bytes = 0;
  for (const CheckpointSummary& c : report->checkpoints) {
    if (c.committed) committed_bytes += c.total_size();
  }
  // One call per committed checkpoint (ckpt-9 is missing), growing to the total.
  ASSERT_EQ(calls.size(), 3u);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, committed_bytes);
    if (i > 0) EXPECT_GT(calls[i].first, calls[i - 1].first);
  }
  EXPECT_EQ(calls.back().first, committed_bytes);
  // Without verification nothing is read and nothing reported.
  calls.clear();
  options.verify = false;
  ASSERT_TRUE(SurveyCheckpointDirectory(env(), t_.root, options).ok());
  EXPECT_TRUE(calls.empty());
}

INSTANTIATE_TEST_SUITE_P(BothEnvs, VerifyTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const ::testing::TestParamInfo<EnvKind>& info) {
                           return ckpt::testing::EnvKindName(info.param);
                         });

}  // namespace
}  // namespace ckpt
