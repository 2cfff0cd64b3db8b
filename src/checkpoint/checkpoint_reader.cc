// CheckpointReader: opens the checkpoint a path names (resolved by
// ResolveCheckpointPath, checkpoint/resolve.h: a directory, V2 prefix or V1
// file) and presents either format through one interface.
#include "ckpt/checkpoint_reader.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_set>

#include "bundle/v1_reader.h"
#include "checkpoint/resolve.h"
#include "checkpoint/variable_entries.h"

namespace ckpt {

void ForEachVariableEntry(const BundleReader& reader,
                          const std::function<void(const BundleEntry&)>& fn) {
  std::unordered_set<std::string> slice_keys;
  for (const BundleEntry& e : reader.entries()) {
    for (const TensorSlice& s : e.slices) slice_keys.insert(EncodeTensorNameSlice(e.key, s));
  }
  for (const BundleEntry& e : reader.entries()) {
    if (!slice_keys.empty() && slice_keys.count(e.key) > 0) continue;
    fn(e);
  }
}

Result<std::vector<Tensor>> CheckpointReader::GetTensors(
    const std::vector<std::string_view>& names) const {
  for (std::string_view name : names) {
    if (HasTensor(name)) continue;
    Status missing = GetTensor(name).status();  // the reader's own NotFound
    if (!missing.ok()) return missing;
  }
  std::vector<Tensor> out;
  out.reserve(names.size());
  for (std::string_view name : names) {
    CKPT_ASSIGN_OR_RETURN(Tensor t, GetTensor(name));
    out.push_back(std::move(t));
  }
  return out;
}

namespace {

class V2CheckpointReader : public CheckpointReader {
 public:
  explicit V2CheckpointReader(std::unique_ptr<BundleReader> r) : reader_(std::move(r)) {}
  const std::string& prefix() const override { return reader_->prefix(); }
  Format format() const override { return Format::kV2; }
  const std::vector<VariableInfo>& variables() const override {
    std::call_once(vars_once_, [this] { BuildVariables(); });
    return vars_;
  }
  bool HasTensor(std::string_view name) const override { return reader_->Contains(name); }
  Result<Tensor> GetTensor(std::string_view name) const override { return reader_->Read(name); }
  Result<std::vector<Tensor>> GetTensors(const std::vector<std::string_view>& names) const override {
    return reader_->ReadMany(names);
  }
  std::string DebugString() const override { return reader_->DebugString(); }
  const BundleReader* bundle() const override { return reader_.get(); }

 private:
  // The variable list copies every name and shape: built on first use, so
  // readers that only list (DebugString) or read by name never hold a second
  // copy of the index.
  void BuildVariables() const {
    size_t num_slices = 0;
    for (const BundleEntry& e : reader_->entries()) num_slices += e.slices.size();
    vars_.reserve(reader_->entries().size() - std::min(num_slices, reader_->entries().size()));
    ForEachVariableEntry(*reader_, [this](const BundleEntry& e) {
      vars_.push_back({e.key, e.dtype, e.shape});
    });
  }

  std::unique_ptr<BundleReader> reader_;
  mutable std::once_flag vars_once_;
  mutable std::vector<VariableInfo> vars_;
};

class V1CheckpointReader : public CheckpointReader {
 public:
  V1CheckpointReader(std::string prefix, std::unique_ptr<V1Reader> r)
      : prefix_(std::move(prefix)), reader_(std::move(r)) {}
  const std::string& prefix() const override { return prefix_; }
  Format format() const override { return Format::kV1; }
  const std::vector<VariableInfo>& variables() const override { return reader_->variables(); }
  bool HasTensor(std::string_view name) const override { return reader_->Contains(name); }
  Result<Tensor> GetTensor(std::string_view name) const override { return reader_->Read(name); }
  std::string DebugString() const override { return reader_->DebugString(); }

 private:
  std::string prefix_;
  std::unique_ptr<V1Reader> reader_;
};

}  // namespace

Result<std::unique_ptr<CheckpointReader>> CheckpointReader::Open(const std::string& path,
                                                                 CheckpointReaderOptions options) {
  Env* env = options.env;
  if (env == nullptr) return InvalidArgumentError("CheckpointReaderOptions.env is null");
  CKPT_ASSIGN_OR_RETURN(ResolvedCheckpoint found, ResolveCheckpointPath(env, path));
  if (found.format == Format::kV2) {
    BundleReaderOptions bo;
    bo.env = env;
    bo.verify_checksums = options.verify_checksums;
    CKPT_ASSIGN_OR_RETURN(auto reader, BundleReader::Open(found.prefix, bo));
    return std::unique_ptr<CheckpointReader>(new V2CheckpointReader(std::move(reader)));
  }
  // Tried as a V1 checkpoint because the path names a file; when that
  // fails, say what the user most likely meant (found.hint).
  auto reader = V1Reader::Open(env, found.prefix);
  if (!reader.ok()) return Status(reader.status().code(), reader.status().message() + found.hint);
  return std::unique_ptr<CheckpointReader>(
      new V1CheckpointReader(found.prefix, std::move(reader).value()));
}

}  // namespace ckpt
