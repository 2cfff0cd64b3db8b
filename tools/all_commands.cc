// The list of `ckpt` subcommands, and running them in-process.
#include <memory>
#include <sstream>

#include "command.h"
#include "convert.h"
#include "diff.h"
#include "events.h"
#include "fsck.h"
#include "graph_cmd.h"
#include "inspect.h"
#include "ls.h"
#include "merge_cmd.h"
#include "run.h"
#include "savedmodel_cmd.h"
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
  AddSavedModelCommand(app, out, err, exit_code);
  AddConvertCommand(app, out, err, exit_code);
  AddDiffCommand(app, out, err, exit_code);
  AddMergeCommand(app, out, err, exit_code);
}

std::unique_ptr<CLI::App> MakeApp(std::ostream* out, std::ostream* err, int* exit_code) {
  auto app = std::make_unique<CLI::App>("ckpt: read, check, inspect and convert TensorFlow checkpoints",
                                        "ckpt");
  app->set_version_flag("--version", std::string("ckpt ") + CKPT_VERSION);
  app->require_subcommand(1);
  AddAllCommands(app.get(), out, err, exit_code);
  return app;
}

CommandResult RunCommandLine(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int exit_code = 0;
  std::unique_ptr<CLI::App> app = MakeApp(&out, &err, &exit_code);
  CommandResult r;
  r.code = RunApp(app.get(), args, out, err, &exit_code);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace ckpt::tools
