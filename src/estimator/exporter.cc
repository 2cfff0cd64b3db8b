// The train-and-evaluate exporters and their retention (ckpt/exporter.h).
#include "ckpt/exporter.h"

#include <algorithm>
#include <utility>

#include "ckpt/escape.h"
#include "ckpt/event_reader.h"
#include "ckpt/filenames.h"
#include "ckpt/logging.h"
#include "env/path.h"

namespace ckpt {
namespace {

std::string Quote(const std::string& s) { return "\"" + EscapeForDisplay(s) + "\""; }

Status CheckExportsToKeep(std::optional<int> exports_to_keep) {
  if (exports_to_keep && *exports_to_keep <= 0) {
    return InvalidArgumentError("`exports_to_keep`, if provided, must be a positive number. Got " +
                                std::to_string(*exports_to_keep));
  }
  return Status();
}

// --- Retention ------------------------------------------------------------

// One collection: deletes files and empty directories, and remembers what it
// left and the first error.
struct Collector {
  Env* env;
  std::string export_dir;  // the export being deleted
  Status first;

  void Keep(const std::string& path) {
    LogWarning("Not deleting " + Quote(path) + " in old export " + Quote(export_dir) +
               ": not a file an export writes; it and its directories are kept");
  }
  bool Delete(const std::string& path) { return Note(env->DeleteFile(path), path); }
  bool DeleteDir(const std::string& path) { return Note(env->DeleteDir(path), path); }
  bool Note(const Status& s, const std::string& path) {
    if (!s.ok() && first.ok()) first = s.WithContext("Deleting " + Quote(path));
    return s.ok();
  }
};

// A regular file (not a link, not a directory) named as `owned` accepts.
bool IsOwnedFile(Env* env, const std::string& path, bool owned) {
  return owned && !env->IsSymlink(path) && !env->IsDirectory(path);
}

// Deletes the files of `dir` (an export's variables/ or assets/) whose names
// `owned` accepts, then `dir` if nothing else was in it. True if `dir` is gone.
bool DeleteOwnedDir(Collector& c, const std::string& dir, bool (*owned)(std::string_view)) {
  if (c.env->IsSymlink(dir) || !c.env->IsDirectory(dir)) {
    c.Keep(dir);
    return false;
  }
  Result<std::vector<std::string>> children = c.env->GetChildren(dir);
  if (!c.Note(children.status(), dir)) return false;
  bool empty = true;
  for (const std::string& name : *children) {
    const std::string path = JoinPath(dir, name);
    if (!IsOwnedFile(c.env, path, owned(name))) {
      c.Keep(path);
      empty = false;
    } else if (!c.Delete(path)) {
      empty = false;
    }
  }
  return empty && c.DeleteDir(dir);
}

bool AnyAsset(std::string_view) { return true; }

// Deletes what export `dir` consists of. True if `dir` is gone.
bool DeleteExport(Collector& c, const std::string& dir) {
  Result<std::vector<std::string>> children = c.env->GetChildren(dir);
  if (!c.Note(children.status(), dir)) return false;
  bool empty = true;
  bool has_proto = false;
  for (const std::string& name : *children) {
    const std::string path = JoinPath(dir, name);
    if (name == kSavedModelFilename && IsOwnedFile(c.env, path, true)) {
      has_proto = true;  // deleted last
    } else if (path == SavedModelVariablesDir(dir)) {
      empty &= DeleteOwnedDir(c, path, IsSavedModelVariablesFileName);
    } else if (path == SavedModelAssetsDir(dir)) {
      empty &= DeleteOwnedDir(c, path, AnyAsset);
    } else if (IsOwnedFile(c.env, path, name == kSavedModelFingerprintFilename)) {
      empty &= c.Delete(path);
    } else {
      c.Keep(path);
      empty = false;
    }
  }
  // saved_model.pb goes last, and not after a failed deletion: until it is
  // gone the directory still looks like an export, so the next collection
  // resumes an interrupted one.
  if (has_proto) empty &= c.first.ok() && c.Delete(SavedModelProtoPath(dir));
  return empty && c.DeleteDir(dir);
}

struct ExportDir {
  int64_t version;
  std::string path;
};

// The children of export_path that are exports, oldest first.
Result<std::vector<ExportDir>> ListExports(Env* env, const std::string& export_path) {
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(export_path));
  std::vector<ExportDir> out;
  for (const std::string& name : names) {
    const int64_t version = ParseExportDirName(name);
    const std::string path = JoinPath(export_path, name);
    if (version < 0 || env->IsSymlink(path) || !env->IsDirectory(path)) continue;
    const std::string proto = SavedModelProtoPath(path);
    if (!env->FileExists(proto) || env->IsDirectory(proto)) continue;
    out.push_back({version, path});
  }
  std::sort(out.begin(), out.end(),
            [](const ExportDir& a, const ExportDir& b) { return a.version < b.version; });
  return out;
}

// Whether `current` replaces `best`: always when there is no best yet.
Result<bool> IsBetter(const EvalCompareFn& compare, const std::optional<EvalResult>& best,
                      const EvalResult& current) {
  if (!best) return true;
  return compare(*best, current);
}

// --- BestExporter's event files ---------------------------------------------

// The files under `dir` matching the '/'-separated glob `pattern`, sorted.
void MatchPaths(Env* env, const std::string& dir, std::string_view pattern,
                std::vector<std::string>* out) {
  const size_t slash = pattern.find('/');
  const std::string_view head = pattern.substr(0, slash);
  const bool last = slash == std::string_view::npos;
  std::vector<std::string> names;
  if (HasGlobWildcard(head)) {
    Result<std::vector<std::string>> children = env->GetChildren(dir.empty() ? "." : dir);
    if (!children.ok()) return;  // no such directory: nothing matches
    for (const std::string& c : *children) {
      if (GlobMatch(head, c)) names.push_back(c);
    }
    std::sort(names.begin(), names.end());
  } else {
    names.emplace_back(head);
  }
  for (const std::string& name : names) {
    const std::string path = JoinPath(dir, name);
    if (last) {
      if (env->FileExists(path) && !env->IsDirectory(path)) out->push_back(path);
    } else if (env->IsDirectory(path)) {
      MatchPaths(env, path, pattern.substr(slash + 1), out);
    }
  }
}

// Each event's simple_value scalars, as TF's _get_best_eval_result reads an
// evaluation back (the TF2 tensor style is not an Estimator's).
Status ForEachEvaluation(Env* env, const std::string& path,
                         const std::function<Status(const EvalResult&)>& fn) {
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<EventFileReader> reader, EventFileReader::Open(env, path));
  std::vector<EventValue> values;
  while (true) {
    values.clear();
    CKPT_ASSIGN_OR_RETURN(bool more, reader->Next(&values));
    if (!more) return Status();
    EvalResult result;
    for (const EventValue& v : values) {
      if (v.kind == EventValueKind::kScalar && !v.from_tensor) result[v.tag] = v.scalar;
    }
    if (!result.empty()) CKPT_RETURN_IF_ERROR(fn(result));
  }
}

}  // namespace

