// The op registry (see op_defs.h): TensorFlow's OpDefs for the ops ckpt
// emits, and the checks of a node's inputs and attrs against its OpDef.
#include "graph/op_defs.h"

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <map>
#include <string_view>

namespace ckpt {
namespace {

// OpDefs as TensorFlow 2.21 registers them (docs stripped), one per line in
// protobuf text format. These are interface facts (names, types, defaults);
// tests compare them with TF's own registry and with the stripped_op_lists
// of TF-written saved_model.pb files.
constexpr const char* kOpDefs[] = {
    R"pb(name: "Add" input_arg { name: "x" type_attr: "T" } input_arg { name: "y" type_attr: "T" } output_arg { name: "z" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_BFLOAT16 type: DT_HALF type: DT_FLOAT type: DT_DOUBLE type: DT_UINT8 type: DT_INT8 type: DT_INT16 type: DT_INT32 type: DT_INT64 type: DT_COMPLEX64 type: DT_COMPLEX128 type: DT_STRING } } })pb",
    R"pb(name: "AddV2" input_arg { name: "x" type_attr: "T" } input_arg { name: "y" type_attr: "T" } output_arg { name: "z" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_BFLOAT16 type: DT_HALF type: DT_FLOAT type: DT_DOUBLE type: DT_UINT8 type: DT_UINT16 type: DT_UINT32 type: DT_UINT64 type: DT_INT8 type: DT_INT16 type: DT_INT32 type: DT_INT64 type: DT_COMPLEX64 type: DT_COMPLEX128 } } } is_aggregate: true is_commutative: true)pb",
    R"pb(name: "ArgMax" input_arg { name: "input" type_attr: "T" } input_arg { name: "dimension" type_attr: "Tidx" } output_arg { name: "output" type_attr: "output_type" } attr { name: "T" type: "type" allowed_values { list { type: DT_FLOAT type: DT_DOUBLE type: DT_INT32 type: DT_UINT8 type: DT_INT16 type: DT_INT8 type: DT_INT64 type: DT_BFLOAT16 type: DT_UINT16 type: DT_HALF type: DT_UINT32 type: DT_UINT64 type: DT_QINT8 type: DT_QUINT8 type: DT_QINT32 type: DT_QINT16 type: DT_QUINT16 type: DT_BOOL } } } attr { name: "Tidx" type: "type" default_value { type: DT_INT32 } allowed_values { list { type: DT_INT16 type: DT_INT32 type: DT_INT64 } } } attr { name: "output_type" type: "type" default_value { type: DT_INT64 } allowed_values { list { type: DT_INT16 type: DT_UINT16 type: DT_INT32 type: DT_INT64 } } })pb",
    R"pb(name: "AsString" input_arg { name: "input" type_attr: "T" } output_arg { name: "output" type: DT_STRING } attr { name: "T" type: "type" allowed_values { list { type: DT_FLOAT type: DT_DOUBLE type: DT_INT32 type: DT_UINT8 type: DT_INT16 type: DT_INT8 type: DT_INT64 type: DT_BFLOAT16 type: DT_UINT16 type: DT_HALF type: DT_UINT32 type: DT_UINT64 type: DT_COMPLEX64 type: DT_COMPLEX128 type: DT_BOOL type: DT_VARIANT type: DT_STRING } } } attr { name: "precision" type: "int" default_value { i: -1 } } attr { name: "scientific" type: "bool" default_value { b: false } } attr { name: "shortest" type: "bool" default_value { b: false } } attr { name: "width" type: "int" default_value { i: -1 } } attr { name: "fill" type: "string" default_value { s: "" } })pb",
    R"pb(name: "Assign" input_arg { name: "ref" type_attr: "T" is_ref: true } input_arg { name: "value" type_attr: "T" } output_arg { name: "output_ref" type_attr: "T" is_ref: true } attr { name: "T" type: "type" } attr { name: "validate_shape" type: "bool" default_value { b: true } } attr { name: "use_locking" type: "bool" default_value { b: true } } allows_uninitialized_input: true)pb",
    R"pb(name: "BiasAdd" input_arg { name: "value" type_attr: "T" } input_arg { name: "bias" type_attr: "T" } output_arg { name: "output" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_FLOAT type: DT_DOUBLE type: DT_INT32 type: DT_UINT8 type: DT_INT16 type: DT_INT8 type: DT_COMPLEX64 type: DT_INT64 type: DT_QINT8 type: DT_QUINT8 type: DT_QINT32 type: DT_BFLOAT16 type: DT_QINT16 type: DT_QUINT16 type: DT_UINT16 type: DT_COMPLEX128 type: DT_HALF type: DT_UINT32 type: DT_UINT64 } } } attr { name: "data_format" type: "string" default_value { s: "NHWC" } allowed_values { list { s: "NHWC" s: "NCHW" } } })pb",
    R"pb(name: "Cast" input_arg { name: "x" type_attr: "SrcT" } output_arg { name: "y" type_attr: "DstT" } attr { name: "SrcT" type: "type" } attr { name: "DstT" type: "type" } attr { name: "Truncate" type: "bool" default_value { b: false } })pb",
    R"pb(name: "ConcatV2" input_arg { name: "values" type_attr: "T" number_attr: "N" } input_arg { name: "axis" type_attr: "Tidx" } output_arg { name: "output" type_attr: "T" } attr { name: "N" type: "int" has_minimum: true minimum: 2 } attr { name: "T" type: "type" } attr { name: "Tidx" type: "type" default_value { type: DT_INT32 } allowed_values { list { type: DT_INT32 type: DT_INT64 } } })pb",
    R"pb(name: "Const" output_arg { name: "output" type_attr: "dtype" } attr { name: "value" type: "tensor" } attr { name: "dtype" type: "type" })pb",
    R"pb(name: "Elu" input_arg { name: "features" type_attr: "T" } output_arg { name: "activations" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_HALF type: DT_BFLOAT16 type: DT_FLOAT type: DT_DOUBLE } } })pb",
    R"pb(name: "ExpandDims" input_arg { name: "input" type_attr: "T" } input_arg { name: "dim" type_attr: "Tdim" } output_arg { name: "output" type_attr: "T" } attr { name: "T" type: "type" } attr { name: "Tdim" type: "type" default_value { type: DT_INT32 } allowed_values { list { type: DT_INT32 type: DT_INT64 } } })pb",
    R"pb(name: "GatherV2" input_arg { name: "params" type_attr: "Tparams" } input_arg { name: "indices" type_attr: "Tindices" } input_arg { name: "axis" type_attr: "Taxis" } output_arg { name: "output" type_attr: "Tparams" } attr { name: "batch_dims" type: "int" default_value { i: 0 } } attr { name: "Tparams" type: "type" } attr { name: "Tindices" type: "type" allowed_values { list { type: DT_INT16 type: DT_INT32 type: DT_INT64 } } } attr { name: "Taxis" type: "type" allowed_values { list { type: DT_INT32 type: DT_INT64 } } })pb",
    R"pb(name: "Identity" input_arg { name: "input" type_attr: "T" } output_arg { name: "output" type_attr: "T" } attr { name: "T" type: "type" })pb",
    R"pb(name: "LeakyRelu" input_arg { name: "features" type_attr: "T" } output_arg { name: "activations" type_attr: "T" } attr { name: "alpha" type: "float" default_value { f: 0.2 } } attr { name: "T" type: "type" default_value { type: DT_FLOAT } allowed_values { list { type: DT_HALF type: DT_BFLOAT16 type: DT_FLOAT type: DT_DOUBLE } } })pb",
    R"pb(name: "MatMul" input_arg { name: "a" type_attr: "T" } input_arg { name: "b" type_attr: "T" } output_arg { name: "product" type_attr: "T" } attr { name: "transpose_a" type: "bool" default_value { b: false } } attr { name: "transpose_b" type: "bool" default_value { b: false } } attr { name: "T" type: "type" allowed_values { list { type: DT_BFLOAT16 type: DT_HALF type: DT_FLOAT type: DT_DOUBLE type: DT_INT32 type: DT_INT64 type: DT_UINT8 type: DT_UINT16 type: DT_UINT32 type: DT_UINT64 type: DT_COMPLEX64 type: DT_COMPLEX128 } } } attr { name: "grad_a" type: "bool" default_value { b: false } } attr { name: "grad_b" type: "bool" default_value { b: false } })pb",
    R"pb(name: "MergeV2Checkpoints" input_arg { name: "checkpoint_prefixes" type: DT_STRING } input_arg { name: "destination_prefix" type: DT_STRING } attr { name: "delete_old_dirs" type: "bool" default_value { b: true } } attr { name: "allow_missing_files" type: "bool" default_value { b: false } } is_stateful: true)pb",
    R"pb(name: "Mul" input_arg { name: "x" type_attr: "T" } input_arg { name: "y" type_attr: "T" } output_arg { name: "z" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_BFLOAT16 type: DT_HALF type: DT_FLOAT type: DT_DOUBLE type: DT_UINT8 type: DT_INT8 type: DT_UINT16 type: DT_INT16 type: DT_INT32 type: DT_UINT32 type: DT_UINT64 type: DT_INT64 type: DT_COMPLEX64 type: DT_COMPLEX128 } } } is_commutative: true)pb",
    R"pb(name: "NoOp")pb",
    R"pb(name: "Pack" input_arg { name: "values" type_attr: "T" number_attr: "N" } output_arg { name: "output" type_attr: "T" } attr { name: "N" type: "int" has_minimum: true minimum: 1 } attr { name: "T" type: "type" } attr { name: "axis" type: "int" default_value { i: 0 } })pb",
    R"pb(name: "ParseExample" input_arg { name: "serialized" type: DT_STRING } input_arg { name: "names" type: DT_STRING } input_arg { name: "sparse_keys" type: DT_STRING number_attr: "Nsparse" } input_arg { name: "dense_keys" type: DT_STRING number_attr: "Ndense" } input_arg { name: "dense_defaults" type_list_attr: "Tdense" } output_arg { name: "sparse_indices" type: DT_INT64 number_attr: "Nsparse" } output_arg { name: "sparse_values" type_list_attr: "sparse_types" } output_arg { name: "sparse_shapes" type: DT_INT64 number_attr: "Nsparse" } output_arg { name: "dense_values" type_list_attr: "Tdense" } attr { name: "Nsparse" type: "int" has_minimum: true } attr { name: "Ndense" type: "int" has_minimum: true } attr { name: "sparse_types" type: "list(type)" has_minimum: true allowed_values { list { type: DT_FLOAT type: DT_INT64 type: DT_STRING } } } attr { name: "Tdense" type: "list(type)" has_minimum: true allowed_values { list { type: DT_FLOAT type: DT_INT64 type: DT_STRING } } } attr { name: "dense_shapes" type: "list(shape)" has_minimum: true })pb",
    R"pb(name: "ParseExampleV2" input_arg { name: "serialized" type: DT_STRING } input_arg { name: "names" type: DT_STRING } input_arg { name: "sparse_keys" type: DT_STRING } input_arg { name: "dense_keys" type: DT_STRING } input_arg { name: "ragged_keys" type: DT_STRING } input_arg { name: "dense_defaults" type_list_attr: "Tdense" } output_arg { name: "sparse_indices" type: DT_INT64 number_attr: "num_sparse" } output_arg { name: "sparse_values" type_list_attr: "sparse_types" } output_arg { name: "sparse_shapes" type: DT_INT64 number_attr: "num_sparse" } output_arg { name: "dense_values" type_list_attr: "Tdense" } output_arg { name: "ragged_values" type_list_attr: "ragged_value_types" } output_arg { name: "ragged_row_splits" type_list_attr: "ragged_split_types" } attr { name: "Tdense" type: "list(type)" has_minimum: true allowed_values { list { type: DT_FLOAT type: DT_INT64 type: DT_STRING } } } attr { name: "num_sparse" type: "int" has_minimum: true } attr { name: "sparse_types" type: "list(type)" has_minimum: true allowed_values { list { type: DT_FLOAT type: DT_INT64 type: DT_STRING } } } attr { name: "ragged_value_types" type: "list(type)" has_minimum: true allowed_values { list { type: DT_FLOAT type: DT_INT64 type: DT_STRING } } } attr { name: "ragged_split_types" type: "list(type)" has_minimum: true allowed_values { list { type: DT_INT32 type: DT_INT64 } } } attr { name: "dense_shapes" type: "list(shape)" has_minimum: true })pb",
    R"pb(name: "Placeholder" output_arg { name: "output" type_attr: "dtype" } attr { name: "dtype" type: "type" } attr { name: "shape" type: "shape" default_value { shape { unknown_rank: true } } })pb",
    R"pb(name: "PlaceholderWithDefault" input_arg { name: "input" type_attr: "dtype" } output_arg { name: "output" type_attr: "dtype" } attr { name: "dtype" type: "type" } attr { name: "shape" type: "shape" })pb",
    R"pb(name: "Relu" input_arg { name: "features" type_attr: "T" } output_arg { name: "activations" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_FLOAT type: DT_DOUBLE type: DT_INT32 type: DT_UINT8 type: DT_INT16 type: DT_INT8 type: DT_INT64 type: DT_BFLOAT16 type: DT_UINT16 type: DT_HALF type: DT_UINT32 type: DT_UINT64 type: DT_QINT8 } } })pb",
    R"pb(name: "Relu6" input_arg { name: "features" type_attr: "T" } output_arg { name: "activations" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_FLOAT type: DT_DOUBLE type: DT_INT32 type: DT_UINT8 type: DT_INT16 type: DT_INT8 type: DT_INT64 type: DT_BFLOAT16 type: DT_UINT16 type: DT_HALF type: DT_UINT32 type: DT_UINT64 } } })pb",
    R"pb(name: "Reshape" input_arg { name: "tensor" type_attr: "T" } input_arg { name: "shape" type_attr: "Tshape" } output_arg { name: "output" type_attr: "T" } attr { name: "T" type: "type" } attr { name: "Tshape" type: "type" default_value { type: DT_INT32 } allowed_values { list { type: DT_INT32 type: DT_INT64 } } })pb",
    R"pb(name: "RestoreV2" input_arg { name: "prefix" type: DT_STRING } input_arg { name: "tensor_names" type: DT_STRING } input_arg { name: "shape_and_slices" type: DT_STRING } output_arg { name: "tensors" type_list_attr: "dtypes" } attr { name: "dtypes" type: "list(type)" has_minimum: true minimum: 1 } is_stateful: true)pb",
    R"pb(name: "Rsqrt" input_arg { name: "x" type_attr: "T" } output_arg { name: "y" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_BFLOAT16 type: DT_HALF type: DT_FLOAT type: DT_DOUBLE type: DT_COMPLEX64 type: DT_COMPLEX128 } } })pb",
    R"pb(name: "SaveV2" input_arg { name: "prefix" type: DT_STRING } input_arg { name: "tensor_names" type: DT_STRING } input_arg { name: "shape_and_slices" type: DT_STRING } input_arg { name: "tensors" type_list_attr: "dtypes" } attr { name: "dtypes" type: "list(type)" has_minimum: true minimum: 1 } is_stateful: true)pb",
    R"pb(name: "Selu" input_arg { name: "features" type_attr: "T" } output_arg { name: "activations" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_HALF type: DT_BFLOAT16 type: DT_FLOAT type: DT_DOUBLE } } })pb",
    R"pb(name: "Shape" input_arg { name: "input" type_attr: "T" } output_arg { name: "output" type_attr: "out_type" } attr { name: "T" type: "type" } attr { name: "out_type" type: "type" default_value { type: DT_INT32 } allowed_values { list { type: DT_INT32 type: DT_INT64 } } })pb",
    R"pb(name: "ShardedFilename" input_arg { name: "basename" type: DT_STRING } input_arg { name: "shard" type: DT_INT32 } input_arg { name: "num_shards" type: DT_INT32 } output_arg { name: "filename" type: DT_STRING })pb",
    R"pb(name: "Sigmoid" input_arg { name: "x" type_attr: "T" } output_arg { name: "y" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_BFLOAT16 type: DT_HALF type: DT_FLOAT type: DT_DOUBLE type: DT_COMPLEX64 type: DT_COMPLEX128 } } })pb",
    R"pb(name: "Softmax" input_arg { name: "logits" type_attr: "T" } output_arg { name: "softmax" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_HALF type: DT_BFLOAT16 type: DT_FLOAT type: DT_DOUBLE } } })pb",
    R"pb(name: "Softplus" input_arg { name: "features" type_attr: "T" } output_arg { name: "activations" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_HALF type: DT_BFLOAT16 type: DT_FLOAT type: DT_DOUBLE } } })pb",
    R"pb(name: "Softsign" input_arg { name: "features" type_attr: "T" } output_arg { name: "activations" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_HALF type: DT_BFLOAT16 type: DT_FLOAT type: DT_DOUBLE } } })pb",
    R"pb(name: "StridedSlice" input_arg { name: "input" type_attr: "T" } input_arg { name: "begin" type_attr: "Index" } input_arg { name: "end" type_attr: "Index" } input_arg { name: "strides" type_attr: "Index" } output_arg { name: "output" type_attr: "T" } attr { name: "T" type: "type" } attr { name: "Index" type: "type" allowed_values { list { type: DT_INT16 type: DT_INT32 type: DT_INT64 } } } attr { name: "begin_mask" type: "int" default_value { i: 0 } } attr { name: "end_mask" type: "int" default_value { i: 0 } } attr { name: "ellipsis_mask" type: "int" default_value { i: 0 } } attr { name: "new_axis_mask" type: "int" default_value { i: 0 } } attr { name: "shrink_axis_mask" type: "int" default_value { i: 0 } })pb",
    R"pb(name: "StringJoin" input_arg { name: "inputs" type: DT_STRING number_attr: "N" } output_arg { name: "output" type: DT_STRING } attr { name: "N" type: "int" has_minimum: true } attr { name: "separator" type: "string" default_value { s: "" } })pb",
    R"pb(name: "Sub" input_arg { name: "x" type_attr: "T" } input_arg { name: "y" type_attr: "T" } output_arg { name: "z" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_BFLOAT16 type: DT_HALF type: DT_FLOAT type: DT_DOUBLE type: DT_UINT8 type: DT_INT8 type: DT_UINT16 type: DT_INT16 type: DT_INT32 type: DT_INT64 type: DT_COMPLEX64 type: DT_COMPLEX128 type: DT_UINT32 type: DT_UINT64 } } })pb",
    R"pb(name: "Tanh" input_arg { name: "x" type_attr: "T" } output_arg { name: "y" type_attr: "T" } attr { name: "T" type: "type" allowed_values { list { type: DT_BFLOAT16 type: DT_HALF type: DT_FLOAT type: DT_DOUBLE type: DT_COMPLEX64 type: DT_COMPLEX128 } } })pb",
    R"pb(name: "Tile" input_arg { name: "input" type_attr: "T" } input_arg { name: "multiples" type_attr: "Tmultiples" } output_arg { name: "output" type_attr: "T" } attr { name: "T" type: "type" } attr { name: "Tmultiples" type: "type" default_value { type: DT_INT32 } allowed_values { list { type: DT_INT32 type: DT_INT64 } } })pb",
    R"pb(name: "VariableV2" output_arg { name: "ref" type_attr: "dtype" is_ref: true } attr { name: "shape" type: "shape" } attr { name: "dtype" type: "type" } attr { name: "container" type: "string" default_value { s: "" } } attr { name: "shared_name" type: "string" default_value { s: "" } } is_stateful: true)pb",
    R"pb(name: "ZerosLike" input_arg { name: "x" type_attr: "T" } output_arg { name: "y" type_attr: "T" } attr { name: "T" type: "type" })pb",
};

DataType FromProtoType(int t) { return static_cast<DataType>(t); }
std::string TypeName(DataType t) { return std::string(DataTypeName(t)); }

const std::map<std::string, tensorflow::OpDef, std::less<>>& Registry() {
  static const auto* registry = [] {
    auto* m = new std::map<std::string, tensorflow::OpDef, std::less<>>();
    for (const char* text : kOpDefs) {
      tensorflow::OpDef def;
      // The texts are constants checked by the tests; a parse failure would
      // leave the op out of the registry (FindOpDef returns null).
      if (google::protobuf::TextFormat::ParseFromString(text, &def)) {
        (*m)[def.name()] = def;
      }
    }
    return m;
  }();
  return *registry;
}

}  // namespace

namespace graph_internal {

Status BindInputs(const tensorflow::OpDef& def, const std::vector<Output>& inputs,
                  const std::string& where, AttrMap* attrs) {
  size_t pos = 0;
  for (int a = 0; a < def.input_arg_size(); ++a) {
    const auto& arg = def.input_arg(a);
    size_t count = 1;
    if (!arg.number_attr().empty()) {
      auto it = attrs->find(arg.number_attr());
      if (it == attrs->end()) {
        const size_t rest_args = def.input_arg_size() - a - 1;
        count = inputs.size() >= pos + rest_args ? inputs.size() - pos - rest_args : 0;
        (*attrs)[arg.number_attr()] = AttrInt(static_cast<int64_t>(count));
      } else {
        count = static_cast<size_t>(std::max<int64_t>(0, it->second.i()));
      }
    } else if (!arg.type_list_attr().empty()) {
      auto it = attrs->find(arg.type_list_attr());
      count = it == attrs->end() ? 0 : it->second.list().type_size();
    }
    if (pos + count > inputs.size()) {
      return InvalidArgumentError(where + ": expected more inputs for arg '" + arg.name() + "'");
    }
    for (size_t k = 0; k < count; ++k) {
      const Output& in = inputs[pos + k];
      if (arg.is_ref() && !in.is_ref) {
        return InvalidArgumentError(where + ": input '" + arg.name() +
                                    "' must be a ref (a variable)");
      }
      DataType want = DataType::kInvalid;
      if (arg.type() != tensorflow::DT_INVALID) {
        want = FromProtoType(arg.type());
      } else if (!arg.type_attr().empty()) {
        auto it = attrs->find(arg.type_attr());
        if (it == attrs->end()) {
          (*attrs)[arg.type_attr()] = AttrType(in.dtype);  // infer T from the input
          want = in.dtype;
        } else {
          want = FromProtoType(it->second.type());
        }
      } else if (!arg.type_list_attr().empty()) {
        want = FromProtoType((*attrs)[arg.type_list_attr()].list().type(static_cast<int>(k)));
      }
      if (in.dtype != want) {
        return InvalidArgumentError(where + ": input '" + arg.name() + "' has dtype " +
                                    TypeName(in.dtype) + ", expected " + TypeName(want));
      }
    }
    pos += count;
  }
  if (pos != inputs.size()) {
    return InvalidArgumentError(where + ": " + std::to_string(inputs.size()) +
                                " inputs given, the op takes " + std::to_string(pos));
  }
  return Status::OK();
}

Status CheckAttrs(const tensorflow::OpDef& def, const std::string& where, AttrMap* attrs) {
  for (const auto& [name, value] : *attrs) {
    if (name.empty() || name[0] == '_') continue;
    bool known = false;
    for (const auto& attr : def.attr()) known = known || attr.name() == name;
    if (!known) {
      return InvalidArgumentError(where + ": op has no attr '" + name + "'");
    }
  }
  for (const auto& attr : def.attr()) {
    auto it = attrs->find(attr.name());
    if (it == attrs->end()) {
      if (!attr.has_default_value()) {
        return InvalidArgumentError(where + ": missing attr '" + attr.name() + "'");
      }
      (*attrs)[attr.name()] = attr.default_value();
      continue;
    }
    const auto& v = it->second;
    if (attr.has_allowed_values()) {
      const auto& allowed = attr.allowed_values().list();
      bool ok = true;
      if (attr.type() == "type") {
        ok = std::find(allowed.type().begin(), allowed.type().end(), v.type()) !=
             allowed.type().end();
      } else if (attr.type() == "string") {
        ok = std::find(allowed.s().begin(), allowed.s().end(), v.s()) != allowed.s().end();
      }
      if (!ok) {
        return InvalidArgumentError(
            where + ": value of attr '" + attr.name() + "' is not allowed (" +
            (attr.type() == "type" ? TypeName(FromProtoType(v.type())) : v.s()) + ")");
      }
    }
    if (attr.has_minimum()) {
      int64_t value = attr.type() == "int" ? v.i() : v.list().type_size() + v.list().s_size();
      if (value < attr.minimum()) {
        return InvalidArgumentError(where + ": attr '" + attr.name() + "' is " +
                                    std::to_string(value) + ", below its minimum " +
                                    std::to_string(attr.minimum()));
      }
    }
  }
  return Status::OK();
}

}  // namespace graph_internal

const tensorflow::OpDef* FindOpDef(std::string_view op) {
  const auto& r = Registry();
  auto it = r.find(op);
  return it == r.end() ? nullptr : &it->second;
}

std::vector<std::string> RegisteredOps() {
  std::vector<std::string> names;
  for (const auto& [name, def] : Registry()) names.push_back(name);
  return names;
}

}  // namespace ckpt
