// Warm-starts a fresh ckpt::DnnClassifierModel from a checkpoint for pytest
// (test_warm_start.py), which writes that checkpoint with TensorFlow and
// compares what was loaded with TF's own warm start.
//
//   ckpt_warm_start_driver <test.csv> <h1,h2,...> <mode> <checkpoint> [args]
// Modes:
//   default                 WarmStart with default WarmStartSettings
//   rename <prefix>         ... with var_name_to_prev_var_name mapping every
//                           trainable variable v to <prefix>v
//   scope <ckpt> <var>      InitFromCheckpoint with {<ckpt>: <var>}, e.g.
//                           {"old/dnn/": "dnn/"}
//   single <regex>          WarmStart with vars_to_warm_start = <regex>
//   list <regex>...         WarmStart with vars_to_warm_start_list
// Prints
//   warm <variable> <checkpoint key>   one line per variable loaded
//   global_step <n>
//   accum <key> <min> <max>            per Adagrad accumulator (%.9g)
//   prob <p0> <p1> ...                 one line per test row, file order
// On error prints the status to stderr and exits 1.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/data.h"
#include "ckpt/dnn_classifier.h"
#include "ckpt/warm_start.h"
#include "driver_util.h"

namespace {

ckpt::Status Run(int argc, char** argv) {
  ckpt::Env* env = ckpt::Env::Posix();
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet test, ckpt::LoadIrisCsv(env, argv[1]));
  ckpt::DnnClassifierConfig config;
  config.feature_names = test.feature_names;
  config.hidden_units.clear();
  std::stringstream units(argv[2]);
  for (std::string u; std::getline(units, u, ',');) config.hidden_units.push_back(std::stoll(u));
  config.seed = 7;
  CKPT_ASSIGN_OR_RETURN(auto model, ckpt::DnnClassifierModel::Create(config));

  const std::string mode = argv[3];
  const std::string checkpoint = argv[4];
  std::vector<std::string> args(argv + 5, argv + argc);
  ckpt::VarList vars = model->SaveableVariables();
  // TF's TRAINABLE_VARIABLES: the weights (not their slots, not the step).
  std::vector<std::string> trainable;
  for (const ckpt::SaveableTensor& v : vars) {
    if (v.name != "global_step" && v.name.find("/t_0/") == std::string::npos) {
      trainable.push_back(v.name);
    }
  }

  std::vector<std::pair<std::string, std::string>> loaded;
  if (mode == "scope") {
    if (args.size() != 2) return ckpt::InvalidArgumentError("scope needs <ckpt scope> <var scope>");
    CKPT_ASSIGN_OR_RETURN(loaded,
                          ckpt::InitFromCheckpoint(env, checkpoint, {{args[0], args[1]}}, vars));
  } else {
    ckpt::WarmStartSettings settings;
    settings.ckpt_to_initialize_from = checkpoint;
    if (mode == "rename") {
      if (args.size() != 1) return ckpt::InvalidArgumentError("rename needs <prefix>");
      for (const std::string& v : trainable) settings.var_name_to_prev_var_name[v] = args[0] + v;
    } else if (mode == "single") {
      if (args.size() != 1) return ckpt::InvalidArgumentError("single needs <regex>");
      settings.vars_to_warm_start = args[0];
    } else if (mode == "list") {
      if (args.empty()) return ckpt::InvalidArgumentError("list needs regexes");
      settings.vars_to_warm_start_list = args;
    } else if (mode != "default") {
      return ckpt::InvalidArgumentError("unknown mode " + mode);
    }
    CKPT_ASSIGN_OR_RETURN(ckpt::WarmStartReport report,
                          ckpt::WarmStart(env, settings, vars, trainable));
    loaded = report.warm_started;
  }

  for (const auto& [var, key] : loaded) std::printf("warm %s %s\n", var.c_str(), key.c_str());
  std::printf("global_step %lld\n", static_cast<long long>(model->global_step()));
  for (const ckpt::SaveableTensor& v : vars) {
    if (v.name.size() < 8 || v.name.compare(v.name.size() - 8, 8, "/Adagrad") != 0) continue;
    const float* p = v.tensor->flat<float>();
    const auto [lo, hi] = std::minmax_element(p, p + v.tensor->num_elements());
    std::printf("accum %s %.9g %.9g\n", v.name.c_str(), *lo, *hi);
  }
  CKPT_ASSIGN_OR_RETURN(ckpt::Tensor tx, ckpt::MakeFeatureMatrix(test.examples, test.feature_names,
                                                                 model->sorted_feature_names()));
  CKPT_ASSIGN_OR_RETURN(ckpt::ClassifierPredictions pred, model->Predict(tx));
  ckpt_driver::PrintRows("prob", pred.probabilities);
  return ckpt::Status();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: ckpt_warm_start_driver <test.csv> <h1,h2,...> "
                 "<default|rename|scope|single|list> <checkpoint> [args...]\n";
    return 2;
  }
  ckpt::Status s = Run(argc, argv);
  if (!s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  return 0;
}
