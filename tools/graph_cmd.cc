// `ckpt graph`: list a graph's nodes, or count its op types against what ckpt
// can run. See graph_cmd.h for the outputs.
#include "graph_cmd.h"

#include <map>
#include <memory>
#include <set>
#include <string>

#include "ckpt/escape.h"
#include "ckpt/session.h"
#include "ckpt/types.h"
#include "command.h"
#include "exec/prune.h"
#include "graph_source.h"
#include "json_output.h"

namespace ckpt::tools {
namespace {

// --- --signatures ------------------------------------------------------------

// Where a TensorInfo lives: "x:0", or "coo_sparse(values,indices,dense_shape)",
// or "composite(a:0,b:0)".
std::string TensorInfoWhere(const tensorflow::TensorInfo& info) {
  switch (info.encoding_case()) {
    case tensorflow::TensorInfo::kCooSparse:
      return "coo_sparse(" + info.coo_sparse().values_tensor_name() + "," +
             info.coo_sparse().indices_tensor_name() + "," +
             info.coo_sparse().dense_shape_tensor_name() + ")";
    case tensorflow::TensorInfo::kCompositeTensor: {
      std::string out = "composite(";
      for (int i = 0; i < info.composite_tensor().components_size(); ++i) {
        out += (i ? "," : "") + TensorInfoWhere(info.composite_tensor().components(i));
      }
      return out + ")";
    }
    default:
      return info.name();
  }
}

// "[-1, 1]" (-1 unknown), or "unknown_rank" (JSON: null).
std::string TensorInfoShape(const tensorflow::TensorInfo& info, bool json) {
  if (info.tensor_shape().unknown_rank()) return json ? "null" : "unknown_rank";
  std::string out = "[";
  for (int i = 0; i < info.tensor_shape().dim_size(); ++i) {
    out += (i ? ", " : "") + std::to_string(info.tensor_shape().dim(i).size());
  }
  return out + "]";
}

std::vector<std::string> SortedKeys(
    const google::protobuf::Map<std::string, tensorflow::TensorInfo>& map) {
  std::set<std::string> keys;
  for (const auto& entry : map) keys.insert(entry.first);
  return {keys.begin(), keys.end()};
}

}  // namespace

std::string SignatureJson(const std::string& key, const tensorflow::SignatureDef& sig) {
  std::string text =
      "{\"key\": " + JsonString(key) + ", \"method_name\": " + JsonString(sig.method_name());
  for (const bool inputs : {true, false}) {
    const auto& map = inputs ? sig.inputs() : sig.outputs();
    text += inputs ? ", \"inputs\": [" : "], \"outputs\": [";
    bool first = true;
    for (const std::string& tensor_key : SortedKeys(map)) {
      const tensorflow::TensorInfo& info = map.at(tensor_key);
      text += first ? "" : ", ";
      text += "{\"key\": " + JsonString(tensor_key) +
              ", \"name\": " + JsonString(TensorInfoWhere(info)) + ", \"dtype\": " +
              JsonString(DataTypeEnumName(static_cast<DataType>(info.dtype()))) +
              ", \"shape\": " + TensorInfoShape(info, true) + "}";
      first = false;
    }
  }
  return text + "]}";
}

namespace {

void ListSignatures(const ImportedGraph& graph, bool json, std::string* out) {
  std::set<std::string> keys;
  for (const auto& entry : graph.signatures()) keys.insert(entry.first);
  std::string text;
  bool first_sig = true;
  for (const std::string& key : keys) {
    const tensorflow::SignatureDef& sig = graph.signatures().at(key);
    if (json) {
      text += (first_sig ? "\n  " : ",\n  ") + SignatureJson(key, sig);
      first_sig = false;
      continue;
    }
    first_sig = false;
    for (const bool inputs : {true, false}) {
      const auto& map = inputs ? sig.inputs() : sig.outputs();
      for (const std::string& tensor_key : SortedKeys(map)) {
        const tensorflow::TensorInfo& info = map.at(tensor_key);
        const std::string dtype(DataTypeEnumName(static_cast<DataType>(info.dtype())));
        text += EscapeForDisplay(key) + "\t" + (inputs ? "input" : "output") + "\t" +
                EscapeForDisplay(tensor_key) + "\t" + EscapeForDisplay(TensorInfoWhere(info)) +
                "\t" + dtype + "\t" + TensorInfoShape(info, false) + "\n";
      }
    }
  }
  if (json) {
    *out += "{\"signatures\": [" + text + (first_sig ? "]}\n" : "\n]}\n");
  } else {
    *out += text;
  }
}

Status ListGraph(const GraphOptions& options, std::string* out) {
  Env* env = Env::Posix();
  if (options.path.empty() == options.saved_model.empty()) {
    return InvalidArgumentError("give exactly one of PATH and --saved_model DIR");
  }
  GraphSource source;
  if (options.saved_model.empty()) {
    source = GraphSourceForPath(env, options.path);
  } else {
    source.kind = GraphSource::Kind::kSavedModel;
    source.path = options.saved_model;
  }
  source.tags = options.tags;
  CKPT_ASSIGN_OR_RETURN(std::shared_ptr<const ImportedGraph> graph, LoadGraph(env, source));
  const tensorflow::GraphDef& def = graph->graph_def();

  if (options.signatures) {
    if (options.ops) return InvalidArgumentError("give at most one of --ops and --signatures");
    ListSignatures(*graph, options.json, out);
    return Status::OK();
  }
  if (options.ops) {
    // The nodes counted: all, or those a run of the fetches needs.
    std::vector<const tensorflow::NodeDef*> nodes;
    if (options.fetches.empty()) {
      for (const tensorflow::NodeDef& node : def.node()) nodes.push_back(&node);
    } else {
      std::set<std::string> fed;
      for (const std::string& feed : options.feeds) {
        CKPT_ASSIGN_OR_RETURN(TensorName name, ParseTensorName(feed));
        CKPT_RETURN_IF_ERROR(graph->GetNodeOfTensor(feed).status());
        fed.insert(name.ToString());
      }
      std::vector<std::string> roots;
      for (const std::string& fetch : options.fetches) {
        CKPT_ASSIGN_OR_RETURN(const tensorflow::NodeDef* node, graph->GetNodeOfTensor(fetch));
        roots.push_back(node->name());
      }
      CKPT_ASSIGN_OR_RETURN(exec::PrunedGraph pruned, exec::Prune(*graph, fed, roots));
      nodes = pruned.order;
    }
    std::map<std::string, int64_t> counts;
    for (const tensorflow::NodeDef* node : nodes) ++counts[node->op()];
    int64_t runnable_types = 0, runnable_nodes = 0;
    std::string lines;
    bool first = true;
    for (const auto& [op, count] : counts) {
      const bool runnable = IsRunnableOp(op);
      runnable_types += runnable;
      if (runnable) runnable_nodes += count;
      if (options.json) {
        lines += first ? "\n    " : ",\n    ";
        lines += "{\"op\": " + JsonString(op) + ", \"count\": " + std::to_string(count) +
                 ", \"runnable\": " + JsonBool(runnable) + "}";
      } else {
        lines += std::to_string(count) + "\t" + EscapeForDisplay(op) + "\t" +
                 (runnable ? "runnable" : "unsupported") + "\n";
      }
      first = false;
    }
    if (options.json) {
      *out += "{\"ops\": [" + lines + (first ? "]" : "\n  ]") +
              ", \"op_types\": " + std::to_string(counts.size()) +
              ", \"runnable_op_types\": " + std::to_string(runnable_types) +
              ", \"nodes\": " + std::to_string(nodes.size()) +
              ", \"runnable_nodes\": " + std::to_string(runnable_nodes) + "}\n";
    } else {
      *out += lines + "# " + std::to_string(runnable_types) + " of " +
              std::to_string(counts.size()) + " op types runnable; " +
              std::to_string(runnable_nodes) + " of " + std::to_string(nodes.size()) + " nodes\n";
    }
    return Status::OK();
  }

  if (options.json) {
    *out += "{\"nodes\": [";
    bool first = true;
    for (const tensorflow::NodeDef& node : def.node()) {
      *out += first ? "\n  " : ",\n  ";
      first = false;
      *out += "{\"name\": " + JsonString(node.name()) + ", \"op\": " + JsonString(node.op()) +
              ", \"inputs\": [";
      for (int i = 0; i < node.input_size(); ++i) {
        *out += (i > 0 ? ", " : "") + JsonString(node.input(i));
      }
      *out += "]}";
    }
    *out += first ? "]}\n" : "\n]}\n";
    return Status::OK();
  }
  for (const tensorflow::NodeDef& node : def.node()) {
    *out += EscapeForDisplay(node.name()) + "\t" + EscapeForDisplay(node.op()) + "\t";
    for (int i = 0; i < node.input_size(); ++i) {
      *out += (i > 0 ? "," : "") + EscapeForDisplay(node.input(i));
    }
    *out += "\n";
  }
  return Status::OK();
}

}  // namespace

bool IsRunnableOp(const std::string& op_type) {
  static const std::set<std::string>* const kRunnable = [] {
    std::vector<std::string> ops = SupportedOpTypes();
    return new std::set<std::string>(ops.begin(), ops.end());
  }();
  return kRunnable->count(op_type) > 0;
}

int RunGraph(const GraphOptions& options, std::ostream& out, std::ostream& err) {
  std::string text;
  Status s = ListGraph(options, &text);
  if (!s.ok()) {
    err << "ckpt graph: " << EscapeForDisplay(s.ToString()) << "\n";
    return kExitFailure;
  }
  out << text;
  out.flush();
  return kExitOk;
}

void AddGraphCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "graph", "List a graph's nodes (.meta, GraphDef .pbtxt/.pb, or SavedModel directory)");
  auto options = std::make_shared<GraphOptions>();
  cmd->add_option("path", options->path,
                  "A .meta file, a GraphDef (.pbtxt text, .pb binary) or a SavedModel directory");
  cmd->add_option("--saved_model", options->saved_model,
                  "A SavedModel directory (instead of PATH)");
  // One value per flag (repeat it), so that a PATH after it is not taken.
  cmd->add_option("--tags", options->tags, "SavedModel meta graph tag (default: serve; repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--ops", options->ops, "Count op types and say which ones ckpt can run (coverage)");
  cmd->add_option("--fetch", options->fetches,
                  "With --ops: count only the nodes a run of these tensors needs (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--feed", options->feeds,
                  "With --ops --fetch: tensors fed (the graph is cut there; repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--signatures", options->signatures,
                "List the SignatureDefs (a SavedModel's): per input and output, "
                "'signature<TAB>input|output<TAB>key<TAB>tensor<TAB>dtype<TAB>shape'");
  cmd->add_flag("--json", options->json, "Print JSON instead of text");
  cmd->callback([options, out, err, exit_code] { *exit_code = RunGraph(*options, *out, *err); });
}

}  // namespace ckpt::tools
