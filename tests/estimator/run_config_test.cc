#include "ckpt/run_config.h"

#include <string>
#include <utility>
#include <vector>

#include "ckpt/logging.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;

// Verbatim from the TF 1.8 guide run (seed log), minus "INFO:tensorflow:".
constexpr char kSeedIrisLine[] =
    "INFO:tensorflow:Using config: {'_model_dir': 'models/iris', '_tf_random_seed': None, "
    "'_save_summary_steps': 100, '_save_checkpoints_steps': None, "
    "'_save_checkpoints_secs': 600, '_session_config': None, '_keep_checkpoint_max': 5, "
    "'_keep_checkpoint_every_n_hours': 10000, '_log_step_count_steps': 100, "
    "'_train_distribute': None, '_service': None, '_cluster_spec': "
    "<tensorflow.python.training.server_lib.ClusterSpec object at 0x000001AB820D8400>, "
    "'_task_type': 'worker', '_task_id': 0, '_global_id_in_cluster': 0, '_master': '', "
    "'_evaluation_master': '', '_is_chief': True, '_num_ps_replicas': 0, "
    "'_num_worker_replicas': 1}";
// The guide's custom-cadence example (secs 1200, keep 10).
constexpr char kSeedCustomLine[] =
    "INFO:tensorflow:Using config: {'_model_dir': 'models/iris', '_tf_random_seed': None, "
    "'_save_summary_steps': 100, '_save_checkpoints_steps': None, "
    "'_save_checkpoints_secs': 1200, '_session_config': None, '_keep_checkpoint_max': 10, "
    "'_keep_checkpoint_every_n_hours': 10000, '_log_step_count_steps': 100, "
    "'_train_distribute': None, '_service': None, '_cluster_spec': "
    "<tensorflow.python.training.server_lib.ClusterSpec object at 0x000001AB836F56A0>, "
    "'_task_type': 'worker', '_task_id': 0, '_global_id_in_cluster': 0, '_master': '', "
    "'_evaluation_master': '', '_is_chief': True, '_num_ps_replicas': 0, "
    "'_num_worker_replicas': 1}";

std::string StripTfPrefix(const std::string& line) {
  const std::string prefix = "INFO:tensorflow:";
  EXPECT_EQ(line.compare(0, prefix.size(), prefix), 0);
  return line.substr(prefix.size());
}

TEST(RunConfigTest, DefaultsMatchTensorFlow) {
  for (const RunConfig& config : {RunConfig(), RunConfig::Create({}).value()}) {
    EXPECT_FALSE(config.model_dir().has_value());
    EXPECT_FALSE(config.tf_random_seed().has_value());
    EXPECT_EQ(config.save_summary_steps(), 100);
    EXPECT_FALSE(config.save_checkpoints_steps().has_value());
    ASSERT_TRUE(config.save_checkpoints_secs().has_value());
    EXPECT_EQ(*config.save_checkpoints_secs(), 600);
    EXPECT_TRUE(config.checkpoints_enabled());
    EXPECT_EQ(config.keep_checkpoint_max(), 5);
    EXPECT_EQ(config.keep_checkpoint_every_n_hours(), 10000);
    EXPECT_EQ(config.log_step_count_steps(), 100);
  }
}

TEST(RunConfigTest, StepsAloneClearsSecs) {
  RunConfigOptions options;
  options.save_checkpoints_steps = 50;
  CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
  EXPECT_EQ(config.save_checkpoints_steps(), std::optional<int64_t>(50));
  EXPECT_FALSE(config.save_checkpoints_secs().has_value());
  EXPECT_TRUE(config.checkpoints_enabled());
}

TEST(RunConfigTest, SecsAloneClearsSteps) {
  RunConfigOptions options;
  options.save_checkpoints_secs = 1200;
  CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
  EXPECT_FALSE(config.save_checkpoints_steps().has_value());
  EXPECT_EQ(config.save_checkpoints_secs(), std::optional<double>(1200));
}

