// ckpt._ckpt.convert: ConvertCheckpoint (ckpt/convert.h) between TensorFlow
// checkpoints, safetensors files and Keras 3 .weights.h5 files. The
// conversion runs without the GIL.
#include <Python.h>

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "binding.h"
#include "ckpt/convert.h"

namespace ckpt::python {

namespace {

// A tensor name (or a message naming one) as str, decoded as Python's
// name.decode("utf-8", "surrogateescape") like the reader's names
// (python/src/reader.cc), so that any bytes survive.
nb::object Name(const std::string& name) {
  return nb::steal(
      PyUnicode_DecodeUTF8(name.data(), static_cast<Py_ssize_t>(name.size()), "surrogateescape"));
}

nb::dict ToDict(const std::map<std::string, std::string>& map) {
  nb::dict out;
  for (const auto& [key, value] : map) out[Name(key)] = Name(value);
  return out;
}

// Returns (destination, written {source: destination name},
// skipped {source: reason}).
nb::tuple Convert(const std::string& src, const std::string& dst, std::optional<std::string> to,
                  std::optional<std::string> from, const std::vector<std::string>& name_map,
                  bool default_name_map, const std::map<std::string, std::string>& metadata,
                  bool skip_unsupported, bool state_file, const std::string& keras_template,
                  const std::string& keras_model_name, bool keras_include_optimizer) {
  ConvertOptions options;
  if (to) options.to = ValueOrThrow(ParseTensorFormat(*to));
  if (from) options.from = ValueOrThrow(ParseTensorFormat(*from));
  for (const std::string& rule : name_map) {
    options.name_rules.push_back(ValueOrThrow(ParseNameRule(rule)));
  }
  options.default_name_rules = default_name_map;
  options.metadata = metadata;
  options.skip_unsupported = skip_unsupported;
  options.write_state_file = state_file;
  options.keras_template = keras_template;
  options.keras_model_name = keras_model_name;
  options.keras_include_optimizer = keras_include_optimizer;
  Result<ConvertResult> result = [&] {
    nb::gil_scoped_release release;
    return ConvertCheckpoint(src, dst, options);
  }();
  ConvertResult r = ValueOrThrow(std::move(result));
  return nb::make_tuple(r.destination, ToDict(r.written), ToDict(r.skipped));
}

}  // namespace

void RegisterConversions(nb::module_& m) {
  m.def("convert", &Convert, nb::arg("src"), nb::arg("dst"), nb::arg("to").none(),
        nb::arg("from_format").none(), nb::arg("name_map"), nb::arg("default_name_map"),
        nb::arg("metadata"), nb::arg("skip_unsupported"), nb::arg("state_file"),
        nb::arg("keras_template"), nb::arg("keras_model_name"), nb::arg("keras_include_optimizer"));
}

}  // namespace ckpt::python
