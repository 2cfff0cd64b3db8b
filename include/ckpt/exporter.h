// Exporters: what a train-and-evaluate loop does with each evaluated
// checkpoint (TF's tf.estimator.LatestExporter, BestExporter and
// FinalExporter). Each one decides whether to export the checkpoint as a
// SavedModel (Estimator::ExportSavedModel) into its export path, TF's
// "<model_dir>/export/<name>" (ExportPath, ckpt/filenames.h), and the
// Latest and Best exporters then keep only the newest `exports_to_keep`
// exports there.
//
//   auto latest = LatestExporter::Create("latest", serving_input).value();
//   ... after each Evaluate of checkpoint `ckpt` with result `metrics`:
//   Result<std::optional<std::string>> dir = latest->Export(
//       *estimator, ExportPath(estimator->model_dir(), latest->name()), ckpt,
//       metrics, /*is_the_final_export=*/false);
//
// Retention deletes only what an export wrote (GarbageCollectExports); a
// user's file inside an old export keeps that file and its directories.
//
// Thread safety: an Exporter is used from one thread at a time.
#ifndef CKPT_EXPORTER_H_
#define CKPT_EXPORTER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/estimator.h"
#include "ckpt/status.h"

namespace ckpt {

// Writes one export under `export_dir_base` and returns its directory: the
// signature of Estimator::ExportSavedModel.
using ExportFn = std::function<Result<std::string>(
    Estimator& estimator, const std::string& export_dir_base, const ServingInput& input,
    const ExportOptions& options)>;

// Whether `current` is better than `best` (BestExporter's compare_fn); an
// error (e.g. a metric missing) fails the export.
using EvalCompareFn =
    std::function<Result<bool>(const EvalResult& best, const EvalResult& current)>;

// TF's _loss_smaller: best["loss"] > current["loss"]. InvalidArgument with
// TF's text when either is empty or has no "loss" ("best_eval_result cannot
// be empty or no loss is found in it." / "current_eval_result ...").
Result<bool> LossSmaller(const EvalResult& best, const EvalResult& current);

// What every exporter shares.
struct ExporterOptions {
  // Not owned; retention and event files go through it. REQUIRES: non-null,
  // the Estimator's env, and outlives the exporter.
  Env* env = Env::Posix();
  // Writes each export; empty: Estimator::ExportSavedModel. A seam for tests
  // and for callers that post-process exports.
  ExportFn export_fn;
};

class Exporter {
 public:
  virtual ~Exporter() = default;
  // The directory name under <model_dir>/export.
  const std::string& name() const { return name_; }
  // TF's Exporter.export: exports `checkpoint_path` (evaluated with
  // `eval_result`; empty: the newest checkpoint) into
  // export_path/<seconds>, if this exporter wants it, and returns that
  // directory; nullopt when it does not export. Errors: the export's
  // (nothing is collected then) and the exporter's own.
  virtual Result<std::optional<std::string>> Export(Estimator& estimator,
                                                    const std::string& export_path,
                                                    const std::string& checkpoint_path,
                                                    const EvalResult& eval_result,
                                                    bool is_the_final_export) = 0;

 protected:
  Exporter(std::string name, ServingInput input, ExporterOptions options);
  // InvalidArgument unless `name` is one path component (the exporter
  // writes under <model_dir>/export/<name> only), or for a null env.
  static Status CheckArguments(const std::string& name, const ExporterOptions& options);
  // Writes one export of `checkpoint_path` into `export_path`.
  Result<std::string> WriteExport(Estimator& estimator, const std::string& export_path,
                                  const std::string& checkpoint_path);
  // Collects export_path down to `exports_to_keep` (nullopt: keeps all);
  // a failure is logged, since the export itself succeeded.
  void CollectExports(const std::string& export_path, std::optional<int> exports_to_keep);
  Env* env() const { return options_.env; }

