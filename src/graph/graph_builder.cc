// GraphBuilder and Const encoding (see ckpt/graph.h). The op registry and
// the checks of a node against its OpDef are graph/op_defs.{h,cc}.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <set>

#include "ckpt/graph.h"
#include "graph/op_defs.h"

namespace ckpt {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// TF's op-name rule: [A-Za-z0-9.][A-Za-z0-9_.\-/>]*
bool ValidNodeName(std::string_view name) {
  if (name.empty()) return false;
  auto first_ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.'; };
  auto rest_ok = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
           c == '/' || c == '>';
  };
  if (!first_ok(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), rest_ok);
}

tensorflow::DataType ToProtoType(DataType t) { return static_cast<tensorflow::DataType>(t); }

std::string TypeName(DataType t) { return std::string(DataTypeName(t)); }

tensorflow::AttrValue ClassAttr(const std::string& node) {
  return AttrStringList({"loc:@" + node});
}

}  // namespace

// ------------------------------------------------------------------ values

void PartialShape::ToProto(tensorflow::TensorShapeProto* proto) const {
  proto->Clear();
  if (unknown_rank) {
    proto->set_unknown_rank(true);
    return;
  }
  for (int64_t d : dims) proto->add_dim()->set_size(d);
}

std::string Output::input_name() const {
  return index == 0 ? node : node + ":" + std::to_string(index);
}
std::string Output::tensor_name() const { return node + ":" + std::to_string(index); }

tensorflow::VariableDef GraphVariable::ToVariableDef() const {
  tensorflow::VariableDef def;
  def.set_variable_name(ref.tensor_name());
  def.set_initializer_name(initializer);
  def.set_snapshot_name(read.tensor_name());
  def.set_initial_value_name(initial_value.tensor_name());
  def.set_trainable(trainable);
  def.set_aggregation(aggregation);
  return def;
}

tensorflow::AttrValue AttrType(DataType type) {
  tensorflow::AttrValue v;
  v.set_type(ToProtoType(type));
  return v;
}
tensorflow::AttrValue AttrTypeList(const std::vector<DataType>& types) {
  tensorflow::AttrValue v;
  auto* list = v.mutable_list();
  for (DataType t : types) list->add_type(ToProtoType(t));
  return v;
}
tensorflow::AttrValue AttrBool(bool b) {
  tensorflow::AttrValue v;
  v.set_b(b);
  return v;
}
tensorflow::AttrValue AttrInt(int64_t i) {
  tensorflow::AttrValue v;
  v.set_i(i);
  return v;
}
tensorflow::AttrValue AttrString(std::string s) {
  tensorflow::AttrValue v;
  v.set_s(std::move(s));
  return v;
}
tensorflow::AttrValue AttrShape(const PartialShape& shape) {
  tensorflow::AttrValue v;
  shape.ToProto(v.mutable_shape());
  return v;
}
tensorflow::AttrValue AttrStringList(const std::vector<std::string>& values) {
  tensorflow::AttrValue v;
  auto* list = v.mutable_list();
  for (const auto& s : values) list->add_s(s);
  return v;
}

// ----------------------------------------------------------------- builder

GraphBuilder::GraphBuilder() = default;
GraphBuilder::~GraphBuilder() = default;

const Status& GraphBuilder::status() const { return status_; }

GraphBuilder::ScopeGuard::ScopeGuard(ScopeGuard&& other) noexcept
    : b_(other.b_), previous_(std::move(other.previous_)) {
  other.b_ = nullptr;
}
GraphBuilder::ScopeGuard::~ScopeGuard() {
  if (b_ != nullptr) b_->scope_ = previous_;
}

GraphBuilder::ScopeGuard GraphBuilder::NameScope(std::string_view name) {
  std::string previous = scope_;
  if (name.empty()) {
    scope_.clear();
  } else if (name.back() == '/') {
    scope_ = std::string(name);
  } else {
    scope_ = UniqueName(name) + "/";
  }
  return ScopeGuard(this, std::move(previous));
}

std::string GraphBuilder::ResolveName(std::string_view name) {
  if (!name.empty() && name.back() == '/') return std::string(name.substr(0, name.size() - 1));
  return UniqueName(name);
}

void GraphBuilder::SetDevice(const std::string& node, std::string device) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) {
    Fail(InvalidArgumentError("SetDevice: no node '" + node + "'"));
    return;
  }
  graph_.mutable_node(it->second)->set_device(std::move(device));
}

std::string GraphBuilder::UniqueName(std::string_view base) {
  std::string name = scope_ + std::string(base);
  std::string key = Lower(name);
  int i = names_in_use_[key]++;
  if (i == 0) return name;
  const std::string base_key = key;
  while (names_in_use_.count(key)) {
    key = base_key + "_" + std::to_string(i);
    ++i;
  }
  names_in_use_[key] = 1;
  return name + "_" + std::to_string(i - 1);
}

