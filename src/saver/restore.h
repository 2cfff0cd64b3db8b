// Restoring a Saver's variables from a checkpoint (shared by saver.cc and
// restore.cc; not public).
#ifndef CKPT_SRC_SAVER_RESTORE_H_
#define CKPT_SRC_SAVER_RESTORE_H_

#include <string>

#include "ckpt/env.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"

namespace ckpt::saver_internal {

// Saver::Restore's work: see its contract in ckpt/saver.h.
Status RestoreVariables(Env* env, const VarList& vars, const std::string& save_path,
                        const RestoreOptions& options);

}  // namespace ckpt::saver_internal

#endif  // CKPT_SRC_SAVER_RESTORE_H_
