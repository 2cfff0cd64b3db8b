// Sharded saves writing their per-device bundles concurrently
// (SaverOptions::shard_write_threads): the files are byte for byte those of
// the sequential path, shards really are written at the same time, a failing
// shard publishes nothing and leaves nothing behind, the error returned is
// the lowest-numbered failing shard's whatever the timing, and the result
// restores. Every test runs on the real file system and on MemEnv.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/saver.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Device(int d) { return "/job:worker/replica:0/task:0/device:CPU:" + std::to_string(d); }

// Variables spread over `devices` devices, with awkward shards: one large
// tensor (checksummed in pieces by the writer's helper), a partitioned
// variable whose slices live on different devices, and, with enough devices,
// a device holding only a zero-element tensor and one holding only strings.
struct Workload {
  std::vector<std::unique_ptr<Tensor>> tensors;
  VarList vars;

  Tensor* Add(DataType dtype, const TensorShape& shape) {
    tensors.push_back(std::make_unique<Tensor>(
        MakeTestTensor(dtype, shape, static_cast<uint32_t>(tensors.size() + 1))));
    return tensors.back().get();
  }

  explicit Workload(int devices) {
    auto device = [&](int d) { return Device(d % devices); };
    const int plain = devices >= 3 ? devices - 2 : devices;  // devices with ordinary tensors
    for (int d = 0; d < plain; ++d) {
      const std::string v = "layer" + std::to_string(d);
      vars.push_back({v + "/kernel", Add(DataType::kFloat, {17, 33}), std::nullopt, {}, device(d)});
      vars.push_back({v + "/bias", Add(DataType::kDouble, {5}), std::nullopt, {}, device(d)});
      vars.push_back({v + "/step", Add(DataType::kInt64, {}), std::nullopt, {}, device(d)});
    }
    // 3 MiB: more than two of the writer's 1 MiB checksum pieces.
    vars.push_back({"big", Add(DataType::kFloat, {768, 1024}), std::nullopt, {}, device(0)});
    // A partitioned variable, one slice per device (of the first four).
    const int parts = std::min(plain, 4);
    const int64_t rows = 8;
    for (int p = 0; p < parts; ++p) {
      const int64_t begin = rows * p / parts, end = rows * (p + 1) / parts;
      auto slice = TensorSlice::Parse(std::to_string(begin) + "," + std::to_string(end - begin) +
                                      ":-");
      vars.push_back({"emb", Add(DataType::kFloat, {end - begin, 3}), TensorShape{rows, 3},
                      slice.value(), device(p)});
    }
    if (devices >= 3) {
      // Empty-ish shards: nothing but an empty tensor; nothing but strings.
      vars.push_back({"zz_empty", Add(DataType::kFloat, {0, 7}), std::nullopt, {},
                      device(devices - 2)});
      vars.push_back({"zz_words", Add(DataType::kString, {6}), std::nullopt, {},
                      device(devices - 1)});
    }
  }
};

// Every file under `dir` and its subdirectories -> its bytes.
void SnapshotInto(Env* env, const std::string& dir, const std::string& rel,
                  std::map<std::string, std::string>* out) {
  for (const std::string& name : ListDir(env, dir)) {
    const std::string path = JoinPath(dir, name);
    if (env->IsDirectory(path)) {
      SnapshotInto(env, path, rel + name + "/", out);
      (*out)[rel + name + "/"] = "<dir>";
      continue;
    }
    auto bytes = ReadFileToString(env, path);
    (*out)[rel + name] = bytes.ok() ? *bytes : "<unreadable: " + bytes.status().ToString() + ">";
  }
}
std::map<std::string, std::string> Snapshot(Env* env, const std::string& dir) {
  std::map<std::string, std::string> out;
  SnapshotInto(env, dir, "", &out);
  return out;
}
std::vector<std::string> Names(const std::map<std::string, std::string>& snapshot) {
  std::vector<std::string> out;
  for (const auto& [name, bytes] : snapshot) out.push_back(name);
  return out;
}

