// Tests for CheckpointReader: V2 prefixes, V1 files (golden and sharded),
// directories resolved through their `checkpoint` state file, partitioned
// variables, error messages, on both the in-memory and the POSIX Env.
#include "ckpt/checkpoint_reader.h"

#include <sys/stat.h>

#include <string>
#include <thread>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/tensor_slice.h"
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

const char kBadHalfPlusTwoDir[] =
    "serving/tensorflow_serving/servables/tensorflow/testdata/bad_half_plus_two/00000123";
const char kHalfPlusTwoShard[] =
    "serving/tensorflow_serving/session_bundle/testdata/half_plus_two/00000123/"
    "export-00000-of-00001";

class CheckpointReaderTest : public ::ckpt::testing::EnvParamTest {
 protected:
  void SetUp() override {
    EnvParamTest::SetUp();
    options_.env = env_;
  }

  // Writes a V2 bundle holding `tensors` (name, value) at `prefix` and, if
  // given, the rank-2 `embedding` as the partitioned variable "embedding" in
  // the slices "0,1:-" and "1,3:-".
  void WriteV2(const std::string& prefix, const std::vector<std::pair<std::string, Tensor>>& tensors,
               const Tensor* embedding = nullptr) {
    BundleWriterOptions wo;
    wo.env = env_;
    CKPT_ASSERT_OK_AND_ASSIGN(auto writer, BundleWriter::Create(prefix, wo));
    for (const auto& [name, t] : tensors) CKPT_ASSERT_OK(writer->Add(name, t));
    if (embedding != nullptr) {
      const TensorShape& shape = embedding->shape();
      for (const char* text : {"0,1:-", "1,3:-"}) {
        TensorSlice slice = TensorSlice::Parse(text).value();
        Tensor piece = Tensor::Allocate(embedding->dtype(), slice.SliceShape(shape)).value();
        CopySliceData(*embedding, TensorSlice::Full(2), &piece, slice, shape);
        CKPT_ASSERT_OK(writer->AddSlice("embedding", shape, slice, piece));
      }
    }
    CKPT_ASSERT_OK(writer->Finish());
  }

  // Copies a golden file into this test's Env.
  void CopyGolden(const std::string& relative, const std::string& to) {
    CKPT_ASSERT_OK_AND_ASSIGN(std::string data,
                              ReadFileToString(Env::Posix(), TestDataPath(relative)));
    CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, to, data));
  }

  void WriteState(const std::string& dir, const std::string& text) {
    CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, JoinPath(dir, "checkpoint"), text));
  }

  CheckpointReaderOptions options_;
};

INSTANTIATE_TEST_SUITE_P(Envs, CheckpointReaderTest,
                         ::testing::Values(EnvKind::kMem, EnvKind::kPosix),
                         [](const auto& info) { return EnvKindName(info.param); });

std::vector<std::string> Names(const CheckpointReader& r) {
  std::vector<std::string> out;
  for (const VariableInfo& v : r.variables()) out.push_back(v.name);
  return out;
}

TEST_P(CheckpointReaderTest, V2Prefix) {
  Tensor w = MakeTestTensor(DataType::kFloat, {2, 3}, 1);
  Tensor step = Tensor::Scalar<int64_t>(1000);
  Tensor s = Tensor::FromStrings({2}, {"x", std::string("\0y", 2)}).value();
  const std::string prefix = Path("model.ckpt-1000");
  WriteV2(prefix, {{"w", w}, {"global_step", step}, {"s", s}});

  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(prefix, options_));
  EXPECT_EQ(reader->format(), CheckpointReader::Format::kV2);
  EXPECT_EQ(reader->prefix(), prefix);
  EXPECT_THAT(Names(*reader), ElementsAre("global_step", "s", "w"));
  EXPECT_EQ(reader->variables()[2].dtype, DataType::kFloat);
  EXPECT_EQ(reader->variables()[2].shape, (TensorShape{2, 3}));
  EXPECT_TRUE(reader->HasTensor("w"));
  EXPECT_FALSE(reader->HasTensor("x"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->GetTensor("w"));
  EXPECT_TRUE(got.Equals(w));
  CKPT_ASSERT_OK_AND_ASSIGN(got, reader->GetTensor("global_step"));
  EXPECT_TRUE(got.Equals(step));
  CKPT_ASSERT_OK_AND_ASSIGN(got, reader->GetTensor("s"));
  EXPECT_TRUE(got.Equals(s));
  EXPECT_EQ(reader->DebugString(),
            "global_step (DT_INT64) []\ns (DT_STRING) [2]\nw (DT_FLOAT) [2,3]\n");
}

