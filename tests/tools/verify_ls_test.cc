// Tests of `ckpt verify` and `ckpt ls`, run in-process through CLI11 on
// real directories.
#include <sstream>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "command.h"
#include "ls.h"
#include "testutil/testutil.h"
#include "verify.h"

namespace ckpt::tools {
namespace {

using ::ckpt::testing::MakeTestTensor;
using ::ckpt::testing::TempDir;
using ::ckpt::testing::WriteStringToFile;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs `ckpt <args...>` in-process, as main.cc would.
CommandResult RunCli(const std::vector<std::string>& args) { return RunCommandLine(args); }

void Write(const std::string& prefix, uint32_t seed) {
  auto w = BundleWriter::Create(prefix);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  CKPT_ASSERT_OK((*w)->Add("w", MakeTestTensor(DataType::kFloat, TensorShape({64}), seed)));
  CKPT_ASSERT_OK((*w)->Finish());
}

void FlipFirstDataByte(const std::string& prefix) {
  const std::string path = DataFilename(prefix, 0, 1);
  auto data = ReadFileToString(Env::Posix(), path);
  ASSERT_TRUE(data.ok());
  std::string d = *data;
  d[0] ^= 1;
  CKPT_ASSERT_OK(WriteStringToFile(Env::Posix(), path, d));
}

// ckpt-1 preserved (on disk, not listed), ckpt-2 and ckpt-3 listed with
// timestamps, ckpt-3 newest.
std::string MakeDirectory() {
  std::string dir = TempDir();
  for (int s = 1; s <= 3; ++s) Write(JoinPath(dir, "ckpt-" + std::to_string(s)), s);
  EXPECT_TRUE(UpdateCheckpointState(Env::Posix(), dir, JoinPath(dir, "ckpt-3"),
                                    {JoinPath(dir, "ckpt-2"), JoinPath(dir, "ckpt-3")},
                                    {1700000000.0, 1700003600.0}, 1600000000.0,
                                    {"checkpoint", true})
                  .ok());
  return dir;
}

TEST(VerifyCommandTest, HealthyDirectoryExitsZero) {
  std::string dir = MakeDirectory();
  CommandResult r = RunCli({"verify", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok       " + JoinPath(dir, "ckpt-3") + " (newest)"));
  EXPECT_THAT(r.out, HasSubstr(JoinPath(dir, "ckpt-1") + " (not in the state file)"));
  EXPECT_THAT(r.out, HasSubstr("All 3 checkpoints verified"));
}

TEST(VerifyCommandTest, ProgressBarOnlyOnATerminalAndErasedAtTheEnd) {
  std::string dir = MakeDirectory();
  VerifyCommandOptions options;
  options.path = dir;
  options.progress = true;  // what the command line sets when stderr is a terminal
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify(options, out, err), 0) << err.str();
  EXPECT_EQ(err.str().rfind("\rverifying [", 0), 0u) << err.str();
  EXPECT_THAT(err.str(), HasSubstr("100%"));
  EXPECT_EQ(err.str().substr(err.str().size() - 4), "\r\033[K");  // the line is erased
  EXPECT_THAT(out.str(), Not(HasSubstr("\r")));
  EXPECT_THAT(out.str(), HasSubstr("All 3 checkpoints verified"));
  // Under ctest stderr is not a terminal: the command line draws nothing.
  CommandResult r = RunCli({"verify", dir});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
}

TEST(VerifyCommandTest, CorruptAndMissingExitOneLeftoversAreListed) {
  std::string dir = MakeDirectory();
  FlipFirstDataByte(JoinPath(dir, "ckpt-2"));
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(MetaFilename(JoinPath(dir, "ckpt-3"))));
  const std::string leftover =
      JoinPath(dir, "ckpt-4.data-00000-of-00001.ckpt-tmp." +
                        std::to_string(testing::DeadProcessId()) + ".0123456789abcdef");
  CKPT_ASSERT_OK(WriteStringToFile(Env::Posix(), leftover, "x"));
  CommandResult r = RunCli({"verify", dir});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("CORRUPT  " + JoinPath(dir, "ckpt-2") + ": DATA_LOSS"));
  EXPECT_THAT(r.out, HasSubstr("MISSING  " + JoinPath(dir, "ckpt-3") + " (newest)"));
  EXPECT_THAT(r.out, HasSubstr("  " + leftover + "\n"));
  // ckpt-3's orphan data file is a leftover too; leftovers are listed but
  // are not damage: the two problems are the corrupt and the missing one.
  EXPECT_THAT(r.out, HasSubstr("  " + DataFilename(JoinPath(dir, "ckpt-3"), 0, 1) + "\n"));
  EXPECT_THAT(r.out, HasSubstr("2 problems found"));

