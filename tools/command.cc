#include "command.h"

#include <algorithm>
#include <exception>

namespace ckpt::tools {

int RunApp(CLI::App* app, const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err, const int* exit_code) {
  try {
    // CLI11 consumes a vector of arguments from the back.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app->parse(reversed);
  } catch (const CLI::ParseError& e) {
    int code = app->exit(e, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {
    err << "ckpt: internal error: " << e.what() << "\n";
    return kExitFailure;
  }
  return *exit_code;
}

}  // namespace ckpt::tools
