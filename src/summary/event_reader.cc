// Reading event files back into flat rows.
#include <algorithm>
#include <cstring>
#include <utility>

#include "ckpt/event_reader.h"
#include "summary/summary_internal.h"
#include "tensor/proto_convert.h"
#include "tensorflow/core/framework/summary.pb.h"
#include "tensorflow/core/util/event.pb.h"

namespace ckpt {
namespace {

// Element i of a numeric tensor as a double, from tensor_content or the typed
// fields; false if the tensor has no such element or an unsupported dtype.
bool NumericElement(const tensorflow::TensorProto& t, int64_t i, double* out) {
  const DataType dtype = static_cast<DataType>(t.dtype());
  const std::string& content = t.tensor_content();
  if (!content.empty()) {
    const size_t size = DataTypeSize(dtype);
    if (size == 0 || (static_cast<uint64_t>(i) + 1) * size > content.size()) return false;
    const char* p = content.data() + i * size;
    switch (dtype) {
      case DataType::kFloat: { float v; std::memcpy(&v, p, 4); *out = v; return true; }
      case DataType::kDouble: { double v; std::memcpy(&v, p, 8); *out = v; return true; }
      case DataType::kInt32: { int32_t v; std::memcpy(&v, p, 4); *out = v; return true; }
      case DataType::kInt64: { int64_t v; std::memcpy(&v, p, 8); *out = static_cast<double>(v); return true; }
      case DataType::kInt16: { int16_t v; std::memcpy(&v, p, 2); *out = v; return true; }
      case DataType::kInt8: { int8_t v; std::memcpy(&v, p, 1); *out = v; return true; }
      case DataType::kUInt8: case DataType::kBool: { *out = static_cast<unsigned char>(*p); return true; }
      case DataType::kUInt16: { uint16_t v; std::memcpy(&v, p, 2); *out = v; return true; }
      case DataType::kUInt32: { uint32_t v; std::memcpy(&v, p, 4); *out = v; return true; }
      case DataType::kUInt64: { uint64_t v; std::memcpy(&v, p, 8); *out = static_cast<double>(v); return true; }
      default: return false;
    }
  }
  auto pick = [&](const auto& field) {
    if (field.empty()) return false;
    // A single value stands for every element (TensorFlow's repeated-last rule).
    *out = static_cast<double>(field.Get(std::min<int64_t>(i, field.size() - 1)));
    return true;
  };
  switch (dtype) {
    case DataType::kFloat: return pick(t.float_val());
    case DataType::kDouble: return pick(t.double_val());
    case DataType::kInt32: case DataType::kInt16: case DataType::kInt8:
    case DataType::kUInt8: case DataType::kUInt16: return pick(t.int_val());
    case DataType::kInt64: return pick(t.int64_val());
    case DataType::kBool: return pick(t.bool_val());
    case DataType::kUInt32: return pick(t.uint32_val());
    case DataType::kUInt64: return pick(t.uint64_val());
    default: return false;
  }
}

void DecodeTensorValue(const tensorflow::TensorProto& t, EventValue* row) {
  row->dtype = static_cast<DataType>(t.dtype());
  auto shape = ShapeFromProto(t.tensor_shape());
  if (shape.ok()) row->shape = *shape;
  const std::string& plugin = row->plugin_name;
  const bool valid_shape = shape.ok();
  const int64_t n = valid_shape ? row->shape.num_elements() : -1;
  if (row->dtype == DataType::kString && (plugin == "text" || plugin.empty())) {
    row->kind = EventValueKind::kText;
    for (int i = 0; i < t.string_val_size(); ++i) {
      if (i > 0) row->text += '\n';
      row->text += t.string_val(i);
    }
    if (plugin.empty() && !(valid_shape && n == 1)) row->kind = EventValueKind::kTensor;
    if (row->kind == EventValueKind::kTensor) {
      row->text.clear();
      row->bytes = t.SerializeAsString();
    }
    return;
  }
  double v;
  if (valid_shape && n == 1 && plugin != "histograms" && NumericElement(t, 0, &v)) {
    row->kind = EventValueKind::kScalar;
    row->scalar = v;
    row->from_tensor = true;
    return;
  }
  // TF2 histograms: a [k, 3] tensor of (left edge, right edge, count) rows.
  if (plugin == "histograms" && valid_shape && row->shape.rank() == 2 && row->shape.dim(1) == 3) {
    HistogramData h;
    bool ok = true;
    const int64_t k = row->shape.dim(0);
    for (int64_t r = 0; r < k && ok; ++r) {
      double left, right, count;
      ok = NumericElement(t, 3 * r, &left) && NumericElement(t, 3 * r + 1, &right) &&
           NumericElement(t, 3 * r + 2, &count);
      if (!ok) break;
      if (r == 0) h.min = left;
      h.max = right;
      h.num += count;
      h.bucket_limit.push_back(right);
      h.bucket.push_back(count);
    }
    if (ok) {
      row->kind = EventValueKind::kHistogram;
      row->histogram = std::move(h);
      return;
    }
  }
  row->kind = EventValueKind::kTensor;
  row->bytes = t.SerializeAsString();
}

EventValue SummaryRow(const tensorflow::Event& e, const tensorflow::Summary::Value& v) {
  EventValue row;
  row.wall_time = e.wall_time();
  row.step = e.step();
  row.tag = v.tag().empty() ? v.node_name() : v.tag();
  if (v.has_metadata()) row.plugin_name = v.metadata().plugin_data().plugin_name();
  switch (v.value_case()) {
    case tensorflow::Summary::Value::kSimpleValue:
      row.kind = EventValueKind::kScalar;
      row.scalar = v.simple_value();
      break;
    case tensorflow::Summary::Value::kHisto:
      row.kind = EventValueKind::kHistogram;
      row.histogram = summary_internal::HistogramFromProto(v.histo());
      break;
    case tensorflow::Summary::Value::kTensor:
      DecodeTensorValue(v.tensor(), &row);
      break;
    case tensorflow::Summary::Value::kImage:
      row.kind = EventValueKind::kImage;
      row.bytes = v.image().encoded_image_string();
      break;
    case tensorflow::Summary::Value::kAudio:
      row.kind = EventValueKind::kAudio;
      row.bytes = v.audio().encoded_audio_string();
      break;
    default:
      row.kind = EventValueKind::kUnknown;
      break;
  }
  return row;
}

}  // namespace

std::string_view EventValueKindName(EventValueKind kind) {
  switch (kind) {
    case EventValueKind::kFileVersion: return "file_version";
    case EventValueKind::kScalar: return "scalar";
    case EventValueKind::kHistogram: return "histogram";
    case EventValueKind::kText: return "text";
    case EventValueKind::kTensor: return "tensor";
    case EventValueKind::kImage: return "image";
    case EventValueKind::kAudio: return "audio";
    case EventValueKind::kGraphDef: return "graph_def";
    case EventValueKind::kMetaGraphDef: return "meta_graph_def";
    case EventValueKind::kSessionLog: return "session_log";
    case EventValueKind::kRunMetadata: return "run_metadata";
    case EventValueKind::kLogMessage: return "log_message";
    case EventValueKind::kUnknown: return "unknown";
  }
  return "unknown";
}

Result<std::vector<EventValue>> DecodeEvent(std::string_view serialized_event) {
  tensorflow::Event e;
  if (!e.ParseFromArray(serialized_event.data(), static_cast<int>(serialized_event.size()))) {
    return DataLossError("record of " + std::to_string(serialized_event.size()) +
                         " bytes is not a tensorflow.Event");
  }
  std::vector<EventValue> rows;
  auto base = [&](EventValueKind kind) {
    EventValue row;
    row.wall_time = e.wall_time();
    row.step = e.step();
    row.kind = kind;
    return row;
  };
  switch (e.what_case()) {
    case tensorflow::Event::kFileVersion: {
      EventValue row = base(EventValueKind::kFileVersion);
      row.text = e.file_version();
      rows.push_back(std::move(row));
      break;
    }
    case tensorflow::Event::kGraphDef: {
      EventValue row = base(EventValueKind::kGraphDef);
      row.bytes = e.graph_def();
      rows.push_back(std::move(row));
      break;
    }
    case tensorflow::Event::kMetaGraphDef: {
      EventValue row = base(EventValueKind::kMetaGraphDef);
      row.bytes = e.meta_graph_def();
      rows.push_back(std::move(row));
      break;
    }
    case tensorflow::Event::kSummary:
      for (const auto& v : e.summary().value()) rows.push_back(SummaryRow(e, v));
      break;
    case tensorflow::Event::kSessionLog: {
      EventValue row = base(EventValueKind::kSessionLog);
      row.session_status = static_cast<SessionLogStatus>(e.session_log().status());
      row.text = e.session_log().checkpoint_path();
      row.session_msg = e.session_log().msg();
      rows.push_back(std::move(row));
      break;
    }
    case tensorflow::Event::kTaggedRunMetadata: {
      EventValue row = base(EventValueKind::kRunMetadata);
      row.tag = e.tagged_run_metadata().tag();
      row.bytes = e.tagged_run_metadata().run_metadata();
      rows.push_back(std::move(row));
      break;
    }
    case tensorflow::Event::kLogMessage: {
      EventValue row = base(EventValueKind::kLogMessage);
      row.text = e.log_message().message();
      rows.push_back(std::move(row));
      break;
    }
    default:
      rows.push_back(base(EventValueKind::kUnknown));
      break;
  }
  return rows;
}

// ---------------------------------------------------------------------------

EventFileReader::EventFileReader(std::unique_ptr<RecordReader> records)
    : records_(std::move(records)) {}

Result<std::unique_ptr<EventFileReader>> EventFileReader::Open(Env* env, const std::string& path,
                                                               RecordReader::Options options) {
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> records,
                        RecordReader::Open(env, path, options));
  return std::unique_ptr<EventFileReader>(new EventFileReader(std::move(records)));
}

