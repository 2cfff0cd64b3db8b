// An in-memory Env for tests. It models durability the way a crash sees it:
// a file's bytes survive DropUnsyncedData() only up to its last Sync(), and a
// name (creation, rename, deletion) survives only once its directory was
// synced with SyncDir().
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>

#include "ckpt/env.h"

namespace ckpt {
namespace {

struct FileState {
  std::mutex mu;
  std::string data;
  size_t synced_size = 0;
};

std::string Normalize(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out.rfind("./", 0) == 0) out = out.substr(2);
  return out;
}

std::string DirOf(const std::string& path) {
  std::string d(Dirname(path));
  return d.empty() ? "." : d;
}

class StringRandomAccessFile : public RandomAccessFile {
 public:
  explicit StringRandomAccessFile(std::shared_ptr<const std::string> contents)
      : contents_(std::move(contents)) {}
  Result<std::string_view> Read(uint64_t offset, size_t n, char*) const override {
    if (offset >= contents_->size()) return std::string_view();
    n = std::min<uint64_t>(n, contents_->size() - offset);
    return std::string_view(contents_->data() + offset, n);
  }
  uint64_t Size() const override { return contents_->size(); }
  const char* MappedData() const override { return contents_->data(); }

 private:
  std::shared_ptr<const std::string> contents_;
};

class MemWritableFile : public WritableFile {
 public:
  explicit MemWritableFile(std::shared_ptr<FileState> f) : file_(std::move(f)) {}
  Status Append(std::string_view data) override {
    if (closed_) return FailedPreconditionError("Append to a closed file");
    std::lock_guard<std::mutex> lock(file_->mu);
    file_->data.append(data.data(), data.size());
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override {
    std::lock_guard<std::mutex> lock(file_->mu);
    file_->synced_size = file_->data.size();
    return Status::OK();
  }
  Status Close() override {
    closed_ = true;
    return Status::OK();
  }
  uint64_t Tell() const override {
    std::lock_guard<std::mutex> lock(file_->mu);
    return file_->data.size();
  }

 private:
  std::shared_ptr<FileState> file_;
  bool closed_ = false;
};

// The directories locked in one MemEnv, shared with its lock objects.
struct MemLocks {
  std::mutex mu;
  std::set<std::string> held;
};

class MemDirectoryLock : public DirectoryLock {
 public:
  MemDirectoryLock(std::shared_ptr<MemLocks> locks, std::string dir)
      : locks_(std::move(locks)), dir_(std::move(dir)) {}
  ~MemDirectoryLock() override {
    std::lock_guard<std::mutex> lock(locks_->mu);
    locks_->held.erase(dir_);
  }

