// The TensorFlow guide's premade-estimator example (premade_estimator.py with
// the Checkpoints guide's model_dir), in C++: train a DNNClassifier with
// hidden units [10, 10] on Iris into models/iris, evaluate it on the test
// set, predict three flowers.
//
//   premade_estimator                          # train 1000 steps, evaluate, predict
//   premade_estimator                          # again: resumes from the newest checkpoint
//   premade_estimator --hidden_units 20,20     # the guide's "bad restoration": fails,
//                                              # models/iris is left untouched
//   mpirun -np 4 premade_estimator --seed 1    # data-parallel over 4 ranks (built with
//                                              # Open MPI): each trains on a quarter of
//                                              # every batch, rank 0 writes model_dir
//   mpirun -np 3 premade_estimator --seed 1 --partition_min_bytes 0
//                                              # also variables partitioned over the
//                                              # ranks: every rank writes its slices
//
// Logs look like TF 1.8's ("INFO:tensorflow:Saving checkpoints for 1 into
// models/iris/model.ckpt."); --log_style=ckpt switches to ckpt's own format.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/canned.h"
#include "ckpt/estimator.h"
#include "ckpt/logging.h"
#include "ckpt/run_config.h"
#if CKPT_EXAMPLE_MPI
#include "ckpt/mpi_communicator.h"
#endif

namespace {

const char* const kSpecies[] = {"Setosa", "Versicolor", "Virginica"};

// "10,10" -> {10, 10}.
ckpt::Result<std::vector<int64_t>> ParseUnits(const std::string& text) {
  std::vector<int64_t> units;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size() || v <= 0) throw std::invalid_argument(item);
      units.push_back(v);
    } catch (const std::exception&) {
      return ckpt::InvalidArgumentError("--hidden_units: '" + item +
                                        "' is not a positive integer (expected e.g. 10,10)");
    }
  }
  return units;
}

void InstallTensorFlowStyleLog() {
  ckpt::SetLogSink([](ckpt::LogSeverity severity, std::string_view message) {
    const char* level = severity == ckpt::LogSeverity::kInfo      ? "INFO"
                        : severity == ckpt::LogSeverity::kWarning ? "WARNING"
                                                                  : "ERROR";
    std::string line = std::string(level) + ":tensorflow:" + std::string(message) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  });
}

struct Flags {
  std::string model_dir = "models/iris";
  std::string data_dir = CKPT_IRIS_DIR;
  int64_t batch_size = 100;
  int64_t train_steps = 1000;
  std::string hidden = "10,10";
  std::vector<int64_t> hidden_units;  // parsed from `hidden`
  std::optional<int64_t> seed;
  std::string log_style = "tf";
  std::string predict_csv;
  std::optional<int64_t> partition_min_bytes;
  std::string export_dir;
};

// Exports the trained model for serving: a SavedModel under export_dir
// whose signatures (serving_default, classification, predict) take
// serialized tf.Example protos with one float per feature, as TF's
// build_parsing_serving_input_receiver_fn on the numeric columns' parse spec.
ckpt::Status Export(ckpt::Estimator& classifier, const std::vector<std::string>& feature_names,
                    const std::string& export_dir) {
  std::map<std::string, ckpt::ServingFeature> features;
  for (const std::string& name : feature_names) features[name] = ckpt::ServingFeature{};
  CKPT_ASSIGN_OR_RETURN(std::string dir,
                        classifier.ExportSavedModel(export_dir,
                                                    ckpt::ServingInput::ParseExample(features)));
  std::printf("\nExported for serving: %s\n", dir.c_str());
  return ckpt::Status();
}

