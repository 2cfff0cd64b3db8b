// What the canned classifiers (ckpt/dnn_classifier.h,
// ckpt/linear_classifier.h) share: their outputs (predictions, a training
// step's and an evaluated batch's results), the streaming metric sums of
// their heads, the optimizer factory of their configs, the checkpoint key
// rule of their optimizer slots and the features matrix they take.
//
// Heads (TF 1.8's canned heads, SUM loss reduction):
//   n_classes > 2   multi-class: logits [batch, n_classes], sparse softmax
//                   cross-entropy;
//   n_classes == 2  binary logistic: one logit per example, sigmoid
//                   cross-entropy; probabilities [1 - p, p], class_id 1
//                   when the logit is > 0.
// With a weight column, the training loss is sum_i w_i * loss_i and every
// metric is weighted (TF's weighted means: sum w x / sum w).
//
// Thread safety: the structs are values; the functions are thread-safe.
#ifndef CKPT_CLASSIFIER_H_
#define CKPT_CLASSIFIER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/iris.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

class Optimizer;

// Makes the optimizer of a model: TF's "optimizer object" form, for
// hyperparameters other than the named defaults, e.g.
//   config.optimizer_fn = [] { return Optimizer::Adam({.learning_rate = 0.01}); };
using OptimizerFactory = std::function<Result<std::unique_ptr<Optimizer>>()>;

// Outputs for a batch of `batch` rows; `classes` below is the logit count
// (n_classes, or 1 for the binary head).
struct ClassifierPredictions {
  Tensor logits;  // float [batch, classes]
  // float [batch, n_classes]: softmax(logits), or [1 - p, p] for the binary
  // head.
  Tensor probabilities;
  Tensor class_ids;  // int64 [batch], argmax (first maximum on ties)
  Tensor logistic;   // binary head only: float [batch, 1] p = sigmoid(logit)
};

// Sums behind TF's streaming evaluation metrics of the canned heads
// (tf.metrics accumulate totals over every evaluated example, so merging
// the sums of batches and dividing at the end is TF's result). All sums
// are weighted by the example weights (1 without a weight column).
struct ClassifierMetricSums {
  bool binary = false;
  double weight = 0;   // sum of weights
  double correct = 0;  // sum of weights of examples whose class_id == label
  double loss = 0;     // sum of weight * per-example loss
  // Binary head only.
  double label = 0;                                                     // sum of weight * label
  double prediction = 0;                                                // sum of weight * logistic
  double true_positives = 0, false_positives = 0, false_negatives = 0;  // of class_ids
  // Per threshold of TF's 200-threshold AUC approximation (see Metrics()).
  std::vector<double> auc_tp, auc_fp, auc_tn, auc_fn;

  void Merge(const ClassifierMetricSums& other);
  // "accuracy", "average_loss"; the binary head adds "accuracy_baseline",
  // "auc", "auc_precision_recall", "label/mean", "prediction/mean",
  // "precision", "recall". A ratio with a zero denominator is 0 (TF's
  // div_no_nan / _safe_div). AUCs are tf.metrics.auc with 200 thresholds
  // (0 - 1e-7, i / 199 for i = 1..198, 1 + 1e-7), a prediction counting as
  // positive when > threshold, epsilon 1e-6 and trapezoidal summation
  // (ROC: x = fp / (fp + tn + eps), y = (tp + eps) / (tp + fn + eps); PR:
  // x = that recall, y = (tp + eps) / (tp + fp + eps)), computed in double
  // where TF computes in float32.
  std::map<std::string, double> Metrics() const;
};

struct ClassifierTrainResult {
  double loss = 0;          // sum over the batch of the (weighted) per-example losses
  double average_loss = 0;  // loss / sum of weights (loss / batch without weights)
  int64_t global_step = 0;  // after the increment
  // Only when TrainStep was asked to record them: this step's outputs of
  // each hidden layer (after activation, dropout and batch norm) and of the
  // logits layer, by layer scope ("dnn/hiddenlayer_0", ..., "dnn/logits"),
  // float [batch, units]. (The linear model records nothing.)
  std::vector<std::pair<std::string, Tensor>> layer_outputs;
};

struct ClassifierEvalResult {
  double accuracy = 0;      // (weighted) fraction of rows whose class_id equals the label
  double average_loss = 0;  // (weighted) mean per-example loss
  double loss = 0;          // (weighted) sum of per-example losses of the batch
  int64_t global_step = 0;
  ClassifierMetricSums sums;  // this batch's, for streaming over batches
};

// The checkpoint key TF1's Saver gives the slot `slot_name` of the
// one-piece partitioned variable `var` ("<var>/part_0" in the graph) when
// the slot was created inside variable scope `scope` (e.g. "dnn"): TF names
// the slot "<scope>/<var>/part_0/<slot>" and saves it as var + "/" + that
// name minus its first len("<var>/part_0") + 1 characters. Gives
// "<var>/t_0/Adagrad" for scope "dnn" and "<var>/part_0/Ftrl" for "linear".
std::string PartitionedSlotKey(const std::string& scope, const std::string& var,
                               const std::string& slot_name);

// A float32 [examples, model_feature_names.size()] features tensor whose
// column j is the example feature named model_feature_names[j]; the
// examples' features are named by example_feature_names (e.g. the Iris CSV
// order). InvalidArgument if a model feature is missing or an example has
// the wrong number of features.
Result<Tensor> MakeFeatureMatrix(const std::vector<LabeledExample>& examples,
                                 const std::vector<std::string>& example_feature_names,
                                 const std::vector<std::string>& model_feature_names);

}  // namespace ckpt

#endif  // CKPT_CLASSIFIER_H_
