// Estimator: TF 1.8's train / evaluate / predict sequences (docs/estimator.md)
// over an EstimatorModel.
//
// What a Train call does, in order (log lines in quotes; the Impl member or
// helper that does it in brackets):
//   1. argument checks [CheckTrainArguments]; the max_steps pre-check reads
//      global_step from the newest checkpoint ("Skipping training since
//      max_steps has already saved." and return);
//   2. decide, reading only, which checkpoint to restore
//      [CheckpointToRestore];
//   3. input_fn, then model_fn ("Calling model_fn." / "Done calling
//      model_fn."); warm start if there is nothing to restore
//      [BuildTrainingModel];
//   4. the Saver (and the graph + meta graph if the model describes one)
//      [MakeTrainingSaver];
//   5. hooks: CheckpointSaverHook ("Create CheckpointSaverHook."),
//      StepCounterHook, SummarySaverHook, the user's hooks, StopAtStepHook,
//      NanTensorHook, LoggingTensorHook [MakeTrainingHooks]; Begin on each
//      [RunTrainingSession, which runs 5 to 8];
//   6. "Graph was finalized."; restore ("Restoring parameters from ...",
//      logged by the Saver) and re-seed the retention list from the state
//      file [RestoreForTraining]; "Running local_init_op." / "Done running
//      local_init_op."; AfterCreateSession on each hook;
//   7. the loop: BeforeRun on each hook, one TrainStep, AfterRun on each,
//      until a hook requests a stop or the input ends [RunTrainingLoop];
//   8. End on each hook (only if nothing failed), flush the event writers,
//      "Loss for final step: ...".
// Nothing is written to model_dir before step 7 (or, for
// SaveCadence::kAtSessionCreation, AfterCreateSession in step 6): a restore
// error leaves model_dir as it was. The writer lock is taken before step 2
// when model_dir exists, else (creating model_dir) between steps 5 and 6.
#include "ckpt/estimator.h"

#include <cmath>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <set>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/graph.h"
#include "ckpt/hooks.h"
#include "ckpt/logging.h"
#include "ckpt/meta_graph.h"
#include "ckpt/verify.h"
#include "estimator/data_parallel.h"
#include "estimator/export.h"
#include "estimator/writer_cache.h"
#include "tensorflow/core/util/event.pb.h"

