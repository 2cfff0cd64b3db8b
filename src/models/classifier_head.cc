// The classification head shared by the canned classifiers
// (ckpt/dnn_classifier.h, ckpt/linear_classifier.h): from logits to the
// loss, predictions, streaming metrics and the head's PREDICT graph;
// label and weight checks; the features matrix.
#include "models/classifier_head.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "ckpt/graph.h"
#include "models/nn/loss.h"

namespace ckpt {
namespace classifier_internal {
namespace {

// tf.metrics.auc's thresholds for num_thresholds = 200, as float32.
constexpr int kAucThresholds = 200;
const std::vector<float>& AucThresholds() {
  static const std::vector<float> t = [] {
    std::vector<float> v;
    v.push_back(static_cast<float>(0.0 - 1e-7));
    for (int i = 0; i < kAucThresholds - 2; ++i) {
      v.push_back(static_cast<float>((i + 1) * 1.0 / (kAucThresholds - 1)));
    }
    v.push_back(static_cast<float>(1.0 + 1e-7));
    return v;
  }();
  return t;
}

ClassifierMetricSums SumsOfBatch(const ClassifierPredictions& p, const HeadLoss& loss,
                                 const std::vector<int64_t>& labels,
                                 const std::vector<float>& weights, bool binary) {
  ClassifierMetricSums s;
  s.binary = binary;
  s.loss = loss.loss;
  s.weight = loss.weight;
  const int64_t* ids = p.class_ids.flat<int64_t>();
  if (binary) {
    s.auc_tp.assign(kAucThresholds, 0);
    s.auc_fp.assign(kAucThresholds, 0);
    s.auc_tn.assign(kAucThresholds, 0);
    s.auc_fn.assign(kAucThresholds, 0);
  }
  const std::vector<float>& thresholds = AucThresholds();
  for (size_t i = 0; i < labels.size(); ++i) {
    const double w = WeightOf(weights, i);
    if (ids[i] == labels[i]) s.correct += w;
    if (!binary) continue;
    const float logistic = p.logistic.flat<float>()[i];
    const bool positive = labels[i] == 1;
    s.label += w * static_cast<double>(labels[i]);
    s.prediction += w * logistic;
    if (ids[i] == 1 && positive) s.true_positives += w;
    if (ids[i] == 1 && !positive) s.false_positives += w;
    if (ids[i] == 0 && positive) s.false_negatives += w;
    for (int t = 0; t < kAucThresholds; ++t) {
      const bool predicted = logistic > thresholds[static_cast<size_t>(t)];
      if (positive) {
        (predicted ? s.auc_tp : s.auc_fn)[static_cast<size_t>(t)] += w;
      } else {
        (predicted ? s.auc_fp : s.auc_tn)[static_cast<size_t>(t)] += w;
      }
    }
  }
  return s;
}

// Labels of [batch] or [batch, 1].
Status CheckLabelShape(const Tensor& labels) {
  const TensorShape& shape = labels.shape();
  if (shape.rank() == 1 || (shape.rank() == 2 && shape.dim(1) == 1)) return Status();
  return InvalidArgumentError("labels must have shape [batch] or [batch, 1], got " +
                              shape.DebugString());
}

}  // namespace

Status CheckFeatureTensor(const Tensor& features, int64_t n) {
  if (features.dtype() != DataType::kFloat || features.shape().rank() != 2 ||
      features.shape().dim(1) != n) {
    return InvalidArgumentError("features must be float32 [batch, " + std::to_string(n) +
                                "], got " + std::string(DataTypeName(features.dtype())) + " " +
                                features.shape().DebugString());
  }
  return Status();
}

Status CheckLabelCount(const Tensor& features, const std::vector<int64_t>& labels) {
  if (static_cast<int64_t>(labels.size()) != features.shape().dim(0)) {
    return InvalidArgumentError("got " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(features.shape().dim(0)) + " examples");
  }
  if (labels.empty()) return InvalidArgumentError("empty batch");
  return Status();
}

Status CheckWeights(const std::vector<float>& weights, size_t batch) {
  if (weights.empty()) return Status();
  if (weights.size() != batch) {
    return InvalidArgumentError("got " + std::to_string(weights.size()) + " weights for " +
                                std::to_string(batch) + " examples");
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i]) || weights[i] < 0) {
      return InvalidArgumentError("weight of example " + std::to_string(i) + " is " +
                                  std::to_string(weights[i]) + "; weights must be finite and >= 0");
    }
  }
  return Status();
}

