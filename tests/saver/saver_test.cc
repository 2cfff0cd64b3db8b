// Saver: naming, retention (max_to_keep, keep-every-N-hours), the state file,
// sharded and partitioned saves, recovery after a restart. Every test runs on
// the real file system and on MemEnv.
#include "ckpt/saver.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "testutil/fake_clock.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::ListDir;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Pair;

// An Env whose clock the test sets, starting at 0.
class ClockEnv : public ::ckpt::testing::FakeClockEnv {
 public:
  explicit ClockEnv(Env* target) : FakeClockEnv(target, 0) {}
};

class SaverTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  SaverTest() : t_(MakeTestEnv(GetParam())), clock_(t_.env) {}

  std::string Path(const std::string& name) const { return JoinPath(t_.root, name); }

  SaverOptions Options() {
    SaverOptions o;
    o.env = &clock_;
    o.meta_graph_writer = [this](const std::string& path) {
      meta_calls_.push_back(path);
      return testing::WriteStringToFile(t_.env, path, "meta");
    };
    return o;
  }

  VarList Vars() {
    return VarListFromMap({{"w", &w_}, {"b", &b_}});
  }

  std::unique_ptr<Saver> MakeSaver(SaverOptions o) {
    auto r = Saver::Create(Vars(), std::move(o));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  std::vector<std::string> Files() { return ListDir(t_.env, t_.root); }

  // The files of a V2 checkpoint with meta: step -> sorted names.
  static std::vector<std::string> CkptFiles(const std::string& base, const std::vector<int>& steps,
                                            bool with_state = true) {
    std::vector<std::string> out;
    if (with_state) out.push_back("checkpoint");
    for (int s : steps) {
      std::string p = base + "-" + std::to_string(s);
      out.push_back(p + ".data-00000-of-00001");
      out.push_back(p + ".index");
      out.push_back(p + ".meta");
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  TestEnv t_;
  ClockEnv clock_;
  std::vector<std::string> meta_calls_;
  Tensor w_ = Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4});
  Tensor b_ = Tensor::FromVector<int64_t>({3}, {7, 8, 9});
};

TEST_P(SaverTest, CreateRejectsBadOptions) {
  SaverOptions o = Options();
  o.max_to_keep = -1;
  EXPECT_THAT(Saver::Create(Vars(), o), StatusIs(StatusCode::kInvalidArgument, "max_to_keep"));
  o = Options();
  for (double h : {0.0, -1.0, std::nan("")}) {
    o.keep_checkpoint_every_n_hours = h;
    EXPECT_THAT(Saver::Create(Vars(), o),
                StatusIs(StatusCode::kInvalidArgument, "keep_checkpoint_every_n_hours"));
  }
  o = Options();
  o.env = nullptr;
  EXPECT_THAT(Saver::Create(Vars(), o), StatusIs(StatusCode::kInvalidArgument, "env"));
}

TEST_P(SaverTest, CreateRejectsBadVariables) {
  EXPECT_THAT(Saver::Create({}, Options()),
              StatusIs(StatusCode::kInvalidArgument, "No variables to save"));
  VarList null_var = Vars();
  null_var[0].tensor = nullptr;
  EXPECT_THAT(Saver::Create(null_var, Options()),
              StatusIs(StatusCode::kInvalidArgument, "\"b\" has a null tensor"));
  VarList dup = Vars();
  dup.push_back(dup[0]);
  EXPECT_THAT(Saver::Create(dup, Options()),
              StatusIs(StatusCode::kInvalidArgument, "At least two variables have the same name: b"));
  VarList unnamed = Vars();
  unnamed[1].name = "";
  EXPECT_THAT(Saver::Create(unnamed, Options()),
              StatusIs(StatusCode::kInvalidArgument, "empty name"));

  // A partition whose tensor does not have its slice's shape.
  Tensor part = Tensor::FromVector<float>({2, 2}, {0, 0, 0, 0});
  SaveableTensor p{"p", &part, TensorShape{4, 2}, TensorSlice::Parse("0,3:-").value(), ""};
  EXPECT_THAT(Saver::Create({p}, Options()),
              StatusIs(StatusCode::kInvalidArgument, "has shape [3,2] but its tensor has shape [2,2]"));
  p.slice = TensorSlice::Parse("3,2:-").value();
  EXPECT_THAT(Saver::Create({p}, Options()), StatusIs(StatusCode::kInvalidArgument, "does not fit"));
  // Two partitions with the same slice.
  p.slice = TensorSlice::Parse("0,2:-").value();
  EXPECT_THAT(Saver::Create({p, p}, Options()),
              StatusIs(StatusCode::kInvalidArgument, "same name: p"));
  // Distinct slices share a name.
  SaveableTensor q = p;
  q.slice = TensorSlice::Parse("2,2:-").value();
  EXPECT_TRUE(Saver::Create({p, q}, Options()).ok());
}

