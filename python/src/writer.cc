// Writing from Python: Save (one V2 bundle), Saver (TF1's tf.train.Saver:
// flat keys, numbered saves, retention) and CheckpointManager (TF2's
// tf.train.CheckpointManager over an object checkpoint).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "binding.h"
#include "ckpt/bundle_writer.h"
#include "ckpt/checkpoint_manager.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/object_checkpoint.h"
#include "ckpt/saver.h"

namespace ckpt::python {

namespace {

// entries: [(name bytes, (dtype, shape, payload))]; tensors are views of the
// payloads (valid while `entries` lives).
std::vector<std::pair<std::string, Tensor>> Entries(const nb::list& entries) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (nb::handle e : entries) {
    nb::tuple t = nb::cast<nb::tuple>(e);
    nb::bytes name = nb::cast<nb::bytes>(t[0]);
    out.emplace_back(std::string(name.c_str(), name.size()), TensorFromPython(t[1]));
  }
  return out;
}

std::string DirOf(const std::string& prefix) {
  std::string dir(Dirname(prefix));
  return dir.empty() ? "." : dir;
}

// One V2 bundle at `prefix`, tensors in the order given; with state_file,
// the directory's `checkpoint` file then names it (relative path), as
// tf.train.update_checkpoint_state(dir, prefix) does.
void Save(const std::string& prefix, const nb::list& entries, bool state_file) {
  auto tensors = Entries(entries);
  nb::gil_scoped_release release;
  auto writer = ValueOrThrow(BundleWriter::Create(prefix));
  for (const auto& [name, tensor] : tensors) ThrowIfError(writer->Add(name, tensor));
  ThrowIfError(writer->Finish());
  if (state_file) {
    UpdateCheckpointStateOptions options;
    options.save_relative_paths = true;
    ThrowIfError(UpdateCheckpointState(Env::Posix(), DirOf(prefix), prefix, {prefix}, {},
                                       std::nullopt, options));
  }
}

// The variables of a Saver are fixed by its first save (as a TF1 Saver's
// var_list); later saves copy new values into them.
class PySaver {
 public:
  PySaver(int max_to_keep, double keep_checkpoint_every_n_hours, bool pad_step_number,
          bool save_relative_paths) {
    options_.max_to_keep = max_to_keep;
    options_.keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours;
    options_.pad_step_number = pad_step_number;
    options_.save_relative_paths = save_relative_paths;
    options_.log_saves = false;  // as tf.compat.v1.train.Saver.save, silent
  }

  std::string save(const std::string& save_path, const nb::list& entries,
                   std::optional<int64_t> global_step, bool write_state) {
    auto tensors = Entries(entries);
    nb::gil_scoped_release release;
    if (!saver_) {
      std::map<std::string, Tensor*> vars;
      for (const auto& [name, tensor] : tensors) {
        auto [it, inserted] = vars_.emplace(name, tensor.Copy());
        if (!inserted) ThrowIfError(InvalidArgumentError("duplicate variable name " + name));
        vars[name] = &it->second;
      }
      saver_ = ValueOrThrow(Saver::Create(VarListFromMap(vars), options_));
    } else {
      ThrowIfError(Assign(tensors));
    }
    SaveArgs args;
    args.global_step = global_step;
    args.write_meta_graph = false;
    args.write_state = write_state;
    return ValueOrThrow(saver_->Save(save_path, args));
  }

  std::vector<std::string> last_checkpoints() const {
    return saver_ ? saver_->last_checkpoints() : std::vector<std::string>();
  }

