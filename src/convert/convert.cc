// ConvertCheckpoint: one TensorSource to a safetensors file or a V2 bundle.
// Every check (names, dtypes) happens before anything is written; the
// writers publish atomically (WriteSafetensors; BundleWriter's index rename),
// so a failed conversion leaves no destination behind.
#include "ckpt/convert.h"

#include "ckpt/bundle_writer.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/escape.h"
#include "ckpt/filenames.h"
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
  std::vector<std::string> source_names;
  for (const auto& [name, v] : plan.tensors) {
    entries.push_back({name, v.dtype, v.shape});
    source_names.push_back(v.name);
  }
  SafetensorsWriteOptions write;
  write.env = options.env;
  write.metadata = options.metadata;
  write.sync = options.sync;
  return WriteSafetensors(
      dst, entries, [&](size_t i) { return source.Read(source_names[i]); }, write);
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
  for (const auto& [name, v] : plan.tensors) {
    CKPT_ASSIGN_OR_RETURN(Tensor t, source.Read(v.name));
    CKPT_RETURN_IF_ERROR(writer->Add(name, t));
  }
  CKPT_RETURN_IF_ERROR(writer->Finish());
  if (!state_file) return Status::OK();
  const std::string dir(Dirname(prefix));
  return UpdateCheckpointState(options.env, dir.empty() ? "." : dir, prefix, {prefix});
}

}  // namespace

Result<ConvertResult> ConvertCheckpoint(const std::string& src, const std::string& dst,
                                        const ConvertOptions& options) {
  const TensorFormat from = options.from.value_or(TensorFormatFromPath(src));
  const TensorFormat to = options.to.value_or(TensorFormatFromPath(dst));
  if (to == TensorFormat::kKerasH5) {
    return UnimplementedError("Writing Keras .weights.h5 files (" + EscapeForDisplay(dst) +
                              ") is not supported yet");
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
    }
    CKPT_RETURN_IF_ERROR(
        WriteTfDestination(*source, plan, result.destination, state_file, options));
  }
  for (const auto& [name, v] : plan.tensors) result.written[v.name] = name;
  result.skipped = std::move(plan.skipped);
  return result;
}

}  // namespace ckpt