Output GraphBuilder::Fail(Status s) {
  if (status_.ok()) status_ = std::move(s);
  return Output();
}

bool GraphBuilder::CheckInputs(std::string_view what, const std::vector<Output>& inputs) {
  for (const Output& in : inputs) {
    if (!in.valid()) {
      Fail(InvalidArgumentError(std::string(what) + ": an input is the result of a failed call"));
      return false;
    }
    if (!nodes_.count(in.node)) {
      Fail(InvalidArgumentError(std::string(what) + ": input node '" + in.node +
                                "' is not in the graph"));
      return false;
    }
  }
  return true;
}

tensorflow::NodeDef* GraphBuilder::AddNodeNamed(const std::string& full_name, std::string_view op,
                                                const std::vector<Output>& inputs, AttrMap attrs,
                                                std::vector<std::string> control_inputs,
                                                std::string device) {
  const std::string where = "node '" + full_name + "' (" + std::string(op) + ")";
  if (!status_.ok()) return nullptr;
  const tensorflow::OpDef* def = FindOpDef(op);
  if (def == nullptr) {
    Fail(InvalidArgumentError("op '" + std::string(op) + "' is not in ckpt's op registry"));
    return nullptr;
  }
  if (!ValidNodeName(full_name)) {
    Fail(InvalidArgumentError("'" + full_name + "' is not a valid node name"));
    return nullptr;
  }
  if (nodes_.count(full_name)) {
    Fail(InvalidArgumentError("duplicate node name '" + full_name + "'"));
    return nullptr;
  }
  if (!CheckInputs(where, inputs)) return nullptr;
  for (const std::string& c : control_inputs) {
    if (!nodes_.count(c)) {
      Fail(InvalidArgumentError(where + ": control input '" + c + "' is not in the graph"));
      return nullptr;
    }
  }

  if (Status bound = graph_internal::BindInputs(*def, inputs, where, &attrs); !bound.ok()) {
    Fail(std::move(bound));
    return nullptr;
  }
  if (Status checked = graph_internal::CheckAttrs(*def, where, &attrs); !checked.ok()) {
    Fail(std::move(checked));
    return nullptr;
  }

  std::sort(control_inputs.begin(), control_inputs.end());
  control_inputs.erase(std::unique(control_inputs.begin(), control_inputs.end()),
                       control_inputs.end());

  nodes_[full_name] = graph_.node_size();
  // A scope or op named like this node must get a new name, as in TF.
  names_in_use_.emplace(Lower(full_name), 1);
  tensorflow::NodeDef* node = graph_.add_node();
  node->set_name(full_name);
  node->set_op(std::string(op));
  for (const Output& in : inputs) node->add_input(in.input_name());
  for (const std::string& c : control_inputs) node->add_input("^" + c);
  if (!device.empty()) node->set_device(device);
  for (auto& [k, v] : attrs) (*node->mutable_attr())[k] = std::move(v);
  return node;
}

std::string GraphBuilder::AddOp(std::string_view op, std::string_view name,
                                const std::vector<Output>& inputs, AttrMap attrs,
                                std::vector<std::string> control_inputs, std::string device) {
  if (!status_.ok()) return "";
  auto* node = AddNodeNamed(ResolveName(name), op, inputs, std::move(attrs),
                            std::move(control_inputs), std::move(device));
  return node ? node->name() : "";
}

Output GraphBuilder::output(const std::string& node, int index, DataType dtype,
                            PartialShape shape) const {
  if (!nodes_.count(node)) return Output();
  Output out;
  out.node = node;
  out.index = index;
  out.dtype = dtype;
  out.shape = std::move(shape);
  return out;
}

void GraphBuilder::SetAttr(const std::string& node, const std::string& attr,
                           tensorflow::AttrValue value) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) {
    Fail(InvalidArgumentError("SetAttr: no node '" + node + "'"));
    return;
  }
  (*graph_.mutable_node(it->second)->mutable_attr())[attr] = std::move(value);
}

namespace {
Output MakeOutput(const tensorflow::NodeDef* node, int index, DataType dtype, PartialShape shape,
                  bool is_ref = false) {
  Output out;
  if (node == nullptr) return out;
  out.node = node->name();
  out.index = index;
  out.dtype = dtype;
  out.shape = std::move(shape);
  out.is_ref = is_ref;
  return out;
}
}  // namespace

Output GraphBuilder::Placeholder(DataType dtype, PartialShape shape, std::string_view name) {
  if (!status_.ok()) return Output();
  auto* node = AddNodeNamed(ResolveName(name), "Placeholder", {},
                            {{"dtype", AttrType(dtype)}, {"shape", AttrShape(shape)}}, {}, "");
  return MakeOutput(node, 0, dtype, shape);
}

