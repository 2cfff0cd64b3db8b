// `ckpt merge`: see merge_cmd.h.
#include "merge_cmd.h"

#include <memory>
#include <string>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/escape.h"
#include "ckpt/merge.h"
#include "command.h"
#include "progress.h"

namespace ckpt::tools {
namespace {

struct MergeFlags {
  std::vector<std::string> prefixes;
  std::string into;
  bool keep_dirs = false;
  bool progress = false;
};

int RunMerge(const MergeFlags& flags, std::ostream& out, std::ostream& err) {
  Env* env = Env::Posix();
  MergeOptions options;
  options.delete_old_dirs = !flags.keep_dirs;
  ProgressBar bar(err, flags.progress, "merging");
  options.on_progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  Status s = MergeBundles(env, flags.prefixes, flags.into, options);
  bar.Finish();
  if (!s.ok()) {
    err << "ckpt merge: " << EscapeForDisplay(s.ToString()) << "\n";
    return kExitFailure;
  }
  auto merged = CheckpointReader::Open(flags.into);
  if (!merged.ok()) {
    err << "ckpt merge: the merged bundle does not open: "
        << EscapeForDisplay(merged.status().ToString()) << "\n";
    return kExitFailure;
  }
  out << "Merged " << flags.prefixes.size() << " bundles into " << EscapeForDisplay(flags.into)
      << " (" << (*merged)->variables().size() << " tensors)\n";
  return kExitOk;
}

}  // namespace

void AddMergeCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "merge",
      "Merge V2 bundles into one, as TensorFlow's MergeV2Checkpoints (moves the sources' data "
      "files, deletes their .index files)");
  auto flags = std::make_shared<MergeFlags>();
  cmd->add_option("prefixes", flags->prefixes, "The bundles to merge (V2 prefixes)")->required();
  cmd->add_option("--into", flags->into, "The merged bundle's prefix")->required();
  cmd->add_flag("--keep-dirs", flags->keep_dirs,
                "Keep the sources' directories even when the merge leaves them empty");
  cmd->callback([flags, out, err, exit_code] {
    flags->progress = ProgressBar::ShouldDraw();
    *exit_code = RunMerge(*flags, *out, *err);
  });
}

}  // namespace ckpt::tools
