// `ckpt run`: load the graph (graph_source.h), pick and restore the
// checkpoint, read the feeds (.npy), run the session, write the fetches.
// See run.h for the command line and the outputs.
#include "run.h"

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ckpt/checkpoint_state.h"
#include "ckpt/escape.h"
#include "ckpt/filenames.h"
#include "ckpt/graph_import.h"
#include "ckpt/session.h"
#include "command.h"
#include "graph_source.h"
#include "json_output.h"
#include "npy.h"
#include "numpy_format.h"

namespace ckpt::tools {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// --- feed conversion (np.asarray(value, dtype=placeholder.dtype)) ---------

template <typename From, typename To>
Status CastElements(const Tensor& in, Tensor* out) {
  const From* src = in.flat<From>();
  To* dst = out->mutable_flat<To>();
  for (int64_t i = 0; i < in.num_elements(); ++i) {
    if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
      const double v = static_cast<double>(src[i]);
      // The range of To as doubles: [lowest, max + 1).
      const double lo = static_cast<double>(std::numeric_limits<To>::lowest());
      const double upper = static_cast<double>(std::numeric_limits<To>::max()) + 1.0;
      if (!(std::trunc(v) >= lo && std::trunc(v) < upper)) {
        return InvalidArgumentError("element " + std::to_string(i) + " (" + ShortestDecimal(v) +
                                    ") does not fit the placeholder's " +
                                    std::string(DataTypeName(DataTypeOf<To>::value)));
      }
    }
    dst[i] = static_cast<To>(src[i]);
  }
  return Status::OK();
}

#define CKPT_RUN_NUMERIC_TYPES(X) \
  X(float)                        \
  X(double)                       \
  X(int8_t) X(int16_t) X(int32_t) X(int64_t) X(uint8_t) X(uint16_t) X(uint32_t) X(uint64_t)

template <typename From>
Status CastFrom(const Tensor& in, Tensor* out) {
#define CKPT_RUN_CAST_TO(T) \
  if (out->dtype() == DataTypeOf<T>::value) return CastElements<From, T>(in, out);
  CKPT_RUN_NUMERIC_TYPES(CKPT_RUN_CAST_TO)
#undef CKPT_RUN_CAST_TO
  return UnimplementedError("");
}

bool IsConvertible(DataType dtype) {
#define CKPT_RUN_IS(T) \
  if (dtype == DataTypeOf<T>::value) return true;
  CKPT_RUN_NUMERIC_TYPES(CKPT_RUN_IS)
#undef CKPT_RUN_IS
  return false;
}

Result<Tensor> ConvertNumeric(const Tensor& in, DataType to) {
  CKPT_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(to, in.shape()));
#define CKPT_RUN_CAST_FROM(T)                    \
  if (in.dtype() == DataTypeOf<T>::value) {      \
    CKPT_RETURN_IF_ERROR(CastFrom<T>(in, &out)); \
    return out;                                  \
  }
  CKPT_RUN_NUMERIC_TYPES(CKPT_RUN_CAST_FROM)
#undef CKPT_RUN_CAST_FROM
  return UnimplementedError("no conversion");
}

// The value to feed for `name`: `value`, converted to the dtype of the
// Placeholder it feeds when both are numeric and differ.
Result<Tensor> ConvertFeed(const ImportedGraph& graph, const std::string& name, Tensor value) {
  auto tensor_name = ParseTensorName(name);
  if (!tensor_name.ok()) return value;  // the session reports it
  const tensorflow::NodeDef* node = graph.FindNode(tensor_name->node);
  if (node == nullptr || tensor_name->index != 0 ||
      (node->op() != "Placeholder" && node->op() != "PlaceholderWithDefault")) {
    return value;
  }
  auto it = node->attr().find("dtype");
  if (it == node->attr().end()) return value;
  const DataType want = static_cast<DataType>(it->second.type());
  if (want == value.dtype() || !IsConvertible(want) || !IsConvertible(value.dtype())) {
    return value;
  }
  auto converted = ConvertNumeric(value, want);
  if (!converted.ok()) {
    return converted.status().WithContext("converting the " +
                                          std::string(DataTypeName(value.dtype())) + " value to " +
                                          std::string(DataTypeName(want)));
  }
  return converted;
}