// A variable in many partitions: each slice is checked against the others
// once (a set of slices), so a duplicate anywhere is still found.
TEST_P(SaverTest, CreateChecksManyPartitionsOfOneVariable) {
  const int kParts = 1000;
  std::vector<Tensor> parts;
  parts.reserve(kParts);
  VarList vars;
  for (int i = 0; i < kParts; ++i) {
    parts.push_back(Tensor::FromVector<float>({1, 2}, {float(i), float(-i)}));
    vars.push_back({"emb", &parts.back(), TensorShape{kParts, 2},
                    TensorSlice::Parse(std::to_string(i) + ",1:-").value(), ""});
  }
  CKPT_EXPECT_OK(Saver::Create(vars, Options()).status());
  VarList dup = vars;
  dup.push_back(vars[kParts / 2]);  // the same slice again, far from its twin
  EXPECT_THAT(Saver::Create(dup, Options()),
              StatusIs(StatusCode::kInvalidArgument, "same name: emb"));
}

TEST_P(SaverTest, NamesCheckpointsLikeTf) {
  auto saver = MakeSaver(Options());
  SaveArgs args;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p0, saver->Save(Path("model.ckpt"), args));
  EXPECT_EQ(p0, Path("model.ckpt"));
  args.global_step = 1000;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p1, saver->Save(Path("model.ckpt"), args));
  EXPECT_EQ(p1, Path("model.ckpt-1000"));
  args.global_step = -3;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p2, saver->Save(Path("model.ckpt"), args));
  EXPECT_EQ(p2, Path("model.ckpt--3"));
  EXPECT_THAT(Files(),
              ElementsAre("checkpoint", "model.ckpt--3.data-00000-of-00001", "model.ckpt--3.index",
                          "model.ckpt--3.meta", "model.ckpt-1000.data-00000-of-00001",
                          "model.ckpt-1000.index", "model.ckpt-1000.meta",
                          "model.ckpt.data-00000-of-00001", "model.ckpt.index", "model.ckpt.meta"));
  EXPECT_THAT(meta_calls_, ElementsAre(Path("model.ckpt.meta"), Path("model.ckpt-1000.meta"),
                                       Path("model.ckpt--3.meta")));
}

TEST_P(SaverTest, PadsStepNumberToEightDigits) {
  SaverOptions o = Options();
  o.pad_step_number = true;
  auto saver = MakeSaver(o);
  SaveArgs args;
  args.global_step = 1000;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p, saver->Save(Path("model"), args));
  EXPECT_EQ(p, Path("model-00001000"));
  args.global_step = 123456789;
  CKPT_ASSERT_OK_AND_ASSIGN(p, saver->Save(Path("model"), args));
  EXPECT_EQ(p, Path("model-123456789"));
  args.global_step = -5;
  CKPT_ASSERT_OK_AND_ASSIGN(p, saver->Save(Path("model"), args));
  EXPECT_EQ(p, Path("model--0000005"));  // Python's "{:08d}".format(-5)
}

