// Saver::Restore: TF1 Saver.restore with TensorFlow's error texts.
//
// RestoreVariables runs named phases, so that a failed restore changes
// nothing:
//   0. CheckArguments: save_path names a checkpoint (FindCheckpoint,
//      checkpoint/resolve.h), name_map names variables;
//   1. PlanAndCheck: every selected variable against the checkpoint's listing
//      (presence, then dtype and full shape), collecting every problem;
//   2. ReadIntoTemporaries: every value read into temporaries: whole
//      variables of a V2 checkpoint with one BundleReader::ReadManyInto (file
//      order, checksums pipelined), partitions cut from the full tensor,
//      which is read once per key;
//   3. AssignAll: the temporaries copied into the callers' tensors;
//   4. Report: RestoreOptions::report and the warning about skipped variables.
// With RestoreOptions::in_place, ReadIntoVariables replaces phases 2 and 3:
// whole variables of a V2 checkpoint through ReadManyInto, the rest
// (partitions, V1) one key at a time, so at most one full tensor is held
// besides the variables.
#include <algorithm>
#include <cstring>
#include <map>
#include <regex>
#include <set>

#include "checkpoint/resolve.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/logging.h"
#include "ckpt/tensor_slice.h"
#include "saver/restore.h"

namespace ckpt::saver_internal {
namespace {

constexpr char kWrapPrefix[] = "Restoring from checkpoint failed. This is most likely due to ";
constexpr char kWrapSuffix[] =
    " from the checkpoint. Please ensure that you have not altered the graph expected based "
    "on the checkpoint. Original error:\n\n";

// TF1's _wrap_restore_error_with_msg; keeps the code.
Status Wrap(StatusCode code, const std::string& message) {
  const char* why = code == StatusCode::kNotFound
                        ? "a Variable name or other graph key that is missing"
                        : "a mismatch between the current graph and the graph";
  return Status(code, std::string(kWrapPrefix) + why + kWrapSuffix + message);
}

std::string Join(const std::vector<std::pair<std::string, std::string>>& keyed_lines) {
  std::vector<std::pair<std::string, std::string>> sorted = keyed_lines;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, line] : sorted) out += (out.empty() ? "" : "\n") + line;
  return out;
}

void AssignInPlace(const Tensor& value, Tensor* dst) {
  if (value.dtype() == DataType::kString) {
    *dst->mutable_strings() = value.strings();
  } else if (value.byte_size() > 0) {
    std::memcpy(dst->mutable_data(), value.data(), value.byte_size());
  }
}

// One variable to restore and the checkpoint key it reads.
struct Job {
  const SaveableTensor* var;
  std::string key;
};

// What phase 1 decided: the variables to read, and those left out because
// their key is missing and RestoreOptions::allow_missing allows it.
struct RestorePlan {
  std::vector<Job> jobs;
  std::vector<std::string> skipped;
};

// The checkpoint key variable `v` reads (RestoreOptions::name_map).
const std::string& KeyOf(const SaveableTensor& v, const RestoreOptions& options) {
  auto mapped = options.name_map.find(v.name);
  return mapped != options.name_map.end() ? mapped->second : v.name;
}

// Phase 0: the arguments. InvalidArgument for an empty save_path or a
// name_map entry of no variable; NotFound if save_path names no checkpoint.
Status CheckArguments(Env* env, const VarList& vars, const std::string& save_path,
                      const RestoreOptions& options) {
  if (save_path.empty()) return InvalidArgumentError("Can't load save_path when it is None.");
  if (!FindCheckpoint(env, save_path)) {
    return NotFoundError("The passed save_path is not a valid checkpoint: " + save_path);
  }
  std::set<std::string> names;
  for (const SaveableTensor& v : vars) names.insert(v.name);
  for (const auto& [var_name, key] : options.name_map) {
    if (names.count(var_name) == 0) {
      return InvalidArgumentError("RestoreOptions.name_map maps \"" + var_name + "\" to \"" + key +
                                  "\", but the Saver holds no variable \"" + var_name + "\"");
    }
  }
  return Status::OK();
}