TEST(RunConfigTest, BothSetIsTheExclusivityError) {
  RunConfigOptions options;
  options.save_checkpoints_steps = 100;
  options.save_checkpoints_secs = 600;
  Result<RunConfig> r = RunConfig::Create(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set.");
}

TEST(RunConfigTest, NoneTurnsCheckpointsOff) {
  // Both None, or one None with the other omitted (TF's sentinel logic).
  std::vector<std::pair<TfArg<int64_t>, TfArg<double>>> cases = {
      {TfArg<int64_t>::None(), TfArg<double>::None()},
      {TfArg<int64_t>::None(), TfArg<double>()},
      {TfArg<int64_t>(), TfArg<double>::None()},
  };
  for (const auto& [steps, secs] : cases) {
    RunConfigOptions options;
    options.save_checkpoints_steps = steps;
    options.save_checkpoints_secs = secs;
    CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
    EXPECT_FALSE(config.save_checkpoints_steps().has_value());
    EXPECT_FALSE(config.save_checkpoints_secs().has_value());
    EXPECT_FALSE(config.checkpoints_enabled());
  }
  // None for one and a value for the other: the value wins, no error.
  RunConfigOptions options;
  options.save_checkpoints_steps = TfArg<int64_t>::None();
  options.save_checkpoints_secs = 30;
  CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
  EXPECT_EQ(config.save_checkpoints_secs(), std::optional<double>(30));
  EXPECT_TRUE(config.checkpoints_enabled());
}

struct BadCase {
  const char* what;
  void (*apply)(RunConfigOptions*);
  const char* message;
};

TEST(RunConfigTest, EveryValidationMessageIsTensorFlows) {
  const BadCase cases[] = {
      {"empty model_dir", [](RunConfigOptions* o) { o->model_dir = ""; },
       "model_dir should be non-empty"},
      {"negative summary steps", [](RunConfigOptions* o) { o->save_summary_steps = -1; },
       "save_summary_steps should be >= 0"},
      {"negative ckpt steps", [](RunConfigOptions* o) { o->save_checkpoints_steps = -1; },
       "save_checkpoints_steps should be >= 0"},
      {"negative ckpt secs", [](RunConfigOptions* o) { o->save_checkpoints_secs = -0.5; },
       "save_checkpoints_secs should be >= 0"},
      {"nan ckpt secs",
       [](RunConfigOptions* o) { o->save_checkpoints_secs = std::nan(""); },
       "save_checkpoints_secs should be >= 0"},
      {"negative keep max", [](RunConfigOptions* o) { o->keep_checkpoint_max = -1; },
       "keep_checkpoint_max should be >= 0"},
      {"zero keep hours", [](RunConfigOptions* o) { o->keep_checkpoint_every_n_hours = 0; },
       "keep_checkpoint_every_n_hours should be > 0"},
      {"negative keep hours",
       [](RunConfigOptions* o) { o->keep_checkpoint_every_n_hours = -2; },
       "keep_checkpoint_every_n_hours should be > 0"},
      {"zero log steps", [](RunConfigOptions* o) { o->log_step_count_steps = 0; },
       "log_step_count_steps should be > 0"},
  };
  for (const BadCase& c : cases) {
    RunConfigOptions options;
    c.apply(&options);
    Result<RunConfig> r = RunConfig::Create(options);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_EQ(r.status().message(), c.message) << c.what;
  }
}

TEST(RunConfigTest, ZeroIsAllowedWhereTensorFlowAllowsIt) {
  RunConfigOptions options;
  options.save_summary_steps = 0;
  options.keep_checkpoint_max = 0;
  options.save_checkpoints_steps = 0;
  CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
  EXPECT_EQ(config.save_summary_steps(), 0);
  EXPECT_EQ(config.keep_checkpoint_max(), 0);
}

TEST(RunConfigTest, UsingConfigMatchesTheSeedLogForTheGuideConfig) {
  RunConfigOptions options;
  options.model_dir = "models/iris";
  CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
  EXPECT_EQ(config.UsingConfigLog(0x000001AB820D8400ull), StripTfPrefix(kSeedIrisLine));
}

TEST(RunConfigTest, UsingConfigMatchesTheSeedLogForCustomCadence) {
  RunConfigOptions options;
  options.model_dir = "models/iris";
  options.save_checkpoints_secs = 20 * 60;
  options.keep_checkpoint_max = 10;
  CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
  EXPECT_EQ(config.UsingConfigLog(0x000001AB836F56A0ull), StripTfPrefix(kSeedCustomLine));
}

TEST(RunConfigTest, UsingConfigPrintsSetValuesPythonStyle) {
  RunConfigOptions options;
  options.model_dir = R"(C:\Users\it's)";
  options.tf_random_seed = 42;
  options.save_checkpoints_steps = 250;
  options.keep_checkpoint_every_n_hours = 0.5;
  CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
  const std::string log = config.UsingConfigLog();
  EXPECT_THAT(log, ::testing::StartsWith(
                       R"(Using config: {'_model_dir': "C:\\Users\\it's", '_tf_random_seed': 42, )"
                       R"('_save_summary_steps': 100, '_save_checkpoints_steps': 250, )"
                       R"('_save_checkpoints_secs': None, '_session_config': None, )"
                       R"('_keep_checkpoint_max': 5, '_keep_checkpoint_every_n_hours': 0.5, )"));
  EXPECT_THAT(log, ::testing::HasSubstr("object at 0x0000000000000000>"));
}

TEST(RunConfigTest, UsingConfigWithoutModelDirPrintsNone) {
  EXPECT_THAT(RunConfig().UsingConfigLog(),
              ::testing::StartsWith("Using config: {'_model_dir': None, "));
}

TEST(PyReprTest, QuotesAndEscapesAsPython) {
  EXPECT_EQ(PyRepr("models/iris"), "'models/iris'");
  EXPECT_EQ(PyRepr(""), "''");
  EXPECT_EQ(PyRepr("a'b"), "\"a'b\"");
  EXPECT_EQ(PyRepr("a'b\"c"), "'a\\'b\"c'");
  EXPECT_EQ(PyRepr("x\ny\t\\"), "'x\\ny\\t\\\\'");
  EXPECT_EQ(PyRepr(std::string("\x01", 1)), "'\\x01'");
}

TEST(PyNumberTest, IntegralAndShortest) {
  EXPECT_EQ(PyNumber(600), "600");
  EXPECT_EQ(PyNumber(0.5), "0.5");
  EXPECT_EQ(PyNumber(0.1), "0.1");
  EXPECT_EQ(PyNumber(1.0 / 3), "0.3333333333333333");
}

class CapturedLog {
 public:
  CapturedLog() {
    old_ = SetLogSink([this](LogSeverity severity, std::string_view message) {
      lines_.emplace_back(severity, std::string(message));
    });
  }
  ~CapturedLog() { SetLogSink(std::move(old_)); }
  const std::vector<std::pair<LogSeverity, std::string>>& lines() const { return lines_; }

 private:
  LogSink old_;
  std::vector<std::pair<LogSeverity, std::string>> lines_;
};

class ResolveModelDirTest : public ::testing::TestWithParam<testing::EnvKind> {};

TEST_P(ResolveModelDirTest, GivenModelDirIsReturnedUnchanged) {
  testing::TestEnv t = testing::MakeTestEnv(GetParam());
  RunConfigOptions options;
  options.model_dir = "models/iris";
  CKPT_ASSERT_OK_AND_ASSIGN(RunConfig config, RunConfig::Create(options));
  CapturedLog log;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string dir, config.ResolveModelDir(t.env, t.root));
  EXPECT_EQ(dir, "models/iris");
  EXPECT_TRUE(log.lines().empty());
  EXPECT_TRUE(testing::ListDir(t.env, t.root).empty());  // no temp dir made
}

