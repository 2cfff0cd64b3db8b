// Data-parallel training (EstimatorOptions::communicator) over ranks that are
// threads of this process (testutil/thread_group.h): N ranks sharing every
// global batch train the same model as one process on the whole batches
// (float rounding aside), only the chief writes into model_dir, and a model
// that cannot combine gradients is refused on every rank.
#include <algorithm>
#include <cmath>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "ckpt/bundle_reader.h"
#include "ckpt/canned.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/estimator.h"
#include "ckpt/estimator_input.h"
#include "ckpt/filenames.h"
#include "ckpt/hooks.h"
#include "ckpt/iris.h"
#include "estimator/toy_model.h"
#include "testutil/testutil.h"
#include "testutil/thread_group.h"

namespace ckpt {
namespace {

using ::ckpt::testing::ListDir;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::ThreadGroup;

const std::vector<std::string> kFeatures = {"SepalLength", "SepalWidth", "PetalLength",
                                            "PetalWidth"};

// 96 examples of 3 classes, separable enough to learn from.
std::vector<LabeledExample> Examples() {
  std::vector<LabeledExample> out;
  for (int i = 0; i < 96; ++i) {
    const int label = i % 3;
    const float jitter = static_cast<float>((i * 37) % 11) / 11.f;
    out.push_back({{1.f + label + jitter, 2.f - label * 0.5f + jitter, 0.5f * label, jitter},
                   label});
  }
  return out;
}

InputFn Input(int64_t batch) {
  ExamplesInputOptions o;
  o.batch_size = batch;
  o.shuffle_buffer = 96;
  o.seed = 7;
  o.repeat = true;
  return ExamplesInputFn(Examples(), kFeatures, o);
}

// What a test trains.
struct Model {
  std::string optimizer = "Adagrad";
  int64_t batch = 24;
  std::optional<VariablePartitioning> partition;
  bool batch_norm = false;
};

Result<std::unique_ptr<Estimator>> MakeEstimator(const std::string& model_dir, Communicator* comm,
                                                 const Model& m = {}) {
  RunConfigOptions ro;
  ro.model_dir = model_dir;
  ro.tf_random_seed = 42;
  ro.save_checkpoints_steps = 20;
  CKPT_ASSIGN_OR_RETURN(RunConfig config, RunConfig::Create(ro));
  DnnClassifierConfig dnn;
  dnn.hidden_units = {8, 6};
  dnn.optimizer = m.optimizer;
  dnn.learning_rate = 0.1;
  dnn.batch_norm = m.batch_norm;
  EstimatorOptions options;
  options.model_fn = DnnClassifierModelFn(dnn);
  options.config = config;
  options.communicator = comm;
  options.partition = m.partition;
  return Estimator::Create(std::move(options));
}

// Trains `m` into `dir` up to `max_steps`: one process for ranks == 1, else
// a group of `ranks` threads (hooks[r], if given, added on rank r). Every
// rank's outcome.
std::vector<Status> TrainTo(const std::string& dir, int ranks, int64_t max_steps,
                            const Model& m = {},
                            const std::vector<std::shared_ptr<SessionRunHook>>& hooks = {}) {
  auto train = [&](int r, Communicator* comm) -> Status {
    CKPT_ASSIGN_OR_RETURN(auto est, MakeEstimator(dir, comm, m));
    TrainOptions options;
    options.max_steps = max_steps;
    if (!hooks.empty()) options.hooks = {hooks[r]};
    CKPT_ASSIGN_OR_RETURN(TrainResult result, est->Train(Input(m.batch), options));
    if (result.global_step != max_steps) {
      return InternalError("global_step " + std::to_string(result.global_step));
    }
    return Status::OK();
  };
  if (ranks == 1) return {train(0, nullptr)};
  ThreadGroup group(ranks);
  return group.Run<Status>([&](int r, Communicator& comm) { return train(r, &comm); });
}

// Every outcome of TrainTo is OK.
void ExpectAllOk(const std::vector<Status>& out) {
  for (size_t r = 0; r < out.size(); ++r) EXPECT_TRUE(out[r].ok()) << "rank " << r << ": " << out[r];
}

// Every variable of the newest checkpoint in `dir`.
std::map<std::string, Tensor> Values(const std::string& dir) {
  std::map<std::string, Tensor> out;
  auto latest = LatestCheckpoint(Env::Posix(), dir);
  EXPECT_TRUE(latest.ok()) << latest.status();
  if (!latest.ok()) return out;
  auto reader = CheckpointReader::Open(*latest);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return out;
  for (const auto& v : (*reader)->variables()) out[v.name] = (*reader)->GetTensor(v.name).value();
  return out;
}

// `got` holds the variables of `want`, equal within `tolerance` (relative).
void ExpectClose(const std::map<std::string, Tensor>& want,
                 const std::map<std::string, Tensor>& got, float tolerance) {
  ASSERT_EQ(want.size(), got.size());
  ASSERT_GT(want.size(), 5u);
  for (const auto& [name, w] : want) {
    ASSERT_EQ(got.count(name), 1u) << name;
    const Tensor& g = got.at(name);
    ASSERT_EQ(w.dtype(), g.dtype()) << name;
    ASSERT_EQ(w.shape(), g.shape()) << name;
    if (w.dtype() == DataType::kInt64) {
      EXPECT_EQ(*w.flat<int64_t>(), *g.flat<int64_t>()) << name;
      continue;
    }
    ASSERT_EQ(w.dtype(), DataType::kFloat) << name;
    for (int64_t i = 0; i < w.num_elements(); ++i) {
      const float a = w.flat<float>()[i], b = g.flat<float>()[i];
      EXPECT_NEAR(a, b, tolerance * (1.f + std::fabs(a))) << name << "[" << i << "]";
    }
  }
}

class DataParallelTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { root_ = ckpt::testing::MakeTestEnv(ckpt::testing::EnvKind::kPosix).root; }
  std::string root_;
};

TEST_P(DataParallelTest, RanksTrainTheModelOneProcessTrains) {
  const int ranks = GetParam();
  const std::string single_dir = root_ + "/single", dist_dir = root_ + "/dist";
  ExpectAllOk(TrainTo(single_dir, 1, 40));
  ExpectAllOk(TrainTo(dist_dir, ranks, 40));

  const std::map<std::string, Tensor> want = Values(single_dir), got = Values(dist_dir);
  ExpectClose(want, got, 1e-5f);
  // The variables moved from their initial values: the test compares training.
  ExpectAllOk(TrainTo(root_ + "/fresh", 1, 1));
  const std::map<std::string, Tensor> initial = Values(root_ + "/fresh");
  EXPECT_FALSE(initial.at("dnn/logits/kernel").Equals(got.at("dnn/logits/kernel")));

  // One writer: one events file, one graph.pbtxt, the chief's checkpoints.
  int events = 0;
  for (const std::string& f : ListDir(Env::Posix(), dist_dir)) {
    events += f.rfind("events.out.tfevents.", 0) == 0;
  }
  EXPECT_EQ(events, 1);
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState state, GetCheckpointState(Env::Posix(), dist_dir));
  EXPECT_EQ(state.model_checkpoint_path, dist_dir + "/model.ckpt-40");
}

