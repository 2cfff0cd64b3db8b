// Tests of the MPI communicator (ckpt/mpi_communicator.h) and of distributed
// checkpoints (ckpt/distributed.h) over it, run under mpirun at several
// world sizes (tests/mpi/CMakeLists.txt). Every rank runs every test; the
// process exit code is non-zero on every rank if a test failed on any.
//
// Flags (besides gtest's):
//   --ckpt_dir=DIR  the checkpoint directory of the Fixture* tests, shared
//                   between ctest runs at different world sizes: FixtureWrite
//                   writes it, FixtureRestore restores from it. Without it
//                   those tests skip.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/bundle_reader.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/communicator.h"
#include "ckpt/distributed.h"
#include "ckpt/filenames.h"
#include "ckpt/mpi_communicator.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

namespace fs = std::filesystem;
using ::ckpt::testing::StatusIs;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string g_ckpt_dir;  // --ckpt_dir

int WorldRank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int WorldSize() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// A communicator over MPI_COMM_WORLD (collective: every rank calls it).
std::unique_ptr<Communicator> MakeComm(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  MpiCommunicatorOptions options;
  options.timeout = timeout;
  Result<std::unique_ptr<Communicator>> comm = NewMpiCommunicator(MPI_COMM_WORLD, options);
  if (!comm.ok()) {
    ADD_FAILURE() << comm.status().ToString();
    return nullptr;
  }
  return std::move(*comm);
}

// `n` bytes that differ with `seed` and along the message.
std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed * 131 + i * 7 + i / 251) & 0xff);
  return s;
}

// The message sizes a rank sends in case `c`: empty, one byte, ~1 MiB, and
// a size that differs per rank.
size_t CaseSize(int c, int rank) {
  switch (c) {
    case 0: return 0;
    case 1: return 1;
    case 2: return (size_t{1} << 20) + 3 + static_cast<size_t>(rank);
    default: return 1000 * static_cast<size_t>(rank) + 17;
  }
}
constexpr int kCases = 4;

TEST(Comm, RankAndSize) {
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  EXPECT_EQ(comm->rank(), WorldRank());
  EXPECT_EQ(comm->size(), WorldSize());
}

TEST(Comm, GatherGivesEveryRanksBytesAtRoot) {
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int me = comm->rank(), n = comm->size();
  for (int root = 0; root < n; ++root) {
    for (int c = 0; c < kCases; ++c) {
      SCOPED_TRACE("root " + std::to_string(root) + " case " + std::to_string(c));
      Result<std::vector<std::string>> got = comm->Gather(Pattern(CaseSize(c, me), me + c), root);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      if (me != root) {
        EXPECT_TRUE(got->empty());
        continue;
      }
      ASSERT_EQ(got->size(), static_cast<size_t>(n));
      for (int r = 0; r < n; ++r) {
        EXPECT_EQ((*got)[r].size(), CaseSize(c, r)) << "from rank " << r;
        EXPECT_TRUE((*got)[r] == Pattern(CaseSize(c, r), r + c)) << "from rank " << r;
      }
    }
  }
}

TEST(Comm, BroadcastGivesRootsBytesEverywhere) {
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int me = comm->rank(), n = comm->size();
  for (int root = 0; root < n; ++root) {
    for (int c = 0; c < kCases; ++c) {
      SCOPED_TRACE("root " + std::to_string(root) + " case " + std::to_string(c));
      const std::string expected = Pattern(CaseSize(c, root), 50 + root + c);
      // Non-roots pass something else, which must be ignored.
      const std::string mine = me == root ? expected : Pattern(5 + me, 99);
      Result<std::string> got = comm->Broadcast(mine, root);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(got->size(), expected.size());
      EXPECT_TRUE(*got == expected);
    }
  }
}

TEST(Comm, AllGatherGivesEveryRanksBytesEverywhere) {
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int me = comm->rank(), n = comm->size();
  // Each rank sends a different case in each round, so sizes differ
  // between ranks within one call (0 bytes next to 1 MiB).
  for (int round = 0; round < kCases; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto size_of = [&](int r) { return CaseSize((round + r) % kCases, r); };
    Result<std::vector<std::string>> got = comm->AllGather(Pattern(size_of(me), 7 * me + round));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      EXPECT_EQ((*got)[r].size(), size_of(r)) << "from rank " << r;
      EXPECT_TRUE((*got)[r] == Pattern(size_of(r), 7 * r + round)) << "from rank " << r;
    }
  }
}

