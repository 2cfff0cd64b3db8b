// Tests for the `checkpoint` state file API (ckpt/checkpoint_state.h):
// TensorFlow's path rules, round trips over both Envs, errors, and
// LatestCheckpoint's resolution of moved directories.
#include "ckpt/checkpoint_state.h"

#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/logging.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::ckpt::testing::WriteStringToFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

UpdateCheckpointStateOptions Relative(bool relative) {
  UpdateCheckpointStateOptions options;
  options.save_relative_paths = relative;
  return options;
}

// Makes `prefix` a V2 checkpoint (an .index file is all the existence checks
// look at).
Status Touch(Env* env, const std::string& path) {
  return testing::WriteStringToFile(env, path, "x");
}

class CheckpointStateTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    test_env_ = testing::MakeTestEnv(GetParam());
    env_ = test_env_.env;
    dir_ = JoinPath(test_env_.root, "train");
    ASSERT_TRUE(env_->CreateDirs(dir_).ok());
  }
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }
  std::string StateText() {
    auto r = ReadFileToString(env_, Path("checkpoint"));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : "";
  }

  TestEnv test_env_;
  Env* env_ = nullptr;
  std::string dir_;
};

TEST_P(CheckpointStateTest, RoundTripsEveryField) {
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("ckpt-3"),
                                       {Path("ckpt-1"), Path("ckpt-2"), Path("ckpt-3")},
                                       {1.5, 2.25, 1700000000.125}, 0.75));
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState state, GetCheckpointState(env_, dir_));
  EXPECT_EQ(state.model_checkpoint_path, Path("ckpt-3"));
  EXPECT_THAT(state.all_model_checkpoint_paths,
              ElementsAre(Path("ckpt-1"), Path("ckpt-2"), Path("ckpt-3")));
  EXPECT_THAT(state.all_model_checkpoint_timestamps, ElementsAre(1.5, 2.25, 1700000000.125));
  EXPECT_EQ(state.last_preserved_timestamp, 0.75);
}

TEST_P(CheckpointStateTest, WritesTensorFlowsTextFormat) {
  // A TF1 Saver's file: absolute paths, no timestamps, every line ends in \n.
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, "/tmp/m/model-2", {"/tmp/m/model-1"}));
  EXPECT_EQ(StateText(),
            "model_checkpoint_path: \"/tmp/m/model-2\"\n"
            "all_model_checkpoint_paths: \"/tmp/m/model-1\"\n"
            "all_model_checkpoint_paths: \"/tmp/m/model-2\"\n");
}

TEST_P(CheckpointStateTest, LogsWhenTheNewestPathIsAddedToTheList) {
  // TF's generate_checkpoint_state_proto logs this (e.g. on every save with
  // max_to_keep=0, whose list is empty), and only then.
  std::vector<std::string> lines;
  LogSink previous = SetLogSink([&](LogSeverity, std::string_view m) { lines.emplace_back(m); });
  Status added = UpdateCheckpointState(env_, dir_, Path("ckpt-2"), {});
  Status listed = UpdateCheckpointState(env_, dir_, Path("ckpt-3"), {Path("ckpt-2"), Path("ckpt-3")});
  SetLogSink(previous);
  CKPT_ASSERT_OK(added);
  CKPT_ASSERT_OK(listed);
  EXPECT_THAT(lines, ElementsAre(Path("ckpt-2") +
                                 " is not in all_model_checkpoint_paths. Manually adding it."));
}

TEST_P(CheckpointStateTest, EscapesAndRoundTripsUnusualPaths) {
  const std::string odd = Path("we\"ird\\na\nme-\xff\x01");
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, odd, {}));
  EXPECT_THAT(StateText(), HasSubstr("we\\\"ird\\\\na\\nme-\\377\\001"));
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState state, GetCheckpointState(env_, dir_));
  EXPECT_EQ(state.model_checkpoint_path, odd);
}

TEST_P(CheckpointStateTest, AppendsTheModelPathIfNotLast) {
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("b"), {Path("b"), Path("a")}));
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState state, GetCheckpointState(env_, dir_));
  EXPECT_THAT(state.all_model_checkpoint_paths, ElementsAre(Path("b"), Path("a"), Path("b")));
  // Already last: not repeated. Empty list: just the model path.
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("a"), {Path("b"), Path("a")}));
  CKPT_ASSERT_OK_AND_ASSIGN(state, GetCheckpointState(env_, dir_));
  EXPECT_THAT(state.all_model_checkpoint_paths, ElementsAre(Path("b"), Path("a")));
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("c"), {}));
  CKPT_ASSERT_OK_AND_ASSIGN(state, GetCheckpointState(env_, dir_));
  EXPECT_THAT(state.all_model_checkpoint_paths, ElementsAre(Path("c")));
  EXPECT_THAT(state.all_model_checkpoint_timestamps, IsEmpty());
  EXPECT_EQ(state.last_preserved_timestamp, std::nullopt);
}

