// EventWriter: file naming, every event kind, threads, the queue bound, the
// flush interval on a controllable clock, and error reporting.
#include <atomic>
#include <chrono>
#include <cfloat>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "ckpt/event_reader.h"
#include "ckpt/event_writer.h"
#include "ckpt/logging.h"
#include "tensorflow/core/util/event.pb.h"
#include "testutil/fake_clock.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::FaultInjectionEnv;
using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An Env whose clock the test sets, whose files count Flush() calls, and
// whose appends can be held at a gate.
class TestClockEnv : public ::ckpt::testing::FakeClockEnv {
 public:
  explicit TestClockEnv(Env* target) : FakeClockEnv(target, 1700000000.25) {}

  int flushes() const { return flushes_.load(); }
  int appends() const { return appends_.load(); }

  // While closed, Append blocks (and blocked_appends() counts the waiters).
  void CloseGate() {
    std::lock_guard<std::mutex> l(mu_);
    gate_open_ = false;
  }
  void OpenGate() {
    std::lock_guard<std::mutex> l(mu_);
    gate_open_ = true;
    cv_.notify_all();
  }
  int blocked_appends() const { return blocked_.load(); }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    CKPT_ASSIGN_OR_RETURN(auto f, target()->NewWritableFile(path));
    return std::unique_ptr<WritableFile>(new File(this, std::move(f)));
  }

 private:
  class File : public WritableFile {
   public:
    File(TestClockEnv* env, std::unique_ptr<WritableFile> f) : env_(env), f_(std::move(f)) {}
    Status Append(std::string_view d) override {
      {
        std::unique_lock<std::mutex> l(env_->mu_);
        ++env_->blocked_;
        env_->cv_.wait(l, [&] { return env_->gate_open_; });
        --env_->blocked_;
      }
      ++env_->appends_;
      return f_->Append(d);
    }
    Status Flush() override {
      ++env_->flushes_;
      return f_->Flush();
    }
    Status Sync() override { return f_->Sync(); }
    Status Close() override { return f_->Close(); }
    uint64_t Tell() const override { return f_->Tell(); }

   private:
    TestClockEnv* env_;
    std::unique_ptr<WritableFile> f_;
  };

  std::atomic<int> flushes_{0};
  std::atomic<int> appends_{0};
  std::atomic<int> blocked_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool gate_open_ = true;
};

// Waits (real time, up to 10 s) for `pred`.
template <typename Pred>
bool WaitFor(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

class EventWriterTest : public ::testing::Test {
 protected:
  EventWriterTest() : mem_(NewMemEnv()), env_(mem_.get()) {}
  EventWriterOptions Options() {
    EventWriterOptions o;
    o.env = &env_;
    o.hostname = "testhost";
    return o;
  }
  std::vector<EventValue> ReadBack(const std::string& path) {
    auto rows = ReadEventFile(mem_.get(), path);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<EventValue>{};
  }
  std::unique_ptr<MemEnv> mem_;
  TestClockEnv env_;
  const std::string logdir_ = "/logs/run1";
};

TEST(EventFileNameTest, TensorFlowLayout) {
  EXPECT_EQ(EventFileName(1700000000, "host", ""), "events.out.tfevents.1700000000.host");
  EXPECT_EQ(EventFileName(5, "h.example.com", ".v2"), "events.out.tfevents.0000000005.h.example.com.v2");
  EXPECT_TRUE(IsEventFileName("events.out.tfevents.1.h"));
  EXPECT_TRUE(IsEventFileName("x.tfevents.y"));
  EXPECT_FALSE(IsEventFileName("checkpoint"));
}

TEST_F(EventWriterTest, CreatesNamedFileWithVersionRecord) {
  auto o = Options();
  o.filename_suffix = ".v2";
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, o));
  EXPECT_EQ(w->path(), "/logs/run1/events.out.tfevents.1700000000.testhost.v2");
  // The first record is on the Env before any Close.
  auto rows = ReadBack(w->path());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].kind, EventValueKind::kFileVersion);
  EXPECT_EQ(rows[0].text, "brain.Event:2");
  EXPECT_EQ(rows[0].wall_time, 1700000000.0);
  EXPECT_EQ(rows[0].step, 0);
  // Same second, same name: refused rather than truncating the file.
  EXPECT_THAT(EventWriter::Create(logdir_, o), StatusIs(StatusCode::kAlreadyExists, w->path()));
  CKPT_EXPECT_OK(w->Close());
  CKPT_EXPECT_OK(w->Close());  // idempotent
}

