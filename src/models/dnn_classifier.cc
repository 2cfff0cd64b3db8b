#include "ckpt/dnn_classifier.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "ckpt/graph.h"
#include "ckpt/optimizer.h"
#include "ckpt/random.h"
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

DnnPredictions PredictionsFromLogits(const Mat& logits) {
  DnnPredictions out;
  out.logits = nn::TensorFromMatrix<float>(logits);
  out.probabilities = nn::TensorFromMatrix<float>(nn::Softmax<float>(logits));
  std::vector<int64_t> ids(static_cast<size_t>(logits.rows()));
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    Eigen::Index best = 0;
    logits.row(r).maxCoeff(&best);
    ids[static_cast<size_t>(r)] = best;
  }
  out.class_ids = Tensor::FromVector<int64_t>(TensorShape({static_cast<int64_t>(ids.size())}), ids);
  return out;
}

Result<DnnEvalResult> EvalFromLogits(const Mat& logits, const std::vector<int64_t>& labels,
                                     int64_t global_step) {
  CKPT_ASSIGN_OR_RETURN(nn::CrossEntropyResult<float> ce,
                        nn::SparseSoftmaxCrossEntropy<float>(logits, labels));
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    Eigen::Index best = 0;
    logits.row(static_cast<Eigen::Index>(i)).maxCoeff(&best);
    if (best == labels[i]) ++correct;
  }
  DnnEvalResult r;
  r.loss = ce.loss;
  r.average_loss = ce.loss / static_cast<double>(labels.size());
  r.accuracy = static_cast<double>(correct) / static_cast<double>(labels.size());
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

}  // namespace

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
  // Fixed size after Create: the optimizer and savers hold pointers into it.
  std::vector<Layer> layers;  // hidden layers, then logits
  Tensor global_step;
  std::unique_ptr<Optimizer> optimizer;
  Rng dropout_rng{0};

  // Forward pass keeping what the backward pass needs.
  struct Trace {
    std::vector<Mat> inputs;       // input of layer i
    std::vector<Mat> activations;  // relu output of hidden layer i
    std::vector<Mat> dropout_scale;
    Mat logits;
  };

  Status CheckFeatures(const Tensor& features) const {
    return CheckFeatureTensor(features, static_cast<int64_t>(sorted_features.size()));
  }

  Result<Trace> Forward(const Tensor& features, bool training) {
    Trace trace;
    Mat h = ToMat(features);
    for (size_t i = 0; i < layers.size(); ++i) {
      trace.inputs.push_back(h);
      CKPT_ASSIGN_OR_RETURN(
          Mat z, nn::DenseForward<float>(h, ToMat(layers[i].kernel), ToVec(layers[i].bias)));
      if (i + 1 == layers.size()) {
        trace.logits = std::move(z);
        break;
      }
      h = nn::Relu<float>(z);
      trace.activations.push_back(h);
      if (training && config.dropout.has_value() && *config.dropout > 0) {
        CKPT_ASSIGN_OR_RETURN(nn::DropoutResult<float> d,
                              nn::DropoutForward<float>(h, *config.dropout, &dropout_rng));
        h = std::move(d.output);
        trace.dropout_scale.push_back(std::move(d.scale));
      }
    }
    return trace;
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
  if (config.n_classes < 3) {
    return InvalidArgumentError("n_classes must be >= 3 (the binary head is not supported), got " +
                                std::to_string(config.n_classes));
  }
  if (config.activation != "relu") {
    return InvalidArgumentError("unsupported activation \"" + config.activation + "\" (only relu)");
  }
  if (config.dropout.has_value() && !(*config.dropout >= 0 && *config.dropout < 1)) {
    return InvalidArgumentError("dropout must be in [0, 1)");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->sorted_features = sorted;
  CKPT_ASSIGN_OR_RETURN(impl->optimizer, Optimizer::Create(config.optimizer, config.learning_rate));
  impl->dropout_rng = Rng(Rng::DeriveSeed(config.seed, 1));

  Rng init_rng(Rng::DeriveSeed(config.seed, 0));
  int64_t fan_in = static_cast<int64_t>(sorted.size());
  const size_t n_layers = config.hidden_units.size() + 1;
  impl->layers.resize(n_layers);
  for (size_t i = 0; i < n_layers; ++i) {
    const bool logits = i + 1 == n_layers;
    const int64_t fan_out = logits ? config.n_classes : config.hidden_units[i];
    Layer& layer = impl->layers[i];
    layer.scope = logits ? "dnn/logits" : "dnn/hiddenlayer_" + std::to_string(i);
    CKPT_ASSIGN_OR_RETURN(Mat kernel, nn::GlorotUniform<float>(fan_in, fan_out, &init_rng));
    layer.kernel = nn::TensorFromMatrix<float>(kernel);
    CKPT_ASSIGN_OR_RETURN(layer.bias, Tensor::Allocate(DataType::kFloat, TensorShape({fan_out})));
    fan_in = fan_out;
  }
  // Slots are created in TF's order (kernel, bias per layer); the layers
  // vector no longer changes size, so the pointers stay valid.
  for (Layer& layer : impl->layers) {
    CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(layer.kernel_key(), &layer.kernel));
    CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(layer.bias_key(), &layer.bias));
  }
  impl->global_step = Tensor::Scalar<int64_t>(0);
  return std::unique_ptr<DnnClassifierModel>(new DnnClassifierModel(std::move(impl)));
}

