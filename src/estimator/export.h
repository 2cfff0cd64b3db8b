// The part of Estimator::ExportSavedModel after the model is built and its
// checkpoint restored (internal to the estimator module).
#ifndef CKPT_SRC_ESTIMATOR_EXPORT_H_
#define CKPT_SRC_ESTIMATOR_EXPORT_H_

#include <string>

#include "ckpt/estimator.h"
#include "ckpt/estimator_model.h"

namespace ckpt {

// Builds the receiver of `input`, global_step and `model`'s serving graph,
// their signatures (logged as TF logs them), and writes the SavedModel with
// the model's variable values to export_dir_base/<seconds> (see
// Estimator::ExportSavedModel). Returns that directory.
Result<std::string> ExportRestoredModel(Env* env, EstimatorModel& model,
                                        const std::string& export_dir_base,
                                        const ServingInput& input, const ExportOptions& options);

}  // namespace ckpt

#endif  // CKPT_SRC_ESTIMATOR_EXPORT_H_
