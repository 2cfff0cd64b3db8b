// Writing SavedModels (ckpt/saved_model.h): build everything in a temporary
// directory, sync it, rename it into place. The temporary directory is ours
// (a fresh name that did not exist), so on failure exactly the files written
// into it are removed, then the directory.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "ckpt/bundle_writer.h"
#include "ckpt/filenames.h"
#include "ckpt/saved_model.h"
#include "env/temp_path.h"

namespace ckpt {
namespace {

// What a write created, removed again if the write fails.
class Cleanup {
 public:
  explicit Cleanup(Env* env) : env_(env) {}
  ~Cleanup() {
    if (done_) return;
    for (auto it = files_.rbegin(); it != files_.rend(); ++it) env_->DeleteFile(*it).IgnoreError();
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) env_->DeleteDir(*it).IgnoreError();
  }
  void AddFile(std::string path) { files_.push_back(std::move(path)); }
  void AddDir(std::string path) { dirs_.push_back(std::move(path)); }
  void Commit() { done_ = true; }

 private:
  Env* env_;
  std::vector<std::string> files_;
  std::vector<std::string> dirs_;
  bool done_ = false;
};

Status CheckValues(const std::vector<GraphVariable>& variables,
                   const std::map<std::string, const Tensor*>& values) {
  for (const GraphVariable& v : variables) {
    auto it = values.find(v.name);
    if (it == values.end() || it->second == nullptr) {
      return NotFoundError("SavedModel: no value for variable '" + v.name + "' of the graph");
    }
    const Tensor& t = *it->second;
    const PartialShape want = v.ref.shape;
    if (t.dtype() != v.ref.dtype || (!want.unknown_rank && want.dims != t.shape().dims())) {
      return InvalidArgumentError("SavedModel: the value of variable '" + v.name + "' is " +
                                  std::string(DataTypeName(t.dtype())) + " " +
                                  t.shape().DebugString() + ", the graph's variable is " +
                                  std::string(DataTypeName(v.ref.dtype)) + " " +
                                  (want.unknown_rank ? std::string("<unknown>")
                                                     : TensorShape(want.dims).DebugString()));
    }
  }
  return Status::OK();
}

Status CheckAssets(const std::vector<SavedModelAsset>& assets) {
  std::set<std::string> names;
  for (const SavedModelAsset& a : assets) {
    if (a.filename.empty() || a.filename == "." || a.filename == ".." ||
        a.filename.find('/') != std::string::npos) {
      return InvalidArgumentError("SavedModel: asset file name '" + a.filename +
                                  "' is not a plain base name");
    }
    if (!names.insert(a.filename).second) {
      return InvalidArgumentError("SavedModel: asset file name '" + a.filename + "' given twice");
    }
    if (!a.tensor.valid() || a.tensor.dtype != DataType::kString) {
      return InvalidArgumentError("SavedModel: asset '" + a.filename +
                                  "' needs the graph's string tensor holding its path");
    }
  }
  return Status::OK();
}

Status WriteVariables(Env* env, const std::string& dir, const std::vector<GraphVariable>& variables,
                      const std::map<std::string, const Tensor*>& values, Cleanup* cleanup) {
  std::vector<std::string> names;
  for (const GraphVariable& v : variables) names.push_back(v.name);
  std::sort(names.begin(), names.end());
  const std::string prefix = SavedModelVariablesPrefix(dir);
  cleanup->AddDir(SavedModelVariablesDir(dir));
  CKPT_RETURN_IF_ERROR(env->CreateDirs(SavedModelVariablesDir(dir)));
  // Registered before they are written: a write can fail after its rename.
  cleanup->AddFile(DataFilename(prefix, 0, 1));
  cleanup->AddFile(MetaFilename(prefix));
  BundleWriterOptions options;
  options.env = env;
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer,
                        BundleWriter::Create(prefix, options));
  for (const std::string& name : names) {
    CKPT_RETURN_IF_ERROR(writer->Add(name, *values.at(name)));
  }
  return writer->Finish();
}

