#include "models/nn/feature_major.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

namespace ckpt::nn {
namespace {

// The batch is walked in blocks of SIMD packets (Eigen's packet
// primitives: SSE, AVX, NEON... as compiled, or scalars): blocks of
// kPackets packets, then single packets, then the columns left over one at
// a time. A dense layer's output row is a sum over `in` of a coefficient
// times an input row: each lane accumulates it in order, exactly as the
// scalar formula. Sums over the batch (d_kernel, d_bias) add lane by lane,
// then the lanes and the leftover columns, in a fixed order.
namespace ei = Eigen::internal;
template <typename T>
using Packet = typename ei::packet_traits<T>::type;
template <typename T>
constexpr int64_t kPacket = ei::unpacket_traits<Packet<T>>::size;
constexpr int64_t kPackets = 8;

// sum_b x[b] * d_j[b] for the NO rows d_j = d + j * batch (j < NO), into
// out[j * out_stride].
template <typename T, int64_t NO>
void DotsAcross(const T* x, const T* d, int64_t batch, T* out, int64_t out_stride) {
  using P = Packet<T>;
  constexpr int64_t kStep = kPacket<T> * 2;
  P acc[NO][2];
  for (int64_t j = 0; j < NO; ++j) acc[j][0] = acc[j][1] = ei::pset1<P>(T(0));
  int64_t b = 0;
  for (; b + kStep <= batch; b += kStep) {
    const P x0 = ei::ploadu<P>(x + b);
    const P x1 = ei::ploadu<P>(x + b + kPacket<T>);
    for (int64_t j = 0; j < NO; ++j) {
      const T* dj = d + j * batch + b;
      acc[j][0] = ei::padd(acc[j][0], ei::pmul(x0, ei::ploadu<P>(dj)));
      acc[j][1] = ei::padd(acc[j][1], ei::pmul(x1, ei::ploadu<P>(dj + kPacket<T>)));
    }
  }
  for (; b + kPacket<T> <= batch; b += kPacket<T>) {
    const P x0 = ei::ploadu<P>(x + b);
    for (int64_t j = 0; j < NO; ++j) {
      acc[j][0] = ei::padd(acc[j][0], ei::pmul(x0, ei::ploadu<P>(d + j * batch + b)));
    }
  }
  for (int64_t j = 0; j < NO; ++j) {
    T s = ei::predux(ei::padd(acc[j][0], acc[j][1]));
    for (int64_t i = b; i < batch; ++i) s += x[i] * d[j * batch + i];
    out[j * out_stride] = s;
  }
}

template <typename T>
T SumAcross(const T* a, int64_t n) {
  using P = Packet<T>;
  P acc = ei::pset1<P>(T(0));
  int64_t i = 0;
  for (; i + kPacket<T> <= n; i += kPacket<T>) acc = ei::padd(acc, ei::ploadu<P>(a + i));
  T s = ei::predux(acc);
  for (; i < n; ++i) s += a[i];
  return s;
}

// What CombineRows stores: the sum, + bias (then relu), or masked by a
// relu output.
enum class Finish { kNone, kBias, kBiasRelu, kReluMask };

// NP packets of CombineRows at column b.
template <typename T, Finish F, int64_t NP>
inline void CombinePackets(const T* rows, int64_t batch, int64_t count, const T* coef,
                           int64_t coef_stride, T bias, const T* mask, T* out, int64_t b) {
  using P = Packet<T>;
  P acc[NP];
  const P c0 = ei::pset1<P>(coef[0]);
  for (int64_t p = 0; p < NP; ++p) acc[p] = ei::pmul(c0, ei::ploadu<P>(rows + b + p * kPacket<T>));
  for (int64_t k = 1; k < count; ++k) {
    const P c = ei::pset1<P>(coef[k * coef_stride]);
    const T* r = rows + k * batch + b;
    for (int64_t p = 0; p < NP; ++p) {
      acc[p] = ei::padd(acc[p], ei::pmul(c, ei::ploadu<P>(r + p * kPacket<T>)));
    }
  }
  const P zero = ei::pset1<P>(T(0));
  for (int64_t p = 0; p < NP; ++p) {
    P v = acc[p];
    const int64_t at = b + p * kPacket<T>;
    if (F == Finish::kBias || F == Finish::kBiasRelu) v = ei::padd(v, ei::pset1<P>(bias));
    if (F == Finish::kBiasRelu) v = ei::pmax(v, zero);
    if (F == Finish::kReluMask) v = ei::pand(v, ei::pcmp_lt(zero, ei::ploadu<P>(mask + at)));
    ei::pstoreu(out + at, v);
  }
}

// out[b] = finish(sum_k coef[k * coef_stride] * rows[k * batch + b]) for
// every column b < batch, summing over k < count in order.
template <typename T, Finish F>
void CombineRows(const T* rows, int64_t batch, int64_t count, const T* coef,
                 int64_t coef_stride, T bias, const T* mask, T* out) {
  int64_t b = 0;
  for (; b + kPacket<T> * kPackets <= batch; b += kPacket<T> * kPackets) {
    CombinePackets<T, F, kPackets>(rows, batch, count, coef, coef_stride, bias, mask, out, b);
  }
  for (; b + kPacket<T> <= batch; b += kPacket<T>) {
    CombinePackets<T, F, 1>(rows, batch, count, coef, coef_stride, bias, mask, out, b);
  }
  for (; b < batch; ++b) {
    T acc = coef[0] * rows[b];
    for (int64_t k = 1; k < count; ++k) acc += coef[k * coef_stride] * rows[k * batch + b];
    if (F == Finish::kBias || F == Finish::kBiasRelu) acc += bias;
    if (F == Finish::kBiasRelu) acc = acc > T(0) ? acc : T(0);
    if (F == Finish::kReluMask) acc = mask[b] > T(0) ? acc : T(0);
    out[b] = acc;
  }
}


// The float kernels of one instruction set (raw pointers, rows of `batch`
// columns).
struct FloatKernels {
  void (*dense_forward)(const float* kernel, const float* bias, int64_t in, int64_t out,
                        const float* x, int64_t batch, bool relu, float* y);
  void (*dense_backward)(const float* kernel, int64_t in, int64_t out, const float* x,
                         const float* d, int64_t batch, float* d_kernel, float* d_bias,
                         float* d_input, const float* relu_output);
  void (*softmax)(const float* logits, int64_t classes, int64_t batch, const int64_t* labels,
                  float* losses, float* d);
};

// ------------------------------------------------------ float kernels
//
// The float32 kernels the training step runs, written once over GCC/Clang
// vector types of W floats and compiled three times: for AVX-512F (W 16),
// AVX2 (W 8) and the baseline the build targets (W 4: SSE2 on x86-64, or
// whatever the compiler lowers 16-byte vectors to). The build stays
// portable; the CPU picks the variant at startup (__builtin_cpu_supports).
// Every helper is always_inline, so each variant's body is compiled with
// its own target attribute.
//
// The batch is walked in blocks of 4 vectors, then single vectors, then one
// vector each of W/2, W/4... down to 4 lanes, then the (< 4) columns left
// one at a time. Numerics, per variant:
//  - dense outputs and input gradients: each column's sum over `in`
//    (`out`) runs in order, as the scalar formula; the AVX2 and AVX-512
//    variants may fuse its multiply-adds (FMA: one rounding instead of
//    two, as the compiler contracts a * b + c);
//  - sums over the batch (d_kernel, d_bias) add lane by lane, then fold
//    the lanes in halves: the order depends on W;
//  - softmax: exp and log are Cephes' single-precision polynomials (as
//    Eigen's), within 2 ulp; then divide by the sum, as TF's kernel.
#if defined(__GNUC__) && !defined(CKPT_NN_NO_SIMD)
#define CKPT_NN_SIMD 1
// The vector types never cross a call boundary (every helper is inlined),
// so the ABI notes about passing them do not apply; GCC issues them at the
// end of the file, hence no push/pop.
#pragma GCC diagnostic ignored "-Wpsabi"
#define CKPT_SIMD_INLINE inline __attribute__((always_inline))
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define CKPT_NN_HAVE_SHUFFLEVECTOR 1
#endif
#endif

template <int W>
struct V {
  typedef float F __attribute__((vector_size(W * sizeof(float))));
  typedef int32_t I __attribute__((vector_size(W * sizeof(int32_t))));
  typedef int64_t L __attribute__((vector_size(W * sizeof(int64_t))));
};

template <int W>
CKPT_SIMD_INLINE typename V<W>::F Load(const float* p) {
  typename V<W>::F v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int W>
CKPT_SIMD_INLINE void Store(float* p, typename V<W>::F v) {
  std::memcpy(p, &v, sizeof v);
}
// x in every lane. (Written as 0 + x: the forms that keep -0 as -0,
// `x - V{}` or an initializer list, GCC 12 builds lane by lane in these
// kernels, 16 masked broadcasts for AVX-512; 0 + x is one scalar add and
// one broadcast. Only the sign of a zero coefficient is lost.)
template <int W>
CKPT_SIMD_INLINE typename V<W>::F Splat(float x) {
  return typename V<W>::F{} + x;
}

// The low half plus the high half.
template <int W>
CKPT_SIMD_INLINE typename V<W / 2>::F FoldHalves(typename V<W>::F v) {
  typename V<W / 2>::F lo, hi;
  std::memcpy(&lo, &v, sizeof lo);
  std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
  return lo + hi;
}

// out[b] = finish(sum_k coef[k * coef_stride] * rows[k * batch + b]) for
// NP vectors of W columns at b.
template <int W, int NP, Finish F>
CKPT_SIMD_INLINE void CombineBlock(const float* rows, int64_t batch, int64_t count,
                                   const float* coef, int64_t coef_stride, float bias,
                                   const float* mask, float* out, int64_t b) {
  using Vf = typename V<W>::F;
  Vf acc[NP];
  const Vf c0 = Splat<W>(coef[0]);
  for (int p = 0; p < NP; ++p) acc[p] = c0 * Load<W>(rows + b + p * W);
  for (int64_t k = 1; k < count; ++k) {
    const Vf c = Splat<W>(coef[k * coef_stride]);
    const float* r = rows + k * batch + b;
    for (int p = 0; p < NP; ++p) acc[p] = acc[p] + c * Load<W>(r + p * W);
  }
  const Vf zero{};
  for (int p = 0; p < NP; ++p) {
    Vf v = acc[p];
    const int64_t at = b + p * W;
    if (F == Finish::kBias || F == Finish::kBiasRelu) v = v + Splat<W>(bias);
    if (F == Finish::kBiasRelu) v = v > zero ? v : zero;
    if (F == Finish::kReluMask) v = Load<W>(mask + at) > zero ? v : zero;
    Store<W>(out + at, v);
  }
}

// The part of a row after the full vectors: at most one vector each of
// W, W/2, ... 4 lanes.
template <int W, Finish F>
CKPT_SIMD_INLINE void CombineTail(const float* rows, int64_t batch, int64_t count,
                                  const float* coef, int64_t coef_stride, float bias,
                                  const float* mask, float* out, int64_t* b) {
  if constexpr (W >= 4) {
    if (*b + W <= batch) {
      CombineBlock<W, 1, F>(rows, batch, count, coef, coef_stride, bias, mask, out, *b);
      *b += W;
    }
    CombineTail<W / 2, F>(rows, batch, count, coef, coef_stride, bias, mask, out, b);
  }
}

template <int W, Finish F>
CKPT_SIMD_INLINE void CombineRowsSimd(const float* rows, int64_t batch, int64_t count,
                                      const float* coef, int64_t coef_stride, float bias,
                                      const float* mask, float* out) {
  int64_t b = 0;
  for (; b + 4 * W <= batch; b += 4 * W) {
    CombineBlock<W, 4, F>(rows, batch, count, coef, coef_stride, bias, mask, out, b);
  }
  // The 1 to 3 full vectors left in one pass over the rows.
  switch ((batch - b) / W) {
    case 3:
      CombineBlock<W, 3, F>(rows, batch, count, coef, coef_stride, bias, mask, out, b);
      b += 3 * W;
      break;
    case 2:
      CombineBlock<W, 2, F>(rows, batch, count, coef, coef_stride, bias, mask, out, b);
      b += 2 * W;
      break;
    case 1:
      CombineBlock<W, 1, F>(rows, batch, count, coef, coef_stride, bias, mask, out, b);
      b += W;
      break;
    default:
      break;
  }
  CombineTail<W / 2, F>(rows, batch, count, coef, coef_stride, bias, mask, out, &b);
  for (; b < batch; ++b) {
    float acc = coef[0] * rows[b];
    for (int64_t k = 1; k < count; ++k) acc += coef[k * coef_stride] * rows[k * batch + b];
    if (F == Finish::kBias || F == Finish::kBiasRelu) acc += bias;
    if (F == Finish::kBiasRelu) acc = acc > 0.0f ? acc : 0.0f;
    if (F == Finish::kReluMask) acc = mask[b] > 0.0f ? acc : 0.0f;
    out[b] = acc;
  }
}

// Folds the NO lane sums acc[j] (of the columns before b) to one float
// each, out[j], adding x * d_j (x null: d_j) over the columns from b on at
// each width: halves of W, W/2 ... 4 lanes, then the lanes pairwise, then
// the columns left one at a time.
template <int W, int NO>
CKPT_SIMD_INLINE void FoldDots(typename V<W>::F (&acc)[NO], const float* x, const float* d,
                               int64_t n, int64_t b, float* out) {
  if constexpr (W > 4) {
    using H = typename V<W / 2>::F;
    H h[NO];
    for (int j = 0; j < NO; ++j) h[j] = FoldHalves<W>(acc[j]);
    if (b + W / 2 <= n) {
      for (int j = 0; j < NO; ++j) {
        const H dv = Load<W / 2>(d + j * n + b);
        h[j] = h[j] + (x == nullptr ? dv : Load<W / 2>(x + b) * dv);
      }
      b += W / 2;
    }
    FoldDots<W / 2, NO>(h, x, d, n, b, out);
  } else {
    float s[NO];
#ifdef CKPT_NN_HAVE_SHUFFLEVECTOR
    if constexpr (NO == 4) {
      // Pairwise: [a0+a1, a2+a3] of two vectors, three times.
      using Q = typename V<4>::F;
      auto hadd = [](Q p, Q q) {
        return __builtin_shufflevector(p, q, 0, 2, 4, 6) + __builtin_shufflevector(p, q, 1, 3, 5, 7);
      };
      const Q sums = hadd(hadd(acc[0], acc[1]), hadd(acc[2], acc[3]));
      for (int j = 0; j < 4; ++j) s[j] = sums[j];
    } else  // NOLINT(readability/braces)
#endif
    {
      for (int j = 0; j < NO; ++j) s[j] = (acc[j][0] + acc[j][1]) + (acc[j][2] + acc[j][3]);
    }
    for (int j = 0; j < NO; ++j) {
      for (int64_t i = b; i < n; ++i) s[j] += x == nullptr ? d[j * n + i] : x[i] * d[j * n + i];
      out[j] = s[j];
    }
  }
}

// sum_b x[b] * d_j[b] for the NO rows d_j = d + j * n, into out[j]; with
// x null, sum_b d_j[b].
template <int W, int NO>
CKPT_SIMD_INLINE void DotsSimd(const float* x, const float* d, int64_t n, float* out) {
  using Vf = typename V<W>::F;
  Vf acc[NO][2];
  for (int j = 0; j < NO; ++j) acc[j][0] = acc[j][1] = Vf{};
  int64_t b = 0;
  for (; b + 2 * W <= n; b += 2 * W) {
    const Vf x0 = x == nullptr ? Splat<W>(1.0f) : Load<W>(x + b);
    const Vf x1 = x == nullptr ? Splat<W>(1.0f) : Load<W>(x + b + W);
    for (int j = 0; j < NO; ++j) {
      const float* dj = d + j * n + b;
      if (x == nullptr) {
        acc[j][0] = acc[j][0] + Load<W>(dj);
        acc[j][1] = acc[j][1] + Load<W>(dj + W);
      } else {
        acc[j][0] = acc[j][0] + x0 * Load<W>(dj);
        acc[j][1] = acc[j][1] + x1 * Load<W>(dj + W);
      }
    }
  }
  if (b + W <= n) {
    for (int j = 0; j < NO; ++j) {
      const Vf dv = Load<W>(d + j * n + b);
      acc[j][0] = acc[j][0] + (x == nullptr ? dv : Load<W>(x + b) * dv);
    }
    b += W;
  }
  Vf sum[NO];
  for (int j = 0; j < NO; ++j) sum[j] = acc[j][0] + acc[j][1];
  FoldDots<W, NO>(sum, x, d, n, b, out);
}

// Cephes' expf for x <= 88 (softmax's shifted logits are <= 0): 0 below
// -87.3365 (where the exact value is no longer a normal float).
template <int W>
CKPT_SIMD_INLINE typename V<W>::F ExpSimd(typename V<W>::F x) {
  using Vf = typename V<W>::F;
  using Vi = typename V<W>::I;
  const Vf lo = Splat<W>(-87.3365447505531f), hi = Splat<W>(88.0f);
  const Vf zero{};
  const Vi underflow = x < lo;
  Vf v = x < lo ? lo : x;
  v = v > hi ? hi : v;
  // n = round(x / ln 2) (adding and subtracting 1.5 * 2^23 rounds to an
  // integer), r = x - n ln 2 with ln 2 in two parts.
  const Vf magic = Splat<W>(12582912.0f);
  const Vf n = (v * 1.44269504088896341f + magic) - magic;
  Vf r = v - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const Vf z = r * r;
  Vf y = Splat<W>(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  const Vi bits = (__builtin_convertvector(n, Vi) + 127) << 23;
  y = y * (Vf)bits;
  return underflow ? zero : y;
}

// Cephes' logf for positive normal x.
template <int W>
CKPT_SIMD_INLINE typename V<W>::F LogSimd(typename V<W>::F x) {
  using Vf = typename V<W>::F;
  using Vi = typename V<W>::I;
  // x = m * 2^e with m in [0.5, 1); then m in [sqrt(0.5), sqrt(2)) and
  // f = m - 1.
  const Vi bits = (Vi)x;
  Vi e = (bits >> 23) - 126;
  const Vi mbits = (bits & 0x007fffff) | 0x3f000000;
  const Vf m = (Vf)mbits;
  const Vi small = m < 0.707106781186547524f;
  e = e + small;  // -1 where small
  const Vf f = small ? (m + m) - 1.0f : m - 1.0f;
  const Vf fe = __builtin_convertvector(e, Vf);
  const Vf z = f * f;
  Vf y = Splat<W>(7.0376836292e-2f);
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  y = y + fe * -2.12194440e-4f;
  y = y - z * 0.5f;
  Vf out = f + y;
  out = out + fe * 0.693359375f;
  return out;
}

// SoftmaxCrossEntropyFM for the W examples at b.
template <int W>
CKPT_SIMD_INLINE void SoftmaxBlock(const float* l, int64_t classes, int64_t batch,
                                   const int64_t* labels, float* losses, float* d, int64_t b) {
  using Vf = typename V<W>::F;
  using Vi = typename V<W>::I;
  Vf max = Load<W>(l + b);
  for (int64_t c = 1; c < classes; ++c) {
    const Vf lc = Load<W>(l + c * batch + b);
    max = lc > max ? lc : max;
  }
  Vf sum{};
  for (int64_t c = 0; c < classes; ++c) {
    const Vf e = ExpSimd<W>(Load<W>(l + c * batch + b) - max);
    Store<W>(d + c * batch + b, e);
    sum = sum + e;
  }
  typename V<W>::L label64;
  std::memcpy(&label64, labels + b, sizeof label64);
  const Vi label = __builtin_convertvector(label64, Vi);
  Vf picked{};
  for (int64_t c = 0; c < classes; ++c) {
    const Vi is_label = label == static_cast<int32_t>(c);
    const Vf p = Load<W>(d + c * batch + b) / sum;
    Store<W>(d + c * batch + b, is_label ? p - 1.0f : p);
    picked = is_label ? Load<W>(l + c * batch + b) : picked;
  }
  Store<W>(losses + b, LogSimd<W>(sum) - (picked - max));
}

template <int W>
CKPT_SIMD_INLINE void SoftmaxTail(const float* l, int64_t classes, int64_t batch,
                                  const int64_t* labels, float* losses, float* d, int64_t* b) {
  if constexpr (W >= 4) {
    if (*b + W <= batch) {
      SoftmaxBlock<W>(l, classes, batch, labels, losses, d, *b);
      *b += W;
    }
    SoftmaxTail<W / 2>(l, classes, batch, labels, losses, d, b);
  }
}

template <int W>
CKPT_SIMD_INLINE void DenseForwardSimd(const float* kernel, const float* bias, int64_t in,
                                       int64_t out, const float* x, int64_t batch, bool relu,
                                       float* y) {
  for (int64_t o = 0; o < out; ++o) {
    if (relu) {
      CombineRowsSimd<W, Finish::kBiasRelu>(x, batch, in, kernel + o, out, bias[o], nullptr,
                                            y + o * batch);
    } else {
      CombineRowsSimd<W, Finish::kBias>(x, batch, in, kernel + o, out, bias[o], nullptr,
                                        y + o * batch);
    }
  }
}

template <int W>
CKPT_SIMD_INLINE void DenseBackwardSimd(const float* kernel, int64_t in, int64_t out,
                                        const float* x, const float* d, int64_t batch,
                                        float* d_kernel, float* d_bias, float* d_input,
                                        const float* relu_output) {
  int64_t o = 0;
  for (; o + 4 <= out; o += 4) DotsSimd<W, 4>(nullptr, d + o * batch, batch, d_bias + o);
  for (; o < out; ++o) DotsSimd<W, 1>(nullptr, d + o * batch, batch, d_bias + o);
  for (int64_t k = 0; k < in; ++k) {
    const float* xk = x + k * batch;
    o = 0;
    for (; o + 4 <= out; o += 4) DotsSimd<W, 4>(xk, d + o * batch, batch, d_kernel + k * out + o);
    for (; o < out; ++o) DotsSimd<W, 1>(xk, d + o * batch, batch, d_kernel + k * out + o);
  }
  if (d_input == nullptr) return;
  for (int64_t k = 0; k < in; ++k) {
    if (relu_output != nullptr) {
      CombineRowsSimd<W, Finish::kReluMask>(d, batch, out, kernel + k * out, 1, 0.0f,
                                            relu_output + k * batch, d_input + k * batch);
    } else {
      CombineRowsSimd<W, Finish::kNone>(d, batch, out, kernel + k * out, 1, 0.0f, nullptr,
                                        d_input + k * batch);
    }
  }
}

template <int W>
CKPT_SIMD_INLINE void SoftmaxSimd(const float* l, int64_t classes, int64_t batch,
                                  const int64_t* labels, float* losses, float* d) {
  int64_t b = 0;
  for (; b + W <= batch; b += W) SoftmaxBlock<W>(l, classes, batch, labels, losses, d, b);
  SoftmaxTail<W / 2>(l, classes, batch, labels, losses, d, &b);
  for (; b < batch; ++b) {
    float max = l[b];
    for (int64_t c = 1; c < classes; ++c) max = std::max(max, l[c * batch + b]);
    float sum = 0.0f;
    for (int64_t c = 0; c < classes; ++c) {
      d[c * batch + b] = std::exp(l[c * batch + b] - max);
      sum += d[c * batch + b];
    }
    for (int64_t c = 0; c < classes; ++c) d[c * batch + b] /= sum;
    const int64_t label = labels[b];
    losses[b] = std::log(sum) - (l[label * batch + b] - max);
    d[label * batch + b] -= 1.0f;
  }
}

// One variant's entry points.
#define CKPT_NN_VARIANT(Name, W, Attr)                                                          \
  Attr void DenseForward##Name(const float* kernel, const float* bias, int64_t in, int64_t out, \
                               const float* x, int64_t batch, bool relu, float* y) {            \
    DenseForwardSimd<W>(kernel, bias, in, out, x, batch, relu, y);                              \
  }                                                                                             \
  Attr void DenseBackward##Name(const float* kernel, int64_t in, int64_t out, const float* x,   \
                                const float* d, int64_t batch, float* d_kernel, float* d_bias,  \
                                float* d_input, const float* relu_output) {                     \
    DenseBackwardSimd<W>(kernel, in, out, x, d, batch, d_kernel, d_bias, d_input, relu_output); \
  }                                                                                             \
  Attr void Softmax##Name(const float* l, int64_t classes, int64_t batch, const int64_t* labels, \
                          float* losses, float* d) {                                            \
    SoftmaxSimd<W>(l, classes, batch, labels, losses, d);                                       \
  }                                                                                             \
  constexpr FloatKernels k##Name##Kernels = {&DenseForward##Name, &DenseBackward##Name,         \
                                             &Softmax##Name};

CKPT_NN_VARIANT(Baseline, 4, )
#if defined(__x86_64__) || defined(__i386__)
#define CKPT_NN_X86 1
CKPT_NN_VARIANT(Avx2, 8, __attribute__((target("avx2,fma"))))
CKPT_NN_VARIANT(Avx512, 16, __attribute__((target("avx512f"))))
#endif
#undef CKPT_NN_VARIANT
#endif  // __GNUC__

#ifdef CKPT_NN_SIMD
const FloatKernels* KernelsFor(KernelIsa isa) {
  switch (isa) {
#ifdef CKPT_NN_X86
    case KernelIsa::kAvx512:
      return &kAvx512Kernels;
    case KernelIsa::kAvx2:
      return &kAvx2Kernels;
#endif
    default:
      return &kBaselineKernels;
  }
}

bool CpuSupports(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kBaseline:
      return true;
#ifdef CKPT_NN_X86
    case KernelIsa::kAvx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KernelIsa::kAvx512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f");
#endif
    default:
      return false;
  }
}

