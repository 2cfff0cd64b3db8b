#include "inspect.h"

namespace ckpt::tools {

void AddInspectCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand("inspect", "Print the tensors of a checkpoint");
  cmd->callback([err, exit_code] {
    *err << "not implemented yet\n";
    *exit_code = 1;
  });
}

}  // namespace ckpt::tools
