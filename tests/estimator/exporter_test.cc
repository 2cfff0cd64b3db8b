// The train-and-evaluate exporters (ckpt/exporter.h): when Latest, Best and
// Final export, how BestExporter reads the best evaluation from eval event
// files, and that retention deletes only old exports' own files, on the real
// file system (symbolic links included). Exports are written by a fake
// ExportFn that lays out SavedModel-shaped directories, except in the tests
// named RealExport*, which call Estimator::ExportSavedModel and skip while it
// is Unimplemented.
#include "ckpt/exporter.h"

#include <unistd.h>

#include <set>

#include "ckpt/event_writer.h"
#include "ckpt/filenames.h"
#include "ckpt/logging.h"
#include "estimator/toy_model.h"
#include "tensorflow/core/util/event.pb.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::ListDir;
using ::ckpt::testing::LogCapture;
using ::ckpt::testing::SnapshotTree;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TempDir;
using ::ckpt::testing::ToyConfig;
using ::ckpt::testing::ToyInput;
using ::ckpt::testing::ToyModelFn;
using ::ckpt::testing::WriteStringToFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Env* const kEnv = Env::Posix();

// Lays out a SavedModel-shaped directory: every file an export consists of.
void WriteFakeSavedModel(const std::string& dir) {
  ASSERT_TRUE(kEnv->CreateDirs(SavedModelVariablesDir(dir)).ok());
  ASSERT_TRUE(kEnv->CreateDirs(SavedModelAssetsDir(dir)).ok());
  const std::string prefix = SavedModelVariablesPrefix(dir);
  for (const std::string& path :
       {SavedModelProtoPath(dir), JoinPath(dir, kSavedModelFingerprintFilename),
        MetaFilename(prefix), DataFilename(prefix, 0, 1),
        JoinPath(SavedModelAssetsDir(dir), "vocab.txt")}) {
    ASSERT_TRUE(WriteStringToFile(kEnv, path, "bytes of " + path).ok());
  }
}

// Stands in for Estimator::ExportSavedModel: exports to base/<next version>
// and records each call.
struct FakeExports {
  int64_t next_version = 1700000000;
  std::vector<std::string> bases;
  std::vector<std::optional<std::string>> checkpoints;
  std::optional<Status> fail;

  ExporterOptions Options() {
    ExporterOptions o;
    o.export_fn = [this](Estimator&, const std::string& base, const ServingInput&,
                         const ExportOptions& options) -> Result<std::string> {
      bases.push_back(base);
      checkpoints.push_back(options.checkpoint_path);
      if (fail) return *fail;
      const std::string dir = ExportDirPath(base, next_version++);
      WriteFakeSavedModel(dir);
      return dir;
    };
    return o;
  }
};

ServingInput ToyServingInput() {
  return ServingInput::Raw({{"x", ServingFeature{DataType::kFloat, PartialShape({-1})}}});
}

// Writes one evaluation as Estimator::Evaluate does: one event at `step`
// whose summary holds every metric as a simple_value scalar.
void WriteEvaluation(EventWriter* writer, int64_t step, const EvalResult& result) {
  tensorflow::Event event;
  event.set_wall_time(1);
  event.set_step(step);
  for (const auto& [tag, value] : result) {
    tensorflow::Summary::Value* v = event.mutable_summary()->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  ASSERT_TRUE(writer->AddSerializedEvent(event.SerializeAsString()).ok());
}

class ExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = TempDir();
    model_dir_ = JoinPath(root_, "model");
    EstimatorOptions o;
    o.model_fn = ToyModelFn(ToyConfig{});
    o.model_dir = model_dir_;
    o.hostname = "testhost";
    estimator_ = Estimator::Create(std::move(o)).value();
  }
  std::string ExportDir(const std::string& name) { return ExportPath(model_dir_, name); }
  // One Export call of `exporter` into its export path.
  Result<std::optional<std::string>> Run(Exporter& exporter, const EvalResult& eval = {},
                                         bool final_export = false) {
    return exporter.Export(*estimator_, ExportDir(exporter.name()), "/ckpt/model.ckpt-7", eval,
                           final_export);
  }
  std::unique_ptr<EventWriter> EvalWriter(const std::string& subdir = "eval") {
    EventWriterOptions o;
    o.hostname = "testhost";
    o.scalar_style = ScalarStyle::kSimpleValue;
    o.filename_suffix = "." + std::to_string(writers_++);  // several in one second
    return EventWriter::Create(JoinPath(model_dir_, subdir), o).value();
  }

  std::string root_;
  std::string model_dir_;
  std::unique_ptr<Estimator> estimator_;
  FakeExports fake_;
  int writers_ = 0;
};

