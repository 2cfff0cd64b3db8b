// Hooks into a Saver's own bundle writing, for AsyncSaver (ckpt/async_saver.h):
// it writes the variables it did not stage first and learns when each one is
// in the file, so that Save() can return as soon as the caller's tensors are
// no longer read. Internal to the saver module.
//
// The hooks act only when the Saver writes its bundles itself: with
// SaverOptions::bundle_writer set, the order is the writer's and `written`
// is never called.
#ifndef CKPT_SRC_SAVER_WRITE_HOOKS_H_
#define CKPT_SRC_SAVER_WRITE_HOOKS_H_

#include <functional>

#include "ckpt/saver.h"

namespace ckpt::saver_internal {

struct WriteHooks {
  // Variables for which this returns true come first in their bundle (in a
  // sharded save: in their device's bundle); within each group the order
  // stays the Saver's (by name). The index is sorted whatever the order.
  std::function<bool(const SaveableTensor&)> write_first;
  // Called once a variable's bytes are in the bundle's data file: its
  // BundleWriter::Add (or AddSlice) returned OK, which happens only after
  // the bytes were written or copied into the file's own buffer (the
  // WritableFile::Append contract, include/ckpt/env.h) and their checksum
  // was computed; the variable's tensor is not read again. Sharded saves
  // call it from their writer threads, possibly at the same time.
  std::function<void(const SaveableTensor&)> written;
};

// The Saver's friend that installs them.
struct SaverAccess {
  // Sets the hooks of `saver`'s later saves. REQUIRES: no Save in progress.
  static void SetWriteHooks(Saver& saver, WriteHooks hooks);
};

}  // namespace ckpt::saver_internal

#endif  // CKPT_SRC_SAVER_WRITE_HOOKS_H_
