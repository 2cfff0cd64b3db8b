// DnnClassifierModel: Iris training, checkpoint keys, save/restore, and the
// restore error TF reports for a different architecture.
#include "ckpt/dnn_classifier.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/data.h"
#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "ckpt/saver.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;

struct IrisBatches {
  IrisDataSet train;
  IrisDataSet test;
};

Result<IrisBatches> LoadIris() {
  IrisBatches b;
  const std::string dir = std::string(CKPT_SOURCE_DIR) + "/data/iris/";
  CKPT_ASSIGN_OR_RETURN(b.train, LoadIrisCsv(Env::Posix(), dir + "iris_training.csv"));
  CKPT_ASSIGN_OR_RETURN(b.test, LoadIrisCsv(Env::Posix(), dir + "iris_test.csv"));
  return b;
}

std::vector<int64_t> Labels(const std::vector<LabeledExample>& examples) {
  std::vector<int64_t> labels;
  for (const LabeledExample& e : examples) labels.push_back(e.label);
  return labels;
}

// Trains `model` as premade_estimator.py does: shuffle(1000), repeat,
// batch(100), `steps` steps. Returns the losses of every step.
Result<std::vector<double>> Train(DnnClassifierModel* model, const IrisDataSet& data, int steps,
                                  uint64_t seed) {
  CKPT_ASSIGN_OR_RETURN(auto shuffled,
                        Dataset<LabeledExample>::FromVector(data.examples).Shuffle(1000, seed));
  CKPT_ASSIGN_OR_RETURN(auto repeated, shuffled.Repeat());
  CKPT_ASSIGN_OR_RETURN(auto batched, repeated.Batch(100));
  auto it = batched.MakeIterator();
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) {
    std::optional<std::vector<LabeledExample>> batch = it->Next();
    if (!batch) return InternalError("dataset ended");
    CKPT_ASSIGN_OR_RETURN(
        Tensor x, MakeFeatureMatrix(*batch, data.feature_names, model->sorted_feature_names()));
    CKPT_ASSIGN_OR_RETURN(DnnTrainResult r, model->TrainStep(x, Labels(*batch)));
    losses.push_back(r.loss);
  }
  return losses;
}

class DnnClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto iris = LoadIris();
    ASSERT_TRUE(iris.ok()) << iris.status();
    iris_ = std::move(iris).value();
  }
  IrisBatches iris_;
};

TEST_F(DnnClassifierTest, SortsFeatureNames) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create({}));
  EXPECT_EQ(model->sorted_feature_names(),
            (std::vector<std::string>{"PetalLength", "PetalWidth", "SepalLength", "SepalWidth"}));
}

TEST_F(DnnClassifierTest, RejectsBadConfigAndInputs) {
  DnnClassifierConfig c;
  c.hidden_units = {10, 0};
  EXPECT_THAT(DnnClassifierModel::Create(c), StatusIs(StatusCode::kInvalidArgument, "hidden"));
  c = {};
  c.optimizer = "Nope";
  EXPECT_THAT(DnnClassifierModel::Create(c), StatusIs(StatusCode::kInvalidArgument, "Adagrad"));
  c = {};
  c.dropout = 1.0;
  EXPECT_THAT(DnnClassifierModel::Create(c), StatusIs(StatusCode::kInvalidArgument, "dropout"));
  c = {};
  c.feature_names = {"a", "a"};
  EXPECT_THAT(DnnClassifierModel::Create(c), StatusIs(StatusCode::kInvalidArgument, "duplicate"));

  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create({}));
  Tensor bad = Tensor::FromVector<float>(TensorShape({1, 3}), {1, 2, 3});
  EXPECT_THAT(model->Predict(bad), StatusIs(StatusCode::kInvalidArgument, "[batch, 4]"));
  Tensor x = Tensor::FromVector<float>(TensorShape({1, 4}), {1, 2, 3, 4});
  EXPECT_THAT(model->TrainStep(x, {0, 1}), StatusIs(StatusCode::kInvalidArgument, "labels"));
  EXPECT_THAT(model->TrainStep(x, {3}),
              StatusIs(StatusCode::kInvalidArgument, "outside the valid range of [0, 3)"));
  EXPECT_EQ(model->global_step(), 0);
}

