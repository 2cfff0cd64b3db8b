// Estimator::ExportSavedModel and the serving input receivers
// (ckpt/estimator.h).
#include "ckpt/estimator.h"

namespace ckpt {

ServingInput ServingInput::Raw(std::map<std::string, ServingFeature> features,
                               std::optional<int64_t> default_batch_size) {
  ServingInput input;
  input.kind = Kind::kRaw;
  input.features = std::move(features);
  input.default_batch_size = default_batch_size;
  return input;
}

ServingInput ServingInput::ParseExample(std::map<std::string, ServingFeature> features,
                                        std::optional<int64_t> default_batch_size) {
  ServingInput input;
  input.kind = Kind::kParseExample;
  input.features = std::move(features);
  input.default_batch_size = default_batch_size;
  return input;
}

Result<std::string> Estimator::ExportSavedModel(const std::string& export_dir_base,
                                                const ServingInput& input,
                                                const ExportOptions& options) {
  return UnimplementedError("ExportSavedModel: being written (issue 15)");
}

}  // namespace ckpt