// A wrapped writable file that can fail its appends or syncs and tells the
// Env when it is destroyed.
class ProbeEnv;
class ProbeFile : public WritableFile {
 public:
  ProbeFile(ProbeEnv* env, std::unique_ptr<WritableFile> f, std::string path, bool fail_append,
            bool fail_sync, bool counted)
      : env_(env), f_(std::move(f)), path_(std::move(path)), fail_append_(fail_append),
        fail_sync_(fail_sync), counted_(counted) {}
  ~ProbeFile() override;
  Status Append(std::string_view d) override {
    if (fail_append_) return IoError("injected append failure on " + path_);
    return f_->Append(d);
  }
  Status Flush() override { return f_->Flush(); }
  Status Sync() override {
    if (fail_sync_) return IoError("injected sync failure on " + path_);
    return f_->Sync();
  }
  Status Close() override { return f_->Close(); }
  uint64_t Tell() const override { return f_->Tell(); }

 private:
  ProbeEnv* env_;
  std::unique_ptr<WritableFile> f_;
  std::string path_;
  bool fail_append_, fail_sync_, counted_;
};

// Injects failures into the files of chosen shards (paths containing
// "/part-SSSSS-of-"), optionally after a delay, and counts how many shard
// data files are open at once. With rendezvous set, opening a shard's data
// file waits (once, up to 10 s) until another shard's data file is open too,
// so a save that never writes two shards at once is detected.
class ProbeEnv : public ForwardingEnv {
 public:
  enum class Fault { kNone, kCreate, kAppend, kSync };
  explicit ProbeEnv(Env* target) : ForwardingEnv(target) {}

  void FailShard(int shard, Fault fault, int delay_ms = 0) {
    faults_[ShardTag(shard)] = {fault, delay_ms};
  }
  void set_rendezvous(bool on) { rendezvous_ = on; }
  int max_open() const { return max_open_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    Fault fault = Fault::kNone;
    for (const auto& [tag, f] : faults_) {
      if (path.find(tag) == std::string::npos) continue;
      fault = f.first;
      if (f.second > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.second));
    }
    if (fault == Fault::kCreate) return IoError("injected create failure on " + path);
    const bool counted = path.find("/part-") != std::string::npos &&
                         path.find(".data-") != std::string::npos;
    CKPT_ASSIGN_OR_RETURN(auto f, target()->NewWritableFile(path));
    if (counted) Opened();
    return std::unique_ptr<WritableFile>(new ProbeFile(this, std::move(f), path,
                                                       fault == Fault::kAppend,
                                                       fault == Fault::kSync, counted));
  }

  void Closed() {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
  }

 private:
  static std::string ShardTag(int shard) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "/part-%05d-of-", shard);
    return buf;
  }
  void Opened() {
    std::unique_lock<std::mutex> lock(mu_);
    ++open_;
    max_open_ = std::max(max_open_.load(), open_);
    cv_.notify_all();
    if (rendezvous_) {
      cv_.wait_for(lock, std::chrono::seconds(10), [&] { return max_open_ >= 2; });
      rendezvous_ = false;  // waited once: enough to tell
    }
  }

  std::map<std::string, std::pair<Fault, int>> faults_;
  bool rendezvous_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
  std::atomic<int> max_open_{0};
};

ProbeFile::~ProbeFile() {
  if (counted_) env_->Closed();
}

class ShardedParallelTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  ShardedParallelTest() : t_(MakeTestEnv(GetParam())) {}

  std::string Path(const std::string& name) const { return JoinPath(t_.root, name); }

  // Options whose files do not depend on the directory (relative paths in
  // the state file), so two directories can be compared byte for byte.
  SaverOptions Options(Env* env, int threads) const {
    SaverOptions o;
    o.env = env;
    o.sharded = true;
    o.shard_write_threads = threads;
    o.save_relative_paths = true;
    o.log_saves = false;
    return o;
  }

  // Saves `w` into the (new) directory `dir` as model-<step>.
  Result<std::string> SaveInto(Env* env, const Workload& w, const std::string& dir, int threads,
                               int64_t step = 1) {
    CKPT_RETURN_IF_ERROR(t_.env->CreateDirs(Path(dir)));
    CKPT_ASSIGN_OR_RETURN(auto saver, Saver::Create(w.vars, Options(env, threads)));
    SaveArgs args;
    args.global_step = step;
    return saver->Save(JoinPath(Path(dir), "model"), args);
  }

  TestEnv t_;
};

