#include "ckpt/dnn_classifier.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "ckpt/graph.h"
#include "ckpt/optimizer.h"
#include "ckpt/random.h"
#include "models/nn/batch_norm.h"
#include "models/nn/feature_major.h"
#include "models/nn/init.h"
#include "models/nn/layers.h"
#include "models/nn/loss.h"
#include "models/nn/types.h"

namespace ckpt {
namespace {

using Mat = nn::Matrix<float>;
using Vec = nn::RowVector<float>;

// A dense layer's variables, with their checkpoint keys.
struct Layer {
  std::string scope;  // "dnn/hiddenlayer_0", "dnn/logits"
  Tensor kernel;
  Tensor bias;
  std::string kernel_key() const { return scope + "/kernel"; }
  std::string bias_key() const { return scope + "/bias"; }
};

// A hidden layer's batch normalisation variables.
struct BatchNormVars {
  std::string scope;  // "dnn/hiddenlayer_0/batchnorm_0"
  Tensor gamma, beta, moving_mean, moving_variance;
  std::string gamma_key() const { return scope + "/gamma"; }
  std::string beta_key() const { return scope + "/beta"; }
  std::string moving_mean_key() const { return scope + "/moving_mean"; }
  std::string moving_variance_key() const { return scope + "/moving_variance"; }
};

// The slice spec TF's one-piece partitioned variables save with:
// "0,d0:0,d1" over the full shape.
TensorSlice WholeSlice(const TensorShape& shape) {
  std::vector<TensorSlice::Extent> extents;
  for (int64_t d : shape.dims()) extents.push_back({0, d});
  return TensorSlice(std::move(extents));
}

Mat ToMat(const Tensor& t) {
  return Eigen::Map<const Mat>(t.flat<float>(), t.shape().dim(0), t.shape().dim(1));
}
Vec ToVec(const Tensor& t) { return Eigen::Map<const Vec>(t.flat<float>(), t.shape().dim(0)); }

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

// Weights of a batch: empty means all ones.
Status CheckWeights(const std::vector<float>& weights, size_t batch) {
  if (weights.empty()) return Status();
  if (weights.size() != batch) {
    return InvalidArgumentError("got " + std::to_string(weights.size()) + " weights for " +
                                std::to_string(batch) + " examples");
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i]) || weights[i] < 0) {
      return InvalidArgumentError("weight of example " + std::to_string(i) + " is " +
                                  std::to_string(weights[i]) +
                                  "; weights must be finite and >= 0");
    }
  }
  return Status();
}

double WeightOf(const std::vector<float>& weights, size_t i) {
  return weights.empty() ? 1.0 : static_cast<double>(weights[i]);
}

// The head's loss on a batch: per-example losses, their weighted sum and
// the gradient of that sum with respect to the logits.
struct HeadLoss {
  std::vector<double> losses;  // unweighted, per example
  double loss = 0;             // sum of weight * loss
  double weight = 0;           // sum of weights
  Mat d_logits;
};

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

// Computed in double from `logits` (float32 or double), stored as float32.
template <typename T>
DnnPredictions PredictionsFromLogits(const nn::Matrix<T>& logits_in, bool binary) {
  using MatD = nn::Matrix<double>;
  const MatD logits = logits_in.template cast<double>();
  DnnPredictions out;
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

ClassifierMetricSums SumsOfBatch(const DnnPredictions& p, const HeadLoss& loss,
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

double SafeDiv(double a, double b) { return b == 0 ? 0.0 : a / b; }

Result<DnnEvalResult> EvalFromLogits(const Mat& logits, const std::vector<int64_t>& labels,
                                     const std::vector<float>& weights, bool binary,
                                     int64_t global_step) {
  CKPT_ASSIGN_OR_RETURN(HeadLoss loss, ComputeHeadLoss(logits, labels, weights, binary));
  const DnnPredictions p = PredictionsFromLogits(logits, binary);
  DnnEvalResult r;
  r.sums = SumsOfBatch(p, loss, labels, weights, binary);
  r.loss = loss.loss;
  r.average_loss = SafeDiv(loss.loss, loss.weight);
  r.accuracy = SafeDiv(r.sums.correct, r.sums.weight);
  r.global_step = global_step;
  return r;
}

SaveableTensor SlicedSaveable(const std::string& key, Tensor* t) {
  SaveableTensor s;
  s.name = key;
  s.tensor = t;
  s.full_shape = t->shape();
  s.slice = WholeSlice(t->shape());
  return s;
}

SaveableTensor PlainSaveable(const std::string& key, Tensor* t) {
  SaveableTensor s;
  s.name = key;
  s.tensor = t;
  return s;
}

// Optimizer slots and non-slot variables under TF's canned-estimator keys
// for a model whose variable scope is `scope`.
void AddOptimizerSaveables(const std::string& scope, Optimizer* optimizer, VarList* vars) {
  for (const Optimizer::SlotRef& slot : optimizer->slots()) {
    vars->push_back(
        SlicedSaveable(PartitionedSlotKey(scope, slot.var_name, slot.slot_name), slot.tensor));
  }
  for (const std::string& name : optimizer->non_slot_names()) {
    vars->push_back(PlainSaveable(scope + "/head/" + name, optimizer->GetNonSlot(name)));
  }
}

void SortByName(VarList* vars) {
  std::sort(vars->begin(), vars->end(),
            [](const SaveableTensor& a, const SaveableTensor& b) { return a.name < b.name; });
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

// The checks shared by both models' heads.
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
  if (!weight_column.empty() && std::find(feature_names.begin(), feature_names.end(),
                                          weight_column) != feature_names.end()) {
    return InvalidArgumentError("weight_column \"" + weight_column +
                                "\" is also a feature column");
  }
  return Status();
}

Result<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerFactory& factory,
                                                 const std::string& name, double learning_rate) {
  if (!factory) return Optimizer::Create(name, learning_rate);
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer, factory());
  if (optimizer == nullptr) return InvalidArgumentError("optimizer_fn returned no optimizer");
  return optimizer;
}

