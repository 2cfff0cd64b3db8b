// MetaGraphDef export, .meta / graph.pbtxt files and reading TF's meta graphs
// (see ckpt/meta_graph.h).
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <memory>
#include <set>

#include "ckpt/meta_graph.h"

namespace ckpt {

Result<tensorflow::OpList> StrippedOpList(const tensorflow::GraphDef& graph) {
  std::set<std::string> ops;
  for (const auto& node : graph.node()) ops.insert(node.op());
  tensorflow::OpList list;
  for (const std::string& op : ops) {
    const tensorflow::OpDef* def = FindOpDef(op);
    if (def == nullptr) {
      return InvalidArgumentError("op '" + op + "' is not in ckpt's op registry");
    }
    *list.add_op() = *def;
  }
  return list;
}

Result<tensorflow::GraphDef> BuildGraphDef(const GraphBuilder& graph,
                                           const MetaGraphOptions& options) {
  if (!graph.status().ok()) return graph.status();
  tensorflow::GraphDef def = graph.graph_def();
  def.mutable_versions()->set_producer(options.producer);
  def.mutable_versions()->set_min_consumer(options.min_consumer);
  return def;
}

Result<tensorflow::MetaGraphDef> BuildMetaGraphDef(const GraphBuilder& graph,
                                                   const tensorflow::SaverDef* saver_def,
                                                   const MetaGraphOptions& options) {
  CKPT_ASSIGN_OR_RETURN(tensorflow::GraphDef graph_def, BuildGraphDef(graph, options));
  CKPT_ASSIGN_OR_RETURN(tensorflow::OpList ops, StrippedOpList(graph_def));
  tensorflow::MetaGraphDef meta;
  auto* info = meta.mutable_meta_info_def();
  *info->mutable_stripped_op_list() = std::move(ops);
  info->set_tensorflow_version(options.tensorflow_version);
  info->set_tensorflow_git_version(options.tensorflow_git_version);
  for (const std::string& tag : options.tags) info->add_tags(tag);
  *meta.mutable_graph_def() = std::move(graph_def);
  if (saver_def != nullptr) *meta.mutable_saver_def() = *saver_def;
  for (const auto& [key, collection] : graph.collections()) {
    (*meta.mutable_collection_def())[key] = collection;
  }
  return meta;
}

namespace {
std::string Serialize(const google::protobuf::Message& message) {
  std::string out;
  // Deterministic: map entries (attrs, collections) sorted by key, so equal
  // graphs give equal bytes.
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}
}  // namespace

Status WriteMetaGraph(Env* env, const std::string& path, const tensorflow::MetaGraphDef& meta) {
  if (env == nullptr) return InvalidArgumentError("WriteMetaGraph: null env");
  return WriteStringToFileAtomic(env, path, Serialize(meta));
}

std::string GraphDefToText(const tensorflow::GraphDef& graph) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.PrintToString(graph, &text);
  return text;
}

Status WriteTextGraph(Env* env, const std::string& path, const tensorflow::GraphDef& graph) {
  if (env == nullptr) return InvalidArgumentError("WriteTextGraph: null env");
  return WriteStringToFileAtomic(env, path, GraphDefToText(graph));
}

std::function<Status(const std::string&)> MetaGraphWriter(tensorflow::MetaGraphDef meta, Env* env) {
  auto shared = std::make_shared<const std::string>(Serialize(meta));
  return [shared, env](const std::string& path) -> Status {
    if (env == nullptr) return InvalidArgumentError("MetaGraphWriter: null env");
    return WriteStringToFileAtomic(env, path, *shared);
  };
}

namespace {
Result<std::string> ReadAll(Env* env, const std::string& path) {
  if (env == nullptr) return InvalidArgumentError("null env");
  if (!env->FileExists(path)) return NotFoundError(path + " not found");
  return ReadFileToString(env, path);
}

bool ParseBinary(const std::string& data, google::protobuf::Message* message) {
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(data.data()),
                                               static_cast<int>(data.size()));
  input.SetRecursionLimit(1000);
  return message->ParseFromCodedStream(&input) && input.ConsumedEntireMessage();
}
}  // namespace

Result<tensorflow::MetaGraphDef> ReadMetaGraph(Env* env, const std::string& path) {
  CKPT_ASSIGN_OR_RETURN(std::string data, ReadAll(env, path));
  if (data.size() > static_cast<size_t>(INT32_MAX)) {
    return ResourceExhaustedError(path + " is too large for a MetaGraphDef");
  }
  tensorflow::MetaGraphDef meta;
  if (!ParseBinary(data, &meta)) return DataLossError(path + " is not a binary MetaGraphDef");
  return meta;
}

namespace {

// Keeps the first parse error (protobuf would log it); warnings are dropped.
class FirstTextError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) {
      first_ = std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
    }
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace

