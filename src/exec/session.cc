// A Run in named phases:
//   1. ResolveFeeds / ResolveFetches: names parse and exist; feed dtypes and
//      shapes match their placeholders.
//   2. Prune (prune.h) from the unfed fetches and the targets.
//   3. CheckSupported: every node to run is the executor's own or has a
//      kernel, before anything runs.
//   4. Execute the nodes in order.
//   5. Collect the fetches.
// Phases 1-3 depend only on the names (feed names, fetches, targets) and the
// graph, except for the feeds' dtype/shape checks. Their result is a Plan:
// the steps in order, each with its kind (kernel pointer, variable slot),
// and each input resolved to a feed or to an earlier step's output. A Plan is
// cached per signature, so a repeated Run only checks the fed values and
// executes; a signature whose preparation fails is never cached, so its
// error is raised again on every call.
// Restore: BuildRestorePlan (restore_plan.h), read every value (a slice of
// its checkpoint tensor for partitioned variables), check it against its
// variable, then assign them all.
#include "ckpt/session.h"

#include <algorithm>
#include <map>
#include <new>
#include <set>
#include <unordered_map>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/tensor_slice.h"
#include "exec/const_value.h"
#include "exec/prune.h"
#include "exec/restore_plan.h"
#include "ops/kernel.h"

