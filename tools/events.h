// `ckpt events`: print the summaries of TensorBoard event files.
//
//   ckpt events <file|dir> [--tag=TAG ...] [--format=text|csv|json]
//
// A directory means every event file directly in it (names containing
// "tfevents"), in name order. --tag keeps only summary values with one of the
// given tags (repeatable). A file that ends in an incomplete record (still
// being written) is read up to it, with a warning on stderr; any other
// damage is an error. Errors go to stderr with exit code 1 and nothing on
// stdout; 2 for a bad command line.
//
// text (default): for each file "# <path>", then one line per row:
//   step=<step> wall_time=<seconds> <kind> <tag> <value>
// (an untagged row prints "-" as its tag). Values: scalars as the shortest
// decimal that round-trips the double; histograms as
// "num=N min=A max=B sum=S buckets=K"; text as a JSON string literal;
// graph_def / meta_graph_def / run_metadata / image / audio as "<N bytes>";
// session_log as its status ("START", "CHECKPOINT <path>"); tensors as
// "<dtype><shape>".
// csv: header "file,wall_time,step,tag,kind,value", values as in text
// (text unquoted), RFC 4180 quoting.
// json: one document and a newline:
//   {"files": ["<path>", ...],
//    "events": [{"file": "<path>", "wall_time": W, "step": S, "tag": "...",
//                "kind": "scalar", "value": ...}, ...]}
// where value is a number (scalar; "nan"/"inf"/"-inf" as strings), a string
// (text, file_version, log_message), {"min", "max", "num", "sum",
// "sum_squares", "bucket_limit": [...], "bucket": [...]} (histogram),
// {"bytes": N} (graph_def, meta_graph_def, run_metadata, image, audio),
// {"status": "CHECKPOINT", "checkpoint_path": "...", "msg": "..."}
// (session_log), {"dtype": "float", "shape": [3]} (tensor) or null.
//
// Thread safety: reentrant; no shared state.
#ifndef CKPT_TOOLS_EVENTS_H_
#define CKPT_TOOLS_EVENTS_H_

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "ckpt/env.h"

namespace ckpt::tools {

struct EventsCommandOptions {
  std::string path;
  std::vector<std::string> tags;  // empty: all rows
  std::string format = "text";    // text, csv or json
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
};

// Runs the command; returns the exit code (0 ok, 1 failure).
int RunEvents(const EventsCommandOptions& options, std::ostream& out, std::ostream& err);

// Adds the `events` subcommand to `app` (see command.h).
// REQUIRES: the pointers outlive the parse.
void AddEventsCommand(CLI::App* app, std::ostream* out, std::ostream* err, int* exit_code);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_EVENTS_H_
