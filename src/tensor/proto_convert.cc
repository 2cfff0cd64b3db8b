#include "tensor/proto_convert.h"

namespace ckpt {

void ShapeToProto(const TensorShape& shape, tensorflow::TensorShapeProto* proto) {
  proto->Clear();
  for (int64_t d : shape.dims()) proto->add_dim()->set_size(d);
}

Result<TensorShape> ShapeFromProto(const tensorflow::TensorShapeProto& proto) {
  if (proto.unknown_rank()) return InvalidArgumentError("shape has unknown rank");
  if (proto.dim_size() > kMaxStoredRank) {
    return InvalidArgumentError("rank " + std::to_string(proto.dim_size()) +
                                " exceeds the limit of " + std::to_string(kMaxStoredRank) +
                                " dimensions");
  }
  std::vector<int64_t> dims;
  dims.reserve(proto.dim_size());
  for (const auto& d : proto.dim()) dims.push_back(d.size());
  return TensorShape::Make(std::move(dims));
}

void SliceToProto(const TensorSlice& slice, tensorflow::TensorSliceProto* proto) {
  proto->Clear();
  for (const auto& e : slice.extents()) {
    auto* pe = proto->add_extent();
    if (e.length != TensorSlice::kFullExtent) {
      pe->set_start(e.start);
      pe->set_length(e.length);
    }
  }
}

Result<TensorSlice> SliceFromProto(const tensorflow::TensorSliceProto& proto) {
  std::vector<TensorSlice::Extent> extents;
  for (const auto& pe : proto.extent()) {
    TensorSlice::Extent e;
    if (pe.has_length_case() == tensorflow::TensorSliceProto::Extent::kLength) {
      e.start = pe.start();
      e.length = pe.length();
      if (e.start < 0 || e.length < 0) {
        return InvalidArgumentError("slice extent has negative start or length");
      }
    }
    extents.push_back(e);
  }
  return TensorSlice(std::move(extents));
}

}  // namespace ckpt
