// ckpt_manager_driver: runs ckpt::CheckpointManager and the state-file API
// for the pytest interop suite (test_checkpoint_manager.py,
// test_state_files.py), so that TensorFlow can be run on the same script.
//
//   ckpt_manager_driver run <dir> <script>
//       Executes the script, one command a line, printing one result line
//       per command on stdout:
//         clock <seconds>          the clock the manager sees (Env::NowSeconds)
//         step <n>                 the step counter value
//         open [max_to_keep=N|none] [keep_hours=X|none] [name=S]
//              [interval=N|none]   a new target (save counter 0) and a new
//                                  manager on <dir>   -> "open <latest or ->"
//         save [N|-] [nocheck]     -> "saved <prefix>" or "skipped"
//         restore                  RestoreOrInitialize -> "restored <prefix or ->"
//         list                     -> "checkpoints <prefix>..."
//   ckpt_manager_driver state <dir>
//       Prints GetCheckpointState and LatestCheckpoint of <dir> as JSON
//       ({"error": ...} members instead when they fail).
//   ckpt_manager_driver update <dir> <model_path> [--relative] [path...]
//       UpdateCheckpointState(dir, model_path, paths).
//
// The target stands in for tf.train.Checkpoint: each checkpoint is a bundle
// holding the save counter (int64 scalar) under tf.train.Checkpoint's key,
// which Restore reads back (from TensorFlow's checkpoints too).
// Errors go to stderr with exit status 1.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_manager.h"
#include "ckpt/checkpoint_state.h"
#include "testutil/fake_clock.h"

namespace {

using ckpt::Status;

// The key tf.train.Checkpoint uses for its save counter.
constexpr char kCounterKey[] = "save_counter/.ATTRIBUTES/VARIABLE_VALUE";

class DriverTarget : public ckpt::CheckpointTarget {
 public:
  explicit DriverTarget(ckpt::Env* env) : env_(env) {}
  int64_t IncrementSaveCounter() override { return ++save_counter_; }
  Status Write(const std::string& prefix) override {
    ckpt::BundleWriterOptions options;
    options.env = env_;
    CKPT_ASSIGN_OR_RETURN(auto writer, ckpt::BundleWriter::Create(prefix, options));
    CKPT_RETURN_IF_ERROR(writer->Add(kCounterKey, ckpt::Tensor::Scalar<int64_t>(save_counter_)));
    return writer->Finish();
  }
  Status Restore(const std::string& prefix) override {
    ckpt::BundleReaderOptions options;
    options.env = env_;
    CKPT_ASSIGN_OR_RETURN(auto reader, ckpt::BundleReader::Open(prefix, options));
    CKPT_ASSIGN_OR_RETURN(ckpt::Tensor counter, reader->Read(kCounterKey));
    save_counter_ = *counter.flat<int64_t>();
    return Status::OK();
  }