// Labels of [batch] or [batch, 1].
Status CheckLabelShape(const Tensor& labels) {
  const TensorShape& shape = labels.shape();
  if (shape.rank() == 1 || (shape.rank() == 2 && shape.dim(1) == 1)) return Status();
  return InvalidArgumentError("labels must have shape [batch] or [batch, 1], got " +
                              shape.DebugString());
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

}  // namespace

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

std::string PartitionedSlotKey(const std::string& scope, const std::string& var,
                               const std::string& slot_name) {
  const std::string partition = "/part_0";
  const std::string slot_op =
      (scope.empty() ? "" : scope + "/") + var + partition + "/" + slot_name;
  return var + "/" + slot_op.substr(var.size() + partition.size() + 1);
}

struct DnnClassifierModel::Impl {
  DnnClassifierConfig config;
  std::vector<std::string> sorted_features;
  nn::Activation activation = nn::Activation::kRelu;
  // Fixed size after Create: the optimizer and savers hold pointers into
  // these vectors.
  std::vector<Layer> layers;             // hidden layers, then logits
  std::vector<BatchNormVars> batch_norms;  // one per hidden layer, or none
  Tensor global_step;
  std::unique_ptr<Optimizer> optimizer;
  Rng dropout_rng{0};

  bool binary() const { return config.n_classes == 2; }

  // The training step's buffers, feature-major ([units, batch], see
  // models/nn/feature_major.h) and reused from step to step: Eigen
  // reallocates a matrix only when the batch size changes, and the
  // gradient tensors are allocated once, in Create.
  struct LayerWork {
    Mat z;        // dense output before a non-relu activation
    Mat y;        // the activation's output (hidden layers) or the logits
    Mat scale;    // dropout's scale
    Mat out;      // after dropout and batch norm, when there are any
    Mat d;        // d loss / d (dense output)
    Mat d_out;    // d loss / d (*output), when it is not the relu's output
    nn::BatchNormCache<float> bn_cache;  // [batch, units], as batch_norm.h
    // Training: the moving statistics after this step's update, committed
    // once the step has succeeded.
    Vec new_mean, new_variance;
    const Mat* output = nullptr;  // what the next layer reads: &y or &out
    // Indices into TrainWork::grads.
    size_t kernel_grad = 0, bias_grad = 0, gamma_grad = 0, beta_grad = 0;
  };
  struct TrainWork {
    Mat x;  // the features, transposed
    std::vector<LayerWork> layers;
    std::vector<float> losses;  // per example, unweighted
    // What ApplyGradients gets: (variable key, gradient) in creation order.
    std::vector<std::pair<std::string, Tensor>> grads;
  };
  TrainWork work;

  bool has_dropout() const { return config.dropout.has_value() && *config.dropout > 0; }
  // Hidden layers whose output is their relu's output: the backward pass
  // then fuses ReluGrad into the next layer's d_input.
  bool plain_relu() const {
    return activation == nn::Activation::kRelu && !has_dropout() && batch_norms.empty();
  }
  float* Grad(size_t i) { return work.grads[i].second.mutable_flat<float>(); }

  // Sets up `work` once the variables exist.
  Status InitWork() {
    work.layers.resize(layers.size());
    auto add = [this](const std::string& key, const Tensor& like, size_t* index) -> Status {
      CKPT_ASSIGN_OR_RETURN(Tensor g, Tensor::Allocate(DataType::kFloat, like.shape()));
      *index = work.grads.size();
      work.grads.emplace_back(key, std::move(g));
      return Status::OK();
    };
    for (size_t i = 0; i < layers.size(); ++i) {
      LayerWork& w = work.layers[i];
      CKPT_RETURN_IF_ERROR(add(layers[i].kernel_key(), layers[i].kernel, &w.kernel_grad));
      CKPT_RETURN_IF_ERROR(add(layers[i].bias_key(), layers[i].bias, &w.bias_grad));
      if (i < batch_norms.size()) {
        CKPT_RETURN_IF_ERROR(add(batch_norms[i].gamma_key(), batch_norms[i].gamma, &w.gamma_grad));
        CKPT_RETURN_IF_ERROR(add(batch_norms[i].beta_key(), batch_norms[i].beta, &w.beta_grad));
      }
    }
    return Status::OK();
  }

  Status CheckFeatures(const Tensor& features) const {
    return CheckFeatureTensor(features, static_cast<int64_t>(sorted_features.size()));
  }

