// The classification head of the canned classifiers (TF 1.8's canned heads,
// SUM loss reduction): multi-class softmax for n_classes > 2, binary
// logistic (one logit) for n_classes == 2. Both DnnClassifierModel and
// LinearClassifierModel compute logits and hand them here for the loss and
// its gradient, the predictions, the streaming metric sums and the head's
// PREDICT graph; label, weight and feature checks live here too.
//
// Internal to the models module (src/models); the shared result types are
// public in ckpt/classifier.h.
//
// Thread safety: stateless functions; thread-safe.
#ifndef CKPT_MODELS_CLASSIFIER_HEAD_H_
#define CKPT_MODELS_CLASSIFIER_HEAD_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ckpt/classifier.h"
#include "ckpt/saved_model.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "models/nn/types.h"

namespace ckpt {

namespace classifier_internal {

using Mat = nn::Matrix<float>;
using Vec = nn::RowVector<float>;

// Views of float32 tensors as Eigen matrices (copies). REQUIRES: float32;
// rank 2 for ToMat, rank 1 for ToVec.
inline Mat ToMat(const Tensor& t) {
  return Eigen::Map<const Mat>(t.flat<float>(), t.shape().dim(0), t.shape().dim(1));
}
inline Vec ToVec(const Tensor& t) {
  return Eigen::Map<const Vec>(t.flat<float>(), t.shape().dim(0));
}

// a / b, or 0 when b == 0 (TF's div_no_nan / _safe_div).
inline double SafeDiv(double a, double b) { return b == 0 ? 0.0 : a / b; }

// InvalidArgument unless `features` is float32 [batch, n].
Status CheckFeatureTensor(const Tensor& features, int64_t n);
// InvalidArgument unless there is one label per row of `features` and at
// least one row.
Status CheckLabelCount(const Tensor& features, const std::vector<int64_t>& labels);
// Weights of a batch: empty means all ones. InvalidArgument unless there
// is one per example and each is finite and >= 0.
Status CheckWeights(const std::vector<float>& weights, size_t batch);
// weights[i], or 1 when `weights` is empty.
double WeightOf(const std::vector<float>& weights, size_t i);

// The feature names sorted (the column order of a features matrix).
// InvalidArgument for an empty list or a duplicate name.
Result<std::vector<std::string>> SortedFeatures(const std::vector<std::string>& names);

// The checks of the head's config shared by both models: n_classes >= 2, a
// vocabulary of n_classes distinct words (or none), a weight column that
// is not a feature. InvalidArgument otherwise.
Status CheckHeadConfig(int64_t n_classes, const std::vector<std::string>& vocabulary,
                       const std::string& weight_column,
                       const std::vector<std::string>& feature_names);

// The head's loss on a batch: per-example losses, their weighted sum and
// the gradient of that sum with respect to the logits.
struct HeadLoss {
  std::vector<double> losses;  // unweighted, per example
  double loss = 0;             // sum of weight * loss
  double weight = 0;           // sum of weights
  Mat d_logits;
};
// InvalidArgument for bad weights or a label out of range.
Result<HeadLoss> ComputeHeadLoss(const Mat& logits, const std::vector<int64_t>& labels,
                                 const std::vector<float>& weights, bool binary);

// Predictions computed in double from `logits` (float32 or double; defined
// for those two), stored as float32.
template <typename T>
ClassifierPredictions PredictionsFromLogits(const nn::Matrix<T>& logits, bool binary);

// Loss, accuracy and the metric sums of one evaluated batch.
Result<ClassifierEvalResult> EvalFromLogits(const Mat& logits, const std::vector<int64_t>& labels,
                                            const std::vector<float>& weights, bool binary,
                                            int64_t global_step);

// Labels as class ids (see DnnClassifierModel::LabelIds).
Result<std::vector<int64_t>> LabelIdsOf(const Tensor& labels,
                                        const std::vector<std::string>& vocabulary);
// The vocabulary word of a class id, or the id in decimal.
std::string ClassNameOf(int64_t id, const std::vector<std::string>& vocabulary);

// The head's PREDICT ops on `logits`, in `<scope>/head/predictions/`:
//   multi-class  probabilities = Softmax(logits), ArgMax(logits, 1);
//   binary       TF's binary logistic head: logistic = Sigmoid(logits),
//                two_class_logits = ConcatV2(ZerosLike(logits), logits, -1),
//                probabilities = Softmax(two_class_logits), class_ids =
//                ArgMax(two_class_logits, -1) and its ExpandDims(-1).
void DescribeHead(GraphBuilder* graph, const std::string& scope, const Output& logits, bool binary);

// The serving graph's input layer (TF's input_layer of numeric columns, in
// `<scope>/input_from_feature_columns/input_layer/<name>/`): each feature of
// `sorted_names`, taken from `features` ([batch] or [batch, 1], any numeric
// dtype, cast to float), reshaped to [batch, 1], concatenated in that order
// into float [batch, n]. InvalidArgument naming a feature that is missing
// or not numeric.
Result<Output> DescribeServingInputLayer(GraphBuilder* graph, const std::string& scope,
                                         const std::vector<std::string>& sorted_names,
                                         const std::map<std::string, Output>& features);

// The head's serving graph on `logits`, in `<scope>/head/predictions/`: the
// predictions ckpt's Predict returns (logits, probabilities, class_ids int64
// [batch, 1], classes string [batch, 1]: the vocabulary word or the id in
// decimal; binary: also logistic), and TF's canned export outputs:
// serving_default and classification (scores = probabilities, classes =
// every class name on every row, string [batch, n_classes]), predict (the
// predictions), and for the binary head regression (logistic).
Result<std::map<std::string, ExportOutput>> DescribeServingHead(
    GraphBuilder* graph, const std::string& scope, const Output& logits, int64_t n_classes,
    const std::vector<std::string>& vocabulary);

}  // namespace classifier_internal
}  // namespace ckpt

#endif  // CKPT_MODELS_CLASSIFIER_HEAD_H_
