// Whole-file helpers shared by every Env (the path helpers are in path.cc).
#include <string>

#include "ckpt/env.h"
#include "env/temp_path.h"

namespace ckpt {

Result<std::string> ReadFileToString(Env* env, const std::string& path) {
  CKPT_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
  std::string out;
  out.resize(file->Size());
  uint64_t done = 0;
  while (done < out.size()) {
    CKPT_ASSIGN_OR_RETURN(std::string_view got,
                          file->Read(done, out.size() - done, out.data() + done));
    if (got.empty()) break;
    if (got.data() != out.data() + done) {
      std::copy(got.begin(), got.end(), out.begin() + done);
    }
    done += got.size();
  }
  out.resize(done);
  return out;
}

Result<std::unique_ptr<DirectoryLock>> Env::TryLockDirectory(const std::string& dir) {
  return UnimplementedError("This Env cannot lock directories ('" + dir + "')");
}

Result<std::string> Env::DirectoryLockHolder(const std::string& dir) {
  return UnimplementedError("This Env cannot tell whether '" + dir + "' is locked");
}

Status WriteStringToFileAtomic(Env* env, const std::string& path,
                               std::string_view data) {
  const TempPath temp(env, path);
  const std::string& tmp = temp.path();
  Status s = [&]() -> Status {
    CKPT_ASSIGN_OR_RETURN(auto file, env->NewWritableFile(tmp));
    CKPT_RETURN_IF_ERROR(file->Append(data));
    CKPT_RETURN_IF_ERROR(file->Sync());
    CKPT_RETURN_IF_ERROR(file->Close());
    CKPT_RETURN_IF_ERROR(env->RenameFile(tmp, path));
    std::string dir(Dirname(path));
    return env->SyncDir(dir.empty() ? "." : dir);
  }();
  if (!s.ok() && env->FileExists(tmp)) env->DeleteFile(tmp).IgnoreError();
  return s;
}

}  // namespace ckpt
