// Tests for checkpoint/resolve.h's path resolution: FindCheckpoint (what a
// prefix names on disk) and ResolveCheckpointPath (a user's path to the
// checkpoint to open), on both the in-memory and the POSIX Env.
#include "checkpoint/resolve.h"

#include <string>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvKindName;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::testing::HasSubstr;
using Format = CheckpointReader::Format;

class ResolveTest : public ::ckpt::testing::EnvParamTest {
 protected:
  void WriteV2(const std::string& prefix) {
    BundleWriterOptions wo;
    wo.env = env_;
    CKPT_ASSERT_OK_AND_ASSIGN(auto writer, BundleWriter::Create(prefix, wo));
    CKPT_ASSERT_OK(writer->Add("v", MakeTestTensor(DataType::kFloat, TensorShape({2}), 1)));
    CKPT_ASSERT_OK(writer->Finish());
  }

  void Touch(const std::string& path) { CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, path, "x")); }
};

TEST_P(ResolveTest, FindCheckpointV2) {
  WriteV2(Path("model.ckpt-1"));
  auto found = FindCheckpoint(env_, Path("model.ckpt-1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->format, Format::kV2);
  EXPECT_EQ(found->first_file, Path("model.ckpt-1.index"));
  EXPECT_TRUE(CheckpointExists(env_, Path("model.ckpt-1")));
  // A prefix of another checkpoint's prefix is not that checkpoint.
  EXPECT_FALSE(FindCheckpoint(env_, Path("model.ckpt-")).has_value());
  EXPECT_FALSE(FindCheckpoint(env_, Path("model.ckpt-10")).has_value());
}

TEST_P(ResolveTest, FindCheckpointV1FileAndGlob) {
  Touch(Path("model-00001-of-00002"));
  Touch(Path("model-00000-of-00002"));
  auto file = FindCheckpoint(env_, Path("model-00001-of-00002"));
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(file->format, Format::kV1);
  EXPECT_EQ(file->first_file, Path("model-00001-of-00002"));
  auto glob = FindCheckpoint(env_, Path("model-?????" "-of-00002"));
  ASSERT_TRUE(glob.has_value());
  EXPECT_EQ(glob->format, Format::kV1);
  EXPECT_EQ(glob->first_file, Path("model-00000-of-00002"));  // the first in name order
  EXPECT_FALSE(FindCheckpoint(env_, Path("model-?????" "-of-00003")).has_value());
  EXPECT_FALSE(CheckpointExists(env_, Path("model-?????" "-of-00003")));
}

TEST_P(ResolveTest, FindCheckpointDirectoryIsNoV1File) {
  CKPT_ASSERT_OK(env_->CreateDirs(Path("sub")));
  EXPECT_FALSE(FindCheckpoint(env_, Path("sub")).has_value());
  EXPECT_FALSE(FindCheckpoint(env_, Path("missing")).has_value());
}

TEST_P(ResolveTest, ResolveCheckpointPathOfAPrefix) {
  WriteV2(Path("model.ckpt-1"));
  CKPT_ASSERT_OK_AND_ASSIGN(ResolvedCheckpoint r,
                            ResolveCheckpointPath(env_, Path("model.ckpt-1")));
  EXPECT_EQ(r.prefix, Path("model.ckpt-1"));
  EXPECT_EQ(r.format, Format::kV2);
  EXPECT_EQ(r.hint, "");
}

TEST_P(ResolveTest, ResolveCheckpointPathOfADirectory) {
  const std::string sub = Path("train");
  CKPT_ASSERT_OK(env_->CreateDirs(sub));
  WriteV2(JoinPath(sub, "model.ckpt-1"));
  WriteV2(JoinPath(sub, "model.ckpt-2"));
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, sub, JoinPath(sub, "model.ckpt-2"),
                                       {JoinPath(sub, "model.ckpt-1")}));
  CKPT_ASSERT_OK_AND_ASSIGN(ResolvedCheckpoint r, ResolveCheckpointPath(env_, sub + "//"));
  EXPECT_EQ(r.prefix, JoinPath(sub, "model.ckpt-2"));
  EXPECT_EQ(r.format, Format::kV2);
}

TEST_P(ResolveTest, ResolveCheckpointPathOfAnEmptyDirectory) {
  const std::string sub = Path("empty");
  CKPT_ASSERT_OK(env_->CreateDirs(sub));
  EXPECT_THAT(ResolveCheckpointPath(env_, sub),
              StatusIs(StatusCode::kNotFound, "No checkpoint found in directory " + sub));
}

TEST_P(ResolveTest, ResolveCheckpointPathOfAFileOfACheckpointHints) {
  WriteV2(Path("model.ckpt-1"));
  // The index itself is a file, so it is taken for a V1 checkpoint, with a hint.
  CKPT_ASSERT_OK_AND_ASSIGN(ResolvedCheckpoint r,
                            ResolveCheckpointPath(env_, Path("model.ckpt-1.index")));
  EXPECT_EQ(r.format, Format::kV1);
  EXPECT_THAT(r.hint, HasSubstr("without the .index... extension"));
  EXPECT_THAT(ResolveCheckpointPath(env_, Path("model.ckpt-7.meta")),
              StatusIs(StatusCode::kNotFound,
                       "Failed to find any matching files for " + Path("model.ckpt-7.meta") +
                           " (pass the checkpoint prefix, without the .meta... extension)"));
}

INSTANTIATE_TEST_SUITE_P(Envs, ResolveTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return EnvKindName(info.param); });

}  // namespace
}  // namespace ckpt
