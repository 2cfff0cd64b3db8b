// The restore plan of an imported Saver: which variable each of its restore
// ops assigns, from which checkpoint key. Read from the graph itself, as
// TF's Saver.from_proto does: the SaverDef's restore_op_name (e.g.
// "save/restore_all") depends, through NoOps, on Assign / AssignVariableOp
// nodes whose value is output i of a RestoreV2 node; its tensor_names and
// shape_and_slices Consts give output i's key and slice.
//
// Thread safety: pure function.
#ifndef CKPT_SRC_EXEC_RESTORE_PLAN_H_
#define CKPT_SRC_EXEC_RESTORE_PLAN_H_

#include <string>
#include <vector>

#include "ckpt/graph_import.h"
#include "ckpt/status.h"

namespace ckpt::exec {

struct RestoreItem {
  // The variable's key in the session's store: the VariableV2 node name, or
  // the VarHandleOp's shared_name (its node name if that is empty).
  std::string variable;
  // The VariableV2 / VarHandleOp node (its "dtype" and "shape" attrs).
  const tensorflow::NodeDef* variable_node = nullptr;
  // The checkpoint key ("dense/kernel") and slice spec ("" = whole).
  std::string save_name;
  std::string slice_spec;
};

// FailedPrecondition if the graph has no SaverDef; NotFound if its restore
// op is not in the graph; Unimplemented for restore ops other than RestoreV2
// (V1 Restore/RestoreSlice) and for assignments that are not to a variable
// node; InvalidArgument for malformed restore nodes. Items in the order the
// Assign nodes are found, one per variable.
Result<std::vector<RestoreItem>> BuildRestorePlan(const ImportedGraph& graph);

}  // namespace ckpt::exec

#endif  // CKPT_SRC_EXEC_RESTORE_PLAN_H_
