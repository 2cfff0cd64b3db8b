// DnnClassifierModel: Iris training, checkpoint keys, save/restore, and the
// restore error TF reports for a different architecture.
#include "ckpt/dnn_classifier.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/data.h"
#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "ckpt/optimizer.h"
#include "ckpt/saver.h"
#include "models/classifier_test_util.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::ExpectNode;
using ::ckpt::testing::ExpectVariablesAreTheCheckpointKeys;
using ::ckpt::testing::FindNode;
using ::ckpt::testing::Labels;
using ::ckpt::testing::NodeInputs;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::Train;

// The Iris data in iris_.
class DnnClassifierTest : public ::ckpt::testing::IrisTest {};

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
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierEvalResult eval,
                            model->Evaluate(x, Labels(iris_.test.examples)));
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
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions before, restored->Predict(x));
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions want, model->Predict(x));
  EXPECT_FALSE(before.probabilities.Equals(want.probabilities));
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver2, Saver::Create(restored->SaveableVariables()));
  CKPT_ASSERT_OK(saver2->Restore(prefix));
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions got, restored->Predict(x));
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

// ---- DescribeGraph for every form (TF runs these graphs in
// tests/interop/test_graph_forms.py; here: structure).

TEST(DescribeGraphFormsTest, EveryActivationIsItsTfOp) {
  const std::vector<std::pair<std::string, std::string>> forms = {
      {"relu", "Relu"},         {"relu6", "Relu6"},       {"elu", "Elu"},
      {"selu", "Selu"},         {"tanh", "Tanh"},         {"sigmoid", "Sigmoid"},
      {"softplus", "Softplus"}, {"softsign", "Softsign"}, {"leaky_relu", "LeakyRelu"}};
  for (const auto& [activation, op] : forms) {
    SCOPED_TRACE(activation);
    DnnClassifierConfig c;
    c.activation = activation;
    CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
    GraphBuilder graph;
    CKPT_ASSERT_OK(model->DescribeGraph(&graph));
    for (const std::string layer : {"dnn/hiddenlayer_0/", "dnn/hiddenlayer_1/"}) {
      ExpectNode(graph, layer + op, op);
      const tensorflow::NodeDef* n = FindNode(graph, layer + op);
      ASSERT_NE(n, nullptr);
      EXPECT_THAT(NodeInputs(*n), ::testing::ElementsAre(layer + "BiasAdd"));
    }
    // The logits layer has no activation and feeds the head.
    EXPECT_THAT(NodeInputs(*FindNode(graph, "dnn/logits/MatMul")),
                ::testing::ElementsAre("dnn/hiddenlayer_1/" + op, "dnn/logits/kernel/read"));
    if (op != "Relu") EXPECT_FALSE(graph.HasNode("dnn/hiddenlayer_0/Relu"));
    if (op == "LeakyRelu") {
      EXPECT_FLOAT_EQ(FindNode(graph, "dnn/hiddenlayer_0/LeakyRelu")->attr().at("alpha").f(),
                      0.2f);
    }
    ExpectVariablesAreTheCheckpointKeys(model.get(), &graph);
  }
}

TEST(DescribeGraphFormsTest, BinaryHeadHasTfsPredictionOps) {
  DnnClassifierConfig c;
  c.n_classes = 2;
  c.activation = "tanh";
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  GraphBuilder graph;
  CKPT_ASSERT_OK(model->DescribeGraph(&graph));
  const std::string p = "dnn/head/predictions/";
  ExpectNode(graph, p + "logistic", "Sigmoid");
  ExpectNode(graph, p + "zeros_like", "ZerosLike");
  ExpectNode(graph, p + "two_class_logits", "ConcatV2");
  ExpectNode(graph, p + "probabilities", "Softmax");
  ExpectNode(graph, p + "class_ids", "ArgMax");
  ExpectNode(graph, p + "ExpandDims", "ExpandDims", /*typed=*/false);
  EXPECT_EQ(FindNode(graph, p + "ExpandDims")->attr().at("T").type(), tensorflow::DT_INT64);
  EXPECT_THAT(NodeInputs(*FindNode(graph, p + "logistic")),
              ::testing::ElementsAre("dnn/logits/BiasAdd"));
  EXPECT_THAT(NodeInputs(*FindNode(graph, p + "two_class_logits")),
              ::testing::ElementsAre(p + "zeros_like", "dnn/logits/BiasAdd",
                                     p + "two_class_logits/axis"));
  EXPECT_EQ(FindNode(graph, p + "two_class_logits")->attr().at("N").i(), 2);
  EXPECT_EQ(FindNode(graph, p + "two_class_logits/axis")->attr().at("value").tensor().int_val(0),
            -1);
  EXPECT_THAT(NodeInputs(*FindNode(graph, p + "probabilities")),
              ::testing::ElementsAre(p + "two_class_logits"));
  EXPECT_THAT(NodeInputs(*FindNode(graph, p + "class_ids")),
              ::testing::ElementsAre(p + "two_class_logits", p + "class_ids/dimension"));
  EXPECT_FALSE(graph.HasNode(p + "ArgMax"));
  ExpectVariablesAreTheCheckpointKeys(model.get(), &graph);
}

