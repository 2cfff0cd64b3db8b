// Owned copies of a VarList's tensors, taken while training pauses and
// persisted later by a Saver over the copies: the snapshot of AsyncSaver
// (ckpt/async_saver.h) and of the dist module's AsyncDistributedSaver
// (ckpt/distributed.h). Internal to ckpt.
#ifndef CKPT_SRC_SAVER_SNAPSHOT_H_
#define CKPT_SRC_SAVER_SNAPSHOT_H_

#include <memory>
#include <string>
#include <vector>

#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::saver_internal {

class Snapshot {
 public:
  // Allocates one buffer per variable of `source` (its dtype and shape),
  // zero-filled, so every page is touched here and not in Take(). `source`'s
  // tensors must outlive the snapshot; REQUIRES: none is null (check the
  // list with Saver::Create first). Errors: what Tensor::Allocate returns.
  static Result<std::unique_ptr<Snapshot>> Create(VarList source);

  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // Copies every source tensor into its buffer: fixed-size bytes by memcpy,
  // split evenly over up to `threads` threads by bytes (the caller's thread
  // is one of them; a large tensor is cut in parts), strings by assignment
  // (reusing their capacity). InvalidArgument naming `who` and the variable
  // if a source tensor's dtype or shape is no longer the buffer's; then no
  // byte is copied. REQUIRES: threads >= 1.
  Status Take(int threads, const std::string& who);

  // The source list with every tensor pointing at its buffer: what a Saver
  // over the snapshot saves.
  const VarList& vars() const { return vars_; }
  const VarList& source() const { return source_; }

  // Bytes of the buffers (fixed-size dtypes; strings not counted).
  size_t bytes() const;

 private:
  Snapshot() = default;

  VarList source_;
  std::vector<Tensor> buffers_;  // buffers_[i] holds source_[i]; never resized
  VarList vars_;
};

}  // namespace ckpt::saver_internal

#endif  // CKPT_SRC_SAVER_SNAPSHOT_H_
