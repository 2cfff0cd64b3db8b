// WriteSavedModel and the signature rules (ckpt/saved_model.h): what is
// written, that ckpt's own graph executor serves it, and that a failed or
// refused write leaves nothing behind.
#include <set>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/filenames.h"
#include "ckpt/graph_import.h"
#include "ckpt/saved_model.h"
#include "ckpt/session.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TempDir;
using ::testing::HasSubstr;

// y = x @ w: x float [-1, 2], w [2, 3]; a predict signature x -> y.
struct SmallModel {
  GraphBuilder graph;
  Output x, y;
  GraphVariable w;
  Tensor w_value = Tensor::FromVector<float>(TensorShape({2, 3}), {1, 2, 3, 4, 5, 6});
  std::map<std::string, tensorflow::SignatureDef> signatures;

  SmallModel() {
    x = graph.Placeholder(DataType::kFloat, PartialShape({-1, 2}), "x");
    w = graph.Variable("w", Tensor::FromVector<float>(TensorShape({2, 3}), {0, 0, 0, 0, 0, 0}));
    y = graph.MatMul(x, w.read, false, false, "y");
    signatures["serving_default"] =
        ExportOutput::Predict({{"y", y}}).AsSignatureDef({{"x", x}}).value();
  }
  std::map<std::string, const Tensor*> Values() const { return {{"w", &w_value}}; }
};

std::set<std::string> Children(const std::string& dir) {
  std::vector<std::string> names = Env::Posix()->GetChildren(dir).value();
  return {names.begin(), names.end()};
}

TEST(SavedModelWriterTest, CkptServesWhatItWrote) {
  const std::string dir = JoinPath(TempDir(), "export");
  SmallModel m;
  ASSERT_TRUE(WriteSavedModel(dir, &m.graph, m.signatures, m.Values()).ok());
  EXPECT_EQ(Children(dir), (std::set<std::string>{"saved_model.pb", "variables"}));
  EXPECT_EQ(Children(JoinPath(dir, "variables")),
            (std::set<std::string>{"variables.index", "variables.data-00000-of-00001"}));

  Result<tensorflow::SavedModel> model = ReadSavedModel(Env::Posix(), dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->saved_model_schema_version(), 1);
  ASSERT_EQ(model->meta_graphs_size(), 1);
  const tensorflow::MetaGraphDef& meta = model->meta_graphs(0);
  EXPECT_EQ(std::vector<std::string>(meta.meta_info_def().tags().begin(),
                                     meta.meta_info_def().tags().end()),
            std::vector<std::string>{kServeTag});
  EXPECT_EQ(meta.saver_def().restore_op_name(), "save/restore_all");
  ASSERT_EQ(meta.signature_def().count("serving_default"), 1u);
  const tensorflow::SignatureDef& sig = meta.signature_def().at("serving_default");
  EXPECT_EQ(sig.method_name(), kPredictMethodName);
  EXPECT_EQ(sig.inputs().at("x").name(), "x:0");
  EXPECT_EQ(sig.outputs().at("y").name(), "y:0");
  EXPECT_EQ(sig.inputs().at("x").tensor_shape().dim(0).size(), -1);

  // The variables are the given values, not the graph's initial ones.
  auto reader = CheckpointReader::Open(SavedModelVariablesPrefix(dir));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->GetTensor("w").value().Equals(m.w_value));

  // ckpt's executor restores them through the SaverDef and serves x @ w.
  auto graph = ImportSavedModel(Env::Posix(), SavedModelProtoPath(dir), {kServeTag});
  ASSERT_TRUE(graph.ok()) << graph.status();
  auto session = Session::Create(*graph).value();
  ASSERT_TRUE(session->Restore(SavedModelVariablesPrefix(dir)).ok());
  auto run = (*graph)->ResolveSignature(
      "serving_default", {{"x", Tensor::FromVector<float>(TensorShape({1, 2}), {1, 1})}});
  ASSERT_TRUE(run.ok()) << run.status();
  auto out = session->Run(run->feeds, run->fetches);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE((*out)[0].Equals(Tensor::FromVector<float>(TensorShape({1, 3}), {5, 7, 9})));
}

TEST(SavedModelWriterTest, AnExistingDirectoryIsAlreadyExistsAndUntouched) {
  const std::string dir = JoinPath(TempDir(), "export");
  ASSERT_TRUE(Env::Posix()->CreateDirs(dir).ok());
  ASSERT_TRUE(WriteStringToFileAtomic(Env::Posix(), JoinPath(dir, "mine.txt"), "user").ok());
  SmallModel m;
  EXPECT_THAT(WriteSavedModel(dir, &m.graph, m.signatures, m.Values()),
              StatusIs(StatusCode::kAlreadyExists, "already exists"));
  EXPECT_EQ(Children(dir), std::set<std::string>{"mine.txt"});
}

