// ckpt._ckpt.Reader: CheckpointReader (any V1/V2/object checkpoint, or a
// directory) plus, with mmap, a BundleReader over the mapped data files for
// zero-copy views; LatestCheckpoint.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <string>

#include "binding.h"
#include "ckpt/bundle_reader.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"

namespace ckpt::python {

namespace {

// Everything a Reader owns; shared with the arrays that view its mapping.
struct ReaderState {
  std::unique_ptr<CheckpointReader> reader;
  std::unique_ptr<BundleReader> mapped;  // mmap and a V2 checkpoint; else null
};

class Reader {
 public:
  Reader(const std::string& path, bool mmap) : state_(std::make_shared<ReaderState>()) {
    {
      nb::gil_scoped_release release;
      auto reader = CheckpointReader::Open(path);
      if (reader.ok() && mmap && (*reader)->format() == CheckpointReader::Format::kV2) {
        BundleReaderOptions options;
        options.use_mmap = true;
        auto mapped = BundleReader::Open((*reader)->prefix(), options);
        if (!mapped.ok()) throw StatusError{mapped.status()};
        state_->mapped = std::move(mapped).value();
      }
      state_->reader = ValueOrThrow(std::move(reader));
    }
  }

  const std::string& prefix() const { return state_->reader->prefix(); }
  std::string format() const {
    return state_->reader->format() == CheckpointReader::Format::kV1 ? "V1" : "V2";
  }
  bool mmap() const { return state_->mapped != nullptr; }

  // [(name, dtype, shape)] in bytewise name order (str names).
  nb::list variables() const {
    nb::list out;
    for (const VariableInfo& v : state_->reader->variables()) {
      nb::list dims;
      for (int64_t d : v.shape.dims()) dims.append(d);
      // Python's name.decode("utf-8", "surrogateescape"): any bytes survive.
      nb::object name = nb::steal(PyUnicode_DecodeUTF8(
          v.name.data(), static_cast<Py_ssize_t>(v.name.size()), "surrogateescape"));
      if (!name.is_valid()) throw nb::python_error();
      out.append(nb::make_tuple(name, static_cast<int>(v.dtype), dims));
    }
    return out;
  }

  // Names are bytes: a checkpoint key is any byte string.
  bool has_tensor(const nb::bytes& name) const {
    return state_->reader->HasTensor(std::string_view(name.c_str(), name.size()));
  }

  nb::tuple read(const nb::bytes& name_bytes) const {
    std::string name(name_bytes.c_str(), name_bytes.size());
    if (Viewable(name)) {
      Result<Tensor> view = InternalError("unset");
      {
        nb::gil_scoped_release release;
        view = state_->mapped->ReadView(name);
      }
      return TensorToPython(ValueOrThrow(std::move(view)), KeepAlive());
    }
    Result<Tensor> tensor = InternalError("unset");
    {
      nb::gil_scoped_release release;
      tensor = state_->reader->GetTensor(name);
    }
    return TensorToPython(ValueOrThrow(std::move(tensor)));
  }

  // read() of each name, read as batches: with mmap the viewable tensors
  // through one ReadManyViews, the others (and everything without mmap)
  // through one GetTensors.
  nb::list read_many(const std::vector<nb::bytes>& name_bytes) const {
    std::vector<std::string> names;
    names.reserve(name_bytes.size());
    for (const nb::bytes& b : name_bytes) names.emplace_back(b.c_str(), b.size());
    std::vector<std::string_view> viewed, copied;
    std::vector<bool> is_view(names.size(), false);
    for (size_t i = 0; i < names.size(); ++i) {
      is_view[i] = Viewable(names[i]);
      (is_view[i] ? viewed : copied).push_back(names[i]);
    }
    Result<std::vector<Tensor>> views = std::vector<Tensor>{};
    Result<std::vector<Tensor>> copies = std::vector<Tensor>{};
    {
      nb::gil_scoped_release release;
      copies = state_->reader->GetTensors(copied);  // NotFound first, as read() raises it
      if (copies.ok() && !viewed.empty()) views = state_->mapped->ReadManyViews(viewed);
    }
    ThrowIfError(copies.status());
    ThrowIfError(views.status());
    nb::list out;
    size_t v = 0, c = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      out.append(is_view[i] ? TensorToPython((*views)[v++], KeepAlive())
                            : TensorToPython((*copies)[c++]));
    }
    return out;
  }

  std::string debug_string() const { return state_->reader->DebugString(); }

 private:
  // Whether read() returns `name` as a view of the mapping (mmap, and a
  // fixed-size unpartitioned tensor of a V2 checkpoint).
  bool Viewable(const std::string& name) const {
    if (!state_->mapped) return false;
    auto found = state_->mapped->Lookup(name);
    return found.ok() && IsFixedSize((*found)->dtype) && (*found)->slices.empty();
  }

  // An owner for arrays that view the mapping: keeps this reader's state alive.
  nb::capsule KeepAlive() const {
    auto* keep = new std::shared_ptr<ReaderState>(state_);
    return nb::capsule(keep, [](void* p) noexcept {
      delete static_cast<std::shared_ptr<ReaderState>*>(p);
    });
  }

  std::shared_ptr<ReaderState> state_;
};

// None when the directory names no usable checkpoint (TF's
// tf.train.latest_checkpoint); other errors (a state file that does not
// parse) raise.
std::optional<std::string> LatestCheckpointOrNone(const std::string& dir) {
  Result<std::string> latest = InternalError("unset");
  {
    nb::gil_scoped_release release;
    latest = LatestCheckpoint(Env::Posix(), dir);
  }
  if (!latest.ok() && latest.status().code() == StatusCode::kNotFound) return std::nullopt;
  return ValueOrThrow(std::move(latest));
}

}  // namespace

void RegisterReader(nb::module_& m) {
  nb::class_<Reader>(m, "Reader")
      .def(nb::init<const std::string&, bool>(), nb::arg("path"), nb::arg("mmap") = false)
      .def_prop_ro("prefix", &Reader::prefix)
      .def_prop_ro("format", &Reader::format)
      .def_prop_ro("mmap", &Reader::mmap)
      .def("variables", &Reader::variables)
      .def("has_tensor", &Reader::has_tensor)
      .def("read", &Reader::read)
      .def("read_many", &Reader::read_many)
      .def("debug_string", &Reader::debug_string);
  m.def("latest_checkpoint", &LatestCheckpointOrNone, nb::arg("checkpoint_dir"));
}

}  // namespace ckpt::python
