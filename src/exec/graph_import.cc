// Import: parse and index a graph once, so that pruning and running only look
// nodes up. Validation at import (unique names, inputs that resolve) means
// the later phases can treat a missing node as a bug, not as caller input.
#include "ckpt/graph_import.h"

#include <charconv>
#include <set>
#include <unordered_map>
#include <utility>

#include "ckpt/escape.h"
#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "ckpt/saved_model.h"
#include "tensor/proto_convert.h"

namespace ckpt {

std::string TensorName::ToString() const {
  if (is_control()) return "^" + node;
  return node + ":" + std::to_string(index);
}

Result<TensorName> ParseTensorName(std::string_view name, bool allow_control) {
  const std::string quoted = "'" + std::string(name) + "'";
  TensorName out;
  if (!name.empty() && name[0] == '^') {
    if (!allow_control) {
      return InvalidArgumentError("Tensor name " + quoted +
                                  " is a control input (\"^op\"); name a tensor (\"op:0\")");
    }
    name.remove_prefix(1);
    out.index = -1;
  }
  const size_t colon = name.rfind(':');
  if (colon != std::string_view::npos && !out.is_control()) {
    std::string_view digits = name.substr(colon + 1);
    int index = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index < 0) {
      return InvalidArgumentError("Tensor name " + quoted +
                                  " is not \"op\" or \"op:<output index>\" (the index is not a "
                                  "non-negative number)");
    }
    out.index = index;
    name = name.substr(0, colon);
  }
  if (name.empty()) {
    return InvalidArgumentError("Tensor name " + quoted + " has an empty op name");
  }
  out.node = std::string(name);
  return out;
}

int NumOutputs(const tensorflow::NodeDef& node) {
  const tensorflow::OpDef* op = FindOpDef(node.op());
  if (op == nullptr) return -1;
  int count = 0;
  for (const tensorflow::OpDef::ArgDef& arg : op->output_arg()) {
    if (arg.number_attr().empty() && arg.type_list_attr().empty()) {
      ++count;
      continue;
    }
    const std::string& attr_name =
        arg.number_attr().empty() ? arg.type_list_attr() : arg.number_attr();
    auto attr = node.attr().find(attr_name);
    if (attr == node.attr().end()) return -1;
    count += arg.number_attr().empty() ? attr->second.list().type_size()
                                       : static_cast<int>(attr->second.i());
  }
  return count;
}

struct ImportedGraph::Impl {
  tensorflow::GraphDef graph;
  std::unordered_map<std::string_view, const tensorflow::NodeDef*> by_name;
  google::protobuf::Map<std::string, tensorflow::CollectionDef> collections;
  bool has_saver_def = false;
  tensorflow::SaverDef saver_def;
  google::protobuf::Map<std::string, tensorflow::SignatureDef> signatures;
  google::protobuf::RepeatedPtrField<tensorflow::AssetFileDef> asset_files;
};

ImportedGraph::ImportedGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ImportedGraph::~ImportedGraph() = default;

