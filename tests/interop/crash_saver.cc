// ckpt_crash_saver: saves checkpoints in a loop until killed, for the crash
// tests (test_crash.py, scripts/crash_soak.sh).
//
//   ckpt_crash_saver <dir> [--max_to_keep=N] [--elems=N] [--tensors=N]
//                    [--steps=N] [--sharded]
//
// Each checkpoint "<dir>/model.ckpt-<step>" holds
//   "step"   int64 scalar = step
//   "v<i>"   int64 [elems], element j = step * 1000003 + i * 1009 + j
// so a reader can check every value against the step in the name. After
// Saver::Save returns, "committed <step>" is printed and flushed: from then
// on the checkpoint must survive a kill -9 (until retention drops it).
//
// On start the saver re-adopts the checkpoints the state file lists
// (Saver::RecoverLastCheckpoints, as a restarted TF1 training job does) and
// continues at the newest step + 1; its first Save removes the leftovers of
// the save that was killed. "start <step>" is printed first.
// Exit status: 0 after --steps saves, 1 on a save error, 2 on bad usage.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ckpt/checkpoint_state.h"
#include "ckpt/saver.h"

namespace {

int64_t StepOf(const std::string& prefix) {
  size_t dash = prefix.rfind('-');
  if (dash == std::string::npos) return 0;
  return std::strtoll(prefix.c_str() + dash + 1, nullptr, 10);
}

bool ParseFlag(const char* arg, const char* name, int64_t* value) {
  size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *value = std::strtoll(arg + n + 1, nullptr, 10);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <dir> [--max_to_keep=N] [--elems=N] [--tensors=N] "
                         "[--steps=N] [--sharded]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int64_t max_to_keep = 3, elems = 1024, tensors = 2, steps = -1;
  bool sharded = false;
  for (int i = 2; i < argc; ++i) {
    if (ParseFlag(argv[i], "--max_to_keep", &max_to_keep) ||
        ParseFlag(argv[i], "--elems", &elems) || ParseFlag(argv[i], "--tensors", &tensors) ||
        ParseFlag(argv[i], "--steps", &steps)) {
      continue;
    }
    if (std::strcmp(argv[i], "--sharded") == 0) {
      sharded = true;
      continue;
    }
    std::fprintf(stderr, "unknown argument %s\n", argv[i]);
    return 2;
  }

  ckpt::Env* env = ckpt::Env::Posix();
  if (!env->CreateDirs(dir).ok()) {
    std::fprintf(stderr, "cannot create %s\n", dir.c_str());
    return 1;
  }
  ckpt::Tensor step_tensor = ckpt::Tensor::Scalar<int64_t>(0);
  std::vector<ckpt::Tensor> values;
  for (int64_t i = 0; i < tensors; ++i) {
    values.push_back(ckpt::Tensor::Allocate(ckpt::DataType::kInt64, ckpt::TensorShape({elems}))
                         .value());
  }
  ckpt::VarList vars;
  vars.push_back({"step", &step_tensor, std::nullopt, {}, sharded ? "/cpu:0" : ""});
  for (int64_t i = 0; i < tensors; ++i) {
    vars.push_back({"v" + std::to_string(i), &values[i], std::nullopt, {},
                    sharded ? "/cpu:" + std::to_string(i % 2) : ""});
  }
  ckpt::SaverOptions options;
  options.env = env;
  options.max_to_keep = static_cast<int>(max_to_keep);
  options.sharded = sharded;
  auto saver = ckpt::Saver::Create(std::move(vars), options);
  if (!saver.ok()) {
    std::fprintf(stderr, "Saver::Create: %s\n", saver.status().ToString().c_str());
    return 1;
  }

  int64_t step = 1;
  auto state = ckpt::GetCheckpointState(env, dir);
  if (state.ok()) {
    ckpt::Status s = (*saver)->RecoverLastCheckpoints(state->all_model_checkpoint_paths);
    if (!s.ok()) {
      std::fprintf(stderr, "RecoverLastCheckpoints: %s\n", s.ToString().c_str());
      return 1;
    }
    step = StepOf(state->model_checkpoint_path) + 1;
  } else if (state.status().code() != ckpt::StatusCode::kNotFound) {
    std::fprintf(stderr, "GetCheckpointState: %s\n", state.status().ToString().c_str());
    return 1;
  }
  std::printf("start %" PRId64 "\n", step);
  std::fflush(stdout);

  const std::string save_path = ckpt::JoinPath(dir, "model.ckpt");
  for (int64_t n = 0; steps < 0 || n < steps; ++n, ++step) {
    *step_tensor.mutable_flat<int64_t>() = step;
    for (int64_t i = 0; i < tensors; ++i) {
      int64_t* v = values[i].mutable_flat<int64_t>();
      for (int64_t j = 0; j < elems; ++j) v[j] = step * 1000003 + i * 1009 + j;
    }
    ckpt::SaveArgs args;
    args.global_step = step;
    auto saved = (*saver)->Save(save_path, args);
    if (!saved.ok()) {
      std::fprintf(stderr, "Save step %" PRId64 ": %s\n", step, saved.status().ToString().c_str());
      return 1;
    }
    std::printf("committed %" PRId64 "\n", step);
    std::fflush(stdout);
  }
  return 0;
}