TEST(ExportPathTest, IsModelDirExportName) {
  EXPECT_EQ(ExportPath("models/iris", "best"), "models/iris/export/best");
  EXPECT_TRUE(IsSavedModelVariablesFileName("variables.index"));
  EXPECT_TRUE(IsSavedModelVariablesFileName("variables.data-00000-of-00001"));
  EXPECT_FALSE(IsSavedModelVariablesFileName("variables.data-0-of-1"));
  EXPECT_FALSE(IsSavedModelVariablesFileName("other.index"));
  EXPECT_FALSE(IsSavedModelVariablesFileName("variables"));
}

TEST_F(ExporterTest, CreateRefusesBadArguments) {
  EXPECT_THAT(LatestExporter::Create("latest", ToyServingInput(), 0).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "`exports_to_keep`, if provided, must be a positive number. Got 0"));
  for (const std::string name : {"", ".", "..", "a/b", "/abs"}) {
    EXPECT_THAT(LatestExporter::Create(name, ToyServingInput()).status(),
                StatusIs(StatusCode::kInvalidArgument, "one path component"))
        << name;
    EXPECT_THAT(FinalExporter::Create(name, ToyServingInput()).status(),
                StatusIs(StatusCode::kInvalidArgument, "one path component"))
        << name;
  }
  BestExporterOptions best;
  best.exports_to_keep = -1;
  EXPECT_THAT(BestExporter::Create("best", ToyServingInput(), best).status(),
              StatusIs(StatusCode::kInvalidArgument, "Got -1"));
  best = BestExporterOptions();
  best.compare_fn = nullptr;
  EXPECT_THAT(BestExporter::Create("best", ToyServingInput(), best).status(),
              StatusIs(StatusCode::kInvalidArgument, "`compare_fn` must not be None."));
}

TEST_F(ExporterTest, LatestExportsEveryTimeAndKeepsTheNewest) {
  auto latest = LatestExporter::Create("latest", ToyServingInput(), 2, fake_.Options()).value();
  std::vector<std::string> dirs;
  for (int i = 0; i < 4; ++i) {
    std::optional<std::string> dir = Run(*latest).value();
    ASSERT_TRUE(dir.has_value());
    dirs.push_back(*dir);
  }
  EXPECT_EQ(dirs[3], ExportDirPath(ExportDir("latest"), 1700000003));
  EXPECT_THAT(ListDir(kEnv, ExportDir("latest")), ElementsAre("1700000002", "1700000003"));
  EXPECT_THAT(fake_.bases, ElementsAre(ExportDir("latest"), ExportDir("latest"),
                                       ExportDir("latest"), ExportDir("latest")));
  EXPECT_EQ(fake_.checkpoints[0], std::optional<std::string>("/ckpt/model.ckpt-7"));
}

TEST_F(ExporterTest, LatestWithoutExportsToKeepKeepsAll) {
  auto latest =
      LatestExporter::Create("latest", ToyServingInput(), std::nullopt, fake_.Options()).value();
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(Run(*latest).ok());
  EXPECT_EQ(ListDir(kEnv, ExportDir("latest")).size(), 7u);
}