// --- checkpoint ------------------------------------------------------------

// The checkpoint to restore, or "" for none.
Result<std::string> ChooseCheckpoint(Env* env, const RunOptions& options, const GraphSource& source,
                                     const ImportedGraph& graph) {
  if (options.checkpoint == "none") return std::string();
  if (!options.checkpoint.empty()) return options.checkpoint;
  if (graph.saver_def() == nullptr) return std::string();
  switch (source.kind) {
    case GraphSource::Kind::kGraphDef:
      return std::string();
    case GraphSource::Kind::kSavedModel: {
      std::string prefix = SavedModelVariablesPrefix(source.path);
      return CheckpointExists(env, prefix) ? prefix : std::string();
    }
    case GraphSource::Kind::kMetaGraph:
      break;
  }
  std::string dir(Dirname(source.path));
  if (dir.empty()) dir = ".";
  if (env->FileExists(JoinPath(dir, "checkpoint"))) {
    Result<std::string> latest = LatestCheckpoint(env, dir);
    if (latest.ok()) return latest;
    if (latest.status().code() != StatusCode::kNotFound) {
      return latest.status().WithContext("finding the newest checkpoint beside " + source.path);
    }
  }
  if (EndsWith(source.path, ".meta")) {
    std::string prefix = source.path.substr(0, source.path.size() - 5);
    if (CheckpointExists(env, prefix)) return prefix;
  }
  return std::string();
}

// --- the command -------------------------------------------------------------

Status CheckOptions(const RunOptions& options) {
  const int sources =
      !options.meta_graph.empty() + !options.graph.empty() + !options.saved_model.empty();
  if (sources != 1) {
    return InvalidArgumentError("give exactly one of --meta_graph, --graph, --saved_model");
  }
  if (!options.signature.empty() && options.saved_model.empty()) {
    return InvalidArgumentError(
        "--signature needs --saved_model (signatures live in a SavedModel)");
  }
  if (options.signature.empty() && options.fetches.empty() && options.targets.empty()) {
    return InvalidArgumentError("nothing to run: give --fetch and/or --target");
  }
  return Status::OK();
}

// --- signatures ----------------------------------------------------------------

// What a run feeds and fetches: graph tensor names, and the labels the output
// is keyed by (the tensor names, or a signature's output keys).
struct RunPlan {
  std::vector<std::pair<std::string, Tensor>> feeds;
  std::vector<std::string> fetches;
  std::vector<std::string> labels;
};

// Feeds by NAME=FILE.npy: graph tensor names, numeric values converted to
// the placeholder's dtype.
Status PlanTensorRun(Env* env, const RunOptions& options, const ImportedGraph& graph,
                     RunPlan* plan) {
  for (const std::string& feed : options.feeds) {
    const size_t eq = feed.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == feed.size()) {
      return InvalidArgumentError("--feed '" + EscapeForDisplay(feed) +
                                  "': expected NAME=FILE.npy (e.g. 'input:0=x.npy')");
    }
    std::string name = feed.substr(0, eq);
    auto value = ReadNpy(env, feed.substr(eq + 1));
    if (!value.ok()) return value.status().WithContext("--feed " + EscapeForDisplay(name));
    auto converted = ConvertFeed(graph, name, *std::move(value));
    if (!converted.ok()) {
      return converted.status().WithContext("--feed " + EscapeForDisplay(name));
    }
    plan->feeds.emplace_back(std::move(name), *std::move(converted));
  }
  plan->fetches = options.fetches;
  plan->labels = options.fetches;
  return Status::OK();
}

