// Writing and restoring TF2 object-based checkpoints (tf.train.Checkpoint).
//
// Write protocol (TensorFlow's MultiDeviceSaver, one device): the object tree
// is walked breadth-first from the root over children in tracking order,
// giving node ids and paths; slot variables of every optimizer found follow,
// by slot name (sorted) and then by their original variable's node id. Every
// variable's value goes into one bundle at
// "<prefix>_temp.ckpt-tmp.<pid>.<hex>/part-00000-of-00001" (TF: "<prefix>_temp/")
// in node order, the serialized object graph last; BundleWriter publishes that
// shard atomically, and MergeBundles renames its data file to
// "<prefix>.data-00000-of-00001", writes "<prefix>.index" through a temporary
// name and removes the temp directory. "<prefix>.index" appearing is the
// commit point. Writing through the temp shard rather than straight to the
// prefix keeps the files identical to TensorFlow's (merge re-encodes the
// index exactly as TF's MergeV2Checkpoints does) and leaves only a temporary
// directory (checkpoint/leftovers.h), never a half-written prefix, after a
// crash. Write and Save hold the directory's WriterLock.
//
// Restore reads and checks everything before assigning anything.
#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/object_checkpoint.h"
#include "ckpt/writer_lock.h"
#include "env/temp_path.h"
#include "filenames/filenames.h"
#include "tensorflow/core/protobuf/trackable_object_graph.pb.h"

namespace ckpt {
namespace {

// Our object tree flattened as TensorFlow numbers it.
struct FlatGraph {
  struct SlotRef {
    int original;
    std::string slot_name;
    int slot;
  };
  std::vector<Trackable*> nodes;
  std::vector<std::string> paths;
  std::unordered_map<const Trackable*, int> ids;
  // Per optimizer node id: its slot references.
  std::map<int, std::vector<SlotRef>> slots;
};

// `root_child_override`: an extra (name, object) treated as a child of the
// root when the root has no child of that name (a staged save counter).
Result<FlatGraph> Flatten(Trackable* root, const Trackable::Child* root_extra = nullptr) {
  FlatGraph g;
  auto add = [&g](Trackable* t, std::string path) {
    g.ids.emplace(t, static_cast<int>(g.nodes.size()));
    g.nodes.push_back(t);
    g.paths.push_back(std::move(path));
  };
  add(root, "");
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Trackable* t = g.nodes[i];
    std::vector<const Trackable::Child*> children;
    for (const auto& c : t->children()) children.push_back(&c);
    if (i == 0 && root_extra != nullptr) children.push_back(root_extra);
    for (const Trackable::Child* c : children) {
      if (g.ids.count(c->object.get())) continue;
      const std::string& parent = g.paths[i];
      std::string escaped = EscapeLocalName(c->local_name);
      add(c->object.get(), parent.empty() ? escaped : parent + "/" + escaped);
    }
  }
  const size_t num_objects = g.nodes.size();
  for (size_t opt = 0; opt < num_objects; ++opt) {
    const auto& slots = g.nodes[opt]->slot_variables();
    if (slots.empty()) continue;
    std::set<std::string> names;
    for (const auto& s : slots) names.insert(s.slot_name);
    for (const std::string& name : names) {
      for (size_t orig = 0; orig < num_objects; ++orig) {
        Variable* v = g.nodes[orig]->AsVariable();
        if (v == nullptr) continue;
        std::shared_ptr<Variable> slot = g.nodes[opt]->GetSlot(v, name);
        if (slot == nullptr) continue;
        if (g.ids.count(slot.get())) {
          return InvalidArgumentError(
              "Slot variable \"" + name + "\" of \"" + g.paths[orig] + "\" in optimizer \"" +
              g.paths[opt] + "\" is also tracked elsewhere in the object graph (as \"" +
              g.paths[g.ids[slot.get()]] + "\"); a slot variable must belong to one optimizer");
        }
        int slot_id = static_cast<int>(g.nodes.size());
        add(slot.get(), SlotVariablePath(g.paths[orig], g.paths[opt], name));
        g.slots[static_cast<int>(opt)].push_back({static_cast<int>(orig), name, slot_id});
      }
    }
  }
  return g;
}

std::string IncompatibleMessage(const char* what, const std::string& saved,
                                const std::string& ours, const Variable& v,
                                const std::string& our_path, const std::string& key) {
  return std::string("Received incompatible tensor with ") + what + " " + saved +
         " when attempting to restore variable with " + what + " " + ours + " and name " +
         v.full_name() + " (object \"" + our_path + "\", checkpoint key \"" + key + "\")";
}

}  // namespace

