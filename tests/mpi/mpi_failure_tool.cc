// Failure tests of a distributed save under real MPI (tests/mpi/CMakeLists.txt
// runs them under mpirun). `mpi_failure_tool MODE DIR`, MODE one of:
//
//   killed_save   (-np 3) DistributedSaver saves step 1 into DIR; in the save
//                 of step 2, rank 2 kills itself (_exit(9)) when it creates
//                 its data file (after the file exists: its temporary is
//                 left behind), leaving the marker DIR/killed_at with that
//                 file's path. mpirun then ends the job: this mode never
//                 succeeds (its ctest is WILL_FAIL).
//   killed_check  (-np 2, after killed_save) The checkpoint of step 1 is the
//                 newest, step 2 is neither visible nor restorable, step 1
//                 restores at 2 ranks, and a save of step 3 succeeds and
//                 removes every file of the interrupted step 2.
//   stuck         (-np 3) With a 500 ms timeout, rank 2 sleeps instead of
//                 saving step 2: ranks 0 and 1 return DeadlineExceeded
//                 within the timeout, nothing of step 2 is written, the
//                 broken communicator is destroyed without hanging, and the
//                 job goes on over a fresh one.
//
// Every rank checks what it can; a failure on any rank makes every rank exit
// 1 (an MPI_Allreduce of the failure flags before MPI_Finalize).
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/distributed.h"
#include "ckpt/env.h"
#include "ckpt/mpi_communicator.h"
#include "ckpt/saver.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "mpi_tool.h"

namespace ckpt {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string Contains(const std::string& text, const std::string& part) {
  return "\"" + text + "\" should contain \"" + part + "\"";
}

long Millis(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(d).count());
}

// ---------------------------------------------------------------------------
// The model: emb [kRows, kCols] partitioned by rows over the ranks, the
// replicated bias [3], and w_<i> [2, 2] for each id this rank holds. Every
// value is a function of the element and the step.

constexpr int64_t kRows = 6, kCols = 4;

float EmbValue(int64_t i, int step) { return static_cast<float>(i + 1000 * step); }
float BiasValue(int64_t i, int step) { return static_cast<float>(i + 1 + 1000 * step); }
float WValue(int id, int step) { return static_cast<float>(100 * (id + 1) + 1000 * step); }

struct Model {
  int64_t first = 0, count = 0;  // this rank's rows of emb
  std::vector<int> ids;          // the w_<id> it holds
  std::deque<Tensor> tensors;    // emb, bias, w_<ids[0]>, ...: addresses stay put
  VarList vars;

  Model(int rank, int n, std::vector<int> w_ids, int step, bool fill) : ids(std::move(w_ids)) {
    first = kRows * rank / n;
    count = kRows * (rank + 1) / n - first;
    tensors.push_back(*Tensor::Allocate(DataType::kFloat, TensorShape{count, kCols}));
    tensors.push_back(*Tensor::Allocate(DataType::kFloat, TensorShape{3}));
    vars.push_back({"emb", &tensors[0], TensorShape{kRows, kCols},
                    TensorSlice({{first, count}, {0, TensorSlice::kFullExtent}}), ""});
    vars.push_back({"bias", &tensors[1], std::nullopt, TensorSlice(), ""});
    for (int id : ids) {
      tensors.push_back(*Tensor::Allocate(DataType::kFloat, TensorShape{2, 2}));
      vars.push_back({"w_" + std::to_string(id), &tensors.back(), std::nullopt, TensorSlice(), ""});
    }
    Set(step, fill);
  }

  // The values of `step`, or -1 everywhere.
  void Set(int step, bool fill = true) {
    float* e = tensors[0].mutable_flat<float>();
    for (int64_t i = 0; i < count * kCols; ++i) e[i] = fill ? EmbValue(first * kCols + i, step) : -1;
    for (int64_t i = 0; i < 3; ++i) tensors[1].mutable_flat<float>()[i] = fill ? BiasValue(i, step) : -1;
    for (size_t k = 0; k < ids.size(); ++k) {
      for (int i = 0; i < 4; ++i) tensors[2 + k].mutable_flat<float>()[i] = fill ? WValue(ids[k], step) : -1;
    }
  }

