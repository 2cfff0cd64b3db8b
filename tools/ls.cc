// `ckpt ls`: see ls.h for the output formats.
#include "ls.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/escape.h"
#include "ckpt/verify.h"
#include "checkpoint/resolve.h"
#include "command.h"
#include "json_output.h"

namespace ckpt::tools {
namespace {

std::string FormatTime(std::optional<double> t) {
  if (!t) return "-";
  std::time_t secs = static_cast<std::time_t>(*t);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return "-";
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatSize(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

const char* KeptBy(const CheckpointSummary& c) {
  if (!c.in_state_file) return "preserved";
  return c.committed ? "max_to_keep" : "missing";
}

std::string KeptByText(const CheckpointSummary& c) {
  std::string s;
  if (!c.in_state_file) {
    s = "preserved (not in the state file)";
  } else if (!c.committed) {
    s = "missing (files gone)";
  } else {
    s = "max_to_keep";
  }
  if (c.newest) s += ", newest";
  return s;
}

std::optional<double> TimeOf(const CheckpointSummary& c, const char** source) {
  if (c.state_timestamp) {
    *source = "state_file";
    return c.state_timestamp;
  }
  if (c.mtime) {
    *source = "mtime";
    return c.mtime;
  }
  *source = nullptr;
  return std::nullopt;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

}  // namespace

int RunLs(const LsOptions& options, std::ostream& out, std::ostream& err) {
  std::string dir = options.dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (IsSavedModelCheckpointDir(options.env, dir)) {
    // A SavedModel's checkpoint is its variables: list their directory.
    Result<std::string> prefix = SavedModelCheckpoint(options.env, dir);
    if (!prefix.ok()) {
      err << "ckpt ls: " << EscapeForDisplay(prefix.status().ToString()) << "\n";
      return kExitFailure;
    }
    dir = std::string(Dirname(*prefix));
  }
  SurveyOptions so;
  so.latest_filename = options.latest_filename;
  so.verify = false;
  auto report = SurveyCheckpointDirectory(options.env, dir, so);
  if (!report.ok()) {
    err << "ckpt ls: " << EscapeForDisplay(report.status().ToString()) << "\n";
    return kExitFailure;
  }
  std::vector<CheckpointSummary> cps = report->checkpoints;
  std::stable_sort(cps.begin(), cps.end(),
                   [](const CheckpointSummary& a, const CheckpointSummary& b) {
                     if (a.step.has_value() != b.step.has_value()) return a.step.has_value();
                     return a.step.value_or(0) < b.step.value_or(0);
                   });

  if (options.json) {
    out << "{\"directory\": " << JsonString(report->dir)
        << ", \"state_file\": " << JsonString(report->state_file) << ", \"state_error\": "
        << (report->state_status.ok() ? std::string("null")
                                      : JsonString(report->state_status.ToString()))
        << ", \"checkpoints\": [";
    for (size_t i = 0; i < cps.size(); ++i) {
      const CheckpointSummary& c = cps[i];
      const char* source = nullptr;
      std::optional<double> t = TimeOf(c, &source);
      char tbuf[64] = "null";
      if (t) std::snprintf(tbuf, sizeof(tbuf), "%.17g", *t);
      out << (i ? ", " : "") << "{\"prefix\": " << JsonString(c.prefix)
          << ", \"name\": " << JsonString(std::string(Basename(c.prefix)))
          << ", \"step\": " << (c.step ? std::to_string(*c.step) : std::string("null"))
          << ", \"time\": " << tbuf << ", \"time_source\": "
          << (source ? "\"" + std::string(source) + "\"" : std::string("null"))
          << ", \"size_bytes\": " << c.total_size() << ", \"files\": [";
      for (size_t j = 0; j < c.files.size(); ++j) {
        out << (j ? ", " : "") << JsonString(c.files[j].path);
      }
      out << "], \"kept_by\": \"" << KeptBy(c) << "\", \"newest\": " << JsonBool(c.newest) << "}";
    }
    out << "]}\n";
    return kExitOk;
  }

  out << "Directory " << EscapeForDisplay(report->dir);
  if (report->state_status.ok()) {
    out << " (state file " << EscapeForDisplay(report->state_file) << ")\n";
  } else {
    out << " (no usable state file: " << EscapeForDisplay(report->state_status.ToString()) << ")\n";
  }
  if (cps.empty()) {
    out << "  (no checkpoints)\n";
    return kExitOk;
  }
  out << "  " << Pad("STEP", 10) << Pad("TIME (UTC)", 21) << Pad("SIZE", 11) << Pad("KEPT BY", 43)
      << "CHECKPOINT\n";
  for (const CheckpointSummary& c : cps) {
    const char* source = nullptr;
    std::optional<double> t = TimeOf(c, &source);
    out << "  " << Pad(c.step ? std::to_string(*c.step) : "-", 10) << Pad(FormatTime(t), 21)
        << Pad(FormatSize(c.total_size()), 11) << Pad(KeptByText(c), 43)
        << EscapeForDisplay(c.prefix) << "\n";
  }
  return kExitOk;
}

void AddLsCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "ls", "List the checkpoints of a directory: step, time, size and why each is kept");
  auto options = std::make_shared<LsOptions>();
  cmd->add_option("dir", options->dir, "A checkpoint directory")->required();
  cmd->add_option("--latest_filename", options->latest_filename,
                  "Name of the state file in the directory")
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "Print JSON instead of text");
  cmd->callback([options, out, err, exit_code] { *exit_code = RunLs(*options, *out, *err); });
}

}  // namespace ckpt::tools