Output GraphBuilder::PlaceholderWithDefault(const Output& input, PartialShape shape,
                                            std::string_view name) {
  if (!status_.ok()) return Output();
  auto* node = AddNodeNamed(ResolveName(name), "PlaceholderWithDefault", {input},
                            {{"dtype", AttrType(input.dtype)}, {"shape", AttrShape(shape)}}, {}, "");
  return MakeOutput(node, 0, input.dtype, shape);
}

Output GraphBuilder::Const(const Tensor& value, std::string_view name) {
  if (!status_.ok()) return Output();
  tensorflow::AttrValue v;
  Status s = TensorToProto(value, v.mutable_tensor());
  if (!s.ok()) return Fail(s);
  auto* node = AddNodeNamed(ResolveName(name), "Const", {},
                            {{"dtype", AttrType(value.dtype())}, {"value", std::move(v)}}, {}, "");
  return MakeOutput(node, 0, value.dtype(), PartialShape::Known(value.shape()));
}

Output GraphBuilder::Identity(const Output& input, std::string_view name,
                              std::vector<std::string> control_inputs) {
  if (!status_.ok()) return Output();
  auto* node = AddNodeNamed(ResolveName(name), "Identity", {input}, {{"T", AttrType(input.dtype)}},
                            std::move(control_inputs), "");
  return MakeOutput(node, 0, input.dtype, input.shape);
}

Output GraphBuilder::MatMul(const Output& a, const Output& b, bool transpose_a, bool transpose_b,
                            std::string_view name) {
  if (!status_.ok()) return Output();
  if (!CheckInputs("MatMul", {a, b})) return Output();
  PartialShape shape = PartialShape::Unknown();
  auto known2 = [](const PartialShape& s) { return !s.unknown_rank; };
  if (known2(a.shape) && a.shape.dims.size() != 2) {
    return Fail(InvalidArgumentError("MatMul: input a must be a matrix"));
  }
  if (known2(b.shape) && b.shape.dims.size() != 2) {
    return Fail(InvalidArgumentError("MatMul: input b must be a matrix"));
  }
  if (known2(a.shape) && known2(b.shape)) {
    const int64_t inner_a = a.shape.dims[transpose_a ? 0 : 1];
    const int64_t inner_b = b.shape.dims[transpose_b ? 1 : 0];
    if (inner_a >= 0 && inner_b >= 0 && inner_a != inner_b) {
      return Fail(InvalidArgumentError("MatMul: inner dimensions differ (" +
                                       std::to_string(inner_a) + " vs " +
                                       std::to_string(inner_b) + ")"));
    }
    shape = PartialShape{a.shape.dims[transpose_a ? 1 : 0], b.shape.dims[transpose_b ? 0 : 1]};
  }
  auto* node = AddNodeNamed(ResolveName(name), "MatMul", {a, b},
                            {{"T", AttrType(a.dtype)},
                             {"transpose_a", AttrBool(transpose_a)},
                             {"transpose_b", AttrBool(transpose_b)}},
                            {}, "");
  return MakeOutput(node, 0, a.dtype, shape);
}

Output GraphBuilder::BiasAdd(const Output& value, const Output& bias, std::string_view name) {
  if (!status_.ok()) return Output();
  if (!CheckInputs("BiasAdd", {value, bias})) return Output();
  if (!bias.shape.unknown_rank && bias.shape.dims.size() != 1) {
    return Fail(InvalidArgumentError("BiasAdd: bias must be a vector"));
  }
  if (!value.shape.unknown_rank && !bias.shape.unknown_rank) {
    if (value.shape.dims.size() < 2) {
      return Fail(InvalidArgumentError("BiasAdd: value must have rank >= 2"));
    }
    const int64_t last = value.shape.dims.back();
    if (last >= 0 && bias.shape.dims[0] >= 0 && last != bias.shape.dims[0]) {
      return Fail(InvalidArgumentError("BiasAdd: bias length " + std::to_string(bias.shape.dims[0]) +
                                       " does not match the last dimension " +
                                       std::to_string(last)));
    }
  }
  auto* node = AddNodeNamed(ResolveName(name), "BiasAdd", {value, bias},
                            {{"T", AttrType(value.dtype)}}, {}, "");
  return MakeOutput(node, 0, value.dtype, value.shape);
}

Output GraphBuilder::UnaryT(std::string_view op, const Output& x, std::string_view name,
                            PartialShape shape) {
  if (!status_.ok()) return Output();
  auto* node = AddNodeNamed(ResolveName(name), op, {x}, {{"T", AttrType(x.dtype)}}, {}, "");
  return MakeOutput(node, 0, x.dtype, std::move(shape));
}

Output GraphBuilder::Relu(const Output& features, std::string_view name) {
  return UnaryT("Relu", features, name, features.shape);
}