// A second Train call restores on every rank and continues identically.
TEST_P(DataParallelTest, EveryRankRestoresAndContinues) {
  const int ranks = GetParam();
  const std::string single_dir = root_ + "/single", dist_dir = root_ + "/dist";
  Model adam;
  adam.optimizer = "Adam";
  adam.batch = 12;
  for (int64_t max_steps : {15, 30}) {
    ExpectAllOk(TrainTo(single_dir, 1, max_steps, adam));
    ExpectAllOk(TrainTo(dist_dir, ranks, max_steps, adam));
  }
  ExpectClose(Values(single_dir), Values(dist_dir), 1e-4f);
}

// Evaluate over the ranks: the same metrics as one process evaluating the
// whole batches, on every rank; only the chief writes the eval summary.
TEST_P(DataParallelTest, RanksEvaluateAsOneProcess) {
  const int ranks = GetParam();
  const std::string dir = root_ + "/model";
  ExpectAllOk(TrainTo(dir, 1, 30));
  ExamplesInputOptions eval_input;
  eval_input.batch_size = 20;  // 96 examples: four batches of 20 and one of 16
  EvaluateOptions eo;
  eo.name = "single";
  CKPT_ASSERT_OK_AND_ASSIGN(auto single, MakeEstimator(dir, nullptr));
  CKPT_ASSERT_OK_AND_ASSIGN(EvalResult want,
                            single->Evaluate(ExamplesInputFn(Examples(), kFeatures, eval_input), eo));
  ThreadGroup group(ranks);
  std::vector<EvalResult> got(ranks);
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) -> Status {
    CKPT_ASSIGN_OR_RETURN(auto est, MakeEstimator(dir, &comm));
    EvaluateOptions options;
    options.name = "dist";
    CKPT_ASSIGN_OR_RETURN(got[r], est->Evaluate(ExamplesInputFn(Examples(), kFeatures, eval_input),
                                                options));
    return Status::OK();
  });
  for (int r = 0; r < ranks; ++r) ASSERT_TRUE(out[r].ok()) << "rank " << r << ": " << out[r];
  for (int r = 0; r < ranks; ++r) {
    ASSERT_EQ(got[r].size(), want.size()) << r;
    for (const auto& [key, value] : want) {
      EXPECT_NEAR(got[r].at(key), value, 1e-9 * (1 + std::fabs(value))) << key << " rank " << r;
      EXPECT_EQ(got[r].at(key), got[0].at(key)) << key << ": every rank the same";
    }
  }
  EXPECT_GT(want.at("accuracy"), 0.4);
  int summaries = 0;
  for (const std::string& f : ListDir(Env::Posix(), dir + "/eval_dist")) {
    summaries += f.rfind("events.out.tfevents.", 0) == 0;
  }
  EXPECT_EQ(summaries, 1);
}