 private:
  std::shared_ptr<MemLocks> locks_;
  std::string dir_;
};

class MemEnvImpl : public MemEnv {
 public:
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(Normalize(path));
    if (it == files_.end()) {
      if (dirs_.count(Normalize(path))) {
        return FailedPreconditionError("'" + path + "' is a directory, not a regular file");
      }
      return NotFoundError("Could not open '" + path + "': No such file or directory");
    }
    // A snapshot: later appends to the file do not change what this reads.
    std::lock_guard<std::mutex> flock(it->second->mu);
    return NewStringRandomAccessFile(std::make_shared<const std::string>(it->second->data));
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string p = Normalize(path);
    std::string dir = DirOf(p);
    if (dir != "." && dir != "/" && !dirs_.count(dir)) {
      return NotFoundError("Could not create '" + path + "': No such file or directory");
    }
    auto f = std::make_shared<FileState>();
    files_[p] = f;
    return std::unique_ptr<WritableFile>(new MemWritableFile(f));
  }
  bool FileExists(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string p = Normalize(path);
    return files_.count(p) > 0 || dirs_.count(p) > 0;
  }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(Normalize(path));
    if (it == files_.end()) return NotFoundError("Could not stat '" + path + "': No such file");
    std::lock_guard<std::mutex> flock(it->second->mu);
    return static_cast<uint64_t>(it->second->data.size());
  }
  Result<double> GetModificationTime(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!files_.count(Normalize(path))) {
      return NotFoundError("Could not stat '" + path + "': No such file");
    }
    return 0.0;
  }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string d = Normalize(dir);
    if (d != "." && d != "/" && !dirs_.count(d)) {
      return NotFoundError("Could not list directory '" + dir + "': No such directory");
    }
    std::set<std::string> names;
    auto collect = [&](const std::string& p) {
      if (DirOf(p) == d) names.insert(std::string(Basename(p)));
    };
    for (const auto& [p, f] : files_) collect(p);
    for (const auto& p : dirs_) collect(p);
    return std::vector<std::string>(names.begin(), names.end());
  }
  bool IsDirectory(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string p = Normalize(path);
    return p == "." || p == "/" || dirs_.count(p) > 0;
  }
  // No links in memory: resolving only normalises "." and ".." lexically,
  // relative to the root.
  Result<std::string> RealPath(const std::string& path) override {
    std::vector<std::string> parts;
    std::string p = Normalize(path);
    size_t i = 0;
    while (i <= p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string::npos) j = p.size();
      std::string c = p.substr(i, j - i);
      if (c == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!c.empty() && c != ".") {
        parts.push_back(c);
      }
      i = j + 1;
    }
    std::string out;
    for (const std::string& c : parts) out += "/" + c;
    std::string rel = out.empty() ? "." : out.substr(1);
    std::lock_guard<std::mutex> lock(mu_);
    auto exists = [&](const std::string& k) { return files_.count(k) || dirs_.count(k); };
    if (rel != "." && !exists(rel) && !exists("/" + rel)) {
      return NotFoundError("Could not resolve '" + path + "': No such file or directory");
    }
    return out.empty() ? std::string("/") : out;
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(Normalize(from));
    if (it == files_.end()) {
      return NotFoundError("Could not rename '" + from + "': No such file");
    }
    std::string to_dir = DirOf(Normalize(to));
    if (to_dir != "." && to_dir != "/" && !dirs_.count(to_dir)) {
      return NotFoundError("Could not rename '" + from + "' to '" + to +
                           "': No such directory");
    }
    auto f = it->second;
    files_.erase(it);
    files_[Normalize(to)] = f;
    return Status::OK();
  }
  Status DeleteFile(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (files_.erase(Normalize(path)) == 0) {
      return NotFoundError("Could not delete '" + path + "': No such file");
    }
    return Status::OK();
  }
  Status CreateDirs(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string d = Normalize(dir);
    while (!d.empty() && d != "." && d != "/") {
      dirs_.insert(d);
      durable_dirs_.insert(d);
      d = std::string(Dirname(d));
    }
    return Status::OK();
  }
  Status DeleteDir(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string d = Normalize(dir);
    if (!dirs_.count(d)) return NotFoundError("No such directory '" + dir + "'");
    for (const auto& [p, f] : files_) {
      if (DirOf(p) == d) return FailedPreconditionError("Directory not empty: '" + dir + "'");
    }
    for (const auto& p : dirs_) {
      if (DirOf(p) == d) return FailedPreconditionError("Directory not empty: '" + dir + "'");
    }
    dirs_.erase(d);
    durable_dirs_.erase(d);
    return Status::OK();
  }
  Status SyncDir(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string d = Normalize(dir);
    for (auto it = durable_.begin(); it != durable_.end();) {
      it = DirOf(it->first) == d ? durable_.erase(it) : std::next(it);
    }
    for (const auto& [p, f] : files_) {
      if (DirOf(p) == d) durable_[p] = f;
    }
    return Status::OK();
  }
  Result<std::unique_ptr<DirectoryLock>> TryLockDirectory(const std::string& dir) override {
    std::string d = Normalize(dir);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (d != "." && d != "/" && !dirs_.count(d)) {
        return NotFoundError("Could not open directory '" + dir + "': No such file or directory");
      }
    }
    std::lock_guard<std::mutex> lock(locks_->mu);
    if (!locks_->held.insert(d).second) {
      return FailedPreconditionError("Directory '" + dir + "' is locked by another writer");
    }
    return std::unique_ptr<DirectoryLock>(new MemDirectoryLock(locks_, d));
  }
  Result<std::string> DirectoryLockHolder(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(locks_->mu);
    return locks_->held.count(Normalize(dir)) ? std::string("locked") : std::string();
  }
  uint64_t Random64() override {
    std::lock_guard<std::mutex> lock(mu_);
    return rng_();
  }
  // A deterministic clock: each call advances one second.
  double NowSeconds() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_ += 1.0;
  }

  void DropUnsyncedData() override {
    std::lock_guard<std::mutex> lock(mu_);
    files_ = durable_;
    dirs_ = durable_dirs_;
    for (auto& [p, f] : files_) {
      std::lock_guard<std::mutex> flock(f->mu);
      f->data.resize(f->synced_size);
    }
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_;
  std::map<std::string, std::shared_ptr<FileState>> durable_;
  std::set<std::string> dirs_;
  std::set<std::string> durable_dirs_;
  std::mt19937_64 rng_{42};
  std::shared_ptr<MemLocks> locks_ = std::make_shared<MemLocks>();
  double now_ = 1.6e9;
};

}  // namespace

std::unique_ptr<RandomAccessFile> NewStringRandomAccessFile(
    std::shared_ptr<const std::string> contents) {
  return std::make_unique<StringRandomAccessFile>(std::move(contents));
}

std::unique_ptr<MemEnv> NewMemEnv() { return std::make_unique<MemEnvImpl>(); }

}  // namespace ckpt