TEST_P(ShardedParallelTest, SameBytesAsSequential) {
  for (int devices : {1, 3, 8}) {
    SCOPED_TRACE("devices=" + std::to_string(devices));
    Workload w(devices);
    const std::string base = "d" + std::to_string(devices);
    CKPT_ASSERT_OK(SaveInto(t_.env, w, base + "_seq", 1).status());
    auto sequential = Snapshot(t_.env, Path(base + "_seq"));
    // The checkpoint really has one data file per device, and nothing else
    // (no temporary directory) is left.
    std::vector<std::string> expected = {"checkpoint", "model-1.index"};
    for (int d = 0; d < devices; ++d) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "model-1.data-%05d-of-%05d", d, devices);
      expected.push_back(buf);
    }
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(Names(sequential), expected);
    // Auto (0), fewer threads than shards, more threads than shards; a few
    // rounds each, as a race would not show every time.
    for (int threads : {0, 2, 8}) {
      for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE("threads=" + std::to_string(threads) + " round=" + std::to_string(round));
        const std::string dir = base + "_t" + std::to_string(threads) + "_" + std::to_string(round);
        CKPT_ASSERT_OK(SaveInto(t_.env, w, dir, threads).status());
        auto parallel = Snapshot(t_.env, Path(dir));
        ASSERT_EQ(Names(parallel), Names(sequential));
        for (const auto& [name, bytes] : sequential) {
          EXPECT_TRUE(parallel[name] == bytes) << name << " differs (" << parallel[name].size()
                                               << " vs " << bytes.size() << " bytes)";
        }
      }
    }
  }
}

TEST_P(ShardedParallelTest, ShardsAreWrittenConcurrently) {
  Workload w(4);
  ProbeEnv probe(t_.env);
  probe.set_rendezvous(true);  // a shard's data file waits for another one
  CKPT_ASSERT_OK(SaveInto(&probe, w, "par", 2).status());
  EXPECT_GE(probe.max_open(), 2);
}

TEST_P(ShardedParallelTest, OneThreadWritesOneShardAtATime) {
  Workload w(4);
  ProbeEnv probe(t_.env);
  CKPT_ASSERT_OK(SaveInto(&probe, w, "seq", 1).status());
  EXPECT_EQ(probe.max_open(), 1);
}

TEST_P(ShardedParallelTest, NegativeThreadCountIsRejected) {
  Workload w(2);
  EXPECT_THAT(Saver::Create(w.vars, Options(t_.env, -1)),
              StatusIs(StatusCode::kInvalidArgument, "shard_write_threads must be >= 0"));
}

TEST_P(ShardedParallelTest, RestoresWhatItWrote) {
  Workload w(8);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, SaveInto(t_.env, w, "ckpt", 8));
  // Read back by the checkpoint reader (partitioned "emb" assembled).
  CheckpointReaderOptions ro;
  ro.env = t_.env;
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(prefix, ro));
  for (const SaveableTensor& v : w.vars) {
    if (v.full_shape) continue;
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->GetTensor(v.name));
    EXPECT_TRUE(got.Equals(*v.tensor)) << v.name;
  }
  // Restored in place into other values of every variable (slices too).
  Workload fresh(8);
  for (size_t i = 0; i < fresh.tensors.size(); ++i) {
    const Tensor& src = *w.tensors[i];
    *fresh.tensors[i] = MakeTestTensor(src.dtype(), src.shape(), 1000 + static_cast<uint32_t>(i));
  }
  for (size_t i = 0; i < fresh.vars.size(); ++i) {
    if (fresh.vars[i].tensor->num_elements() > 0) {
      ASSERT_FALSE(fresh.vars[i].tensor->Equals(*w.vars[i].tensor)) << w.vars[i].name;
    }
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(fresh.vars, Options(t_.env, 0)));
  CKPT_ASSERT_OK(saver->Restore(prefix));
  for (size_t i = 0; i < fresh.vars.size(); ++i) {
    if (fresh.vars[i].tensor->num_elements() > 0) {
      EXPECT_TRUE(fresh.vars[i].tensor->Equals(*w.vars[i].tensor)) << w.vars[i].name;
    }
  }
}

struct FaultCase {
  ProbeEnv::Fault fault;
  int shard;
  const char* name;
};

