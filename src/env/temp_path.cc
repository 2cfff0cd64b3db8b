// TempPath and the temporary-name grammar: see temp_path.h.
#include "env/temp_path.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <set>

namespace ckpt {
namespace {

struct InFlight {
  std::mutex mu;
  std::multiset<std::string, std::less<>> names;  // base names
};

InFlight& Registry() {
  static InFlight* const registry = new InFlight();
  return *registry;
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

}  // namespace

TempPath::TempPath(Env* env, std::string_view final_path) {
  char suffix[64];
  std::snprintf(suffix, sizeof(suffix), "%" PRId64 ".%016" PRIx64, CurrentProcessId(),
                env->Random64());
  path_ = std::string(final_path) + std::string(kTempMarker) + suffix;
  InFlight& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.names.insert(std::string(Basename(path_)));
}

TempPath::~TempPath() { Release(); }

TempPath::TempPath(TempPath&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

TempPath& TempPath::operator=(TempPath&& other) noexcept {
  if (this != &other) {
    Release();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

void TempPath::Release() {
  if (path_.empty()) return;
  InFlight& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.names.find(Basename(path_));
  if (it != r.names.end()) r.names.erase(it);
  path_.clear();
}

std::optional<TempName> ParseTempName(std::string_view name) {
  const size_t marker = name.rfind(kTempMarker);
  if (marker == std::string_view::npos || marker == 0) return std::nullopt;
  std::string_view rest = name.substr(marker + kTempMarker.size());
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view pid = rest.substr(0, dot), random = rest.substr(dot + 1);
  if (pid.size() > 18 || !AllOf(pid, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  if (random.size() != 16 ||
      !AllOf(random, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  TempName out;
  out.final_name = std::string(name.substr(0, marker));
  for (char c : pid) out.pid = out.pid * 10 + (c - '0');
  return out;
}

bool TempNameInFlight(std::string_view name) {
  InFlight& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.names.find(name) != r.names.end();
}

int64_t CurrentProcessId() { return static_cast<int64_t>(getpid()); }

bool ProcessIsAlive(int64_t pid) {
  if (pid <= 0 || pid > INT32_MAX) return false;
  if (kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;
}

}  // namespace ckpt