double WeightOf(const std::vector<float>& weights, size_t i) {
  return weights.empty() ? 1.0 : static_cast<double>(weights[i]);
}

Result<HeadLoss> ComputeHeadLoss(const Mat& logits, const std::vector<int64_t>& labels,
                                 const std::vector<float>& weights, bool binary) {
  CKPT_RETURN_IF_ERROR(CheckWeights(weights, labels.size()));
  nn::CrossEntropyResult<float> ce;
  if (binary) {
    CKPT_ASSIGN_OR_RETURN(ce, nn::SigmoidCrossEntropy<float>(logits, labels));
  } else {
    CKPT_ASSIGN_OR_RETURN(ce, nn::SparseSoftmaxCrossEntropy<float>(logits, labels));
  }
  HeadLoss h;
  h.d_logits = std::move(ce.d_logits);
  for (size_t i = 0; i < labels.size(); ++i) {
    const double w = WeightOf(weights, i);
    const double l = ce.losses(static_cast<Eigen::Index>(i));
    h.losses.push_back(l);
    h.loss += w * l;
    h.weight += w;
    if (!weights.empty()) h.d_logits.row(static_cast<Eigen::Index>(i)) *= weights[i];
  }
  return h;
}

template <typename T>
ClassifierPredictions PredictionsFromLogits(const nn::Matrix<T>& logits_in, bool binary) {
  using MatD = nn::Matrix<double>;
  const MatD logits = logits_in.template cast<double>();
  ClassifierPredictions out;
  out.logits = nn::TensorFromMatrix<float>(logits.cast<float>());
  // TF's binary head: softmax over [0, logit] ("two_class_logits").
  MatD scores = logits;
  if (binary) {
    scores = MatD::Zero(logits.rows(), 2);
    scores.col(1) = logits.col(0);
    out.logistic = nn::TensorFromMatrix<float>(nn::Sigmoid<double>(logits).cast<float>());
  }
  out.probabilities = nn::TensorFromMatrix<float>(nn::Softmax<double>(scores).cast<float>());
  std::vector<int64_t> ids(static_cast<size_t>(scores.rows()));
  for (Eigen::Index r = 0; r < scores.rows(); ++r) {
    Eigen::Index best = 0;
    scores.row(r).maxCoeff(&best);
    ids[static_cast<size_t>(r)] = best;
  }
  out.class_ids = Tensor::FromVector<int64_t>(TensorShape({static_cast<int64_t>(ids.size())}), ids);
  return out;
}

template ClassifierPredictions PredictionsFromLogits<float>(const nn::Matrix<float>&, bool);
template ClassifierPredictions PredictionsFromLogits<double>(const nn::Matrix<double>&, bool);

Result<ClassifierEvalResult> EvalFromLogits(const Mat& logits, const std::vector<int64_t>& labels,
                                            const std::vector<float>& weights, bool binary,
                                            int64_t global_step) {
  CKPT_ASSIGN_OR_RETURN(HeadLoss loss, ComputeHeadLoss(logits, labels, weights, binary));
  const ClassifierPredictions p = PredictionsFromLogits(logits, binary);
  ClassifierEvalResult r;
  r.sums = SumsOfBatch(p, loss, labels, weights, binary);
  r.loss = loss.loss;
  r.average_loss = SafeDiv(loss.loss, loss.weight);
  r.accuracy = SafeDiv(r.sums.correct, r.sums.weight);
  r.global_step = global_step;
  return r;
}