  // Every value is that of `step` (or, with !filled, still -1).
  void Expect(int step, const std::string& what, bool filled = true) const {
    auto want = [&](float v) { return filled ? v : -1.f; };
    const float* e = tensors[0].flat<float>();
    for (int64_t i = 0; i < count * kCols; ++i) {
      CHECK_TRUE(e[i] == want(EmbValue(first * kCols + i, step)),
                 what + ": emb element " + std::to_string(first * kCols + i) + " is " +
                     std::to_string(e[i]));
    }
    for (int64_t i = 0; i < 3; ++i) {
      CHECK_TRUE(tensors[1].flat<float>()[i] == want(BiasValue(i, step)), what + ": bias");
    }
    for (size_t k = 0; k < ids.size(); ++k) {
      for (int i = 0; i < 4; ++i) {
        CHECK_TRUE(tensors[2 + k].flat<float>()[i] == want(WValue(ids[k], step)),
                   what + ": w_" + std::to_string(ids[k]));
      }
    }
  }
};

// Reads the checkpoint at `prefix` whole (no MPI) and checks it holds step
// `step` of emb, bias and w_0 .. w_<num_w - 1>, and nothing else.
void ExpectCheckpoint(const std::string& prefix, int step, int num_w) {
  Result<std::unique_ptr<CheckpointReader>> reader = CheckpointReader::Open(prefix);
  CHECK_TRUE(reader.ok(), reader.status().ToString());
  if (!reader.ok()) return;
  CHECK_TRUE((*reader)->variables().size() == static_cast<size_t>(2 + num_w),
             prefix + " has " + std::to_string((*reader)->variables().size()) + " variables");
  auto expect = [&](const std::string& name, int64_t n, auto value) {
    Result<Tensor> t = (*reader)->GetTensor(name);
    CHECK_TRUE(t.ok(), prefix + " " + name + ": " + t.status().ToString());
    if (!t.ok()) return;
    CHECK_TRUE(t->dtype() == DataType::kFloat && t->num_elements() == n, prefix + " " + name);
    if (t->dtype() != DataType::kFloat || t->num_elements() != n) return;
    for (int64_t i = 0; i < n; ++i) {
      CHECK_TRUE(t->flat<float>()[i] == value(i),
                 prefix + " " + name + " element " + std::to_string(i));
    }
  };
  expect("emb", kRows * kCols, [&](int64_t i) { return EmbValue(i, step); });
  expect("bias", 3, [&](int64_t i) { return BiasValue(i, step); });
  for (int id = 0; id < num_w; ++id) {
    expect("w_" + std::to_string(id), 4, [&](int64_t) { return WValue(id, step); });
  }
}

// Names in `dir` starting with `start`, sorted.
std::vector<std::string> FilesStartingWith(const std::string& dir, const std::string& start) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(start, 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return "[" + out + "]";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void ExpectLatest(const std::string& dir, const std::string& want) {
  Result<std::string> latest = LatestCheckpoint(Env::Posix(), dir);
  CHECK_TRUE(latest.ok(), latest.status().ToString());
  if (latest.ok()) CHECK_TRUE(*latest == want, "LatestCheckpoint is " + *latest + ", want " + want);
}

// ---------------------------------------------------------------------------
// killed_save / killed_check.

// Env::Posix(), until Arm(): then creating a data file (a path with
// ".data-") creates it, writes the path to `marker` and kills the process.
class KillingEnv : public ForwardingEnv {
 public:
  explicit KillingEnv(std::string marker) : ForwardingEnv(Env::Posix()), marker_(std::move(marker)) {}
  void Arm() { armed_ = true; }

  // NewDirectWritableFile (the data file's, with direct_io) comes here too
  // (ForwardingEnv keeps Env's default for it).
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    if (!armed_ || path.find(".data-") == std::string::npos) {
      return ForwardingEnv::NewWritableFile(path);
    }
    Result<std::unique_ptr<WritableFile>> file = target()->NewWritableFile(path);
    if (FILE* f = std::fopen(marker_.c_str(), "w")) {
      std::fprintf(f, "%s\n%s\n", path.c_str(), file.ok() ? "created" : file.status().ToString().c_str());
      std::fclose(f);
    }
    std::fprintf(stderr, "[rank %d] killing itself (_exit(9)) while creating %s\n", g_rank,
                 path.c_str());
    std::fflush(stderr);
    _exit(9);
  }

 private:
  std::string marker_;
  bool armed_ = false;
};

