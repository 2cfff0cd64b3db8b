// Estimator::ExportSavedModel's serving graph and SavedModel (ckpt/estimator.h;
// the Estimator restores the model, estimator/export.h does the rest).
#include "estimator/export.h"

#include <chrono>
#include <memory>
#include <thread>

#include "ckpt/filenames.h"
#include "ckpt/logging.h"

namespace ckpt {

namespace {

ServingInput MakeServingInput(ServingInput::Kind kind,
                              std::map<std::string, ServingFeature> features,
                              std::optional<int64_t> default_batch_size) {
  ServingInput input;
  input.kind = kind;
  input.features = std::move(features);
  input.default_batch_size = default_batch_size;
  return input;
}

}  // namespace

ServingInput ServingInput::Raw(std::map<std::string, ServingFeature> features,
                               std::optional<int64_t> default_batch_size) {
  return MakeServingInput(Kind::kRaw, std::move(features), default_batch_size);
}

ServingInput ServingInput::ParseExample(std::map<std::string, ServingFeature> features,
                                        std::optional<int64_t> default_batch_size) {
  return MakeServingInput(Kind::kParseExample, std::move(features), default_batch_size);
}

namespace {

// TF's get_timestamped_export_dir: tries this many seconds before giving up.
constexpr int kExportDirAttempts = 10;

// The serving graph's inputs (TF's ServingInputReceiver).
struct Receiver {
  std::map<std::string, Output> features;          // what the model reads
  std::map<std::string, Output> receiver_tensors;  // what a client feeds
};

PartialShape WithBatch(const ServingInput& input, const PartialShape& per_example) {
  PartialShape shape = per_example;
  if (shape.unknown_rank) return shape;
  shape.dims.insert(shape.dims.begin(), input.default_batch_size.value_or(-1));
  return shape;
}

Result<Receiver> BuildReceiver(GraphBuilder* graph, const ServingInput& input) {
  if (input.features.empty()) return InvalidArgumentError("ServingInput has no features");
  if (input.default_batch_size.has_value() && *input.default_batch_size < 0) {
    return InvalidArgumentError("ServingInput: default_batch_size " +
                                std::to_string(*input.default_batch_size) + " is negative");
  }
  Receiver r;
  if (input.kind == ServingInput::Kind::kRaw) {
    for (const auto& [name, f] : input.features) {
      Output x = graph->Placeholder(f.dtype, WithBatch(input, f.shape), name + "/");
      r.features[name] = x;
      r.receiver_tensors[name] = x;
    }
  } else {
    Output serialized = graph->Placeholder(
        DataType::kString, PartialShape({input.default_batch_size.value_or(-1)}),
        "input_example_tensor");
    r.receiver_tensors["examples"] = serialized;
    std::vector<DenseFeature> dense;
    for (const auto& [name, f] : input.features) {
      if (f.shape.unknown_rank) {
        return InvalidArgumentError("ServingInput: feature '" + name +
                                    "' needs a known shape to be parsed from tf.Example");
      }
      dense.push_back(DenseFeature{name, f.dtype, f.shape, std::nullopt});
    }
    std::vector<Output> parsed = graph->ParseExample(serialized, dense);
    for (size_t i = 0; i < parsed.size() && i < dense.size(); ++i) {
      r.features[dense[i].key] = parsed[i];
    }
  }
  if (!graph->status().ok()) return graph->status().WithContext("ServingInput");
  return r;
}

const char* FriendlyMethodName(const std::string& method) {
  if (method == kClassifyMethodName) return "Classify";
  if (method == kRegressMethodName) return "Regress";
  if (method == kPredictMethodName) return "Predict";
  return nullptr;
}

// TF's _log_signature_report.
void LogSignatureReport(const std::map<std::string, tensorflow::SignatureDef>& signatures,
                        const std::map<std::string, std::string>& excluded) {
  std::map<std::string, std::vector<std::string>> by_method = {
      {kClassifyMethodName, {}}, {kRegressMethodName, {}}, {kPredictMethodName, {}}};
  for (const auto& [key, sig] : signatures) by_method[sig.method_name()].push_back(key);
  for (const auto& [method, keys] : by_method) {
    const char* friendly = FriendlyMethodName(method);
    std::string list = "None";
    if (!keys.empty()) {
      list = "[";
      for (size_t i = 0; i < keys.size(); ++i) list += (i ? ", '" : "'") + keys[i] + "'";
      list += "]";
    }
    LogInfo("Signatures INCLUDED in export for " + std::string(friendly ? friendly : method) +
            ": " + list);
  }
  if (!excluded.empty()) {
    LogInfo("Signatures EXCLUDED from export because they cannot be be served via TensorFlow "
            "Serving APIs:");
    for (const auto& [key, message] : excluded) LogInfo("'" + key + "' : " + message);
  }
  if (signatures.count(kDefaultServingSignatureKey) == 0) {
    LogWarning("Export includes no default signature!");
  }
}

// Checkpoint key -> value of every whole variable of the restored model.
std::map<std::string, const Tensor*> ValuesOf(const VarList& vars) {
  std::map<std::string, const Tensor*> values;
  for (const SaveableTensor& v : vars) {
    if (v.tensor == nullptr) continue;
    if (v.full_shape.has_value() && *v.full_shape != v.tensor->shape()) continue;  // a part
    values[v.name] = v.tensor;
  }
  return values;
}

// Builds the serving graph (receiver, global_step, the model's outputs) into
// `graph` and its signatures.
Result<std::map<std::string, tensorflow::SignatureDef>> BuildServingGraph(
    EstimatorModel& model, const ServingInput& input, GraphBuilder* graph,
    std::map<std::string, std::string>* excluded) {
  CKPT_ASSIGN_OR_RETURN(Receiver receiver, BuildReceiver(graph, input));
  graph->GlobalStep();
  CKPT_ASSIGN_OR_RETURN(auto export_outputs, model.DescribeServing(graph, receiver.features));
  return BuildSignatureDefs(receiver.receiver_tensors, export_outputs, excluded);
}

}  // namespace

Result<std::string> ExportRestoredModel(Env* env, EstimatorModel& model,
                                        const std::string& export_dir_base,
                                        const ServingInput& input, const ExportOptions& options) {
  auto graph = std::make_unique<GraphBuilder>();
  std::map<std::string, std::string> excluded;
  CKPT_ASSIGN_OR_RETURN(auto signatures,
                        BuildServingGraph(model, input, graph.get(), &excluded));
  LogSignatureReport(signatures, excluded);

  const std::map<std::string, const Tensor*> values = ValuesOf(model.Variables());
  SavedModelOptions so;
  so.env = env;
  so.tags = options.tags;
  CKPT_RETURN_IF_ERROR(env->CreateDirs(export_dir_base));
  for (int attempt = 1;; ++attempt) {
    const int64_t seconds = static_cast<int64_t>(env->NowSeconds());
    const std::string dir = ExportDirPath(export_dir_base, seconds);
    if (!env->FileExists(dir)) {
      if (graph == nullptr) {
        graph = std::make_unique<GraphBuilder>();
        CKPT_ASSIGN_OR_RETURN(signatures, BuildServingGraph(model, input, graph.get(), &excluded));
      }
      // Built under ckpt's temporary name for `dir` (pid and random part:
      // two exporters in the same second never share it; TF's
      // "temp-<seconds>" would be shared).
      Status written = WriteSavedModel(dir, graph.get(), signatures, values, {}, so);
      if (written.ok()) {
        LogInfo("SavedModel written to: " + SavedModelProtoPath(dir));
        return dir;
      }
      // Another exporter took this second (or its temporary name): retry,
      // with a new graph (this one carries the attempt's Saver subgraph).
      if (written.code() != StatusCode::kAlreadyExists) return written;
      graph.reset();
    }
    if (attempt == kExportDirAttempts) {
      return AlreadyExistsError("Failed to obtain a unique export directory name under " +
                                export_dir_base + " after " + std::to_string(attempt) +
                                " attempts.");
    }
    LogWarning("Directory " + dir + " already exists; retrying (attempt " +
               std::to_string(attempt) + "/" + std::to_string(kExportDirAttempts) + ")");
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace ckpt