TEST(DescribeGraphFormsTest, BatchNormInferenceArithmetic) {
  DnnClassifierConfig c;
  c.batch_norm = true;
  c.optimizer = "Adam";
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  GraphBuilder graph;
  CKPT_ASSERT_OK(model->DescribeGraph(&graph));
  for (int i = 0; i < 2; ++i) {
    const std::string layer = "dnn/hiddenlayer_" + std::to_string(i);
    const std::string scope = layer + "/batchnorm_" + std::to_string(i);
    const std::string b = scope + "/batchnorm/";
    SCOPED_TRACE(scope);
    for (const char* v : {"gamma", "beta", "moving_mean", "moving_variance"}) {
      ExpectNode(graph, scope + "/" + v, "VariableV2", /*typed=*/false);
    }
    ExpectNode(graph, b + "add", "Add");
    ExpectNode(graph, b + "Rsqrt", "Rsqrt");
    ExpectNode(graph, b + "mul", "Mul");
    ExpectNode(graph, b + "mul_1", "Mul");
    ExpectNode(graph, b + "mul_2", "Mul");
    ExpectNode(graph, b + "sub", "Sub");
    ExpectNode(graph, b + "add_1", "Add");
    EXPECT_THAT(NodeInputs(*FindNode(graph, b + "add")),
                ::testing::ElementsAre(scope + "/moving_variance/read", b + "add/y"));
    EXPECT_FLOAT_EQ(FindNode(graph, b + "add/y")->attr().at("value").tensor().float_val(0),
                    0.001f);
    EXPECT_THAT(NodeInputs(*FindNode(graph, b + "mul")),
                ::testing::ElementsAre(b + "Rsqrt", scope + "/gamma/read"));
    EXPECT_THAT(NodeInputs(*FindNode(graph, b + "mul_1")),
                ::testing::ElementsAre(layer + "/Relu", b + "mul"));
    EXPECT_THAT(NodeInputs(*FindNode(graph, b + "mul_2")),
                ::testing::ElementsAre(scope + "/moving_mean/read", b + "mul"));
    EXPECT_THAT(NodeInputs(*FindNode(graph, b + "sub")),
                ::testing::ElementsAre(scope + "/beta/read", b + "mul_2"));
    EXPECT_THAT(NodeInputs(*FindNode(graph, b + "add_1")),
                ::testing::ElementsAre(b + "mul_1", b + "sub"));
  }
  EXPECT_THAT(NodeInputs(*FindNode(graph, "dnn/hiddenlayer_1/MatMul")),
              ::testing::ElementsAre("dnn/hiddenlayer_0/batchnorm_0/batchnorm/add_1",
                                     "dnn/hiddenlayer_1/kernel/read"));
  // Moving statistics are not trainable; gamma and beta are.
  std::set<std::string> trainable;
  for (const GraphVariable& v : graph.variables()) {
    if (v.trainable) trainable.insert(v.name);
  }
  EXPECT_EQ(trainable.count("dnn/hiddenlayer_0/batchnorm_0/gamma"), 1u);
  EXPECT_EQ(trainable.count("dnn/hiddenlayer_0/batchnorm_0/moving_mean"), 0u);
  EXPECT_EQ(trainable.size(), model->TrainableVariableNames().size());
  ExpectVariablesAreTheCheckpointKeys(model.get(), &graph);
}

