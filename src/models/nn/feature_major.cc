#include "models/nn/feature_major.h"

#include <algorithm>
#include <cmath>

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

}  // namespace

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
CKPT_NN_INSTANTIATE(float)
CKPT_NN_INSTANTIATE(double)
#undef CKPT_NN_INSTANTIATE

}  // namespace ckpt::nn
