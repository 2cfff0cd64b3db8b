// The name-mapping flags `ckpt convert` and `ckpt diff` share:
// --name-map RULE (repeatable) and --no-default-name-map.
#ifndef CKPT_TOOLS_NAME_MAP_FLAGS_H_
#define CKPT_TOOLS_NAME_MAP_FLAGS_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "ckpt/convert.h"

namespace ckpt::tools {

struct NameMapFlags {
  std::vector<std::string> rules;
  bool no_default = false;

  // The rules parsed; InvalidArgument naming a bad one.
  Result<std::vector<NameRule>> Parse() const;
};

// Adds the two flags to `cmd`. REQUIRES: `flags` outlives the parse.
void AddNameMapFlags(CLI::App* cmd, NameMapFlags* flags);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_NAME_MAP_FLAGS_H_
