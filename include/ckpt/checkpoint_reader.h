// CheckpointReader: read any TensorFlow checkpoint by name, like
// tf.train.load_checkpoint.
//
// Open() takes a V2 prefix ("dir/model.ckpt-1000"), a V1 checkpoint file (or
// a sharded V1 pattern such as "dir/model-?????-of-00002"), or a directory, in
// which case the newest checkpoint named by its `checkpoint` state file is
// opened. A SavedModel directory D (holding saved_model.pb) opens its
// variables, D/variables/variables (as TF's warm start reads an export;
// tf.train.load_checkpoint itself does not), NotFound naming
// D/variables/variables.index if they are missing. Partitioned variables are
// listed and read under their full names.
//
// Thread safety: const methods may be called concurrently.
#ifndef CKPT_CHECKPOINT_READER_H_
#define CKPT_CHECKPOINT_READER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/types.h"

namespace ckpt {

struct CheckpointReaderOptions {
  // Not owned. REQUIRES: non-null.
  Env* env = Env::Posix();
  bool verify_checksums = true;
};

class CheckpointReader {
 public:
  enum class Format { kV1, kV2 };

  static Result<std::unique_ptr<CheckpointReader>> Open(
      const std::string& path, CheckpointReaderOptions options = {});
  virtual ~CheckpointReader() = default;

  // The checkpoint actually opened (after resolving a directory).
  virtual const std::string& prefix() const = 0;
  virtual Format format() const = 0;

  // Variables in bytewise name order; slice entries of partitioned variables
  // are folded into their full variable.
  virtual const std::vector<VariableInfo>& variables() const = 0;
  virtual bool HasTensor(std::string_view name) const = 0;
  // NotFound for an unknown name, worded as TensorFlow words it: "Key <name>
  // not found in checkpoint" (V2) or "<name> not found in checkpoint file" (V1).
  virtual Result<Tensor> GetTensor(std::string_view name) const = 0;
  // GetTensor of each of `names` (repeats allowed), in their order; every
  // name is looked up before anything is read (GetTensor's NotFound), and on
  // any error nothing is returned. A V2 checkpoint reads them as one batch
  // (BundleReader::ReadMany): the fastest way to load many tensors into new
  // memory.
  virtual Result<std::vector<Tensor>> GetTensors(const std::vector<std::string_view>& names) const;
  // TensorFlow's listing, one "<name> (<DT_NAME>) <shape>" line per entry
  // (names through EscapeForDisplay, ckpt/escape.h).
  virtual std::string DebugString() const = 0;
  // The bundle behind a V2 checkpoint, for reads into caller tensors
  // (BundleReader::ReadManyInto); null for V1. Lives as long as this reader.
  virtual const BundleReader* bundle() const { return nullptr; }
};

}  // namespace ckpt

#endif  // CKPT_CHECKPOINT_READER_H_