  // Inference (Predict, Evaluate): the forward pass in double precision,
  // rounded to float32 once at the end. A float32 pass is off the exact
  // result by up to ~1e-6 in the probabilities, in a direction that depends
  // on summation order, so two float32 implementations (ours, TF's) can
  // disagree by twice that; this one stays within rounding of the exact
  // value, hence within TF's own error of TF.
  Result<nn::Matrix<double>> InferLogits(const Tensor& features) const {
    using MatD = nn::Matrix<double>;
    MatD h = ToMat(features).cast<double>();
    const nn::BatchNormConfig bn_config;
    for (size_t i = 0; i < layers.size(); ++i) {
      CKPT_ASSIGN_OR_RETURN(MatD z, nn::DenseForward<double>(h, ToMat(layers[i].kernel).cast<double>(),
                                                             ToVec(layers[i].bias).cast<double>()));
      if (i + 1 == layers.size()) return z;
      h = nn::Activate<double>(activation, z);
      if (!batch_norms.empty()) {
        const BatchNormVars& bn = batch_norms[i];
        nn::BatchNormCache<double> cache;
        CKPT_ASSIGN_OR_RETURN(
            h, nn::BatchNormInference<double>(
                   h, ToVec(bn.gamma).cast<double>(), ToVec(bn.beta).cast<double>(),
                   ToVec(bn.moving_mean).cast<double>(), ToVec(bn.moving_variance).cast<double>(),
                   bn_config, &cache));
      }
    }
    return InvalidArgumentError("the model has no layers");
  }

  // The training forward pass into `work` (dropout active, batch
  // statistics). Changes nothing but `work` and dropout_rng.
  Status TrainForward(const Tensor& features) {
    const int64_t batch = features.shape().dim(0);
    work.x = Eigen::Map<const Mat>(features.flat<float>(), batch, features.shape().dim(1))
                 .transpose();
    const nn::BatchNormConfig bn_config;  // momentum 0.999, epsilon 0.001
    const bool relu = activation == nn::Activation::kRelu;
    const Mat* h = &work.x;
    for (size_t i = 0; i < layers.size(); ++i) {
      const Layer& layer = layers[i];
      LayerWork& w = work.layers[i];
      const int64_t in = layer.kernel.shape().dim(0);
      const int64_t out = layer.kernel.shape().dim(1);
      const float* kernel = layer.kernel.flat<float>();
      const float* bias = layer.bias.flat<float>();
      if (i + 1 == layers.size()) {
        nn::DenseForwardFM<float>(kernel, bias, in, out, *h, /*relu=*/false, &w.y);
        break;
      }
      if (relu) {
        nn::DenseForwardFM<float>(kernel, bias, in, out, *h, /*relu=*/true, &w.y);
      } else {
        nn::DenseForwardFM<float>(kernel, bias, in, out, *h, /*relu=*/false, &w.z);
        w.y = nn::Activate<float>(activation, w.z);
      }
      w.output = &w.y;
      if (has_dropout()) {
        nn::DropoutScaleFM<float>(out, batch, *config.dropout, &dropout_rng, &w.scale);
        w.out = w.y.cwiseProduct(w.scale);
        w.output = &w.out;
      }
      if (!batch_norms.empty()) {
        // Batch norm is not on the fast path: it runs in batch-major
        // layout through batch_norm.h.
        const BatchNormVars& bn = batch_norms[i];
        const Mat x = w.output->transpose();
        w.new_mean = ToVec(bn.moving_mean);
        w.new_variance = ToVec(bn.moving_variance);
        CKPT_ASSIGN_OR_RETURN(Mat normed,
                              nn::BatchNormTrain<float>(x, ToVec(bn.gamma), ToVec(bn.beta),
                                                        &w.new_mean, &w.new_variance, bn_config,
                                                        &w.bn_cache));
        w.out = normed.transpose();
        w.output = &w.out;
      }
      h = w.output;
    }
    return Status::OK();
  }

