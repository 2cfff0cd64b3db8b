// Owned copies of a VarList's tensors, taken while training pauses and
// persisted later by a Saver over the copies: the snapshot of AsyncSaver
// (ckpt/async_saver.h) and of the dist module's AsyncDistributedSaver
// (ckpt/distributed.h). Internal to ckpt.
//
// A snapshot may stage only some variables (AsyncSaverOptions::
// staging_budget_bytes): the others are "direct", and a Saver over the
// snapshot reads them from the caller's tensors.
#ifndef CKPT_SRC_SAVER_SNAPSHOT_H_
#define CKPT_SRC_SAVER_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/saver.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt::saver_internal {

// Which variables of `vars` to stage within `budget_bytes` (< 0: all of
// them): first fit by decreasing byte size (ties in list order), so that the
// staged bytes fill the budget well. String tensors are always staged and
// not counted: their size changes from save to save, so no budget fixed at
// creation could bound them. REQUIRES: no tensor is null.
std::vector<bool> ChooseStaged(const VarList& vars, int64_t budget_bytes);

class Snapshot {
 public:
  // Allocates one buffer per staged variable of `source` (staged[i]; every
  // variable if `staged` is empty), of its dtype and shape, zero-filled, so
  // every page is touched here and not in Take(). `source`'s tensors must
  // outlive the snapshot; REQUIRES: none is null (check the list with
  // Saver::Create first), staged is empty or of source's size. Errors: what
  // Tensor::Allocate returns.
  static Result<std::unique_ptr<Snapshot>> Create(VarList source,
                                                  std::vector<bool> staged = {});

  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // Copies every staged source tensor into its buffer: fixed-size bytes by
  // memcpy, split evenly over up to `threads` threads by bytes (the caller's
  // thread is one of them; a large tensor is cut in parts), strings by
  // assignment (reusing their capacity). InvalidArgument naming `who` and the
  // variable if a source tensor's dtype or shape (staged or direct) is no
  // longer what it was at Create(); then no byte is copied.
  // REQUIRES: threads >= 1.
  Status Take(int threads, const std::string& who);

  // The source list with every staged tensor pointing at its buffer (direct
  // ones at the source's tensor): what a Saver over the snapshot saves.
  const VarList& vars() const { return vars_; }
  const VarList& source() const { return source_; }
  // Whether variable i of source() has a buffer.
  bool staged(size_t i) const { return buffer_of_[i] >= 0; }

  // Bytes of the buffers (fixed-size dtypes; strings not counted).
  size_t bytes() const;

 private:
  Snapshot() = default;

  VarList source_;
  std::vector<DataType> dtypes_;     // of source_[i] at Create()
  std::vector<TensorShape> shapes_;  // of source_[i] at Create()
  std::vector<int> buffer_of_;       // index into buffers_, -1 = direct
  std::vector<Tensor> buffers_;      // never resized after Create()
  VarList vars_;
};

}  // namespace ckpt::saver_internal

#endif  // CKPT_SRC_SAVER_SNAPSHOT_H_
