// DnnClassifierModel (ckpt/dnn_classifier.h): the hidden layers, the
// training step's forward and backward passes (feature-major, buffers reused
// from step to step), double-precision inference and the PREDICT graph. The
// head (loss, predictions, metrics) is models/classifier_head.h, the
// checkpoint keys of variables and slots models/classifier_variables.h.
#include "ckpt/dnn_classifier.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "ckpt/graph.h"
#include "ckpt/optimizer.h"
#include "ckpt/random.h"
#include "models/classifier_head.h"
#include "models/classifier_variables.h"
#include "models/nn/batch_norm.h"
#include "models/nn/feature_major.h"
#include "models/nn/init.h"
#include "models/nn/layers.h"
#include "models/nn/loss.h"
#include "models/nn/types.h"

namespace ckpt {

using classifier_internal::AddOptimizerSaveables;
using classifier_internal::CheckFeatureTensor;
using classifier_internal::CheckHeadConfig;
using classifier_internal::CheckLabelCount;
using classifier_internal::CheckWeights;
using classifier_internal::ClassNameOf;
using classifier_internal::DescribeHead;
using classifier_internal::DescribeOptimizerVariables;
using classifier_internal::DescribeServingHead;
using classifier_internal::DescribeServingInputLayer;
using classifier_internal::EvalFromLogits;
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
using classifier_internal::Vec;
using classifier_internal::WeightOf;

namespace {

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

}  // namespace

struct DnnClassifierModel::Impl {
  DnnClassifierConfig config;
  std::vector<std::string> sorted_features;
  nn::Activation activation = nn::Activation::kRelu;
  // Fixed size after Create: the optimizer and savers hold pointers into
  // these vectors.
  std::vector<Layer> layers;               // hidden layers, then logits
  std::vector<BatchNormVars> batch_norms;  // one per hidden layer, or none
  Tensor global_step;
  std::unique_ptr<Optimizer> optimizer;
  // set_moving_statistics_averager's; null: none.
  std::function<Status(std::vector<std::pair<std::string, Tensor>>*)> average_moving_statistics;
  Rng dropout_rng{0};

  bool binary() const { return config.n_classes == 2; }