Output GraphBuilder::Softmax(const Output& logits, std::string_view name) {
  if (!logits.shape.unknown_rank && logits.shape.dims.empty()) {
    return Fail(InvalidArgumentError("Softmax: logits must have rank >= 1"));
  }
  return UnaryT("Softmax", logits, name, logits.shape);
}

Output GraphBuilder::Unary(std::string_view op, const Output& x, std::string_view name) {
  if (!status_.ok()) return Output();
  // One input and one output typed by T, no other attr.
  const tensorflow::OpDef* def = FindOpDef(op);
  const bool unary = def != nullptr && def->input_arg_size() == 1 && def->output_arg_size() == 1 &&
                     def->input_arg(0).type_attr() == "T" && def->attr_size() == 1 &&
                     def->attr(0).name() == "T";
  if (!unary) {
    return Fail(InvalidArgumentError("Unary: '" + std::string(op) +
                                     "' is not a registered element-wise op of one input"));
  }
  if (!CheckInputs(op, {x})) return Output();
  return UnaryT(op, x, name.empty() ? op : name, x.shape);
}

Output GraphBuilder::LeakyRelu(const Output& features, float alpha, std::string_view name) {
  if (!status_.ok()) return Output();
  if (!CheckInputs("LeakyRelu", {features})) return Output();
  tensorflow::AttrValue a;
  a.set_f(alpha);
  auto* node = AddNodeNamed(ResolveName(name), "LeakyRelu", {features},
                            {{"T", AttrType(features.dtype)}, {"alpha", std::move(a)}}, {}, "");
  return MakeOutput(node, 0, features.dtype, features.shape);
}

Output GraphBuilder::Binary(std::string_view op, const Output& x, const Output& y,
                            std::string_view name) {
  if (!status_.ok()) return Output();
  static const std::set<std::string, std::less<>> kBinary = {"Add", "AddV2", "Sub", "Mul"};
  if (!kBinary.count(op)) {
    return Fail(InvalidArgumentError("Binary: '" + std::string(op) +
                                     "' is not one of Add, AddV2, Sub, Mul"));
  }
  if (!CheckInputs(op, {x, y})) return Output();
  // Numpy broadcasting where both ranks are known: a dim of 1 takes the
  // other side's; an unknown dim against a known one (not 1) is that one.
  PartialShape shape = PartialShape::Unknown();
  if (!x.shape.unknown_rank && !y.shape.unknown_rank) {
    const size_t rank = std::max(x.shape.dims.size(), y.shape.dims.size());
    shape.unknown_rank = false;
    shape.dims.assign(rank, 1);
    for (size_t i = 0; i < rank; ++i) {
      auto dim_of = [&](const PartialShape& s) -> int64_t {
        const size_t off = rank - s.dims.size();
        return i < off ? 1 : s.dims[i - off];
      };
      const int64_t a = dim_of(x.shape), b = dim_of(y.shape);
      if (a >= 0 && b >= 0 && a != b && a != 1 && b != 1) {
        return Fail(InvalidArgumentError(std::string(op) + ": shapes cannot broadcast (" +
                                         std::to_string(a) + " vs " + std::to_string(b) + ")"));
      }
      if (a == 1) {
        shape.dims[i] = b;
      } else if (b == 1) {
        shape.dims[i] = a;
      } else if (a < 0) {
        shape.dims[i] = b;
      } else {
        shape.dims[i] = a;
      }
    }
  }
  auto* node = AddNodeNamed(ResolveName(name.empty() ? op : name), op, {x, y},
                            {{"T", AttrType(x.dtype)}}, {}, "");
  return MakeOutput(node, 0, x.dtype, shape);
}