TEST_P(CheckpointReaderTest, MissingKeyIsNotFound) {
  WriteV2(Path("m"), {{"a", Tensor::Scalar<float>(1)}});
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(Path("m"), options_));
  EXPECT_THAT(reader->GetTensor("x"),
              StatusIs(StatusCode::kNotFound, "Key x not found in checkpoint"));
}

TEST_P(CheckpointReaderTest, PartitionedVariablesFoldIntoFullNames) {
  Tensor full = MakeTestTensor(DataType::kInt32, {4, 2}, 7);
  const TensorShape shape = full.shape();
  WriteV2(Path("part"), {{"bias", Tensor::Scalar<float>(0.25f)}}, &full);

  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(Path("part"), options_));
  EXPECT_THAT(Names(*reader), ElementsAre("bias", "embedding"));
  EXPECT_EQ(reader->variables()[1].shape, shape);
  EXPECT_EQ(reader->variables()[1].dtype, DataType::kInt32);
  EXPECT_TRUE(reader->HasTensor("embedding"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->GetTensor("embedding"));
  EXPECT_TRUE(got.Equals(full));
}

// GetTensors: GetTensor of each name in order, for V2 (one batch) and V1
// (one by one); an unknown name anywhere is GetTensor's NotFound.
TEST_P(CheckpointReaderTest, GetTensorsReturnsWhatGetTensorReturns) {
  Tensor full = MakeTestTensor(DataType::kInt32, {4, 2}, 7);
  Tensor w = MakeTestTensor(DataType::kFloat, {300, 7}, 3);
  Tensor s = Tensor::FromStrings({2}, {"x", std::string("\0y", 2)}).value();
  WriteV2(Path("part"), {{"bias", Tensor::Scalar<float>(0.25f)}, {"s", s}, {"w", w}}, &full);
  CopyGolden(kHalfPlusTwoShard, Path("export-00000-of-00001"));
  struct Case {
    std::string path;
    std::vector<std::string> names;
    std::string missing;  // GetTensor's NotFound wording
  };
  for (const Case& c : {Case{Path("part"), {"w", "embedding", "s", "bias", "w"},
                             "Key nope not found in checkpoint"},
                        Case{Path("export-00000-of-00001"), {"b", "a", "b"},
                             "nope not found in checkpoint file"}}) {
    SCOPED_TRACE(c.path);
    CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(c.path, options_));
    const std::vector<std::string_view> names(c.names.begin(), c.names.end());
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got, reader->GetTensors(names));
    ASSERT_EQ(got.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor one, reader->GetTensor(names[i]));
      EXPECT_TRUE(got[i].Equals(one)) << names[i];
    }
    std::vector<std::string_view> with_missing = names;
    with_missing.insert(with_missing.begin() + 1, "nope");
    EXPECT_THAT(reader->GetTensors(with_missing), StatusIs(StatusCode::kNotFound, c.missing));
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> none, reader->GetTensors({}));
    EXPECT_TRUE(none.empty());
  }
}

// variables() is built on first use, once, even when first asked for from
// several threads at once; DebugString and reads do not need it.
TEST_P(CheckpointReaderTest, VariablesAreBuiltOnceOnFirstUse) {
  Tensor full = MakeTestTensor(DataType::kFloat, {4, 2}, 7);
  const TensorShape shape = full.shape();
  // The second key starts with a 0 byte like a slice key, but no entry's
  // slices name it.
  WriteV2(Path("lazy"),
          {{"bias", Tensor::Scalar<float>(0.25f)}, {std::string("\0odd", 4), Tensor::Scalar<int32_t>(3)}},
          &full);

  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(Path("lazy"), options_));
  EXPECT_THAT(reader->DebugString(), HasSubstr("bias (DT_FLOAT) []\n"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->GetTensor("embedding"));
  EXPECT_TRUE(got.Equals(full));
  std::vector<const std::vector<VariableInfo>*> seen(8, nullptr);
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < seen.size(); ++i) {
      threads.emplace_back([&, i] { seen[i] = &reader->variables(); });
    }
    for (std::thread& t : threads) t.join();
  }
  for (const auto* v : seen) EXPECT_EQ(v, seen[0]);  // one list, built once
  EXPECT_THAT(Names(*reader), ElementsAre(std::string("\0odd", 4), "bias", "embedding"));
  EXPECT_EQ(reader->variables()[2].shape, shape);
  EXPECT_EQ(&reader->variables(), seen[0]);
  EXPECT_EQ(reader->variables().capacity(), 3u);  // sized once
}

