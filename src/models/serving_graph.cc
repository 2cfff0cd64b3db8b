// The canned classifiers' serving graph (classifier_head.h): the input layer
// on the receiver's features and the head's predictions and export outputs,
// as TF's canned estimators build them in PREDICT mode for export.
#include <map>
#include <string>
#include <vector>

#include "ckpt/graph.h"
#include "ckpt/saved_model.h"
#include "models/classifier_head.h"

namespace ckpt {
namespace classifier_internal {
namespace {

// A few ops the GraphBuilder has no typed call for, with TF's attrs.
class Ops {
 public:
  explicit Ops(GraphBuilder* g) : g_(g) {}

  Output Shape(const Output& x, std::string_view name) {
    return Out(g_->AddOp("Shape", name, {x}, {{"T", AttrType(x.dtype)}, {"out_type", AttrType(DataType::kInt32)}}),
               DataType::kInt32, PartialShape::Unknown());
  }
  // x[i] of an int32 vector (a StridedSlice with shrink_axis_mask 1).
  Output Element(const Output& x, int32_t i, std::string_view name) {
    const std::string scope = g_->ResolveName(name);
    Output begin, end, strides;
    {
      GraphBuilder::ScopeGuard s = g_->NameScope(scope + "/");
      begin = g_->Const(Tensor::FromVector<int32_t>(TensorShape({1}), {i}), "stack");
      end = g_->Const(Tensor::FromVector<int32_t>(TensorShape({1}), {i + 1}), "stack_1");
      strides = g_->Const(Tensor::FromVector<int32_t>(TensorShape({1}), {1}), "stack_2");
    }
    return Out(g_->AddOp("StridedSlice", scope + "/", {x, begin, end, strides},
                         {{"T", AttrType(x.dtype)},
                          {"Index", AttrType(DataType::kInt32)},
                          {"shrink_axis_mask", AttrInt(1)}}),
               x.dtype, PartialShape{});
  }
  Output Reshape(const Output& x, const Output& shape, PartialShape out_shape, std::string_view name) {
    return Out(g_->AddOp("Reshape", name, {x, shape},
                         {{"T", AttrType(x.dtype)}, {"Tshape", AttrType(shape.dtype)}}),
               x.dtype, std::move(out_shape));
  }
  Output Cast(const Output& x, DataType to, std::string_view name) {
    return Out(g_->AddOp("Cast", name, {x},
                         {{"SrcT", AttrType(x.dtype)}, {"DstT", AttrType(to)}}),
               to, x.shape);
  }
  Output Tile(const Output& x, const Output& multiples, PartialShape out_shape, std::string_view name) {
    return Out(g_->AddOp("Tile", name, {x, multiples},
                         {{"T", AttrType(x.dtype)}, {"Tmultiples", AttrType(multiples.dtype)}}),
               x.dtype, std::move(out_shape));
  }
  Output AsString(const Output& x, std::string_view name) {
    return Out(g_->AddOp("AsString", name, {x}, {{"T", AttrType(x.dtype)}}), DataType::kString,
               x.shape);
  }
  // params[indices] along axis 0.
  Output Gather(const Output& params, const Output& indices, PartialShape out_shape,
                std::string_view name) {
    const std::string scope = g_->ResolveName(name);
    Output axis;
    {
      GraphBuilder::ScopeGuard s = g_->NameScope(scope + "/");
      axis = g_->Const(Tensor::Scalar<int32_t>(0), "axis");
    }
    return Out(g_->AddOp("GatherV2", scope + "/", {params, indices, axis},
                         {{"Tparams", AttrType(params.dtype)},
                          {"Tindices", AttrType(indices.dtype)},
                          {"Taxis", AttrType(DataType::kInt32)}}),
               params.dtype, std::move(out_shape));
  }