Result<std::vector<std::string>> SortedFeatures(const std::vector<std::string>& names) {
  if (names.empty()) return InvalidArgumentError("feature_names is empty");
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return InvalidArgumentError("duplicate feature name in feature_names");
  }
  return sorted;
}

Status CheckHeadConfig(int64_t n_classes, const std::vector<std::string>& vocabulary,
                       const std::string& weight_column,
                       const std::vector<std::string>& feature_names) {
  if (n_classes < 2) {
    return InvalidArgumentError("n_classes must be > 1, got " + std::to_string(n_classes));
  }
  if (!vocabulary.empty()) {
    if (static_cast<int64_t>(vocabulary.size()) != n_classes) {
      return InvalidArgumentError("label_vocabulary has " + std::to_string(vocabulary.size()) +
                                  " entries, expected n_classes = " + std::to_string(n_classes));
    }
    std::set<std::string> distinct(vocabulary.begin(), vocabulary.end());
    if (distinct.size() != vocabulary.size()) {
      return InvalidArgumentError("label_vocabulary has duplicate entries");
    }
  }
  if (!weight_column.empty() &&
      std::find(feature_names.begin(), feature_names.end(), weight_column) != feature_names.end()) {
    return InvalidArgumentError("weight_column \"" + weight_column + "\" is also a feature column");
  }
  return Status();
}

Result<std::vector<int64_t>> LabelIdsOf(const Tensor& labels,
                                        const std::vector<std::string>& vocabulary) {
  CKPT_RETURN_IF_ERROR(CheckLabelShape(labels));
  const int64_t n = labels.num_elements();
  std::vector<int64_t> ids(static_cast<size_t>(n));
  if (!vocabulary.empty()) {
    if (labels.dtype() != DataType::kString) {
      return InvalidArgumentError(
          "Labels dtype should be string if there is a vocabulary. Given: " +
          std::string(DataTypeName(labels.dtype())));
    }
    for (int64_t i = 0; i < n; ++i) {
      const std::string& word = labels.strings()[static_cast<size_t>(i)];
      auto it = std::find(vocabulary.begin(), vocabulary.end(), word);
      if (it == vocabulary.end()) {
        std::string words;
        for (const std::string& v : vocabulary) words += (words.empty() ? "\"" : ", \"") + v + "\"";
        return InvalidArgumentError("label \"" + word + "\" of example " + std::to_string(i) +
                                    " is not in label_vocabulary [" + words + "]");
      }
      ids[static_cast<size_t>(i)] = it - vocabulary.begin();
    }
    return ids;
  }
  if (labels.dtype() == DataType::kInt64) {
    for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = labels.flat<int64_t>()[i];
  } else if (labels.dtype() == DataType::kInt32) {
    for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = labels.flat<int32_t>()[i];
  } else {
    return InvalidArgumentError(
        "labels must be int64 (or int32) class ids without a label_vocabulary, got " +
        std::string(DataTypeName(labels.dtype())));
  }
  return ids;
}

std::string ClassNameOf(int64_t id, const std::vector<std::string>& vocabulary) {
  if (!vocabulary.empty() && id >= 0 && id < static_cast<int64_t>(vocabulary.size())) {
    return vocabulary[static_cast<size_t>(id)];
  }
  return std::to_string(id);
}

void DescribeHead(GraphBuilder* graph, const std::string& scope, const Output& logits,
                  bool binary) {
  const std::string p = scope + "/head/predictions/";
  if (!binary) {
    graph->Softmax(logits, p + "probabilities");
    graph->ArgMax(logits, 1, DataType::kInt64, p + "ArgMax");
    return;
  }
  graph->Unary("Sigmoid", logits, p + "logistic");
  Output zeros = graph->Unary("ZerosLike", logits, p + "zeros_like");
  Output two = graph->ConcatV2({zeros, logits}, -1, p + "two_class_logits");
  graph->Softmax(two, p + "probabilities");
  Output ids = graph->ArgMax(two, -1, DataType::kInt64, p + "class_ids");
  graph->ExpandDims(ids, -1, p + "ExpandDims");
}

}  // namespace classifier_internal

