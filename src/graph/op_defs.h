// The op registry behind GraphBuilder: TensorFlow 2.21's OpDefs for every op
// ckpt emits (FindOpDef and RegisteredOps in ckpt/graph.h are its public
// face), and the checks that bind a node's inputs and attrs to its OpDef as
// TensorFlow's graph construction does.
//
// Thread safety: the functions are reentrant; the registry is built once,
// on first use, and never changes.
#ifndef CKPT_SRC_GRAPH_OP_DEFS_H_
#define CKPT_SRC_GRAPH_OP_DEFS_H_

#include <string>
#include <vector>

#include "ckpt/graph.h"
#include "ckpt/status.h"

namespace ckpt::graph_internal {

// Matches `inputs` to def's input args in order: infers a number_attr (N)
// and a type_attr (T) that *attrs does not set, and checks ref-ness and
// dtypes. InvalidArgument, prefixed by `where` (the node, e.g.
// "node 'x' (MatMul)"), for too few or too many inputs, a non-ref input to a
// ref arg, or a dtype other than the arg's.
Status BindInputs(const tensorflow::OpDef& def, const std::vector<Output>& inputs,
                  const std::string& where, AttrMap* attrs);

// Checks *attrs against def's attrs and fills in the defaults.
// InvalidArgument, prefixed by `where`, for an attr the op does not have
// (internal "_" attrs aside), a missing attr without a default, a value
// outside allowed_values, or one below the attr's minimum.
Status CheckAttrs(const tensorflow::OpDef& def, const std::string& where, AttrMap* attrs);

}  // namespace ckpt::graph_internal

#endif  // CKPT_SRC_GRAPH_OP_DEFS_H_