TEST_P(SaverTest, MetaGraphOptions) {
  auto saver = MakeSaver(Options());
  SaveArgs args;
  args.global_step = 1;
  args.meta_graph_suffix = "pbmeta";
  CKPT_ASSERT_OK(saver->Save(Path("m"), args).status());
  args.global_step = 2;
  args.write_meta_graph = false;
  CKPT_ASSERT_OK(saver->Save(Path("m"), args).status());
  EXPECT_THAT(meta_calls_, ElementsAre(Path("m-1.pbmeta")));

  // No writer: no .meta even when asked.
  SaverOptions o = Options();
  o.meta_graph_writer = nullptr;
  auto bare = MakeSaver(o);
  args.write_meta_graph = true;
  args.global_step = 3;
  CKPT_ASSERT_OK(bare->Save(Path("m"), args).status());
  EXPECT_FALSE(t_.env->FileExists(Path("m-3.meta")));
  EXPECT_TRUE(t_.env->FileExists(Path("m-3.index")));
}

TEST(MetaGraphFilenameTest, StripsShardSuffix) {
  EXPECT_EQ(MetaGraphFilename("/a/model-1000"), "/a/model-1000.meta");
  EXPECT_EQ(MetaGraphFilename("model-00000-of-00002"), "model.meta");
  EXPECT_EQ(MetaGraphFilename(std::string("model-") + std::string(5, '?') + "-of-00002", "x"),
            "model.x");
  EXPECT_EQ(MetaGraphFilename("model-of-00002"), "model-of-00002.meta");
  EXPECT_EQ(MetaGraphFilename("m-1-of-2-3"), "m-1-of-2-3.meta");
}

TEST_P(SaverTest, RejectsBadLatestFilename) {
  auto saver = MakeSaver(Options());
  SaveArgs args;
  args.latest_filename = "sub/checkpoint";
  EXPECT_THAT(saver->Save(Path("model"), args),
              StatusIs(StatusCode::kInvalidArgument,
                       "'latest_filename' must not contain path components"));
  args.latest_filename = "checkpoint";
  EXPECT_THAT(saver->Save(Path("checkpoint"), args),
              StatusIs(StatusCode::kInvalidArgument,
                       "'latest_filename' collides with 'save_path': 'checkpoint' and '" +
                           Path("checkpoint") + "'"));
  // With a step the names differ, so it is allowed (as in TF).
  args.global_step = 1;
  CKPT_EXPECT_OK(saver->Save(Path("checkpoint"), args).status());
  EXPECT_TRUE(t_.env->FileExists(Path("checkpoint-1.index")));
  // Nothing else was written by the rejected calls.
  EXPECT_FALSE(t_.env->FileExists(Path("checkpoint.index")));
}

TEST_P(SaverTest, CustomLatestFilename) {
  auto saver = MakeSaver(Options());
  SaveArgs args;
  args.latest_filename = "my_state";
  args.global_step = 5;
  CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  EXPECT_FALSE(t_.env->FileExists(Path("checkpoint")));
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState st, GetCheckpointState(t_.env, t_.root, "my_state"));
  EXPECT_EQ(st.model_checkpoint_path, Path("model-5"));
}

TEST_P(SaverTest, MissingParentDirectory) {
  auto saver = MakeSaver(Options());
  const std::string deep = Path("no/such/model");
  EXPECT_THAT(saver->Save(deep),
              StatusIs(StatusCode::kInvalidArgument,
                       "Parent directory of " + deep + " doesn't exist, can't save."));
  EXPECT_FALSE(t_.env->IsDirectory(Path("no")));
  // One missing level is created, as TensorFlow's SaveV2 does.
  CKPT_ASSERT_OK(saver->Save(Path("new/model")).status());
  EXPECT_TRUE(t_.env->FileExists(Path("new/model.index")));
  EXPECT_TRUE(t_.env->FileExists(Path("new/checkpoint")));
  // A sharded save needs the directory.
  SaverOptions o = Options();
  o.sharded = true;
  auto sharded = MakeSaver(o);
  EXPECT_THAT(sharded->Save(Path("new2/model")),
              StatusIs(StatusCode::kInvalidArgument, "doesn't exist, can't save."));
}

