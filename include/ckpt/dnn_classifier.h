// DnnClassifierModel: the model core of TensorFlow's canned V1
// tf.estimator.DNNClassifier (numeric feature columns, softmax head), with
// its variables under the checkpoint keys TensorFlow uses, so that a
// ckpt::Saver writes checkpoints TF can read and vice versa.
//
// Network (docs/canned.md): numeric features concatenated in sorted
// feature-name order; hidden layers `dnn/hiddenlayer_<i>` (dense, activation
// (relu by default), glorot_uniform kernel, zero bias, optional
// training-only dropout, optional batch normalisation); `dnn/logits` (dense,
// no activation); the head; `global_step` (int64 scalar) incremented per
// train step.
//
// Heads (ckpt/classifier.h; TF 1.8's canned heads, SUM loss reduction):
//   n_classes > 2   multi-class: logits [batch, n_classes], sparse softmax
//                   cross-entropy;
//   n_classes == 2  binary logistic: one logit per example (logits kernel
//                   [last, 1]), sigmoid cross-entropy; probabilities
//                   [1 - p, p], class_id 1 when the logit is > 0.
// With a weight column, the training loss is sum_i w_i * loss_i and every
// metric is weighted (TF's weighted means: sum w x / sum w).
//
// Batch normalisation (batch_norm = true, TF's V1 DNN): after each hidden
// layer's activation and dropout, tf.layers.batch_normalization with
// momentum 0.999 and epsilon 0.001 named `batchnorm_<i>` inside the hidden
// layer's scope: `dnn/hiddenlayer_<i>/batchnorm_<i>/{gamma,beta}`
// (trainable, one-piece partitioned like the weights) and
// `.../{moving_mean,moving_variance}` (plain variables: TF disables the
// partitioner for them; not trained, updated by each training step with
// the batch statistics). Training normalises with the batch statistics,
// evaluation and prediction with the moving ones. (Names and numbers are
// checked against the worked example of tensorflow_estimator's
// canned/v1/dnn_testing_utils_v1.py in dnn_classifier_test.)
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
// keys listed in docs/canned.md.
//
// Thread safety: a model is used from one thread at a time.
#ifndef CKPT_DNN_CLASSIFIER_H_
#define CKPT_DNN_CLASSIFIER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

struct DnnClassifierConfig {
  // Numeric feature names, in any order; the input layer uses them sorted.
  // REQUIRES: non-empty, distinct.
  std::vector<std::string> feature_names = {"SepalLength", "SepalWidth", "PetalLength",
                                            "PetalWidth"};
  // Units per hidden layer. REQUIRES: each > 0 (an empty list is a linear
  // model with only `dnn/logits`).
  std::vector<int64_t> hidden_units = {10, 10};
  // REQUIRES: >= 2; 2 is the binary logistic head (one logit).
  int64_t n_classes = 3;
  // The hidden layers' activation_fn by TF name: "relu" (the default),
  // "relu6", "elu", "selu", "tanh", "sigmoid", "softplus", "softsign",
  // "leaky_relu".
  std::string activation = "relu";
  // Drop probability of training-mode dropout after each hidden layer
  // (unset = no dropout). REQUIRES: in [0, 1).
  std::optional<double> dropout;
  // Batch normalisation after each hidden layer (see above).
  bool batch_norm = false;
  // Name of the feature column holding per-example weights (float32
  // [batch]); empty: every example weighs 1. It is not a model input.
  // REQUIRES: not one of feature_names.
  std::string weight_column;
  // Class names: labels are then strings and the "classes" prediction is
  // the word. Empty: labels are class ids. REQUIRES: empty, or n_classes
  // distinct words.
  std::vector<std::string> label_vocabulary;
  // As Optimizer::Create: "Adagrad", "Adam", "Ftrl", "RMSProp" or "SGD".
  std::string optimizer = "Adagrad";
  double learning_rate = 0.05;
  // When set, makes the optimizer instead of `optimizer` / `learning_rate`.
  OptimizerFactory optimizer_fn;
  // Seeds the weight initialisation and the dropout masks.
  uint64_t seed = 0;
};

class DnnClassifierModel {
 public:
  // InvalidArgument for a config violating the REQUIRES above, an
  // unknown optimizer or activation name; optimizer_fn's error.
  static Result<std::unique_ptr<DnnClassifierModel>> Create(const DnnClassifierConfig& config);
  ~DnnClassifierModel();
  DnnClassifierModel(const DnnClassifierModel&) = delete;
  DnnClassifierModel& operator=(const DnnClassifierModel&) = delete;