namespace ckpt {
namespace {

using tensorflow::NodeDef;

// A variable's value in the session. Slots are created (unset) when a plan
// first refers to the variable; only a set slot is a value.
struct VarSlot {
  std::string name;  // VariableV2 node name or VarHandleOp shared_name
  Tensor value;
  bool set = false;
};

// A value flowing between nodes: a tensor, or a reference to a variable in
// the store (VariableV2's ref output, VarHandleOp's handle), read on use.
struct Value {
  Tensor tensor;
  VarSlot* variable = nullptr;  // non-null for a reference
  // TF1 control flow: the untaken output of a Switch, and everything
  // computed from it, is dead (not run) until a Merge picks a live input.
  bool dead = false;
};

enum class StepKind {
  kAssign,       // Assign, AssignVariableOp
  kPlaceholder,  // an unfed Placeholder: always an error
  kNoOp,
  kConst,
  kVariable,     // VariableV2, Variable, VarHandleOp
  kPassThrough,  // PlaceholderWithDefault, Identity, ReadVariableOp
  kIdentityN,
  kSwitch,  // (data, pred) -> (output_false, output_true), one of them dead
  kMerge,   // the first live input and its index
  kKernel,
};

// Ops the executor runs itself; every other op needs a kernel.
const std::set<std::string>& ExecutorOps() {
  static const std::set<std::string> kOps = {"Placeholder", "PlaceholderWithDefault",
                                             "Const",       "Identity",
                                             "IdentityN",   "NoOp",
                                             "VariableV2",  "Variable",
                                             "VarHandleOp", "ReadVariableOp",
                                             "Assign",      "AssignVariableOp",
                                             "Switch",      "Merge"};
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
// does not admit the value (TF Python's wording for the shape). In graphs of
// GraphDef producer 21 and older a Placeholder's scalar shape attr means an
// unknown shape, as TF's Placeholder shape function reads it (TF 0.12's
// half_plus_two feeds a batch of tf.Examples to such a "scalar").
Status CheckFeed(const NodeDef& node, const std::string& name, const Tensor& value,
                 int producer) {
  if (node.op() != "Placeholder" && node.op() != "PlaceholderWithDefault") return Status::OK();
  const tensorflow::AttrValue* dtype = Attr(node, "dtype");
  if (dtype != nullptr && static_cast<DataType>(dtype->type()) != value.dtype()) {
    return InvalidArgumentError("Cannot feed value of dtype " +
                                std::string(DataTypeName(value.dtype())) + " for Tensor '" + name +
                                "', which has dtype " +
                                std::string(DataTypeName(static_cast<DataType>(dtype->type()))));
  }
  const tensorflow::AttrValue* shape = Attr(node, "shape");
  const bool legacy_unknown = node.op() == "Placeholder" && producer <= 21 && shape != nullptr &&
                              shape->shape().dim_size() == 0;
  if (shape != nullptr && !legacy_unknown && !ShapeCompatible(shape->shape(), value.shape())) {
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

// One input of a step or one fetch, resolved: a fed value, or output `index`
// of an earlier step. `name` is kept for the error when the step produced
// fewer outputs.
struct Source {
  int feed = -1;  // index into the Run's feeds, or -1
  int step = -1;  // index into Plan::steps, or -1 (not run: produces nothing)
  TensorName name;
};

// One node to run.
struct Step {
  const NodeDef* node = nullptr;
  StepKind kind = StepKind::kKernel;
  exec::KernelFn kernel = nullptr;
  std::vector<Source> inputs;        // data inputs, in order
  std::vector<int> control_steps;    // steps of its control inputs (a dead one kills it)
  VarSlot* variable = nullptr;       // kVariable
  const Tensor* constant = nullptr;  // kConst: its value in Impl::constants, once decoded
  exec::KernelContext ctx;           // kKernel: reused between runs
  // Epilogue fusion (FuseEpilogues): a Conv2D or MatMul whose output only a
  // BiasAdd reads (and, when fused too, that BiasAdd's output only a Relu)
  // is run at the last step of the chain, offered the bias and the Relu as
  // its epilogue (KernelContext::bias, relu).
  int fused_into = -1;      // producer or BiasAdd: the chain's last step; not run here
  int fused_producer = -1;  // the chain's last step: its Conv2D or MatMul
  int fused_bias = -1;      // ... and its BiasAdd (the step itself unless a Relu ends it)
};

// A feed's placeholder constraints, checked on every Run.
struct FeedCheck {
  const NodeDef* node = nullptr;
  const std::string* name = nullptr;  // as the caller spelled it (Plan::feed_names)
};

// Phases 1-3 for one (feed names, fetches, targets) signature.
struct Plan {
  std::vector<std::string> feed_names;
  std::vector<std::string> fetch_names;
  std::vector<std::string> targets;
  std::vector<FeedCheck> feed_checks;
  std::vector<Step> steps;
  std::vector<Source> fetches;
  std::vector<const NodeDef*> fetch_nodes;  // the reader named in a fetch's errors
  std::vector<std::vector<Value>> outputs;  // per step, during a run
  std::vector<char> dead;                   // per step, during a run: skipped as dead

  bool Matches(const std::vector<std::pair<std::string, Tensor>>& feeds,
               const std::vector<std::string>& fetches,
               const std::vector<std::string>& targets_) const {
    if (feeds.size() != feed_names.size() || fetches != fetch_names || targets_ != targets) {
      return false;
    }
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (feeds[i].first != feed_names[i]) return false;
    }
    return true;
  }
};

StepKind KindOf(const std::string& op) {
  if (op == "Assign" || op == "AssignVariableOp") return StepKind::kAssign;
  if (op == "Placeholder") return StepKind::kPlaceholder;
  if (op == "NoOp") return StepKind::kNoOp;
  if (op == "Const") return StepKind::kConst;
  // "Variable" is VariableV2's name in graphs written before TF 1.0.
  if (op == "VariableV2" || op == "Variable" || op == "VarHandleOp") return StepKind::kVariable;
  if (op == "PlaceholderWithDefault" || op == "Identity" || op == "ReadVariableOp") {
    return StepKind::kPassThrough;
  }
  if (op == "IdentityN") return StepKind::kIdentityN;
  if (op == "Switch") return StepKind::kSwitch;
  if (op == "Merge") return StepKind::kMerge;
  return StepKind::kKernel;
}

// Plans kept per session; the least recently used goes first.
constexpr size_t kMaxPlans = 64;

}  // namespace

struct Session::Impl {
  std::shared_ptr<const ImportedGraph> graph;
  SessionOptions options;
  std::map<std::string, VarSlot> variables;  // node-stable: plans point into it
  std::vector<std::unique_ptr<Plan>> plans;  // most recently used first
  // Const values decoded so far, by node (element addresses are stable).
  std::unordered_map<const NodeDef*, Tensor> constants;

  VarSlot* Slot(const std::string& name) {
    VarSlot& slot = variables[name];
    slot.name = name;
    return &slot;
  }

  // The tensor of a value, reading a referenced variable.
  Result<Tensor> Read(const Value& value, const NodeDef& reader) const {
    if (value.variable == nullptr) return value.tensor;
    if (!value.variable->set) {
      return FailedPreconditionError("Attempting to use uninitialized value " +
                                     value.variable->name + " (read by node '" + reader.name() +
                                     "'); restore a checkpoint first");
    }
    return value.variable->value;
  }

  Result<std::unique_ptr<Plan>> Prepare(const std::vector<std::pair<std::string, Tensor>>& feeds,
                                        const std::vector<std::string>& fetches,
                                        const std::vector<std::string>& targets);
  Status RunStep(Step& step, std::vector<Value>& inputs, std::vector<Value>* outputs);
  // A kernel step, offered the epilogue `bias` (+ `relu`) when bias is not
  // null; *applied says whether the kernel took it.
  Status RunKernel(Step& step, const std::vector<Value>& inputs, std::vector<Value>* outputs,
                   const Tensor* bias, bool relu, bool* applied);
  // A fused chain, at its last step `last` (see Step::fused_into).
  Status RunFused(Plan& plan, size_t last,
                  const std::vector<std::pair<std::string, Tensor>>& feeds);
  // Assign (ref variables) and AssignVariableOp (resource variables).
  Status RunAssign(const NodeDef& node, std::vector<Value>& inputs, std::vector<Value>* outputs);
  Result<std::vector<Tensor>> Execute(Plan& plan,
                                      const std::vector<std::pair<std::string, Tensor>>& feeds);
};

Status Session::Impl::RunAssign(const NodeDef& node, std::vector<Value>& inputs,
                                std::vector<Value>* outputs) {
  if (inputs.size() != 2 || inputs[0].variable == nullptr) {
    return InvalidArgumentError("Node '" + node.name() + "' (" + node.op() +
                                "): input 0 must be a variable and input 1 its new value");
  }
  CKPT_ASSIGN_OR_RETURN(Tensor value, Read(inputs[1], node));
  const tensorflow::AttrValue* validate = Attr(node, "validate_shape");
  VarSlot* var = inputs[0].variable;
  if (node.op() == "Assign" && (validate == nullptr || validate->b()) && var->set &&
      var->value.shape() != value.shape()) {
    return InvalidArgumentError("Assign requires shapes of both tensors to match. lhs shape= " +
                                var->value.shape().DebugString() + " rhs shape= " +
                                value.shape().DebugString() + " (node '" + node.name() + "')");
  }
  var->value = value;
  var->set = true;
  if (node.op() == "AssignVariableOp") return Status::OK();
  outputs->push_back(Value{std::move(value), nullptr});
  return Status::OK();
}

// A kernel whose scratch memory (im2col rows, index vectors) cannot be had
// fails the run with ResourceExhausted naming the node, as a tensor
// allocation that fails does; the process does not abort.
Status CallKernel(exec::KernelFn kernel, exec::KernelContext* ctx) {
  try {
    return kernel(ctx);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("Out of memory running node '" + ctx->node->name() + "' (" +
                                  ctx->node->op() + ")");
  }
}

Status Session::Impl::RunStep(Step& step, std::vector<Value>& inputs, std::vector<Value>* outputs) {
  const NodeDef& node = *step.node;
  switch (step.kind) {
    case StepKind::kAssign:
      return RunAssign(node, inputs, outputs);
    case StepKind::kPlaceholder:
      return PlaceholderNotFed(node);
    case StepKind::kNoOp:
      return Status::OK();
    case StepKind::kConst:
      if (step.constant == nullptr) {
        // Decoded once per session (shared by every plan; the tensor's
        // storage is shared with the runs' outputs, not copied).
        auto it = constants.find(&node);
        if (it == constants.end()) {
          CKPT_ASSIGN_OR_RETURN(Tensor value, exec::ConstValue(node));
          it = constants.emplace(&node, std::move(value)).first;
        }
        step.constant = &it->second;
      }
      outputs->push_back(Value{*step.constant, nullptr});
      return Status::OK();
    case StepKind::kVariable:
      outputs->push_back(Value{Tensor(), step.variable});
      return Status::OK();
    case StepKind::kPassThrough: {
      if (inputs.empty()) return InvalidArgumentError("Node '" + node.name() + "' has no input");
      CKPT_ASSIGN_OR_RETURN(Tensor value, Read(inputs[0], node));
      outputs->push_back(Value{std::move(value), nullptr});
      return Status::OK();
    }
    case StepKind::kIdentityN:
      for (const Value& input : inputs) {
        CKPT_ASSIGN_OR_RETURN(Tensor value, Read(input, node));
        outputs->push_back(Value{std::move(value), nullptr});
      }
      return Status::OK();
    case StepKind::kSwitch: {
      if (inputs.size() != 2) {
        return InvalidArgumentError("Switch '" + node.name() + "' needs 2 inputs");
      }
      CKPT_ASSIGN_OR_RETURN(Tensor pred, Read(inputs[1], node));
      if (pred.dtype() != DataType::kBool || pred.num_elements() != 1) {
        return InvalidArgumentError("The second input must be a scalar, but it has shape " +
                                    pred.shape().DebugString() + " (node '" + node.name() + "')");
      }
      CKPT_ASSIGN_OR_RETURN(Tensor data, Read(inputs[0], node));
      const bool taken = *pred.flat<bool>();
      outputs->resize(2);
      (*outputs)[taken ? 1 : 0].tensor = std::move(data);
      (*outputs)[taken ? 0 : 1].dead = true;
      return Status::OK();
    }
    case StepKind::kMerge:
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].dead) continue;
        CKPT_ASSIGN_OR_RETURN(Tensor value, Read(inputs[i], node));
        outputs->push_back(Value{std::move(value), nullptr});
        outputs->push_back(Value{Tensor::Scalar<int32_t>(static_cast<int32_t>(i)), nullptr});
        return Status::OK();
      }
      outputs->resize(2);
      (*outputs)[0].dead = (*outputs)[1].dead = true;
      return Status::OK();
    case StepKind::kKernel:
      break;
  }
  bool applied = false;
  return RunKernel(step, inputs, outputs, nullptr, false, &applied);
}