KernelIsa BestIsa() {
  for (KernelIsa isa : {KernelIsa::kAvx512, KernelIsa::kAvx2}) {
    if (CpuSupports(isa)) return isa;
  }
  return KernelIsa::kBaseline;
}

// -1 until the first use picks BestIsa().
std::atomic<int> g_isa{-1};

const FloatKernels* Kernels() {
  int isa = g_isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    isa = static_cast<int>(BestIsa());
    g_isa.store(isa, std::memory_order_relaxed);
  }
  return KernelsFor(static_cast<KernelIsa>(isa));
}
#endif  // CKPT_NN_SIMD

}  // namespace

const char* KernelIsaName(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kBaseline:
      return "baseline";
    case KernelIsa::kAvx2:
      return "avx2";
    case KernelIsa::kAvx512:
      return "avx512f";
  }
  return "unknown";
}

std::vector<KernelIsa> SupportedKernelIsas() {
  std::vector<KernelIsa> out = {KernelIsa::kBaseline};
#ifdef CKPT_NN_SIMD
  for (KernelIsa isa : {KernelIsa::kAvx2, KernelIsa::kAvx512}) {
    if (CpuSupports(isa)) out.push_back(isa);
  }
#endif
  return out;
}

KernelIsa ActiveKernelIsa() {
#ifdef CKPT_NN_SIMD
  Kernels();
  return static_cast<KernelIsa>(g_isa.load(std::memory_order_relaxed));
#else
  return KernelIsa::kBaseline;
#endif
}

