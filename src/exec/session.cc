// A Run in named phases:
//   1. ResolveFeeds / ResolveFetches: names parse and exist; feed dtypes and
//      shapes match their placeholders.
//   2. Prune (prune.h) from the unfed fetches and the targets.
//   3. CheckSupported: every node to run is the executor's own or has a
//      kernel, before anything runs.
//   4. Execute the nodes in order; values flow by tensor name.
//   5. Collect the fetches.
// Restore: BuildRestorePlan (restore_plan.h), read every value (a slice of
// its checkpoint tensor for partitioned variables), check it against its
// variable, then assign them all.
#include "ckpt/session.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/tensor_slice.h"
#include "exec/const_value.h"
#include "ops/kernel.h"
#include "exec/prune.h"
#include "exec/restore_plan.h"

namespace ckpt {
namespace {

using tensorflow::NodeDef;

// A value flowing between nodes: a tensor, or a reference to a variable in
// the store (VariableV2's ref output, VarHandleOp's handle), read on use.
struct Value {
  Tensor tensor;
  std::string variable;  // non-empty for a reference
};

// Ops the executor runs itself; every other op needs a kernel.
const std::set<std::string>& ExecutorOps() {
  static const std::set<std::string> kOps = {"Placeholder", "PlaceholderWithDefault",
                                             "Const",       "Identity",
                                             "IdentityN",   "NoOp",
                                             "VariableV2",  "Variable",
                                             "VarHandleOp", "ReadVariableOp",
                                             "Assign",      "AssignVariableOp"};
  return kOps;
}

bool IsExecutorOp(const std::string& op) { return ExecutorOps().count(op) > 0; }

const tensorflow::AttrValue* Attr(const NodeDef& node, const std::string& name) {
  auto it = node.attr().find(name);
  return it == node.attr().end() ? nullptr : &it->second;
}

// TF's PartialTensorShape::DebugString: "[?,4]", "<unknown>".
std::string PartialShapeString(const tensorflow::TensorShapeProto& shape) {
  if (shape.unknown_rank()) return "<unknown>";
  std::string out = "[";
  for (int i = 0; i < shape.dim_size(); ++i) {
    if (i > 0) out += ",";
    out += shape.dim(i).size() < 0 ? "?" : std::to_string(shape.dim(i).size());
  }
  return out + "]";
}

bool ShapeCompatible(const tensorflow::TensorShapeProto& expected, const TensorShape& actual) {
  if (expected.unknown_rank()) return true;
  if (expected.dim_size() != actual.rank()) return false;
  for (int i = 0; i < actual.rank(); ++i) {
    if (expected.dim(i).size() >= 0 && expected.dim(i).size() != actual.dim(i)) return false;
  }
  return true;
}

// Phase 1 for one feed: InvalidArgument when a placeholder's dtype or shape
// does not admit the value (TF Python's wording for the shape).
Status CheckFeed(const NodeDef& node, const std::string& name, const Tensor& value) {
  if (node.op() != "Placeholder" && node.op() != "PlaceholderWithDefault") return Status::OK();
  const tensorflow::AttrValue* dtype = Attr(node, "dtype");
  if (dtype != nullptr && static_cast<DataType>(dtype->type()) != value.dtype()) {
    return InvalidArgumentError("Cannot feed value of dtype " +
                                std::string(DataTypeName(value.dtype())) + " for Tensor '" + name +
                                "', which has dtype " +
                                std::string(DataTypeName(static_cast<DataType>(dtype->type()))));
  }
  const tensorflow::AttrValue* shape = Attr(node, "shape");
  if (shape != nullptr && !ShapeCompatible(shape->shape(), value.shape())) {
    return InvalidArgumentError("Cannot feed value of shape " + value.shape().DebugString() +
                                " for Tensor '" + name + "', which has shape '" +
                                PartialShapeString(shape->shape()) + "'");
  }
  return Status::OK();
}

Status PlaceholderNotFed(const NodeDef& node) {
  const tensorflow::AttrValue* dtype = Attr(node, "dtype");
  const tensorflow::AttrValue* shape = Attr(node, "shape");
  std::string message = "You must feed a value for placeholder tensor '" + node.name() +
                        "' with dtype " +
                        std::string(DataTypeName(static_cast<DataType>(dtype ? dtype->type() : 0)));
  if (shape != nullptr && !shape->shape().unknown_rank()) {
    message += " and shape " + PartialShapeString(shape->shape());
  }
  return InvalidArgumentError(message);
}

// One RestoreV2 output: the whole tensor, or for a partitioned variable
// ("w/part_1" saved as slice "10 4 5,5:-" of "w") that slice of the full
// tensor, as the checkpoint reader assembles it.
Result<Tensor> ReadRestoreItem(const CheckpointReader& reader, const exec::RestoreItem& item) {
  CKPT_ASSIGN_OR_RETURN(Tensor full, reader.GetTensor(item.save_name));
  TensorShape full_shape;
  TensorSlice slice;
  bool has_slice = false;
  Status parsed = ParseShapeAndSlice(item.slice_spec, &full_shape, &slice, &has_slice);
  if (!parsed.ok()) {
    return parsed.WithContext("Restoring variable '" + item.variable + "'");
  }
  if (!has_slice) return full;
  if (full.shape() != full_shape) {
    return InvalidArgumentError("Restoring slice '" + item.slice_spec + "' of '" + item.save_name +
                                "' into variable '" + item.variable + "': the graph expects a " +
                                "full shape of " + full_shape.DebugString() +
                                ", the checkpoint holds " + full.shape().DebugString());
  }
  return ExtractSlice(full, slice);
}

}  // namespace

struct Session::Impl {
  std::shared_ptr<const ImportedGraph> graph;
  SessionOptions options;
  std::map<std::string, Tensor> variables;

