// Distributed saves and restores (ckpt/distributed.h) over a group of ranks
// that are threads of this process (thread_group.h): the checkpoint is one
// ordinary bundle with one data shard per rank, replicated tensors are stored
// once, slices of one variable from several ranks become one entry, restore
// works at another number of ranks and another partitioning, and every
// failure (a rank's write, a disagreement, a missing rank, a bad restore)
// leaves every rank with an error and nothing half-written or half-restored.
// Every test runs on the real file system and on MemEnv.
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "ckpt/bundle_reader.h"
#include "ckpt/bundle_writer.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/distributed.h"
#include "ckpt/filenames.h"
#include "testutil/testutil.h"
#include "testutil/thread_group.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::EnvParamTest;
using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::ForwardingEnv;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::ThreadGroup;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// emb [10, 4]: element i is i (float).
std::vector<float> EmbRows(int64_t first, int64_t last) {
  std::vector<float> v;
  for (int64_t i = first * 4; i < last * 4; ++i) v.push_back(static_cast<float>(i));
  return v;
}

// Row ranges of emb for `ranks` ranks (uneven: the first rank gets the rest).
std::pair<int64_t, int64_t> Rows(int rank, int ranks) {
  const int64_t per = 10 / ranks, extra = 10 % ranks;
  const int64_t first = rank == 0 ? 0 : extra + per * rank;
  return {first, extra + per * (rank + 1)};
}

// One rank's variables: its rows of the partitioned `emb`, the replicated
// `bias`, its own `w<rank>`; rank 1 also a string tensor.
struct RankVars {
  std::vector<std::unique_ptr<Tensor>> tensors;
  VarList vars;

  Tensor* Keep(Tensor t) {
    tensors.push_back(std::make_unique<Tensor>(std::move(t)));
    return tensors.back().get();
  }

  RankVars(int rank, int ranks, float w_value = -1) {
    const auto [first, last] = Rows(rank, ranks);
    SaveableTensor emb;
    emb.name = "emb";
    emb.tensor = Keep(Tensor::FromVector<float>({last - first, 4}, EmbRows(first, last)));
    emb.full_shape = TensorShape{10, 4};
    emb.slice = TensorSlice::Parse(std::to_string(first) + "," + std::to_string(last - first) +
                                   ":-")
                    .value();
    vars.push_back(emb);
    vars.push_back({"bias", Keep(Tensor::FromVector<double>({3}, {1.5, 2.5, 3.5})), std::nullopt,
                    {}, ""});
    const float w = w_value >= 0 ? w_value : static_cast<float>(rank);
    vars.push_back({"w" + std::to_string(rank),
                    Keep(Tensor::FromVector<float>({2, 2}, {w, w, w, w})), std::nullopt, {}, ""});
    if (rank == 1) {
      vars.push_back({"names", Keep(Tensor::FromStrings({2}, {"a", "bc"}).value()), std::nullopt,
                      {}, ""});
    }
  }
};

class DistributedTest : public EnvParamTest {
 protected:
  // Saves RankVars of every rank of a group of `ranks` at prefix P.
  std::vector<Status> SaveAll(int ranks, const std::string& prefix) {
    ThreadGroup group(ranks);
    std::vector<RankVars> vars;
    for (int r = 0; r < ranks; ++r) vars.emplace_back(r, ranks);
    DistributedSaveOptions options;
    options.env = env_;
    return group.Run<Status>([&](int r, Communicator& comm) {
      return DistributedSave(comm, prefix, vars[r].vars, options);
    });
  }

  Result<std::unique_ptr<CheckpointReader>> Open(const std::string& prefix) {
    CheckpointReaderOptions ro;
    ro.env = env_;
    return CheckpointReader::Open(prefix, ro);
  }

  void ExpectCheckpoint(const std::string& prefix, int ranks) {
    CheckpointReaderOptions ro;
    ro.env = env_;
    CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(prefix, ro));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor emb, reader->GetTensor("emb"));
    EXPECT_EQ(emb.shape(), (TensorShape{10, 4}));
    EXPECT_EQ(std::vector<float>(emb.flat<float>(), emb.flat<float>() + 40), EmbRows(0, 10));
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor bias, reader->GetTensor("bias"));
    EXPECT_EQ(std::vector<double>(bias.flat<double>(), bias.flat<double>() + 3),
              (std::vector<double>{1.5, 2.5, 3.5}));
    for (int r = 0; r < ranks; ++r) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor w, reader->GetTensor("w" + std::to_string(r)));
      EXPECT_EQ(w.flat<float>()[3], static_cast<float>(r));
    }
    if (ranks > 1) {
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor names, reader->GetTensor("names"));
      EXPECT_THAT(names.strings(), ElementsAre("a", "bc"));
    }
  }
};