TEST(Comm, BarrierWaitsForTheLastRank) {
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int n = comm->size();
  const int late = n - 1;
  CKPT_ASSERT_OK(comm->Barrier());
  const auto start = Clock::now();
  if (comm->rank() == late) std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CKPT_ASSERT_OK(comm->Barrier());
  const auto waited = Clock::now() - start;
  // Every rank left the second barrier only after the late one entered it
  // (slack for ranks that left the first barrier a little after it).
  EXPECT_GE(waited, std::chrono::milliseconds(300)) << "rank " << comm->rank();
  CKPT_ASSERT_OK(comm->Barrier());
}

// Ranks > 0 skip a Gather to root 0: the root names them within the
// timeout, and its communicator is broken from then on.
TEST(Comm, StuckRanksMakeTheRootsGatherTimeOut) {
  const int n = WorldSize();
  {
    auto comm = MakeComm(std::chrono::milliseconds(300));
    ASSERT_NE(comm, nullptr);
    if (comm->rank() == 0) {
      const auto start = Clock::now();
      Result<std::vector<std::string>> got = comm->Gather("hello", 0);
      const auto took = Clock::now() - start;
      if (n == 1) {
        // Nobody to wait for.
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        EXPECT_EQ(*got, std::vector<std::string>{"hello"});
      } else {
        std::string missing = n == 2 ? "rank 1 of 2" : n == 3 ? "ranks 1 and 2 of 3"
                                                              : "ranks 1, 2 and 3 of 4";
        EXPECT_THAT(got, StatusIs(StatusCode::kDeadlineExceeded, missing));
        EXPECT_THAT(got, StatusIs(StatusCode::kDeadlineExceeded, "300 ms"));
        EXPECT_GE(took, std::chrono::milliseconds(290));
        EXPECT_LT(took, std::chrono::seconds(2));
        // Broken: every later call is Aborted, naming the first error.
        EXPECT_THAT(comm->Gather("again", 0), StatusIs(StatusCode::kAborted, "broken"));
        EXPECT_THAT(comm->Broadcast("again", 0), StatusIs(StatusCode::kAborted, missing));
        EXPECT_THAT(comm->Barrier(), StatusIs(StatusCode::kAborted, "broken"));
      }
    }
    // Ranks > 0 do nothing with this communicator.
  }
  // Everyone meets again on a fresh communicator.
  auto fresh = MakeComm();
  ASSERT_NE(fresh, nullptr);
  CKPT_ASSERT_OK(fresh->Barrier());
  Result<std::vector<std::string>> all = fresh->AllGather(std::to_string(fresh->rank()));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  for (int r = 0; r < n; ++r) EXPECT_EQ((*all)[r], std::to_string(r));
}

// A Broadcast goes down a binomial tree (rank 0 -> 1 and 2, 2 -> 3): when
// rank 2 skips it, rank 1 still gets the value, rank 3 names rank 2 as the
// relay it waited for, and rank 0 names rank 2 as the rank that did not
// receive; every rank's wait ends at the timeout.
TEST(Comm, AStuckRelayIsNamedBelowIt) {
  const int n = WorldSize();
  if (n < 4) GTEST_SKIP() << "needs four ranks";
  {
    auto comm = MakeComm(std::chrono::milliseconds(300));
    ASSERT_NE(comm, nullptr);
    const auto start = Clock::now();
    if (comm->rank() != 2) {
      Result<std::string> got = comm->Broadcast("value", 0);
      if (comm->rank() == 1) {
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        EXPECT_EQ(*got, "value");
      } else if (comm->rank() == 3) {
        EXPECT_THAT(got, StatusIs(StatusCode::kDeadlineExceeded, "or rank 2 did not relay it"));
      }
      EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
    }
    // The job goes on over a fresh communicator. The timed-out one is kept
    // until then: rank 2 holds rank 0's message, never received
    // (docs/distributed.md, "Not done yet").
    auto fresh = MakeComm();
    ASSERT_NE(fresh, nullptr);
    CKPT_ASSERT_OK(fresh->Barrier());
    Result<std::string> got = fresh->Broadcast("fresh", 0);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, "fresh");
  }
}

