// The canned classifiers' ModelFns driven directly through EstimatorModel
// (no Estimator): Iris training, streaming eval metrics against a hand
// computation over the predictions, summary tags, predictions, errors,
// checkpoint keys, the binary head (AUC against real TensorFlow's values),
// weights and label vocabularies, the linear model fn.
#include "ckpt/canned.h"

#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/data.h"
#include "ckpt/estimator.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

IrisDataSet LoadOrDie(const std::string& name) {
  auto r = LoadIrisCsv(Env::Posix(), std::string(CKPT_SOURCE_DIR) + "/data/iris/" + name);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(r).value() : IrisDataSet{};
}

class CannedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    train_ = LoadOrDie("iris_training.csv");
    test_ = LoadOrDie("iris_test.csv");
    ASSERT_EQ(train_.examples.size(), 120u);
    ASSERT_EQ(test_.examples.size(), 30u);
  }

  static Result<std::unique_ptr<EstimatorModel>> Build(const ModelFn& fn, uint64_t seed,
                                                       Mode mode = Mode::kTrain) {
    ModelFnArgs args;
    args.mode = mode;
    args.seed = seed;
    return fn(args);
  }

  static std::vector<Batch> All(const InputFn& fn, int limit = 1 << 20) {
    std::vector<Batch> out;
    auto it = fn();
    EXPECT_TRUE(it.ok()) << it.status();
    if (!it.ok()) return out;
    while (static_cast<int>(out.size()) < limit) {
      std::optional<Batch> b = (*it)->Next();
      if (!b) break;
      out.push_back(std::move(*b));
    }
    return out;
  }

  // `steps` training steps on IrisTrainInputFn batches of 100.
  static void TrainSteps(EstimatorModel* model, const IrisDataSet& data, int steps,
                         uint64_t seed) {
    std::vector<Batch> batches = All(IrisTrainInputFn(data, 100, seed), steps);
    ASSERT_EQ(static_cast<int>(batches.size()), steps);
    for (const Batch& b : batches) {
      auto r = model->TrainStep(b, /*want_summaries=*/false);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(std::isfinite(r->loss));
    }
  }

  IrisDataSet train_;
  IrisDataSet test_;
};

int64_t GlobalStep(EstimatorModel* model) {
  for (const SaveableTensor& v : model->Variables()) {
    if (v.name == "global_step") return *v.tensor->flat<int64_t>();
  }
  return -1;
}

Tensor* FindVar(EstimatorModel* model, const std::string& key) {
  for (const SaveableTensor& v : model->Variables()) {
    if (v.name == key) return v.tensor;
  }
  return nullptr;
}

TEST_F(CannedTest, VariablesAreThe13KeysOfTheDefaultDnn) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(DnnClassifierModelFn({}), 1));
  std::vector<std::string> keys;
  for (const SaveableTensor& v : model->Variables()) keys.push_back(v.name);
  EXPECT_THAT(keys, ElementsAre("dnn/hiddenlayer_0/bias", "dnn/hiddenlayer_0/bias/t_0/Adagrad",
                                "dnn/hiddenlayer_0/kernel", "dnn/hiddenlayer_0/kernel/t_0/Adagrad",
                                "dnn/hiddenlayer_1/bias", "dnn/hiddenlayer_1/bias/t_0/Adagrad",
                                "dnn/hiddenlayer_1/kernel", "dnn/hiddenlayer_1/kernel/t_0/Adagrad",
                                "dnn/logits/bias", "dnn/logits/bias/t_0/Adagrad",
                                "dnn/logits/kernel", "dnn/logits/kernel/t_0/Adagrad",
                                "global_step"));
  EXPECT_THAT(model->TrainableVariableNames(),
              UnorderedElementsAre("dnn/hiddenlayer_0/kernel", "dnn/hiddenlayer_0/bias",
                                   "dnn/hiddenlayer_1/kernel", "dnn/hiddenlayer_1/bias",
                                   "dnn/logits/kernel", "dnn/logits/bias"));
  EXPECT_EQ(GlobalStep(model.get()), 0);
}

