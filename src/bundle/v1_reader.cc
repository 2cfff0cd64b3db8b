// V1Reader: TensorFlow's legacy checkpoint format (docs/format/v1.md).
//
// Every matching file is loaded eagerly at Open: its "" entry (the meta) is
// parsed and merged into one sorted list of tensors, each with the slices the
// files list for it and the file holding each slice; the other entries are
// kept as raw bytes and decoded on Read. Nothing a file claims drives an
// allocation by itself: a slice's tensor is allocated only after its stored
// value count matched the slice's element count, and the full tensor only
// after the (non-overlapping, in-bounds) slices were found to cover it.
#include "bundle/v1_reader.h"

#include <algorithm>
#include <map>

#include "ckpt/escape.h"
#include "ckpt/tensor_slice.h"
#include "env/path.h"
#include "filenames/filenames.h"
#include "table/table.h"
#include "tensor/proto_convert.h"
#include "tensorflow/core/util/saved_tensor_slice.pb.h"

namespace ckpt {
namespace {

// TensorFlow's TF_CHECKPOINT_VERSION: the consumer version this reader is.
constexpr int kCheckpointConsumerVersion = 1;

struct StoredSlice {
  TensorSlice slice;
  int file = 0;  // index into Impl::files
};

struct V1File {
  std::string path;
  // Every entry but the meta, by key.
  std::map<std::string, std::string, std::less<>> values;
};

// Everything a slice's values are checked against, for error messages.
struct SliceContext {
  const std::string& path;
  const std::string& name;
  const TensorSlice& slice;

  std::string Where() const {
    return "V1 checkpoint " + path + ": tensor \"" + EscapeForDisplay(name) + "\" slice \"" +
           slice.DebugString() + "\"";
  }
};

Status CheckVersions(const tensorflow::VersionDef& v, const std::string& path) {
  if (v.min_consumer() > kCheckpointConsumerVersion) {
    return InvalidArgumentError("V1 checkpoint " + path + " requires reader version >= " +
                                std::to_string(v.min_consumer()) + " (this reader is version " +
                                std::to_string(kCheckpointConsumerVersion) +
                                "); written by a newer TensorFlow?");
  }
  for (int bad : v.bad_consumers()) {
    if (bad == kCheckpointConsumerVersion) {
      return InvalidArgumentError("V1 checkpoint " + path + " disallows reader version " +
                                  std::to_string(bad));
    }
  }
  return Status::OK();
}

Status NoMatch(const std::string& pattern, const std::string& detail) {
  return NotFoundError("Unsuccessful TensorSliceReader constructor: Failed to find any matching "
                       "files for " + pattern + detail);
}

// The files `pattern` names, sorted.
Result<std::vector<std::string>> MatchFiles(Env* env, const std::string& pattern) {
  const std::string dir(Dirname(pattern));
  const std::string base(Basename(pattern));
  if (base.empty()) return NoMatch(pattern, " (the pattern names no file)");
  if (!V1PathIsGlob(pattern)) {
    if (!env->FileExists(pattern)) return NoMatch(pattern, "");
    if (env->IsDirectory(pattern)) {
      return NoMatch(pattern, " (it is a directory, not a V1 checkpoint file)");
    }
    return std::vector<std::string>{pattern};
  }
  if (HasGlobWildcard(dir)) {
    return NoMatch(pattern, " (wildcards are supported in the file name only)");
  }
  auto children = env->GetChildren(dir.empty() ? "." : dir);
  if (!children.ok()) return NoMatch(pattern, " (" + children.status().message() + ")");
  std::vector<std::string> paths;
  for (const std::string& child : *children) {
    if (!GlobMatch(base, child)) continue;
    std::string path = JoinPath(dir, child);
    if (env->IsDirectory(path)) continue;
    paths.push_back(std::move(path));
  }
  if (paths.empty()) return NoMatch(pattern, "");
  std::sort(paths.begin(), paths.end());
  return paths;
}

// The merged view of one tensor while the files are loaded.
struct PendingTensor {
  DataType dtype = DataType::kInvalid;
  TensorShape shape;
  std::string first_path;  // the file that listed it first
  std::vector<StoredSlice> slices;
};

}  // namespace

struct V1Reader::Impl {
  std::string pattern;
  std::vector<V1File> files;
  std::vector<VariableInfo> vars;               // sorted by name
  std::vector<std::vector<StoredSlice>> slices;  // parallel to vars

  // Index into vars, or -1.
  int Find(std::string_view name) const {
    auto it = std::lower_bound(vars.begin(), vars.end(), name,
                               [](const VariableInfo& v, std::string_view n) { return v.name < n; });
    if (it == vars.end() || it->name != name) return -1;
    return static_cast<int>(it - vars.begin());
  }

