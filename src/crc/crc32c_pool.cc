#include "crc/crc32c_pool.h"

#include <algorithm>
#include <system_error>

#include "crc/crc32c.h"

namespace ckpt::crc32c {

Pool::Pool(int threads) {
  threads_.reserve(threads > 0 ? static_cast<size_t>(threads) : 0);
  for (int i = 0; i < threads; ++i) {
    try {
      threads_.emplace_back([this] { Run(); });
    } catch (const std::system_error&) {
      break;  // run with the helpers we got (possibly none)
    }
  }
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void Pool::Post(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(task);
  }
  cv_.notify_one();
}

bool Pool::TakeNext(const Job* job, Task* task) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->job == job) {
      *task = *it;
      queue_.erase(it);
      return true;
    }
  }
  return false;
}

bool Pool::Take(const void* piece) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->piece == piece) {
      queue_.erase(it);
      return true;
    }
  }
  return false;
}

size_t Pool::Cancel(const Job* job) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t before = queue_.size();
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [job](const Task& t) { return t.job == job; }),
               queue_.end());
  return before - queue_.size();
}

void Pool::Run() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      task = queue_.front();
      queue_.pop_front();
    }
    Job::Compute(task.piece);
    task.job->Done();
  }
}

Job::Job(Pool* pool) : pool_(pool != nullptr && pool->threads() > 0 ? pool : nullptr) {}

Job::~Job() {
  const size_t dropped = pool_ != nullptr ? pool_->Cancel(this) : 0;
  std::unique_lock<std::mutex> lock(mu_);
  pending_ -= dropped;
  cv_.wait(lock, [this] { return pending_ == 0; });
}

void Job::Add(const char* data, size_t n) {
  AddWork(n, [data, n] { return Value(data, n); });
}

void Job::AddWork(size_t n, std::function<uint32_t()> work) {
  if (pool_ == nullptr) {
    pieces_.push_back(Piece{n, work(), nullptr});
    return;
  }
  pieces_.push_back(Piece{n, 0, std::move(work)});
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++pending_;
  }
  pool_->Post(Pool::Task{this, &pieces_.back()});
}

void Job::AddHere(const char* data, size_t n) {
  pieces_.push_back(Piece{n, Value(data, n), nullptr});
}

bool Job::RunIfQueued(size_t index) {
  if (pool_ == nullptr || index >= pieces_.size()) return false;
  Piece* piece = &pieces_[index];
  if (!pool_->Take(piece)) return false;
  Compute(piece);
  Done();
  return true;
}

void Job::Compute(void* piece) {
  auto* p = static_cast<Piece*>(piece);
  p->crc = p->work();
  p->work = nullptr;  // release what it captured
}

void Job::Done() {
  // Notify under the lock: once pending_ reaches 0 the owner may destroy the
  // job (and its condition variable) as soon as it can take the lock.
  std::lock_guard<std::mutex> lock(mu_);
  if (--pending_ == 0) cv_.notify_all();
}

uint32_t Job::Finish() {
  Pool::Task task;
  while (pool_ != nullptr && pool_->TakeNext(this, &task)) {
    Compute(task.piece);
    Done();
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return pending_ == 0; });
  }
  uint32_t crc = 0;
  for (const Piece& p : pieces_) crc = Combine(crc, p.crc, p.n);
  pieces_.clear();
  return crc;
}

}  // namespace ckpt::crc32c
