// `ckpt ls`: the checkpoints of a directory, with why each is still there.
//
//   ckpt ls <dir> [--latest_filename=checkpoint] [--json]
//
// Lists every checkpoint the state file names and every checkpoint on disk it
// does not name, ordered by step (the number after the last '-'; those
// without one last), with:
//   step     parsed from "<name>-<N>" ("-" if none);
//   time     the state file's timestamp, else the .index modification time
//            (UTC);
//   size     total bytes of its files (.index, .data-*, .meta);
//   kept by  "max_to_keep" when the state file lists it (the retention
//            window), "preserved (not in the state file)" when it is on disk
//            but not listed (kept by the keep-every-N-hours rule), or
//            "missing (files gone)" when listed but absent; the state file's
//            newest checkpoint is marked ", newest".
// A SavedModel directory lists the directory of its variables (its
// checkpoint, variables/variables, not named by any state file).
// Nothing is read beyond file names, sizes and times (`ckpt verify` reads
// the data). Exit code 0, or 1 if the directory cannot be listed.
//
// JSON (--json), one document and a newline:
//   {"directory": "...", "state_file": "...", "state_error": null|"...",
//    "checkpoints": [{"prefix": "...", "name": "...", "step": N|null,
//       "time": seconds|null, "time_source": "state_file"|"mtime"|null,
//       "size_bytes": N, "files": ["..."], "kept_by": "max_to_keep"|
//       "preserved"|"missing", "newest": bool}]}
//
// Thread safety: reentrant; no shared state.
#ifndef CKPT_TOOLS_LS_H_
#define CKPT_TOOLS_LS_H_

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

#include "ckpt/env.h"
#include "ckpt/filenames.h"

namespace ckpt::tools {

struct LsOptions {
  std::string dir;
  std::string latest_filename = kDefaultStateFilename;
  bool json = false;
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
};

// Runs the command; returns the exit code.
int RunLs(const LsOptions& options, std::ostream& out, std::ostream& err);

// Adds the `ls` subcommand to `app` (see command.h).
// REQUIRES: the pointers outlive the parse.
void AddLsCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_LS_H_
