// The kernels of each family, as registry.cc lists them. Internal to ops.
#ifndef CKPT_SRC_OPS_KERNELS_H_
#define CKPT_SRC_OPS_KERNELS_H_

#include <cstdint>
#include <string_view>

#include "ckpt/status.h"
#include "ops/kernel.h"

namespace ckpt::ops {

using exec::KernelContext;

// elementwise.cc: binary ops with TF broadcasting, unary math.
Status Add(KernelContext* ctx);  // Add and AddV2
Status Sub(KernelContext* ctx);
Status Mul(KernelContext* ctx);
Status RealDiv(KernelContext* ctx);
Status Div(KernelContext* ctx);
Status Maximum(KernelContext* ctx);
Status Minimum(KernelContext* ctx);
Status SquaredDifference(KernelContext* ctx);
Status Pow(KernelContext* ctx);
Status FloorDiv(KernelContext* ctx);
Status FloorMod(KernelContext* ctx);
Status LogicalAnd(KernelContext* ctx);
Status LogicalOr(KernelContext* ctx);
Status LogicalNot(KernelContext* ctx);
Status Abs(KernelContext* ctx);
Status Sign(KernelContext* ctx);
Status Floor(KernelContext* ctx);
Status Ceil(KernelContext* ctx);
Status Round(KernelContext* ctx);
Status Reciprocal(KernelContext* ctx);
Status Log1p(KernelContext* ctx);
Status Equal(KernelContext* ctx);  // comparisons: bool output
Status NotEqual(KernelContext* ctx);
Status Greater(KernelContext* ctx);
Status GreaterEqual(KernelContext* ctx);
Status Less(KernelContext* ctx);
Status LessEqual(KernelContext* ctx);
Status Select(KernelContext* ctx);
Status SelectV2(KernelContext* ctx);
Status Neg(KernelContext* ctx);
Status Square(KernelContext* ctx);
Status Sqrt(KernelContext* ctx);
Status Rsqrt(KernelContext* ctx);
Status Exp(KernelContext* ctx);
Status Log(KernelContext* ctx);

// matmul.cc
Status MatMul(KernelContext* ctx);
Status BatchMatMulV2(KernelContext* ctx);  // BatchMatMul(V2/V3)
Status BiasAdd(KernelContext* ctx);

// conv.cc: NHWC, SAME/VALID.
Status Conv2D(KernelContext* ctx);
Status DepthwiseConv2dNative(KernelContext* ctx);
Status MaxPool(KernelContext* ctx);
Status AvgPool(KernelContext* ctx);
Status FusedBatchNorm(KernelContext* ctx);  // V1/V2/V3, inference only

// nn.cc: activations and softmax over the last axis.
Status Relu(KernelContext* ctx);
Status Relu6(KernelContext* ctx);
Status Sigmoid(KernelContext* ctx);
Status Tanh(KernelContext* ctx);
Status Elu(KernelContext* ctx);
Status Selu(KernelContext* ctx);
Status LeakyRelu(KernelContext* ctx);  // attr alpha (default 0.2)
Status Softplus(KernelContext* ctx);
Status Softsign(KernelContext* ctx);
Status Softmax(KernelContext* ctx);
Status LogSoftmax(KernelContext* ctx);

// shape_ops.cc
Status Identity(KernelContext* ctx);
Status IdentityN(KernelContext* ctx);  // every input, as an output
Status Reshape(KernelContext* ctx);
Status Shape(KernelContext* ctx);
Status ExpandDims(KernelContext* ctx);
Status Squeeze(KernelContext* ctx);
Status ConcatV2(KernelContext* ctx);
Status Cast(KernelContext* ctx);
Status AsString(KernelContext* ctx);
Status ArgMax(KernelContext* ctx);
Status Transpose(KernelContext* ctx);
Status Pack(KernelContext* ctx);  // attr axis
Status ZerosLike(KernelContext* ctx);
Status OnesLike(KernelContext* ctx);
Status Fill(KernelContext* ctx);

// indexing.cc
Status Slice(KernelContext* ctx);
Status StridedSlice(KernelContext* ctx);  // all five masks
Status GatherV2(KernelContext* ctx);  // Gather, GatherV2, ResourceGather
Status Tile(KernelContext* ctx);
Status OneHot(KernelContext* ctx);
Status Unpack(KernelContext* ctx);  // num outputs
Status Range(KernelContext* ctx);
Status Pad(KernelContext* ctx);  // Pad and PadV2
Status Split(KernelContext* ctx);
Status SplitV(KernelContext* ctx);
Status TopKV2(KernelContext* ctx);  // outputs values, indices

// reduction.cc: reduction_indices as input 1, attr keep_dims.
Status Sum(KernelContext* ctx);
Status Mean(KernelContext* ctx);
Status Max(KernelContext* ctx);
Status Min(KernelContext* ctx);
Status Prod(KernelContext* ctx);

// data_flow.cc
Status PassThrough(KernelContext* ctx);  // StopGradient, PreventGradient, Snapshot
Status AddN(KernelContext* ctx);
Status Size(KernelContext* ctx);  // attr out_type
Status Rank(KernelContext* ctx);
Status Assert(KernelContext* ctx);  // no outputs
Status DynamicPartition(KernelContext* ctx);  // num_partitions outputs
Status DynamicStitch(KernelContext* ctx);  // and ParallelDynamicStitch

// random.cc
Status RandomUniform(KernelContext* ctx);  // float; TF's Philox stream (first run)

// sparse.cc: feature columns' ops
Status Bucketize(KernelContext* ctx);
Status Where(KernelContext* ctx);
Status GatherNd(KernelContext* ctx);
Status SparseFillEmptyRows(KernelContext* ctx);
Status SparseReshape(KernelContext* ctx);
Status SparseSegmentReduce(KernelContext* ctx);  // SparseSegmentSum, Mean, SqrtN
Status SparseToDense(KernelContext* ctx);

// parse_example.cc: dense features of serialized tf.Example protos.
Status ParseExampleV2(KernelContext* ctx);
Status ParseExampleV1(KernelContext* ctx);  // ParseExample

// string_ops.cc
Status EqualAnyType(KernelContext* ctx);  // Equal/NotEqual: strings, bools, else elementwise
uint64_t Fingerprint64(std::string_view s);  // TF's Fingerprint64 (FarmHash)
Status StringToHashBucketFast(KernelContext* ctx);  // attr num_buckets

}  // namespace ckpt::ops

#endif  // CKPT_SRC_OPS_KERNELS_H_
