// The subgraph tf.compat.v1.train.Saver builds (see ckpt/meta_graph.h).
#include <algorithm>
#include <set>

#include "ckpt/meta_graph.h"

namespace ckpt {

SaverGraphOptions SaverGraphOptions::FromSaverOptions(const SaverOptions& options) {
  SaverGraphOptions out;
  out.max_to_keep = options.max_to_keep;
  out.keep_checkpoint_every_n_hours = static_cast<float>(options.keep_checkpoint_every_n_hours);
  out.sharded = options.sharded;
  return out;
}

Result<tensorflow::SaverDef> AddSaverSubgraph(GraphBuilder* graph,
                                              const std::vector<GraphVariable>& variables,
                                              const SaverGraphOptions& options) {
  if (graph == nullptr) return InvalidArgumentError("AddSaverSubgraph: null graph");
  if (!graph->status().ok()) return graph->status();
  if (options.sharded) {
    return UnimplementedError("AddSaverSubgraph: sharded Saver subgraphs are not supported");
  }
  if (variables.empty()) return InvalidArgumentError("No variables to save");
  if (options.max_to_keep < 0 || !(options.keep_checkpoint_every_n_hours > 0)) {
    return InvalidArgumentError("AddSaverSubgraph: bad max_to_keep or keep_checkpoint_every_n_hours");
  }
  // TF's BulkSaverBuilder saves in name order.
  std::vector<GraphVariable> vars = variables;
  std::sort(vars.begin(), vars.end(),
            [](const GraphVariable& a, const GraphVariable& b) { return a.name < b.name; });
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!vars[i].ref.valid() || !graph->HasNode(vars[i].ref.node)) {
      return InvalidArgumentError("AddSaverSubgraph: variable '" + vars[i].name +
                                  "' is not in the graph");
    }
    if (i > 0 && vars[i].name == vars[i - 1].name) {
      return InvalidArgumentError("AddSaverSubgraph: duplicate variable '" + vars[i].name + "'");
    }
  }

  GraphBuilder& g = *graph;
  GraphBuilder::ScopeGuard root = g.NameScope("");
  GraphBuilder::ScopeGuard scope = g.NameScope(options.name);

  // As in TF, an op's name is taken before the Consts created under it;
  // passing "<name>/" then creates the op under exactly that name.
  const std::string filename_name = g.UniqueName("filename");
  Output filename_input;
  {
    GraphBuilder::ScopeGuard s = g.NameScope(filename_name + "/");
    filename_input = g.Const(Tensor::StringScalar(options.default_filename), "input");
  }
  Output filename = g.PlaceholderWithDefault(filename_input, PartialShape{}, filename_name + "/");
  Output const_tensor = g.PlaceholderWithDefault(filename, PartialShape{}, "Const");

  std::vector<std::string> names;
  std::vector<DataType> dtypes;
  std::vector<Output> refs;
  for (const GraphVariable& v : vars) {
    names.push_back(v.name);
    dtypes.push_back(v.ref.dtype);
    refs.push_back(v.ref);
  }
  const TensorShape n_shape({static_cast<int64_t>(vars.size())});
  auto names_tensor = Tensor::FromStrings(n_shape, names);
  auto slices_tensor = Tensor::FromStrings(n_shape, std::vector<std::string>(vars.size()));
  if (!names_tensor.ok()) return names_tensor.status();
  if (!slices_tensor.ok()) return slices_tensor.status();

  const std::string save_name = g.UniqueName("SaveV2");
  Output save_names, save_slices;
  {
    GraphBuilder::ScopeGuard s = g.NameScope(save_name + "/");
    save_names = g.Const(*names_tensor, "tensor_names");
    save_slices = g.Const(*slices_tensor, "shape_and_slices");
  }
  const std::string save_op = g.SaveV2(const_tensor, save_names, save_slices, refs, save_name + "/");
  Output control_dep = g.Identity(const_tensor, "control_dependency", {save_op});
  if (!g.status().ok()) return g.status();
  g.SetAttr(control_dep.node, "_class", AttrStringList({"loc:@" + const_tensor.node}));

  // The restore side is pinned to the CPU, as TF does.
  const std::string cpu = "/device:CPU:0";
  const std::string restore_name = g.UniqueName("RestoreV2");
  Output restore_names, restore_slices;
  {
    GraphBuilder::ScopeGuard s = g.NameScope(restore_name + "/");
    restore_names = g.Const(*names_tensor, "tensor_names");
    restore_slices = g.Const(*slices_tensor, "shape_and_slices");
  }
  if (!g.status().ok()) return g.status();
  g.SetDevice(restore_names.node, cpu);
  g.SetDevice(restore_slices.node, cpu);
  std::vector<Output> restored =
      g.RestoreV2(const_tensor, restore_names, restore_slices, dtypes, restore_name + "/", cpu);
  std::vector<std::string> assigns;
  for (size_t i = 0; i < restored.size() && g.status().ok(); ++i) {
    restored[i].shape = vars[i].ref.shape;
    Output a = g.Assign(vars[i].ref, restored[i], true, true, "Assign");
    assigns.push_back(a.node);
  }
  const std::string restore_all = g.NoOp("restore_all", assigns);
  if (!g.status().ok()) return g.status();

  tensorflow::SaverDef def;
  def.set_filename_tensor_name(const_tensor.tensor_name());
  def.set_save_tensor_name(control_dep.tensor_name());
  def.set_restore_op_name(restore_all);
  def.set_max_to_keep(options.max_to_keep);
  def.set_sharded(false);
  def.set_keep_checkpoint_every_n_hours(options.keep_checkpoint_every_n_hours);
  def.set_version(tensorflow::SaverDef::V2);
  return def;
}

Result<tensorflow::SaverDef> AddSaverSubgraph(GraphBuilder* graph,
                                              const SaverGraphOptions& options) {
  if (graph == nullptr) return InvalidArgumentError("AddSaverSubgraph: null graph");
  return AddSaverSubgraph(graph, graph->variables(), options);
}

}  // namespace ckpt