const DnnClassifierConfig& DnnClassifierModel::config() const { return impl_->config; }
const std::vector<std::string>& DnnClassifierModel::sorted_feature_names() const {
  return impl_->sorted_features;
}
int64_t DnnClassifierModel::global_step() const { return *impl_->global_step.flat<int64_t>(); }

Result<DnnPredictions> DnnClassifierModel::Predict(const Tensor& features) const {
  CKPT_RETURN_IF_ERROR(impl_->CheckFeatures(features));
  CKPT_ASSIGN_OR_RETURN(Impl::Trace trace, impl_->Forward(features, /*training=*/false));
  return PredictionsFromLogits(trace.logits);
}

Result<DnnTrainResult> DnnClassifierModel::TrainStep(const Tensor& features,
                                                     const std::vector<int64_t>& labels) {
  CKPT_RETURN_IF_ERROR(impl_->CheckFeatures(features));
  CKPT_RETURN_IF_ERROR(CheckLabelCount(features, labels));
  CKPT_ASSIGN_OR_RETURN(Impl::Trace trace, impl_->Forward(features, /*training=*/true));
  CKPT_ASSIGN_OR_RETURN(nn::CrossEntropyResult<float> ce,
                        nn::SparseSoftmaxCrossEntropy<float>(trace.logits, labels));

  std::vector<std::pair<std::string, Tensor>> grads;
  Mat d = std::move(ce.d_logits);
  for (size_t i = impl_->layers.size(); i-- > 0;) {
    const Layer& layer = impl_->layers[i];
    if (i + 1 < impl_->layers.size()) {
      if (!trace.dropout_scale.empty()) {
        CKPT_ASSIGN_OR_RETURN(d, nn::DropoutBackward<float>(trace.dropout_scale[i], d));
      }
      CKPT_ASSIGN_OR_RETURN(d, nn::ReluBackward<float>(trace.activations[i], d));
    }
    CKPT_ASSIGN_OR_RETURN(nn::DenseGradients<float> g,
                          nn::DenseBackward<float>(trace.inputs[i], ToMat(layer.kernel), d));
    grads.emplace_back(layer.kernel_key(), nn::TensorFromMatrix<float>(g.d_kernel));
    grads.emplace_back(layer.bias_key(), nn::TensorFromRowVector<float>(g.d_bias));
    d = std::move(g.d_input);
  }
  CKPT_RETURN_IF_ERROR(impl_->optimizer->ApplyGradients(grads));
  int64_t* step = impl_->global_step.mutable_flat<int64_t>();
  *step += 1;
  DnnTrainResult result;
  result.loss = ce.loss;
  result.average_loss = ce.loss / static_cast<double>(labels.size());
  result.global_step = *step;
  return result;
}

Result<DnnEvalResult> DnnClassifierModel::Evaluate(const Tensor& features,
                                                   const std::vector<int64_t>& labels) const {
  CKPT_RETURN_IF_ERROR(impl_->CheckFeatures(features));
  CKPT_RETURN_IF_ERROR(CheckLabelCount(features, labels));
  CKPT_ASSIGN_OR_RETURN(Impl::Trace trace, impl_->Forward(features, /*training=*/false));
  return EvalFromLogits(trace.logits, labels, global_step());
}