Result<bool> LossSmaller(const EvalResult& best, const EvalResult& current) {
  auto best_loss = best.find("loss");
  if (best_loss == best.end()) {
    return InvalidArgumentError("best_eval_result cannot be empty or no loss is found in it.");
  }
  auto current_loss = current.find("loss");
  if (current_loss == current.end()) {
    return InvalidArgumentError("current_eval_result cannot be empty or no loss is found in it.");
  }
  return best_loss->second > current_loss->second;
}

Result<std::vector<std::string>> GarbageCollectExports(Env* env, const std::string& export_path,
                                                       int exports_to_keep) {
  if (exports_to_keep <= 0) {
    return InvalidArgumentError("GarbageCollectExports: exports_to_keep must be positive, got " +
                                std::to_string(exports_to_keep));
  }
  Result<std::vector<ExportDir>> exports = ListExports(env, export_path);
  if (!exports.ok() && exports.status().code() == StatusCode::kNotFound) {
    return std::vector<std::string>();
  }
  CKPT_RETURN_IF_ERROR(exports.status().WithContext("Listing exports in " + Quote(export_path)));
  std::vector<std::string> removed;
  Status first;
  const size_t keep = static_cast<size_t>(exports_to_keep);
  for (size_t i = 0; i + keep < exports->size(); ++i) {
    Collector c{env, (*exports)[i].path, Status()};
    if (DeleteExport(c, c.export_dir)) removed.push_back(c.export_dir);
    if (first.ok()) first = c.first;
  }
  if (!first.ok()) return first;
  return removed;
}

// --- Exporter ---------------------------------------------------------------

Exporter::Exporter(std::string name, ServingInput input, ExporterOptions options)
    : name_(std::move(name)), input_(std::move(input)), options_(std::move(options)) {}

Status Exporter::CheckArguments(const std::string& name, const ExporterOptions& options) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return InvalidArgumentError("Exporter name must be one path component (not empty, \".\", "
                                "\"..\" or holding '/'), got " + Quote(name));
  }
  if (options.env == nullptr) return InvalidArgumentError("ExporterOptions.env is null");
  return Status();
}

Result<std::string> Exporter::WriteExport(Estimator& estimator, const std::string& export_path,
                                          const std::string& checkpoint_path) {
  ExportOptions export_options;
  if (!checkpoint_path.empty()) export_options.checkpoint_path = checkpoint_path;
  if (options_.export_fn) {
    return options_.export_fn(estimator, export_path, input_, export_options);
  }
  return estimator.ExportSavedModel(export_path, input_, export_options);
}

void Exporter::CollectExports(const std::string& export_path, std::optional<int> exports_to_keep) {
  if (!exports_to_keep) return;
  Result<std::vector<std::string>> removed =
      GarbageCollectExports(env(), export_path, *exports_to_keep);
  if (!removed.ok()) {
    LogWarning("Could not delete old exports in " + export_path + ": " +
               removed.status().ToString());
  }
}

// --- LatestExporter ---------------------------------------------------------