// Phase 1: every selected variable against the checkpoint's listing
// (presence, then dtype and full shape), every problem collected into one
// error (TF1's wording, see Wrap); fills options.report's lists.
Result<RestorePlan> PlanAndCheck(const CheckpointReader& reader, const VarList& vars,
                                 const RestoreOptions& options) {
  std::map<std::string, const VariableInfo*> listing;
  for (const VariableInfo& info : reader.variables()) listing[info.name] = &info;
  RestorePlan plan;
  std::vector<std::pair<std::string, std::string>> missing, dtype_errors, shape_errors;
  std::vector<std::string> skipped_keys;
  for (const SaveableTensor& v : vars) {
    if (options.include && !std::regex_match(v.name, *options.include)) continue;
    const std::string key = KeyOf(v, options);
    if (v.tensor->is_view()) {
      return InvalidArgumentError("Variable \"" + v.name +
                                  "\" is a view of caller memory; Restore needs a tensor that "
                                  "owns its storage");
    }
    auto it = listing.find(key);
    if (it == listing.end()) {
      if (options.allow_missing) {
        plan.skipped.push_back(v.name);
        skipped_keys.push_back(key);
      } else {
        missing.emplace_back(key, "Key " + key + " not found in checkpoint");
      }
      continue;
    }
    const VariableInfo& info = *it->second;
    if (info.dtype != v.tensor->dtype()) {
      dtype_errors.emplace_back(key, "tensor_name = " + key + "; expected dtype " +
                                         std::string(DataTypeName(v.tensor->dtype())) +
                                         " does not equal original dtype " +
                                         std::string(DataTypeName(info.dtype)));
    }
    const TensorShape& want = v.full_shape ? *v.full_shape : v.tensor->shape();
    if (want != info.shape) {
      shape_errors.emplace_back(key, "tensor_name = " + key +
                                         "; shape in shape_and_slice spec " + want.DebugString() +
                                         " does not match the shape stored in checkpoint: " +
                                         info.shape.DebugString());
    }
    plan.jobs.push_back({&v, key});
  }
  // Checkpoint tensors that no variable reads (variables left out by
  // `include` do not count; the object graph is bookkeeping, not a value).
  std::set<std::string> read_keys;
  for (const SaveableTensor& v : vars) read_keys.insert(KeyOf(v, options));
  std::vector<std::pair<std::string, std::string>> unexpected;
  for (const auto& [key, info] : listing) {
    if (read_keys.count(key) == 0 && key != "_CHECKPOINTABLE_OBJECT_GRAPH") {
      unexpected.emplace_back(key, "Checkpoint tensor " + key + " is not read by any variable");
    }
  }
  if (options.report != nullptr) {
    RestoreReport& r = *options.report;
    r = RestoreReport();
    for (const auto& m : missing) r.missing.push_back(m.first);
    r.missing.insert(r.missing.end(), skipped_keys.begin(), skipped_keys.end());
    for (const auto& u : unexpected) r.unexpected.push_back(u.first);
    for (const auto* list : {&dtype_errors, &shape_errors}) {
      for (const auto& e : *list) r.mismatched.push_back(e.second);
    }
  }
  if (options.allow_unexpected) unexpected.clear();
  if (!missing.empty() || !dtype_errors.empty() || !shape_errors.empty() || !unexpected.empty()) {
    // Every problem in one message: missing keys, then dtype, shape and
    // unexpected-key lines, each group sorted by key. NotFound when keys
    // are missing and nothing else is wrong.
    std::string msg;
    for (const auto* list : {&missing, &dtype_errors, &shape_errors, &unexpected}) {
      std::string part = Join(*list);
      if (!part.empty()) msg += (msg.empty() ? "" : "\n") + part;
    }
    const bool only_missing = dtype_errors.empty() && shape_errors.empty() && unexpected.empty();
    return Wrap(only_missing ? StatusCode::kNotFound : StatusCode::kInvalidArgument, msg);
  }
  return plan;
}

// Whole variables of a V2 checkpoint are read into tensors with one
// ReadManyInto; partitions and V1 checkpoints go through GetTensor.
bool Batched(const CheckpointReader& reader, const Job& job) {
  return reader.bundle() != nullptr && !job.var->full_shape;
}

