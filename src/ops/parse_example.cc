// ParseExampleV2 and ParseExample (V1): serialized tf.Example protos to dense
// tensors, what the tf.Example serving receiver of an exported SavedModel
// runs (tf.io.parse_example with FixedLenFeatures). Dense features only:
// sparse and ragged keys are Unimplemented. Each example is parsed with the
// generated tensorflow::Example, so bytes TF's hand-written fast parser
// happens to tolerate are refused here: a truncated unknown field, and a
// feature key that is not UTF-8 (feature.proto's map key is a proto3
// string, which protobuf checks; TF's parser takes any bytes).
// Error messages are TF's ("Name: <unknown>, Key: x, Index: 0.  Data types
// don't match. ..."), Index being the example's position in the batch.
#include <algorithm>
#include <string>
#include <vector>

#include "ckpt/escape.h"
#include "ops/kernel_util.h"
#include "ops/kernels.h"
#include "tensorflow/core/example/example.pb.h"

namespace ckpt::ops {
namespace {

struct DenseSpec {
  std::string key;
  DataType dtype;
  TensorShape shape;
  const Tensor* default_value;  // no elements: the feature is required
};

// The inputs every version reduces to.
struct ParseRequest {
  const Tensor* serialized = nullptr;
  const Tensor* names = nullptr;
  std::vector<DenseSpec> dense;
};

const char* ListName(tensorflow::Feature::KindCase kind) {
  switch (kind) {
    case tensorflow::Feature::kFloatList:
      return "float";
    case tensorflow::Feature::kInt64List:
      return "int64";
    default:
      return "string";
  }
}

tensorflow::Feature::KindCase KindOf(DataType dtype) {
  if (dtype == DataType::kFloat) return tensorflow::Feature::kFloatList;
  if (dtype == DataType::kInt64) return tensorflow::Feature::kInt64List;
  return tensorflow::Feature::kBytesList;
}

int ValueCount(const tensorflow::Feature& f) {
  switch (f.kind_case()) {
    case tensorflow::Feature::kFloatList:
      return f.float_list().value_size();
    case tensorflow::Feature::kInt64List:
      return f.int64_list().value_size();
    default:
      return f.bytes_list().value_size();
  }
}

// Copies the feature's values to elements [at, at + count) of *out.
void CopyValues(const tensorflow::Feature& f, int64_t at, Tensor* out) {
  switch (f.kind_case()) {
    case tensorflow::Feature::kFloatList:
      std::copy(f.float_list().value().begin(), f.float_list().value().end(),
                out->mutable_flat<float>() + at);
      break;
    case tensorflow::Feature::kInt64List:
      std::copy(f.int64_list().value().begin(), f.int64_list().value().end(),
                out->mutable_flat<int64_t>() + at);
      break;
    default:
      std::copy(f.bytes_list().value().begin(), f.bytes_list().value().end(),
                out->mutable_strings()->begin() + at);
      break;
  }
}

// The checks of TF's ParseExample attrs and inputs that do not depend on
// the examples: dtypes, defaults of the feature's shape (or empty), names of
// the batch's size (or empty).
Status CheckRequest(const KernelContext& ctx, const ParseRequest& r) {
  if (r.serialized->dtype() != DataType::kString || r.serialized->shape().rank() > 1) {
    return InvalidArg(ctx, "Expected serialized to be a scalar or vector of strings, got " +
                               std::string(DataTypeName(r.serialized->dtype())) + " " +
                               r.serialized->shape().DebugString());
  }
  if (r.names->dtype() != DataType::kString) {
    return UnsupportedDtype(ctx, r.names->dtype(), "string (names)");
  }
  if (r.names->num_elements() > 0 && r.names->num_elements() != r.serialized->num_elements()) {
    return InvalidArg(ctx, "Expected len(names) == len(serialized), but got: " +
                               std::to_string(r.names->num_elements()) + " vs. " +
                               std::to_string(r.serialized->num_elements()));
  }
  for (size_t d = 0; d < r.dense.size(); ++d) {
    const DenseSpec& spec = r.dense[d];
    const Tensor& def = *spec.default_value;
    if (def.dtype() != spec.dtype) {
      return InvalidArg(ctx, "dense_defaults[" + std::to_string(d) + "] (key " + spec.key +
                                 ") has dtype " + std::string(DataTypeName(def.dtype())) +
                                 ", expected " + std::string(DataTypeName(spec.dtype)));
    }
    if (def.num_elements() > 0 && def.shape().dims() != spec.shape.dims()) {
      return InvalidArg(ctx, "def_value[" + std::to_string(d) +
                                 "].shape() == " + def.shape().DebugString() +
                                 " is not compatible with dense_shapes_[" + std::to_string(d) +
                                 "] == " + spec.shape.DebugString() + " (key " + spec.key + ")");
    }
  }
  return Status::OK();
}

// Fills example i's slice of every dense output.
Status ParseOne(const KernelContext& ctx, const ParseRequest& r, int64_t i,
                std::vector<Tensor>* outputs) {
  const std::string& bytes = r.serialized->strings()[i];
  tensorflow::Example example;
  if (!example.ParseFromString(bytes)) {
    return InvalidArg(ctx, "Could not parse example input, value: '" + EscapeForDisplay(bytes) +
                               "' (serialized[" + std::to_string(i) + "])");
  }
  const std::string name = r.names->num_elements() > 0 ? r.names->strings()[i] : "<unknown>";
  const auto& features = example.features().feature();
  for (size_t d = 0; d < r.dense.size(); ++d) {
    const DenseSpec& spec = r.dense[d];
    const int64_t count = spec.shape.num_elements();
    Tensor* out = &(*outputs)[d];
    auto it = features.find(spec.key);
    // A feature with no list set counts as missing, as in TF.
    if (it == features.end() || it->second.kind_case() == tensorflow::Feature::KIND_NOT_SET) {
      if (spec.default_value->num_elements() == 0) {
        return InvalidArg(ctx, "Name: " + name + ", Feature: " + spec.key +
                                   " (data type: " + std::string(DataTypeName(spec.dtype)) +
                                   ") is required but could not be found.");
      }
      CopyElements(*spec.default_value, 0, out, i * count, count);
      continue;
    }
    const tensorflow::Feature& f = it->second;
    auto where = [&] {
      return "Name: " + name + ", Key: " + spec.key + ", Index: " + std::to_string(i) + ".  ";
    };
    if (f.kind_case() != KindOf(spec.dtype)) {
      return InvalidArg(ctx, where() +
                                 "Data types don't match. Data type: " + ListName(f.kind_case()) +
                                 " but expected type: " + std::string(DataTypeName(spec.dtype)));
    }
    if (ValueCount(f) != count) {
      // TF names a bytes_list's values "bytes" here, but "string" above.
      const char* what =
          f.kind_case() == tensorflow::Feature::kBytesList ? "bytes" : ListName(f.kind_case());
      return InvalidArg(ctx, where() + "Number of " + what + " values != expected.  Values size: " +
                                 std::to_string(ValueCount(f)) +
                                 " but output shape: " + spec.shape.DebugString());
    }
    CopyValues(f, i * count, out);
  }
  return Status::OK();
}

Status RunParse(KernelContext* ctx, const ParseRequest& r) {
  CKPT_RETURN_IF_ERROR(CheckRequest(*ctx, r));
  const bool batched = r.serialized->shape().rank() == 1;
  const int64_t batch = r.serialized->num_elements();
  std::vector<Tensor> outputs;
  for (const DenseSpec& spec : r.dense) {
    std::vector<int64_t> dims = spec.shape.dims();
    if (batched) dims.insert(dims.begin(), batch);
    CKPT_ASSIGN_OR_RETURN(Tensor t, AllocateOutput(*ctx, spec.dtype, TensorShape(dims)));
    outputs.push_back(std::move(t));
  }
  for (int64_t i = 0; i < batch; ++i) CKPT_RETURN_IF_ERROR(ParseOne(*ctx, r, i, &outputs));
  ctx->outputs = std::move(outputs);
  return Status::OK();
}

// Tdense and dense_shapes, one per dense key; InvalidArgument if they
// disagree with the number of keys or a shape is not fully known.
Status ReadDenseAttrs(const KernelContext& ctx, const std::vector<std::string>& keys,
                      const std::vector<const Tensor*>& defaults, ParseRequest* r) {
  const auto& attrs = ctx.node->attr();
  auto types = attrs.find("Tdense");
  auto shapes = attrs.find("dense_shapes");
  const int n = static_cast<int>(keys.size());
  if (types == attrs.end() || shapes == attrs.end() || types->second.list().type_size() != n ||
      shapes->second.list().shape_size() != n || static_cast<int>(defaults.size()) != n) {
    return InvalidArg(ctx,
                      "Expected Tdense, dense_shapes and dense_defaults to have one entry "
                      "per dense key (" +
                          std::to_string(n) + ")");
  }
  for (int d = 0; d < n; ++d) {
    DenseSpec spec{keys[d], static_cast<DataType>(types->second.list().type(d)), TensorShape(),
                   defaults[d]};
    if (spec.dtype != DataType::kFloat && spec.dtype != DataType::kInt64 &&
        spec.dtype != DataType::kString) {
      return UnsupportedDtype(ctx, spec.dtype, "float, int64, string");
    }
    const auto& proto = shapes->second.list().shape(d);
    std::vector<int64_t> dims;
    for (const auto& dim : proto.dim()) dims.push_back(dim.size());
    auto shape = TensorShape::Make(dims);
    if (proto.unknown_rank() || !shape.ok()) {
      return NodeError(
          ctx, StatusCode::kUnimplemented,
          "dense_shapes[" + std::to_string(d) + "] (key " + keys[d] +
              ") is not fully defined; variable-length dense features are not supported");
    }
    spec.shape = *shape;
    r->dense.push_back(std::move(spec));
  }
  return Status::OK();
}

Status UnimplementedKeys(const KernelContext& ctx, const char* kind,
                         const std::vector<std::string>& keys) {
  std::string list;
  for (const std::string& k : keys) list += (list.empty() ? "" : ", ") + k;
  return NodeError(ctx, StatusCode::kUnimplemented,
                   std::string("ckpt parses dense features only; ") + kind + " keys: " + list);
}

// The strings of a key input (a string vector, or a scalar in V1).
Result<std::vector<std::string>> Keys(const KernelContext& ctx, const Tensor& t,
                                      std::string_view what) {
  if (t.dtype() != DataType::kString || t.shape().rank() > 1) {
    return InvalidArg(ctx, std::string(what) + " must be a string scalar or vector, got " +
                               std::string(DataTypeName(t.dtype())) + " " +
                               t.shape().DebugString());
  }
  return t.strings();
}

}  // namespace

// ParseExampleV2(serialized, names, sparse_keys, dense_keys, ragged_keys,
// dense_defaults...).
Status ParseExampleV2(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 5, /*exact=*/false));
  CKPT_ASSIGN_OR_RETURN(auto sparse, Keys(*ctx, ctx->inputs[2], "sparse_keys"));
  CKPT_ASSIGN_OR_RETURN(auto dense, Keys(*ctx, ctx->inputs[3], "dense_keys"));
  CKPT_ASSIGN_OR_RETURN(auto ragged, Keys(*ctx, ctx->inputs[4], "ragged_keys"));
  if (!sparse.empty()) return UnimplementedKeys(*ctx, "sparse", sparse);
  if (!ragged.empty()) return UnimplementedKeys(*ctx, "ragged", ragged);
  ParseRequest r;
  r.serialized = &ctx->inputs[0];
  r.names = &ctx->inputs[1];
  std::vector<const Tensor*> defaults;
  for (size_t k = 5; k < ctx->inputs.size(); ++k) defaults.push_back(&ctx->inputs[k]);
  CKPT_RETURN_IF_ERROR(ReadDenseAttrs(*ctx, dense, defaults, &r));
  return RunParse(ctx, r);
}

