// Reading and writing Keras 3 weights files through the HDF5 C API
// (docs/format/keras_weights.md, "The weights file").

#include <fcntl.h>
#include <hdf5.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ckpt/escape.h"
#include "ckpt/keras_weights.h"
#include "env/temp_path.h"

namespace ckpt {

namespace {

// Libhdf5 is built without its thread-safe option on Debian: one caller at
// a time. Also turns off HDF5's printing of its error stack (we report the
// innermost message in a Status instead).
std::mutex& Hdf5Mutex() {
  static std::mutex* mu = [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return new std::mutex;
  }();
  return *mu;
}

// The deepest group nesting (and the most objects) a weights file may have:
// bounds the walk of a crafted file (hard-linked cycles).
constexpr int kMaxDepth = 32;
constexpr size_t kMaxObjects = 1 << 20;

// Closes an HDF5 id on destruction.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() {
    if (id_ >= 0) closer_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  Closer closer_;
};

herr_t CollectMessage(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (err->desc != nullptr && err->desc[0] != '\0') *out = err->desc;  // keep the innermost
  return 0;
}

// "<what>" plus HDF5's innermost error message, if it left one.
std::string Hdf5Message(const std::string& what) {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, CollectMessage, &detail);
  H5Eclear2(H5E_DEFAULT);
  return detail.empty() ? what : what + " (HDF5: " + detail + ")";
}

std::string Where(const std::string& file, const std::string& object) {
  return EscapeForDisplay(file) + ": " + (object.empty() ? "/" : EscapeForDisplay(object));
}

// ---------------------------------------------------------------- dtypes

struct DtypeMap {
  DataType dtype;
  hid_t native;
  hid_t file;  // little-endian, as h5py writes numpy's native types
};

std::vector<DtypeMap> Dtypes() {
  return {
      {DataType::kFloat, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE},
      {DataType::kDouble, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE},
      {DataType::kInt8, H5T_NATIVE_INT8, H5T_STD_I8LE},
      {DataType::kInt16, H5T_NATIVE_INT16, H5T_STD_I16LE},
      {DataType::kInt32, H5T_NATIVE_INT32, H5T_STD_I32LE},
      {DataType::kInt64, H5T_NATIVE_INT64, H5T_STD_I64LE},
      {DataType::kUInt8, H5T_NATIVE_UINT8, H5T_STD_U8LE},
      {DataType::kUInt16, H5T_NATIVE_UINT16, H5T_STD_U16LE},
      {DataType::kUInt32, H5T_NATIVE_UINT32, H5T_STD_U32LE},
      {DataType::kUInt64, H5T_NATIVE_UINT64, H5T_STD_U64LE},
  };
}

const DtypeMap* FindDtype(DataType dtype) {
  static const std::vector<DtypeMap> all = Dtypes();
  for (const DtypeMap& m : all) {
    if (m.dtype == dtype) return &m;
  }
  return nullptr;
}

// The ckpt dtype of a stored HDF5 type; Unimplemented for others.
Result<DataType> DtypeOf(hid_t type, const std::string& where) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
      case 1: return is_signed ? DataType::kInt8 : DataType::kUInt8;
      case 2: return is_signed ? DataType::kInt16 : DataType::kUInt16;
      case 4: return is_signed ? DataType::kInt32 : DataType::kUInt32;
      case 8: return is_signed ? DataType::kInt64 : DataType::kUInt64;
      default: break;
    }
  } else if (cls == H5T_FLOAT) {
    if (size == 4) return DataType::kFloat;
    if (size == 8) return DataType::kDouble;
  }
  return UnimplementedError(where + ": HDF5 type class " + std::to_string(cls) + " of " +
                            std::to_string(size) +
                            " bytes is not converted (supported: integers, float32, float64)");
}

// ---------------------------------------------------------------- reading