TEST_P(DistributedTest, ThreeRanksWriteOneBundleWithOneShardEach) {
  const std::string prefix = Path("model.ckpt-7");
  for (const Status& s : SaveAll(3, prefix)) CKPT_ASSERT_OK(s);
  ExpectCheckpoint(prefix, 3);
  EXPECT_THAT(ListDir(env_, dir_),
              ElementsAre("model.ckpt-7.data-00000-of-00003", "model.ckpt-7.data-00001-of-00003",
                          "model.ckpt-7.data-00002-of-00003", "model.ckpt-7.index"));
  BundleReaderOptions bo;
  bo.env = env_;
  CKPT_ASSERT_OK_AND_ASSIGN(auto bundle, BundleReader::Open(prefix, bo));
  EXPECT_EQ(bundle->num_shards(), 3);
  // Each rank's own tensors are in its shard; the replicated bias is stored
  // once, in the shard of the least-loaded holder; each slice in its rank's.
  std::map<std::string, int> shard_of;
  for (const BundleEntry& e : bundle->entries()) shard_of[e.key] = e.shard_id;
  EXPECT_EQ(shard_of.at("w0"), 0);
  EXPECT_EQ(shard_of.at("w1"), 1);
  EXPECT_EQ(shard_of.at("w2"), 2);
  EXPECT_EQ(shard_of.at("names"), 1);
  EXPECT_EQ(shard_of.count("bias"), 1u);
  // Stored slices have keys of their own (the name and slice, encoded).
  std::set<int> slice_shards;
  for (const auto& [key, shard] : shard_of) {
    if (key != "emb" && key.find("emb") != std::string::npos) slice_shards.insert(shard);
  }
  EXPECT_EQ(slice_shards, (std::set<int>{0, 1, 2})) << "one stored slice per rank";
  EXPECT_EQ(shard_of.size(), 9u);
}

TEST_P(DistributedTest, ReplicatedTensorsGoToTheLeastLoadedRank) {
  // Ten replicated tensors of one size over two ranks: five each, not ten on
  // rank 0 (the owner is the holder with the fewest bytes so far).
  ThreadGroup group(2);
  std::vector<std::unique_ptr<Tensor>> keep;
  VarList vars;
  for (int i = 0; i < 10; ++i) {
    keep.push_back(std::make_unique<Tensor>(Tensor::FromVector<float>({4}, {1, 2, 3, float(i)})));
    vars.push_back({"t" + std::to_string(i), keep.back().get(), std::nullopt, {}, ""});
  }
  DistributedSaveOptions options;
  options.env = env_;
  const std::string prefix = Path("rep");
  for (const Status& s : group.Run<Status>([&](int, Communicator& comm) {
         return DistributedSave(comm, prefix, vars, options);
       })) {
    CKPT_ASSERT_OK(s);
  }
  BundleReaderOptions bo;
  bo.env = env_;
  CKPT_ASSERT_OK_AND_ASSIGN(auto bundle, BundleReader::Open(prefix, bo));
  int on_rank1 = 0;
  for (const BundleEntry& e : bundle->entries()) on_rank1 += e.shard_id == 1;
  EXPECT_EQ(on_rank1, 5);
}

TEST_P(DistributedTest, ARankWithNothingWritesAnEmptyShard) {
  ThreadGroup group(2);
  RankVars mine(0, 1);
  DistributedSaveOptions options;
  options.env = env_;
  const std::string prefix = Path("ckpt");
  for (const Status& s : group.Run<Status>([&](int r, Communicator& comm) {
         return DistributedSave(comm, prefix, r == 0 ? mine.vars : VarList{}, options);
       })) {
    CKPT_ASSERT_OK(s);
  }
  EXPECT_TRUE(env_->FileExists(DataFilename(prefix, 1, 2)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, Open(prefix));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor emb, reader->GetTensor("emb"));
  EXPECT_EQ(emb.flat<float>()[39], 39.f);
}

