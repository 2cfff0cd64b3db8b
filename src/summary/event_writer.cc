// EventWriter: event files written by a background thread.
//
// Add* calls build and serialize the Event on the caller's thread and push
// it onto a bounded queue. One background thread takes everything queued,
// appends the framed records to the file and flushes the file when asked
// (Flush/Close) or when flush_interval_secs have passed on the Env's clock
// since the last flush. The first error is sticky: it is logged, returned by
// every later call, and from then on events are dropped.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "ckpt/logging.h"
#include "ckpt/record.h"
#include "ckpt/event_writer.h"
#include "summary/summary_internal.h"
#include "tensorflow/core/framework/summary.pb.h"
#include "tensorflow/core/util/event.pb.h"

namespace ckpt {
namespace {

std::string LocalHostname() {
  char buf[256];
  if (gethostname(buf, sizeof(buf)) != 0) return "localhost";
  buf[sizeof(buf) - 1] = '\0';
  return buf[0] == '\0' ? std::string("localhost") : std::string(buf);
}

}  // namespace

class EventWriter::Impl {
 public:
  Impl(std::string path, EventWriterOptions options, std::unique_ptr<WritableFile> file,
       double now)
      : path_(std::move(path)),
        options_(std::move(options)),
        file_(std::move(file)),
        records_(file_.get(), path_),
        last_flush_(now) {}

  void Start() { thread_ = std::thread([this] { Loop(); }); }

  Status Enqueue(std::string event) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!status_.ok()) {
      ++dropped_;
      return status_;
    }
    if (closing_) return FailedPreconditionError("event writer for '" + path_ + "' is closed");
    if (queue_.size() >= options_.max_queue) {
      if (!options_.block_when_full) {
        ++dropped_;
        return ResourceExhaustedError("event queue of '" + path_ + "' is full (" +
                                      std::to_string(options_.max_queue) +
                                      " events); event dropped");
      }
      space_cv_.wait(lock, [&] {
        return queue_.size() < options_.max_queue || !status_.ok() || closing_;
      });
      if (!status_.ok()) {
        ++dropped_;
        return status_;
      }
      if (closing_) return FailedPreconditionError("event writer for '" + path_ + "' is closed");
    }
    queue_.push_back(std::move(event));
    ++enqueued_;
    work_cv_.notify_one();
    return Status::OK();
  }

  Status Flush() {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return status_.ok() ? FailedPreconditionError("event writer for '" + path_ +
                                                               "' is closed")
                                     : status_;
    const uint64_t target = enqueued_;
    flush_requested_ = true;
    work_cv_.notify_one();
    done_cv_.wait(lock, [&] { return flushed_ >= target || !status_.ok() || exited_; });
    return status_;
  }

  Status Close() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (closed_) return status_;
      closing_ = true;
      work_cv_.notify_one();
      space_cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    Status s = file_->Close();
    std::unique_lock<std::mutex> lock(mu_);
    closed_ = true;
    if (!s.ok()) SetError(s.WithContext("closing " + path_));
    return status_;
  }

  uint64_t dropped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
  }

 private:
  // REQUIRES: mu_ held.
  void SetError(const Status& s) {
    if (!status_.ok()) return;
    status_ = s;
    Log(LogSeverity::kError, "event writer: " + s.ToString());
    dropped_ += queue_.size();
    queue_.clear();
    space_cv_.notify_all();
    done_cv_.notify_all();
  }

  void Loop() {
    Env* env = options_.env;
    const double interval = std::max(options_.flush_interval_secs, 0.0);
    const double poll = std::max(1e-3, std::min(options_.clock_poll_secs, interval));
    std::deque<std::string> batch;
    bool dirty = false;     // written but not flushed
    uint64_t written = 0;   // events taken and handled
    for (;;) {
      bool flush_now, closing;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (queue_.empty() && !flush_requested_ && !closing_) {
          work_cv_.wait_for(lock, std::chrono::duration<double>(poll));
        }
        batch.swap(queue_);
        flush_now = flush_requested_;
        flush_requested_ = false;
        closing = closing_;
        if (!batch.empty()) space_cv_.notify_all();
      }
      Status s;
      for (std::string& event : batch) {
        s = records_.WriteRecord(event);
        if (!s.ok()) break;
        dirty = true;
      }
      written += batch.size();
      batch.clear();
      const double now = env->NowSeconds();
      if (s.ok() && (flush_now || closing || now - last_flush_ >= interval)) {
        if (dirty) s = records_.Flush();
        dirty = false;
        last_flush_ = now;
        flush_now = true;
      }
      std::unique_lock<std::mutex> lock(mu_);
      if (!s.ok()) SetError(s);
      if (flush_now) {
        flushed_ = written;
        done_cv_.notify_all();
      }
      if (closing && queue_.empty()) {
        exited_ = true;
        done_cv_.notify_all();
        return;
      }
    }
  }

  const std::string path_;
  const EventWriterOptions options_;
  std::unique_ptr<WritableFile> file_;
  RecordWriter records_;  // background thread only (after Start)
  double last_flush_;     // background thread only

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // queue, flush or close requested
  std::condition_variable space_cv_;  // queue has room
  std::condition_variable done_cv_;   // a flush finished / error / exit
  std::deque<std::string> queue_;
  uint64_t enqueued_ = 0;
  uint64_t flushed_ = 0;  // events written and flushed
  uint64_t dropped_ = 0;
  bool flush_requested_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool exited_ = false;
  Status status_;
  std::thread thread_;

  friend class EventWriter;
};