Result<std::optional<std::string>> ReadNameAttribute(hid_t group, const std::string& where) {
  htri_t exists = H5Aexists(group, "name");
  if (exists < 0) return DataLossError(Hdf5Message(where + ": cannot read attributes"));
  if (exists == 0) return std::optional<std::string>();
  Handle attr(H5Aopen(group, "name", H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) return DataLossError(Hdf5Message(where + ": cannot open attribute \"name\""));
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (!type.ok() || !space.ok()) {
    return DataLossError(Hdf5Message(where + ": cannot read attribute \"name\""));
  }
  if (H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1) {
    return InvalidArgumentError(where + ": attribute \"name\" is not a string scalar");
  }
  htri_t variable = H5Tis_variable_str(type.get());
  Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  if (variable > 0) {
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* value = nullptr;
    if (H5Aread(attr.get(), mem.get(), &value) < 0 || value == nullptr) {
      return DataLossError(Hdf5Message(where + ": cannot read attribute \"name\""));
    }
    std::string out(value);
    H5free_memory(value);
    return std::optional<std::string>(std::move(out));
  }
  size_t size = H5Tget_size(type.get());
  if (size == 0 || size > (1 << 20)) {
    return InvalidArgumentError(where + ": attribute \"name\" has size " + std::to_string(size));
  }
  std::string buffer(size + 1, '\0');
  H5Tset_size(mem.get(), size + 1);
  if (H5Aread(attr.get(), mem.get(), buffer.data()) < 0) {
    return DataLossError(Hdf5Message(where + ": cannot read attribute \"name\""));
  }
  buffer.resize(std::strlen(buffer.c_str()));
  return std::optional<std::string>(std::move(buffer));
}

Result<Tensor> ReadDataset(hid_t dataset, const std::string& where) {
  Handle type(H5Dget_type(dataset), H5Tclose);
  Handle space(H5Dget_space(dataset), H5Sclose);
  if (!type.ok() || !space.ok()) return DataLossError(Hdf5Message(where + ": unreadable dataset"));
  CKPT_ASSIGN_OR_RETURN(DataType dtype, DtypeOf(type.get(), where));
  H5S_class_t cls = H5Sget_simple_extent_type(space.get());
  std::vector<int64_t> dims;
  if (cls == H5S_SIMPLE) {
    int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > 32) return DataLossError(where + ": bad rank " + std::to_string(rank));
    std::vector<hsize_t> h5dims(rank);
    H5Sget_simple_extent_dims(space.get(), h5dims.data(), nullptr);
    for (hsize_t d : h5dims) {
      if (d > static_cast<hsize_t>(INT64_MAX)) return DataLossError(where + ": dimension too large");
      dims.push_back(static_cast<int64_t>(d));
    }
  } else if (cls != H5S_SCALAR) {
    return InvalidArgumentError(where + ": dataset has no data (null dataspace)");
  }
  Result<TensorShape> shape = TensorShape::Make(dims);
  if (!shape.ok()) return shape.status().WithContext(where);
  Result<Tensor> tensor = Tensor::AllocateUninitialized(dtype, *shape);
  if (!tensor.ok()) return tensor.status().WithContext(where);
  if (tensor->num_elements() > 0 &&
      H5Dread(dataset, FindDtype(dtype)->native, H5S_ALL, H5S_ALL, H5P_DEFAULT,
              tensor->mutable_data()) < 0) {
    return DataLossError(Hdf5Message(where + ": cannot read the dataset's values"));
  }
  return std::move(*tensor);
}

// Parses a dataset name of a vars group: a decimal index without leading
// zeros.
std::optional<size_t> VarIndex(const std::string& name) {
  if (name.empty() || name.size() > 9 || (name.size() > 1 && name[0] == '0')) return std::nullopt;
  size_t index = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return index;
}

herr_t CollectName(hid_t, const char* name, const H5L_info_t* info, void* data) {
  auto* out = static_cast<std::vector<std::pair<std::string, H5L_type_t>>*>(data);
  out->emplace_back(name, info->type);
  return 0;
}