  // Loads one file into `files` and merges its meta into *tensors.
  Status LoadFile(Env* env, const std::string& path,
                  std::map<std::string, PendingTensor>* tensors);
  Result<Tensor> ReadStoredSlice(const VariableInfo& var, const StoredSlice& stored) const;
};

Status V1Reader::Impl::LoadFile(Env* env, const std::string& path,
                                std::map<std::string, PendingTensor>* tensors) {
  const std::string context = "Unable to read V1 checkpoint file " + path;
  CKPT_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
  auto table = TableReader::Open(std::move(file), path);
  if (!table.ok()) {
    return table.status().WithContext(context + " (not a V1 checkpoint, or corrupt)");
  }
  V1File loaded;
  loaded.path = path;
  tensorflow::SavedTensorSlices meta_record;
  bool saw_meta = false;
  Status s = (*table)->ForEach([&](std::string_view key, std::string_view value) -> Status {
    if (key.empty()) {
      if (!meta_record.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
          !meta_record.has_meta()) {
        return DataLossError(context + ": the entry under key \"\" is not a SavedTensorSlices "
                             "meta (is this a V2 .index file or not a checkpoint at all?)");
      }
      saw_meta = true;
      return Status::OK();
    }
    loaded.values.emplace(std::string(key), std::string(value));
    return Status::OK();
  });
  CKPT_RETURN_IF_ERROR(s);
  if (!saw_meta) {
    return DataLossError(context + ": no meta entry (key \"\"); not a V1 checkpoint");
  }
  const tensorflow::SavedTensorSliceMeta& meta = meta_record.meta();
  CKPT_RETURN_IF_ERROR(CheckVersions(meta.versions(), path));

  const int file_index = static_cast<int>(files.size());
  for (const tensorflow::SavedSliceMeta& tm : meta.tensor()) {
    const std::string& name = tm.name();
    const std::string where =
        "V1 checkpoint " + path + ": tensor \"" + EscapeForDisplay(name) + "\"";
    if (name.empty()) return DataLossError("V1 checkpoint " + path + " lists a tensor with no name");
    if (!IsValidDataType(tm.type()) || tm.type() == 0) {
      return DataLossError(where + " has invalid dtype " + std::to_string(tm.type()));
    }
    const DataType dtype = static_cast<DataType>(tm.type());
    auto shape = ShapeFromProto(tm.shape());
    if (!shape.ok()) {
      return DataLossError(where + ": Invalid tensor shape: " + shape.status().message());
    }
    auto [it, inserted] = tensors->try_emplace(name);
    PendingTensor& t = it->second;
    if (inserted) {
      t.dtype = dtype;
      t.shape = *shape;
      t.first_path = path;
    } else if (t.dtype != dtype || t.shape != *shape) {
      return DataLossError(where + " is listed as " + std::string(DataTypeName(dtype)) + " " +
                           shape->DebugString() + " but " + t.first_path + " lists it as " +
                           std::string(DataTypeName(t.dtype)) + " " + t.shape.DebugString());
    }
    for (const tensorflow::TensorSliceProto& sp : tm.slice()) {
      auto slice = SliceFromProto(sp);
      if (!slice.ok()) return DataLossError(where + ": " + slice.status().message());
      Status valid = slice->ValidateAgainst(t.shape);
      if (!valid.ok()) return DataLossError(where + ": " + valid.message());
      for (const StoredSlice& other : t.slices) {
        if (slice->Intersect(other.slice, t.shape, nullptr)) {
          return DataLossError(where + ": overlapping slices: existing slice = " +
                               other.slice.DebugString() + " (in " +
                               (other.file == file_index ? path : files[other.file].path) +
                               "), new slice = " + slice->DebugString());
        }
      }
      t.slices.push_back({std::move(slice).value(), file_index});
    }
  }
  files.push_back(std::move(loaded));
  return Status::OK();
}

Result<Tensor> V1Reader::Impl::ReadStoredSlice(const VariableInfo& var,
                                               const StoredSlice& stored) const {
  const V1File& file = files[stored.file];
  const SliceContext ctx{file.path, var.name, stored.slice};
  auto it = file.values.find(EncodeTensorNameSlice(var.name, stored.slice));
  if (it == file.values.end()) {
    return DataLossError(ctx.Where() + ": the meta lists this slice but its data entry is missing");
  }
  tensorflow::SavedTensorSlices record;
  if (!record.ParseFromString(it->second) || !record.has_data()) {
    return DataLossError(ctx.Where() + ": the data entry is not a SavedTensorSlices with data");
  }
  const tensorflow::SavedSlice& saved = record.data();
  if (saved.name() != var.name) {
    return DataLossError(ctx.Where() + ": the data entry names tensor \"" +
                         EscapeForDisplay(saved.name()) + "\"");
  }
  if (saved.has_slice()) {
    auto slice = SliceFromProto(saved.slice());
    if (!slice.ok() || !(*slice == stored.slice)) {
      return DataLossError(ctx.Where() + ": the data entry holds slice \"" +
                           (slice.ok() ? slice->DebugString() : std::string("<invalid>")) + "\"");
    }
  }
  const tensorflow::TensorProto& data = saved.data();
  if (data.dtype() != 0 && data.dtype() != static_cast<int>(var.dtype)) {
    return DataLossError(ctx.Where() + ": values are stored as dtype " +
                         std::string(DataTypeName(static_cast<DataType>(data.dtype()))) +
                         ", expected " + std::string(DataTypeName(var.dtype)));
  }
  if (!IsStorable(var.dtype)) {
    return UnimplementedError(ctx.Where() + ": dtype " + std::string(DataTypeName(var.dtype)) +
                              " cannot be read from a V1 checkpoint");
  }
  return TensorFromProto(data, var.dtype, stored.slice.SliceShape(var.shape), ctx.Where());
}

Result<std::unique_ptr<V1Reader>> V1Reader::Open(Env* env, const std::string& pattern) {
  if (env == nullptr) return InvalidArgumentError("V1Reader::Open: env is null");
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> paths, MatchFiles(env, pattern));
  auto impl = std::make_unique<Impl>();
  impl->pattern = pattern;
  std::map<std::string, PendingTensor> tensors;
  for (const std::string& path : paths) {
    CKPT_RETURN_IF_ERROR(impl->LoadFile(env, path, &tensors));
  }
  impl->vars.reserve(tensors.size());
  impl->slices.reserve(tensors.size());
  for (auto& [name, t] : tensors) {
    impl->vars.push_back({name, t.dtype, t.shape});
    impl->slices.push_back(std::move(t.slices));
  }
  return std::unique_ptr<V1Reader>(new V1Reader(std::move(impl)));
}