TEST(SavedModelWriterTest, MissingOrMismatchedValuesNameTheVariableAndWriteNothing) {
  const std::string base = TempDir();
  const std::string dir = JoinPath(base, "export");
  {
    SmallModel m;
    EXPECT_THAT(WriteSavedModel(dir, &m.graph, m.signatures, {}),
                StatusIs(StatusCode::kNotFound, "variable 'w'"));
  }
  {
    SmallModel m;
    Tensor wrong = Tensor::FromVector<float>(TensorShape({3, 2}), {1, 2, 3, 4, 5, 6});
    EXPECT_THAT(WriteSavedModel(dir, &m.graph, m.signatures, {{"w", &wrong}}),
                StatusIs(StatusCode::kInvalidArgument, "variable 'w' is float [3,2]"));
  }
  EXPECT_TRUE(Children(base).empty());
}

// Fails exactly the n-th file creation, rename, directory creation or
// directory sync (1-based), as a full disk or an IO error would; the rest
// work, so the writer's cleanup can run.
class OneFaultEnv : public ForwardingEnv {
 public:
  OneFaultEnv(Env* target, int n) : ForwardingEnv(target), n_(n) {}
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    CKPT_RETURN_IF_ERROR(Tick("create " + path));
    return ForwardingEnv::NewWritableFile(path);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    CKPT_RETURN_IF_ERROR(Tick("rename " + from));
    return ForwardingEnv::RenameFile(from, to);
  }
  Status CreateDirs(const std::string& dir) override {
    CKPT_RETURN_IF_ERROR(Tick("create dirs " + dir));
    return ForwardingEnv::CreateDirs(dir);
  }
  Status SyncDir(const std::string& dir) override {
    CKPT_RETURN_IF_ERROR(Tick("sync dir " + dir));
    return ForwardingEnv::SyncDir(dir);
  }
  bool fired() const { return fired_; }

 private:
  Status Tick(const std::string& what) {
    if (++count_ != n_) return Status::OK();
    fired_ = true;
    return IoError("injected fault: " + what);
  }
  int n_;
  int count_ = 0;
  bool fired_ = false;
};

TEST(SavedModelWriterTest, AFailureAtAnyStepLeavesNoExportAndNoTemporaryFiles) {
  int faults = 0;
  for (int n = 1;; ++n) {
    const std::string base = TempDir();
    const std::string dir = JoinPath(base, "1700000000");
    OneFaultEnv env(Env::Posix(), n);
    SavedModelOptions options;
    options.env = &env;
    options.temp_dir = JoinPath(base, "temp-1700000000");
    SmallModel m;
    Status s = WriteSavedModel(dir, &m.graph, m.signatures, m.Values(), {}, options);
    if (!env.fired()) {  // past the last step: it wrote everything
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_EQ(Children(base), std::set<std::string>{"1700000000"});
      break;
    }
    ++faults;
    EXPECT_THAT(s, StatusIs(StatusCode::kIoError, "injected fault")) << "step " << n;
    if (Env::Posix()->FileExists(dir)) {
      // Only the last step (syncing the parent after the rename) comes after
      // the commit point: the export is complete.
      EXPECT_TRUE(ReadSavedModel(Env::Posix(), dir).ok()) << "step " << n;
      EXPECT_EQ(Children(base), std::set<std::string>{"1700000000"}) << "step " << n;
    } else {
      std::string left;
      for (const std::string& c : Children(base)) left += " " + c;
      EXPECT_TRUE(Children(base).empty()) << "step " << n << ": " << s << "; left:" << left;
    }
  }
  EXPECT_GT(faults, 5);  // the write has that many steps to fail
}

TEST(SavedModelWriterTest, AssetsAreCopiedAndBoundToTheirTensor) {
  const std::string base = TempDir();
  const std::string vocab = JoinPath(base, "vocab.txt");
  ASSERT_TRUE(WriteStringToFileAtomic(Env::Posix(), vocab, "a\nb\n").ok());
  const std::string dir = JoinPath(base, "export");
  SmallModel m;
  Output path = m.graph.Const(Tensor::StringScalar(vocab), "vocab_path");
  ASSERT_TRUE(WriteSavedModel(dir, &m.graph, m.signatures, m.Values(),
                              {SavedModelAsset{vocab, "vocab.txt", path}})
                  .ok());
  EXPECT_EQ(ReadFileToString(Env::Posix(), JoinPath(SavedModelAssetsDir(dir), "vocab.txt")).value(),
            "a\nb\n");
  Result<tensorflow::SavedModel> model = ReadSavedModel(Env::Posix(), dir);
  ASSERT_TRUE(model.ok()) << model.status();
  const tensorflow::MetaGraphDef& meta = model->meta_graphs(0);
  ASSERT_EQ(meta.asset_file_def_size(), 1);
  EXPECT_EQ(meta.asset_file_def(0).filename(), "vocab.txt");
  EXPECT_EQ(meta.asset_file_def(0).tensor_info().name(), "vocab_path:0");

  SmallModel bad;
  Output p = bad.graph.Const(Tensor::StringScalar(vocab), "vocab_path");
  EXPECT_THAT(WriteSavedModel(JoinPath(base, "export2"), &bad.graph, bad.signatures, bad.Values(),
                              {SavedModelAsset{vocab, "../escape.txt", p}}),
              StatusIs(StatusCode::kInvalidArgument, "not a plain base name"));
  EXPECT_FALSE(Env::Posix()->FileExists(JoinPath(base, "export2")));
}

