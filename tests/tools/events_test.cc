// Tests of `ckpt events`, run in-process through CLI11.
#include "events.h"

#include <sstream>

#include "ckpt/event_reader.h"
#include "ckpt/event_writer.h"
#include "command.h"
#include "testutil/testutil.h"

namespace ckpt::tools {
namespace {

using ::ckpt::testing::TempDir;
using ::ckpt::testing::TestDataPath;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs `ckpt <args...>` in-process, as main.cc would.
CommandResult RunCli(const std::vector<std::string>& args) { return RunCommandLine(args); }

const char kLingvo[] = "lingvo/lingvo/core/ops/testdata/events.out.tfevents.test";

// A log dir with one file of every kind.
std::string MakeLogDir() {
  std::string dir = TempDir();
  EventWriterOptions o;
  o.hostname = "h";
  auto w = EventWriter::Create(dir, o).value();
  EXPECT_TRUE(w->AddScalar("loss", 1, 0.5f, ScalarStyle::kSimpleValue).ok());
  EXPECT_TRUE(w->AddScalar("acc", 1, 0.25f, ScalarStyle::kTensor).ok());
  EXPECT_TRUE(w->AddHistogram("w", 2, {1.0, 2.0, 3.0}).ok());
  EXPECT_TRUE(w->AddText("note", 3, "a,\"b\"\nc").ok());
  EXPECT_TRUE(w->AddGraphDef("12345", 0).ok());
  EXPECT_TRUE(w->AddSessionLog(SessionLogStatus::kCheckpoint, 4, "/m/ckpt-4").ok());
  EXPECT_TRUE(w->Close().ok());
  return dir;
}

TEST(EventsCliTest, TextOfLingvoGolden) {
  // --tag takes one value per occurrence, so the path may follow it.
  CommandResult r = RunCli({"events", "--tag", "bleu/dev", TestDataPath(kLingvo)});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("step=1500 wall_time=1534577086.0208557 scalar bleu/dev "
                               "0.11201018840074539\n"));
  EXPECT_THAT(r.out, HasSubstr("step=102600 "));
  EXPECT_THAT(r.out, HasSubstr(" scalar bleu/dev 0.2882329523563385\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("brevity_penalty")));
  EXPECT_THAT(r.out, Not(HasSubstr("file_version")));
  // One line per event plus the file header.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 361);
}

TEST(EventsCliTest, TextOfEveryKind) {
  CommandResult r = RunCli({"events", MakeLogDir()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(" file_version - \"brain.Event:2\"\n"));
  EXPECT_THAT(r.out, HasSubstr("step=1 "));
  EXPECT_THAT(r.out, HasSubstr(" scalar loss 0.5\n"));
  EXPECT_THAT(r.out, HasSubstr(" scalar acc 0.25\n"));
  EXPECT_THAT(r.out, HasSubstr(" histogram w num=3 min=1 max=3 sum=6 buckets="));
  EXPECT_THAT(r.out, HasSubstr(" text note \"a,\\\"b\\\"\\nc\"\n"));
  EXPECT_THAT(r.out, HasSubstr(" graph_def - <5 bytes>\n"));
  EXPECT_THAT(r.out, HasSubstr("step=4 "));
  EXPECT_THAT(r.out, HasSubstr(" session_log - CHECKPOINT /m/ckpt-4\n"));
}

TEST(EventsCliTest, Csv) {
  CommandResult r = RunCli({"events", MakeLogDir(), "--format=csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "file,wall_time,step,tag,kind,value");
  EXPECT_THAT(r.out, HasSubstr(",1,loss,scalar,0.5\n"));
  EXPECT_THAT(r.out, HasSubstr(",3,note,text,\"a,\"\"b\"\"\nc\"\n"));
}

TEST(EventsCliTest, JsonWithTagFilter) {
  CommandResult r = RunCli({"events", MakeLogDir(), "--format", "json", "--tag", "w", "--tag", "acc"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"tag\": \"acc\", \"kind\": \"scalar\", \"value\": 0.25}"));
  EXPECT_THAT(r.out, HasSubstr("\"kind\": \"histogram\", \"value\": {\"min\": 1, \"max\": 3, "
                               "\"num\": 3, \"sum\": 6, \"sum_squares\": 14, \"bucket_limit\": ["));
  EXPECT_THAT(r.out, Not(HasSubstr("loss")));
  EXPECT_THAT(r.out, Not(HasSubstr("file_version")));
}

TEST(EventsCliTest, Errors) {
  CommandResult missing = RunCli({"events", "/no/such/file"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/no/such/file"));
  EXPECT_EQ(missing.out, "");

  std::string empty_dir = TempDir();
  CommandResult none = RunCli({"events", empty_dir});
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, HasSubstr("no event files"));

  CommandResult bad_format = RunCli({"events", empty_dir, "--format=xml"});
  EXPECT_EQ(bad_format.code, 2);

  // Corruption inside a record: DataLoss with the offset, nothing on stdout.
  std::string dir = MakeLogDir();
  auto files = ListEventFiles(Env::Posix(), dir).value();
  std::string data = ReadFileToString(Env::Posix(), files[0]).value();
  data[data.size() - 30] ^= 1;
  ASSERT_TRUE(testing::WriteStringToFile(Env::Posix(), files[0], data).ok());
  CommandResult corrupt = RunCli({"events", files[0]});
  EXPECT_EQ(corrupt.code, 1);
  EXPECT_THAT(corrupt.err, HasSubstr("DATA_LOSS"));
  EXPECT_THAT(corrupt.err, HasSubstr("offset"));
  EXPECT_EQ(corrupt.out, "");
}

TEST(EventsCliTest, IncompleteLastRecordIsAWarning) {
  std::string dir = MakeLogDir();
  auto files = ListEventFiles(Env::Posix(), dir).value();
  std::string data = ReadFileToString(Env::Posix(), files[0]).value();
  ASSERT_TRUE(testing::WriteStringToFile(Env::Posix(), files[0],
                                         data.substr(0, data.size() - 3)).ok());
  CommandResult r = RunCli({"events", files[0]});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("incomplete record"));
  EXPECT_THAT(r.out, HasSubstr(" scalar loss 0.5\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("session_log")));
}

TEST(EventsCliTest, FifoEventFileIsAnErrorNotAHang) {
  const std::string dir = TempDir();
  const std::string fifo = dir + "/events.out.tfevents.1.host";
  CKPT_ASSERT_OK(testing::MakeFifo(fifo));
  for (const std::string& arg : {fifo, dir}) {
    CommandResult r = testing::ReturnsPromptly([&] { return RunCli({"events", arg}); }, {fifo});
    EXPECT_EQ(r.code, 1) << arg;
    EXPECT_EQ(r.out, "") << arg;
    EXPECT_THAT(r.err, HasSubstr("'" + fifo + "' is a FIFO, not a regular file")) << arg;
  }
}

TEST(EventsCliTest, ControlCharactersInTagsAndTextAreEscaped) {
  std::string dir = TempDir();
  EventWriterOptions o;
  o.hostname = "h";
  auto w = EventWriter::Create(dir, o).value();
  CKPT_ASSERT_OK(w->AddScalar("loss\x1b[2J\r", 1, 0.5f, ScalarStyle::kSimpleValue));
  CKPT_ASSERT_OK(w->AddText("note\x07", 2, "line\x7f\xc2\x9b"));
  CKPT_ASSERT_OK(w->AddScalar("\xe5\x90\x8d\xe5\x89\x8d", 3, 1.0f, ScalarStyle::kSimpleValue));
  CKPT_ASSERT_OK(w->Close());
  CommandResult r = RunCli({"events", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(" scalar loss\\x1b[2J\\r 0.5\n"));
  EXPECT_THAT(r.out, HasSubstr(" text note\\x07 \"line\\x7f\\u009b\"\n"));
  EXPECT_THAT(r.out, HasSubstr(" scalar \xe5\x90\x8d\xe5\x89\x8d 1\n"));
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.out.find('\x07'), std::string::npos);
}

}  // namespace
}  // namespace ckpt::tools