  // The head's loss on the logits of TrainForward and every gradient, into
  // work.grads. `labels` are in range (checked by the caller).
  Status TrainBackward(const std::vector<int64_t>& labels, const std::vector<float>& weights,
                       double* loss, double* weight_sum) {
    LayerWork& top = work.layers.back();
    const int64_t batch = top.y.cols();
    work.losses.resize(static_cast<size_t>(batch));
    if (binary()) {
      nn::SigmoidCrossEntropyFM<float>(top.y, labels, work.losses.data(), &top.d);
    } else {
      nn::SoftmaxCrossEntropyFM<float>(top.y, labels, work.losses.data(), &top.d);
    }
    *loss = 0;
    *weight_sum = 0;
    for (size_t i = 0; i < work.losses.size(); ++i) {
      const double w = WeightOf(weights, i);
      *loss += w * static_cast<double>(work.losses[i]);
      *weight_sum += w;
    }
    if (!weights.empty()) {
      top.d.array().rowwise() *=
          Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>>(weights.data(), batch);
    }
    const bool fused_relu = plain_relu();
    for (size_t i = layers.size(); i-- > 0;) {
      const Layer& layer = layers[i];
      LayerWork& w = work.layers[i];
      const int64_t in = layer.kernel.shape().dim(0);
      const int64_t out = layer.kernel.shape().dim(1);
      const Mat& input = i == 0 ? work.x : *work.layers[i - 1].output;
      LayerWork* below = i == 0 ? nullptr : &work.layers[i - 1];
      Mat* d_input = below == nullptr ? nullptr : fused_relu ? &below->d : &below->d_out;
      nn::DenseBackwardFM<float>(layer.kernel.flat<float>(), in, out, input, w.d,
                                 Grad(w.kernel_grad), Grad(w.bias_grad), d_input,
                                 fused_relu && below != nullptr ? &below->y : nullptr);
      if (below == nullptr || fused_relu) continue;
      // From d loss / d (output of layer i - 1) back to its dense output.
      LayerWork& b = *below;
      if (!batch_norms.empty()) {
        const BatchNormVars& bn = batch_norms[i - 1];
        const Mat d_rows = b.d_out.transpose();
        CKPT_ASSIGN_OR_RETURN(nn::BatchNormGradients<float> g,
                              nn::BatchNormBackward<float>(d_rows, ToVec(bn.gamma), b.bn_cache));
        Eigen::Map<Vec>(Grad(b.gamma_grad), g.d_gamma.size()) = g.d_gamma;
        Eigen::Map<Vec>(Grad(b.beta_grad), g.d_beta.size()) = g.d_beta;
        b.d_out = g.d_input.transpose();
      }
      if (has_dropout()) b.d_out.array() *= b.scale.array();
      if (activation == nn::Activation::kRelu) {
        b.d = b.d_out;
        nn::ReluBackwardInPlace<float>(b.y, &b.d);
      } else {
        CKPT_ASSIGN_OR_RETURN(b.d, nn::ActivationBackward<float>(activation, b.z, b.y, b.d_out));
      }
    }
    return Status::OK();
  }

  // The output of each layer as the summaries see it (after activation,
  // dropout and batch norm; the logits), i.e. the next layer's input, as
  // [batch, units] tensors.
  std::vector<std::pair<std::string, Tensor>> LayerOutputs() const {
    std::vector<std::pair<std::string, Tensor>> out;
    for (size_t i = 0; i < layers.size(); ++i) {
      const Mat& m = i + 1 < layers.size() ? *work.layers[i].output : work.layers[i].y;
      out.emplace_back(layers[i].scope, nn::TensorFromMatrix<float>(m.transpose()));
    }
    return out;
  }
};

DnnClassifierModel::DnnClassifierModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnnClassifierModel::~DnnClassifierModel() = default;

Result<std::unique_ptr<DnnClassifierModel>> DnnClassifierModel::Create(
    const DnnClassifierConfig& config) {
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> sorted, SortedFeatures(config.feature_names));
  for (int64_t u : config.hidden_units) {
    if (u <= 0) return InvalidArgumentError("hidden_units must be positive");
  }
  CKPT_RETURN_IF_ERROR(CheckHeadConfig(config.n_classes, config.label_vocabulary,
                                       config.weight_column, config.feature_names));
  if (config.dropout.has_value() && !(*config.dropout >= 0 && *config.dropout < 1)) {
    return InvalidArgumentError("dropout must be in [0, 1)");
  }
  auto impl = std::make_unique<Impl>();
  CKPT_ASSIGN_OR_RETURN(impl->activation, nn::ActivationFromName(config.activation));
  impl->config = config;
  impl->sorted_features = sorted;
  CKPT_ASSIGN_OR_RETURN(impl->optimizer,
                        MakeOptimizer(config.optimizer_fn, config.optimizer, config.learning_rate));
  impl->dropout_rng = Rng(Rng::DeriveSeed(config.seed, 1));

  Rng init_rng(Rng::DeriveSeed(config.seed, 0));
  int64_t fan_in = static_cast<int64_t>(sorted.size());
  const size_t n_layers = config.hidden_units.size() + 1;
  const int64_t logit_dim = config.n_classes == 2 ? 1 : config.n_classes;
  impl->layers.resize(n_layers);
  for (size_t i = 0; i < n_layers; ++i) {
    const bool logits = i + 1 == n_layers;
    const int64_t fan_out = logits ? logit_dim : config.hidden_units[i];
    Layer& layer = impl->layers[i];
    layer.scope = logits ? "dnn/logits" : "dnn/hiddenlayer_" + std::to_string(i);
    CKPT_ASSIGN_OR_RETURN(Mat kernel, nn::GlorotUniform<float>(fan_in, fan_out, &init_rng));
    layer.kernel = nn::TensorFromMatrix<float>(kernel);
    CKPT_ASSIGN_OR_RETURN(layer.bias, Tensor::Allocate(DataType::kFloat, TensorShape({fan_out})));
    fan_in = fan_out;
  }
  if (config.batch_norm) {
    impl->batch_norms.resize(config.hidden_units.size());
    for (size_t i = 0; i < impl->batch_norms.size(); ++i) {
      BatchNormVars& bn = impl->batch_norms[i];
      const TensorShape shape({config.hidden_units[i]});
      bn.scope = impl->layers[i].scope + "/batchnorm_" + std::to_string(i);
      const std::vector<float> ones(static_cast<size_t>(config.hidden_units[i]), 1.0f);
      bn.gamma = Tensor::FromVector<float>(shape, ones);
      CKPT_ASSIGN_OR_RETURN(bn.beta, Tensor::Allocate(DataType::kFloat, shape));
      CKPT_ASSIGN_OR_RETURN(bn.moving_mean, Tensor::Allocate(DataType::kFloat, shape));
      bn.moving_variance = Tensor::FromVector<float>(shape, ones);
    }
  }
  // Slots are created in TF's order (kernel, bias[, gamma, beta] per
  // layer); the vectors no longer change size, so the pointers stay valid.
  for (size_t i = 0; i < impl->layers.size(); ++i) {
    Layer& layer = impl->layers[i];
    CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(layer.kernel_key(), &layer.kernel));
    CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(layer.bias_key(), &layer.bias));
    if (i < impl->batch_norms.size()) {
      BatchNormVars& bn = impl->batch_norms[i];
      CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(bn.gamma_key(), &bn.gamma));
      CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(bn.beta_key(), &bn.beta));
    }
  }
  impl->global_step = Tensor::Scalar<int64_t>(0);
  CKPT_RETURN_IF_ERROR(impl->InitWork());
  return std::unique_ptr<DnnClassifierModel>(new DnnClassifierModel(std::move(impl)));
}