// The full tensor `job.key` through GetTensor, checked against `job`.
Result<Tensor> ReadFull(const CheckpointReader& reader, const Job& job) {
  CKPT_ASSIGN_OR_RETURN(Tensor t, reader.GetTensor(job.key));
  if (t.dtype() != job.var->tensor->dtype() ||
      t.shape() != (job.var->full_shape ? *job.var->full_shape : job.var->tensor->shape())) {
    return DataLossError("Checkpoint " + reader.prefix() + ": tensor \"" + job.key +
                         "\" read as " + std::string(DataTypeName(t.dtype())) +
                         t.shape().DebugString() + ", which its index does not list");
  }
  return t;
}

// A partition of a V2 checkpoint reads only the stored entries that overlap
// it (BundleReader::ReadSlice: each such entry whole, so that its checksum is
// verified), not the whole variable: a restore at another partitioning, or
// a rank of a distributed restore, reads about its own share.
bool SliceRead(const CheckpointReader& reader, const Job& job) {
  return reader.bundle() != nullptr && job.var->full_shape &&
         IsFixedSize(job.var->tensor->dtype());
}

// Job's partition through ReadSlice, checked against the variable.
Result<Tensor> ReadPart(const CheckpointReader& reader, const Job& job) {
  CKPT_ASSIGN_OR_RETURN(Tensor t, reader.bundle()->ReadSlice(job.key, job.var->slice));
  if (t.dtype() != job.var->tensor->dtype() || t.shape() != job.var->tensor->shape()) {
    return DataLossError("Checkpoint " + reader.prefix() + ": slice " +
                         job.var->slice.DebugString() + " of \"" + job.key + "\" read as " +
                         std::string(DataTypeName(t.dtype())) + t.shape().DebugString() +
                         ", which its index does not list");
  }
  return t;
}

// ReadManyInto fills its destinations from two threads and refuses
// overlapping ones; say so before anything has been read.
Status CheckNoSharedMemory(const CheckpointReader& reader, const std::vector<Job>& jobs,
                           const std::string& save_path) {
  std::vector<const Job*> by_address;
  for (const Job& job : jobs) {
    if (Batched(reader, job) && job.var->tensor->byte_size() > 0) by_address.push_back(&job);
  }
  auto begin = [](const Job* j) { return reinterpret_cast<uintptr_t>(j->var->tensor->data()); };
  std::sort(by_address.begin(), by_address.end(),
            [&](const Job* a, const Job* b) { return begin(a) < begin(b); });
  for (size_t i = 1; i < by_address.size(); ++i) {
    const Job& a = *by_address[i - 1];
    if (begin(by_address[i]) < begin(&a) + a.var->tensor->byte_size()) {
      return InvalidArgumentError("Restore (in_place) from " + save_path + ": variables \"" +
                                  a.var->name + "\" and \"" + by_address[i]->var->name +
                                  "\" share memory; nothing was restored (restore them with "
                                  "in_place = false, or give each its own tensor)");
    }
  }
  return Status::OK();
}

// Phase 2' (in_place): read straight into the variables. Nothing has
// changed if an error comes before the first read, but ReadManyInto cannot
// say which errors did: every error here says the variables may be partial.
Status ReadIntoVariables(const CheckpointReader& reader, const std::vector<Job>& jobs,
                         const std::string& save_path) {
  auto partial = [&save_path](const Status& s) {
    return Status(s.code(), "Restore (in_place) from " + save_path +
                                " failed while reading into the variables; they may be "
                                "partially restored (some hold the checkpoint's values, "
                                "others their old values, one possibly a mix): " +
                                s.message());
  };
  std::vector<ReadTarget> targets;
  for (const Job& job : jobs) {
    if (Batched(reader, job)) targets.push_back({job.key, job.var->tensor});
  }
  CKPT_RETURN_IF_ERROR(CheckNoSharedMemory(reader, jobs, save_path));
  if (!targets.empty()) {
    Status s = reader.bundle()->ReadManyInto(targets);
    if (!s.ok()) return partial(s);
  }
  // The rest one key at a time, each full tensor dropped once every
  // variable reading it is assigned.
  std::map<std::string, std::vector<const Job*>> by_key;
  for (const Job& job : jobs) {
    if (Batched(reader, job)) continue;
    if (SliceRead(reader, job)) {
      Result<Tensor> part = ReadPart(reader, job);
      if (!part.ok()) return partial(part.status());
      AssignInPlace(*part, job.var->tensor);
      continue;
    }
    by_key[job.key].push_back(&job);
  }
  for (const auto& [key, key_jobs] : by_key) {
    Result<Tensor> full = ReadFull(reader, *key_jobs.front());
    if (!full.ok()) return partial(full.status());
    for (const Job* job : key_jobs) {
      AssignInPlace(job->var->full_shape ? ExtractSlice(*full, job->var->slice) : *full,
                    job->var->tensor);
    }
  }
  return Status::OK();
}

