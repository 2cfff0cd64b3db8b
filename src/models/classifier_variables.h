// Checkpoint variables of the canned classifiers under TensorFlow's keys:
// weights as one-piece partitioned variables (full shape plus a slice
// covering the whole tensor), the optimizer's slots (PartitionedSlotKey,
// ckpt/classifier.h) and non-slot variables (`<scope>/head/<name>`), and
// the optimizer a config asks for.
//
// Internal to the models module (src/models).
//
// Thread safety: stateless functions; thread-safe.
#ifndef CKPT_MODELS_CLASSIFIER_VARIABLES_H_
#define CKPT_MODELS_CLASSIFIER_VARIABLES_H_

#include <memory>
#include <string>

#include "ckpt/classifier.h"
#include "ckpt/optimizer.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

class GraphBuilder;

namespace classifier_internal {

// `t` saved under `key` as a one-piece partitioned variable: full_shape
// and a slice spec covering the whole tensor. `t` is not owned.
SaveableTensor SlicedSaveable(const std::string& key, Tensor* t);
// `t` saved under `key` as a plain tensor. `t` is not owned.
SaveableTensor PlainSaveable(const std::string& key, Tensor* t);

// Optimizer slots and non-slot variables under TF's canned-estimator keys
// for a model whose variable scope is `scope`.
void AddOptimizerSaveables(const std::string& scope, Optimizer* optimizer, VarList* vars);

// Sorts by checkpoint key, as TF's Saver writes them.
void SortByName(VarList* vars);

// `factory`'s optimizer if set (InvalidArgument if it returns none), else
// Optimizer::Create(name, learning_rate).
Result<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerFactory& factory,
                                                 const std::string& name, double learning_rate);

// The optimizer's variables of a model whose variable scope is `scope`,
// under their checkpoint keys (slots as PartitionedSlotKey, non-slot
// variables in the head's name scope), not trainable.
void DescribeOptimizerVariables(GraphBuilder* graph, const std::string& scope,
                                Optimizer* optimizer);

}  // namespace classifier_internal
}  // namespace ckpt

#endif  // CKPT_MODELS_CLASSIFIER_VARIABLES_H_