  // The tensor of a value, reading a referenced variable.
  Result<Tensor> Read(const Value& value, const NodeDef& reader) const {
    if (value.variable.empty()) return value.tensor;
    auto it = variables.find(value.variable);
    if (it == variables.end()) {
      return FailedPreconditionError("Attempting to use uninitialized value " + value.variable +
                                     " (read by node '" + reader.name() +
                                     "'); restore a checkpoint first");
    }
    return it->second;
  }

  Result<std::vector<Value>> RunNode(const NodeDef& node, std::vector<Value> inputs);
  // Assign (ref variables) and AssignVariableOp (resource variables).
  Result<std::vector<Value>> RunAssign(const NodeDef& node, std::vector<Value> inputs);
};

Result<std::vector<Value>> Session::Impl::RunAssign(const NodeDef& node,
                                                    std::vector<Value> inputs) {
  if (inputs.size() != 2 || inputs[0].variable.empty()) {
    return InvalidArgumentError("Node '" + node.name() + "' (" + node.op() +
                                "): input 0 must be a variable and input 1 its new value");
  }
  CKPT_ASSIGN_OR_RETURN(Tensor value, Read(inputs[1], node));
  const tensorflow::AttrValue* validate = Attr(node, "validate_shape");
  auto old = variables.find(inputs[0].variable);
  if (node.op() == "Assign" && (validate == nullptr || validate->b()) && old != variables.end() &&
      old->second.shape() != value.shape()) {
    return InvalidArgumentError("Assign requires shapes of both tensors to match. lhs shape= " +
                                old->second.shape().DebugString() + " rhs shape= " +
                                value.shape().DebugString() + " (node '" + node.name() + "')");
  }
  variables[inputs[0].variable] = value;
  if (node.op() == "AssignVariableOp") return std::vector<Value>{};
  return std::vector<Value>{Value{std::move(value), ""}};
}

Result<std::vector<Value>> Session::Impl::RunNode(const NodeDef& node, std::vector<Value> inputs) {
  const std::string& op = node.op();
  if (op == "Assign" || op == "AssignVariableOp") return RunAssign(node, std::move(inputs));
  if (op == "Placeholder") return PlaceholderNotFed(node);
  if (op == "NoOp") return std::vector<Value>{};
  if (op == "Const") {
    CKPT_ASSIGN_OR_RETURN(Tensor value, exec::ConstValue(node));
    return std::vector<Value>{Value{std::move(value), ""}};
  }
  // "Variable" is VariableV2's name in graphs written before TF 1.0.
  if (op == "VariableV2" || op == "Variable")
    return std::vector<Value>{Value{Tensor(), node.name()}};
  if (op == "VarHandleOp") {
    const tensorflow::AttrValue* shared = Attr(node, "shared_name");
    std::string name = shared && !shared->s().empty() ? shared->s() : node.name();
    return std::vector<Value>{Value{Tensor(), std::move(name)}};
  }
  const bool pass_through =
      op == "PlaceholderWithDefault" || op == "Identity" || op == "ReadVariableOp";
  if (pass_through) {
    if (inputs.empty()) return InvalidArgumentError("Node '" + node.name() + "' has no input");
    CKPT_ASSIGN_OR_RETURN(Tensor value, Read(inputs[0], node));
    return std::vector<Value>{Value{std::move(value), ""}};
  }
  if (op == "IdentityN") {
    std::vector<Value> outputs;
    for (const Value& input : inputs) {
      CKPT_ASSIGN_OR_RETURN(Tensor value, Read(input, node));
      outputs.push_back(Value{std::move(value), ""});
    }
    return outputs;
  }
  exec::KernelFn kernel = exec::FindKernel(op);
  if (kernel == nullptr) {
    return InternalError("No kernel for op '" + op + "' (node '" + node.name() + "')");
  }
  exec::KernelContext ctx;
  ctx.node = &node;
  for (const Value& input : inputs) {
    CKPT_ASSIGN_OR_RETURN(Tensor tensor, Read(input, node));
    ctx.inputs.push_back(std::move(tensor));
  }
  CKPT_RETURN_IF_ERROR(kernel(&ctx));
  std::vector<Value> outputs;
  for (Tensor& t : ctx.outputs) outputs.push_back(Value{std::move(t), ""});
  return outputs;
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::Create(std::shared_ptr<const ImportedGraph> graph,
                                                 SessionOptions options) {
  if (graph == nullptr) return InvalidArgumentError("Session::Create: graph is null");
  auto impl = std::make_unique<Impl>();
  impl->graph = std::move(graph);
  impl->options = options;
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

namespace {

// Phase 1's result: the run's feeds, fetches and roots, resolved.
struct RunRequest {
  std::unordered_map<std::string, Value> fed;  // canonical tensor name -> value
  std::set<std::string> fed_names;
  std::vector<TensorName> fetches;
  std::vector<std::string> roots;        // node names: unfed fetches, then targets
  std::vector<std::string> root_labels;  // for errors: "fetch 'y:0'", "target 'train'"
};

Result<RunRequest> ResolveRequest(const ImportedGraph& graph,
                                  const std::vector<std::pair<std::string, Tensor>>& feeds,
                                  const std::vector<std::string>& fetches,
                                  const std::vector<std::string>& targets) {
  RunRequest request;
  for (const auto& [name, value] : feeds) {
    CKPT_ASSIGN_OR_RETURN(const NodeDef* node, graph.GetNodeOfTensor(name));
    CKPT_ASSIGN_OR_RETURN(TensorName parsed, ParseTensorName(name));
    CKPT_RETURN_IF_ERROR(CheckFeed(*node, name, value));
    if (!request.fed.emplace(parsed.ToString(), Value{value, ""}).second) {
      return InvalidArgumentError("Tensor '" + name + "' is fed more than once");
    }
    request.fed_names.insert(parsed.ToString());
  }
  for (const std::string& name : fetches) {
    CKPT_ASSIGN_OR_RETURN(const NodeDef* node, graph.GetNodeOfTensor(name));
    CKPT_ASSIGN_OR_RETURN(TensorName parsed, ParseTensorName(name));
    if (request.fed_names.count(parsed.ToString()) == 0) {
      request.roots.push_back(node->name());
      request.root_labels.push_back("fetch '" + name + "'");
    }
    request.fetches.push_back(std::move(parsed));
  }
  for (const std::string& target : targets) {
    if (graph.FindNode(target) == nullptr) {
      return NotFoundError("Target node '" + target + "' does not exist in this graph");
    }
    request.roots.push_back(target);
    request.root_labels.push_back("target '" + target + "'");
  }
  return request;
}

// Phase 3: Unimplemented for the first node ckpt cannot run.
Status CheckSupported(const exec::PrunedGraph& plan, const RunRequest& request) {
  for (size_t i = 0; i < plan.order.size(); ++i) {
    const NodeDef& node = *plan.order[i];
    if (IsExecutorOp(node.op()) || exec::FindKernel(node.op()) != nullptr) continue;
    return UnimplementedError("Op type '" + node.op() + "' of node '" + node.name() +
                              "' is not supported by ckpt (needed by " +
                              request.root_labels[plan.first_root[i]] + ")");
  }
  return Status::OK();
}

// The value of tensor `name`: fed, or output of a node that has run.
// InvalidArgument (naming `user` and `what`) for an output the node lacks.
Result<Value> Lookup(const RunRequest& request,
                     const std::unordered_map<std::string, std::vector<Value>>& outputs,
                     const TensorName& name, const std::string& user) {
  auto feed = request.fed.find(name.ToString());
  if (feed != request.fed.end()) return feed->second;
  auto produced = outputs.find(name.node);
  const size_t count = produced == outputs.end() ? 0 : produced->second.size();
  if (name.index >= static_cast<int>(count)) {
    return InvalidArgumentError(user + " reads '" + name.ToString() + "', but node '" + name.node +
                                "' produced " + std::to_string(count) + " outputs");
  }
  return produced->second[name.index];
}

}  // namespace

Result<std::vector<Tensor>> Session::Run(const std::vector<std::pair<std::string, Tensor>>& feeds,
                                         const std::vector<std::string>& fetches,
                                         const std::vector<std::string>& targets) {
  const ImportedGraph& graph = *impl_->graph;
  CKPT_ASSIGN_OR_RETURN(RunRequest request, ResolveRequest(graph, feeds, fetches, targets));
  CKPT_ASSIGN_OR_RETURN(exec::PrunedGraph plan,
                        exec::Prune(graph, request.fed_names, request.roots));
  CKPT_RETURN_IF_ERROR(CheckSupported(plan, request));

  // Phase 4: execute.
  std::unordered_map<std::string, std::vector<Value>> outputs;
  for (const NodeDef* node : plan.order) {
    std::vector<Value> inputs;
    for (const std::string& input : node->input()) {
      CKPT_ASSIGN_OR_RETURN(TensorName name, ParseTensorName(input, /*allow_control=*/true));
      if (name.is_control()) continue;
      CKPT_ASSIGN_OR_RETURN(Value value,
                            Lookup(request, outputs, name, "Node '" + node->name() + "'"));
      inputs.push_back(std::move(value));
    }
    CKPT_ASSIGN_OR_RETURN(outputs[node->name()], impl_->RunNode(*node, std::move(inputs)));
  }

  // Phase 5: the fetches, reading variables behind references.
  std::vector<Tensor> results;
  for (size_t i = 0; i < request.fetches.size(); ++i) {
    const TensorName& name = request.fetches[i];
    CKPT_ASSIGN_OR_RETURN(Value value,
                          Lookup(request, outputs, name, "Fetch '" + fetches[i] + "'"));
    CKPT_ASSIGN_OR_RETURN(Tensor tensor, impl_->Read(value, *graph.FindNode(name.node)));
    results.push_back(std::move(tensor));
  }
  return results;
}

Status Session::Restore(const std::string& prefix) {
  CKPT_ASSIGN_OR_RETURN(std::vector<exec::RestoreItem> plan, exec::BuildRestorePlan(*impl_->graph));
  CheckpointReaderOptions reader_options;
  reader_options.env = impl_->options.env;
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointReader> reader,
                        CheckpointReader::Open(prefix, reader_options));
  std::map<std::string, Tensor> values;
  for (const exec::RestoreItem& item : plan) {
    CKPT_ASSIGN_OR_RETURN(Tensor value, ReadRestoreItem(*reader, item));
    const tensorflow::AttrValue* dtype = Attr(*item.variable_node, "dtype");
    if (dtype != nullptr && static_cast<DataType>(dtype->type()) != value.dtype()) {
      return InvalidArgumentError("tensor_name = " + item.save_name + "; expected dtype " +
                                  std::string(DataTypeName(static_cast<DataType>(dtype->type()))) +
                                  " does not equal original dtype " +
                                  std::string(DataTypeName(value.dtype())) +
                                  " (restoring variable '" + item.variable + "')");
    }
    const tensorflow::AttrValue* shape = Attr(*item.variable_node, "shape");
    if (shape != nullptr && !ShapeCompatible(shape->shape(), value.shape())) {
      return InvalidArgumentError("Assign requires shapes of both tensors to match. lhs shape= " +
                                  PartialShapeString(shape->shape()) +
                                  " rhs shape= " + value.shape().DebugString() + " (variable '" +
                                  item.variable + "', checkpoint key '" + item.save_name + "')");
    }
    values[item.variable] = std::move(value);
  }
  for (auto& [name, value] : values) impl_->variables[name] = std::move(value);
  return Status::OK();
}

Result<Tensor> Session::VariableValue(const std::string& name) const {
  auto it = impl_->variables.find(name);
  if (it == impl_->variables.end()) {
    return NotFoundError("Variable '" + name + "' has no value in this session");
  }
  return it->second;
}

std::vector<std::string> SupportedOpTypes() {
  std::vector<std::string> out = exec::SupportedOps();
  for (const std::string& op : ExecutorOps()) out.push_back(op);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace ckpt