constexpr int kKilledRank = 2;

int KilledSave(const std::string& dir) {
  // Long enough that mpirun ends the job before a survivor times out.
  auto comm = MakeComm(std::chrono::seconds(20));
  if (comm == nullptr) return 1;
  const int me = comm->rank(), n = comm->size();
  CHECK_TRUE(n == 3, "run killed_save at -np 3");
  if (n != 3 || !FreshDir(*comm, dir)) return 1;
  KillingEnv killing(dir + "/killed_at");
  Model model(me, n, {me}, 1, true);
  SaverOptions options;
  options.env = me == kKilledRank ? static_cast<Env*>(&killing) : Env::Posix();
  Result<std::unique_ptr<DistributedSaver>> saver =
      DistributedSaver::Create(comm.get(), model.vars, options);
  CHECK_TRUE(saver.ok(), saver.status().ToString());
  if (!saver.ok()) return 1;
  SaveArgs args;
  args.global_step = 1;
  Result<std::string> one = (*saver)->Save(dir + "/model", args);
  CHECK_TRUE(one.ok() && *one == dir + "/model-1", one.ok() ? *one : one.status().ToString());
  if (!one.ok()) return 1;
  CHECK_OK(comm->Barrier());
  if (me == kKilledRank) killing.Arm();
  model.Set(2);
  args.global_step = 2;
  Result<std::string> two = (*saver)->Save(dir + "/model", args);
  // Only reached if mpirun did not end the job in time.
  std::fprintf(stderr, "[rank %d] the save of step 2 returned: %s\n", me,
               two.ok() ? two->c_str() : two.status().ToString().c_str());
  CHECK_TRUE(me != kKilledRank, "rank 2 should have been killed");
  CHECK_TRUE(!two.ok(), "the save of step 2 succeeded without rank 2");
  return 1;
}