KernelIsa SetKernelIsaForTesting(KernelIsa isa) {
  const KernelIsa previous = ActiveKernelIsa();
#ifdef CKPT_NN_SIMD
  if (CpuSupports(isa)) g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
#endif
  return previous;
}

template <typename T>
void DenseForwardFM(const T* kernel, const T* bias, int64_t in, int64_t out,
                    const Matrix<T>& x_t, bool relu, Matrix<T>* y_t) {
  const int64_t batch = x_t.cols();
  y_t->resize(out, batch);
  if (batch == 0) return;
  for (int64_t o = 0; o < out; ++o) {
    T* y = y_t->data() + o * batch;
    if (relu) {
      CombineRows<T, Finish::kBiasRelu>(x_t.data(), batch, in, kernel + o, out, bias[o],
                                        nullptr, y);
    } else {
      CombineRows<T, Finish::kBias>(x_t.data(), batch, in, kernel + o, out, bias[o], nullptr,
                                    y);
    }
  }
}

template <typename T>
void DenseBackwardFM(const T* kernel, int64_t in, int64_t out, const Matrix<T>& x_t,
                     const Matrix<T>& d_t, T* d_kernel, T* d_bias, Matrix<T>* d_input_t,
                     const Matrix<T>* relu_output) {
  const int64_t batch = x_t.cols();
  for (int64_t o = 0; o < out; ++o) d_bias[o] = SumAcross(d_t.data() + o * batch, batch);
  for (int64_t k = 0; k < in; ++k) {
    const T* x = x_t.data() + k * batch;
    int64_t o = 0;
    for (; o + 4 <= out; o += 4) DotsAcross<T, 4>(x, d_t.data() + o * batch, batch, d_kernel + k * out + o, 1);
    for (; o < out; ++o) DotsAcross<T, 1>(x, d_t.data() + o * batch, batch, d_kernel + k * out + o, 1);
  }
  if (d_input_t == nullptr) return;
  d_input_t->resize(in, batch);
  if (batch == 0) return;
  for (int64_t k = 0; k < in; ++k) {
    T* d_in = d_input_t->data() + k * batch;
    if (relu_output != nullptr) {
      CombineRows<T, Finish::kReluMask>(d_t.data(), batch, out, kernel + k * out, 1, T(0),
                                        relu_output->data() + k * batch, d_in);
    } else {
      CombineRows<T, Finish::kNone>(d_t.data(), batch, out, kernel + k * out, 1, T(0), nullptr,
                                    d_in);
    }
  }
}

