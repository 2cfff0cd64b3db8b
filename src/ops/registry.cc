// The op table: op type -> kernel. One sorted, immutable array; FindKernel is a
// binary search over it.
#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "ops/kernel.h"
#include "ops/kernels.h"

namespace ckpt::exec {
namespace {

struct Entry {
  std::string_view op;
  KernelFn fn;
};

// Sorted by op (checked by the test that SupportedOps() is sorted).
constexpr Entry kTable[] = {
    {"Abs", ops::Abs},
    {"Add", ops::Add},
    {"AddN", ops::AddN},
    {"AddV2", ops::Add},
    {"ArgMax", ops::ArgMax},
    {"AsString", ops::AsString},
    {"Assert", ops::Assert},
    {"AvgPool", ops::AvgPool},
    {"BatchMatMul", ops::BatchMatMulV2},
    {"BatchMatMulV2", ops::BatchMatMulV2},
    {"BatchMatMulV3", ops::BatchMatMulV2},
    {"BiasAdd", ops::BiasAdd},
    {"Bucketize", ops::Bucketize},
    {"Cast", ops::Cast},
    {"Ceil", ops::Ceil},
    {"ConcatV2", ops::ConcatV2},
    {"Conv2D", ops::Conv2D},
    {"DepthwiseConv2dNative", ops::DepthwiseConv2dNative},
    {"Div", ops::Div},
    {"DynamicPartition", ops::DynamicPartition},
    {"DynamicStitch", ops::DynamicStitch},
    {"Elu", ops::Elu},
    {"Equal", ops::EqualAnyType},
    {"Exp", ops::Exp},
    {"ExpandDims", ops::ExpandDims},
    {"Fill", ops::Fill},
    {"Floor", ops::Floor},
    {"FloorDiv", ops::FloorDiv},
    {"FloorMod", ops::FloorMod},
    {"FusedBatchNorm", ops::FusedBatchNorm},
    {"FusedBatchNormV2", ops::FusedBatchNorm},
    {"FusedBatchNormV3", ops::FusedBatchNorm},
    {"Gather", ops::GatherV2},
    {"GatherNd", ops::GatherNd},
    {"GatherV2", ops::GatherV2},
    {"Greater", ops::Greater},
    {"GreaterEqual", ops::GreaterEqual},
    {"Identity", ops::Identity},
    {"IdentityN", ops::IdentityN},
    {"LeakyRelu", ops::LeakyRelu},
    {"Less", ops::Less},
    {"LessEqual", ops::LessEqual},
    {"Log", ops::Log},
    {"Log1p", ops::Log1p},
    {"LogSoftmax", ops::LogSoftmax},
    {"LogicalAnd", ops::LogicalAnd},
    {"LogicalNot", ops::LogicalNot},
    {"LogicalOr", ops::LogicalOr},
    {"MatMul", ops::MatMul},
    {"Max", ops::Max},
    {"MaxPool", ops::MaxPool},
    {"Maximum", ops::Maximum},
    {"Mean", ops::Mean},
    {"Min", ops::Min},
    {"Minimum", ops::Minimum},
    {"Mul", ops::Mul},
    {"Neg", ops::Neg},
    {"NotEqual", ops::EqualAnyType},
    {"OneHot", ops::OneHot},
    {"OnesLike", ops::OnesLike},
    {"Pack", ops::Pack},
    {"Pad", ops::Pad},
    {"PadV2", ops::Pad},
    {"ParallelDynamicStitch", ops::DynamicStitch},
    {"ParseExample", ops::ParseExampleV1},
    {"ParseExampleV2", ops::ParseExampleV2},
    {"Pow", ops::Pow},
    {"PreventGradient", ops::PassThrough},
    {"Prod", ops::Prod},
    {"RandomUniform", ops::RandomUniform},
    {"Range", ops::Range},
    {"Rank", ops::Rank},
    {"RealDiv", ops::RealDiv},
    {"Reciprocal", ops::Reciprocal},
    {"Relu", ops::Relu},
    {"Relu6", ops::Relu6},
    {"Reshape", ops::Reshape},
    {"ResourceGather", ops::GatherV2},
    {"Round", ops::Round},
    {"Rsqrt", ops::Rsqrt},
    {"Select", ops::Select},
    {"SelectV2", ops::SelectV2},
    {"Selu", ops::Selu},
    {"Shape", ops::Shape},
    {"Sigmoid", ops::Sigmoid},
    {"Sign", ops::Sign},
    {"Size", ops::Size},
    {"Slice", ops::Slice},
    {"Snapshot", ops::PassThrough},
    {"Softmax", ops::Softmax},
    {"Softplus", ops::Softplus},
    {"Softsign", ops::Softsign},
    {"SparseFillEmptyRows", ops::SparseFillEmptyRows},
    {"SparseReshape", ops::SparseReshape},
    {"SparseSegmentMean", ops::SparseSegmentReduce},
    {"SparseSegmentSqrtN", ops::SparseSegmentReduce},
    {"SparseSegmentSum", ops::SparseSegmentReduce},
    {"SparseToDense", ops::SparseToDense},
    {"Split", ops::Split},
    {"SplitV", ops::SplitV},
    {"Sqrt", ops::Sqrt},
    {"Square", ops::Square},
    {"SquaredDifference", ops::SquaredDifference},
    {"Squeeze", ops::Squeeze},
    {"StopGradient", ops::PassThrough},
    {"StridedSlice", ops::StridedSlice},
    {"StringToHashBucketFast", ops::StringToHashBucketFast},
    {"Sub", ops::Sub},
    {"Sum", ops::Sum},
    {"Tanh", ops::Tanh},
    {"Tile", ops::Tile},
    {"TopKV2", ops::TopKV2},
    {"Transpose", ops::Transpose},
    {"Unpack", ops::Unpack},
    {"Where", ops::Where},
    {"ZerosLike", ops::ZerosLike},
};

}  // namespace

KernelFn FindKernel(std::string_view op_type) {
  auto it = std::lower_bound(std::begin(kTable), std::end(kTable), op_type,
                             [](const Entry& e, std::string_view op) { return e.op < op; });
  return it != std::end(kTable) && it->op == op_type ? it->fn : nullptr;
}

std::vector<std::string> SupportedOps() {
  std::vector<std::string> out;
  for (const Entry& e : kTable) out.emplace_back(e.op);
  return out;
}

}  // namespace ckpt::exec
