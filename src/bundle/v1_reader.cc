// V1Reader: TensorFlow's legacy checkpoint format (docs: spec §5).
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
#include <cstring>
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

Status CountMismatch(const SliceContext& ctx, const char* field, uint64_t expected,
                     uint64_t actual, const TensorShape& shape, DataType dtype) {
  return DataLossError(ctx.Where() + ": expected " + std::to_string(expected) + " values in " +
                       field + " for " + std::string(DataTypeName(dtype)) + " shape " +
                       shape.DebugString() + ", found " + std::to_string(actual));
}

// Copies a repeated proto field into a new tensor, `per_element` field values
// per element (2 for complex types), converting each with static_cast<Out>.
template <typename Out, typename Field>
Result<Tensor> FromField(const Field& field, const char* field_name, DataType dtype,
                         const TensorShape& shape, uint64_t per_element,
                         const SliceContext& ctx) {
  const uint64_t expected = static_cast<uint64_t>(shape.num_elements()) * per_element;
  const uint64_t actual = static_cast<uint64_t>(field.size());
  if (actual != expected) {
    return CountMismatch(ctx, field_name, expected, actual, shape, dtype);
  }
  CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  Out* out = reinterpret_cast<Out*>(t.mutable_data());
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Out>(field.Get(i));
  return t;
}

// Raw little-endian element bytes (tensor_content, or float8_val).
Result<Tensor> FromBytes(const std::string& bytes, const char* field_name, DataType dtype,
                         const TensorShape& shape, const SliceContext& ctx) {
  const uint64_t elem = DataTypeSize(dtype);
  const uint64_t n = static_cast<uint64_t>(shape.num_elements());
  if (bytes.size() % elem != 0 || bytes.size() / elem != n) {
    return DataLossError(ctx.Where() + ": " + field_name + " holds " +
                         std::to_string(bytes.size()) + " bytes, expected " +
                         std::to_string(n) + " " + std::string(DataTypeName(dtype)) +
                         " values of " + std::to_string(elem) + " bytes for shape " +
                         shape.DebugString());
  }
  CKPT_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  if (!bytes.empty()) std::memcpy(t.mutable_data(), bytes.data(), bytes.size());
  return t;
}

// Decodes the values of one stored slice (shape `shape`) from `proto`.
Result<Tensor> TensorFromValues(const tensorflow::TensorProto& proto, DataType dtype,
                                const TensorShape& shape, const SliceContext& ctx) {
  if (IsFixedSize(dtype) && !proto.tensor_content().empty()) {
    return FromBytes(proto.tensor_content(), "tensor_content", dtype, shape, ctx);
  }
  switch (dtype) {
    case DataType::kFloat:
      return FromField<float>(proto.float_val(), "float_val", dtype, shape, 1, ctx);
    case DataType::kDouble:
      return FromField<double>(proto.double_val(), "double_val", dtype, shape, 1, ctx);
    case DataType::kInt32:
    case DataType::kQInt32:
      return FromField<int32_t>(proto.int_val(), "int_val", dtype, shape, 1, ctx);
    case DataType::kInt16:
    case DataType::kQInt16:
      return FromField<int16_t>(proto.int_val(), "int_val", dtype, shape, 1, ctx);
    case DataType::kUInt16:
    case DataType::kQUInt16:
      return FromField<uint16_t>(proto.int_val(), "int_val", dtype, shape, 1, ctx);
    case DataType::kInt8:
    case DataType::kQInt8:
    case DataType::kInt4:
    case DataType::kInt2:
      return FromField<int8_t>(proto.int_val(), "int_val", dtype, shape, 1, ctx);
    case DataType::kUInt8:
    case DataType::kQUInt8:
    case DataType::kUInt4:
    case DataType::kUInt2:
      return FromField<uint8_t>(proto.int_val(), "int_val", dtype, shape, 1, ctx);
    case DataType::kInt64:
      return FromField<int64_t>(proto.int64_val(), "int64_val", dtype, shape, 1, ctx);
    case DataType::kBool:
      return FromField<bool>(proto.bool_val(), "bool_val", dtype, shape, 1, ctx);
    case DataType::kComplex64:
      return FromField<float>(proto.scomplex_val(), "scomplex_val", dtype, shape, 2, ctx);
    case DataType::kComplex128:
      return FromField<double>(proto.dcomplex_val(), "dcomplex_val", dtype, shape, 2, ctx);
    case DataType::kHalf:
    case DataType::kBFloat16:
      return FromField<uint16_t>(proto.half_val(), "half_val", dtype, shape, 1, ctx);
    case DataType::kUInt32:
      return FromField<uint32_t>(proto.uint32_val(), "uint32_val", dtype, shape, 1, ctx);
    case DataType::kUInt64:
      return FromField<uint64_t>(proto.uint64_val(), "uint64_val", dtype, shape, 1, ctx);
    case DataType::kFloat8E5M2:
    case DataType::kFloat8E4M3FN:
    case DataType::kFloat8E4M3FNUZ:
    case DataType::kFloat8E4M3B11FNUZ:
    case DataType::kFloat8E5M2FNUZ:
    case DataType::kFloat4E2M1FN:
      return FromBytes(proto.float8_val(), "float8_val", dtype, shape, ctx);
    case DataType::kString: {
      const uint64_t n = static_cast<uint64_t>(shape.num_elements());
      if (static_cast<uint64_t>(proto.string_val_size()) != n) {
        return CountMismatch(ctx, "string_val", n, proto.string_val_size(), shape, dtype);
      }
      std::vector<std::string> values(proto.string_val().begin(), proto.string_val().end());
      return Tensor::FromStrings(shape, std::move(values));
    }
    default:
      return UnimplementedError(ctx.Where() + ": dtype " + std::string(DataTypeName(dtype)) +
                                " cannot be read from a V1 checkpoint");
  }
}

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
  return TensorFromValues(data, var.dtype, stored.slice.SliceShape(var.shape), ctx);
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