const DnnClassifierConfig& DnnClassifierModel::config() const { return impl_->config; }
const std::vector<std::string>& DnnClassifierModel::sorted_feature_names() const {
  return impl_->sorted_features;
}
int64_t DnnClassifierModel::global_step() const { return *impl_->global_step.flat<int64_t>(); }

Result<DnnPredictions> DnnClassifierModel::Predict(const Tensor& features) const {
  CKPT_RETURN_IF_ERROR(impl_->CheckFeatures(features));
  CKPT_ASSIGN_OR_RETURN(nn::Matrix<double> logits, impl_->InferLogits(features));
  return PredictionsFromLogits(logits, impl_->binary());
}

Result<DnnTrainResult> DnnClassifierModel::TrainStep(const Tensor& features,
                                                     const std::vector<int64_t>& labels,
                                                     const std::vector<float>& weights,
                                                     bool record_layer_outputs) {
  CKPT_RETURN_IF_ERROR(impl_->CheckFeatures(features));
  CKPT_RETURN_IF_ERROR(CheckLabelCount(features, labels));
  CKPT_RETURN_IF_ERROR(CheckWeights(weights, labels.size()));
  CKPT_RETURN_IF_ERROR(nn::CheckLabelRange(labels, impl_->binary() ? 2 : impl_->config.n_classes));
  CKPT_RETURN_IF_ERROR(impl_->TrainForward(features));
  double loss = 0, weight = 0;
  CKPT_RETURN_IF_ERROR(impl_->TrainBackward(labels, weights, &loss, &weight));
  CKPT_RETURN_IF_ERROR(impl_->optimizer->ApplyGradients(impl_->work.grads));
  // TF runs the batch norm UPDATE_OPS with the train op.
  for (size_t i = 0; i < impl_->batch_norms.size(); ++i) {
    BatchNormVars& bn = impl_->batch_norms[i];
    const Impl::LayerWork& w = impl_->work.layers[i];
    CKPT_RETURN_IF_ERROR(nn::AssignToTensor<float>(w.new_mean, &bn.moving_mean));
    CKPT_RETURN_IF_ERROR(nn::AssignToTensor<float>(w.new_variance, &bn.moving_variance));
  }
  int64_t* step = impl_->global_step.mutable_flat<int64_t>();
  *step += 1;
  DnnTrainResult result;
  result.loss = loss;
  result.average_loss = SafeDiv(loss, weight);
  result.global_step = *step;
  if (record_layer_outputs) result.layer_outputs = impl_->LayerOutputs();
  return result;
}

Result<DnnEvalResult> DnnClassifierModel::Evaluate(const Tensor& features,
                                                   const std::vector<int64_t>& labels,
                                                   const std::vector<float>& weights) const {
  CKPT_RETURN_IF_ERROR(impl_->CheckFeatures(features));
  CKPT_RETURN_IF_ERROR(CheckLabelCount(features, labels));
  CKPT_ASSIGN_OR_RETURN(nn::Matrix<double> logits, impl_->InferLogits(features));
  return EvalFromLogits(logits.cast<float>(), labels, weights, impl_->binary(), global_step());
}

Result<std::vector<int64_t>> DnnClassifierModel::LabelIds(const Tensor& labels) const {
  return LabelIdsOf(labels, impl_->config.label_vocabulary);
}

std::string DnnClassifierModel::ClassName(int64_t class_id) const {
  return ClassNameOf(class_id, impl_->config.label_vocabulary);
}

std::vector<std::string> DnnClassifierModel::TrainableVariableNames() const {
  return impl_->optimizer->variable_names();
}

