// ConvertCheckpoint: one TensorSource to a safetensors file or a V2 bundle.
// Every check (names, dtypes) happens before anything is written; the
// writers publish atomically (WriteSafetensors; BundleWriter's index rename),
// so a failed conversion leaves no destination behind.
#include "ckpt/convert.h"

#include <algorithm>

#include "ckpt/bundle_writer.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/escape.h"
#include "ckpt/filenames.h"
#include "ckpt/keras_weights.h"
#include "ckpt/safetensors.h"

namespace ckpt {
namespace {

// Why `dtype` cannot be written as `to`, or "" if it can.
std::string Unsupported(DataType dtype, TensorFormat to) {
  if (dtype == DataType::kInvalid) return "a safetensors dtype TensorFlow has no dtype for";
  if (to == TensorFormat::kSafetensors && !SafetensorsDtypeName(dtype)) {
    return "safetensors has no dtype for " + std::string(DataTypeName(dtype));
  }
  if (to == TensorFormat::kTfCheckpoint && !IsStorable(dtype)) {
    return "a checkpoint cannot store " + std::string(DataTypeName(dtype));
  }
  return "";
}

// The tensors to write, destination name -> source info.
struct Plan {
  std::map<std::string, VariableInfo> tensors;
  std::map<std::string, std::string> skipped;
};

Result<Plan> MakePlan(const TensorSource& source, TensorFormat to, const ConvertOptions& options) {
  const std::vector<NameRule> rules =
      RulesFor(source, options.name_rules, options.default_name_rules);
  CKPT_ASSIGN_OR_RETURN(auto names, MapNames(source.tensors(), rules));
  std::map<std::string, const VariableInfo*> by_source;
  for (const VariableInfo& v : source.tensors()) by_source[v.name] = &v;
  Plan plan;
  for (const auto& [dst_name, src_name] : names) {
    const VariableInfo& v = *by_source[src_name];
    const std::string why = Unsupported(v.dtype, to);
    if (why.empty()) {
      plan.tensors[dst_name] = v;
    } else if (options.skip_unsupported) {
      plan.skipped[src_name] = why;
    } else {
      return InvalidArgumentError("Cannot convert tensor '" + EscapeForDisplay(src_name) +
                                  "' of " + EscapeForDisplay(source.path()) + " to " +
                                  std::string(TensorFormatName(to)) + ": " + why +
                                  " (skip such tensors with --skip-unsupported)");
    }
  }
  return plan;
}

// Bytes of `v` for progress reports: element bytes (a string tensor counts
// one per element).
uint64_t ProgressBytes(const VariableInfo& v) {
  return static_cast<uint64_t>(v.shape.num_elements()) *
         std::max<uint64_t>(1, DataTypeSize(v.dtype));
}

// Reports ConvertOptions::on_progress as tensors are written.
class Progress {
 public:
  Progress(const Plan& plan, const ConvertOptions& options) : options_(options) {
    for (const auto& [name, v] : plan.tensors) total_ += ProgressBytes(v);
  }
  void Wrote(const VariableInfo& v) {
    done_ += ProgressBytes(v);
    if (options_.on_progress) options_.on_progress(done_, total_);
  }