TEST_P(CheckpointReaderTest, DirectoryWithRelativeStatePaths) {
  WriteV2(Path("model.ckpt-1"), {{"v", Tensor::Scalar<float>(1)}});
  WriteV2(Path("model.ckpt-2"), {{"v", Tensor::Scalar<float>(2)}});
  WriteState(dir_,
             "model_checkpoint_path: \"model.ckpt-2\"\n"
             "all_model_checkpoint_paths: \"model.ckpt-1\"\n"
             "all_model_checkpoint_paths: \"model.ckpt-2\"\n");
  for (const std::string& path : {dir_, dir_ + "/"}) {
    SCOPED_TRACE(path);
    CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(path, options_));
    EXPECT_EQ(reader->prefix(), Path("model.ckpt-2"));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor v, reader->GetTensor("v"));
    EXPECT_TRUE(v.Equals(Tensor::Scalar<float>(2)));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(std::string latest, LatestCheckpoint(env_, dir_));
  EXPECT_EQ(latest, Path("model.ckpt-2"));
}

TEST_P(CheckpointReaderTest, DirectoryWithAbsoluteStatePaths) {
  WriteV2(Path("model.ckpt-1"), {{"v", Tensor::Scalar<float>(1)}});
  WriteV2(Path("model.ckpt-2"), {{"v", Tensor::Scalar<float>(2)}});
  WriteState(dir_, "model_checkpoint_path: \"" + Path("model.ckpt-1") + "\"\n");
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(dir_, options_));
  EXPECT_EQ(reader->prefix(), Path("model.ckpt-1"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor v, reader->GetTensor("v"));
  EXPECT_TRUE(v.Equals(Tensor::Scalar<float>(1)));
}

TEST_P(CheckpointReaderTest, MovedDirectoryFindsCheckpointBesideStateFile) {
  WriteV2(Path("model.ckpt-5"), {{"v", Tensor::Scalar<float>(5)}});
  WriteState(dir_, "model_checkpoint_path: \"/nonexistent/old/place/model.ckpt-5\"\n");
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(dir_, options_));
  EXPECT_EQ(reader->prefix(), Path("model.ckpt-5"));
}

TEST_P(CheckpointReaderTest, DirectoryErrors) {
  // No state file.
  EXPECT_THAT(CheckpointReader::Open(dir_, options_),
              StatusIs(StatusCode::kNotFound, "No checkpoint found in directory " + dir_));
  // A state file naming a checkpoint that is gone.
  WriteState(dir_, "model_checkpoint_path: \"model.ckpt-9\"\n");
  EXPECT_THAT(CheckpointReader::Open(dir_, options_),
              StatusIs(StatusCode::kNotFound, "model.ckpt-9"));
}

TEST_P(CheckpointReaderTest, MissingPrefixAndExtensionHints) {
  EXPECT_THAT(CheckpointReader::Open(Path("nothing"), options_),
              StatusIs(StatusCode::kNotFound, "Failed to find any matching files for"));
  WriteV2(Path("model"), {{"a", Tensor::Scalar<float>(1)}});
  // The user passed the index file instead of the prefix.
  auto r = CheckpointReader::Open(MetaFilename(Path("model")), options_);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("without the .index"));
  EXPECT_THAT(CheckpointReader::Open(DataFilename(Path("model"), 0, 1), options_),
              StatusIs(StatusCode::kDataLoss, "without the .data-"));
  // A missing "model.index" file is NotFound, with the hint.
  EXPECT_THAT(CheckpointReader::Open(Path("other.index"), options_),
              StatusIs(StatusCode::kNotFound, "without the .index"));
}

