// BackgroundSaves (saver/background.h).
#include "saver/background.h"

#include <utility>

namespace ckpt::saver_internal {

BackgroundSaves::BackgroundSaves() : thread_([this] { Run(); }) {}

BackgroundSaves::~BackgroundSaves() { Stop().IgnoreError(); }

void BackgroundSaves::Run() {
  for (;;) {
    std::function<Status()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return job_ != nullptr || stop_; });
      if (job_ == nullptr) return;
      job = std::move(job_);
      job_ = nullptr;
    }
    Status s = job();
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
      error_ = s;
    }
    cv_.notify_all();
  }
}

void BackgroundSaves::Start(std::function<Status()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = std::move(job);
    busy_ = true;
  }
  cv_.notify_all();
}

void BackgroundSaves::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !busy_; });
}

Status BackgroundSaves::TakeError() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !busy_; });
  Status s = std::move(error_);
  error_ = Status::OK();
  return s;
}

Status BackgroundSaves::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // runs a queued job first
  return TakeError();
}

}  // namespace ckpt::saver_internal
