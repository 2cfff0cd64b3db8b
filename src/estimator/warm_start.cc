// Warm starting and init_from_checkpoint (see ckpt/warm_start.h).
//
// Both entry points work in two phases so that a failure changes nothing:
//   1. plan: decide which variable reads which checkpoint key, checking
//      every key against the checkpoint's listing (presence, shape, dtype)
//      and logging TensorFlow's lines as TF does while it builds its
//      initialisers;
//   2. load: read every planned tensor (each key once; slices of a
//      partitioned variable cut from the full tensor) into temporaries,
//      then copy them into the callers' tensors.
// Texts of errors and log lines are TensorFlow's (warm_starting_util.py,
// checkpoint_utils.py, RestoreV2), rendered with Python's repr where TF
// formats Python objects.
#include "ckpt/warm_start.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/logging.h"
#include "ckpt/run_config.h"
#include "ckpt/tensor_slice.h"
#include "checkpoint/resolve.h"

namespace ckpt {
namespace {

// str() of a TF1 TensorShape: "()", "(10,)", "(4, 10)".
std::string PyTupleShape(const TensorShape& shape) {
  std::string out = "(";
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape.dim(i));
  }
  if (shape.rank() == 1) out += ",";
  return out + ")";
}

// str() of a Python list of dims: "[]", "[4, 10]".
std::string PyListShape(const TensorShape& shape) {
  std::string out = "[";
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape.dim(i));
  }
  return out + "]";
}

// One variable of the caller's list: a plain tensor, or the slices of one
// partitioned variable (entries sharing a name and full_shape).
struct VarGroup {
  std::string name;
  std::vector<const SaveableTensor*> parts;
  bool partitioned() const { return parts.front()->full_shape.has_value(); }
  DataType dtype() const { return parts.front()->tensor->dtype(); }
  const TensorShape& shape() const {
    return partitioned() ? *parts.front()->full_shape : parts.front()->tensor->shape();
  }
  // TF's graph name(s), as init_from_checkpoint logs them: "v:0", or the
  // partitions "v/part_0:0,v/part_1:0".
  std::string GraphNames() const {
    if (!partitioned()) return name + ":0";
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      out += (i ? "," : "") + name + "/part_" + std::to_string(i) + ":0";
    }
    return out;
  }
};

// Groups `vars` by name (first-appearance order), validating that the
// tensors can be loaded in place.
Result<std::vector<VarGroup>> GroupVariables(const VarList& vars) {
  std::vector<VarGroup> groups;
  std::map<std::string, size_t> index;
  for (const SaveableTensor& v : vars) {
    if (v.tensor == nullptr) {
      return InvalidArgumentError("Variable \"" + v.name + "\" has a null tensor");
    }
    if (v.tensor->is_view()) {
      return InvalidArgumentError("Variable \"" + v.name +
                                  "\" is a view of caller memory; warm starting needs a tensor "
                                  "that owns its storage");
    }
    if (v.full_shape) {
      CKPT_RETURN_IF_ERROR(v.slice.ValidateAgainst(*v.full_shape));
      if (v.slice.SliceShape(*v.full_shape) != v.tensor->shape()) {
        return InvalidArgumentError("Variable \"" + v.name + "\": slice " + v.slice.DebugString() +
                                    " of " + v.full_shape->DebugString() + " has shape " +
                                    v.slice.SliceShape(*v.full_shape).DebugString() +
                                    " but its tensor has shape " + v.tensor->shape().DebugString());
      }
    }
    auto [it, inserted] = index.emplace(v.name, groups.size());
    if (inserted) {
      groups.push_back({v.name, {&v}});
      continue;
    }
    VarGroup& g = groups[it->second];
    const SaveableTensor& first = *g.parts.front();
    if (!first.full_shape || !v.full_shape || *first.full_shape != *v.full_shape ||
        first.tensor->dtype() != v.tensor->dtype()) {
      return InvalidArgumentError(
          "Variable name \"" + v.name +
          "\" appears more than once in the variable list; only slices of one partitioned "
          "variable (same dtype and full_shape) may share a name");
    }
    g.parts.push_back(&v);
  }
  return groups;
}