TEST_P(SaverTest, StateFileAbsolutePaths) {
  auto saver = MakeSaver(Options());
  SaveArgs args;
  for (int step : {1, 2}) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  CKPT_ASSERT_OK_AND_ASSIGN(std::string text, ReadFileToString(t_.env, Path("checkpoint")));
  EXPECT_EQ(text, "model_checkpoint_path: \"" + Path("model-2") +
                      "\"\nall_model_checkpoint_paths: \"" + Path("model-1") +
                      "\"\nall_model_checkpoint_paths: \"" + Path("model-2") + "\"\n");
}

TEST_P(SaverTest, StateFileRelativePaths) {
  SaverOptions o = Options();
  o.save_relative_paths = true;
  auto saver = MakeSaver(o);
  SaveArgs args;
  for (int step : {1, 2}) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  CKPT_ASSERT_OK_AND_ASSIGN(std::string text, ReadFileToString(t_.env, Path("checkpoint")));
  EXPECT_EQ(text,
            "model_checkpoint_path: \"model-2\"\nall_model_checkpoint_paths: \"model-1\"\n"
            "all_model_checkpoint_paths: \"model-2\"\n");
  // Readers join them onto the directory.
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState st, GetCheckpointState(t_.env, t_.root));
  EXPECT_THAT(st.all_model_checkpoint_paths, ElementsAre(Path("model-1"), Path("model-2")));
  EXPECT_THAT(st.all_model_checkpoint_timestamps, IsEmpty());  // TF1 writes none
}

TEST_P(SaverTest, KeepsFiveByDefault) {
  auto saver = MakeSaver(Options());
  SaveArgs args;
  for (int step = 1; step <= 7; ++step) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {3, 4, 5, 6, 7})));
  EXPECT_THAT(saver->last_checkpoints(),
              ElementsAre(Path("model-3"), Path("model-4"), Path("model-5"), Path("model-6"),
                          Path("model-7")));
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState st, GetCheckpointState(t_.env, t_.root));
  EXPECT_EQ(st.model_checkpoint_path, Path("model-7"));
  EXPECT_EQ(st.all_model_checkpoint_paths, saver->last_checkpoints());
}

TEST_P(SaverTest, KeepsOne) {
  SaverOptions o = Options();
  o.max_to_keep = 1;
  auto saver = MakeSaver(o);
  SaveArgs args;
  for (int step : {10, 20, 30}) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
    EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {step})));
  }
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState st, GetCheckpointState(t_.env, t_.root));
  EXPECT_THAT(st.all_model_checkpoint_paths, ElementsAre(Path("model-30")));
}

TEST_P(SaverTest, MaxToKeepZeroKeepsAllAndListsOnlyLatest) {
  SaverOptions o = Options();
  o.max_to_keep = 0;
  auto saver = MakeSaver(o);
  SaveArgs args;
  for (int step = 1; step <= 7; ++step) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {1, 2, 3, 4, 5, 6, 7})));
  EXPECT_THAT(saver->last_checkpoints(), IsEmpty());
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState st, GetCheckpointState(t_.env, t_.root));
  EXPECT_EQ(st.model_checkpoint_path, Path("model-7"));
  EXPECT_THAT(st.all_model_checkpoint_paths, ElementsAre(Path("model-7")));
}

TEST_P(SaverTest, ResavingAPathMovesItToTheEnd) {
  SaverOptions o = Options();
  o.max_to_keep = 2;
  auto saver = MakeSaver(o);
  SaveArgs args;
  for (int step : {1, 2, 1}) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  EXPECT_THAT(saver->last_checkpoints(), ElementsAre(Path("model-2"), Path("model-1")));
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {1, 2})));
  args.global_step = 3;
  CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {1, 3})));
}