TEST_F(CannedTest, SeedComesFromModelFnArgs) {
  DnnClassifierConfig config;
  config.seed = 999;  // ignored
  ModelFn fn = DnnClassifierModelFn(config);
  CKPT_ASSERT_OK_AND_ASSIGN(auto a, Build(fn, 7));
  CKPT_ASSERT_OK_AND_ASSIGN(auto b, Build(fn, 7));
  CKPT_ASSERT_OK_AND_ASSIGN(auto c, Build(fn, 8));
  const std::string key = "dnn/hiddenlayer_0/kernel";
  EXPECT_TRUE(FindVar(a.get(), key)->Equals(*FindVar(b.get(), key)));
  EXPECT_FALSE(FindVar(a.get(), key)->Equals(*FindVar(c.get(), key)));
}

TEST_F(CannedTest, TrainsIrisAndEvalMetricsMatchAHandComputation) {
  ModelFn fn = DnnClassifierModelFn({});
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(fn, 42));
  TrainSteps(model.get(), train_, 1000, 42);
  EXPECT_EQ(GlobalStep(model.get()), 1000);

  // Streaming metrics over 4 batches (8, 8, 8, 6 examples).
  double loss_sum = 0;
  int batches = 0;
  for (const Batch& b : All(IrisEvalInputFn(test_, 8))) {
    CKPT_ASSERT_OK_AND_ASSIGN(double loss, model->EvalStep(b));
    loss_sum += loss;
    ++batches;
  }
  ASSERT_EQ(batches, 4);
  CKPT_ASSERT_OK_AND_ASSIGN(auto metrics, model->EvalMetrics());
  EXPECT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics.count("loss"), 0u);
  EXPECT_EQ(metrics.count("global_step"), 0u);
  EXPECT_GE(metrics["accuracy"], 0.9);

  // By hand over the predictions of the whole test set.
  std::vector<Batch> pred_batches = All(IrisEvalInputFn(test_, 30, /*with_labels=*/false));
  ASSERT_EQ(pred_batches.size(), 1u);
  EXPECT_FALSE(pred_batches[0].labels.has_value());
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> preds, model->PredictBatch(pred_batches[0]));
  ASSERT_EQ(preds.size(), 30u);
  double correct = 0, loss = 0;
  for (size_t i = 0; i < preds.size(); ++i) {
    const int64_t label = test_.examples[i].label;
    if (preds[i]["class_ids"].flat<int64_t>()[0] == label) correct += 1;
    loss += -std::log(static_cast<double>(preds[i]["probabilities"].flat<float>()[label]));
  }
  EXPECT_NEAR(metrics["accuracy"], correct / 30, 1e-12);
  EXPECT_NEAR(metrics["average_loss"], loss / 30, 1e-4);
  // The batch losses are sums: together they are the total loss.
  EXPECT_NEAR(loss_sum, loss, 1e-3);
}

