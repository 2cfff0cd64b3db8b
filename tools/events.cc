// `ckpt events`: see events.h for the output formats.
#include "events.h"

#include <functional>
#include <memory>
#include <set>
#include <sstream>

#include "ckpt/escape.h"
#include "ckpt/event_reader.h"
#include "ckpt/types.h"
#include "command.h"
#include "json_output.h"

namespace ckpt::tools {
namespace {

const char* SessionStatusName(SessionLogStatus s) {
  switch (s) {
    case SessionLogStatus::kStart:
      return "START";
    case SessionLogStatus::kStop:
      return "STOP";
    case SessionLogStatus::kCheckpoint:
      return "CHECKPOINT";
    default:
      return "STATUS_UNSPECIFIED";
  }
}

std::string ShapeString(const TensorShape& shape) { return shape.DebugString(); }

// The value as text/csv print it; `quote_text` wraps text in a JSON literal.
std::string PlainValue(const EventValue& r, bool quote_text) {
  switch (r.kind) {
    case EventValueKind::kScalar:
      return ShortestDecimal(r.scalar);
    case EventValueKind::kHistogram: {
      const HistogramData& h = r.histogram;
      return "num=" + ShortestDecimal(h.num) + " min=" + ShortestDecimal(h.min) +
             " max=" + ShortestDecimal(h.max) + " sum=" + ShortestDecimal(h.sum) +
             " buckets=" + std::to_string(h.bucket.size());
    }
    case EventValueKind::kText:
    case EventValueKind::kFileVersion:
    case EventValueKind::kLogMessage:
      return quote_text ? EscapeForDisplay(JsonString(r.text)) : r.text;
    case EventValueKind::kGraphDef:
    case EventValueKind::kMetaGraphDef:
    case EventValueKind::kRunMetadata:
    case EventValueKind::kImage:
    case EventValueKind::kAudio:
      return "<" + std::to_string(r.bytes.size()) + " bytes>";
    case EventValueKind::kSessionLog: {
      std::string s = SessionStatusName(r.session_status);
      if (!r.text.empty()) s += " " + (quote_text ? EscapeForDisplay(r.text) : r.text);
      return s;
    }
    case EventValueKind::kTensor:
      return std::string(DataTypeName(r.dtype)) + ShapeString(r.shape);
    case EventValueKind::kUnknown:
      break;
  }
  return "";
}

std::string JsonValue(const EventValue& r) {
  switch (r.kind) {
    case EventValueKind::kScalar:
      return JsonNumber(r.scalar);
    case EventValueKind::kHistogram: {
      const HistogramData& h = r.histogram;
      std::string s = "{\"min\": " + JsonNumber(h.min) + ", \"max\": " + JsonNumber(h.max) +
                      ", \"num\": " + JsonNumber(h.num) + ", \"sum\": " + JsonNumber(h.sum) +
                      ", \"sum_squares\": " + JsonNumber(h.sum_squares) + ", \"bucket_limit\": [";
      for (size_t i = 0; i < h.bucket_limit.size(); ++i) {
        if (i > 0) s += ", ";
        s += JsonNumber(h.bucket_limit[i]);
      }
      s += "], \"bucket\": [";
      for (size_t i = 0; i < h.bucket.size(); ++i) {
        if (i > 0) s += ", ";
        s += JsonNumber(h.bucket[i]);
      }
      return s + "]}";
    }
    case EventValueKind::kText:
    case EventValueKind::kFileVersion:
    case EventValueKind::kLogMessage:
      return JsonString(r.text);
    case EventValueKind::kGraphDef:
    case EventValueKind::kMetaGraphDef:
    case EventValueKind::kRunMetadata:
    case EventValueKind::kImage:
    case EventValueKind::kAudio:
      return "{\"bytes\": " + std::to_string(r.bytes.size()) + "}";
    case EventValueKind::kSessionLog:
      return std::string("{\"status\": \"") + SessionStatusName(r.session_status) +
             "\", \"checkpoint_path\": " + JsonString(r.text) +
             ", \"msg\": " + JsonString(r.session_msg) + "}";
    case EventValueKind::kTensor: {
      return "{\"dtype\": " + JsonString(DataTypeName(r.dtype)) +
             ", \"shape\": " + JsonShape(r.shape) + "}";
    }
    case EventValueKind::kUnknown:
      break;
  }
  return "null";
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

struct FileRows {
  std::string path;
  std::vector<EventValue> rows;
};

// Reads a file, tolerating an incomplete last record (warned on `err`).
Status ReadFile(Env* env, const std::string& path, FileRows* out, std::ostream& err) {
  RecordReader::Options o;
  o.mode = RecordReader::Mode::kFollow;
  CKPT_ASSIGN_OR_RETURN(auto reader, EventFileReader::Open(env, path, o));
  out->path = path;
  for (;;) {
    CKPT_ASSIGN_OR_RETURN(bool got, reader->Next(&out->rows));
    if (!got) break;
  }
  CKPT_ASSIGN_OR_RETURN(uint64_t size, env->GetFileSize(path));
  if (reader->offset() < size) {
    err << "warning: " << EscapeForDisplay(path) << " ends with an incomplete record at offset "
        << reader->offset() << " (" << (size - reader->offset())
        << " bytes; still being written?)\n";
  }
  return Status::OK();
}

using RowFilter = std::function<bool(const EventValue&)>;

void PrintText(const std::vector<FileRows>& all, const RowFilter& keep, std::ostream& o) {
  for (const FileRows& f : all) {
    o << "# " << EscapeForDisplay(f.path) << "\n";
    for (const EventValue& r : f.rows) {
      if (!keep(r)) continue;
      o << "step=" << r.step << " wall_time=" << ShortestDecimal(r.wall_time) << " "
        << EventValueKindName(r.kind) << " " << (r.tag.empty() ? "-" : EscapeForDisplay(r.tag))
        << " " << PlainValue(r, /*quote_text=*/true) << "\n";
    }
  }
}

void PrintCsv(const std::vector<FileRows>& all, const RowFilter& keep, std::ostream& o) {
  o << "file,wall_time,step,tag,kind,value\n";
  for (const FileRows& f : all) {
    for (const EventValue& r : f.rows) {
      if (!keep(r)) continue;
      o << CsvField(f.path) << "," << ShortestDecimal(r.wall_time) << "," << r.step << ","
        << CsvField(r.tag) << "," << EventValueKindName(r.kind) << ","
        << CsvField(PlainValue(r, /*quote_text=*/false)) << "\n";
    }
  }
}

void PrintJson(const std::vector<FileRows>& all, const RowFilter& keep, std::ostream& o) {
  o << "{\"files\": [";
  for (size_t i = 0; i < all.size(); ++i) o << (i ? ", " : "") << JsonString(all[i].path);
  o << "],\n \"events\": [";
  bool first = true;
  for (const FileRows& f : all) {
    for (const EventValue& r : f.rows) {
      if (!keep(r)) continue;
      o << (first ? "\n  " : ",\n  ");
      first = false;
      o << "{\"file\": " << JsonString(f.path) << ", \"wall_time\": " << JsonNumber(r.wall_time)
        << ", \"step\": " << r.step << ", \"tag\": " << JsonString(r.tag) << ", \"kind\": \""
        << EventValueKindName(r.kind) << "\", \"value\": " << JsonValue(r) << "}";
    }
  }
  o << "]}\n";
}

}  // namespace

int RunEvents(const EventsCommandOptions& options, std::ostream& out, std::ostream& err) {
  Env* env = options.env;
  if (options.format != "text" && options.format != "csv" && options.format != "json") {
    err << "ckpt events: unknown --format '" << options.format << "' (text, csv or json)\n";
    return kExitUsage;
  }
  std::vector<std::string> files;
  if (env->IsDirectory(options.path)) {
    auto listed = ListEventFiles(env, options.path);
    if (!listed.ok()) {
      err << "ckpt events: " << EscapeForDisplay(listed.status().ToString()) << "\n";
      return kExitFailure;
    }
    files = std::move(listed).value();
    if (files.empty()) {
      err << "ckpt events: no event files (names containing \"tfevents\") in '"
          << EscapeForDisplay(options.path) << "'\n";
      return kExitFailure;
    }
  } else if (env->FileExists(options.path)) {
    files.push_back(options.path);
  } else {
    err << "ckpt events: "
        << NotFoundError("'" + EscapeForDisplay(options.path) + "' does not exist") << "\n";
    return kExitFailure;
  }

  std::vector<FileRows> all(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    Status s = ReadFile(env, files[i], &all[i], err);
    if (!s.ok()) {
      err << "ckpt events: " << EscapeForDisplay(s.ToString()) << "\n";
      return kExitFailure;
    }
  }
  const std::set<std::string> tags(options.tags.begin(), options.tags.end());
  const RowFilter keep = [&](const EventValue& r) { return tags.empty() || tags.count(r.tag) > 0; };

  std::ostringstream o;
  if (options.format == "text") {
    PrintText(all, keep, o);
  } else if (options.format == "csv") {
    PrintCsv(all, keep, o);
  } else {
    PrintJson(all, keep, o);
  }
  out << o.str();
  return kExitOk;
}

void AddEventsCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code) {
  auto* cmd = app->add_subcommand(
      "events", "Print the summaries (tags, steps, values) of TensorBoard event files");
  auto options = std::make_shared<EventsCommandOptions>();
  cmd->add_option("path", options->path, "An event file, or a directory of event files")
      ->required();
  cmd->add_option("--tag", options->tags, "Only rows with this tag (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--format", options->format, "Output format")
      ->check(CLI::IsMember({"text", "csv", "json"}))
      ->capture_default_str();
  cmd->callback([options, out, err, exit_code] { *exit_code = RunEvents(*options, *out, *err); });
}

}  // namespace ckpt::tools
