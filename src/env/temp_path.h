// Temporary names (internal to ckpt): one grammar for every file and
// directory ckpt writes before publishing it under its final name.
//
// A temporary is named "<final name>.ckpt-tmp.<pid>.<16 hex digits>": the
// final name it will be renamed to, a marker no other program uses, the id of
// the writing process and a random part. The name alone therefore tells
// whose it is and what it would have become, so a cleanup can delete exactly
// ckpt's own leftovers (checkpoint/leftovers.h) and nothing else.
//
// A TempPath registers its name as "in flight" in this process until it is
// destroyed; TempNameInFlight() asks that registry, so a cleanup never takes a
// temporary of a writer of its own process that is still running for a
// leftover.
#ifndef CKPT_SRC_ENV_TEMP_PATH_H_
#define CKPT_SRC_ENV_TEMP_PATH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ckpt/env.h"

namespace ckpt {

// The marker between the final name and the writer's id.
inline constexpr std::string_view kTempMarker = ".ckpt-tmp.";

// A temporary name for `final_path`, in flight while this object lives.
class TempPath {
 public:
  TempPath() = default;
  // "<final_path>.ckpt-tmp.<this pid>.<16 hex from env->Random64()>".
  TempPath(Env* env, std::string_view final_path);
  ~TempPath();
  TempPath(TempPath&& other) noexcept;
  TempPath& operator=(TempPath&& other) noexcept;
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;

  const std::string& path() const { return path_; }
  bool empty() const { return path_.empty(); }

 private:
  void Release();
  std::string path_;
};

// What a temporary's base name says about it.
struct TempName {
  std::string final_name;  // the base name it would have been published as
  int64_t pid = 0;         // the process that wrote it
};
// Parses a base name made by TempPath; nullopt for any other name.
std::optional<TempName> ParseTempName(std::string_view name);

// True while a TempPath of this process has the base name `name`.
bool TempNameInFlight(std::string_view name);

// This process's id.
int64_t CurrentProcessId();
// True if a process with this id exists (it may belong to another user).
bool ProcessIsAlive(int64_t pid);

}  // namespace ckpt

#endif  // CKPT_SRC_ENV_TEMP_PATH_H_
