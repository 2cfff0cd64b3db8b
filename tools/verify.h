// `ckpt verify`: is a checkpoint, or every checkpoint of a directory, whole?
//
//   ckpt verify <dir|prefix> [--latest_filename=checkpoint] [--json]
//
// While a directory is verified, a progress bar is drawn on stderr when it is
// a terminal (tools/progress.h). For a prefix (V2 prefix or V1 file), every tensor is read and every
// checksum checked (ckpt::VerifyCheckpoint); so for a SavedModel directory's
// variables (D/variables/variables). For a directory, every
// checkpoint its state file names is verified (ok / missing / corrupt, with
// the reason), so is every checkpoint on disk it does not name (preserved by
// the N-hours rule), leftovers of interrupted saves are listed, and so are
// the files of a save in progress (a live writer's) and checkpoints that its
// retention deleted during the scan (re-checked before anything is called
// missing). The exit code is for monitoring scripts: 0 unless something
// committed is damaged (a state file that does not parse, a checkpoint that
// is missing or corrupt); leftovers, saves in progress and a directory
// without a state file are not failures. 2 for a bad command line.
//
// Text output, one line per checkpoint:
//   Directory /d (state file /d/checkpoint)
//     ok       /d/ckpt-2
//     CORRUPT  /d/ckpt-3 (newest): DATA_LOSS: ...
//     UNREADABLE /d/ckpt-4: PERMISSION_DENIED: ... (or a FIFO, not a file)
//   Leftovers of interrupted saves (...):
//     /d/ckpt-4.index.ckpt-tmp.4711.00c0ffee00c0ffee
//   1 problem found
// JSON (--json), one document and a newline:
//   {"path": "...", "kind": "directory"|"checkpoint", "ok": true|false,
//    "state_file": "...", "state_error": null|"...",
//    "checkpoints": [{"prefix": "...", "status": "ok"|"missing"|"unreadable"|"corrupt",
//                     "error": null|"...", "in_state_file": bool, "newest": bool}],
//    "leftovers": ["..."], "in_progress": ["..."], "deleted_during_scan": ["..."]}
// (the keys after "kind" except "checkpoints" only for a directory.)
//
// Thread safety: reentrant; no shared state.
#ifndef CKPT_TOOLS_VERIFY_H_
#define CKPT_TOOLS_VERIFY_H_

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

#include "ckpt/env.h"
#include "ckpt/filenames.h"

namespace ckpt::tools {

struct VerifyCommandOptions {
  std::string path;
  std::string latest_filename = kDefaultStateFilename;
  bool json = false;
  // Draw a progress bar on `err` while verifying a directory
  // (ProgressBar::ShouldDraw() on the command line: stderr a terminal).
  bool progress = false;
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
};

// Runs the command; returns the exit code (0 all whole, 1 any problem).
int RunVerify(const VerifyCommandOptions& options, std::ostream& out, std::ostream& err);

// Adds the `verify` subcommand to `app` (see command.h).
// REQUIRES: the pointers outlive the parse.
void AddVerifyCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_VERIFY_H_
