// `ckpt keras-convert`: see keras_cmd.h.
#include "keras_cmd.h"

#include <memory>
#include <string>

#include "ckpt/escape.h"
#include "ckpt/keras_weights.h"
#include "command.h"

namespace ckpt::tools {
namespace {

struct KerasConvertCommandOptions {
  std::string src;
  std::string dst;
  std::string template_path;
  std::string model_name = "model";
  bool no_optimizer = false;
};

bool EndsWithH5(const std::string& path) {
  return path.size() >= 3 && path.compare(path.size() - 3, 3, ".h5") == 0;
}

int Run(const KerasConvertCommandOptions& o, std::ostream& out, std::ostream& err) {
  KerasConvertOptions options;
  options.template_path = o.template_path;
  options.model_name = o.model_name;
  options.include_optimizer = !o.no_optimizer;
  Status s;
  if (EndsWithH5(o.src)) {
    s = KerasWeightsToObjectCheckpoint(o.src, o.dst, options);
  } else if (EndsWithH5(o.dst)) {
    s = ObjectCheckpointToKerasWeights(o.src, o.dst, options);
  } else {
    err << "keras-convert: one of SRC and DST must be a Keras weights file ending in .h5\n";
    return kExitUsage;
  }
  if (!s.ok()) {
    err << "keras-convert: " << EscapeForDisplay(s.ToString()) << "\n";
    return kExitFailure;
  }
  out << "wrote " << EscapeForDisplay(o.dst) << "\n";
  return kExitOk;
}

}  // namespace

void AddKerasConvertCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "keras-convert",
      "Convert a Keras 3 .weights.h5 file to a TF2 object checkpoint or back");
  auto o = std::make_shared<KerasConvertCommandOptions>();
  cmd->add_option("src", o->src, "A .weights.h5 file or an object checkpoint prefix")->required();
  cmd->add_option("dst", o->dst, "The output: a checkpoint prefix or a .weights.h5 file")->required();
  cmd->add_option("--template", o->template_path,
                  "The output's structure: an object checkpoint (h5 -> checkpoint) or a "
                  ".weights.h5 (checkpoint -> h5) of the same model")
      ->required();
  cmd->add_option("--model-name", o->model_name,
                  "The root's child holding the model (tf.train.Checkpoint(model=...))")
      ->capture_default_str();
  cmd->add_flag("--no-optimizer", o->no_optimizer, "Leave the optimizer's variables out");
  cmd->callback([o, out, err, exit_code] { *exit_code = Run(*o, *out, *err); });
}

}  // namespace ckpt::tools