TEST_P(CheckpointStateTest, TimestampsMustMatchPathsInNumber) {
  // Counted after the model path is appended: 2 timestamps for 2 paths is OK.
  CKPT_EXPECT_OK(UpdateCheckpointState(env_, dir_, Path("b"), {Path("a")}, {1, 2}));
  EXPECT_THAT(UpdateCheckpointState(env_, dir_, Path("b"), {Path("a"), Path("b")}, {1}),
              StatusIs(StatusCode::kInvalidArgument,
                       "Checkpoint timestamps, if provided, must match checkpoint paths"));
  EXPECT_THAT(UpdateCheckpointState(env_, dir_, Path("b"), {Path("a")}, {1}),
              StatusIs(StatusCode::kInvalidArgument, "1 timestamps for 2 paths"));
}

TEST_P(CheckpointStateTest, SaveRelativePathsStoresPathsRelativeToTheDirectory) {
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("ckpt-2"),
                                       {Path("ckpt-1"), "/elsewhere/ckpt-0", "kept-as-is"},
                                       {}, std::nullopt, Relative(true)));
  const std::string up = RelativePath("/elsewhere/ckpt-0", dir_);
  EXPECT_EQ(up.substr(0, 3), "../");
  EXPECT_EQ(StateText(),
            "model_checkpoint_path: \"ckpt-2\"\n"
            "all_model_checkpoint_paths: \"ckpt-1\"\n"
            "all_model_checkpoint_paths: \"" + up + "\"\n"
            "all_model_checkpoint_paths: \"kept-as-is\"\n"
            "all_model_checkpoint_paths: \"ckpt-2\"\n");
  // Reading joins relative paths onto the directory.
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState state, GetCheckpointState(env_, dir_));
  EXPECT_EQ(state.model_checkpoint_path, Path("ckpt-2"));
  EXPECT_EQ(state.all_model_checkpoint_paths[1], JoinPath(dir_, up));
  EXPECT_EQ(state.all_model_checkpoint_paths[2], Path("kept-as-is"));
}

TEST_P(CheckpointStateTest, AbsolutePathsStayAbsoluteByDefault) {
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("ckpt-1"), {}));
  EXPECT_THAT(StateText(), HasSubstr("model_checkpoint_path: \"" + Path("ckpt-1") + "\"\n"));
}

TEST_P(CheckpointStateTest, CustomLatestFilename) {
  UpdateCheckpointStateOptions options;
  options.latest_filename = "my_state";
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("ckpt-1"), {}, {}, std::nullopt, options));
  EXPECT_TRUE(env_->FileExists(Path("my_state")));
  EXPECT_FALSE(env_->FileExists(Path("checkpoint")));
  EXPECT_THAT(GetCheckpointState(env_, dir_), StatusIs(StatusCode::kNotFound, "checkpoint"));
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState state, GetCheckpointState(env_, dir_, "my_state"));
  EXPECT_EQ(state.model_checkpoint_path, Path("ckpt-1"));
}

TEST_P(CheckpointStateTest, LatestFilenameWithPathComponentsIsRejected) {
  UpdateCheckpointStateOptions options;
  options.latest_filename = "sub/checkpoint";
  EXPECT_THAT(UpdateCheckpointState(env_, dir_, Path("ckpt-1"), {}, {}, std::nullopt, options),
              StatusIs(StatusCode::kInvalidArgument,
                       "'latest_filename' must not contain path components: \"sub/checkpoint\""));
  options.latest_filename = "";
  EXPECT_THAT(UpdateCheckpointState(env_, dir_, Path("ckpt-1"), {}, {}, std::nullopt, options),
              StatusIs(StatusCode::kInvalidArgument, "latest_filename"));
  EXPECT_FALSE(env_->FileExists(Path("sub")));
}

TEST_P(CheckpointStateTest, ModelPathThatIsTheStateFileIsRejected) {
  EXPECT_THAT(UpdateCheckpointState(env_, dir_, Path("checkpoint"), {}),
              StatusIs(StatusCode::kInvalidArgument, "conflicts with path used for checkpoint state"));
  EXPECT_FALSE(env_->FileExists(Path("checkpoint")));
}

