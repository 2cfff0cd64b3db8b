// Tests of `ckpt run` and `ckpt graph`, run in-process on graphs built with
// ckpt's GraphBuilder and Saver subgraph, checkpoints written with
// BundleWriter and feeds written as .npy files. Expected values are
// computed by hand from the graph (y = x + w).
#include "run.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ckpt/bundle_writer.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "command.h"
#include "graph_cmd.h"
#include "npy.h"
#include "testutil/testutil.h"

namespace ckpt::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing::Floats;

// x: float [?,2] placeholder; w: variable [1,2]; y = x + w;
// "scope/out" = Identity(y); k: int32 placeholder, k_out = Identity(k);
// "weird" an op without a kernel on y; "init" the variables' initializer.
class RunCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir();
    GraphBuilder b;
    Output x = b.Placeholder(DataType::kFloat, {-1, 2}, "x");
    GraphVariable w = b.Variable("w", Tensor::FromVector<float>({1, 2}, {-1, -2}));
    Output y = b.Binary("Add", x, w.read, "y");
    b.Identity(y, "scope/out");
    Output k = b.Placeholder(DataType::kInt32, PartialShape::Unknown(), "k");
    b.Identity(k, "k_out");
    b.GlobalVariablesInitializer();
    tensorflow::SaverDef saver = AddSaverSubgraph(&b).value();
    meta_ = BuildMetaGraphDef(b, &saver).value();
    tensorflow::NodeDef* weird = meta_.mutable_graph_def()->add_node();
    weird->set_name("weird");
    weird->set_op("ApplyGradientDescent");
    weird->add_input("y");
    x_path_ = dir_ + "/x.npy";
    CKPT_EXPECT_OK(WriteNpy(Env::Posix(), x_path_, Tensor::FromVector<float>({1, 2}, {1, 2})));
  }

  // Writes the checkpoint "<dir>/model.ckpt-<step>" with w = `w` and its .meta.
  std::string WriteCheckpoint(int step, std::vector<float> w, bool meta = true) {
    const std::string prefix = dir_ + "/model.ckpt-" + std::to_string(step);
    auto writer = BundleWriter::Create(prefix).value();
    EXPECT_TRUE(writer->Add("w", Tensor::FromVector<float>({1, 2}, w)).ok());
    EXPECT_TRUE(writer->Finish().ok());
    if (meta) CKPT_EXPECT_OK(WriteMetaGraph(Env::Posix(), prefix + ".meta", meta_));
    return prefix;
  }

  Tensor ReadOutput(const std::string& path) { return ReadNpy(Env::Posix(), path).value(); }

  std::string dir_;
  std::string x_path_;
  tensorflow::MetaGraphDef meta_;
};

