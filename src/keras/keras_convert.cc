// Conversion between Keras 3 weights files and TF2 object checkpoints. The
// correspondence (docs/format/keras_weights.md, "The correspondence") is
// decided in one place, DescribeCheckpoint and MatchGroups; the two
// directions only move values along it.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/bundle_writer.h"
#include "ckpt/escape.h"
#include "ckpt/keras_weights.h"
#include "ckpt/object_graph.h"

namespace ckpt {

namespace {

// The optimizer group of a weights file, and the optimizer's child holding
// all its variables in Keras order in an object checkpoint.
constexpr char kOptimizerOwner[] = "optimizer";
constexpr char kOptimizerChild[] = "optimizer";
constexpr char kOptimizerVariables[] = "_variables";

// The checkpoint side of the correspondence.
struct CheckpointModel {
  struct Layer {
    int node_id = 0;
    std::string path;        // the layer node's path, for messages
    std::vector<int> vars;   // variable node ids, in the layer's order
  };
  // Keras layer name -> layer; "" is the model's own variables.
  std::map<std::string, Layer> layers;
  std::vector<int> optimizer_vars;  // optimizer.variables order
  std::string optimizer_name;       // Keras name, e.g. "adam"
};

bool IsVariable(const ObjectGraphNode& node) {
  return node.FindAttribute(kVariableValueAttribute) != nullptr;
}

const ObjectGraphNode* Child(const ObjectGraph& graph, const ObjectGraphNode& node,
                             const std::string& name) {
  for (const ObjectGraphNode::Child& c : node.children) {
    if (c.local_name == name) return &graph.nodes()[c.node_id];
  }
  return nullptr;
}

// "inner/dense_1/kernel" -> "dense_1": a Keras 3 variable's path is its
// layer's name scope plus its own name.
std::string LayerNameOf(const std::string& full_name) {
  size_t last = full_name.rfind('/');
  if (last == std::string::npos || last == 0) return "";
  size_t before = full_name.rfind('/', last - 1);
  return full_name.substr(before == std::string::npos ? 0 : before + 1,
                          last - (before == std::string::npos ? 0 : before + 1));
}

Result<CheckpointModel> DescribeCheckpoint(const ObjectGraph& graph, const std::string& prefix,
                                           const std::string& model_name) {
  const ObjectGraphNode& root = graph.nodes()[0];
  const ObjectGraphNode* model = Child(graph, root, model_name);
  if (model == nullptr) {
    return NotFoundError(EscapeForDisplay(prefix) + ": the root has no child \"" +
                         EscapeForDisplay(model_name) +
                         "\" (the model of tf.train.Checkpoint(" + model_name + "=...))");
  }
  CheckpointModel out;

  // The optimizer: tf.train.Checkpoint(optimizer=...) or the compiled
  // model's own.
  const ObjectGraphNode* optimizer = Child(graph, root, kOptimizerChild);
  if (optimizer == nullptr) optimizer = Child(graph, *model, kOptimizerChild);
  if (optimizer != nullptr) {
    if (const ObjectGraphNode* list = Child(graph, *optimizer, kOptimizerVariables)) {
      std::vector<std::pair<int, int>> indexed;  // (index, node)
      for (const ObjectGraphNode::Child& c : list->children) {
        int index = 0;
        bool digits = !c.local_name.empty() && c.local_name.size() < 9;
        for (char ch : c.local_name) {
          if (ch < '0' || ch > '9') digits = false;
          else index = index * 10 + (ch - '0');
        }
        if (!digits) {
          return InvalidArgumentError(EscapeForDisplay(prefix) + ": optimizer list " + list->path +
                                      " has a child named \"" + EscapeForDisplay(c.local_name) +
                                      "\", expected 0, 1, ...");
        }
        indexed.emplace_back(index, c.node_id);
      }
      std::sort(indexed.begin(), indexed.end());
      for (size_t i = 0; i < indexed.size(); ++i) {
        if (indexed[i].first != static_cast<int>(i) || !IsVariable(graph.nodes()[indexed[i].second])) {
          return InvalidArgumentError(EscapeForDisplay(prefix) + ": optimizer list " + list->path +
                                      " is not variables numbered 0.." +
                                      std::to_string(indexed.size() - 1));
        }
        out.optimizer_vars.push_back(indexed[i].second);
      }
      if (!out.optimizer_vars.empty()) {
        const auto* attr = graph.nodes()[out.optimizer_vars[0]].FindAttribute(kVariableValueAttribute);
        out.optimizer_name = attr->full_name.substr(0, attr->full_name.find('/'));
      }
    }
  }

  // The model's variables: a depth-first walk from the model over children
  // in stored order, not entering the optimizer; each variable belongs to
  // the first object found holding it.
  std::set<int> visited;
  std::set<int> assigned;
  std::map<int, CheckpointModel::Layer> by_node;
  std::vector<int> order;
  std::vector<int> stack = {model->id};
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (!visited.insert(id).second) continue;
    const ObjectGraphNode& node = graph.nodes()[id];
    for (const ObjectGraphNode::Child& c : node.children) {
      const ObjectGraphNode& child = graph.nodes()[c.node_id];
      if (optimizer != nullptr && child.id == optimizer->id) continue;
      if (IsVariable(child) && assigned.insert(child.id).second) {
        auto [it, added] = by_node.try_emplace(id);
        if (added) {
          it->second.node_id = id;
          it->second.path = node.path.empty() ? "(root)" : node.path;
          order.push_back(id);
        }
        it->second.vars.push_back(child.id);
      }
    }
    for (auto c = node.children.rbegin(); c != node.children.rend(); ++c) {
      if (optimizer != nullptr && c->node_id == optimizer->id) continue;
      if (!visited.count(c->node_id)) stack.push_back(c->node_id);
    }
  }
  for (int id : order) {
    CheckpointModel::Layer& layer = by_node[id];
    std::string name;
    if (id != model->id) {
      name = LayerNameOf(graph.nodes()[layer.vars[0]].FindAttribute(kVariableValueAttribute)->full_name);
      if (name.empty()) {
        return InvalidArgumentError(EscapeForDisplay(prefix) + ": cannot tell the Keras layer of " +
                                    layer.path + " (its variable's name has no layer scope)");
      }
    }
    auto [it, added] = out.layers.try_emplace(name, layer);
    if (!added) {
      return InvalidArgumentError(EscapeForDisplay(prefix) + ": two objects hold variables of Keras layer \"" +
                                  EscapeForDisplay(name) + "\": " + it->second.path + " and " +
                                  layer.path + "; layers are matched by name, which must be unique");
    }
  }
  return out;
}

std::string Describe(const Tensor& t) {
  return std::string(DataTypeName(t.dtype())) + " " + t.shape().DebugString();
}
std::string Describe(DataType dtype, const TensorShape& shape) {
  return std::string(DataTypeName(dtype)) + " " + shape.DebugString();
}

std::string VarsPath(const KerasVarsGroup& group) {
  return group.owner.empty() ? "vars" : group.owner + "/vars";
}

// One weights-file variable and the checkpoint variable it corresponds to.
struct Pair {
  const KerasVarsGroup* group;
  size_t index;
  int node_id;
};

// Pairs every variable of `weights` with a checkpoint variable and checks
// that every checkpoint variable of the model was paired. The optimizer
// group is paired only when `include_optimizer` and both sides have one.
Result<std::vector<Pair>> MatchGroups(const KerasWeights& weights, const std::string& h5_path,
                                      const CheckpointModel& model, const std::string& prefix,
                                      bool include_optimizer) {
  std::vector<Pair> pairs;
  std::set<std::string> used;
  std::map<std::string, std::string> h5_names;  // layer name -> vars path
  for (const KerasVarsGroup& group : weights.groups) {
    if (group.vars.empty()) continue;
    const std::string where = EscapeForDisplay(h5_path) + ": " + VarsPath(group);
    if (group.owner == kOptimizerOwner) {
      if (!include_optimizer) continue;
      if (model.optimizer_vars.empty()) {
        return InvalidArgumentError(where + " holds " + std::to_string(group.vars.size()) +
                                    " optimizer variables, checkpoint " + EscapeForDisplay(prefix) +
                                    " has none (build the optimizer before writing it, or leave "
                                    "the optimizer out)");
      }
      if (model.optimizer_vars.size() != group.vars.size()) {
        return InvalidArgumentError(where + " holds " + std::to_string(group.vars.size()) +
                                    " optimizer variables, checkpoint " + EscapeForDisplay(prefix) +
                                    "'s optimizer " + std::to_string(model.optimizer_vars.size()));
      }
      for (size_t i = 0; i < group.vars.size(); ++i) pairs.push_back({&group, i, model.optimizer_vars[i]});
      continue;
    }
    std::string key;
    if (!group.owner.empty()) {
      if (!group.name) return InvalidArgumentError(where + ": no \"name\" attribute (the Keras layer name)");
      key = *group.name;
      auto [it, added] = h5_names.try_emplace(key, VarsPath(group));
      if (!added) {
        return InvalidArgumentError(EscapeForDisplay(h5_path) + ": " + it->second + " and " +
                                    VarsPath(group) + " both belong to a layer named \"" +
                                    EscapeForDisplay(key) + "\"; layers are matched by name");
      }
    }
    auto layer = model.layers.find(key);
    if (layer == model.layers.end()) {
      return NotFoundError(where + " (Keras layer \"" + EscapeForDisplay(key) +
                           "\") has no layer of that name in checkpoint " + EscapeForDisplay(prefix));
    }
    if (layer->second.vars.size() != group.vars.size()) {
      return InvalidArgumentError(where + " holds " + std::to_string(group.vars.size()) +
                                  " variables, checkpoint " + EscapeForDisplay(prefix) + "'s layer " +
                                  layer->second.path + " " + std::to_string(layer->second.vars.size()));
    }
    used.insert(key);
    for (size_t i = 0; i < group.vars.size(); ++i) pairs.push_back({&group, i, layer->second.vars[i]});
  }
  for (const auto& [name, layer] : model.layers) {
    if (!used.count(name)) {
      return NotFoundError("checkpoint " + EscapeForDisplay(prefix) + "'s layer " + layer.path +
                           " (Keras layer \"" + EscapeForDisplay(name) + "\", " +
                           std::to_string(layer.vars.size()) + " variables) has no vars group in " +
                           EscapeForDisplay(h5_path));
    }
  }
  return pairs;
}

Status CheckSame(const Tensor& value, DataType dtype, const TensorShape& shape,
                 const std::string& h5_where, const std::string& ckpt_where) {
  if (value.dtype() != dtype || value.shape() != shape) {
    return InvalidArgumentError(h5_where + " is " + Describe(value) + ", but " + ckpt_where + " is " +
                                Describe(dtype, shape));
  }
  return Status::OK();
}

}  // namespace

