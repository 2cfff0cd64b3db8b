// GateEnv: an Env whose file creations wait while its gate is closed, so a
// test can hold a background save before it writes a byte.
#ifndef CKPT_TESTS_TESTUTIL_GATE_ENV_H_
#define CKPT_TESTS_TESTUTIL_GATE_ENV_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ckpt/env.h"

namespace ckpt::testing {

// File creations block while the gate is closed.
class GateEnv : public ForwardingEnv {
 public:
  explicit GateEnv(Env* target) : ForwardingEnv(target) {}

  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> l(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Returns once some file creation is waiting at the closed gate.
  void WaitUntilBlocked() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return blocked_ > 0; });
  }
  int creates() {
    std::lock_guard<std::mutex> l(mu_);
    return creates_;
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    {
      std::unique_lock<std::mutex> l(mu_);
      ++blocked_;
      cv_.notify_all();
      cv_.wait(l, [&] { return open_; });
      --blocked_;
      ++creates_;
    }
    return ForwardingEnv::NewWritableFile(path);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int blocked_ = 0;
  int creates_ = 0;
};

// Opens `gate` after `ms` milliseconds on another thread.
inline std::thread OpenLater(GateEnv* gate, int ms) {
  return std::thread([gate, ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    gate->Open();
  });
}

}  // namespace ckpt::testing

#endif  // CKPT_TESTS_TESTUTIL_GATE_ENV_H_
