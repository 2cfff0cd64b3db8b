#include "saver/leftovers.h"

#include "ckpt/bundle.h"
#include "ckpt/logging.h"

namespace ckpt {

Result<std::vector<std::string>> CleanupLeftovers(Env* env, const std::string& dir,
                                                  const std::string& checkpoint_basename) {
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> found,
                        FindLeftovers(env, dir, checkpoint_basename));
  Status first;
  std::vector<std::string> deleted;
  for (const std::string& path : found) {
    Status s = (!path.empty() && path.back() == '/')
                   ? env->DeleteDir(path.substr(0, path.size() - 1))
                   : env->DeleteFile(path);
    if (s.ok()) {
      deleted.push_back(path);
      LogWarning("Removed leftover of an interrupted save: " + path);
    } else if (first.ok()) {
      first = s;
    }
  }
  if (!first.ok()) return first.WithContext("Cleaning up leftovers in " + dir);
  return deleted;
}

}  // namespace ckpt