TEST_F(EventWriterTest, WritesEveryKind) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, Options()));
  env_.Set(1700000001.5);
  CKPT_ASSERT_OK(w->AddScalar("loss", 7, 0.25f, ScalarStyle::kSimpleValue));
  CKPT_ASSERT_OK(w->AddScalar("acc", 8, 0.75f, ScalarStyle::kTensor));
  CKPT_ASSERT_OK(w->AddScalar("default", 9, -3.5f));
  CKPT_ASSERT_OK(w->AddHistogram("weights", 10, std::vector<double>{-1.0, 0.0, 0.5, 0.5, 2.0}));
  CKPT_ASSERT_OK(w->AddText("notes", 11, std::string("hello\0world", 11)));
  CKPT_ASSERT_OK(w->AddGraphDef(std::string("\x0a\x03\x0a\x01x", 5), 0));
  CKPT_ASSERT_OK(w->AddMetaGraphDef("meta-bytes", 0));
  CKPT_ASSERT_OK(w->AddSessionLog(SessionLogStatus::kStart, 1));
  CKPT_ASSERT_OK(w->AddSessionLog(SessionLogStatus::kCheckpoint, 100, "/m/model.ckpt-100"));
  CKPT_ASSERT_OK(w->Close());

  auto rows = ReadBack(w->path());
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows[1].kind, EventValueKind::kScalar);
  EXPECT_EQ(rows[1].tag, "loss");
  EXPECT_EQ(rows[1].step, 7);
  EXPECT_EQ(rows[1].wall_time, 1700000001.5);
  EXPECT_EQ(rows[1].scalar, 0.25);
  EXPECT_FALSE(rows[1].from_tensor);
  EXPECT_EQ(rows[1].plugin_name, "");
  EXPECT_EQ(rows[2].kind, EventValueKind::kScalar);
  EXPECT_EQ(rows[2].scalar, 0.75);
  EXPECT_TRUE(rows[2].from_tensor);
  EXPECT_EQ(rows[2].plugin_name, "scalars");
  EXPECT_EQ(rows[2].dtype, DataType::kFloat);
  EXPECT_EQ(rows[2].shape.rank(), 0);
  EXPECT_TRUE(rows[3].from_tensor);  // default style is TF2's
  EXPECT_EQ(rows[3].scalar, -3.5);
  EXPECT_EQ(rows[4].kind, EventValueKind::kHistogram);
  EXPECT_EQ(rows[4].histogram.num, 5);
  EXPECT_EQ(rows[4].histogram.min, -1.0);
  EXPECT_EQ(rows[4].histogram.max, 2.0);
  EXPECT_EQ(rows[4].histogram.sum, 2.0);
  EXPECT_EQ(rows[4].histogram.sum_squares, 5.5);
  double total = 0;
  for (double c : rows[4].histogram.bucket) total += c;
  EXPECT_EQ(total, 5);
  EXPECT_EQ(rows[5].kind, EventValueKind::kText);
  EXPECT_EQ(rows[5].plugin_name, "text");
  EXPECT_EQ(rows[5].text, std::string("hello\0world", 11));
  EXPECT_EQ(rows[6].kind, EventValueKind::kGraphDef);
  EXPECT_EQ(rows[6].bytes, std::string("\x0a\x03\x0a\x01x", 5));
  EXPECT_EQ(rows[7].kind, EventValueKind::kMetaGraphDef);
  EXPECT_EQ(rows[7].bytes, "meta-bytes");
  EXPECT_EQ(rows[8].kind, EventValueKind::kSessionLog);
  EXPECT_EQ(rows[8].session_status, SessionLogStatus::kStart);
  EXPECT_EQ(rows[8].step, 1);
  EXPECT_EQ(rows[9].session_status, SessionLogStatus::kCheckpoint);
  EXPECT_EQ(rows[9].text, "/m/model.ckpt-100");
}

