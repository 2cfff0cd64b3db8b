// The update rules behind ckpt::Optimizer, one class per TF1 optimizer.
//
// Each computes, element by element and in the variable's dtype, what TF1's
// training_ops kernel computes (hyperparameters are first converted to the
// dtype, as TF1 casts its hyperparameter tensors). Internal to ckpt; users
// go through Optimizer's factories.
//
// Thread safety: as Optimizer.
#ifndef CKPT_SRC_MODELS_OPTIMIZERS_RULES_H_
#define CKPT_SRC_MODELS_OPTIMIZERS_RULES_H_

#include <memory>

#include "ckpt/optimizer.h"

namespace ckpt::optimizers {

// The factories validate the options first; these only build the object.
std::unique_ptr<Optimizer> MakeGradientDescent(const GradientDescentOptions& o);
std::unique_ptr<Optimizer> MakeAdagrad(const AdagradOptions& o);
std::unique_ptr<Optimizer> MakeAdam(const AdamOptions& o);
std::unique_ptr<Optimizer> MakeRMSProp(const RMSPropOptions& o);
std::unique_ptr<Optimizer> MakeFtrl(const FtrlOptions& o);

}  // namespace ckpt::optimizers

#endif  // CKPT_SRC_MODELS_OPTIMIZERS_RULES_H_
