// Tests of ConvertCheckpoint, the TensorSources and the name rules
// (ckpt/convert.h) on bundles written by BundleWriter; conversions of files
// TensorFlow and the safetensors library wrote: tests/interop/test_safetensors.py.
#include "ckpt/convert.h"

#include "ckpt/bundle_writer.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/object_graph.h"
#include "ckpt/safetensors.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvParamTest;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;

std::vector<NameRule> Rules(const std::vector<std::string>& texts) {
  std::vector<NameRule> rules;
  for (const std::string& t : texts) rules.push_back(ParseNameRule(t).value());
  return rules;
}

class ConvertTest : public EnvParamTest {
 protected:
  // A bundle of one tensor per fixed-size dtype safetensors holds, plus
  // `extra`.
  std::map<std::string, Tensor> WriteBundle(const std::string& prefix,
                                            std::map<std::string, Tensor> extra = {}) {
    std::map<std::string, Tensor> tensors = std::move(extra);
    uint32_t seed = 1;
    for (DataType d : AllStorableTypes()) {
      if (SafetensorsDtypeName(d)) {
        tensors["layer/" + std::string(DataTypeName(d))] =
            MakeTestTensor(d, TensorShape({2, 3}), seed++);
      }
    }
    BundleWriterOptions options;
    options.env = env_;
    auto w = BundleWriter::Create(prefix, options);
    EXPECT_TRUE(w.ok());
    for (const auto& [name, t] : tensors) EXPECT_TRUE((*w)->Add(name, t).ok());
    EXPECT_TRUE((*w)->Finish().ok());
    return tensors;
  }
  ConvertOptions Options() {
    ConvertOptions o;
    o.env = env_;
    return o;
  }
};

INSTANTIATE_TEST_SUITE_P(Envs, ConvertTest,
                         ::testing::Values(testing::EnvKind::kPosix, testing::EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

TEST_P(ConvertTest, TfToSafetensorsToTfKeepsNamesDtypesAndValues) {
  const auto tensors = WriteBundle(Path("model.ckpt"));
  ConvertOptions options = Options();
  options.metadata = {{"format", "np"}};
  CKPT_ASSERT_OK_AND_ASSIGN(auto r1, ConvertCheckpoint(Path("model.ckpt"), Path("m.safetensors"),
                                                       options));
  EXPECT_EQ(r1.written.size(), tensors.size());
  CKPT_ASSERT_OK_AND_ASSIGN(auto st, SafetensorsReader::Open(env_, Path("m.safetensors")));
  EXPECT_EQ(st->header().metadata, options.metadata);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r2,
                            ConvertCheckpoint(Path("m.safetensors"), Path("back"), Options()));
  EXPECT_EQ(r2.destination, Path("back"));
  CheckpointReaderOptions read;
  read.env = env_;
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(Path("back"), read));
  EXPECT_EQ(reader->variables().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor back, reader->GetTensor(name));
    EXPECT_TRUE(back.Equals(t)) << name;
  }
}

TEST_P(ConvertTest, StringTensorsAreAnErrorUnlessSkipped) {
  WriteBundle(Path("model.ckpt"), {{"vocab", Tensor::StringScalar("a b c")}});
  EXPECT_THAT(ConvertCheckpoint(Path("model.ckpt"), Path("m.safetensors"), Options()),
              StatusIs(StatusCode::kInvalidArgument,
                       "Cannot convert tensor 'vocab' of " + Path("model.ckpt") +
                           " to safetensors: safetensors has no dtype for string"));
  EXPECT_FALSE(env_->FileExists(Path("m.safetensors")));
  ConvertOptions options = Options();
  options.skip_unsupported = true;
  CKPT_ASSERT_OK_AND_ASSIGN(auto r,
                            ConvertCheckpoint(Path("model.ckpt"), Path("m.safetensors"), options));
  EXPECT_EQ(r.skipped.count("vocab"), 1u);
  EXPECT_EQ(r.written.count("vocab"), 0u);
}