int KilledCheck(const std::string& dir) {
  auto comm = MakeComm(std::chrono::seconds(20));
  if (comm == nullptr) return 1;
  const int me = comm->rank(), n = comm->size();
  CHECK_TRUE(n == 2, "run killed_check at -np 2");
  if (n != 2) return 1;
  const std::string base = dir + "/model";

  // The killed job died where it should: rank 2, creating its data file of
  // step 2 (under a temporary name), which it left behind.
  const std::string marker = ReadAll(dir + "/killed_at");
  CHECK_TRUE(marker.find("/model-2.data-00002-of-00003.ckpt-tmp.") != std::string::npos,
             "killed_at: \"" + marker + "\" (did killed_save run?)");
  CHECK_TRUE(marker.find("\ncreated\n") != std::string::npos, "killed_at: " + marker);
  const std::vector<std::string> before = FilesStartingWith(dir, "model-2");
  if (me == 0) std::fprintf(stderr, "files of step 2 left by the killed job: %s\n", Join(before).c_str());
  CHECK_TRUE(std::any_of(before.begin(), before.end(),
                         [](const std::string& f) {
                           return f.rfind("model-2.data-00002-of-00003.ckpt-tmp.", 0) == 0;
                         }),
             "rank 2's temporary is not there: " + Join(before));

  // Step 1 is the newest checkpoint; step 2 is not one.
  ExpectLatest(dir, base + "-1");
  CHECK_TRUE(!fs::exists(base + "-2.index"), base + "-2.index exists");
  CHECK_TRUE(!CheckpointExists(Env::Posix(), base + "-2"), "CheckpointExists(model-2)");
  Result<std::unique_ptr<CheckpointReader>> partial = CheckpointReader::Open(base + "-2");
  CHECK_TRUE(partial.status().code() == StatusCode::kNotFound,
             "opening model-2: " + partial.status().ToString());
  ExpectCheckpoint(base + "-1", 1, 3);

  // Step 1 restores at 2 ranks: rank 0 holds w_0, rank 1 w_1 and w_2.
  Model model(me, n, me == 0 ? std::vector<int>{0} : std::vector<int>{1, 2}, 1, false);
  Result<std::unique_ptr<DistributedSaver>> saver = DistributedSaver::Create(comm.get(), model.vars);
  CHECK_TRUE(saver.ok(), saver.status().ToString());
  if (!saver.ok()) return 1;
  // Step 2 is not restorable: every rank fails on its own, nothing changes.
  const Status two = (*saver)->Restore(base + "-2");
  CHECK_TRUE(two.code() == StatusCode::kNotFound, "restoring model-2: " + two.ToString());
  model.Expect(1, "after the failed restore of model-2", /*filled=*/false);
  CHECK_OK((*saver)->Restore(base + "-1"));
  model.Expect(1, "restored from model-1");

  // The job continues: a save of step 3 succeeds, and the chief removes
  // every file of the interrupted step 2 (data files, temporaries).
  model.Set(3);
  SaveArgs args;
  args.global_step = 3;
  Result<std::string> three = (*saver)->Save(base, args);
  CHECK_TRUE(three.ok() && *three == base + "-3", three.ok() ? *three : three.status().ToString());
  CHECK_OK(comm->Barrier());
  const std::vector<std::string> after = FilesStartingWith(dir, "model-2");
  CHECK_TRUE(after.empty(), "files of step 2 left after the save of step 3: " + Join(after));
  ExpectLatest(dir, base + "-3");
  ExpectCheckpoint(base + "-3", 3, 3);
  ExpectCheckpoint(base + "-1", 1, 3);
  if (me == 0) {
    CHECK_TRUE((*saver)->last_checkpoints() == (std::vector<std::string>{base + "-3"}),
               "last_checkpoints: " + Join((*saver)->last_checkpoints()));
  }
  CHECK_OK(comm->Barrier());
  return 0;
}

// ---------------------------------------------------------------------------
// stuck.

constexpr int kStuckRank = 2;
constexpr milliseconds kTimeout{500}, kStuckFor{2500};