template <typename T>
void ReluBackwardInPlace(const Matrix<T>& y_t, Matrix<T>* d_t) {
  const T* y = y_t.data();
  T* d = d_t->data();
  const int64_t n = y_t.size();
  for (int64_t i = 0; i < n; ++i) d[i] = y[i] > T(0) ? d[i] : T(0);
}

template <typename T>
void DropoutScaleFM(int64_t units, int64_t batch, double rate, Rng* rng, Matrix<T>* scale_t) {
  scale_t->resize(units, batch);
  const T keep_scale = T(1) / (T(1) - static_cast<T>(rate));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t u = 0; u < units; ++u) {
      (*scale_t)(u, b) = rng->UniformDouble() >= rate ? keep_scale : T(0);
    }
  }
}

template <typename T>
void SoftmaxCrossEntropyFM(const Matrix<T>& logits_t, const std::vector<int64_t>& labels,
                           T* losses, Matrix<T>* d_t) {
  using P = Packet<T>;
  constexpr int64_t kP = kPacket<T>;
  const int64_t classes = logits_t.rows();
  const int64_t batch = logits_t.cols();
  d_t->resize(classes, batch);
  if (classes == 0) return;
  const T* l = logits_t.data();
  T* d = d_t->data();
  // One packet of examples at a time (exp and log vectorised), then the
  // examples left over.
  int64_t b = 0;
  for (; b + kP <= batch; b += kP) {
    P max = ei::ploadu<P>(l + b);
    for (int64_t c = 1; c < classes; ++c) max = ei::pmax(max, ei::ploadu<P>(l + c * batch + b));
    P sum = ei::pset1<P>(T(0));
    for (int64_t c = 0; c < classes; ++c) {
      const P e = ei::pexp(ei::psub(ei::ploadu<P>(l + c * batch + b), max));
      ei::pstoreu(d + c * batch + b, e);
      sum = ei::padd(sum, e);
    }
    for (int64_t c = 0; c < classes; ++c) {
      ei::pstoreu(d + c * batch + b, ei::pdiv(ei::ploadu<P>(d + c * batch + b), sum));
    }
    T max_v[kP], log_sum[kP];
    ei::pstoreu(max_v, max);
    ei::pstoreu(log_sum, ei::plog(sum));
    for (int64_t j = 0; j < kP; ++j) {
      const int64_t label = labels[static_cast<size_t>(b + j)];
      losses[b + j] = log_sum[j] - (l[label * batch + b + j] - max_v[j]);
      d[label * batch + b + j] -= T(1);
    }
  }
  for (; b < batch; ++b) {
    T max = l[b];
    for (int64_t c = 1; c < classes; ++c) max = std::max(max, l[c * batch + b]);
    T sum = T(0);
    for (int64_t c = 0; c < classes; ++c) {
      d[c * batch + b] = std::exp(l[c * batch + b] - max);
      sum += d[c * batch + b];
    }
    for (int64_t c = 0; c < classes; ++c) d[c * batch + b] /= sum;
    const int64_t label = labels[static_cast<size_t>(b)];
    losses[b] = std::log(sum) - (l[label * batch + b] - max);
    d[label * batch + b] -= T(1);
  }
}

