// WarmStart and InitFromCheckpoint: variable selection, renames, TF's error
// texts and log lines, all-or-nothing loading, partitioned variables, and a
// DnnClassifierModel warm-started from another one.
#include "ckpt/warm_start.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/dnn_classifier.h"
#include "ckpt/filenames.h"
#include "ckpt/logging.h"
#include "ckpt/saver.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::LogCapture;
using ::ckpt::testing::MakeTestEnv;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestEnv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Tensor Floats(TensorShape shape, float start) {
  std::vector<float> v(static_cast<size_t>(shape.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<float>(i);
  return Tensor::FromVector<float>(std::move(shape), v);
}

// A small "model": two trainable weights, an optimizer slot, a step.
struct SmallModel {
  Tensor kernel = Floats({2, 3}, 0.5f);
  Tensor bias = Floats({3}, -1.0f);
  Tensor slot = Floats({2, 3}, 0.1f);
  Tensor step = Tensor::Scalar<int64_t>(0);

  VarList Vars(const std::string& scope = "dense") {
    return VarListFromMap({{scope + "/kernel", &kernel},
                           {scope + "/bias", &bias},
                           {scope + "/kernel/Adagrad", &slot},
                           {"global_step", &step}});
  }
  std::vector<Tensor> Snapshot() const {
    return {kernel.Copy(), bias.Copy(), slot.Copy(), step.Copy()};
  }
  bool Equals(const std::vector<Tensor>& s) const {
    return kernel.Equals(s[0]) && bias.Equals(s[1]) && slot.Equals(s[2]) && step.Equals(s[3]);
  }
};

const std::vector<std::string> kTrainable = {"dense/kernel", "dense/bias"};

class WarmStartTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  WarmStartTest() : t_(MakeTestEnv(GetParam())) {}

  std::string Path(const std::string& name) const { return JoinPath(t_.root, name); }

  // Saves `vars` at exactly `path` (plus "-<step>" if given); returns the
  // prefix.
  std::string Save(const VarList& vars, const std::string& path,
                   std::optional<int64_t> step = std::nullopt) {
    SaverOptions o;
    o.env = t_.env;
    auto saver = Saver::Create(vars, o);
    EXPECT_TRUE(saver.ok()) << saver.status();
    if (!saver.ok()) return "";
    SaveArgs args;
    args.global_step = step;
    auto prefix = (*saver)->Save(path, args);
    EXPECT_TRUE(prefix.ok()) << prefix.status();
    return prefix.ok() ? *prefix : "";
  }

  // A checkpoint of a SmallModel whose values differ from a fresh one's,
  // under `scope`.
  std::string SaveTrained(const std::string& path, const std::string& scope = "dense") {
    trained_.kernel = Floats({2, 3}, 10.0f);
    trained_.bias = Floats({3}, 20.0f);
    trained_.slot = Floats({2, 3}, 30.0f);
    trained_.step = Tensor::Scalar<int64_t>(1000);
    return Save(trained_.Vars(scope), path);
  }

  WarmStartSettings Settings(const std::string& ckpt) {
    WarmStartSettings s;
    s.ckpt_to_initialize_from = ckpt;
    return s;
  }

  TestEnv t_;
  SmallModel trained_;
};

TEST_P(WarmStartTest, DefaultWarmStartsTrainableVariablesOnly) {
  const std::string prefix = SaveTrained(Path("src/model.ckpt"));
  SmallModel m;
  const auto before = m.Snapshot();
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(WarmStartReport report,
                            WarmStart(t_.env, Settings(prefix), m.Vars(), kTrainable));
  EXPECT_EQ(report.checkpoint, prefix);
  // VarListFromMap orders by name: bias before kernel.
  EXPECT_EQ(report.warm_started,
            (Pairs{{"dense/bias", "dense/bias"}, {"dense/kernel", "dense/kernel"}}));
  EXPECT_TRUE(m.kernel.Equals(trained_.kernel));
  EXPECT_TRUE(m.bias.Equals(trained_.bias));
  EXPECT_TRUE(m.slot.Equals(before[2])) << "slots are not trainable";
  EXPECT_TRUE(m.step.Equals(before[3])) << "global_step is not trainable";
  EXPECT_THAT(
      log.lines(),
      ElementsAre(
          "Warm-starting from: ('" + prefix + "',)",
          "Warm-starting variable: dense/bias; prev_var_name: Unchanged",
          "Initialize variable dense/bias:0 from checkpoint " + prefix + " with dense/bias",
          "Warm-starting variable: dense/kernel; prev_var_name: Unchanged",
          "Initialize variable dense/kernel:0 from checkpoint " + prefix + " with dense/kernel",
          "Warm-started 2 variables."));
}

// TF's estimator takes a SavedModel directory's variables (an export of the
// model warm-starts the next one), and says so.
TEST_P(WarmStartTest, SavedModelDirectoryWarmStartsFromItsVariables) {
  const std::string dir = Path("export/1700000000");
  CKPT_ASSERT_OK(t_.env->CreateDirs(dir));
  CKPT_ASSERT_OK(testing::WriteStringToFile(t_.env, SavedModelProtoPath(dir), "not read"));
  const std::string prefix = SaveTrained(SavedModelVariablesPrefix(dir));
  SmallModel m;
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(WarmStartReport report,
                            WarmStart(t_.env, Settings(dir), m.Vars(), kTrainable));
  EXPECT_EQ(report.checkpoint, prefix);
  EXPECT_TRUE(m.kernel.Equals(trained_.kernel));
  EXPECT_TRUE(m.bias.Equals(trained_.bias));
  ASSERT_GE(log.lines().size(), 2u);
  EXPECT_EQ(log.lines()[0], "Warm-starting from a SavedModel");
  EXPECT_EQ(log.lines()[1], "Warm-starting from: ('" + prefix + "',)");
}

TEST_P(WarmStartTest, SavedModelWithoutVariablesIsNotFoundNamingTheIndex) {
  const std::string dir = Path("export/1700000000");
  CKPT_ASSERT_OK(t_.env->CreateDirs(dir));
  CKPT_ASSERT_OK(testing::WriteStringToFile(t_.env, SavedModelProtoPath(dir), "not read"));
  SmallModel m;
  const auto before = m.Snapshot();
  EXPECT_THAT(WarmStart(t_.env, Settings(dir), m.Vars(), kTrainable),
              StatusIs(StatusCode::kNotFound, JoinPath(dir, "variables/variables.index")));
  EXPECT_TRUE(m.Equals(before));
}

TEST_P(WarmStartTest, SingleRegexIsAnchoredAtTheStartLikeReMatch) {
  const std::string prefix = SaveTrained(Path("model.ckpt"));
  struct Case {
    std::string regex;
    std::vector<std::string> expected;
  };
  for (const Case& c :
       std::vector<Case>{{"dense/k", {"dense/kernel"}},       // a prefix is enough (re.match)
                         {"dense/kernel", {"dense/kernel"}},  // trainable only: not the slot
                         {"kernel", {}},                      // anchored at the start
                         {".*kernel", {"dense/kernel"}},
                         {"dense/(bias|kernel)$", {"dense/bias", "dense/kernel"}},
                         {"dense", {"dense/bias", "dense/kernel"}},
                         {"global_step", {}}}) {  // not trainable
    SmallModel m;
    WarmStartSettings s = Settings(prefix);
    s.vars_to_warm_start = c.regex;
    CKPT_ASSERT_OK_AND_ASSIGN(WarmStartReport report, WarmStart(t_.env, s, m.Vars(), kTrainable));
    std::vector<std::string> got;
    for (const auto& [var, key] : report.warm_started) got.push_back(var);
    EXPECT_EQ(got, c.expected) << "regex " << c.regex;
    const bool kernel_loaded = std::find(got.begin(), got.end(), "dense/kernel") != got.end();
    EXPECT_EQ(m.kernel.Equals(trained_.kernel), kernel_loaded) << "regex " << c.regex;
  }
}

TEST_P(WarmStartTest, RegexListSelectsAmongAllVariablesIncludingSlots) {
  const std::string prefix = SaveTrained(Path("model.ckpt"));
  SmallModel m;
  const auto before = m.Snapshot();
  WarmStartSettings s = Settings(prefix);
  s.vars_to_warm_start_list = {".*Adagrad", "global_step", "dense/kernel/Adagrad"};
  CKPT_ASSERT_OK_AND_ASSIGN(WarmStartReport report, WarmStart(t_.env, s, m.Vars(), kTrainable));
  EXPECT_EQ(report.warm_started, (Pairs{{"dense/kernel/Adagrad", "dense/kernel/Adagrad"},
                                        {"global_step", "global_step"}}));
  EXPECT_TRUE(m.slot.Equals(trained_.slot));
  EXPECT_TRUE(m.step.Equals(trained_.step));
  EXPECT_TRUE(m.kernel.Equals(before[0]));
  EXPECT_TRUE(m.bias.Equals(before[1]));

  // ".*" over all variables copies everything.
  SmallModel all;
  s.vars_to_warm_start_list = {".*"};
  CKPT_ASSERT_OK_AND_ASSIGN(report, WarmStart(t_.env, s, all.Vars(), kTrainable));
  EXPECT_EQ(report.warm_started.size(), 4u);
  EXPECT_TRUE(all.Equals(trained_.Snapshot()));
}

TEST_P(WarmStartTest, UnsetOrEmptyRegexWarmStartsNothing) {
  const std::string prefix = SaveTrained(Path("model.ckpt"));
  for (std::optional<std::string> regex :
       {std::optional<std::string>(), std::optional<std::string>("")}) {
    SmallModel m;
    const auto before = m.Snapshot();
    WarmStartSettings s = Settings(prefix);
    s.vars_to_warm_start = regex;
    LogCapture log;
    CKPT_ASSERT_OK_AND_ASSIGN(WarmStartReport report, WarmStart(t_.env, s, m.Vars(), kTrainable));
    EXPECT_TRUE(report.warm_started.empty());
    EXPECT_TRUE(m.Equals(before));
    EXPECT_THAT(log.lines(), ElementsAre("Warm-starting from: ('" + prefix + "',)",
                                         "Warm-started 0 variables."));
  }
}

TEST_P(WarmStartTest, RenamesWithVarNameToPrevVarName) {
  const std::string prefix = SaveTrained(Path("model.ckpt"), "old");
  SmallModel m;
  WarmStartSettings s = Settings(prefix);
  s.var_name_to_prev_var_name = {{"dense/kernel", "old/kernel"}, {"dense/bias", "old/bias"}};
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(WarmStartReport report, WarmStart(t_.env, s, m.Vars(), kTrainable));
  EXPECT_EQ(report.warm_started,
            (Pairs{{"dense/bias", "old/bias"}, {"dense/kernel", "old/kernel"}}));
  EXPECT_TRUE(m.kernel.Equals(trained_.kernel));
  EXPECT_TRUE(m.bias.Equals(trained_.bias));
  EXPECT_THAT(log.lines(), ::testing::Contains(
                               "Warm-starting variable: dense/kernel; prev_var_name: old/kernel"));
  EXPECT_THAT(log.lines(),
              ::testing::Contains("Initialize variable dense/kernel:0 from checkpoint " + prefix +
                                  " with old/kernel"));
}

TEST_P(WarmStartTest, UnusedRenameEntriesFailAndChangeNothing) {
  const std::string prefix = SaveTrained(Path("model.ckpt"), "old");
  SmallModel m;
  const auto before = m.Snapshot();
  WarmStartSettings s = Settings(prefix);
  // dense/kernel/Adagrad is a variable, but not a candidate of the default
  // (trainable-only) selection; dense/kernl is a typo.
  s.var_name_to_prev_var_name = {{"dense/kernel", "old/kernel"},
                                 {"dense/bias", "old/bias"},
                                 {"dense/kernel/Adagrad", "old/kernel/Adagrad"},
                                 {"dense/kernl", "old/kernel"}};
  EXPECT_THAT(
      WarmStart(t_.env, s, m.Vars(), kTrainable),
      StatusIs(StatusCode::kInvalidArgument,
               "You provided the following variables in var_name_to_prev_var_name that were not "
               "used: {'dense/kernel/Adagrad', 'dense/kernl'}.  Perhaps you misspelled them?  "
               "Here is the list of viable variable names: dict_keys(['dense/bias', "
               "'dense/kernel'])"));
  EXPECT_TRUE(m.Equals(before)) << "kernel and bias were loadable but must not be loaded";
}

TEST_P(WarmStartTest, MissingKeyFailsAndChangesNothing) {
  const std::string prefix = SaveTrained(Path("model.ckpt"));
  SmallModel m;
  const auto before = m.Snapshot();
  WarmStartSettings s = Settings(prefix);
  // bias loads fine and comes first; kernel is renamed to a missing key.
  s.var_name_to_prev_var_name = {{"dense/kernel", "dense/nope"}};
  LogCapture log;
  EXPECT_THAT(
      WarmStart(t_.env, s, m.Vars(), kTrainable),
      StatusIs(StatusCode::kNotFound, "Tensor dense/nope is not found in " + prefix +
                                          " checkpoint {'dense/bias': [3], 'dense/kernel': [2, 3], "
                                          "'dense/kernel/Adagrad': [2, 3], 'global_step': []}"));
  EXPECT_TRUE(m.Equals(before));
  EXPECT_THAT(log.lines(), ::testing::Not(::testing::Contains(HasSubstr("Warm-started"))));
}

TEST_P(WarmStartTest, ShapeMismatchFailsAndChangesNothing) {
  const std::string prefix = SaveTrained(Path("model.ckpt"));
  SmallModel m;
  m.kernel = Floats({2, 4}, 0.0f);
  const auto before = m.Snapshot();
  EXPECT_THAT(WarmStart(t_.env, Settings(prefix), m.Vars(), kTrainable),
              StatusIs(StatusCode::kInvalidArgument,
                       "Shape of variable dense/kernel:0 ((2, 4)) doesn't match with shape of "
                       "tensor dense/kernel ([2, 3]) from checkpoint reader."));
  EXPECT_TRUE(m.Equals(before)) << "dense/bias (checked first) must not be loaded";

  SmallModel v;
  v.bias = Floats({}, 0.0f);
  EXPECT_THAT(WarmStart(t_.env, Settings(prefix), v.Vars(), kTrainable),
              StatusIs(StatusCode::kInvalidArgument,
                       "Shape of variable dense/bias:0 (()) doesn't match with shape of tensor "
                       "dense/bias ([3]) from checkpoint reader."));
}

TEST_P(WarmStartTest, DtypeMismatchFailsAndChangesNothing) {
  const std::string prefix = SaveTrained(Path("model.ckpt"));
  SmallModel m;
  m.kernel = Tensor::FromVector<double>({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto before = m.Snapshot();
  EXPECT_THAT(WarmStart(t_.env, Settings(prefix), m.Vars(), kTrainable),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = dense/kernel; expected dtype double does not equal "
                       "original dtype float"));
  EXPECT_TRUE(m.Equals(before));
}

TEST_P(WarmStartTest, DirectoryMeansItsLatestCheckpoint) {
  // Two checkpoints in one directory; the newer one wins.
  SaveTrained(Path("run/model.ckpt-1"));
  trained_.kernel = Floats({2, 3}, 99.0f);
  trained_.bias = Floats({3}, 77.0f);
  const std::string newest = Save(trained_.Vars(), Path("run/model.ckpt"), 2);
  ASSERT_EQ(newest, Path("run/model.ckpt-2"));
  SmallModel m;
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(WarmStartReport report,
                            WarmStart(t_.env, Settings(Path("run")), m.Vars(), kTrainable));
  EXPECT_EQ(report.checkpoint, newest);
  EXPECT_TRUE(m.kernel.Equals(trained_.kernel));
  // TF logs what it was given, not the resolved prefix.
  EXPECT_EQ(log.lines().front(), "Warm-starting from: ('" + Path("run") + "',)");
  EXPECT_THAT(log.lines(), ::testing::Contains("Initialize variable dense/kernel:0 from "
                                               "checkpoint " +
                                               Path("run") + " with dense/kernel"));
}

TEST_P(WarmStartTest, MissingCheckpointIsNotFoundNamingThePath) {
  SmallModel m;
  CKPT_ASSERT_OK(t_.env->CreateDirs(Path("empty")));
  EXPECT_THAT(WarmStart(t_.env, Settings(Path("empty")), m.Vars(), kTrainable),
              StatusIs(StatusCode::kNotFound,
                       "Couldn't find 'checkpoint' file or checkpoints in given directory " +
                           Path("empty")));
  EXPECT_THAT(WarmStart(t_.env, Settings(Path("nope/model.ckpt-3")), m.Vars(), kTrainable),
              StatusIs(StatusCode::kNotFound,
                       "Unsuccessful TensorSliceReader constructor: Failed to find any matching "
                       "files for " +
                           Path("nope/model.ckpt-3")));
  EXPECT_THAT(WarmStart(t_.env, Settings(""), m.Vars(), kTrainable),
              StatusIs(StatusCode::kInvalidArgument,
                       "`ckpt_to_initialize_from` MUST be set in WarmStartSettings"));
  WarmStartSettings bad = Settings(Path("empty"));
  bad.vars_to_warm_start = "dense/(";
  EXPECT_THAT(
      WarmStart(t_.env, bad, m.Vars(), kTrainable),
      StatusIs(StatusCode::kInvalidArgument, "'dense/(' is not a valid regular expression"));
}

TEST_P(WarmStartTest, PartitionedTargetIsCutFromTheFullTensor) {
  // Checkpoint: a plain [4, 3] tensor. Target: two partitions of rows.
  Tensor full = Floats({4, 3}, 1.0f);
  Tensor src_step = Tensor::Scalar<int64_t>(5);
  const std::string prefix =
      Save(VarListFromMap({{"p", &full}, {"global_step", &src_step}}), Path("model.ckpt"));
  Tensor part0 = Floats({1, 3}, 0.0f);
  Tensor part1 = Floats({3, 3}, 0.0f);
  VarList vars(2);
  vars[0].name = vars[1].name = "p";
  vars[0].tensor = &part0;
  vars[1].tensor = &part1;
  vars[0].full_shape = vars[1].full_shape = TensorShape({4, 3});
  vars[0].slice = TensorSlice({{0, 1}, {0, TensorSlice::kFullExtent}});
  vars[1].slice = TensorSlice({{1, 3}, {0, TensorSlice::kFullExtent}});
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(WarmStartReport report,
                            WarmStart(t_.env, Settings(prefix), vars, {"p"}));
  EXPECT_EQ(report.warm_started, (Pairs{{"p", "p"}}));
  EXPECT_TRUE(part0.Equals(Floats({1, 3}, 1.0f)));
  EXPECT_TRUE(part1.Equals(Floats({3, 3}, 4.0f)));
  EXPECT_THAT(log.lines(), ::testing::Contains("Initialize variable p/part_0:0,p/part_1:0 from "
                                               "checkpoint " +
                                               prefix + " with p"));

  // A one-piece partitioned variable of another shape: TF's warm_start
  // hands over the variable part_0 itself, so init_from_checkpoint's text.
  Tensor small = Floats({2, 3}, 0.0f);
  VarList wrong(1);
  wrong[0].name = "p";
  wrong[0].tensor = &small;
  wrong[0].full_shape = TensorShape({2, 3});
  wrong[0].slice = TensorSlice::Full(2);
  EXPECT_THAT(WarmStart(t_.env, Settings(prefix), wrong, {"p"}),
              StatusIs(StatusCode::kInvalidArgument,
                       "Shape of variable p/part_0:0 ((2, 3)) doesn't match with shape of tensor "
                       "p ([4, 3]) from checkpoint reader."));
  // init_from_checkpoint looks a partitioned name up as a list of parts,
  // which RestoreV2 checks when the initialisers run.
  EXPECT_THAT(InitFromCheckpoint(t_.env, prefix, {{"p", "p"}}, wrong),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = p; shape in shape_and_slice spec [2,3] does not match the "
                       "shape stored in checkpoint: [4,3]"));
  EXPECT_TRUE(small.Equals(Floats({2, 3}, 0.0f)));
  // Several parts of another full shape: RestoreV2's text from WarmStart too.
  Tensor q0 = Floats({1, 2}, 0.0f), q1 = Floats({1, 2}, 0.0f);
  VarList two(2);
  two[0].name = two[1].name = "p";
  two[0].tensor = &q0;
  two[1].tensor = &q1;
  two[0].full_shape = two[1].full_shape = TensorShape({2, 2});
  two[0].slice = TensorSlice({{0, 1}, {0, TensorSlice::kFullExtent}});
  two[1].slice = TensorSlice({{1, 1}, {0, TensorSlice::kFullExtent}});
  EXPECT_THAT(WarmStart(t_.env, Settings(prefix), two, {"p"}),
              StatusIs(StatusCode::kInvalidArgument,
                       "tensor_name = p; shape in shape_and_slice spec [2,2] does not match the "
                       "shape stored in checkpoint: [4,3]"));
  EXPECT_TRUE(q0.Equals(Floats({1, 2}, 0.0f)));
}

TEST_P(WarmStartTest, PartitionedCheckpointLoadsIntoAPlainVariable) {
  // Checkpoint written in two slices; the target is one plain tensor.
  Tensor a = Floats({2, 2}, 1.0f), b = Floats({2, 2}, 5.0f);
  VarList src(2);
  src[0].name = src[1].name = "w";
  src[0].tensor = &a;
  src[1].tensor = &b;
  src[0].full_shape = src[1].full_shape = TensorShape({4, 2});
  src[0].slice = TensorSlice({{0, 2}, {0, TensorSlice::kFullExtent}});
  src[1].slice = TensorSlice({{2, 2}, {0, TensorSlice::kFullExtent}});
  const std::string prefix = Save(src, Path("model.ckpt"));
  Tensor w = Floats({4, 2}, 0.0f);
  CKPT_ASSERT_OK(WarmStart(t_.env, Settings(prefix), VarListFromMap({{"w", &w}}), {"w"}).status());
  EXPECT_TRUE(w.Equals(Floats({4, 2}, 1.0f)));
}

TEST_P(WarmStartTest, RejectsViewsAndInconsistentDuplicates) {
  const std::string prefix = SaveTrained(Path("model.ckpt"));
  float raw[3] = {0, 0, 0};
  Tensor view = Tensor::View(DataType::kFloat, {3}, raw);
  EXPECT_THAT(
      WarmStart(t_.env, Settings(prefix), VarListFromMap({{"dense/bias", &view}}), {"dense/bias"}),
      StatusIs(StatusCode::kInvalidArgument, "view of caller memory"));
  Tensor x = Floats({3}, 0.0f), y = Floats({3}, 0.0f);
  VarList dup(2);
  dup[0].name = dup[1].name = "dense/bias";
  dup[0].tensor = &x;
  dup[1].tensor = &y;
  EXPECT_THAT(WarmStart(t_.env, Settings(prefix), dup, {"dense/bias"}),
              StatusIs(StatusCode::kInvalidArgument, "appears more than once"));
}

TEST(WarmStartSettingsTest, DebugStringIsTheNamedTupleRepr) {
  WarmStartSettings s;
  s.ckpt_to_initialize_from = "/tmp/it's";
  EXPECT_EQ(s.DebugString(),
            "WarmStartSettings(ckpt_to_initialize_from=\"/tmp/it's\", vars_to_warm_start='.*', "
            "var_name_to_vocab_info={}, var_name_to_prev_var_name={})");
  s.ckpt_to_initialize_from = "/m";
  s.vars_to_warm_start.reset();
  s.var_name_to_prev_var_name = {{"b", "old_b"}, {"a", "old_a"}};
  EXPECT_EQ(s.DebugString(),
            "WarmStartSettings(ckpt_to_initialize_from='/m', vars_to_warm_start=None, "
            "var_name_to_vocab_info={}, var_name_to_prev_var_name={'a': 'old_a', 'b': "
            "'old_b'})");
  s.vars_to_warm_start_list = {"dnn/.*", "global_step"};
  EXPECT_THAT(s.DebugString(), HasSubstr("vars_to_warm_start=['dnn/.*', 'global_step']"));
}

// ------------------------------------------------------ init_from_checkpoint

TEST_P(WarmStartTest, InitFromCheckpointOneToOne) {
  const std::string prefix = SaveTrained(Path("model.ckpt"), "old");
  SmallModel m;
  const auto before = m.Snapshot();
  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(
      Pairs loaded, InitFromCheckpoint(t_.env, prefix, {{"old/kernel", "dense/kernel"}}, m.Vars()));
  EXPECT_EQ(loaded, (Pairs{{"dense/kernel", "old/kernel"}}));
  EXPECT_TRUE(m.kernel.Equals(trained_.kernel));
  EXPECT_TRUE(m.bias.Equals(before[1]));
  EXPECT_THAT(log.lines(), ElementsAre("Initialize variable dense/kernel:0 from checkpoint " +
                                       prefix + " with old/kernel"));
  // The same tensor into several variables; a later pair wins.
  SmallModel n;
  CKPT_ASSERT_OK_AND_ASSIGN(loaded, InitFromCheckpoint(t_.env, prefix,
                                                       {{"old/kernel", "dense/kernel"},
                                                        {"old/kernel", "dense/kernel/Adagrad"},
                                                        {"old/kernel/Adagrad", "dense/kernel"}},
                                                       n.Vars()));
  EXPECT_EQ(loaded, (Pairs{{"dense/kernel", "old/kernel/Adagrad"},
                           {"dense/kernel/Adagrad", "old/kernel"}}));
  EXPECT_TRUE(n.kernel.Equals(trained_.slot));
  EXPECT_TRUE(n.slot.Equals(trained_.kernel));
}

TEST_P(WarmStartTest, InitFromCheckpointScopeForms) {
  const std::string prefix = SaveTrained(Path("model.ckpt"), "old_scope");
  {
    SmallModel m;  // variables under new_scope/, plus global_step at the root
    const auto before = m.Snapshot();
    LogCapture log;
    CKPT_ASSERT_OK_AND_ASSIGN(
        Pairs loaded,
        InitFromCheckpoint(t_.env, prefix, {{"old_scope/", "new_scope/"}}, m.Vars("new_scope")));
    EXPECT_EQ(loaded, (Pairs{{"new_scope/bias", "old_scope/bias"},
                             {"new_scope/kernel", "old_scope/kernel"},
                             {"new_scope/kernel/Adagrad", "old_scope/kernel/Adagrad"}}));
    EXPECT_TRUE(m.kernel.Equals(trained_.kernel));
    EXPECT_TRUE(m.slot.Equals(trained_.slot));
    EXPECT_TRUE(m.step.Equals(before[3])) << "global_step is outside new_scope/";
    EXPECT_EQ(log.lines().front(), "Initialize variable new_scope/bias from checkpoint " + prefix +
                                       " with old_scope/bias");
  }
  {
    // "/" -> "new_scope/": names under new_scope/ from the checkpoint root.
    Tensor k = Floats({2, 3}, 0.0f), step = Tensor::Scalar<int64_t>(0);
    CKPT_ASSERT_OK_AND_ASSIGN(
        Pairs loaded,
        InitFromCheckpoint(t_.env, prefix, {{"/", "new_scope/"}},
                           VarListFromMap({{"new_scope/old_scope/kernel", &k}, {"step", &step}})));
    EXPECT_EQ(loaded, (Pairs{{"new_scope/old_scope/kernel", "old_scope/kernel"}}));
    EXPECT_TRUE(k.Equals(trained_.kernel));
  }
  {
    // "old_scope/" -> "/": every variable, from under old_scope/.
    Tensor k = Floats({2, 3}, 0.0f), b = Floats({3}, 0.0f);
    CKPT_ASSERT_OK_AND_ASSIGN(Pairs loaded,
                              InitFromCheckpoint(t_.env, prefix, {{"old_scope/", "/"}},
                                                 VarListFromMap({{"kernel", &k}, {"bias", &b}})));
    EXPECT_EQ(loaded, (Pairs{{"bias", "old_scope/bias"}, {"kernel", "old_scope/kernel"}}));
    EXPECT_TRUE(b.Equals(trained_.bias));
  }
  {
    // A scope with no variables loads nothing.
    SmallModel m;
    const auto before = m.Snapshot();
    CKPT_ASSERT_OK_AND_ASSIGN(
        Pairs loaded, InitFromCheckpoint(t_.env, prefix, {{"old_scope/", "other/"}}, m.Vars()));
    EXPECT_TRUE(loaded.empty());
    EXPECT_TRUE(m.Equals(before));
  }
}

TEST_P(WarmStartTest, InitFromCheckpointErrorsChangeNothing) {
  const std::string prefix = SaveTrained(Path("model.ckpt"), "old_scope");
  SmallModel m;
  const auto before = m.Snapshot();
  // A valid first pair, then a tensor name mapped to a non-variable.
  EXPECT_THAT(
      InitFromCheckpoint(t_.env, prefix,
                         {{"old_scope/kernel", "dense/kernel"}, {"old_scope/bias", "new_scope/"}},
                         m.Vars()),
      StatusIs(StatusCode::kInvalidArgument,
               "Assignment map with scope only name new_scope should map to scope only "
               "old_scope/bias. Should be 'scope/': 'other_scope/'."));
  EXPECT_TRUE(m.Equals(before));
  // A scope key mapped to a variable: looked up as a tensor and not found.
  EXPECT_THAT(InitFromCheckpoint(t_.env, prefix, {{"old_scope/", "dense/kernel"}}, m.Vars()),
              StatusIs(StatusCode::kNotFound, "Tensor old_scope/ is not found in " + prefix +
                                                  " checkpoint {'global_step'"));
  // Scope form, a tensor missing under the old scope.
  Tensor extra = Floats({1}, 0.0f);
  VarList vars = m.Vars();
  vars.push_back({"dense/extra", &extra, std::nullopt, TensorSlice(), ""});
  EXPECT_THAT(InitFromCheckpoint(t_.env, prefix, {{"old_scope/", "dense/"}}, vars),
              StatusIs(StatusCode::kNotFound,
                       "Tensor old_scope/extra (extra in old_scope/) is not found in " + prefix +
                           " checkpoint"));
  EXPECT_TRUE(m.Equals(before));
  // Shape mismatch in the scope form.
  SmallModel w;
  w.bias = Floats({4}, 0.0f);
  const auto w_before = w.Snapshot();
  EXPECT_THAT(InitFromCheckpoint(t_.env, prefix, {{"old_scope/", "dense/"}}, w.Vars()),
              StatusIs(StatusCode::kInvalidArgument,
                       "Shape of variable dense/bias:0 ((4,)) doesn't match with shape of tensor "
                       "old_scope/bias ([3]) from checkpoint reader."));
  EXPECT_TRUE(w.Equals(w_before));
  // Directory argument without checkpoints.
  CKPT_ASSERT_OK(t_.env->CreateDirs(Path("none")));
  EXPECT_THAT(InitFromCheckpoint(t_.env, Path("none"), {{"/", "/"}}, m.Vars()),
              StatusIs(StatusCode::kNotFound, "given directory " + Path("none")));
}

// -------------------------------------------------------- DnnClassifierModel

// The checkpoint keys of the model's trainable variables: the weights, not
// their slots, not global_step.
std::vector<std::string> TrainableKeys(DnnClassifierModel* model) {
  std::vector<std::string> keys;
  for (const SaveableTensor& v : model->SaveableVariables()) {
    if (v.name != "global_step" && v.name.find("/t_0/") == std::string::npos) {
      keys.push_back(v.name);
    }
  }
  return keys;
}

Tensor SomeFeatures() {
  std::vector<float> x;
  for (int i = 0; i < 12 * 4; ++i) x.push_back(0.25f * static_cast<float>((i * 7) % 23) - 1.0f);
  return Tensor::FromVector<float>({12, 4}, x);
}

std::vector<Tensor> Snapshot(DnnClassifierModel* model) {
  std::vector<Tensor> out;
  for (const SaveableTensor& v : model->SaveableVariables()) out.push_back(v.tensor->Copy());
  return out;
}

TEST_P(WarmStartTest, DnnClassifierReproducesTheTrainedModel) {
  DnnClassifierConfig config;
  config.seed = 1;
  CKPT_ASSERT_OK_AND_ASSIGN(auto trained, DnnClassifierModel::Create(config));
  const Tensor x = SomeFeatures();
  const std::vector<int64_t> labels = {0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2};
  for (int i = 0; i < 5; ++i) CKPT_ASSERT_OK(trained->TrainStep(x, labels).status());
  const std::string prefix = Save(trained->SaveableVariables(), Path("trained/model.ckpt"), 5);

  config.seed = 2;
  CKPT_ASSERT_OK_AND_ASSIGN(auto fresh, DnnClassifierModel::Create(config));
  const std::vector<std::string> trainable = TrainableKeys(fresh.get());
  ASSERT_EQ(trainable.size(), 6u);
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions before, fresh->Predict(x));
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions want, trained->Predict(x));
  ASSERT_FALSE(before.probabilities.Equals(want.probabilities));

  LogCapture log;
  CKPT_ASSERT_OK_AND_ASSIGN(
      WarmStartReport report,
      WarmStart(t_.env, Settings(Path("trained")), fresh->SaveableVariables(), trainable));
  EXPECT_EQ(report.checkpoint, prefix);
  EXPECT_EQ(report.warm_started.size(), 6u);
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions got, fresh->Predict(x));
  EXPECT_TRUE(got.probabilities.Equals(want.probabilities)) << "bit-exact predictions";
  EXPECT_TRUE(got.logits.Equals(want.logits));
  // Not warm-started: the step restarts at 0, accumulators at 0.1.
  EXPECT_EQ(fresh->global_step(), 0);
  const Tensor* acc = fresh->FindVariable("dnn/hiddenlayer_0/kernel/t_0/Adagrad");
  ASSERT_NE(acc, nullptr);
  for (int64_t i = 0; i < acc->num_elements(); ++i) ASSERT_EQ(acc->flat<float>()[i], 0.1f);
  EXPECT_FALSE(acc->Equals(*trained->FindVariable("dnn/hiddenlayer_0/kernel/t_0/Adagrad")));
  // One-piece partitioned weights log TF's part_0 graph names.
  EXPECT_THAT(log.lines(),
              ::testing::Contains("Initialize variable dnn/hiddenlayer_0/kernel/part_0:0 from "
                                  "checkpoint " +
                                  Path("trained") + " with dnn/hiddenlayer_0/kernel"));
  EXPECT_EQ(log.lines().back(), "Warm-started 6 variables.");

  // With the slots and the step as well (list form), training continues
  // exactly as the trained model does.
  CKPT_ASSERT_OK_AND_ASSIGN(auto full, DnnClassifierModel::Create(config));
  WarmStartSettings all = Settings(prefix);
  all.vars_to_warm_start_list = {".*"};
  CKPT_ASSERT_OK_AND_ASSIGN(report, WarmStart(t_.env, all, full->SaveableVariables(), trainable));
  EXPECT_EQ(report.warm_started.size(), 13u);
  EXPECT_EQ(full->global_step(), 5);
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierTrainResult a, trained->TrainStep(x, labels));
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierTrainResult b, full->TrainStep(x, labels));
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.global_step, b.global_step);
}