// Phase 2: every value read into temporaries before any variable is
// touched (a full tensor read once per key, partitions cut from it, except
// those of a V2 checkpoint: SliceRead).
Result<std::vector<Tensor>> ReadIntoTemporaries(const CheckpointReader& reader,
                                                const std::vector<Job>& jobs) {
  std::vector<Tensor> values(jobs.size());
  std::vector<ReadTarget> targets;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!Batched(reader, jobs[i])) continue;
    const Tensor& var = *jobs[i].var->tensor;
    CKPT_ASSIGN_OR_RETURN(values[i], Tensor::Allocate(var.dtype(), var.shape()));
    targets.push_back({jobs[i].key, &values[i]});
  }
  if (!targets.empty()) CKPT_RETURN_IF_ERROR(reader.bundle()->ReadManyInto(targets));
  std::map<std::string, Tensor> full_values;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    if (Batched(reader, job)) continue;
    if (SliceRead(reader, job)) {
      CKPT_ASSIGN_OR_RETURN(values[i], ReadPart(reader, job));
      continue;
    }
    auto cached = full_values.find(job.key);
    if (cached == full_values.end()) {
      CKPT_ASSIGN_OR_RETURN(Tensor t, ReadFull(reader, job));
      cached = full_values.emplace(job.key, std::move(t)).first;
    }
    values[i] = job.var->full_shape ? ExtractSlice(cached->second, job.var->slice)
                                    : cached->second;
  }
  return values;
}

// Phase 3: the temporaries into the callers' tensors.
void AssignAll(const std::vector<Tensor>& values, const std::vector<Job>& jobs) {
  for (size_t i = 0; i < jobs.size(); ++i) AssignInPlace(values[i], jobs[i].var->tensor);
}

// After a restore: options.report's `restored`, and one warning naming the
// variables that kept their values.
void Report(const RestorePlan& plan, const std::string& save_path, const RestoreOptions& options) {
  if (options.report != nullptr) {
    for (const Job& job : plan.jobs) options.report->restored.push_back(job.var->name);
  }
  if (!plan.skipped.empty()) {
    std::string list;
    for (const std::string& s : plan.skipped) list += (list.empty() ? "" : ", ") + s;
    LogWarning("Variables not found in checkpoint " + save_path + " kept their values: " + list);
  }
}

}  // namespace

Status RestoreVariables(Env* env, const VarList& vars, const std::string& save_path,
                        const RestoreOptions& options) {
  // Everything up to the first change of a variable; `agree` has the last word.
  std::unique_ptr<CheckpointReader> reader;
  RestorePlan plan;
  std::vector<Tensor> values;
  Status ready = [&]() -> Status {
    CKPT_RETURN_IF_ERROR(CheckArguments(env, vars, save_path, options));
    LogInfo("Restoring parameters from " + save_path);
    CheckpointReaderOptions ro;
    ro.env = env;
    CKPT_ASSIGN_OR_RETURN(reader, CheckpointReader::Open(save_path, ro));
    CKPT_ASSIGN_OR_RETURN(plan, PlanAndCheck(*reader, vars, options));
    if (!options.in_place) {
      CKPT_ASSIGN_OR_RETURN(values, ReadIntoTemporaries(*reader, plan.jobs));
    }
    return Status::OK();
  }();
  const Status agreed = options.agree ? options.agree(ready) : ready;
  if (!ready.ok()) return agreed.ok() ? ready : agreed;  // agree cannot undo an error
  CKPT_RETURN_IF_ERROR(agreed);
  if (options.in_place) {
    CKPT_RETURN_IF_ERROR(ReadIntoVariables(*reader, plan.jobs, save_path));
  } else {
    AssignAll(values, plan.jobs);
  }
  Report(plan, save_path, options);
  return Status::OK();
}

}  // namespace ckpt::saver_internal
