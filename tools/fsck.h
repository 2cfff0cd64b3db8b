// `ckpt fsck`: is a checkpoint directory usable, and make it so.
//
//   ckpt fsck <dir> [--repair] [--latest_filename=checkpoint]
//
// Reports what `ckpt verify` reports for the directory, plus what a repair
// would do: the state file entries to drop (missing or corrupt checkpoints),
// the checkpoint it should name (the newest that verifies), and the
// leftovers of interrupted saves to delete. With --repair it does it
// (ckpt::RepairCheckpointDirectory: under the directory's writer lock, so it
// fails at once while a writer is running; checkpoint files are never
// deleted or changed). Exit code: 0 when the directory is healthy (after the
// repair, with --repair), 1 when problems remain, 2 for a bad command line.
//
// Thread safety: reentrant; no shared state.
#ifndef CKPT_TOOLS_FSCK_H_
#define CKPT_TOOLS_FSCK_H_

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

#include "ckpt/env.h"
#include "ckpt/filenames.h"

namespace ckpt::tools {

struct FsckCommandOptions {
  std::string dir;
  std::string latest_filename = kDefaultStateFilename;
  bool repair = false;
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
};

// Runs the command; returns the exit code.
int RunFsck(const FsckCommandOptions& options, std::ostream& out, std::ostream& err);

// Adds the `fsck` subcommand to `app` (see command.h).
void AddFsckCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_FSCK_H_