// Feeds by INPUT_KEY=FILE.npy and fetches by output key, through
// ImportedGraph::ResolveSignature.
Status PlanSignatureRun(Env* env, const RunOptions& options, const ImportedGraph& graph,
                        RunPlan* plan) {
  std::vector<std::pair<std::string, Tensor>> inputs;
  for (const std::string& feed : options.feeds) {
    const size_t eq = feed.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == feed.size()) {
      return InvalidArgumentError("--feed '" + EscapeForDisplay(feed) +
                                  "': expected INPUT_KEY=FILE.npy (e.g. 'x=x.npy')");
    }
    std::string key = feed.substr(0, eq);
    auto value = ReadNpy(env, feed.substr(eq + 1));
    if (!value.ok()) return value.status().WithContext("--feed " + EscapeForDisplay(key));
    inputs.emplace_back(std::move(key), *std::move(value));
  }
  CKPT_ASSIGN_OR_RETURN(
      ImportedGraph::SignatureRun run,
      graph.ResolveSignature(options.signature, std::move(inputs), options.fetches));
  plan->feeds = std::move(run.feeds);
  plan->fetches = std::move(run.fetches);
  plan->labels = std::move(run.output_keys);
  return Status::OK();
}

Status Run(const RunOptions& options, std::string* out, std::string* warnings) {
  CKPT_RETURN_IF_ERROR(CheckOptions(options));
  Env* env = Env::Posix();
  GraphSource source;
  if (!options.meta_graph.empty()) {
    source.kind = GraphSource::Kind::kMetaGraph;
    source.path = options.meta_graph;
  } else if (!options.graph.empty()) {
    source.kind = GraphSource::Kind::kGraphDef;  // ImportGraphDef: text or binary
    source.path = options.graph;
  } else {
    source.kind = GraphSource::Kind::kSavedModel;
    source.path = options.saved_model;
    source.tags = options.tags;
  }
  CKPT_ASSIGN_OR_RETURN(std::shared_ptr<const ImportedGraph> graph, LoadGraph(env, source));

  // Feeds, read before anything runs.
  RunPlan plan;
  if (options.signature.empty()) {
    CKPT_RETURN_IF_ERROR(PlanTensorRun(env, options, *graph, &plan));
  } else {
    CKPT_RETURN_IF_ERROR(PlanSignatureRun(env, options, *graph, &plan));
  }
  const std::vector<std::string>& labels = plan.labels;

  // Output file names, checked before running.
  std::vector<std::string> paths;
  if (!options.output_dir.empty()) {
    std::map<std::string, std::string> by_file;  // file name -> fetch
    for (const std::string& fetch : labels) {
      std::string file = NpyFileNameForTensor(fetch);
      auto [it, inserted] = by_file.emplace(file, fetch);
      if (!inserted && it->second != fetch) {
        return InvalidArgumentError("fetches '" + EscapeForDisplay(it->second) + "' and '" +
                                    EscapeForDisplay(fetch) + "' would both be written to " + file);
      }
      paths.push_back(JoinPath(options.output_dir, file));
    }
  }

  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(graph));
  CKPT_ASSIGN_OR_RETURN(std::string checkpoint, ChooseCheckpoint(env, options, source, *graph));
  if (!checkpoint.empty()) {
    Status s = session->Restore(checkpoint);
    if (!s.ok()) return s.WithContext("restoring " + checkpoint);
  } else if (graph->saver_def() != nullptr && options.checkpoint != "none") {
    *warnings += "ckpt run: no checkpoint found for " + source.path +
                 "; variables are not restored (give --checkpoint)\n";
  }
  Result<std::vector<Tensor>> run = session->Run(plan.feeds, plan.fetches, options.targets);
  if (!run.ok() && !options.signature.empty()) {
    return run.status().WithContext("running signature '" + EscapeForDisplay(options.signature) +
                                    "'");
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<Tensor> values, std::move(run));

  if (!options.output_dir.empty()) {
    CKPT_RETURN_IF_ERROR(env->CreateDirs(options.output_dir));
    for (size_t i = 0; i < values.size(); ++i) {
      Status s = WriteNpy(env, paths[i], values[i]);
      if (!s.ok()) return s.WithContext("writing " + EscapeForDisplay(labels[i]));
    }
  }
  if (options.json) {
    *out += "{";
    for (size_t i = 0; i < values.size(); ++i) {
      *out += i == 0 ? "\n  " : ",\n  ";
      *out += JsonString(labels[i]) +
              ": {\"dtype\": " + JsonString(DataTypeName(values[i].dtype())) +
              ", \"shape\": " + JsonShape(values[i].shape()) + ", ";
      if (options.output_dir.empty()) {
        *out += "\"values\": " + TensorValuesToJson(values[i]) + "}";
      } else {
        *out += "\"path\": " + JsonString(paths[i]) + "}";
      }
    }
    *out += values.empty() ? "}\n" : "\n}\n";
  } else if (!options.output_dir.empty()) {
    for (size_t i = 0; i < values.size(); ++i) {
      *out += labels[i] + "\t" + paths[i] + "\n";
    }
  } else {
    for (size_t i = 0; i < values.size(); ++i) {
      // saved_model_cli's heading for a signature's output.
      *out += options.signature.empty()
                  ? "tensor_name:  " + EscapeForDisplay(labels[i]) + "\n"
                  : "Result for output key " + EscapeForDisplay(labels[i]) + ":\n";
      *out += FormatTensor(values[i], options.print_options) + "\n";
    }
  }
  return Status::OK();
}

}  // namespace

