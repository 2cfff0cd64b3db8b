// Shared plumbing for the `ckpt` subcommands.
//
// Each subcommand lives in its own file pair tools/<name>.{h,cc} and exposes
//   void Add<Name>Command(CLI::App* app, std::ostream* out, std::ostream* err,
//                         int* exit_code);
// which registers a CLI11 subcommand whose callback does the work, writes to
// *out / *err (never std::cout directly, so tests can capture it) and sets
// *exit_code. all_commands.cc registers every subcommand; main.cc calls
// AddAllCommands() and RunApp().
//
// Exit codes: 0 success, 1 the command failed (bad file, unknown tensor...),
// 2 the command line was malformed (as argparse and absl flags do).
#ifndef CKPT_TOOLS_COMMAND_H_
#define CKPT_TOOLS_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace ckpt::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Parses `args` (the command line without the program name) with `app`,
// running the chosen subcommand's callback, and returns the exit code: the
// value the callback left in *exit_code, 0 after --help, kExitUsage after a
// command-line error. No exception escapes.
int RunApp(CLI::App* app, const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err, const int* exit_code);

// Registers every `ckpt` subcommand on `app`: the one list main.cc uses.
void AddAllCommands(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

// The `ckpt` program: its name and description for --help's usage line,
// --version ("ckpt <version>"), one subcommand required, every subcommand
// added (AddAllCommands).
std::unique_ptr<CLI::App> MakeApp(std::ostream* out, std::ostream* err, int* exit_code);

// Runs `ckpt <args...>` in-process with every subcommand, capturing what it
// prints (for tests and for embedding the tool).
struct CommandResult {
  int code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommandLine(const std::vector<std::string>& args);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_COMMAND_H_