TEST_P(DistributedTest, ARankThatFailsToWriteLeavesNoCheckpoint) {
  ThreadGroup group(3);
  std::vector<RankVars> vars;
  for (int r = 0; r < 3; ++r) vars.emplace_back(r, 3);
  FaultInjectionEnv failing(env_);
  failing.FailAfter(0);
  const std::string prefix = Path("model.ckpt-1");
  // Files the save does not own, beside it: they must stay as they are.
  CKPT_ASSERT_OK(ckpt::testing::WriteStringToFile(env_, Path("notes.txt"), "mine"));
  CKPT_ASSERT_OK(ckpt::testing::WriteStringToFile(env_, Path("model.ckpt-0.index"), "other"));
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) {
    DistributedSaveOptions options;
    options.env = r == 1 ? static_cast<Env*>(&failing) : env_;
    return DistributedSave(comm, prefix, vars[r].vars, options);
  });
  EXPECT_EQ(out[1].code(), StatusCode::kIoError) << out[1];
  for (int r : {0, 2}) {
    EXPECT_THAT(out[r], StatusIs(StatusCode::kAborted, "rank 1 of 3 failed")) << r;
  }
  EXPECT_THAT(ListDir(env_, dir_), ElementsAre("model.ckpt-0.index", "notes.txt"))
      << "no index, no shard, no temporary; the others' files untouched";
  CKPT_ASSERT_OK_AND_ASSIGN(std::string notes, ReadFileToString(env_, Path("notes.txt")));
  EXPECT_EQ(notes, "mine");
}

TEST_P(DistributedTest, RanksThatDisagreeOnAVariableWriteNothing) {
  ThreadGroup group(3);
  std::vector<RankVars> vars;
  for (int r = 0; r < 3; ++r) vars.emplace_back(r, 3);
  Tensor other = Tensor::FromVector<double>({4}, {1, 2, 3, 4});
  vars[2].vars[1].tensor = &other;  // bias [4] on rank 2, [3] elsewhere
  DistributedSaveOptions options;
  options.env = env_;
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) {
    return DistributedSave(comm, Path("m"), vars[r].vars, options);
  });
  for (const Status& s : out) {
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "disagree on variable \"bias\""));
    EXPECT_THAT(s.message(), HasSubstr("rank 2"));
  }
  EXPECT_TRUE(ListDir(env_, dir_).empty());
}

TEST_P(DistributedTest, DifferentPrefixesAreRefused) {
  ThreadGroup group(2);
  RankVars a(0, 2), b(1, 2);
  DistributedSaveOptions options;
  options.env = env_;
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) {
    return DistributedSave(comm, Path(r == 0 ? "a" : "b"), r == 0 ? a.vars : b.vars, options);
  });
  for (const Status& s : out) EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "different prefixes"));
  EXPECT_TRUE(ListDir(env_, dir_).empty());
}

TEST_P(DistributedTest, AMissingRankIsADeadlineNotAHang) {
  ThreadGroup group(3, std::chrono::milliseconds(200));
  std::vector<RankVars> vars;
  for (int r = 0; r < 3; ++r) vars.emplace_back(r, 3);
  DistributedSaveOptions options;
  options.env = env_;
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) {
    if (r == 2) return Status::OK();  // never joins
    return DistributedSave(comm, Path("m"), vars[r].vars, options);
  });
  EXPECT_THAT(out[0], StatusIs(StatusCode::kDeadlineExceeded, "rank 2"));
  EXPECT_EQ(out[1].code(), StatusCode::kDeadlineExceeded) << out[1];
  EXPECT_TRUE(ListDir(env_, dir_).empty());
}

// The Saver returns the communicator's DeadlineExceeded naming whom it waited
// for, not the Aborted of the communicator it broke.
TEST_P(DistributedTest, ASaverWithAMissingRankReturnsTheDeadline) {
  ThreadGroup group(3, std::chrono::milliseconds(200));
  std::vector<RankVars> vars;
  for (int r = 0; r < 3; ++r) vars.emplace_back(r, 3);
  SaverOptions options;
  options.env = env_;
  const std::string save_path = Path("model.ckpt");
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) -> Status {
    CKPT_ASSIGN_OR_RETURN(auto saver, DistributedSaver::Create(&comm, vars[r].vars, options));
    if (r == 2) return Status::OK();  // never joins the save
    SaveArgs args;
    args.global_step = 1;
    return saver->Save(save_path, args).status();
  });
  CKPT_EXPECT_OK(out[2]);
  EXPECT_THAT(out[0], StatusIs(StatusCode::kDeadlineExceeded, "rank 2"));
  EXPECT_EQ(out[1].code(), StatusCode::kDeadlineExceeded) << out[1];
  EXPECT_FALSE(env_->FileExists(MetaFilename(save_path + "-1")));
  EXPECT_FALSE(env_->FileExists(Path("checkpoint")));
}

