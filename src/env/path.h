// Path utilities beyond the public JoinPath/Dirname/Basename/IsAbsolutePath
// (ckpt/env.h): glob matching over base names, as TensorFlow's
// GetMatchingPaths does it for one directory level. Pure string functions.
//
// Thread safety: every function is thread-safe (no state).
#ifndef CKPT_SRC_ENV_PATH_H_
#define CKPT_SRC_ENV_PATH_H_

#include <string_view>

namespace ckpt {

// True if `s` holds a glob wildcard ('?' or '*').
bool HasGlobWildcard(std::string_view s);

// True if glob `pattern` matches all of `name`: '?' matches any one
// character, '*' any run of characters (also none); every other character
// matches itself. No character classes, no escapes.
bool GlobMatch(std::string_view pattern, std::string_view name);

}  // namespace ckpt

#endif  // CKPT_SRC_ENV_PATH_H_
