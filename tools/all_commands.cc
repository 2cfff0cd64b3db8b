// The list of `ckpt` subcommands, and running them in-process.
#include <sstream>

#include "command.h"
#include "events.h"
#include "fsck.h"
#include "graph_cmd.h"
#include "inspect.h"
#include "ls.h"
#include "run.h"
#include "verify.h"

namespace ckpt::tools {

void AddAllCommands(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  AddInspectCommand(app, out, err, exit_code);
  AddVerifyCommand(app, out, err, exit_code);
  AddLsCommand(app, out, err, exit_code);
  AddEventsCommand(app, out, err, exit_code);
  AddFsckCommand(app, out, err, exit_code);
  AddRunCommand(app, out, err, exit_code);
  AddGraphCommand(app, out, err, exit_code);
}

CommandResult RunCommandLine(const std::vector<std::string>& args) {
  CLI::App app{"ckpt: read, check and inspect TensorFlow checkpoints"};
  app.require_subcommand(1);
  std::ostringstream out, err;
  int exit_code = 0;
  AddAllCommands(&app, &out, &err, &exit_code);
  CommandResult r;
  r.code = RunApp(&app, args, out, err, &exit_code);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace ckpt::tools