// The checkpoint at `path`: a prefix, or a directory's newest checkpoint.
Result<std::unique_ptr<CheckpointReader>> OpenCheckpoint(Env* env, const std::string& path) {
  std::string prefix = path;
  if (!path.empty() && env->IsDirectory(path)) {
    auto latest = LatestCheckpoint(env, path);
    if (!latest.ok()) {
      return NotFoundError("Couldn't find 'checkpoint' file or checkpoints in given directory " +
                           path);
    }
    prefix = *latest;
  } else if (!CheckpointExists(env, path)) {
    return NotFoundError(
        "Unsuccessful TensorSliceReader constructor: Failed to find any matching files for " +
        path);
  }
  CheckpointReaderOptions options;
  options.env = env;
  return CheckpointReader::Open(prefix, options);
}

// What settings.ckpt_to_initialize_from names: a SavedModel directory means
// its variables, as TF's estimator rewrites the settings (with its log line).
Result<std::string> WarmStartSource(Env* env, const WarmStartSettings& settings) {
  const std::string& path = settings.ckpt_to_initialize_from;
  if (!IsSavedModelCheckpointDir(env, path)) return path;
  LogInfo("Warm-starting from a SavedModel");
  return SavedModelCheckpoint(env, path);
}

// Python's repr of the reader's variable-to-shape map (sorted by name).
std::string ShapeMapRepr(const CheckpointReader& reader) {
  std::string out = "{";
  bool first = true;
  for (const VariableInfo& info : reader.variables()) {
    out += (first ? "" : ", ") + PyRepr(info.name) + ": " + PyListShape(info.shape);
    first = false;
  }
  return out + "}";
}

// Loading plans: which checkpoint key each variable reads.
struct Assignment {
  const VarGroup* var;
  std::string key;
};

class Planner {
 public:
  // `checkpoint_arg` is the caller's path, as TF's messages quote it.
  Planner(const CheckpointReader& reader, std::string checkpoint_arg)
      : reader_(reader), checkpoint_arg_(std::move(checkpoint_arg)) {
    for (const VariableInfo& info : reader.variables()) listing_[info.name] = &info;
  }

  bool Has(const std::string& key) const { return listing_.count(key) > 0; }
  const std::string& checkpoint_arg() const { return checkpoint_arg_; }

  // TF's 1:1 message for a key the checkpoint lacks.
  Status MissingOneToOne(const std::string& key) const {
    return NotFoundError("Tensor " + key + " is not found in " + checkpoint_arg_ + " checkpoint " +
                         ShapeMapRepr(reader_));
  }

  // Checks shape and dtype of `key` (which exists) against `var`. TF checks
  // shapes when it builds the initialiser only for a single variable
  // object, with init_from_checkpoint's text; partitions handed over as a
  // list are checked by RestoreV2 when the initialisers run, with its text.
  // warm_start passes a one-piece partitioned variable as its only part
  // ("<v>/part_0:0"), init_from_checkpoint looks partitioned names up as a
  // list.
  Status Check(const VarGroup& var, const std::string& key, bool one_piece_as_variable) const {
    const VariableInfo& info = *listing_.at(key);
    if (var.shape() != info.shape) {
      if (var.partitioned() && !(one_piece_as_variable && var.parts.size() == 1)) {
        return InvalidArgumentError(
            "tensor_name = " + key + "; shape in shape_and_slice spec " +
            var.shape().DebugString() +
            " does not match the shape stored in checkpoint: " + info.shape.DebugString());
      }
      return InvalidArgumentError("Shape of variable " + var.GraphNames() + " (" +
                                  PyTupleShape(var.parts.front()->tensor->shape()) +
                                  ") doesn't match with shape of tensor " + key + " (" +
                                  PyListShape(info.shape) + ") from checkpoint reader.");
    }
    if (var.dtype() != info.dtype) {
      return InvalidArgumentError(
          "tensor_name = " + key + "; expected dtype " + std::string(DataTypeName(var.dtype())) +
          " does not equal original dtype " + std::string(DataTypeName(info.dtype)));
    }
    return Status::OK();
  }