TEST_F(DnnClassifierTest, TrainsIrisToHighAccuracy) {
  DnnClassifierConfig c;
  c.seed = 42;
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<double> losses, Train(model.get(), iris_.train, 1000, 7));
  EXPECT_EQ(model->global_step(), 1000);
  // Step-1 loss of an untrained 3-class model on 100 rows is O(100 ln 3).
  EXPECT_GT(losses.front(), 50.0);
  EXPECT_LT(losses.back(), losses.front() / 3);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor x,
                            MakeFeatureMatrix(iris_.test.examples, iris_.test.feature_names,
                                              model->sorted_feature_names()));
  CKPT_ASSERT_OK_AND_ASSIGN(DnnEvalResult eval, model->Evaluate(x, Labels(iris_.test.examples)));
  EXPECT_GE(eval.accuracy, 0.9);
  EXPECT_NEAR(eval.average_loss * 30, eval.loss, 1e-4);
  EXPECT_EQ(eval.global_step, 1000);
}

TEST_F(DnnClassifierTest, DropoutAndOtherOptimizersTrain) {
  for (const char* opt : {"Adam", "SGD", "RMSProp", "Ftrl"}) {
    DnnClassifierConfig c;
    c.optimizer = opt;
    c.dropout = 0.1;
    CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<double> losses, Train(model.get(), iris_.train, 200, 3));
    EXPECT_LT(losses.back(), losses.front()) << opt;
  }
}

TEST_F(DnnClassifierTest, SaveRestoreAndCheckpointKeys) {
  DnnClassifierConfig c;
  c.seed = 1;
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  CKPT_ASSERT_OK(Train(model.get(), iris_.train, 50, 1).status());
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(model->SaveableVariables()));
  const std::string dir = ::ckpt::testing::TempDir();
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix,
                            saver->Save(dir + "/model.ckpt", {.global_step = 50}));

  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(prefix));
  struct Expected {
    const char* key;
    TensorShape shape;
    DataType dtype;
  };
  const std::vector<Expected> expected = {
      {"dnn/hiddenlayer_0/bias", {10}, DataType::kFloat},
      {"dnn/hiddenlayer_0/bias/t_0/Adagrad", {10}, DataType::kFloat},
      {"dnn/hiddenlayer_0/kernel", {4, 10}, DataType::kFloat},
      {"dnn/hiddenlayer_0/kernel/t_0/Adagrad", {4, 10}, DataType::kFloat},
      {"dnn/hiddenlayer_1/bias", {10}, DataType::kFloat},
      {"dnn/hiddenlayer_1/bias/t_0/Adagrad", {10}, DataType::kFloat},
      {"dnn/hiddenlayer_1/kernel", {10, 10}, DataType::kFloat},
      {"dnn/hiddenlayer_1/kernel/t_0/Adagrad", {10, 10}, DataType::kFloat},
      {"dnn/logits/bias", {3}, DataType::kFloat},
      {"dnn/logits/bias/t_0/Adagrad", {3}, DataType::kFloat},
      {"dnn/logits/kernel", {10, 3}, DataType::kFloat},
      {"dnn/logits/kernel/t_0/Adagrad", {10, 3}, DataType::kFloat},
      {"global_step", {}, DataType::kInt64},
  };
  const std::vector<VariableInfo>& vars = reader->variables();
  ASSERT_EQ(vars.size(), expected.size());
  for (size_t i = 0; i < vars.size(); ++i) {
    EXPECT_EQ(vars[i].name, expected[i].key);
    EXPECT_EQ(vars[i].shape, expected[i].shape) << vars[i].name;
    EXPECT_EQ(vars[i].dtype, expected[i].dtype) << vars[i].name;
  }
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor step, reader->GetTensor("global_step"));
  EXPECT_EQ(step.flat<int64_t>()[0], 50);

  // A fresh model (other seed) restored from the checkpoint predicts the same.
  DnnClassifierConfig c2;
  c2.seed = 99;
  CKPT_ASSERT_OK_AND_ASSIGN(auto restored, DnnClassifierModel::Create(c2));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor x,
                            MakeFeatureMatrix(iris_.test.examples, iris_.test.feature_names,
                                              model->sorted_feature_names()));
  CKPT_ASSERT_OK_AND_ASSIGN(DnnPredictions before, restored->Predict(x));
  CKPT_ASSERT_OK_AND_ASSIGN(DnnPredictions want, model->Predict(x));
  EXPECT_FALSE(before.probabilities.Equals(want.probabilities));
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver2, Saver::Create(restored->SaveableVariables()));
  CKPT_ASSERT_OK(saver2->Restore(prefix));
  CKPT_ASSERT_OK_AND_ASSIGN(DnnPredictions got, restored->Predict(x));
  EXPECT_TRUE(got.probabilities.Equals(want.probabilities));
  EXPECT_TRUE(got.class_ids.Equals(want.class_ids));
  EXPECT_EQ(restored->global_step(), 50);
  // Slots came back too: one more identical step keeps the models equal.
  std::vector<LabeledExample> batch(iris_.train.examples.begin(),
                                    iris_.train.examples.begin() + 100);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor bx, MakeFeatureMatrix(batch, iris_.train.feature_names,
                                                         model->sorted_feature_names()));
  CKPT_ASSERT_OK(model->TrainStep(bx, Labels(batch)).status());
  CKPT_ASSERT_OK(restored->TrainStep(bx, Labels(batch)).status());
  CKPT_ASSERT_OK_AND_ASSIGN(got, restored->Predict(x));
  CKPT_ASSERT_OK_AND_ASSIGN(want, model->Predict(x));
  EXPECT_TRUE(got.probabilities.Equals(want.probabilities));

  // Another architecture cannot restore it, with TF's message.
  DnnClassifierConfig wide;
  wide.hidden_units = {20, 20};
  CKPT_ASSERT_OK_AND_ASSIGN(auto other, DnnClassifierModel::Create(wide));
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver3, Saver::Create(other->SaveableVariables()));
  EXPECT_THAT(saver3->Restore(prefix),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = dnn/hiddenlayer_0/bias; shape in shape_and_slice spec [20] "
                       "does not match the shape stored in checkpoint: [10]"));
}

