// Conv2D and MatMul against a plain reference loop (double accumulation), on
// every path the kernels take: oneDNN when built in (one part, split by
// images, split by output rows of one image), the im2col fallback (double),
// and the fused BiasAdd (+ Relu) epilogue the executor offers, NaN included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ckpt/tensor.h"
#include "ops/kernel.h"
#include "ops/op_test_util.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

struct Geometry {
  int64_t n, h, w, c, kh, kw, oc, stride, dilation;
  const char* padding;
};

// TF's output size and leading padding for one dimension.
void OutAndPad(int64_t in, int64_t k, int64_t stride, int64_t dilation, bool same, int64_t* out,
               int64_t* pad) {
  const int64_t span = (k - 1) * dilation + 1;
  if (same) {
    *out = (in + stride - 1) / stride;
    *pad = std::max<int64_t>((*out - 1) * stride + span - in, 0) / 2;
  } else {
    *out = in >= span ? (in - span) / stride + 1 : 0;
    *pad = 0;
  }
}

template <typename T>
std::vector<T> Reference(const Geometry& g, const std::vector<T>& x, const std::vector<T>& f,
                         const std::vector<T>* bias, bool relu, int64_t* oh, int64_t* ow) {
  const bool same = std::string(g.padding) == "SAME";
  int64_t ph, pw;
  OutAndPad(g.h, g.kh, g.stride, g.dilation, same, oh, &ph);
  OutAndPad(g.w, g.kw, g.stride, g.dilation, same, ow, &pw);
  std::vector<T> out(g.n * *oh * *ow * g.oc);
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t y = 0; y < *oh; ++y)
      for (int64_t z = 0; z < *ow; ++z)
        for (int64_t o = 0; o < g.oc; ++o) {
          double acc = 0;
          for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
              const int64_t iy = y * g.stride - ph + i * g.dilation;
              const int64_t iz = z * g.stride - pw + j * g.dilation;
              if (iy < 0 || iy >= g.h || iz < 0 || iz >= g.w) continue;
              for (int64_t ch = 0; ch < g.c; ++ch) {
                acc += static_cast<double>(x[((b * g.h + iy) * g.w + iz) * g.c + ch]) *
                       f[((i * g.kw + j) * g.c + ch) * g.oc + o];
              }
            }
          T v = static_cast<T>(acc);
          if (bias != nullptr) v = v + (*bias)[o];
          if (relu) v = v < 0 ? T{0} : v;
          out[((b * *oh + y) * *ow + z) * g.oc + o] = v;
        }
  return out;
}

template <typename T>
std::vector<T> Random(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d;
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(d(gen));
  return v;
}

Node Conv(const Geometry& g, DataType t) {
  return Node("Conv2D", "conv")
      .Type("T", t)
      .Str("padding", g.padding)
      .Ints("strides", {1, g.stride, g.stride, 1})
      .Ints("dilations", {1, g.dilation, g.dilation, 1});
}

// Runs the kernel with an offered epilogue; whether it took it.
Result<std::vector<Tensor>> RunWithEpilogue(const Node& node, std::vector<Tensor> inputs,
                                            const Tensor* bias, bool relu, bool* applied) {
  exec::KernelContext ctx;
  ctx.node = &node.def();
  ctx.inputs = std::move(inputs);
  ctx.bias = bias;
  ctx.relu = relu;
  CKPT_RETURN_IF_ERROR(exec::FindKernel(node.def().op())(&ctx));
  *applied = ctx.epilogue_applied;
  return std::move(ctx.outputs);
}

template <typename T>
void ExpectNear(const std::vector<T>& got, const std::vector<T>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << what << " at " << i << ": " << got[i];
      continue;
    }
    ASSERT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << what << " at " << i;
    if (want[i] == 0) ASSERT_FALSE(std::signbit(got[i]) && !std::signbit(want[i])) << what;
  }
}

// Batch 1 (large enough to split by rows), several images (split by
// images), uneven splits, strides, dilations, both paddings, tiny ones.
const Geometry kGeometries[] = {
    {1, 30, 30, 32, 3, 3, 32, 1, 1, "SAME"}, {1, 41, 37, 16, 5, 3, 24, 2, 1, "VALID"},
    {1, 33, 31, 16, 3, 3, 32, 1, 2, "SAME"}, {1, 64, 50, 8, 7, 7, 32, 3, 1, "SAME"},
    {3, 20, 20, 16, 3, 3, 32, 1, 1, "SAME"}, {5, 17, 9, 8, 3, 3, 40, 2, 1, "VALID"},
    {1, 4, 5, 3, 2, 2, 4, 1, 1, "VALID"},    {2, 28, 28, 1, 3, 3, 32, 1, 1, "SAME"},
    {1, 2, 2, 1, 3, 3, 1, 1, 1, "VALID"},    {1, 9, 9, 4, 3, 3, 8, 1, 1, "SAME"},
};