TEST_P(ConvertTest, NameRulesApplyInOrderAndCollisionsNameBothTensors) {
  WriteBundle(Path("model.ckpt"));
  ConvertOptions options = Options();
  options.name_rules = Rules({"prefix:layer/=dense/", "regex:^dense/(.*)$=model.$1"});
  CKPT_ASSERT_OK_AND_ASSIGN(auto r,
                            ConvertCheckpoint(Path("model.ckpt"), Path("m.safetensors"), options));
  EXPECT_EQ(r.written.at("layer/float"), "model.float");
  CKPT_ASSERT_OK_AND_ASSIGN(auto st, SafetensorsReader::Open(env_, Path("m.safetensors")));
  EXPECT_NE(st->Find("model.int64"), nullptr);

  options.name_rules = Rules({"regex:/.*=/x"});
  EXPECT_THAT(ConvertCheckpoint(Path("model.ckpt"), Path("n.safetensors"), options),
              StatusIs(StatusCode::kInvalidArgument, "' to 'layer/x'"));
  options.name_rules = Rules({"strip:layer/bool"});
  EXPECT_THAT(ConvertCheckpoint(Path("model.ckpt"), Path("n.safetensors"), options),
              StatusIs(StatusCode::kInvalidArgument, "'layer/bool' into an empty name"));
  EXPECT_FALSE(env_->FileExists(Path("n.safetensors")));
}

TEST_P(ConvertTest, ObjectCheckpointNamesLoseTheirAttributeSuffixByDefault) {
  WriteBundle(Path("obj"), {{"net/w/.ATTRIBUTES/VARIABLE_VALUE", Tensor::Scalar<float>(3)},
                            {kObjectGraphKey, Tensor::StringScalar("graph")}});
  CKPT_ASSERT_OK_AND_ASSIGN(auto source,
                            OpenTensorSource(env_, Path("obj"), TensorFormat::kTfCheckpoint));
  EXPECT_TRUE(source->is_object_checkpoint());
  for (const VariableInfo& v : source->tensors()) EXPECT_NE(v.name, kObjectGraphKey);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, ConvertCheckpoint(Path("obj"), Path("m.safetensors"), Options()));
  EXPECT_EQ(r.written.at("net/w/.ATTRIBUTES/VARIABLE_VALUE"), "net/w");
  ConvertOptions keep = Options();
  keep.default_name_rules = false;
  CKPT_ASSERT_OK_AND_ASSIGN(r, ConvertCheckpoint(Path("obj"), Path("k.safetensors"), keep));
  EXPECT_EQ(r.written.at("net/w/.ATTRIBUTES/VARIABLE_VALUE"),
            "net/w/.ATTRIBUTES/VARIABLE_VALUE");
}

