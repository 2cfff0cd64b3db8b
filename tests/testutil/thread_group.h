// A group of ranks inside one test process: each rank is a thread with a
// Communicator whose messages go through a shared mailbox. Same contract as
// ckpt/communicator.h (deadlines included), so the distributed protocol can be
// tested, failures and all, without MPI.
#ifndef CKPT_TESTS_TESTUTIL_THREAD_GROUP_H_
#define CKPT_TESTS_TESTUTIL_THREAD_GROUP_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "ckpt/communicator.h"

namespace ckpt::testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(int size,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(10000))
      : shared_(std::make_shared<Shared>()) {
    shared_->timeout = timeout;
    for (int r = 0; r < size; ++r) ranks_.push_back(std::make_unique<Rank>(shared_, r, size));
  }

  Communicator& comm(int rank) { return *ranks_[rank]; }
  int size() const { return static_cast<int>(ranks_.size()); }

  // Runs fn(rank, comm) on one thread per rank; returns when all are done.
  template <typename Result>
  std::vector<Result> Run(const std::function<Result(int, Communicator&)>& fn) {
    std::vector<Result> out(ranks_.size());
    std::vector<std::thread> threads;
    for (int r = 0; r < size(); ++r) {
      threads.emplace_back([&, r] { out[r] = fn(r, *ranks_[r]); });
    }
    for (std::thread& t : threads) t.join();
    return out;
  }

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    // (collective number, from, to) -> bytes
    std::map<std::tuple<uint64_t, int, int>, std::string> box;
    std::chrono::milliseconds timeout{0};
  };

  class Rank : public Communicator {
   public:
    Rank(std::shared_ptr<Shared> shared, int rank, int size)
        : shared_(std::move(shared)), rank_(rank), size_(size) {}
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    // The mailbox has its own lock; groups share nothing.
    bool concurrent_with_other_communicators() const override { return true; }

    ckpt::Result<std::vector<std::string>> Gather(std::string_view mine, int root) override {
      CKPT_RETURN_IF_ERROR(Check(root));
      const uint64_t seq = next_++;
      if (rank_ != root) {
        Post(seq, root, mine);
        return std::vector<std::string>();
      }
      std::vector<std::string> out(static_cast<size_t>(size_));
      out[root] = std::string(mine);
      for (int r = 0; r < size_; ++r) {
        if (r == root) continue;
        CKPT_ASSIGN_OR_RETURN(out[r], Take(seq, r, "Gather"));
      }
      return out;
    }

    ckpt::Result<std::string> Broadcast(std::string_view value, int root) override {
      CKPT_RETURN_IF_ERROR(Check(root));
      const uint64_t seq = next_++;
      if (rank_ == root) {
        for (int r = 0; r < size_; ++r) {
          if (r != root) Post(seq, r, value);
        }
        return std::string(value);
      }
      return Take(seq, root, "Broadcast");
    }

   private:
    Status Check(int root) {
      if (!broken_.ok()) return AbortedError("broken: " + broken_.ToString());
      if (root < 0 || root >= size_) return InvalidArgumentError("bad root");
      return Status::OK();
    }
    void Post(uint64_t seq, int to, std::string_view bytes) {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->box[{seq, rank_, to}] = std::string(bytes);
      shared_->cv.notify_all();
    }
    ckpt::Result<std::string> Take(uint64_t seq, int from, const char* what) {
      std::unique_lock<std::mutex> lock(shared_->mu);
      const auto key = std::make_tuple(seq, from, rank_);
      if (!shared_->cv.wait_for(lock, shared_->timeout,
                                [&] { return shared_->box.count(key) > 0; })) {
        broken_ = DeadlineExceededError(std::string(what) + " at rank " + std::to_string(rank_) +
                                        ": rank " + std::to_string(from) +
                                        " did not take part in time");
        return broken_;
      }
      std::string out = std::move(shared_->box[key]);
      shared_->box.erase(key);
      return out;
    }

    std::shared_ptr<Shared> shared_;
    const int rank_, size_;
    uint64_t next_ = 0;
    Status broken_;
  };

  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Rank>> ranks_;
};

}  // namespace ckpt::testing

#endif  // CKPT_TESTS_TESTUTIL_THREAD_GROUP_H_
