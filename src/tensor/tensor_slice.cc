#include "ckpt/tensor_slice.h"

#include <charconv>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tensor/ordered_code.h"

namespace ckpt {
namespace {

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

}  // namespace

TensorSlice TensorSlice::Full(int rank) {
  return TensorSlice(std::vector<Extent>(static_cast<size_t>(rank)));
}

Result<TensorSlice> TensorSlice::Parse(std::string_view text) {
  std::vector<Extent> extents;
  if (text.empty()) return TensorSlice(extents);
  for (std::string_view item : Split(text, ':')) {
    Extent e;
    if (item != "-") {
      auto parts = Split(item, ',');
      if (parts.size() != 2 || !ParseInt64(parts[0], &e.start) ||
          !ParseInt64(parts[1], &e.length) || e.start < 0 || e.length < 0) {
        return InvalidArgumentError("Invalid tensor slice \"" + std::string(text) +
                                    "\": expected '-' or 'start,length' per dimension, got \"" +
                                    std::string(item) + "\"");
      }
    }
    extents.push_back(e);
  }
  return TensorSlice(std::move(extents));
}

bool TensorSlice::IsFull() const {
  for (const Extent& e : extents_) {
    if (e.length != kFullExtent) return false;
  }
  return true;
}

Status TensorSlice::ValidateAgainst(const TensorShape& full_shape) const {
  if (rank() != full_shape.rank()) {
    return InvalidArgumentError("Slice \"" + DebugString() + "\" has rank " +
                                std::to_string(rank()) + " but the tensor shape " +
                                full_shape.DebugString() + " has rank " +
                                std::to_string(full_shape.rank()));
  }
  for (int d = 0; d < rank(); ++d) {
    if (IsFullAt(d)) continue;
    const Extent& e = extents_[d];
    if (e.start < 0 || e.length < 0 || e.start > full_shape.dim(d) ||
        e.length > full_shape.dim(d) - e.start) {
      return InvalidArgumentError("Slice \"" + DebugString() + "\" is out of bounds for shape " +
                                  full_shape.DebugString() + " in dimension " +
                                  std::to_string(d));
    }
  }
  return Status::OK();
}

TensorShape TensorSlice::SliceShape(const TensorShape& full_shape) const {
  std::vector<int64_t> dims(static_cast<size_t>(rank()));
  for (int d = 0; d < rank(); ++d) dims[d] = length(d, full_shape);
  return TensorShape(std::move(dims));
}

bool TensorSlice::CoversAll(const TensorShape& full_shape) const {
  for (int d = 0; d < rank(); ++d) {
    if (!IsFullAt(d) && (start(d) != 0 || length(d, full_shape) != full_shape.dim(d))) {
      return false;
    }
  }
  return true;
}

bool TensorSlice::Intersect(const TensorSlice& other, const TensorShape& full_shape,
                            TensorSlice* result) const {
  std::vector<Extent> out(static_cast<size_t>(rank()));
  bool nonempty = true;
  for (int d = 0; d < rank(); ++d) {
    int64_t s = std::max(start(d), other.start(d));
    int64_t e = std::min(start(d) + length(d, full_shape),
                         other.start(d) + other.length(d, full_shape));
    if (e <= s) {
      nonempty = false;
      s = e = 0;
    }
    out[d].start = s;
    out[d].length = e - s;
  }
  if (result != nullptr) *result = TensorSlice(std::move(out));
  return nonempty;
}

std::string TensorSlice::DebugString() const {
  std::string out;
  for (int d = 0; d < rank(); ++d) {
    if (d > 0) out += ":";
    if (IsFullAt(d)) {
      out += "-";
    } else {
      out += std::to_string(extents_[d].start) + "," + std::to_string(extents_[d].length);
    }
  }
  return out;
}

bool operator==(const TensorSlice& a, const TensorSlice& b) {
  if (a.rank() != b.rank()) return false;
  for (int d = 0; d < a.rank(); ++d) {
    if (a.IsFullAt(d) != b.IsFullAt(d)) return false;
    if (!a.IsFullAt(d) && (a.extents_[d].start != b.extents_[d].start ||
                           a.extents_[d].length != b.extents_[d].length)) {
      return false;
    }
  }
  return true;
}

Status ParseShapeAndSlice(std::string_view spec, TensorShape* shape, TensorSlice* slice,
                          bool* has_slice) {
  *has_slice = false;
  *shape = TensorShape();
  *slice = TensorSlice();
  if (spec.empty()) return Status::OK();
  auto parts = Split(spec, ' ');
  if (parts.size() < 2) {
    return InvalidArgumentError("Invalid shape_and_slice spec \"" + std::string(spec) +
                                "\": expected \"<dim> ... <slice>\"");
  }
  std::vector<int64_t> dims;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    int64_t d;
    if (!ParseInt64(parts[i], &d) || d < 0) {
      return InvalidArgumentError("Invalid shape_and_slice spec \"" + std::string(spec) +
                                  "\": bad dimension \"" + std::string(parts[i]) + "\"");
    }
    dims.push_back(d);
  }
  CKPT_ASSIGN_OR_RETURN(*shape, TensorShape::Make(std::move(dims)));
  CKPT_ASSIGN_OR_RETURN(*slice, TensorSlice::Parse(parts.back()));
  CKPT_RETURN_IF_ERROR(slice->ValidateAgainst(*shape)
                           .WithContext("Invalid shape_and_slice spec \"" + std::string(spec) + "\""));
  *has_slice = true;
  return Status::OK();
}