  const DnnClassifierConfig& config() const;
  // The feature names sorted: the column order of a features matrix.
  const std::vector<std::string>& sorted_feature_names() const;
  int64_t global_step() const;
  // The optimizer that applies the gradients (data-parallel training sets
  // its gradient combiner).
  Optimizer* optimizer();
  // Data-parallel training (EstimatorModel::SetStateAverager): each step's
  // new batch-norm moving statistics ("<layer>/batchnorm_<i>/moving_mean",
  // ".../moving_variance") pass through `average` before they are stored.
  // Null (the default): stored as computed.
  void set_moving_statistics_averager(
      std::function<Status(std::vector<std::pair<std::string, Tensor>>*)> average);

  // The model's inference. `features` is float32 [batch, n_features] in
  // sorted_feature_names() order. InvalidArgument for another dtype or
  // shape.
  Result<ClassifierPredictions> Predict(const Tensor& features) const;

  // One training step on a batch: forward (dropout active, batch
  // statistics), SUM loss, gradients, the optimizer's update, the moving
  // statistics' update, global_step += 1. `weights`: one per example, or
  // empty for all 1. InvalidArgument (nothing changed) for a bad features
  // tensor, labels.size() or weights.size() != batch, a negative or
  // non-finite weight, or a label outside [0, n_classes) (TF's message).
  Result<ClassifierTrainResult> TrainStep(const Tensor& features,
                                          const std::vector<int64_t>& labels,
                                          const std::vector<float>& weights = {},
                                          bool record_layer_outputs = false);

  // Metrics on a batch without changing anything.
  Result<ClassifierEvalResult> Evaluate(const Tensor& features, const std::vector<int64_t>& labels,
                                        const std::vector<float>& weights = {}) const;

  // Labels as class ids: int64 [batch] (or [batch, 1]) ids, or with a
  // label vocabulary string [batch] (or [batch, 1]) words. InvalidArgument
  // for another dtype or shape, and for a word not in the vocabulary
  // (naming it).
  Result<std::vector<int64_t>> LabelIds(const Tensor& labels) const;
  // The "classes" prediction of a class id: the vocabulary word, or the id
  // in decimal.
  std::string ClassName(int64_t class_id) const;

  // Checkpoint keys of the trainable variables (kernels, biases, batch
  // norm gamma and beta), in creation order.
  std::vector<std::string> TrainableVariableNames() const;

  // Every variable a Saver saves, sorted by checkpoint key as TF's saver
  // writes them: weights and their slots carry full_shape + full slice;
  // global_step and non-slot variables are plain. The tensors belong to the
  // model and stay at the same addresses for its lifetime.
  VarList SaveableVariables();

  // The variable saved under `key`, or null.
  Tensor* FindVariable(const std::string& key);

  // Adds the model's TF1 inference (PREDICT) graph to `graph`, for every
  // config: a float32 placeholder "features" [-1, n_features], one
  // VariableV2 per checkpoint key (named by the key; TF's own graph names
  // weights ".../part_0"), global_step, and
  //   dnn/hiddenlayer_<i>/{MatMul, BiasAdd, <Activation>}   the activation
  //       is the TF op of the same name (Relu, Relu6, Elu, Selu, Tanh,
  //       Sigmoid, Softplus, Softsign, LeakyRelu with alpha 0.2);
  //   with batch_norm, tf.nn.batch_normalization's inference arithmetic on
  //       the moving statistics in dnn/hiddenlayer_<i>/batchnorm_<i>/batchnorm/
  //       (add = moving_variance + 0.001, Rsqrt, mul = Rsqrt * gamma,
  //       mul_1 = x * mul, mul_2 = moving_mean * mul, sub = beta - mul_2,
  //       add_1 = mul_1 + sub); dropout has no node (training only);
  //   dnn/logits/{MatMul, BiasAdd} (the logits);
  //   dnn/head/predictions/: multi-class probabilities (Softmax) and ArgMax;
  //       binary (TF's binary head names) logistic (Sigmoid), zeros_like,
  //       two_class_logits (ConcatV2 of zeros and logits), probabilities
  //       (Softmax of those), class_ids (ArgMax) and ExpandDims.
  // Variables' initial values are their current values. Returns the
  // builder's status.
  Status DescribeGraph(GraphBuilder* graph) const;
  // The serving graph for export (EstimatorModel::DescribeServing): the
  // weights (no optimizer variables; global_step is the caller's), the
  // input layer on `features` (each numeric feature [batch] or [batch, 1]),
  // the network and the head's predictions and export outputs
  // (serving_default, classification, predict; regression when binary).
  Result<std::map<std::string, ExportOutput>> DescribeServing(
      GraphBuilder* graph, const std::map<std::string, Output>& features) const;

 private:
  std::map<std::string, GraphVariable> DescribeVariables(GraphBuilder* graph) const;
  Output DescribeNetwork(GraphBuilder* graph, std::map<std::string, GraphVariable>& vars,
                         const Output& x) const;

  struct Impl;
  explicit DnnClassifierModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_DNN_CLASSIFIER_H_