// Partitioned mode (EstimatorOptions::partition): the same training, but
// every checkpoint is written by all ranks, each partitioned variable as one
// slice per rank (rows as fixed_size_partitioner splits them), every other
// variable once.
TEST_P(DataParallelTest, PartitionedCheckpointsHoldOneSlicePerRank) {
  const int ranks = GetParam();
  const std::string single_dir = root_ + "/single", dist_dir = root_ + "/dist";
  ExpectAllOk(TrainTo(single_dir, 1, 40));
  Model partitioned_model;
  // The hidden kernels (128 and 192 bytes), not logits/kernel (72).
  partitioned_model.partition = VariablePartitioning{100};
  ExpectAllOk(TrainTo(dist_dir, ranks, 40, partitioned_model));
  ExpectClose(Values(single_dir), Values(dist_dir), 1e-5f);

  // The checkpoint's layout: one data file per rank; the selected variables
  // (and their Adagrad slots) as `ranks` row slices, the others whole.
  const std::string prefix = dist_dir + "/model.ckpt-40";
  for (int r = 0; r < ranks; ++r) {
    EXPECT_TRUE(Env::Posix()->FileExists(DataFilename(prefix, r, ranks))) << r;
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, BundleReader::Open(prefix));
  int partitioned = 0;
  for (const auto& [name, w] : Values(single_dir)) {
    CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* entry, reader->Lookup(name));
    const bool selected = w.dtype() == DataType::kFloat && w.shape().rank() >= 1 &&
                          w.shape().dim(0) >= ranks && w.byte_size() >= 100;
    if (!selected) {
      EXPECT_TRUE(entry->slices.empty()) << name;
      continue;
    }
    ++partitioned;
    ASSERT_EQ(entry->slices.size(), static_cast<size_t>(ranks)) << name;
    const int64_t rows = w.shape().dim(0);
    int64_t next = 0;
    std::vector<TensorSlice> slices = entry->slices;
    std::sort(slices.begin(), slices.end(),
              [](const TensorSlice& a, const TensorSlice& b) { return a.start(0) < b.start(0); });
    for (int r = 0; r < ranks; ++r) {
      const int64_t want_rows = rows / ranks + (r < rows % ranks ? 1 : 0);
      EXPECT_EQ(slices[r].start(0), next) << name;
      EXPECT_EQ(slices[r].length(0, w.shape()), want_rows) << name;
      next += want_rows;
    }
  }
  EXPECT_EQ(partitioned, 4) << "two hidden kernels with their Adagrad slots";
}

// A partitioned checkpoint written by one number of ranks is resumed by
// another (each rank reading its new slices), and by one process: the
// model is the one a single process trains through the same calls.
TEST(DataParallelPartitionedTest, ResumesAtAnyNumberOfRanks) {
  const std::string root = ckpt::testing::MakeTestEnv(ckpt::testing::EnvKind::kPosix).root;
  const std::string single_dir = root + "/single", dist_dir = root + "/dist";
  Model adam;
  adam.optimizer = "Adam";
  adam.batch = 12;
  Model partitioned_adam = adam;
  partitioned_adam.partition = VariablePartitioning{0};
  // (ranks, max_steps) of each call; 1 = one process.
  const std::vector<std::pair<int, int64_t>> calls = {{3, 10}, {2, 20}, {4, 30}, {1, 35}, {3, 45}};
  for (const auto& [ranks, max_steps] : calls) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks to step " + std::to_string(max_steps));
    ExpectAllOk(TrainTo(single_dir, 1, max_steps, adam));
    ExpectAllOk(TrainTo(dist_dir, ranks, max_steps, partitioned_adam));
    ExpectClose(Values(single_dir), Values(dist_dir), 1e-4f);
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, BundleReader::Open(dist_dir + "/model.ckpt-45"));
  CKPT_ASSERT_OK_AND_ASSIGN(const BundleEntry* kernel, reader->Lookup("dnn/hiddenlayer_0/kernel"));
  EXPECT_EQ(kernel->slices.size(), 3u);
}