TEST_P(CheckpointReaderTest, V1GoldenDirectoryWithMovedStatePath) {
  // The state file names /tmp/bad_half_plus_two/00000123/export, which is
  // gone; `export` sits beside the state file.
  const std::string golden = std::string(kBadHalfPlusTwoDir);
  std::string dir = TestDataPath(golden);
  if (GetParam() == EnvKind::kMem) {
    dir = Path("bad_half_plus_two");
    CKPT_ASSERT_OK(env_->CreateDirs(dir));
    CopyGolden(golden + "/checkpoint", JoinPath(dir, "checkpoint"));
    CopyGolden(golden + "/export", JoinPath(dir, "export"));
    CopyGolden(golden + "/export.meta", JoinPath(dir, "export.meta"));
  }
  ASSERT_FALSE(env_->FileExists("/tmp/bad_half_plus_two/00000123/export"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(dir, options_));
  EXPECT_EQ(reader->format(), CheckpointReader::Format::kV1);
  EXPECT_EQ(reader->prefix(), JoinPath(dir, "export"));
  EXPECT_THAT(Names(*reader), ElementsAre("Variable", "Variable_1"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor a, reader->GetTensor("Variable"));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor b, reader->GetTensor("Variable_1"));
  EXPECT_TRUE(a.Equals(Tensor::Scalar<float>(0.5f)));
  EXPECT_TRUE(b.Equals(Tensor::Scalar<float>(2.0f)));
  EXPECT_EQ(reader->DebugString(), "Variable (DT_FLOAT) []\nVariable_1 (DT_FLOAT) []\n");
  EXPECT_THAT(reader->GetTensor("x"), StatusIs(StatusCode::kNotFound, "x not found in checkpoint"));
  // The MetaGraphDef beside it is no checkpoint; the hint says so.
  EXPECT_THAT(CheckpointReader::Open(JoinPath(dir, "export.meta"), options_),
              StatusIs(StatusCode::kDataLoss, "without the .meta"));
}

TEST_P(CheckpointReaderTest, V1ShardPatternThroughStateFile) {
  CopyGolden(kHalfPlusTwoShard, Path("export-00000-of-00001"));
  const std::string pattern = "export-" + std::string(5, '?') + "-of-00001";
  WriteState(dir_, "model_checkpoint_path: \"" + pattern + "\"\n");
  for (const std::string& path : {dir_, Path(pattern), Path("export-00000-of-00001")}) {
    SCOPED_TRACE(path);
    CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(path, options_));
    EXPECT_EQ(reader->format(), CheckpointReader::Format::kV1);
    EXPECT_THAT(Names(*reader), ElementsAre("a", "b"));
    EXPECT_TRUE(reader->HasTensor("b"));
    EXPECT_FALSE(reader->HasTensor("c"));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor a, reader->GetTensor("a"));
    EXPECT_TRUE(a.Equals(Tensor::Scalar<float>(0.5f)));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(dir_, options_));
  EXPECT_EQ(reader->prefix(), Path(pattern));
}

// V2 wins when both a V2 index and a V1 file share the name (TF's rule).
TEST_P(CheckpointReaderTest, V2PreferredOverV1WithSameName) {
  CopyGolden(kHalfPlusTwoShard, Path("model"));
  WriteV2(Path("model"), {{"v2_only", Tensor::Scalar<float>(1)}});
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(Path("model"), options_));
  EXPECT_EQ(reader->format(), CheckpointReader::Format::kV2);
  EXPECT_THAT(Names(*reader), ElementsAre("v2_only"));
}

TEST_P(CheckpointReaderTest, VerifyChecksumsOption) {
  Tensor t = Tensor::FromVector<float>({4}, {1, 2, 3, 4});
  WriteV2(Path("m"), {{"t", t}});
  // Flip one byte of the tensor's data.
  const std::string data_path = DataFilename(Path("m"), 0, 1);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string data, ReadFileToString(env_, data_path));
  ASSERT_EQ(data.size(), 16u);
  data[5] ^= 0x40;
  CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, data_path, data));

  CKPT_ASSERT_OK_AND_ASSIGN(auto checked, CheckpointReader::Open(Path("m"), options_));
  EXPECT_THAT(checked->GetTensor("t"), StatusIs(StatusCode::kDataLoss, "Checksum does not match"));
  options_.verify_checksums = false;
  CKPT_ASSERT_OK_AND_ASSIGN(auto unchecked, CheckpointReader::Open(Path("m"), options_));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, unchecked->GetTensor("t"));
  EXPECT_FALSE(got.Equals(t));
  EXPECT_EQ(got.flat<float>()[0], 1.0f);
}