class ShardFaultTest
    : public ::testing::TestWithParam<std::tuple<EnvKind, FaultCase>> {
 protected:
  ShardFaultTest() : t_(MakeTestEnv(std::get<0>(GetParam()))) {}
  std::string Path(const std::string& name) const { return JoinPath(t_.root, name); }
  TestEnv t_;
};

TEST_P(ShardFaultTest, FailingShardPublishesNothingAndLeavesNothing) {
  const FaultCase fc = std::get<1>(GetParam());
  Workload w(4);
  SaverOptions o;
  o.env = t_.env;
  o.sharded = true;
  o.log_saves = false;
  // A good checkpoint first, with its state file.
  CKPT_ASSERT_OK_AND_ASSIGN(auto good, Saver::Create(w.vars, o));
  SaveArgs args;
  args.global_step = 1;
  CKPT_ASSERT_OK(good->Save(Path("model"), args).status());
  const auto before = Snapshot(t_.env, t_.root);
  ASSERT_EQ(before.count("model-1.index"), 1u);

  for (int threads : {4, 1}) {
    SCOPED_TRACE("threads=" + std::to_string(threads));
    ProbeEnv probe(t_.env);
    probe.FailShard(fc.shard, fc.fault);
    SaverOptions po = o;
    po.env = &probe;
    po.shard_write_threads = threads;
    CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(w.vars, po));
    args.global_step = 2;
    auto r = saver->Save(Path("model"), args);
    char tag[64];
    std::snprintf(tag, sizeof(tag), "Writing shard %d of 4", fc.shard);
    char file[64];
    std::snprintf(file, sizeof(file), "/part-%05d-of-00004", fc.shard);
    EXPECT_THAT(r, StatusIs(StatusCode::kIoError, tag));
    EXPECT_THAT(r.status().message(), HasSubstr(file));
    EXPECT_THAT(r.status().message(), HasSubstr("injected"));
    // Not published, no temporary file or directory, the previous checkpoint
    // and the state file untouched.
    const auto after = Snapshot(t_.env, t_.root);
    EXPECT_EQ(Names(after), Names(before));
    for (const auto& [name, bytes] : before) {
      EXPECT_TRUE(after.count(name) && after.at(name) == bytes) << name << " changed";
    }
    EXPECT_EQ(saver->last_checkpoints().size(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Faults, ShardFaultTest,
    ::testing::Combine(::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                       ::testing::Values(FaultCase{ProbeEnv::Fault::kCreate, 0, "Create0"},
                                         FaultCase{ProbeEnv::Fault::kCreate, 2, "Create2"},
                                         FaultCase{ProbeEnv::Fault::kAppend, 1, "Append1"},
                                         FaultCase{ProbeEnv::Fault::kAppend, 3, "Append3"},
                                         FaultCase{ProbeEnv::Fault::kSync, 2, "Sync2"})),
    [](const auto& info) {
      return testing::EnvKindName(std::get<0>(info.param)) + "_" + std::get<1>(info.param).name;
    });

TEST_P(ShardedParallelTest, LowestFailingShardIsReportedWhateverTheTiming) {
  Workload w(4);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round=" + std::to_string(round));
    ProbeEnv probe(t_.env);
    // Shard 1 fails late (after a delay), shard 3 at once: shard 3's error
    // comes first in time, shard 1's must be the one returned.
    probe.FailShard(1, ProbeEnv::Fault::kCreate, /*delay_ms=*/50);
    probe.FailShard(3, ProbeEnv::Fault::kCreate);
    const std::string dir = "r" + std::to_string(round);
    auto r = SaveInto(&probe, w, dir, 4);
    EXPECT_THAT(r, StatusIs(StatusCode::kIoError, "Writing shard 1 of 4"));
    EXPECT_THAT(r.status().message(), HasSubstr("/part-00001-of-00004"));
    EXPECT_THAT(r.status().message(), Not(HasSubstr("part-00003")));
    EXPECT_TRUE(ListDir(t_.env, Path(dir)).empty()) << "leftovers in " << dir;
  }
}

INSTANTIATE_TEST_SUITE_P(Envs, ShardedParallelTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

}  // namespace
}  // namespace ckpt