class Walker {
 public:
  Walker(std::string file, KerasWeights* out) : file_(std::move(file)), out_(out) {}

  // `path`: the group's path without a leading '/' ("" for the root).
  Status WalkGroup(hid_t group, const std::string& path, int depth) {
    if (depth > kMaxDepth) return InvalidArgumentError(Where(file_, path) + ": groups nested too deep");
    std::vector<std::pair<std::string, H5L_type_t>> links;
    if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, CollectName, &links) < 0) {
      return DataLossError(Hdf5Message(Where(file_, path) + ": cannot list the group"));
    }
    for (const auto& [name, link_type] : links) {
      std::string child = path.empty() ? name : path + "/" + name;
      if (++objects_ > kMaxObjects) return InvalidArgumentError(Where(file_, child) + ": too many objects");
      if (link_type != H5L_TYPE_HARD) {
        return InvalidArgumentError(Where(file_, child) +
                                    ": soft or external link (a Keras weights file has none)");
      }
      Handle object(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose);
      if (!object.ok()) return DataLossError(Hdf5Message(Where(file_, child) + ": cannot open"));
      H5I_type_t type = H5Iget_type(object.get());
      if (type == H5I_GROUP) {
        if (name == "vars") {
          CKPT_RETURN_IF_ERROR(ReadVars(object.get(), path, child));
        } else {
          CKPT_RETURN_IF_ERROR(WalkGroup(object.get(), child, depth + 1));
        }
      } else if (type == H5I_DATASET) {
        return InvalidArgumentError(Where(file_, child) +
                                    ": dataset outside a \"vars\" group: not a Keras 3 weights file");
      } else {
        return InvalidArgumentError(Where(file_, child) + ": neither a group nor a dataset");
      }
    }
    return Status::OK();
  }

 private:
  Status ReadVars(hid_t vars, const std::string& owner, const std::string& path) {
    KerasVarsGroup group;
    group.owner = owner;
    CKPT_ASSIGN_OR_RETURN(group.name, ReadNameAttribute(vars, Where(file_, path)));
    std::vector<std::pair<std::string, H5L_type_t>> links;
    if (H5Literate(vars, H5_INDEX_NAME, H5_ITER_INC, nullptr, CollectName, &links) < 0) {
      return DataLossError(Hdf5Message(Where(file_, path) + ": cannot list the group"));
    }
    std::vector<std::optional<Tensor>> values(links.size());
    for (const auto& [name, link_type] : links) {
      std::string child = path + "/" + name;
      std::optional<size_t> index = VarIndex(name);
      if (!index || *index >= links.size()) {
        return InvalidArgumentError(Where(file_, child) + ": expected datasets named 0.." +
                                    std::to_string(links.size() - 1) + " in a vars group");
      }
      if (link_type != H5L_TYPE_HARD) {
        return InvalidArgumentError(Where(file_, child) + ": soft or external link");
      }
      Handle object(H5Oopen(vars, name.c_str(), H5P_DEFAULT), H5Oclose);
      if (!object.ok()) return DataLossError(Hdf5Message(Where(file_, child) + ": cannot open"));
      if (H5Iget_type(object.get()) != H5I_DATASET) {
        return InvalidArgumentError(Where(file_, child) + ": expected a dataset, found a group");
      }
      CKPT_ASSIGN_OR_RETURN(Tensor value, ReadDataset(object.get(), Where(file_, child)));
      values[*index] = std::move(value);
    }
    for (std::optional<Tensor>& value : values) group.vars.push_back(std::move(*value));
    out_->groups.push_back(std::move(group));
    return Status::OK();
  }

  std::string file_;
  KerasWeights* out_;
  size_t objects_ = 0;
};

// ---------------------------------------------------------------- writing

Status WriteNameAttribute(hid_t group, const std::string& name, const std::string& where) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(group, "name", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  const char* value = name.c_str();
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), &value) < 0) {
    return IoError(Hdf5Message(where + ": cannot write attribute \"name\""));
  }
  return Status::OK();
}

