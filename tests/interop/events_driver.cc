// ckpt_events_driver: writes a TensorBoard event file with ckpt::EventWriter
// from a line-oriented script, so pytest can read it with TensorBoard.
//
//   ckpt_events_driver <script>
//
// Script lines (space-separated; text fields are hex so any bytes pass):
//   logdir <dir>                     (required, before any event)
//   hostname <name>                  suffix <hex suffix>
//   source_writer <name>
//   scalar_v1 <tag> <step> <value>   TF1 simple_value
//   scalar_v2 <tag> <step> <value>   TF2 tensor + "scalars" plugin
//   histogram <tag> <step> <v1,v2,...>   (empty list: "-")
//   text <tag> <step> <hex text>
//   graph <step> <path of a serialized GraphDef>
//   meta_graph <step> <path of a serialized MetaGraphDef>
//   session_log <START|STOP|CHECKPOINT> <step> [<hex checkpoint path>]
//   flush
// Values are decimal (strtof/strtod), as Python's repr prints them.
// Prints the event file's path on stdout; errors on stderr, exit 1.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/summary.h"

namespace {

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

int Fail(const std::string& what) {
  std::cerr << "ckpt_events_driver: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ckpt;
  if (argc != 2) return Fail("usage: ckpt_events_driver <script>");
  std::ifstream in(argv[1]);
  if (!in) return Fail(std::string("cannot open ") + argv[1]);
  EventWriterOptions options;
  std::string logdir;
  std::unique_ptr<EventWriter> writer;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ss(line);
    std::string cmd;
    if (!(ss >> cmd)) continue;
    auto where = "line " + std::to_string(lineno) + " (" + cmd + "): ";
    if (cmd == "logdir") {
      ss >> logdir;
      continue;
    }
    if (cmd == "source_writer") {
      ss >> options.source_writer;
      continue;
    }
    if (cmd == "hostname") {
      ss >> options.hostname;
      continue;
    }
    if (cmd == "suffix") {
      std::string hex;
      ss >> hex;
      options.filename_suffix = FromHex(hex);
      continue;
    }
    if (!writer) {
      if (logdir.empty()) return Fail(where + "no logdir");
      auto w = EventWriter::Create(logdir, options);
      if (!w.ok()) return Fail(where + w.status().ToString());
      writer = std::move(w).value();
    }
    Status s;
    if (cmd == "scalar_v1" || cmd == "scalar_v2") {
      std::string tag, value;
      long long step;
      ss >> tag >> step >> value;
      float v = std::strtof(value.c_str(), nullptr);
      s = writer->AddScalar(tag, step, v,
                            cmd == "scalar_v1" ? ScalarStyle::kSimpleValue : ScalarStyle::kTensor);
    } else if (cmd == "histogram") {
      std::string tag, list;
      long long step;
      ss >> tag >> step >> list;
      std::vector<double> values;
      if (list != "-") {
        std::stringstream ls(list);
        std::string item;
        while (std::getline(ls, item, ',')) values.push_back(std::strtod(item.c_str(), nullptr));
      }
      s = writer->AddHistogram(tag, step, values);
    } else if (cmd == "text") {
      std::string tag, hex;
      long long step;
      ss >> tag >> step >> hex;
      s = writer->AddText(tag, step, FromHex(hex));
    } else if (cmd == "graph" || cmd == "meta_graph") {
      long long step;
      std::string path;
      ss >> step >> path;
      auto bytes = ReadFileToString(Env::Posix(), path);
      if (!bytes.ok()) return Fail(where + bytes.status().ToString());
      s = cmd == "graph" ? writer->AddGraphDef(*bytes, step) : writer->AddMetaGraphDef(*bytes, step);
    } else if (cmd == "session_log") {
      std::string status, hex;
      long long step;
      ss >> status >> step >> hex;
      SessionLogStatus st = status == "START"        ? SessionLogStatus::kStart
                            : status == "STOP"       ? SessionLogStatus::kStop
                            : status == "CHECKPOINT" ? SessionLogStatus::kCheckpoint
                                                     : SessionLogStatus::kUnspecified;
      s = writer->AddSessionLog(st, step, FromHex(hex));
    } else if (cmd == "flush") {
      s = writer->Flush();
    } else {
      return Fail(where + "unknown command");
    }
    if (!s.ok()) return Fail(where + s.ToString());
  }
  if (!writer) {
    if (logdir.empty()) return Fail("no logdir");
    auto w = EventWriter::Create(logdir, options);
    if (!w.ok()) return Fail(w.status().ToString());
    writer = std::move(w).value();
  }
  Status s = writer->Close();
  if (!s.ok()) return Fail(s.ToString());
  std::cout << writer->path() << "\n";
  return 0;
}
