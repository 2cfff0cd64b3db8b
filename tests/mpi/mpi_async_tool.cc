// AsyncDistributedSaver under real MPI (tests/mpi/CMakeLists.txt runs it under
// mpirun). `mpi_async_tool MODE DIR`, MODE one of:
//
//   train   MPI_Init_thread(MPI_THREAD_MULTIPLE). A fake training loop: every
//           step changes every variable, computes (10 ms) and does an
//           AllGather on the application's communicator; every 5th step saves asynchronously
//           on the saver's own communicator, so the background save runs
//           while the next steps' AllGathers do. Then every kept checkpoint
//           is read back and compared bit for bit with the values of its
//           step, and restored through the saver.
//   single  MPI_Init (less than MPI_THREAD_MULTIPLE): creating the saver
//           fails with FailedPrecondition on every rank, and a synchronous
//           DistributedSaver on the same communicator still works.
//
// Every rank checks what it can; a failure on any rank makes every rank exit
// 1 (an MPI_Allreduce of the failure flags before MPI_Finalize).
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/distributed.h"
#include "ckpt/env.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "mpi_tool.h"

namespace ckpt {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kRows = 256, kCols = 1024;  // 1 MiB of emb per rank
constexpr int64_t kW = 1000, kBias = 16;
constexpr int kSteps = 30, kEvery = 5, kKeep = 3;
constexpr std::chrono::seconds kTimeout{20};

// Rank `rank` of `ranks`: rows [rank*kRows, (rank+1)*kRows) of the
// partitioned `emb`, its own `w_<rank>`, the replicated `bias`; every value
// a function of the step, so any checkpoint can be checked bit for bit.
struct Model {
  Model(int rank, int ranks)
      : rank(rank),
        emb(*Tensor::Allocate(DataType::kFloat, {kRows, kCols})),
        w(*Tensor::Allocate(DataType::kDouble, {kW})),
        bias(*Tensor::Allocate(DataType::kFloat, {kBias})) {
    vars.push_back({"emb", &emb, TensorShape{kRows * ranks, kCols},
                    TensorSlice({{kRows * rank, kRows}, {0, TensorSlice::kFullExtent}}), ""});
    vars.push_back({"w_" + std::to_string(rank), &w, std::nullopt, {}, ""});
    vars.push_back({"bias", &bias, std::nullopt, {}, ""});
  }

  static float Emb(int step, int64_t i) { return static_cast<float>(step) * 0.5f + i * 1e-3f; }
  static double W(int step, int rank, int64_t i) { return step + rank * 1e-7 + i / 3.0; }
  static float Bias(int step, int64_t i) { return static_cast<float>(step) * 0.25f - i; }

  void Fill(int step) {
    float* e = emb.mutable_flat<float>();
    for (int64_t i = 0; i < kRows * kCols; ++i) e[i] = Emb(step, rank * kRows * kCols + i);
    for (int64_t i = 0; i < kW; ++i) w.mutable_flat<double>()[i] = W(step, rank, i);
    for (int64_t i = 0; i < kBias; ++i) bias.mutable_flat<float>()[i] = Bias(step, i);
  }

