// AsyncDistributedSaver (ckpt/distributed.h) over ranks that are threads of
// this process (thread_group.h): each rank's training thread uses one group
// (the application's collectives) while its saver's background thread uses
// another. What lands is what the variables held at Save() time, saves in a
// row each land whole, every error reaches every rank's Wait(), retention is
// the chief's, a missing rank is a deadline and not a hang, and a
// communicator that cannot run beside another is refused.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/distributed.h"
#include "ckpt/filenames.h"
#include "testutil/gate_env.h"
#include "testutil/testutil.h"
#include "testutil/thread_group.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvParamTest;
using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::GateEnv;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::ThreadGroup;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr int kRowsPerRank = 2, kCols = 3, kW = 5;

// What a variable holds at `step`: distinct per step, rank and element.
float Value(int step, int rank, int i) { return step * 1000.f + rank * 100.f + i; }

// Rank r of n: rows [2r, 2r + 2) of the partitioned `emb` [2n, 3], the
// replicated `shared` int64 [4], its own `w<r>` float [5].
struct Vars {
  Tensor emb, shared, w;
  VarList list;

  Vars(int rank, int ranks)
      : emb(*Tensor::Allocate(DataType::kFloat, {kRowsPerRank, kCols})),
        shared(*Tensor::Allocate(DataType::kInt64, {4})),
        w(*Tensor::Allocate(DataType::kFloat, {kW})),
        rank_(rank) {
    SaveableTensor e;
    e.name = "emb";
    e.tensor = &emb;
    e.full_shape = TensorShape{kRowsPerRank * ranks, kCols};
    e.slice = TensorSlice({{kRowsPerRank * rank, kRowsPerRank}, {0, TensorSlice::kFullExtent}});
    list.push_back(e);
    list.push_back({"shared", &shared, std::nullopt, {}, ""});
    list.push_back({"w" + std::to_string(rank), &w, std::nullopt, {}, ""});
  }

  // Every value as of `step` (emb's rows as a whole [2n, 3] tensor would).
  void Fill(int step) {
    for (int i = 0; i < kRowsPerRank * kCols; ++i) {
      emb.mutable_flat<float>()[i] = Value(step, 0, kRowsPerRank * kCols * rank_ + i);
    }
    for (int i = 0; i < 4; ++i) shared.mutable_flat<int64_t>()[i] = step * 10 + i;
    for (int i = 0; i < kW; ++i) w.mutable_flat<float>()[i] = Value(step, rank_, i);
  }

 private:
  int rank_;
};

// Every rank's Vars of a group of `ranks`.
std::vector<std::unique_ptr<Vars>> EveryRank(int ranks) {
  std::vector<std::unique_ptr<Vars>> vars;
  for (int r = 0; r < ranks; ++r) vars.push_back(std::make_unique<Vars>(r, ranks));
  return vars;
}

class AsyncDistributedTest : public EnvParamTest {
 protected:
  std::string SavePath() const { return Path("model.ckpt"); }

  AsyncSaverOptions Options(Env* env) const {
    AsyncSaverOptions o;
    o.saver.env = env;
    return o;
  }

  // Expects the checkpoint at `prefix` of `ranks` ranks to hold step `step`'s
  // values, bit for bit.
  void ExpectStep(const std::string& prefix, int ranks, int step) {
    SCOPED_TRACE(prefix);
    CheckpointReaderOptions ro;
    ro.env = env_;
    CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(prefix, ro));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor emb, reader->GetTensor("emb"));
    ASSERT_EQ(emb.shape(), (TensorShape{kRowsPerRank * ranks, kCols}));
    for (int64_t i = 0; i < emb.num_elements(); ++i) {
      ASSERT_EQ(emb.flat<float>()[i], Value(step, 0, static_cast<int>(i))) << "emb " << i;
    }
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor shared, reader->GetTensor("shared"));
    for (int i = 0; i < 4; ++i) ASSERT_EQ(shared.flat<int64_t>()[i], step * 10 + i);
    for (int r = 0; r < ranks; ++r) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor w, reader->GetTensor("w" + std::to_string(r)));
      for (int i = 0; i < kW; ++i) ASSERT_EQ(w.flat<float>()[i], Value(step, r, i)) << "w" << r;
    }
  }
};