Output GraphBuilder::ConcatV2(const std::vector<Output>& values, int axis,
                              std::string_view name) {
  if (!status_.ok()) return Output();
  if (values.size() < 2) return Fail(InvalidArgumentError("ConcatV2: needs at least two values"));
  if (!CheckInputs("ConcatV2", values)) return Output();
  PartialShape shape = PartialShape::Unknown();
  if (!values[0].shape.unknown_rank) {
    const int rank = static_cast<int>(values[0].shape.dims.size());
    if (axis < -rank || axis >= rank) {
      return Fail(InvalidArgumentError("ConcatV2: axis " + std::to_string(axis) +
                                       " out of range for rank " + std::to_string(rank)));
    }
    const size_t a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
    shape = values[0].shape;
    for (size_t v = 1; v < values.size(); ++v) {
      const PartialShape& s = values[v].shape;
      if (s.unknown_rank || s.dims.size() != shape.dims.size()) {
        return Fail(InvalidArgumentError("ConcatV2: values must have the same rank"));
      }
      for (size_t i = 0; i < s.dims.size(); ++i) {
        if (i == a) {
          shape.dims[i] = shape.dims[i] < 0 || s.dims[i] < 0 ? -1 : shape.dims[i] + s.dims[i];
        } else if (shape.dims[i] < 0) {
          shape.dims[i] = s.dims[i];
        } else if (s.dims[i] >= 0 && s.dims[i] != shape.dims[i]) {
          return Fail(InvalidArgumentError("ConcatV2: dimension " + std::to_string(i) +
                                           " differs (" + std::to_string(shape.dims[i]) + " vs " +
                                           std::to_string(s.dims[i]) + ")"));
        }
      }
    }
  }
  // As TF: the op's name first, its axis Const under it.
  const std::string full = ResolveName(name);
  Output axis_const;
  {
    ScopeGuard g = NameScope(full + "/");
    axis_const = Const(Tensor::Scalar<int32_t>(axis), "axis");
  }
  std::vector<Output> inputs = values;
  inputs.push_back(axis_const);
  auto* node = AddNodeNamed(full, "ConcatV2", inputs,
                            {{"N", AttrInt(static_cast<int64_t>(values.size()))},
                             {"T", AttrType(values[0].dtype)},
                             {"Tidx", AttrType(DataType::kInt32)}},
                            {}, "");
  return MakeOutput(node, 0, values[0].dtype, shape);
}

Output GraphBuilder::ExpandDims(const Output& input, int axis, std::string_view name) {
  if (!status_.ok()) return Output();
  if (!CheckInputs("ExpandDims", {input})) return Output();
  PartialShape shape = PartialShape::Unknown();
  if (!input.shape.unknown_rank) {
    const int rank = static_cast<int>(input.shape.dims.size());
    if (axis < -rank - 1 || axis > rank) {
      return Fail(InvalidArgumentError("ExpandDims: axis " + std::to_string(axis) +
                                       " out of range for rank " + std::to_string(rank)));
    }
    const int a = axis < 0 ? axis + rank + 1 : axis;
    shape = input.shape;
    shape.dims.insert(shape.dims.begin() + a, 1);
  }
  const std::string full = ResolveName(name);
  Output dim;
  {
    ScopeGuard g = NameScope(full + "/");
    dim = Const(Tensor::Scalar<int32_t>(axis), "dim");
  }
  auto* node = AddNodeNamed(full, "ExpandDims", {input, dim},
                            {{"T", AttrType(input.dtype)}, {"Tdim", AttrType(DataType::kInt32)}},
                            {}, "");
  return MakeOutput(node, 0, input.dtype, shape);
}

Output GraphBuilder::ArgMax(const Output& input, int axis, DataType output_type,
                            std::string_view name) {
  if (!status_.ok()) return Output();
  if (!CheckInputs("ArgMax", {input})) return Output();
  PartialShape shape = PartialShape::Unknown();
  if (!input.shape.unknown_rank) {
    const int rank = static_cast<int>(input.shape.dims.size());
    if (axis < -rank || axis >= rank) {
      return Fail(InvalidArgumentError("ArgMax: axis " + std::to_string(axis) +
                                       " out of range for rank " + std::to_string(rank)));
    }
    shape.unknown_rank = false;
    const int a = axis < 0 ? axis + rank : axis;
    for (int i = 0; i < rank; ++i) {
      if (i != a) shape.dims.push_back(input.shape.dims[i]);
    }
  }
  // As TF: the op's name is taken first, its dimension Const lives under it.
  const std::string full = ResolveName(name);
  Output dim;
  {
    ScopeGuard g = NameScope(full + "/");
    dim = Const(Tensor::Scalar<int32_t>(axis), "dimension");
  }
  auto* node = AddNodeNamed(full, "ArgMax", {input, dim},
                            {{"T", AttrType(input.dtype)},
                             {"Tidx", AttrType(DataType::kInt32)},
                             {"output_type", AttrType(output_type)}},
                            {}, "");
  return MakeOutput(node, 0, output_type, shape);
}

Output GraphBuilder::Assign(const Output& ref, const Output& value, bool validate_shape,
                            bool use_locking, std::string_view name) {
  if (!status_.ok()) return Output();
  if (!CheckInputs("Assign", {ref, value})) return Output();
  auto* node = AddNodeNamed(ResolveName(name), "Assign", {ref, value},
                            {{"T", AttrType(ref.dtype)},
                             {"validate_shape", AttrBool(validate_shape)},
                             {"use_locking", AttrBool(use_locking)},
                             {"_class", ClassAttr(ref.node)},
                             {"_has_manual_control_dependencies", AttrBool(true)}},
                            {}, "");
  return MakeOutput(node, 0, ref.dtype, ref.shape, /*is_ref=*/true);
}

std::string GraphBuilder::NoOp(std::string_view name, std::vector<std::string> control_inputs) {
  return AddOp("NoOp", name, {}, {}, std::move(control_inputs));
}