 private:
  std::string name_;
  ServingInput input_;
  ExporterOptions options_;
};

// TF's LatestExporter: exports every time, then collects export_path down to
// the newest `exports_to_keep` exports (nullopt: keeps all).
class LatestExporter : public Exporter {
 public:
  // InvalidArgument for a name that is not one path component, or
  // exports_to_keep <= 0 (TF: "`exports_to_keep`, if provided, must be a
  // positive number. Got <n>").
  static Result<std::unique_ptr<LatestExporter>> Create(
      std::string name, ServingInput input, std::optional<int> exports_to_keep = 5,
      ExporterOptions options = {});
  Result<std::optional<std::string>> Export(Estimator& estimator, const std::string& export_path,
                                            const std::string& checkpoint_path,
                                            const EvalResult& eval_result,
                                            bool is_the_final_export) override;

 private:
  LatestExporter(std::string name, ServingInput input, std::optional<int> exports_to_keep,
                 ExporterOptions options);
  std::optional<int> exports_to_keep_;
};

struct BestExporterOptions {
  // Glob (relative to model_dir; '*' and '?' in each path component) of the
  // event files that hold earlier evaluations. Empty: none are read.
  std::string event_file_pattern = "eval/*.tfevents.*";
  EvalCompareFn compare_fn = LossSmaller;
  std::optional<int> exports_to_keep = 5;
};

// TF's BestExporter: exports when the evaluation is better than the best so
// far (compare_fn(best, current)), or when there is no best yet; then the
// current one is the best, and export_path is collected as LatestExporter's.
// The best so far starts as the best of the evaluations recorded in
// event_file_pattern under the Estimator's model_dir, read at the first
// Export (and again when called with an Estimator of another model_dir):
// each event's simple_value scalars form one evaluation, as TF reads them.
class BestExporter : public Exporter {
 public:
  // InvalidArgument as LatestExporter's, and for an empty compare_fn.
  static Result<std::unique_ptr<BestExporter>> Create(std::string name, ServingInput input,
                                                      BestExporterOptions best = {},
                                                      ExporterOptions options = {});
  // Also fails with the compare_fn's error and the event files' read errors
  // (DataLoss naming the file).
  Result<std::optional<std::string>> Export(Estimator& estimator, const std::string& export_path,
                                            const std::string& checkpoint_path,
                                            const EvalResult& eval_result,
                                            bool is_the_final_export) override;
  // The best evaluation so far (nullopt before any).
  const std::optional<EvalResult>& best_eval_result() const { return best_; }

 private:
  BestExporter(std::string name, ServingInput input, BestExporterOptions best,
               ExporterOptions options);
  Status LoadBestFromEvents(const std::string& model_dir);
  BestExporterOptions best_options_;
  std::optional<std::string> model_dir_;  // whose events were read
  std::optional<EvalResult> best_;
};

// TF's FinalExporter: exports only the final evaluation
// (is_the_final_export); never deletes.
class FinalExporter : public Exporter {
 public:
  // InvalidArgument for a name that is not one path component.
  static Result<std::unique_ptr<FinalExporter>> Create(std::string name, ServingInput input,
                                                       ExporterOptions options = {});
  Result<std::optional<std::string>> Export(Estimator& estimator, const std::string& export_path,
                                            const std::string& checkpoint_path,
                                            const EvalResult& eval_result,
                                            bool is_the_final_export) override;

 private:
  FinalExporter(std::string name, ServingInput input, ExporterOptions options)
      : Exporter(std::move(name), std::move(input), std::move(options)) {}
};

// The retention of the Latest and Best exporters: among the direct children
// of `export_path` that are exports (a numeric name, ParseExportDirName; a
// directory, not a symbolic link, holding saved_model.pb), deletes all but
// the `exports_to_keep` newest (largest numbers). Of each, only the files an
// export consists of are deleted (saved_model.pb, fingerprint.pb,
// variables/variables.{index,data-*}, the regular files directly in
// assets/), saved_model.pb last (an interrupted collection is resumed by the
// next), then the directories left empty; anything else (a user's file, a
// symbolic link, another directory) stays, with its directories, and is
// named in a warning. Nothing outside export_path is touched and no link is
// followed. Returns the export directories removed entirely; a missing
// export_path is no error. Errors: listing export_path, and the first
// deletion that failed (the collection goes on past it).
Result<std::vector<std::string>> GarbageCollectExports(Env* env, const std::string& export_path,
                                                       int exports_to_keep);

}  // namespace ckpt

#endif  // CKPT_EXPORTER_H_