Result<std::unique_ptr<EventWriter>> EventWriter::Create(const std::string& logdir,
                                                         EventWriterOptions options) {
  if (options.env == nullptr) return InvalidArgumentError("EventWriterOptions.env is null");
  if (options.max_queue == 0) return InvalidArgumentError("EventWriterOptions.max_queue is 0");
  if (!(options.flush_interval_secs >= 0)) {
    return InvalidArgumentError("EventWriterOptions.flush_interval_secs is negative");
  }
  Env* env = options.env;
  if (options.hostname.empty()) options.hostname = LocalHostname();
  if (options.hostname.find('/') != std::string::npos ||
      options.filename_suffix.find('/') != std::string::npos) {
    return InvalidArgumentError("hostname and filename suffix must not contain '/'");
  }
  CKPT_RETURN_IF_ERROR(env->CreateDirs(logdir));
  const double now = env->NowSeconds();
  const int64_t seconds = static_cast<int64_t>(std::floor(now));
  const std::string path =
      JoinPath(logdir, EventFileName(seconds, options.hostname, options.filename_suffix));
  if (env->FileExists(path)) {
    return AlreadyExistsError("event file '" + path +
                              "' already exists (use a filename suffix for a second writer)");
  }
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env->NewWritableFile(path));

  auto impl = std::make_unique<Impl>(path, options, std::move(file), now);
  tensorflow::Event first;
  first.set_wall_time(static_cast<double>(seconds));
  first.set_file_version(std::string(kEventFileVersion));
  if (!options.source_writer.empty()) {
    first.mutable_source_metadata()->set_writer(options.source_writer);
  }
  CKPT_RETURN_IF_ERROR(impl->records_.WriteRecord(first.SerializeAsString()));
  CKPT_RETURN_IF_ERROR(impl->records_.Flush());
  impl->Start();
  return std::unique_ptr<EventWriter>(new EventWriter(path, std::move(impl)));
}

EventWriter::EventWriter(std::string path, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), impl_(std::move(impl)) {}

EventWriter::~EventWriter() {
  Status s = impl_->Close();
  (void)s;  // Already logged when it happened.
}

Status EventWriter::Enqueue(std::string serialized_event) {
  return impl_->Enqueue(std::move(serialized_event));
}

namespace {

tensorflow::Event NewEvent(Env* env, int64_t step) {
  tensorflow::Event e;
  e.set_wall_time(env->NowSeconds());
  e.set_step(step);
  return e;
}

}  // namespace

