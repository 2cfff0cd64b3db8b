// Path helpers: the public '/'-separated ones of ckpt/env.h and the glob
// matching of env/path.h. Pure string manipulation; no IO.
#include "env/path.h"

#include <string>

#include "ckpt/env.h"

namespace ckpt {

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  if (IsAbsolutePath(b)) return std::string(b);
  std::string out(a);
  if (out.back() != '/') out += '/';
  out += b;
  return out;
}

std::string_view Dirname(std::string_view path) {
  size_t pos = path.rfind('/');
  if (pos == std::string_view::npos) return {};
  if (pos == 0) return path.substr(0, 1);
  return path.substr(0, pos);
}

std::string_view Basename(std::string_view path) {
  size_t pos = path.rfind('/');
  return pos == std::string_view::npos ? path : path.substr(pos + 1);
}

bool IsAbsolutePath(std::string_view path) {
  return !path.empty() && path[0] == '/';
}

bool HasGlobWildcard(std::string_view s) { return s.find_first_of("?*") != std::string_view::npos; }

bool GlobMatch(std::string_view pattern, std::string_view name) {
  // Greedy matching with backtracking to the last '*'.
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace ckpt
