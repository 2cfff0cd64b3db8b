// ckpt: command-line tools for TensorFlow checkpoints.
//
// A thin dispatcher: every subcommand is a file pair tools/<name>.{h,cc},
// registered in all_commands.cc (see command.h).
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.h"

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) a write then fails with EFBIG, which
  // is reported as "File too large", instead of SIGXFSZ killing the process
  // (Python ignores it the same way).
  std::signal(SIGXFSZ, SIG_IGN);
  int exit_code = 0;
  std::unique_ptr<CLI::App> app = ckpt::tools::MakeApp(&std::cout, &std::cerr, &exit_code);
  return ckpt::tools::RunApp(app.get(), std::vector<std::string>(argv + 1, argv + argc), std::cout,
                             std::cerr, &exit_code);
}