// The background save is held at the gate until every rank has overwritten
// its variables: what lands is still what they held when Save() returned,
// and Save() returned before a byte was written.
TEST_P(AsyncDistributedTest, WritesTheValuesOfSaveTimeWhileTrainingChangesThem) {
  constexpr int kRanks = 3;
  ThreadGroup app(kRanks), saver_comms(kRanks);
  std::vector<std::unique_ptr<Vars>> vars = EveryRank(kRanks);
  GateEnv gate(env_);
  gate.Close();
  // Opens the gate after 10 s unless the test did: a Save() that waits for
  // its write then fails the test instead of hanging it.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread safety_net([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; });
    gate.Open();
  });
  std::atomic<int> creates_when_saved{0};
  std::vector<Status> out = app.Run<Status>([&](int r, Communicator& comm) -> Status {
    CKPT_ASSIGN_OR_RETURN(auto saver, AsyncDistributedSaver::Create(&saver_comms.comm(r),
                                                                    vars[r]->list,
                                                                    Options(&gate)));
    vars[r]->Fill(1);
    SaveArgs args;
    args.global_step = 1;
    CKPT_ASSIGN_OR_RETURN(std::string prefix, saver->Save(SavePath(), args));
    if (prefix != SavePath() + "-1") return InternalError("prefix " + prefix);
    creates_when_saved += gate.creates();
    vars[r]->Fill(2);  // training goes on at once
    // The training thread's own collectives, while the save is in flight.
    for (int step = 0; step < 5; ++step) CKPT_RETURN_IF_ERROR(comm.Barrier());
    if (r == 0) gate.Open();
    return saver->Wait();
  });
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  safety_net.join();
  for (const Status& s : out) CKPT_ASSERT_OK(s);
  EXPECT_EQ(creates_when_saved.load(), 0) << "Save() waited for the write";
  ExpectStep(SavePath() + "-1", kRanks, 1);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string latest, LatestCheckpoint(env_, dir_));
  EXPECT_EQ(latest, SavePath() + "-1");
}

// Save after Save without Wait: each waits for the previous one; every
// checkpoint holds its own step's values; the application's AllGather runs
// between saves.
TEST_P(AsyncDistributedTest, SavesInARowEachLandWhole) {
  constexpr int kRanks = 3, kSteps = 5;
  ThreadGroup app(kRanks), saver_comms(kRanks);
  std::vector<std::unique_ptr<Vars>> vars = EveryRank(kRanks);
  std::vector<Status> out = app.Run<Status>([&](int r, Communicator& comm) -> Status {
    CKPT_ASSIGN_OR_RETURN(auto saver, AsyncDistributedSaver::Create(&saver_comms.comm(r),
                                                                    vars[r]->list,
                                                                    Options(env_)));
    for (int step = 1; step <= kSteps; ++step) {
      vars[r]->Fill(step);
      SaveArgs args;
      args.global_step = step;
      CKPT_RETURN_IF_ERROR(saver->Save(SavePath(), args).status());
      vars[r]->Fill(-step);
      CKPT_ASSIGN_OR_RETURN(auto all, comm.AllGather(std::to_string(step)));
      if (all.size() != kRanks) return InternalError("AllGather");
    }
    return saver->Wait();
  });
  for (const Status& s : out) CKPT_ASSERT_OK(s);
  for (int step = 1; step <= kSteps; ++step) {
    ExpectStep(SavePath() + "-" + std::to_string(step), kRanks, step);
  }
}

// No collective of the application between saves, and rank 1 late to every
// Save(): the others' background threads wait for its own (never for its
// training thread), so every save completes, in order.
TEST_P(AsyncDistributedTest, ARankLateToItsSavesOnlyDelaysThem) {
  constexpr int kRanks = 3, kSteps = 3;
  ThreadGroup saver_comms(kRanks);
  std::vector<std::unique_ptr<Vars>> vars = EveryRank(kRanks);
  std::vector<Status> out = saver_comms.Run<Status>([&](int r, Communicator&) -> Status {
    CKPT_ASSIGN_OR_RETURN(auto saver, AsyncDistributedSaver::Create(&saver_comms.comm(r),
                                                                    vars[r]->list,
                                                                    Options(env_)));
    for (int step = 1; step <= kSteps; ++step) {
      if (r == 1) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      vars[r]->Fill(step);
      SaveArgs args;
      args.global_step = step;
      CKPT_RETURN_IF_ERROR(saver->Save(SavePath(), args).status());
    }
    return saver->Wait();
  });
  for (const Status& s : out) CKPT_ASSERT_OK(s);
  for (int step = 1; step <= kSteps; ++step) {
    ExpectStep(SavePath() + "-" + std::to_string(step), kRanks, step);
  }
}

