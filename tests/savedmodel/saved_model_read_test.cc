// Reading SavedModels: ReadSavedModel, FindMetaGraph, IsSavedModelDir on
// TF-written SavedModels (tests/savedmodel/testdata: TF Serving's
// half_plus_two, written by TF 1.14 and by TF2's tf.saved_model.save) and on
// broken ones; and every checkpoint reader taking a SavedModel directory as
// its variables (checkpoint/resolve.h).
#include <string>
#include <vector>

#include "checkpoint/resolve.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/filenames.h"
#include "ckpt/graph_import.h"
#include "ckpt/object_graph.h"
#include "ckpt/saved_model.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TestData(const std::string& name) {
  return JoinPath(CKPT_SAVEDMODEL_TESTDATA, name);
}

tensorflow::SavedModel ModelWithTagSets(const std::vector<std::vector<std::string>>& tag_sets) {
  tensorflow::SavedModel model;
  for (const auto& tags : tag_sets) {
    auto* meta = model.add_meta_graphs();
    for (const std::string& tag : tags) meta->mutable_meta_info_def()->add_tags(tag);
  }
  return model;
}

TEST(ReadSavedModelTest, ReadsTfWrittenSavedModelByDirectoryOrFile) {
  for (const char* name : {"half_plus_two", "half_plus_two_tf2"}) {
    const std::string dir = TestData(name);
    CKPT_ASSERT_OK_AND_ASSIGN(tensorflow::SavedModel by_dir, ReadSavedModel(Env::Posix(), dir));
    CKPT_ASSERT_OK_AND_ASSIGN(tensorflow::SavedModel by_file,
                              ReadSavedModel(Env::Posix(), SavedModelProtoPath(dir)));
    ASSERT_EQ(by_dir.meta_graphs_size(), 1) << name;
    // Text format sorts map entries; binary serialisation of maps need not.
    EXPECT_TRUE(by_dir.DebugString() == by_file.DebugString()) << name;
    EXPECT_THAT(by_dir.meta_graphs(0).meta_info_def().tags(), ElementsAre("serve")) << name;
    EXPECT_EQ(by_dir.meta_graphs(0).signature_def().count("serving_default"), 1u) << name;
  }
  CKPT_ASSERT_OK_AND_ASSIGN(tensorflow::SavedModel tf1,
                            ReadSavedModel(Env::Posix(), TestData("half_plus_two")));
  EXPECT_EQ(tf1.meta_graphs(0).meta_info_def().tensorflow_version(), "1.14.0");
  EXPECT_EQ(tf1.meta_graphs(0).signature_def_size(), 5);
}

class ReadSavedModelErrorTest : public testing::EnvParamTest {};

TEST_P(ReadSavedModelErrorTest, MissingIsNotFoundNamingTheFile) {
  EXPECT_THAT(ReadSavedModel(env_, dir_),
              StatusIs(StatusCode::kNotFound, SavedModelProtoPath(dir_)));
  EXPECT_THAT(ReadSavedModel(env_, Path("nowhere/saved_model.pb")),
              StatusIs(StatusCode::kNotFound, Path("nowhere/saved_model.pb")));
  EXPECT_FALSE(IsSavedModelDir(env_, dir_));
}

TEST_P(ReadSavedModelErrorTest, GarbageIsDataLossNamingTheFile) {
  CKPT_ASSERT_OK(testing::WriteStringToFile(env_, SavedModelProtoPath(dir_), "\xff\xff\xff garbage"));
  EXPECT_TRUE(IsSavedModelDir(env_, dir_));
  EXPECT_THAT(ReadSavedModel(env_, dir_),
              StatusIs(StatusCode::kDataLoss, SavedModelProtoPath(dir_) + " is not a SavedModel"));
}

TEST_P(ReadSavedModelErrorTest, FileNamedLikeADirectoryIsNotASavedModelDir) {
  CKPT_ASSERT_OK(testing::WriteStringToFile(env_, Path("file"), "x"));
  EXPECT_FALSE(IsSavedModelDir(env_, Path("file")));
}

TEST(ReadSavedModelTest, NullEnvIsInvalidArgument) {
  EXPECT_THAT(ReadSavedModel(nullptr, "x"), StatusIs(StatusCode::kInvalidArgument, "env"));
}

INSTANTIATE_TEST_SUITE_P(Envs, ReadSavedModelErrorTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem));