std::string EncodeTensorNameSlice(std::string_view name, const TensorSlice& slice) {
  std::string key;
  ordered_code::WriteNumIncreasing(&key, 0);
  ordered_code::WriteString(&key, name);
  ordered_code::WriteNumIncreasing(&key, static_cast<uint64_t>(slice.rank()));
  for (const auto& e : slice.extents()) {
    ordered_code::WriteSignedNumIncreasing(&key, e.length == TensorSlice::kFullExtent ? 0 : e.start);
    ordered_code::WriteSignedNumIncreasing(&key, e.length);
  }
  return key;
}

Status DecodeTensorNameSlice(std::string_view key, std::string* name, TensorSlice* slice) {
  std::string_view src = key;
  uint64_t zero = 1, rank = 0;
  auto bad = [&](const char* what) {
    return DataLossError(std::string("Malformed tensor slice key (") + what + ")");
  };
  if (!ordered_code::ReadNumIncreasing(&src, &zero) || zero != 0) return bad("no leading 0");
  if (!ordered_code::ReadString(&src, name)) return bad("bad name");
  if (!ordered_code::ReadNumIncreasing(&src, &rank) || rank > 64) return bad("bad rank");
  std::vector<TensorSlice::Extent> extents;
  for (uint64_t d = 0; d < rank; ++d) {
    TensorSlice::Extent e;
    if (!ordered_code::ReadSignedNumIncreasing(&src, &e.start) ||
        !ordered_code::ReadSignedNumIncreasing(&src, &e.length)) {
      return bad("bad extent");
    }
    if (e.length < TensorSlice::kFullExtent || e.start < 0) return bad("negative extent");
    if (e.length == TensorSlice::kFullExtent) e.start = 0;
    extents.push_back(e);
  }
  if (!src.empty()) return bad("trailing bytes");
  *slice = TensorSlice(std::move(extents));
  return Status::OK();
}

void CopySliceData(const Tensor& src, const TensorSlice& src_slice, Tensor* dst,
                   const TensorSlice& dst_slice, const TensorShape& full_shape) {
  TensorSlice inter;
  if (!src_slice.Intersect(dst_slice, full_shape, &inter)) return;
  const int rank = full_shape.rank();
  const size_t elem = DataTypeSize(src.dtype());
  const TensorShape src_shape = src_slice.SliceShape(full_shape);
  const TensorShape dst_shape = dst_slice.SliceShape(full_shape);
  if (rank == 0) {
    std::memcpy(dst->mutable_data(), src.data(), elem);
    return;
  }
  // Row-major strides in elements.
  std::vector<int64_t> src_stride(rank, 1), dst_stride(rank, 1);
  for (int d = rank - 2; d >= 0; --d) {
    src_stride[d] = src_stride[d + 1] * src_shape.dim(d + 1);
    dst_stride[d] = dst_stride[d + 1] * dst_shape.dim(d + 1);
  }
  const int64_t run = inter.extents()[rank - 1].length;
  std::vector<int64_t> idx(rank, 0);  // position within the intersection
  while (true) {
    int64_t so = 0, doff = 0;
    for (int d = 0; d < rank; ++d) {
      int64_t g = inter.start(d) + idx[d];  // global coordinate
      so += (g - src_slice.start(d)) * src_stride[d];
      doff += (g - dst_slice.start(d)) * dst_stride[d];
    }
    std::memcpy(dst->mutable_data() + doff * elem, src.data() + so * elem, run * elem);
    int d = rank - 2;
    while (d >= 0) {
      if (++idx[d] < inter.extents()[d].length) break;
      idx[d] = 0;
      --d;
    }
    if (d < 0) break;
  }
}

Tensor ExtractSlice(const Tensor& full, const TensorSlice& slice) {
  const TensorShape& full_shape = full.shape();
  if (slice.CoversAll(full_shape)) return full;
  const TensorShape part_shape = slice.SliceShape(full_shape);
  if (IsFixedSize(full.dtype())) {
    Tensor out = Tensor::Allocate(full.dtype(), part_shape).value();
    CopySliceData(full, TensorSlice::Full(full_shape.rank()), &out, slice, full_shape);
    return out;
  }
  // Strings: walk the slice's elements in row-major order.
  std::vector<std::string> values;
  values.reserve(static_cast<size_t>(part_shape.num_elements()));
  const int rank = full_shape.rank();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t n = 0; n < part_shape.num_elements(); ++n) {
    int64_t flat = 0;
    for (int d = 0; d < rank; ++d) flat = flat * full_shape.dim(d) + slice.start(d) + idx[d];
    values.push_back(full.strings()[static_cast<size_t>(flat)]);
    for (int d = rank - 1; d >= 0; --d) {
      if (++idx[d] < part_shape.dim(d)) break;
      idx[d] = 0;
    }
  }
  return Tensor::FromStrings(part_shape, std::move(values)).value();
}

}  // namespace ckpt