TEST_P(WarmStartTest, DnnClassifierWithWiderLayerFailsOnTheFirstMismatch) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto trained, DnnClassifierModel::Create({}));
  const std::string prefix = Save(trained->SaveableVariables(), Path("model.ckpt"), 0);
  DnnClassifierConfig wider;
  wider.hidden_units = {20, 10};
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, DnnClassifierModel::Create(wider));
  const auto before = Snapshot(model.get());
  EXPECT_THAT(
      WarmStart(t_.env, Settings(prefix), model->SaveableVariables(), TrainableKeys(model.get())),
      StatusIs(StatusCode::kInvalidArgument,
               "Shape of variable dnn/hiddenlayer_0/bias/part_0:0 ((20,)) doesn't match "
               "with shape of tensor dnn/hiddenlayer_0/bias ([10]) from checkpoint "
               "reader."));
  const auto after = Snapshot(model.get());
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(before[i].Equals(after[i])) << i;

  // Only the unchanged layer: dnn/logits loads, nothing else is touched.
  WarmStartSettings logits = Settings(prefix);
  logits.vars_to_warm_start = "dnn/logits";
  CKPT_ASSERT_OK_AND_ASSIGN(
      WarmStartReport report,
      WarmStart(t_.env, logits, model->SaveableVariables(), TrainableKeys(model.get())));
  EXPECT_EQ(report.warm_started, (Pairs{{"dnn/logits/bias", "dnn/logits/bias"},
                                        {"dnn/logits/kernel", "dnn/logits/kernel"}}));
  EXPECT_TRUE(model->FindVariable("dnn/logits/kernel")
                  ->Equals(*trained->FindVariable("dnn/logits/kernel")));
}

INSTANTIATE_TEST_SUITE_P(Envs, WarmStartTest, ::testing::Values(EnvKind::kMem, EnvKind::kPosix),
                         [](const auto& info) { return ::ckpt::testing::EnvKindName(info.param); });

}  // namespace
}  // namespace ckpt
