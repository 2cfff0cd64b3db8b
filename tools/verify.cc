// `ckpt verify`: see verify.h for the output formats.
#include "verify.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include "ckpt/escape.h"
#include "ckpt/verify.h"
#include "checkpoint/resolve.h"
#include "command.h"
#include "json_output.h"
#include "progress.h"

namespace ckpt::tools {
namespace {

// "ok", "missing", "unreadable" (a file that is not a regular file or that
// may not be read: the bytes were never looked at) or "corrupt".
const char* Verdict(const CheckpointSummary& c) {
  if (c.status.ok()) return "ok";
  if (!c.committed) return "missing";
  if (c.status.code() == StatusCode::kPermissionDenied ||
      c.status.code() == StatusCode::kFailedPrecondition) {
    return "unreadable";
  }
  return "corrupt";
}

// Verdict() in upper case, padded to the text output's label column.
std::string Label(const CheckpointSummary& c) {
  std::string label = Verdict(c);
  if (!c.status.ok()) {
    for (char& ch : label) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  label.resize(std::max<size_t>(label.size() + 1, 9), ' ');
  return label;
}

std::string JsonStatus(const Status& s) {
  return s.ok() ? std::string("null") : JsonString(s.ToString());
}

int VerifyOnePrefix(const VerifyCommandOptions& options, std::ostream& out) {
  Status s = VerifyCheckpoint(options.env, options.path);
  CheckpointSummary c;
  c.prefix = options.path;
  c.status = s;
  c.committed = s.code() != StatusCode::kNotFound || CheckpointExists(options.env, options.path);
  if (options.json) {
    out << "{\"path\": " << JsonString(options.path)
        << ", \"kind\": \"checkpoint\", \"ok\": " << JsonBool(s.ok())
        << ", \"checkpoints\": [{\"prefix\": " << JsonString(c.prefix) << ", \"status\": \""
        << Verdict(c) << "\", \"error\": " << JsonStatus(s)
        << ", \"in_state_file\": false, \"newest\": false}]}\n";
  } else if (s.ok()) {
    out << "ok       " << EscapeForDisplay(options.path) << "\n";
  } else {
    out << Label(c) << EscapeForDisplay(options.path) << ": " << EscapeForDisplay(s.ToString())
        << "\n";
  }
  return s.ok() ? kExitOk : kExitFailure;
}

void PrintText(const DirectoryReport& r, std::ostream& out) {
  out << "Directory " << EscapeForDisplay(r.dir) << " (state file "
      << EscapeForDisplay(r.state_file) << ")\n";
  int problems = 0;
  if (!r.state_status.ok()) {
    // No state file names nothing that could be damaged: reported, not a problem.
    if (r.state_status.code() != StatusCode::kNotFound) ++problems;
    out << "  STATE    " << EscapeForDisplay(r.state_status.ToString()) << "\n";
  }
  for (const CheckpointSummary& c : r.checkpoints) {
    out << "  " << Label(c) << EscapeForDisplay(c.prefix);
    if (!c.resolved_prefix.empty()) {
      out << " (found at " << EscapeForDisplay(c.resolved_prefix) << ")";
    }
    if (c.newest) out << " (newest)";
    if (!c.in_state_file) out << " (not in the state file)";
    if (!c.status.ok()) {
      ++problems;
      out << ": " << EscapeForDisplay(c.status.ToString());
    }
    out << "\n";
  }
  if (r.checkpoints.empty()) out << "  (no checkpoints)\n";
  for (const std::string& p : r.deleted_during_scan) {
    out << "  deleted  " << EscapeForDisplay(p)
        << " (removed by its writer's retention during the scan)\n";
  }
  if (!r.in_progress.empty()) {
    out << "Save in progress (its writer is running):\n";
    for (const std::string& p : r.in_progress) out << "  " << EscapeForDisplay(p) << "\n";
  }
  if (!r.leftovers.empty()) {
    out << "Leftovers of interrupted saves (the writer's next save or `ckpt fsck --repair` "
           "removes them; readers ignore them):\n";
    for (const std::string& p : r.leftovers) out << "  " << EscapeForDisplay(p) << "\n";
  }
  if (problems == 0) {
    out << "All " << r.checkpoints.size() << " checkpoints verified";
    if (!r.leftovers.empty()) {
      out << " (" << r.leftovers.size() << (r.leftovers.size() == 1 ? " leftover)" : " leftovers)");
    }
    out << "\n";
  } else {
    out << problems << (problems == 1 ? " problem" : " problems") << " found\n";
  }
}

void PrintJson(const DirectoryReport& r, std::ostream& out) {
  out << "{\"path\": " << JsonString(r.dir)
      << ", \"kind\": \"directory\", \"ok\": " << JsonBool(r.ok())
      << ", \"state_file\": " << JsonString(r.state_file)
      << ", \"state_error\": " << JsonStatus(r.state_status) << ", \"checkpoints\": [";
  for (size_t i = 0; i < r.checkpoints.size(); ++i) {
    const CheckpointSummary& c = r.checkpoints[i];
    out << (i ? ", " : "") << "{\"prefix\": " << JsonString(c.prefix) << ", \"status\": \""
        << Verdict(c) << "\", \"error\": " << JsonStatus(c.status)
        << ", \"in_state_file\": " << JsonBool(c.in_state_file)
        << ", \"newest\": " << JsonBool(c.newest) << "}";
  }
  auto list = [&out](const char* name, const std::vector<std::string>& paths) {
    out << "], \"" << name << "\": [";
    for (size_t i = 0; i < paths.size(); ++i) out << (i ? ", " : "") << JsonString(paths[i]);
  };
  list("leftovers", r.leftovers);
  list("in_progress", r.in_progress);
  list("deleted_during_scan", r.deleted_during_scan);
  out << "]}\n";
}

}  // namespace

int RunVerify(const VerifyCommandOptions& options, std::ostream& out, std::ostream& err) {
  std::string path = options.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (!options.env->IsDirectory(path) || IsSavedModelCheckpointDir(options.env, path)) {
    VerifyCommandOptions o = options;
    o.path = path;
    if (IsSavedModelCheckpointDir(options.env, path)) {
      // A SavedModel's checkpoint is its variables (checkpoint/resolve.h).
      Result<std::string> prefix = SavedModelCheckpoint(options.env, path);
      if (!prefix.ok()) {
        err << "ckpt verify: " << EscapeForDisplay(prefix.status().ToString()) << "\n";
        return kExitFailure;
      }
      o.path = *prefix;
    }
    return VerifyOnePrefix(o, out);
  }
  SurveyOptions so;
  so.latest_filename = options.latest_filename;
  so.verify = true;
  ProgressBar bar(err, options.progress, "verifying");
  so.on_progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  auto report = SurveyCheckpointDirectory(options.env, path, so);
  bar.Finish();
  if (!report.ok()) {
    err << "ckpt verify: " << EscapeForDisplay(report.status().ToString()) << "\n";
    return kExitFailure;
  }
  if (options.json) {
    PrintJson(*report, out);
  } else {
    PrintText(*report, out);
  }
  return report->ok() ? kExitOk : kExitFailure;
}

void AddVerifyCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "verify", "Check every checksum of a checkpoint, or of every checkpoint of a directory");
  auto options = std::make_shared<VerifyCommandOptions>();
  cmd->add_option("path", options->path, "A checkpoint directory or a checkpoint prefix")
      ->required();
  cmd->add_option("--latest_filename", options->latest_filename,
                  "Name of the state file in the directory")
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "Print JSON instead of text");
  cmd->callback([options, out, err, exit_code] {
    options->progress = ProgressBar::ShouldDraw();
    *exit_code = RunVerify(*options, *out, *err);
  });
}

}  // namespace ckpt::tools