// Rank 0 commits the index but tells the others too late: they return
// DeadlineExceeded but must not delete their shards, or the committed
// checkpoint would lose its data.
class SlowIndexEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  Status RenameFile(const std::string& from, const std::string& to) override {
    if (to.size() > 6 && to.compare(to.size() - 6, 6, ".index") == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
    }
    return ForwardingEnv::RenameFile(from, to);
  }
};

TEST_P(DistributedTest, ALateOutcomeKeepsTheShardsOfACommittedCheckpoint) {
  ThreadGroup group(2, std::chrono::milliseconds(200));
  std::vector<RankVars> vars;
  for (int r = 0; r < 2; ++r) vars.emplace_back(r, 2);
  SlowIndexEnv slow(env_);
  const std::string prefix = Path("late");
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) {
    DistributedSaveOptions options;
    options.env = r == 0 ? static_cast<Env*>(&slow) : env_;
    return DistributedSave(comm, prefix, vars[r].vars, options);
  });
  EXPECT_EQ(out[1].code(), StatusCode::kDeadlineExceeded) << out[1];
  // Rank 0 committed: the checkpoint is whole.
  ASSERT_TRUE(env_->FileExists(MetaFilename(prefix)));
  ExpectCheckpoint(prefix, 2);
}

TEST_P(DistributedTest, AResaveReplacesTheCheckpoint) {
  const std::string prefix = Path("same");
  for (const Status& s : SaveAll(2, prefix)) CKPT_ASSERT_OK(s);
  ThreadGroup group(2);
  std::vector<RankVars> vars;
  vars.emplace_back(0, 2, 10.f);
  vars.emplace_back(1, 2, 11.f);
  DistributedSaveOptions options;
  options.env = env_;
  for (const Status& s : group.Run<Status>([&](int r, Communicator& comm) {
         return DistributedSave(comm, prefix, vars[r].vars, options);
       })) {
    CKPT_ASSERT_OK(s);
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, Open(prefix));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor w1, reader->GetTensor("w1"));
  EXPECT_EQ(w1.flat<float>()[0], 11.f);
}

// DistributedSaver: numbered saves, the chief's state file and retention.
TEST_P(DistributedTest, SaverKeepsTheStateFileAndRetentionOnTheChief) {
  ThreadGroup group(3);
  std::vector<RankVars> vars;
  for (int r = 0; r < 3; ++r) vars.emplace_back(r, 3);
  SaverOptions options;
  options.env = env_;
  options.max_to_keep = 2;
  const std::string save_path = Path("model.ckpt");
  std::vector<std::string> last = group.Run<std::string>([&](int r, Communicator& comm) {
    auto saver = DistributedSaver::Create(&comm, vars[r].vars, options);
    if (!saver.ok()) return saver.status().ToString();
    for (int step = 1; step <= 3; ++step) {
      SaveArgs args;
      args.global_step = step;
      Result<std::string> saved = (*saver)->Save(save_path, args);
      if (!saved.ok()) return saved.status().ToString();
      if (*saved != save_path + "-" + std::to_string(step)) return "wrong prefix " + *saved;
    }
    std::string list;
    for (const std::string& p : (*saver)->last_checkpoints()) list += p + ";";
    return list;
  });
  EXPECT_EQ(last[0], save_path + "-2;" + save_path + "-3;");
  EXPECT_EQ(last[1], "");
  EXPECT_EQ(last[2], "");
  CKPT_ASSERT_OK_AND_ASSIGN(std::string latest, LatestCheckpoint(env_, dir_));
  EXPECT_EQ(latest, save_path + "-3");
  for (const std::string& name : ListDir(env_, dir_)) {
    EXPECT_EQ(name.find("model.ckpt-1."), std::string::npos) << "not deleted: " << name;
  }
  EXPECT_TRUE(env_->FileExists(DataFilename(save_path + "-2", 2, 3)));
  ExpectCheckpoint(save_path + "-3", 3);
}