Status ObjectCheckpointToKerasWeights(const std::string& prefix, const std::string& h5_path,
                                      const KerasConvertOptions& options) {
  if (options.template_path.empty()) {
    return InvalidArgumentError("converting " + EscapeForDisplay(prefix) +
                                " to a Keras weights file needs a template: a .weights.h5 of the same "
                                "model (model.save_weights of a freshly built model)");
  }
  CKPT_ASSIGN_OR_RETURN(auto reader, ObjectCheckpointReader::Open(prefix));
  CKPT_ASSIGN_OR_RETURN(CheckpointModel model,
                        DescribeCheckpoint(reader->graph(), prefix, options.model_name));
  CKPT_ASSIGN_OR_RETURN(KerasWeights out, ReadKerasWeights(options.template_path));

  // The optimizer group comes from the checkpoint whenever it has one.
  if (options.include_optimizer && !model.optimizer_vars.empty()) {
    KerasVarsGroup* group = out.Find(kOptimizerOwner);
    if (group == nullptr) {
      out.groups.push_back({kOptimizerOwner, model.optimizer_name, {}});
      group = &out.groups.back();
    }
    if (group->vars.empty()) {
      for (int id : model.optimizer_vars) {
        CKPT_ASSIGN_OR_RETURN(Tensor value, reader->GetVariable(reader->graph().nodes()[id].path));
        group->vars.push_back(std::move(value));
      }
    }
  } else if (KerasVarsGroup* group = out.Find(kOptimizerOwner); group != nullptr) {
    if (!options.include_optimizer) group->vars.clear();
  }

  CKPT_ASSIGN_OR_RETURN(std::vector<Pair> pairs,
                        MatchGroups(out, options.template_path, model, prefix, options.include_optimizer));
  for (const Pair& p : pairs) {
    const ObjectGraphNode& node = reader->graph().nodes()[p.node_id];
    CKPT_ASSIGN_OR_RETURN(Tensor value, reader->GetVariable(node.path));
    Tensor& slot = const_cast<KerasVarsGroup*>(p.group)->vars[p.index];
    CKPT_RETURN_IF_ERROR(CheckSame(value, slot.dtype(), slot.shape(),
                                   "checkpoint " + EscapeForDisplay(prefix) + " variable " + node.path,
                                   "template " + EscapeForDisplay(options.template_path) + " " +
                                       VarsPath(*p.group) + "/" + std::to_string(p.index)));
    slot = std::move(value);
  }
  std::sort(out.groups.begin(), out.groups.end(),
            [](const KerasVarsGroup& a, const KerasVarsGroup& b) { return a.owner < b.owner; });
  return WriteKerasWeights(out, h5_path, {options.env, options.sync});
}

