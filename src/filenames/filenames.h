// Checkpoint file names beyond the public ones of ckpt/filenames.h: the
// "-<step>" suffix of a prefix, parsing of index/data/shard names, the
// names a save uses while it runs (a sharded save's "<P>_temp" directory
// and its "part-SSSSS-of-NNNNN" bundles) and other programs' temporary
// markers. Together with ckpt/filenames.h, the one home of these facts
// (docs/format/bundle.md, docs/format/commit.md); the temporary names of
// atomic writes ("<final>.ckpt-tmp.<pid>.<hex>") are env's (env/temp_path.h).
//
// Digits in data and shard names are exactly five ASCII digits, as
// TensorFlow's "%05d" writes them for fewer than 100000 shards.
//
// Thread safety: pure functions of their arguments; thread-safe.
#ifndef CKPT_SRC_FILENAMES_FILENAMES_H_
#define CKPT_SRC_FILENAMES_FILENAMES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ckpt/filenames.h"

namespace ckpt {

// --- Checkpoint prefixes and steps ------------------------------------------

// `prefix` + "-<step>", the step written with at least `min_digits` digits
// (zero-padded as printf's "%0*" PRId64; 0 = no padding):
// ("dir/model.ckpt", 42) -> "dir/model.ckpt-42"; with 8 -> "...-00000042".
std::string CheckpointPrefixWithStep(std::string_view prefix, int64_t step, int min_digits = 0);

// The number after the last '-' of the base name ("dir/ckpt-42" -> 42): 1 to
// 18 ASCII digits, nothing else; nullopt otherwise ("ckpt", "ckpt-", "ckpt-4a").
std::optional<int64_t> StepOf(std::string_view prefix);
// The base name without its "-<step>" ("dir/ckpt-42" -> "ckpt"); "" if StepOf
// finds no step.
std::string StepBasename(std::string_view prefix);

// True if `name` is "<basename>" or "<basename>-<1 to 18 digits>" followed by
// anything; `*rest` is then set to what follows. `basename` is matched
// literally; an empty one matches nothing. The digits are taken greedily, so
// "m-10.index" of basename "m" has rest ".index".
bool SplitCheckpointName(std::string_view name, std::string_view basename, std::string_view* rest);

// True if base name `base` is "<checkpoint_name>-<digits>" or
// "<checkpoint_name>--<digits>" (a negative number), any number of digits:
// the checkpoints a CheckpointManager named `checkpoint_name` writes.
bool IsNumberedCheckpointName(std::string_view base, std::string_view checkpoint_name);

// --- Index and data files ----------------------------------------------------

// The prefix of an index file name "X.index" (X non-empty), else nullopt.
std::optional<std::string_view> IndexFilePrefix(std::string_view name);

// The shard numbers of a data file suffix.
struct DataFileShard {
  int shard_id = 0;
  int num_shards = 0;
};
// `suffix` is exactly ".data-DDDDD-of-DDDDD"; nullopt otherwise.
std::optional<DataFileShard> ParseDataSuffix(std::string_view suffix);
// True if `name` is `base` + ".data-DDDDD-of-DDDDD" (base taken literally).
bool IsDataFileOf(std::string_view name, std::string_view base);
// True if `name` is `base` (literally) + ".data-?????-of-?????" as TF's glob
// matches it ('?' = any one character): what TF's remove_checkpoint deletes.
bool MatchesDataFileGlob(std::string_view name, std::string_view base);
// The part of `name` before its first ".data-", if it has one ("m-5.data-x"
// -> "m-5"): the checkpoint a data-looking name, well formed or not, belongs to.
std::optional<std::string_view> DataFileStem(std::string_view name);

// True if `rest`, what follows a checkpoint's prefix in a file name, makes it
// one of the files a save publishes: ".index", ".meta" or ".data-DDDDD-of-DDDDD".
bool IsCheckpointFileSuffix(std::string_view rest);
// True if base name `name` is one of checkpoint `base`'s files as a survey
// lists them: "<base>.index", "<base>.meta", "<base>.data-" + anything, or the
// V1 file itself ("<base>", or any name `base` matches as a glob).
bool IsFileOfCheckpoint(std::string_view name, std::string_view base);
// True if `name` ends in ".meta", the default MetaGraphFilename suffix.
bool HasMetaGraphSuffix(std::string_view name);

// The extension of a checkpoint file found in `path` (".index", ".meta" or
// ".data-", the last of these in that order), or "": a user who passed a
// file of a V2 checkpoint instead of its prefix.
std::string_view CheckpointFileExtensionIn(std::string_view path);

// --- V1 paths -------------------------------------------------------------

// True if the V1 checkpoint path `path` is a glob: its base name has a
// wildcard ("dir/model-?????-of-00002"); wildcards in the directory part are
// not expanded.
bool V1PathIsGlob(std::string_view path);

// --- Sharded saves -------------------------------------------------------

// TF's ShardedFilename: "<base>-SSSSS-of-NNNNN".
std::string ShardedFilename(std::string_view base, int shard, int num_shards);
// The suffix of a sharded save's directory: "<P>_temp" (its final name; it
// only ever exists under a temporary name of env/temp_path.h).
inline constexpr std::string_view kShardedSaveDirSuffix = "_temp";
// "<P>_temp".
std::string ShardedSaveDirName(std::string_view prefix);
// The prefix of the per-device bundle `shard` of `num_shards` inside a sharded
// save's directory `dir`: "<dir>/part-SSSSS-of-NNNNN".
std::string ShardPartPrefix(std::string_view dir, int shard, int num_shards);
// True if `name` is a file of such a bundle: "part-DDDDD-of-DDDDD" followed by
// ".index" or ".data-DDDDD-of-DDDDD".
bool IsShardPartFileName(std::string_view name);

// --- Other programs' temporaries -----------------------------------------

// True if `name` carries a temporary marker of another writer followed by
// digits: TensorFlow's ".tempstate<digits>", rsync's or an editor's
// ".tmp<digits>".
bool IsForeignTempName(std::string_view name);

}  // namespace ckpt

#endif  // CKPT_SRC_FILENAMES_FILENAMES_H_