template <typename T>
void SigmoidCrossEntropyFM(const Matrix<T>& logits_t, const std::vector<int64_t>& labels,
                           T* losses, Matrix<T>* d_t) {
  const int64_t batch = logits_t.cols();
  d_t->resize(1, batch);
  for (int64_t b = 0; b < batch; ++b) {
    const T z = logits_t(0, b);
    const T y = static_cast<T>(labels[static_cast<size_t>(b)]);
    losses[b] = std::max(z, T(0)) - z * y + std::log1p(std::exp(-std::abs(z)));
    (*d_t)(0, b) = T(1) / (T(1) + std::exp(-z)) - y;
  }
}

#ifdef CKPT_NN_SIMD
// float: the dispatched kernels above.
template <>
void DenseForwardFM<float>(const float* kernel, const float* bias, int64_t in, int64_t out,
                           const Matrix<float>& x_t, bool relu, Matrix<float>* y_t) {
  const int64_t batch = x_t.cols();
  y_t->resize(out, batch);
  if (batch == 0) return;
  Kernels()->dense_forward(kernel, bias, in, out, x_t.data(), batch, relu, y_t->data());
}

template <>
void DenseBackwardFM<float>(const float* kernel, int64_t in, int64_t out,
                            const Matrix<float>& x_t, const Matrix<float>& d_t, float* d_kernel,
                            float* d_bias, Matrix<float>* d_input_t,
                            const Matrix<float>* relu_output) {
  const int64_t batch = x_t.cols();
  float* d_input = nullptr;
  if (d_input_t != nullptr) {
    d_input_t->resize(in, batch);
    d_input = d_input_t->data();
  }
  Kernels()->dense_backward(kernel, in, out, x_t.data(), d_t.data(), batch, d_kernel, d_bias,
                            d_input, relu_output == nullptr ? nullptr : relu_output->data());
}