  int rank;
  Tensor emb, w, bias;
  VarList vars;
};

// True if `t` holds exactly the bytes of `expected`.
template <typename T>
bool SameBytes(const Tensor& t, const std::vector<T>& expected) {
  return t.num_elements() == static_cast<int64_t>(expected.size()) &&
         std::memcmp(t.data(), expected.data(), expected.size() * sizeof(T)) == 0;
}

void ExpectStep(const std::string& prefix, int step, int ranks) {
  Result<std::unique_ptr<CheckpointReader>> reader = CheckpointReader::Open(prefix);
  CHECK_TRUE(reader.ok(), reader.status().ToString());
  if (!reader.ok()) return;
  std::vector<float> emb(kRows * ranks * kCols);
  for (size_t i = 0; i < emb.size(); ++i) emb[i] = Model::Emb(step, static_cast<int64_t>(i));
  Result<Tensor> got = (*reader)->GetTensor("emb");
  CHECK_TRUE(got.ok() && SameBytes(*got, emb), prefix + ": emb is not step " + std::to_string(step));
  for (int r = 0; r < ranks; ++r) {
    std::vector<double> w(kW);
    for (int64_t i = 0; i < kW; ++i) w[i] = Model::W(step, r, i);
    got = (*reader)->GetTensor("w_" + std::to_string(r));
    CHECK_TRUE(got.ok() && SameBytes(*got, w), prefix + ": w_" + std::to_string(r));
  }
  std::vector<float> bias(kBias);
  for (int64_t i = 0; i < kBias; ++i) bias[i] = Model::Bias(step, i);
  got = (*reader)->GetTensor("bias");
  CHECK_TRUE(got.ok() && SameBytes(*got, bias), prefix + ": bias");
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int Train(const std::string& dir) {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  CHECK_TRUE(provided == MPI_THREAD_MULTIPLE, "MPI gave thread level " + std::to_string(provided));
  // The application's communicator and the saver's own.
  std::unique_ptr<Communicator> app = MakeComm(kTimeout);
  std::unique_ptr<Communicator> saver_comm = MakeComm(kTimeout);
  if (app == nullptr || saver_comm == nullptr) return 1;
  if (!FreshDir(*app, dir)) return 1;
  const int me = app->rank(), n = app->size();
  Model model(me, n);
  AsyncSaverOptions options;
  options.saver.max_to_keep = kKeep;
  Result<std::unique_ptr<AsyncDistributedSaver>> saver =
      AsyncDistributedSaver::Create(saver_comm.get(), model.vars, options);
  CHECK_TRUE(saver.ok(), saver.status().ToString());
  if (!saver.ok()) return 1;
  const std::string base = JoinPath(dir, "model");
  Clock::duration blocked{0};
  for (int step = 1; step <= kSteps; ++step) {
    // The "training step": new values at once (a save of the previous step
    // may still be writing), then some compute.
    model.Fill(step);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // The application's own collective, every step, while saves are in flight.
    Result<std::vector<std::string>> all = app->AllGather(std::to_string(step * 100 + me));
    CHECK_TRUE(all.ok(), all.status().ToString());
    for (int r = 0; all.ok() && r < n; ++r) {
      CHECK_TRUE((*all)[r] == std::to_string(step * 100 + r), "AllGather at step " +
                                                                  std::to_string(step));
    }
    if (step % kEvery != 0) continue;
    SaveArgs args;
    args.global_step = step;
    const auto start = Clock::now();
    Result<std::string> prefix = (*saver)->Save(base, args);
    blocked += Clock::now() - start;
    CHECK_TRUE(prefix.ok() && *prefix == base + "-" + std::to_string(step),
               prefix.ok() ? *prefix : prefix.status().ToString());
  }
  CHECK_OK((*saver)->Wait());
  // A synchronous save for comparison (same bytes, same files).
  SaveArgs args;
  args.global_step = kSteps + 1;
  model.Fill(kSteps + 1);
  const auto start = Clock::now();
  CHECK_OK((*saver)->SaveAndWait(base, args).status());
  const double sync_ms = Ms(Clock::now() - start);
  if (me == 0) {
    std::printf("mpi_async_tool: %d ranks, %d async saves of %lld KiB per rank: Save() blocked "
                "%.2f ms each on average; a save to the end (SaveAndWait) took %.2f ms\n",
                n, kSteps / kEvery, static_cast<long long>(model.emb.byte_size() >> 10),
                Ms(blocked) / (kSteps / kEvery), sync_ms);
  }
  CHECK_OK(app->Barrier());
  Result<std::string> latest = LatestCheckpoint(Env::Posix(), dir);
  CHECK_TRUE(latest.ok() && *latest == base + "-" + std::to_string(kSteps + 1),
             latest.ok() ? *latest : latest.status().ToString());
  for (int step = kSteps - kEvery * (kKeep - 2); step <= kSteps; step += kEvery) {
    ExpectStep(base + "-" + std::to_string(step), step, n);
  }
  ExpectStep(base + "-" + std::to_string(kSteps + 1), kSteps + 1, n);
  CHECK_TRUE(!Env::Posix()->FileExists(base + "-" + std::to_string(kSteps - kEvery * kKeep) +
                                       ".index"),
             "retention kept too many");
  // Restore on the caller's thread, over the saver's communicator.
  model.Fill(0);
  CHECK_OK((*saver)->Restore(base + "-" + std::to_string(kSteps)));
  Model expected(me, n);
  expected.Fill(kSteps);
  CHECK_TRUE(std::memcmp(model.emb.data(), expected.emb.data(), model.emb.byte_size()) == 0 &&
                 std::memcmp(model.w.data(), expected.w.data(), model.w.byte_size()) == 0,
             "restored values are not step " + std::to_string(kSteps));
  saver->reset();
  return 0;
}

int Single(const std::string& dir) {
  int provided = MPI_THREAD_MULTIPLE;
  MPI_Query_thread(&provided);
  CHECK_TRUE(provided < MPI_THREAD_MULTIPLE, "MPI_Init gave MPI_THREAD_MULTIPLE: nothing to check");
  std::unique_ptr<Communicator> comm = MakeComm(kTimeout);
  if (comm == nullptr || !FreshDir(*comm, dir)) return 1;
  CHECK_TRUE(!comm->concurrent_with_other_communicators(), "below MPI_THREAD_MULTIPLE");
  Model model(comm->rank(), comm->size());
  model.Fill(1);
  Result<std::unique_ptr<AsyncDistributedSaver>> saver =
      AsyncDistributedSaver::Create(comm.get(), model.vars);
  CHECK_TRUE(!saver.ok() && saver.status().code() == StatusCode::kFailedPrecondition &&
                 saver.status().message().find("MPI_THREAD_MULTIPLE") != std::string::npos,
             saver.ok() ? "created" : saver.status().ToString());
  // The communicator is still good for a synchronous save.
  Result<std::unique_ptr<DistributedSaver>> sync = DistributedSaver::Create(comm.get(), model.vars);
  CHECK_TRUE(sync.ok(), sync.status().ToString());
  if (!sync.ok()) return 1;
  SaveArgs args;
  args.global_step = 1;
  CHECK_OK((*sync)->Save(JoinPath(dir, "model"), args).status());
  CHECK_OK(comm->Barrier());
  ExpectStep(JoinPath(dir, "model-1"), 1, comm->size());
  return 0;
}

}  // namespace
}  // namespace ckpt

int main(int argc, char** argv) {
  const std::string mode = argc == 3 ? argv[1] : "";
  if (mode == "train") {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  } else {
    MPI_Init(&argc, &argv);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &ckpt::g_rank);
  int rc = 2;
  if (mode == "train") {
    rc = ckpt::Train(argv[2]);
  } else if (mode == "single") {
    rc = ckpt::Single(argv[2]);
  } else {
    std::fprintf(stderr, "usage: mpi_async_tool train|single DIR\n");
  }
  return ckpt::FinishTool(rc, "mpi_async_tool");
}