Status CopyAssets(Env* env, const std::string& dir, const std::vector<SavedModelAsset>& assets,
                  tensorflow::MetaGraphDef* meta, Cleanup* cleanup) {
  if (assets.empty()) return Status::OK();
  const std::string assets_dir = SavedModelAssetsDir(dir);
  cleanup->AddDir(assets_dir);
  CKPT_RETURN_IF_ERROR(env->CreateDirs(assets_dir));
  for (const SavedModelAsset& a : assets) {
    Result<std::string> data = ReadFileToString(env, a.source_path);
    if (!data.ok()) return data.status().WithContext("SavedModel asset '" + a.filename + "'");
    const std::string path = JoinPath(assets_dir, a.filename);
    cleanup->AddFile(path);
    CKPT_RETURN_IF_ERROR(WriteStringToFileAtomic(env, path, *data));
    tensorflow::AssetFileDef* def = meta->add_asset_file_def();
    *def->mutable_tensor_info() = TensorInfoOf(a.tensor);
    def->set_filename(a.filename);
  }
  return Status::OK();
}

}  // namespace

Status WriteSavedModel(const std::string& export_dir, GraphBuilder* graph,
                       const std::map<std::string, tensorflow::SignatureDef>& signatures,
                       const std::map<std::string, const Tensor*>& values,
                       const std::vector<SavedModelAsset>& assets,
                       const SavedModelOptions& options) {
  Env* env = options.env;
  if (env == nullptr || graph == nullptr) return InvalidArgumentError("WriteSavedModel: null argument");
  if (!graph->status().ok()) return graph->status().WithContext("WriteSavedModel");
  if (options.tags.empty()) return InvalidArgumentError("WriteSavedModel: no tags");
  if (env->FileExists(export_dir)) {
    return AlreadyExistsError("SavedModel export directory " + export_dir + " already exists");
  }
  const std::vector<GraphVariable> variables = graph->variables();
  CKPT_RETURN_IF_ERROR(CheckValues(variables, values));
  CKPT_RETURN_IF_ERROR(CheckAssets(assets));

  TempPath temp_name;
  std::string temp = options.temp_dir;
  if (temp.empty()) {
    temp_name = TempPath(env, export_dir);
    temp = temp_name.path();
  }
  if (env->FileExists(temp)) {
    return AlreadyExistsError("SavedModel temporary directory " + temp + " already exists");
  }
  Cleanup cleanup(env);
  cleanup.AddDir(temp);  // it did not exist: ours to remove
  CKPT_RETURN_IF_ERROR(env->CreateDirs(temp));

  const tensorflow::SaverDef* saver_def = nullptr;
  tensorflow::SaverDef saver;
  if (!variables.empty()) {
    CKPT_ASSIGN_OR_RETURN(saver, AddSaverSubgraph(graph));
    saver_def = &saver;
    CKPT_RETURN_IF_ERROR(WriteVariables(env, temp, variables, values, &cleanup));
  }
  MetaGraphOptions meta_options = options.meta_graph;
  meta_options.tags = options.tags;
  CKPT_ASSIGN_OR_RETURN(tensorflow::MetaGraphDef meta,
                        BuildMetaGraphDef(*graph, saver_def, meta_options));
  for (const auto& [key, sig] : signatures) (*meta.mutable_signature_def())[key] = sig;
  CKPT_RETURN_IF_ERROR(CopyAssets(env, temp, assets, &meta, &cleanup));

  tensorflow::SavedModel model;
  model.set_saved_model_schema_version(1);
  *model.add_meta_graphs() = std::move(meta);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    return InternalError("WriteSavedModel: the SavedModel proto does not serialize (over 2 GiB?)");
  }
  const std::string pb = SavedModelProtoPath(temp);
  cleanup.AddFile(pb);
  CKPT_RETURN_IF_ERROR(WriteStringToFileAtomic(env, pb, bytes));
  if (!variables.empty()) CKPT_RETURN_IF_ERROR(env->SyncDir(SavedModelVariablesDir(temp)));
  CKPT_RETURN_IF_ERROR(env->SyncDir(temp));
  // The commit point: before it, export_dir does not exist; after it, it is
  // complete.
  if (env->FileExists(export_dir)) {
    return AlreadyExistsError("SavedModel export directory " + export_dir + " already exists");
  }
  CKPT_RETURN_IF_ERROR(env->RenameFile(temp, export_dir));
  cleanup.Commit();
  const std::string parent(Dirname(export_dir));
  return env->SyncDir(parent.empty() ? "." : parent);
}

}  // namespace ckpt
