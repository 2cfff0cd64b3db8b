// train_bench: Iris DNNClassifier training throughput (steps per second) of
// ckpt's DnnClassifierModel, for bench/run's side-by-side with TensorFlow
// (bench/tf_train.py trains the same network there).
//
// Setup, as TF's premade_estimator.py / DNNClassifier defaults: 4 numeric
// features, hidden_units {10, 10}, relu, 3 classes, Adagrad(lr 0.05,
// initial accumulator 0.1), SUM-reduced sparse softmax cross-entropy, batch
// 100 from data/iris/iris_training.csv (120 rows) through shuffle(1000),
// repeat, batch(100).
//
// Two loops are timed, each for --steps steps after --warmup untimed steps,
// --reps times:
//   pipeline   the whole training loop: Dataset iterator NextInto() into
//              a reused batch vector (shuffle, repeat, batch),
//              MakeFeatureMatrix, labels vector, TrainStep.
//              This is what an Estimator-style train loop does per step.
//   step_only  TrainStep alone over feature tensors built before timing
//              (the same 6 distinct batches of a shuffled epoch pair, reused
//              round-robin): the model's forward + backward + Adagrad cost.
//   estimator  what Estimator::Train runs per step, without hooks, summaries
//              or checkpoints: IrisTrainInputFn's iterator (ExamplesInputFn:
//              the same Dataset, converted to a Batch of feature columns)
//              and the canned DNNClassifier's EstimatorModel::TrainStep
//              (feature matrix and label ids from the Batch, then TrainStep).
//
// Output: one JSON object on stdout (or --out FILE):
//   {"steps": N, "pipeline_steps_per_sec": [...], "step_only_steps_per_sec": [...],
//    "estimator_steps_per_sec": [...], "final_loss": x, "global_step": n}
// Flags: --data=PATH (default <source>/data/iris/iris_training.csv),
//        --steps=N (default 20000), --warmup=N (default 500), --reps=N (default 5),
//        --out=FILE, --loops=LIST (comma-separated subset of
//        pipeline,step_only,estimator; default all three).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/canned.h"
#include "ckpt/data.h"
#include "ckpt/dnn_classifier.h"
#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace {

using ckpt::Dataset;
using ckpt::DnnClassifierConfig;
using ckpt::DnnClassifierModel;
using ckpt::IrisDataSet;
using ckpt::LabeledExample;
using ckpt::Result;
using ckpt::Status;
using ckpt::Tensor;

struct Flags {
  std::string data = std::string(CKPT_SOURCE_DIR) + "/data/iris/iris_training.csv";
  int64_t steps = 20000;
  int64_t warmup = 500;
  int reps = 5;
  std::string out;
  std::string loops = "pipeline,step_only,estimator";
};

bool TakeFlag(const char* arg, const char* name, std::string* value) {
  size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *value = arg + n + 1;
  return true;
}

// The batch's labels into *labels (whose storage a loop reuses).
void Labels(const std::vector<LabeledExample>& batch, std::vector<int64_t>* labels) {
  labels->clear();
  for (const LabeledExample& e : batch) labels->push_back(e.label);
}

std::vector<int64_t> Labels(const std::vector<LabeledExample>& batch) {
  std::vector<int64_t> labels;
  Labels(batch, &labels);
  return labels;
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

Result<std::unique_ptr<DnnClassifierModel>> NewModel() {
  DnnClassifierConfig config;  // defaults: Iris features, {10, 10}, 3 classes, Adagrad 0.05
  config.seed = 1;
  return DnnClassifierModel::Create(config);
}

// Runs `steps` steps of the full input pipeline + TrainStep; returns steps/s.
Result<double> PipelineLoop(const IrisDataSet& iris, int64_t warmup, int64_t steps,
                            double* loss, int64_t* global_step) {
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<DnnClassifierModel> model, NewModel());
  CKPT_ASSIGN_OR_RETURN(auto shuffled,
                        Dataset<LabeledExample>::FromVector(iris.examples).Shuffle(1000, 7));
  CKPT_ASSIGN_OR_RETURN(auto repeated, shuffled.Repeat());
  CKPT_ASSIGN_OR_RETURN(auto batched, repeated.Batch(100));
  auto it = batched.MakeIterator();
  std::vector<int64_t> labels;
  std::vector<LabeledExample> batch;  // reused: NextInto assigns into its storage
  auto step = [&]() -> Status {
    if (!it->NextInto(&batch)) return ckpt::InternalError("dataset ended");
    CKPT_ASSIGN_OR_RETURN(Tensor x, ckpt::MakeFeatureMatrix(batch, iris.feature_names,
                                                            model->sorted_feature_names()));
    Labels(batch, &labels);
    CKPT_ASSIGN_OR_RETURN(ckpt::ClassifierTrainResult r, model->TrainStep(x, labels));
    *loss = r.loss;
    *global_step = r.global_step;
    return Status::OK();
  };
  for (int64_t i = 0; i < warmup; ++i) CKPT_RETURN_IF_ERROR(step());
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) CKPT_RETURN_IF_ERROR(step());
  auto t1 = std::chrono::steady_clock::now();
  return static_cast<double>(steps) / Seconds(t0, t1);
}