TEST(PartitionedSlotKeyTest, FollowsTfSlotNaming) {
  EXPECT_EQ(PartitionedSlotKey("dnn", "dnn/logits/bias", "Adagrad"), "dnn/logits/bias/t_0/Adagrad");
  EXPECT_EQ(PartitionedSlotKey("linear", "linear/linear_model/bias_weights", "Ftrl"),
            "linear/linear_model/bias_weights/part_0/Ftrl");
  EXPECT_EQ(PartitionedSlotKey("", "w", "Adam_1"), "w/Adam_1");
}

// ------------------------------------------------- model-core options

TEST(DnnClassifierOptionsTest, ConfigErrors) {
  DnnClassifierConfig c;
  c.activation = "swish";
  EXPECT_THAT(DnnClassifierModel::Create(c), StatusIs(StatusCode::kInvalidArgument, "swish"));
  c = {};
  c.n_classes = 1;
  EXPECT_THAT(DnnClassifierModel::Create(c), StatusIs(StatusCode::kInvalidArgument, "n_classes"));
  c = {};
  c.label_vocabulary = {"a", "b", "a"};
  EXPECT_THAT(DnnClassifierModel::Create(c), StatusIs(StatusCode::kInvalidArgument, "duplicate"));
  c = {};
  c.weight_column = "PetalWidth";
  EXPECT_THAT(DnnClassifierModel::Create(c),
              StatusIs(StatusCode::kInvalidArgument, "also a feature column"));
  c = {};
  c.optimizer_fn = []() -> Result<std::unique_ptr<Optimizer>> {
    return InvalidArgumentError("no optimizer today");
  };
  EXPECT_THAT(DnnClassifierModel::Create(c),
              StatusIs(StatusCode::kInvalidArgument, "no optimizer today"));
}

TEST(DnnClassifierOptionsTest, OptimizerFactoryIsUsed) {
  DnnClassifierConfig c;
  c.optimizer = "Nope";  // ignored when optimizer_fn is set
  c.optimizer_fn = [] {
    AdamOptions o;
    o.learning_rate = 0.02;
    o.beta1 = 0.5;
    return Optimizer::Adam(o);
  };
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  Tensor* beta1_power = model->FindVariable("dnn/head/beta1_power");
  ASSERT_NE(beta1_power, nullptr);
  EXPECT_FLOAT_EQ(beta1_power->flat<float>()[0], 0.5f);
  ASSERT_NE(model->FindVariable("dnn/logits/kernel/t_0/Adam_1"), nullptr);
  Tensor x = Tensor::FromVector<float>(TensorShape({2, 4}), {1, 2, 3, 4, 4, 3, 2, 1});
  CKPT_ASSERT_OK(model->TrainStep(x, {0, 2}).status());
  EXPECT_FLOAT_EQ(beta1_power->flat<float>()[0], 0.25f);
}

TEST(DnnClassifierOptionsTest, LabelIdsAndClassNames) {
  DnnClassifierConfig c;
  c.label_vocabulary = {"x", "y", "z"};
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<int64_t> ids,
      model->LabelIds(Tensor::FromStrings(TensorShape({4, 1}), {"z", "x", "y", "z"}).value()));
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 0, 1, 2}));
  EXPECT_EQ(model->ClassName(1), "y");
  EXPECT_THAT(model->LabelIds(Tensor::FromStrings(TensorShape({2}), {"x", "w"}).value()),
              StatusIs(StatusCode::kInvalidArgument, "label \"w\" of example 1"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto plain, DnnClassifierModel::Create({}));
  EXPECT_EQ(plain->ClassName(2), "2");
  CKPT_ASSERT_OK_AND_ASSIGN(ids, plain->LabelIds(Tensor::FromVector<int32_t>(TensorShape({2}), {2, 1})));
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 1}));
  EXPECT_THAT(plain->LabelIds(Tensor::FromVector<int64_t>(TensorShape({2, 2}), {0, 1, 2, 0})),
              StatusIs(StatusCode::kInvalidArgument, "[batch] or [batch, 1]"));
}