  // Records (or replaces: TF's last initialiser wins) var's assignment.
  void Add(const VarGroup& var, const std::string& key) {
    for (Assignment& a : plan_) {
      if (a.var == &var) {
        a.key = key;
        return;
      }
    }
    plan_.push_back({&var, key});
  }

  const std::vector<Assignment>& plan() const { return plan_; }

  // Phase 2: reads every planned tensor, then assigns them all.
  Status Load() const {
    std::map<std::string, Tensor> full_values;
    std::vector<std::pair<const SaveableTensor*, Tensor>> values;
    for (const Assignment& a : plan_) {
      auto cached = full_values.find(a.key);
      if (cached == full_values.end()) {
        CKPT_ASSIGN_OR_RETURN(Tensor t, reader_.GetTensor(a.key));
        if (t.dtype() != a.var->dtype() || t.shape() != a.var->shape()) {
          return DataLossError("Checkpoint " + reader_.prefix() + ": tensor \"" + a.key +
                               "\" read as " + std::string(DataTypeName(t.dtype())) +
                               t.shape().DebugString() + ", which its index does not list");
        }
        cached = full_values.emplace(a.key, std::move(t)).first;
      }
      for (const SaveableTensor* part : a.var->parts) {
        values.emplace_back(
            part, part->full_shape ? ExtractSlice(cached->second, part->slice) : cached->second);
      }
    }
    for (auto& [part, value] : values) {
      if (value.dtype() == DataType::kString) {
        *part->tensor->mutable_strings() = value.strings();
      } else if (value.byte_size() > 0) {
        std::memcpy(part->tensor->mutable_data(), value.data(), value.byte_size());
      }
    }
    return Status::OK();
  }

 private:

  const CheckpointReader& reader_;
  std::string checkpoint_arg_;
  std::map<std::string, const VariableInfo*> listing_;
  std::vector<Assignment> plan_;
};

// Python's re.match: the pattern must match at the start of `name` (not
// necessarily to its end), as tf.get_collection(scope=...) filters.
bool ReMatch(const std::regex& re, const std::string& name) {
  return std::regex_search(name, re, std::regex_constants::match_continuous);
}

Result<std::regex> CompileRegex(const std::string& pattern, const char* field) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return InvalidArgumentError(std::string("WarmStartSettings.") + field + ": " + PyRepr(pattern) +
                                " is not a valid regular expression (" + e.what() + ")");
  }
}

}  // namespace

std::string WarmStartSettings::DebugString() const {
  std::string vars;
  if (!vars_to_warm_start_list.empty()) {
    vars = "[";
    for (size_t i = 0; i < vars_to_warm_start_list.size(); ++i) {
      vars += (i ? ", " : "") + PyRepr(vars_to_warm_start_list[i]);
    }
    vars += "]";
  } else {
    vars = vars_to_warm_start ? PyRepr(*vars_to_warm_start) : "None";
  }
  std::string prev = "{";
  for (const auto& [name, old] : var_name_to_prev_var_name) {
    prev += (prev.size() > 1 ? ", " : "") + PyRepr(name) + ": " + PyRepr(old);
  }
  prev += "}";
  return "WarmStartSettings(ckpt_to_initialize_from=" + PyRepr(ckpt_to_initialize_from) +
         ", vars_to_warm_start=" + vars +
         ", var_name_to_vocab_info={}, var_name_to_prev_var_name=" + prev + ")";
}

