// Trains one form of the canned classifiers' model cores on Iris and saves a
// checkpoint with its .meta (DescribeGraph + the Saver subgraph), for
// test_graph_forms.py, which imports that .meta into real TensorFlow,
// restores the checkpoint and runs the graph.
//
//   ckpt_graph_forms_driver <train.csv> <test.csv> <out_dir> <steps> <model> <activation>
//                           <n_classes> <batch_norm>
// <model> is "dnn" or "linear" (activation and batch_norm are ignored for
// "linear"); <batch_norm> is 0 or 1. With n_classes 2 the label is
// (iris label == 2). Trains with batches of 30 in file order, saves
// <out_dir>/model.ckpt-<steps>, and prints
//   prefix <checkpoint prefix>
//   logits <l0> ...         one line per test row, in file order (%.9g)
//   prob <p0> <p1> ...      one line per test row
//   class_id <id>           one line per test row
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "ckpt/data.h"
#include "ckpt/dnn_classifier.h"
#include "ckpt/linear_classifier.h"
#include "driver_util.h"

namespace {

using ckpt_driver::PrintRows;

template <typename Model>
ckpt::Status TrainSaveAndPredict(Model* model, const ckpt::IrisDataSet& train,
                                 const ckpt::IrisDataSet& test, const std::string& out_dir,
                                 int steps, bool binary) {
  auto label_of = [binary](int64_t label) -> int64_t { return binary ? label == 2 : label; };
  const size_t batch = 30;
  for (int i = 0; i < steps; ++i) {
    const size_t start = (static_cast<size_t>(i) * batch) % train.examples.size();
    std::vector<ckpt::LabeledExample> rows(train.examples.begin() + start,
                                           train.examples.begin() + start + batch);
    CKPT_ASSIGN_OR_RETURN(ckpt::Tensor x, ckpt::MakeFeatureMatrix(rows, train.feature_names,
                                                                  model->sorted_feature_names()));
    std::vector<int64_t> labels;
    for (const auto& e : rows) labels.push_back(label_of(e.label));
    CKPT_RETURN_IF_ERROR(model->TrainStep(x, labels).status());
  }

  CKPT_ASSIGN_OR_RETURN(std::string prefix, ckpt_driver::SaveWithMetaGraph(model, out_dir));

  CKPT_ASSIGN_OR_RETURN(ckpt::Tensor tx, ckpt::MakeFeatureMatrix(test.examples, test.feature_names,
                                                                 model->sorted_feature_names()));
  CKPT_ASSIGN_OR_RETURN(ckpt::ClassifierPredictions pred, model->Predict(tx));
  std::printf("prefix %s\n", prefix.c_str());
  PrintRows("logits", pred.logits);
  PrintRows("prob", pred.probabilities);
  for (int64_t r = 0; r < pred.class_ids.shape().dim(0); ++r) {
    std::printf("class_id %lld\n", static_cast<long long>(pred.class_ids.flat<int64_t>()[r]));
  }
  return ckpt::Status();
}

ckpt::Status Run(char** argv) {
  ckpt::Env* env = ckpt::Env::Posix();
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet train, ckpt::LoadIrisCsv(env, argv[1]));
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet test, ckpt::LoadIrisCsv(env, argv[2]));
  const std::string out_dir = argv[3];
  const int steps = std::atoi(argv[4]);
  const std::string kind = argv[5];
  const int64_t n_classes = std::atoll(argv[7]);
  if (kind == "dnn") {
    ckpt::DnnClassifierConfig config;
    config.feature_names = train.feature_names;
    config.activation = argv[6];
    config.n_classes = n_classes;
    config.batch_norm = std::string(argv[8]) == "1";
    config.seed = 7;
    CKPT_ASSIGN_OR_RETURN(auto model, ckpt::DnnClassifierModel::Create(config));
    return TrainSaveAndPredict(model.get(), train, test, out_dir, steps, n_classes == 2);
  }
  if (kind == "linear") {
    ckpt::LinearClassifierConfig config;
    config.feature_names = train.feature_names;
    config.n_classes = n_classes;
    CKPT_ASSIGN_OR_RETURN(auto model, ckpt::LinearClassifierModel::Create(config));
    return TrainSaveAndPredict(model.get(), train, test, out_dir, steps, n_classes == 2);
  }
  return ckpt::InvalidArgumentError("model must be \"dnn\" or \"linear\", got \"" + kind + "\"");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::cerr << "usage: ckpt_graph_forms_driver <train.csv> <test.csv> <out_dir> <steps> "
                 "<dnn|linear> <activation> <n_classes> <batch_norm 0|1>\n";
    return 2;
  }
  ckpt::Status s = Run(argv);
  if (!s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  return 0;
}