// The root skips a Broadcast: the others name it within the timeout.
TEST(Comm, StuckRootMakesTheOthersBroadcastTimeOut) {
  const int n = WorldSize();
  if (n == 1) GTEST_SKIP() << "needs two ranks";
  {
    auto comm = MakeComm(std::chrono::milliseconds(300));
    ASSERT_NE(comm, nullptr);
    if (comm->rank() != 0) {
      const auto start = Clock::now();
      Result<std::string> got = comm->Broadcast("", 0);
      const auto took = Clock::now() - start;
      EXPECT_THAT(got, StatusIs(StatusCode::kDeadlineExceeded,
                                "rank 0 of " + std::to_string(n) + " did not send"));
      EXPECT_LT(took, std::chrono::seconds(2));
      EXPECT_THAT(comm->AllGather("x"), StatusIs(StatusCode::kAborted, "rank 0"));
    }
  }
  auto fresh = MakeComm();
  ASSERT_NE(fresh, nullptr);
  CKPT_ASSERT_OK(fresh->Barrier());
}

TEST(Comm, BadRootIsInvalidArgumentAndBreaksNothing) {
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int n = comm->size();
  EXPECT_THAT(comm->Gather("x", -1), StatusIs(StatusCode::kInvalidArgument, "root -1"));
  EXPECT_THAT(comm->Gather("x", n), StatusIs(StatusCode::kInvalidArgument,
                                             "root " + std::to_string(n)));
  EXPECT_THAT(comm->Broadcast("x", n + 5), StatusIs(StatusCode::kInvalidArgument, "root"));
  EXPECT_THAT(comm->Broadcast("x", -2), StatusIs(StatusCode::kInvalidArgument, "root -2"));
  // Still usable.
  Result<std::string> got = comm->Broadcast(comm->rank() == 0 ? "ok" : "", 0);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "ok");
}

TEST(Comm, NonPositiveTimeoutIsInvalidArgument) {
  MpiCommunicatorOptions options;
  options.timeout = std::chrono::milliseconds(0);
  EXPECT_THAT(NewMpiCommunicator(MPI_COMM_WORLD, options),
              StatusIs(StatusCode::kInvalidArgument, "timeout"));
  options.timeout = std::chrono::milliseconds(-5);
  EXPECT_THAT(NewMpiCommunicator(MPI_COMM_WORLD, options),
              StatusIs(StatusCode::kInvalidArgument, "timeout"));
}

// ---------------------------------------------------------------------------
// Distributed checkpoints.

constexpr int64_t kRows = 10, kCols = 4;

// Rows [first, first + count) of `emb` for `rank` of `n`. Uneven: rank r
// gets a share proportional to r + 1 (reversed: to n - r).
struct Rows {
  int64_t first, count;
};
Rows UnevenRows(int rank, int n, bool reversed = false) {
  auto start = [&](int r) {
    int64_t weight = 0;
    for (int i = 0; i < r; ++i) weight += reversed ? n - i : i + 1;
    return kRows * weight / (int64_t{n} * (n + 1) / 2);
  };
  return {start(rank), start(rank + 1) - start(rank)};
}
Rows EvenRows(int rank, int n) { return {kRows * rank / n, kRows * (rank + 1) / n - kRows * rank / n}; }

float EmbValue(int64_t row, int64_t col, int step) {
  return static_cast<float>(row * kCols + col + 1000 * step);
}

// One rank's variables: its rows of `emb`, the replicated `bias`, and its
// own `w_<id>`. With `fill`, hold the values of `step`; else -1 everywhere.
struct RankVars {
  Tensor emb, bias, w;
  Rows rows{};
  int id = 0;
  VarList vars;