 private:
  const ConvertOptions& options_;
  uint64_t done_ = 0, total_ = 0;
};

// InvalidArgument if `a` and `b` are one existing file.
Status CheckNotSameFile(Env* env, const std::string& a, const std::string& b) {
  if (!env->FileExists(a) || !env->FileExists(b)) return Status::OK();
  auto ra = env->RealPath(a);
  auto rb = env->RealPath(b);
  if (ra.ok() && rb.ok() && *ra == *rb) {
    return InvalidArgumentError("Source and destination are the same file: " +
                                EscapeForDisplay(a));
  }
  return Status::OK();
}

Status WriteSafetensorsDestination(const TensorSource& source, const Plan& plan,
                                   const std::string& dst, const ConvertOptions& options) {
  if (source.format() == TensorFormat::kSafetensors) {
    CKPT_RETURN_IF_ERROR(CheckNotSameFile(options.env, source.path(), dst));
  }
  std::vector<SafetensorsEntry> entries;
  std::vector<const VariableInfo*> sources;
  for (const auto& [name, v] : plan.tensors) {
    entries.push_back({name, v.dtype, v.shape});
    sources.push_back(&v);
  }
  SafetensorsWriteOptions write;
  write.env = options.env;
  write.metadata = options.metadata;
  write.sync = options.sync;
  // The writer asks for each tensor as it writes it: a tensor fetched counts
  // as written.
  Progress progress(plan, options);
  return WriteSafetensors(
      dst, entries,
      [&](size_t i) {
        Result<Tensor> t = source.Read(sources[i]->name);
        if (t.ok()) progress.Wrote(*sources[i]);
        return t;
      },
      write);
}

Status WriteTfDestination(const TensorSource& source, const Plan& plan, const std::string& prefix,
                          bool state_file, const ConvertOptions& options) {
  if (source.format() == TensorFormat::kTfCheckpoint) {
    CKPT_RETURN_IF_ERROR(
        CheckNotSameFile(options.env, MetaFilename(source.path()), MetaFilename(prefix)));
  }
  BundleWriterOptions write;
  write.env = options.env;
  write.sync = options.sync;
  CKPT_ASSIGN_OR_RETURN(auto writer, BundleWriter::Create(prefix, write));
  Progress progress(plan, options);
  for (const auto& [name, v] : plan.tensors) {
    CKPT_ASSIGN_OR_RETURN(Tensor t, source.Read(v.name));
    CKPT_RETURN_IF_ERROR(writer->Add(name, t));
    progress.Wrote(v);
  }
  CKPT_RETURN_IF_ERROR(writer->Finish());
  if (!state_file) return Status::OK();
  const std::string dir(Dirname(prefix));
  return UpdateCheckpointState(options.env, dir.empty() ? "." : dir, prefix, {prefix});
}

// A directory destination gets a checkpoint named by ckpt (model.ckpt) and
// its state file: neither may replace what the directory already holds (a
// training directory's state file names its own checkpoints).
Status CheckDirectoryDestinationFree(Env* env, const std::string& dir, const std::string& prefix) {
  for (const std::string& path :
       {JoinPath(dir, kDefaultStateFilename), MetaFilename(prefix), DataFilename(prefix, 0, 1)}) {
    if (env->FileExists(path)) {
      return AlreadyExistsError("Destination directory " + dir + " already holds " + path +
                                ": convert into a new directory, or give a checkpoint prefix "
                                "(e.g. " + JoinPath(dir, "converted.ckpt") + ")");
    }
  }
  return Status::OK();
}

// A Keras weights file to or from a TF2 object checkpoint, through the keras
// module (the correspondence follows the model, given by the template).
Result<ConvertResult> ConvertKeras(const std::string& src, const std::string& dst,
                                   TensorFormat from, TensorFormat to,
                                   const ConvertOptions& options) {
  if (from == to || (from != TensorFormat::kTfCheckpoint && to != TensorFormat::kTfCheckpoint)) {
    return UnimplementedError("Converting " + std::string(TensorFormatName(from)) + " to " +
                              std::string(TensorFormatName(to)) +
                              ": a Keras weights file converts to and from a TF2 object "
                              "checkpoint (or to safetensors)");
  }
  if (options.env != Env::Posix()) {
    return UnimplementedError("Keras weights files are read and written through libhdf5 on the "
                              "local file system, not through another Env: " +
                              EscapeForDisplay(to == TensorFormat::kKerasH5 ? dst : src));
  }
  if (options.keras_template.empty()) {
    return InvalidArgumentError(
        "Converting between " + EscapeForDisplay(src) + " and " + EscapeForDisplay(dst) +
        " needs a template of the output (" +
        (to == TensorFormat::kKerasH5
             ? std::string("a .weights.h5 of the same model, e.g. model.save_weights of a fresh "
                           "model")
             : std::string("an object checkpoint of the same model, e.g. "
                           "tf.train.Checkpoint(model=fresh_model).save")) +
        "; docs/format/keras_weights.md)");
  }
  if (!options.name_rules.empty()) {
    return InvalidArgumentError(
        "Name rules do not apply to Keras weights files: the variables correspond by the "
        "model's structure");
  }
  KerasConvertOptions keras;
  keras.template_path = options.keras_template;
  keras.model_name = options.keras_model_name;
  keras.include_optimizer = options.keras_include_optimizer;
  keras.env = options.env;
  keras.sync = options.sync;
  if (to == TensorFormat::kKerasH5) {
    CKPT_RETURN_IF_ERROR(ObjectCheckpointToKerasWeights(src, dst, keras));
  } else {
    CKPT_RETURN_IF_ERROR(KerasWeightsToObjectCheckpoint(src, dst, keras));
  }
  ConvertResult result;
  result.destination = dst;
  return result;
}

}  // namespace

Result<ConvertResult> ConvertCheckpoint(const std::string& src, const std::string& dst,
                                        const ConvertOptions& options) {
  const TensorFormat from = options.from.value_or(TensorFormatFromPath(src));
  const TensorFormat to = options.to.value_or(TensorFormatFromPath(dst));
  // A weights file reads as a plain source for safetensors (names
  // "layers/dense/vars/0"); with a TF2 object checkpoint on the other side it
  // needs the keras module's correspondence.
  if (to == TensorFormat::kKerasH5 ||
      (from == TensorFormat::kKerasH5 && to == TensorFormat::kTfCheckpoint)) {
    return ConvertKeras(src, dst, from, to, options);
  }
  CKPT_ASSIGN_OR_RETURN(auto source, OpenTensorSource(options.env, src, from));
  CKPT_ASSIGN_OR_RETURN(Plan plan, MakePlan(*source, to, options));

  ConvertResult result;
  result.destination = dst;
  if (to == TensorFormat::kSafetensors) {
    CKPT_RETURN_IF_ERROR(WriteSafetensorsDestination(*source, plan, dst, options));
  } else {
    bool state_file = options.write_state_file;
    if ((!dst.empty() && dst.back() == '/') || options.env->IsDirectory(dst)) {
      result.destination = JoinPath(dst, "model.ckpt");
      state_file = true;
      CKPT_RETURN_IF_ERROR(CheckDirectoryDestinationFree(options.env, dst, result.destination));
    }
    CKPT_RETURN_IF_ERROR(
        WriteTfDestination(*source, plan, result.destination, state_file, options));
  }
  for (const auto& [name, v] : plan.tensors) result.written[v.name] = name;
  result.skipped = std::move(plan.skipped);
  return result;
}

}  // namespace ckpt