TEST_F(CannedTest, SummaryTagsAndValuesOfThisStep) {
  ModelFn fn = DnnClassifierModelFn({});
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(fn, 3));
  CKPT_ASSERT_OK_AND_ASSIGN(auto twin, Build(fn, 3));  // same weights, not trained
  std::vector<Batch> batches = All(IrisTrainInputFn(train_, 100, 3), 2);
  ASSERT_EQ(batches.size(), 2u);

  CKPT_ASSERT_OK_AND_ASSIGN(TrainStepResult quiet, model->TrainStep(batches[0], false));
  EXPECT_TRUE(quiet.summaries.scalars.empty());
  EXPECT_TRUE(quiet.summaries.histograms.empty());
  CKPT_ASSERT_OK(twin->TrainStep(batches[0], false).status());

  // The logits histogram is this step's forward pass: the twin predicts
  // the same batch with the same (pre-step) weights.
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> before, twin->PredictBatch(batches[1]));
  CKPT_ASSERT_OK_AND_ASSIGN(TrainStepResult r, model->TrainStep(batches[1], true));
  std::vector<std::string> scalar_tags, histogram_tags;
  std::map<std::string, double> scalars;
  std::map<std::string, std::vector<double>> histograms;
  for (const auto& [tag, v] : r.summaries.scalars) {
    scalar_tags.push_back(tag);
    scalars[tag] = v;
  }
  for (const auto& [tag, v] : r.summaries.histograms) {
    histogram_tags.push_back(tag);
    histograms[tag] = v;
  }
  EXPECT_THAT(scalar_tags,
              UnorderedElementsAre("loss", "average_loss",
                                   "dnn/dnn/hiddenlayer_0/fraction_of_zero_values",
                                   "dnn/dnn/hiddenlayer_1/fraction_of_zero_values",
                                   "dnn/dnn/logits/fraction_of_zero_values"));
  EXPECT_THAT(histogram_tags, UnorderedElementsAre("dnn/dnn/hiddenlayer_0/activation",
                                                   "dnn/dnn/hiddenlayer_1/activation",
                                                   "dnn/dnn/logits/activation"));
  EXPECT_DOUBLE_EQ(scalars["loss"], r.loss);
  EXPECT_NEAR(scalars["average_loss"] * 100, r.loss, 1e-9);
  ASSERT_EQ(histograms["dnn/dnn/hiddenlayer_0/activation"].size(), 1000u);
  ASSERT_EQ(histograms["dnn/dnn/logits/activation"].size(), 300u);
  for (const char* layer : {"hiddenlayer_0", "hiddenlayer_1", "logits"}) {
    const std::vector<double>& h = histograms[std::string("dnn/dnn/") + layer + "/activation"];
    double zeros = 0;
    for (double v : h) zeros += v == 0 ? 1 : 0;
    EXPECT_DOUBLE_EQ(scalars[std::string("dnn/dnn/") + layer + "/fraction_of_zero_values"],
                     zeros / static_cast<double>(h.size()))
        << layer;
  }
  // Relu layers have some zeros; the histogram is not all zeros.
  EXPECT_GT(scalars["dnn/dnn/hiddenlayer_0/fraction_of_zero_values"], 0.0);
  EXPECT_LT(scalars["dnn/dnn/hiddenlayer_0/fraction_of_zero_values"], 1.0);
  const std::vector<double>& logits = histograms["dnn/dnn/logits/activation"];
  for (size_t i = 0; i < 100; ++i) {
    for (size_t k = 0; k < 3; ++k) {
      // float32 training pass vs Predict's double pass: equal up to rounding.
      EXPECT_NEAR(logits[i * 3 + k], before[i]["logits"].flat<float>()[k], 1e-5);
    }
  }
}

TEST_F(CannedTest, PredictionKeysDtypesAndShapes) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(DnnClassifierModelFn({}), 5, Mode::kPredict));
  std::vector<Batch> batches = All(IrisEvalInputFn(test_, 4, /*with_labels=*/false), 1);
  ASSERT_EQ(batches.size(), 1u);
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> preds, model->PredictBatch(batches[0]));
  ASSERT_EQ(preds.size(), 4u);
  for (Prediction& p : preds) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : p) keys.push_back(k);
    EXPECT_THAT(keys, ElementsAre("class_ids", "classes", "logits", "probabilities"));
    EXPECT_EQ(p["logits"].dtype(), DataType::kFloat);
    EXPECT_EQ(p["logits"].shape(), TensorShape({3}));
    EXPECT_EQ(p["probabilities"].dtype(), DataType::kFloat);
    EXPECT_EQ(p["probabilities"].shape(), TensorShape({3}));
    EXPECT_EQ(p["class_ids"].dtype(), DataType::kInt64);
    EXPECT_EQ(p["class_ids"].shape(), TensorShape({1}));
    EXPECT_EQ(p["classes"].dtype(), DataType::kString);
    EXPECT_EQ(p["classes"].shape(), TensorShape({1}));
    const float* prob = p["probabilities"].flat<float>();
    const float* logit = p["logits"].flat<float>();
    EXPECT_NEAR(prob[0] + prob[1] + prob[2], 1.0, 1e-6);
    int64_t argmax = 0;
    for (int k = 1; k < 3; ++k) {
      if (logit[k] > logit[argmax]) argmax = k;
    }
    EXPECT_EQ(p["class_ids"].flat<int64_t>()[0], argmax);
    EXPECT_EQ(p["classes"].strings()[0], std::to_string(argmax));
  }
}

