// SavedModels: TensorFlow's format for serving (docs/format/saved_model.md).
// A SavedModel is a directory D (file names: ckpt/filenames.h) holding
//   D/saved_model.pb            a SavedModel proto: one MetaGraphDef per tag
//                               set ({"serve"} for serving), each with its
//                               graph, its Saver (SaverDef) and its
//                               signatures (SignatureDefs by key);
//   D/variables/variables.*     a V2 checkpoint that the Saver restores;
//   D/assets/                   files the graph names (vocabularies), when any.
// TensorFlow loads it with tf.saved_model.load (TF2) or
// tf.compat.v1.saved_model.loader.load (a session), serves it with
// TensorFlow Serving and shows it with saved_model_cli.
//
// This header writes them (WriteSavedModel, with the signature builders of
// TF's signature_def_utils and export_output) and reads them
// (ReadSavedModel). ckpt::Estimator::ExportSavedModel (ckpt/estimator.h)
// exports a trained model with them; ckpt::ImportSavedModel
// (ckpt/graph_import.h) runs one.
//
// Thread safety: the free functions are thread-safe.
#ifndef CKPT_SAVED_MODEL_H_
#define CKPT_SAVED_MODEL_H_

#include <map>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "tensorflow/core/protobuf/meta_graph.pb.h"
#include "tensorflow/core/protobuf/saved_model.pb.h"

namespace ckpt {

// Tags (TF's tag_constants).
inline constexpr char kServeTag[] = "serve";
inline constexpr char kTrainTag[] = "train";

// Signature keys, method names and input/output keys (TF's
// signature_constants).
inline constexpr char kDefaultServingSignatureKey[] = "serving_default";
inline constexpr char kClassifyMethodName[] = "tensorflow/serving/classify";
inline constexpr char kPredictMethodName[] = "tensorflow/serving/predict";
inline constexpr char kRegressMethodName[] = "tensorflow/serving/regress";
inline constexpr char kClassifyInputs[] = "inputs";
inline constexpr char kClassifyOutputClasses[] = "classes";
inline constexpr char kClassifyOutputScores[] = "scores";
inline constexpr char kRegressInputs[] = "inputs";
inline constexpr char kRegressOutputs[] = "outputs";

// ---- signatures

// A TensorInfo naming `tensor` ("node:k") with its dtype and (partial) shape.
tensorflow::TensorInfo TensorInfoOf(const Output& tensor);

// What a model exports for serving: TF's ExportOutput kinds
// (tf.estimator.export.ClassificationOutput, RegressionOutput, PredictOutput).
struct ExportOutput {
  enum class Kind { kClassification, kRegression, kPredict };
  Kind kind = Kind::kPredict;
  // kClassification: scores (float [batch, n]) and/or classes (string
  // [batch, n]); at least one is valid().
  Output scores;
  Output classes;
  // kRegression: float [batch] or [batch, 1].
  Output value;
  // kPredict: output key -> tensor.
  std::map<std::string, Output> outputs;

  static ExportOutput Classification(Output scores, Output classes);
  static ExportOutput Regression(Output value);
  static ExportOutput Predict(std::map<std::string, Output> outputs);

  // The SignatureDef of this output for the serving inputs
  // `receiver_tensors` (key -> tensor), as TF's as_signature_def:
  // classification and regression take one string tensor (serialized
  // tf.Example protos) as "inputs" and have method classify / regress;
  // predict takes every receiver tensor under its key and has method
  // predict. InvalidArgument (in TF's words) when a classification or
  // regression output is given anything but one string tensor, or the
  // output is malformed (invalid tensors, wrong dtypes).
  Result<tensorflow::SignatureDef> AsSignatureDef(
      const std::map<std::string, Output>& receiver_tensors) const;
};

// TF's build_all_signature_defs: the SignatureDef of every export output (by
// its key) that can take `receiver_tensors`; the others are left out and
// their reasons put in `*excluded` (key -> message) when it is non-null. The
// result may lack kDefaultServingSignatureKey (TF then warns "Export
// includes no default signature!"); InvalidArgument if it is empty.
Result<std::map<std::string, tensorflow::SignatureDef>> BuildSignatureDefs(
    const std::map<std::string, Output>& receiver_tensors,
    const std::map<std::string, ExportOutput>& export_outputs,
    std::map<std::string, std::string>* excluded = nullptr);

// ---- writing

// A file the graph names (e.g. a vocabulary): copied to D/assets/<filename>;
// `tensor` is the graph's string Const holding the file's path, which the
// meta graph's AssetFileDef binds to the copied file (TF rewrites it at load
// time).
struct SavedModelAsset {
  std::string source_path;  // the file to copy
  std::string filename;     // its base name under assets/
  Output tensor;
};

struct SavedModelOptions {
  Env* env = Env::Posix();
  // The meta graph's tags. REQUIRES: non-empty.
  std::vector<std::string> tags = {kServeTag};
  MetaGraphOptions meta_graph;
  // Where the SavedModel is built before it is renamed to export_dir; empty:
  // a temporary name beside export_dir (env/temp_path.h). Must not exist.
  std::string temp_dir;
};

// Writes the SavedModel of `graph` to `export_dir`, which must not exist
// (AlreadyExists otherwise, nothing touched). Adds to `graph` a V2 Saver
// subgraph ("save/...") for every variable of the graph: TF's loaders feed
// the variables' prefix to its filename tensor and run its restore op. The
// SavedModel holds one meta graph: the graph with its collections, the
// SaverDef, `signatures`, the assets and options.tags. The variables' values
// come from `values` (checkpoint key -> tensor; every graph variable must be
// there, with its dtype and shape: NotFound / InvalidArgument naming it)
// and are written as the V2 checkpoint variables/variables. Everything is
// built in options.temp_dir, synced, and renamed to export_dir only when
// complete; on failure what was written is removed and export_dir does not
// exist. InvalidArgument for a builder in error, empty tags, an asset
// without a valid string tensor or with a file name that is not a plain
// base name; the IO errors of the writes.
Status WriteSavedModel(const std::string& export_dir, GraphBuilder* graph,
                       const std::map<std::string, tensorflow::SignatureDef>& signatures,
                       const std::map<std::string, const Tensor*>& values,
                       const std::vector<SavedModelAsset>& assets = {},
                       const SavedModelOptions& options = {});

// ---- reading

// The SavedModel proto of `path`: a SavedModel directory or its
// saved_model.pb. NotFound naming the file if missing ("D is not a
// SavedModel directory: it has no D/saved_model.pb"); DataLoss naming it if
// it does not parse; InvalidArgument for a null env. (A SavedModel
// directory given to a checkpoint reader reads as its variables:
// ckpt/checkpoint_reader.h.)
Result<tensorflow::SavedModel> ReadSavedModel(Env* env, const std::string& path);

// True if `dir` is a directory holding saved_model.pb.
bool IsSavedModelDir(Env* env, const std::string& dir);

// The meta graph whose tags equal `tags` as a set. NotFound naming the tags
// asked for and listing the tag sets present.
Result<const tensorflow::MetaGraphDef*> FindMetaGraph(const tensorflow::SavedModel& model,
                                                      const std::vector<std::string>& tags);

}  // namespace ckpt

#endif  // CKPT_SAVED_MODEL_H_