TEST_F(EventWriterTest, Tf2ScalarWireFormat) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, Options()));
  CKPT_ASSERT_OK(w->AddScalar("x", 3, 1.0f, ScalarStyle::kTensor));
  CKPT_ASSERT_OK(w->Close());
  CKPT_ASSERT_OK_AND_ASSIGN(auto reader, EventFileReader::Open(mem_.get(), w->path()));
  std::string record;
  ASSERT_TRUE(reader->NextSerialized(&record).value());
  ASSERT_TRUE(reader->NextSerialized(&record).value());
  tensorflow::Event e;
  ASSERT_TRUE(e.ParseFromString(record));
  const auto& v = e.summary().value(0);
  EXPECT_EQ(v.tensor().dtype(), tensorflow::DT_FLOAT);
  EXPECT_TRUE(v.tensor().has_tensor_shape());
  EXPECT_EQ(v.tensor().tensor_shape().dim_size(), 0);
  EXPECT_EQ(v.tensor().tensor_content(), std::string("\x00\x00\x80\x3f", 4));
  EXPECT_EQ(v.metadata().plugin_data().plugin_name(), "scalars");
  EXPECT_EQ(v.metadata().plugin_data().content(), "");
}

TEST_F(EventWriterTest, ManyThreads) {
  auto o = Options();
  o.max_queue = 4;
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, o));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status s = (i % 3 == 0) ? w->AddText("t" + std::to_string(t), i, "x")
                                : w->AddScalar("t" + std::to_string(t), i, static_cast<float>(i));
        if (!s.ok()) ++failures;
        if (i % 50 == 0 && !w->Flush().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  CKPT_ASSERT_OK(w->Close());
  auto rows = ReadBack(w->path());
  ASSERT_EQ(rows.size(), 1u + kThreads * kPerThread);
  std::map<std::string, int64_t> next_step;
  for (size_t i = 1; i < rows.size(); ++i) {
    // Each thread's events stay in its order.
    EXPECT_EQ(rows[i].step, next_step[rows[i].tag]++) << rows[i].tag;
  }
  EXPECT_EQ(next_step.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(w->dropped_events(), 0u);
}

TEST_F(EventWriterTest, QueueBoundDropsWhenNotBlocking) {
  auto o = Options();
  o.max_queue = 3;
  o.block_when_full = false;
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, o));
  env_.CloseGate();
  CKPT_ASSERT_OK(w->AddScalar("s", 0, 0));
  // The background thread has taken event 0 and is stuck writing it.
  ASSERT_TRUE(WaitFor([&] { return env_.blocked_appends() == 1; }));
  for (int i = 1; i <= 3; ++i) CKPT_ASSERT_OK(w->AddScalar("s", i, 0));
  EXPECT_THAT(w->AddScalar("s", 4, 0), StatusIs(StatusCode::kResourceExhausted, "queue"));
  EXPECT_EQ(w->dropped_events(), 1u);
  env_.OpenGate();
  CKPT_ASSERT_OK(w->Flush());  // the queue drains; there is room again
  CKPT_ASSERT_OK(w->AddScalar("s", 5, 0));
  CKPT_ASSERT_OK(w->Close());
  std::vector<int64_t> steps;
  for (const auto& r : ReadBack(w->path())) {
    if (r.kind == EventValueKind::kScalar) steps.push_back(r.step);
  }
  EXPECT_THAT(steps, ElementsAre(0, 1, 2, 3, 5));
}