TEST_P(SaverTest, WriteStateFalseRecordsNothing) {
  auto saver = MakeSaver(Options());
  SaveArgs args;
  args.write_state = false;
  for (int step = 1; step <= 7; ++step) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {1, 2, 3, 4, 5, 6, 7}, false)));
  EXPECT_THAT(saver->last_checkpoints(), IsEmpty());
}

// keep_checkpoint_every_n_hours = 1 with the clock under control. Schedule
// starts at creation (t=0) + 3600; a checkpoint leaving the window is kept if
// it was saved after the schedule time, which then advances by an hour.
TEST_P(SaverTest, KeepsOneEveryNHours) {
  SaverOptions o = Options();
  o.max_to_keep = 2;
  o.keep_checkpoint_every_n_hours = 1;
  clock_.Set(0);
  auto saver = MakeSaver(o);
  SaveArgs args;
  for (int step = 1; step <= 10; ++step) {
    clock_.Set(step * 1000.0);
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  // 4 (4000 > 3600; next 7200) and 8 (8000 > 7200) are kept; 9, 10 are live.
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {4, 8, 9, 10})));
  EXPECT_THAT(saver->last_checkpoints_with_time(),
              ElementsAre(Pair(Path("model-9"), 9000.0), Pair(Path("model-10"), 10000.0)));
  CKPT_ASSERT_OK_AND_ASSIGN(CheckpointState st, GetCheckpointState(t_.env, t_.root));
  EXPECT_THAT(st.all_model_checkpoint_paths, ElementsAre(Path("model-9"), Path("model-10")));
}

TEST_P(SaverTest, NHoursScheduleStartsAtCreation) {
  SaverOptions o = Options();
  o.max_to_keep = 1;
  o.keep_checkpoint_every_n_hours = 1;
  clock_.Set(100000);  // created late: nothing saved before 103600 is kept
  auto saver = MakeSaver(o);
  SaveArgs args;
  for (int step = 1; step <= 3; ++step) {
    clock_.Set(100000 + step * 1200.0);  // 101200, 102400, 103600 (not > 103600)
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  clock_.Set(105000);
  args.global_step = 4;
  CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {4})));
}

TEST_P(SaverTest, SetLastCheckpointsWithTimeAdoptsAndExpires) {
  SaverOptions o = Options();
  o.max_to_keep = 2;
  o.keep_checkpoint_every_n_hours = 1;
  clock_.Set(0);
  auto first = MakeSaver(o);
  SaveArgs args;
  for (int step = 1; step <= 2; ++step) {
    clock_.Set(step * 100.0);
    args.global_step = step;
    CKPT_ASSERT_OK(first->Save(Path("model"), args).status());
  }
  // A new process: the old checkpoints are adopted with their times.
  auto second = MakeSaver(o);
  second->SetLastCheckpointsWithTime(first->last_checkpoints_with_time());
  EXPECT_THAT(second->last_checkpoints(), ElementsAre(Path("model-1"), Path("model-2")));
  clock_.Set(300);
  args.global_step = 3;
  CKPT_ASSERT_OK(second->Save(Path("model"), args).status());
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {2, 3})));
  // An adopted entry timestamped after the schedule is kept when it expires.
  second->SetLastCheckpointsWithTime(
      {{Path("model-2"), std::numeric_limits<double>::infinity()}, {Path("model-3"), 300}});
  args.global_step = 4;
  CKPT_ASSERT_OK(second->Save(Path("model"), args).status());
  EXPECT_THAT(Files(), ElementsAreArray(CkptFiles("model", {2, 3, 4})));
}