std::string NpyFileNameForTensor(const std::string& tensor_name) {
  std::string out;
  for (char c : tensor_name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    out += safe ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out + ".npy";
}

int RunRun(const RunOptions& options, std::ostream& out, std::ostream& err) {
  std::string text, warnings;
  Status s = Run(options, &text, &warnings);
  err << warnings;
  if (!s.ok()) {
    err << "ckpt run: " << EscapeForDisplay(s.ToString()) << "\n";
    return kExitFailure;
  }
  out << text;
  out.flush();
  return kExitOk;
}

void AddRunCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "run",
      "Run a TensorFlow graph (.meta, GraphDef or SavedModel) after restoring its checkpoint");
  auto options = std::make_shared<RunOptions>();
  cmd->add_option("--meta_graph", options->meta_graph, "A .meta file (binary MetaGraphDef)");
  cmd->add_option("--graph", options->graph, "A GraphDef: text (.pbtxt) or binary (.pb)");
  cmd->add_option("--saved_model", options->saved_model,
                  "A SavedModel directory; variables from DIR/variables/variables");
  cmd->add_option("--tags", options->tags, "SavedModel meta graph tags (default: serve)")
      ->expected(1, CLI::detail::expected_max_vector_size);
  cmd->add_option("--signature", options->signature,
                  "With --saved_model: run this SignatureDef (e.g. serving_default); --feed takes "
                  "its input keys (KEY=FILE.npy, dtype as the signature's), --fetch its output "
                  "keys (default: every output, sorted), and output is keyed by output key");
  cmd->add_option("--checkpoint", options->checkpoint,
                  "Checkpoint prefix to restore, or 'none'. Default: the newest checkpoint beside "
                  "the .meta (its 'checkpoint' file, else the .meta's own prefix), "
                  "DIR/variables/variables for a SavedModel, none for a GraphDef");
  cmd->add_option("--feed", options->feeds,
                  "NAME=FILE.npy, e.g. 'input:0=x.npy' (repeatable); numeric values are "
                  "converted to the placeholder's dtype as TF's feed_dict does. With --signature: "
                  "INPUT_KEY=FILE.npy");
  cmd->add_option("--fetch", options->fetches,
                  "Tensor to fetch, e.g. 'output:0' (repeatable). With --signature: an output key");
  cmd->add_option("--target", options->targets, "Node to run for its effect (repeatable)");
  cmd->add_option("--output", options->output_dir,
                  "Write one .npy per fetch into this directory, named after the tensor with every "
                  "character outside [A-Za-z0-9._-] made '_' ('a/b:0' -> a_b_0.npy); prints "
                  "'name<TAB>path' per fetch");
  cmd->add_flag("--json", options->json,
                "Print {fetch: {dtype, shape, values}} as JSON (with --output: path instead of "
                "values)");
  auto printoptions = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--printoptions", *printoptions,
                  "numpy print options for the text output, as k=v: threshold, edgeitems, "
                  "precision, linewidth, suppress, sign, nanstr, infstr");
  cmd->callback([options, printoptions, out, err, exit_code] {
    RunOptions run = *options;
    for (const std::string& kv : *printoptions) {
      Status s = SetPrintOption(kv, &run.print_options);
      if (!s.ok()) {
        *err << "ckpt run: --printoptions: " << s.message() << "\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    *exit_code = RunRun(run, *out, *err);
  });
}

}  // namespace ckpt::tools
