// Canned estimators: TF 1.8's tf.estimator.DNNClassifier and
// LinearClassifier as ModelFns for ckpt::Estimator, on the model cores of
// ckpt/dnn_classifier.h and ckpt/linear_classifier.h.
//
//   DnnClassifierConfig model;                  // hidden_units {10, 10}, 3 classes
//   EstimatorOptions options;
//   options.model_fn = DnnClassifierModelFn(model);
//   options.model_dir = "models/iris";
//
// Batches: one float32 [batch] (or [batch, 1]) column per feature name of
// the config (extra columns are ignored; a missing one is InvalidArgument
// naming it), the weight column if configured, labels int64 [batch] (or
// string [batch] with a label vocabulary).
//
// What the Estimator sees (docs/estimator.md):
//   variables    the model core's checkpoint keys (the 13 keys of
//                docs/canned.md for the default DNN);
//   summaries    "loss", "average_loss" (the weighted mean with a weight
//                column), and for the DNN (from the step's own forward pass)
//                "dnn/dnn/hiddenlayer_<i>/fraction_of_zero_values",
//                "dnn/dnn/logits/fraction_of_zero_values" (scalars) and
//                "dnn/dnn/hiddenlayer_<i>/activation", "dnn/dnn/logits/activation"
//                (histograms). The LinearClassifier reports only "loss"
//                and "average_loss" (its layer summaries are not in the
//                spec);
//   eval metrics "accuracy", "average_loss" streamed over every example of
//                the Evaluate call (the Estimator adds "loss" and
//                "global_step"); the binary head adds "accuracy_baseline",
//                "auc", "auc_precision_recall", "label/mean",
//                "prediction/mean", "precision", "recall" (see
//                ClassifierMetricSums);
//   predictions  "logits", "probabilities", "class_ids" (int64 [1]),
//                "classes" (string [1]: the class id in decimal, or the
//                vocabulary word); the binary head adds "logistic"
//                (float [1]), its logits are [1] and probabilities [2];
//   graph        the model core's DescribeGraph (every DNN and linear
//                config), so the Estimator writes graph.pbtxt and .meta.
// TrainableVariableNames: kernels, biases, batch norm gamma/beta (not
// slots, moving statistics or global_step).
#ifndef CKPT_CANNED_H_
#define CKPT_CANNED_H_

#include "ckpt/dnn_classifier.h"
#include "ckpt/estimator_input.h"
#include "ckpt/estimator_model.h"
#include "ckpt/iris.h"
#include "ckpt/linear_classifier.h"

namespace ckpt {

// The DNNClassifier's model_fn. Each call builds a fresh DnnClassifierModel
// from `config`, seeded with ModelFnArgs::seed (config.seed is ignored).
ModelFn DnnClassifierModelFn(DnnClassifierConfig config);

// The LinearClassifier's model_fn.
ModelFn LinearClassifierModelFn(LinearClassifierConfig config);

// The Iris example's input functions over a loaded data set (feature names
// from the CSV header): training shuffles with a 1000-example buffer,
// repeats forever and batches; evaluation batches one pass in file order.
InputFn IrisTrainInputFn(const IrisDataSet& data, int64_t batch_size, uint64_t seed);
InputFn IrisEvalInputFn(const IrisDataSet& data, int64_t batch_size, bool with_labels = true);

}  // namespace ckpt

#endif  // CKPT_CANNED_H_