Output GraphBuilder::StringJoin(const std::vector<Output>& inputs, std::string_view separator,
                                std::string_view name) {
  if (!status_.ok()) return Output();
  auto* node = AddNodeNamed(ResolveName(name), "StringJoin", inputs,
                            {{"N", AttrInt(static_cast<int64_t>(inputs.size()))},
                             {"separator", AttrString(std::string(separator))}},
                            {}, "");
  return MakeOutput(node, 0, DataType::kString, PartialShape::Unknown());
}

Output GraphBuilder::ShardedFilename(const Output& basename, const Output& shard,
                                     const Output& num_shards, std::string_view name) {
  if (!status_.ok()) return Output();
  auto* node = AddNodeNamed(ResolveName(name), "ShardedFilename", {basename, shard, num_shards},
                            {}, {}, "");
  return MakeOutput(node, 0, DataType::kString, PartialShape{});
}

Output GraphBuilder::Pack(const std::vector<Output>& values, int64_t axis, std::string_view name) {
  if (!status_.ok()) return Output();
  if (values.empty()) return Fail(InvalidArgumentError("Pack: no values"));
  PartialShape shape = PartialShape::Unknown();
  if (axis == 0 && !values[0].shape.unknown_rank) {
    shape.unknown_rank = false;
    shape.dims.push_back(static_cast<int64_t>(values.size()));
    for (int64_t d : values[0].shape.dims) shape.dims.push_back(d);
  }
  auto* node = AddNodeNamed(ResolveName(name), "Pack", values,
                            {{"N", AttrInt(static_cast<int64_t>(values.size()))},
                             {"T", AttrType(values[0].dtype)},
                             {"axis", AttrInt(axis)}},
                            {}, "");
  return MakeOutput(node, 0, values[0].dtype, shape);
}

std::string GraphBuilder::MergeV2Checkpoints(const Output& checkpoint_prefixes,
                                             const Output& destination_prefix,
                                             bool delete_old_dirs, std::string_view name) {
  return AddOp("MergeV2Checkpoints", name, {checkpoint_prefixes, destination_prefix},
               {{"delete_old_dirs", AttrBool(delete_old_dirs)}});
}

std::string GraphBuilder::SaveV2(const Output& prefix, const Output& tensor_names,
                                 const Output& shape_and_slices, const std::vector<Output>& tensors,
                                 std::string_view name) {
  std::vector<DataType> dtypes;
  std::vector<Output> inputs = {prefix, tensor_names, shape_and_slices};
  for (const Output& t : tensors) {
    dtypes.push_back(t.dtype);
    inputs.push_back(t);
  }
  return AddOp("SaveV2", name, inputs,
               {{"dtypes", AttrTypeList(dtypes)},
                {"_has_manual_control_dependencies", AttrBool(true)}});
}

std::vector<Output> GraphBuilder::RestoreV2(const Output& prefix, const Output& tensor_names,
                                            const Output& shape_and_slices,
                                            const std::vector<DataType>& dtypes,
                                            std::string_view name, std::string device) {
  std::string node = AddOp("RestoreV2", name, {prefix, tensor_names, shape_and_slices},
                           {{"dtypes", AttrTypeList(dtypes)}}, {}, std::move(device));
  std::vector<Output> outs;
  if (node.empty()) return outs;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    outs.push_back(output(node, static_cast<int>(i), dtypes[i]));
  }
  return outs;
}

void GraphBuilder::AddVariableToCollections(const GraphVariable& v, bool global_step) {
  const std::string bytes = v.ToVariableDef().SerializeAsString();
  AddBytesToCollection("variables", bytes);
  if (v.trainable) AddBytesToCollection("trainable_variables", bytes);
  if (global_step) AddBytesToCollection("global_step", bytes);
}

GraphVariable GraphBuilder::Variable(std::string_view name, const Tensor& initial_value,
                                     bool trainable) {
  GraphVariable v;
  if (!status_.ok()) return v;
  if (initial_value.dtype() == DataType::kInvalid) {
    Fail(InvalidArgumentError("Variable: the initial value is empty"));
    return v;
  }
  const std::string full = ResolveName(name);
  ScopeGuard g = NameScope(full + "/");
  Output init = Const(initial_value, "initial_value");
  const PartialShape shape = PartialShape::Known(initial_value.shape());
  auto* var = AddNodeNamed(full, "VariableV2", {},
                           {{"dtype", AttrType(initial_value.dtype())}, {"shape", AttrShape(shape)}},
                           {}, "");
  Output ref = MakeOutput(var, 0, initial_value.dtype(), shape, /*is_ref=*/true);
  return FinishVariable(full, ref, init, trainable, /*global_step=*/false);
}

