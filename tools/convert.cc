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
#include "progress.h"

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
  std::string keras_template;
  std::string keras_model_name = "model";
  bool no_optimizer = false;
  bool progress = false;
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
  options.keras_template = flags.keras_template;
  options.keras_model_name = flags.keras_model_name;
  options.keras_include_optimizer = !flags.no_optimizer;
  return options;
}

int RunConvert(const ConvertFlags& flags, std::ostream& out, std::ostream& err) {
  Result<ConvertOptions> options = MakeOptions(flags);
  if (!options.ok()) {
    err << "ckpt convert: " << EscapeForDisplay(options.status().ToString()) << "\n";
    return kExitUsage;
  }
  ProgressBar bar(err, flags.progress, "converting");
  options->on_progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  Result<ConvertResult> r = ConvertCheckpoint(flags.src, flags.dst, *options);
  bar.Finish();
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
  if (r->written.empty() && r->skipped.empty()) {
    out << "Wrote " << EscapeForDisplay(r->destination) << "\n";  // a Keras conversion
  } else {
    out << "Wrote " << r->written.size() << " tensors to " << EscapeForDisplay(r->destination)
        << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddConvertCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "convert",
      "Convert a checkpoint between TensorFlow, safetensors and Keras 3 .weights.h5 formats");
  auto flags = std::make_shared<ConvertFlags>();
  cmd->add_option("src", flags->src,
                  "A TensorFlow checkpoint (prefix or directory), a .safetensors file or a "
                  "Keras 3 .weights.h5 file")
      ->required();
  cmd->add_option("dst", flags->dst,
                  "Where to write: a .safetensors file, a .weights.h5 file, a TensorFlow prefix, "
                  "or a directory (gets model.ckpt and a checkpoint state file, if it has neither)")
      ->required();
  // ParseTensorFormat's spellings.
  const std::map<std::string, std::string> formats = {
      {"tf", "tf"}, {"safetensors", "safetensors"}, {"keras", "keras"}, {"keras-h5", "keras-h5"}};
  cmd->add_option("--to", flags->to,
                  "tf, safetensors or keras-h5 (default: from DST's name: .safetensors, .h5)")
      ->transform(CLI::CheckedTransformer(formats));
  cmd->add_option("--from", flags->from,
                  "tf, safetensors or keras-h5 (default: from SRC's name)")
      ->transform(CLI::CheckedTransformer(formats));
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
  cmd->add_option("--template", flags->keras_template,
                  "Keras weights (either side; the other side a TF2 object checkpoint): the "
                  "output's structure, a .weights.h5 of the same model (checkpoint -> h5) or an "
                  "object checkpoint of it (h5 -> checkpoint); docs/format/keras_weights.md");
  cmd->add_option("--model-name", flags->keras_model_name,
                  "Keras: the checkpoint root's child holding the model "
                  "(tf.train.Checkpoint(model=...))")
      ->capture_default_str();
  cmd->add_flag("--no-optimizer", flags->no_optimizer,
                "Keras: leave the optimizer's variables out");
  cmd->callback([flags, out, err, exit_code] {
    flags->progress = ProgressBar::ShouldDraw();
    *exit_code = RunConvert(*flags, *out, *err);
  });
}

}  // namespace ckpt::tools
