// TensorBoard event files: writing summaries during training and reading
// them back, without TensorFlow.
//
// An event file is a TFRecord file (ckpt/record.h) of serialized
// tensorflow.Event protos named
//   <logdir>/events.out.tfevents.<10-digit creation seconds>.<hostname><suffix>
// whose first record holds the creation time and file_version
// "brain.Event:2". TensorBoard, tf.summary and tf.compat.v1.summary read and
// write the same files.
//
//   EventWriter  appends events from any number of threads. The calling
//                thread only serializes the event and queues it; a
//                background thread writes the queue to disk and flushes
//                every `flush_interval_secs`, on Flush() and on Close().
//   Histogram    TensorFlow's default-bucket histogram (HistogramProto).
//   ReadEventFile / ReadEventDir / EventFileReader
//                decode events into flat EventValue rows.
//
// Thread safety: EventWriter is thread-safe. Histogram and EventFileReader
// are not (use one from one thread at a time). The free functions are
// reentrant.
#ifndef CKPT_SUMMARY_H_
#define CKPT_SUMMARY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/record.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt {

// "brain.Event:2", the file_version of the first record.
inline constexpr std::string_view kEventFileVersion = "brain.Event:2";

// The name TensorFlow gives an event file created at `seconds`:
// "events.out.tfevents.0001700000.myhost" + suffix.
std::string EventFileName(int64_t seconds, std::string_view hostname, std::string_view suffix);

// True if `name` (a file name, not a path) is an event file as TensorBoard
// sees it: its name contains "tfevents".
bool IsEventFileName(std::string_view name);

// ---------------------------------------------------------------------------
// Histograms.

// The contents of a HistogramProto. bucket[i] counts the values v with
// bucket_limit[i-1] <= v < bucket_limit[i] (the first bucket starts at
// -infinity).
struct HistogramData {
  double min = 0;
  double max = 0;
  double num = 0;
  double sum = 0;
  double sum_squares = 0;
  std::vector<double> bucket_limit;
  std::vector<double> bucket;
};

// Accumulates values into buckets, as TensorFlow's histogram::Histogram
// that tf.compat.v1.summary.histogram uses.
class Histogram {
 public:
  // TensorFlow's default buckets: limits 1e-12 * 1.1^k below 1e20 and their
  // negatives, 0, and +-DBL_MAX.
  Histogram();
  // Custom limits. REQUIRES: strictly increasing; the last should be DBL_MAX
  // so that every value has a bucket (larger values are counted in the last
  // bucket).
  explicit Histogram(std::vector<double> bucket_limits);

  // The default bucket limits, in increasing order (1551 values).
  static const std::vector<double>& DefaultBucketLimits();

  void Add(double value);
  void Clear();

  // The summary TensorFlow writes: min, max, num, sum, sum_squares, and the
  // buckets with every run of empty buckets collapsed into one (its last
  // limit, count 0) unless `preserve_zero_buckets`. An empty histogram has
  // one bucket (DBL_MAX, 0).
  HistogramData ToData(bool preserve_zero_buckets = false) const;

 private:
  std::vector<double> limits_;
  std::vector<double> counts_;
  double min_ = 0;
  double max_ = 0;
  double num_ = 0;
  double sum_ = 0;
  double sum_squares_ = 0;
};

// ---------------------------------------------------------------------------
// Writing.

enum class SessionLogStatus { kUnspecified = 0, kStart = 1, kStop = 2, kCheckpoint = 3 };

// How AddScalar stores a value.
enum class ScalarStyle {
  // TF1 (tf.compat.v1.summary.scalar, Estimator): Summary.Value.simple_value.
  kSimpleValue,
  // TF2 (tf.summary.scalar): a DT_FLOAT scalar TensorProto (tensor_content)
  // with metadata plugin_name "scalars".
  kTensor,
};

struct EventWriterOptions {
  // File system; not owned. Its NowSeconds() is the clock for file names,
  // wall times and the flush interval.
  Env* env = Env::Posix();
  // Appended to the file name, e.g. ".v2".
  std::string filename_suffix;
  // Host name in the file name; empty: the machine's name.
  std::string hostname;
  // Events that may wait for the background thread (>= 1).
  size_t max_queue = 10;
  // What an Add call does when the queue is full: wait for room (true), or
  // drop the event and return ResourceExhausted (false).
  bool block_when_full = true;
  // The background thread flushes written events at least this often.
  double flush_interval_secs = 120;
  // Real seconds between checks of env->NowSeconds() against the flush
  // interval (bounded by the interval itself); lets a test's clock drive it.
  double clock_poll_secs = 1.0;
  ScalarStyle scalar_style = ScalarStyle::kTensor;
  // If set, the first record also names the writer (Event.source_metadata;
  // TensorFlow >= 2.13's C++ writer puts "tensorflow.core.util.events_writer"
  // there, older ones nothing). TensorBoard shows it as the run's writer.
  std::string source_writer;
};

class EventWriter {
 public:
  // Creates `logdir` (and parents) and the event file in it, writes and
  // flushes the first record (file_version, wall time = creation seconds)
  // and starts the background thread. AlreadyExists if a file of that name
  // exists (two writers in one second: give one a suffix).
  static Result<std::unique_ptr<EventWriter>> Create(const std::string& logdir,
                                                     EventWriterOptions options);

  // Closes (see Close); an error is logged.
  ~EventWriter();

  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Path of the event file.
  const std::string& path() const { return path_; }