  CommandResult j = RunCli({"verify", "--json", dir});
  EXPECT_EQ(j.code, 1);
  EXPECT_THAT(j.out, HasSubstr("\"kind\": \"directory\", \"ok\": false"));
  EXPECT_THAT(j.out, HasSubstr("\"prefix\": \"" + JoinPath(dir, "ckpt-2") +
                               "\", \"status\": \"corrupt\", \"error\": \"DATA_LOSS"));
  EXPECT_THAT(j.out, HasSubstr("\"status\": \"missing\""));
  EXPECT_THAT(j.out, HasSubstr("\"leftovers\": [\""));
}

// For monitoring scripts: leftovers and a running save are reported, and the
// exit code stays 0 while nothing committed is damaged.
TEST(VerifyCommandTest, LeftoversAndSavesInProgressExitZero) {
  std::string dir = MakeDirectory();
  const std::string hex = ".0123456789abcdef";
  const std::string leftover = JoinPath(
      dir, "ckpt-4.index.ckpt-tmp." + std::to_string(testing::DeadProcessId()) + hex);
  const std::string running = JoinPath(dir, "ckpt-4.data-00000-of-00001.ckpt-tmp.1" + hex);
  CKPT_ASSERT_OK(WriteStringToFile(Env::Posix(), leftover, "x"));
  CKPT_ASSERT_OK(WriteStringToFile(Env::Posix(), running, "x"));
  CommandResult r = RunCli({"verify", dir});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Save in progress (its writer is running):\n  " + running + "\n"));
  EXPECT_THAT(r.out, HasSubstr("removes them; readers ignore them):\n  " + leftover + "\n"));
  EXPECT_THAT(r.out, HasSubstr("All 3 checkpoints verified (1 leftover)"));
  CommandResult j = RunCli({"verify", "--json", dir});
  EXPECT_EQ(j.code, 0);
  EXPECT_THAT(j.out, HasSubstr("\"in_progress\": [\"" + running + "\"]"));
}

TEST(FsckCommandTest, ReportsThenRepairs) {
  std::string dir = MakeDirectory();
  // The state file names ckpt-3, whose files are gone.
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(MetaFilename(JoinPath(dir, "ckpt-3"))));
  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(DataFilename(JoinPath(dir, "ckpt-3"), 0, 1)));
  CommandResult check = RunCli({"fsck", dir});
  EXPECT_EQ(check.code, 1) << check.out << check.err;
  EXPECT_THAT(check.out, HasSubstr("MISSING  " + JoinPath(dir, "ckpt-3")));
  EXPECT_THAT(check.out, HasSubstr("State file would be rewritten: newest " +
                                   JoinPath(dir, "ckpt-2")));
  CommandResult fix = RunCli({"fsck", "--repair", dir});
  EXPECT_EQ(fix.code, 0) << fix.out << fix.err;
  EXPECT_THAT(fix.out, HasSubstr("Directory is healthy"));
  EXPECT_EQ(LatestCheckpoint(Env::Posix(), dir).value(), JoinPath(dir, "ckpt-2"));
  CommandResult again = RunCli({"fsck", dir});
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(RunCli({"fsck", JoinPath(dir, "nope")}).code, 1);
}

