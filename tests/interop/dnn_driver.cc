// Trains ckpt::DnnClassifierModel on Iris for pytest
// (test_dnn_classifier.py), which reads the checkpoint with TensorFlow and
// rebuilds the network there.
//
//   ckpt_dnn_driver <train.csv> <test.csv> <out_dir> <steps> <optimizer> <h1,h2,...>
// Trains as premade_estimator.py (shuffle(1000), repeat, batch(100)), saves
// <out_dir>/model.ckpt-<steps> (with a .meta holding DescribeGraph and the
// Saver subgraph), and prints
//   prefix <checkpoint prefix>
//   accuracy <test accuracy>
//   prob <p0> <p1> ...        one line per test row, in file order (%.9g)
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/data.h"
#include "ckpt/dnn_classifier.h"
#include "driver_util.h"

namespace {

ckpt::Status Run(int argc, char** argv) {
  ckpt::Env* env = ckpt::Env::Posix();
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet train, ckpt::LoadIrisCsv(env, argv[1]));
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet test, ckpt::LoadIrisCsv(env, argv[2]));
  const std::string out_dir = argv[3];
  const int steps = std::atoi(argv[4]);
  ckpt::DnnClassifierConfig config;
  config.feature_names = train.feature_names;
  config.optimizer = argv[5];
  config.hidden_units.clear();
  std::stringstream units(argv[6]);
  for (std::string u; std::getline(units, u, ',');) config.hidden_units.push_back(std::stoll(u));
  config.seed = 2024;
  CKPT_ASSIGN_OR_RETURN(auto model, ckpt::DnnClassifierModel::Create(config));

  CKPT_ASSIGN_OR_RETURN(
      auto ds, ckpt::Dataset<ckpt::LabeledExample>::FromVector(train.examples).Shuffle(1000, 11));
  CKPT_ASSIGN_OR_RETURN(auto rep, ds.Repeat());
  CKPT_ASSIGN_OR_RETURN(auto batched, rep.Batch(100));
  auto it = batched.MakeIterator();
  for (int i = 0; i < steps; ++i) {
    auto batch = it->Next();
    if (!batch) return ckpt::InternalError("dataset ended");
    CKPT_ASSIGN_OR_RETURN(ckpt::Tensor x, ckpt::MakeFeatureMatrix(*batch, train.feature_names,
                                                                  model->sorted_feature_names()));
    std::vector<int64_t> labels;
    for (const auto& e : *batch) labels.push_back(e.label);
    CKPT_RETURN_IF_ERROR(model->TrainStep(x, labels).status());
  }

  CKPT_ASSIGN_OR_RETURN(std::string prefix, ckpt_driver::SaveWithMetaGraph(model.get(), out_dir));

  CKPT_ASSIGN_OR_RETURN(ckpt::Tensor tx, ckpt::MakeFeatureMatrix(test.examples, test.feature_names,
                                                                 model->sorted_feature_names()));
  std::vector<int64_t> labels;
  for (const auto& e : test.examples) labels.push_back(e.label);
  CKPT_ASSIGN_OR_RETURN(ckpt::ClassifierEvalResult eval, model->Evaluate(tx, labels));
  CKPT_ASSIGN_OR_RETURN(ckpt::ClassifierPredictions pred, model->Predict(tx));
  std::printf("prefix %s\naccuracy %.9g\n", prefix.c_str(), eval.accuracy);
  ckpt_driver::PrintRows("prob", pred.probabilities);
  return ckpt::Status();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: ckpt_dnn_driver <train.csv> <test.csv> <out_dir> <steps> <optimizer> "
                 "<h1,h2,...>\n";
    return 2;
  }
  ckpt::Status s = Run(argc, argv);
  if (!s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  return 0;
}
