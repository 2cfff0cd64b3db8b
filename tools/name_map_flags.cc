#include "name_map_flags.h"

namespace ckpt::tools {

Result<std::vector<NameRule>> NameMapFlags::Parse() const {
  std::vector<NameRule> parsed;
  for (const std::string& text : rules) {
    CKPT_ASSIGN_OR_RETURN(NameRule rule, ParseNameRule(text));
    parsed.push_back(std::move(rule));
  }
  return parsed;
}

void AddNameMapFlags(CLI::App* cmd, NameMapFlags* flags) {
  cmd->add_option("--name-map", flags->rules,
                  "Rename tensors, rules applied in order: strip:TEXT (remove TEXT), "
                  "prefix:OLD=NEW, regex:PATTERN=REPLACEMENT (ECMAScript, $1 for groups). "
                  "TF2 object checkpoints first get strip:/.ATTRIBUTES/VARIABLE_VALUE")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_flag("--no-default-name-map", flags->no_default,
                "Keep TF2 object checkpoint names whole (no default strip rule)");
}

}  // namespace ckpt::tools