// ------------------------------------------------------------- Trackable

Status Trackable::AddChild(std::string local_name, std::shared_ptr<Trackable> object) {
  if (local_name.empty()) return InvalidArgumentError("A child's local name must not be empty");
  if (object == nullptr) {
    return InvalidArgumentError("Child \"" + local_name + "\" is null");
  }
  if (object.get() == this) {
    return InvalidArgumentError("Child \"" + local_name + "\" is the object itself");
  }
  for (Child& c : children_) {
    if (c.local_name == local_name) {
      c.object = std::move(object);
      return Status::OK();
    }
  }
  children_.push_back({std::move(local_name), std::move(object)});
  return Status::OK();
}

Result<std::shared_ptr<Trackable>> Trackable::AddObject(std::string local_name) {
  auto object = std::make_shared<Trackable>();
  CKPT_RETURN_IF_ERROR(AddChild(std::move(local_name), object));
  return object;
}

Result<std::shared_ptr<Variable>> Trackable::AddVariable(std::string local_name, Tensor value,
                                                         std::string full_name) {
  if (!IsStorable(value.dtype())) {
    return InvalidArgumentError("Variable \"" + local_name + "\" has dtype " +
                                std::string(DataTypeName(value.dtype())) +
                                ", which a checkpoint cannot store");
  }
  auto v = Variable::Create(std::move(value), std::move(full_name));
  CKPT_RETURN_IF_ERROR(AddChild(std::move(local_name), v));
  return v;
}

std::shared_ptr<Trackable> Trackable::GetChild(std::string_view local_name) const {
  for (const Child& c : children_) {
    if (c.local_name == local_name) return c.object;
  }
  return nullptr;
}

Status Trackable::AddSlotVariable(std::shared_ptr<Variable> original, std::string slot_name,
                                  std::shared_ptr<Variable> slot) {
  if (slot_name.empty()) return InvalidArgumentError("A slot name must not be empty");
  if (original == nullptr || slot == nullptr) {
    return InvalidArgumentError("Slot \"" + slot_name + "\": variables must not be null");
  }
  if (!slot->children().empty()) {
    return InvalidArgumentError("Slot \"" + slot_name +
                                "\": only variables without children can be slot variables");
  }
  for (Slot& s : slots_) {
    if (s.original == original && s.slot_name == slot_name) {
      s.slot = std::move(slot);
      return Status::OK();
    }
  }
  slots_.push_back({std::move(original), std::move(slot_name), std::move(slot)});
  return Status::OK();
}

std::shared_ptr<Variable> Trackable::GetSlot(const Variable* original,
                                             std::string_view slot_name) const {
  for (const Slot& s : slots_) {
    if (s.original.get() == original && s.slot_name == slot_name) return s.slot;
  }
  return nullptr;
}

// -------------------------------------------------------------- Variable

Variable::Variable(Tensor value, std::string full_name)
    : value_(std::move(value)), full_name_(std::move(full_name)) {
  if (full_name_.empty()) full_name_ = "Variable";
}

std::shared_ptr<Variable> Variable::Create(Tensor value, std::string full_name) {
  return std::shared_ptr<Variable>(new Variable(std::move(value), std::move(full_name)));
}

Status Variable::Assign(const Tensor& value) {
  if (value.dtype() != value_.dtype() || value.shape() != value_.shape()) {
    return InvalidArgumentError(
        "Cannot assign a tensor of dtype " + std::string(DataTypeName(value.dtype())) +
        " and shape " + value.shape().DebugString() + " to variable " + full_name_ +
        " of dtype " + std::string(DataTypeName(value_.dtype())) + " and shape " +
        value_.shape().DebugString());
  }
  if (value_.dtype() == DataType::kString) {
    *value_.mutable_strings() = value.strings();
  } else if (value_.is_view()) {
    value_ = value.Copy();
  } else if (value_.byte_size() > 0) {
    std::copy_n(value.data(), value.byte_size(), value_.mutable_data());
  }
  return Status::OK();
}

// -------------------------------------------------- ObjectRestoreStatus

namespace {
void AppendLines(std::string* out, const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  if (!out->empty()) *out += "\n";
  *out += title;
  for (const std::string& s : items) *out += "\n  " + (s.empty() ? std::string("(root)") : s);
}
}  // namespace

