// Reading TensorBoard event files (ckpt/event_file.h) back, without
// TensorFlow: ReadEventFile / ReadEventDir / EventFileReader decode events
// into flat EventValue rows.
//
// Thread safety: an EventFileReader is used from one thread at a time. The
// free functions are reentrant.
#ifndef CKPT_EVENT_READER_H_
#define CKPT_EVENT_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/event_file.h"
#include "ckpt/histogram.h"
#include "ckpt/record.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt {

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

#endif  // CKPT_EVENT_READER_H_