LatestExporter::LatestExporter(std::string name, ServingInput input,
                               std::optional<int> exports_to_keep, ExporterOptions options)
    : Exporter(std::move(name), std::move(input), std::move(options)),
      exports_to_keep_(exports_to_keep) {}

Result<std::unique_ptr<LatestExporter>> LatestExporter::Create(std::string name, ServingInput input,
                                                               std::optional<int> exports_to_keep,
                                                               ExporterOptions options) {
  CKPT_RETURN_IF_ERROR(CheckArguments(name, options));
  CKPT_RETURN_IF_ERROR(CheckExportsToKeep(exports_to_keep));
  return std::unique_ptr<LatestExporter>(
      new LatestExporter(std::move(name), std::move(input), exports_to_keep, std::move(options)));
}

Result<std::optional<std::string>> LatestExporter::Export(Estimator& estimator,
                                                          const std::string& export_path,
                                                          const std::string& checkpoint_path,
                                                          const EvalResult& eval_result,
                                                          bool is_the_final_export) {
  CKPT_ASSIGN_OR_RETURN(std::string dir,
                        WriteExport(estimator, export_path, checkpoint_path));
  CollectExports(export_path, exports_to_keep_);
  return std::optional<std::string>(std::move(dir));
}

// --- BestExporter -----------------------------------------------------------

BestExporter::BestExporter(std::string name, ServingInput input, BestExporterOptions best,
                           ExporterOptions options)
    : Exporter(std::move(name), std::move(input), std::move(options)),
      best_options_(std::move(best)) {}

Result<std::unique_ptr<BestExporter>> BestExporter::Create(std::string name, ServingInput input,
                                                           BestExporterOptions best,
                                                           ExporterOptions options) {
  CKPT_RETURN_IF_ERROR(CheckArguments(name, options));
  CKPT_RETURN_IF_ERROR(CheckExportsToKeep(best.exports_to_keep));
  if (!best.compare_fn) return InvalidArgumentError("`compare_fn` must not be None.");
  return std::unique_ptr<BestExporter>(
      new BestExporter(std::move(name), std::move(input), std::move(best), std::move(options)));
}

Status BestExporter::LoadBestFromEvents(const std::string& model_dir) {
  LogInfo("Loading best metric from event files.");
  // As TF's os.path.join(model_dir, pattern): an absolute pattern stands alone.
  const std::string& pattern = best_options_.event_file_pattern;
  std::vector<std::string> files;
  if (IsAbsolutePath(pattern)) {
    MatchPaths(env(), "/", std::string_view(pattern).substr(1), &files);
  } else {
    MatchPaths(env(), model_dir, pattern, &files);
  }
  std::optional<EvalResult> best;
  for (const std::string& file : files) {
    Status s = ForEachEvaluation(env(), file, [&](const EvalResult& result) -> Status {
      CKPT_ASSIGN_OR_RETURN(bool better, IsBetter(best_options_.compare_fn, best, result));
      if (better) best = result;
      return Status();
    });
    CKPT_RETURN_IF_ERROR(s.WithContext("Reading the best evaluation from " + Quote(file)));
  }
  best_ = std::move(best);
  model_dir_ = model_dir;
  return Status();
}

Result<std::optional<std::string>> BestExporter::Export(Estimator& estimator,
                                                        const std::string& export_path,
                                                        const std::string& checkpoint_path,
                                                        const EvalResult& eval_result,
                                                        bool is_the_final_export) {
  if (model_dir_ != estimator.model_dir() && !best_options_.event_file_pattern.empty()) {
    CKPT_RETURN_IF_ERROR(LoadBestFromEvents(estimator.model_dir()));
  }
  CKPT_ASSIGN_OR_RETURN(bool better, IsBetter(best_options_.compare_fn, best_, eval_result));
  if (!better) return std::optional<std::string>();
  LogInfo("Performing best model export.");
  CKPT_ASSIGN_OR_RETURN(std::string dir,
                        WriteExport(estimator, export_path, checkpoint_path));
  // Only an export that was written makes this the best: a failed one is
  // tried again at the next evaluation as good.
  best_ = eval_result;
  CollectExports(export_path, best_options_.exports_to_keep);
  return std::optional<std::string>(std::move(dir));
}

// --- FinalExporter ----------------------------------------------------------

Result<std::unique_ptr<FinalExporter>> FinalExporter::Create(std::string name, ServingInput input,
                                                             ExporterOptions options) {
  CKPT_RETURN_IF_ERROR(CheckArguments(name, options));
  return std::unique_ptr<FinalExporter>(
      new FinalExporter(std::move(name), std::move(input), std::move(options)));
}

Result<std::optional<std::string>> FinalExporter::Export(Estimator& estimator,
                                                         const std::string& export_path,
                                                         const std::string& checkpoint_path,
                                                         const EvalResult& eval_result,
                                                         bool is_the_final_export) {
  if (!is_the_final_export) return std::optional<std::string>();
  LogInfo("Performing the final export in the end of training.");
  CKPT_ASSIGN_OR_RETURN(std::string dir,
                        WriteExport(estimator, export_path, checkpoint_path));
  return std::optional<std::string>(std::move(dir));
}

}  // namespace ckpt