// A rank whose variable changed shape fails its Save() at once; the save's
// collective still runs, so every rank's Wait() reports it (that rank its
// own error, the others Aborted naming it) and nothing is written; the next
// save, with the variable fixed, works on every rank.
TEST_P(AsyncDistributedTest, ARanksBadVariableFailsTheSaveOnEveryRank) {
  constexpr int kRanks = 3;
  ThreadGroup app(kRanks), saver_comms(kRanks);
  std::vector<std::unique_ptr<Vars>> vars = EveryRank(kRanks);
  struct Outcome {
    Status save, wait, next;
  };
  std::vector<Outcome> out = app.Run<Outcome>([&](int r, Communicator& comm) {
    Outcome o;
    auto saver = AsyncDistributedSaver::Create(&saver_comms.comm(r), vars[r]->list,
                                               Options(env_));
    if (!saver.ok()) {
      o.save = saver.status();
      return o;
    }
    vars[r]->Fill(1);
    Tensor kept = vars[r]->w;
    if (r == 1) vars[r]->w = *Tensor::Allocate(DataType::kFloat, {kW + 1});
    SaveArgs args;
    args.global_step = 1;
    o.save = (*saver)->Save(SavePath(), args).status();
    o.wait = (*saver)->Wait();
    vars[r]->w = kept;
    args.global_step = 2;
    o.next = (*saver)->SaveAndWait(SavePath(), args).status();
    return o;
  });
  EXPECT_THAT(out[1].save, StatusIs(StatusCode::kInvalidArgument, "variable \"w1\""));
  EXPECT_THAT(out[1].wait, StatusIs(StatusCode::kInvalidArgument, "variable \"w1\""));
  for (int r : {0, 2}) {
    CKPT_EXPECT_OK(out[r].save);
    EXPECT_THAT(out[r].wait, StatusIs(StatusCode::kAborted, "rank 1 of 3 failed")) << r;
  }
  for (const Outcome& o : out) CKPT_EXPECT_OK(o.next);
  for (const std::string& name : ListDir(env_, dir_)) {
    EXPECT_EQ(name.find("model.ckpt-1"), std::string::npos) << name;
  }
  ExpectStep(SavePath() + "-2", kRanks, 1);
}

// The chief cannot write its directory: every rank's Save() returns (the
// error is the background save's), every rank's next Save() reports it and
// starts nothing, and then nothing is pending.
TEST_P(AsyncDistributedTest, TheChiefsUnwritableDirectoryReachesEveryRanksWait) {
  constexpr int kRanks = 3;
  ThreadGroup app(kRanks), saver_comms(kRanks);
  std::vector<std::unique_ptr<Vars>> vars = EveryRank(kRanks);
  FaultInjectionEnv failing(env_);
  failing.FailAfter(0);
  struct Outcome {
    Status save, next, after;
  };
  std::vector<Outcome> out = app.Run<Outcome>([&](int r, Communicator& comm) {
    Outcome o;
    auto saver = AsyncDistributedSaver::Create(&saver_comms.comm(r), vars[r]->list,
                                               Options(r == 0 ? &failing : env_));
    if (!saver.ok()) {
      o.save = saver.status();
      return o;
    }
    vars[r]->Fill(1);
    SaveArgs args;
    args.global_step = 1;
    o.save = (*saver)->Save(SavePath(), args).status();
    args.global_step = 2;
    o.next = (*saver)->Save(SavePath(), args).status();  // reports step 1, starts nothing
    o.after = (*saver)->Wait();                           // nothing pending
    return o;
  });
  EXPECT_EQ(out[0].next.code(), StatusCode::kIoError) << out[0].next;
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_TRUE(out[r].save.ok()) << r << ": " << out[r].save;
    EXPECT_TRUE(out[r].after.ok()) << r << ": " << out[r].after;
  }
  for (int r : {1, 2}) {
    EXPECT_THAT(out[r].next, StatusIs(StatusCode::kAborted, "rank 0 of 3 failed")) << r;
  }
  EXPECT_TRUE(ListDir(env_, dir_).empty());
}

