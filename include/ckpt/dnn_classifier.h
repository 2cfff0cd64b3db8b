// DnnClassifierModel: the model core of TensorFlow's canned V1
// tf.estimator.DNNClassifier (numeric feature columns, softmax head), with
// its variables under the checkpoint keys TensorFlow uses, so that a
// ckpt::Saver writes checkpoints TF can read and vice versa.
//
// Network (estimator-semantics.md §9): numeric features concatenated in
// sorted feature-name order; hidden layers `dnn/hiddenlayer_<i>` (dense,
// relu, glorot_uniform kernel, zero bias, optional training-only dropout);
// `dnn/logits` (dense, no activation); sparse softmax cross-entropy with
// SUM reduction; `global_step` (int64 scalar) incremented per train step.
//
// Checkpoint keys. TF's weights are one-piece partitioned variables
// (`dnn/hiddenlayer_0/kernel/part_0` in the graph) saved under the full
// name with the slice spec "<shape> 0,<d0>:0,<d1>" (a slice covering the
// whole tensor, stored as a plain tensor). The head calls
// optimizer.minimize inside the `dnn` variable scope and the `dnn/head`
// name scope, hence (verified with TF 2.21's tf.compat.v1 optimizers):
//   slot variables:     <var>/t_0/<SlotName>   e.g. dnn/logits/bias/t_0/Adagrad,
//                       dnn/logits/bias/t_0/Adam_1 (same slice spec as <var>)
//   non-slot variables: dnn/head/<name>        e.g. dnn/head/beta1_power
// For the default config (Adagrad, hidden_units {10, 10}) that is the 13
// keys of §9.3.
//
// Thread safety: a model is used from one thread at a time.
#ifndef CKPT_DNN_CLASSIFIER_H_
#define CKPT_DNN_CLASSIFIER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/data.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

class GraphBuilder;

struct DnnClassifierConfig {
  // Numeric feature names, in any order; the input layer uses them sorted.
  // REQUIRES: non-empty, distinct.
  std::vector<std::string> feature_names = {"SepalLength", "SepalWidth", "PetalLength",
                                            "PetalWidth"};
  // Units per hidden layer. REQUIRES: each > 0 (an empty list is a linear
  // model with only `dnn/logits`).
  std::vector<int64_t> hidden_units = {10, 10};
  // REQUIRES: >= 2. (n_classes == 2 would be TF's binary logistic head,
  // which has one logit; not supported: InvalidArgument.)
  int64_t n_classes = 3;
  // Only "relu" (TF's default activation_fn).
  std::string activation = "relu";
  // Drop probability of training-mode dropout after each hidden layer
  // (unset = no dropout). REQUIRES: in [0, 1).
  std::optional<double> dropout;
  // As Optimizer::Create: "Adagrad", "Adam", "Ftrl", "RMSProp" or "SGD".
  std::string optimizer = "Adagrad";
  double learning_rate = 0.05;
  // Seeds the weight initialisation and the dropout masks.
  uint64_t seed = 0;
};

// Outputs for a batch of `batch` rows.
struct DnnPredictions {
  Tensor logits;         // float [batch, n_classes]
  Tensor probabilities;  // float [batch, n_classes], softmax(logits)
  Tensor class_ids;      // int64 [batch], argmax (first maximum on ties)
};

struct DnnTrainResult {
  double loss = 0;          // SUM over the batch of the per-example losses
  double average_loss = 0;  // loss / batch
  int64_t global_step = 0;  // after the increment
};

struct DnnEvalResult {
  double accuracy = 0;      // fraction of rows whose class_id equals the label
  double average_loss = 0;  // mean per-example loss
  double loss = 0;          // SUM of per-example losses of the batch
  int64_t global_step = 0;
};

class DnnClassifierModel {
 public:
  // InvalidArgument for a config violating the REQUIRES above or an
  // unknown optimizer name.
  static Result<std::unique_ptr<DnnClassifierModel>> Create(const DnnClassifierConfig& config);
  ~DnnClassifierModel();
  DnnClassifierModel(const DnnClassifierModel&) = delete;
  DnnClassifierModel& operator=(const DnnClassifierModel&) = delete;