using classifier_internal::SafeDiv;

void ClassifierMetricSums::Merge(const ClassifierMetricSums& other) {
  binary = binary || other.binary;
  weight += other.weight;
  correct += other.correct;
  loss += other.loss;
  label += other.label;
  prediction += other.prediction;
  true_positives += other.true_positives;
  false_positives += other.false_positives;
  false_negatives += other.false_negatives;
  auto add = [](std::vector<double>* into, const std::vector<double>& from) {
    if (into->size() < from.size()) into->resize(from.size(), 0.0);
    for (size_t i = 0; i < from.size(); ++i) (*into)[i] += from[i];
  };
  add(&auc_tp, other.auc_tp);
  add(&auc_fp, other.auc_fp);
  add(&auc_tn, other.auc_tn);
  add(&auc_fn, other.auc_fn);
}

std::map<std::string, double> ClassifierMetricSums::Metrics() const {
  std::map<std::string, double> m;
  m["accuracy"] = SafeDiv(correct, weight);
  m["average_loss"] = SafeDiv(loss, weight);
  if (!binary) return m;
  const double label_mean = SafeDiv(label, weight);
  m["label/mean"] = label_mean;
  m["prediction/mean"] = SafeDiv(prediction, weight);
  m["accuracy_baseline"] = std::max(label_mean, 1 - label_mean);
  m["precision"] = SafeDiv(true_positives, true_positives + false_positives);
  m["recall"] = SafeDiv(true_positives, true_positives + false_negatives);
  const size_t n = auc_tp.size();
  if (n == 0 || auc_fp.size() != n || auc_tn.size() != n || auc_fn.size() != n) {
    m["auc"] = 0;
    m["auc_precision_recall"] = 0;
    return m;
  }
  constexpr double kEps = 1e-6;
  std::vector<double> recall(n), fp_rate(n), precision(n);
  for (size_t i = 0; i < n; ++i) {
    recall[i] = (auc_tp[i] + kEps) / (auc_tp[i] + auc_fn[i] + kEps);
    fp_rate[i] = auc_fp[i] / (auc_fp[i] + auc_tn[i] + kEps);
    precision[i] = (auc_tp[i] + kEps) / (auc_tp[i] + auc_fp[i] + kEps);
  }
  double roc = 0, pr = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    roc += (fp_rate[i] - fp_rate[i + 1]) * (recall[i] + recall[i + 1]) / 2;
    pr += (recall[i] - recall[i + 1]) * (precision[i] + precision[i + 1]) / 2;
  }
  m["auc"] = roc;
  m["auc_precision_recall"] = pr;
  return m;
}

Result<Tensor> MakeFeatureMatrix(const std::vector<LabeledExample>& examples,
                                 const std::vector<std::string>& example_feature_names,
                                 const std::vector<std::string>& model_feature_names) {
  std::vector<size_t> columns;
  for (const std::string& name : model_feature_names) {
    auto it = std::find(example_feature_names.begin(), example_feature_names.end(), name);
    if (it == example_feature_names.end()) {
      return InvalidArgumentError("feature \"" + name + "\" is not among the example features");
    }
    columns.push_back(static_cast<size_t>(it - example_feature_names.begin()));
  }
  const int64_t rows = static_cast<int64_t>(examples.size());
  const int64_t cols = static_cast<int64_t>(columns.size());
  CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(DataType::kFloat, TensorShape({rows, cols})));
  float* out = t.mutable_flat<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float>& f = examples[static_cast<size_t>(r)].features;
    if (f.size() != example_feature_names.size()) {
      return InvalidArgumentError("example " + std::to_string(r) + " has " +
                                  std::to_string(f.size()) + " features, expected " +
                                  std::to_string(example_feature_names.size()));
    }
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = f[columns[static_cast<size_t>(c)]];
  }
  return t;
}

}  // namespace ckpt
