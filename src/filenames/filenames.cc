// Checkpoint file names: building and parsing (ckpt/filenames.h,
// filenames/filenames.h). No IO.
#include "filenames/filenames.h"

#include <cinttypes>
#include <cstdio>
#include <regex>

#include "ckpt/env.h"
#include "env/path.h"

namespace ckpt {
namespace {

constexpr std::string_view kIndexSuffix = ".index";
constexpr std::string_view kMetaGraphSuffix = ".meta";  // "." + kDefaultMetaGraphSuffix
constexpr std::string_view kDataInfix = ".data-";
constexpr std::string_view kOf = "-of-";
constexpr std::string_view kShardPartBase = "part";
constexpr int kShardDigits = 5;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

bool StartsWith(std::string_view s, std::string_view head) {
  return s.size() >= head.size() && s.substr(0, head.size()) == head;
}

bool EndsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

int ToInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// `s` is `lead` + "DDDDD-of-DDDDD" exactly.
std::optional<DataFileShard> ParseShardCount(std::string_view s, std::string_view lead) {
  if (s.size() != lead.size() + kShardDigits + kOf.size() + kShardDigits) return std::nullopt;
  if (!StartsWith(s, lead)) return std::nullopt;
  s.remove_prefix(lead.size());
  const std::string_view shard = s.substr(0, kShardDigits);
  const std::string_view of = s.substr(kShardDigits, kOf.size());
  const std::string_view count = s.substr(kShardDigits + kOf.size());
  if (!IsDigits(shard) || of != kOf || !IsDigits(count)) return std::nullopt;
  return DataFileShard{ToInt(shard), ToInt(count)};
}

}  // namespace

std::string MetaFilename(std::string_view prefix) {
  return std::string(prefix) + std::string(kIndexSuffix);
}

std::string DataFilename(std::string_view prefix, int shard_id, int num_shards) {
  // kDataInfix without its '-', which ShardedFilename writes.
  return ShardedFilename(std::string(prefix) + ".data", shard_id, num_shards);
}

std::string MetaGraphFilename(const std::string& checkpoint, const std::string& suffix) {
  static const std::regex kShardSuffix("-[0-9?]+-of-[0-9]+$");
  return std::regex_replace(checkpoint, kShardSuffix, "") + "." + suffix;
}

std::string SavedModelProtoPath(std::string_view dir) {
  return JoinPath(dir, kSavedModelFilename);
}

// Both the directory and the checkpoint basename of a SavedModel's variables.
constexpr std::string_view kSavedModelVariables = "variables";

std::string SavedModelVariablesDir(std::string_view dir) {
  return JoinPath(dir, kSavedModelVariables);
}

std::string SavedModelVariablesPrefix(std::string_view dir) {
  return JoinPath(SavedModelVariablesDir(dir), kSavedModelVariables);
}

std::string SavedModelAssetsDir(std::string_view dir) { return JoinPath(dir, "assets"); }

std::string ExportDirPath(std::string_view base, int64_t seconds) {
  return JoinPath(base, std::to_string(seconds));
}

int64_t ParseExportDirName(std::string_view name) {
  if (name.size() > 18 || !IsDigits(name)) return -1;
  int64_t v = 0;
  for (char c : name) v = v * 10 + (c - '0');
  return v;
}

bool IsSavedModelVariablesFileName(std::string_view name) {
  return name == MetaFilename(kSavedModelVariables) || IsDataFileOf(name, kSavedModelVariables);
}

std::string ExportPath(std::string_view model_dir, std::string_view exporter_name) {
  return JoinPath(JoinPath(model_dir, "export"), exporter_name);
}

std::string CheckpointPrefixWithStep(std::string_view prefix, int64_t step, int min_digits) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "-%0*" PRId64, min_digits, step);
  return std::string(prefix) + buf;
}

std::optional<int64_t> StepOf(std::string_view prefix) {
  const std::string_view base = Basename(prefix);
  const size_t dash = base.rfind('-');
  if (dash == std::string_view::npos || dash + 1 >= base.size() || base.size() - dash - 1 > 18) {
    return std::nullopt;
  }
  int64_t step = 0;
  for (size_t i = dash + 1; i < base.size(); ++i) {
    if (!IsDigit(base[i])) return std::nullopt;
    step = step * 10 + (base[i] - '0');
  }
  return step;
}

std::string StepBasename(std::string_view prefix) {
  if (!StepOf(prefix)) return "";
  const std::string_view base = Basename(prefix);
  return std::string(base.substr(0, base.rfind('-')));
}