TEST_F(CannedTest, ErrorsForMissingColumnsAndBadLabels) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(DnnClassifierModelFn({}), 5));
  std::vector<Batch> batches = All(IrisEvalInputFn(test_, 5), 1);
  ASSERT_EQ(batches.size(), 1u);
  Batch missing = batches[0];
  missing.features.erase("PetalWidth");
  EXPECT_THAT(model->TrainStep(missing, false),
              StatusIs(StatusCode::kInvalidArgument, "\"PetalWidth\" is missing"));
  EXPECT_THAT(model->EvalStep(missing),
              StatusIs(StatusCode::kInvalidArgument, "\"PetalWidth\""));
  EXPECT_THAT(model->PredictBatch(missing),
              StatusIs(StatusCode::kInvalidArgument, "\"PetalWidth\""));

  Batch wrong_dtype = batches[0];
  wrong_dtype.features["SepalLength"] =
      Tensor::FromVector<int64_t>(TensorShape({5}), {1, 2, 3, 4, 5});
  EXPECT_THAT(model->TrainStep(wrong_dtype, false),
              StatusIs(StatusCode::kInvalidArgument, "\"SepalLength\" must be float32"));

  Batch bad_label = batches[0];
  bad_label.labels = Tensor::FromVector<int64_t>(TensorShape({5}), {0, 1, 5, 2, 1});
  EXPECT_THAT(model->TrainStep(bad_label, false),
              StatusIs(StatusCode::kInvalidArgument, "Received a label value of 5"));
  Batch no_labels = batches[0];
  no_labels.labels.reset();
  EXPECT_THAT(model->TrainStep(no_labels, false),
              StatusIs(StatusCode::kInvalidArgument, "no labels"));
  Batch string_labels = batches[0];
  string_labels.labels = Tensor::FromStrings(TensorShape({5}), {"a", "b", "c", "d", "e"}).value();
  EXPECT_THAT(model->EvalStep(string_labels),
              StatusIs(StatusCode::kInvalidArgument, "int64"));
  // Nothing was trained by the failed steps.
  EXPECT_EQ(GlobalStep(model.get()), 0);
  // Extra columns are ignored.
  Batch extra = batches[0];
  extra.features["Unused"] = Tensor::FromVector<float>(TensorShape({5}), {1, 1, 1, 1, 1});
  CKPT_EXPECT_OK(model->TrainStep(extra, false).status());
  EXPECT_EQ(GlobalStep(model.get()), 1);
}

TEST_F(CannedTest, LabelVocabulary) {
  DnnClassifierConfig config;
  config.label_vocabulary = {"setosa", "versicolor", "virginica"};
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(DnnClassifierModelFn(config), 9));
  std::vector<Batch> batches = All(IrisEvalInputFn(test_, 6), 1);
  ASSERT_EQ(batches.size(), 1u);
  Batch words = batches[0];
  std::vector<std::string> names;
  for (int i = 0; i < 6; ++i) {
    names.push_back(config.label_vocabulary[static_cast<size_t>(batches[0].labels->flat<int64_t>()[i])]);
  }
  words.labels = Tensor::FromStrings(TensorShape({6}), names).value();
  CKPT_ASSERT_OK(model->TrainStep(words, false).status());

  // The same words as ids give the same loss as the vocabulary mapping.
  DnnClassifierConfig plain;
  CKPT_ASSERT_OK_AND_ASSIGN(auto a, Build(DnnClassifierModelFn(config), 11));
  CKPT_ASSERT_OK_AND_ASSIGN(auto b, Build(DnnClassifierModelFn(plain), 11));
  CKPT_ASSERT_OK_AND_ASSIGN(double loss_words, a->EvalStep(words));
  CKPT_ASSERT_OK_AND_ASSIGN(double loss_ids, b->EvalStep(batches[0]));
  EXPECT_DOUBLE_EQ(loss_words, loss_ids);

  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> preds, model->PredictBatch(words));
  for (Prediction& p : preds) {
    const int64_t id = p["class_ids"].flat<int64_t>()[0];
    EXPECT_EQ(p["classes"].strings()[0], config.label_vocabulary[static_cast<size_t>(id)]);
  }

  Batch unknown = words;
  (*unknown.labels->mutable_strings())[3] = "rose";
  EXPECT_THAT(model->TrainStep(unknown, false),
              StatusIs(StatusCode::kInvalidArgument, "label \"rose\""));
  EXPECT_THAT(model->EvalStep(batches[0]),  // int64 labels with a vocabulary
              StatusIs(StatusCode::kInvalidArgument, "should be string"));
  EXPECT_EQ(GlobalStep(model.get()), 1);

  config.label_vocabulary = {"a", "b"};
  EXPECT_THAT(Build(DnnClassifierModelFn(config), 1),
              StatusIs(StatusCode::kInvalidArgument, "label_vocabulary has 2 entries"));
}

