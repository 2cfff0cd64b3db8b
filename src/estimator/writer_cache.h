// EventWriterCache: TF's FileWriterCache, one TF1-style event writer per
// (Env, directory) per process, shared by every Estimator and every call, so
// repeated Train / Evaluate calls append to the same event file.
//
// Lifetime: a writer calls its Env (clock, files) from a background thread,
// so writers must not outlive their Env. Estimators Acquire their Env when
// created and Release it when destroyed; when the last user of an Env
// releases it, that Env's writers are closed and forgotten. Writers on
// Env::Posix() (which lives for the whole process) are kept until process
// exit, as TF keeps its cache.
//
// Thread safety: all methods are thread-safe.
#ifndef CKPT_SRC_ESTIMATOR_WRITER_CACHE_H_
#define CKPT_SRC_ESTIMATOR_WRITER_CACHE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/summary.h"

namespace ckpt::estimator_internal {

class EventWriterCache {
 public:
  // The process-wide cache.
  static EventWriterCache& Global();

  // Counts a user of `env`.
  void Acquire(Env* env);
  // Uncounts one; closes the writers of `env` when none is left (except for
  // Env::Posix()). Close errors are logged.
  void Release(Env* env);

  // The writer for `dir` on `env`, created (with `dir` and its parents) on
  // first use with simple_value scalars and `hostname` in the file name. If
  // a file of the same name exists (a writer created and closed within the
  // same second), the name gets a ".1", ".2", ... suffix.
  Result<std::shared_ptr<EventWriter>> Get(Env* env, const std::string& dir,
                                           const std::string& hostname);

  // Closes and forgets every writer of `env` (every writer if null), as
  // TF's FileWriterCache.clear(); returns the first close error.
  Status Clear(Env* env);

 private:
  std::mutex mu_;
  std::map<std::pair<Env*, std::string>, std::shared_ptr<EventWriter>> writers_;
  std::map<Env*, int> users_;
};

}  // namespace ckpt::estimator_internal

#endif  // CKPT_SRC_ESTIMATOR_WRITER_CACHE_H_