// The whole backward pass (head, weights, batch norm in training mode, the
// activation, dense layers) against central differences of the training
// loss: with plain SGD at learning rate 1 a step moves each trainable
// variable by minus its gradient; a twin at learning rate 0 evaluates the
// loss at perturbed weights.
void CheckModelGradients(DnnClassifierConfig config, const std::vector<int64_t>& labels) {
  config.feature_names = {"a", "b", "c"};
  config.hidden_units = {4, 3};
  config.seed = 17;
  const std::vector<float> weights = {1.0f, 0.5f, 2.0f, 1.5f, 0.25f};
  const Tensor x = Tensor::FromVector<float>(
      TensorShape({5, 3}), {0.5f, -1.0f, 2.0f, 1.5f, 0.3f, -0.7f, -1.2f, 0.8f, 0.1f, 0.9f, 1.1f,
                            -0.4f, -0.3f, -0.6f, 1.7f});
  DnnClassifierConfig frozen = config;
  frozen.optimizer = "SGD";
  frozen.learning_rate = 0.0;
  config.optimizer = "SGD";
  config.learning_rate = 1.0;
  CKPT_ASSERT_OK_AND_ASSIGN(auto stepper, DnnClassifierModel::Create(config));
  CKPT_ASSERT_OK_AND_ASSIGN(auto probe, DnnClassifierModel::Create(frozen));
  const std::vector<std::string> names = stepper->TrainableVariableNames();
  std::map<std::string, Tensor> before;
  for (const std::string& n : names) before[n] = stepper->FindVariable(n)->Copy();
  CKPT_ASSERT_OK(stepper->TrainStep(x, labels, weights).status());

  auto loss = [&]() { return probe->TrainStep(x, labels, weights).value().loss; };
  constexpr float kH = 1e-2f;
  int checked = 0;
  double norm = 0;
  for (const std::string& n : names) {
    Tensor* var = probe->FindVariable(n);
    const Tensor* after = stepper->FindVariable(n);
    ASSERT_NE(var, nullptr) << n;
    for (int64_t i = 0; i < var->num_elements(); ++i) {
      float* v = var->mutable_flat<float>() + i;
      const float saved = *v;
      *v = saved + kH;
      const double plus = loss();
      *v = saved - kH;
      const double minus = loss();
      *v = saved;
      const double numeric = (plus - minus) / (2 * kH);
      const double analytic = before[n].flat<float>()[i] - after->flat<float>()[i];
      norm += analytic * analytic;
      EXPECT_NEAR(analytic, numeric, 3e-3 + 2e-2 * std::abs(numeric)) << n << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 30);
  EXPECT_GT(norm, 1e-4);  // not a vacuous comparison of zeros
}

TEST(DnnClassifierOptionsTest, GradientsWithBatchNormWeightsAndActivations) {
  for (const char* activation : {"tanh", "elu", "softplus", "selu"}) {
    SCOPED_TRACE(activation);
    DnnClassifierConfig c;
    c.activation = activation;
    c.batch_norm = true;
    c.n_classes = 3;
    CheckModelGradients(c, {0, 2, 1, 2, 0});
  }
}

TEST(DnnClassifierOptionsTest, BinaryHeadGradientsAndShapes) {
  DnnClassifierConfig c;
  c.n_classes = 2;
  c.activation = "sigmoid";
  CheckModelGradients(c, {1, 0, 0, 1, 1});
  // (Kinked activations are left to nn_test: a finite step of 1e-2 can
  // cross a kink here.)
  c.batch_norm = true;
  c.activation = "softsign";
  CheckModelGradients(c, {1, 0, 0, 1, 1});

  c = {};
  c.n_classes = 2;
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  EXPECT_EQ(model->FindVariable("dnn/logits/kernel")->shape(), TensorShape({10, 1}));
  Tensor x = Tensor::FromVector<float>(TensorShape({2, 4}), {1, 2, 3, 4, 4, 3, 2, 1});
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions p, model->Predict(x));
  EXPECT_EQ(p.logits.shape(), TensorShape({2, 1}));
  EXPECT_EQ(p.logistic.shape(), TensorShape({2, 1}));
  EXPECT_EQ(p.probabilities.shape(), TensorShape({2, 2}));
  // SUM reduction of sigmoid cross-entropy, by hand from the logits.
  double want = 0;
  const std::vector<int64_t> labels = {1, 0};
  for (int i = 0; i < 2; ++i) {
    const double z = p.logits.flat<float>()[i];
    want += labels[i] == 1 ? std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierEvalResult e, model->Evaluate(x, labels));
  EXPECT_NEAR(e.loss, want, 1e-5);
  EXPECT_THAT(model->TrainStep(x, {1, 2}),
              StatusIs(StatusCode::kInvalidArgument, "outside the valid range of [0, 2)"));
  GraphBuilder graph;
  CKPT_ASSERT_OK(model->DescribeGraph(&graph));  // the binary head's graph: see DescribeGraph*
  EXPECT_TRUE(graph.HasNode("dnn/head/predictions/logistic"));
}