// ---- signatures (TF's export_output rules)

TEST(SignatureTest, ClassificationNeedsOneStringInput) {
  GraphBuilder g;
  Output a = g.Placeholder(DataType::kFloat, PartialShape({-1}), "a");
  Output b = g.Placeholder(DataType::kFloat, PartialShape({-1}), "b");
  Output examples = g.Placeholder(DataType::kString, PartialShape({-1}), "examples");
  Output scores = g.Placeholder(DataType::kFloat, PartialShape({-1, 3}), "scores");
  Output classes = g.Placeholder(DataType::kString, PartialShape({-1, 3}), "classes");
  const ExportOutput classify = ExportOutput::Classification(scores, classes);
  const std::map<std::string, ExportOutput> outputs = {
      {"serving_default", classify},
      {"predict", ExportOutput::Predict({{"scores", scores}})}};

  std::map<std::string, std::string> excluded;
  auto raw = BuildSignatureDefs({{"a", a}, {"b", b}}, outputs, &excluded);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->size(), 1u);
  EXPECT_EQ(raw->count("predict"), 1u);
  EXPECT_EQ(raw->at("predict").inputs().size(), 2);
  ASSERT_EQ(excluded.count("serving_default"), 1u);
  EXPECT_THAT(excluded["serving_default"],
              HasSubstr("Classification signatures can only accept a single tensor input of type "
                        "tf.string"));

  auto parsed = BuildSignatureDefs({{"examples", examples}}, outputs);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const tensorflow::SignatureDef& sig = parsed->at("serving_default");
  EXPECT_EQ(sig.method_name(), kClassifyMethodName);
  EXPECT_EQ(sig.inputs().at(kClassifyInputs).name(), "examples:0");
  EXPECT_EQ(sig.outputs().at(kClassifyOutputScores).name(), "scores:0");
  EXPECT_EQ(sig.outputs().at(kClassifyOutputClasses).name(), "classes:0");
  EXPECT_EQ(parsed->at("predict").inputs().at("examples").name(), "examples:0");

  // One float input is still not a string.
  EXPECT_THAT(classify.AsSignatureDef({{"a", a}}).status(),
              StatusIs(StatusCode::kInvalidArgument, "Received: {'a': a:0 (float)}"));
}

TEST(SignatureTest, MalformedOutputsAreInvalidArgument) {
  GraphBuilder g;
  Output examples = g.Placeholder(DataType::kString, PartialShape({-1}), "examples");
  Output ids = g.Placeholder(DataType::kInt64, PartialShape({-1, 1}), "ids");
  const std::map<std::string, Output> in = {{"examples", examples}};
  EXPECT_THAT(ExportOutput::Classification(ids, Output()).AsSignatureDef(in).status(),
              StatusIs(StatusCode::kInvalidArgument, "scores must be a float32 Tensor"));
  EXPECT_THAT(ExportOutput::Classification(Output(), ids).AsSignatureDef(in).status(),
              StatusIs(StatusCode::kInvalidArgument, "classes must be a string Tensor"));
  EXPECT_THAT(ExportOutput::Classification(Output(), Output()).AsSignatureDef(in).status(),
              StatusIs(StatusCode::kInvalidArgument, "At least one of `scores` and `classes`"));
  EXPECT_THAT(ExportOutput::Regression(ids).AsSignatureDef(in).status(),
              StatusIs(StatusCode::kInvalidArgument, "must be a float32 Tensor"));
  EXPECT_THAT(ExportOutput::Predict({}).AsSignatureDef(in).status(),
              StatusIs(StatusCode::kInvalidArgument, "outputs cannot be empty"));
  EXPECT_THAT(BuildSignatureDefs(in, {{"r", ExportOutput::Regression(ids)}}).status(),
              StatusIs(StatusCode::kInvalidArgument, "no signature"));
}

TEST(SignatureTest, TensorInfoCarriesNameDtypeAndPartialShape) {
  GraphBuilder g;
  Output x = g.Placeholder(DataType::kDouble, PartialShape({-1, 4}), "x");
  tensorflow::TensorInfo info = TensorInfoOf(x);
  EXPECT_EQ(info.name(), "x:0");
  EXPECT_EQ(info.dtype(), tensorflow::DT_DOUBLE);
  ASSERT_EQ(info.tensor_shape().dim_size(), 2);
  EXPECT_EQ(info.tensor_shape().dim(0).size(), -1);
  EXPECT_EQ(info.tensor_shape().dim(1).size(), 4);
  Output u = g.Placeholder(DataType::kFloat, PartialShape::Unknown(), "u");
  EXPECT_TRUE(TensorInfoOf(u).tensor_shape().unknown_rank());
}

}  // namespace
}  // namespace ckpt
