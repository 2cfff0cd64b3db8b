// GemmF32 (src/ops/gemm.h) against a plain triple loop in double, for every
// transpose combination, shapes that are not multiples of any SIMD width, and
// products large enough to be split over threads; and Conv2D, which runs its
// im2col + GEMM by blocks of output pixels over threads, against the
// convolution's definition.
#include "ops/gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/tensor.h"
#include "ops/kernel.h"
#include "ops/onednn.h"

namespace ckpt::ops {
namespace {

std::vector<float> Random(int64_t n, std::mt19937* rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(*rng);
  return v;
}

// c = op(a) * op(b) by definition; a is [m,k] or [k,m] (ta), b [k,n] or [n,k] (tb).
std::vector<double> Reference(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                              const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<double> c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double x = ta ? a[p * m + i] : a[i * k + p];
        const double y = tb ? b[j * k + p] : b[p * n + j];
        s += x * y;
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

TEST(GemmTest, MatchesTheDefinition) {
  std::mt19937 rng(3);
  struct Shape {
    int64_t m, n, k;
  };
  // {1,10,4}: a batch-1 dense layer; {300,70,300} and {1000,64,96}: above the
  // threading threshold (split over rows); the rest: odd sizes.
  for (Shape s : {Shape{1, 10, 4}, Shape{3, 5, 7}, Shape{17, 33, 65}, Shape{300, 70, 300},
                  Shape{1000, 64, 96}, Shape{0, 4, 4}, Shape{4, 4, 0}}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      const std::vector<float> a = Random(s.m * s.k, &rng), b = Random(s.k * s.n, &rng);
      std::vector<float> c(static_cast<size_t>(s.m * s.n), 12345.f);
      GemmF32(ta, tb, s.m, s.n, s.k, a.data(), b.data(), c.data());
      const std::vector<double> want = Reference(ta, tb, s.m, s.n, s.k, a, b);
      const std::string where = "m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) +
                                " k=" + std::to_string(s.k) + " ta=" + std::to_string(ta) +
                                " tb=" + std::to_string(tb) + " isa=" + GemmF32Isa();
      for (size_t i = 0; i < c.size(); ++i) {
        // float accumulation of k products in [-1, 1]: error grows with k.
        ASSERT_NEAR(c[i], want[i], 1e-5 * (1 + static_cast<double>(s.k))) << where << " at " << i;
      }
    }
  }
}

// out[b,oh,ow,o] = sum over taps and channels of x at (oh*stride - pad + th,
// ow*stride - pad + tw) (0 outside) times w[th,tw,ci,o], in double.
std::vector<double> DirectConv(const std::vector<float>& x, const std::vector<float>& w, int64_t n,
                               int64_t h, int64_t wd, int64_t c, int64_t k, int64_t oc,
                               int64_t stride, bool same, int64_t* oh_out, int64_t* ow_out) {
  const int64_t oh = same ? (h + stride - 1) / stride : (h - k) / stride + 1;
  const int64_t ow = same ? (wd + stride - 1) / stride : (wd - k) / stride + 1;
  const int64_t pad_h = same ? std::max<int64_t>((oh - 1) * stride + k - h, 0) / 2 : 0;
  const int64_t pad_w = same ? std::max<int64_t>((ow - 1) * stride + k - wd, 0) / 2 : 0;
  std::vector<double> out(static_cast<size_t>(n * oh * ow * oc));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t o = 0; o < oc; ++o) {
          double s = 0;
          for (int64_t th = 0; th < k; ++th)
            for (int64_t tw = 0; tw < k; ++tw) {
              const int64_t ih = i * stride - pad_h + th, iw = j * stride - pad_w + tw;
              if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
              for (int64_t ci = 0; ci < c; ++ci) {
                s += static_cast<double>(x[((b * h + ih) * wd + iw) * c + ci]) *
                     w[((th * k + tw) * c + ci) * oc + o];
              }
            }
          out[((b * oh + i) * ow + j) * oc + o] = s;
        }
  *oh_out = oh;
  *ow_out = ow;
  return out;
}

TEST(Conv2DBlocksTest, MatchesTheDefinitionAcrossBlocksAndThreads) {
  std::mt19937 rng(5);
  struct Case {
    int64_t n, h, w, c, k, oc, stride;
    bool same;
  };
  // The first is small (one block, one thread); the others span several
  // im2col blocks, and the 4x32x32x16 -> 32 ones (19 M multiply-adds) are
  // split over threads.
  for (Case t : {Case{1, 5, 6, 2, 3, 3, 1, true}, Case{3, 20, 20, 8, 3, 16, 1, true},
                 Case{4, 32, 32, 16, 3, 32, 1, true}, Case{4, 33, 31, 16, 3, 32, 2, false},
                 Case{4, 32, 32, 16, 3, 32, 2, true}}) {
    const std::vector<float> x = Random(t.n * t.h * t.w * t.c, &rng);
    const std::vector<float> w = Random(t.k * t.k * t.c * t.oc, &rng);
    tensorflow::NodeDef node;
    node.set_name("conv");
    node.set_op("Conv2D");
    (*node.mutable_attr())["padding"].set_s(t.same ? "SAME" : "VALID");
    for (int64_t s : {int64_t{1}, t.stride, t.stride, int64_t{1}}) {
      (*node.mutable_attr())["strides"].mutable_list()->add_i(s);
    }
    exec::KernelContext ctx;
    ctx.node = &node;
    ctx.inputs = {Tensor::FromVector<float>({t.n, t.h, t.w, t.c}, x),
                  Tensor::FromVector<float>({t.k, t.k, t.c, t.oc}, w)};
    ASSERT_TRUE(exec::FindKernel("Conv2D")(&ctx).ok());
    int64_t oh = 0, ow = 0;
    const std::vector<double> want =
        DirectConv(x, w, t.n, t.h, t.w, t.c, t.k, t.oc, t.stride, t.same, &oh, &ow);
    ASSERT_EQ(ctx.outputs.size(), 1u);
    ASSERT_EQ(ctx.outputs[0].shape(), (TensorShape{t.n, oh, ow, t.oc}));
    const float* got = ctx.outputs[0].flat<float>();
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-4) << "case n=" << t.n << " h=" << t.h << " at " << i;
    }
  }
}