int Stuck(const std::string& dir) {
  auto comm = MakeComm(kTimeout);
  if (comm == nullptr) return 1;
  const int me = comm->rank(), n = comm->size();
  CHECK_TRUE(n == 3, "run stuck at -np 3");
  if (n != 3 || !FreshDir(*comm, dir)) return 1;
  const std::string base = dir + "/model";
  {
    Model model(me, n, {me}, 1, true);
    Result<std::unique_ptr<DistributedSaver>> saver = DistributedSaver::Create(comm.get(), model.vars);
    CHECK_TRUE(saver.ok(), saver.status().ToString());
    if (!saver.ok()) return 1;
    SaveArgs args;
    args.global_step = 1;
    Result<std::string> one = (*saver)->Save(base, args);
    CHECK_TRUE(one.ok() && *one == base + "-1", one.ok() ? *one : one.status().ToString());
    if (!one.ok()) return 1;
    CHECK_OK(comm->Barrier());

    model.Set(2);
    args.global_step = 2;
    if (me == kStuckRank) {
      std::this_thread::sleep_for(kStuckFor);  // instead of saving
    } else {
      const auto start = Clock::now();
      Result<std::string> two = (*saver)->Save(base, args);
      const auto took = Clock::now() - start;
      const std::string got = two.ok() ? "OK " + *two : two.status().ToString();
      std::fprintf(stderr, "[rank %d] the save of step 2 returned after %ld ms: %s\n", me,
                   Millis(took), got.c_str());
      CHECK_TRUE(two.status().code() == StatusCode::kDeadlineExceeded, got);
      // Rank 0 waits for every rank's plan (the Gather of an AllGather) and
      // names the one missing; rank 1, having sent its plan, waits for rank
      // 0's answer (the Broadcast) and names rank 0.
      const std::string want = me == 0 ? "Gather at rank 0: rank 2 of 3 did not take part within 500 ms"
                                       : "Broadcast at rank 1: rank 0 of 3 did not send within 500 ms";
      CHECK_TRUE(two.status().message().find(want) != std::string::npos, Contains(got, want));
      CHECK_TRUE(took >= milliseconds(450), "took " + std::to_string(Millis(took)) + " ms");
      CHECK_TRUE(took < milliseconds(2000), "took " + std::to_string(Millis(took)) + " ms");
      // Nothing of step 2 was written: the plan never completed.
      ExpectLatest(dir, base + "-1");
      CHECK_TRUE(!fs::exists(base + "-2.index"), base + "-2.index exists");
      const std::vector<std::string> files = FilesStartingWith(dir, "model-2");
      CHECK_TRUE(files.empty(), "files of step 2: " + Join(files));
      // The communicator is broken from then on.
      const Status again = comm->Barrier();
      CHECK_TRUE(again.code() == StatusCode::kAborted, "Barrier after the timeout: " + again.ToString());
    }
    // The saver goes first (the chief's holds the directory's lock), then the
    // communicator: its destructor must not wait for anyone.
    saver->reset();
    const auto start = Clock::now();
    comm.reset();
    const auto took = Clock::now() - start;
    CHECK_TRUE(took < milliseconds(500),
               "destroying the communicator took " + std::to_string(Millis(took)) + " ms");
  }

  // Every rank meets again on a fresh communicator (rank 2 after its sleep),
  // and the job goes on: step 2 saved again, now by every rank.
  comm = MakeComm(std::chrono::seconds(20));
  if (comm == nullptr) return 1;
  CHECK_OK(comm->Barrier());
  ExpectLatest(dir, base + "-1");
  CHECK_TRUE(!fs::exists(base + "-2.index"), base + "-2.index exists");
  Model model(me, n, {me}, 2, true);
  Result<std::unique_ptr<DistributedSaver>> saver = DistributedSaver::Create(comm.get(), model.vars);
  CHECK_TRUE(saver.ok(), saver.status().ToString());
  if (!saver.ok()) return 1;
  SaveArgs args;
  args.global_step = 2;
  Result<std::string> two = (*saver)->Save(base, args);
  CHECK_TRUE(two.ok() && *two == base + "-2", two.ok() ? *two : two.status().ToString());
  CHECK_OK(comm->Barrier());
  ExpectLatest(dir, base + "-2");
  ExpectCheckpoint(base + "-2", 2, 3);
  CHECK_OK(comm->Barrier());
  return 0;
}

}  // namespace
}  // namespace ckpt

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &ckpt::g_rank);
  int rc = 2;
  const std::string mode = argc == 3 ? argv[1] : "";
  if (mode == "killed_save") {
    rc = ckpt::KilledSave(argv[2]);
  } else if (mode == "killed_check") {
    rc = ckpt::KilledCheck(argv[2]);
  } else if (mode == "stuck") {
    rc = ckpt::Stuck(argv[2]);
  } else {
    std::fprintf(stderr, "usage: mpi_failure_tool killed_save|killed_check|stuck DIR\n");
  }
  return ckpt::FinishTool(rc, "mpi_failure_tool");
}