TEST_F(DnnClassifierTest, AdamKeys) {
  DnnClassifierConfig c;
  c.optimizer = "Adam";
  c.hidden_units = {5};
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  std::vector<std::string> names;
  for (const SaveableTensor& s : model->SaveableVariables()) names.push_back(s.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "dnn/head/beta1_power", "dnn/head/beta2_power", "dnn/hiddenlayer_0/bias",
                "dnn/hiddenlayer_0/bias/t_0/Adam", "dnn/hiddenlayer_0/bias/t_0/Adam_1",
                "dnn/hiddenlayer_0/kernel", "dnn/hiddenlayer_0/kernel/t_0/Adam",
                "dnn/hiddenlayer_0/kernel/t_0/Adam_1", "dnn/logits/bias",
                "dnn/logits/bias/t_0/Adam", "dnn/logits/bias/t_0/Adam_1", "dnn/logits/kernel",
                "dnn/logits/kernel/t_0/Adam", "dnn/logits/kernel/t_0/Adam_1", "global_step"}));
}

TEST_F(DnnClassifierTest, DescribeGraphBuildsAMetaGraph) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create({}));
  GraphBuilder graph;
  CKPT_ASSERT_OK(model->DescribeGraph(&graph));
  EXPECT_TRUE(graph.HasNode("features"));
  EXPECT_TRUE(graph.HasNode("dnn/hiddenlayer_0/kernel"));
  EXPECT_TRUE(graph.HasNode("dnn/logits/kernel/t_0/Adagrad"));
  EXPECT_TRUE(graph.HasNode("dnn/head/predictions/probabilities"));
  EXPECT_TRUE(graph.HasNode("global_step"));
  CKPT_ASSERT_OK_AND_ASSIGN(tensorflow::SaverDef saver_def, AddSaverSubgraph(&graph));
  CKPT_ASSERT_OK_AND_ASSIGN(tensorflow::MetaGraphDef meta, BuildMetaGraphDef(graph, &saver_def));
  CKPT_ASSERT_OK_AND_ASSIGN(MetaGraphInfo info, DescribeMetaGraph(meta));
  EXPECT_EQ(info.variables.size(), 13u);
}