 private:
  Status Assign(const std::vector<std::pair<std::string, Tensor>>& tensors) {
    if (tensors.size() != vars_.size()) {
      return InvalidArgumentError("this Saver saves " + std::to_string(vars_.size()) +
                                  " variables (fixed by its first save), got " +
                                  std::to_string(tensors.size()));
    }
    for (const auto& [name, tensor] : tensors) {
      auto it = vars_.find(name);
      if (it == vars_.end()) {
        return InvalidArgumentError("variable " + name +
                                    " was not in this Saver's first save");
      }
      if (it->second.dtype() != tensor.dtype() || it->second.shape() != tensor.shape()) {
        return InvalidArgumentError(
            "variable " + name + ": expected " + std::string(DataTypeName(it->second.dtype())) +
            " " + it->second.shape().DebugString() + ", got " +
            std::string(DataTypeName(tensor.dtype())) + " " + tensor.shape().DebugString());
      }
    }
    for (const auto& [name, tensor] : tensors) {
      Tensor& var = vars_.at(name);
      if (var.dtype() == DataType::kString) {
        *var.mutable_strings() = tensor.strings();
      } else if (var.byte_size() > 0) {
        std::memcpy(var.mutable_data(), tensor.data(), var.byte_size());
      }
    }
    return Status::OK();
  }

  SaverOptions options_;
  std::map<std::string, Tensor> vars_;
  std::unique_ptr<Saver> saver_;
};

// tf.train.CheckpointManager(tf.train.Checkpoint(**tensors), ...): each save
// tracks every given name as a variable of the checkpoint's root (a name of
// an earlier save that is not given keeps its last value).
class PyManager {
 public:
  PyManager(std::string directory, std::optional<int> max_to_keep,
            std::optional<double> keep_checkpoint_every_n_hours, std::string checkpoint_name) {
    CheckpointManagerOptions options;
    options.max_to_keep = max_to_keep;
    options.keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours;
    options.checkpoint_name = std::move(checkpoint_name);
    manager_ = ValueOrThrow(CheckpointManager::Create(&target_, std::move(directory), options));
  }

  // The prefix written.
  std::string save(const nb::list& entries, std::optional<int64_t> checkpoint_number) {
    auto tensors = Entries(entries);
    nb::gil_scoped_release release;
    for (const auto& [name, tensor] : tensors) {
      std::shared_ptr<Trackable> child = target_.root().GetChild(name);
      Variable* var = child ? child->AsVariable() : nullptr;
      if (var && var->dtype() == tensor.dtype() && var->shape() == tensor.shape()) {
        ThrowIfError(var->Assign(tensor));
      } else {
        ThrowIfError(target_.AddChild(name, Variable::Create(tensor.Copy(), name)));
      }
    }
    return ValueOrThrow(manager_->Save(checkpoint_number));
  }

  std::optional<std::string> latest_checkpoint() const { return manager_->latest_checkpoint(); }
  std::vector<std::string> checkpoints() const { return manager_->checkpoints(); }
  const std::string& directory() const { return manager_->directory(); }

 private:
  ObjectCheckpoint target_;
  std::unique_ptr<CheckpointManager> manager_;
};

}  // namespace

void RegisterWriter(nb::module_& m) {
  m.def("save", &Save, nb::arg("prefix"), nb::arg("entries"), nb::arg("state_file"));
  nb::class_<PySaver>(m, "Saver")
      .def(nb::init<int, double, bool, bool>(), nb::arg("max_to_keep"),
           nb::arg("keep_checkpoint_every_n_hours"), nb::arg("pad_step_number"),
           nb::arg("save_relative_paths"))
      .def("save", &PySaver::save, nb::arg("save_path"), nb::arg("entries"),
           nb::arg("global_step").none(), nb::arg("write_state"))
      .def_prop_ro("last_checkpoints", &PySaver::last_checkpoints);
  nb::class_<PyManager>(m, "CheckpointManager")
      .def(nb::init<std::string, std::optional<int>, std::optional<double>, std::string>(),
           nb::arg("directory"), nb::arg("max_to_keep").none(),
           nb::arg("keep_checkpoint_every_n_hours").none(), nb::arg("checkpoint_name"))
      .def("save", &PyManager::save, nb::arg("entries"), nb::arg("checkpoint_number").none())
      .def_prop_ro("latest_checkpoint", &PyManager::latest_checkpoint)
      .def_prop_ro("checkpoints", &PyManager::checkpoints)
      .def_prop_ro("directory", &PyManager::directory);
}

}  // namespace ckpt::python
