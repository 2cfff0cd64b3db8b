// Reading TF2 object-based checkpoints: key escaping, the decoded
// TrackableObjectGraph with a path for every node, and ObjectCheckpointReader.
//
// Paths follow TensorFlow's naming: a breadth-first walk from node 0 over
// children in stored order gives each node the first path that reaches it;
// slot variables, which are not children of anything, are then named
// "<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot>" in node order.
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/object_graph.h"
#include "tensorflow/core/protobuf/trackable_object_graph.pb.h"

namespace ckpt {
namespace {

constexpr char kAttributesSegment[] = ".ATTRIBUTES";
constexpr char kOptimizerSlotSegment[] = ".OPTIMIZER_SLOT";

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t pos = path.find('/', start);
    if (pos == std::string_view::npos) {
      out.push_back(path.substr(start));
      return out;
    }
    out.push_back(path.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string Join(const std::vector<std::string_view>& parts, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += '/';
    out.append(parts[i]);
  }
  return out;
}

}  // namespace

std::string EscapeLocalName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '.') {
      out += "..";
    } else if (c == '/') {
      out += ".S";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> UnescapeLocalName(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '.') {
      out += escaped[i];
      continue;
    }
    if (i + 1 < escaped.size() && escaped[i + 1] == '.') {
      out += '.';
    } else if (i + 1 < escaped.size() && escaped[i + 1] == 'S') {
      out += '/';
    } else {
      return InvalidArgumentError("Bad escaped local name \"" + std::string(escaped) +
                                  "\": '.' at offset " + std::to_string(i) +
                                  " must be followed by '.' or 'S'");
    }
    ++i;
  }
  return out;
}

std::string ObjectPath(const std::vector<std::string>& local_names) {
  std::string out;
  for (size_t i = 0; i < local_names.size(); ++i) {
    if (i > 0) out += '/';
    out += EscapeLocalName(local_names[i]);
  }
  return out;
}

std::string AttributeCheckpointKey(std::string_view object_path, std::string_view attribute) {
  std::string out(object_path);
  if (!out.empty()) out += '/';
  out += kAttributesSegment;
  out += '/';
  out += EscapeLocalName(attribute);
  return out;
}

std::string SlotVariablePath(std::string_view variable_path, std::string_view optimizer_path,
                             std::string_view slot_name) {
  std::string out(variable_path);
  out += '/';
  out += kOptimizerSlotSegment;
  out += '/';
  out.append(optimizer_path);
  out += '/';
  out += EscapeLocalName(slot_name);
  return out;
}

const ObjectGraphNode::Attribute* ObjectGraphNode::FindAttribute(std::string_view name) const {
  for (const Attribute& a : attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

Result<ObjectGraph> ObjectGraph::Parse(std::string_view serialized) {
  tensorflow::TrackableObjectGraph proto;
  if (!proto.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    return DataLossError("Object graph (" + std::to_string(serialized.size()) +
                         " bytes) is not a valid TrackableObjectGraph proto");
  }
  const int n = proto.nodes_size();
  if (n == 0) return DataLossError("Object graph has no nodes (expected a root at node 0)");
  auto check_id = [n](int id, int node, const char* what) -> Status {
    if (id < 0 || id >= n) {
      return DataLossError("Object graph node " + std::to_string(node) + " refers to " + what +
                           " node " + std::to_string(id) + ", but the graph has " +
                           std::to_string(n) + " nodes");
    }
    return Status::OK();
  };

  ObjectGraph graph;
  graph.nodes_.resize(n);
  for (int i = 0; i < n; ++i) {
    const auto& p = proto.nodes(i);
    ObjectGraphNode& node = graph.nodes_[i];
    node.id = i;
    for (const auto& c : p.children()) {
      CKPT_RETURN_IF_ERROR(check_id(c.node_id(), i, "child"));
      node.children.push_back({c.node_id(), c.local_name()});
    }
    for (const auto& a : p.attributes()) {
      node.attributes.push_back({a.name(), a.full_name(), a.checkpoint_key()});
    }
    for (const auto& s : p.slot_variables()) {
      CKPT_RETURN_IF_ERROR(check_id(s.original_variable_node_id(), i, "original variable"));
      CKPT_RETURN_IF_ERROR(check_id(s.slot_variable_node_id(), i, "slot variable"));
      node.slot_variables.push_back(
          {s.original_variable_node_id(), s.slot_name(), s.slot_variable_node_id()});
    }
    if (p.has_registered_saver()) {
      node.registered_saver =
          ObjectGraphNode::RegisteredSaver{p.registered_saver().name(),
                                           p.registered_saver().object_name()};
    }
    if (p.has_has_checkpoint_values()) {
      node.has_checkpoint_values = p.has_checkpoint_values().value();
    }
  }

  // Breadth-first over children: the first path to reach a node names it.
  std::deque<int> queue{0};
  graph.nodes_[0].reachable = true;
  while (!queue.empty()) {
    int id = queue.front();
    queue.pop_front();
    for (const auto& c : graph.nodes_[id].children) {
      ObjectGraphNode& child = graph.nodes_[c.node_id];
      if (child.reachable) continue;
      child.reachable = true;
      const std::string& parent = graph.nodes_[id].path;
      child.path = parent.empty() ? EscapeLocalName(c.local_name)
                                  : parent + "/" + EscapeLocalName(c.local_name);
      queue.push_back(c.node_id);
    }
  }
  // Then slot variables of reachable optimizers, in node order.
  for (int i = 0; i < n; ++i) {
    if (!graph.nodes_[i].reachable) continue;
    for (const auto& s : graph.nodes_[i].slot_variables) {
      ObjectGraphNode& slot = graph.nodes_[s.slot_variable_node_id];
      const ObjectGraphNode& original = graph.nodes_[s.original_variable_node_id];
      if (slot.reachable || !original.reachable) continue;
      slot.reachable = true;
      slot.path = SlotVariablePath(original.path, graph.nodes_[i].path, s.slot_name);
    }
  }
  return graph;
}

Result<const ObjectGraphNode*> ObjectGraph::Find(std::string_view path) const {
  std::vector<std::string_view> parts = SplitPath(path);
  const ObjectGraphNode* node = &nodes_[0];
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == kOptimizerSlotSegment) {
      // <variable>/.OPTIMIZER_SLOT/<optimizer path...>/<slot name>
      if (parts.size() < i + 3) {
        return NotFoundError("Object path \"" + std::string(path) +
                             "\": .OPTIMIZER_SLOT must be followed by an optimizer path "
                             "and a slot name");
      }
      std::string optimizer_path = Join(parts, i + 1, parts.size() - 1);
      CKPT_ASSIGN_OR_RETURN(const ObjectGraphNode* optimizer, Find(optimizer_path));
      CKPT_ASSIGN_OR_RETURN(std::string slot_name, UnescapeLocalName(parts.back()));
      for (const auto& s : optimizer->slot_variables) {
        if (s.original_variable_node_id == node->id && s.slot_name == slot_name) {
          return &nodes_[s.slot_variable_node_id];
        }
      }
      return NotFoundError("Object path \"" + std::string(path) + "\": optimizer \"" +
                           optimizer_path + "\" has no slot \"" + slot_name +
                           "\" for variable \"" + Join(parts, 0, i) + "\"");
    }
    CKPT_ASSIGN_OR_RETURN(std::string name, UnescapeLocalName(parts[i]));
    const ObjectGraphNode* next = nullptr;
    for (const auto& c : node->children) {
      if (c.local_name == name) {
        next = &nodes_[c.node_id];
        break;
      }
    }
    if (next == nullptr) {
      std::string at = Join(parts, 0, i);
      return NotFoundError("Object path \"" + std::string(path) + "\" not found in checkpoint: " +
                           (at.empty() ? std::string("the root") : "\"" + at + "\"") +
                           " has no child \"" + name + "\"");
    }
    node = next;
  }
  return node;
}