TEST_P(SaverTest, RecoverLastCheckpoints) {
  auto saver = MakeSaver(Options());
  SaveArgs args;
  for (int step = 1; step <= 3; ++step) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  CKPT_ASSERT_OK(RemoveCheckpoint(t_.env, Path("model-2")));
  auto restarted = MakeSaver(Options());
  CKPT_ASSERT_OK(restarted->RecoverLastCheckpoints(
      {Path("model-1"), Path("model-2"), Path("model-3"), Path("never")}));
  auto got = restarted->last_checkpoints_with_time();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, Path("model-1"));
  EXPECT_EQ(got[1].first, Path("model-3"));
  for (int i = 0; i < 2; ++i) {
    CKPT_ASSERT_OK_AND_ASSIGN(double mtime,
                              t_.env->GetModificationTime(got[i].first + ".index"));
    EXPECT_EQ(got[i].second, mtime);
  }
}

TEST_P(SaverTest, RecoverV1CheckpointByPattern) {
  // A V1 "checkpoint" is the file(s) matching the path.
  CKPT_ASSERT_OK(testing::WriteStringToFile(t_.env, Path("old-00000-of-00001"), "x"));
  auto saver = MakeSaver(Options());
  CKPT_ASSERT_OK(saver->RecoverLastCheckpoints(
      {Path("old-" + std::string(5, '?') + "-of-00001"), Path("old-00000-of-00001"),
       Path("old")}));
  EXPECT_EQ(saver->last_checkpoints().size(), 2u);
}

TEST_P(SaverTest, DeletesOnlyItsOwnFiles) {
  SaverOptions o = Options();
  o.max_to_keep = 1;
  auto saver = MakeSaver(o);
  const std::vector<std::string> foreign = {
      "model-1.data-00000-of-00001.bak", "model-1.data-0000-of-00001", "model-1.index.old",
      "model-1.meta~", "model-1", "model-1.txt", "model-1x.index", "model-10.meta",
      "model-1.data-00000-of-00001-copy"};
  for (const std::string& f : foreign) {
    CKPT_ASSERT_OK(testing::WriteStringToFile(t_.env, Path(f), "mine"));
  }
  SaveArgs args;
  for (int step : {1, 10}) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  // model-1 is gone (index, data, meta); everything else is there.
  std::vector<std::string> expected = CkptFiles("model", {10});
  expected.insert(expected.end(), foreign.begin(), foreign.end());
  std::sort(expected.begin(), expected.end());
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  EXPECT_THAT(Files(), ElementsAreArray(expected));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string kept, ReadFileToString(t_.env, Path("model-1")));
  EXPECT_EQ(kept, "mine");
}

TEST_P(SaverTest, RemoveCheckpointDeletesEveryDataShard) {
  SaverOptions o = Options();
  o.sharded = true;
  auto saver = MakeSaver(o);
  (void)saver;
  for (const std::string& f : {"p.index", "p.meta", "p.data-00000-of-00003", "p.data-00001-of-00003",
                               "p.data-00002-of-00003", "p.data-00000-of-00001", "q.index"}) {
    CKPT_ASSERT_OK(testing::WriteStringToFile(t_.env, Path(f), "x"));
  }
  CKPT_ASSERT_OK(RemoveCheckpoint(t_.env, Path("p")));
  EXPECT_THAT(Files(), ElementsAre("q.index"));
  // Nothing there: fine.
  CKPT_EXPECT_OK(RemoveCheckpoint(t_.env, Path("p")));
}