TEST_F(ExporterTest, FailedExportIsReturnedAndCollectsNothing) {
  WriteFakeSavedModel(ExportDirPath(ExportDir("latest"), 1));
  WriteFakeSavedModel(ExportDirPath(ExportDir("latest"), 2));
  auto latest = LatestExporter::Create("latest", ToyServingInput(), 1, fake_.Options()).value();
  fake_.fail = NotFoundError("Couldn't find trained model at /m.");
  EXPECT_THAT(Run(*latest).status(), StatusIs(StatusCode::kNotFound, "Couldn't find trained"));
  EXPECT_THAT(ListDir(kEnv, ExportDir("latest")), ElementsAre("1", "2"));
}

TEST_F(ExporterTest, FinalExportsOnlyTheFinalEvaluation) {
  auto final_exporter = FinalExporter::Create("final", ToyServingInput(), fake_.Options()).value();
  EXPECT_EQ(Run(*final_exporter, {}, /*final_export=*/false).value(), std::nullopt);
  EXPECT_TRUE(fake_.bases.empty());
  std::optional<std::string> dir = Run(*final_exporter, {}, /*final_export=*/true).value();
  ASSERT_TRUE(dir.has_value());
  EXPECT_TRUE(kEnv->FileExists(SavedModelProtoPath(*dir)));
  EXPECT_THAT(fake_.bases, ElementsAre(ExportDir("final")));
}

// --- Retention ---------------------------------------------------------------

TEST_F(ExporterTest, RetentionDeletesOnlyWhatOldExportsWrote) {
  const std::string base = ExportDir("latest");
  const std::string outside = JoinPath(root_, "outside");
  WriteFakeSavedModel(outside);  // looks like an export, but is not in base
  ASSERT_TRUE(WriteStringToFile(kEnv, JoinPath(root_, "secret.txt"), "keep me").ok());
  // Old exports: 100 fully ours, 101 with a user's files, 102 with links out.
  WriteFakeSavedModel(ExportDirPath(base, 100));
  WriteFakeSavedModel(ExportDirPath(base, 101));
  const std::string user_notes = JoinPath(ExportDirPath(base, 101), "notes.txt");
  const std::string user_vars = JoinPath(SavedModelVariablesDir(ExportDirPath(base, 101)), "mine");
  ASSERT_TRUE(WriteStringToFile(kEnv, user_notes, "mine").ok());
  ASSERT_TRUE(WriteStringToFile(kEnv, user_vars, "mine").ok());
  WriteFakeSavedModel(ExportDirPath(base, 102));
  const std::string asset_link = JoinPath(SavedModelAssetsDir(ExportDirPath(base, 102)), "link");
  ASSERT_EQ(symlink(JoinPath(root_, "secret.txt").c_str(), asset_link.c_str()), 0);
  // Never exports: a numbered directory without saved_model.pb, other names,
  // a build in progress, a plain file with an export's name, a link to one.
  ASSERT_TRUE(kEnv->CreateDirs(JoinPath(ExportDirPath(base, 99), "variables")).ok());
  WriteFakeSavedModel(JoinPath(base, "best"));
  WriteFakeSavedModel(JoinPath(base, "temp-123"));
  ASSERT_TRUE(WriteStringToFile(kEnv, JoinPath(base, "123"), "a file").ok());
  ASSERT_EQ(symlink(outside.c_str(), JoinPath(base, "124").c_str()), 0);
  // The newest two.
  WriteFakeSavedModel(ExportDirPath(base, 200));
  WriteFakeSavedModel(ExportDirPath(base, 300));
  const auto outside_before = SnapshotTree(outside);
  const auto others_before = SnapshotTree(JoinPath(base, "best"));
  const auto temp_before = SnapshotTree(JoinPath(base, "temp-123"));
  const auto newest_before = SnapshotTree(ExportDirPath(base, 300));

  LogCapture capture(LogSeverity::kWarning);
  std::vector<std::string> removed = GarbageCollectExports(kEnv, base, 2).value();

  EXPECT_THAT(removed, ElementsAre(ExportDirPath(base, 100)));
  EXPECT_THAT(ListDir(kEnv, base),
              ElementsAre("101", "102", "123", "124", "200", "300", "99", "best", "temp-123"));
  // 101: only the user's files and the directories holding them are left.
  EXPECT_THAT(ListDir(kEnv, ExportDirPath(base, 101)), ElementsAre("notes.txt", "variables"));
  EXPECT_THAT(ListDir(kEnv, SavedModelVariablesDir(ExportDirPath(base, 101))), ElementsAre("mine"));
  // 102: the link stays (not followed, not deleted), and so does assets/.
  EXPECT_THAT(ListDir(kEnv, ExportDirPath(base, 102)), ElementsAre("assets"));
  EXPECT_THAT(ListDir(kEnv, SavedModelAssetsDir(ExportDirPath(base, 102))), ElementsAre("link"));
  EXPECT_TRUE(kEnv->IsSymlink(asset_link));
  EXPECT_EQ(SnapshotTree(root_).at(JoinPath(root_, "secret.txt")), "keep me");
  EXPECT_EQ(SnapshotTree(outside), outside_before);
  EXPECT_EQ(SnapshotTree(JoinPath(base, "best")), others_before);
  EXPECT_EQ(SnapshotTree(JoinPath(base, "temp-123")), temp_before);
  EXPECT_EQ(SnapshotTree(ExportDirPath(base, 300)), newest_before);
  EXPECT_TRUE(kEnv->FileExists(SavedModelProtoPath(ExportDirPath(base, 200))));
  EXPECT_TRUE(kEnv->IsDirectory(JoinPath(ExportDirPath(base, 99), "variables")));
  // Each thing left behind is named.
  std::set<std::string> named;
  for (const std::string& w : capture.lines()) {
    for (const std::string& p : {user_notes, user_vars, asset_link}) {
      if (w.find("\"" + p + "\"") != std::string::npos) named.insert(p);
    }
  }
  EXPECT_EQ(named, (std::set<std::string>{user_notes, user_vars, asset_link}));
}

