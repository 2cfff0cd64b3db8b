// ckpt_saver_driver: runs a scripted sequence of ckpt::Saver calls with a
// scripted clock, so that pytest can run the same sequence through
// TensorFlow's tf.compat.v1.train.Saver (with time.time patched to the same
// values) and compare files, state files, values and errors. Not installed.
//
//   ckpt_saver_driver <script file>
//
// Script: one command per line, tokens separated by single spaces; blank
// lines and lines starting with '#' are ignored.
//   now <seconds>                      sets the clock (Env::NowSeconds)
//   var <name> <DT_NAME> <dims|scalar> <hex of raw element bytes>
//       [device=<d>] [full=<dims>] [slice=<spec>]
//                                      declares a variable (dims "2,3"); with
//                                      full= and slice= it is one partition
//   saver [max_to_keep=N] [hours=H] [sharded=0|1] [pad=0|1] [relative=0|1]
//         [threads=N]                  (threads: SaverOptions::shard_write_threads)
//                                      creates a Saver over the variables
//                                      (replacing any previous one)
//   save <path> [step=N] [latest=<name>] [meta=0|1] [state=0|1] [suffix=<s>]
//   async_save <path> budget=<bytes, -1 = unlimited> [step=N] [sharded=0|1]
//                                      an AsyncSaver over the variables (needs
//                                      no 'saver') saves once; right after
//                                      Save() returns every variable is
//                                      overwritten (0xff bytes) until Wait()
//                                      ends, then put back
//   recover <path>...                  Saver::RecoverLastCheckpoints
//   set_last <path>@<seconds>...       Saver::SetLastCheckpointsWithTime
//   last                               prints the Saver's list
//   restore <path> [include=<regex>] [map=<var>:<key>]... [allow_missing=1]
//                                      restores; prints each variable's bytes
// Output (stdout), one line per event:
//   saved <prefix>
//   staged <bytes>                     (async_save: AsyncSaver::snapshot_bytes)
//   last <path> <seconds, %.17g>
//   value <index> <name> <hex bytes>   (after a successful restore, in
//                                       declaration order)
//   error <CODE_NAME> <hex of the message>
// A malformed script exits with status 2; Saver errors are reported and the
// script continues.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/async_saver.h"
#include "ckpt/env.h"
#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "ckpt/types.h"
#include "testutil/fake_clock.h"

namespace {

using namespace ckpt;  // NOLINT: a test driver

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "ckpt_saver_driver: " << msg << "\n";
  std::exit(2);
}