// Restore at 1, 2 and 4 ranks, each with its own partitioning of emb.
TEST_P(DistributedTest, RestoresAtAnotherNumberOfRanks) {
  const std::string prefix = Path("model.ckpt-5");
  for (const Status& s : SaveAll(3, prefix)) CKPT_ASSERT_OK(s);
  for (int ranks : {1, 2, 4}) {
    ThreadGroup group(ranks);
    std::vector<std::unique_ptr<Tensor>> keep;
    std::vector<VarList> vars(ranks);
    for (int r = 0; r < ranks; ++r) {
      const auto [first, last] = Rows(r, ranks);
      keep.push_back(std::make_unique<Tensor>(
          Tensor::FromVector<float>({last - first, 4}, std::vector<float>((last - first) * 4, -1))));
      SaveableTensor emb;
      emb.name = "emb";
      emb.tensor = keep.back().get();
      emb.full_shape = TensorShape{10, 4};
      emb.slice = TensorSlice::Parse(std::to_string(first) + "," + std::to_string(last - first) +
                                     ":-")
                      .value();
      vars[r].push_back(emb);
      keep.push_back(std::make_unique<Tensor>(Tensor::FromVector<double>({3}, {0, 0, 0})));
      vars[r].push_back({"bias", keep.back().get(), std::nullopt, {}, ""});
    }
    SaverOptions options;
    options.env = env_;
    for (const Status& s : group.Run<Status>([&](int r, Communicator& comm) {
           auto saver = DistributedSaver::Create(&comm, vars[r], options);
           if (!saver.ok()) return saver.status();
           return (*saver)->Restore(prefix);
         })) {
      ASSERT_TRUE(s.ok()) << s << " at " << ranks << " ranks";
    }
    for (int r = 0; r < ranks; ++r) {
      const auto [first, last] = Rows(r, ranks);
      const Tensor& t = *vars[r][0].tensor;
      EXPECT_EQ(std::vector<float>(t.flat<float>(), t.flat<float>() + t.num_elements()),
                EmbRows(first, last))
          << ranks << " ranks, rank " << r;
      EXPECT_EQ(vars[r][1].tensor->flat<double>()[2], 3.5);
    }
  }
}

TEST_P(DistributedTest, ARankThatCannotRestoreStopsEveryRank) {
  const std::string prefix = Path("model.ckpt-5");
  for (const Status& s : SaveAll(3, prefix)) CKPT_ASSERT_OK(s);
  ThreadGroup group(3);
  std::vector<RankVars> vars;
  for (int r = 0; r < 3; ++r) vars.emplace_back(r, 3, 100.f);
  Tensor wrong = Tensor::FromVector<float>({3}, {100, 100, 100});  // w1 is [2, 2]
  vars[1].vars[2].tensor = &wrong;
  SaverOptions options;
  options.env = env_;
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) {
    auto saver = DistributedSaver::Create(&comm, vars[r].vars, options);
    if (!saver.ok()) return saver.status();
    return (*saver)->Restore(prefix);
  });
  EXPECT_THAT(out[1], StatusIs(StatusCode::kInvalidArgument, "tensor_name = w1"));
  for (int r : {0, 2}) EXPECT_THAT(out[r], StatusIs(StatusCode::kAborted, "rank 1 of 3")) << r;
  // Nothing changed anywhere: the w tensors still hold 100.
  for (int r : {0, 2}) EXPECT_EQ(vars[r].vars[2].tensor->flat<float>()[0], 100.f) << r;
}

TEST_P(DistributedTest, TheChiefsEarlyFailureReachesEveryRankAtOnce) {
  // latest_filename with '/' is refused by every rank's prefix check; a bad
  // save_path parent is refused by the chief's Saver only (the others
  // compute a prefix happily): both must end every rank's Save with an error,
  // quickly (no rank waits for a deadline: the group's is 10 s).
  ThreadGroup group(3);
  std::vector<RankVars> vars;
  for (int r = 0; r < 3; ++r) vars.emplace_back(r, 3);
  SaverOptions options;
  options.env = env_;
  const auto start = std::chrono::steady_clock::now();
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) {
    auto saver = DistributedSaver::Create(&comm, vars[r].vars, options);
    if (!saver.ok()) return saver.status();
    return (*saver)->Save(Path("no/such/dir/model")).status();
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_THAT(out[0], StatusIs(StatusCode::kInvalidArgument, "doesn't exist"));
  for (int r : {1, 2}) EXPECT_THAT(out[r], StatusIs(StatusCode::kAborted, "rank 0 of 3")) << r;
  EXPECT_TRUE(ListDir(env_, dir_).empty());
}