Status KerasWeightsToObjectCheckpoint(const std::string& h5_path, const std::string& prefix,
                                      const KerasConvertOptions& options) {
  if (options.template_path.empty()) {
    return InvalidArgumentError("converting " + EscapeForDisplay(h5_path) +
                                " to an object checkpoint needs a template: an object checkpoint of "
                                "the same model (tf.train.Checkpoint(model=fresh_model).write(...))");
  }
  CKPT_ASSIGN_OR_RETURN(KerasWeights weights, ReadKerasWeights(h5_path));
  CKPT_ASSIGN_OR_RETURN(auto reader, ObjectCheckpointReader::Open(options.template_path));
  if (reader->prefix() == prefix) {
    return InvalidArgumentError(EscapeForDisplay(prefix) + ": the output may not be the template itself");
  }
  CKPT_ASSIGN_OR_RETURN(CheckpointModel model,
                        DescribeCheckpoint(reader->graph(), reader->prefix(), options.model_name));
  CKPT_ASSIGN_OR_RETURN(std::vector<Pair> pairs,
                        MatchGroups(weights, h5_path, model, reader->prefix(), options.include_optimizer));

  // checkpoint key -> new value.
  std::map<std::string, const Tensor*> values;
  for (const Pair& p : pairs) {
    const ObjectGraphNode& node = reader->graph().nodes()[p.node_id];
    const std::string& key = node.FindAttribute(kVariableValueAttribute)->checkpoint_key;
    CKPT_ASSIGN_OR_RETURN(Tensor old, reader->reader().GetTensor(key));
    const Tensor& value = p.group->vars[p.index];
    CKPT_RETURN_IF_ERROR(CheckSame(value, old.dtype(), old.shape(),
                                   EscapeForDisplay(h5_path) + ": " + VarsPath(*p.group) + "/" +
                                       std::to_string(p.index),
                                   "template " + EscapeForDisplay(reader->prefix()) + " variable " + node.path));
    values[key] = &value;
  }

  BundleWriterOptions writer_options;
  writer_options.env = options.env;
  writer_options.sync = options.sync;
  CKPT_ASSIGN_OR_RETURN(auto writer, BundleWriter::Create(prefix, writer_options));
  for (const VariableInfo& info : reader->reader().variables()) {
    auto it = values.find(info.name);
    if (it != values.end()) {
      CKPT_RETURN_IF_ERROR(writer->Add(info.name, *it->second));
    } else {
      CKPT_ASSIGN_OR_RETURN(Tensor kept, reader->reader().GetTensor(info.name));
      CKPT_RETURN_IF_ERROR(writer->Add(info.name, kept));
    }
  }
  return writer->Finish();
}

}  // namespace ckpt