std::string ObjectGraph::DebugString() const {
  std::string out;
  for (const ObjectGraphNode& node : nodes_) {
    out += std::to_string(node.id) + " ";
    out += node.id == 0 ? "(root)" : node.reachable ? node.path : "(unreachable)";
    for (const auto& c : node.children) {
      out += " " + c.local_name + "->" + std::to_string(c.node_id);
    }
    for (const auto& a : node.attributes) {
      out += " [" + a.name + " " + a.full_name + " " + a.checkpoint_key + "]";
    }
    for (const auto& s : node.slot_variables) {
      out += " slot(" + std::to_string(s.original_variable_node_id) + "," + s.slot_name + ")->" +
             std::to_string(s.slot_variable_node_id);
    }
    out += "\n";
  }
  return out;
}

Result<std::unique_ptr<ObjectCheckpointReader>> ObjectCheckpointReader::Open(
    const std::string& path, CheckpointReaderOptions options) {
  CKPT_ASSIGN_OR_RETURN(auto reader, CheckpointReader::Open(path, options));
  if (!reader->HasTensor(kObjectGraphKey)) {
    return NotFoundError("Checkpoint " + reader->prefix() +
                         " is not object-based: it has no " + kObjectGraphKey +
                         " key (a TF1 name-based checkpoint; read it with CheckpointReader)");
  }
  CKPT_ASSIGN_OR_RETURN(Tensor t, reader->GetTensor(kObjectGraphKey));
  if (t.dtype() != DataType::kString || t.num_elements() != 1) {
    return DataLossError("Checkpoint " + reader->prefix() + ": " + kObjectGraphKey +
                         " is " + std::string(DataTypeName(t.dtype())) + " " +
                         t.shape().DebugString() + ", expected a string scalar");
  }
  auto graph = ObjectGraph::Parse(t.strings()[0]);
  if (!graph.ok()) return graph.status().WithContext("Checkpoint " + reader->prefix());
  return std::unique_ptr<ObjectCheckpointReader>(
      new ObjectCheckpointReader(std::move(reader), std::move(graph).value()));
}

std::vector<ObjectVariableInfo> ObjectCheckpointReader::Variables() const {
  std::map<std::string_view, const VariableInfo*> by_key;
  for (const VariableInfo& v : reader_->variables()) by_key.emplace(v.name, &v);
  std::vector<ObjectVariableInfo> out;
  for (const ObjectGraphNode& node : graph_.nodes()) {
    const auto* attr = node.FindAttribute(kVariableValueAttribute);
    if (attr == nullptr) continue;
    ObjectVariableInfo info;
    info.path = node.path;
    info.full_name = attr->full_name;
    info.checkpoint_key = attr->checkpoint_key;
    auto found = by_key.find(attr->checkpoint_key);
    if (found != by_key.end()) {
      info.dtype = found->second->dtype;
      info.shape = found->second->shape;
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<Tensor> ObjectCheckpointReader::GetAttribute(std::string_view path,
                                                    std::string_view attribute) const {
  CKPT_ASSIGN_OR_RETURN(const ObjectGraphNode* node, graph_.Find(path));
  const auto* attr = node->FindAttribute(attribute);
  if (attr == nullptr) {
    return NotFoundError("Object \"" + std::string(path) + "\" (node " +
                         std::to_string(node->id) + ") in checkpoint " + prefix() +
                         " has no attribute " + std::string(attribute));
  }
  return reader_->GetTensor(attr->checkpoint_key);
}

}  // namespace ckpt
