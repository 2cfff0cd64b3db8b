// Input functions over in-memory examples (ckpt/estimator_input.h).
//
// ExamplesInputFn builds, on every call, a fresh tf.data-style pipeline
// FromVector(examples) -> [Shuffle(buffer, seed)] -> [Repeat()] ->
// Batch(batch_size) and converts each batch of examples into a Batch: one
// float32 [n] column per feature name and, unless predicting, int64 [n]
// labels. A fresh pipeline per call is TF's behaviour (the input_fn runs
// again in every train / evaluate / predict call), so every call starts at
// the same shuffle order.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/dataset.h"
#include "ckpt/estimator_input.h"

namespace ckpt {
namespace {

// Turns example batches into Batch values. The examples were validated when
// the input function was called, so conversion cannot fail.
class ExampleBatchIterator : public Iterator<Batch> {
 public:
  ExampleBatchIterator(std::unique_ptr<Iterator<std::vector<LabeledExample>>> input,
                       std::shared_ptr<const std::vector<std::string>> feature_names,
                       bool with_labels)
      : input_(std::move(input)),
        feature_names_(std::move(feature_names)),
        with_labels_(with_labels) {}

  std::optional<Batch> Next() override {
    // examples_ keeps its storage from batch to batch.
    if (!input_->NextInto(&examples_)) return std::nullopt;
    const std::vector<LabeledExample>& ex = examples_;
    const int64_t n = static_cast<int64_t>(ex.size());
    const TensorShape shape({n});
    // Each column is written straight into its tensor; feature names are
    // distinct, so each emplace inserts.
    Batch batch;
    for (size_t j = 0; j < feature_names_->size(); ++j) {
      Tensor column = Tensor::Allocate(DataType::kFloat, shape).value();
      float* values = column.mutable_flat<float>();
      for (size_t i = 0; i < ex.size(); ++i) values[i] = ex[i].features[j];
      batch.features.emplace((*feature_names_)[j], std::move(column));
    }
    if (with_labels_) {
      Tensor labels = Tensor::Allocate(DataType::kInt64, shape).value();
      int64_t* values = labels.mutable_flat<int64_t>();
      for (size_t i = 0; i < ex.size(); ++i) values[i] = ex[i].label;
      batch.labels = std::move(labels);
    }
    return batch;
  }

 private:
  std::unique_ptr<Iterator<std::vector<LabeledExample>>> input_;
  std::shared_ptr<const std::vector<std::string>> feature_names_;
  const bool with_labels_;
  std::vector<LabeledExample> examples_;
};

Status CheckExamples(const std::vector<LabeledExample>& examples,
                     const std::vector<std::string>& feature_names,
                     const ExamplesInputOptions& options) {
  if (options.batch_size <= 0) {
    return InvalidArgumentError("batch_size must be > 0, got " +
                                std::to_string(options.batch_size));
  }
  if (options.shuffle_buffer.has_value() && *options.shuffle_buffer <= 0) {
    return InvalidArgumentError("shuffle buffer_size must be greater than zero, got " +
                                std::to_string(*options.shuffle_buffer));
  }
  for (size_t j = 0; j < feature_names.size(); ++j) {
    for (size_t k = 0; k < j; ++k) {
      if (feature_names[j] == feature_names[k]) {
        return InvalidArgumentError("duplicate feature name \"" + feature_names[j] + "\"");
      }
    }
  }
  for (size_t i = 0; i < examples.size(); ++i) {
    if (examples[i].features.size() != feature_names.size()) {
      return InvalidArgumentError("example " + std::to_string(i) + " has " +
                                  std::to_string(examples[i].features.size()) +
                                  " features, expected " + std::to_string(feature_names.size()) +
                                  " (one per feature name)");
    }
  }
  return Status::OK();
}

}  // namespace

InputFn ExamplesInputFn(std::vector<LabeledExample> examples,
                        std::vector<std::string> feature_names,
                        const ExamplesInputOptions& options) {
  auto shared_examples = std::make_shared<const std::vector<LabeledExample>>(std::move(examples));
  auto shared_names = std::make_shared<const std::vector<std::string>>(std::move(feature_names));
  return [shared_examples, shared_names,
          options]() -> Result<std::unique_ptr<Iterator<Batch>>> {
    CKPT_RETURN_IF_ERROR(CheckExamples(*shared_examples, *shared_names, options));
    Dataset<LabeledExample> ds = Dataset<LabeledExample>::FromVector(*shared_examples);
    if (options.shuffle_buffer.has_value()) {
      CKPT_ASSIGN_OR_RETURN(ds, ds.Shuffle(*options.shuffle_buffer, options.seed));
    }
    if (options.repeat) {
      CKPT_ASSIGN_OR_RETURN(ds, ds.Repeat());
    }
    CKPT_ASSIGN_OR_RETURN(Dataset<std::vector<LabeledExample>> batched,
                          ds.Batch(options.batch_size));
    return std::unique_ptr<Iterator<Batch>>(std::make_unique<ExampleBatchIterator>(
        batched.MakeIterator(), shared_names, options.with_labels));
  };
}

}  // namespace ckpt
