// V1Reader: reads TensorFlow's legacy V1 checkpoints: one table file per
// shard (or a single file) whose key "" holds a SavedTensorSlices{meta}
// listing every tensor and its slices, and whose other keys (encoded name +
// slice, see EncodeTensorNameSlice) hold SavedTensorSlices{data} with the
// values in a TensorProto.
//
// Thread safety: const methods may be called concurrently.
#ifndef CKPT_SRC_BUNDLE_V1_READER_H_
#define CKPT_SRC_BUNDLE_V1_READER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/bundle_reader.h"
#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

class V1Reader {
 public:
  // `pattern` is a file name or a glob over base names ('?' and '*'), such as
  // "dir/model-?????-of-00002". NotFound if nothing matches; DataLoss if a
  // matching file is not a V1 checkpoint.
  static Result<std::unique_ptr<V1Reader>> Open(Env* env, const std::string& pattern);
  ~V1Reader();

  // Sorted by name.
  const std::vector<VariableInfo>& variables() const;
  bool Contains(std::string_view name) const;
  // NotFound "<name> not found in checkpoint file".
  Result<Tensor> Read(std::string_view name) const;
  // "<name> (<DT_NAME>) <shape>" per tensor, plus ", <k> slices" when k > 1
  // (names through EscapeForDisplay).
  std::string DebugString() const;

 private:
  struct Impl;
  explicit V1Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ckpt

#endif  // CKPT_SRC_BUNDLE_V1_READER_H_