TEST_P(ConvertTest, DirectoryDestinationGetsAStateFile) {
  WriteBundle(Path("model.ckpt"));
  CKPT_ASSERT_OK(ConvertCheckpoint(Path("model.ckpt"), Path("m.safetensors"), Options()).status());
  CKPT_ASSERT_OK(env_->CreateDirs(Path("out")));
  CKPT_ASSERT_OK_AND_ASSIGN(auto r,
                            ConvertCheckpoint(Path("m.safetensors"), Path("out"), Options()));
  EXPECT_EQ(r.destination, JoinPath(Path("out"), "model.ckpt"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto state, GetCheckpointState(env_, Path("out")));
  EXPECT_EQ(state.model_checkpoint_path, JoinPath(Path("out"), "model.ckpt"));
  CheckpointReaderOptions read;
  read.env = env_;
  CKPT_EXPECT_OK(CheckpointReader::Open(Path("out"), read).status());
}

TEST_P(ConvertTest, DirectoryDestinationReplacesNothingTheDirectoryHolds) {
  WriteBundle(Path("model.ckpt"));
  CKPT_ASSERT_OK(ConvertCheckpoint(Path("model.ckpt"), Path("m.safetensors"), Options()).status());
  // A training directory: its checkpoint and the state file naming it.
  CKPT_ASSERT_OK(env_->CreateDirs(Path("train")));
  WriteBundle(JoinPath(Path("train"), "model.ckpt-1000"));
  CKPT_ASSERT_OK(UpdateCheckpointState(env_, Path("train"),
                                       JoinPath(Path("train"), "model.ckpt-1000"),
                                       {JoinPath(Path("train"), "model.ckpt-1000")}));
  const std::string state_path = JoinPath(Path("train"), "checkpoint");
  CKPT_ASSERT_OK_AND_ASSIGN(std::string state_before, ReadFileToString(env_, state_path));
  const std::vector<std::string> before = ListDir(env_, Path("train"));
  EXPECT_THAT(ConvertCheckpoint(Path("m.safetensors"), Path("train"), Options()).status(),
              StatusIs(StatusCode::kAlreadyExists, state_path));
  EXPECT_EQ(ListDir(env_, Path("train")), before);
  EXPECT_EQ(ReadFileToString(env_, state_path).value(), state_before);

  // A directory holding a model.ckpt (no state file): not replaced either.
  CKPT_ASSERT_OK(env_->CreateDirs(Path("other")));
  WriteBundle(JoinPath(Path("other"), "model.ckpt"), {{"only_here", MakeTestTensor(DataType::kFloat, TensorShape({4}), 9)}});
  EXPECT_THAT(ConvertCheckpoint(Path("m.safetensors"), Path("other/"), Options()).status(),
              StatusIs(StatusCode::kAlreadyExists, "model.ckpt.index"));
  CheckpointReaderOptions read;
  read.env = env_;
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader,
                            CheckpointReader::Open(JoinPath(Path("other"), "model.ckpt"), read));
  EXPECT_TRUE(reader->HasTensor("only_here"));

  // A prefix inside the training directory is the way to add one.
  CKPT_EXPECT_OK(ConvertCheckpoint(Path("m.safetensors"), JoinPath(Path("train"), "converted.ckpt"),
                                   Options())
                     .status());
  EXPECT_EQ(ReadFileToString(env_, state_path).value(), state_before);
}

TEST_P(ConvertTest, ProgressCountsElementBytesOfEveryTensorWritten) {
  const auto tensors = WriteBundle(Path("model.ckpt"));
  uint64_t expected_total = 0;
  for (const auto& [name, t] : tensors) expected_total += t.byte_size();
  for (const char* dst : {"m.safetensors", "copy.ckpt"}) {
    SCOPED_TRACE(dst);
    std::vector<std::pair<uint64_t, uint64_t>> calls;
    ConvertOptions options = Options();
    options.on_progress = [&calls](uint64_t done, uint64_t total) {
      calls.emplace_back(done, total);
    };
    CKPT_ASSERT_OK(ConvertCheckpoint(Path("model.ckpt"), Path(dst), options).status());
    ASSERT_EQ(calls.size(), tensors.size());  // one call per tensor
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(calls[i].second, expected_total);
      if (i > 0) EXPECT_GT(calls[i].first, calls[i - 1].first);
    }
    EXPECT_EQ(calls.back().first, expected_total);
  }
}