 private:
  ckpt::Env* env_;
  int64_t save_counter_ = 0;
};

int Fail(const std::string& message) {
  std::cerr << "ckpt_manager_driver: " << message << "\n";
  return 1;
}

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string JsonDouble(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", d);
  return buf;
}

int RunScript(const std::string& dir, const std::string& script_path) {
  std::ifstream script(script_path);
  if (!script) return Fail("cannot open script " + script_path);
  ckpt::testing::FakeClockEnv env(ckpt::Env::Posix(), 0);
  int64_t step = 0;
  std::unique_ptr<DriverTarget> target;
  std::unique_ptr<ckpt::CheckpointManager> manager;
  std::string line;
  int line_number = 0;
  while (std::getline(script, line)) {
    ++line_number;
    std::istringstream in(line);
    std::string command;
    if (!(in >> command) || command[0] == '#') continue;
    std::vector<std::string> args;
    for (std::string a; in >> a;) args.push_back(a);
    const std::string where = script_path + ":" + std::to_string(line_number) + ": ";
    if (command == "clock" && args.size() == 1) {
      env.Set(std::strtod(args[0].c_str(), nullptr));
    } else if (command == "step" && args.size() == 1) {
      step = std::strtoll(args[0].c_str(), nullptr, 10);
    } else if (command == "open") {
      ckpt::CheckpointManagerOptions options;
      options.env = &env;
      for (const std::string& a : args) {
        size_t eq = a.find('=');
        if (eq == std::string::npos) return Fail(where + "bad option " + a);
        std::string key = a.substr(0, eq), value = a.substr(eq + 1);
        bool none = value == "none";
        if (key == "max_to_keep") {
          options.max_to_keep = none ? std::nullopt : std::optional<int>(std::atoi(value.c_str()));
        } else if (key == "keep_hours") {
          options.keep_checkpoint_every_n_hours =
              none ? std::nullopt : std::optional<double>(std::strtod(value.c_str(), nullptr));
        } else if (key == "name") {
          options.checkpoint_name = value;
        } else if (key == "interval") {
          options.checkpoint_interval =
              none ? std::nullopt : std::optional<int64_t>(std::strtoll(value.c_str(), nullptr, 10));
          options.step_counter = &step;
        } else {
          return Fail(where + "unknown option " + key);
        }
      }
      manager.reset();
      target = std::make_unique<DriverTarget>(&env);
      auto created = ckpt::CheckpointManager::Create(target.get(), dir, options);
      if (!created.ok()) return Fail(where + created.status().ToString());
      manager = std::move(created).value();
      std::cout << "open " << manager->latest_checkpoint().value_or("-") << "\n";
    } else if (manager == nullptr) {
      return Fail(where + "'" + command + "' before 'open'");
    } else if (command == "save" && args.size() <= 2) {
      std::optional<int64_t> number;
      if (!args.empty() && args[0] != "-") number = std::strtoll(args[0].c_str(), nullptr, 10);
      bool check = !(args.size() == 2 && args[1] == "nocheck");
      auto saved = manager->Save(number, check);
      if (!saved.ok()) return Fail(where + saved.status().ToString());
      std::cout << (saved->empty() ? std::string("skipped") : "saved " + *saved) << "\n";
    } else if (command == "restore") {
      auto restored = manager->RestoreOrInitialize();
      if (!restored.ok()) return Fail(where + restored.status().ToString());
      std::cout << "restored " << (restored->empty() ? std::string("-") : *restored) << "\n";
    } else if (command == "list") {
      std::cout << "checkpoints";
      for (const std::string& p : manager->checkpoints()) std::cout << " " << p;
      std::cout << "\n";
    } else {
      return Fail(where + "bad command: " + line);
    }
  }
  return 0;
}

int PrintState(const std::string& dir) {
  ckpt::Env* env = ckpt::Env::Posix();
  std::ostringstream out;
  out << "{";
  auto state = ckpt::GetCheckpointState(env, dir);
  if (!state.ok()) {
    out << "\"state_error\": " << Json(state.status().ToString());
  } else {
    out << "\"model_checkpoint_path\": " << Json(state->model_checkpoint_path)
        << ", \"all_model_checkpoint_paths\": [";
    for (size_t i = 0; i < state->all_model_checkpoint_paths.size(); ++i) {
      out << (i ? ", " : "") << Json(state->all_model_checkpoint_paths[i]);
    }
    out << "], \"all_model_checkpoint_timestamps\": [";
    for (size_t i = 0; i < state->all_model_checkpoint_timestamps.size(); ++i) {
      out << (i ? ", " : "") << JsonDouble(state->all_model_checkpoint_timestamps[i]);
    }
    out << "], \"last_preserved_timestamp\": "
        << (state->last_preserved_timestamp ? JsonDouble(*state->last_preserved_timestamp)
                                            : std::string("null"));
  }
  auto latest = ckpt::LatestCheckpoint(env, dir);
  if (latest.ok()) {
    out << ", \"latest\": " << Json(*latest);
  } else {
    out << ", \"latest_error\": " << Json(latest.status().ToString());
  }
  out << "}";
  std::cout << out.str() << "\n";
  return 0;
}

int Update(const std::string& dir, const std::string& model, const std::vector<std::string>& rest) {
  ckpt::UpdateCheckpointStateOptions options;
  std::vector<std::string> paths;
  for (const std::string& a : rest) {
    if (a == "--relative") {
      options.save_relative_paths = true;
    } else {
      paths.push_back(a);
    }
  }
  Status s = ckpt::UpdateCheckpointState(ckpt::Env::Posix(), dir, model, paths, {}, std::nullopt,
                                         options);
  if (!s.ok()) return Fail(s.ToString());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "run") return RunScript(args[1], args[2]);
  if (args.size() == 2 && args[0] == "state") return PrintState(args[1]);
  if (args.size() >= 3 && args[0] == "update") {
    return Update(args[1], args[2], std::vector<std::string>(args.begin() + 3, args.end()));
  }
  return Fail("usage: ckpt_manager_driver run <dir> <script> | state <dir> | "
              "update <dir> <model_path> [--relative] [path...]");
}
