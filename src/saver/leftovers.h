// Cleaning up after a save that crashed.
//
// A save that dies part-way leaves only files no reader trusts (see
// docs/format/commit.md): temporary bundle files ("*.tempstate<digits>"),
// temporary state files ("<state file>.tmp<digits>"), sharded-save
// temporary directories ("<prefix>_temp/" or "<prefix>_temp_<32 hex>/" holding
// "part-NNNNN-of-NNNNN" bundles), and a data file whose index was never
// published. CleanupLeftovers removes exactly those, in one directory, and
// nothing else.
#ifndef CKPT_SRC_SAVER_LEFTOVERS_H_
#define CKPT_SRC_SAVER_LEFTOVERS_H_

#include <string>
#include <vector>

#include "checkpoint/leftovers.h"  // FindLeftovers
#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

// Deletes what FindLeftovers finds (best effort: reports the first failure
// after trying all). Returns the paths deleted.
Result<std::vector<std::string>> CleanupLeftovers(Env* env, const std::string& dir,
                                                  const std::string& checkpoint_basename);

}  // namespace ckpt

#endif  // CKPT_SRC_SAVER_LEFTOVERS_H_