// Counts the opens (NewRandomAccessFile, NewMappedFile) of each path, and
// refuses to open one path if told to.
class CountingEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    CKPT_RETURN_IF_ERROR(Count(path));
    return ForwardingEnv::NewRandomAccessFile(path);
  }
  Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(const std::string& path) override {
    CKPT_RETURN_IF_ERROR(Count(path));
    return ForwardingEnv::NewMappedFile(path);
  }
  void Refuse(const std::string& path) { refused_ = path; }
  int opens(const std::string& path) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = opens_.find(path);
    return it == opens_.end() ? 0 : it->second;
  }
  // Opens of paths that start with `prefix`.
  int opens_under(const std::string& prefix) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& [path, count] : opens_) n += path.rfind(prefix, 0) == 0 ? count : 0;
    return n;
  }

 private:
  Status Count(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    ++opens_[path];
    if (path == refused_) return PermissionDeniedError("Could not open '" + path + "': refused");
    return Status::OK();
  }

  mutable std::mutex mu_;
  std::map<std::string, int> opens_;
  std::string refused_;
};

using CountingEnvs = std::vector<std::unique_ptr<CountingEnv>>;

CountingEnvs MakeCountingEnvs(Env* env, int ranks) {
  CountingEnvs out;
  for (int r = 0; r < ranks; ++r) out.push_back(std::make_unique<CountingEnv>(env));
  return out;
}

// Restores with one CountingEnv per rank (envs[r]); returns every rank's
// status.
std::vector<Status> RestoreAll(ThreadGroup& group, const CountingEnvs& envs,
                               const std::vector<VarList>& vars, const std::string& save_path) {
  return group.Run<Status>([&](int r, Communicator& comm) {
    SaverOptions options;
    options.env = envs[r].get();
    auto saver = DistributedSaver::Create(&comm, vars[r], options);
    if (!saver.ok()) return saver.status();
    return (*saver)->Restore(save_path);
  });
}

// The tensors' bytes, to compare bit for bit.
std::string Bytes(const Tensor& t) { return std::string(t.data(), t.byte_size());
}

// Issue 14: the index is read once, by rank 0, and broadcast; every rank
// still restores its whole and sliced variables bit for bit.
TEST_P(DistributedTest, OnlyRankZeroOpensTheIndex) {
  const std::string prefix = Path("model.ckpt-5");
  for (const Status& s : SaveAll(3, prefix)) CKPT_ASSERT_OK(s);
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, Open(prefix));
  for (int ranks = 1; ranks <= 4; ++ranks) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    ThreadGroup group(ranks);
    CountingEnvs envs = MakeCountingEnvs(env_, ranks);
    std::vector<RankVars> mine;
    std::vector<VarList> vars;
    for (int r = 0; r < ranks; ++r) {
      // Rank r's rows of emb, bias, and w<r % 3>, all -1 before the restore.
      mine.emplace_back(r, ranks, 0.f);
      VarList v = mine.back().vars;
      v.resize(3);
      v[2].name = "w" + std::to_string(r % 3);
      for (const SaveableTensor& t : v) {
        std::memset(t.tensor->mutable_data(), 0xff, t.tensor->byte_size());
      }
      vars.push_back(v);
    }
    for (const Status& s : RestoreAll(group, envs, vars, prefix)) CKPT_ASSERT_OK(s);
    for (int r = 0; r < ranks; ++r) {
      EXPECT_EQ(envs[r]->opens(MetaFilename(prefix)), r == 0 ? 1 : 0) << "rank " << r;
      EXPECT_GT(envs[r]->opens_under(prefix + ".data-"), 0) << "rank " << r << " read its data";
      const auto [first, last] = Rows(r, ranks);
      CKPT_ASSERT_OK_AND_ASSIGN(Tensor emb, reader->GetTensor("emb"));
      EXPECT_EQ(Bytes(*vars[r][0].tensor), Bytes(ExtractSlice(emb, vars[r][0].slice)))
          << "rank " << r << ": rows " << first << ".." << last;
      for (int i : {1, 2}) {
        CKPT_ASSERT_OK_AND_ASSIGN(Tensor stored, reader->GetTensor(vars[r][i].name));
        EXPECT_EQ(Bytes(*vars[r][i].tensor), Bytes(stored)) << "rank " << r << " " << vars[r][i].name;
      }
    }
  }
}

// What a single-process Saver::Restore of `vars` from `save_path` returns.
Status SaverRestoreError(Env* env, const VarList& vars, const std::string& save_path) {
  SaverOptions options;
  options.env = env;
  auto saver = Saver::Create(vars, options);
  if (!saver.ok()) return saver.status();
  return (*saver)->Restore(save_path);
}

