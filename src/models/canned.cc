// The canned classifiers as ModelFns: an EstimatorModel adapter over the
// model cores of ckpt/dnn_classifier.h and ckpt/linear_classifier.h.
//
// The adapter turns Batches into the cores' inputs (a float32 features
// matrix in sorted feature-name order, class ids, weights), reports TF's
// training summaries, accumulates TF's streaming evaluation metrics over
// the batches of one Evaluate call (ClassifierMetricSums) and splits
// predictions into one dict per example.
#include "ckpt/canned.h"

#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ckpt/graph.h"

namespace ckpt {
namespace {

// A column's values as one float per example: float32 [batch] or
// [batch, 1].
Result<const float*> ColumnValues(const Batch& batch, const std::string& name,
                                  const char* what, int64_t* rows) {
  auto it = batch.features.find(name);
  if (it == batch.features.end()) {
    std::string have;
    for (const auto& [key, value] : batch.features) have += (have.empty() ? "" : ", ") + key;
    return InvalidArgumentError(std::string(what) + " \"" + name +
                                "\" is missing from the batch (its columns: " + have + ")");
  }
  const Tensor& t = it->second;
  const TensorShape& shape = t.shape();
  const bool vector = shape.rank() == 1 || (shape.rank() == 2 && shape.dim(1) == 1);
  if (t.dtype() != DataType::kFloat || !vector) {
    return InvalidArgumentError(std::string(what) + " \"" + name +
                                "\" must be float32 [batch] or [batch, 1], got " +
                                std::string(DataTypeName(t.dtype())) + " " + shape.DebugString());
  }
  if (*rows >= 0 && shape.dim(0) != *rows) {
    return InvalidArgumentError(std::string(what) + " \"" + name + "\" has " +
                                std::to_string(shape.dim(0)) + " rows, expected " +
                                std::to_string(*rows) + " as the other columns");
  }
  *rows = shape.dim(0);
  return t.flat<float>();
}

double FractionOfZeros(const Tensor& t) {
  const int64_t n = t.num_elements();
  if (n == 0) return 0;
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) zeros += t.flat<float>()[i] == 0.0f ? 1 : 0;
  return static_cast<double>(zeros) / static_cast<double>(n);
}

// Row `row` of a float [batch, k] tensor as a float [k] tensor.
Tensor RowOf(const Tensor& t, int64_t row) {
  const int64_t k = t.shape().dim(1);
  std::vector<float> values(t.flat<float>() + row * k, t.flat<float>() + (row + 1) * k);
  return Tensor::FromVector<float>(TensorShape({k}), values);
}

// Core is DnnClassifierModel or LinearClassifierModel (same API).
template <typename Core>
class ClassifierAdapter : public EstimatorModel {
 public:
  ClassifierAdapter(std::unique_ptr<Core> core, std::string weight_column, bool is_dnn)
      : core_(std::move(core)), weight_column_(std::move(weight_column)), is_dnn_(is_dnn) {}

  VarList Variables() override { return core_->SaveableVariables(); }

  std::vector<std::string> TrainableVariableNames() const override {
    return core_->TrainableVariableNames();
  }

  Result<TrainStepResult> TrainStep(const Batch& batch, bool want_summaries) override {
    CKPT_ASSIGN_OR_RETURN(Inputs in, MakeInputs(batch, /*need_labels=*/true));
    CKPT_ASSIGN_OR_RETURN(ClassifierTrainResult r,
                          core_->TrainStep(in.features, in.labels, in.weights,
                                           /*record_layer_outputs=*/want_summaries && is_dnn_));
    TrainStepResult out;
    out.loss = r.loss;
    if (want_summaries) {
      out.summaries.scalars.emplace_back("loss", r.loss);
      out.summaries.scalars.emplace_back("average_loss", r.average_loss);
      // The layer summaries are created inside the "dnn" name scope with
      // tags that already start with the layer scope: "dnn/dnn/...".
      for (const auto& [scope, values] : r.layer_outputs) {
        out.summaries.scalars.emplace_back("dnn/" + scope + "/fraction_of_zero_values",
                                           FractionOfZeros(values));
      }
      for (const auto& [scope, values] : r.layer_outputs) {
        std::vector<double> v(values.template flat<float>(), values.template flat<float>() + values.num_elements());
        out.summaries.histograms.emplace_back("dnn/" + scope + "/activation", std::move(v));
      }
    }
    return out;
  }