Result<bool> EventFileReader::NextSerialized(std::string* serialized_event) {
  return records_->ReadRecord(serialized_event);
}

Result<bool> EventFileReader::Next(std::vector<EventValue>* values) {
  const uint64_t at = records_->offset();
  std::string record;
  CKPT_ASSIGN_OR_RETURN(bool got, records_->ReadRecord(&record));
  if (!got) return false;
  auto rows = DecodeEvent(record);
  if (!rows.ok()) {
    return DataLossError("'" + records_->path() + "' at offset " + std::to_string(at) + ": " +
                         rows.status().message());
  }
  for (EventValue& row : *rows) values->push_back(std::move(row));
  return true;
}

Result<std::vector<EventValue>> ReadEventFile(Env* env, const std::string& path) {
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<EventFileReader> reader, EventFileReader::Open(env, path));
  std::vector<EventValue> rows;
  for (;;) {
    CKPT_ASSIGN_OR_RETURN(bool got, reader->Next(&rows));
    if (!got) break;
  }
  return rows;
}

Result<std::vector<std::string>> ListEventFiles(Env* env, const std::string& logdir) {
  if (!env->IsDirectory(logdir)) {
    if (env->FileExists(logdir)) {
      return InvalidArgumentError("'" + logdir + "' is a file, not a directory of event files");
    }
    return NotFoundError("Event directory '" + logdir + "' does not exist");
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> children, env->GetChildren(logdir));
  std::sort(children.begin(), children.end());
  std::vector<std::string> paths;
  for (const std::string& name : children) {
    if (!IsEventFileName(name)) continue;
    std::string path = JoinPath(logdir, name);
    if (env->IsDirectory(path)) continue;
    paths.push_back(std::move(path));
  }
  return paths;
}

Result<std::vector<EventValue>> ReadEventDir(Env* env, const std::string& logdir) {
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> files, ListEventFiles(env, logdir));
  std::vector<EventValue> rows;
  for (const std::string& path : files) {
    CKPT_ASSIGN_OR_RETURN(std::vector<EventValue> file_rows, ReadEventFile(env, path));
    for (EventValue& row : file_rows) rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace ckpt
