// GemmF32 (src/ops/gemm.h) against a plain triple loop in double, for every
// transpose combination, shapes that are not multiples of any SIMD width, and
// products large enough to be split over threads.
#include "ops/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

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

TEST(GemmTest, ReportsAnInstructionSet) {
  const std::string isa = GemmF32Isa();
  EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "generic") << isa;
}

}  // namespace
}  // namespace ckpt::ops