// Three ranks' RankVars (w as 100) as VarLists, and the same values again to
// compare with after a failed restore.
struct ThreeRanks {
  std::vector<RankVars> mine;
  std::vector<VarList> vars;
  ThreeRanks() {
    for (int r = 0; r < 3; ++r) {
      mine.emplace_back(r, 3, 100.f);
      vars.push_back(mine.back().vars);
    }
  }
  void ExpectUnchanged() const {
    for (int r = 0; r < 3; ++r) {
      RankVars fresh(r, 3, 100.f);
      for (size_t i = 0; i < vars[r].size(); ++i) {
        EXPECT_TRUE(vars[r][i].tensor->Equals(*fresh.vars[i].tensor))
            << "rank " << r << " changed " << vars[r][i].name;
      }
    }
  }
};

TEST_P(DistributedTest, AMissingIndexGivesEveryRankTheSaversError) {
  ThreeRanks three;
  const std::string prefix = Path("model.ckpt-9");
  const Status expected = SaverRestoreError(env_, three.vars[0], prefix);
  ASSERT_EQ(expected.code(), StatusCode::kNotFound) << expected;
  ThreadGroup group(3);
  CountingEnvs envs = MakeCountingEnvs(env_, 3);
  std::vector<Status> out = RestoreAll(group, envs, three.vars, prefix);
  for (int r = 0; r < 3; ++r) EXPECT_EQ(out[r], expected) << "rank " << r << ": " << out[r];
  three.ExpectUnchanged();
}

TEST_P(DistributedTest, ACorruptIndexIsDetectedOnEveryRank) {
  const std::string prefix = Path("model.ckpt-5");
  for (const Status& s : SaveAll(3, prefix)) CKPT_ASSERT_OK(s);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string index, ReadFileToString(env_, MetaFilename(prefix)));
  index[20] ^= 0x40;  // inside the first block: its CRC32C no longer matches
  CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, MetaFilename(prefix), index));
  ThreeRanks three;
  const Status expected = SaverRestoreError(env_, three.vars[0], prefix);
  ASSERT_EQ(expected.code(), StatusCode::kDataLoss) << expected;
  ThreadGroup group(3);
  CountingEnvs envs = MakeCountingEnvs(env_, 3);
  std::vector<Status> out = RestoreAll(group, envs, three.vars, prefix);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(out[r], expected) << "rank " << r << ": " << out[r];
    // The other ranks found the damage in the bytes rank 0 sent them.
    EXPECT_EQ(envs[r]->opens(MetaFilename(prefix)), r == 0 ? 1 : 0) << "rank " << r;
  }
  three.ExpectUnchanged();
}

TEST_P(DistributedTest, AnIndexRankZeroCannotReadStopsEveryRank) {
  const std::string prefix = Path("model.ckpt-5");
  for (const Status& s : SaveAll(3, prefix)) CKPT_ASSERT_OK(s);
  ThreeRanks three;
  ThreadGroup group(3);
  CountingEnvs envs = MakeCountingEnvs(env_, 3);
  envs[0]->Refuse(MetaFilename(prefix));
  std::vector<Status> out = RestoreAll(group, envs, three.vars, prefix);
  EXPECT_THAT(out[0], StatusIs(StatusCode::kPermissionDenied, MetaFilename(prefix)));
  for (int r : {1, 2}) {
    EXPECT_THAT(out[r], StatusIs(StatusCode::kAborted, "rank 0 of 3 failed")) << r;
    EXPECT_THAT(out[r].message(), HasSubstr(MetaFilename(prefix)));
    EXPECT_EQ(envs[r]->opens(MetaFilename(prefix)), 1) << "rank " << r << " read it itself";
  }
  three.ExpectUnchanged();
}

// A V1 checkpoint has no index to share: every rank reads the file itself.
TEST_P(DistributedTest, AV1CheckpointIsReadByEveryRank) {
  const std::string v1 = Path("export-00000-of-00001");
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::string golden,
      ReadFileToString(Env::Posix(), ckpt::testing::TestDataPath(
                                         "serving/tensorflow_serving/session_bundle/testdata/"
                                         "half_plus_two/00000123/export-00000-of-00001")));
  CKPT_ASSERT_OK(WriteStringToFileAtomic(env_, v1, golden));
  ThreadGroup group(2);
  CountingEnvs envs = MakeCountingEnvs(env_, 2);
  Tensor a = Tensor::Scalar<float>(-1), b = Tensor::Scalar<float>(-1);
  std::vector<VarList> vars(2);
  vars[0].push_back({"a", &a, std::nullopt, {}, ""});
  vars[1].push_back({"b", &b, std::nullopt, {}, ""});
  for (const Status& s : RestoreAll(group, envs, vars, v1)) CKPT_ASSERT_OK(s);
  EXPECT_EQ(a.flat<float>()[0], 0.5f);
  EXPECT_EQ(b.flat<float>()[0], 2.0f);
  for (int r = 0; r < 2; ++r) EXPECT_GE(envs[r]->opens(v1), 1) << "rank " << r;
}