  const DnnClassifierConfig& config() const;
  // The feature names sorted: the column order of a features matrix.
  const std::vector<std::string>& sorted_feature_names() const;
  int64_t global_step() const;

  // The model's inference. `features` is float32 [batch, n_features] in
  // sorted_feature_names() order. InvalidArgument for another dtype or
  // shape.
  Result<DnnPredictions> Predict(const Tensor& features) const;

  // One training step on a batch: forward (dropout active), SUM loss,
  // gradients, the optimizer's update, global_step += 1. InvalidArgument
  // (nothing changed) for a bad features tensor, labels.size() != batch, or
  // a label outside [0, n_classes) (TF's message).
  Result<DnnTrainResult> TrainStep(const Tensor& features, const std::vector<int64_t>& labels);

  // Metrics on a batch without changing anything.
  Result<DnnEvalResult> Evaluate(const Tensor& features, const std::vector<int64_t>& labels) const;

  // Every variable a Saver saves, sorted by checkpoint key as TF's saver
  // writes them: weights and their slots carry full_shape + full slice;
  // global_step and non-slot variables are plain. The tensors belong to the
  // model and stay at the same addresses for its lifetime.
  VarList SaveableVariables();

  // The variable saved under `key`, or null.
  Tensor* FindVariable(const std::string& key);

  // Adds the model's TF1 inference graph to `graph`: a float32 placeholder
  // "features" [-1, n_features], one VariableV2 per checkpoint key (named
  // by the key; TF's own graph names weights ".../part_0"), global_step,
  // and dnn/hiddenlayer_<i>/{MatMul,BiasAdd,Relu}, dnn/logits/{MatMul,
  // BiasAdd}, dnn/head/predictions/{probabilities (Softmax), ArgMax}.
  // Variables' initial values are their current values. Returns the
  // builder's status.
  Status DescribeGraph(GraphBuilder* graph) const;

 private:
  struct Impl;
  explicit DnnClassifierModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct LinearClassifierConfig {
  // Numeric feature names, in any order (one weight row per name; the
  // model orders them by name). REQUIRES: non-empty, distinct.
  std::vector<std::string> feature_names = {"SepalLength", "SepalWidth", "PetalLength",
                                            "PetalWidth"};
  // REQUIRES: >= 3 (the binary head is not supported).
  int64_t n_classes = 3;
  // As Optimizer::Create. TF's V1 LinearClassifier default: 'Ftrl' at
  // min(0.2, 1 / sqrt(number of feature columns)); unset = that.
  std::string optimizer = "Ftrl";
  std::optional<double> learning_rate;
};

// The model core of TF's canned V1 tf.estimator.LinearClassifier over
// numeric feature columns with a softmax head: logits = sum over features
// f of x_f * `linear/linear_model/<f>/weights` ([1, n_classes], zeros) +
// `linear/linear_model/bias_weights` ([n_classes], zeros). Like the DNN,
// weights are one-piece partitioned variables (full slice spec), and the
// optimizer runs inside the `linear` variable scope and `linear/head` name
// scope; with the 7-character "linear/" prefix TF's slot naming rule gives
// `<var>/part_0/<SlotName>` (e.g. linear/linear_model/bias_weights/part_0/Ftrl)
// and non-slot variables `linear/head/<name>`. Same API as
// DnnClassifierModel, without DescribeGraph.
class LinearClassifierModel {
 public:
  static Result<std::unique_ptr<LinearClassifierModel>> Create(
      const LinearClassifierConfig& config);
  ~LinearClassifierModel();
  LinearClassifierModel(const LinearClassifierModel&) = delete;
  LinearClassifierModel& operator=(const LinearClassifierModel&) = delete;

  const std::vector<std::string>& sorted_feature_names() const;
  int64_t global_step() const;
  double learning_rate() const;
  Result<DnnPredictions> Predict(const Tensor& features) const;
  Result<DnnTrainResult> TrainStep(const Tensor& features, const std::vector<int64_t>& labels);
  Result<DnnEvalResult> Evaluate(const Tensor& features, const std::vector<int64_t>& labels) const;
  VarList SaveableVariables();

 private:
  struct Impl;
  explicit LinearClassifierModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
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

#endif  // CKPT_DNN_CLASSIFIER_H_