TEST(VerifyCommandTest, SinglePrefix) {
  std::string dir = MakeDirectory();
  CommandResult ok = RunCli({"verify", JoinPath(dir, "ckpt-1")});
  EXPECT_EQ(ok.code, 0);
  EXPECT_EQ(ok.out, "ok       " + JoinPath(dir, "ckpt-1") + "\n");
  FlipFirstDataByte(JoinPath(dir, "ckpt-1"));
  CommandResult bad = RunCli({"verify", "--json", JoinPath(dir, "ckpt-1")});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.out, HasSubstr("\"kind\": \"checkpoint\", \"ok\": false"));
  EXPECT_THAT(bad.out, HasSubstr("Checksum does not match"));
  CommandResult missing = RunCli({"verify", JoinPath(dir, "nope")});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.out, HasSubstr("MISSING  " + JoinPath(dir, "nope") + ": NOT_FOUND"));
}

// A missing state file is reported but is no damage (exit 0); one that does
// not parse is (exit 1).
TEST(VerifyCommandTest, StateFileMissingIsReportedUnparsableIsAProblem) {
  std::string dir = TempDir();
  Write(JoinPath(dir, "ckpt-1"), 1);
  CommandResult r = RunCli({"verify", dir});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("STATE    NOT_FOUND"));
  CKPT_ASSERT_OK(WriteStringToFile(Env::Posix(), JoinPath(dir, "checkpoint"), "not a state {"));
  CommandResult bad = RunCli({"verify", dir});
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_THAT(bad.out, HasSubstr("STATE    DATA_LOSS"));
  EXPECT_EQ(RunCli({"verify"}).code, kExitUsage);
}

