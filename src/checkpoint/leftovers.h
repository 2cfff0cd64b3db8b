// Finding the leftovers of a save that crashed (internal to ckpt).
//
// A save that dies part-way leaves only files no reader trusts (see
// docs/format/commit.md): temporary bundle files ("*.tempstate<digits>"),
// temporary state files ("<state file>.tmp<digits>"), sharded-save
// temporary directories ("<prefix>_temp/" or "<prefix>_temp_<32 hex>/" holding
// only "part-NNNNN-of-NNNNN" bundles), and a data file whose index was never
// published. FindLeftovers lists exactly those in one directory; the saver
// module's CleanupLeftovers (src/saver/leftovers.h) deletes them, and
// `ckpt verify` reports them. It lives here, below the saver, so that
// checkpoint verification can use it.
#ifndef CKPT_SRC_CHECKPOINT_LEFTOVERS_H_
#define CKPT_SRC_CHECKPOINT_LEFTOVERS_H_

#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

// What CleanupLeftovers would delete in `dir`, without deleting it. Paths are
// JoinPath(dir, name); a temporary directory is listed after its files, with
// a trailing '/'. `checkpoint_basename` (e.g. "model.ckpt" or "ckpt") selects
// which orphan data files ("<basename>-<digits>.data-NNNNN-of-NNNNN" with no
// ".index") count as leftovers; empty = none.
Result<std::vector<std::string>> FindLeftovers(Env* env, const std::string& dir,
                                               const std::string& checkpoint_basename);

}  // namespace ckpt

#endif  // CKPT_SRC_CHECKPOINT_LEFTOVERS_H_