template <>
void SoftmaxCrossEntropyFM<float>(const Matrix<float>& logits_t,
                                  const std::vector<int64_t>& labels, float* losses,
                                  Matrix<float>* d_t) {
  const int64_t classes = logits_t.rows();
  const int64_t batch = logits_t.cols();
  d_t->resize(classes, batch);
  if (classes == 0 || batch == 0) return;
  Kernels()->softmax(logits_t.data(), classes, batch, labels.data(), losses, d_t->data());
}
#endif  // CKPT_NN_SIMD

#define CKPT_NN_INSTANTIATE(T)                                                                \
  template void DenseForwardFM<T>(const T*, const T*, int64_t, int64_t, const Matrix<T>&, bool, \
                                  Matrix<T>*);                                                \
  template void DenseBackwardFM<T>(const T*, int64_t, int64_t, const Matrix<T>&,               \
                                   const Matrix<T>&, T*, T*, Matrix<T>*, const Matrix<T>*);  \
  template void ReluBackwardInPlace<T>(const Matrix<T>&, Matrix<T>*);                         \
  template void DropoutScaleFM<T>(int64_t, int64_t, double, Rng*, Matrix<T>*);                 \
  template void SoftmaxCrossEntropyFM<T>(const Matrix<T>&, const std::vector<int64_t>&, T*,   \
                                         Matrix<T>*);                                         \
  template void SigmoidCrossEntropyFM<T>(const Matrix<T>&, const std::vector<int64_t>&, T*,   \
                                         Matrix<T>*);
#ifdef CKPT_NN_SIMD
template void ReluBackwardInPlace<float>(const Matrix<float>&, Matrix<float>*);
template void DropoutScaleFM<float>(int64_t, int64_t, double, Rng*, Matrix<float>*);
template void SigmoidCrossEntropyFM<float>(const Matrix<float>&, const std::vector<int64_t>&,
                                           float*, Matrix<float>*);
#else
CKPT_NN_INSTANTIATE(float)
#endif
CKPT_NN_INSTANTIATE(double)
#undef CKPT_NN_INSTANTIATE

}  // namespace ckpt::nn