GraphVariable GraphBuilder::GlobalStep() {
  for (const GraphVariable& v : variables_) {
    if (v.name == "global_step") return v;
  }
  GraphVariable v;
  if (!status_.ok()) return v;
  ScopeGuard root = NameScope("");
  const std::string full = UniqueName("global_step");
  if (full != "global_step") {
    Fail(InvalidArgumentError("GlobalStep: the name 'global_step' is taken"));
    return v;
  }
  Output zeros;
  {
    ScopeGuard g = NameScope("global_step/Initializer/");
    zeros = Const(Tensor::Scalar<int64_t>(0), "zeros");
  }
  if (!status_.ok()) return v;
  SetAttr(zeros.node, "_class", ClassAttr(full));
  auto* var = AddNodeNamed(full, "VariableV2", {},
                           {{"dtype", AttrType(DataType::kInt64)},
                            {"shape", AttrShape(PartialShape{})},
                            {"_class", ClassAttr(full)}},
                           {}, "");
  Output ref = MakeOutput(var, 0, DataType::kInt64, PartialShape{}, /*is_ref=*/true);
  ScopeGuard g = NameScope(full + "/");
  return FinishVariable(full, ref, zeros, /*trainable=*/false, /*global_step=*/true);
}

GraphVariable GraphBuilder::FinishVariable(const std::string& full, Output ref, Output init,
                                           bool trainable, bool global_step) {
  Output assign = Assign(ref, init, true, true, "Assign");
  Output read = Identity(ref, "read");
  if (!status_.ok()) return GraphVariable();
  SetAttr(read.node, "_class", ClassAttr(full));
  GraphVariable v;
  v.name = full;
  v.ref = ref;
  v.read = read;
  v.initial_value = init;
  v.initializer = assign.node;
  v.trainable = trainable;
  if (global_step) v.aggregation = tensorflow::VARIABLE_AGGREGATION_ONLY_FIRST_REPLICA;
  variables_.push_back(v);
  AddVariableToCollections(v, global_step);
  return v;
}

std::string GraphBuilder::GlobalVariablesInitializer(std::string_view name) {
  std::vector<std::string> deps;
  for (const GraphVariable& v : variables_) deps.push_back(v.initializer);
  return NoOp(name, std::move(deps));
}

void GraphBuilder::AddToCollection(const std::string& key, const std::string& node_name) {
  auto& c = collections_[key];
  if (c.kind_case() != tensorflow::CollectionDef::kNodeList &&
      c.kind_case() != tensorflow::CollectionDef::KIND_NOT_SET) {
    Fail(InvalidArgumentError("collection '" + key + "' is not a node list"));
    return;
  }
  c.mutable_node_list()->add_value(node_name);
}

void GraphBuilder::AddBytesToCollection(const std::string& key, std::string bytes) {
  auto& c = collections_[key];
  if (c.kind_case() != tensorflow::CollectionDef::kBytesList &&
      c.kind_case() != tensorflow::CollectionDef::KIND_NOT_SET) {
    Fail(InvalidArgumentError("collection '" + key + "' is not a bytes list"));
    return;
  }
  c.mutable_bytes_list()->add_value(std::move(bytes));
}

std::vector<std::string> GraphBuilder::UsedOps() const {
  std::set<std::string> ops;
  for (const auto& n : graph_.node()) ops.insert(n.op());
  return {ops.begin(), ops.end()};
}

// ------------------------------------------------------------ parse_example

namespace {

// TF's parsing_config names a default's Const "key_" + the key with every
// character outside [A-Za-z0-9_.\-/] replaced by '_'.
std::string DefaultConstName(const std::string& key) {
  std::string out = "key_";
  for (char c : key) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                      c == '-' || c == '/';
    out += keep ? c : '_';
  }
  return out;
}

int64_t KnownElements(const PartialShape& shape) {
  int64_t n = 1;
  for (int64_t d : shape.dims) n *= d;
  return n;
}

Tensor EmptyVector(DataType dtype) {
  return Tensor::Allocate(dtype, TensorShape({0})).value();
}

}  // namespace