TEST_F(ExporterTest, RetentionOfAMissingDirectoryIsNoError) {
  EXPECT_TRUE(GarbageCollectExports(kEnv, JoinPath(root_, "none"), 1).value().empty());
  EXPECT_THAT(GarbageCollectExports(kEnv, root_, 0).status(),
              StatusIs(StatusCode::kInvalidArgument, "must be positive, got 0"));
}

TEST_F(ExporterTest, ExportPathThatIsALinkToADirectoryOutsideIsCollectedInside) {
  // The caller's own export_path may be a link (the user's choice); only its
  // numbered children are collected, and links among them are never entered.
  const std::string real_base = JoinPath(root_, "real_exports");
  WriteFakeSavedModel(ExportDirPath(real_base, 1));
  WriteFakeSavedModel(ExportDirPath(real_base, 2));
  ASSERT_TRUE(kEnv->CreateDirs(model_dir_).ok());
  const std::string link_base = JoinPath(root_, "linked");
  ASSERT_EQ(symlink(real_base.c_str(), link_base.c_str()), 0);
  EXPECT_THAT(GarbageCollectExports(kEnv, link_base, 1).value(),
              ElementsAre(ExportDirPath(link_base, 1)));
  EXPECT_THAT(ListDir(kEnv, real_base), ElementsAre("2"));
}

// --- BestExporter ------------------------------------------------------------

