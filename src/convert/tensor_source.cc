// The TensorSource implementations: TensorFlow checkpoints (through
// CheckpointReader) and safetensors files (SafetensorsReader).
#include <algorithm>
#include <map>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/convert.h"
#include "ckpt/escape.h"
#include "ckpt/keras_weights.h"
#include "ckpt/object_graph.h"
#include "ckpt/safetensors.h"

namespace ckpt {
namespace {

class TfSource : public TensorSource {
 public:
  explicit TfSource(std::unique_ptr<CheckpointReader> reader) : reader_(std::move(reader)) {
    for (const VariableInfo& v : reader_->variables()) {
      if (v.name == kObjectGraphKey) {
        object_checkpoint_ = true;
        continue;
      }
      tensors_.push_back(v);
    }
  }
  const std::string& path() const override { return reader_->prefix(); }
  TensorFormat format() const override { return TensorFormat::kTfCheckpoint; }
  bool is_object_checkpoint() const override { return object_checkpoint_; }
  const std::vector<VariableInfo>& tensors() const override { return tensors_; }
  Result<Tensor> Read(std::string_view name) const override {
    if (name == kObjectGraphKey) {
      return NotFoundError("Key " + EscapeForDisplay(name) + " not found in checkpoint");
    }
    return reader_->GetTensor(name);
  }

 private:
  std::unique_ptr<CheckpointReader> reader_;
  std::vector<VariableInfo> tensors_;
  bool object_checkpoint_ = false;
};

class SafetensorsSource : public TensorSource {
 public:
  explicit SafetensorsSource(std::unique_ptr<SafetensorsReader> reader)
      : reader_(std::move(reader)) {
    for (const SafetensorsTensorInfo& t : reader_->header().tensors) {
      tensors_.push_back({t.name, t.dtype, t.shape});
    }
    std::sort(tensors_.begin(), tensors_.end(),
              [](const VariableInfo& a, const VariableInfo& b) { return a.name < b.name; });
  }
  const std::string& path() const override { return reader_->path(); }
  TensorFormat format() const override { return TensorFormat::kSafetensors; }
  const std::vector<VariableInfo>& tensors() const override { return tensors_; }
  Result<Tensor> Read(std::string_view name) const override { return reader_->Read(name); }

 private:
  std::unique_ptr<SafetensorsReader> reader_;
  std::vector<VariableInfo> tensors_;
};

// A Keras 3 weights file, read whole: its datasets named
// "<owner>/vars/<index>" ("vars/<index>" for the model's own), as h5py
// lists them.
class KerasSource : public TensorSource {
 public:
  KerasSource(std::string path, const KerasWeights& weights) : path_(std::move(path)) {
    for (const KerasVarsGroup& g : weights.groups) {
      const std::string group = g.owner.empty() ? "vars/" : g.owner + "/vars/";
      for (size_t i = 0; i < g.vars.size(); ++i) {
        const std::string name = group + std::to_string(i);
        tensors_.push_back({name, g.vars[i].dtype(), g.vars[i].shape()});
        values_.emplace(name, g.vars[i]);
      }
    }
    std::sort(tensors_.begin(), tensors_.end(),
              [](const VariableInfo& a, const VariableInfo& b) { return a.name < b.name; });
  }

  const std::string& path() const override { return path_; }
  TensorFormat format() const override { return TensorFormat::kKerasH5; }
  const std::vector<VariableInfo>& tensors() const override { return tensors_; }
  Result<Tensor> Read(std::string_view name) const override {
    auto it = values_.find(std::string(name));
    if (it == values_.end()) {
      return NotFoundError("No dataset " + EscapeForDisplay(name) + " in " +
                           EscapeForDisplay(path_));
    }
    return it->second;
  }

 private:
  std::string path_;
  std::vector<VariableInfo> tensors_;
  std::map<std::string, Tensor> values_;
};

}  // namespace

std::string_view TensorFormatName(TensorFormat format) {
  switch (format) {
    case TensorFormat::kTfCheckpoint:
      return "tf";
    case TensorFormat::kSafetensors:
      return "safetensors";
    case TensorFormat::kKerasH5:
      return "keras";
  }
  return "unknown";
}

Result<TensorFormat> ParseTensorFormat(std::string_view name) {
  for (TensorFormat f :
       {TensorFormat::kTfCheckpoint, TensorFormat::kSafetensors, TensorFormat::kKerasH5}) {
    if (name == TensorFormatName(f)) return f;
  }
  if (name == "keras-h5") return TensorFormat::kKerasH5;  // `ckpt convert --to keras-h5`
  return InvalidArgumentError("Unknown checkpoint format '" + EscapeForDisplay(name) +
                              "' (expected tf, safetensors or keras-h5)");
}

TensorFormat TensorFormatFromPath(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(".safetensors")) return TensorFormat::kSafetensors;
  if (ends_with(".h5")) return TensorFormat::kKerasH5;
  return TensorFormat::kTfCheckpoint;
}

Result<std::unique_ptr<TensorSource>> OpenTensorSource(Env* env, const std::string& path,
                                                       TensorFormat format) {
  switch (format) {
    case TensorFormat::kTfCheckpoint: {
      CheckpointReaderOptions options;
      options.env = env;
      CKPT_ASSIGN_OR_RETURN(auto reader, CheckpointReader::Open(path, options));
      return std::unique_ptr<TensorSource>(new TfSource(std::move(reader)));
    }
    case TensorFormat::kSafetensors: {
      CKPT_ASSIGN_OR_RETURN(auto reader, SafetensorsReader::Open(env, path));
      return std::unique_ptr<TensorSource>(new SafetensorsSource(std::move(reader)));
    }
    case TensorFormat::kKerasH5: {
      if (env != Env::Posix()) {
        return UnimplementedError("Keras weights files are read through libhdf5 from the local "
                                  "file system, not through another Env: " +
                                  EscapeForDisplay(path));
      }
      CKPT_ASSIGN_OR_RETURN(KerasWeights weights, ReadKerasWeights(path));
      return std::unique_ptr<TensorSource>(new KerasSource(path, weights));
    }
  }
  return InvalidArgumentError("Unknown checkpoint format for " + EscapeForDisplay(path));
}

}  // namespace ckpt