VarList DnnClassifierModel::SaveableVariables() {
  VarList vars;
  for (Layer& layer : impl_->layers) {
    vars.push_back(SlicedSaveable(layer.kernel_key(), &layer.kernel));
    vars.push_back(SlicedSaveable(layer.bias_key(), &layer.bias));
  }
  for (BatchNormVars& bn : impl_->batch_norms) {
    vars.push_back(SlicedSaveable(bn.gamma_key(), &bn.gamma));
    vars.push_back(SlicedSaveable(bn.beta_key(), &bn.beta));
    vars.push_back(PlainSaveable(bn.moving_mean_key(), &bn.moving_mean));
    vars.push_back(PlainSaveable(bn.moving_variance_key(), &bn.moving_variance));
  }
  AddOptimizerSaveables("dnn", impl_->optimizer.get(), &vars);
  vars.push_back(PlainSaveable("global_step", &impl_->global_step));
  SortByName(&vars);
  return vars;
}

Tensor* DnnClassifierModel::FindVariable(const std::string& key) {
  for (const SaveableTensor& s : SaveableVariables()) {
    if (s.name == key) return s.tensor;
  }
  return nullptr;
}

namespace {

// ---- graph description helpers (DescribeGraph of both models)

// The TF op (and node name) of a hidden layer's activation_fn.
const char* ActivationOp(nn::Activation activation) {
  switch (activation) {
    case nn::Activation::kRelu: return "Relu";
    case nn::Activation::kRelu6: return "Relu6";
    case nn::Activation::kElu: return "Elu";
    case nn::Activation::kSelu: return "Selu";
    case nn::Activation::kTanh: return "Tanh";
    case nn::Activation::kSigmoid: return "Sigmoid";
    case nn::Activation::kSoftplus: return "Softplus";
    case nn::Activation::kSoftsign: return "Softsign";
    case nn::Activation::kLeakyRelu: return "LeakyRelu";
  }
  return "";
}

// The optimizer's variables of a model whose variable scope is `scope`,
// under their checkpoint keys (slots as PartitionedSlotKey, non-slot
// variables in the head's name scope), not trainable.
void DescribeOptimizerVariables(GraphBuilder* graph, const std::string& scope,
                                Optimizer* optimizer) {
  for (const Optimizer::SlotRef& slot : optimizer->slots()) {
    graph->Variable(PartitionedSlotKey(scope, slot.var_name, slot.slot_name), *slot.tensor,
                    /*trainable=*/false);
  }
  for (const std::string& name : optimizer->non_slot_names()) {
    graph->Variable(scope + "/head/" + name, *optimizer->GetNonSlot(name), /*trainable=*/false);
  }
}

// The head's PREDICT ops on `logits`, in `<scope>/head/predictions/`:
//   multi-class  probabilities = Softmax(logits), ArgMax(logits, 1);
//   binary       TF's binary logistic head: logistic = Sigmoid(logits),
//                two_class_logits = ConcatV2(ZerosLike(logits), logits, -1),
//                probabilities = Softmax(two_class_logits), class_ids =
//                ArgMax(two_class_logits, -1) and its ExpandDims(-1).
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

// tf.nn.batch_normalization(x, mean, variance, offset, scale, epsilon) in
// the name scope `<scope>/batchnorm/`, with TF's node names:
//   add = variance + epsilon (Const add/y), Rsqrt, mul = Rsqrt * gamma,
//   mul_1 = x * mul, mul_2 = mean * mul, sub = beta - mul_2,
//   add_1 = mul_1 + sub
// which is gamma * (x - mean) / sqrt(variance + epsilon) + beta.
Output DescribeBatchNormInference(GraphBuilder* graph, const std::string& scope, const Output& x,
                                  const GraphVariable& gamma, const GraphVariable& beta,
                                  const GraphVariable& mean, const GraphVariable& variance,
                                  float epsilon) {
  const std::string bn = graph->ResolveName(scope + "/batchnorm");
  const std::string add = graph->ResolveName(bn + "/add");
  Output eps;
  {
    GraphBuilder::ScopeGuard g = graph->NameScope(add + "/");
    eps = graph->Const(Tensor::Scalar<float>(epsilon), "y");
  }
  Output var_eps = graph->Binary("Add", variance.read, eps, add + "/");
  Output inv = graph->Unary("Rsqrt", var_eps, bn + "/Rsqrt");
  Output inv_scaled = graph->Binary("Mul", inv, gamma.read, bn + "/mul");
  Output x_scaled = graph->Binary("Mul", x, inv_scaled, bn + "/mul_1");
  Output mean_scaled = graph->Binary("Mul", mean.read, inv_scaled, bn + "/mul_2");
  Output shift = graph->Binary("Sub", beta.read, mean_scaled, bn + "/sub");
  return graph->Binary("Add", x_scaled, shift, bn + "/add_1");
}

}  // namespace

