// EventWriterCache: the per-process event writers of the Estimator.
#include "estimator/writer_cache.h"

#include <unistd.h>

#include <vector>

#include "ckpt/logging.h"

namespace ckpt::estimator_internal {
namespace {

constexpr int kMaxNameSuffix = 20;

// "a/b/" and "a/b" are one directory.
std::string CacheKeyDir(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d;
}

}  // namespace

EventWriterCache& EventWriterCache::Global() {
  static EventWriterCache* cache = new EventWriterCache();  // never destroyed
  return *cache;
}

void EventWriterCache::Acquire(Env* env) {
  std::lock_guard<std::mutex> lock(mu_);
  ++users_[env];
}

void EventWriterCache::Release(Env* env) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = users_.find(env);
    if (it == users_.end()) return;
    if (--it->second > 0) return;
    users_.erase(it);
    if (env == Env::Posix()) return;
  }
  Status s = Clear(env);
  if (!s.ok()) LogWarning("Closing the event writers failed: " + s.ToString());
}

Result<std::shared_ptr<EventWriter>> EventWriterCache::Get(Env* env, const std::string& dir,
                                                           const std::string& hostname) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto key = std::make_pair(env, CacheKeyDir(dir));
  auto it = writers_.find(key);
  if (it != writers_.end()) return it->second;
  EventWriterOptions options;
  options.env = env;
  options.hostname = hostname;
  options.scalar_style = ScalarStyle::kSimpleValue;
  Result<std::unique_ptr<EventWriter>> writer = EventWriter::Create(dir, options);
  // The name is taken (another writer this second: TensorFlow's name has
  // only the time and the host): ".<pid>", then ".<pid>.<n>", so that writers
  // of different processes never compete for the same suffixes.
  const std::string pid = "." + std::to_string(static_cast<long long>(getpid()));
  for (int n = 0;
       !writer.ok() && writer.status().code() == StatusCode::kAlreadyExists && n <= kMaxNameSuffix;
       ++n) {
    options.filename_suffix = n == 0 ? pid : pid + "." + std::to_string(n);
    writer = EventWriter::Create(dir, options);
  }
  if (!writer.ok()) return writer.status();
  std::shared_ptr<EventWriter> shared(std::move(writer).value());
  writers_[key] = shared;
  return shared;
}

Status EventWriterCache::Clear(Env* env) {
  std::vector<std::shared_ptr<EventWriter>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = writers_.begin(); it != writers_.end();) {
      if (env == nullptr || it->first.first == env) {
        closing.push_back(std::move(it->second));
        it = writers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  Status first;
  for (const std::shared_ptr<EventWriter>& w : closing) {
    Status s = w->Close();
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

}  // namespace ckpt::estimator_internal