TEST_F(RunCommandTest, FeedsAndFetchesThroughNpyFiles) {
  const std::string prefix = WriteCheckpoint(3, {100, 200});
  const std::string out = dir_ + "/out";
  CommandResult r =
      RunCommandLine({"run", "--meta_graph", prefix + ".meta", "--feed", "x:0=" + x_path_,
                      "--fetch", "scope/out:0", "--fetch", "y", "--output", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "scope/out:0\t" + out + "/scope_out_0.npy\ny\t" + out + "/y.npy\n");
  EXPECT_EQ(Floats(ReadOutput(out + "/scope_out_0.npy")), (std::vector<float>{101, 202}));
  EXPECT_EQ(Floats(ReadOutput(out + "/y.npy")), (std::vector<float>{101, 202}));
}

TEST_F(RunCommandTest, DefaultCheckpointIsTheNewestInTheStateFile) {
  const std::string old_prefix = WriteCheckpoint(1, {10, 20});
  const std::string new_prefix = WriteCheckpoint(2, {100, 200}, /*meta=*/false);
  CKPT_ASSERT_OK(UpdateCheckpointState(Env::Posix(), dir_, new_prefix, {old_prefix, new_prefix}));
  // The .meta of step 1, but the state file names step 2 as the newest.
  CommandResult r = RunCommandLine({"run", "--meta_graph", old_prefix + ".meta", "--feed",
                                    "x:0=" + x_path_, "--fetch", "y:0", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\n  \"y:0\": {\"dtype\": \"float\", \"shape\": [1, 2], \"values\": [101, "
            "202]}\n}\n");
  // An explicit --checkpoint wins.
  r = RunCommandLine({"run", "--meta_graph", old_prefix + ".meta", "--checkpoint", old_prefix,
                      "--feed", "x:0=" + x_path_, "--fetch", "y:0", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"values\": [11, 22]"));
}

TEST_F(RunCommandTest, WithoutStateFileTheMetasOwnPrefix) {
  const std::string prefix = WriteCheckpoint(7, {5, 6});
  CommandResult r = RunCommandLine(
      {"run", "--meta_graph", prefix + ".meta", "--feed", "x:0=" + x_path_, "--fetch", "y:0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tensor_name:  y:0\n[[6. 8.]]\n");
  // numpy print options, as for inspect: sign='+' prints "[[+6. +8.]]".
  r = RunCommandLine({"run", "--meta_graph", prefix + ".meta", "--feed", "x:0=" + x_path_,
                      "--fetch", "y:0", "--printoptions", "sign=+"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tensor_name:  y:0\n[[+6. +8.]]\n");
  r = RunCommandLine({"run", "--meta_graph", prefix + ".meta", "--feed", "x:0=" + x_path_,
                      "--fetch", "y:0", "--printoptions", "bogus=1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("bogus"));
}

TEST_F(RunCommandTest, CheckpointNoneRestoresNothing) {
  const std::string prefix = WriteCheckpoint(3, {100, 200});
  CommandResult r = RunCommandLine({"run", "--meta_graph", prefix + ".meta", "--checkpoint", "none",
                                    "--feed", "x:0=" + x_path_, "--fetch", "y:0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("uninitialized value w"));
  EXPECT_EQ(r.out, "");
  // A target alone runs (the initializer) and prints nothing.
  r = RunCommandLine(
      {"run", "--meta_graph", prefix + ".meta", "--checkpoint", "none", "--target", "init"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(RunCommandTest, FeedsAreConvertedToThePlaceholderDtype) {
  const std::string prefix = WriteCheckpoint(3, {100, 200});
  const std::string x64 = dir_ + "/x64.npy", k64 = dir_ + "/k64.npy", big = dir_ + "/big.npy";
  CKPT_ASSERT_OK(WriteNpy(Env::Posix(), x64, Tensor::FromVector<double>({1, 2}, {0.5, 1.5})));
  CKPT_ASSERT_OK(WriteNpy(Env::Posix(), k64, Tensor::FromVector<int64_t>({2}, {7, -8})));
  CKPT_ASSERT_OK(WriteNpy(Env::Posix(), big, Tensor::FromVector<double>({1}, {3e9})));
  CommandResult r =
      RunCommandLine({"run", "--meta_graph", prefix + ".meta", "--feed", "x:0=" + x64, "--feed",
                      "k=" + k64, "--fetch", "y:0", "--fetch", "k_out:0", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"y:0\": {\"dtype\": \"float\", \"shape\": [1, 2], \"values\": "
                               "[100.5, 201.5]}"));
  EXPECT_THAT(r.out, HasSubstr("\"k_out:0\": {\"dtype\": \"int32\", \"shape\": [2], \"values\": "
                               "[7, -8]}"));
  r = RunCommandLine(
      {"run", "--meta_graph", prefix + ".meta", "--feed", "k=" + big, "--fetch", "k_out:0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("(3e+09) does not fit"));
  EXPECT_THAT(r.err, HasSubstr("int32"));
}

TEST_F(RunCommandTest, ErrorsGoToStderrWithExitCode1) {
  const std::string prefix = WriteCheckpoint(3, {100, 200});
  const std::string meta = prefix + ".meta";
  const std::string bad_npy = dir_ + "/bad.npy";
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), bad_npy, "not numpy"));
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--meta_graph", meta, "--fetch", "y:0"},
       "You must feed a value for placeholder tensor 'x'"},
      {{"--meta_graph", meta, "--feed", "x:0=" + bad_npy, "--fetch", "y:0"}, "bad.npy"},
      {{"--meta_graph", meta, "--feed", "x:0=" + dir_ + "/none.npy", "--fetch", "y:0"}, "none.npy"},
      {{"--meta_graph", meta, "--feed", "x:0", "--fetch", "y:0"}, "expected NAME=FILE.npy"},
      {{"--meta_graph", meta, "--feed", "x:0=" + x_path_, "--fetch", "weird:0"},
       "ApplyGradientDescent"},
      {{"--meta_graph", meta, "--fetch", "nope:0"}, "'nope'"},
      {{"--meta_graph", dir_ + "/missing.meta", "--fetch", "y:0"}, "missing.meta"},
      {{"--fetch", "y:0"}, "exactly one of --meta_graph, --graph, --saved_model"},
      {{"--meta_graph", meta, "--graph", meta, "--fetch", "y:0"}, "exactly one of"},
      {{"--meta_graph", meta}, "nothing to run"},
      {{"--meta_graph", meta, "--checkpoint", dir_ + "/nockpt", "--fetch", "w/read:0"}, "nockpt"},
      {{"--meta_graph", meta, "--feed", "x:0=" + x_path_, "--fetch", "scope/out:0", "--fetch",
        "scope_out:0", "--output", dir_ + "/o"},
       "would both be written to scope_out_0.npy"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CommandResult r = RunCommandLine(args);
    EXPECT_EQ(r.code, 1) << c.message;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.err, HasSubstr("ckpt run: "));
    EXPECT_EQ(r.out, "") << c.message;
  }
}

TEST_F(RunCommandTest, GraphDefTextAndBinary) {
  const std::string prefix = WriteCheckpoint(3, {100, 200});
  const std::string pbtxt = dir_ + "/graph.pbtxt", pb = dir_ + "/graph.pb";
  CKPT_ASSERT_OK(WriteTextGraph(Env::Posix(), pbtxt, meta_.graph_def()));
  CKPT_ASSERT_OK(
      testing::WriteStringToFile(Env::Posix(), pb, meta_.graph_def().SerializeAsString()));
  for (const std::string& path : {pbtxt, pb}) {
    // A GraphDef has no SaverDef to restore through.
    CommandResult r = RunCommandLine({"run", "--graph", path, "--feed", "x:0=" + x_path_, "--fetch",
                                      "y:0", "--checkpoint", prefix});
    EXPECT_EQ(r.code, 1) << path;
    EXPECT_THAT(r.err, HasSubstr("SaverDef"));
    // The float [[1, 2]] fed to the int32 placeholder k is converted (truncated).
    r = RunCommandLine(
        {"run", "--graph", path, "--fetch", "k_out:0", "--feed", "k=" + x_path_, "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("{\"dtype\": \"int32\", \"shape\": [1, 2], \"values\": [1, 2]}"));
  }
}

// A SavedModel: saved_model.pb (field 2: the MetaGraphDef, tagged "serve")
// and variables/variables with w = `w`. Returns the export directory.
std::string WriteSavedModel(const std::string& export_dir, tensorflow::MetaGraphDef meta,
                            std::vector<float> w) {
  CKPT_EXPECT_OK(Env::Posix()->CreateDirs(export_dir + "/variables"));
  meta.mutable_meta_info_def()->add_tags("serve");
  std::string bytes = meta.SerializeAsString();
  std::string saved_model = "\x12";
  for (uint64_t n = bytes.size();; n >>= 7) {
    saved_model += static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    if (n < 0x80) break;
  }
  saved_model += bytes;
  CKPT_EXPECT_OK(
      testing::WriteStringToFile(Env::Posix(), export_dir + "/saved_model.pb", saved_model));
  auto writer = BundleWriter::Create(export_dir + "/variables/variables").value();
  CKPT_EXPECT_OK(writer->Add("w", Tensor::FromVector<float>({1, 2}, w)));
  CKPT_EXPECT_OK(writer->Finish());
  return export_dir;
}

TEST_F(RunCommandTest, SavedModelRestoresFromItsVariables) {
  const std::string export_dir = WriteSavedModel(dir_ + "/export", meta_, {1000, 2000});
  CommandResult r = RunCommandLine(
      {"run", "--saved_model", export_dir, "--feed", "x:0=" + x_path_, "--fetch", "y:0", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"values\": [1001, 2002]"));
  r = RunCommandLine({"run", "--saved_model", export_dir, "--tags", "train", "--fetch", "y:0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("train"));
  r = RunCommandLine({"graph", export_dir});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("y\tAdd\tx,w/read\n"));
}

// The fixture's graph with signatures: serving_default maps input "x" to x:0
// and outputs "y" (y:0) and "out" (scope/out:0); "with_default" has an input
// "k" (k:0, output k_out:0) with the default 3; "broken" an input whose TensorInfo names no
// tensor.
class SignatureRunTest : public RunCommandTest {
 protected:
  void SetUp() override {
    RunCommandTest::SetUp();
    tensorflow::MetaGraphDef meta = meta_;
    ASSERT_TRUE(google::protobuf::TextFormat::MergeFromString(R"(
      signature_def {
        key: "serving_default"
        value {
          inputs { key: "x" value { name: "x:0" dtype: DT_FLOAT
                                    tensor_shape { dim { size: -1 } dim { size: 2 } } } }
          outputs { key: "y" value { name: "y:0" dtype: DT_FLOAT } }
          outputs { key: "out" value { name: "scope/out:0" dtype: DT_FLOAT } }
          method_name: "tensorflow/serving/predict"
        }
      }
      signature_def {
        key: "with_default"
        value {
          inputs { key: "x" value { name: "x:0" dtype: DT_FLOAT } }
          inputs { key: "k" value { name: "k:0" dtype: DT_INT32 } }
          outputs { key: "y" value { name: "y:0" dtype: DT_FLOAT } }
          outputs { key: "k" value { name: "k_out:0" dtype: DT_INT32 } }
          defaults { key: "k" value { dtype: DT_INT32 int_val: 3 } }
        }
      }
      signature_def {
        key: "broken"
        value {
          inputs { key: "nameless" value { dtype: DT_FLOAT } }
          outputs { key: "y" value { name: "y:0" dtype: DT_FLOAT } }
        }
      }
    )",
                                                              &meta));
    export_dir_ = WriteSavedModel(dir_ + "/export", meta, {10, 20});
  }

  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "--saved_model", export_dir_});
    return RunCommandLine(args);
  }

  std::string export_dir_;
};

TEST_F(SignatureRunTest, AllOutputsSortedByKeyByDefault) {
  // x = [[1, 2]], w = [10, 20]: y = out = [[11, 22]].
  CommandResult r = Run({"--signature", "serving_default", "--feed", "x=" + x_path_, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\n  \"out\": {\"dtype\": \"float\", \"shape\": [1, 2], \"values\": [11, 22]},\n"
            "  \"y\": {\"dtype\": \"float\", \"shape\": [1, 2], \"values\": [11, 22]}\n}\n");
  r = Run({"--signature", "serving_default", "--feed", "x=" + x_path_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Result for output key out:\n[[11. 22.]]\nResult for output key y:\n[[11. 22.]]\n");
}

TEST_F(SignatureRunTest, FetchesByOutputKeyIntoFilesNamedByKey) {
  const std::string out = dir_ + "/out";
  CommandResult r = Run({"--signature", "serving_default", "--feed", "x=" + x_path_, "--fetch", "y",
                         "--output", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "y\t" + out + "/y.npy\n");
  EXPECT_EQ(Floats(ReadOutput(out + "/y.npy")), (std::vector<float>{11, 22}));
  EXPECT_FALSE(Env::Posix()->FileExists(out + "/out.npy"));
}

TEST_F(SignatureRunTest, AnInputLeftOutIsFedItsDefault) {
  CommandResult r = Run({"--signature", "with_default", "--feed", "x=" + x_path_, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\n  \"k\": {\"dtype\": \"int32\", \"shape\": [], \"values\": [3]},\n"
            "  \"y\": {\"dtype\": \"float\", \"shape\": [1, 2], \"values\": [11, 22]}\n}\n");
  const std::string k = dir_ + "/k.npy";
  CKPT_ASSERT_OK(WriteNpy(Env::Posix(), k, Tensor::FromVector<int32_t>({2}, {5, 6})));
  r = Run({"--signature", "with_default", "--feed", "x=" + x_path_, "--feed", "k=" + k, "--fetch",
           "k", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\n  \"k\": {\"dtype\": \"int32\", \"shape\": [2], \"values\": [5, 6]}\n}\n");
  // Without x (no default) it is refused before running.
  r = Run({"--signature", "with_default"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("signature 'with_default': input 'x' not fed"));
}

// Every error of ImportedGraph::ResolveSignature is tested in
// graph_import_test.cc; here, that they reach stderr with exit code 1.
TEST_F(SignatureRunTest, Errors) {
  const std::string x64 = dir_ + "/x64.npy";
  CKPT_ASSERT_OK(WriteNpy(Env::Posix(), x64, Tensor::FromVector<double>({1, 2}, {1, 2})));
  const std::string x = "x=" + x_path_;
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--signature", "predict", "--feed", x},
       "NOT_FOUND: No signature 'predict' in the meta graph; it has 'broken', 'serving_default', "
       "'with_default'"},
      {{"--signature", "serving_default", "--feed", "input=" + x_path_},
       "INVALID_ARGUMENT: signature 'serving_default' has no input 'input'; its inputs: 'x'"},
      {{"--signature", "serving_default", "--feed", x, "--fetch", "y:0"},
       "INVALID_ARGUMENT: signature 'serving_default' has no output 'y:0'; its outputs: 'out', "
       "'y'"},
      {{"--signature", "serving_default"}, "signature 'serving_default': input 'x' not fed"},
      {{"--signature", "serving_default", "--feed", "x=" + x64},
       "INVALID_ARGUMENT: signature 'serving_default': input 'x' (tensor x:0): expects dtype "
       "float, the value is double"},
      {{"--signature", "serving_default", "--feed", "x"}, "expected INPUT_KEY=FILE.npy"},
      {{"--signature", "serving_default", "--feed", "x=" + dir_ + "/none.npy"},
       "NOT_FOUND: --feed x: "},
      {{"--signature", "broken", "--feed", "nameless=" + x_path_},
       "INVALID_ARGUMENT: input 'nameless' of signature 'broken' names no tensor"},
  };
  for (const Case& c : cases) {
    CommandResult r = Run(c.args);
    EXPECT_EQ(r.code, 1) << c.message;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_EQ(r.out, "") << c.message;
  }
}

TEST_F(SignatureRunTest, SparseOutputsAreUnimplementedAndMissingTensorsNotFound) {
  // A signature without inputs: a sparse output, one naming a tensor the
  // graph lacks, and a good one.
  tensorflow::MetaGraphDef meta = meta_;
  ASSERT_TRUE(google::protobuf::TextFormat::MergeFromString(R"(
    signature_def {
      key: "serving_default"
      value {
        outputs { key: "sparse" value { coo_sparse { values_tensor_name: "y:0" } } }
        outputs { key: "ghost" value { name: "ghost:0" dtype: DT_FLOAT } }
        outputs { key: "w" value { name: "w/read:0" dtype: DT_FLOAT } }
      }
    })",
                                                            &meta));
  const std::string dir = WriteSavedModel(dir_ + "/export2", meta, {10, 20});
  CommandResult r = RunCommandLine({"run", "--saved_model", dir, "--signature", "serving_default"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNIMPLEMENTED: output 'sparse' of signature 'serving_default' is a "
                               "sparse tensor (coo_sparse)"));
  r = RunCommandLine(
      {"run", "--saved_model", dir, "--signature", "serving_default", "--fetch", "ghost"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("The name 'ghost:0' refers to a Tensor which does not exist"));
  r = RunCommandLine(
      {"run", "--saved_model", dir, "--signature", "serving_default", "--fetch", "w", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"w\": {\"dtype\": \"float\", \"shape\": [1, 2], \"values\": "
                               "[10, 20]}"));
}

TEST_F(SignatureRunTest, GraphListsSignatures) {
  CommandResult r = RunCommandLine({"graph", export_dir_, "--signatures"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "broken\tinput\tnameless\t\tDT_FLOAT\t[]\n"
            "broken\toutput\ty\ty:0\tDT_FLOAT\t[]\n"
            "serving_default\tinput\tx\tx:0\tDT_FLOAT\t[-1, 2]\n"
            "serving_default\toutput\tout\tscope/out:0\tDT_FLOAT\t[]\n"
            "serving_default\toutput\ty\ty:0\tDT_FLOAT\t[]\n"
            "with_default\tinput\tk\tk:0\tDT_INT32\t[]\n"
            "with_default\tinput\tx\tx:0\tDT_FLOAT\t[]\n"
            "with_default\toutput\tk\tk_out:0\tDT_INT32\t[]\n"
            "with_default\toutput\ty\ty:0\tDT_FLOAT\t[]\n");
  r = RunCommandLine({"graph", "--saved_model", export_dir_, "--signatures", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"key\": \"serving_default\", \"method_name\": "
                               "\"tensorflow/serving/predict\", \"inputs\": [{\"key\": \"x\", "
                               "\"name\": \"x:0\", \"dtype\": \"DT_FLOAT\", \"shape\": [-1, 2]}], "
                               "\"outputs\": [{\"key\": \"out\", "));
  // A Saver's .meta has none.
  const std::string prefix = WriteCheckpoint(3, {100, 200});
  r = RunCommandLine({"graph", prefix + ".meta", "--signatures", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"signatures\": []}\n");
  r = RunCommandLine({"graph", export_dir_, "--signatures", "--ops"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("at most one of --ops and --signatures"));
}

TEST_F(RunCommandTest, SignatureNeedsASavedModel) {
  const std::string prefix = WriteCheckpoint(3, {100, 200});
  CommandResult r = RunCommandLine(
      {"run", "--meta_graph", prefix + ".meta", "--signature", "serving_default", "--fetch", "y"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: --signature needs --saved_model"));
}

TEST(NpyFileNameTest, UnsafeCharactersBecomeUnderscores) {
  EXPECT_EQ(NpyFileNameForTensor("output_layer/output:0"), "output_layer_output_0.npy");
  EXPECT_EQ(NpyFileNameForTensor("a.b-c"), "a.b-c.npy");
  EXPECT_EQ(NpyFileNameForTensor(".."), "_...npy");
  EXPECT_EQ(NpyFileNameForTensor("x y\n"), "x_y_.npy");
}

TEST_F(RunCommandTest, GraphListsNodesInGraphDefOrder) {
  const std::string prefix = WriteCheckpoint(3, {100, 200});
  CommandResult r = RunCommandLine({"graph", prefix + ".meta"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string want;
  for (const tensorflow::NodeDef& node : meta_.graph_def().node()) {
    want += node.name() + "\t" + node.op() + "\t";
    for (int i = 0; i < node.input_size(); ++i) want += (i ? "," : "") + node.input(i);
    want += "\n";
  }
  EXPECT_EQ(r.out, want);
  EXPECT_THAT(r.out, HasSubstr("y\tAdd\tx,w/read\n"));

  r = RunCommandLine({"graph", prefix + ".meta", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"name\": \"y\", \"op\": \"Add\", \"inputs\": [\"x\", "
                               "\"w/read\"]}"));

  r = RunCommandLine({"graph", prefix + ".meta", "--ops"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1\tAdd\trunnable\n"));
  EXPECT_THAT(r.out, HasSubstr("1\tApplyGradientDescent\tunsupported\n"));
  EXPECT_THAT(r.out, HasSubstr("2\tPlaceholder\trunnable\n"));
  EXPECT_THAT(r.out, HasSubstr("1\tRestoreV2\tunsupported\n"));
  r = RunCommandLine({"graph", prefix + ".meta", "--ops", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"op\": \"Add\", \"count\": 1, \"runnable\": true}"));
  EXPECT_THAT(r.out, HasSubstr("\"nodes\": " + std::to_string(meta_.graph_def().node_size())));
  // Only what a run of y:0 with x fed needs: w, w/read, y (x is cut off).
  r = RunCommandLine({"graph", prefix + ".meta", "--ops", "--fetch", "y:0", "--feed", "x:0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "1\tAdd\trunnable\n1\tIdentity\trunnable\n1\tVariableV2\trunnable\n"
            "# 3 of 3 op types runnable; 3 of 3 nodes\n");
  // One value per --fetch/--feed: the path may come after them.
  CommandResult after =
      RunCommandLine({"graph", "--ops", "--fetch", "y:0", "--feed", "x:0", prefix + ".meta"});
  EXPECT_EQ(after.code, 0) << after.err;
  EXPECT_EQ(after.out, r.out);
  r = RunCommandLine({"graph", prefix + ".meta", "--ops", "--fetch", "weird"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1\tApplyGradientDescent\tunsupported\n"));
  EXPECT_THAT(r.out, HasSubstr("1\tPlaceholder\trunnable\n"));
  r = RunCommandLine({"graph", prefix + ".meta", "--ops", "--fetch", "nope:0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("'nope'"));
}

TEST_F(RunCommandTest, GraphErrors) {
  CommandResult r = RunCommandLine({"graph", dir_ + "/missing.meta"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("missing.meta"));
  const std::string junk = dir_ + "/junk.pbtxt";
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), junk, "node { name: "));
  r = RunCommandLine({"graph", junk});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("junk.pbtxt"));
  EXPECT_EQ(r.out, "");
  r = RunCommandLine({"graph"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("exactly one of PATH and --saved_model"));
}

}  // namespace
}  // namespace ckpt::tools