  RankVars(Rows r, int w_id, int step, bool fill, TensorShape bias_shape = {3})
      : rows(r), id(w_id) {
    emb = *Tensor::Allocate(DataType::kFloat, TensorShape{rows.count, kCols});
    bias = *Tensor::Allocate(DataType::kFloat, bias_shape);
    w = *Tensor::Allocate(DataType::kFloat, TensorShape{2, 2});
    Set(step, fill);
    vars.push_back({"emb", &emb, TensorShape{kRows, kCols},
                    TensorSlice({{rows.first, rows.count}, {0, TensorSlice::kFullExtent}}), ""});
    vars.push_back({"bias", &bias, std::nullopt, TensorSlice(), ""});
    vars.push_back({"w_" + std::to_string(id), &w, std::nullopt, TensorSlice(), ""});
  }

  void Set(int step, bool fill) {
    float* e = emb.mutable_flat<float>();
    for (int64_t i = 0; i < rows.count; ++i) {
      for (int64_t j = 0; j < kCols; ++j) {
        e[i * kCols + j] = fill ? EmbValue(rows.first + i, j, step) : -1.f;
      }
    }
    float* b = bias.mutable_flat<float>();
    for (int64_t i = 0; i < bias.shape().num_elements(); ++i) {
      b[i] = fill ? static_cast<float>(i + 1 + 1000 * step) : -1.f;
    }
    float* p = w.mutable_flat<float>();
    for (int i = 0; i < 4; ++i) p[i] = fill ? static_cast<float>(id + 1000 * step) : -1.f;
  }

  // Every value is that of `step` (or, with !filled, still -1).
  void ExpectValues(int step, bool filled = true) const {
    RankVars want(rows, id, step, filled, bias.shape());
    EXPECT_EQ(0, std::memcmp(emb.data(), want.emb.data(), emb.byte_size()))
        << "rank " << WorldRank() << " emb rows " << rows.first << "+" << rows.count;
    EXPECT_EQ(0, std::memcmp(bias.data(), want.bias.data(), bias.byte_size()))
        << "rank " << WorldRank() << " bias";
    EXPECT_EQ(0, std::memcmp(w.data(), want.w.data(), w.byte_size()))
        << "rank " << WorldRank() << " w_" << id;
  }
};