Result<WarmStartReport> WarmStart(Env* env, const WarmStartSettings& settings, const VarList& vars,
                                  const std::vector<std::string>& trainable) {
  if (env == nullptr) return InvalidArgumentError("WarmStart: env is null");
  if (settings.ckpt_to_initialize_from.empty()) {
    return InvalidArgumentError("`ckpt_to_initialize_from` MUST be set in WarmStartSettings");
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<VarGroup> groups, GroupVariables(vars));

  // Candidates (TF's grouped_variables) and whether they are loaded: the
  // list form over all variables; the single form over the trainable ones,
  // loading nothing when the regex is unset or empty (TF tests its
  // truthiness) although the candidates still consume prev-name entries.
  const bool list_form = !settings.vars_to_warm_start_list.empty();
  bool load = true;
  std::vector<std::regex> regexes;
  if (list_form) {
    for (const std::string& p : settings.vars_to_warm_start_list) {
      CKPT_ASSIGN_OR_RETURN(std::regex re, CompileRegex(p, "vars_to_warm_start_list"));
      regexes.push_back(std::move(re));
    }
  } else if (settings.vars_to_warm_start && !settings.vars_to_warm_start->empty()) {
    CKPT_ASSIGN_OR_RETURN(std::regex re,
                          CompileRegex(*settings.vars_to_warm_start, "vars_to_warm_start"));
    regexes.push_back(std::move(re));
  } else {
    load = false;  // every trainable variable is a candidate; none is loaded
  }
  const std::set<std::string> trainable_set(trainable.begin(), trainable.end());
  std::vector<const VarGroup*> candidates;
  for (const VarGroup& g : groups) {
    if (!list_form && trainable_set.count(g.name) == 0) continue;
    const bool selected =
        regexes.empty() || std::any_of(regexes.begin(), regexes.end(),
                                       [&](const std::regex& re) { return ReMatch(re, g.name); });
    if (selected) candidates.push_back(&g);
  }

  CKPT_ASSIGN_OR_RETURN(const std::string from, WarmStartSource(env, settings));
  LogInfo("Warm-starting from: (" + PyRepr(from) + ",)");
  CKPT_ASSIGN_OR_RETURN(auto reader, OpenCheckpoint(env, from));
  Planner planner(*reader, from);

  // Plan and check every candidate (TF builds one initialiser each).
  std::set<std::string> prev_used;
  int count = 0;
  for (const VarGroup* g : candidates) {
    std::string prev;
    auto it = settings.var_name_to_prev_var_name.find(g->name);
    if (it != settings.var_name_to_prev_var_name.end() && !it->second.empty()) {
      prev = it->second;
      prev_used.insert(g->name);
    }
    if (!load) continue;
    ++count;
    LogInfo("Warm-starting variable: " + g->name +
            "; prev_var_name: " + (prev.empty() ? "Unchanged" : prev));
    const std::string key = prev.empty() ? g->name : prev;
    if (!planner.Has(key)) return planner.MissingOneToOne(key);
    CKPT_RETURN_IF_ERROR(planner.Check(*g, key, /*one_piece_as_variable=*/true));
    planner.Add(*g, key);
    LogInfo("Initialize variable " + g->GraphNames() + " from checkpoint " +
            settings.ckpt_to_initialize_from + " with " + key);
  }
  LogInfo("Warm-started " + std::to_string(count) + " variables.");

  std::vector<std::string> unused;
  for (const auto& [name, old] : settings.var_name_to_prev_var_name) {
    if (prev_used.count(name) == 0) unused.push_back(name);
  }
  if (!unused.empty()) {
    // Python renders a set and dict_keys; ours are sorted / in order.
    std::string set = "{";
    for (size_t i = 0; i < unused.size(); ++i) set += (i ? ", " : "") + PyRepr(unused[i]);
    set += "}";
    std::string viable = "dict_keys([";
    for (size_t i = 0; i < candidates.size(); ++i) {
      viable += (i ? ", " : "") + PyRepr(candidates[i]->name);
    }
    viable += "])";
    return InvalidArgumentError(
        "You provided the following variables in var_name_to_prev_var_name that were not used: " +
        set +
        ".  Perhaps you misspelled them?  Here is the list of viable variable names: " + viable);
  }

  CKPT_RETURN_IF_ERROR(planner.Load());
  WarmStartReport report;
  report.checkpoint = reader->prefix();
  for (const Assignment& a : planner.plan()) report.warm_started.emplace_back(a.var->name, a.key);
  return report;
}