namespace {

// Phase 1: the name index (names must be present and unique).
Status IndexNodes(const tensorflow::GraphDef& graph,
                  std::unordered_map<std::string_view, const tensorflow::NodeDef*>* by_name) {
  by_name->reserve(graph.node_size());
  for (int i = 0; i < graph.node_size(); ++i) {
    const tensorflow::NodeDef& node = graph.node(i);
    if (node.name().empty()) {
      return InvalidArgumentError("Node " + std::to_string(i) + " (op '" + node.op() +
                                  "') has no name");
    }
    if (!by_name->emplace(node.name(), &node).second) {
      return InvalidArgumentError("Node '" + node.name() +
                                  "' is defined more than once in the graph");
    }
  }
  return Status::OK();
}

// Phase 2: every input parses and names a node of the graph.
Status CheckInputs(
    const tensorflow::GraphDef& graph,
    const std::unordered_map<std::string_view, const tensorflow::NodeDef*>& by_name) {
  for (const tensorflow::NodeDef& node : graph.node()) {
    for (const std::string& input : node.input()) {
      Result<TensorName> parsed = ParseTensorName(input, /*allow_control=*/true);
      if (!parsed.ok()) return parsed.status().WithContext("Node '" + node.name() + "'");
      if (by_name.count(parsed->node) == 0) {
        return InvalidArgumentError("Node '" + node.name() + "': Unknown input node '" + input +
                                    "'");
      }
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::shared_ptr<const ImportedGraph>> ImportedGraph::FromGraphDef(
    tensorflow::GraphDef graph) {
  auto impl = std::make_unique<Impl>();
  impl->graph = std::move(graph);
  CKPT_RETURN_IF_ERROR(IndexNodes(impl->graph, &impl->by_name));
  CKPT_RETURN_IF_ERROR(CheckInputs(impl->graph, impl->by_name));
  return std::shared_ptr<const ImportedGraph>(new ImportedGraph(std::move(impl)));
}

Result<std::shared_ptr<const ImportedGraph>> ImportedGraph::FromMetaGraphDef(
    tensorflow::MetaGraphDef meta) {
  auto impl = std::make_unique<Impl>();
  impl->graph = std::move(*meta.mutable_graph_def());
  impl->collections = std::move(*meta.mutable_collection_def());
  impl->has_saver_def = meta.has_saver_def();
  impl->saver_def = std::move(*meta.mutable_saver_def());
  impl->signatures = std::move(*meta.mutable_signature_def());
  impl->asset_files = std::move(*meta.mutable_asset_file_def());
  CKPT_RETURN_IF_ERROR(IndexNodes(impl->graph, &impl->by_name));
  CKPT_RETURN_IF_ERROR(CheckInputs(impl->graph, impl->by_name));
  return std::shared_ptr<const ImportedGraph>(new ImportedGraph(std::move(impl)));
}

const tensorflow::GraphDef& ImportedGraph::graph_def() const { return impl_->graph; }
int ImportedGraph::num_nodes() const { return impl_->graph.node_size(); }

const tensorflow::NodeDef* ImportedGraph::FindNode(std::string_view name) const {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : it->second;
}

Result<const tensorflow::NodeDef*> ImportedGraph::GetNodeOfTensor(
    std::string_view tensor_name) const {
  CKPT_ASSIGN_OR_RETURN(TensorName parsed, ParseTensorName(tensor_name));
  const tensorflow::NodeDef* node = FindNode(parsed.node);
  if (node == nullptr) {
    return NotFoundError("The name '" + std::string(tensor_name) +
                         "' refers to a Tensor which does not exist. The operation, '" +
                         parsed.node + "', does not exist in this graph.");
  }
  const int outputs = NumOutputs(*node);
  if (outputs >= 0 && parsed.index >= outputs) {
    return NotFoundError("The name '" + std::string(tensor_name) +
                         "' refers to a Tensor which does not exist. The operation, '" +
                         parsed.node + "', exists but only has " + std::to_string(outputs) +
                         " outputs.");
  }
  return node;
}

const google::protobuf::Map<std::string, tensorflow::CollectionDef>& ImportedGraph::collections()
    const {
  return impl_->collections;
}

Result<std::vector<std::string>> ImportedGraph::NodeListCollection(const std::string& key) const {
  auto it = impl_->collections.find(key);
  if (it == impl_->collections.end()) {
    return NotFoundError("No collection '" + key + "' in the meta graph");
  }
  const tensorflow::CollectionDef& c = it->second;
  if (c.kind_case() != tensorflow::CollectionDef::kNodeList &&
      c.kind_case() != tensorflow::CollectionDef::KIND_NOT_SET) {
    return InvalidArgumentError("Collection '" + key + "' is not a node_list");
  }
  return std::vector<std::string>(c.node_list().value().begin(), c.node_list().value().end());
}

const tensorflow::SaverDef* ImportedGraph::saver_def() const {
  return impl_->has_saver_def ? &impl_->saver_def : nullptr;
}

const google::protobuf::Map<std::string, tensorflow::SignatureDef>& ImportedGraph::signatures()
    const {
  return impl_->signatures;
}

namespace {

// "'a', 'b'": a map's keys, sorted (the Map's order is unspecified), or
// "none".
template <typename Value>
std::string ListKeys(const google::protobuf::Map<std::string, Value>& map) {
  std::set<std::string> keys;
  for (const auto& entry : map) keys.insert(entry.first);
  std::string out;
  for (const std::string& key : keys) {
    out += (out.empty() ? "'" : ", '") + EscapeForDisplay(key) + "'";
  }
  return out.empty() ? "none" : out;
}

}  // namespace

Result<const tensorflow::SignatureDef*> ImportedGraph::Signature(const std::string& key) const {
  auto it = impl_->signatures.find(key);
  if (it != impl_->signatures.end()) return &it->second;
  const std::string quoted = "'" + EscapeForDisplay(key) + "'";
  if (impl_->signatures.empty()) {
    return NotFoundError("No signature " + quoted + ": the meta graph has no signatures");
  }
  return NotFoundError("No signature " + quoted + " in the meta graph; it has " +
                       ListKeys(impl_->signatures));
}

const google::protobuf::RepeatedPtrField<tensorflow::AssetFileDef>& ImportedGraph::asset_files()
    const {
  return impl_->asset_files;
}

namespace {

std::string ShapeString(const std::vector<int64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    out += (i ? ", " : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  }
  return out + "]";
}

// A value for a signature input: the TensorInfo's dtype (when set) and a
// shape compatible with its shape (when its rank is known).
Status CheckSignatureInput(const tensorflow::TensorInfo& info, const Tensor& value) {
  const DataType want = static_cast<DataType>(info.dtype());
  if (info.dtype() != tensorflow::DT_INVALID && value.dtype() != want) {
    return InvalidArgumentError("expects dtype " + std::string(DataTypeName(want)) +
                                ", the value is " + std::string(DataTypeName(value.dtype())));
  }
  if (!info.has_tensor_shape() || info.tensor_shape().unknown_rank()) return Status::OK();
  std::vector<int64_t> expected;
  for (const auto& dim : info.tensor_shape().dim()) expected.push_back(dim.size());
  const std::vector<int64_t>& actual = value.shape().dims();
  bool compatible = expected.size() == actual.size();
  for (size_t i = 0; compatible && i < expected.size(); ++i) {
    compatible = expected[i] < 0 || expected[i] == actual[i];
  }
  if (!compatible) {
    return InvalidArgumentError("expects shape " + ShapeString(expected) + ", the value is " +
                                ShapeString(actual));
  }
  return Status::OK();
}

}  // namespace

Result<ImportedGraph::SignatureRun> ImportedGraph::ResolveSignature(
    const std::string& key, std::vector<std::pair<std::string, Tensor>> inputs,
    const std::vector<std::string>& output_keys) const {
  CKPT_ASSIGN_OR_RETURN(const tensorflow::SignatureDef* sig, Signature(key));
  const std::string name = "signature '" + EscapeForDisplay(key) + "'";
  SignatureRun run;
  std::set<std::string> given;
  for (auto& [input_key, value] : inputs) {
    const std::string input = "input '" + EscapeForDisplay(input_key) + "'";
    auto info = sig->inputs().find(input_key);
    if (info == sig->inputs().end()) {
      return InvalidArgumentError(name + " has no " + input +
                                  "; its inputs: " + ListKeys(sig->inputs()));
    }
    if (!given.insert(input_key).second) {
      return InvalidArgumentError(name + ": " + input + " given more than once");
    }
    CKPT_ASSIGN_OR_RETURN(std::string tensor, DenseTensorName(info->second, input + " of " + name));
    Status s = CheckSignatureInput(info->second, value);
    if (!s.ok()) {
      return s.WithContext(name + ": " + input + " (tensor " + EscapeForDisplay(tensor) + ")");
    }
    run.feeds.emplace_back(std::move(tensor), std::move(value));
  }
  std::set<std::string> missing;
  std::set<std::string> defaulted;  // sorted, so the feeds' order is deterministic
  for (const auto& entry : sig->inputs()) {
    if (given.count(entry.first) > 0) continue;
    (sig->defaults().count(entry.first) > 0 ? defaulted : missing).insert(entry.first);
  }
  if (!missing.empty()) {
    std::string listed;
    for (const std::string& k : missing) {
      listed += (listed.empty() ? "'" : ", '") + EscapeForDisplay(k) + "'";
    }
    return InvalidArgumentError(name + (missing.size() > 1 ? ": inputs " : ": input ") + listed +
                                " not fed (no value given, no default)");
  }
  for (const std::string& input_key : defaulted) {
    const std::string input = "input '" + EscapeForDisplay(input_key) + "'";
    const tensorflow::TensorInfo& info = sig->inputs().at(input_key);
    const tensorflow::TensorProto& proto = sig->defaults().at(input_key);
    CKPT_ASSIGN_OR_RETURN(std::string tensor, DenseTensorName(info, input + " of " + name));
    const std::string where = name + ": the default of " + input;
    Result<TensorShape> shape = ShapeFromProto(proto.tensor_shape());
    if (!shape.ok()) return shape.status().WithContext(where);
    CKPT_ASSIGN_OR_RETURN(
        Tensor value, TensorFromProto(proto, static_cast<DataType>(proto.dtype()), *shape, where));
    Status s = CheckSignatureInput(info, value);
    if (!s.ok()) return s.WithContext(where + " (tensor " + EscapeForDisplay(tensor) + ")");
    run.feeds.emplace_back(std::move(tensor), std::move(value));
  }
  run.output_keys = output_keys;
  if (run.output_keys.empty()) {
    std::set<std::string> all;
    for (const auto& entry : sig->outputs()) all.insert(entry.first);
    run.output_keys.assign(all.begin(), all.end());
  }
  for (const std::string& output_key : run.output_keys) {
    const std::string output = "output '" + EscapeForDisplay(output_key) + "'";
    auto info = sig->outputs().find(output_key);
    if (info == sig->outputs().end()) {
      return InvalidArgumentError(name + " has no " + output +
                                  "; its outputs: " + ListKeys(sig->outputs()));
    }
    CKPT_ASSIGN_OR_RETURN(std::string tensor,
                          DenseTensorName(info->second, output + " of " + name));
    run.fetches.push_back(std::move(tensor));
  }
  return run;
}

Result<std::string> DenseTensorName(const tensorflow::TensorInfo& info, std::string_view what) {
  switch (info.encoding_case()) {
    case tensorflow::TensorInfo::kName:
      if (info.name().empty()) break;
      return info.name();
    case tensorflow::TensorInfo::kCooSparse:
      return UnimplementedError(std::string(what) +
                                " is a sparse tensor (coo_sparse); ckpt feeds and fetches only "
                                "dense tensors");
    case tensorflow::TensorInfo::kCompositeTensor:
      return UnimplementedError(std::string(what) +
                                " is a composite tensor (composite_tensor); ckpt feeds and "
                                "fetches only dense tensors");
    case tensorflow::TensorInfo::ENCODING_NOT_SET:
      break;
  }
  return InvalidArgumentError(std::string(what) + " names no tensor (its TensorInfo has no name)");
}

Result<std::shared_ptr<const ImportedGraph>> ImportMetaGraph(Env* env, const std::string& path) {
  CKPT_ASSIGN_OR_RETURN(tensorflow::MetaGraphDef meta, ReadMetaGraph(env, path));
  Result<std::shared_ptr<const ImportedGraph>> graph =
      ImportedGraph::FromMetaGraphDef(std::move(meta));
  if (!graph.ok()) return graph.status().WithContext("Importing '" + path + "'");
  return graph;
}

Result<std::shared_ptr<const ImportedGraph>> ImportGraphDef(Env* env, const std::string& path) {
  CKPT_ASSIGN_OR_RETURN(tensorflow::GraphDef graph_def, ReadGraphDef(env, path));
  Result<std::shared_ptr<const ImportedGraph>> graph =
      ImportedGraph::FromGraphDef(std::move(graph_def));
  if (!graph.ok()) return graph.status().WithContext("Importing '" + path + "'");
  return graph;
}

Result<std::shared_ptr<const ImportedGraph>> ImportSavedModel(
    Env* env, const std::string& path, const std::vector<std::string>& tags) {
  CKPT_ASSIGN_OR_RETURN(tensorflow::SavedModel model, ReadSavedModel(env, path));
  Result<const tensorflow::MetaGraphDef*> found = FindMetaGraph(model, tags);
  if (!found.ok()) {
    const std::set<std::string> wanted(tags.begin(), tags.end());
    std::string listed;
    for (const std::string& tag : wanted) listed += (listed.empty() ? "" : ", ") + tag;
    return NotFoundError("Could not find meta graph def matching supplied tags: { " + listed +
                         " }. To inspect available tag-sets in the SavedModel, please use the "
                         "SavedModel CLI: `saved_model_cli` or `ckpt savedmodel show` (file '" +
                         path + "': " + found.status().message() + ")");
  }
  // `model` is ours and dies here: move the chosen meta graph out of it.
  tensorflow::MetaGraphDef meta = std::move(const_cast<tensorflow::MetaGraphDef&>(**found));
  Result<std::shared_ptr<const ImportedGraph>> graph =
      ImportedGraph::FromMetaGraphDef(std::move(meta));
  if (!graph.ok()) return graph.status().WithContext("Importing '" + path + "'");
  return graph;
}

}  // namespace ckpt