Status GraphBuilder::CheckDenseFeatures(const Output& serialized,
                                        const std::vector<DenseFeature>& dense) const {
  if (serialized.dtype != DataType::kString) {
    return InvalidArgumentError("ParseExample: serialized has dtype " + TypeName(serialized.dtype) +
                                ", expected string");
  }
  if (dense.empty()) return InvalidArgumentError("ParseExample: no features to parse");
  std::set<std::string> keys;
  for (const DenseFeature& f : dense) {
    const std::string what = "ParseExample: feature '" + f.key + "'";
    if (!keys.insert(f.key).second) return InvalidArgumentError(what + " given twice");
    if (f.dtype != DataType::kFloat && f.dtype != DataType::kInt64 &&
        f.dtype != DataType::kString) {
      return InvalidArgumentError(what + " has dtype " + TypeName(f.dtype) +
                                  ", expected float, int64 or string");
    }
    const bool known = !f.shape.unknown_rank &&
                       std::all_of(f.shape.dims.begin(), f.shape.dims.end(),
                                   [](int64_t d) { return d >= 0; });
    if (!known) return InvalidArgumentError(what + " has a shape that is not fully known");
    if (!f.default_value) continue;
    if (f.default_value->dtype() != f.dtype) {
      return InvalidArgumentError(what + ": default has dtype " +
                                  TypeName(f.default_value->dtype()) + ", expected " +
                                  TypeName(f.dtype));
    }
    if (f.default_value->num_elements() != KnownElements(f.shape)) {
      return InvalidArgumentError(what + ": default has " +
                                  std::to_string(f.default_value->num_elements()) +
                                  " elements, the shape " + std::to_string(KnownElements(f.shape)));
    }
  }
  return Status::OK();
}

Output GraphBuilder::DenseDefault(const DenseFeature& f) {
  if (!f.default_value) return Const(EmptyVector(f.dtype), "Const");
  // As TF: the value as given, reshaped to the feature's shape.
  Output value = Const(*f.default_value, DefaultConstName(f.key));
  const std::string full = ResolveName("Reshape");
  Output shape;
  {
    ScopeGuard g = NameScope(full + "/");
    std::vector<int32_t> dims(f.shape.dims.begin(), f.shape.dims.end());
    shape = Const(Tensor::FromVector<int32_t>(TensorShape({static_cast<int64_t>(dims.size())}), dims),
                  "shape");
  }
  auto* node = AddNodeNamed(full, "Reshape", {value, shape},
                            {{"T", AttrType(f.dtype)}, {"Tshape", AttrType(DataType::kInt32)}}, {},
                            "");
  return MakeOutput(node, 0, f.dtype, f.shape);
}

std::vector<Output> GraphBuilder::ParseExample(const Output& serialized,
                                               const std::vector<DenseFeature>& dense,
                                               std::string_view name) {
  if (!status_.ok() || !CheckInputs("ParseExample", {serialized})) return {};
  if (Status s = CheckDenseFeatures(serialized, dense); !s.ok()) {
    Fail(s);
    return {};
  }
  // TF iterates over the keys sorted; the op's dense outputs follow.
  std::vector<size_t> order(dense.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return dense[a].key < dense[b].key; });

  const size_t slash = name.rfind('/');
  std::optional<ScopeGuard> scope;
  if (slash != std::string_view::npos) scope.emplace(NameScope(name.substr(0, slash)));
  const std::string_view op_name = slash == std::string_view::npos ? name : name.substr(slash + 1);

  std::vector<Output> inputs = {serialized};
  std::vector<Output> defaults;
  std::vector<std::string> keys;
  std::vector<DataType> types;
  tensorflow::AttrValue shapes;
  shapes.mutable_list();
  for (size_t i : order) {
    defaults.push_back(DenseDefault(dense[i]));
    keys.push_back(dense[i].key);
    types.push_back(dense[i].dtype);
    dense[i].shape.ToProto(shapes.mutable_list()->add_shape());
  }
  // The op's name scope is opened before its list inputs become Consts.
  const std::string full = ResolveName(op_name);
  {
    ScopeGuard g = NameScope(full + "/");
    const Tensor none = EmptyVector(DataType::kString);
    inputs.push_back(Const(none, "names"));
    inputs.push_back(Const(none, "sparse_keys"));
    inputs.push_back(Const(Tensor::FromStrings(TensorShape({static_cast<int64_t>(keys.size())}),
                                               keys).value(),
                           "dense_keys"));
    inputs.push_back(Const(none, "ragged_keys"));
  }
  inputs.insert(inputs.end(), defaults.begin(), defaults.end());
  auto* node = AddNodeNamed(full, "ParseExampleV2", inputs,
                            {{"Tdense", AttrTypeList(types)},
                             {"num_sparse", AttrInt(0)},
                             {"sparse_types", AttrTypeList({})},
                             {"ragged_value_types", AttrTypeList({})},
                             {"ragged_split_types", AttrTypeList({})},
                             {"dense_shapes", shapes}},
                            {}, "");
  if (node == nullptr) return {};
  std::vector<Output> outputs(dense.size());
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const DenseFeature& f = dense[order[pos]];
    PartialShape shape = PartialShape::Unknown();
    if (!serialized.shape.unknown_rank && serialized.shape.dims.size() <= 1) {
      shape = PartialShape(false, serialized.shape.dims);
      shape.dims.insert(shape.dims.end(), f.shape.dims.begin(), f.shape.dims.end());
    }
    outputs[order[pos]] = MakeOutput(node, static_cast<int>(pos), f.dtype, shape);
  }
  return outputs;
}

}  // namespace ckpt
