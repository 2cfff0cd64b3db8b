// EventWriter: writes summaries to a TensorBoard event file
// (ckpt/event_file.h) during training, without TensorFlow.
//
// The calling thread only serializes the event and queues it; a background
// thread writes the queue to disk and flushes every `flush_interval_secs`,
// on Flush() and on Close().
//
// Thread safety: EventWriter is thread-safe: events may be added from any
// number of threads.
#ifndef CKPT_EVENT_WRITER_H_
#define CKPT_EVENT_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/event_file.h"
#include "ckpt/histogram.h"
#include "ckpt/status.h"

namespace ckpt {

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

}  // namespace ckpt

#endif  // CKPT_EVENT_WRITER_H_