bool SplitCheckpointName(std::string_view name, std::string_view basename, std::string_view* rest) {
  if (basename.empty() || !StartsWith(name, basename)) return false;
  size_t i = basename.size();
  if (i < name.size() && name[i] == '-') {
    size_t j = i + 1;
    while (j < name.size() && IsDigit(name[j])) ++j;
    if (j > i + 1 && j - i - 1 <= 18) i = j;
  }
  *rest = name.substr(i);
  return true;
}

bool IsNumberedCheckpointName(std::string_view base, std::string_view checkpoint_name) {
  if (base.size() <= checkpoint_name.size() + 1 || !StartsWith(base, checkpoint_name) ||
      base[checkpoint_name.size()] != '-') {
    return false;
  }
  std::string_view number = base.substr(checkpoint_name.size() + 1);
  if (number[0] == '-') number.remove_prefix(1);
  return IsDigits(number);
}

std::optional<std::string_view> IndexFilePrefix(std::string_view name) {
  if (name.size() <= kIndexSuffix.size() || !EndsWith(name, kIndexSuffix)) return std::nullopt;
  return name.substr(0, name.size() - kIndexSuffix.size());
}

std::optional<DataFileShard> ParseDataSuffix(std::string_view suffix) {
  return ParseShardCount(suffix, kDataInfix);
}

bool IsDataFileOf(std::string_view name, std::string_view base) {
  return StartsWith(name, base) && ParseDataSuffix(name.substr(base.size())).has_value();
}

bool MatchesDataFileGlob(std::string_view name, std::string_view base) {
  if (!StartsWith(name, base) || !StartsWith(name.substr(base.size()), kDataInfix)) return false;
  return GlobMatch("?????" "-of-" "?????", name.substr(base.size() + kDataInfix.size()));
}

std::optional<std::string_view> DataFileStem(std::string_view name) {
  const size_t pos = name.find(kDataInfix);
  if (pos == std::string_view::npos) return std::nullopt;
  return name.substr(0, pos);
}

bool IsCheckpointFileSuffix(std::string_view rest) {
  return rest == kIndexSuffix || rest == kMetaGraphSuffix || ParseDataSuffix(rest).has_value();
}

bool IsFileOfCheckpoint(std::string_view name, std::string_view base) {
  if (StartsWith(name, base)) {
    const std::string_view rest = name.substr(base.size());
    if (rest == kIndexSuffix || rest == kMetaGraphSuffix || StartsWith(rest, kDataInfix)) {
      return true;
    }
  }
  // V1: the file itself, or a shard matched by a glob.
  return name == base || (V1PathIsGlob(base) && GlobMatch(base, name));
}

bool HasMetaGraphSuffix(std::string_view name) { return EndsWith(name, kMetaGraphSuffix); }

std::string_view CheckpointFileExtensionIn(std::string_view path) {
  std::string_view found;
  for (std::string_view ext : {kIndexSuffix, kMetaGraphSuffix, kDataInfix}) {
    if (path.find(ext) != std::string_view::npos) found = ext;
  }
  return found;
}

bool V1PathIsGlob(std::string_view path) { return HasGlobWildcard(Basename(path)); }

std::string ShardedFilename(std::string_view base, int shard, int num_shards) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "-%05d-of-%05d", shard, num_shards);
  return std::string(base) + buf;
}

std::string ShardedSaveDirName(std::string_view prefix) {
  return std::string(prefix) + std::string(kShardedSaveDirSuffix);
}

std::string ShardPartPrefix(std::string_view dir, int shard, int num_shards) {
  return std::string(dir) + "/" + ShardedFilename(kShardPartBase, shard, num_shards);
}

bool IsShardPartFileName(std::string_view name) {
  // "part-DDDDD-of-DDDDD" is 19 characters.
  constexpr size_t kPartSize = kShardPartBase.size() + 1 + kShardDigits + kOf.size() + kShardDigits;
  if (name.size() < kPartSize) return false;
  if (!ParseShardCount(name.substr(0, kPartSize), std::string(kShardPartBase) + "-")) return false;
  const std::string_view rest = name.substr(kPartSize);
  return rest == kIndexSuffix || ParseDataSuffix(rest).has_value();
}

bool IsForeignTempName(std::string_view name) {
  for (std::string_view marker : {std::string_view(".tempstate"), std::string_view(".tmp")}) {
    const size_t pos = name.rfind(marker);
    if (pos == std::string_view::npos) continue;
    const std::string_view digits = name.substr(pos + marker.size());
    if (IsDigits(digits)) return true;
  }
  return false;
}

}  // namespace ckpt