TEST_P(ResolveModelDirTest, CreatesUniqueTempDirsAndLogsTheWarning) {
  testing::TestEnv t = testing::MakeTestEnv(GetParam());
  RunConfig a;
  RunConfig b;
  CapturedLog log;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string dir_a, a.ResolveModelDir(t.env, t.root));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string dir_b, b.ResolveModelDir(t.env, t.root));
  EXPECT_NE(dir_a, dir_b);
  for (const std::string& dir : {dir_a, dir_b}) {
    EXPECT_TRUE(t.env->IsDirectory(dir)) << dir;
    EXPECT_EQ(std::string(Dirname(dir)), t.root);
    const std::string name(Basename(dir));
    EXPECT_EQ(name.size(), 11u) << name;
    EXPECT_EQ(name.substr(0, 3), "tmp") << name;
  }
  // Written back into the config, so the "Using config" line shows it, and
  // resolving again returns the same directory.
  EXPECT_EQ(a.model_dir(), std::optional<std::string>(dir_a));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string again, a.ResolveModelDir(t.env, t.root));
  EXPECT_EQ(again, dir_a);
  EXPECT_THAT(a.UsingConfigLog(), ::testing::HasSubstr("'_model_dir': '" + dir_a + "'"));

  ASSERT_EQ(log.lines().size(), 2u);
  EXPECT_EQ(log.lines()[0].first, LogSeverity::kWarning);
  EXPECT_EQ(log.lines()[0].second, "Using temporary folder as model directory: " + dir_a);
  EXPECT_EQ(log.lines()[1].second, "Using temporary folder as model directory: " + dir_b);
}