TEST_P(CheckpointStateTest, MissingStateFileIsNotFound) {
  EXPECT_THAT(GetCheckpointState(env_, dir_), StatusIs(StatusCode::kNotFound, Path("checkpoint")));
  EXPECT_THAT(LatestCheckpoint(env_, dir_), StatusIs(StatusCode::kNotFound, Path("checkpoint")));
  EXPECT_THAT(GetCheckpointState(env_, Path("no_such_dir")), StatusIs(StatusCode::kNotFound, ""));
}

TEST_P(CheckpointStateTest, MalformedStateFileIsDataLoss) {
  const std::vector<std::string> bad = {
      "model_checkpoint_path: \"unterminated\n",
      "no_such_field: 1\n",
      "model_checkpoint_path: 12\n",
      "all_model_checkpoint_timestamps: \"x\"\n",
      std::string("\x0a\x05hello", 7),  // binary proto, not text
  };
  for (const std::string& text : bad) {
    CKPT_ASSERT_OK(WriteStringToFile(env_, Path("checkpoint"), text));
    EXPECT_THAT(GetCheckpointState(env_, dir_),
                StatusIs(StatusCode::kDataLoss, "is not a valid text-format CheckpointState"))
        << text;
    EXPECT_THAT(LatestCheckpoint(env_, dir_), StatusIs(StatusCode::kDataLoss, Path("checkpoint")));
  }
  // Parses, but names no checkpoint (TF: "Invalid checkpoint state loaded from").
  for (const std::string& text : {std::string(""), std::string("all_model_checkpoint_paths: \"a\"\n"),
                                  std::string("model_checkpoint_path: \"\"\n")}) {
    CKPT_ASSERT_OK(WriteStringToFile(env_, Path("checkpoint"), text));
    EXPECT_THAT(GetCheckpointState(env_, dir_),
                StatusIs(StatusCode::kDataLoss, "Invalid checkpoint state loaded from " + dir_))
        << text;
  }
}

TEST_P(CheckpointStateTest, LatestCheckpointRequiresTheFiles) {
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("ckpt-1"), {}, {}, std::nullopt,
                                       Relative(true)));
  EXPECT_THAT(LatestCheckpoint(env_, dir_),
              StatusIs(StatusCode::kNotFound, "Couldn't match files for checkpoint " + Path("ckpt-1")));
  CKPT_ASSERT_OK(Touch(env_, Path("ckpt-1.index")));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string latest, LatestCheckpoint(env_, dir_));
  EXPECT_EQ(latest, Path("ckpt-1"));
  // A data file alone is not a checkpoint.
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("ckpt-2"), {}));
  CKPT_ASSERT_OK(Touch(env_, Path("ckpt-2.data-00000-of-00001")));
  EXPECT_THAT(LatestCheckpoint(env_, dir_), StatusIs(StatusCode::kNotFound, "ckpt-2"));
}

TEST_P(CheckpointStateTest, LatestCheckpointAcceptsV1Files) {
  CKPT_ASSERT_OK(Touch(env_, Path("model.ckpt-7")));
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("model.ckpt-7"), {}));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string latest, LatestCheckpoint(env_, dir_));
  EXPECT_EQ(latest, Path("model.ckpt-7"));
  // Sharded V1: the recorded path is a glob.
  CKPT_ASSERT_OK(Touch(env_, Path("sharded-3-00001-of-00002")));
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, Path("sharded-3-?????" "-of-00002"), {}));
  CKPT_ASSERT_OK_AND_ASSIGN(latest, LatestCheckpoint(env_, dir_));
  EXPECT_EQ(latest, Path("sharded-3-?????" "-of-00002"));
  EXPECT_FALSE(CheckpointExists(env_, Path("sharded-4-?????" "-of-00002")));
  // A directory is not a V1 checkpoint.
  CKPT_ASSERT_OK(env_->CreateDirs(Path("adir")));
  EXPECT_FALSE(CheckpointExists(env_, Path("adir")));
  EXPECT_FALSE(CheckpointExists(env_, Path("nothing")));
}

TEST_P(CheckpointStateTest, LatestCheckpointResolvesAMovedDirectoryWithAWarning) {
  // Written where the directory used to be (absolute, as TF1 Savers do).
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, dir_, "/old/place/train/ckpt-4",
                                       {"/old/place/train/ckpt-3"}));
  CKPT_ASSERT_OK(Touch(env_, Path("ckpt-4.index")));
  std::vector<std::string> warnings;
  LogSink previous = SetLogSink([&](LogSeverity severity, std::string_view message) {
    if (severity == LogSeverity::kWarning) warnings.emplace_back(message);
  });
  auto latest = LatestCheckpoint(env_, dir_);
  SetLogSink(previous);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, Path("ckpt-4"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("/old/place/train/ckpt-4"));
  EXPECT_THAT(warnings[0], HasSubstr("moved"));
  // GetCheckpointState itself reports what the file says.
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState state, GetCheckpointState(env_, dir_));
  EXPECT_EQ(state.model_checkpoint_path, "/old/place/train/ckpt-4");
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, CheckpointStateTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

