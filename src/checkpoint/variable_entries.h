// Which entries of a V2 bundle a CheckpointReader lists as variables
// (internal to ckpt; implemented in checkpoint_reader.cc): every entry but
// the per-slice entries of partitioned tensors. As TensorFlow's
// CheckpointReader does, exactly the keys that some entry's `slices` name are
// hidden, not every key starting with a 0 byte: a tensor may be named so.
// Lets a caller that needs one pass over the variables (the parameter count
// of `ckpt inspect`) skip building CheckpointReader::variables(), a copy of
// every name and shape.
#ifndef CKPT_SRC_CHECKPOINT_VARIABLE_ENTRIES_H_
#define CKPT_SRC_CHECKPOINT_VARIABLE_ENTRIES_H_

#include <functional>

#include "ckpt/bundle_reader.h"

namespace ckpt {

// Calls fn for every listed entry, in key order. Linear in the number of
// entries (a set of slice keys is built only if some entry is partitioned).
void ForEachVariableEntry(const BundleReader& reader,
                          const std::function<void(const BundleEntry&)>& fn);

}  // namespace ckpt

#endif  // CKPT_SRC_CHECKPOINT_VARIABLE_ENTRIES_H_