  Result<double> EvalStep(const Batch& batch) override {
    CKPT_ASSIGN_OR_RETURN(Inputs in, MakeInputs(batch, /*need_labels=*/true));
    CKPT_ASSIGN_OR_RETURN(ClassifierEvalResult r,
                          core_->Evaluate(in.features, in.labels, in.weights));
    sums_.Merge(r.sums);
    return r.loss;
  }

  Result<std::map<std::string, double>> EvalMetrics() override {
    ClassifierMetricSums sums = sums_;
    sums.binary = core_->config().n_classes == 2;
    return sums.Metrics();
  }

  Result<std::vector<Prediction>> PredictBatch(const Batch& batch) override {
    CKPT_ASSIGN_OR_RETURN(Inputs in, MakeInputs(batch, /*need_labels=*/false));
    CKPT_ASSIGN_OR_RETURN(ClassifierPredictions p, core_->Predict(in.features));
    const int64_t n = in.features.shape().dim(0);
    const bool binary = p.logistic.dtype() == DataType::kFloat;
    std::vector<Prediction> out;
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t id = p.class_ids.flat<int64_t>()[i];
      Prediction pred;
      pred["logits"] = RowOf(p.logits, i);
      pred["probabilities"] = RowOf(p.probabilities, i);
      if (binary) pred["logistic"] = RowOf(p.logistic, i);
      pred["class_ids"] = Tensor::FromVector<int64_t>(TensorShape({1}), {id});
      CKPT_ASSIGN_OR_RETURN(pred["classes"],
                            Tensor::FromStrings(TensorShape({1}), {core_->ClassName(id)}));
      out.push_back(std::move(pred));
    }
    return out;
  }

  Status DescribeGraph(GraphBuilder* graph) const override { return core_->DescribeGraph(graph); }

  Result<std::map<std::string, ExportOutput>> DescribeServing(
      GraphBuilder* graph, const std::map<std::string, Output>& features) const override {
    return core_->DescribeServing(graph, features);
  }

  // The canned classifiers' loss is a SUM over the examples (TF1's default
  // loss_reduction): summed gradients are the global batch's.
  Status SetGradientCombiner(GradientCombiner combine) override {
    core_->optimizer()->set_gradient_combiner(std::move(combine));
    return Status::OK();
  }

  // The DNN's batch-norm moving statistics; the linear model has none.
  Status SetStateAverager(GradientCombiner average) override {
    if constexpr (std::is_same_v<Core, DnnClassifierModel>) {
      core_->set_moving_statistics_averager(std::move(average));
      return Status::OK();
    } else {
      return EstimatorModel::SetStateAverager(std::move(average));
    }
  }

  // The metric sums as doubles in native byte order: nine scalars, the AUC
  // table's length, then its four columns.
  Result<std::string> EvalState() const override {
    std::vector<double> v{sums_.binary ? 1.0 : 0.0, sums_.weight, sums_.correct, sums_.loss,
                          sums_.label, sums_.prediction, sums_.true_positives,
                          sums_.false_positives, sums_.false_negatives,
                          static_cast<double>(sums_.auc_tp.size())};
    for (const std::vector<double>* c : {&sums_.auc_tp, &sums_.auc_fp, &sums_.auc_tn, &sums_.auc_fn}) {
      if (c->size() != sums_.auc_tp.size()) return InternalError("AUC table columns differ in length");
      v.insert(v.end(), c->begin(), c->end());
    }
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
  }

  Status SetEvalState(const std::vector<std::string>& states) override {
    ClassifierMetricSums total;
    for (const std::string& state : states) {
      std::vector<double> v(state.size() / sizeof(double));
      if (state.size() % sizeof(double) != 0 || v.size() < 10) {
        return InvalidArgumentError("A metrics state of " + std::to_string(state.size()) +
                                    " bytes is not one of this model's");
      }
      std::memcpy(v.data(), state.data(), state.size());
      const double n = v[9];
      if (!(n >= 0) || v.size() != 10 + 4 * static_cast<size_t>(n)) {
        return InvalidArgumentError("A metrics state's AUC table does not match its size");
      }
      ClassifierMetricSums s;
      s.binary = v[0] != 0;
      s.weight = v[1];
      s.correct = v[2];
      s.loss = v[3];
      s.label = v[4];
      s.prediction = v[5];
      s.true_positives = v[6];
      s.false_positives = v[7];
      s.false_negatives = v[8];
      const size_t k = static_cast<size_t>(n);
      auto column = [&](size_t c) {
        return std::vector<double>(v.begin() + 10 + c * k, v.begin() + 10 + (c + 1) * k);
      };
      s.auc_tp = column(0);
      s.auc_fp = column(1);
      s.auc_tn = column(2);
      s.auc_fn = column(3);
      total.Merge(s);
    }
    sums_ = total;
    return Status::OK();
  }