TEST_F(ExporterTest, BestReadsTheBestEvaluationSoFarFromEvalEvents) {
  {
    auto writer = EvalWriter();
    WriteEvaluation(writer.get(), 10, {{"loss", 0.5}, {"accuracy", 0.7}});
    WriteEvaluation(writer.get(), 20, {{"loss", 0.3}, {"accuracy", 0.8}});
    WriteEvaluation(writer.get(), 30, {{"loss", 0.4}, {"accuracy", 0.9}});
    ASSERT_TRUE(writer->Close().ok());
    // Another evaluation's directory: not in the pattern.
    auto other = EvalWriter("eval_other");
    WriteEvaluation(other.get(), 40, {{"loss", 0.01}});
    ASSERT_TRUE(other->Close().ok());
    // Nor is a copy of it in eval/ under a name that is not "*.tfevents.*".
    const std::string bytes = SnapshotTree(model_dir_).at(other->path());
    ASSERT_TRUE(WriteStringToFile(kEnv, JoinPath(model_dir_, "eval/backup.bin"), bytes).ok());
  }
  auto best = BestExporter::Create("best", ToyServingInput(), {}, fake_.Options()).value();
  // Worse than 0.3: no export.
  EXPECT_EQ(Run(*best, {{"loss", 0.35}}).value(), std::nullopt);
  ASSERT_TRUE(best->best_eval_result().has_value());
  EXPECT_FLOAT_EQ(best->best_eval_result()->at("loss"), 0.3f);
  EXPECT_FLOAT_EQ(best->best_eval_result()->at("accuracy"), 0.8f);
  // Better: exported, and now the best.
  EXPECT_TRUE(Run(*best, {{"loss", 0.2}}).value().has_value());
  EXPECT_EQ(Run(*best, {{"loss", 0.25}}).value(), std::nullopt);
  EXPECT_TRUE(Run(*best, {{"loss", 0.1}}).value().has_value());
  EXPECT_EQ(fake_.bases.size(), 2u);
  EXPECT_EQ(ListDir(kEnv, ExportDir("best")).size(), 2u);
}

TEST_F(ExporterTest, BestWithoutEventsExportsFirstAndCollects) {
  BestExporterOptions options;
  options.exports_to_keep = 1;
  auto best = BestExporter::Create("best", ToyServingInput(), options, fake_.Options()).value();
  EXPECT_TRUE(Run(*best, {{"loss", 9}}).value().has_value());
  EXPECT_EQ(Run(*best, {{"loss", 9}}).value(), std::nullopt);  // not smaller
  std::optional<std::string> dir = Run(*best, {{"loss", 1}}).value();
  ASSERT_TRUE(dir.has_value());
  EXPECT_THAT(ListDir(kEnv, ExportDir("best")), ElementsAre(std::string(Basename(*dir))));
}

TEST_F(ExporterTest, BestWithACustomCompareFn) {
  {
    auto writer = EvalWriter();
    WriteEvaluation(writer.get(), 10, {{"accuracy", 0.6}});
    WriteEvaluation(writer.get(), 20, {{"accuracy", 0.9}});
    WriteEvaluation(writer.get(), 30, {{"accuracy", 0.7}});
    ASSERT_TRUE(writer->Close().ok());
  }
  BestExporterOptions options;
  options.compare_fn = [](const EvalResult& best, const EvalResult& current) -> Result<bool> {
    return current.at("accuracy") > best.at("accuracy");
  };
  auto best = BestExporter::Create("best", ToyServingInput(), options, fake_.Options()).value();
  EXPECT_EQ(Run(*best, {{"accuracy", 0.85}}).value(), std::nullopt);
  EXPECT_FLOAT_EQ(best->best_eval_result()->at("accuracy"), 0.9f);
  EXPECT_TRUE(Run(*best, {{"accuracy", 0.95}}).value().has_value());
}

TEST_F(ExporterTest, BestWithoutLossIsAnError) {
  {
    auto writer = EvalWriter();
    WriteEvaluation(writer.get(), 10, {{"loss", 0.5}});
    ASSERT_TRUE(writer->Close().ok());
  }
  auto best = BestExporter::Create("best", ToyServingInput(), {}, fake_.Options()).value();
  EXPECT_THAT(Run(*best, {{"accuracy", 0.9}}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "current_eval_result cannot be empty or no loss is found in it."));
  EXPECT_THAT(Run(*best, {}).status(),
              StatusIs(StatusCode::kInvalidArgument, "current_eval_result"));
  EXPECT_TRUE(fake_.bases.empty());
  // An evaluation on disk without loss after one with it: the best is empty of loss.
  EXPECT_THAT(LossSmaller({{"accuracy", 1}}, {{"loss", 1}}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       "best_eval_result cannot be empty or no loss is found in it."));
  {
    auto writer = EvalWriter();
    WriteEvaluation(writer.get(), 20, {{"accuracy", 0.9}});
    ASSERT_TRUE(writer->Close().ok());
  }
  auto reread = BestExporter::Create("best", ToyServingInput(), {}, fake_.Options()).value();
  Status s = Run(*reread, {{"loss", 0.1}}).status();
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "no loss is found"));
  EXPECT_THAT(s.message(), HasSubstr(JoinPath(model_dir_, "eval")));  // names the event file
}