TEST_P(AsyncDistributedTest, TheChiefKeepsRetentionAndTheStateFile) {
  constexpr int kRanks = 2;
  ThreadGroup app(kRanks), saver_comms(kRanks);
  std::vector<std::unique_ptr<Vars>> vars = EveryRank(kRanks);
  AsyncSaverOptions options = Options(env_);
  options.saver.max_to_keep = 2;
  std::vector<std::string> lists = app.Run<std::string>([&](int r, Communicator&) {
    auto saver = AsyncDistributedSaver::Create(&saver_comms.comm(r), vars[r]->list, options);
    if (!saver.ok()) return saver.status().ToString();
    for (int step = 1; step <= 4; ++step) {
      vars[r]->Fill(step);
      SaveArgs args;
      args.global_step = step;
      if (Status s = (*saver)->Save(SavePath(), args).status(); !s.ok()) return s.ToString();
    }
    std::string list;  // waits for the last save
    for (const std::string& p : (*saver)->last_checkpoints()) list += p + ";";
    if (Status s = (*saver)->Wait(); !s.ok()) return s.ToString();
    return list;
  });
  EXPECT_EQ(lists[0], SavePath() + "-3;" + SavePath() + "-4;");
  EXPECT_EQ(lists[1], "");
  CKPT_ASSERT_OK_AND_ASSIGN(std::string latest, LatestCheckpoint(env_, dir_));
  EXPECT_EQ(latest, SavePath() + "-4");
  for (const std::string& name : ListDir(env_, dir_)) {
    EXPECT_EQ(name.find("model.ckpt-1."), std::string::npos) << "not deleted: " << name;
    EXPECT_EQ(name.find("model.ckpt-2."), std::string::npos) << "not deleted: " << name;
  }
  EXPECT_TRUE(env_->FileExists(DataFilename(SavePath() + "-3", 1, 2)));
  ExpectStep(SavePath() + "-3", kRanks, 3);
  ExpectStep(SavePath() + "-4", kRanks, 4);
}

// Rank 2 never saves: the others' background saves end at the deadline, and
// their next Save() (which waits for the previous one) returns that
// DeadlineExceeded instead of hanging the training thread.
TEST_P(AsyncDistributedTest, AMissingRankEndsTheSaveAtTheDeadline) {
  constexpr int kRanks = 3;
  ThreadGroup app(kRanks), saver_comms(kRanks, std::chrono::milliseconds(300));
  std::vector<std::unique_ptr<Vars>> vars = EveryRank(kRanks);
  const auto start = Clock::now();
  std::vector<Status> out = app.Run<Status>([&](int r, Communicator&) -> Status {
    CKPT_ASSIGN_OR_RETURN(auto saver, AsyncDistributedSaver::Create(&saver_comms.comm(r),
                                                                    vars[r]->list,
                                                                    Options(env_)));
    if (r == 2) return Status::OK();  // never joins
    vars[r]->Fill(1);
    SaveArgs args;
    args.global_step = 1;
    CKPT_RETURN_IF_ERROR(saver->Save(SavePath(), args).status());
    args.global_step = 2;
    return saver->Save(SavePath(), args).status();
  });
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  CKPT_EXPECT_OK(out[2]);
  EXPECT_THAT(out[0], StatusIs(StatusCode::kDeadlineExceeded, "rank 2"));
  EXPECT_EQ(out[1].code(), StatusCode::kDeadlineExceeded) << out[1];
  EXPECT_FALSE(env_->FileExists(MetaFilename(SavePath() + "-1")));
  EXPECT_FALSE(env_->FileExists(Path("checkpoint")));
}

// A communicator wrapping another that says it cannot run beside others.
class SerialOnly : public Communicator {
 public:
  explicit SerialOnly(Communicator* inner) : inner_(inner) {}
  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  Result<std::vector<std::string>> Gather(std::string_view mine, int root) override {
    return inner_->Gather(mine, root);
  }
  Result<std::string> Broadcast(std::string_view value, int root) override {
    return inner_->Broadcast(value, root);
  }

 private:
  Communicator* inner_;
};

