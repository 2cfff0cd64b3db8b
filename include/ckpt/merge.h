// MergeBundles: merges tensor bundles written separately (e.g. one per
// device) into one, as TensorFlow's MergeV2Checkpoints does.
//
// Thread safety: may be called from any thread; no two merges (or a merge and
// a writer) may use the same prefixes at once.
#ifndef CKPT_MERGE_H_
#define CKPT_MERGE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

// Merges bundles written separately (e.g. one per device) into one bundle at
// `merged_prefix`, as TensorFlow's MergeV2Checkpoints does: data files are
// renamed, not copied; the source .index files are deleted; with
// delete_old_dirs, the source directories are removed if empty.
// On failure the sources are left as they were (moved data files are moved
// back) and no index is left at `merged_prefix`; a bundle that was already at
// `merged_prefix` is replaced, and is not restored by a failed merge.
// REQUIRES: the prefixes are distinct and none is `merged_prefix`
// (InvalidArgument otherwise).
Status MergeBundles(Env* env, const std::vector<std::string>& prefixes,
                    const std::string& merged_prefix,
                    bool delete_old_dirs = true);

struct MergeOptions {
  // Remove the source directories the merge leaves empty.
  bool delete_old_dirs = true;
  // Called after each source's index is read, with the bytes of the source
  // indexes read so far and in all (the data files are renamed, not read),
  // e.g. for a progress bar. May be empty.
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> on_progress;
};

// As above, with `options`.
Status MergeBundles(Env* env, const std::vector<std::string>& prefixes,
                    const std::string& merged_prefix, const MergeOptions& options);

}  // namespace ckpt

#endif  // CKPT_MERGE_H_
