// ckpt: command-line tools for TensorFlow checkpoints.
//
// A thin dispatcher: every subcommand is a file pair tools/<name>.{h,cc}
// registered below with one Add<Name>Command call (see command.h).
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "events.h"
#include "inspect.h"
#include "ls.h"
#include "verify.h"

int main(int argc, char** argv) {
  CLI::App app{"ckpt: read, check and inspect TensorFlow checkpoints"};
  app.require_subcommand(1);
  int exit_code = 0;
  ckpt::tools::AddInspectCommand(&app, &std::cout, &std::cerr, &exit_code);
  ckpt::tools::AddVerifyCommand(&app, &std::cout, &std::cerr, &exit_code);
  ckpt::tools::AddLsCommand(&app, &std::cout, &std::cerr, &exit_code);
  ckpt::tools::AddEventsCommand(&app, &std::cout, &std::cerr, &exit_code);
  return ckpt::tools::RunApp(&app, std::vector<std::string>(argv + 1, argv + argc), std::cout,
                             std::cerr, &exit_code);
}