TEST(ConvPathsTest, FloatMatchesReferenceWithAndWithoutEpilogue) {
  uint32_t seed = 1;
  for (const Geometry& g : kGeometries) {
    const std::string what = "n" + std::to_string(g.n) + " h" + std::to_string(g.h) + " c" +
                             std::to_string(g.c) + " k" + std::to_string(g.kh) + " s" +
                             std::to_string(g.stride) + " d" + std::to_string(g.dilation) + " " +
                             g.padding;
    std::vector<float> x = Random<float>(g.n * g.h * g.w * g.c, seed++);
    const std::vector<float> f = Random<float>(g.kh * g.kw * g.c * g.oc, seed++);
    const std::vector<float> b = Random<float>(g.oc, seed++);
    const Tensor tf = Tensor::FromVector<float>({g.kh, g.kw, g.c, g.oc}, f);
    const Tensor tb = Tensor::FromVector<float>({g.oc}, b);
    for (bool nan : {false, true}) {
      if (nan) {
        for (size_t i = 0; i < x.size(); i += 97) x[i] = NAN;
      }
      const Tensor tx = Tensor::FromVector<float>({g.n, g.h, g.w, g.c}, x);
      int64_t oh, ow;
      const std::vector<float> plain = Reference<float>(g, x, f, nullptr, false, &oh, &ow);
      CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                                RunKernel(Conv(g, DataType::kFloat), {tx, tf}));
      ASSERT_EQ(out[0].shape(), (TensorShape{g.n, oh, ow, g.oc})) << what;
      ExpectNear(Values<float>(out[0]), plain, what + " plain");
      for (bool relu : {false, true}) {
        bool applied = false;
        CKPT_ASSERT_OK_AND_ASSIGN(
            std::vector<Tensor> fused,
            RunWithEpilogue(Conv(g, DataType::kFloat), {tx, tf}, &tb, relu, &applied));
        EXPECT_TRUE(applied) << what;
        ExpectNear(Values<float>(fused[0]), Reference<float>(g, x, f, &b, relu, &oh, &ow),
                   what + (relu ? " bias+relu" : " bias") + (nan ? " nan" : ""));
      }
    }
  }
}

TEST(ConvPathsTest, DoubleTakesTheEpilogueOnlyWhenFloat) {
  const Geometry g{2, 6, 5, 3, 3, 3, 4, 1, 1, "SAME"};
  const std::vector<double> x = Random<double>(2 * 6 * 5 * 3, 7),
                            f = Random<double>(3 * 3 * 3 * 4, 8);
  const Tensor bias = Tensor::FromVector<float>({4}, {1, 2, 3, 4});
  bool applied = true;
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                            RunWithEpilogue(Conv(g, DataType::kDouble),
                                            {Tensor::FromVector<double>({2, 6, 5, 3}, x),
                                             Tensor::FromVector<double>({3, 3, 3, 4}, f)},
                                            &bias, true, &applied));
  EXPECT_FALSE(applied);  // the executor then runs BiasAdd and Relu itself
  int64_t oh, ow;
  ExpectNear(Values<double>(out[0]), Reference<double>(g, x, f, nullptr, false, &oh, &ow),
             "double");
}

TEST(ConvPathsTest, WrongBiasLengthIsNotTaken) {
  const Geometry g{1, 5, 5, 2, 3, 3, 3, 1, 1, "SAME"};
  const Tensor bias = Tensor::FromVector<float>({2}, {1, 2});
  bool applied = true;
  CKPT_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunWithEpilogue(Conv(g, DataType::kFloat),
                      {Tensor::FromVector<float>({1, 5, 5, 2}, Random<float>(50, 3)),
                       Tensor::FromVector<float>({3, 3, 2, 3}, Random<float>(54, 4))},
                      &bias, true, &applied));
  EXPECT_FALSE(applied);
  EXPECT_EQ(out[0].shape(), (TensorShape{1, 5, 5, 3}));
}

TEST(MatMulPathsTest, LargeAndSplitProductsWithEpilogue) {
  struct Case {
    int64_t m, k, n;
    bool ta, tb;
  };
  uint32_t seed = 100;
  for (const Case& c : {Case{300, 256, 128, false, false}, Case{200, 256, 96, true, false},
                        Case{200, 256, 96, false, true}, Case{200, 256, 96, true, true},
                        Case{1, 3136, 128, false, false}, Case{3, 2048, 128, false, true},
                        Case{2, 2048, 96, true, false}, Case{7, 5, 3, false, false},
                        // Few rows, big b: split by depth (odd, uneven halves)
                        // or by columns when b is transposed.
                        Case{1, 4097, 33, false, false}, Case{5, 1111, 131, true, false},
                        Case{1, 1025, 257, false, true}, Case{4, 3000, 70, true, true}}) {
    std::vector<float> a = Random<float>(c.m * c.k, seed++);
    const std::vector<float> b = Random<float>(c.k * c.n, seed++);
    const std::vector<float> bias = Random<float>(c.n, seed++);
    a[a.size() / 2] = NAN;
    std::vector<float> want(c.m * c.n);
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < c.k; ++p) {
          acc += static_cast<double>(c.ta ? a[p * c.m + i] : a[i * c.k + p]) *
                 (c.tb ? b[j * c.k + p] : b[p * c.n + j]);
        }
        const float v = static_cast<float>(acc) + bias[j];
        want[i * c.n + j] = v < 0 ? 0.f : v;
      }
    const Node node = Node("MatMul", "mm")
                          .Type("T", DataType::kFloat)
                          .Bool("transpose_a", c.ta)
                          .Bool("transpose_b", c.tb);
    const Tensor ta =
        Tensor::FromVector<float>(c.ta ? TensorShape{c.k, c.m} : TensorShape{c.m, c.k}, a);
    const Tensor tb =
        Tensor::FromVector<float>(c.tb ? TensorShape{c.n, c.k} : TensorShape{c.k, c.n}, b);
    const Tensor tbias = Tensor::FromVector<float>({c.n}, bias);
    bool applied = false;
    CKPT_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                              RunWithEpilogue(node, {ta, tb}, &tbias, true, &applied));
    EXPECT_TRUE(applied);
    ExpectNear(Values<float>(out[0]), want, "matmul m" + std::to_string(c.m));
  }
}

}  // namespace
}  // namespace ckpt
