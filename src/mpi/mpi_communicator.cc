// MpiCommunicator (ckpt/mpi_communicator.h). Each collective is a set of
// point-to-point messages with one tag of its own (a sequence number): the
// root of a Gather probes each rank for its message; a Broadcast goes down a
// binomial tree (each rank receives from its parent, then sends to its
// children: log2(size) rounds, and the root sends the bytes to at most
// log2(size) ranks, not to all of them). Every wait polls (MPI_Iprobe,
// MPI_Testall) until the deadline, so a missing rank is named, and never
// blocks: MPI_Recv is called only for a message that has arrived.
#include "ckpt/mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <list>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ckpt {
namespace {

using Clock = std::chrono::steady_clock;

std::string MpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

std::string RankList(const std::vector<int>& ranks) {
  std::string out;
  for (size_t i = 0; i < ranks.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == ranks.size() ? " and " : ", ") + std::to_string(ranks[i]);
  }
  return (ranks.size() == 1 ? "rank " : "ranks ") + out;
}

// Polls quickly at first, then sleeps a little longer each time (up to 1 ms),
// so that a long wait costs no CPU.
class Backoff {
 public:
  void Pause() {
    if (++polls_ < 200) return;
    std::this_thread::sleep_for(sleep_);
    sleep_ = std::min(sleep_ * 2, std::chrono::microseconds(1000));
  }