// A fresh directory every rank sees: rank 0 makes it and broadcasts its
// path. Removed (by rank 0) on destruction, after a barrier.
class SharedDir {
 public:
  explicit SharedDir(Communicator& comm) : comm_(comm) {
    std::string path;
    if (comm.rank() == 0) {
      std::string templ = (fs::temp_directory_path() / "ckpt_mpi_test_XXXXXX").string();
      if (mkdtemp(templ.data()) != nullptr) path = templ;
    }
    Result<std::string> got = comm.Broadcast(path, 0);
    if (got.ok()) path_ = *got;
  }
  ~SharedDir() {
    comm_.Barrier().IgnoreError();
    if (comm_.rank() == 0 && !path_.empty()) fs::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  Communicator& comm_;
  std::string path_;
};

std::vector<std::string> DataFiles(const std::string& dir, const std::string& base) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(base + ".data-", 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Tensor FullEmb(int step) {
  Tensor t = *Tensor::Allocate(DataType::kFloat, TensorShape{kRows, kCols});
  for (int64_t i = 0; i < kRows; ++i) {
    for (int64_t j = 0; j < kCols; ++j) t.mutable_flat<float>()[i * kCols + j] = EmbValue(i, j, step);
  }
  return t;
}

void ExpectFloats(const Tensor& t, TensorShape shape, const std::vector<float>& want,
                  const std::string& what) {
  ASSERT_EQ(t.dtype(), DataType::kFloat) << what;
  ASSERT_EQ(t.shape(), shape) << what << ": " << t.shape().DebugString();
  ASSERT_EQ(static_cast<size_t>(t.num_elements()), want.size()) << what;
  EXPECT_EQ(0, std::memcmp(t.data(), want.data(), want.size() * sizeof(float))) << what;
}

// Checks, on this rank, the checkpoint at `prefix` written by `n` ranks
// holding RankVars(UnevenRows(r, n), r, step).
void CheckCheckpoint(const std::string& prefix, int n, int step) {
  std::unique_ptr<CheckpointReader> reader;
  {
    Result<std::unique_ptr<CheckpointReader>> r = CheckpointReader::Open(prefix);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    reader = std::move(*r);
  }
  EXPECT_EQ(reader->variables().size(), static_cast<size_t>(n + 2));
  Result<Tensor> emb = reader->GetTensor("emb");
  ASSERT_TRUE(emb.ok()) << emb.status().ToString();
  Tensor want = FullEmb(step);
  ExpectFloats(*emb, TensorShape{kRows, kCols},
               std::vector<float>(want.flat<float>(), want.flat<float>() + kRows * kCols), "emb");
  Result<Tensor> bias = reader->GetTensor("bias");
  ASSERT_TRUE(bias.ok()) << bias.status().ToString();
  const float s = 1000.f * step;
  ExpectFloats(*bias, TensorShape{3}, {1 + s, 2 + s, 3 + s}, "bias");
  for (int r = 0; r < n; ++r) {
    Result<Tensor> w = reader->GetTensor("w_" + std::to_string(r));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    const float v = static_cast<float>(r) + s;
    ExpectFloats(*w, TensorShape{2, 2}, {v, v, v, v}, "w_" + std::to_string(r));
  }
  EXPECT_FALSE(reader->HasTensor("w_" + std::to_string(n)));
}

TEST(DistSave, EveryRankWritesItsShardAndEveryRankReadsAll) {
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int me = comm->rank(), n = comm->size();
  SharedDir dir(*comm);
  ASSERT_FALSE(dir.path().empty());
  const std::string prefix = dir.path() + "/P";

  RankVars mine(UnevenRows(me, n), me, /*step=*/0, /*fill=*/true);
  CKPT_ASSERT_OK(DistributedSave(*comm, prefix, mine.vars));

  // Every rank sees the same files: one index, exactly n data files.
  EXPECT_TRUE(fs::exists(prefix + ".index"));
  std::vector<std::string> want_files;
  for (int r = 0; r < n; ++r) want_files.push_back(fs::path(DataFilename(prefix, r, n)).filename());
  EXPECT_EQ(DataFiles(dir.path(), "P"), want_files);
  char name[64];
  std::snprintf(name, sizeof(name), "P.data-%05d-of-%05d", me, n);
  EXPECT_TRUE(fs::exists(dir.path() + "/" + name)) << name;

  CheckCheckpoint(prefix, n, 0);

  // Each tensor's bytes are in the data files once: the replicated `bias`
  // is one entry in one shard, and the data files hold nothing more than
  // the index's entries (were `bias` written by every rank, they would).
  Result<std::unique_ptr<BundleReader>> bundle = BundleReader::Open(prefix);
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  EXPECT_EQ((*bundle)->num_shards(), n);
  int64_t entry_bytes = 0;
  int bias_entries = 0;
  for (const BundleEntry& e : (*bundle)->entries()) {
    entry_bytes += e.size;
    EXPECT_GE(e.shard_id, 0);
    EXPECT_LT(e.shard_id, n);
    if (e.key == "bias") {
      ++bias_entries;
      EXPECT_EQ(e.size, 3 * 4);
      // Owners are chosen in name order, the least-loaded holder first,
      // the lowest rank on a tie: `bias` comes first, so rank 0.
      EXPECT_EQ(e.shard_id, 0);
    }
    for (int r = 0; r < n; ++r) {
      if (e.key == "w_" + std::to_string(r)) EXPECT_EQ(e.shard_id, r) << e.key;
    }
  }
  EXPECT_EQ(bias_entries, 1);
  uint64_t file_bytes = 0;
  for (int r = 0; r < n; ++r) file_bytes += fs::file_size(DataFilename(prefix, r, n));
  EXPECT_EQ(file_bytes, static_cast<uint64_t>(entry_bytes));
  EXPECT_EQ(entry_bytes, (kRows * kCols + 3 + 4 * n) * 4);
}

TEST(DistSave, RestoresAtTheSameSizeWithAnotherPartitioning) {
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int me = comm->rank(), n = comm->size();
  SharedDir dir(*comm);
  ASSERT_FALSE(dir.path().empty());
  RankVars mine(UnevenRows(me, n), me, /*step=*/4, /*fill=*/true);
  Result<std::unique_ptr<DistributedSaver>> saver = DistributedSaver::Create(comm.get(), mine.vars);
  ASSERT_TRUE(saver.ok()) << saver.status().ToString();
  Result<std::string> prefix = (*saver)->Save(dir.path() + "/model");
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  EXPECT_EQ(*prefix, dir.path() + "/model");

  RankVars other(UnevenRows(me, n, /*reversed=*/true), me, 4, /*fill=*/false);
  Result<std::unique_ptr<DistributedSaver>> restorer =
      DistributedSaver::Create(comm.get(), other.vars);
  ASSERT_TRUE(restorer.ok()) << restorer.status().ToString();
  CKPT_ASSERT_OK((*restorer)->Restore(*prefix));
  other.ExpectValues(4);
}

// ---------------------------------------------------------------------------
// A checkpoint written at one world size (FixtureWrite, -np 3) and restored
// at others (FixtureRestore, -np 2 and 4) by ctest fixtures.

constexpr int kWriterRanks = 3;

TEST(FixtureWrite, SavesThreeStepsKeepingTwo) {
  if (g_ckpt_dir.empty()) GTEST_SKIP() << "no --ckpt_dir";
  ASSERT_EQ(WorldSize(), kWriterRanks) << "run at -np " << kWriterRanks;
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int me = comm->rank(), n = comm->size();
  if (me == 0) {
    fs::remove_all(g_ckpt_dir);
    fs::create_directories(g_ckpt_dir);
  }
  CKPT_ASSERT_OK(comm->Barrier());
  RankVars mine(UnevenRows(me, n), me, 1, true);
  SaverOptions options;
  options.max_to_keep = 2;
  Result<std::unique_ptr<DistributedSaver>> saver =
      DistributedSaver::Create(comm.get(), mine.vars, options);
  ASSERT_TRUE(saver.ok()) << saver.status().ToString();
  const std::string base = g_ckpt_dir + "/model";
  for (int step = 1; step <= 3; ++step) {
    mine.Set(step, true);
    SaveArgs args;
    args.global_step = step;
    Result<std::string> prefix = (*saver)->Save(base, args);
    ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
    EXPECT_EQ(*prefix, base + "-" + std::to_string(step));
  }
  CKPT_ASSERT_OK(comm->Barrier());
  // The first checkpoint is gone, every file of it; the other two are whole.
  EXPECT_FALSE(fs::exists(base + "-1.index"));
  EXPECT_EQ(DataFiles(g_ckpt_dir, "model-1"), std::vector<std::string>{});
  for (int step : {2, 3}) {
    const std::string prefix = base + "-" + std::to_string(step);
    EXPECT_TRUE(fs::exists(prefix + ".index")) << prefix;
    EXPECT_EQ(DataFiles(g_ckpt_dir, "model-" + std::to_string(step)).size(),
              static_cast<size_t>(n));
    CheckCheckpoint(prefix, n, step);
  }
  EXPECT_TRUE(fs::exists(g_ckpt_dir + "/checkpoint"));
  if (me == 0) {
    EXPECT_EQ((*saver)->last_checkpoints(),
              (std::vector<std::string>{base + "-2", base + "-3"}));
  } else {
    EXPECT_TRUE((*saver)->last_checkpoints().empty());
  }
  CKPT_ASSERT_OK(comm->Barrier());
}

// Rank r restores rows EvenRows(r, n) of emb, bias, and w_<r % 3>.
TEST(FixtureRestore, RestoresAnotherWorldSizesCheckpoint) {
  if (g_ckpt_dir.empty()) GTEST_SKIP() << "no --ckpt_dir";
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int me = comm->rank(), n = comm->size();
  ASSERT_NE(n, kWriterRanks) << "restore at another world size than the writer's";
  const std::string prefix = g_ckpt_dir + "/model-3";
  ASSERT_TRUE(fs::exists(prefix + ".index")) << "FixtureWrite did not run";
  RankVars mine(EvenRows(me, n), me % kWriterRanks, 3, /*fill=*/false);
  Result<std::unique_ptr<DistributedSaver>> saver = DistributedSaver::Create(comm.get(), mine.vars);
  ASSERT_TRUE(saver.ok()) << saver.status().ToString();
  RestoreReport report;
  RestoreOptions options;
  options.report = &report;
  CKPT_ASSERT_OK((*saver)->Restore(prefix, options));
  mine.ExpectValues(3);
  EXPECT_EQ(report.restored.size(), 3u);
  // The older one too (values of step 2).
  CKPT_ASSERT_OK((*saver)->Restore(g_ckpt_dir + "/model-2"));
  mine.ExpectValues(2);
  // The deleted one is not there for anyone: every rank fails on its own
  // and returns its own NotFound (not an Aborted naming another rank).
  Status gone = (*saver)->Restore(g_ckpt_dir + "/model-1");
  EXPECT_THAT(gone, StatusIs(StatusCode::kNotFound, "model-1")) << "rank " << me;
  mine.ExpectValues(2);
  CKPT_ASSERT_OK(comm->Barrier());
}

// The last rank's `bias` has the wrong shape: every rank's Restore fails
// and nobody's variables change.
TEST(FixtureRestore, OneRanksWrongShapeFailsEveryRankAndChangesNothing) {
  if (g_ckpt_dir.empty()) GTEST_SKIP() << "no --ckpt_dir";
  auto comm = MakeComm();
  ASSERT_NE(comm, nullptr);
  const int me = comm->rank(), n = comm->size();
  const int bad = n - 1;
  const std::string prefix = g_ckpt_dir + "/model-3";
  ASSERT_TRUE(fs::exists(prefix + ".index")) << "FixtureWrite did not run";
  RankVars mine(EvenRows(me, n), me % kWriterRanks, 3, /*fill=*/false,
                me == bad ? TensorShape{4} : TensorShape{3});
  Result<std::unique_ptr<DistributedSaver>> saver = DistributedSaver::Create(comm.get(), mine.vars);
  ASSERT_TRUE(saver.ok()) << saver.status().ToString();
  Status s = (*saver)->Restore(prefix);
  if (me == bad) {
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument,
                            "tensor_name = bias; shape in shape_and_slice spec [4] does not "
                            "match the shape stored in checkpoint: [3]"));
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "Restoring from checkpoint failed"));
  } else {
    EXPECT_THAT(s, StatusIs(StatusCode::kAborted, "rank " + std::to_string(bad)));
  }
  mine.ExpectValues(3, /*filled=*/false);
  // The communicator is fine: a restore without the bad variable works
  // everywhere afterwards.
  RankVars good(EvenRows(me, n), me % kWriterRanks, 3, /*fill=*/false);
  Result<std::unique_ptr<DistributedSaver>> saver2 = DistributedSaver::Create(comm.get(), good.vars);
  ASSERT_TRUE(saver2.ok()) << saver2.status().ToString();
  CKPT_ASSERT_OK((*saver2)->Restore(prefix));
  good.ExpectValues(3);
  CKPT_ASSERT_OK(comm->Barrier());
}

// Fails on the last rank only (run by the ctest mpi_failure_propagates,
// which expects the job to fail: every rank's exit code reflects it).
TEST(SelfTest, DISABLED_FailsOnTheLastRankOnly) {
  if (WorldRank() == WorldSize() - 1) ADD_FAILURE() << "failing on purpose on the last rank";
}

// Prints the failures of a rank other than 0 (whose gtest output is off).
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  // (UnitTest::current_test_info() would deadlock in OnTestPartResult.)
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s: %s:%d: Failure\n%s\n", rank_, test_.c_str(),
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.message());
    std::fflush(stderr);
  }

 private:
  int rank_;
  std::string test_;
};

}  // namespace
}  // namespace ckpt

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--ckpt_dir=", 0) == 0) {
      ckpt::g_ckpt_dir = arg.substr(11);
    } else {
      std::fprintf(stderr, "mpi_test: unknown argument %s\n", argv[i]);
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }
  const int rank = ckpt::WorldRank();
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (rank != 0) {
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new ckpt::FailurePrinter(rank));
  }
  const int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any_failed && !failed) {
    std::fprintf(stderr, "mpi_test: a test failed on another rank (see [rank N] lines)\n");
  }
  MPI_Finalize();
  return any_failed ? 1 : 0;
}
