// Estimator::ExportSavedModel with the canned DNN classifier: what the
// export holds, that ckpt's graph executor serves it as Predict answers, and
// the errors (TensorFlow serving the same exports: test_saved_model_export.py).
#include <cmath>
#include <set>

#include "ckpt/canned.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/estimator.h"
#include "ckpt/filenames.h"
#include "ckpt/graph_import.h"
#include "ckpt/saved_model.h"
#include "ckpt/session.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TempDir;

const std::vector<std::string> kFeatures = {"b", "a"};  // the input layer sorts them

std::vector<LabeledExample> Examples() {
  std::vector<LabeledExample> out;
  for (int i = 0; i < 12; ++i) {
    const float a = static_cast<float>(i % 4) - 1.5f, b = static_cast<float>(i % 3) - 1.0f;
    out.push_back({{b, a}, (a + b > 0) ? 2 : (a > 0 ? 1 : 0)});
  }
  return out;
}

// An Estimator trained 20 steps into `model_dir`, through `env`.
std::unique_ptr<Estimator> Trained(const std::string& model_dir, Env* env = Env::Posix()) {
  DnnClassifierConfig config;
  config.feature_names = kFeatures;
  config.hidden_units = {5};
  config.batch_norm = true;
  EstimatorOptions options;
  options.model_fn = DnnClassifierModelFn(config);
  options.model_dir = model_dir;
  options.env = env;
  auto estimator = Estimator::Create(options).value();
  ExamplesInputOptions input;
  input.batch_size = 4;
  input.repeat = true;
  TrainOptions train;
  train.steps = 20;
  EXPECT_TRUE(estimator->Train(ExamplesInputFn(Examples(), kFeatures, input), train).ok());
  return estimator;
}

ServingInput RawInput() {
  return ServingInput::Raw({{"a", ServingFeature{DataType::kFloat, PartialShape{}}},
                            {"b", ServingFeature{DataType::kFloat, PartialShape{}}}});
}

std::set<std::string> Children(const std::string& dir) {
  auto names = Env::Posix()->GetChildren(dir);
  if (!names.ok()) return {};
  return {names->begin(), names->end()};
}

TEST(ExportSavedModelTest, CkptServesTheExportAsPredictAnswers) {
  const std::string root = TempDir();
  auto estimator = Trained(JoinPath(root, "model"));
  const std::string base = JoinPath(root, "export");
  Result<std::string> dir = estimator->ExportSavedModel(base, RawInput());
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(std::string(Dirname(*dir)), base);
  EXPECT_GT(ParseExportDirName(Basename(*dir)), 0);
  EXPECT_EQ(Children(base), std::set<std::string>{std::string(Basename(*dir))});

  // The export's variables: the weights and global_step, with the
  // checkpoint's values; no optimizer slots.
  auto exported = CheckpointReader::Open(*dir).value();  // a SavedModel dir reads as its variables
  auto checkpoint = CheckpointReader::Open(*estimator->LatestCheckpoint()).value();
  int weights = 0;
  for (const VariableInfo& v : checkpoint->variables()) {
    const bool optimizer_state = v.name.find("/t_0/") != std::string::npos;
    EXPECT_EQ(exported->HasTensor(v.name), !optimizer_state) << v.name;
    if (optimizer_state) continue;
    ++weights;
    EXPECT_TRUE(exported->GetTensor(v.name)->Equals(*checkpoint->GetTensor(v.name))) << v.name;
  }
  EXPECT_EQ(static_cast<int>(exported->variables().size()), weights);

  // Raw receivers export only predict, as TF's.
  auto graph = ImportSavedModel(Env::Posix(), SavedModelProtoPath(*dir), {kServeTag}).value();
  EXPECT_EQ(graph->signatures().size(), 1u);
  auto session = Session::Create(graph).value();
  ASSERT_TRUE(session->Restore(SavedModelVariablesPrefix(*dir)).ok());
  std::vector<float> a, b;
  for (const LabeledExample& e : Examples()) {
    b.push_back(e.features[0]);
    a.push_back(e.features[1]);
  }
  const int64_t n = static_cast<int64_t>(a.size());
  auto run = graph->ResolveSignature(
      "predict", {{"a", Tensor::FromVector<float>(TensorShape({n}), a)},
                  {"b", Tensor::FromVector<float>(TensorShape({n}), b)}},
      {"probabilities", "class_ids", "classes"});
  ASSERT_TRUE(run.ok()) << run.status();
  auto out = session->Run(run->feeds, run->fetches);
  ASSERT_TRUE(out.ok()) << out.status();

  ExamplesInputOptions predict;
  predict.with_labels = false;
  auto want = estimator->Predict(ExamplesInputFn(Examples(), kFeatures, predict)).value();
  ASSERT_EQ(static_cast<int64_t>(want.size()), n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_NEAR((*out)[0].flat<float>()[i * 3 + c],
                  want[i].at("probabilities").flat<float>()[c], 1e-6);
    }
    EXPECT_EQ((*out)[1].flat<int64_t>()[i], want[i].at("class_ids").flat<int64_t>()[0]);
    EXPECT_EQ((*out)[2].strings()[i], want[i].at("classes").strings()[0]);
  }
}