TEST_F(ExporterTest, BestWithACorruptEventFileNamesIt) {
  const std::string path = JoinPath(model_dir_, "eval/events.out.tfevents.1.testhost");
  ASSERT_TRUE(kEnv->CreateDirs(JoinPath(model_dir_, "eval")).ok());
  ASSERT_TRUE(WriteStringToFile(kEnv, path, std::string(40, 'x')).ok());
  auto best = BestExporter::Create("best", ToyServingInput(), {}, fake_.Options()).value();
  Status s = Run(*best, {{"loss", 0.1}}).status();
  EXPECT_THAT(s, StatusIs(StatusCode::kDataLoss, path));
  EXPECT_TRUE(fake_.bases.empty());
}

TEST_F(ExporterTest, BestWithAnAbsolutePattern) {
  const std::string elsewhere = JoinPath(root_, "elsewhere");
  EventWriterOptions o;
  o.hostname = "testhost";
  auto writer = EventWriter::Create(elsewhere, o).value();
  WriteEvaluation(writer.get(), 10, {{"loss", 0.5}});
  ASSERT_TRUE(writer->Close().ok());
  BestExporterOptions options;
  options.event_file_pattern = JoinPath(elsewhere, "*.tfevents.*");
  auto best = BestExporter::Create("best", ToyServingInput(), options, fake_.Options()).value();
  EXPECT_EQ(Run(*best, {{"loss", 0.6}}).value(), std::nullopt);
  EXPECT_FLOAT_EQ(best->best_eval_result()->at("loss"), 0.5f);
}

TEST_F(ExporterTest, BestReadsWhatEvaluateWrote) {
  TrainOptions train;
  train.steps = 5;
  ASSERT_TRUE(estimator_->Train(ToyInput(), train).ok());
  EvaluateOptions eval;
  eval.steps = 2;
  EvalResult metrics = estimator_->Evaluate(ToyInput(), eval).value();
  const double loss = metrics.at("loss");
  ASSERT_GT(loss, 0);
  auto best = BestExporter::Create("best", ToyServingInput(), {}, fake_.Options()).value();
  EXPECT_EQ(Run(*best, {{"loss", loss * 2}}).value(), std::nullopt);
  EXPECT_FLOAT_EQ(best->best_eval_result()->at("loss"), static_cast<float>(loss));
  EXPECT_FLOAT_EQ(best->best_eval_result()->at("mae"), static_cast<float>(metrics.at("mae")));
  EXPECT_TRUE(Run(*best, {{"loss", loss / 2}}).value().has_value());
}

// --- With the real Estimator::ExportSavedModel (skipped until it exists) -----

TEST_F(ExporterTest, RealExportLatestWritesSavedModels) {
  TrainOptions train;
  train.steps = 3;
  ASSERT_TRUE(estimator_->Train(ToyInput(), train).ok());
  auto latest = LatestExporter::Create("latest", ToyServingInput(), 1).value();
  Result<std::optional<std::string>> first =
      latest->Export(*estimator_, ExportDir("latest"), "", {}, false);
  if (first.status().code() == StatusCode::kUnimplemented) {
    GTEST_SKIP() << "Estimator::ExportSavedModel is not implemented yet: " << first.status();
  }
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_TRUE(kEnv->FileExists(SavedModelProtoPath(**first)));
  EXPECT_TRUE(kEnv->FileExists(MetaFilename(SavedModelVariablesPrefix(**first))));
  std::optional<std::string> second =
      latest->Export(*estimator_, ExportDir("latest"), "", {}, false).value();
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT(ListDir(kEnv, ExportDir("latest")), ElementsAre(std::string(Basename(*second))));
}

}  // namespace
}  // namespace ckpt
