// The names of a checkpoint's files, as TensorFlow gives them: a V2
// checkpoint with prefix P is the index P.index and the data files
// P.data-SSSSS-of-NNNNN (docs/format/bundle.md); a Saver writes its
// MetaGraphDef to P.meta; a directory's state file is named "checkpoint"
// (docs/format/commit.md). Every checkpoint file name ckpt builds or parses is
// made by this module (the public part here, the rest in
// src/filenames/filenames.h).
//
// Thread safety: pure functions of their arguments; thread-safe.
#ifndef CKPT_FILENAMES_H_
#define CKPT_FILENAMES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ckpt {

// The default name of a directory's state file (tf.train.latest_checkpoint's
// latest_filename).
inline constexpr char kDefaultStateFilename[] = "checkpoint";

// The default suffix of a MetaGraphDef file: "P.meta".
inline constexpr char kDefaultMetaGraphSuffix[] = "meta";

// "P.index"
std::string MetaFilename(std::string_view prefix);
// "P.data-00003-of-00008"
std::string DataFilename(std::string_view prefix, int shard_id, int num_shards);

// TF's meta_graph_filename: `checkpoint` with a trailing
// "-<digits or ?>-of-<digits>" removed, then "." + suffix
// ("dir/model-1000" -> "dir/model-1000.meta").
std::string MetaGraphFilename(const std::string& checkpoint,
                              const std::string& suffix = kDefaultMetaGraphSuffix);

// --- SavedModel directories (docs/format/saved_model.md) ---------------------
// A SavedModel directory D holds D/saved_model.pb, its variables as the V2
// checkpoint with prefix D/variables/variables, and asset files in D/assets/.
inline constexpr char kSavedModelFilename[] = "saved_model.pb";
// TF >= 2.12 also writes D/fingerprint.pb (hashes of the graph and variables).
inline constexpr char kSavedModelFingerprintFilename[] = "fingerprint.pb";
// "D/saved_model.pb"
std::string SavedModelProtoPath(std::string_view dir);
// "D/variables"
std::string SavedModelVariablesDir(std::string_view dir);
// "D/variables/variables": the checkpoint prefix of a SavedModel's variables.
std::string SavedModelVariablesPrefix(std::string_view dir);
// "D/assets"
std::string SavedModelAssetsDir(std::string_view dir);

// Estimator exports: each export is the directory "<base>/<seconds>" (the
// Unix time in decimal, as TF's get_timestamped_export_dir names it).
std::string ExportDirPath(std::string_view base, int64_t seconds);
// The seconds of an export directory's base name ("1700000000"): 1 to 18
// ASCII digits and nothing else; -1 otherwise ("temp-17...", "best", ...).
int64_t ParseExportDirName(std::string_view name);
// True if base name `name` is one of the files of a SavedModel's variables
// directory: "variables.index" or "variables.data-DDDDD-of-DDDDD".
bool IsSavedModelVariablesFileName(std::string_view name);
// Where train_and_evaluate's exporter `exporter_name` exports (the base of
// its timestamped exports): "<model_dir>/export/<exporter_name>".
std::string ExportPath(std::string_view model_dir, std::string_view exporter_name);

}  // namespace ckpt

#endif  // CKPT_FILENAMES_H_
