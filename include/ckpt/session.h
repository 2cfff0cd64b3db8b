// Session: runs an imported TensorFlow graph (graph_import.h), like a TF1
// tf.compat.v1.Session: Run(feeds, fetches, targets) executes only the
// subgraph the fetches and targets need (pruned at the feeds), and Restore
// loads the variables the graph's own Saver (its SaverDef) restores.
//
// Preparation happens before any work: every node a run needs must be one the
// session handles itself (Placeholder, PlaceholderWithDefault, Const,
// Identity, IdentityN, NoOp, VariableV2 (and pre-1.0 Variable), VarHandleOp,
// ReadVariableOp, Assign, AssignVariableOp) or have a kernel
// (src/ops/kernel.h); otherwise Run fails with Unimplemented naming the op,
// the node and the fetch that needs it, and nothing runs.
//
// Variables live in the session (one value per VariableV2 node name, or per
// VarHandleOp shared_name), set by Restore or by running Assign /
// AssignVariableOp nodes (e.g. the target "init" of
// tf.compat.v1.global_variables_initializer()); reading one that was never set
// is FailedPrecondition.
//
// Thread safety: a Session is used from one thread at a time.
#ifndef CKPT_SESSION_H_
#define CKPT_SESSION_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/graph_import.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

struct SessionOptions {
  // Checkpoint IO in Restore. Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
};

class Session {
 public:
  // REQUIRES: graph non-null. The session shares ownership of the graph.
  static Result<std::unique_ptr<Session>> Create(std::shared_ptr<const ImportedGraph> graph,
                                                 SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Feeds are (tensor name, value) pairs and override any tensor of the
  // graph; fetches are tensor names ("y:0" or "y"), returned in order;
  // targets are node names run for their effects. Errors: InvalidArgument
  // for a malformed name, a fed value of the wrong dtype, or an unfed
  // Placeholder ("You must feed a value for placeholder tensor 'x' with
  // dtype float and shape [?,4]"); NotFound for a name not in the graph;
  // Unimplemented for an op without a kernel; FailedPrecondition for an
  // uninitialized variable; a kernel's error with the node's name.
  Result<std::vector<Tensor>> Run(const std::vector<std::pair<std::string, Tensor>>& feeds,
                                  const std::vector<std::string>& fetches,
                                  const std::vector<std::string>& targets = {});

  // Loads every variable the graph's SaverDef restores from the checkpoint at
  // `prefix` (anything CheckpointReader::Open accepts), each by its save
  // name. FailedPrecondition if the graph has no SaverDef; NotFound for a
  // missing key ("Key w not found in checkpoint"); InvalidArgument for a
  // dtype or shape that does not match the variable. Partitioned variables
  // ("w/part_0", ...) get their slice of the saved tensor. Nothing is
  // assigned unless every variable reads.
  Status Restore(const std::string& prefix);

  // The current value of a variable (VariableV2 name or VarHandleOp
  // shared_name). NotFound if it has none.
  Result<Tensor> VariableValue(const std::string& name) const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Every op type a Session can run (the ones it handles itself and those with
// a kernel), sorted. docs/graph_execution.md lists them with their limits.
std::vector<std::string> SupportedOpTypes();

}  // namespace ckpt

#endif  // CKPT_SESSION_H_
