// Phases: find the restore op; walk its NoOp dependencies to the assignment
// nodes; for each, resolve the variable (input 0) and the restored value
// (input 1: output i of a RestoreV2), then read key and slice i from the
// RestoreV2's Const inputs.
#include "exec/restore_plan.h"

#include <map>
#include <set>

#include "exec/const_value.h"

namespace ckpt::exec {
namespace {

// Follows Identity nodes back from `input` to the tensor that produces it.
Result<TensorName> Producer(const ImportedGraph& graph, const std::string& input) {
  CKPT_ASSIGN_OR_RETURN(TensorName name, ParseTensorName(input));
  for (int hops = 0; hops < graph.num_nodes(); ++hops) {
    const tensorflow::NodeDef* node = graph.FindNode(name.node);
    if (node == nullptr || node->op() != "Identity" || node->input_size() == 0) return name;
    CKPT_ASSIGN_OR_RETURN(name, ParseTensorName(node->input(0)));
  }
  return InvalidArgumentError("Identity nodes form a cycle at '" + name.node + "'");
}

// The strings of a Const holding one string per RestoreV2 output.
Result<std::vector<std::string>> StringConst(const ImportedGraph& graph,
                                             const tensorflow::NodeDef& restore, int input) {
  if (restore.input_size() <= input) {
    return InvalidArgumentError("Restore node '" + restore.name() + "' has " +
                                std::to_string(restore.input_size()) + " inputs, expected 3");
  }
  CKPT_ASSIGN_OR_RETURN(TensorName name, Producer(graph, restore.input(input)));
  const tensorflow::NodeDef* node = graph.FindNode(name.node);
  if (node == nullptr || node->op() != "Const") {
    return UnimplementedError("Restore node '" + restore.name() + "': input " +
                              std::to_string(input) + " ('" + restore.input(input) +
                              "') is not a Const; computed checkpoint keys are not supported");
  }
  CKPT_ASSIGN_OR_RETURN(Tensor value, ConstValue(*node));
  if (value.dtype() != DataType::kString) {
    return InvalidArgumentError("Const node '" + node->name() + "' feeding restore node '" +
                                restore.name() + "' is not a string tensor");
  }
  return value.strings();
}

class PlanBuilder {
 public:
  explicit PlanBuilder(const ImportedGraph& graph) : graph_(graph) {}

  Status AddAssignment(const tensorflow::NodeDef& assign) {
    const std::string where = "Restore assignment '" + assign.name() + "'";
    if (assign.input_size() < 2) return InvalidArgumentError(where + " has fewer than 2 inputs");
    RestoreItem item;
    CKPT_RETURN_IF_ERROR(ResolveVariable(assign, &item));
    CKPT_ASSIGN_OR_RETURN(TensorName value, Producer(graph_, assign.input(1)));
    const tensorflow::NodeDef* restore = graph_.FindNode(value.node);
    if (restore == nullptr || restore->op() != "RestoreV2") {
      return UnimplementedError(where + ": its value comes from '" + value.node + "' (op '" +
                                (restore ? restore->op() : std::string("?")) +
                                "'); only RestoreV2 savers are supported so far");
    }
    CKPT_ASSIGN_OR_RETURN(const std::vector<std::string>* names, Strings(*restore, 1));
    CKPT_ASSIGN_OR_RETURN(const std::vector<std::string>* slices, Strings(*restore, 2));
    if (value.index >= static_cast<int>(names->size()) ||
        value.index >= static_cast<int>(slices->size())) {
      return InvalidArgumentError(where + ": restore output " + std::to_string(value.index) +
                                  " of '" + restore->name() + "' has no tensor name");
    }
    item.save_name = (*names)[value.index];
    item.slice_spec = (*slices)[value.index];
    if (seen_.insert(item.variable).second) items_.push_back(std::move(item));
    return Status::OK();
  }

  std::vector<RestoreItem> Finish() { return std::move(items_); }

 private:
  Status ResolveVariable(const tensorflow::NodeDef& assign, RestoreItem* item) {
    CKPT_ASSIGN_OR_RETURN(TensorName ref, Producer(graph_, assign.input(0)));
    const tensorflow::NodeDef* var = graph_.FindNode(ref.node);
    const bool ref_var = var && (var->op() == "VariableV2" || var->op() == "Variable");
    const bool resource_var = var && var->op() == "VarHandleOp";
    if (!ref_var && !resource_var) {
      return UnimplementedError("Restore assignment '" + assign.name() + "' assigns to '" +
                                ref.node + "', which is not a VariableV2 or VarHandleOp");
    }
    item->variable_node = var;
    item->variable = var->name();
    if (resource_var) {
      auto shared = var->attr().find("shared_name");
      if (shared != var->attr().end() && !shared->second.s().empty()) {
        item->variable = shared->second.s();
      }
    }
    return Status::OK();
  }

  Result<const std::vector<std::string>*> Strings(const tensorflow::NodeDef& restore, int input) {
    auto key = std::make_pair(restore.name(), input);
    auto it = strings_.find(key);
    if (it == strings_.end()) {
      CKPT_ASSIGN_OR_RETURN(std::vector<std::string> values, StringConst(graph_, restore, input));
      it = strings_.emplace(key, std::move(values)).first;
    }
    return &it->second;
  }

  const ImportedGraph& graph_;
  std::map<std::pair<std::string, int>, std::vector<std::string>> strings_;
  std::set<std::string> seen_;
  std::vector<RestoreItem> items_;
};

}  // namespace

Result<std::vector<RestoreItem>> BuildRestorePlan(const ImportedGraph& graph) {
  const tensorflow::SaverDef* saver = graph.saver_def();
  if (saver == nullptr) {
    return FailedPreconditionError(
        "The graph has no SaverDef (it was not exported with a tf.compat.v1.train.Saver); "
        "cannot restore through it");
  }
  CKPT_ASSIGN_OR_RETURN(TensorName root, ParseTensorName(saver->restore_op_name()));
  if (graph.FindNode(root.node) == nullptr) {
    return NotFoundError("The SaverDef's restore op '" + saver->restore_op_name() +
                         "' is not in the graph");
  }
  PlanBuilder plan(graph);
  std::vector<const tensorflow::NodeDef*> stack = {graph.FindNode(root.node)};
  std::set<const tensorflow::NodeDef*> visited;
  while (!stack.empty()) {
    const tensorflow::NodeDef* node = stack.back();
    stack.pop_back();
    if (!visited.insert(node).second) continue;
    if (node->op() == "Assign" || node->op() == "AssignVariableOp") {
      CKPT_RETURN_IF_ERROR(plan.AddAssignment(*node));
      continue;
    }
    if (node->op() != "NoOp") continue;  // restore_all and sharded restore_shard groups
    // Reverse so that the walk meets inputs in their listed order.
    for (int i = node->input_size() - 1; i >= 0; --i) {
      CKPT_ASSIGN_OR_RETURN(TensorName input, ParseTensorName(node->input(i), true));
      if (const tensorflow::NodeDef* dep = graph.FindNode(input.node)) stack.push_back(dep);
    }
  }
  return plan.Finish();
}

}  // namespace ckpt::exec