// Iris as a binary problem: virginica (2) or not.
IrisDataSet Binary(IrisDataSet d) {
  for (LabeledExample& e : d.examples) e.label = e.label == 2 ? 1 : 0;
  return d;
}

TEST_F(CannedTest, BinaryHeadTrainsAndReportsTfsBinaryMetrics) {
  DnnClassifierConfig config;
  config.n_classes = 2;
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(DnnClassifierModelFn(config), 21));
  EXPECT_EQ(FindVar(model.get(), "dnn/logits/kernel")->shape(), TensorShape({10, 1}));
  EXPECT_EQ(FindVar(model.get(), "dnn/logits/bias")->shape(), TensorShape({1}));
  const IrisDataSet train = Binary(train_), test = Binary(test_);
  TrainSteps(model.get(), train, 300, 21);

  for (const Batch& b : All(IrisEvalInputFn(test, 7))) CKPT_ASSERT_OK(model->EvalStep(b).status());
  CKPT_ASSERT_OK_AND_ASSIGN(auto m, model->EvalMetrics());
  std::vector<std::string> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre("accuracy", "accuracy_baseline", "auc", "auc_precision_recall",
                                "average_loss", "label/mean", "precision", "prediction/mean",
                                "recall"));
  EXPECT_GE(m["accuracy"], 0.9);

  // By hand from the predictions.
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Prediction> preds,
                            model->PredictBatch(All(IrisEvalInputFn(test, 30, false))[0]));
  ASSERT_EQ(preds.size(), 30u);
  double correct = 0, loss = 0, labels = 0, logistic_sum = 0, tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < 30; ++i) {
    Prediction& p = preds[i];
    ASSERT_EQ(p["logits"].shape(), TensorShape({1}));
    ASSERT_EQ(p["logistic"].shape(), TensorShape({1}));
    ASSERT_EQ(p["probabilities"].shape(), TensorShape({2}));
    const double z = p["logits"].flat<float>()[0];
    const double q = p["logistic"].flat<float>()[0];
    EXPECT_NEAR(q, 1 / (1 + std::exp(-z)), 1e-6);
    EXPECT_NEAR(p["probabilities"].flat<float>()[0], 1 - q, 1e-6);
    EXPECT_NEAR(p["probabilities"].flat<float>()[1], q, 1e-6);
    const int64_t id = p["class_ids"].flat<int64_t>()[0];
    EXPECT_EQ(id, z > 0 ? 1 : 0);
    const int64_t y = test.examples[i].label;
    correct += id == y;
    loss += y == 1 ? -std::log(q) : -std::log(1 - q);
    labels += static_cast<double>(y);
    logistic_sum += q;
    tp += id == 1 && y == 1;
    fp += id == 1 && y == 0;
    fn += id == 0 && y == 1;
  }
  EXPECT_NEAR(m["accuracy"], correct / 30, 1e-12);
  EXPECT_NEAR(m["average_loss"], loss / 30, 1e-4);
  EXPECT_NEAR(m["label/mean"], labels / 30, 1e-12);
  EXPECT_NEAR(m["accuracy_baseline"], std::max(labels / 30, 1 - labels / 30), 1e-12);
  EXPECT_NEAR(m["prediction/mean"], logistic_sum / 30, 1e-6);
  EXPECT_NEAR(m["precision"], tp / (tp + fp), 1e-12);
  EXPECT_NEAR(m["recall"], tp / (tp + fn), 1e-12);
  EXPECT_GT(m["auc"], 0.9);
  EXPECT_LE(m["auc"], 1.0);
}

