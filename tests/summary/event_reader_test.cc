// Reading event files: the TensorFlow-written lingvo golden file, decoding
// of every summary style, directories, following a file being written.
#include <chrono>
#include <cstring>
#include <thread>

#include "ckpt/event_reader.h"
#include "ckpt/event_writer.h"
#include "tensorflow/core/util/event.pb.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::HexString;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::TestDataPath;

const char kLingvo[] = "lingvo/lingvo/core/ops/testdata/events.out.tfevents.test";

TEST(LingvoGoldenTest, RecordsAndFirstBytes) {
  const std::string path = TestDataPath(kLingvo);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string data, ReadFileToString(Env::Posix(), path));
  EXPECT_EQ(data.size(), 80291u);
  EXPECT_EQ(HexString(data.substr(0, 40)),
            "18 00 00 00 00 00 00 00 a3 7f 4b 22 09 00 00 80 6f f2 dd d6 41 1a 0d 62 72 61 69 "
            "6e 2e 45 76 65 6e 74 3a 32 7f 31 a7 e3");
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, RecordReader::Open(Env::Posix(), path));
  int records = 0;
  std::string rec;
  for (;;) {
    auto got = reader->ReadRecord(&rec);
    ASSERT_TRUE(got.ok()) << got.status();
    if (!*got) break;
    ++records;
  }
  EXPECT_EQ(records, 361);
  EXPECT_EQ(reader->offset(), data.size());
}

TEST(LingvoGoldenTest, Values) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto rows, ReadEventFile(Env::Posix(), TestDataPath(kLingvo)));
  ASSERT_EQ(rows.size(), 1u + 360 * 7);
  EXPECT_EQ(rows[0].kind, EventValueKind::kFileVersion);
  EXPECT_EQ(rows[0].text, "brain.Event:2");
  EXPECT_EQ(rows[0].wall_time, 1534577086.0);
  const char* tags[] = {"bleu/dev", "brevity_penalty/dev", "bleu/split:dev",
                        "brevity_penalty/split:dev", "log_perplexity/dev",
                        "log_perplexity/split:dev", "runtime/sentence/sec"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(rows[1 + i].tag, tags[i]);
    EXPECT_EQ(rows[1 + i].kind, EventValueKind::kScalar);
    EXPECT_FALSE(rows[1 + i].from_tensor);
    EXPECT_EQ(rows[rows.size() - 7 + i].tag, tags[i]);
  }
  EXPECT_EQ(rows[1].step, 1500);
  EXPECT_EQ(rows[1].wall_time, 1534577086.0208557);
  EXPECT_EQ(rows[1].scalar, 0.11201018840074539);
  const EventValue& last = rows[rows.size() - 7];
  EXPECT_EQ(last.step, 185200);
  EXPECT_EQ(last.wall_time, 1534794764.3941014);
  EXPECT_EQ(last.scalar, 0.2852171063423157);
  double best = -1;
  int64_t best_step = -1;
  for (const auto& r : rows) {
    if (r.tag == "bleu/dev" && r.scalar > best) {
      best = r.scalar;
      best_step = r.step;
    }
  }
  EXPECT_EQ(best, 0.2882329523563385);
  EXPECT_EQ(best_step, 102600);
}

std::string Serialize(const tensorflow::Event& e) { return e.SerializeAsString(); }

TEST(DecodeEventTest, TensorStyles) {
  tensorflow::Event e;
  e.set_step(4);
  e.set_wall_time(2.5);
  auto* s = e.mutable_summary();
  // A double scalar in tensor_content, an int64 in int64_val, a float in
  // float_val.
  auto* v = s->add_value();
  v->set_tag("d");
  v->mutable_tensor()->set_dtype(tensorflow::DT_DOUBLE);
  double d = -0.125;
  v->mutable_tensor()->set_tensor_content(std::string(reinterpret_cast<char*>(&d), 8));
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("scalars");
  v = s->add_value();
  v->set_tag("i");
  v->mutable_tensor()->set_dtype(tensorflow::DT_INT64);
  v->mutable_tensor()->add_int64_val(42);
  v = s->add_value();
  v->set_tag("f");
  v->mutable_tensor()->set_dtype(tensorflow::DT_FLOAT);
  v->mutable_tensor()->add_float_val(1.5f);
  // A TF2 histogram: [2, 3] float tensor of (left, right, count).
  v = s->add_value();
  v->set_tag("h");
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("histograms");
  auto* t = v->mutable_tensor();
  t->set_dtype(tensorflow::DT_DOUBLE);
  t->mutable_tensor_shape()->add_dim()->set_size(2);
  t->mutable_tensor_shape()->add_dim()->set_size(3);
  for (double x : {0.0, 1.0, 3.0, 1.0, 2.0, 4.0}) t->add_double_val(x);
  // A rank-1 text tensor.
  v = s->add_value();
  v->set_tag("txt");
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  t = v->mutable_tensor();
  t->set_dtype(tensorflow::DT_STRING);
  t->mutable_tensor_shape()->add_dim()->set_size(2);
  t->add_string_val("a");
  t->add_string_val("b");
  // Some other tensor.
  v = s->add_value();
  v->set_tag("other");
  t = v->mutable_tensor();
  t->set_dtype(tensorflow::DT_FLOAT);
  t->mutable_tensor_shape()->add_dim()->set_size(3);
  for (float x : {1.f, 2.f, 3.f}) t->add_float_val(x);

  CKPT_ASSERT_OK_AND_ASSIGN(auto rows, DecodeEvent(Serialize(e)));
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].kind, EventValueKind::kScalar);
  EXPECT_EQ(rows[0].scalar, -0.125);
  EXPECT_EQ(rows[0].step, 4);
  EXPECT_EQ(rows[0].wall_time, 2.5);
  EXPECT_EQ(rows[1].scalar, 42);
  EXPECT_EQ(rows[2].scalar, 1.5);
  EXPECT_EQ(rows[3].kind, EventValueKind::kHistogram);
  EXPECT_EQ(rows[3].histogram.bucket_limit, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(rows[3].histogram.bucket, (std::vector<double>{3.0, 4.0}));
  EXPECT_EQ(rows[3].histogram.num, 7.0);
  EXPECT_EQ(rows[4].kind, EventValueKind::kText);
  EXPECT_EQ(rows[4].text, "a\nb");
  EXPECT_EQ(rows[5].kind, EventValueKind::kTensor);
  EXPECT_EQ(rows[5].shape, TensorShape({3}));
}