TEST(PartitionedSlotKeyTest, FollowsTfSlotNaming) {
  EXPECT_EQ(PartitionedSlotKey("dnn", "dnn/logits/bias", "Adagrad"), "dnn/logits/bias/t_0/Adagrad");
  EXPECT_EQ(PartitionedSlotKey("linear", "linear/linear_model/bias_weights", "Ftrl"),
            "linear/linear_model/bias_weights/part_0/Ftrl");
  EXPECT_EQ(PartitionedSlotKey("", "w", "Adam_1"), "w/Adam_1");
}

TEST_F(DnnClassifierTest, LinearClassifierTrainsAndSaves) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, LinearClassifierModel::Create({}));
  EXPECT_DOUBLE_EQ(model->learning_rate(), 0.2);
  CKPT_ASSERT_OK_AND_ASSIGN(
      auto ds, Dataset<LabeledExample>::FromVector(iris_.train.examples).Shuffle(1000, 5));
  CKPT_ASSERT_OK_AND_ASSIGN(auto rep, ds.Repeat());
  CKPT_ASSERT_OK_AND_ASSIGN(auto batched, rep.Batch(100));
  auto it = batched.MakeIterator();
  double first = 0, last = 0;
  for (int i = 0; i < 1000; ++i) {
    auto batch = it->Next();
    ASSERT_TRUE(batch.has_value());
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor x, MakeFeatureMatrix(*batch, iris_.train.feature_names,
                                                          model->sorted_feature_names()));
    CKPT_ASSERT_OK_AND_ASSIGN(DnnTrainResult r, model->TrainStep(x, Labels(*batch)));
    if (i == 0) first = r.loss;
    last = r.loss;
  }
  EXPECT_NEAR(first, 100 * std::log(3.0), 1e-3);  // zero weights: uniform probabilities
  EXPECT_LT(last, first / 2);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor x,
                            MakeFeatureMatrix(iris_.test.examples, iris_.test.feature_names,
                                              model->sorted_feature_names()));
  CKPT_ASSERT_OK_AND_ASSIGN(DnnEvalResult eval, model->Evaluate(x, Labels(iris_.test.examples)));
  EXPECT_GE(eval.accuracy, 0.8);

  std::vector<std::string> names;
  for (const SaveableTensor& s : model->SaveableVariables()) names.push_back(s.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"global_step", "linear/linear_model/PetalLength/weights",
                                      "linear/linear_model/PetalLength/weights/part_0/Ftrl",
                                      "linear/linear_model/PetalLength/weights/part_0/Ftrl_1",
                                      "linear/linear_model/PetalWidth/weights",
                                      "linear/linear_model/PetalWidth/weights/part_0/Ftrl",
                                      "linear/linear_model/PetalWidth/weights/part_0/Ftrl_1",
                                      "linear/linear_model/SepalLength/weights",
                                      "linear/linear_model/SepalLength/weights/part_0/Ftrl",
                                      "linear/linear_model/SepalLength/weights/part_0/Ftrl_1",
                                      "linear/linear_model/SepalWidth/weights",
                                      "linear/linear_model/SepalWidth/weights/part_0/Ftrl",
                                      "linear/linear_model/SepalWidth/weights/part_0/Ftrl_1",
                                      "linear/linear_model/bias_weights",
                                      "linear/linear_model/bias_weights/part_0/Ftrl",
                                      "linear/linear_model/bias_weights/part_0/Ftrl_1"}));

  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(model->SaveableVariables()));
  const std::string dir = ::ckpt::testing::TempDir();
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, saver->Save(dir + "/linear.ckpt"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto fresh, LinearClassifierModel::Create({}));
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver2, Saver::Create(fresh->SaveableVariables()));
  CKPT_ASSERT_OK(saver2->Restore(prefix));
  CKPT_ASSERT_OK_AND_ASSIGN(DnnPredictions got, fresh->Predict(x));
  CKPT_ASSERT_OK_AND_ASSIGN(DnnPredictions want, model->Predict(x));
  EXPECT_TRUE(got.probabilities.Equals(want.probabilities));
  EXPECT_EQ(fresh->global_step(), 1000);
}

}  // namespace
}  // namespace ckpt