 private:
  struct Inputs {
    Tensor features;  // float32 [batch, n_features], sorted feature order
    std::vector<int64_t> labels;
    std::vector<float> weights;  // empty: all 1
  };

  Result<Inputs> MakeInputs(const Batch& batch, bool need_labels) const {
    const std::vector<std::string>& names = core_->sorted_feature_names();
    int64_t rows = -1;
    // columns_ is reused from batch to batch (one lookup per feature).
    columns_.resize(names.size());
    for (size_t c = 0; c < names.size(); ++c) {
      CKPT_ASSIGN_OR_RETURN(columns_[c], ColumnValues(batch, names[c], "feature column", &rows));
    }
    Inputs in;
    const int64_t cols = static_cast<int64_t>(names.size());
    CKPT_ASSIGN_OR_RETURN(in.features,
                          Tensor::Allocate(DataType::kFloat, TensorShape({rows, cols})));
    float* out = in.features.template mutable_flat<float>();
    // Column by column: each source column is read sequentially.
    for (int64_t c = 0; c < cols; ++c) {
      const float* column = columns_[static_cast<size_t>(c)];
      for (int64_t r = 0; r < rows; ++r) out[r * cols + c] = column[r];
    }
    if (!need_labels) return in;
    if (!weight_column_.empty()) {
      CKPT_ASSIGN_OR_RETURN(const float* w,
                            ColumnValues(batch, weight_column_, "weight column", &rows));
      in.weights.assign(w, w + rows);
    }
    if (!batch.labels.has_value()) {
      return InvalidArgumentError("the batch has no labels; training and evaluation need them");
    }
    CKPT_ASSIGN_OR_RETURN(in.labels, core_->LabelIds(*batch.labels));
    if (static_cast<int64_t>(in.labels.size()) != rows) {
      return InvalidArgumentError("got " + std::to_string(in.labels.size()) + " labels for " +
                                  std::to_string(rows) + " examples");
    }
    return in;
  }

  std::unique_ptr<Core> core_;
  mutable std::vector<const float*> columns_;  // MakeInputs' scratch
  const std::string weight_column_;
  const bool is_dnn_;
  ClassifierMetricSums sums_;  // of this model's EvalSteps
};

}  // namespace

ModelFn DnnClassifierModelFn(DnnClassifierConfig config) {
  return [config](const ModelFnArgs& args) -> Result<std::unique_ptr<EstimatorModel>> {
    DnnClassifierConfig c = config;
    c.seed = args.seed;
    CKPT_ASSIGN_OR_RETURN(std::unique_ptr<DnnClassifierModel> core, DnnClassifierModel::Create(c));
    return std::unique_ptr<EstimatorModel>(std::make_unique<ClassifierAdapter<DnnClassifierModel>>(
        std::move(core), c.weight_column, /*is_dnn=*/true));
  };
}

ModelFn LinearClassifierModelFn(LinearClassifierConfig config) {
  return [config](const ModelFnArgs& args) -> Result<std::unique_ptr<EstimatorModel>> {
    CKPT_ASSIGN_OR_RETURN(std::unique_ptr<LinearClassifierModel> core,
                          LinearClassifierModel::Create(config));
    return std::unique_ptr<EstimatorModel>(
        std::make_unique<ClassifierAdapter<LinearClassifierModel>>(
            std::move(core), config.weight_column, /*is_dnn=*/false));
  };
}

InputFn IrisTrainInputFn(const IrisDataSet& data, int64_t batch_size, uint64_t seed) {
  ExamplesInputOptions options;
  options.batch_size = batch_size;
  options.shuffle_buffer = 1000;
  options.seed = seed;
  options.repeat = true;
  return ExamplesInputFn(data.examples, data.feature_names, options);
}

InputFn IrisEvalInputFn(const IrisDataSet& data, int64_t batch_size, bool with_labels) {
  ExamplesInputOptions options;
  options.batch_size = batch_size;
  options.with_labels = with_labels;
  return ExamplesInputFn(data.examples, data.feature_names, options);
}

}  // namespace ckpt
