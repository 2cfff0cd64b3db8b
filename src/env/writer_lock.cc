// WriterLock: a process-wide registry of the directories this process holds
// the writer lock of (see ckpt/writer_lock.h). Each entry is a weak pointer
// to the one WriterLock of that directory; the last owner's destructor
// releases the Env's DirectoryLock and removes the entry under the registry's
// mutex, and an Acquire that finds an entry whose owner is being destroyed
// waits for that before locking the directory again.
#include "ckpt/writer_lock.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "ckpt/logging.h"

namespace ckpt {
namespace {

struct Registry {
  std::mutex mu;
  std::condition_variable released;
  std::map<std::pair<Env*, std::string>, std::weak_ptr<WriterLock>> held;
  std::set<std::pair<Env*, std::string>> warned_unlockable;
};

Registry& TheRegistry() {
  static Registry* const registry = new Registry();
  return *registry;
}

// The file system an Env (perhaps a chain of ForwardingEnvs that inject
// faults or a clock) finally reaches: writers through different wrappers of
// one file system share the lock.
Env* Underlying(Env* env) {
  while (auto* f = dynamic_cast<ForwardingEnv*>(env)) env = f->target();
  return env;
}

}  // namespace

WriterLock::WriterLock(Env* env, std::string dir, std::string key,
                       std::unique_ptr<DirectoryLock> lock)
    : env_(env), dir_(std::move(dir)), key_(std::move(key)), lock_(std::move(lock)) {}

WriterLock::~WriterLock() {
  Registry& r = TheRegistry();
  {
    std::lock_guard<std::mutex> guard(r.mu);
    lock_.reset();
    r.held.erase({env_, key_});
  }
  r.released.notify_all();
}

Result<std::shared_ptr<WriterLock>> WriterLock::Acquire(Env* env, const std::string& dir,
                                                        const WriterLockOptions& options) {
  if (env == nullptr) return InvalidArgumentError("WriterLock::Acquire: env is null");
  const std::string d = dir.empty() ? "." : dir;
  CKPT_ASSIGN_OR_RETURN(std::string key, env->RealPath(d));
  Env* const fs = Underlying(env);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(options.wait_seconds > 0 ? options.wait_seconds : 0);
  Registry& r = TheRegistry();
  for (;;) {
    Status refused;
    {
      std::unique_lock<std::mutex> guard(r.mu);
      for (;;) {
        auto it = r.held.find({fs, key});
        if (it == r.held.end()) break;
        if (std::shared_ptr<WriterLock> shared = it->second.lock()) return shared;
        r.released.wait(guard);  // its last owner is releasing it
      }
      Result<std::unique_ptr<DirectoryLock>> lock = env->TryLockDirectory(d);
      if (lock.ok() || lock.status().code() == StatusCode::kUnimplemented) {
        if (!lock.ok() && r.warned_unlockable.insert({fs, key}).second) {
          LogWarning("Writing into " + d + " without a writer lock: " +
                     lock.status().message() + "; make sure only one writer uses it");
        }
        std::shared_ptr<WriterLock> out(new WriterLock(
            fs, d, key, lock.ok() ? std::move(lock).value() : std::unique_ptr<DirectoryLock>()));
        r.held[{fs, key}] = out;
        return out;
      }
      refused = lock.status();
    }
    if (refused.code() != StatusCode::kFailedPrecondition) {
      return refused.WithContext("Taking the writer lock of " + d);
    }
    const bool forever = options.wait_seconds < 0;
    if (!forever && std::chrono::steady_clock::now() >= deadline) {
      return FailedPreconditionError(
          "Another writer is using the checkpoint directory " + d + ": " + refused.message() +
          ". One writer at a time may save into a directory; stop the other one, or wait for it "
          "(WriterLockOptions::wait_seconds)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace ckpt
