// `ckpt convert`: see convert.h.
#include "convert.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/convert.h"
#include "ckpt/escape.h"
#include "command.h"
#include "name_map_flags.h"

namespace ckpt::tools {
namespace {

struct ConvertFlags {
  std::string src;
  std::string dst;
  std::string from;
  std::string to;
  NameMapFlags names;
  std::vector<std::string> metadata;
  bool skip_unsupported = false;
  bool state_file = false;
};

Result<ConvertOptions> MakeOptions(const ConvertFlags& flags) {
  ConvertOptions options;
  if (!flags.from.empty()) {
    CKPT_ASSIGN_OR_RETURN(options.from, ParseTensorFormat(flags.from));
  }
  if (!flags.to.empty()) {
    CKPT_ASSIGN_OR_RETURN(options.to, ParseTensorFormat(flags.to));
  }
  CKPT_ASSIGN_OR_RETURN(options.name_rules, flags.names.Parse());
  options.default_name_rules = !flags.names.no_default;
  for (const std::string& kv : flags.metadata) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("Bad --metadata '" + EscapeForDisplay(kv) +
                                  "' (expected KEY=VALUE)");
    }
    options.metadata[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  options.skip_unsupported = flags.skip_unsupported;
  options.write_state_file = flags.state_file;
  return options;
}

int RunConvert(const ConvertFlags& flags, std::ostream& out, std::ostream& err) {
  Result<ConvertOptions> options = MakeOptions(flags);
  if (!options.ok()) {
    err << "ckpt convert: " << EscapeForDisplay(options.status().ToString()) << "\n";
    return kExitUsage;
  }
  Result<ConvertResult> r = ConvertCheckpoint(flags.src, flags.dst, *options);
  if (!r.ok()) {
    err << "ckpt convert: " << EscapeForDisplay(r.status().ToString()) << "\n";
    return kExitFailure;
  }
  for (const auto& [from, to] : r->written) {
    out << EscapeForDisplay(from) << " -> " << EscapeForDisplay(to) << "\n";
  }
  for (const auto& [name, why] : r->skipped) {
    out << "skipped " << EscapeForDisplay(name) << ": " << why << "\n";
  }
  out << "Wrote " << r->written.size() << " tensors to " << EscapeForDisplay(r->destination)
      << "\n";
  return kExitOk;
}

}  // namespace

void AddConvertCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "convert", "Convert a checkpoint between TensorFlow and safetensors formats");
  auto flags = std::make_shared<ConvertFlags>();
  cmd->add_option("src", flags->src,
                  "A TensorFlow checkpoint (prefix or directory) or a .safetensors file")
      ->required();
  cmd->add_option("dst", flags->dst,
                  "Where to write: a .safetensors file, a TensorFlow prefix, or a directory "
                  "(gets model.ckpt and a checkpoint state file)")
      ->required();
  cmd->add_option("--to", flags->to, "safetensors or tf (default: from DST's name)")
      ->check(CLI::IsMember({"safetensors", "tf", "keras"}));
  cmd->add_option("--from", flags->from, "safetensors or tf (default: from SRC's name)")
      ->check(CLI::IsMember({"safetensors", "tf", "keras"}));
  AddNameMapFlags(cmd, &flags->names);
  cmd->add_option("--metadata", flags->metadata,
                  "KEY=VALUE for a safetensors file's __metadata__ (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_flag("--skip-unsupported", flags->skip_unsupported,
                "Skip tensors the destination cannot hold (e.g. strings in safetensors) "
                "instead of failing");
  cmd->add_flag("--state-file", flags->state_file,
                "TensorFlow destination: also write the directory's checkpoint state file");
  cmd->callback([flags, out, err, exit_code] { *exit_code = RunConvert(*flags, *out, *err); });
}

}  // namespace ckpt::tools