Status ObjectRestoreStatus::AssertConsumed() const {
  std::string msg;
  AppendLines(&msg, "Unused values in the checkpoint (saved but not restored into any object):",
              unused_checkpoint_values);
  AppendLines(&msg,
              "Objects not bound to checkpointed values (likely the object tree differs from "
              "the one saved):",
              unmatched_objects);
  std::vector<std::string> matched_without_value;
  for (const std::string& v : unrestored_variables) {
    if (std::find(unmatched_objects.begin(), unmatched_objects.end(), v) ==
        unmatched_objects.end()) {
      matched_without_value.push_back(v);
    }
  }
  AppendLines(&msg, "Variables matched to a saved object that holds no value:",
              matched_without_value);
  if (msg.empty()) return Status::OK();
  return FailedPreconditionError(msg);
}

Status ObjectRestoreStatus::AssertExistingObjectsMatched() const {
  std::string msg;
  AppendLines(&msg, "Variables not restored (no value for them in the checkpoint):",
              unrestored_variables);
  if (msg.empty()) return Status::OK();
  return FailedPreconditionError(msg);
}

// ------------------------------------------------------ ObjectCheckpoint

ObjectCheckpoint::ObjectCheckpoint(std::map<std::string, std::shared_ptr<Trackable>> children,
                                   ObjectCheckpointOptions options)
    : options_(options), root_(std::make_shared<Trackable>()) {
  for (auto& [name, object] : children) {
    // Invalid entries (empty name, null) are skipped here and cannot be
    // reported from a constructor; AddChild reports them.
    root_->AddChild(name, object).IgnoreError();
  }
}

ObjectCheckpoint::~ObjectCheckpoint() = default;

std::shared_ptr<Variable> ObjectCheckpoint::save_counter() const {
  auto child = root_->GetChild(kSaveCounterName);
  if (child == nullptr || child->AsVariable() == nullptr) return nullptr;
  return std::static_pointer_cast<Variable>(child);
}

int64_t ObjectCheckpoint::IncrementSaveCounter() {
  std::shared_ptr<Variable> counter = save_counter();
  if (counter == nullptr || counter->dtype() != DataType::kInt64 ||
      counter->shape().rank() != 0) {
    counter = Variable::Create(Tensor::Scalar<int64_t>(0), kSaveCounterName);
    root_->AddChild(kSaveCounterName, counter).IgnoreError();  // valid name and object
  }
  int64_t next = counter->value().flat<int64_t>()[0] + 1;
  counter->Assign(Tensor::Scalar<int64_t>(next)).IgnoreError();  // same dtype and shape
  return next;
}