TEST_P(DistributedTest, ARestoreWithoutRankZeroIsADeadline) {
  const std::string prefix = Path("model.ckpt-5");
  for (const Status& s : SaveAll(3, prefix)) CKPT_ASSERT_OK(s);
  ThreeRanks three;
  ThreadGroup group(3, std::chrono::milliseconds(200));
  SaverOptions options;
  options.env = env_;
  std::vector<Status> out = group.Run<Status>([&](int r, Communicator& comm) -> Status {
    CKPT_ASSIGN_OR_RETURN(auto saver, DistributedSaver::Create(&comm, three.vars[r], options));
    if (r == 0) return Status::OK();  // never joins the restore
    return saver->Restore(prefix);
  });
  for (int r : {1, 2}) EXPECT_THAT(out[r], StatusIs(StatusCode::kDeadlineExceeded, "rank 0")) << r;
  three.ExpectUnchanged();
}

// The bundle layer under it: shard writers and the one index.
TEST_P(DistributedTest, ShardWritersAndTheirIndex) {
  const std::string prefix = Path("b");
  std::vector<std::string> entries;
  for (int shard = 0; shard < 2; ++shard) {
    BundleWriterOptions wo;
    wo.env = env_;
    wo.shard = shard;
    wo.num_shards = 2;
    CKPT_ASSERT_OK_AND_ASSIGN(auto writer, BundleWriter::Create(prefix, wo));
    CKPT_ASSERT_OK(writer->Add("t" + std::to_string(shard), Tensor::Scalar<int64_t>(shard + 40)));
    CKPT_ASSERT_OK(writer->Add("same", Tensor::Scalar<int64_t>(1)));
    if (shard == 0) {
      EXPECT_THAT(writer->Finish(), StatusIs(StatusCode::kFailedPrecondition, "FinishShard"));
      continue;
    }
    CKPT_ASSERT_OK_AND_ASSIGN(std::string e, writer->FinishShard());
    entries.push_back(e);
  }
  EXPECT_FALSE(env_->FileExists(MetaFilename(prefix))) << "a shard writer writes no index";
  // Shard 0's writer was finished wrongly (and removed its file); write it again without "same".
  BundleWriterOptions wo;
  wo.env = env_;
  wo.num_shards = 2;
  CKPT_ASSERT_OK_AND_ASSIGN(auto writer, BundleWriter::Create(prefix, wo));
  CKPT_ASSERT_OK(writer->Add("t0", Tensor::Scalar<int64_t>(40)));
  CKPT_ASSERT_OK(writer->Add("same", Tensor::Scalar<int64_t>(1)));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string e0, writer->FinishShard());
  entries.insert(entries.begin(), e0);
  EXPECT_THAT(WriteBundleIndex(env_, prefix, 2, entries),
              StatusIs(StatusCode::kInvalidArgument, "Duplicate tensor keyed by same"));
  EXPECT_THAT(WriteBundleIndex(env_, prefix, 2, {entries[0], entries[1].substr(0, 5)}),
              StatusIs(StatusCode::kDataLoss, "truncated"));
  EXPECT_THAT(WriteBundleIndex(env_, prefix, 3, entries),
              StatusIs(StatusCode::kInvalidArgument, "3 shards"));
  EXPECT_FALSE(env_->FileExists(MetaFilename(prefix)));
  EXPECT_THAT(BundleWriter::Create(prefix, [&] {
                BundleWriterOptions bad;
                bad.env = env_;
                bad.shard = 2;
                bad.num_shards = 2;
                return bad;
              }()).status(),
              StatusIs(StatusCode::kInvalidArgument, "shard < num_shards"));
}

INSTANTIATE_TEST_SUITE_P(Envs, DistributedTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return ckpt::testing::EnvKindName(info.param); });

TEST(LocalCommunicatorTest, IsAGroupOfOne) {
  auto comm = NewLocalCommunicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  CKPT_ASSERT_OK_AND_ASSIGN(auto all, comm->AllGather("x"));
  EXPECT_THAT(all, ElementsAre("x"));
  EXPECT_THAT(comm->Gather("x", 1).status(), StatusIs(StatusCode::kInvalidArgument, "root 1"));
  CKPT_EXPECT_OK(comm->Barrier());
}

}  // namespace
}  // namespace ckpt