// ParseExample(serialized, names, sparse_keys x Nsparse, dense_keys x Ndense,
// dense_defaults x Ndense): the keys are scalars.
Status ParseExampleV1(KernelContext* ctx) {
  const auto& attrs = ctx->node->attr();
  auto ns = attrs.find("Nsparse");
  auto nd = attrs.find("Ndense");
  const int64_t num_sparse = ns == attrs.end() ? 0 : ns->second.i();
  const int64_t num_dense = nd == attrs.end() ? 0 : nd->second.i();
  if (num_sparse < 0 || num_dense < 0 ||
      static_cast<int64_t>(ctx->inputs.size()) != 2 + num_sparse + 2 * num_dense) {
    return InvalidArg(*ctx, "Expected 2 + Nsparse + 2 * Ndense inputs (Nsparse " +
                                std::to_string(num_sparse) + ", Ndense " +
                                std::to_string(num_dense) + "), got " +
                                std::to_string(ctx->inputs.size()));
  }
  auto keys_from = [&](int64_t first, int64_t n,
                       std::string_view what) -> Result<std::vector<std::string>> {
    std::vector<std::string> keys;
    for (int64_t k = first; k < first + n; ++k) {
      CKPT_ASSIGN_OR_RETURN(auto one, Keys(*ctx, ctx->inputs[k], what));
      keys.insert(keys.end(), one.begin(), one.end());
    }
    return keys;
  };
  CKPT_ASSIGN_OR_RETURN(auto sparse, keys_from(2, num_sparse, "sparse_keys"));
  if (!sparse.empty()) return UnimplementedKeys(*ctx, "sparse", sparse);
  CKPT_ASSIGN_OR_RETURN(auto dense, keys_from(2 + num_sparse, num_dense, "dense_keys"));
  ParseRequest r;
  r.serialized = &ctx->inputs[0];
  r.names = &ctx->inputs[1];
  std::vector<const Tensor*> defaults;
  for (int64_t k = 2 + num_sparse + num_dense; k < static_cast<int64_t>(ctx->inputs.size()); ++k) {
    defaults.push_back(&ctx->inputs[k]);
  }
  CKPT_RETURN_IF_ERROR(ReadDenseAttrs(*ctx, dense, defaults, &r));
  return RunParse(ctx, r);
}

}  // namespace ckpt::ops
