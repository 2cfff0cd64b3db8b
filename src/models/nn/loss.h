// Softmax and the sparse softmax cross-entropy loss of TensorFlow's
// multi-class head.
//
// The canned V1 classifiers reduce the per-example losses with
// Reduction.SUM: the training loss is the sum over the batch, and its
// gradient with respect to each row of logits is softmax(row) - onehot(label)
// (not divided by the batch size). average_loss = loss / batch size.
//
// Thread safety: pure functions.
#ifndef CKPT_SRC_MODELS_NN_LOSS_H_
#define CKPT_SRC_MODELS_NN_LOSS_H_

#include <cstdint>
#include <vector>

#include "ckpt/status.h"
#include "models/nn/types.h"

namespace ckpt::nn {

// Row-wise softmax, computed stably (the row maximum is subtracted first).
template <typename T>
Matrix<T> Softmax(const Matrix<T>& logits);

// Row-wise log(softmax(logits)), computed stably.
template <typename T>
Matrix<T> LogSoftmax(const Matrix<T>& logits);

template <typename T>
struct CrossEntropyResult {
  ColVector<T> losses;  // [batch] per-example -log softmax(logits)[label]
  T loss = T(0);        // SUM of `losses` over the batch
  Matrix<T> d_logits;   // d loss / d logits = softmax - onehot(labels)
};

// Sparse softmax cross-entropy with SUM reduction. labels[i] is the class
// of row i. InvalidArgument when labels.size() != logits.rows(), when there
// are no classes, or (in TensorFlow's words) "Received a label value of <v>
// which is outside the valid range of [0, <classes>).  Label values: ...".
template <typename T>
Result<CrossEntropyResult<T>> SparseSoftmaxCrossEntropy(const Matrix<T>& logits,
                                                        const std::vector<int64_t>& labels);

// The binary logistic head's loss: logits [batch, 1], labels in {0, 1},
// per-example losses as tf.nn.sigmoid_cross_entropy_with_logits
// (max(z, 0) - z * y + log(1 + exp(-|z|)), stable for large |z|), SUM
// reduction, d_logits = sigmoid(z) - y. InvalidArgument when logits do not
// have one column, labels.size() != logits.rows(), or a label is not 0 or 1
// ("Received a label value of <v> which is outside the valid range of
// [0, 2).  Label values: ...").
template <typename T>
Result<CrossEntropyResult<T>> SigmoidCrossEntropy(const Matrix<T>& logits,
                                                  const std::vector<int64_t>& labels);

// OK when every label is in [0, classes); else InvalidArgument in
// TensorFlow's words: "Received a label value of <v> which is outside the
// valid range of [0, <classes>).  Label values: ...". The binary head's
// labels are checked with classes = 2.
Status CheckLabelRange(const std::vector<int64_t>& labels, int64_t classes);

// 1 / (1 + exp(-z)) element-wise.
template <typename T>
Matrix<T> Sigmoid(const Matrix<T>& z);

}  // namespace ckpt::nn

#endif  // CKPT_SRC_MODELS_NN_LOSS_H_