Result<std::vector<std::pair<std::string, std::string>>> InitFromCheckpoint(
    Env* env, const std::string& ckpt_dir_or_file,
    const std::vector<std::pair<std::string, std::string>>& assignment_map, const VarList& vars) {
  if (env == nullptr) return InvalidArgumentError("InitFromCheckpoint: env is null");
  CKPT_ASSIGN_OR_RETURN(std::vector<VarGroup> groups, GroupVariables(vars));
  std::map<std::string, const VarGroup*> by_name;
  for (const VarGroup& g : groups) by_name[g.name] = &g;

  CKPT_ASSIGN_OR_RETURN(auto reader, OpenCheckpoint(env, ckpt_dir_or_file));
  Planner planner(*reader, ckpt_dir_or_file);
  for (const auto& [ckpt_name, current] : assignment_map) {
    auto var = by_name.find(current);
    if (var != by_name.end()) {
      // One variable from one tensor.
      if (!planner.Has(ckpt_name)) return planner.MissingOneToOne(ckpt_name);
      CKPT_RETURN_IF_ERROR(planner.Check(*var->second, ckpt_name, false));
      planner.Add(*var->second, ckpt_name);
      LogInfo("Initialize variable " + var->second->GraphNames() + " from checkpoint " +
              ckpt_dir_or_file + " with " + ckpt_name);
      continue;
    }
    // Not a variable: a scope ("new_scope/", or "/" for every variable).
    const size_t slash = current.rfind('/');
    const std::string scopes = slash == std::string::npos ? "" : current.substr(0, slash);
    if (ckpt_name.empty() || ckpt_name.back() != '/') {
      return InvalidArgumentError("Assignment map with scope only name " + scopes +
                                  " should map to scope only " + ckpt_name +
                                  ". Should be 'scope/': 'other_scope/'.");
    }
    for (const VarGroup& g : groups) {
      if (!scopes.empty() && g.name.compare(0, scopes.size() + 1, scopes + "/") != 0) continue;
      // The name relative to the scope, then under the checkpoint scope
      // (TF drops one more character unless the scope is the root "/").
      std::string full_tensor_name = g.name.substr(scopes.size());
      if (current != "/" && !full_tensor_name.empty()) full_tensor_name.erase(0, 1);
      if (ckpt_name != "/") full_tensor_name = ckpt_name + full_tensor_name;
      if (!planner.Has(full_tensor_name)) {
        const std::string relative = scopes.empty() ? g.name : g.name.substr(scopes.size() + 1);
        return NotFoundError("Tensor " + full_tensor_name + " (" + relative + " in " + ckpt_name +
                             ") is not found in " + ckpt_dir_or_file + " checkpoint");
      }
      CKPT_RETURN_IF_ERROR(planner.Check(g, full_tensor_name, false));
      planner.Add(g, full_tensor_name);
      LogInfo("Initialize variable " + g.name + " from checkpoint " + ckpt_dir_or_file + " with " +
              full_tensor_name);
    }
  }
  CKPT_RETURN_IF_ERROR(planner.Load());
  std::vector<std::pair<std::string, std::string>> loaded;
  for (const Assignment& a : planner.plan()) loaded.emplace_back(a.var->name, a.key);
  return loaded;
}

}  // namespace ckpt
