// Trains a canned classifier on Iris with ckpt::Estimator and exports it as
// a SavedModel, for pytest (test_saved_model_export.py), which loads the
// export with TensorFlow and compares what it serves with ckpt's Predict.
//
//   ckpt_export_driver <train.csv> <test.csv> <model_dir> <export_base>
//                      <dnn|linear> <n_classes: 2|3> <raw|example> [vocab,words]
// n_classes 2 relabels Iris as setosa (0) vs the others (1). With a
// vocabulary (comma-separated words, one per class) the labels are words.
// Raw receivers take one float [batch] placeholder per feature.
// Prints
//   export <dir>                                  the SavedModel
//   pred <class_id> <class name> <p0> <p1> ...   one line per test row
// On error prints the status to stderr and exits 1.
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/canned.h"
#include "ckpt/data.h"
#include "ckpt/estimator.h"

namespace {

// Wraps an input's batches, replacing int64 labels by vocabulary words.
class WordLabels : public ckpt::Iterator<ckpt::Batch> {
 public:
  WordLabels(std::unique_ptr<ckpt::Iterator<ckpt::Batch>> in, std::vector<std::string> vocab)
      : in_(std::move(in)), vocab_(std::move(vocab)) {}
  std::optional<ckpt::Batch> Next() override {
    std::optional<ckpt::Batch> b = in_->Next();
    if (!b || !b->labels) return b;
    std::vector<std::string> words;
    for (int64_t i = 0; i < b->labels->num_elements(); ++i) {
      words.push_back(vocab_[static_cast<size_t>(b->labels->flat<int64_t>()[i])]);
    }
    b->labels = ckpt::Tensor::FromStrings(b->labels->shape(), words).value();
    return b;
  }

 private:
  std::unique_ptr<ckpt::Iterator<ckpt::Batch>> in_;
  std::vector<std::string> vocab_;
};

ckpt::InputFn WithWords(ckpt::InputFn fn, std::vector<std::string> vocab) {
  if (vocab.empty()) return fn;
  return [fn, vocab]() -> ckpt::Result<std::unique_ptr<ckpt::Iterator<ckpt::Batch>>> {
    CKPT_ASSIGN_OR_RETURN(auto in, fn());
    return std::unique_ptr<ckpt::Iterator<ckpt::Batch>>(new WordLabels(std::move(in), vocab));
  };
}

ckpt::Status Run(char** argv, int argc) {
  ckpt::Env* env = ckpt::Env::Posix();
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet train, ckpt::LoadIrisCsv(env, argv[1]));
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet test, ckpt::LoadIrisCsv(env, argv[2]));
  const std::string model_dir = argv[3], export_base = argv[4], kind = argv[5];
  const int64_t n_classes = std::stoll(argv[6]);
  const std::string receiver = argv[7];
  std::vector<std::string> vocab;
  if (argc > 8) {
    std::stringstream words(argv[8]);
    for (std::string w; std::getline(words, w, ',');) vocab.push_back(w);
  }
  if (n_classes == 2) {
    for (auto* set : {&train, &test}) {
      for (ckpt::LabeledExample& e : set->examples) e.label = e.label == 0 ? 0 : 1;
    }
  }

  ckpt::EstimatorOptions options;
  if (kind == "dnn") {
    ckpt::DnnClassifierConfig config;
    config.feature_names = train.feature_names;
    config.n_classes = n_classes;
    config.label_vocabulary = vocab;
    config.batch_norm = true;
    options.model_fn = ckpt::DnnClassifierModelFn(config);
  } else {
    ckpt::LinearClassifierConfig config;
    config.feature_names = train.feature_names;
    config.n_classes = n_classes;
    config.label_vocabulary = vocab;
    options.model_fn = ckpt::LinearClassifierModelFn(config);
  }
  options.model_dir = model_dir;
  ckpt::RunConfigOptions run;
  run.model_dir = model_dir;
  run.tf_random_seed = 7;
  CKPT_ASSIGN_OR_RETURN(ckpt::RunConfig config, ckpt::RunConfig::Create(run));
  options.config = config;
  CKPT_ASSIGN_OR_RETURN(auto estimator, ckpt::Estimator::Create(options));
  ckpt::TrainOptions train_options;
  train_options.steps = 300;
  CKPT_RETURN_IF_ERROR(
      estimator->Train(WithWords(ckpt::IrisTrainInputFn(train, 32, 7), vocab), train_options)
          .status());

  std::map<std::string, ckpt::ServingFeature> features;
  for (const std::string& name : train.feature_names) {
    // Raw: float [batch] placeholders; tf.Example: FixedLenFeature((1,)).
    features[name] = receiver == "raw"
                         ? ckpt::ServingFeature{ckpt::DataType::kFloat, ckpt::PartialShape{}}
                         : ckpt::ServingFeature{};
  }
  const ckpt::ServingInput input = receiver == "raw" ? ckpt::ServingInput::Raw(features)
                                                     : ckpt::ServingInput::ParseExample(features);
  CKPT_ASSIGN_OR_RETURN(std::string dir, estimator->ExportSavedModel(export_base, input));
  std::printf("export %s\n", dir.c_str());

  ckpt::ExamplesInputOptions predict;
  predict.with_labels = false;
  CKPT_ASSIGN_OR_RETURN(
      std::vector<ckpt::Prediction> all,
      estimator->Predict(ckpt::ExamplesInputFn(test.examples, test.feature_names, predict)));
  for (const ckpt::Prediction& p : all) {
    const ckpt::Tensor& probs = p.at("probabilities");
    std::printf("pred %lld %s", static_cast<long long>(p.at("class_ids").flat<int64_t>()[0]),
                p.at("classes").strings()[0].c_str());
    for (int64_t i = 0; i < probs.num_elements(); ++i) std::printf(" %.9g", probs.flat<float>()[i]);
    std::printf("\n");
  }
  return ckpt::Status();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: %s train.csv test.csv model_dir export_base dnn|linear "
                         "n_classes raw|example [vocab]\n", argv[0]);
    return 2;
  }
  ckpt::Status s = Run(argv, argc);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