Status WriteDataset(hid_t group, const std::string& name, const Tensor& value,
                    const std::string& where) {
  const DtypeMap* map = FindDtype(value.dtype());
  if (map == nullptr) {
    return InvalidArgumentError(where + ": dtype " + std::string(DataTypeName(value.dtype())) +
                                " is not written to Keras weights files");
  }
  std::vector<hsize_t> dims(value.shape().dims().begin(), value.shape().dims().end());
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
  Handle dataset(H5Dcreate2(group, name.c_str(), map->file, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT),
                 H5Dclose);
  if (!space.ok() || !dataset.ok()) return IoError(Hdf5Message(where + ": cannot create dataset"));
  if (value.num_elements() > 0 &&
      H5Dwrite(dataset.get(), map->native, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) < 0) {
    return IoError(Hdf5Message(where + ": cannot write dataset"));
  }
  return Status::OK();
}

// Creates `path` and any missing parent groups; returns the group.
Result<hid_t> MakeGroups(hid_t file, const std::string& path, std::set<std::string>* made,
                         const std::string& file_name) {
  size_t pos = 0;
  while (true) {
    size_t slash = path.find('/', pos);
    std::string prefix = path.substr(0, slash);
    if (made->insert(prefix).second) {
      hid_t g = H5Gcreate2(file, prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      if (g < 0) return IoError(Hdf5Message(Where(file_name, prefix) + ": cannot create group"));
      H5Gclose(g);
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  hid_t g = H5Gopen2(file, path.c_str(), H5P_DEFAULT);
  if (g < 0) return IoError(Hdf5Message(Where(file_name, path) + ": cannot open group"));
  return g;
}

Status WriteFile(const KerasWeights& weights, const std::string& tmp, const std::string& path) {
  Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) return IoError(Hdf5Message(EscapeForDisplay(tmp) + ": cannot create HDF5 file"));
  std::set<std::string> made;
  for (const KerasVarsGroup& group : weights.groups) {
    std::string vars_path = group.owner.empty() ? "vars" : group.owner + "/vars";
    const std::string where = Where(path, vars_path);
    if (vars_path.front() == '/' || vars_path.find("//") != std::string::npos) {
      return InvalidArgumentError(where + ": owner path has an empty segment");
    }
    CKPT_ASSIGN_OR_RETURN(hid_t vars_id, MakeGroups(file.get(), vars_path, &made, path));
    Handle vars(vars_id, H5Gclose);
    if (group.name) CKPT_RETURN_IF_ERROR(WriteNameAttribute(vars.get(), *group.name, where));
    for (size_t i = 0; i < group.vars.size(); ++i) {
      std::string name = std::to_string(i);
      CKPT_RETURN_IF_ERROR(
          WriteDataset(vars.get(), name, group.vars[i], Where(path, vars_path + "/" + name)));
    }
  }
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) {
    return IoError(Hdf5Message(EscapeForDisplay(tmp) + ": cannot flush"));
  }
  return Status::OK();
}

Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(EscapeForDisplay(path) + ": open for fsync: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return IoError(EscapeForDisplay(path) + ": fsync: " + std::strerror(saved));
  return Status::OK();
}


// Reads the file in this process. Only ever called in the child of
// ReadInChild: libhdf5 trusts the file's internal pointers (a corrupt
// variable-length string makes it read out of bounds), so a crash must not
// take the caller down.
Result<KerasWeights> ReadInProcess(const std::string& path) {
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return InvalidArgumentError(EscapeForDisplay(path) + ": not an HDF5 file");
  }
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) return DataLossError(Hdf5Message(EscapeForDisplay(path) + ": cannot open HDF5 file"));
  Handle root(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose);
  if (!root.ok()) return DataLossError(Hdf5Message(Where(path, "") + ": cannot open the root group"));
  if (H5Aexists(root.get(), "layer_names") > 0 || H5Lexists(root.get(), "model_weights", H5P_DEFAULT) > 0) {
    H5Eclear2(H5E_DEFAULT);
    return InvalidArgumentError(EscapeForDisplay(path) +
                                ": a Keras 2 (legacy) HDF5 file; only Keras 3 .weights.h5 files "
                                "are converted");
  }
  H5Eclear2(H5E_DEFAULT);
  KerasWeights out;
  Walker walker(path, &out);
  CKPT_RETURN_IF_ERROR(walker.WalkGroup(root.get(), "", 0));
  std::sort(out.groups.begin(), out.groups.end(),
            [](const KerasVarsGroup& a, const KerasVarsGroup& b) { return a.owner < b.owner; });
  return out;
}

