// `ckpt fsck`: see fsck.h.
#include "fsck.h"

#include <memory>

#include "ckpt/verify.h"
#include "command.h"

namespace ckpt::tools {

int RunFsck(const FsckCommandOptions& options, std::ostream& out, std::ostream& err) {
  RepairOptions ro;
  ro.latest_filename = options.latest_filename;
  ro.dry_run = !options.repair;
  auto report = RepairCheckpointDirectory(options.env, options.dir, ro);
  if (!report.ok()) {
    err << "ckpt fsck: " << report.status().ToString() << "\n";
    return kExitFailure;
  }
  const RepairReport& r = *report;
  const char* will = options.repair ? "" : "would be ";
  out << "Directory " << r.survey.dir << " (state file " << r.survey.state_file << ")\n";
  if (!r.survey.state_status.ok())
    out << "  state file: " << r.survey.state_status.ToString() << "\n";
  for (const CheckpointSummary& c : r.survey.checkpoints) {
    out << "  "
        << (c.status.ok() ? "ok       "
            : c.committed ? "CORRUPT  "
                          : "MISSING  ")
        << c.prefix << (c.in_state_file ? "" : " (not in the state file)");
    if (!c.status.ok()) out << ": " << c.status.ToString();
    out << "\n";
  }
  for (const std::string& p : r.survey.in_progress) out << "  in progress " << p << "\n";
  for (const std::string& d : r.dropped)
    out << "Dropped from the state file " << (options.repair ? "" : "(would be) ") << d << "\n";
  if (r.state_rewritten) {
    out << "State file " << will << "rewritten: newest " << r.latest << ", " << r.kept.size()
        << (r.kept.size() == 1 ? " checkpoint" : " checkpoints") << " listed\n";
  }
  for (const std::string& p : r.removed) out << "Leftover " << will << "removed: " << p << "\n";
  for (const std::string& p : r.remaining) out << "Problem left: " << p << "\n";
  const bool changes = r.state_rewritten || !r.removed.empty();
  if (options.repair) {
    out << (r.healthy() ? "Directory is healthy" : "Problems remain") << "\n";
    return r.healthy() ? kExitOk : kExitFailure;
  }
  if (!changes && r.healthy()) {
    out << "Directory is healthy\n";
    return kExitOk;
  }
  out << "Run `ckpt fsck --repair " << options.dir << "` to repair\n";
  return kExitFailure;
}

void AddFsckCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "fsck",
      "Check a checkpoint directory; with --repair, rewrite its state file to the "
      "checkpoints that exist and remove leftovers of interrupted saves");
  auto options = std::make_shared<FsckCommandOptions>();
  cmd->add_option("dir", options->dir, "A checkpoint directory")->required();
  cmd->add_flag("--repair", options->repair,
                "Rewrite the state file and remove leftovers (takes the writer lock)");
  cmd->add_option("--latest_filename", options->latest_filename,
                  "Name of the state file in the directory")
      ->capture_default_str();
  cmd->callback([options, out, err, exit_code] { *exit_code = RunFsck(*options, *out, *err); });
}

}  // namespace ckpt::tools