Status ObjectCheckpoint::Write(const std::string& prefix) {
  if (prefix.empty()) return InvalidArgumentError("Checkpoint prefix must not be empty");
  CKPT_ASSIGN_OR_RETURN(FlatGraph g, Flatten(root_.get()));

  tensorflow::TrackableObjectGraph proto;
  std::vector<std::pair<std::string, const Variable*>> values;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto* node = proto.add_nodes();
    Trackable* t = g.nodes[i];
    for (const auto& c : t->children()) {
      auto* ref = node->add_children();
      ref->set_node_id(g.ids.at(c.object.get()));
      ref->set_local_name(c.local_name);
    }
    auto slots = g.slots.find(static_cast<int>(i));
    if (slots != g.slots.end()) {
      for (const auto& s : slots->second) {
        auto* ref = node->add_slot_variables();
        ref->set_original_variable_node_id(s.original);
        ref->set_slot_name(s.slot_name);
        ref->set_slot_variable_node_id(s.slot);
      }
    }
    if (Variable* v = t->AsVariable()) {
      if (!IsStorable(v->dtype())) {
        return InvalidArgumentError("Variable \"" + g.paths[i] + "\" (" + v->full_name() +
                                    ") has dtype " + std::string(DataTypeName(v->dtype())) +
                                    ", which a checkpoint cannot store");
      }
      std::string key = AttributeCheckpointKey(g.paths[i]);
      auto* attr = node->add_attributes();
      attr->set_name(kVariableValueAttribute);
      attr->set_full_name(v->full_name());
      attr->set_checkpoint_key(key);
      values.emplace_back(std::move(key), v);
    }
  }

  // has_checkpoint_values: a node with values, and every ancestor of one.
  const int n = proto.nodes_size();
  std::vector<std::vector<int>> parents(n);
  std::vector<bool> has_values(n, false);
  std::deque<int> todo;
  for (int i = 0; i < n; ++i) {
    const auto& node = proto.nodes(i);
    for (const auto& c : node.children()) parents[c.node_id()].push_back(i);
    if (node.attributes_size() > 0 || node.slot_variables_size() > 0) {
      has_values[i] = true;
      todo.push_back(i);
    }
  }
  while (!todo.empty()) {
    int i = todo.front();
    todo.pop_front();
    for (int p : parents[i]) {
      if (!has_values[p]) {
        has_values[p] = true;
        todo.push_back(p);
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    proto.mutable_nodes(i)->mutable_has_checkpoint_values()->set_value(has_values[i]);
  }
  std::string serialized;
  if (!proto.SerializeToString(&serialized)) {
    return InternalError("Serializing the object graph for " + prefix + " failed");
  }

  // One writer per directory (ckpt/writer_lock.h); shared with a
  // CheckpointManager or Save of this process that is writing through us.
  const std::string dir(Dirname(prefix));
  if (!dir.empty()) CKPT_RETURN_IF_ERROR(options_.env->CreateDirs(dir));
  CKPT_ASSIGN_OR_RETURN(std::shared_ptr<WriterLock> lock,
                        WriterLock::Acquire(options_.env, dir.empty() ? "." : dir));
  const TempPath temp(options_.env, ShardedSaveDirName(prefix));
  const std::string& temp_dir = temp.path();
  const std::string shard = temp_dir + "/part-00000-of-00001";
  BundleWriterOptions wopts;
  wopts.env = options_.env;
  wopts.sync = options_.sync;
  Status s = [&]() -> Status {
    CKPT_ASSIGN_OR_RETURN(auto writer, BundleWriter::Create(shard, wopts));
    for (const auto& [key, v] : values) CKPT_RETURN_IF_ERROR(writer->Add(key, v->value()));
    CKPT_RETURN_IF_ERROR(writer->Add(kObjectGraphKey, Tensor::StringScalar(serialized)));
    CKPT_RETURN_IF_ERROR(writer->Finish());
    return MergeBundles(options_.env, {shard}, prefix, /*delete_old_dirs=*/true);
  }();
  if (!s.ok()) {
    // Best effort: leave no shard behind.
    for (const std::string& f : {MetaFilename(shard), DataFilename(shard, 0, 1)}) {
      if (options_.env->FileExists(f)) options_.env->DeleteFile(f).IgnoreError();
    }
    if (options_.env->IsDirectory(temp_dir)) options_.env->DeleteDir(temp_dir).IgnoreError();
    return s.WithContext("Writing object-based checkpoint " + prefix);
  }
  return Status::OK();
}

Result<std::string> ObjectCheckpoint::Save(const std::string& file_prefix) {
  if (file_prefix.empty()) return InvalidArgumentError("Checkpoint prefix must not be empty");
  const std::string prefix_dir(Dirname(file_prefix));
  if (!prefix_dir.empty()) CKPT_RETURN_IF_ERROR(options_.env->CreateDirs(prefix_dir));
  CKPT_ASSIGN_OR_RETURN(
      std::shared_ptr<WriterLock> lock,
      WriterLock::Acquire(options_.env, prefix_dir.empty() ? "." : prefix_dir));
  const int64_t n = IncrementSaveCounter();
  const std::string path = file_prefix + "-" + std::to_string(n);
  CKPT_RETURN_IF_ERROR(Write(path));
  std::string dir(Dirname(file_prefix));
  if (dir.empty()) dir = ".";
  UpdateCheckpointStateOptions sopts;
  sopts.save_relative_paths = true;
  CKPT_RETURN_IF_ERROR(UpdateCheckpointState(options_.env, dir, path, {path}, {},
                                             std::nullopt, sopts));
  return path;
}

Status ObjectCheckpoint::Restore(const std::string& path) {
  return RestoreWithStatus(path).status();
}

Result<ObjectRestoreStatus> ObjectCheckpoint::RestoreWithStatus(const std::string& path) {
  CheckpointReaderOptions ropts;
  ropts.env = options_.env;
  CKPT_ASSIGN_OR_RETURN(auto reader, ObjectCheckpointReader::Open(path, ropts));
  const ObjectGraph& saved = reader->graph();
  const auto& nodes = saved.nodes();
  const int n = static_cast<int>(nodes.size());

  // A save counter restored from the checkpoint is created only on success.
  std::shared_ptr<Variable> staged_counter;
  Trackable::Child staged_child;
  if (root_->GetChild(kSaveCounterName) == nullptr) {
    for (const auto& c : nodes[0].children) {
      if (c.local_name == kSaveCounterName) {
        staged_counter = Variable::Create(Tensor::Scalar<int64_t>(0), kSaveCounterName);
        staged_child = {kSaveCounterName, staged_counter};
        break;
      }
    }
  }
  CKPT_ASSIGN_OR_RETURN(FlatGraph ours,
                        Flatten(root_.get(), staged_counter ? &staged_child : nullptr));

  // Match saved nodes to our objects, breadth-first along child names.
  std::vector<Trackable*> match(n, nullptr);
  std::unordered_map<const Trackable*, int> matched_to;
  auto bind = [&](int id, Trackable* t) {
    if (match[id] != nullptr || matched_to.count(t)) return false;
    match[id] = t;
    matched_to.emplace(t, id);
    return true;
  };
  bind(0, root_.get());
  std::deque<int> queue{0};
  while (!queue.empty()) {
    int id = queue.front();
    queue.pop_front();
    Trackable* t = match[id];
    for (const auto& c : nodes[id].children) {
      std::shared_ptr<Trackable> child = t->GetChild(c.local_name);
      if (child == nullptr && id == 0 && staged_counter && c.local_name == kSaveCounterName) {
        child = staged_counter;
      }
      if (child != nullptr && bind(c.node_id, child.get())) queue.push_back(c.node_id);
    }
  }
  // Slot variables, once their optimizer and original variable are matched.
  for (int id = 0; id < n; ++id) {
    if (match[id] == nullptr) continue;
    for (const auto& s : nodes[id].slot_variables) {
      Trackable* original = match[s.original_variable_node_id];
      if (original == nullptr || original->AsVariable() == nullptr) continue;
      std::shared_ptr<Variable> slot = match[id]->GetSlot(original->AsVariable(), s.slot_name);
      if (slot != nullptr) bind(s.slot_variable_node_id, slot.get());
    }
  }

  // Read and check every value before assigning any.
  ObjectRestoreStatus status;
  std::vector<std::pair<Variable*, Tensor>> staged;
  std::string errors;
  auto our_path = [&](const Trackable* t) { return ours.paths[ours.ids.at(t)]; };
  for (int id = 0; id < n; ++id) {
    for (const auto& attr : nodes[id].attributes) {
      Variable* v = match[id] != nullptr ? match[id]->AsVariable() : nullptr;
      const std::string where = (nodes[id].reachable ? nodes[id].path : "(node " +
                                 std::to_string(id) + ")") + " (" + attr.checkpoint_key + ")";
      if (v == nullptr || attr.name != kVariableValueAttribute) {
        status.unused_checkpoint_values.push_back(where);
        continue;
      }
      auto value = reader->reader().GetTensor(attr.checkpoint_key);
      if (!value.ok()) {
        return value.status().WithContext("Restoring \"" + our_path(v) + "\" from " +
                                          reader->prefix());
      }
      const std::string path_of_v = our_path(v);
      if (value->dtype() != v->dtype()) {
        if (!errors.empty()) errors += "\n";
        errors += IncompatibleMessage("dtype", std::string(DataTypeName(value->dtype())),
                                      std::string(DataTypeName(v->dtype())), *v, path_of_v,
                                      attr.checkpoint_key);
        continue;
      }
      if (value->shape() != v->shape()) {
        if (!errors.empty()) errors += "\n";
        errors += IncompatibleMessage("shape", value->shape().DebugString(),
                                      v->shape().DebugString(), *v, path_of_v,
                                      attr.checkpoint_key);
        continue;
      }
      staged.emplace_back(v, std::move(value).value());
      status.restored.emplace_back(path_of_v, attr.checkpoint_key);
    }
  }
  if (!errors.empty()) return InvalidArgumentError(errors);

  std::set<const Variable*> restored;
  for (const auto& [v, value] : staged) restored.insert(v);
  for (size_t i = 0; i < ours.nodes.size(); ++i) {
    Trackable* t = ours.nodes[i];
    if (!matched_to.count(t)) status.unmatched_objects.push_back(ours.paths[i]);
    if (t->AsVariable() != nullptr && !restored.count(t->AsVariable())) {
      status.unrestored_variables.push_back(ours.paths[i]);
    }
  }

  for (auto& [v, value] : staged) {
    Status s = v->Assign(value);
    if (!s.ok()) return InternalError("Assign after checking failed: " + s.message());
  }
  if (staged_counter && matched_to.count(staged_counter.get())) {
    root_->AddChild(kSaveCounterName, staged_counter).IgnoreError();  // valid name and object
  }
  return status;
}

}  // namespace ckpt