Result<tensorflow::GraphDef> ReadTextGraph(Env* env, const std::string& path) {
  CKPT_ASSIGN_OR_RETURN(std::string data, ReadAll(env, path));
  tensorflow::GraphDef graph;
  // Fields newer than ckpt's protos (NodeDef.experimental_type, which TF 2.x
  // writes into frozen graphs) are skipped, as a binary parse keeps them as
  // unknown fields; a misspelt field in a hand-written file is skipped too.
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  FirstTextError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(data, &graph)) {
    return DataLossError(path + " is not a text GraphDef" +
                         (errors.first().empty() ? "" : " (line " + errors.first() + ")"));
  }
  return graph;
}

Result<tensorflow::GraphDef> ReadGraphDef(Env* env, const std::string& path) {
  const auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           std::string_view(path).substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(".pbtxt") || ends_with(".txt")) return ReadTextGraph(env, path);
  CKPT_ASSIGN_OR_RETURN(std::string data, ReadAll(env, path));
  if (data.size() > static_cast<size_t>(INT32_MAX)) {
    return ResourceExhaustedError(path + " is too large for a GraphDef");
  }
  tensorflow::GraphDef graph;
  if (ParseBinary(data, &graph)) return graph;
  graph.Clear();
  if (google::protobuf::TextFormat::ParseFromString(data, &graph)) return graph;
  return DataLossError(path + " is neither a binary nor a text GraphDef");
}

const MetaGraphInfo::Node* MetaGraphInfo::FindNode(const std::string& name) const {
  for (const Node& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

namespace {
std::string OpName(const std::string& tensor_name) {
  const size_t colon = tensor_name.rfind(':');
  return colon == std::string::npos ? tensor_name : tensor_name.substr(0, colon);
}
}  // namespace

Result<MetaGraphInfo> DescribeMetaGraph(const tensorflow::MetaGraphDef& meta) {
  MetaGraphInfo info;
  const auto& mi = meta.meta_info_def();
  info.tensorflow_version = mi.tensorflow_version();
  info.tensorflow_git_version = mi.tensorflow_git_version();
  info.tags.assign(mi.tags().begin(), mi.tags().end());
  for (const auto& op : mi.stripped_op_list().op()) info.stripped_ops.push_back(op.name());
  info.producer = meta.graph_def().versions().producer();
  std::set<std::string> used;
  for (const auto& n : meta.graph_def().node()) {
    info.nodes.push_back({n.name(), n.op(), {n.input().begin(), n.input().end()}, n.device()});
    used.insert(n.op());
  }
  info.used_ops.assign(used.begin(), used.end());
  for (const auto& [key, c] : meta.collection_def()) {
    MetaGraphInfo::Collection out;
    switch (c.kind_case()) {
      case tensorflow::CollectionDef::kNodeList:
        out.kind = "node_list";
        out.values.assign(c.node_list().value().begin(), c.node_list().value().end());
        break;
      case tensorflow::CollectionDef::kBytesList:
        out.kind = "bytes_list";
        out.values.assign(c.bytes_list().value().begin(), c.bytes_list().value().end());
        break;
      case tensorflow::CollectionDef::kInt64List:
        out.kind = "int64_list";
        for (int64_t v : c.int64_list().value()) out.values.push_back(std::to_string(v));
        break;
      case tensorflow::CollectionDef::kFloatList:
        out.kind = "float_list";
        for (float v : c.float_list().value()) out.values.push_back(std::to_string(v));
        break;
      case tensorflow::CollectionDef::kAnyList:
        out.kind = "any_list";
        for (const auto& v : c.any_list().value()) out.values.push_back(v.type_url());
        break;
      default:
        break;
    }
    info.collections[key] = std::move(out);
  }
  std::set<std::string> trainable;
  auto tv = meta.collection_def().find("trainable_variables");
  if (tv != meta.collection_def().end()) {
    for (const auto& bytes : tv->second.bytes_list().value()) {
      tensorflow::VariableDef def;
      if (def.ParseFromString(bytes)) trainable.insert(def.variable_name());
    }
  }
  auto vars = meta.collection_def().find("variables");
  if (vars != meta.collection_def().end()) {
    for (const auto& bytes : vars->second.bytes_list().value()) {
      tensorflow::VariableDef def;
      if (!def.ParseFromString(bytes)) {
        return DataLossError("the variables collection holds bytes that are not a VariableDef");
      }
      MetaGraphInfo::Variable v;
      v.name = OpName(def.variable_name());
      v.initializer = def.initializer_name();
      v.snapshot = def.snapshot_name();
      v.initial_value = def.initial_value_name();
      v.trainable = def.trainable() || trainable.count(def.variable_name()) > 0;
      v.is_resource = def.is_resource();
      info.variables.push_back(std::move(v));
    }
  }
  if (meta.has_saver_def()) info.saver_def = meta.saver_def();
  return info;
}

}  // namespace ckpt