V1Reader::V1Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
V1Reader::~V1Reader() = default;

const std::vector<VariableInfo>& V1Reader::variables() const { return impl_->vars; }

bool V1Reader::Contains(std::string_view name) const { return impl_->Find(name) >= 0; }

Result<Tensor> V1Reader::Read(std::string_view name) const {
  const int index = impl_->Find(name);
  if (index < 0) return NotFoundError(EscapeForDisplay(name) + " not found in checkpoint file");
  const VariableInfo& var = impl_->vars[index];
  const std::vector<StoredSlice>& slices = impl_->slices[index];
  const std::string where =
      "V1 checkpoint " + impl_->pattern + ": tensor \"" + EscapeForDisplay(var.name) + "\"";
  if (!IsStorable(var.dtype)) {
    return UnimplementedError(where + " has dtype " + std::string(DataTypeName(var.dtype)) +
                              ", which ckpt cannot read");
  }
  if (slices.empty()) {
    return DataLossError(where + " is listed in the meta with no slices");
  }
  const bool whole = slices.size() == 1 && slices[0].slice.CoversAll(var.shape);
  if (!whole && !IsFixedSize(var.dtype)) {
    return UnimplementedError(where + " has dtype " + std::string(DataTypeName(var.dtype)) +
                              " and is stored in " + std::to_string(slices.size()) +
                              " slices; only fixed-size types can be assembled from slices");
  }
  // Decode every slice first: each is checked against the values it stores,
  // so the full tensor is allocated only once the stored data backs it.
  std::vector<Tensor> parts;
  parts.reserve(slices.size());
  int64_t covered = 0;
  for (const StoredSlice& s : slices) {
    CKPT_ASSIGN_OR_RETURN(Tensor part, impl_->ReadStoredSlice(var, s));
    covered += part.num_elements();
    parts.push_back(std::move(part));
  }
  if (whole) return parts[0];
  // Slices are in bounds and do not overlap (checked at Open), so they cover
  // the tensor exactly when their element counts add up to its size.
  if (covered != var.shape.num_elements()) {
    return DataLossError(where + ": its " + std::to_string(slices.size()) + " slices cover " +
                         std::to_string(covered) + " of the " +
                         std::to_string(var.shape.num_elements()) + " elements of shape " +
                         var.shape.DebugString() + " (a slice is missing from the checkpoint)");
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(var.dtype, var.shape));
  const TensorSlice full = TensorSlice::Full(var.shape.rank());
  for (size_t i = 0; i < slices.size(); ++i) {
    CopySliceData(parts[i], slices[i].slice, &out, full, var.shape);
  }
  return out;
}

std::string V1Reader::DebugString() const {
  std::string out;
  for (size_t i = 0; i < impl_->vars.size(); ++i) {
    const VariableInfo& v = impl_->vars[i];
    out += EscapeForDisplay(v.name);
    out += " (";
    out += DataTypeEnumName(v.dtype);
    out += ") ";
    out += v.shape.DebugString();
    const size_t k = impl_->slices[i].size();
    if (k > 1) out += ", " + std::to_string(k) + " slices";
    out += "\n";
  }
  return out;
}

}  // namespace ckpt
