// RunConfig: TF 1.8's defaults, validation order and "Using config" text.
//
// Validation follows tf.estimator.RunConfig: first the steps/secs
// exclusivity rule (__init__), then _validate_properties in its order.
#include "ckpt/run_config.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ckpt/logging.h"

namespace ckpt {
namespace {

constexpr char kSaveCkptErr[] =
    "`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set.";

// Python's mkdtemp name alphabet (tempfile._RandomNameSequence).
constexpr char kNameChars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
constexpr int kNameLength = 8;
constexpr int kMaxTempAttempts = 100;

std::string PyOptionalInt(const std::optional<int64_t>& v) {
  return v.has_value() ? std::to_string(*v) : "None";
}

}  // namespace

std::string PyRepr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

std::string PyNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e16) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

Result<RunConfig> RunConfig::Create(const RunConfigOptions& options) {
  RunConfig config;
  const TfArg<int64_t>& steps = options.save_checkpoints_steps;
  const TfArg<double>& secs = options.save_checkpoints_secs;
  if (steps.omitted() && secs.omitted()) {
    config.save_checkpoints_steps_.reset();
    config.save_checkpoints_secs_ = 600;
  } else {
    if (steps.has_value() && secs.has_value()) {
      return InvalidArgumentError(kSaveCkptErr);
    }
    config.save_checkpoints_steps_.reset();
    config.save_checkpoints_secs_.reset();
    if (steps.has_value()) config.save_checkpoints_steps_ = steps.value();
    if (secs.has_value()) config.save_checkpoints_secs_ = secs.value();
  }
  config.model_dir_ = options.model_dir;
  config.tf_random_seed_ = options.tf_random_seed;
  config.save_summary_steps_ = options.save_summary_steps;
  config.keep_checkpoint_max_ = options.keep_checkpoint_max;
  config.keep_checkpoint_every_n_hours_ = options.keep_checkpoint_every_n_hours;
  config.log_step_count_steps_ = options.log_step_count_steps;

  // _validate_properties, in TF's order. `!(x >= 0)` also rejects NaN, as
  // Python's comparison does.
  if (config.model_dir_.has_value() && config.model_dir_->empty()) {
    return InvalidArgumentError("model_dir should be non-empty");
  }
  if (!(config.save_summary_steps_ >= 0)) {
    return InvalidArgumentError("save_summary_steps should be >= 0");
  }
  if (config.save_checkpoints_steps_.has_value() && !(*config.save_checkpoints_steps_ >= 0)) {
    return InvalidArgumentError("save_checkpoints_steps should be >= 0");
  }
  if (config.save_checkpoints_secs_.has_value() && !(*config.save_checkpoints_secs_ >= 0)) {
    return InvalidArgumentError("save_checkpoints_secs should be >= 0");
  }
  if (!(config.keep_checkpoint_max_ >= 0)) {
    return InvalidArgumentError("keep_checkpoint_max should be >= 0");
  }
  if (!(config.keep_checkpoint_every_n_hours_ > 0)) {
    return InvalidArgumentError("keep_checkpoint_every_n_hours should be > 0");
  }
  if (!(config.log_step_count_steps_ > 0)) {
    return InvalidArgumentError("log_step_count_steps should be > 0");
  }
  return config;
}

std::string RunConfig::UsingConfigLog(uint64_t cluster_spec_address) const {
  char address[32];
  std::snprintf(address, sizeof(address), "0x%016llX",
                static_cast<unsigned long long>(cluster_spec_address));
  std::string s = "Using config: {";
  s += "'_model_dir': " + (model_dir_ ? PyRepr(*model_dir_) : std::string("None"));
  s += ", '_tf_random_seed': " + PyOptionalInt(tf_random_seed_);
  s += ", '_save_summary_steps': " + std::to_string(save_summary_steps_);
  s += ", '_save_checkpoints_steps': " + PyOptionalInt(save_checkpoints_steps_);
  s += ", '_save_checkpoints_secs': " +
       (save_checkpoints_secs_ ? PyNumber(*save_checkpoints_secs_) : std::string("None"));
  // TF <= 1.8 leaves session_config None and uses a private ConfigProto.
  s += ", '_session_config': None";
  s += ", '_keep_checkpoint_max': " + std::to_string(keep_checkpoint_max_);
  s += ", '_keep_checkpoint_every_n_hours': " + PyNumber(keep_checkpoint_every_n_hours_);
  s += ", '_log_step_count_steps': " + std::to_string(log_step_count_steps_);
  // Local (no TF_CONFIG) values of the fields ckpt does not model.
  s += ", '_train_distribute': None, '_service': None";
  s += ", '_cluster_spec': <tensorflow.python.training.server_lib.ClusterSpec object at ";
  s += address;
  s += ">, '_task_type': 'worker', '_task_id': 0, '_global_id_in_cluster': 0";
  s += ", '_master': '', '_evaluation_master': '', '_is_chief': True";
  s += ", '_num_ps_replicas': 0, '_num_worker_replicas': 1}";
  return s;
}

std::string RunConfig::DefaultTempRoot() {
  const char* tmpdir = std::getenv("TMPDIR");
  if (tmpdir != nullptr && tmpdir[0] != '\0') return tmpdir;
  return "/tmp";
}

Result<std::string> RunConfig::ResolveModelDir(Env* env, const std::string& temp_root) {
  if (model_dir_.has_value()) return *model_dir_;
  if (env == nullptr) return InvalidArgumentError("ResolveModelDir: env must not be null");
  if (temp_root.empty()) {
    return InvalidArgumentError("ResolveModelDir: temporary root directory is empty");
  }
  CKPT_RETURN_IF_ERROR(env->CreateDirs(temp_root).WithContext(
      "Could not create the temporary root '" + temp_root + "'"));
  for (int attempt = 0; attempt < kMaxTempAttempts; ++attempt) {
    std::string name = "tmp";
    uint64_t bits = env->Random64();
    for (int i = 0; i < kNameLength; ++i) {
      name += kNameChars[bits % (sizeof(kNameChars) - 1)];
      bits /= (sizeof(kNameChars) - 1);
    }
    const std::string dir = JoinPath(temp_root, name);
    if (env->FileExists(dir) || env->IsDirectory(dir)) continue;
    CKPT_RETURN_IF_ERROR(env->CreateDirs(dir).WithContext(
        "Could not create a temporary model directory"));
    model_dir_ = dir;
    LogWarning("Using temporary folder as model directory: " + dir);
    return dir;
  }
  return AlreadyExistsError("No usable temporary directory name in '" + temp_root +
                            "' after " + std::to_string(kMaxTempAttempts) +
                            " attempts; the names tried all exist");
}

}  // namespace ckpt
