// The model contract's few definitions (ckpt/estimator_model.h).
#include "ckpt/estimator_model.h"

namespace ckpt {

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kTrain:
      return "train";
    case Mode::kEval:
      return "eval";
    case Mode::kPredict:
      return "infer";
  }
  return "unknown";
}

int64_t Batch::size() const {
  if (features.empty()) return 0;
  const Tensor& first = features.begin()->second;
  if (first.shape().rank() == 0) return 0;
  return first.shape().dim(0);
}

Status EstimatorModel::DescribeGraph(GraphBuilder* graph) const {
  return UnimplementedError("this model does not describe a TensorFlow graph");
}

Result<std::map<std::string, ExportOutput>> EstimatorModel::DescribeServing(
    GraphBuilder*, const std::map<std::string, Output>&) const {
  return UnimplementedError("this model cannot be exported (it does not implement "
                            "EstimatorModel::DescribeServing)");
}

Result<std::string> EstimatorModel::EvalState() const {
  return UnimplementedError("This model cannot evaluate data-parallel (it does not implement "
                            "EstimatorModel::EvalState)");
}

Status EstimatorModel::SetEvalState(const std::vector<std::string>&) {
  return UnimplementedError("This model cannot evaluate data-parallel (it does not implement "
                            "EstimatorModel::SetEvalState)");
}

Status EstimatorModel::SetGradientCombiner(GradientCombiner) {
  return UnimplementedError("This model cannot train data-parallel (it does not implement "
                            "EstimatorModel::SetGradientCombiner)");
}

Status EstimatorModel::SetStateAverager(GradientCombiner) {
  return UnimplementedError("This model has no per-rank state to average");
}

}  // namespace ckpt
