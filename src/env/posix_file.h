// The POSIX file classes behind Env::Posix(): pread for random access, mmap
// on request, buffered write(2) for appends, fsync for durability (with early
// writeback through sync_file_range where Linux has it), and O_DIRECT writes
// of whole aligned blocks for NewDirectWritableFile. Files are opened for
// reading only if they are regular files (see posix_file.cc). The Env itself
// (directories, rename, locks) is posix_env.cc.
//
// Thread safety: the factories may be called from any thread. A
// RandomAccessFile they return may be read from several threads at once; a
// WritableFile is used from one thread.
#ifndef CKPT_SRC_ENV_POSIX_FILE_H_
#define CKPT_SRC_ENV_POSIX_FILE_H_

#include <memory>
#include <string>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt::posix {

// The Status for a failed system call: "<what> '<path>': <strerror(err)>",
// NotFound for ENOENT, PermissionDenied for EACCES/EPERM, ResourceExhausted
// for ENOSPC/EDQUOT, IoError otherwise.
Status ErrnoStatus(const std::string& what, const std::string& path, int err);

// Env::NewRandomAccessFile, NewMappedFile, NewWritableFile and
// NewDirectWritableFile of Env::Posix(); the contracts are in ckpt/env.h.
Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path);
Result<std::unique_ptr<RandomAccessFile>> NewMappedFile(const std::string& path);
Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path);
Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path);

}  // namespace ckpt::posix

#endif  // CKPT_SRC_ENV_POSIX_FILE_H_
