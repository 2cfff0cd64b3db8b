// The background thread of AsyncSaver (ckpt/async_saver.h) and the dist
// module's AsyncDistributedSaver (ckpt/distributed.h): it runs one save at a
// time and keeps the last one's error until someone collects it. Internal.
#ifndef CKPT_SRC_SAVER_BACKGROUND_H_
#define CKPT_SRC_SAVER_BACKGROUND_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "ckpt/status.h"

namespace ckpt::saver_internal {

class BackgroundSaves {
 public:
  // Starts the thread.
  BackgroundSaves();
  // Stop().
  ~BackgroundSaves();

  BackgroundSaves(const BackgroundSaves&) = delete;
  BackgroundSaves& operator=(const BackgroundSaves&) = delete;

  // Hands `job` to the thread and returns. REQUIRES: idle (after WaitIdle or
  // TakeError) and not stopped.
  void Start(std::function<Status()> job);

  // Waits until no job is queued or running.
  void WaitIdle();

  // WaitIdle(), then returns the error of the last job not yet collected
  // (OK if none) and clears it.
  Status TakeError();

  // Runs a queued job, ends the thread and returns TakeError(). Idempotent.
  Status Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<Status()> job_;  // handed to the thread
  bool busy_ = false;            // a job is queued or running
  bool stop_ = false;
  Status error_;                 // of the last job, not yet collected
  std::thread thread_;           // last: started once the rest exists
};

}  // namespace ckpt::saver_internal

#endif  // CKPT_SRC_SAVER_BACKGROUND_H_