  // Each Add* call stamps the event with env->NowSeconds() and queues it.
  // It returns the first background write error if one happened (the
  // writer then drops all further events), FailedPrecondition after
  // Close(), ResourceExhausted if the queue is full and
  // !block_when_full, InvalidArgument for a bad argument.

  // A scalar in options.scalar_style, or in `style`.
  Status AddScalar(std::string_view tag, int64_t step, float value);
  Status AddScalar(std::string_view tag, int64_t step, float value, ScalarStyle style);
  // A histogram of `values` over TensorFlow's default buckets (a
  // HistogramProto, as tf.compat.v1.summary.histogram). InvalidArgument if
  // a value is NaN or infinite (TensorFlow refuses them too).
  Status AddHistogram(std::string_view tag, int64_t step, const std::vector<double>& values);
  // A histogram built elsewhere (e.g. with Histogram::ToData).
  Status AddHistogramData(std::string_view tag, int64_t step, const HistogramData& histogram);
  // Text for TensorBoard's text plugin (tf.summary.text): a DT_STRING
  // scalar tensor with metadata plugin_name "text".
  Status AddText(std::string_view tag, int64_t step, std::string_view text);
  // Serialized GraphDef / MetaGraphDef bytes (not parsed).
  Status AddGraphDef(std::string_view serialized_graph_def, int64_t step = 0);
  Status AddMetaGraphDef(std::string_view serialized_meta_graph_def, int64_t step = 0);
  // A SessionLog (START at the first step, CHECKPOINT with the prefix at
  // every save).
  Status AddSessionLog(SessionLogStatus status, int64_t step,
                       std::string_view checkpoint_path = {}, std::string_view msg = {});
  // A whole serialized tensorflow.Event, written as is.
  Status AddSerializedEvent(std::string serialized_event);

  // Waits until every event queued before the call is written and flushed
  // to the Env; returns the first write error, if any.
  Status Flush();
  // Flushes, stops the background thread and closes the file. Returns the
  // first write error (also on later calls). Idempotent.
  Status Close();

  // Events dropped because the queue was full or after an error.
  uint64_t dropped_events() const;

 private:
  class Impl;
  EventWriter(std::string path, std::unique_ptr<Impl> impl);
  Status Enqueue(std::string serialized_event);

  std::string path_;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------
// Reading.

enum class EventValueKind {
  kFileVersion,   // text: the version string
  kScalar,        // scalar
  kHistogram,     // histogram
  kText,          // text
  kTensor,        // other tensor summaries: dtype, shape, bytes = TensorProto
  kImage,         // bytes: encoded image
  kAudio,         // bytes: encoded audio
  kGraphDef,      // bytes: serialized GraphDef
  kMetaGraphDef,  // bytes: serialized MetaGraphDef
  kSessionLog,    // session_status, text: checkpoint_path, msg
  kRunMetadata,   // tag, bytes: serialized RunMetadata
  kLogMessage,    // text: the message
  kUnknown,       // an event or value of no kind above
};

// "file_version", "scalar", "histogram", "text", "tensor", "image", "audio",
// "graph_def", "meta_graph_def", "session_log", "run_metadata",
// "log_message", "unknown".
std::string_view EventValueKindName(EventValueKind kind);

// One row of an event file: an event without a summary, or one value of
// an event's summary.
struct EventValue {
  double wall_time = 0;
  int64_t step = 0;
  std::string tag;          // summary tag or run-metadata tag; else empty
  EventValueKind kind = EventValueKind::kUnknown;
  std::string plugin_name;  // summary metadata's plugin, if any
  double scalar = 0;        // kScalar
  // kScalar: true for the TF2 tensor style, false for simple_value.
  bool from_tensor = false;
  HistogramData histogram;  // kHistogram (a TF2 "histograms" tensor is
                            // converted: limits = right edges, sum = 0)
  std::string text;         // kText (rank > 0: elements joined by '\n'),
                            // kFileVersion, kLogMessage, kSessionLog path
  std::string bytes;        // see EventValueKind
  DataType dtype = DataType::kInvalid;  // tensor summaries
  TensorShape shape;                    // tensor summaries
  SessionLogStatus session_status = SessionLogStatus::kUnspecified;
  std::string session_msg;
};

// Decodes one serialized tensorflow.Event into rows (an event whose
// summary has no values gives none). DataLoss if it does not parse.
Result<std::vector<EventValue>> DecodeEvent(std::string_view serialized_event);

// Reads events one record at a time (see RecordReader for the modes).
class EventFileReader {
 public:
  static Result<std::unique_ptr<EventFileReader>> Open(Env* env, const std::string& path,
                                                       RecordReader::Options options = {});
  // Appends the rows of the next event to *values and returns true, or
  // returns false at the end (follow mode: nothing complete yet).
  Result<bool> Next(std::vector<EventValue>* values);
  // The next serialized event (not decoded).
  Result<bool> NextSerialized(std::string* serialized_event);
  uint64_t offset() const { return records_->offset(); }

 private:
  explicit EventFileReader(std::unique_ptr<RecordReader> records);
  std::unique_ptr<RecordReader> records_;
};

// Every row of one event file, in file order (strict mode).
Result<std::vector<EventValue>> ReadEventFile(Env* env, const std::string& path);

// The event files directly in `logdir` (IsEventFileName), as paths sorted
// by name, i.e. by creation time. NotFound if `logdir` is not a directory.
Result<std::vector<std::string>> ListEventFiles(Env* env, const std::string& logdir);

// Every row of every event file in `logdir`, file by file in name order.
Result<std::vector<EventValue>> ReadEventDir(Env* env, const std::string& logdir);

}  // namespace ckpt

#endif  // CKPT_SUMMARY_H_