TEST_P(ConvertTest, SameFileKerasAndMissingSourcesAreErrors) {
  WriteBundle(Path("model.ckpt"));
  CKPT_ASSERT_OK(ConvertCheckpoint(Path("model.ckpt"), Path("m.safetensors"), Options()).status());
  EXPECT_THAT(ConvertCheckpoint(Path("m.safetensors"), Path("m.safetensors"), Options()),
              StatusIs(StatusCode::kInvalidArgument, "same file"));
  EXPECT_THAT(ConvertCheckpoint(Path("model.ckpt"), Path("model.ckpt"), Options()),
              StatusIs(StatusCode::kInvalidArgument, "same file"));
  // Keras weights files go through libhdf5, on the local file system only;
  // to or from a TF checkpoint they need a template (tests/tools/keras_convert_test.cc
  // and tests/interop/test_keras_weights.py convert them).
  const bool posix = GetParam() == testing::EnvKind::kPosix;
  EXPECT_THAT(ConvertCheckpoint(Path("model.ckpt"), Path("m.weights.h5"), Options()),
              StatusIs(posix ? StatusCode::kInvalidArgument : StatusCode::kUnimplemented,
                       posix ? "needs a template" : "libhdf5"));
  EXPECT_THAT(ConvertCheckpoint(Path("m.weights.h5"), Path("x.safetensors"), Options()),
              StatusIs(posix ? StatusCode::kNotFound : StatusCode::kUnimplemented,
                       posix ? "m.weights.h5" : "libhdf5"));
  EXPECT_FALSE(env_->FileExists(Path("m.weights.h5")));
  EXPECT_THAT(ConvertCheckpoint(Path("none.safetensors"), Path("x"), Options()),
              StatusIs(StatusCode::kNotFound, ""));
  CKPT_ASSERT_OK_AND_ASSIGN(auto st, SafetensorsReader::Open(env_, Path("m.safetensors")));
  EXPECT_FALSE(st->header().tensors.empty());  // the refused conversion left it alone
}

TEST(NameRuleTest, ParsesTheThreeKindsAndRefusesTheRest) {
  CKPT_ASSERT_OK_AND_ASSIGN(NameRule strip, ParseNameRule("strip:/.ATTRIBUTES/VARIABLE_VALUE"));
  EXPECT_EQ(strip.kind, NameRule::Kind::kStrip);
  EXPECT_EQ(ApplyNameRules("a/b/.ATTRIBUTES/VARIABLE_VALUE", {strip}).value(), "a/b");
  CKPT_ASSERT_OK_AND_ASSIGN(NameRule prefix, ParseNameRule("prefix:a/=x/y/"));
  EXPECT_EQ(ApplyNameRules("a/b", {prefix}).value(), "x/y/b");
  EXPECT_EQ(ApplyNameRules("b/a/", {prefix}).value(), "b/a/");
  CKPT_ASSERT_OK_AND_ASSIGN(NameRule regex, ParseNameRule("regex:([a-z]+)_(\\d)=$2.$1"));
  EXPECT_EQ(ApplyNameRules("w_1/v_2", {regex}).value(), "1.w/2.v");
  EXPECT_EQ(ApplyNameRules("a/b", {strip, prefix, regex}).value(), "x/y/b");
  for (const char* bad : {"strip:", "nope:x", "prefix:ab", "regex:=x", "regex:([=x", "x"}) {
    EXPECT_THAT(ParseNameRule(bad), StatusIs(StatusCode::kInvalidArgument, "Bad name-map rule"))
        << bad;
  }
}

TEST(TensorFormatTest, FromPathAndName) {
  EXPECT_EQ(TensorFormatFromPath("a/model.safetensors"), TensorFormat::kSafetensors);
  EXPECT_EQ(TensorFormatFromPath("a/model.weights.h5"), TensorFormat::kKerasH5);
  EXPECT_EQ(TensorFormatFromPath("a/model.ckpt-10"), TensorFormat::kTfCheckpoint);
  EXPECT_EQ(ParseTensorFormat("tf").value(), TensorFormat::kTfCheckpoint);
  EXPECT_EQ(ParseTensorFormat("keras-h5").value(), TensorFormat::kKerasH5);
  EXPECT_EQ(ParseTensorFormat("keras").value(), TensorFormat::kKerasH5);
  EXPECT_THAT(ParseTensorFormat("onnx"), StatusIs(StatusCode::kInvalidArgument, "'onnx'"));
}

}  // namespace
}  // namespace ckpt
