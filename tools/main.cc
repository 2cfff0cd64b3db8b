// ckpt: command-line tools for TensorFlow checkpoints.
#include <CLI/CLI.hpp>

#include <iostream>

#include "inspect.h"

int main(int argc, char** argv) {
  CLI::App app{"ckpt: read, check and inspect TensorFlow checkpoints"};
  app.require_subcommand(1);
  int exit_code = 0;
  ckpt::tools::AddInspectCommand(&app, &std::cout, &std::cerr, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