// A binary linear model on one feature x with weight 1 and bias 0: its
// logits are the x values, so the test controls the predictions.
class ControlledBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LinearClassifierConfig config;
    config.feature_names = {"x"};
    config.n_classes = 2;
    config.weight_column = "w";
    auto m = LinearClassifierModelFn(config)(ModelFnArgs{});
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = std::move(m).value();
    Tensor* w = FindVar(model_.get(), "linear/linear_model/x/weights");
    ASSERT_NE(w, nullptr);
    ASSERT_EQ(w->shape(), TensorShape({1, 1}));
    w->mutable_flat<float>()[0] = 1.0f;
  }

  Batch MakeBatch(const std::vector<float>& x, const std::vector<int64_t>& y,
                  const std::vector<float>& w) {
    Batch b;
    const int64_t n = static_cast<int64_t>(x.size());
    b.features["x"] = Tensor::FromVector<float>(TensorShape({n}), x);
    b.features["w"] = Tensor::FromVector<float>(TensorShape({n}), w);
    b.labels = Tensor::FromVector<int64_t>(TensorShape({n}), y);
    return b;
  }

  std::unique_ptr<EstimatorModel> model_;
  const std::vector<float> logits_ = {2.0f, -1.0f, 0.3f, -0.2f, 1.5f, -3.0f, 0.0f, 0.8f};
  const std::vector<int64_t> labels_ = {1, 0, 1, 1, 0, 0, 1, 0};
  const std::vector<float> weights_ = {1.0f, 2.0f, 0.5f, 1.0f, 3.0f, 1.0f, 1.0f, 0.25f};
};

// Reference values: TensorFlow 2.21's tf.compat.v1.metrics.auc
// (num_thresholds=200, curve ROC / PR) on labels_ and sigmoid(logits_),
// without and with weights_.
TEST_F(ControlledBinaryTest, AucMatchesTensorFlow) {
  CKPT_ASSERT_OK(model_->EvalStep(MakeBatch(logits_, labels_, std::vector<float>(8, 1.0f))).status());
  CKPT_ASSERT_OK_AND_ASSIGN(auto m, model_->EvalMetrics());
  EXPECT_NEAR(m["auc"], 0.6249998807907104, 1e-6);
  EXPECT_NEAR(m["auc_precision_recall"], 0.6499999165534973, 1e-6);
  // Logit 0 is class 0 (TF's argmax over [0, logit] takes the first).
  // class_ids: 1 0 1 0 1 0 0 1 vs labels 1 0 1 1 0 0 1 0: tp 2, fp 2, fn 2.
  EXPECT_DOUBLE_EQ(m["precision"], 0.5);
  EXPECT_DOUBLE_EQ(m["recall"], 0.5);
  EXPECT_DOUBLE_EQ(m["accuracy"], 4.0 / 8);
}