Status DnnClassifierModel::DescribeGraph(GraphBuilder* graph) const {
  if (graph == nullptr) return InvalidArgumentError("null GraphBuilder");
  const int64_t n = static_cast<int64_t>(impl_->sorted_features.size());
  Output x = graph->Placeholder(DataType::kFloat, PartialShape({-1, n}), "features");
  graph->GlobalStep();
  // Variables in TF's creation order: per layer the kernel, the bias and
  // the batch norm's gamma, beta, moving_mean, moving_variance; then the
  // optimizer's.
  std::map<std::string, GraphVariable> vars;
  for (size_t i = 0; i < impl_->layers.size(); ++i) {
    const Layer& layer = impl_->layers[i];
    vars[layer.kernel_key()] = graph->Variable(layer.kernel_key(), layer.kernel);
    vars[layer.bias_key()] = graph->Variable(layer.bias_key(), layer.bias);
    if (i < impl_->batch_norms.size()) {
      const BatchNormVars& bn = impl_->batch_norms[i];
      vars[bn.gamma_key()] = graph->Variable(bn.gamma_key(), bn.gamma);
      vars[bn.beta_key()] = graph->Variable(bn.beta_key(), bn.beta);
      vars[bn.moving_mean_key()] =
          graph->Variable(bn.moving_mean_key(), bn.moving_mean, /*trainable=*/false);
      vars[bn.moving_variance_key()] =
          graph->Variable(bn.moving_variance_key(), bn.moving_variance, /*trainable=*/false);
    }
  }
  DescribeOptimizerVariables(graph, "dnn", impl_->optimizer.get());
  // The PREDICT network: dense layers, the activation, batch norm with the
  // moving statistics (dropout is training-only and has no node here).
  const nn::BatchNormConfig bn_config;
  Output h = x;
  for (size_t i = 0; i < impl_->layers.size(); ++i) {
    const Layer& layer = impl_->layers[i];
    Output mm =
        graph->MatMul(h, vars[layer.kernel_key()].read, false, false, layer.scope + "/MatMul");
    h = graph->BiasAdd(mm, vars[layer.bias_key()].read, layer.scope + "/BiasAdd");
    if (i + 1 == impl_->layers.size()) break;
    if (impl_->activation == nn::Activation::kLeakyRelu) {
      h = graph->LeakyRelu(h, 0.2f, layer.scope + "/LeakyRelu");
    } else {
      const char* op = ActivationOp(impl_->activation);
      h = graph->Unary(op, h, layer.scope + "/" + op);
    }
    if (i < impl_->batch_norms.size()) {
      const BatchNormVars& bn = impl_->batch_norms[i];
      h = DescribeBatchNormInference(graph, bn.scope, h, vars[bn.gamma_key()],
                                     vars[bn.beta_key()], vars[bn.moving_mean_key()],
                                     vars[bn.moving_variance_key()],
                                     static_cast<float>(bn_config.epsilon));
    }
  }
  DescribeHead(graph, "dnn", h, impl_->binary());
  return graph->status();
}

// ------------------------------------------------------------ Linear

struct LinearClassifierModel::Impl {
  LinearClassifierConfig config;
  double learning_rate = 0;
  int64_t logit_dim = 0;  // n_classes, or 1 for the binary head
  std::vector<std::string> sorted_features;
  std::vector<Tensor> weights;  // per sorted feature, [1, logit_dim]; fixed size
  Tensor bias;
  Tensor global_step;
  std::unique_ptr<Optimizer> optimizer;

  bool binary() const { return config.n_classes == 2; }
  std::string WeightKey(size_t i) const {
    return "linear/linear_model/" + sorted_features[i] + "/weights";
  }
  static std::string BiasKey() { return "linear/linear_model/bias_weights"; }

  Mat Kernel() const {
    Mat k(static_cast<Eigen::Index>(weights.size()), logit_dim);
    for (size_t i = 0; i < weights.size(); ++i) {
      k.row(static_cast<Eigen::Index>(i)) = ToMat(weights[i]).row(0);
    }
    return k;
  }
  Result<Mat> Logits(const Tensor& features) const {
    CKPT_RETURN_IF_ERROR(
        CheckFeatureTensor(features, static_cast<int64_t>(sorted_features.size())));
    return nn::DenseForward<float>(ToMat(features), Kernel(), ToVec(bias));
  }
};

LinearClassifierModel::LinearClassifierModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LinearClassifierModel::~LinearClassifierModel() = default;

Result<std::unique_ptr<LinearClassifierModel>> LinearClassifierModel::Create(
    const LinearClassifierConfig& config) {
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> sorted, SortedFeatures(config.feature_names));
  CKPT_RETURN_IF_ERROR(CheckHeadConfig(config.n_classes, config.label_vocabulary,
                                       config.weight_column, config.feature_names));
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->sorted_features = sorted;
  impl->logit_dim = config.n_classes == 2 ? 1 : config.n_classes;
  // TF's _linear_learning_rate: min(0.2, 1 / sqrt(number of columns)).
  impl->learning_rate = config.learning_rate.has_value()
                            ? *config.learning_rate
                            : std::min(0.2, 1.0 / std::sqrt(static_cast<double>(sorted.size())));
  CKPT_ASSIGN_OR_RETURN(impl->optimizer,
                        MakeOptimizer(config.optimizer_fn, config.optimizer, impl->learning_rate));
  impl->weights.resize(sorted.size());
  for (Tensor& w : impl->weights) {
    CKPT_ASSIGN_OR_RETURN(w,
                          Tensor::Allocate(DataType::kFloat, TensorShape({1, impl->logit_dim})));
  }
  CKPT_ASSIGN_OR_RETURN(impl->bias,
                        Tensor::Allocate(DataType::kFloat, TensorShape({impl->logit_dim})));
  for (size_t i = 0; i < impl->weights.size(); ++i) {
    CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(impl->WeightKey(i), &impl->weights[i]));
  }
  CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(Impl::BiasKey(), &impl->bias));
  impl->global_step = Tensor::Scalar<int64_t>(0);
  return std::unique_ptr<LinearClassifierModel>(new LinearClassifierModel(std::move(impl)));
}