Status Session::Impl::RunKernel(Step& step, const std::vector<Value>& inputs,
                                std::vector<Value>* outputs, const Tensor* bias, bool relu,
                                bool* applied) {
  const NodeDef& node = *step.node;
  if (step.kernel == nullptr) {
    return InternalError("No kernel for op '" + node.op() + "' (node '" + node.name() + "')");
  }
  exec::KernelContext& ctx = step.ctx;
  ctx.node = &node;
  ctx.inputs.clear();
  ctx.outputs.clear();
  for (const Value& input : inputs) {
    CKPT_ASSIGN_OR_RETURN(Tensor tensor, Read(input, node));
    ctx.inputs.push_back(std::move(tensor));
  }
  ctx.bias = bias;
  ctx.relu = relu;
  ctx.epilogue_applied = false;
  Status status = CallKernel(step.kernel, &ctx);
  *applied = status.ok() && bias != nullptr && ctx.epilogue_applied;
  ctx.inputs.clear();  // the step keeps no tensors between runs
  ctx.bias = nullptr;
  if (status.ok()) {
    for (Tensor& t : ctx.outputs) outputs->push_back(Value{std::move(t), nullptr});
  }
  ctx.outputs.clear();
  return status;
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
  std::unordered_map<std::string, int> fed;  // canonical tensor name -> feed index
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
  for (size_t i = 0; i < feeds.size(); ++i) {
    const auto& [name, value] = feeds[i];
    CKPT_ASSIGN_OR_RETURN(const NodeDef* node, graph.GetNodeOfTensor(name));
    CKPT_ASSIGN_OR_RETURN(TensorName parsed, ParseTensorName(name));
    CKPT_RETURN_IF_ERROR(CheckFeed(*node, name, value, graph.graph_def().versions().producer()));
    if (!request.fed.emplace(parsed.ToString(), static_cast<int>(i)).second) {
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

// Where tensor `name` comes from: a feed, or a step that has run before.
Source Resolve(const RunRequest& request, const std::unordered_map<std::string, int>& step_of_node,
               TensorName name) {
  Source source;
  auto feed = request.fed.find(name.ToString());
  if (feed != request.fed.end()) {
    source.feed = feed->second;
  } else {
    auto step = step_of_node.find(name.node);
    if (step != step_of_node.end()) source.step = step->second;
  }
  source.name = std::move(name);
  return source;
}

}  // namespace

namespace {

// Finds the chains Conv2D/MatMul -> BiasAdd (NHWC) [-> Relu] in which each
// output has exactly one reader, the next step, and is not fetched, and
// marks them to run as one kernel call at their last step (Step::fused_into).
// The chain runs there because the bias may be computed after the producer:
// every input of the chain is ready at its last step.
void FuseEpilogues(Plan* plan) {
  std::vector<int> readers(plan->steps.size(), 0);
  auto count = [&](const Source& s) {
    if (s.step >= 0) ++readers[s.step];
  };
  for (const Step& step : plan->steps) {
    for (const Source& s : step.inputs) count(s);
  }
  for (const Source& s : plan->fetches) count(s);
  auto only_reader_is = [&](int producer, const Step& step) {
    return readers[producer] == 1 && !step.inputs.empty() && step.inputs[0].feed < 0 &&
           step.inputs[0].step == producer && step.inputs[0].name.index == 0;
  };
  for (size_t i = 0; i < plan->steps.size(); ++i) {
    Step& bias = plan->steps[i];
    if (bias.kind != StepKind::kKernel || bias.node->op() != "BiasAdd" || bias.inputs.size() != 2 ||
        bias.inputs[0].feed >= 0 || bias.inputs[0].step < 0) {
      continue;
    }
    const tensorflow::AttrValue* format = Attr(*bias.node, "data_format");
    if (format != nullptr && !format->s().empty() && format->s() != "NHWC") continue;
    const int producer = bias.inputs[0].step;
    Step& product = plan->steps[producer];
    if (product.kind != StepKind::kKernel ||
        (product.node->op() != "Conv2D" && product.node->op() != "MatMul") ||
        product.fused_into >= 0 || !only_reader_is(producer, bias)) {
      continue;
    }
    int last = static_cast<int>(i);
    for (size_t j = i + 1; j < plan->steps.size(); ++j) {
      const Step& relu = plan->steps[j];
      if (relu.kind == StepKind::kKernel && relu.node->op() == "Relu" && relu.inputs.size() == 1 &&
          only_reader_is(static_cast<int>(i), relu)) {
        last = static_cast<int>(j);
        break;
      }
    }
    product.fused_into = last;
    if (last != static_cast<int>(i)) bias.fused_into = last;
    plan->steps[last].fused_producer = producer;
    plan->steps[last].fused_bias = static_cast<int>(i);
  }
}

}  // namespace

Result<std::unique_ptr<Plan>> Session::Impl::Prepare(
    const std::vector<std::pair<std::string, Tensor>>& feeds,
    const std::vector<std::string>& fetches, const std::vector<std::string>& targets) {
  CKPT_ASSIGN_OR_RETURN(RunRequest request, ResolveRequest(*graph, feeds, fetches, targets));
  CKPT_ASSIGN_OR_RETURN(exec::PrunedGraph pruned,
                        exec::Prune(*graph, request.fed_names, request.roots));
  CKPT_RETURN_IF_ERROR(CheckSupported(pruned, request));

  auto plan = std::make_unique<Plan>();
  for (const auto& feed : feeds) plan->feed_names.push_back(feed.first);
  plan->fetch_names = fetches;
  plan->targets = targets;
  for (size_t i = 0; i < feeds.size(); ++i) {
    plan->feed_checks.push_back(
        FeedCheck{graph->GetNodeOfTensor(feeds[i].first).value(), &plan->feed_names[i]});
  }
  // A step's inputs come from steps before it (topological order), so a
  // step only sees the producers already numbered, as the name-keyed
  // executor saw only the outputs produced so far.
  std::unordered_map<std::string, int> step_of_node;
  plan->steps.resize(pruned.order.size());
  for (size_t i = 0; i < pruned.order.size(); ++i) {
    const NodeDef& node = *pruned.order[i];
    Step& step = plan->steps[i];
    step.node = &node;
    step.kind = KindOf(node.op());
    if (step.kind == StepKind::kKernel) step.kernel = exec::FindKernel(node.op());
    if (step.kind == StepKind::kVariable) {
      std::string name = node.name();
      if (node.op() == "VarHandleOp") {
        const tensorflow::AttrValue* shared = Attr(node, "shared_name");
        if (shared && !shared->s().empty()) name = shared->s();
      }
      step.variable = Slot(name);
    }
    for (const std::string& input : node.input()) {
      CKPT_ASSIGN_OR_RETURN(TensorName name, ParseTensorName(input, /*allow_control=*/true));
      if (name.is_control()) {
        auto control = step_of_node.find(name.node);
        if (control != step_of_node.end()) step.control_steps.push_back(control->second);
        continue;
      }
      step.inputs.push_back(Resolve(request, step_of_node, std::move(name)));
    }
    step_of_node[node.name()] = static_cast<int>(i);
  }
  for (TensorName& name : request.fetches) {
    plan->fetch_nodes.push_back(graph->FindNode(name.node));
    plan->fetches.push_back(Resolve(request, step_of_node, std::move(name)));
  }
  FuseEpilogues(plan.get());
  plan->outputs.resize(plan->steps.size());
  plan->dead.assign(plan->steps.size(), 0);
  return plan;
}

namespace {

// The value of a source: fed, or output of a step that has run; nullptr
// when the step produced no such output (LookupError says so).
const Value* Lookup(const Source& source, const std::vector<std::pair<std::string, Tensor>>& feeds,
                    const std::vector<std::vector<Value>>& outputs, Value* fed) {
  if (source.feed >= 0) {
    fed->tensor = feeds[source.feed].second;
    return fed;
  }
  if (source.step < 0 || source.name.index >= static_cast<int>(outputs[source.step].size())) {
    return nullptr;
  }
  return &outputs[source.step][source.name.index];
}

// InvalidArgument naming `user` (a node or a fetch) for an output the step lacks.
Status LookupError(const Source& source, const std::vector<std::vector<Value>>& outputs,
                   const std::string& user) {
  const size_t count = source.step < 0 ? 0 : outputs[source.step].size();
  return InvalidArgumentError(user + " reads '" + source.name.ToString() + "', but node '" +
                              source.name.node + "' produced " + std::to_string(count) +
                              " outputs");
}

// Clears a plan's per-run outputs on every exit, so no tensor outlives its run.
struct ClearOutputs {
  std::vector<std::vector<Value>>* outputs;
  ~ClearOutputs() {
    for (std::vector<Value>& o : *outputs) o.clear();
  }
};

}  // namespace

Status Session::Impl::RunFused(Plan& plan, size_t last,
                               const std::vector<std::pair<std::string, Tensor>>& feeds) {
  Step& end = plan.steps[last];
  const int producer = end.fused_producer, bias_at = end.fused_bias;
  Step& product = plan.steps[producer];
  Step& bias_step = plan.steps[bias_at];
  const bool relu = static_cast<int>(last) != bias_at;
  // Every input of the chain is ready here (steps before `last`); none is
  // dead, or `last` would be (the deadness of the chain flows through it).
  std::vector<Value> inputs;
  for (const Source& source : product.inputs) {
    Value fed;
    const Value* value = Lookup(source, feeds, plan.outputs, &fed);
    if (value == nullptr) {
      return LookupError(source, plan.outputs, "Node '" + product.node->name() + "'");
    }
    inputs.push_back(*value);
  }
  Value fed;
  const Value* bias_value = Lookup(bias_step.inputs[1], feeds, plan.outputs, &fed);
  if (bias_value == nullptr) {
    return LookupError(bias_step.inputs[1], plan.outputs, "Node '" + bias_step.node->name() + "'");
  }
  const Value bias_copy = *bias_value;
  CKPT_ASSIGN_OR_RETURN(Tensor bias, Read(bias_copy, *bias_step.node));
  bool applied = false;
  std::vector<Value>& product_out = plan.outputs[producer];
  CKPT_RETURN_IF_ERROR(RunKernel(product, inputs, &product_out, &bias, relu, &applied));
  if (applied) {
    plan.outputs[last] = std::move(product_out);
    product_out.clear();
    return Status::OK();
  }
  // Not taken (dtype, shape): the BiasAdd and Relu kernels, with their own
  // results and errors.
  if (product_out.empty()) {
    return InternalError("Node '" + product.node->name() + "' produced no output");
  }
  std::vector<Value> bias_inputs{product_out[0], bias_copy};
  CKPT_RETURN_IF_ERROR(RunStep(bias_step, bias_inputs, &plan.outputs[bias_at]));
  if (!relu) return Status::OK();
  if (plan.outputs[bias_at].empty()) {
    return InternalError("Node '" + bias_step.node->name() + "' produced no output");
  }
  std::vector<Value> relu_inputs{plan.outputs[bias_at][0]};
  return RunStep(end, relu_inputs, &plan.outputs[last]);
}

Result<std::vector<Tensor>> Session::Impl::Execute(
    Plan& plan, const std::vector<std::pair<std::string, Tensor>>& feeds) {
  ClearOutputs clear{&plan.outputs};
  // Phase 4: execute.
  std::vector<Value> inputs;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    Step& step = plan.steps[i];
    inputs.clear();
    // TF1 control flow: a dead data input (except into a Merge) or a dead
    // control input skips the step and makes all its outputs dead.
    bool dead = false;
    for (int c : step.control_steps) dead = dead || plan.dead[c];
    const bool merge = step.kind == StepKind::kMerge;
    for (const Source& source : step.inputs) {
      if (source.feed < 0 && source.step >= 0 && plan.dead[source.step]) {
        dead = dead || !merge;
        inputs.push_back(Value{Tensor(), nullptr, true});
        continue;
      }
      if (source.feed < 0 && source.step >= 0 && plan.steps[source.step].fused_into >= 0) {
        inputs.emplace_back();  // a fused chain's inner value: RunFused has it
        continue;
      }
      Value fed;
      const Value* value = Lookup(source, feeds, plan.outputs, &fed);
      if (value == nullptr) {
        return LookupError(source, plan.outputs, "Node '" + step.node->name() + "'");
      }
      dead = dead || (value->dead && !merge);
      inputs.push_back(*value);
    }
    plan.dead[i] = dead;
    if (dead || step.fused_into >= 0) continue;  // a fused step runs at the chain's end
    if (step.fused_producer >= 0) {
      CKPT_RETURN_IF_ERROR(RunFused(plan, i, feeds));
      continue;
    }
    CKPT_RETURN_IF_ERROR(RunStep(step, inputs, &plan.outputs[i]));
    const std::vector<Value>& produced = plan.outputs[i];
    plan.dead[i] = !produced.empty() && std::all_of(produced.begin(), produced.end(),
                                                    [](const Value& v) { return v.dead; });
  }
  inputs.clear();

  // Phase 5: the fetches, reading variables behind references.
  std::vector<Tensor> results;
  results.reserve(plan.fetches.size());
  for (size_t i = 0; i < plan.fetches.size(); ++i) {
    const Source& source = plan.fetches[i];
    Value fed;
    const Value* value = source.feed < 0 && source.step >= 0 && plan.dead[source.step]
                             ? nullptr
                             : Lookup(source, feeds, plan.outputs, &fed);
    if ((value == nullptr && source.feed < 0 && source.step >= 0 && plan.dead[source.step]) ||
        (value != nullptr && value->dead)) {
      return InvalidArgumentError("Retval[" + std::to_string(i) + "] does not have value: fetch '" +
                                  plan.fetch_names[i] + "' is on an untaken branch of a cond");
    }
    if (value == nullptr) {
      return LookupError(plan.fetches[i], plan.outputs, "Fetch '" + plan.fetch_names[i] + "'");
    }
    CKPT_ASSIGN_OR_RETURN(Tensor tensor, Read(*value, *plan.fetch_nodes[i]));
    results.push_back(std::move(tensor));
  }
  return results;
}

Result<std::vector<Tensor>> Session::Run(const std::vector<std::pair<std::string, Tensor>>& feeds,
                                         const std::vector<std::string>& fetches,
                                         const std::vector<std::string>& targets) {
  std::vector<std::unique_ptr<Plan>>& plans = impl_->plans;
  size_t hit = 0;
  while (hit < plans.size() && !plans[hit]->Matches(feeds, fetches, targets)) ++hit;
  if (hit < plans.size()) {
    // Cached: the names resolved before; the fed values are checked as
    // phase 1 checks them.
    std::rotate(plans.begin(), plans.begin() + static_cast<std::ptrdiff_t>(hit),
                plans.begin() + static_cast<std::ptrdiff_t>(hit) + 1);
    Plan& plan = *plans.front();
    for (size_t i = 0; i < feeds.size(); ++i) {
      CKPT_RETURN_IF_ERROR(
          CheckFeed(*plan.feed_checks[i].node, *plan.feed_checks[i].name, feeds[i].second,
                    impl_->graph->graph_def().versions().producer()));
    }
    return impl_->Execute(plan, feeds);
  }
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan, impl_->Prepare(feeds, fetches, targets));
  if (plans.size() >= kMaxPlans) plans.pop_back();
  plans.insert(plans.begin(), std::move(plan));
  return impl_->Execute(*plans.front(), feeds);
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
  for (auto& [name, value] : values) {
    VarSlot* slot = impl_->Slot(name);
    slot->value = std::move(value);
    slot->set = true;
  }
  return Status::OK();
}

Result<Tensor> Session::VariableValue(const std::string& name) const {
  auto it = impl_->variables.find(name);
  if (it == impl_->variables.end() || !it->second.set) {
    return NotFoundError("Variable '" + name + "' has no value in this session");
  }
  return it->second.value;
}

std::vector<std::string> SupportedOpTypes() {
  std::vector<std::string> out = exec::SupportedOps();
  for (const std::string& op : ExecutorOps()) out.push_back(op);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace ckpt