TEST(FindMetaGraphTest, MatchesTagSetsIgnoringOrderAndRepeats) {
  const tensorflow::SavedModel model = ModelWithTagSets({{"train"}, {"serve", "gpu"}, {"serve"}});
  CKPT_ASSERT_OK_AND_ASSIGN(const tensorflow::MetaGraphDef* gpu,
                            FindMetaGraph(model, {"gpu", "serve"}));
  EXPECT_EQ(gpu, &model.meta_graphs(1));
  CKPT_ASSERT_OK_AND_ASSIGN(gpu, FindMetaGraph(model, {"serve", "gpu", "serve"}));
  EXPECT_EQ(gpu, &model.meta_graphs(1));
  CKPT_ASSERT_OK_AND_ASSIGN(const tensorflow::MetaGraphDef* serve, FindMetaGraph(model, {"serve"}));
  EXPECT_EQ(serve, &model.meta_graphs(2)) << "a subset of tags is not a match";
}

TEST(FindMetaGraphTest, NotFoundNamesTheTagsAskedForAndThosePresent) {
  const tensorflow::SavedModel model = ModelWithTagSets({{"train"}, {"serve", "gpu"}});
  Result<const tensorflow::MetaGraphDef*> r = FindMetaGraph(model, {"tpu", "serve"});
  EXPECT_THAT(r, StatusIs(StatusCode::kNotFound, "no meta graph with tags {serve, tpu}"));
  EXPECT_THAT(r.status().message(), HasSubstr("it has {train}, {gpu, serve}"));
  EXPECT_THAT(FindMetaGraph(tensorflow::SavedModel(), {"serve"}),
              StatusIs(StatusCode::kNotFound, "it has no meta graphs"));
}

TEST(ImportSavedModelTest, ImportsByTagsAndListsTagSetsWhenMissing) {
  const std::string dir = TestData("half_plus_two");
  CKPT_ASSERT_OK_AND_ASSIGN(auto graph, ImportSavedModel(Env::Posix(), dir, {"serve"}));
  EXPECT_EQ(graph->signatures().count("regress_x_to_y"), 1u);
  Result<std::shared_ptr<const ImportedGraph>> missing =
      ImportSavedModel(Env::Posix(), dir, {"serve", "gpu"});
  EXPECT_THAT(missing, StatusIs(StatusCode::kNotFound,
                                "Could not find meta graph def matching supplied tags: { gpu, serve }"));
  EXPECT_THAT(missing.status().message(), HasSubstr("it has {serve}"));
}

// ---- a SavedModel directory as a checkpoint

TEST(SavedModelCheckpointTest, CheckpointReaderOpensTheVariables) {
  const std::string dir = TestData("half_plus_two");
  for (const std::string& path : {dir, dir + "/"}) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(path));
    EXPECT_EQ(reader->prefix(), SavedModelVariablesPrefix(dir)) << path;
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor a, reader->GetTensor("a"));
    EXPECT_EQ(a.flat<float>()[0], 0.5f);
  }
}

TEST(SavedModelCheckpointTest, ObjectCheckpointReaderReadsATf2SavedModel) {
  const std::string dir = TestData("half_plus_two_tf2");
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, ObjectCheckpointReader::Open(dir));
  std::vector<std::string> paths;
  for (const ObjectVariableInfo& v : reader->Variables()) paths.push_back(v.path);
  EXPECT_THAT(paths, ElementsAre("a", "b", "c"));
}

class SavedModelCheckpointEnvTest : public testing::EnvParamTest {};

TEST_P(SavedModelCheckpointEnvTest, MissingVariablesIsNotFoundNamingTheIndex) {
  CKPT_ASSERT_OK(testing::WriteStringToFile(env_, SavedModelProtoPath(dir_), "x"));
  CheckpointReaderOptions options;
  options.env = env_;
  const std::string index = MetaFilename(SavedModelVariablesPrefix(dir_));
  EXPECT_THAT(CheckpointReader::Open(dir_, options), StatusIs(StatusCode::kNotFound, index));
  EXPECT_THAT(ObjectCheckpointReader::Open(dir_, options), StatusIs(StatusCode::kNotFound, index));
  EXPECT_TRUE(IsSavedModelCheckpointDir(env_, dir_));
  EXPECT_THAT(SavedModelCheckpoint(env_, dir_), StatusIs(StatusCode::kNotFound, index));
}

TEST_P(SavedModelCheckpointEnvTest, OrdinaryDirectoryIsNotASavedModel) {
  EXPECT_FALSE(IsSavedModelCheckpointDir(env_, dir_));
  CheckpointReaderOptions options;
  options.env = env_;
  EXPECT_THAT(CheckpointReader::Open(dir_, options),
              StatusIs(StatusCode::kNotFound, "No checkpoint found in directory"));
}

INSTANTIATE_TEST_SUITE_P(Envs, SavedModelCheckpointEnvTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem));

}  // namespace
}  // namespace ckpt
