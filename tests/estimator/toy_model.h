// A toy EstimatorModel for the Estimator and hook tests: linear regression
// y = w[0] * x + b with plain SGD on float32 variables "w" (shape [width]),
// "b" ([1]) and the int64 "global_step", plus a clock the tests control.
#ifndef CKPT_TESTS_ESTIMATOR_TOY_MODEL_H_
#define CKPT_TESTS_ESTIMATOR_TOY_MODEL_H_

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/estimator_input.h"
#include "ckpt/estimator_model.h"
#include "ckpt/graph.h"
#include "ckpt/saved_model.h"
#include "testutil/fake_clock.h"

namespace ckpt::testing {

struct ToyConfig {
  int64_t width = 1;  // shape of "w"
  float learning_rate = 0.05f;
  FakeClockEnv* clock = nullptr;  // advanced by secs_per_step in every TrainStep
  double secs_per_step = 0.01;
  std::optional<int64_t> nan_at_step;    // TrainStep reaching this global step returns NaN loss
  std::optional<int64_t> error_at_step;  // ... fails with Internal
  bool report_loss_summary = true;       // summaries include "loss"
  bool describe_graph = true;
  int* model_fn_calls = nullptr;                  // counted by ToyModelFn
  std::vector<bool>* summary_requests = nullptr;  // want_summaries of every TrainStep
};

class ToyModel : public EstimatorModel {
 public:
  explicit ToyModel(const ToyConfig& config)
      : config_(config),
        w_(Tensor::Allocate(DataType::kFloat, TensorShape({config.width})).value()),
        b_(Tensor::Allocate(DataType::kFloat, TensorShape({1})).value()),
        global_step_(Tensor::Scalar<int64_t>(0)) {}

  VarList Variables() override { return {{"b", &b_}, {"global_step", &global_step_}, {"w", &w_}}; }
  std::vector<std::string> TrainableVariableNames() const override { return {"b", "w"}; }

  float w() const { return w_.flat<float>()[0]; }
  float b() const { return b_.flat<float>()[0]; }

  Result<TrainStepResult> TrainStep(const Batch& batch, bool want_summaries) override {
    if (config_.summary_requests) config_.summary_requests->push_back(want_summaries);
    const int64_t next = global_step_.flat<int64_t>()[0] + 1;
    if (config_.error_at_step == next)
      return InternalError("toy model failure at step " + std::to_string(next));
    const Tensor& x = batch.features.at("x");
    const Tensor& y = *batch.labels;
    const int64_t n = x.num_elements();
    float* w = w_.mutable_flat<float>();
    float* b = b_.mutable_flat<float>();
    float loss = 0, gw = 0, gb = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float err = w[0] * x.flat<float>()[i] + b[0] - y.flat<float>()[i];
      loss += err * err;
      gw += 2 * err * x.flat<float>()[i];
      gb += 2 * err;
    }
    loss /= static_cast<float>(n);
    w[0] -= config_.learning_rate * gw / static_cast<float>(n);
    b[0] -= config_.learning_rate * gb / static_cast<float>(n);
    global_step_.mutable_flat<int64_t>()[0] = next;
    if (config_.clock) config_.clock->Advance(config_.secs_per_step);
    TrainStepResult r;
    r.loss = config_.nan_at_step == next ? std::numeric_limits<double>::quiet_NaN() : loss;
    if (want_summaries) {
      if (config_.report_loss_summary) r.summaries.scalars.push_back({"loss", loss});
      r.summaries.scalars.push_back({"toy/w", w[0]});
      r.summaries.histograms.push_back(
          {"toy/x", std::vector<double>(x.flat<float>(), x.flat<float>() + n)});
    }
    return r;
  }