VarList DnnClassifierModel::SaveableVariables() {
  VarList vars;
  for (Layer& layer : impl_->layers) {
    vars.push_back(SlicedSaveable(layer.kernel_key(), &layer.kernel));
    vars.push_back(SlicedSaveable(layer.bias_key(), &layer.bias));
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

Status DnnClassifierModel::DescribeGraph(GraphBuilder* graph) const {
  if (graph == nullptr) return InvalidArgumentError("null GraphBuilder");
  const int64_t n = static_cast<int64_t>(impl_->sorted_features.size());
  Output x = graph->Placeholder(DataType::kFloat, PartialShape({-1, n}), "features");
  graph->GlobalStep();
  std::map<std::string, GraphVariable> vars;
  for (const Layer& layer : impl_->layers) {
    vars[layer.kernel_key()] = graph->Variable(layer.kernel_key(), layer.kernel);
    vars[layer.bias_key()] = graph->Variable(layer.bias_key(), layer.bias);
  }
  for (const Optimizer::SlotRef& slot : impl_->optimizer->slots()) {
    graph->Variable(PartitionedSlotKey("dnn", slot.var_name, slot.slot_name), *slot.tensor,
                    /*trainable=*/false);
  }
  for (const std::string& name : impl_->optimizer->non_slot_names()) {
    graph->Variable("dnn/head/" + name, *impl_->optimizer->GetNonSlot(name), /*trainable=*/false);
  }
  Output h = x;
  for (size_t i = 0; i < impl_->layers.size(); ++i) {
    const Layer& layer = impl_->layers[i];
    Output mm =
        graph->MatMul(h, vars[layer.kernel_key()].read, false, false, layer.scope + "/MatMul");
    h = graph->BiasAdd(mm, vars[layer.bias_key()].read, layer.scope + "/BiasAdd");
    if (i + 1 < impl_->layers.size()) h = graph->Relu(h, layer.scope + "/Relu");
  }
  Output probs = graph->Softmax(h, "dnn/head/predictions/probabilities");
  graph->ArgMax(h, 1, DataType::kInt64, "dnn/head/predictions/ArgMax");
  (void)probs;
  return graph->status();
}

// ------------------------------------------------------------ Linear

struct LinearClassifierModel::Impl {
  LinearClassifierConfig config;
  double learning_rate = 0;
  std::vector<std::string> sorted_features;
  std::vector<Tensor> weights;  // per sorted feature, [1, n_classes]; fixed size
  Tensor bias;
  Tensor global_step;
  std::unique_ptr<Optimizer> optimizer;

  std::string WeightKey(size_t i) const {
    return "linear/linear_model/" + sorted_features[i] + "/weights";
  }
  static std::string BiasKey() { return "linear/linear_model/bias_weights"; }

  Mat Kernel() const {
    Mat k(static_cast<Eigen::Index>(weights.size()), config.n_classes);
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
  if (config.n_classes < 3) {
    return InvalidArgumentError("n_classes must be >= 3 (the binary head is not supported), got " +
                                std::to_string(config.n_classes));
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->sorted_features = sorted;
  // TF's _linear_learning_rate: min(0.2, 1 / sqrt(number of columns)).
  impl->learning_rate = config.learning_rate.has_value()
                            ? *config.learning_rate
                            : std::min(0.2, 1.0 / std::sqrt(static_cast<double>(sorted.size())));
  CKPT_ASSIGN_OR_RETURN(impl->optimizer, Optimizer::Create(config.optimizer, impl->learning_rate));
  impl->weights.resize(sorted.size());
  for (Tensor& w : impl->weights) {
    CKPT_ASSIGN_OR_RETURN(w,
                          Tensor::Allocate(DataType::kFloat, TensorShape({1, config.n_classes})));
  }
  CKPT_ASSIGN_OR_RETURN(impl->bias,
                        Tensor::Allocate(DataType::kFloat, TensorShape({config.n_classes})));
  for (size_t i = 0; i < impl->weights.size(); ++i) {
    CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(impl->WeightKey(i), &impl->weights[i]));
  }
  CKPT_RETURN_IF_ERROR(impl->optimizer->AddVariable(Impl::BiasKey(), &impl->bias));
  impl->global_step = Tensor::Scalar<int64_t>(0);
  return std::unique_ptr<LinearClassifierModel>(new LinearClassifierModel(std::move(impl)));
}

const std::vector<std::string>& LinearClassifierModel::sorted_feature_names() const {
  return impl_->sorted_features;
}
int64_t LinearClassifierModel::global_step() const { return *impl_->global_step.flat<int64_t>(); }
double LinearClassifierModel::learning_rate() const { return impl_->learning_rate; }

Result<DnnPredictions> LinearClassifierModel::Predict(const Tensor& features) const {
  CKPT_ASSIGN_OR_RETURN(Mat logits, impl_->Logits(features));
  return PredictionsFromLogits(logits);
}

Result<DnnTrainResult> LinearClassifierModel::TrainStep(const Tensor& features,
                                                        const std::vector<int64_t>& labels) {
  CKPT_ASSIGN_OR_RETURN(Mat logits, impl_->Logits(features));
  CKPT_RETURN_IF_ERROR(CheckLabelCount(features, labels));
  CKPT_ASSIGN_OR_RETURN(nn::CrossEntropyResult<float> ce,
                        nn::SparseSoftmaxCrossEntropy<float>(logits, labels));
  CKPT_ASSIGN_OR_RETURN(nn::DenseGradients<float> g,
                        nn::DenseBackward<float>(ToMat(features), impl_->Kernel(), ce.d_logits));
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
  result.loss = ce.loss;
  result.average_loss = ce.loss / static_cast<double>(labels.size());
  result.global_step = *step;
  return result;
}

Result<DnnEvalResult> LinearClassifierModel::Evaluate(const Tensor& features,
                                                      const std::vector<int64_t>& labels) const {
  CKPT_ASSIGN_OR_RETURN(Mat logits, impl_->Logits(features));
  CKPT_RETURN_IF_ERROR(CheckLabelCount(features, labels));
  return EvalFromLogits(logits, labels, global_step());
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