 private:
  Output Out(const std::string& node, DataType dtype, PartialShape shape) {
    if (node.empty()) return Output();
    return g_->output(node, 0, dtype, std::move(shape));
  }
  GraphBuilder* g_;
};

bool IsNumeric(DataType t) { return IsFloating(t) || IsInteger(t); }

// The batch size of `x` as an int32 scalar: tf.shape(x)[0].
Output BatchSize(Ops* ops, const Output& x, const std::string& scope) {
  return ops->Element(ops->Shape(x, scope + "/Shape"), 0, scope + "/strided_slice");
}

// Every class name (the vocabulary, or "0", "1", ...) as a string [n] tensor.
Result<Output> ClassNames(GraphBuilder* g, Ops* ops, int64_t n_classes,
                          const std::vector<std::string>& vocabulary, const std::string& scope) {
  if (!vocabulary.empty()) {
    CKPT_ASSIGN_OR_RETURN(Tensor words, Tensor::FromStrings(TensorShape({n_classes}), vocabulary));
    return g->Const(words, scope + "/class_names");
  }
  std::vector<int64_t> ids(static_cast<size_t>(n_classes));
  for (int64_t i = 0; i < n_classes; ++i) ids[static_cast<size_t>(i)] = i;
  Output range = g->Const(Tensor::FromVector<int64_t>(TensorShape({n_classes}), ids), scope + "/class_ids");
  return ops->AsString(range, scope + "/class_names");
}

}  // namespace

Result<Output> DescribeServingInputLayer(GraphBuilder* graph, const std::string& scope,
                                         const std::vector<std::string>& sorted_names,
                                         const std::map<std::string, Output>& features) {
  Ops ops(graph);
  const std::string layer = scope + "/input_from_feature_columns/input_layer";
  std::vector<Output> columns;
  for (const std::string& name : sorted_names) {
    auto it = features.find(name);
    if (it == features.end() || !it->second.valid()) {
      return InvalidArgumentError("the serving input has no feature '" + name +
                                  "', which the model needs");
    }
    Output x = it->second;
    if (!IsNumeric(x.dtype)) {
      return InvalidArgumentError("serving feature '" + name + "' is " +
                                  std::string(DataTypeName(x.dtype)) +
                                  "; a numeric column needs numbers");
    }
    const std::string col = layer + "/" + name;
    if (x.dtype != DataType::kFloat) x = ops.Cast(x, DataType::kFloat, col + "/ToFloat");
    // One value per example: [batch] or [batch, 1] becomes [batch, 1]; any
    // other element count fails when run, as TF's reshape to
    // (batch_size, 1).
    Output batch = BatchSize(&ops, x, col);
    Output one = graph->Const(Tensor::Scalar<int32_t>(1), col + "/Reshape/shape/1");
    Output shape = graph->Pack({batch, one}, 0, col + "/Reshape/shape");
    columns.push_back(ops.Reshape(x, shape, PartialShape({-1, 1}), col + "/Reshape"));
  }
  if (columns.empty()) return InvalidArgumentError("the model has no features");
  Output concat = columns.size() == 1 ? columns[0] : graph->ConcatV2(columns, 1, layer + "/concat");
  if (!graph->status().ok()) return graph->status();
  return concat;
}

Result<std::map<std::string, ExportOutput>> DescribeServingHead(
    GraphBuilder* graph, const std::string& scope, const Output& logits, int64_t n_classes,
    const std::vector<std::string>& vocabulary) {
  Ops ops(graph);
  const std::string p = scope + "/head/predictions";
  const bool binary = n_classes == 2;
  std::map<std::string, Output> predictions;
  predictions["logits"] = logits;
  Output class_ids;
  if (binary) {
    predictions["logistic"] = graph->Unary("Sigmoid", logits, p + "/logistic");
    Output zeros = graph->Unary("ZerosLike", logits, p + "/zeros_like");
    Output two = graph->ConcatV2({zeros, logits}, -1, p + "/two_class_logits");
    predictions["probabilities"] = graph->Softmax(two, p + "/probabilities");
    class_ids = graph->ArgMax(two, -1, DataType::kInt64, p + "/class_ids");
  } else {
    predictions["probabilities"] = graph->Softmax(logits, p + "/probabilities");
    class_ids = graph->ArgMax(logits, 1, DataType::kInt64, p + "/class_ids");
  }
  class_ids = graph->ExpandDims(class_ids, -1, p + "/ExpandDims");
  class_ids.shape = PartialShape({-1, 1});
  predictions["class_ids"] = class_ids;
  CKPT_ASSIGN_OR_RETURN(Output names, ClassNames(graph, &ops, n_classes, vocabulary, p));
  predictions["classes"] = vocabulary.empty()
                               ? ops.AsString(class_ids, p + "/str_classes")
                               : ops.Gather(names, class_ids, PartialShape({-1, 1}), p + "/classes");

  // Every class name on every row: the classification output's classes.
  Output batch = BatchSize(&ops, logits, p);
  Output one = graph->Const(Tensor::Scalar<int32_t>(1), p + "/Tile/multiples/1");
  Output multiples = graph->Pack({batch, one}, 0, p + "/Tile/multiples");
  Output row = graph->ExpandDims(names, 0, p + "/ExpandDims_1");
  Output all_classes = ops.Tile(row, multiples, PartialShape({-1, n_classes}), p + "/Tile");
  if (!graph->status().ok()) return graph->status();

  std::map<std::string, ExportOutput> outputs;
  const ExportOutput classification =
      ExportOutput::Classification(predictions["probabilities"], all_classes);
  outputs[kDefaultServingSignatureKey] = classification;
  outputs["classification"] = classification;
  if (binary) outputs["regression"] = ExportOutput::Regression(predictions["logistic"]);
  outputs["predict"] = ExportOutput::Predict(std::move(predictions));
  return outputs;
}

}  // namespace classifier_internal
}  // namespace ckpt
