#include "dist/index_broadcast.h"

#include <utility>
#include <vector>

#include "checkpoint/resolve.h"
#include "ckpt/filenames.h"
#include "dist/wire.h"

namespace ckpt::dist {
namespace {

// Above this an index is read by every rank, as before: one message of more
// than 1 GiB (tens of millions of entries) is beyond what some transports
// carry (MPI counts in int), and it would cost every rank as much memory.
constexpr uint64_t kMaxIndexBytes = uint64_t{1} << 30;

// Rank 0's message: the index's path and bytes, or "" when every rank must
// open the checkpoint itself (and will meet any error itself).
std::string IndexMessage(Env* env, const std::string& save_path) {
  Result<ResolvedCheckpoint> found = ResolveCheckpointPath(env, save_path);
  if (!found.ok() || found->format != CheckpointReader::Format::kV2) return "";
  const std::string path = MetaFilename(found->prefix);
  Result<uint64_t> size = env->GetFileSize(path);
  if (!size.ok() || *size > kMaxIndexBytes) return "";
  Result<std::string> bytes = ReadFileToString(env, path);
  if (!bytes.ok()) return "";
  return EncodeFields({path, *bytes});
}

}  // namespace

Result<std::optional<ServedFile>> BroadcastIndex(Communicator& comm, Env* env,
                                                 const std::string& save_path) {
  const std::string mine = comm.rank() == 0 ? IndexMessage(env, save_path) : std::string();
  CKPT_ASSIGN_OR_RETURN(std::string message, comm.Broadcast(mine, 0));
  if (message.empty()) return std::optional<ServedFile>();
  std::vector<std::string> f;
  if (!DecodeFields(message, &f) || f.size() != 2 || f[0].empty()) {
    return InternalError("Restoring " + save_path + ": rank " + std::to_string(comm.rank()) +
                         " received a malformed index message from rank 0");
  }
  return std::optional<ServedFile>(
      ServedFile{std::move(f[0]), std::make_shared<const std::string>(std::move(f[1]))});
}

void IndexServingEnv::Serve(ServedFile file) {
  std::lock_guard<std::mutex> lock(mu_);
  served_ = std::move(file);
}

void IndexServingEnv::StopServing() {
  std::lock_guard<std::mutex> lock(mu_);
  served_.reset();
}

std::shared_ptr<const std::string> IndexServingEnv::Served(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  return served_ && served_->path == path ? served_->contents : nullptr;
}

Result<std::unique_ptr<RandomAccessFile>> IndexServingEnv::NewRandomAccessFile(
    const std::string& path) {
  if (auto contents = Served(path)) return NewStringRandomAccessFile(std::move(contents));
  return ForwardingEnv::NewRandomAccessFile(path);
}

Result<std::unique_ptr<RandomAccessFile>> IndexServingEnv::NewMappedFile(
    const std::string& path) {
  if (auto contents = Served(path)) return NewStringRandomAccessFile(std::move(contents));
  return ForwardingEnv::NewMappedFile(path);
}

bool IndexServingEnv::FileExists(const std::string& path) {
  return Served(path) != nullptr || ForwardingEnv::FileExists(path);
}

Result<uint64_t> IndexServingEnv::GetFileSize(const std::string& path) {
  if (auto contents = Served(path)) return static_cast<uint64_t>(contents->size());
  return ForwardingEnv::GetFileSize(path);
}

ScopedServe::ScopedServe(IndexServingEnv* env, std::optional<ServedFile> file) : env_(env) {
  if (file) env_->Serve(std::move(*file));
}

ScopedServe::~ScopedServe() { env_->StopServing(); }

}  // namespace ckpt::dist
