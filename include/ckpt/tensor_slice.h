// TensorSlice: a hyper-rectangle of a tensor, one (start, length) extent per
// dimension, as used for partitioned variables.
//
// Text form (TensorFlow's): extents joined by ':', each "-" (the whole
// dimension) or "start,length", e.g. "0,5:-". A shape-and-slice spec, as
// SaveV2/RestoreV2 take it, prefixes the full shape: "10 4 0,5:-".
//
// Thread safety: a value type.
#ifndef CKPT_TENSOR_SLICE_H_
#define CKPT_TENSOR_SLICE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

class TensorSlice {
 public:
  static constexpr int64_t kFullExtent = -1;
  struct Extent {
    int64_t start = 0;
    int64_t length = kFullExtent;  // kFullExtent = the whole dimension
  };

  TensorSlice() = default;  // rank 0
  // The slice covering all of a tensor of rank `rank`.
  static TensorSlice Full(int rank);
  explicit TensorSlice(std::vector<Extent> extents) : extents_(std::move(extents)) {}

  // Parses "0,5:-". "" parses as rank 0 (full slice of a scalar).
  static Result<TensorSlice> Parse(std::string_view text);

  int rank() const { return static_cast<int>(extents_.size()); }
  const std::vector<Extent>& extents() const { return extents_; }
  bool IsFullAt(int d) const { return extents_[d].length == kFullExtent; }
  bool IsFull() const;

  // Start and length in dimension d of a tensor with `shape`.
  int64_t start(int d) const { return extents_[d].start; }
  int64_t length(int d, const TensorShape& shape) const {
    return IsFullAt(d) ? shape.dim(d) : extents_[d].length;
  }

  // Checks rank and bounds against the full shape.
  Status ValidateAgainst(const TensorShape& full_shape) const;
  // The shape of the slice's data within a tensor of `full_shape`.
  // REQUIRES: ValidateAgainst(full_shape).ok().
  TensorShape SliceShape(const TensorShape& full_shape) const;
  // True if this slice, within `full_shape`, covers every element.
  bool CoversAll(const TensorShape& full_shape) const;
  // The overlap of two slices of the same tensor; false if empty.
  bool Intersect(const TensorSlice& other, const TensorShape& full_shape,
                 TensorSlice* result) const;

  // "0,5:-"; the empty string for rank 0.
  std::string DebugString() const;

  friend bool operator==(const TensorSlice& a, const TensorSlice& b);

 private:
  std::vector<Extent> extents_;
};

// Parses a SaveV2/RestoreV2 shape-and-slice spec "d0 d1 ... <slice>".
// "" means "the whole tensor, shape unknown" and yields ok with empty outputs
// and *has_slice = false.
Status ParseShapeAndSlice(std::string_view spec, TensorShape* shape,
                          TensorSlice* slice, bool* has_slice);

// The bundle key under which one slice of `name` is stored (OrderedCode:
// 0, escaped name, rank, then signed start and length per dimension).
std::string EncodeTensorNameSlice(std::string_view name, const TensorSlice& slice);
// Inverse of EncodeTensorNameSlice.
Status DecodeTensorNameSlice(std::string_view key, std::string* name,
                             TensorSlice* slice);

// Copies the part of `src` (holding `src_slice` of a tensor of `full_shape`)
// that lies inside `dst_slice` into `dst` (holding `dst_slice`).
// REQUIRES: same fixed-size dtype; shapes consistent with the slices.
void CopySliceData(const Tensor& src, const TensorSlice& src_slice,
                   Tensor* dst, const TensorSlice& dst_slice,
                   const TensorShape& full_shape);

// The part `slice` of `full` (a whole tensor, shape full.shape()) as a new
// tensor of the slice's shape; `full` itself (shared storage) when the slice
// covers everything. Any dtype, strings included.
// REQUIRES: slice has full.shape()'s rank and lies inside it.
Tensor ExtractSlice(const Tensor& full, const TensorSlice& slice);

}  // namespace ckpt

#endif  // CKPT_TENSOR_SLICE_H_
