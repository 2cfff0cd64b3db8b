// Fuzzes the `checkpoint` state file (text-format CheckpointState):
// GetCheckpointState and LatestCheckpoint, in a directory holding a V2 and
// a V1 checkpoint so that existence checks and the moved-directory
// fallback are reached.
#include <string>

#include "ckpt/checkpoint_state.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto env = NewMemEnv();
  const std::string dir = "/train";
  ckpt::fuzz::PutFile(env.get(), dir + "/checkpoint",
                      std::string_view(reinterpret_cast<const char*>(data), size));
  ckpt::fuzz::PutFile(env.get(), dir + "/model.ckpt-1.index", "");
  ckpt::fuzz::PutFile(env.get(), dir + "/model.ckpt-2", "");
  auto state = GetCheckpointState(env.get(), dir);
  if (state.ok()) {
    for (const std::string& p : state->all_model_checkpoint_paths) {
      (void)CheckpointExists(env.get(), p);
      (void)RelativePath(p, dir);
    }
  }
  auto latest = LatestCheckpoint(env.get(), dir);
  (void)latest;
  // A relative directory takes the relative-path branches.
  auto env2 = NewMemEnv();
  ckpt::fuzz::PutFile(env2.get(), "rel/checkpoint",
                      std::string_view(reinterpret_cast<const char*>(data), size));
  auto latest2 = LatestCheckpoint(env2.get(), "rel");
  (void)latest2;
  return 0;
}