 private:
  int polls_ = 0;
  std::chrono::microseconds sleep_{10};
};

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, MpiCommunicatorOptions options)
      : comm_(comm), options_(options) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    void* value = nullptr;
    int found = 0;
    MPI_Comm_get_attr(comm_, MPI_TAG_UB, &value, &found);
    tag_ub_ = found && value != nullptr ? *static_cast<int*>(value) : 32767;
  }

  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    // Sends still pending after a timeout (their receiver is gone): their
    // buffers (in sent_) must outlive them, so both are left to the process.
    for (Pending& p : pending_) {
      if (p.request != MPI_REQUEST_NULL) MPI_Request_free(&p.request);
    }
    if (!pending_.empty()) new std::list<Pending>(std::move(pending_));  // kept alive on purpose
    MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  // Two threads may be inside MPI at once only at MPI_THREAD_MULTIPLE.
  bool concurrent_with_other_communicators() const override {
    int provided = MPI_THREAD_SINGLE;
    return MPI_Query_thread(&provided) == MPI_SUCCESS && provided == MPI_THREAD_MULTIPLE;
  }

  Result<std::vector<std::string>> Gather(std::string_view mine, int root) override {
    CKPT_RETURN_IF_ERROR(Check(root, mine.size(), "Gather"));
    const int tag = NextTag();
    const Clock::time_point deadline = Clock::now() + options_.timeout;
    if (rank_ != root) {
      CKPT_RETURN_IF_ERROR(Send({root}, mine, tag, deadline, "Gather to rank " + std::to_string(root)));
      return std::vector<std::string>();
    }
    std::vector<std::string> out(static_cast<size_t>(size_));
    out[root] = std::string(mine);
    std::vector<int> waiting;
    for (int r = 0; r < size_; ++r) {
      if (r != root) waiting.push_back(r);
    }
    Backoff backoff;
    while (!waiting.empty()) {
      for (auto it = waiting.begin(); it != waiting.end();) {
        Result<bool> got = TryReceive(*it, tag, &out[*it]);
        if (!got.ok()) return Break(got.status());
        it = *got ? waiting.erase(it) : it + 1;
      }
      if (waiting.empty()) break;
      if (Clock::now() > deadline) {
        return Break(DeadlineExceededError(
            "Gather at rank " + std::to_string(rank_) + ": " + RankList(waiting) + " of " +
            std::to_string(size_) + " did not take part within " + Timeout() +
            " (dead, stuck, or in another collective)"));
      }
      backoff.Pause();
    }
    return out;
  }

  Result<std::string> Broadcast(std::string_view value, int root) override {
    CKPT_RETURN_IF_ERROR(Check(root, value.size(), "Broadcast"));
    const int tag = NextTag();
    const Clock::time_point deadline = Clock::now() + options_.timeout;
    // Ranks relative to the root: the parent of v clears v's lowest set bit;
    // its children are v + m for the powers of two m below that bit.
    const int v = (rank_ - root + size_) % size_;
    int mask = 1;
    while (mask < size_ && (v & mask) == 0) mask <<= 1;
    std::string out(rank_ == root ? value : std::string_view());
    if (v != 0) {
      const int parent = (v - mask + root) % size_;
      Backoff backoff;
      for (;;) {
        Result<bool> got = TryReceive(parent, tag, &out);
        if (!got.ok()) return Break(got.status());
        if (*got) break;
        if (Clock::now() > deadline) {
          return Break(DeadlineExceededError(
              "Broadcast at rank " + std::to_string(rank_) + ": rank " + std::to_string(root) +
              " of " + std::to_string(size_) + " did not send" +
              (parent == root ? "" : ", or rank " + std::to_string(parent) + " did not relay it,") +
              " within " + Timeout() + " (dead, stuck, or in another collective)"));
        }
        backoff.Pause();
      }
    }
    std::vector<int> children;
    for (int m = mask >> 1; m > 0; m >>= 1) {
      if (v + m < size_) children.push_back((v + m + root) % size_);
    }
    if (!children.empty()) {
      CKPT_RETURN_IF_ERROR(Send(children, out, tag, deadline,
                                "Broadcast from rank " + std::to_string(root)));
    }
    return out;
  }

 private:
  // A send in flight and the bytes it sends.
  struct Pending {
    MPI_Request request = MPI_REQUEST_NULL;
    std::shared_ptr<const std::string> bytes;
  };

  Status Check(int root, size_t bytes, const char* what) const {
    if (!broken_.ok()) {
      return AbortedError(std::string(what) + " on a communicator broken by an earlier error: " +
                          broken_.ToString());
    }
    if (root < 0 || root >= size_) {
      return InvalidArgumentError(std::string(what) + ": root " + std::to_string(root) +
                                  " is not a rank of a group of " + std::to_string(size_));
    }
    if (bytes > static_cast<size_t>(INT_MAX)) {
      return InvalidArgumentError(std::string(what) + ": a message of " + std::to_string(bytes) +
                                  " bytes is over MPI's limit of " + std::to_string(INT_MAX));
    }
    return Status::OK();
  }

  int NextTag() { return 1 + static_cast<int>(sequence_++ % static_cast<uint64_t>(tag_ub_)); }

  std::string Timeout() const { return std::to_string(options_.timeout.count()) + " ms"; }

  Status Break(Status error) {
    broken_ = error;
    return error;
  }

  // Sends `bytes` to every rank of `to` and waits until every send is done.
  Status Send(const std::vector<int>& to, std::string_view bytes, int tag,
              Clock::time_point deadline, const std::string& what) {
    auto owned = std::make_shared<const std::string>(bytes);
    std::vector<MPI_Request> requests(to.size(), MPI_REQUEST_NULL);
    for (size_t i = 0; i < to.size(); ++i) {
      const int rc = MPI_Isend(owned->data(), static_cast<int>(owned->size()), MPI_BYTE, to[i], tag,
                               comm_, &requests[i]);
      if (rc != MPI_SUCCESS) {
        Keep(requests, owned);
        return Break(AbortedError(what + ": MPI_Isend to rank " + std::to_string(to[i]) +
                                  " failed: " + MpiErrorText(rc)));
      }
    }
    Backoff backoff;
    for (;;) {
      int done = 0;
      const int rc = MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done,
                                 MPI_STATUSES_IGNORE);
      if (rc != MPI_SUCCESS) {
        Keep(requests, owned);
        return Break(AbortedError(what + " at rank " + std::to_string(rank_) +
                                  ": MPI failed: " + MpiErrorText(rc)));
      }
      if (done) return Status::OK();
      if (Clock::now() > deadline) {
        std::vector<int> late;
        for (size_t i = 0; i < to.size(); ++i) {
          int one = 0;
          if (requests[i] != MPI_REQUEST_NULL) {
            MPI_Test(&requests[i], &one, MPI_STATUS_IGNORE);
            if (!one) late.push_back(to[i]);
          }
        }
        Keep(requests, owned);
        return Break(DeadlineExceededError(what + " at rank " + std::to_string(rank_) + ": " +
                                           RankList(late) + " of " + std::to_string(size_) +
                                           " did not receive within " + Timeout() +
                                           " (dead, stuck, or in another collective)"));
      }
      backoff.Pause();
    }
  }

  // Sends not completed keep their buffer until the communicator goes.
  void Keep(const std::vector<MPI_Request>& requests, const std::shared_ptr<const std::string>& bytes) {
    for (MPI_Request r : requests) {
      if (r != MPI_REQUEST_NULL) pending_.push_back({r, bytes});
    }
  }

  // Receives `from`'s message with `tag` into *out if it has arrived.
  Result<bool> TryReceive(int from, int tag, std::string* out) {
    int arrived = 0;
    MPI_Status status;
    int rc = MPI_Iprobe(from, tag, comm_, &arrived, &status);
    if (rc == MPI_SUCCESS && !arrived) return false;
    int count = 0;
    if (rc == MPI_SUCCESS) rc = MPI_Get_count(&status, MPI_BYTE, &count);
    if (rc == MPI_SUCCESS) {
      out->resize(static_cast<size_t>(count));
      rc = MPI_Recv(out->data(), count, MPI_BYTE, from, tag, comm_, MPI_STATUS_IGNORE);
    }
    if (rc != MPI_SUCCESS) {
      return AbortedError("Receiving from rank " + std::to_string(from) + " at rank " +
                          std::to_string(rank_) + " failed: " + MpiErrorText(rc));
    }
    return true;
  }

  MPI_Comm comm_;
  MpiCommunicatorOptions options_;
  int rank_ = 0, size_ = 1, tag_ub_ = 32767;
  uint64_t sequence_ = 0;
  Status broken_;
  std::list<Pending> pending_;
};

}  // namespace

Result<std::unique_ptr<Communicator>> NewMpiCommunicator(MPI_Comm comm,
                                                         MpiCommunicatorOptions options) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) {
    return FailedPreconditionError("NewMpiCommunicator: MPI is not initialized (call MPI_Init "
                                   "first) or already finalized");
  }
  if (options.timeout.count() <= 0) {
    return InvalidArgumentError("MpiCommunicatorOptions.timeout must be > 0, got " +
                                std::to_string(options.timeout.count()) + " ms");
  }
  MPI_Comm dup = MPI_COMM_NULL;
  const int rc = MPI_Comm_dup(comm, &dup);
  if (rc != MPI_SUCCESS) {
    return AbortedError("NewMpiCommunicator: MPI_Comm_dup failed: " + MpiErrorText(rc));
  }
  // Errors come back as codes (turned into Status) instead of ending the job.
  MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
  return std::unique_ptr<Communicator>(new MpiCommunicator(dup, options));
}

}  // namespace ckpt
