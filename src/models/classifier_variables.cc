// Checkpoint variables of the canned classifiers: TF's one-piece
// partitioned variables (saved with a whole-tensor slice spec), the
// optimizer's slots and non-slot variables under the keys TF's canned
// estimators give them, and the optimizer a config asks for.
#include "models/classifier_variables.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "ckpt/graph.h"

namespace ckpt {
namespace classifier_internal {
namespace {

// The slice spec TF's one-piece partitioned variables save with:
// "0,d0:0,d1" over the full shape.
TensorSlice WholeSlice(const TensorShape& shape) {
  std::vector<TensorSlice::Extent> extents;
  for (int64_t d : shape.dims()) extents.push_back({0, d});
  return TensorSlice(std::move(extents));
}

}  // namespace

SaveableTensor SlicedSaveable(const std::string& key, Tensor* t) {
  SaveableTensor s;
  s.name = key;
  s.tensor = t;
  s.full_shape = t->shape();
  s.slice = WholeSlice(t->shape());
  return s;
}

SaveableTensor PlainSaveable(const std::string& key, Tensor* t) {
  SaveableTensor s;
  s.name = key;
  s.tensor = t;
  return s;
}

// Optimizer slots and non-slot variables under TF's canned-estimator keys
// for a model whose variable scope is `scope`.
void AddOptimizerSaveables(const std::string& scope, Optimizer* optimizer, VarList* vars) {
  for (const Optimizer::SlotRef& slot : optimizer->slots()) {
    vars->push_back(
        SlicedSaveable(PartitionedSlotKey(scope, slot.var_name, slot.slot_name), slot.tensor));
  }
  for (const std::string& name : optimizer->non_slot_names()) {
    vars->push_back(PlainSaveable(scope + "/head/" + name, optimizer->GetNonSlot(name)));
  }
}

void SortByName(VarList* vars) {
  std::sort(vars->begin(), vars->end(),
            [](const SaveableTensor& a, const SaveableTensor& b) { return a.name < b.name; });
}

Result<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerFactory& factory,
                                                 const std::string& name, double learning_rate) {
  if (!factory) return Optimizer::Create(name, learning_rate);
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer, factory());
  if (optimizer == nullptr) return InvalidArgumentError("optimizer_fn returned no optimizer");
  return optimizer;
}

void DescribeOptimizerVariables(GraphBuilder* graph, const std::string& scope,
                                Optimizer* optimizer) {
  for (const Optimizer::SlotRef& slot : optimizer->slots()) {
    graph->Variable(PartitionedSlotKey(scope, slot.var_name, slot.slot_name), *slot.tensor,
                    /*trainable=*/false);
  }
  for (const std::string& name : optimizer->non_slot_names()) {
    graph->Variable(scope + "/head/" + name, *optimizer->GetNonSlot(name), /*trainable=*/false);
  }
}

}  // namespace classifier_internal

std::string PartitionedSlotKey(const std::string& scope, const std::string& var,
                               const std::string& slot_name) {
  const std::string partition = "/part_0";
  const std::string slot_op =
      (scope.empty() ? "" : scope + "/") + var + partition + "/" + slot_name;
  return var + "/" + slot_op.substr(var.size() + partition.size() + 1);
}

}  // namespace ckpt