TEST_F(EventWriterTest, QueueBoundBlocksWhenFull) {
  auto o = Options();
  o.max_queue = 2;
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, o));
  env_.CloseGate();
  CKPT_ASSERT_OK(w->AddScalar("s", 0, 0));
  ASSERT_TRUE(WaitFor([&] { return env_.blocked_appends() == 1; }));
  CKPT_ASSERT_OK(w->AddScalar("s", 1, 0));
  CKPT_ASSERT_OK(w->AddScalar("s", 2, 0));
  std::atomic<bool> returned{false};
  std::thread producer([&] {
    EXPECT_TRUE(w->AddScalar("s", 3, 0).ok());
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(returned.load());  // waits for room
  env_.OpenGate();
  producer.join();
  EXPECT_TRUE(returned.load());
  CKPT_ASSERT_OK(w->Close());
  EXPECT_EQ(ReadBack(w->path()).size(), 5u);
}

TEST_F(EventWriterTest, FlushesOnTheEnvClockInterval) {
  auto o = Options();
  o.flush_interval_secs = 10;
  o.clock_poll_secs = 0.005;
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, o));
  EXPECT_EQ(env_.flushes(), 1);  // the version record is flushed at once
  CKPT_ASSERT_OK(w->AddScalar("s", 1, 1));
  ASSERT_TRUE(WaitFor([&] { return env_.appends() == 2; }));  // written...
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(env_.flushes(), 1);  // ...but not flushed: no time has passed
  env_.Advance(9);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(env_.flushes(), 1);
  env_.Advance(1.5);
  EXPECT_TRUE(WaitFor([&] { return env_.flushes() == 2; }));
  // Nothing new to flush: the next interval does not flush again.
  env_.Advance(20);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(env_.flushes(), 2);
  // An explicit Flush flushes at once, whatever the clock.
  CKPT_ASSERT_OK(w->AddScalar("s", 2, 2));
  CKPT_ASSERT_OK(w->Flush());
  EXPECT_EQ(env_.flushes(), 3);
  EXPECT_EQ(ReadBack(w->path()).size(), 3u);
  CKPT_ASSERT_OK(w->Close());
}

TEST_F(EventWriterTest, WriteErrorsAreReportedAndLogged) {
  FaultInjectionEnv faulty(mem_.get());
  auto o = Options();
  o.env = &faulty;
  std::vector<std::string> logged;
  std::mutex log_mu;
  LogSink old = SetLogSink([&](LogSeverity sev, std::string_view m) {
    std::lock_guard<std::mutex> l(log_mu);
    if (sev == LogSeverity::kError) logged.emplace_back(m);
  });
  faulty.FailAfter(2);  // create + the version record
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, o));
  CKPT_ASSERT_OK(w->AddScalar("s", 1, 1));  // queued; the write fails later
  Status flushed = w->Flush();
  EXPECT_THAT(flushed, StatusIs(StatusCode::kIoError, "injected fault"));
  EXPECT_THAT(flushed, StatusIs(StatusCode::kIoError, w->path()));
  EXPECT_THAT(w->AddScalar("s", 2, 2), StatusIs(StatusCode::kIoError, "injected fault"));
  EXPECT_THAT(w->Close(), StatusIs(StatusCode::kIoError, "injected fault"));
  EXPECT_THAT(w->Close(), StatusIs(StatusCode::kIoError, "injected fault"));
  SetLogSink(old);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], HasSubstr("injected fault"));
  EXPECT_GE(w->dropped_events(), 1u);
}

TEST_F(EventWriterTest, CreateFailureIsReturned) {
  FaultInjectionEnv faulty(mem_.get());
  auto o = Options();
  o.env = &faulty;
  faulty.FailAfter(1);  // the version record cannot be written
  EXPECT_THAT(EventWriter::Create(logdir_, o), StatusIs(StatusCode::kIoError, "injected fault"));
}

TEST_F(EventWriterTest, BadArguments) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, Options()));
  EXPECT_THAT(w->AddHistogram("h", 0, std::vector<double>{1.0, std::nan("")}),
              StatusIs(StatusCode::kInvalidArgument, "index 1"));
  EXPECT_THAT(w->AddHistogram("h", 0, std::vector<double>{HUGE_VAL}), StatusIs(StatusCode::kInvalidArgument, "h"));
  HistogramData bad;
  bad.bucket_limit = {1, 2};
  bad.bucket = {1};
  EXPECT_THAT(w->AddHistogramData("h", 0, bad), StatusIs(StatusCode::kInvalidArgument, "limits"));
  CKPT_ASSERT_OK(w->Close());
  EXPECT_THAT(w->AddScalar("s", 1, 1), StatusIs(StatusCode::kFailedPrecondition, "closed"));
  auto o = Options();
  o.max_queue = 0;
  EXPECT_THAT(EventWriter::Create("/logs/other", o),
              StatusIs(StatusCode::kInvalidArgument, "max_queue"));
}

TEST_F(EventWriterTest, DestructorFlushes) {
  std::string path;
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, EventWriter::Create(logdir_, Options()));
    path = w->path();
    CKPT_ASSERT_OK(w->AddScalar("s", 1, 1));
  }
  EXPECT_EQ(ReadBack(path).size(), 2u);
}

}  // namespace
}  // namespace ckpt