ckpt::Status Run(const Flags& flags, ckpt::Communicator* comm) {
  const std::string& model_dir = flags.model_dir;
  const std::string& data_dir = flags.data_dir;
  const int64_t batch_size = flags.batch_size;
  const std::optional<int64_t> seed = flags.seed;
  ckpt::Env* env = ckpt::Env::Posix();
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet train,
                        ckpt::LoadIrisCsv(env, ckpt::JoinPath(data_dir, "iris_training.csv")));
  CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet test,
                        ckpt::LoadIrisCsv(env, ckpt::JoinPath(data_dir, "iris_test.csv")));

  ckpt::DnnClassifierConfig model;
  model.feature_names = train.feature_names;
  model.hidden_units = flags.hidden_units;
  model.n_classes = 3;

  ckpt::EstimatorOptions options;
  options.model_fn = ckpt::DnnClassifierModelFn(model);
  options.model_dir = model_dir;
  if (seed) {
    ckpt::RunConfigOptions run;
    run.model_dir = model_dir;
    run.tf_random_seed = *seed;
    CKPT_ASSIGN_OR_RETURN(ckpt::RunConfig config, ckpt::RunConfig::Create(run));
    options.config = config;
  }
  options.communicator = comm;  // null: one process
  if (flags.partition_min_bytes) {
    options.partition = ckpt::VariablePartitioning{*flags.partition_min_bytes};
  }
  CKPT_ASSIGN_OR_RETURN(auto classifier, ckpt::Estimator::Create(options));

  // Train.
  ckpt::TrainOptions train_options;
  train_options.steps = flags.train_steps;
  const uint64_t shuffle_seed = seed ? static_cast<uint64_t>(*seed) : std::random_device{}();
  CKPT_RETURN_IF_ERROR(
      classifier->Train(ckpt::IrisTrainInputFn(train, batch_size, shuffle_seed), train_options)
          .status());
  // Evaluate (data-parallel too: every rank evaluates its share).
  CKPT_ASSIGN_OR_RETURN(ckpt::EvalResult eval,
                        classifier->Evaluate(ckpt::IrisEvalInputFn(test, batch_size)));
  // Data-parallel: the chief prints and predicts; the others are done.
  if (comm != nullptr && comm->rank() != 0) return ckpt::Status();
  std::printf("\nTest set accuracy: %0.3f\n\n", eval["accuracy"]);
  std::fflush(stdout);

  // Predict the guide's three flowers.
  const std::vector<ckpt::LabeledExample> flowers = {
      {{5.1f, 3.3f, 1.7f, 0.5f}, 0},
      {{5.9f, 3.0f, 4.2f, 1.5f}, 1},
      {{6.9f, 3.1f, 5.4f, 2.1f}, 2},
  };
  ckpt::ExamplesInputOptions predict_input;
  predict_input.batch_size = batch_size;
  predict_input.with_labels = false;
  CKPT_ASSIGN_OR_RETURN(
      std::vector<ckpt::Prediction> predictions,
      classifier->Predict(ckpt::ExamplesInputFn(flowers, train.feature_names, predict_input)));
  for (size_t i = 0; i < predictions.size() && i < flowers.size(); ++i) {
    const int64_t class_id = predictions[i].at("class_ids").flat<int64_t>()[0];
    const float probability = predictions[i].at("probabilities").flat<float>()[class_id];
    std::printf("\nPrediction is \"%s\" (%.1f%%), expected \"%s\"\n", kSpecies[class_id],
                100.0 * probability, kSpecies[flowers[i].label]);
  }

  // Optionally every row of another CSV in the Iris format, full precision
  // (used by the interop tests; handy for scoring your own flowers).
  if (!flags.predict_csv.empty()) {
    CKPT_ASSIGN_OR_RETURN(ckpt::IrisDataSet rows, ckpt::LoadIrisCsv(env, flags.predict_csv));
    CKPT_ASSIGN_OR_RETURN(
        std::vector<ckpt::Prediction> all,
        classifier->Predict(ckpt::ExamplesInputFn(rows.examples, rows.feature_names,
                                                  predict_input)));
    std::printf("\n");
    for (const ckpt::Prediction& p : all) {
      const float* probs = p.at("probabilities").flat<float>();
      std::printf("probabilities %.9g %.9g %.9g class_id %lld\n", probs[0], probs[1], probs[2],
                  static_cast<long long>(p.at("class_ids").flat<int64_t>()[0]));
    }
  }
  if (!flags.export_dir.empty()) {
    CKPT_RETURN_IF_ERROR(Export(*classifier, train.feature_names, flags.export_dir));
  }
  return ckpt::Status();
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f), report the write's "File too large"
  // error instead of being killed by SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"Train, evaluate and use a DNNClassifier on Iris, checkpointing into model_dir "
               "(TensorFlow's premade-estimator example)."};
  Flags f;
  app.add_option("--model_dir", f.model_dir, "Where checkpoints and event files go")
      ->capture_default_str();
  app.add_option("--data_dir", f.data_dir, "Directory with iris_training.csv and iris_test.csv")
      ->capture_default_str();
  app.add_option("--batch_size", f.batch_size, "Batch size")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--train_steps", f.train_steps, "Number of training steps (more on each run)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--hidden_units", f.hidden, "Units per hidden layer, comma separated")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "tf_random_seed: fixed initialisation and shuffling");
  app.add_option("--log_style", f.log_style, "tf: INFO:tensorflow:... lines; ckpt: ckpt's format")
      ->capture_default_str()->check(CLI::IsMember({"tf", "ckpt"}));
  app.add_option("--predict_csv", f.predict_csv,
                 "Also print the probabilities for every row of this Iris-format CSV");
  app.add_option("--partition_min_bytes", f.partition_min_bytes,
                 "Under mpirun: checkpoints store each variable of at least this many bytes "
                 "(and as many rows as ranks) as one row slice per rank, every rank writing its "
                 "own (EstimatorOptions::partition)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--export_dir", f.export_dir,
                 "After training, export the model for serving: a SavedModel in "
                 "EXPORT_DIR/<timestamp> taking serialized tf.Example protos");
  CLI11_PARSE(app, argc, argv);

  if (f.log_style == "tf") InstallTensorFlowStyleLog();
  ckpt::Result<std::vector<int64_t>> units = ParseUnits(f.hidden);
  ckpt::Status status = units.status();
  if (status.ok()) {
    f.hidden_units = *units;
#if CKPT_EXAMPLE_MPI
    // Under mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE): data-parallel over
    // the ranks, every rank given the same flags; the ranks other than 0
    // log warnings and errors only.
    const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
    if (world != nullptr && std::atoi(world) > 1) {
      MPI_Init(&argc, &argv);
      {
        ckpt::Result<std::unique_ptr<ckpt::Communicator>> comm =
            ckpt::NewMpiCommunicator(MPI_COMM_WORLD);
        status = comm.status();
        if (status.ok()) {
          if ((*comm)->rank() != 0) {
            ckpt::SetLogSink([](ckpt::LogSeverity severity, std::string_view message) {
              if (severity == ckpt::LogSeverity::kInfo) return;
              std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
            });
          }
          status = Run(f, comm->get());
        }
      }
      int failed = status.ok() ? 0 : 1, any = 0;
      MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
      MPI_Finalize();
      if (!status.ok()) std::fprintf(stderr, "%s\n", status.ToString().c_str());
      return any;
    }
#endif
    status = Run(f, nullptr);
  }
  if (!status.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