TEST(CheckpointReaderOptionsTest, NullEnvIsInvalidArgument) {
  CheckpointReaderOptions options;
  options.env = nullptr;
  EXPECT_THAT(CheckpointReader::Open("x", options),
              StatusIs(StatusCode::kInvalidArgument, "env is null"));
}

// The golden V1 directory, read in place on the real file system.
TEST(CheckpointReaderGoldenTest, DefaultEnvReadsGoldenDirectory) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader,
                            CheckpointReader::Open(TestDataPath(kBadHalfPlusTwoDir)));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor b, reader->GetTensor("Variable_1"));
  EXPECT_TRUE(b.Equals(Tensor::Scalar<float>(2.0f)));
}

// Checkpoint files replaced by FIFOs (or a directory): every read is a
// prompt FailedPrecondition naming the file, never a hang.
TEST(CheckpointReaderSpecialFileTest, FifoIndexDataOrStateFileIsAnErrorNotAHang) {
  using ::ckpt::testing::MakeFifo;
  using ::ckpt::testing::ReturnsPromptly;
  Env* env = Env::Posix();
  const std::string dir = TempDir();
  const std::string prefix = JoinPath(dir, "model.ckpt-1");
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix));
    CKPT_ASSERT_OK(w->Add("v", Tensor::Scalar(1.0f)));
    CKPT_ASSERT_OK(w->Finish());
  }
  CKPT_ASSERT_OK(UpdateCheckpointState(env, dir, prefix, {prefix}));
  const std::string data = DataFilename(prefix, 0, 1);
  const std::string index = MetaFilename(prefix);
  const std::string state = JoinPath(dir, "checkpoint");

  // The data file: the index opens, reading the tensor fails.
  CKPT_ASSERT_OK(env->DeleteFile(data));
  CKPT_ASSERT_OK(MakeFifo(data));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(prefix));
  EXPECT_THAT(
      ReturnsPromptly([&] { return reader->GetTensor("v").status(); }, {data}),
      StatusIs(StatusCode::kFailedPrecondition, "'" + data + "' is a FIFO, not a regular file"));
  // The index.
  CKPT_ASSERT_OK(env->DeleteFile(index));
  CKPT_ASSERT_OK(MakeFifo(index));
  EXPECT_THAT(
      ReturnsPromptly([&] { return CheckpointReader::Open(prefix).status(); }, {index}),
      StatusIs(StatusCode::kFailedPrecondition, "'" + index + "' is a FIFO, not a regular file"));
  // The state file.
  CKPT_ASSERT_OK(env->DeleteFile(state));
  CKPT_ASSERT_OK(MakeFifo(state));
  EXPECT_THAT(
      ReturnsPromptly([&] { return GetCheckpointState(env, dir).status(); }, {state}),
      StatusIs(StatusCode::kFailedPrecondition, "'" + state + "' is a FIFO, not a regular file"));
  EXPECT_THAT(ReturnsPromptly([&] { return LatestCheckpoint(env, dir).status(); }, {state}),
              StatusIs(StatusCode::kFailedPrecondition, "is a FIFO"));
}

// A data file that exists but cannot be opened is not "missing".
TEST(CheckpointReaderSpecialFileTest, UnreadableDataFileIsPermissionDeniedNotMissing) {
  const std::string prefix = JoinPath(TempDir(), "model.ckpt-1");
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix));
    CKPT_ASSERT_OK(w->Add("v", Tensor::Scalar(1.0f)));
    CKPT_ASSERT_OK(w->Finish());
  }
  const std::string data = DataFilename(prefix, 0, 1);
  ASSERT_EQ(::chmod(data.c_str(), 0), 0);
  auto got = ::ckpt::testing::RunUnprivileged([&] {
    auto reader = CheckpointReader::Open(prefix);
    if (!reader.ok()) return "open: " + reader.status().ToString();
    return (*reader)->GetTensor("v").status().ToString();
  });
  if (!got) GTEST_SKIP() << "cannot drop root privileges here";
  EXPECT_THAT(*got, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(*got, HasSubstr("'" + data + "' cannot be read: Permission denied"));
  EXPECT_THAT(*got, ::testing::Not(HasSubstr("missing")));
}

}  // namespace
}  // namespace ckpt