// A rank that cannot restore its slices (the checkpoint lacks a variable)
// fails, every other rank fails too (Aborted, naming it), and nothing is
// changed: every rank reports before training starts.
TEST(DataParallelPartitionedTest, ARankThatCannotRestoreStopsEveryRank) {
  const std::string root = ckpt::testing::MakeTestEnv(ckpt::testing::EnvKind::kPosix).root;
  const std::string dir = root + "/model";
  ExpectAllOk(TrainTo(dir, 1, 5));
  const std::vector<std::string> before = ListDir(Env::Posix(), dir);
  // Adam has slots the Adagrad checkpoint lacks: every rank misses some.
  Model adam;
  adam.optimizer = "Adam";
  adam.partition = VariablePartitioning{0};
  std::vector<Status> out = TrainTo(dir, 2, 10, adam);
  for (const Status& s : out) {
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(s.code() == StatusCode::kNotFound || s.code() == StatusCode::kAborted) << s;
  }
  EXPECT_THAT(out[0], StatusIs(StatusCode::kNotFound, "Adam"));
  EXPECT_EQ(ListDir(Env::Posix(), dir), before);
}

// Copies the model's variables whose names contain `part` at the end of
// training (what this rank holds, not what the chief saved).
class CaptureHook : public SessionRunHook {
 public:
  explicit CaptureHook(std::string part) : part_(std::move(part)) {}
  Status End(TrainingSession& session) override {
    for (const SaveableTensor& v : session.model().Variables()) {
      if (v.name.find(part_) != std::string::npos) captured[v.name] = v.tensor->Copy();
    }
    return Status::OK();
  }
  std::map<std::string, Tensor> captured;

 private:
  std::string part_;
};

// Batch normalisation's moving statistics are averaged over the ranks every
// step (TF's ON_READ / MEAN variables): every rank ends with the same ones,
// and after one step from the same start the first layer's moving mean is
// the one of one process on the whole batch (the mean of equal shares'
// means; later layers see inputs normalised with each rank's own batch
// statistics, as under TF's MirroredStrategy).
TEST_P(DataParallelTest, BatchNormMovingStatisticsAreTheRanksMean) {
  const int ranks = GetParam();
  const std::string single_dir = root_ + "/single", dist_dir = root_ + "/dist";
  Model bn;
  bn.batch_norm = true;
  ExpectAllOk(TrainTo(single_dir, 1, 1, bn));
  std::vector<std::shared_ptr<CaptureHook>> captures;
  for (int r = 0; r < ranks; ++r) captures.push_back(std::make_shared<CaptureHook>("/moving_"));
  const std::vector<std::shared_ptr<SessionRunHook>> hooks(captures.begin(), captures.end());
  ExpectAllOk(TrainTo(dist_dir, ranks, 1, bn, hooks));
  const std::map<std::string, Tensor> want = Values(single_dir), got = Values(dist_dir);
  int means = 0;
  for (const auto& [name, w] : want) {
    if (name.find("hiddenlayer_0/batchnorm_0/moving_mean") == std::string::npos) continue;
    ++means;
    const Tensor& g = got.at(name);
    for (int64_t i = 0; i < w.num_elements(); ++i) {
      EXPECT_NEAR(g.flat<float>()[i], w.flat<float>()[i], 1e-5f) << name << "[" << i << "]";
    }
    EXPECT_FALSE(w.Equals(Tensor::Allocate(w.dtype(), w.shape()).value())) << name << " moved";
  }
  EXPECT_EQ(means, 1);
  // Ten steps on: the ranks' own statistics are bit-identical.
  ExpectAllOk(TrainTo(dist_dir, ranks, 10, bn, hooks));
  ASSERT_EQ(captures[0]->captured.size(), 4u);
  for (int r = 1; r < ranks; ++r) {
    for (const auto& [name, t] : captures[0]->captured) {
      EXPECT_TRUE(t.Equals(captures[r]->captured.at(name))) << name << " rank " << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, DataParallelTest, ::testing::Values(2, 3),
                         [](const auto& info) { return std::to_string(info.param) + "ranks"; });

TEST(DataParallelModelTest, AModelThatCannotCombineGradientsIsRefused) {
  const std::string dir = ckpt::testing::MakeTestEnv(ckpt::testing::EnvKind::kPosix).root;
  ThreadGroup group(2);
  std::vector<Status> out = group.Run<Status>([&](int, Communicator& comm) -> Status {
    RunConfigOptions ro;
    ro.model_dir = dir + "/toy";
    CKPT_ASSIGN_OR_RETURN(RunConfig config, RunConfig::Create(ro));
    EstimatorOptions options;
    options.model_fn = ckpt::testing::ToyModelFn(ckpt::testing::ToyConfig{});
    options.config = config;
    options.communicator = &comm;
    CKPT_ASSIGN_OR_RETURN(auto est, Estimator::Create(std::move(options)));
    TrainOptions train;
    train.steps = 3;
    return est->Train(ckpt::testing::ToyInput(), train).status();
  });
  for (const Status& s : out) EXPECT_THAT(s, StatusIs(StatusCode::kUnimplemented, "data-parallel"));
}

}  // namespace
}  // namespace ckpt