std::string Hex(std::string_view s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Unhex(const std::string& h) {
  if (h.size() % 2 != 0) Die("odd hex length: " + h);
  std::string out;
  for (size_t i = 0; i < h.size(); i += 2) {
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return out;
}

TensorShape ParseDims(const std::string& s) {
  if (s == "scalar") return TensorShape();
  std::vector<int64_t> dims;
  std::stringstream ss(s);
  std::string d;
  while (std::getline(ss, d, ',')) dims.push_back(std::stoll(d));
  return TensorShape(dims);
}

void PrintError(const Status& s) {
  std::cout << "error " << StatusCodeName(s.code()) << " " << Hex(s.message()) << "\n";
}

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string tok;
  while (std::getline(ss, tok, ' ')) {
    if (!tok.empty()) out.push_back(tok);
  }
  return out;
}

// key=value options after the positional tokens.
bool Option(const std::vector<std::string>& tok, size_t from, const std::string& key,
            std::string* value) {
  for (size_t i = from; i < tok.size(); ++i) {
    if (tok[i].compare(0, key.size() + 1, key + "=") == 0) {
      *value = tok[i].substr(key.size() + 1);
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) Die("usage: ckpt_saver_driver <script file>");
  std::ifstream in(argv[1]);
  if (!in) Die(std::string("cannot open ") + argv[1]);
  ckpt::testing::FakeClockEnv env(Env::Posix(), 0);
  // Tensors live in a list whose elements never move.
  std::vector<std::unique_ptr<Tensor>> tensors;
  VarList vars;
  std::unique_ptr<Saver> saver;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> tok = Split(line);
    if (tok.empty() || tok[0][0] == '#') continue;
    const std::string& cmd = tok[0];
    std::string v;
    if (cmd == "now") {
      if (tok.size() != 2) Die("now <seconds>");
      env.Set(std::stod(tok[1]));
    } else if (cmd == "var") {
      if (tok.size() < 5) Die("var <name> <DT> <dims> <hex>");
      auto dtype = DataTypeFromName(tok[2]);
      if (!dtype || !IsFixedSize(*dtype)) Die("bad dtype " + tok[2]);
      auto t = Tensor::Allocate(*dtype, ParseDims(tok[3]));
      if (!t.ok()) Die(t.status().ToString());
      std::string bytes = Unhex(tok[4]);
      if (bytes.size() != t->byte_size()) Die("wrong byte count for " + tok[1]);
      std::copy(bytes.begin(), bytes.end(), t->mutable_data());
      tensors.push_back(std::make_unique<Tensor>(std::move(t).value()));
      SaveableTensor st;
      st.name = tok[1];
      st.tensor = tensors.back().get();
      if (Option(tok, 5, "device", &v)) st.device = v;
      if (Option(tok, 5, "full", &v)) {
        st.full_shape = ParseDims(v);
        if (!Option(tok, 5, "slice", &v)) Die("full= needs slice=");
        auto slice = TensorSlice::Parse(v);
        if (!slice.ok()) Die(slice.status().ToString());
        st.slice = *slice;
      }
      vars.push_back(std::move(st));
    } else if (cmd == "saver") {
      SaverOptions o;
      o.env = &env;
      if (Option(tok, 1, "max_to_keep", &v)) o.max_to_keep = std::stoi(v);
      if (Option(tok, 1, "hours", &v)) o.keep_checkpoint_every_n_hours = std::stod(v);
      if (Option(tok, 1, "sharded", &v)) o.sharded = v == "1";
      if (Option(tok, 1, "pad", &v)) o.pad_step_number = v == "1";
      if (Option(tok, 1, "relative", &v)) o.save_relative_paths = v == "1";
      if (Option(tok, 1, "threads", &v)) o.shard_write_threads = std::stoi(v);
      o.meta_graph_writer = [&env](const std::string& path) -> Status {
        CKPT_ASSIGN_OR_RETURN(auto f, env.NewWritableFile(path));
        CKPT_RETURN_IF_ERROR(f->Append("ckpt_saver_driver meta graph placeholder\n"));
        return f->Close();
      };
      auto s = Saver::Create(vars, o);
      if (!s.ok()) {
        PrintError(s.status());
        saver.reset();
      } else {
        saver = std::move(s).value();
      }
    } else if (cmd == "async_save") {
      if (tok.size() < 3 || !Option(tok, 2, "budget", &v)) Die("async_save <path> budget=<n>");
      AsyncSaverOptions o;
      o.saver.env = &env;
      o.staging_budget_bytes = std::stoll(v);
      if (Option(tok, 2, "sharded", &v)) o.saver.sharded = v == "1";
      SaveArgs args;
      if (Option(tok, 2, "step", &v)) args.global_step = std::stoll(v);
      auto async = AsyncSaver::Create(vars, o);
      if (!async.ok()) {
        PrintError(async.status());
        continue;
      }
      std::cout << "staged " << (*async)->snapshot_bytes() << "\n";
      std::vector<std::string> kept;
      for (const SaveableTensor& t : vars) kept.emplace_back(t.tensor->bytes());
      auto p = (*async)->Save(tok[1], args);
      for (const SaveableTensor& t : vars) {
        std::fill(t.tensor->mutable_data(), t.tensor->mutable_data() + t.tensor->byte_size(),
                  static_cast<char>(0xff));
      }
      Status waited = (*async)->Wait();
      for (size_t i = 0; i < vars.size(); ++i) {
        std::copy(kept[i].begin(), kept[i].end(), vars[i].tensor->mutable_data());
      }
      if (!p.ok()) {
        PrintError(p.status());
      } else if (!waited.ok()) {
        PrintError(waited);
      } else {
        std::cout << "saved " << *p << "\n";
      }
    } else if (!saver) {
      Die("'" + cmd + "' before a successful 'saver'");
    } else if (cmd == "save") {
      if (tok.size() < 2) Die("save <path>");
      SaveArgs args;
      if (Option(tok, 2, "step", &v)) args.global_step = std::stoll(v);
      if (Option(tok, 2, "latest", &v)) args.latest_filename = v;
      if (Option(tok, 2, "meta", &v)) args.write_meta_graph = v == "1";
      if (Option(tok, 2, "state", &v)) args.write_state = v == "1";
      if (Option(tok, 2, "suffix", &v)) args.meta_graph_suffix = v;
      auto p = saver->Save(tok[1], args);
      if (p.ok()) {
        std::cout << "saved " << *p << "\n";
      } else {
        PrintError(p.status());
      }
    } else if (cmd == "recover") {
      Status s = saver->RecoverLastCheckpoints({tok.begin() + 1, tok.end()});
      if (!s.ok()) PrintError(s);
    } else if (cmd == "set_last") {
      std::vector<std::pair<std::string, double>> list;
      for (size_t i = 1; i < tok.size(); ++i) {
        size_t at = tok[i].rfind('@');
        if (at == std::string::npos) Die("set_last <path>@<seconds>");
        list.emplace_back(tok[i].substr(0, at), std::stod(tok[i].substr(at + 1)));
      }
      saver->SetLastCheckpointsWithTime(std::move(list));
    } else if (cmd == "last") {
      for (const auto& [path, t] : saver->last_checkpoints_with_time()) {
        char buf[40];
        std::snprintf(buf, sizeof(buf), "%.17g", t);
        std::cout << "last " << path << " " << buf << "\n";
      }
    } else if (cmd == "restore") {
      if (tok.size() < 2) Die("restore <path>");
      RestoreOptions ro;
      if (Option(tok, 2, "include", &v)) ro.include = std::regex(v);
      if (Option(tok, 2, "allow_missing", &v)) ro.allow_missing = v == "1";
      for (size_t i = 2; i < tok.size(); ++i) {
        if (tok[i].compare(0, 4, "map=") != 0) continue;
        size_t colon = tok[i].find(':', 4);
        if (colon == std::string::npos) Die("map=<var>:<key>");
        ro.name_map[tok[i].substr(4, colon - 4)] = tok[i].substr(colon + 1);
      }
      Status s = saver->Restore(tok[1], ro);
      if (!s.ok()) {
        PrintError(s);
        continue;
      }
      for (size_t i = 0; i < vars.size(); ++i) {
        std::cout << "value " << i << " " << vars[i].name << " " << Hex(vars[i].tensor->bytes())
                  << "\n";
      }
    } else {
      Die("unknown command '" + cmd + "'");
    }
  }
  return 0;
}
