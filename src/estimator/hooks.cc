// Training hooks: TF 1.8's basic_session_run_hooks, on ckpt's TrainingSession.
//
// Hooks open no file before their first write: the Estimator guarantees that
// nothing is created in model_dir before the model is built and restored, so
// Begin only prepares state; files (event file, graph.pbtxt, checkpoints)
// appear at the first step (or, for SaveCadence::kAtSessionCreation, in
// AfterCreateSession, which runs after the restore).
#include "ckpt/hooks.h"

#include <cxxabi.h>

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <typeinfo>

#include "ckpt/logging.h"
#include "ckpt/meta_graph.h"
#include "tensorflow/core/framework/graph.pb.h"
#include "tensorflow/core/protobuf/meta_graph.pb.h"

namespace ckpt {
namespace {

constexpr char kGraphFilename[] = "graph.pbtxt";

// The dynamic type of `obj`, demangled ("my::Listener"), standing in for
// Python's object repr in TF's listener log line.
template <typename T>
std::string TypeName(const T& obj) {
  const char* mangled = typeid(obj).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = (status == 0 && demangled != nullptr) ? demangled : mangled;
  std::free(demangled);
  return name;
}

// numpy's str() of a float scalar: the shortest digits that round-trip in
// T, positional when 1e-4 <= |v| < 1e16 or v == 0 (at least one fractional
// digit: "1.0"), scientific otherwise with the '.' dropped when there is one
// digit and a signed exponent of at least two digits ("1e-05", "1.5e+16").
template <typename T>
std::string NumpyFloatStr(T value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), std::fabs(value), std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "2.3559146e+02", "1e-05", "0e+00"
  const size_t e = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < e; ++i) {
    if (sci[i] != '.') digits += sci[i];
  }
  const int exp = std::atoi(sci.c_str() + e + 1);
  const int n = static_cast<int>(digits.size());
  std::string out = std::signbit(value) ? "-" : "";
  const double a = std::fabs(static_cast<double>(value));
  if (a == 0 || (a >= 1e-4 && a < 1e16)) {
    if (a == 0) return out + "0.0";
    if (exp >= 0) {
      if (exp >= n - 1) {
        out += digits + std::string(static_cast<size_t>(exp - (n - 1)), '0') + ".0";
      } else {
        out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." +
               digits.substr(static_cast<size_t>(exp) + 1);
      }
    } else {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (n > 1) out += "." + digits.substr(1);
  char expbuf[16];
  std::snprintf(expbuf, sizeof(expbuf), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return out + expbuf;
}

}  // namespace

std::string NumpyFloat32Str(float value) { return NumpyFloatStr<float>(value); }
std::string NumpyFloat64Str(double value) { return NumpyFloatStr<double>(value); }

// ---------------------------------------------------------------- CheckpointSaverHook

Result<std::unique_ptr<CheckpointSaverHook>> CheckpointSaverHook::Create(
    CheckpointSaverHookOptions options) {
  if (options.checkpoint_dir.empty()) {
    return InvalidArgumentError("CheckpointSaverHook: checkpoint_dir is empty");
  }
  if (options.checkpoint_basename.empty()) {
    return InvalidArgumentError("CheckpointSaverHook: checkpoint_basename is empty");
  }
  for (const auto& l : options.listeners) {
    if (l == nullptr) return InvalidArgumentError("CheckpointSaverHook: a listener is null");
  }
  // Validates the cadence now; Begin re-creates the timer on the session's
  // clock.
  CKPT_ASSIGN_OR_RETURN(
      SecondOrStepTimer timer,
      SecondOrStepTimer::Create(Env::Posix(), options.save_secs, options.save_steps));
  LogInfo("Create CheckpointSaverHook.");
  return std::unique_ptr<CheckpointSaverHook>(
      new CheckpointSaverHook(std::move(options), std::move(timer)));
}

CheckpointSaverHook::CheckpointSaverHook(CheckpointSaverHookOptions options,
                                         SecondOrStepTimer timer)
    : options_(std::move(options)), timer_(std::move(timer)) {}

Status CheckpointSaverHook::Begin(TrainingSession& session) {
  CKPT_ASSIGN_OR_RETURN(
      timer_, SecondOrStepTimer::Create(session.env(), options_.save_secs, options_.save_steps));
  graph_written_ = false;
  if (session.saver() == nullptr) {
    return FailedPreconditionError(
        "CheckpointSaverHook needs a Saver, but the session has none (checkpoints disabled)");
  }
  for (const auto& l : options_.listeners) CKPT_RETURN_IF_ERROR(l->Begin());
  return Status();
}

Status CheckpointSaverHook::WriteGraph(TrainingSession& session) {
  graph_written_ = true;
  const tensorflow::GraphDef* graph = session.graph_def();
  if (graph == nullptr) return Status();
  Env* env = session.env();
  const std::string& dir = options_.checkpoint_dir;
  CKPT_RETURN_IF_ERROR(env->CreateDirs(dir));
  CKPT_RETURN_IF_ERROR(WriteTextGraph(env, JoinPath(dir, kGraphFilename), *graph));
  CKPT_ASSIGN_OR_RETURN(EventWriter * writer, session.SummaryWriter(dir));
  CKPT_RETURN_IF_ERROR(writer->AddGraphDef(graph->SerializeAsString()));
  if (const tensorflow::MetaGraphDef* meta = session.meta_graph_def()) {
    CKPT_RETURN_IF_ERROR(writer->AddMetaGraphDef(meta->SerializeAsString()));
  }
  return Status();
}

Status CheckpointSaverHook::Save(TrainingSession& session, int64_t step) {
  const std::string prefix = JoinPath(options_.checkpoint_dir, options_.checkpoint_basename);
  LogInfo("Saving checkpoints for " + std::to_string(step) + " into " + prefix + ".");
  for (const auto& l : options_.listeners) CKPT_RETURN_IF_ERROR(l->BeforeSave(session, step));
  Saver* saver = session.saver();
  if (saver == nullptr) {
    return FailedPreconditionError("CheckpointSaverHook: the session has no Saver");
  }
  Env* env = session.env();
  if (!env->IsDirectory(options_.checkpoint_dir)) {
    CKPT_RETURN_IF_ERROR(env->CreateDirs(options_.checkpoint_dir));
  }
  SaveArgs args;
  args.global_step = step;
  CKPT_RETURN_IF_ERROR(saver->Save(prefix, args).status());
  saved_steps_.push_back(step);
  CKPT_ASSIGN_OR_RETURN(EventWriter * writer, session.SummaryWriter(options_.checkpoint_dir));
  CKPT_RETURN_IF_ERROR(writer->AddSessionLog(SessionLogStatus::kCheckpoint, step, prefix));
  bool stop = false;
  for (const auto& l : options_.listeners) {
    CKPT_ASSIGN_OR_RETURN(bool wants_stop, l->AfterSave(session, step));
    if (wants_stop) {
      LogInfo("A CheckpointSaverListener requested that training be stopped. listener: " +
              TypeName(*l));
      stop = true;
    }
  }
  if (stop) session.RequestStop();
  return Status();
}

Status CheckpointSaverHook::AfterCreateSession(TrainingSession& session) {
  if (options_.cadence != SaveCadence::kAtSessionCreation) return Status();
  // TF >= 1.9: graph and a checkpoint of the state at session creation.
  const int64_t step = session.global_step();
  CKPT_RETURN_IF_ERROR(WriteGraph(session));
  CKPT_RETURN_IF_ERROR(Save(session, step));
  timer_.UpdateLastTriggeredStep(step);
  return Status();
}

Result<bool> CheckpointSaverHook::BeforeRun(TrainingSession& session, int64_t step_before) {
  // TF <= 1.8: the graph goes out before the first step of the call.
  if (options_.cadence == SaveCadence::kAfterFirstStep && !graph_written_ &&
      !timer_.LastTriggeredStep().has_value()) {
    CKPT_RETURN_IF_ERROR(WriteGraph(session));
  }
  return false;
}

Status CheckpointSaverHook::AfterRun(TrainingSession& session, const StepValues& values) {
  // The cheap check on the stale step first, then the real one (TF reads the
  // variable again; here it is values.global_step).
  if (timer_.ShouldTriggerForStep(values.step_before + 1) &&
      timer_.ShouldTriggerForStep(values.global_step)) {
    timer_.UpdateLastTriggeredStep(values.global_step);
    CKPT_RETURN_IF_ERROR(Save(session, values.global_step));
  }
  return Status();
}

Status CheckpointSaverHook::End(TrainingSession& session) {
  const int64_t step = session.global_step();
  if (timer_.LastTriggeredStep() != step) CKPT_RETURN_IF_ERROR(Save(session, step));
  for (const auto& l : options_.listeners) CKPT_RETURN_IF_ERROR(l->End(session, step));
  return Status();
}

// ---------------------------------------------------------------- StepCounterHook

Result<std::unique_ptr<StepCounterHook>> StepCounterHook::Create(
    Env* env, std::optional<int64_t> every_n_steps, std::optional<double> every_n_secs,
    std::string output_dir) {
  CKPT_ASSIGN_OR_RETURN(SecondOrStepTimer timer,
                        SecondOrStepTimer::Create(env, every_n_secs, every_n_steps));
  return std::unique_ptr<StepCounterHook>(
      new StepCounterHook(std::move(timer), std::move(output_dir)));
}

StepCounterHook::StepCounterHook(SecondOrStepTimer timer, std::string output_dir)
    : timer_(std::move(timer)), output_dir_(std::move(output_dir)) {}

Status StepCounterHook::AfterRun(TrainingSession& session, const StepValues& values) {
  if (!timer_.ShouldTriggerForStep(values.step_before + 1)) return Status();
  const int64_t step = values.global_step;
  if (!timer_.ShouldTriggerForStep(step)) return Status();
  SecondOrStepTimer::Elapsed elapsed = timer_.UpdateLastTriggeredStep(step);
  // The first trigger only starts the clock. A zero interval (a frozen test
  // clock) has no rate; TF would divide by zero.
  if (!elapsed.secs.has_value() || !elapsed.steps.has_value() || *elapsed.secs <= 0) {
    return Status();
  }
  const double rate = static_cast<double>(*elapsed.steps) / *elapsed.secs;
  char line[64];
  std::snprintf(line, sizeof(line), "global_step/sec: %g", rate);
  LogInfo(line);
  if (!output_dir_.empty()) {
    CKPT_ASSIGN_OR_RETURN(EventWriter * writer, session.SummaryWriter(output_dir_));
    CKPT_RETURN_IF_ERROR(writer->AddScalar("global_step/sec", step, static_cast<float>(rate),
                                           ScalarStyle::kSimpleValue));
  }
  return Status();
}

// ---------------------------------------------------------------- SummarySaverHook

Result<std::unique_ptr<SummarySaverHook>> SummarySaverHook::Create(
    Env* env, std::optional<int64_t> save_steps, std::optional<double> save_secs,
    std::string output_dir) {
  if (output_dir.empty()) return InvalidArgumentError("SummarySaverHook: output_dir is empty");
  CKPT_ASSIGN_OR_RETURN(SecondOrStepTimer timer,
                        SecondOrStepTimer::Create(env, save_secs, save_steps));
  return std::unique_ptr<SummarySaverHook>(
      new SummarySaverHook(std::move(timer), std::move(output_dir)));
}

SummarySaverHook::SummarySaverHook(SecondOrStepTimer timer, std::string output_dir)
    : timer_(std::move(timer)), output_dir_(std::move(output_dir)) {}

Status SummarySaverHook::Begin(TrainingSession& session) {
  first_run_ = true;
  requested_ = false;
  return Status();
}

Result<bool> SummarySaverHook::BeforeRun(TrainingSession& session, int64_t step_before) {
  requested_ = first_run_ || timer_.ShouldTriggerForStep(step_before + 1);
  return requested_;
}

Status SummarySaverHook::AfterRun(TrainingSession& session, const StepValues& values) {
  const int64_t step = values.global_step;
  if (first_run_) {
    CKPT_ASSIGN_OR_RETURN(EventWriter * writer, session.SummaryWriter(output_dir_));
    CKPT_RETURN_IF_ERROR(writer->AddSessionLog(SessionLogStatus::kStart, step));
    first_run_ = false;
  }
  if (!requested_) return Status();
  requested_ = false;
  timer_.UpdateLastTriggeredStep(step);
  CKPT_ASSIGN_OR_RETURN(EventWriter * writer, session.SummaryWriter(output_dir_));
  bool has_loss = false;
  if (values.summaries != nullptr) {
    for (const auto& [tag, value] : values.summaries->scalars) {
      has_loss = has_loss || tag == "loss";
      CKPT_RETURN_IF_ERROR(
          writer->AddScalar(tag, step, static_cast<float>(value), ScalarStyle::kSimpleValue));
    }
  }
  // The Estimator's own scalar summary "loss" when the model has none.
  if (!has_loss) {
    CKPT_RETURN_IF_ERROR(writer->AddScalar("loss", step, static_cast<float>(values.loss),
                                           ScalarStyle::kSimpleValue));
  }
  if (values.summaries != nullptr) {
    for (const auto& [tag, data] : values.summaries->histograms) {
      Status s = writer->AddHistogram(tag, step, data);
      if (!s.ok())
        return s.WithContext("Summary histogram \"" + tag + "\" at step " + std::to_string(step));
    }
  }
  return Status();
}

Status SummarySaverHook::End(TrainingSession& session) {
  // Flush only a writer this hook used; End must not create one.
  if (first_run_) return Status();
  CKPT_ASSIGN_OR_RETURN(EventWriter * writer, session.SummaryWriter(output_dir_));
  return writer->Flush();
}

// ---------------------------------------------------------------- LoggingTensorHook

Result<std::unique_ptr<LoggingTensorHook>> LoggingTensorHook::Create(Env* env,
                                                                     int64_t every_n_iter) {
  if (env == nullptr) return InvalidArgumentError("LoggingTensorHook: env must not be null");
  if (every_n_iter <= 0) {
    return InvalidArgumentError("invalid every_n_iter=" + std::to_string(every_n_iter) + ".");
  }
  return std::unique_ptr<LoggingTensorHook>(new LoggingTensorHook(env, every_n_iter));
}

Status LoggingTensorHook::AfterRun(TrainingSession& session, const StepValues& values) {
  if (values.local_step == 0) last_time_.reset();
  if (values.local_step % every_n_iter_ != 0) return Status();
  const double now = env_->NowSeconds();
  std::string line = "loss = " + NumpyFloat32Str(static_cast<float>(values.loss)) +
                     ", step = " + std::to_string(values.global_step);
  if (last_time_.has_value()) {
    char timing[48];
    std::snprintf(timing, sizeof(timing), " (%.3f sec)", now - *last_time_);
    line += timing;
  }
  last_time_ = now;
  LogInfo(line);
  return Status();
}

// ---------------------------------------------------------------- StopAtStepHook

Result<std::unique_ptr<StopAtStepHook>> StopAtStepHook::Create(std::optional<int64_t> num_steps,
                                                               std::optional<int64_t> last_step) {
  if (!num_steps.has_value() && !last_step.has_value()) {
    return InvalidArgumentError("One of num_steps or last_step must be specified.");
  }
  if (num_steps.has_value() && last_step.has_value()) {
    return InvalidArgumentError("Only one of num_steps or last_step can be specified.");
  }
  if (num_steps.has_value() && *num_steps < 0) {
    return InvalidArgumentError("num_steps must be non-negative, given " +
                                std::to_string(*num_steps));
  }
  return std::unique_ptr<StopAtStepHook>(new StopAtStepHook(num_steps, last_step));
}

Status StopAtStepHook::AfterCreateSession(TrainingSession& session) {
  if (num_steps_.has_value()) last_step_ = session.global_step() + *num_steps_;
  return Status();
}

Status StopAtStepHook::AfterRun(TrainingSession& session, const StepValues& values) {
  if (!last_step_.has_value()) {
    return FailedPreconditionError("StopAtStepHook: AfterRun before AfterCreateSession");
  }
  if (values.step_before + 1 >= *last_step_ && values.global_step >= *last_step_) {
    session.RequestStop();
  }
  return Status();
}

// ---------------------------------------------------------------- NanTensorHook

Status NanTensorHook::AfterRun(TrainingSession& session, const StepValues& values) {
  if (!std::isnan(values.loss)) return Status();
  constexpr char kMessage[] = "Model diverged with loss = NaN.";
  if (fail_) {
    Log(LogSeverity::kError, kMessage);
    // FailedPrecondition: the model's variables have diverged, so training
    // cannot go on from them until the caller changes something (learning
    // rate, data); it is not a bug in ckpt (docs/estimator.md, "Errors").
    return FailedPreconditionError("NaN loss during training.");
  }
  LogWarning(kMessage);
  session.RequestStop();
  return Status();
}

}  // namespace ckpt