// ------------------------------------------------- the reading child
// The child sends its result through a pipe: a status code (u32), then the
// message (for an error) or the groups: count, then per group the owner, a
// name flag and name, the var count and per var dtype (u32), rank (u32),
// dims (u64 each), element bytes (a string). Strings are a u64 length and
// the bytes.

void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutString(std::string* out, std::string_view s) {
  PutU64(out, s.size());
  out->append(s);
}

std::string Encode(const Result<KerasWeights>& r) {
  std::string out;
  PutU64(&out, static_cast<uint64_t>(r.status().code()));
  if (!r.ok()) {
    PutString(&out, r.status().message());
    return out;
  }
  PutU64(&out, r->groups.size());
  for (const KerasVarsGroup& g : r->groups) {
    PutString(&out, g.owner);
    PutU64(&out, g.name.has_value());
    PutString(&out, g.name.value_or(""));
    PutU64(&out, g.vars.size());
    for (const Tensor& t : g.vars) {
      PutU64(&out, static_cast<uint64_t>(t.dtype()));
      PutU64(&out, t.shape().rank());
      for (int64_t d : t.shape().dims()) PutU64(&out, static_cast<uint64_t>(d));
      PutString(&out, t.bytes());
    }
  }
  return out;
}

class Decoder {
 public:
  explicit Decoder(std::string_view data) : data_(data) {}
  bool U64(uint64_t* v) {
    if (data_.size() < 8) return false;
    std::memcpy(v, data_.data(), 8);
    data_.remove_prefix(8);
    return true;
  }
  bool String(std::string_view* s) {
    uint64_t n;
    if (!U64(&n) || n > data_.size()) return false;
    *s = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool done() const { return data_.empty(); }

 private:
  std::string_view data_;
};

Result<KerasWeights> Decode(std::string_view data, const std::string& path) {
  const Status bad = InternalError(EscapeForDisplay(path) + ": malformed answer from the HDF5 reader");
  Decoder d(data);
  uint64_t code = 0, count = 0;
  if (!d.U64(&code)) return bad;
  if (code != 0) {
    std::string_view message;
    if (!d.String(&message)) return bad;
    return Status(static_cast<StatusCode>(code), std::string(message));
  }
  if (!d.U64(&count)) return bad;
  KerasWeights out;
  for (uint64_t i = 0; i < count; ++i) {
    KerasVarsGroup g;
    std::string_view owner, name;
    uint64_t has_name = 0, vars = 0;
    if (!d.String(&owner) || !d.U64(&has_name) || !d.String(&name) || !d.U64(&vars)) return bad;
    g.owner = owner;
    if (has_name) g.name = std::string(name);
    for (uint64_t j = 0; j < vars; ++j) {
      uint64_t dtype = 0, rank = 0;
      if (!d.U64(&dtype) || !d.U64(&rank) || rank > 64) return bad;
      std::vector<int64_t> dims(rank);
      for (int64_t& dim : dims) {
        uint64_t v;
        if (!d.U64(&v)) return bad;
        dim = static_cast<int64_t>(v);
      }
      std::string_view bytes;
      if (!d.String(&bytes)) return bad;
      auto shape = TensorShape::Make(dims);
      if (!shape.ok() || FindDtype(static_cast<DataType>(dtype)) == nullptr) return bad;
      auto t = Tensor::AllocateUninitialized(static_cast<DataType>(dtype), *shape);
      if (!t.ok()) return t.status();
      if (t->byte_size() != bytes.size()) return bad;
      if (!bytes.empty()) std::memcpy(t->mutable_data(), bytes.data(), bytes.size());
      g.vars.push_back(std::move(*t));
    }
    out.groups.push_back(std::move(g));
  }
  if (!d.done()) return bad;
  return out;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Runs ReadInProcess in a forked child and returns its answer; a child that
// dies (libhdf5 crashing on a corrupt file) is a DataLoss error.
Result<KerasWeights> ReadInChild(const std::string& path, double timeout_seconds) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return IoError(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    int saved = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return IoError(std::string("fork: ") + std::strerror(saved));
  }
  if (pid == 0) {
    ::close(fds[0]);
    bool ok = WriteAll(fds[1], Encode(ReadInProcess(path)));
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  std::string answer;
  char buffer[1 << 16];
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(timeout_seconds));
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    ssize_t n = ::read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return DeadlineExceededError(EscapeForDisplay(path) + ": libhdf5 did not finish reading the file in " +
                                 std::to_string(timeout_seconds) + " s (a corrupt file can make it loop)");
  }
  if (WIFSIGNALED(wstatus)) {
    return DataLossError(EscapeForDisplay(path) + ": libhdf5 crashed reading the file (signal " +
                         std::to_string(WTERMSIG(wstatus)) + "): the file is corrupt");
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    // A sanitizer turns the crash into an exit code.
    return DataLossError(EscapeForDisplay(path) + ": the HDF5 reader process failed (exit " +
                         std::to_string(WEXITSTATUS(wstatus)) + "): the file is corrupt");
  }
  return Decode(answer, path);
}

}  // namespace