TEST(DecodeEventTest, GarbageIsDataLoss) {
  EXPECT_THAT(DecodeEvent(std::string("\xff\xff\xff", 3)),
              StatusIs(StatusCode::kDataLoss, "not a tensorflow.Event"));
}

TEST(EventFileReaderTest, BadEventNamesFileAndOffset) {
  auto mem = NewMemEnv();
  CKPT_ASSERT_OK(mem->CreateDirs("/d"));
  std::string good = EncodeRecord(Serialize(tensorflow::Event()));
  CKPT_ASSERT_OK(testing::WriteStringToFile(mem.get(), "/d/events.out.tfevents.1.h",
                                            good + EncodeRecord("\xff\xff\xff")));
  EXPECT_THAT(ReadEventFile(mem.get(), "/d/events.out.tfevents.1.h"),
              StatusIs(StatusCode::kDataLoss, "events.out.tfevents.1.h' at offset " +
                                                  std::to_string(good.size())));
}

TEST(ReadEventDirTest, FilesInNameOrder) {
  auto mem = NewMemEnv();
  EventWriterOptions o;
  o.env = mem.get();
  o.hostname = "h";
  o.filename_suffix = ".b";
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create("/logs", o));
    CKPT_ASSERT_OK(w->AddScalar("x", 2, 2));
  }
  o.filename_suffix = ".a";
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create("/logs", o));
    CKPT_ASSERT_OK(w->AddScalar("x", 1, 1));
  }
  CKPT_ASSERT_OK(testing::WriteStringToFile(mem.get(), "/logs/checkpoint", "junk"));
  CKPT_ASSERT_OK(mem->CreateDirs("/logs/eval"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto files, ListEventFiles(mem.get(), "/logs"));
  // MemEnv's clock ticks once per call, so the ".b" file, created first,
  // has the smaller time in its name and sorts first.
  ASSERT_EQ(files.size(), 2u);
  EXPECT_LT(files[0], files[1]);
  EXPECT_EQ(files[0].substr(files[0].size() - 2), ".b");
  CKPT_ASSERT_OK_AND_ASSIGN(auto rows, ReadEventDir(mem.get(), "/logs"));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].step, 2);
  EXPECT_EQ(rows[3].step, 1);
  EXPECT_THAT(ReadEventDir(mem.get(), "/nope"), StatusIs(StatusCode::kNotFound, "/nope"));
  // A file where the directory should be is the caller's mistake, not a missing file.
  CKPT_ASSERT_OK(WriteStringToFileAtomic(mem.get(), "/logs/a_file", "x"));
  EXPECT_THAT(ReadEventDir(mem.get(), "/logs/a_file"),
              StatusIs(StatusCode::kInvalidArgument, "not a directory"));
}

TEST(EventFileReaderTest, FollowsALiveWriter) {
  const std::string dir = testing::TempDir();
  EventWriterOptions o;
  o.hostname = "h";
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(dir, o));
  RecordReader::Options ro;
  ro.mode = RecordReader::Mode::kFollow;
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, EventFileReader::Open(Env::Posix(), w->path(), ro));
  std::vector<EventValue> rows;
  ASSERT_TRUE(reader->Next(&rows).value());  // the version record
  EXPECT_FALSE(reader->Next(&rows).value());
  for (int step = 1; step <= 20; ++step) {
    CKPT_ASSERT_OK(w->AddScalar("s", step, static_cast<float>(step)));
    if (step % 5 == 0) {
      CKPT_ASSERT_OK(w->Flush());
      for (;;) {
        auto got = reader->Next(&rows);
        ASSERT_TRUE(got.ok()) << got.status();
        if (!*got) break;
      }
      EXPECT_EQ(rows.size(), 1u + step);
    }
  }
  CKPT_ASSERT_OK(w->Close());
  EXPECT_EQ(rows.back().scalar, 20.0);
}

TEST(EventReaderSpecialFileTest, FifoEventFileIsAnErrorNotAHang) {
  const std::string dir = ::ckpt::testing::TempDir();
  const std::string fifo = dir + "/events.out.tfevents.1.host";
  CKPT_ASSERT_OK(::ckpt::testing::MakeFifo(fifo));
  using ::ckpt::testing::ReturnsPromptly;
  EXPECT_THAT(
      ReturnsPromptly([&] { return ReadEventFile(Env::Posix(), fifo).status(); }, {fifo}),
      StatusIs(StatusCode::kFailedPrecondition, "'" + fifo + "' is a FIFO, not a regular file"));
  EXPECT_THAT(ReturnsPromptly([&] { return ReadEventDir(Env::Posix(), dir).status(); }, {fifo}),
              StatusIs(StatusCode::kFailedPrecondition, "is a FIFO"));
}

}  // namespace
}  // namespace ckpt