  Result<double> EvalStep(const Batch& batch) override {
    const Tensor& x = batch.features.at("x");
    const Tensor& y = *batch.labels;
    float batch_loss = 0;
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      const float err = w() * x.flat<float>()[i] + b() - y.flat<float>()[i];
      batch_loss += err * err;
      sum_abs_ += std::fabs(err);
      ++count_;
    }
    sum_sq_ += batch_loss;
    return batch_loss / static_cast<float>(x.num_elements());
  }
  Result<std::map<std::string, double>> EvalMetrics() override {
    if (count_ == 0) return std::map<std::string, double>{{"average_loss", 0}, {"mae", 0}};
    return std::map<std::string, double>{{"average_loss", sum_sq_ / count_},
                                         {"mae", sum_abs_ / count_}};
  }

  Result<std::vector<Prediction>> PredictBatch(const Batch& batch) override {
    const Tensor& x = batch.features.at("x");
    std::vector<Prediction> out;
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      const float xi = x.flat<float>()[i];
      Prediction p;
      p["y"] = Tensor::FromVector<float>(TensorShape({1}), {w() * xi + b()});
      p["x2"] = Tensor::FromVector<float>(TensorShape({1}), {2 * xi});
      out.push_back(std::move(p));
    }
    return out;
  }

  Status DescribeGraph(GraphBuilder* graph) const override {
    if (!config_.describe_graph) return EstimatorModel::DescribeGraph(graph);
    Output x = graph->Placeholder(DataType::kFloat, PartialShape({-1}), "x");
    graph->GlobalStep();
    GraphVariable w = graph->Variable("w", w_);
    graph->Variable("b", b_);
    graph->Identity(x, "x_identity");
    (void)w;
    return graph->status();
  }

  // Serving: "y" = x * w + b from the float feature "x", as one predict
  // signature (serving_default).
  Result<std::map<std::string, ExportOutput>> DescribeServing(
      GraphBuilder* graph, const std::map<std::string, Output>& features) const override {
    auto x = features.find("x");
    if (x == features.end()) return InvalidArgumentError("toy model: no feature \"x\"");
    graph->GlobalStep();
    GraphVariable w = graph->Variable("w", w_);
    GraphVariable b = graph->Variable("b", b_);
    Output y = graph->Binary("AddV2", graph->Binary("Mul", x->second, w.read, "mul"), b.read, "y");
    CKPT_RETURN_IF_ERROR(graph->status());
    return std::map<std::string, ExportOutput>{
        {kDefaultServingSignatureKey, ExportOutput::Predict({{"y", y}})}};
  }

 private:
  ToyConfig config_;
  Tensor w_;
  Tensor b_;
  Tensor global_step_;
  double sum_sq_ = 0;
  double sum_abs_ = 0;
  int64_t count_ = 0;
};

inline ModelFn ToyModelFn(ToyConfig config) {
  return [config](const ModelFnArgs& args) -> Result<std::unique_ptr<EstimatorModel>> {
    if (config.model_fn_calls) ++*config.model_fn_calls;
    return std::unique_ptr<EstimatorModel>(new ToyModel(config));
  };
}

// Batches of `batch_size` examples of y = 3x + 2 over x in [-1, 1); the
// whole set is `num_examples` long, played `epochs` times (-1: forever).
class ToyIterator : public Iterator<Batch> {
 public:
  ToyIterator(int64_t num_examples, int64_t batch_size, int64_t epochs, bool with_labels)
      : n_(num_examples), batch_(batch_size), epochs_(epochs), labels_(with_labels) {}
  std::optional<Batch> Next() override {
    if (n_ == 0) return std::nullopt;
    if (pos_ >= n_) {
      pos_ = 0;
      ++epoch_;
    }
    if (epochs_ >= 0 && epoch_ >= epochs_) return std::nullopt;
    const int64_t m = std::min(batch_, n_ - pos_);
    std::vector<float> xs, ys;
    for (int64_t i = 0; i < m; ++i) {
      const float x = -1.0f + 2.0f * static_cast<float>(pos_ + i) / static_cast<float>(n_);
      xs.push_back(x);
      ys.push_back(3 * x + 2);
    }
    pos_ += m;
    Batch b;
    b.features["x"] = Tensor::FromVector<float>(TensorShape({m}), xs);
    if (labels_) b.labels = Tensor::FromVector<float>(TensorShape({m}), ys);
    return b;
  }

 private:
  int64_t n_, batch_, epochs_;
  bool labels_;
  int64_t pos_ = 0;
  int64_t epoch_ = 0;
};

inline InputFn ToyInput(int64_t num_examples = 40, int64_t batch_size = 10, int64_t epochs = -1,
                        bool with_labels = true) {
  return [=]() -> Result<std::unique_ptr<Iterator<Batch>>> {
    return std::unique_ptr<Iterator<Batch>>(
        new ToyIterator(num_examples, batch_size, epochs, with_labels));
  };
}

}  // namespace ckpt::testing

#endif  // CKPT_TESTS_ESTIMATOR_TOY_MODEL_H_