TEST(ParallelForTest, RunsEveryPartOnceIncludingNestedAndConcurrentCalls) {
  EXPECT_GE(ParallelThreads(), 1);
  for (int64_t parts : {0, 1, 2, 3, 17}) {
    std::vector<std::atomic<int>> runs(static_cast<size_t>(parts));
    for (int rep = 0; rep < 50; ++rep) ParallelFor(parts, [&](int64_t p) { ++runs[p]; });
    for (int64_t p = 0; p < parts; ++p) EXPECT_EQ(runs[p].load(), 50) << parts << " parts";
  }
  // A part that calls ParallelFor itself (runs on the caller) and callers on
  // several threads at once (one gets the pool, the others run serially).
  std::atomic<int64_t> sum{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 100; ++rep) {
        ParallelFor(
            3, [&](int64_t p) { ParallelFor(2, [&](int64_t q) { sum += (p + 1) * 10 + q; }); });
      }
    });
  }
  for (std::thread& c : callers) c.join();
  // Per outer call: sum over p of (20(p+1) + 1) = 20*6 + 3 = 123.
  EXPECT_EQ(sum.load(), int64_t{4} * 100 * 123);
}

TEST(ParallelForTest, APartThatThrowsReachesTheCallerAndThePoolGoesOn) {
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> ran{0};
    bool caught = false;
    try {
      ParallelFor(4, [&](int64_t p) {
        ++ran;
        if (p == 1) throw std::bad_alloc();
      });
    } catch (const std::bad_alloc&) {
      caught = true;
    }
    EXPECT_TRUE(caught);
    EXPECT_GE(ran.load(), 2);  // part 1 ran, and whatever was claimed before it
    std::atomic<int> after{0};
    ParallelFor(3, [&](int64_t) { ++after; });
    EXPECT_EQ(after.load(), 3);
  }
}

TEST(GemmTest, ReportsWhatItRunsOn) {
  const std::string isa = GemmF32Isa();
  if (onednn::Built()) {
    EXPECT_EQ(isa, "onednn");
  } else {
    EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "generic") << isa;
  }
}

}  // namespace
}  // namespace ckpt::ops