namespace ckpt {

using estimator_internal::EventWriterCache;
using estimator_internal::LeaderBundleWriter;
using estimator_internal::MakeFollowerHook;
using estimator_internal::MakeLeaderHook;
using estimator_internal::MeanOverRanks;
using estimator_internal::PartitionedVariables;
using estimator_internal::RestoreOnEveryRank;
using estimator_internal::ShareOfEveryBatch;
using estimator_internal::SumOverRanks;

namespace {

constexpr char kGlobalStep[] = "global_step";

// A copy of `config` with model_dir set (TF: config.replace(model_dir=...)).
RunConfig WithModelDir(const RunConfig& config, const std::string& model_dir) {
  RunConfigOptions o;
  o.model_dir = model_dir;
  o.tf_random_seed = config.tf_random_seed();
  o.save_summary_steps = config.save_summary_steps();
  if (config.save_checkpoints_steps().has_value()) {
    o.save_checkpoints_steps = *config.save_checkpoints_steps();
  } else if (config.save_checkpoints_secs().has_value()) {
    o.save_checkpoints_secs = *config.save_checkpoints_secs();
  } else {
    o.save_checkpoints_steps = TfArg<int64_t>::None();
    o.save_checkpoints_secs = TfArg<double>::None();
  }
  o.keep_checkpoint_max = config.keep_checkpoint_max();
  o.keep_checkpoint_every_n_hours = config.keep_checkpoint_every_n_hours();
  o.log_step_count_steps = config.log_step_count_steps();
  // Every field comes from a valid config, so this cannot fail.
  return RunConfig::Create(o).value();
}

// time.strftime('%Y-%m-%d-%H:%M:%S', time.gmtime(seconds)).
std::string FormatUtc(double seconds) {
  const std::time_t t = static_cast<std::time_t>(std::floor(seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d-%H:%M:%S", &tm);
  return buf;
}

std::string NotTrainedError(const std::string& model_dir) {
  return "Could not find trained model in model_dir: " + model_dir + ".";
}

// The model's global_step tensor: an int64 scalar named "global_step".
Result<Tensor*> FindGlobalStep(const VarList& vars) {
  for (const SaveableTensor& v : vars) {
    if (v.name != kGlobalStep) continue;
    if (v.tensor == nullptr) return InvalidArgumentError("The model's \"global_step\" is null");
    if (v.tensor->dtype() != DataType::kInt64 || v.tensor->shape().rank() != 0) {
      return InvalidArgumentError("The model's \"global_step\" must be an int64 scalar, but is " +
                                  std::string(DataTypeName(v.tensor->dtype())) + " " +
                                  v.tensor->shape().DebugString());
    }
    if (v.tensor->is_view()) {
      return InvalidArgumentError("The model's \"global_step\" must own its storage (not a view)");
    }
    return v.tensor;
  }
  return InvalidArgumentError(
      "The model has no \"global_step\" variable: EstimatorModel::Variables() must list an "
      "int64 scalar named \"global_step\" (TF's tf.train.get_or_create_global_step())");
}

int64_t ReadStep(const Tensor* global_step) { return *global_step->flat<int64_t>(); }

// Step 1's argument checks of Train.
Status CheckTrainArguments(const InputFn& input_fn, const TrainOptions& options) {
  if (options.steps.has_value() && options.max_steps.has_value()) {
    return InvalidArgumentError("Can not provide both steps and max_steps.");
  }
  if (options.steps.has_value() && *options.steps <= 0) {
    return InvalidArgumentError("Must specify steps > 0, given: " + std::to_string(*options.steps));
  }
  if (options.max_steps.has_value() && *options.max_steps <= 0) {
    return InvalidArgumentError("Must specify max_steps > 0, given: " +
                                std::to_string(*options.max_steps));
  }
  if (!input_fn) return InvalidArgumentError("Train: input_fn is empty");
  for (const auto& h : options.hooks) {
    if (h == nullptr) return InvalidArgumentError("Train: a hook is null");
  }
  for (const auto& l : options.saving_listeners) {
    if (l == nullptr) return InvalidArgumentError("Train: a saving listener is null");
  }
  return Status();
}

// What hooks see of one Train call.
class CallSession : public TrainingSession {
 public:
  CallSession(Env* env, const std::string& model_dir, const RunConfig& config,
              const std::string& hostname, EstimatorModel* model, Tensor* global_step, Saver* saver,
              const tensorflow::GraphDef* graph_def, const tensorflow::MetaGraphDef* meta_graph_def)
      : env_(env),
        model_dir_(model_dir),
        config_(config),
        hostname_(hostname),
        model_(model),
        global_step_(global_step),
        saver_(saver),
        graph_def_(graph_def),
        meta_graph_def_(meta_graph_def) {}

  Env* env() override { return env_; }
  const std::string& model_dir() const override { return model_dir_; }
  const RunConfig& config() const override { return config_; }
  EstimatorModel& model() override { return *model_; }
  int64_t global_step() const override { return ReadStep(global_step_); }
  Saver* saver() override { return saver_; }
  const tensorflow::GraphDef* graph_def() const override { return graph_def_; }
  const tensorflow::MetaGraphDef* meta_graph_def() const override { return meta_graph_def_; }
  Result<EventWriter*> SummaryWriter(const std::string& dir) override {
    auto it = writers_.find(dir);
    if (it != writers_.end()) return it->second.get();
    CKPT_ASSIGN_OR_RETURN(std::shared_ptr<EventWriter> writer,
                          EventWriterCache::Global().Get(env_, dir, hostname_));
    EventWriter* raw = writer.get();
    writers_[dir] = std::move(writer);
    return raw;
  }
  void RequestStop() override { stop_ = true; }
  bool stop_requested() const override { return stop_; }

  // Flushes every writer this call used; the first error.
  Status FlushWriters() {
    Status first;
    for (auto& [dir, writer] : writers_) {
      Status s = writer->Flush();
      if (first.ok() && !s.ok()) first = s;
    }
    return first;
  }

 private:
  Env* env_;
  const std::string& model_dir_;
  const RunConfig& config_;
  const std::string& hostname_;
  EstimatorModel* model_;
  Tensor* global_step_;
  Saver* saver_;
  const tensorflow::GraphDef* graph_def_;
  const tensorflow::MetaGraphDef* meta_graph_def_;
  std::map<std::string, std::shared_ptr<EventWriter>> writers_;
  bool stop_ = false;
};

}  // namespace

struct Estimator::Impl {
  EstimatorOptions options;
  RunConfig config;
  std::string model_dir;
  Env* env = nullptr;

  ~Impl() {
    if (env != nullptr) EventWriterCache::Global().Release(env);
  }

  // The newest checkpoint per LatestCheckpoint, or none.
  std::optional<std::string> Latest() const {
    Result<std::string> latest = ckpt::LatestCheckpoint(env, model_dir);
    if (!latest.ok()) return std::nullopt;
    return *latest;
  }

  // global_step of the newest checkpoint; 0 if there is none or it cannot be
  // read (TF's _load_global_step_from_checkpoint_dir).
  int64_t LatestGlobalStep() const {
    std::optional<std::string> latest = Latest();
    if (!latest) return 0;
    CheckpointReaderOptions ro;
    ro.env = env;
    auto reader = CheckpointReader::Open(*latest, ro);
    if (!reader.ok()) return 0;
    Result<Tensor> step = (*reader)->GetTensor(kGlobalStep);
    if (!step.ok() || step->num_elements() != 1) return 0;
    if (step->dtype() == DataType::kInt64) return *step->flat<int64_t>();
    if (step->dtype() == DataType::kInt32) return *step->flat<int32_t>();
    return 0;
  }

  // What Train restores: the newest usable checkpoint (LatestCheckpoint: the
  // state file's, or if that one is gone or damaged the newest of model_dir
  // that verifies, with a warning); if none is usable but the state file names
  // one, that name anyway (the restore then fails with the Saver's error, as
  // TF's does); none without a state file. A state
  // file that does not parse is an error (TF warns and starts from scratch,
  // overwriting it; we refuse to lose track of the checkpoints).
  Result<std::optional<std::string>> CheckpointToRestore() const {
    if (std::optional<std::string> latest = Latest()) return latest;
    Result<CheckpointState> state = GetCheckpointState(env, model_dir);
    if (state.ok()) return std::optional<std::string>(state->model_checkpoint_path);
    if (state.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
    return state.status();
  }

  // Restores `checkpoint` (with `restore`); if that fails with DataLoss
  // (corrupt tensor data; the restore changed nothing) and `checkpoint` is
  // this model_dir's newest, restores the newest checkpoint of model_dir that
  // verifies instead, with a warning. Returns what was restored.
  Result<std::string> RestoreNewestUsable(const std::function<Status(const std::string&)>& restore,
                                          const std::string& checkpoint) const {
    Status s = restore(checkpoint);
    if (s.code() != StatusCode::kDataLoss || Latest() != checkpoint) {
      CKPT_RETURN_IF_ERROR(s);
      return checkpoint;
    }
    Result<std::string> verified = NewestVerifiedCheckpoint(env, model_dir);
    if (!verified.ok() || *verified == checkpoint) return s;
    LogWarning("Checkpoint " + checkpoint + " cannot be restored (" + s.ToString() +
               "); restoring " + *verified + ", the newest checkpoint of " + model_dir +
               " that verifies");
    CKPT_RETURN_IF_ERROR(restore(*verified));
    return *verified;
  }

  // Evaluate / Predict: the given checkpoint, or the newest one.
  Result<std::string> CheckpointToRead(const std::optional<std::string>& given) const {
    if (given.has_value()) return *given;
    if (std::optional<std::string> latest = Latest()) return *latest;
    return NotFoundError(NotTrainedError(model_dir));
  }

  bool CheckpointsEnabled() const {
    // TF tests `save_checkpoints_secs or save_checkpoints_steps`: 0 is off.
    return (config.save_checkpoints_steps().has_value() && *config.save_checkpoints_steps() > 0) ||
           (config.save_checkpoints_secs().has_value() && *config.save_checkpoints_secs() > 0);
  }

  Result<std::unique_ptr<EstimatorModel>> CallModelFn(Mode mode) {
    LogInfo("Calling model_fn.");
    ModelFnArgs args;
    args.mode = mode;
    args.config = &config;
    args.seed = config.tf_random_seed().has_value()
                    ? static_cast<uint64_t>(*config.tf_random_seed())
                    : env->Random64();
    CKPT_ASSIGN_OR_RETURN(std::unique_ptr<EstimatorModel> model, options.model_fn(args));
    if (model == nullptr) {
      return InvalidArgumentError(std::string("model_fn returned no model for mode ") +
                                  ModeName(mode));
    }
    LogInfo("Done calling model_fn.");
    return model;
  }

  // Builds the model for evaluation or prediction and restores `checkpoint`
  // into it ("Graph was finalized.", restore, local-init lines).
  Result<std::unique_ptr<EstimatorModel>> BuildAndRestore(Mode mode, const std::string& checkpoint,
                                                          Tensor** global_step) {
    CKPT_ASSIGN_OR_RETURN(std::unique_ptr<EstimatorModel> model, CallModelFn(mode));
    VarList vars = model->Variables();
    CKPT_ASSIGN_OR_RETURN(*global_step, FindGlobalStep(vars));
    if (mode == Mode::kEval) {
      LogInfo("Starting evaluation at " + FormatUtc(env->NowSeconds()));
    }
    SaverOptions so;
    so.env = env;
    so.log_saves = false;
    CKPT_ASSIGN_OR_RETURN(std::unique_ptr<Saver> saver, Saver::Create(vars, so));
    LogInfo("Graph was finalized.");
    CKPT_RETURN_IF_ERROR(
        RestoreNewestUsable([&](const std::string& c) { return saver->Restore(c); }, checkpoint)
            .status());
    LogInfo("Running local_init_op.");
    LogInfo("Done running local_init_op.");
    return model;
  }

  // What Evaluate and Predict start from: the input and the model built for
  // `mode` with the checkpoint to read (the given one, else the newest)
  // restored into it.
  struct Inference {
    std::unique_ptr<Iterator<Batch>> input;
    std::unique_ptr<EstimatorModel> model;
    Tensor* global_step = nullptr;
  };
  Result<Inference> StartInference(Mode mode, const InputFn& input_fn,
                                   const std::optional<std::string>& checkpoint_path) {
    const std::string what = mode == Mode::kEval ? "Evaluate" : "Predict";
    if (!input_fn) return InvalidArgumentError(what + ": input_fn is empty");
    CKPT_ASSIGN_OR_RETURN(std::string checkpoint, CheckpointToRead(checkpoint_path));
    Inference in;
    CKPT_ASSIGN_OR_RETURN(in.input, input_fn());
    if (in.input == nullptr) return InvalidArgumentError(what + ": input_fn returned no iterator");
    CKPT_ASSIGN_OR_RETURN(in.model, BuildAndRestore(mode, checkpoint, &in.global_step));
    return in;
  }

  // ---- Train's phases, in call order (see the top of this file).

  // What Train drives: the input, the model built for training and its
  // variables.
  struct TrainingModel {
    std::unique_ptr<Iterator<Batch>> input;
    std::unique_ptr<EstimatorModel> model;
    VarList vars;
    Tensor* global_step = nullptr;
  };

  // Step 3: input_fn, then model_fn; with `warm_start` (nothing to
  // restore), the warm start. TF warm-starts right after model_fn, on every
  // call; its effect only survives when nothing is restored, so only then is
  // it applied here.
  Result<TrainingModel> BuildTrainingModel(const InputFn& input_fn, bool warm_start) {
    TrainingModel m;
    CKPT_ASSIGN_OR_RETURN(m.input, input_fn());
    if (m.input == nullptr) return InvalidArgumentError("Train: input_fn returned no iterator");
    CKPT_ASSIGN_OR_RETURN(m.model, CallModelFn(Mode::kTrain));
    m.vars = m.model->Variables();
    CKPT_ASSIGN_OR_RETURN(m.global_step, FindGlobalStep(m.vars));
    if (warm_start && options.warm_start_from.has_value()) {
      LogInfo("Warm-starting with WarmStartSettings: " + options.warm_start_from->DebugString());
      CKPT_RETURN_IF_ERROR(
          WarmStart(env, *options.warm_start_from, m.vars, m.model->TrainableVariableNames())
              .status());
    }
    return m;
  }

  // The checkpoint Saver with the RunConfig's retention, and the graph for
  // graph.pbtxt and the .meta files when the model describes one.
  struct TrainingSaver {
    std::unique_ptr<Saver> saver;
    std::optional<tensorflow::GraphDef> graph_def;
    std::optional<tensorflow::MetaGraphDef> meta_graph_def;
  };

  // Step 4.
  // `bundle_writer`: SaverOptions::bundle_writer (the partitioned mode's).
  Result<TrainingSaver> MakeTrainingSaver(
      const EstimatorModel& model, const VarList& vars,
      std::function<Status(const std::string&, const VarList&)> bundle_writer) {
    SaverOptions so;
    so.bundle_writer = std::move(bundle_writer);
    so.env = env;
    so.max_to_keep = static_cast<int>(config.keep_checkpoint_max());
    so.keep_checkpoint_every_n_hours = config.keep_checkpoint_every_n_hours();
    so.save_relative_paths = true;
    so.log_saves = false;
    so.writer_lock = options.writer_lock;
    TrainingSaver out;
    if (options.save_graph_def) {
      GraphBuilder graph;
      Status described = model.DescribeGraph(&graph);
      if (described.ok()) {
        CKPT_ASSIGN_OR_RETURN(tensorflow::SaverDef saver_def,
                              AddSaverSubgraph(&graph, SaverGraphOptions::FromSaverOptions(so)));
        CKPT_ASSIGN_OR_RETURN(out.meta_graph_def, BuildMetaGraphDef(graph, &saver_def));
        CKPT_ASSIGN_OR_RETURN(out.graph_def, BuildGraphDef(graph));
        so.meta_graph_writer = MetaGraphWriter(*out.meta_graph_def, env);
      } else if (described.code() != StatusCode::kUnimplemented) {
        return described.WithContext("EstimatorModel::DescribeGraph");
      }
    }
    CKPT_ASSIGN_OR_RETURN(out.saver, Saver::Create(vars, so));
    return out;
  }

  // Step 5: the hooks, in TF's order: the chief's CheckpointSaverHook (unless
  // the caller passed one; none when checkpoints are off), StepCounterHook
  // and SummarySaverHook, then the worker hooks (the caller's,
  // StopAtStepHook, NanTensorHook, LoggingTensorHook).
  // A data-parallel worker (not the chief) gets only the caller's hooks,
  // StopAtStepHook and NanTensorHook: it writes and logs nothing.
  Result<std::vector<std::shared_ptr<SessionRunHook>>> MakeTrainingHooks(
      const TrainOptions& train, bool checkpoints, bool chief) {
    std::vector<std::shared_ptr<SessionRunHook>> hooks;
    bool user_saver_hook = false;
    for (const auto& h : train.hooks) {
      user_saver_hook = user_saver_hook || dynamic_cast<CheckpointSaverHook*>(h.get()) != nullptr;
    }
    if (!train.saving_listeners.empty()) {
      if (user_saver_hook) {
        return InvalidArgumentError(
            "saving_listeners cannot be attached to a CheckpointSaverHook passed in hooks; give "
            "them to that hook's options");
      }
      if (!checkpoints) {
        return FailedPreconditionError(
            "There should be a CheckpointSaverHook to use saving_listeners. Please set one of "
            "the RunConfig.save_checkpoints_steps or RunConfig.save_checkpoints_secs.");
      }
    }
    if (checkpoints && !user_saver_hook && chief) {
      CheckpointSaverHookOptions ho;
      ho.checkpoint_dir = model_dir;
      if (config.save_checkpoints_steps().has_value()) {
        ho.save_steps = *config.save_checkpoints_steps();
      } else {
        ho.save_secs = *config.save_checkpoints_secs();
      }
      ho.cadence = options.save_cadence;
      ho.listeners = train.saving_listeners;
      CKPT_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointSaverHook> hook,
                            CheckpointSaverHook::Create(std::move(ho)));
      hooks.push_back(std::move(hook));
    }
    if (chief) {
      CKPT_ASSIGN_OR_RETURN(
          std::unique_ptr<StepCounterHook> hook,
          StepCounterHook::Create(env, config.log_step_count_steps(), std::nullopt, model_dir));
      hooks.push_back(std::move(hook));
    }
    if (chief && config.save_summary_steps() > 0) {
      CKPT_ASSIGN_OR_RETURN(
          std::unique_ptr<SummarySaverHook> hook,
          SummarySaverHook::Create(env, config.save_summary_steps(), std::nullopt, model_dir));
      hooks.push_back(std::move(hook));
    }
    hooks.insert(hooks.end(), train.hooks.begin(), train.hooks.end());
    if (train.steps.has_value() || train.max_steps.has_value()) {
      CKPT_ASSIGN_OR_RETURN(std::unique_ptr<StopAtStepHook> hook,
                            StopAtStepHook::Create(train.steps, train.max_steps));
      hooks.push_back(std::move(hook));
    }
    hooks.push_back(std::make_shared<NanTensorHook>());
    if (chief) {
      CKPT_ASSIGN_OR_RETURN(std::unique_ptr<LoggingTensorHook> hook,
                            LoggingTensorHook::Create(env, config.log_step_count_steps()));
      hooks.push_back(std::move(hook));
    }
    return hooks;
  }

  // Step 6's restore: `checkpoint` (or the newest usable one) into `saver`'s
  // variables, or with `ranks` (data-parallel) on every rank into theirs;
  // `saver`'s retention then continues from the state file's list.
  Status RestoreForTraining(Saver* saver, PartitionedVariables* ranks,
                            const std::string& checkpoint) {
    Communicator* comm = options.communicator;
    auto restore = [&](const std::string& c) {
      return ranks != nullptr ? RestoreOnEveryRank(*comm, *ranks, env, c) : saver->Restore(c);
    };
    CKPT_RETURN_IF_ERROR(RestoreNewestUsable(restore, checkpoint).status());
    Result<CheckpointState> state = GetCheckpointState(env, model_dir);
    if (state.ok()) return saver->RecoverLastCheckpoints(state->all_model_checkpoint_paths);
    LogWarning("Could not re-read the checkpoint state of " + model_dir +
               " for retention: " + state.status().ToString());
    return Status();
  }

  // Step 7: BeforeRun on each hook, one TrainStep, AfterRun on each, until a
  // hook requests a stop or the input ends. Counts steps and the last loss
  // into `result`.
  static Status RunTrainingLoop(CallSession& session,
                                const std::vector<std::shared_ptr<SessionRunHook>>& hooks,
                                TrainingModel& m, TrainResult* result) {
    int64_t local_step = 0;
    while (!session.stop_requested()) {
      std::optional<Batch> batch = m.input->Next();
      if (!batch.has_value()) break;  // end of input: a normal end
      const int64_t before = ReadStep(m.global_step);
      bool want_summaries = false;
      for (const auto& h : hooks) {
        CKPT_ASSIGN_OR_RETURN(bool want, h->BeforeRun(session, before));
        want_summaries = want_summaries || want;
      }
      CKPT_ASSIGN_OR_RETURN(TrainStepResult step, m.model->TrainStep(*batch, want_summaries));
      const int64_t after = ReadStep(m.global_step);
      if (after != before + 1) {
        return FailedPreconditionError(
            "EstimatorModel::TrainStep must increment global_step by one, but it went from " +
            std::to_string(before) + " to " + std::to_string(after));
      }
      StepValues values;
      values.step_before = before;
      values.global_step = after;
      values.local_step = local_step;
      values.loss = step.loss;
      values.summaries = want_summaries ? &step.summaries : nullptr;
      result->final_loss = step.loss;
      result->steps_run = ++local_step;
      for (const auto& h : hooks) CKPT_RETURN_IF_ERROR(h->AfterRun(session, values));
    }
    return Status();
  }

  // Steps 5 (Begin) to 8 (End): the hooks around the restore and the loop.
  // End runs only if nothing failed.
  Status RunTrainingSession(CallSession& session,
                            const std::vector<std::shared_ptr<SessionRunHook>>& hooks,
                            const std::optional<std::string>& restore_from, Saver* saver,
                            PartitionedVariables* ranks, TrainingModel& m, TrainResult* result) {
    for (const auto& h : hooks) CKPT_RETURN_IF_ERROR(h->Begin(session));
    LogInfo("Graph was finalized.");
    if (restore_from.has_value()) {
      CKPT_RETURN_IF_ERROR(RestoreForTraining(saver, ranks, *restore_from));
    }
    LogInfo("Running local_init_op.");
    LogInfo("Done running local_init_op.");
    for (const auto& h : hooks) CKPT_RETURN_IF_ERROR(h->AfterCreateSession(session));
    CKPT_RETURN_IF_ERROR(RunTrainingLoop(session, hooks, m, result));
    for (const auto& h : hooks) CKPT_RETURN_IF_ERROR(h->End(session));
    return Status();
  }

  Status WriteEvalSummary(const std::string& dir, int64_t step, const EvalResult& result) {
    tensorflow::Event event;
    event.set_wall_time(env->NowSeconds());
    event.set_step(step);
    for (const auto& [key, value] : result) {
      if (key == kGlobalStep) continue;
      tensorflow::Summary::Value* v = event.mutable_summary()->add_value();
      v->set_tag(key);
      v->set_simple_value(static_cast<float>(value));
    }
    CKPT_ASSIGN_OR_RETURN(std::shared_ptr<EventWriter> writer,
                          EventWriterCache::Global().Get(env, dir, options.hostname));
    CKPT_RETURN_IF_ERROR(writer->AddSerializedEvent(event.SerializeAsString()));
    return writer->Flush();
  }
};

Estimator::Estimator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Estimator::~Estimator() = default;

const std::string& Estimator::model_dir() const { return impl_->model_dir; }
const RunConfig& Estimator::config() const { return impl_->config; }

Result<std::unique_ptr<Estimator>> Estimator::Create(EstimatorOptions options) {
  if (!options.model_fn) return InvalidArgumentError("EstimatorOptions.model_fn must be set");
  if (options.env == nullptr) return InvalidArgumentError("EstimatorOptions.env must not be null");
  RunConfig config;
  if (options.config.has_value()) {
    config = *options.config;
  } else {
    LogInfo("Using default config.");
  }
  if (options.model_dir.has_value()) {
    if (options.model_dir->empty()) return InvalidArgumentError("model_dir should be non-empty");
    if (config.model_dir().has_value() && *config.model_dir() != *options.model_dir) {
      return InvalidArgumentError(
          "model_dir are set both in constructor and RunConfig, but with different values. In "
          "constructor: '" +
          *options.model_dir + "', in RunConfig: '" + *config.model_dir() + "' ");
    }
    if (!config.model_dir().has_value()) config = WithModelDir(config, *options.model_dir);
  }
  auto impl = std::make_unique<Impl>();
  const std::string temp_root =
      options.temp_root.empty() ? RunConfig::DefaultTempRoot() : options.temp_root;
  CKPT_ASSIGN_OR_RETURN(impl->model_dir, config.ResolveModelDir(options.env, temp_root));
  LogInfo(config.UsingConfigLog(reinterpret_cast<uintptr_t>(impl.get())));
  impl->config = std::move(config);
  impl->options = std::move(options);
  impl->env = impl->options.env;
  EventWriterCache::Global().Acquire(impl->env);
  return std::unique_ptr<Estimator>(new Estimator(std::move(impl)));
}

Result<TrainResult> Estimator::Train(const InputFn& input_fn, const TrainOptions& options) {
  Impl& im = *impl_;
  CKPT_RETURN_IF_ERROR(CheckTrainArguments(input_fn, options));
  TrainResult result;
  if (options.max_steps.has_value()) {
    const int64_t start = im.LatestGlobalStep();
    if (*options.max_steps <= start) {
      LogInfo("Skipping training since max_steps has already saved.");
      result.skipped = true;
      result.global_step = start;
      return result;
    }
  }

  // Data-parallel (EstimatorOptions::communicator): the chief writes, every
  // rank trains on its share of each batch with gradients summed over ranks.
  Communicator* comm = im.options.communicator;
  const bool distributed = comm != nullptr && comm->size() > 1;
  const bool chief = !distributed || comm->rank() == 0;

  // One writer per model_dir (ckpt/writer_lock.h), held for the whole call
  // and shared with the Saver below; a model_dir that does not exist yet is
  // created and locked just before the first file is written into it.
  std::shared_ptr<WriterLock> lock;
  if (chief && im.env->IsDirectory(im.model_dir)) {
    CKPT_ASSIGN_OR_RETURN(lock,
                          WriterLock::Acquire(im.env, im.model_dir, im.options.writer_lock));
  }

  CKPT_ASSIGN_OR_RETURN(std::optional<std::string> restore_from, im.CheckpointToRestore());
  CKPT_ASSIGN_OR_RETURN(Impl::TrainingModel m,
                        im.BuildTrainingModel(input_fn, /*warm_start=*/!restore_from.has_value()));
  // Every rank restores its variables (with EstimatorOptions::partition, its
  // slices of the partitioned ones); with partition, saves are collective.
  std::unique_ptr<PartitionedVariables> ranks;
  const bool checkpoints = im.CheckpointsEnabled();
  const bool collective_saves = distributed && im.options.partition.has_value() && checkpoints;
  DistributedSaveOptions dso;
  dso.env = im.env;
  if (distributed) {
    CKPT_RETURN_IF_ERROR(m.model->SetGradientCombiner(
        [comm](std::vector<std::pair<std::string, Tensor>>* grads) {
          return SumOverRanks(*comm, grads);
        }));
    Status averaged = m.model->SetStateAverager(
        [comm](std::vector<std::pair<std::string, Tensor>>* values) {
          return MeanOverRanks(*comm, values);
        });
    if (!averaged.ok() && averaged.code() != StatusCode::kUnimplemented) return averaged;
    m.input = ShareOfEveryBatch(std::move(m.input), comm->rank(), comm->size());
    std::optional<int64_t> min_bytes;
    if (im.options.partition.has_value()) min_bytes = im.options.partition->min_bytes;
    CKPT_ASSIGN_OR_RETURN(ranks, PartitionedVariables::Create(m.vars, comm->rank(), comm->size(),
                                                              min_bytes));
  }
  CKPT_ASSIGN_OR_RETURN(
      Impl::TrainingSaver saver,
      im.MakeTrainingSaver(*m.model, collective_saves ? ranks->checkpoint_vars() : m.vars,
                           collective_saves && chief
                               ? LeaderBundleWriter(comm, ranks.get(), dso)
                               : nullptr));
  CKPT_ASSIGN_OR_RETURN(std::vector<std::shared_ptr<SessionRunHook>> hooks,
                        im.MakeTrainingHooks(options, checkpoints, chief));
  if (collective_saves) {
    // Last, after every hook that may save (data_parallel.h).
    hooks.push_back(chief ? MakeLeaderHook(comm) : MakeFollowerHook(comm, ranks.get(), dso));
  }

  if (chief && lock == nullptr) {
    CKPT_RETURN_IF_ERROR(im.env->CreateDirs(im.model_dir));
    CKPT_ASSIGN_OR_RETURN(lock,
                          WriterLock::Acquire(im.env, im.model_dir, im.options.writer_lock));
  }
  CallSession session(im.env, im.model_dir, im.config, im.options.hostname, m.model.get(),
                      m.global_step, checkpoints && chief ? saver.saver.get() : nullptr,
                      saver.graph_def && chief ? &*saver.graph_def : nullptr,
                      saver.meta_graph_def && chief ? &*saver.meta_graph_def : nullptr);
  // From here on events may have been queued: flush them on every exit.
  Status status =
      im.RunTrainingSession(session, hooks, restore_from, saver.saver.get(), ranks.get(), m,
                            &result);
  Status flushed = session.FlushWriters();
  CKPT_RETURN_IF_ERROR(status);
  CKPT_RETURN_IF_ERROR(flushed);
  result.global_step = ReadStep(m.global_step);
  LogInfo("Loss for final step: " +
          (result.final_loss ? NumpyFloat32Str(static_cast<float>(*result.final_loss))
                             : std::string("None")) +
          ".");
  return result;
}

Result<EvalResult> Estimator::Evaluate(const InputFn& input_fn, const EvaluateOptions& options) {
  Impl& im = *impl_;
  if (options.steps.has_value() && *options.steps <= 0) {
    return InvalidArgumentError("Must specify steps > 0, given: " + std::to_string(*options.steps));
  }
  CKPT_ASSIGN_OR_RETURN(Impl::Inference in,
                        im.StartInference(Mode::kEval, input_fn, options.checkpoint_path));
  // Data-parallel (EstimatorOptions::communicator): each rank evaluates its
  // share of every batch; the metric states and loss sums are then merged
  // over the ranks (in rank order: the same result everywhere), and only the
  // chief writes the eval summary.
  Communicator* comm = im.options.communicator;
  const bool distributed = comm != nullptr && comm->size() > 1;
  if (distributed) {
    in.input = ShareOfEveryBatch(std::move(in.input), comm->rank(), comm->size());
  }
  Iterator<Batch>* input = in.input.get();
  EstimatorModel* model = in.model.get();

  int64_t batches = 0;
  double loss_sum = 0;
  while (!options.steps.has_value() || batches < *options.steps) {
    std::optional<Batch> batch = input->Next();
    if (!batch.has_value()) break;
    CKPT_ASSIGN_OR_RETURN(double loss, model->EvalStep(*batch));
    loss_sum += loss;
    ++batches;
    if (options.steps.has_value()) {
      LogInfo("Evaluation [" + std::to_string(batches) + "/" + std::to_string(*options.steps) +
              "]");
    }
  }
  if (distributed) {
    // A batch's loss is a SUM over its examples: the ranks' shares add up.
    Result<std::string> state = model->EvalState();
    std::string mine(sizeof(double), '\0');
    std::memcpy(mine.data(), &loss_sum, sizeof(double));
    if (state.ok()) mine += *state;
    CKPT_ASSIGN_OR_RETURN(std::vector<std::string> all,
                          comm->AllGather(state.ok() ? mine : std::string()));
    CKPT_RETURN_IF_ERROR(state.status());  // every rank's model is the same kind
    std::vector<std::string> states;
    loss_sum = 0;
    for (size_t r = 0; r < all.size(); ++r) {
      if (all[r].size() < sizeof(double)) {
        return UnimplementedError("Data-parallel evaluation: rank " + std::to_string(r) +
                                  "'s model cannot share its metrics");
      }
      double rank_loss;
      std::memcpy(&rank_loss, all[r].data(), sizeof(double));
      loss_sum += rank_loss;
      states.push_back(all[r].substr(sizeof(double)));
    }
    CKPT_RETURN_IF_ERROR(model->SetEvalState(states));
  }
  CKPT_ASSIGN_OR_RETURN(EvalResult result, model->EvalMetrics());
  for (const char* reserved : {"loss", kGlobalStep}) {
    if (result.count(reserved) > 0) {
      return InvalidArgumentError(std::string("Metric with name \"") + reserved +
                                  "\" is not allowed, because Estimator already defines a "
                                  "default metric with the same name.");
    }
  }
  const int64_t step = ReadStep(in.global_step);
  result["loss"] = batches > 0 ? loss_sum / static_cast<double>(batches) : 0.0;
  result[kGlobalStep] = static_cast<double>(step);
  LogInfo("Finished evaluation at " + FormatUtc(im.env->NowSeconds()));

  std::string dict;
  for (const auto& [key, value] : result) {
    if (!dict.empty()) dict += ", ";
    dict +=
        key + " = " +
        (key == kGlobalStep ? std::to_string(step) : NumpyFloat32Str(static_cast<float>(value)));
  }
  LogInfo("Saving dict for global step " + std::to_string(step) + ": " + dict);
  if (distributed && comm->rank() != 0) return result;  // the chief writes
  const std::string eval_dir =
      JoinPath(im.model_dir, options.name.empty() ? "eval" : "eval_" + options.name);
  CKPT_RETURN_IF_ERROR(im.WriteEvalSummary(eval_dir, step, result));
  return result;
}

Result<std::vector<Prediction>> Estimator::Predict(const InputFn& input_fn,
                                                   const PredictOptions& options) {
  Impl& im = *impl_;
  CKPT_ASSIGN_OR_RETURN(Impl::Inference in,
                        im.StartInference(Mode::kPredict, input_fn, options.checkpoint_path));
  Iterator<Batch>* input = in.input.get();
  EstimatorModel* model = in.model.get();
  std::vector<Prediction> out;
  while (std::optional<Batch> batch = input->Next()) {
    CKPT_ASSIGN_OR_RETURN(std::vector<Prediction> predictions, model->PredictBatch(*batch));
    for (Prediction& p : predictions) {
      if (options.predict_keys.empty()) {
        out.push_back(std::move(p));
        continue;
      }
      Prediction kept;
      for (const std::string& key : options.predict_keys) {
        auto it = p.find(key);
        if (it == p.end()) {
          std::string known;
          for (const auto& [k, v] : p) known += (known.empty() ? "" : ", ") + PyRepr(k);
          return InvalidArgumentError("predict_keys: " + PyRepr(key) +
                                      " is not a prediction of this model; it predicts [" + known +
                                      "]");
        }
        kept[key] = it->second;
      }
      out.push_back(std::move(kept));
    }
  }
  return out;
}

Result<std::string> Estimator::ExportSavedModel(const std::string& export_dir_base,
                                                const ServingInput& input,
                                                const ExportOptions& options) {
  Impl& im = *impl_;
  std::optional<std::string> checkpoint = options.checkpoint_path;
  if (!checkpoint.has_value()) checkpoint = im.Latest();
  if (!checkpoint.has_value()) {
    return NotFoundError("Couldn't find trained model at " + im.model_dir + ".");
  }
  Tensor* global_step = nullptr;
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<EstimatorModel> model,
                        im.BuildAndRestore(Mode::kPredict, *checkpoint, &global_step));
  return ExportRestoredModel(im.env, *model, export_dir_base, input, options);
}

std::optional<std::string> Estimator::LatestCheckpoint() const { return impl_->Latest(); }

Result<std::vector<std::string>> Estimator::GetVariableNames() const {
  std::optional<std::string> latest = impl_->Latest();
  if (!latest) return NotFoundError(NotTrainedError(impl_->model_dir));
  CheckpointReaderOptions ro;
  ro.env = impl_->env;
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> reader,
                        CheckpointReader::Open(*latest, ro));
  std::vector<std::string> names;
  for (const VariableInfo& info : reader->variables()) names.push_back(info.name);
  return names;
}

Result<Tensor> Estimator::GetVariableValue(const std::string& name) const {
  std::optional<std::string> latest = impl_->Latest();
  if (!latest) return NotFoundError(NotTrainedError(impl_->model_dir));
  CheckpointReaderOptions ro;
  ro.env = impl_->env;
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> reader,
                        CheckpointReader::Open(*latest, ro));
  return reader->GetTensor(name);
}

}  // namespace ckpt