TEST(LsCommandTest, ListsStepTimeSizeAndWhyKept) {
  std::string dir = MakeDirectory();
  CommandResult r = RunCli({"ls", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 5u) << r.out;
  EXPECT_THAT(rows[1], HasSubstr("STEP"));
  EXPECT_THAT(rows[2], HasSubstr("preserved (not in the state file)"));
  EXPECT_THAT(rows[2], HasSubstr(JoinPath(dir, "ckpt-1")));
  EXPECT_THAT(rows[3], HasSubstr("2023-11-14 22:13:20"));  // state timestamp
  EXPECT_THAT(rows[3], HasSubstr("max_to_keep "));
  EXPECT_THAT(rows[3], Not(HasSubstr("newest")));
  EXPECT_THAT(rows[4], HasSubstr("2023-11-14 23:13:20"));
  EXPECT_THAT(rows[4], HasSubstr("max_to_keep, newest"));
  EXPECT_EQ(rows[4].substr(0, 3), "  3");
}

TEST(LsCommandTest, Json) {
  std::string dir = MakeDirectory();
  auto size = Env::Posix()->GetFileSize(DataFilename(JoinPath(dir, "ckpt-3"), 0, 1));
  auto isize = Env::Posix()->GetFileSize(MetaFilename(JoinPath(dir, "ckpt-3")));
  ASSERT_TRUE(size.ok() && isize.ok());
  CommandResult r = RunCli({"ls", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"name\": \"ckpt-1\", \"step\": 1, \"time\": "));
  EXPECT_THAT(r.out, HasSubstr("\"time_source\": \"mtime\""));
  EXPECT_THAT(r.out, HasSubstr("\"kept_by\": \"preserved\", \"newest\": false"));
  EXPECT_THAT(r.out, HasSubstr("\"name\": \"ckpt-3\", \"step\": 3, \"time\": 1700003600, "
                               "\"time_source\": \"state_file\", \"size_bytes\": " +
                               std::to_string(*size + *isize)));
  EXPECT_THAT(r.out, HasSubstr("\"kept_by\": \"max_to_keep\", \"newest\": true"));
}

TEST(LsCommandTest, MissingDirectoryFails) {
  CommandResult r = RunCli({"ls", JoinPath(TempDir(), "nope")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
}

// Checkpoint files replaced by FIFOs: every command reports the file and
// exits promptly instead of blocking in open().
TEST(SpecialFileTest, FifosAreErrorsNotHangs) {
  using ::ckpt::testing::MakeFifo;
  using ::ckpt::testing::ReturnsPromptly;
  std::string dir = MakeDirectory();
  const std::string index = MetaFilename(JoinPath(dir, "ckpt-3"));
  const std::string data = DataFilename(JoinPath(dir, "ckpt-2"), 0, 1);
  const std::string state = JoinPath(dir, "checkpoint");
  for (const std::string& f : {index, data}) {
    CKPT_ASSERT_OK(Env::Posix()->DeleteFile(f));
    CKPT_ASSERT_OK(MakeFifo(f));
  }
  const std::vector<std::string> fifos = {index, data, state};
  auto run = [&](std::vector<std::string> args) {
    return ReturnsPromptly([&] { return RunCli(args); }, fifos);
  };
  CommandResult r = run({"verify", JoinPath(dir, "ckpt-3")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("'" + index + "' is a FIFO, not a regular file"));
  r = run({"verify", JoinPath(dir, "ckpt-2")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("'" + data + "' is a FIFO, not a regular file"));
  EXPECT_THAT(r.out, Not(HasSubstr("missing")));
  r = run({"verify", dir});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("is a FIFO"));
  // Not read at all, so not called corrupt.
  EXPECT_THAT(r.out, HasSubstr("UNREADABLE " + JoinPath(dir, "ckpt-3")));
  EXPECT_THAT(r.out, Not(HasSubstr("CORRUPT")));
  r = run({"ls", dir});
  EXPECT_EQ(r.code, 0) << r.err;  // ls reads no checkpoint contents

  CKPT_ASSERT_OK(Env::Posix()->DeleteFile(state));
  CKPT_ASSERT_OK(MakeFifo(state));
  r = run({"ls", dir});  // lists the checkpoints, saying why the state file is unusable
  EXPECT_THAT(r.out + r.err, HasSubstr("'" + state + "' is a FIFO, not a regular file"));
  r = run({"verify", dir});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out + r.err, HasSubstr("'" + state + "' is a FIFO, not a regular file"));
}

// File names and tensor names with control characters are escaped in the
// text output of verify and ls.
TEST(SpecialFileTest, ControlCharactersInPathsAndNamesAreEscaped) {
  std::string dir = TempDir();
  const std::string evil = JoinPath(dir, "ckpt\x1b[2J\r-1");
  const std::string shown = JoinPath(dir, "ckpt\\x1b[2J\\r-1");
  {
    auto w = BundleWriter::Create(evil);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    CKPT_ASSERT_OK(
        (*w)->Add("w\x1b]0;title\x07", MakeTestTensor(DataType::kFloat, TensorShape({64}), 1)));
    CKPT_ASSERT_OK((*w)->Finish());
  }
  CKPT_ASSERT_OK(UpdateCheckpointState(Env::Posix(), dir, evil, {evil}));
  CommandResult r = RunCli({"verify", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok       " + shown + " (newest)"));
  CommandResult l = RunCli({"ls", dir});
  EXPECT_EQ(l.code, 0) << l.err;
  EXPECT_THAT(l.out, HasSubstr(shown + "\n"));
  // A corrupt tensor: its name in verify's error is escaped too.
  FlipFirstDataByte(evil);
  CommandResult bad = RunCli({"verify", evil});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.out, HasSubstr("CORRUPT  " + shown + ": DATA_LOSS"));
  EXPECT_THAT(bad.out, HasSubstr("\"w\\x1b]0;title\\x07\""));
  for (const CommandResult* c : {&r, &l, &bad}) {
    EXPECT_EQ((c->out + c->err).find('\x1b'), std::string::npos) << c->out;
    EXPECT_EQ((c->out + c->err).find('\r'), std::string::npos) << c->out;
  }
}

}  // namespace
}  // namespace ckpt::tools