  // The training step's buffers, feature-major ([units, batch], see
  // models/nn/feature_major.h) and reused from step to step: Eigen
  // reallocates a matrix only when the batch size changes, and the
  // gradient tensors are allocated once, in Create.
  struct LayerWork {
    Mat z;                               // dense output before a non-relu activation
    Mat y;                               // the activation's output (hidden layers) or the logits
    Mat scale;                           // dropout's scale
    Mat out;                             // after dropout and batch norm, when there are any
    Mat d;                               // d loss / d (dense output)
    Mat d_out;                           // d loss / d (*output), when it is not the relu's output
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
      CKPT_ASSIGN_OR_RETURN(MatD z,
                            nn::DenseForward<double>(h, ToMat(layers[i].kernel).cast<double>(),
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
    work.x =
        Eigen::Map<const Mat>(features.flat<float>(), batch, features.shape().dim(1)).transpose();
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
        CKPT_ASSIGN_OR_RETURN(
            Mat normed, nn::BatchNormTrain<float>(x, ToVec(bn.gamma), ToVec(bn.beta), &w.new_mean,
                                                  &w.new_variance, bn_config, &w.bn_cache));
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
Optimizer* DnnClassifierModel::optimizer() { return impl_->optimizer.get(); }

void DnnClassifierModel::set_moving_statistics_averager(
    std::function<Status(std::vector<std::pair<std::string, Tensor>>*)> average) {
  impl_->average_moving_statistics = std::move(average);
}

int64_t DnnClassifierModel::global_step() const { return *impl_->global_step.flat<int64_t>(); }

Result<ClassifierPredictions> DnnClassifierModel::Predict(const Tensor& features) const {
  CKPT_RETURN_IF_ERROR(impl_->CheckFeatures(features));
  CKPT_ASSIGN_OR_RETURN(nn::Matrix<double> logits, impl_->InferLogits(features));
  return PredictionsFromLogits(logits, impl_->binary());
}

Result<ClassifierTrainResult> DnnClassifierModel::TrainStep(const Tensor& features,
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
  std::vector<std::pair<std::string, Tensor>> stats;
  for (size_t i = 0; i < impl_->batch_norms.size(); ++i) {
    const BatchNormVars& bn = impl_->batch_norms[i];
    const Impl::LayerWork& w = impl_->work.layers[i];
    stats.emplace_back(bn.moving_mean_key(), bn.moving_mean);
    stats.emplace_back(bn.moving_variance_key(), bn.moving_variance);
    CKPT_RETURN_IF_ERROR(nn::AssignToTensor<float>(w.new_mean, &stats[2 * i].second));
    CKPT_RETURN_IF_ERROR(nn::AssignToTensor<float>(w.new_variance, &stats[2 * i + 1].second));
  }
  if (!stats.empty() && impl_->average_moving_statistics) {
    CKPT_RETURN_IF_ERROR(impl_->average_moving_statistics(&stats));
  }
  for (size_t i = 0; i < impl_->batch_norms.size(); ++i) {
    BatchNormVars& bn = impl_->batch_norms[i];
    bn.moving_mean = std::move(stats[2 * i].second);
    bn.moving_variance = std::move(stats[2 * i + 1].second);
  }
  int64_t* step = impl_->global_step.mutable_flat<int64_t>();
  *step += 1;
  ClassifierTrainResult result;
  result.loss = loss;
  result.average_loss = SafeDiv(loss, weight);
  result.global_step = *step;
  if (record_layer_outputs) result.layer_outputs = impl_->LayerOutputs();
  return result;
}

Result<ClassifierEvalResult> DnnClassifierModel::Evaluate(const Tensor& features,
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

// The TF op (and node name) of a hidden layer's activation_fn.
const char* ActivationOp(nn::Activation activation) {
  switch (activation) {
    case nn::Activation::kRelu:
      return "Relu";
    case nn::Activation::kRelu6:
      return "Relu6";
    case nn::Activation::kElu:
      return "Elu";
    case nn::Activation::kSelu:
      return "Selu";
    case nn::Activation::kTanh:
      return "Tanh";
    case nn::Activation::kSigmoid:
      return "Sigmoid";
    case nn::Activation::kSoftplus:
      return "Softplus";
    case nn::Activation::kSoftsign:
      return "Softsign";
    case nn::Activation::kLeakyRelu:
      return "LeakyRelu";
  }
  return "";
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

std::map<std::string, GraphVariable> DnnClassifierModel::DescribeVariables(
    GraphBuilder* graph) const {
  // Variables in TF's creation order: per layer the kernel, the bias and
  // the batch norm's gamma, beta, moving_mean, moving_variance.
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
  return vars;
}

Output DnnClassifierModel::DescribeNetwork(GraphBuilder* graph,
                                           std::map<std::string, GraphVariable>& vars,
                                           const Output& x) const {
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
      h = DescribeBatchNormInference(graph, bn.scope, h, vars[bn.gamma_key()], vars[bn.beta_key()],
                                     vars[bn.moving_mean_key()], vars[bn.moving_variance_key()],
                                     static_cast<float>(bn_config.epsilon));
    }
  }
  return h;
}

Status DnnClassifierModel::DescribeGraph(GraphBuilder* graph) const {
  if (graph == nullptr) return InvalidArgumentError("null GraphBuilder");
  const int64_t n = static_cast<int64_t>(impl_->sorted_features.size());
  Output x = graph->Placeholder(DataType::kFloat, PartialShape({-1, n}), "features");
  graph->GlobalStep();
  std::map<std::string, GraphVariable> vars = DescribeVariables(graph);
  DescribeOptimizerVariables(graph, "dnn", impl_->optimizer.get());
  DescribeHead(graph, "dnn", DescribeNetwork(graph, vars, x), impl_->binary());
  return graph->status();
}

Result<std::map<std::string, ExportOutput>> DnnClassifierModel::DescribeServing(
    GraphBuilder* graph, const std::map<std::string, Output>& features) const {
  if (graph == nullptr) return InvalidArgumentError("null GraphBuilder");
  CKPT_ASSIGN_OR_RETURN(Output x, DescribeServingInputLayer(graph, "dnn", impl_->sorted_features,
                                                            features));
  std::map<std::string, GraphVariable> vars = DescribeVariables(graph);
  Output logits = DescribeNetwork(graph, vars, x);
  if (!graph->status().ok()) return graph->status();
  return DescribeServingHead(graph, "dnn", logits, impl_->config.n_classes,
                             impl_->config.label_vocabulary);
}

}  // namespace ckpt