TEST(DnnClassifierOptionsTest, BatchNormVariablesAndMovingStatistics) {
  DnnClassifierConfig c;
  c.batch_norm = true;
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  std::vector<std::string> keys;
  for (const SaveableTensor& v : model->SaveableVariables()) {
    keys.push_back(v.name);
    const bool moving = v.name.find("moving_") != std::string::npos;
    // Moving statistics are plain variables; gamma/beta are sliced like weights.
    EXPECT_EQ(v.full_shape.has_value(), !moving && v.name != "global_step") << v.name;
  }
  EXPECT_EQ(keys.size(), 13u + 12u);  // + gamma, beta with slots, moving mean, variance per layer
  const std::string bn = "dnn/hiddenlayer_1/batchnorm_1/";
  for (const char* name : {"gamma", "gamma/t_0/Adagrad", "beta", "beta/t_0/Adagrad",
                           "moving_mean", "moving_variance"}) {
    EXPECT_NE(model->FindVariable(bn + name), nullptr) << name;
  }
  EXPECT_FLOAT_EQ(model->FindVariable(bn + "gamma")->flat<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(model->FindVariable(bn + "moving_variance")->flat<float>()[0], 1.0f);
  EXPECT_FLOAT_EQ(model->FindVariable(bn + "moving_mean")->flat<float>()[0], 0.0f);

  Tensor x = Tensor::FromVector<float>(TensorShape({3, 4}), {1, 2, 3, 4, 4, 3, 2, 1, 0, 1, 0, 1});
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions p1, model->Predict(x));
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions p2, model->Predict(x));
  EXPECT_TRUE(p1.logits.Equals(p2.logits));  // inference changes nothing
  Tensor mean0 = model->FindVariable("dnn/hiddenlayer_0/batchnorm_0/moving_mean")->Copy();
  // A failed step leaves the moving statistics alone.
  EXPECT_FALSE(model->TrainStep(x, {0, 1, 7}).ok());
  EXPECT_TRUE(model->FindVariable("dnn/hiddenlayer_0/batchnorm_0/moving_mean")->Equals(mean0));
  CKPT_ASSERT_OK(model->TrainStep(x, {0, 1, 2}).status());
  // moving_mean = 0.999 * 0 + 0.001 * batch mean of the layer's output: it
  // moved, by at most 0.001 of a relu output.
  const Tensor* mean1 = model->FindVariable("dnn/hiddenlayer_0/batchnorm_0/moving_mean");
  EXPECT_FALSE(mean1->Equals(mean0));
  for (int i = 0; i < 10; ++i) {
    EXPECT_GE(mean1->flat<float>()[i], 0.0f);
    EXPECT_LT(mean1->flat<float>()[i], 0.01f);
  }
  GraphBuilder graph;
  CKPT_ASSERT_OK(model->DescribeGraph(&graph));  // batch norm's graph: see DescribeGraph*
  EXPECT_TRUE(graph.HasNode("dnn/hiddenlayer_0/batchnorm_0/moving_mean"));
}