// TrainStep alone over batches materialised before timing.
Result<double> StepOnlyLoop(const IrisDataSet& iris, int64_t warmup, int64_t steps) {
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<DnnClassifierModel> model, NewModel());
  CKPT_ASSIGN_OR_RETURN(auto shuffled,
                        Dataset<LabeledExample>::FromVector(iris.examples).Shuffle(1000, 7));
  CKPT_ASSIGN_OR_RETURN(auto repeated, shuffled.Repeat());
  CKPT_ASSIGN_OR_RETURN(auto batched, repeated.Batch(100));
  auto it = batched.MakeIterator();
  std::vector<Tensor> xs;
  std::vector<std::vector<int64_t>> ys;
  for (int i = 0; i < 6; ++i) {  // 600 rows = 5 epochs of 120: the pattern then repeats
    std::optional<std::vector<LabeledExample>> batch = it->Next();
    if (!batch) return ckpt::InternalError("dataset ended");
    CKPT_ASSIGN_OR_RETURN(Tensor x, ckpt::MakeFeatureMatrix(*batch, iris.feature_names,
                                                            model->sorted_feature_names()));
    xs.push_back(std::move(x));
    ys.push_back(Labels(*batch));
  }
  for (int64_t i = 0; i < warmup; ++i) {
    CKPT_RETURN_IF_ERROR(model->TrainStep(xs[i % 6], ys[i % 6]).status());
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) {
    CKPT_RETURN_IF_ERROR(model->TrainStep(xs[i % 6], ys[i % 6]).status());
  }
  auto t1 = std::chrono::steady_clock::now();
  return static_cast<double>(steps) / Seconds(t0, t1);
}

// The Estimator's per-step work: Batch from the input_fn's iterator, the
// canned model's TrainStep on it.
Result<double> EstimatorLoop(const IrisDataSet& iris, int64_t warmup, int64_t steps) {
  ckpt::ModelFnArgs args;
  args.seed = 1;
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<ckpt::EstimatorModel> model,
                        ckpt::DnnClassifierModelFn(DnnClassifierConfig{})(args));
  CKPT_ASSIGN_OR_RETURN(auto it, ckpt::IrisTrainInputFn(iris, 100, 7)());
  auto step = [&]() -> Status {
    std::optional<ckpt::Batch> batch = it->Next();
    if (!batch) return ckpt::InternalError("input ended");
    return model->TrainStep(*batch, /*want_summaries=*/false).status();
  };
  for (int64_t i = 0; i < warmup; ++i) CKPT_RETURN_IF_ERROR(step());
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) CKPT_RETURN_IF_ERROR(step());
  auto t1 = std::chrono::steady_clock::now();
  return static_cast<double>(steps) / Seconds(t0, t1);
}

int Fail(const Status& s) {
  std::fprintf(stderr, "train_bench: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (TakeFlag(argv[i], "--data", &v)) {
      f.data = v;
    } else if (TakeFlag(argv[i], "--steps", &v)) {
      f.steps = std::atoll(v.c_str());
    } else if (TakeFlag(argv[i], "--warmup", &v)) {
      f.warmup = std::atoll(v.c_str());
    } else if (TakeFlag(argv[i], "--reps", &v)) {
      f.reps = std::atoi(v.c_str());
    } else if (TakeFlag(argv[i], "--out", &v)) {
      f.out = v;
    } else if (TakeFlag(argv[i], "--loops", &v)) {
      f.loops = v;
    } else {
      std::fprintf(stderr, "train_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (f.steps <= 0 || f.warmup < 0 || f.reps <= 0) {
    std::fprintf(stderr, "train_bench: bad --steps/--warmup/--reps\n");
    return 2;
  }
  Result<IrisDataSet> iris = ckpt::LoadIrisCsv(ckpt::Env::Posix(), f.data);
  if (!iris.ok()) return Fail(iris.status());

  std::vector<double> pipeline, step_only, estimator;
  double loss = 0;
  int64_t global_step = 0;
  auto wanted = [&](const char* name) {
    return ("," + f.loops + ",").find("," + std::string(name) + ",") != std::string::npos;
  };
  for (int r = 0; r < f.reps; ++r) {  // alternate, so a slow period hits both
    if (wanted("pipeline")) {
      Result<double> p = PipelineLoop(*iris, f.warmup, f.steps, &loss, &global_step);
      if (!p.ok()) return Fail(p.status());
      pipeline.push_back(*p);
    }
    if (wanted("step_only")) {
      Result<double> s = StepOnlyLoop(*iris, f.warmup, f.steps);
      if (!s.ok()) return Fail(s.status());
      step_only.push_back(*s);
    }
    if (wanted("estimator")) {
      Result<double> e = EstimatorLoop(*iris, f.warmup, f.steps);
      if (!e.ok()) return Fail(e.status());
      estimator.push_back(*e);
    }
  }

  std::ostringstream js;
  auto list = [&](const std::vector<double>& v) {
    js << "[";
    for (size_t i = 0; i < v.size(); ++i) js << (i ? ", " : "") << v[i];
    js << "]";
  };
  js << "{\"steps\": " << f.steps << ", \"warmup\": " << f.warmup
     << ", \"batch\": 100, \"pipeline_steps_per_sec\": ";
  list(pipeline);
  js << ", \"step_only_steps_per_sec\": ";
  list(step_only);
  js << ", \"estimator_steps_per_sec\": ";
  list(estimator);
  js << ", \"final_loss\": " << loss << ", \"global_step\": " << global_step << "}\n";
  if (f.out.empty()) {
    std::fputs(js.str().c_str(), stdout);
  } else {
    std::ofstream(f.out) << js.str();
  }
  return 0;
}
