// `ckpt merge`: merge V2 bundles into one, as TensorFlow's
// MergeV2Checkpoints does (ckpt/merge.h, MergeBundles).
//
//   ckpt merge PREFIX... --into PREFIX [--keep-dirs]
//
// The sources' data files are renamed (not copied) to the merged bundle's
// names and their .index files deleted; empty source directories are removed
// unless --keep-dirs. A key in two sources, slices that do not fit together
// or a prefix given twice fail with the sources left as they were. Prints
// "Merged N bundles into PREFIX (K tensors)". On a terminal a progress bar
// (bytes of the source indexes read) is drawn on stderr. Exit codes: 0
// merged, 1 failed, 2 bad command line.
//
// Thread safety: reentrant; no shared state.
#ifndef CKPT_TOOLS_MERGE_CMD_H_
#define CKPT_TOOLS_MERGE_CMD_H_

#include <CLI/CLI.hpp>
#include <ostream>

namespace ckpt::tools {

// Adds the `merge` subcommand to `app` (see command.h).
// REQUIRES: the pointers outlive the parse.
void AddMergeCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_MERGE_CMD_H_
