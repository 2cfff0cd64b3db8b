// FindLeftovers: see leftovers.h.
#include "checkpoint/leftovers.h"

#include <regex>

#include "ckpt/bundle.h"

namespace ckpt {
namespace {

bool IsTempFileName(const std::string& name) {
  static const std::regex* const re =
      new std::regex(R"(.+\.(tempstate|tmp)[0-9]+)");
  return std::regex_match(name, *re);
}

bool IsShardTempDirName(const std::string& name) {
  static const std::regex* const re = new std::regex(R"(.+_temp(_[0-9a-f]{32})?)");
  return std::regex_match(name, *re);
}

bool IsShardPartName(const std::string& name) {
  static const std::regex* const re = new std::regex(
      R"(part-[0-9]{5}-of-[0-9]{5}(\.index|\.data-[0-9]{5}-of-[0-9]{5})?(\.tempstate[0-9]+)?)");
  return std::regex_match(name, *re);
}

// "<basename>-<digits>.data-NNNNN-of-NNNNN" -> "<basename>-<digits>"; "" if no match.
std::string OrphanDataPrefix(const std::string& name, const std::string& basename) {
  if (basename.empty() || name.compare(0, basename.size() + 1, basename + "-") != 0) return "";
  static const std::regex* const re = new std::regex(R"((.*-[0-9]+)\.data-[0-9]{5}-of-[0-9]{5})");
  std::smatch m;
  if (!std::regex_match(name, m, *re)) return "";
  std::string prefix = m[1];
  return prefix.size() > basename.size() + 1 ? prefix : "";
}

}  // namespace

Result<std::vector<std::string>> FindLeftovers(Env* env, const std::string& dir,
                                               const std::string& checkpoint_basename) {
  std::vector<std::string> out;
  const std::string d = dir.empty() ? "." : dir;
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(d));
  for (const std::string& name : names) {
    const std::string path = JoinPath(dir, name);
    if (env->IsDirectory(path)) {
      if (!IsShardTempDirName(name)) continue;
      auto parts = env->GetChildren(path);
      if (!parts.ok()) continue;
      // Only a directory holding nothing but shard parts is ours.
      bool all_parts = true;
      for (const std::string& p : *parts) all_parts = all_parts && IsShardPartName(p);
      if (!all_parts) continue;
      for (const std::string& p : *parts) out.push_back(JoinPath(path, p));
      out.push_back(path + "/");
      continue;
    }
    if (IsTempFileName(name)) {
      out.push_back(path);
      continue;
    }
    std::string prefix = OrphanDataPrefix(name, checkpoint_basename);
    if (!prefix.empty() && !env->FileExists(MetaFilename(JoinPath(dir, prefix)))) {
      out.push_back(path);
    }
  }
  return out;
}

}  // namespace ckpt