TEST_F(ControlledBinaryTest, WeightedMetricsAndLossByHand) {
  // Two batches: streaming sums over both equal one pass over all.
  std::vector<float> x1(logits_.begin(), logits_.begin() + 3), x2(logits_.begin() + 3, logits_.end());
  std::vector<int64_t> y1(labels_.begin(), labels_.begin() + 3), y2(labels_.begin() + 3, labels_.end());
  std::vector<float> w1(weights_.begin(), weights_.begin() + 3), w2(weights_.begin() + 3, weights_.end());
  CKPT_ASSERT_OK_AND_ASSIGN(double l1, model_->EvalStep(MakeBatch(x1, y1, w1)));
  CKPT_ASSERT_OK_AND_ASSIGN(double l2, model_->EvalStep(MakeBatch(x2, y2, w2)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto m, model_->EvalMetrics());
  double wsum = 0, wloss = 0, wcorrect = 0, wlabel = 0, wpred = 0, tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < 8; ++i) {
    const double z = logits_[i], w = weights_[i];
    const double p = 1 / (1 + std::exp(-z));
    const int64_t y = labels_[i], id = z > 0 ? 1 : 0;
    wsum += w;
    wloss += w * (y == 1 ? -std::log(p) : -std::log(1 - p));
    wcorrect += w * (id == y);
    wlabel += w * static_cast<double>(y);
    wpred += w * p;
    tp += w * (id == 1 && y == 1);
    fp += w * (id == 1 && y == 0);
    fn += w * (id == 0 && y == 1);
  }
  EXPECT_NEAR(l1 + l2, wloss, 1e-5);  // weighted SUM losses
  EXPECT_NEAR(m["average_loss"], wloss / wsum, 1e-6);
  EXPECT_NEAR(m["accuracy"], wcorrect / wsum, 1e-12);
  EXPECT_NEAR(m["label/mean"], wlabel / wsum, 1e-12);
  EXPECT_NEAR(m["prediction/mean"], wpred / wsum, 1e-6);
  EXPECT_NEAR(m["precision"], tp / (tp + fp), 1e-12);
  EXPECT_NEAR(m["recall"], tp / (tp + fn), 1e-12);
  EXPECT_NEAR(m["auc"], 0.6285713911056519, 1e-6);
  EXPECT_NEAR(m["auc_precision_recall"], 0.5684877634048462, 1e-6);

  // Training: the summary's average_loss is the weighted mean, the loss
  // the weighted sum.
  CKPT_ASSERT_OK_AND_ASSIGN(TrainStepResult r,
                            model_->TrainStep(MakeBatch(logits_, labels_, weights_), true));
  EXPECT_NEAR(r.loss, wloss, 1e-5);
  ASSERT_EQ(r.summaries.scalars.size(), 2u);  // the linear model: loss, average_loss
  EXPECT_EQ(r.summaries.scalars[1].first, "average_loss");
  EXPECT_NEAR(r.summaries.scalars[1].second, wloss / wsum, 1e-6);
  EXPECT_TRUE(r.summaries.histograms.empty());

  Batch no_weights = MakeBatch(logits_, labels_, weights_);
  no_weights.features.erase("w");
  EXPECT_THAT(model_->TrainStep(no_weights, false),
              StatusIs(StatusCode::kInvalidArgument, "weight column \"w\" is missing"));
  Batch negative = MakeBatch(logits_, labels_, weights_);
  negative.features["w"].mutable_flat<float>()[2] = -1;
  EXPECT_THAT(model_->TrainStep(negative, false),
              StatusIs(StatusCode::kInvalidArgument, "weight of example 2"));
}

TEST_F(CannedTest, LinearModelFnTrainsIris) {
  ModelFn fn = LinearClassifierModelFn({});
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(fn, 1));
  std::set<std::string> keys;
  for (const SaveableTensor& v : model->Variables()) keys.insert(v.name);
  EXPECT_EQ(keys.count("linear/linear_model/PetalLength/weights"), 1u);
  EXPECT_EQ(keys.count("linear/linear_model/bias_weights/part_0/Ftrl"), 1u);
  EXPECT_EQ(keys.count("global_step"), 1u);
  EXPECT_EQ(model->TrainableVariableNames().size(), 5u);
  TrainSteps(model.get(), train_, 300, 1);
  for (const Batch& b : All(IrisEvalInputFn(test_, 30))) CKPT_ASSERT_OK(model->EvalStep(b).status());
  CKPT_ASSERT_OK_AND_ASSIGN(auto m, model->EvalMetrics());
  EXPECT_GE(m["accuracy"], 0.8);
  EXPECT_THAT(model->DescribeGraph(nullptr),
              StatusIs(StatusCode::kInvalidArgument, "null GraphBuilder"));
}

