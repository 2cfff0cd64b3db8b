// The model core of TF's canned V1 tf.estimator.LinearClassifier over
// numeric feature columns with the heads of ckpt/classifier.h (softmax, or
// the binary logistic head with one logit): logits = sum over features
// f of x_f * `linear/linear_model/<f>/weights` ([1, n_classes], zeros) +
// `linear/linear_model/bias_weights` ([n_classes], zeros). Like the DNN,
// weights are one-piece partitioned variables (full slice spec), and the
// optimizer runs inside the `linear` variable scope and `linear/head` name
// scope; with the 7-character "linear/" prefix TF's slot naming rule gives
// `<var>/part_0/<SlotName>` (e.g. linear/linear_model/bias_weights/part_0/Ftrl)
// and non-slot variables `linear/head/<name>`. Same API as
// DnnClassifierModel (ckpt/dnn_classifier.h).
//
// Thread safety: a model is used from one thread at a time.
#ifndef CKPT_LINEAR_CLASSIFIER_H_
#define CKPT_LINEAR_CLASSIFIER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/classifier.h"
#include "ckpt/graph.h"
#include "ckpt/saved_model.h"
#include "ckpt/saver.h"
#include "ckpt/optimizer.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

class GraphBuilder;

struct LinearClassifierConfig {
  // Numeric feature names, in any order (one weight row per name; the
  // model orders them by name). REQUIRES: non-empty, distinct.
  std::vector<std::string> feature_names = {"SepalLength", "SepalWidth", "PetalLength",
                                            "PetalWidth"};
  // REQUIRES: >= 2; 2 is the binary logistic head (weights [1, 1]).
  int64_t n_classes = 3;
  // As in DnnClassifierConfig (ckpt/dnn_classifier.h).
  std::string weight_column;
  std::vector<std::string> label_vocabulary;
  // As Optimizer::Create. TF's V1 LinearClassifier default: 'Ftrl' at
  // min(0.2, 1 / sqrt(number of feature columns)); unset = that.
  std::string optimizer = "Ftrl";
  std::optional<double> learning_rate;
  // When set, makes the optimizer instead of `optimizer` / `learning_rate`.
  OptimizerFactory optimizer_fn;
};

class LinearClassifierModel {
 public:
  static Result<std::unique_ptr<LinearClassifierModel>> Create(
      const LinearClassifierConfig& config);
  ~LinearClassifierModel();
  LinearClassifierModel(const LinearClassifierModel&) = delete;
  LinearClassifierModel& operator=(const LinearClassifierModel&) = delete;

  const LinearClassifierConfig& config() const;
  const std::vector<std::string>& sorted_feature_names() const;
  int64_t global_step() const;
  // The optimizer that applies the gradients (data-parallel training sets
  // its gradient combiner).
  Optimizer* optimizer();
  double learning_rate() const;
  Result<ClassifierPredictions> Predict(const Tensor& features) const;
  // record_layer_outputs is accepted for symmetry and records nothing.
  Result<ClassifierTrainResult> TrainStep(const Tensor& features,
                                          const std::vector<int64_t>& labels,
                                          const std::vector<float>& weights = {},
                                          bool record_layer_outputs = false);
  Result<ClassifierEvalResult> Evaluate(const Tensor& features, const std::vector<int64_t>& labels,
                                        const std::vector<float>& weights = {}) const;
  Result<std::vector<int64_t>> LabelIds(const Tensor& labels) const;
  std::string ClassName(int64_t class_id) const;
  std::vector<std::string> TrainableVariableNames() const;
  VarList SaveableVariables();

  // Adds the model's TF1 inference graph to `graph`: the "features"
  // placeholder, global_step, one VariableV2 per checkpoint key, and the
  // logits sum_f x_f * weights_f + bias_weights as one product: the weight
  // rows stacked by linear/linear_model/weights_concat (ConcatV2; absent
  // with one feature), linear/linear_model/weighted_sum_no_bias (MatMul)
  // and linear/linear_model/weighted_sum (BiasAdd, the logits; TF's own
  // graph multiplies column by column but computes the same). Then the
  // head's ops in linear/head/predictions/ as for DnnClassifierModel.
  // Returns the builder's status.
  Status DescribeGraph(GraphBuilder* graph) const;
  // The serving graph for export (EstimatorModel::DescribeServing): the
  // weights (no optimizer variables; global_step is the caller's), the
  // input layer on `features`, the logits and the head's predictions and
  // export outputs (as DnnClassifierModel::DescribeServing).
  Result<std::map<std::string, ExportOutput>> DescribeServing(
      GraphBuilder* graph, const std::map<std::string, Output>& features) const;

 private:
  Output DescribeLogits(GraphBuilder* graph, const Output& x) const;

  struct Impl;
  explicit LinearClassifierModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_LINEAR_CLASSIFIER_H_