TEST_P(SaverTest, ShardedSaveOneBundlePerDevice) {
  Tensor a = Tensor::FromVector<float>({2}, {1, 2});
  Tensor b = Tensor::FromVector<int32_t>({3}, {3, 4, 5});
  Tensor c = Tensor::FromVector<double>({1}, {6});
  VarList vars = {{"a", &a, std::nullopt, {}, "/job:w/device:CPU:1"},
                  {"b", &b, std::nullopt, {}, "/job:w/device:CPU:0"},
                  {"c", &c, std::nullopt, {}, "/job:w/device:CPU:1"}};
  SaverOptions o = Options();
  o.sharded = true;
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(vars, o));
  SaveArgs args;
  args.global_step = 7;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, saver->Save(Path("model"), args));
  EXPECT_EQ(prefix, Path("model-7"));
  // No temporary directory is left.
  EXPECT_THAT(Files(), ElementsAre("checkpoint", "model-7.data-00000-of-00002",
                                   "model-7.data-00001-of-00002", "model-7.index", "model-7.meta"));
  BundleReaderOptions ro;
  ro.env = t_.env;
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, BundleReader::Open(prefix, ro));
  EXPECT_EQ(reader->num_shards(), 2);
  // Devices sorted: CPU:0 (b) is shard 0, CPU:1 (a, c) shard 1.
  std::map<std::string, int> shard_of;
  for (const BundleEntry& e : reader->entries()) shard_of[e.key] = e.shard_id;
  EXPECT_EQ(shard_of["b"], 0);
  EXPECT_EQ(shard_of["a"], 1);
  EXPECT_EQ(shard_of["c"], 1);
  for (const auto& v : vars) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor got, reader->Read(v.name));
    EXPECT_TRUE(got.Equals(*v.tensor)) << v.name;
  }
  CKPT_ASSERT_OK_AND_ASSIGN(std::string meta_state, ReadFileToString(t_.env, Path("checkpoint")));
  EXPECT_NE(meta_state.find(Path("model-7")), std::string::npos);
}

TEST_P(SaverTest, ShardedRetentionDeletesAllShards) {
  Tensor a = Tensor::FromVector<float>({2}, {1, 2});
  Tensor b = Tensor::FromVector<int32_t>({3}, {3, 4, 5});
  VarList vars = {{"a", &a, std::nullopt, {}, "d1"}, {"b", &b, std::nullopt, {}, "d0"}};
  SaverOptions o = Options();
  o.sharded = true;
  o.max_to_keep = 1;
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(vars, o));
  SaveArgs args;
  for (int step : {1, 2}) {
    args.global_step = step;
    CKPT_ASSERT_OK(saver->Save(Path("model"), args).status());
  }
  EXPECT_THAT(Files(), ElementsAre("checkpoint", "model-2.data-00000-of-00002",
                                   "model-2.data-00001-of-00002", "model-2.index", "model-2.meta"));
}

TEST_P(SaverTest, PartitionedVariableSavesUnderFullName) {
  Tensor top = Tensor::FromVector<float>({1, 3}, {1, 2, 3});
  Tensor bottom = Tensor::FromVector<float>({2, 3}, {4, 5, 6, 7, 8, 9});
  VarList vars = {{"emb", &top, TensorShape{3, 3}, TensorSlice::Parse("0,1:-").value(), ""},
                  {"emb", &bottom, TensorShape{3, 3}, TensorSlice::Parse("1,2:-").value(), ""}};
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(vars, Options()));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, saver->Save(Path("model")));
  CheckpointReaderOptions ro;
  ro.env = t_.env;
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, CheckpointReader::Open(prefix, ro));
  ASSERT_EQ(reader->variables().size(), 1u);
  EXPECT_EQ(reader->variables()[0].name, "emb");
  EXPECT_EQ(reader->variables()[0].shape, (TensorShape{3, 3}));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor full, reader->GetTensor("emb"));
  EXPECT_TRUE(full.Equals(Tensor::FromVector<float>({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})));
}

TEST_P(SaverTest, WritesTensorsSortedByName) {
  Tensor z = Tensor::FromVector<uint8_t>({1}, {1});
  Tensor a = Tensor::FromVector<uint8_t>({1}, {2});
  VarList vars = {{"z", &z, std::nullopt, {}, ""}, {"a", &a, std::nullopt, {}, ""}};
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(vars, Options()));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, saver->Save(Path("model")));
  BundleReaderOptions ro;
  ro.env = t_.env;
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, BundleReader::Open(prefix, ro));
  std::map<std::string, int64_t> offset;
  for (const BundleEntry& e : reader->entries()) offset[e.key] = e.offset;
  EXPECT_EQ(offset["a"], 0);
  EXPECT_EQ(offset["z"], 1);
}

INSTANTIATE_TEST_SUITE_P(Envs, SaverTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

}  // namespace
}  // namespace ckpt
