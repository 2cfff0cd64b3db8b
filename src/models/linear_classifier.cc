// LinearClassifierModel (ckpt/linear_classifier.h): one weight row per
// feature plus a bias, the logits one product; the head is
// models/classifier_head.h, the checkpoint keys models/classifier_variables.h.
#include "ckpt/linear_classifier.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "ckpt/graph.h"
#include "ckpt/optimizer.h"
#include "models/classifier_head.h"
#include "models/classifier_variables.h"
#include "models/nn/layers.h"
#include "models/nn/types.h"

namespace ckpt {

using classifier_internal::AddOptimizerSaveables;
using classifier_internal::CheckFeatureTensor;
using classifier_internal::CheckHeadConfig;
using classifier_internal::CheckLabelCount;
using classifier_internal::ClassNameOf;
using classifier_internal::ComputeHeadLoss;
using classifier_internal::DescribeHead;
using classifier_internal::DescribeOptimizerVariables;
using classifier_internal::DescribeServingHead;
using classifier_internal::DescribeServingInputLayer;
using classifier_internal::EvalFromLogits;
using classifier_internal::HeadLoss;
using classifier_internal::LabelIdsOf;
using classifier_internal::MakeOptimizer;
using classifier_internal::Mat;
using classifier_internal::PlainSaveable;
using classifier_internal::PredictionsFromLogits;
using classifier_internal::SafeDiv;
using classifier_internal::SlicedSaveable;
using classifier_internal::SortByName;
using classifier_internal::SortedFeatures;
using classifier_internal::ToMat;
using classifier_internal::ToVec;

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
    CKPT_ASSIGN_OR_RETURN(w, Tensor::Allocate(DataType::kFloat, TensorShape({1, impl->logit_dim})));
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
Optimizer* LinearClassifierModel::optimizer() { return impl_->optimizer.get(); }

int64_t LinearClassifierModel::global_step() const { return *impl_->global_step.flat<int64_t>(); }
double LinearClassifierModel::learning_rate() const { return impl_->learning_rate; }

Result<ClassifierPredictions> LinearClassifierModel::Predict(const Tensor& features) const {
  CKPT_ASSIGN_OR_RETURN(Mat logits, impl_->Logits(features));
  return PredictionsFromLogits(logits, impl_->binary());
}

Result<ClassifierTrainResult> LinearClassifierModel::TrainStep(const Tensor& features,
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
  ClassifierTrainResult result;
  result.loss = head.loss;
  result.average_loss = SafeDiv(head.loss, head.weight);
  result.global_step = *step;
  return result;
}

Result<ClassifierEvalResult> LinearClassifierModel::Evaluate(
    const Tensor& features, const std::vector<int64_t>& labels,
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

Output LinearClassifierModel::DescribeLogits(GraphBuilder* graph, const Output& x) const {
  std::vector<Output> rows;
  for (size_t i = 0; i < impl_->weights.size(); ++i) {
    rows.push_back(graph->Variable(impl_->WeightKey(i), impl_->weights[i]).read);
  }
  GraphVariable bias = graph->Variable(Impl::BiasKey(), impl_->bias);
  // The per-feature weight rows stacked into one [n_features, logit_dim]
  // kernel, so that one MatMul gives sum_f x_f * weights_f.
  Output kernel =
      rows.size() == 1 ? rows[0] : graph->ConcatV2(rows, 0, "linear/linear_model/weights_concat");
  Output sum = graph->MatMul(x, kernel, false, false, "linear/linear_model/weighted_sum_no_bias");
  return graph->BiasAdd(sum, bias.read, "linear/linear_model/weighted_sum");
}

Status LinearClassifierModel::DescribeGraph(GraphBuilder* graph) const {
  if (graph == nullptr) return InvalidArgumentError("null GraphBuilder");
  const int64_t n = static_cast<int64_t>(impl_->sorted_features.size());
  Output x = graph->Placeholder(DataType::kFloat, PartialShape({-1, n}), "features");
  graph->GlobalStep();
  Output logits = DescribeLogits(graph, x);
  DescribeOptimizerVariables(graph, "linear", impl_->optimizer.get());
  DescribeHead(graph, "linear", logits, impl_->binary());
  return graph->status();
}

Result<std::map<std::string, ExportOutput>> LinearClassifierModel::DescribeServing(
    GraphBuilder* graph, const std::map<std::string, Output>& features) const {
  if (graph == nullptr) return InvalidArgumentError("null GraphBuilder");
  CKPT_ASSIGN_OR_RETURN(Output x, DescribeServingInputLayer(graph, "linear",
                                                            impl_->sorted_features, features));
  Output logits = DescribeLogits(graph, x);
  if (!graph->status().ok()) return graph->status();
  return DescribeServingHead(graph, "linear", logits, impl_->config.n_classes,
                             impl_->config.label_vocabulary);
}

}  // namespace ckpt
