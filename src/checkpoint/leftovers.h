// Leftovers of interrupted saves: finding them, and deleting only them
// (internal to ckpt).
//
// Every file ckpt writes is first written under a temporary name that says
// what it would become and who wrote it ("<final>.ckpt-tmp.<pid>.<hex>",
// env/temp_path.h; docs/format/commit.md), and a save publishes its data
// files before the index that commits them. A save that dies part-way
// therefore leaves only
//   - temporaries whose final name is one of the writer's checkpoint files
//     ("<basename>[-<step>].index", ".data-NNNNN-of-NNNNN", ".meta"), its
//     state file or another file it owns (e.g. "graph.pbtxt"), or a
//     sharded-save directory "<basename>[-<step>]_temp.ckpt-tmp.<pid>.<hex>/"
//     holding only "part-NNNNN-of-NNNNN" bundle files;
//   - data files "<basename>-<step>.data-NNNNN-of-NNNNN" whose index was never
//     published.
// Nothing else is ever a leftover: other base names, other suffixes, other
// programs' temporary files (TensorFlow's ".tempstate", rsync's ".tmp"), and
// files of a second model in the same directory are never touched.
//
// A temporary is "in progress" rather than a leftover while its writer may
// still be running: a writer of this process still holds its name
// (TempNameInFlight), or its process is alive. An orphan data file is in
// progress while another writer holds the directory's lock.
#ifndef CKPT_SRC_CHECKPOINT_LEFTOVERS_H_
#define CKPT_SRC_CHECKPOINT_LEFTOVERS_H_

#include <string>
#include <vector>

#include "ckpt/checkpoint_state.h"
#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

// Whose leftovers to look for: one writer's names.
struct LeftoverOwner {
  // Checkpoints "<basename>" and "<basename>-<digits>" (e.g. "model.ckpt",
  // "ckpt"); empty: none.
  std::string checkpoint_basename;
  // Other files the writer publishes in the directory: its state file, and
  // e.g. the Estimator's "graph.pbtxt".
  std::vector<std::string> file_names = {kDefaultStateFilename};
};

struct Leftover {
  std::string path;    // JoinPath(dir, name); a directory ends with '/'
  std::string reason;  // why it is one ("temporary file of ckpt process 12 ...")
  // Its writer may still be running (see above): not to be deleted.
  bool in_progress = false;
};

// The leftovers (and files in progress) in `dir` of the writer `owner`. The
// contents of a sharded-save directory come before the directory itself.
// `caller_holds_writer_lock`: the caller holds `dir`'s WriterLock, so no other
// ckpt writer is running there.
Result<std::vector<Leftover>> FindLeftovers(Env* env, const std::string& dir,
                                            const LeftoverOwner& owner,
                                            bool caller_holds_writer_lock);

// The paths of the leftovers (not in progress) of the writer of checkpoints
// named `checkpoint_basename` with the default state file, for a caller that
// does not hold the lock (tests, surveys).
Result<std::vector<std::string>> FindLeftovers(Env* env, const std::string& dir,
                                               const std::string& checkpoint_basename);

// Deletes what FindLeftovers finds that is not in progress, logging one
// WARNING line per deletion (what and why); best effort: reports the first
// failure after trying all. Returns the paths deleted.
// REQUIRES: the caller holds `dir`'s WriterLock.
Result<std::vector<std::string>> CleanupLeftovers(Env* env, const std::string& dir,
                                                  const LeftoverOwner& owner);

}  // namespace ckpt

#endif  // CKPT_SRC_CHECKPOINT_LEFTOVERS_H_