TEST(ExportSavedModelTest, ExportsInTheSameSecondGoToDistinctDirectories) {
  const std::string root = TempDir();
  auto estimator = Trained(JoinPath(root, "model"));
  const std::string base = JoinPath(root, "export");
  auto first = estimator->ExportSavedModel(base, RawInput());
  auto second = estimator->ExportSavedModel(base, RawInput());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
  EXPECT_TRUE(IsSavedModelDir(Env::Posix(), *first));
  EXPECT_TRUE(IsSavedModelDir(Env::Posix(), *second));
  EXPECT_EQ(Children(base).size(), 2u);
}

TEST(ExportSavedModelTest, ErrorsNameTheCauseAndLeaveNoExport) {
  const std::string root = TempDir();
  const std::string base = JoinPath(root, "export");
  {
    DnnClassifierConfig config;
    config.feature_names = kFeatures;
    EstimatorOptions options;
    options.model_fn = DnnClassifierModelFn(config);
    options.model_dir = JoinPath(root, "empty");
    auto untrained = Estimator::Create(options).value();
    EXPECT_THAT(untrained->ExportSavedModel(base, RawInput()).status(),
                StatusIs(StatusCode::kNotFound, "Couldn't find trained model at"));
  }
  auto estimator = Trained(JoinPath(root, "model"));
  EXPECT_THAT(estimator
                  ->ExportSavedModel(base, ServingInput::Raw({{"a", ServingFeature{}}}))
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "no feature 'b'"));
  EXPECT_THAT(estimator
                  ->ExportSavedModel(
                      base, ServingInput::ParseExample(
                                {{"a", ServingFeature{}},
                                 {"b", ServingFeature{DataType::kString, PartialShape{1}}}}))
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, "serving feature 'b' is string"));
  EXPECT_THAT(estimator->ExportSavedModel(base, ServingInput::Raw({})).status(),
              StatusIs(StatusCode::kInvalidArgument, "no features"));
  EXPECT_TRUE(Children(base).empty());
}

// Another exporter creates the export's directory after this one checked it
// and before its commit (the rename): the first attempt the directory is
// synced under its temporary name, then the second query of its final name
// finds it taken.
class LoseFirstCommitEnv : public ForwardingEnv {
 public:
  LoseFirstCommitEnv(Env* target, std::string base) : ForwardingEnv(target), base_(std::move(base)) {}

  Status SyncDir(const std::string& dir) override {
    if (Dirname(dir) == base_ && ParseExportDirName(Basename(dir)) <= 0) temp_synced_ = true;
    return ForwardingEnv::SyncDir(dir);
  }
  bool FileExists(const std::string& path) override {
    if (temp_synced_ && !raced_ && Dirname(path) == base_ &&
        ParseExportDirName(Basename(path)) > 0) {
      raced_ = true;
      taken_ = path;
      EXPECT_TRUE(target()->CreateDirs(path).ok());
    }
    return ForwardingEnv::FileExists(path);
  }
  const std::string& taken() const { return taken_; }

 private:
  const std::string base_;
  bool temp_synced_ = false;
  bool raced_ = false;
  std::string taken_;
};

TEST(ExportSavedModelTest, AnExportThatLosesTheCommitRaceRetriesWithOneSaverSubgraph) {
  const std::string root = TempDir();
  const std::string base = JoinPath(root, "export");
  LoseFirstCommitEnv env(Env::Posix(), base);
  auto estimator = Trained(JoinPath(root, "model"), &env);
  Result<std::string> dir = estimator->ExportSavedModel(base, RawInput());
  ASSERT_TRUE(dir.ok()) << dir.status();
  ASSERT_FALSE(env.taken().empty());  // the race happened
  EXPECT_NE(*dir, env.taken());
  // The other exporter's directory and ours; no temporary directory left.
  EXPECT_EQ(Children(base), (std::set<std::string>{std::string(Basename(env.taken())),
                                                    std::string(Basename(*dir))}));
  auto model = ReadSavedModel(Env::Posix(), SavedModelProtoPath(*dir));
  ASSERT_TRUE(model.ok()) << model.status();
  const tensorflow::MetaGraphDef& meta = model->meta_graphs(0);
  EXPECT_EQ(meta.saver_def().filename_tensor_name(), "save/Const:0");
  int save_nodes = 0;
  for (const tensorflow::NodeDef& node : meta.graph_def().node()) {
    EXPECT_NE(node.name().rfind("save_1/", 0), 0u) << node.name();
    if (node.name().rfind("save/", 0) == 0) ++save_nodes;
  }
  EXPECT_GT(save_nodes, 0);
}

}  // namespace
}  // namespace ckpt