// TensorFlow's own worked example for the V1 DNN with batch_norm
// (tensorflow_estimator canned/v1/dnn_testing_utils_v1.py,
// test_one_dim_logits_with_batch_norm): one feature, hidden_units [2],
// one logit, kernel [[.6, .5]], bias [1, -1], logits kernel [[-1], [2]],
// bias [.3], beta 0, gamma 1, moving mean 0, moving variance 1, inputs 10
// and 20. Its expected logits are TF's numbers, computed by TF's graph:
// training normalises with the batch statistics, inference with the moving
// ones (epsilon 0.001). The checkpoint keys are the ones that test writes.
TEST(DnnClassifierOptionsTest, BatchNormLogitsMatchTensorFlowsWorkedExample) {
  DnnClassifierConfig c;
  c.feature_names = {"age"};
  c.hidden_units = {2};
  c.n_classes = 2;  // the binary head: one logit, as TF's logits_dimension=1
  c.batch_norm = true;
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(c));
  auto set = [&](const std::string& key, std::vector<float> values) {
    Tensor* t = model->FindVariable(key);
    ASSERT_NE(t, nullptr) << key;
    ASSERT_EQ(t->num_elements(), static_cast<int64_t>(values.size())) << key;
    std::copy(values.begin(), values.end(), t->mutable_flat<float>());
  };
  set("dnn/hiddenlayer_0/kernel", {.6f, .5f});
  set("dnn/hiddenlayer_0/bias", {1.f, -1.f});
  set("dnn/hiddenlayer_0/batchnorm_0/beta", {0.f, 0.f});
  set("dnn/hiddenlayer_0/batchnorm_0/gamma", {1.f, 1.f});
  set("dnn/hiddenlayer_0/batchnorm_0/moving_mean", {0.f, 0.f});
  set("dnn/hiddenlayer_0/batchnorm_0/moving_variance", {1.f, 1.f});
  set("dnn/logits/kernel", {-1.f, 2.f});
  set("dnn/logits/bias", {.3f});
  const Tensor x = Tensor::FromVector<float>(TensorShape({2, 1}), {10, 20});

  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions p, model->Predict(x));
  EXPECT_NEAR(p.logits.flat<float>()[0], 1.299500375, 1e-5);
  EXPECT_NEAR(p.logits.flat<float>()[1], 5.297501873, 1e-5);

  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierTrainResult r, model->TrainStep(x, {1, 0}, {}, true));
  ASSERT_EQ(r.layer_outputs.back().first, "dnn/logits");
  EXPECT_NEAR(r.layer_outputs.back().second.flat<float>()[0], -0.699895571, 1e-5);
  EXPECT_NEAR(r.layer_outputs.back().second.flat<float>()[1], 1.299895571, 1e-5);
  // The step moved the means toward the batch's (10 and 6.5) by 1 - momentum.
  const Tensor* mean = model->FindVariable("dnn/hiddenlayer_0/batchnorm_0/moving_mean");
  EXPECT_NEAR(mean->flat<float>()[0], 0.001 * 10, 1e-6);
  EXPECT_NEAR(mean->flat<float>()[1], 0.001 * 6.5, 1e-6);
}

TEST(DnnClassifierOptionsTest, WeightedTrainingLossAndRecordedLayers) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create({}));
  Tensor x = Tensor::FromVector<float>(TensorShape({3, 4}), {1, 2, 3, 4, 4, 3, 2, 1, 0, 1, 0, 1});
  const std::vector<int64_t> labels = {0, 1, 2};
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions p, model->Predict(x));
  const std::vector<float> w = {2.0f, 0.0f, 0.5f};
  double want = 0;
  for (int i = 0; i < 3; ++i) {
    want -= w[i] * std::log(static_cast<double>(p.probabilities.flat<float>()[i * 3 + labels[i]]));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierTrainResult r, model->TrainStep(x, labels, w, true));
  EXPECT_NEAR(r.loss, want, 1e-5);
  EXPECT_NEAR(r.average_loss, want / 2.5, 1e-5);
  ASSERT_EQ(r.layer_outputs.size(), 3u);
  EXPECT_EQ(r.layer_outputs[0].first, "dnn/hiddenlayer_0");
  EXPECT_EQ(r.layer_outputs[0].second.shape(), TensorShape({3, 10}));
  EXPECT_EQ(r.layer_outputs[2].first, "dnn/logits");
  // This step's forward pass (float32) equals Predict's (double, rounded)
  // up to float32 rounding.
  ASSERT_EQ(r.layer_outputs[2].second.shape(), p.logits.shape());
  for (int64_t i = 0; i < p.logits.shape().num_elements(); ++i) {
    EXPECT_NEAR(r.layer_outputs[2].second.flat<float>()[i], p.logits.flat<float>()[i], 1e-5) << i;
  }
  EXPECT_THAT(model->TrainStep(x, labels, {1.0f, 1.0f}),
              StatusIs(StatusCode::kInvalidArgument, "2 weights for 3 examples"));
}

}  // namespace
}  // namespace ckpt