const KerasVarsGroup* KerasWeights::Find(const std::string& owner) const {
  for (const KerasVarsGroup& g : groups) {
    if (g.owner == owner) return &g;
  }
  return nullptr;
}

KerasVarsGroup* KerasWeights::Find(const std::string& owner) {
  return const_cast<KerasVarsGroup*>(static_cast<const KerasWeights*>(this)->Find(owner));
}

Result<KerasWeights> ReadKerasWeights(const std::string& path, const KerasWeightsReadOptions& options) {
  if (!Env::Posix()->FileExists(path)) {
    return NotFoundError(EscapeForDisplay(path) + ": no such Keras weights file");
  }
  // Holding the lock across fork: no other thread is inside HDF5 then, so
  // the child's copy of the library is consistent.
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  double timeout = options.timeout_seconds;
  if (timeout <= 0) {
    auto size = Env::Posix()->GetFileSize(path);
    timeout = 60 + (size.ok() ? static_cast<double>(*size) / (20 << 20) : 0);
  }
  return ReadInChild(path, timeout);
}

Status WriteKerasWeights(const KerasWeights& weights, const std::string& path,
                         const KerasWeightsWriteOptions& options) {
  Env* env = options.env;
  std::string dir(Dirname(path));
  if (!dir.empty()) CKPT_RETURN_IF_ERROR(env->CreateDirs(dir));
  TempPath tmp(env, path);
  Status status;
  {
    std::lock_guard<std::mutex> lock(Hdf5Mutex());
    status = WriteFile(weights, tmp.path(), path);
  }
  if (status.ok() && options.sync) status = SyncFile(tmp.path());
  if (status.ok()) status = env->RenameFile(tmp.path(), path);
  if (!status.ok()) {
    if (env->FileExists(tmp.path())) env->DeleteFile(tmp.path()).IgnoreError();
    return status;
  }
  if (options.sync) CKPT_RETURN_IF_ERROR(env->SyncDir(dir.empty() ? "." : dir));
  return Status::OK();
}

}  // namespace ckpt