Status EventWriter::AddScalar(std::string_view tag, int64_t step, float value) {
  return AddScalar(tag, step, value, impl_->options_.scalar_style);
}

Status EventWriter::AddScalar(std::string_view tag, int64_t step, float value,
                              ScalarStyle style) {
  tensorflow::Event e = NewEvent(impl_->options_.env, step);
  tensorflow::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  if (style == ScalarStyle::kSimpleValue) {
    v->set_simple_value(value);
  } else {
    tensorflow::TensorProto* t = v->mutable_tensor();
    t->set_dtype(tensorflow::DT_FLOAT);
    t->mutable_tensor_shape();  // a scalar: present, no dims
    char bytes[4];
    std::memcpy(bytes, &value, 4);  // little-endian hosts only, as the bundle code
    t->set_tensor_content(bytes, 4);
    // ScalarPluginData{version: 0} serializes to no bytes.
    v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("scalars");
  }
  return Enqueue(e.SerializeAsString());
}

Status EventWriter::AddHistogram(std::string_view tag, int64_t step,
                                 const std::vector<double>& values) {
  Histogram h;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return InvalidArgumentError("histogram '" + std::string(tag) +
                                  "' has a NaN or infinite value at index " + std::to_string(i));
    }
    h.Add(values[i]);
  }
  return AddHistogramData(tag, step, h.ToData());
}

Status EventWriter::AddHistogramData(std::string_view tag, int64_t step,
                                     const HistogramData& histogram) {
  if (histogram.bucket.size() != histogram.bucket_limit.size()) {
    return InvalidArgumentError("histogram '" + std::string(tag) + "' has " +
                                std::to_string(histogram.bucket.size()) + " counts for " +
                                std::to_string(histogram.bucket_limit.size()) + " limits");
  }
  tensorflow::Event e = NewEvent(impl_->options_.env, step);
  tensorflow::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  summary_internal::HistogramToProto(histogram, v->mutable_histo());
  return Enqueue(e.SerializeAsString());
}

Status EventWriter::AddText(std::string_view tag, int64_t step, std::string_view text) {
  tensorflow::Event e = NewEvent(impl_->options_.env, step);
  tensorflow::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  tensorflow::TensorProto* t = v->mutable_tensor();
  t->set_dtype(tensorflow::DT_STRING);
  t->mutable_tensor_shape();
  t->add_string_val(std::string(text));
  // TextPluginData{version: 0} serializes to no bytes.
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  return Enqueue(e.SerializeAsString());
}

Status EventWriter::AddGraphDef(std::string_view serialized_graph_def, int64_t step) {
  tensorflow::Event e = NewEvent(impl_->options_.env, step);
  e.set_graph_def(std::string(serialized_graph_def));
  return Enqueue(e.SerializeAsString());
}

Status EventWriter::AddMetaGraphDef(std::string_view serialized_meta_graph_def, int64_t step) {
  tensorflow::Event e = NewEvent(impl_->options_.env, step);
  e.set_meta_graph_def(std::string(serialized_meta_graph_def));
  return Enqueue(e.SerializeAsString());
}

Status EventWriter::AddSessionLog(SessionLogStatus status, int64_t step,
                                  std::string_view checkpoint_path, std::string_view msg) {
  tensorflow::Event e = NewEvent(impl_->options_.env, step);
  tensorflow::SessionLog* log = e.mutable_session_log();
  log->set_status(static_cast<tensorflow::SessionLog::SessionStatus>(status));
  log->set_checkpoint_path(std::string(checkpoint_path));
  log->set_msg(std::string(msg));
  return Enqueue(e.SerializeAsString());
}

Status EventWriter::AddSerializedEvent(std::string serialized_event) {
  return Enqueue(std::move(serialized_event));
}

Status EventWriter::Flush() { return impl_->Flush(); }
Status EventWriter::Close() { return impl_->Close(); }
uint64_t EventWriter::dropped_events() const { return impl_->dropped(); }

}  // namespace ckpt