// Every canned form describes its graph, so the Estimator writes
// graph.pbtxt and a .meta per checkpoint (TF runs them in
// tests/interop/test_graph_forms.py).
TEST_F(CannedTest, EstimatorWritesGraphFilesForEveryForm) {
  DnnClassifierConfig binary;
  binary.n_classes = 2;
  DnnClassifierConfig tanh_bn;
  tanh_bn.activation = "tanh";
  tanh_bn.batch_norm = true;
  LinearClassifierConfig linear2;
  linear2.n_classes = 2;
  const std::vector<std::pair<std::string, ModelFn>> forms = {
      {"dnn_binary", DnnClassifierModelFn(binary)},
      {"dnn_tanh_batch_norm", DnnClassifierModelFn(tanh_bn)},
      {"linear", LinearClassifierModelFn({})},
      {"linear_binary", LinearClassifierModelFn(linear2)}};
  // Binary labels for the two-class forms: Iris class 2 or not.
  IrisDataSet binary_train = train_;
  for (LabeledExample& e : binary_train.examples) e.label = e.label == 2 ? 1 : 0;
  std::unique_ptr<MemEnv> env = NewMemEnv();
  for (const auto& [name, fn] : forms) {
    SCOPED_TRACE(name);
    const std::string dir = "/models/" + name;
    EstimatorOptions options;
    options.model_fn = fn;
    options.model_dir = dir;
    options.env = env.get();
    options.hostname = "test";
    CKPT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Estimator> estimator,
                              Estimator::Create(std::move(options)));
    TrainOptions train;
    train.steps = 3;
    const bool binary = name.find("binary") != std::string::npos;
    CKPT_ASSERT_OK(
        estimator->Train(IrisTrainInputFn(binary ? binary_train : train_, 100, 1), train).status());
    EXPECT_TRUE(env->FileExists(dir + "/graph.pbtxt"));
    EXPECT_TRUE(env->FileExists(dir + "/model.ckpt-3.meta"));
    EXPECT_TRUE(env->FileExists(dir + "/model.ckpt-3.index"));
  }
}

TEST_F(CannedTest, BatchNormAndActivationOptionsThroughTheModelFn) {
  DnnClassifierConfig config;
  config.batch_norm = true;
  config.activation = "elu";
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, Build(DnnClassifierModelFn(config), 4));
  std::set<std::string> keys;
  for (const SaveableTensor& v : model->Variables()) keys.insert(v.name);
  for (const char* k : {"dnn/hiddenlayer_0/batchnorm_0/gamma", "dnn/hiddenlayer_0/batchnorm_0/beta",
                        "dnn/hiddenlayer_0/batchnorm_0/moving_mean",
                        "dnn/hiddenlayer_0/batchnorm_0/moving_variance",
                        "dnn/hiddenlayer_1/batchnorm_1/gamma/t_0/Adagrad"}) {
    EXPECT_EQ(keys.count(k), 1u) << k;
  }
  EXPECT_EQ(keys.count("dnn/hiddenlayer_0/batchnorm_0/moving_mean/t_0/Adagrad"), 0u);
  std::vector<std::string> trainable = model->TrainableVariableNames();
  EXPECT_EQ(trainable.size(), 10u);
  for (const std::string& t : trainable) {
    EXPECT_EQ(t.find("moving"), std::string::npos) << t;
  }
  Tensor* moving_mean = FindVar(model.get(), "dnn/hiddenlayer_0/batchnorm_0/moving_mean");
  ASSERT_NE(moving_mean, nullptr);
  const Tensor initial_mean = moving_mean->Copy();
  // With momentum 0.999 the moving statistics need thousands of steps to
  // forget their initial values (1 - 0.999^3000 = 95%); evaluation uses
  // them, so a short run evaluates badly, in TF as here.
  TrainSteps(model.get(), train_, 3000, 4);
  EXPECT_FALSE(moving_mean->Equals(initial_mean));
  for (const Batch& b : All(IrisEvalInputFn(test_, 30))) CKPT_ASSERT_OK(model->EvalStep(b).status());
  CKPT_ASSERT_OK_AND_ASSIGN(auto m, model->EvalMetrics());
  EXPECT_GE(m["accuracy"], 0.85);
}

TEST_F(CannedTest, IrisInputFns) {
  std::vector<Batch> train = All(IrisTrainInputFn(train_, 100, 1), 3);
  ASSERT_EQ(train.size(), 3u);  // repeats past the 120 examples
  EXPECT_EQ(train[0].size(), 100);
  EXPECT_EQ(train[1].size(), 100);
  EXPECT_THAT(std::vector<std::string>({train[0].features.begin()->first}),
              ElementsAre("PetalLength"));
  std::vector<Batch> eval = All(IrisEvalInputFn(test_, 100));
  ASSERT_EQ(eval.size(), 1u);  // one pass, in file order
  EXPECT_EQ(eval[0].size(), 30);
  EXPECT_EQ(eval[0].features.at("SepalLength").flat<float>()[0], 5.9f);
  EXPECT_EQ(eval[0].labels->flat<int64_t>()[0], 1);
}

}  // namespace
}  // namespace ckpt