TEST_P(AsyncDistributedTest, ACommunicatorThatCannotRunBesideOthersIsRefused) {
  constexpr int kRanks = 3;
  ThreadGroup saver_comms(kRanks);
  std::vector<std::unique_ptr<Vars>> vars = EveryRank(kRanks);
  std::vector<Status> out = saver_comms.Run<Status>([&](int r, Communicator& comm) {
    SerialOnly serial(&comm);
    Communicator* use = r == 1 ? static_cast<Communicator*>(&serial) : &comm;
    return AsyncDistributedSaver::Create(use, vars[r]->list, Options(env_)).status();
  });
  EXPECT_THAT(out[1], StatusIs(StatusCode::kFailedPrecondition, "MPI_THREAD_MULTIPLE"));
  for (int r : {0, 2}) EXPECT_THAT(out[r], StatusIs(StatusCode::kAborted, "rank 1 of 3")) << r;
  EXPECT_FALSE(SerialOnly(&saver_comms.comm(0)).concurrent_with_other_communicators());
  EXPECT_TRUE(NewLocalCommunicator()->concurrent_with_other_communicators());
}

// Saved at 3 ranks asynchronously, restored at 2 through the async saver
// (collective on the caller's thread) and at 1 over a local communicator.
TEST_P(AsyncDistributedTest, RestoresAtAnotherNumberOfRanks) {
  {
    ThreadGroup saver_comms(3);
    std::vector<std::unique_ptr<Vars>> vars = EveryRank(3);
    for (const Status& s : saver_comms.Run<Status>([&](int r, Communicator& comm) -> Status {
           CKPT_ASSIGN_OR_RETURN(auto saver,
                                 AsyncDistributedSaver::Create(&comm, vars[r]->list, Options(env_)));
           vars[r]->Fill(7);
           SaveArgs args;
           args.global_step = 7;
           return saver->SaveAndWait(SavePath(), args).status();
         })) {
      CKPT_ASSERT_OK(s);
    }
  }
  // Two ranks, each with three rows of emb and w<r>; w2 is not restored.
  ThreadGroup saver_comms(2);
  std::vector<Tensor> emb(2), w(2);
  std::vector<VarList> lists(2);
  for (int r = 0; r < 2; ++r) {
    emb[r] = *Tensor::Allocate(DataType::kFloat, {3, kCols});
    w[r] = *Tensor::Allocate(DataType::kFloat, {kW});
    lists[r].push_back({"emb", &emb[r], TensorShape{6, kCols},
                        TensorSlice({{3 * r, 3}, {0, TensorSlice::kFullExtent}}), ""});
    lists[r].push_back({"w" + std::to_string(r), &w[r], std::nullopt, {}, ""});
  }
  for (const Status& s : saver_comms.Run<Status>([&](int r, Communicator& comm) -> Status {
         CKPT_ASSIGN_OR_RETURN(auto saver,
                               AsyncDistributedSaver::Create(&comm, lists[r], Options(env_)));
         return saver->Restore(SavePath() + "-7");
       })) {
    CKPT_ASSERT_OK(s);
  }
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < 3 * kCols; ++i) {
      EXPECT_EQ(emb[r].flat<float>()[i], Value(7, 0, 3 * kCols * r + i)) << r << " " << i;
    }
    EXPECT_EQ(w[r].flat<float>()[kW - 1], Value(7, r, kW - 1));
  }
  // One rank: the replicated and rank 0's variables.
  Tensor shared = *Tensor::Allocate(DataType::kInt64, {4});
  Tensor w0 = *Tensor::Allocate(DataType::kFloat, {kW});
  auto local = NewLocalCommunicator();
  CKPT_ASSERT_OK_AND_ASSIGN(
      auto saver, AsyncDistributedSaver::Create(local.get(),
                                                {{"shared", &shared, std::nullopt, {}, ""},
                                                 {"w0", &w0, std::nullopt, {}, ""}},
                                                Options(env_)));
  EXPECT_EQ(saver->snapshot_bytes(), 4 * sizeof(int64_t) + kW * sizeof(float));
  CKPT_ASSERT_OK(saver->Restore(SavePath() + "-7"));
  EXPECT_EQ(w0.flat<float>()[2], Value(7, 0, 2));
  EXPECT_EQ(shared.flat<int64_t>()[3], 73);
}

INSTANTIATE_TEST_SUITE_P(Envs, AsyncDistributedTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return ckpt::testing::EnvKindName(info.param); });

}  // namespace
}  // namespace ckpt