// Runs a test body with the process's working directory set to `dir`.
class ScopedCwd {
 public:
  explicit ScopedCwd(const std::string& dir) {
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof(buf)) != nullptr) old_ = buf;
    ok_ = chdir(dir.c_str()) == 0;
  }
  ~ScopedCwd() {
    if (!old_.empty()) chdir(old_.c_str());
  }
  bool ok() const { return ok_; }

 private:
  std::string old_;
  bool ok_ = false;
};

TEST(CheckpointStateRelativeDirTest, RelativeSaveDirStoresPathsRelativeToIt) {
  Env* env = Env::Posix();
  const std::string root = testing::TempDir();
  ScopedCwd cwd(root);
  ASSERT_TRUE(cwd.ok());
  CKPT_ASSERT_OK(env->CreateDirs("runs/a"));
  // TF: with a relative save_dir, relative paths are rewritten relative to it
  // (so "runs/a/ckpt-1" is stored as "ckpt-1").
  CKPT_ASSERT_OK(UpdateCheckpointState(env, "runs/a", "runs/a/ckpt-2", {"runs/a/ckpt-1"}));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string text, ReadFileToString(env, "runs/a/checkpoint"));
  EXPECT_EQ(text,
            "model_checkpoint_path: \"ckpt-2\"\n"
            "all_model_checkpoint_paths: \"ckpt-1\"\n"
            "all_model_checkpoint_paths: \"ckpt-2\"\n");
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState state, GetCheckpointState(env, "runs/a"));
  EXPECT_EQ(state.model_checkpoint_path, "runs/a/ckpt-2");
  // With save_relative_paths, an absolute path is made relative to the
  // save_dir ("ckpt-3") and then, being relative, rewritten relative to the
  // relative save_dir again: TF 2.21 stores "../../ckpt-3" (checked against
  // update_checkpoint_state_internal), a TF quirk we reproduce.
  CKPT_ASSERT_OK(UpdateCheckpointState(env, "runs/a", JoinPath(root, "runs/a/ckpt-3"), {}, {},
                                       std::nullopt, Relative(true)));
  CKPT_ASSERT_OK_AND_ASSIGN(text, ReadFileToString(env, "runs/a/checkpoint"));
  EXPECT_EQ(text,
            "model_checkpoint_path: \"../../ckpt-3\"\n"
            "all_model_checkpoint_paths: \"../../ckpt-3\"\n");
  // The empty directory means the working directory.
  CKPT_ASSERT_OK(UpdateCheckpointState(env, "", "ckpt-9", {}));
  CKPT_ASSERT_OK_AND_ASSIGN(state, GetCheckpointState(env, ""));
  EXPECT_EQ(state.model_checkpoint_path, "ckpt-9");
}

TEST(RelativePathTest, MatchesPythonsRelpath) {
  EXPECT_EQ(RelativePath("/a/b/c", "/a"), "b/c");
  EXPECT_EQ(RelativePath("/a/b/c", "/a/"), "b/c");
  EXPECT_EQ(RelativePath("/a", "/a/b"), "..");
  EXPECT_EQ(RelativePath("/a/b", "/a/b"), ".");
  EXPECT_EQ(RelativePath("/x/y", "/a/b"), "../../x/y");
  EXPECT_EQ(RelativePath("/", "/a"), "..");
  EXPECT_EQ(RelativePath("/a//b/./c", "/a"), "b/c");
  EXPECT_EQ(RelativePath("/a/b/../c", "/a"), "c");
  EXPECT_EQ(RelativePath("a/b", "a"), "b");
  EXPECT_EQ(RelativePath("a/b", ""), "a/b");
  EXPECT_EQ(RelativePath("a/../b", "."), "b");
  EXPECT_EQ(RelativePath("../x", "y"), "../../x");
}

TEST(RelativePathTest, MixesAbsoluteAndRelativeThroughTheWorkingDirectory) {
  const std::string root = testing::TempDir();
  ScopedCwd cwd(root);
  ASSERT_TRUE(cwd.ok());
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof(buf)), nullptr);
  const std::string here = buf;
  EXPECT_EQ(RelativePath(JoinPath(here, "d/ckpt-1"), "d"), "ckpt-1");
  EXPECT_EQ(RelativePath("d/ckpt-1", JoinPath(here, "d")), "ckpt-1");
  EXPECT_EQ(RelativePath("d", "/"), here.substr(1) + "/d");
}

}  // namespace
}  // namespace ckpt