const LinearClassifierConfig& LinearClassifierModel::config() const { return impl_->config; }
const std::vector<std::string>& LinearClassifierModel::sorted_feature_names() const {
  return impl_->sorted_features;
}
int64_t LinearClassifierModel::global_step() const { return *impl_->global_step.flat<int64_t>(); }
double LinearClassifierModel::learning_rate() const { return impl_->learning_rate; }

Result<DnnPredictions> LinearClassifierModel::Predict(const Tensor& features) const {
  CKPT_ASSIGN_OR_RETURN(Mat logits, impl_->Logits(features));
  return PredictionsFromLogits(logits, impl_->binary());
}

Result<DnnTrainResult> LinearClassifierModel::TrainStep(const Tensor& features,
                                                        const std::vector<int64_t>& labels,
                                                        const std::vector<float>& weights,
                                                        bool record_layer_outputs) {
  CKPT_ASSIGN_OR_RETURN(Mat logits, impl_->Logits(features));
  CKPT_RETURN_IF_ERROR(CheckLabelCount(features, labels));
  CKPT_ASSIGN_OR_RETURN(HeadLoss head, ComputeHeadLoss(logits, labels, weights, impl_->binary()));
  CKPT_ASSIGN_OR_RETURN(nn::DenseGradients<float> g,
                        nn::DenseBackward<float>(ToMat(features), impl_->Kernel(), head.d_logits));
  std::vector<std::pair<std::string, Tensor>> grads;
  for (size_t i = 0; i < impl_->weights.size(); ++i) {
    Mat row = g.d_kernel.row(static_cast<Eigen::Index>(i));
    grads.emplace_back(impl_->WeightKey(i), nn::TensorFromMatrix<float>(row));
  }
  grads.emplace_back(Impl::BiasKey(), nn::TensorFromRowVector<float>(g.d_bias));
  CKPT_RETURN_IF_ERROR(impl_->optimizer->ApplyGradients(grads));
  int64_t* step = impl_->global_step.mutable_flat<int64_t>();
  *step += 1;
  DnnTrainResult result;
  result.loss = head.loss;
  result.average_loss = SafeDiv(head.loss, head.weight);
  result.global_step = *step;
  return result;
}

Result<DnnEvalResult> LinearClassifierModel::Evaluate(const Tensor& features,
                                                      const std::vector<int64_t>& labels,
                                                      const std::vector<float>& weights) const {
  CKPT_ASSIGN_OR_RETURN(Mat logits, impl_->Logits(features));
  CKPT_RETURN_IF_ERROR(CheckLabelCount(features, labels));
  return EvalFromLogits(logits, labels, weights, impl_->binary(), global_step());
}

Result<std::vector<int64_t>> LinearClassifierModel::LabelIds(const Tensor& labels) const {
  return LabelIdsOf(labels, impl_->config.label_vocabulary);
}

std::string LinearClassifierModel::ClassName(int64_t class_id) const {
  return ClassNameOf(class_id, impl_->config.label_vocabulary);
}

std::vector<std::string> LinearClassifierModel::TrainableVariableNames() const {
  return impl_->optimizer->variable_names();
}

VarList LinearClassifierModel::SaveableVariables() {
  VarList vars;
  for (size_t i = 0; i < impl_->weights.size(); ++i) {
    vars.push_back(SlicedSaveable(impl_->WeightKey(i), &impl_->weights[i]));
  }
  vars.push_back(SlicedSaveable(Impl::BiasKey(), &impl_->bias));
  AddOptimizerSaveables("linear", impl_->optimizer.get(), &vars);
  vars.push_back(PlainSaveable("global_step", &impl_->global_step));
  SortByName(&vars);
  return vars;
}

Status LinearClassifierModel::DescribeGraph(GraphBuilder* graph) const {
  if (graph == nullptr) return InvalidArgumentError("null GraphBuilder");
  const int64_t n = static_cast<int64_t>(impl_->sorted_features.size());
  Output x = graph->Placeholder(DataType::kFloat, PartialShape({-1, n}), "features");
  graph->GlobalStep();
  std::vector<Output> rows;
  for (size_t i = 0; i < impl_->weights.size(); ++i) {
    rows.push_back(graph->Variable(impl_->WeightKey(i), impl_->weights[i]).read);
  }
  GraphVariable bias = graph->Variable(Impl::BiasKey(), impl_->bias);
  DescribeOptimizerVariables(graph, "linear", impl_->optimizer.get());
  // The per-feature weight rows stacked into one [n_features, logit_dim]
  // kernel, so that one MatMul gives sum_f x_f * weights_f.
  Output kernel = rows.size() == 1 ? rows[0]
                                   : graph->ConcatV2(rows, 0, "linear/linear_model/weights_concat");
  Output sum = graph->MatMul(x, kernel, false, false, "linear/linear_model/weighted_sum_no_bias");
  Output logits = graph->BiasAdd(sum, bias.read, "linear/linear_model/weighted_sum");
  DescribeHead(graph, "linear", logits, impl_->binary());
  return graph->status();
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