// An Env whose random source repeats: the second config must skip the name
// the first one took.
class RepeatingRandomEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  uint64_t Random64() override { return calls_++ < 2 ? 12345 : 67890; }

 private:
  int calls_ = 0;
};

TEST_P(ResolveModelDirTest, SkipsNamesThatExist) {
  testing::TestEnv t = testing::MakeTestEnv(GetParam());
  RepeatingRandomEnv env(t.env);
  RunConfig a;
  RunConfig b;
  CapturedLog log;
  CKPT_ASSERT_OK_AND_ASSIGN(std::string dir_a, a.ResolveModelDir(&env, t.root));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string dir_b, b.ResolveModelDir(&env, t.root));
  EXPECT_NE(dir_a, dir_b);
  EXPECT_EQ(testing::ListDir(t.env, t.root).size(), 2u);
}

class AlwaysSameRandomEnv : public ForwardingEnv {
 public:
  using ForwardingEnv::ForwardingEnv;
  uint64_t Random64() override { return 7; }
};

TEST_P(ResolveModelDirTest, GivesUpWhenEveryNameExists) {
  testing::TestEnv t = testing::MakeTestEnv(GetParam());
  AlwaysSameRandomEnv env(t.env);
  RunConfig a;
  RunConfig b;
  CapturedLog log;
  CKPT_ASSERT_OK(a.ResolveModelDir(&env, t.root).status());
  EXPECT_THAT(b.ResolveModelDir(&env, t.root),
              StatusIs(StatusCode::kAlreadyExists, "No usable temporary directory name"));
  EXPECT_FALSE(b.model_dir().has_value());
}

TEST(ResolveModelDirErrorsTest, NullEnvIsRejected) {
  RunConfig config;
  EXPECT_THAT(config.ResolveModelDir(nullptr, "/tmp"),
              StatusIs(StatusCode::kInvalidArgument, "env must not be null"));
}

INSTANTIATE_TEST_SUITE_P(BothEnvs, ResolveModelDirTest,
                         ::testing::Values(testing::EnvKind::kPosix, testing::EnvKind::kMem),
                         [](const ::testing::TestParamInfo<testing::EnvKind>& info) {
                           return testing::EnvKindName(info.param);
                         });

}  // namespace
}  // namespace ckpt
