// ckpt._ckpt.read_events: the summary values of TensorBoard event files
// (ckpt/event_reader.h) as (tag, step, wall_time, kind, value) tuples.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "binding.h"
#include "ckpt/event_reader.h"
#include "tensor/proto_convert.h"
#include "tensorflow/core/framework/tensor.pb.h"

namespace ckpt::python {

namespace {

nb::object Value(const EventValue& v, const std::string& where) {
  switch (v.kind) {
    case EventValueKind::kScalar:
      return nb::float_(v.scalar);
    case EventValueKind::kText:
      return nb::bytes(v.text.data(), v.text.size());
    case EventValueKind::kHistogram: {
      nb::dict h;
      h["min"] = v.histogram.min;
      h["max"] = v.histogram.max;
      h["num"] = v.histogram.num;
      h["sum"] = v.histogram.sum;
      h["sum_squares"] = v.histogram.sum_squares;
      h["bucket_limit"] = nb::cast(v.histogram.bucket_limit);
      h["bucket"] = nb::cast(v.histogram.bucket);
      return h;
    }
    case EventValueKind::kTensor: {
      tensorflow::TensorProto proto;
      if (!proto.ParseFromString(v.bytes)) {
        ThrowIfError(DataLossError(where + ": tensor summary " + v.tag + " does not parse"));
      }
      return TensorToPython(ValueOrThrow(TensorFromProto(proto, v.dtype, v.shape, where)));
    }
    default:
      return nb::bytes(v.bytes.data(), v.bytes.size());
  }
}

// Every summary value (rows with a tag) of the event file `path`, or of
// every event file directly in `path` if it is a directory, in file order.
nb::list ReadEvents(const std::string& path) {
  std::vector<std::string> files;
  {
    nb::gil_scoped_release release;
    bool is_dir = Env::Posix()->IsDirectory(path);
    files = is_dir ? ValueOrThrow(ListEventFiles(Env::Posix(), path))
                   : std::vector<std::string>{path};
  }
  nb::list out;
  for (const std::string& file : files) {
    std::vector<EventValue> rows;
    {
      nb::gil_scoped_release release;
      rows = ValueOrThrow(ReadEventFile(Env::Posix(), file));
    }
    for (const EventValue& v : rows) {
      if (v.tag.empty()) continue;
      out.append(nb::make_tuple(v.tag, v.step, v.wall_time,
                                std::string(EventValueKindName(v.kind)), Value(v, file)));
    }
  }
  return out;
}

}  // namespace

void RegisterEvents(nb::module_& m) {
  m.def("read_events", &ReadEvents, nb::arg("path"));
}

}  // namespace ckpt::python
