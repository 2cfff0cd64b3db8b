// oneDNN for float Conv2D, pooling and GEMM (onednn.h). A convolution is oneDNN's
// forward-inference primitive on the caller's NHWC tensors, with the weights
// in the layout the primitive asks for (a reorder of the HWIO filter on every
// call: filters are variables, which a restore may change), bias and Relu as
// its post-operations. Primitives are cached by geometry; scratch memory is
// per thread.
//
// Every oneDNN call runs on one OpenMP thread; the work is split over
// ckpt's own threads (ParallelFor, gemm.h) instead: by images, or by output
// rows for one image. OpenMP's teams wait for all their threads at a
// barrier, which on a machine with other busy processes stalls a call for a
// scheduler time slice (milliseconds); ParallelFor's caller never waits for
// a thread that has not started.
#include "ops/onednn.h"

#if CKPT_HAVE_ONEDNN
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "ops/gemm.h"

// libgomp's (oneDNN's OpenMP runtime), declared here so no OpenMP compiler
// flag is needed.
extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int);
#endif

namespace ckpt::ops::onednn {

#if !CKPT_HAVE_ONEDNN

bool Built() { return false; }
bool Conv2D(const ConvShape&, const float*, const float*, const float*, bool, float*) {
  return false;
}
bool Pool(const ConvShape&, bool, const float*, float*) { return false; }
bool Sgemm(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*, int64_t,
           int64_t, int64_t) {
  return false;
}

#else

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// Runs oneDNN on the calling thread only, restoring the thread's OpenMP
// setting after (it may be the application's).
class OneOmpThread {
 public:
  OneOmpThread() : saved_(omp_get_max_threads()) {
    if (saved_ != 1) omp_set_num_threads(1);
  }
  ~OneOmpThread() {
    if (saved_ != 1) omp_set_num_threads(saved_);
  }
  OneOmpThread(const OneOmpThread&) = delete;
  OneOmpThread& operator=(const OneOmpThread&) = delete;

 private:
  int saved_;
};

dnnl::engine& Engine() {
  static dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

// 64-byte aligned scratch that grows and is reused by its thread (kept for
// the thread's life: at most the largest filter or scratchpad it has seen).
class Scratch {
 public:
  void* Get(size_t bytes) {
    if (bytes > size_) {
      const size_t rounded = (bytes + 63) / 64 * 64;
      void* p = std::aligned_alloc(64, rounded);
      if (p == nullptr) throw std::bad_alloc();
      data_.reset(p);
      size_ = rounded;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data_;
  size_t size_ = 0;
};

// True when no element is NaN or infinite (exponent bits not all ones).
bool AllFinite(const float* p, int64_t count) {
  uint32_t special = 0;
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, p + i, sizeof(bits));  // compiles to a plain load
    special |= (bits & 0x7f800000u) == 0x7f800000u;
  }
  return special == 0;
}

// The Relu kernel's expression (x < 0 ? 0 : x: NaN stays NaN).
void Relu(float* p, int64_t count) {
  for (int64_t i = 0; i < count; ++i) p[i] = p[i] < 0 ? 0.f : p[i];
}

// What a cached primitive computes.
enum class Kind { kConv, kMaxPool, kAvgPool };

// One cached primitive: a convolution (with the weights layout it wants and
// the reorder from HWIO into it) or a pooling.
struct Entry {
  dnnl::primitive prim;
  memory::desc src, dst, scratch;
  memory::desc weights_user, weights, bias;  // convolution only
  bool reorder_weights = false;
  dnnl::reorder to_weights;
};

using Key = std::array<int64_t, 20>;

// Primitive creation costs far more than a small convolution: keep the
// primitives of recent geometries (a model has a handful; the cap only bounds
// a process that sees endless shapes).
constexpr size_t kMaxCached = 64;

std::shared_ptr<const Entry> Make(Kind kind, const ConvShape& s, bool bias, bool relu) {
  auto entry = std::make_shared<Entry>();
  // oneDNN describes tensors in NCHW dimension order; the format tag says
  // how they lie in memory (nhwc: TF's NHWC; hwio: TF's filter).
  entry->src = memory::desc({s.n, s.c, s.h, s.w}, memory::data_type::f32, Tag::nhwc);
  entry->dst = memory::desc({s.n, s.oc, s.oh, s.ow}, memory::data_type::f32, Tag::nhwc);
  const memory::dims strides{s.stride_h, s.stride_w};
  const memory::dims pad_l{s.pad_top, s.pad_left}, pad_r{s.pad_bottom, s.pad_right};
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (kind != Kind::kConv) {
    const dnnl::pooling_forward::desc desc(
        dnnl::prop_kind::forward_inference,
        kind == Kind::kMaxPool ? dnnl::algorithm::pooling_max
                               : dnnl::algorithm::pooling_avg_exclude_padding,
        entry->src, entry->dst, strides, {s.kh, s.kw}, pad_l, pad_r);
    const dnnl::pooling_forward::primitive_desc pd(desc, attr, Engine());
    entry->scratch = pd.scratchpad_desc();
    entry->prim = dnnl::pooling_forward(pd);
    return entry;
  }
  entry->weights_user = memory::desc({s.oc, s.c, s.kh, s.kw}, memory::data_type::f32, Tag::hwio);
  const memory::desc weights_any({s.oc, s.c, s.kh, s.kw}, memory::data_type::f32, Tag::any);
  const memory::dims dilations{s.dilation_h - 1, s.dilation_w - 1};  // oneDNN: 0 is none
  using Conv = dnnl::convolution_forward;
  const Conv::desc desc =
      bias ? Conv::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                        entry->src, weights_any,
                        memory::desc({s.oc}, memory::data_type::f32, Tag::a), entry->dst, strides,
                        dilations, pad_l, pad_r)
           : Conv::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                        entry->src, weights_any, entry->dst, strides, dilations, pad_l, pad_r);
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  const Conv::primitive_desc pd(desc, attr, Engine());
  entry->weights = pd.weights_desc();
  entry->bias = bias ? pd.bias_desc() : memory::desc();
  entry->scratch = pd.scratchpad_desc();
  entry->reorder_weights = entry->weights != entry->weights_user;
  if (entry->reorder_weights) {
    dnnl::primitive_attr reorder_attr;
    reorder_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::reorder::primitive_desc rpd(Engine(), entry->weights_user, Engine(), entry->weights,
                                            reorder_attr);
    if (rpd.scratchpad_desc().get_size() != 0) return nullptr;  // not expected; decline
    entry->to_weights = dnnl::reorder(rpd);
  }
  entry->prim = Conv(pd);
  return entry;
}

// The cached entry for a geometry; nullptr (also cached) when oneDNN
// declines it.
std::shared_ptr<const Entry> Cached(Kind kind, const ConvShape& s, bool bias, bool relu) {
  static std::mutex mu;
  static auto* cache = new std::map<Key, std::shared_ptr<const Entry> >;
  const Key key{static_cast<int64_t>(kind),
                s.n,
                s.h,
                s.w,
                s.c,
                s.kh,
                s.kw,
                s.oc,
                s.stride_h,
                s.stride_w,
                s.dilation_h,
                s.dilation_w,
                s.pad_top,
                s.pad_left,
                s.pad_bottom,
                s.pad_right,
                s.oh,
                s.ow,
                bias ? 1 : 0,
                relu ? 1 : 0};
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  std::shared_ptr<const Entry> entry;
  try {
    OneOmpThread one;  // a primitive keeps the thread count it was made with
    entry = Make(kind, s, bias, relu);
  } catch (const dnnl::error&) {
    entry = nullptr;
  }
  std::lock_guard<std::mutex> lock(mu);
  if (cache->size() >= kMaxCached) cache->clear();
  return cache->emplace(key, std::move(entry)).first->second;
}

// One part of a split problem: a sub-problem and where its data lie.
struct Part {
  ConvShape shape;
  int64_t x_offset = 0, out_offset = 0;  // in floats
  std::shared_ptr<const Entry> entry;
};

// Below this many multiply-adds per part, splitting a convolution costs
// more than it gains: measured on the CNN of bench/exec_bench.cc, its 3.6 M
// multiply-add convolution at batch 1 ran in 55 us whole and 59-70 us as two
// row halves on two threads (each half slows down beside the other).
constexpr int64_t kMinPartMacs = int64_t{1} << 22;
// The same for pooling, in window taps (memory-bound: it pays sooner).
constexpr int64_t kMinPartTaps = int64_t{1} << 18;

// Images [first, last) of s.
Part ImagesPart(const ConvShape& s, int64_t first, int64_t last) {
  Part part;
  part.shape = s;
  part.shape.n = last - first;
  part.x_offset = first * s.h * s.w * s.c;
  part.out_offset = first * s.oh * s.ow * s.oc;
  return part;
}

// Output rows [first, last) of a single image: the input rows they read,
// with the padding that remains at each end. False when they read no input.
bool RowsPart(const ConvShape& s, int64_t first, int64_t last, Part* part) {
  const int64_t top = first * s.stride_h - s.pad_top;  // first row read
  const int64_t bottom = (last - 1) * s.stride_h - s.pad_top + (s.kh - 1) * s.dilation_h;  // last
  const int64_t in_top = std::max<int64_t>(top, 0), in_bottom = std::min(bottom, s.h - 1);
  if (in_top > in_bottom) return false;
  part->shape = s;
  part->shape.h = in_bottom - in_top + 1;
  part->shape.oh = last - first;
  part->shape.pad_top = in_top - top;
  part->shape.pad_bottom = bottom - in_bottom;
  part->x_offset = in_top * s.w * s.c;
  part->out_offset = first * s.ow * s.oc;
  return true;
}

// The parts a problem runs as: one, or one per thread when each is big
// enough (and, for a convolution, they share the weights layout).
std::vector<Part> Split(Kind kind, const ConvShape& s, bool bias, bool relu) {
  const int64_t work =
      s.n * s.oh * s.ow * s.oc * s.kh * s.kw * (kind == Kind::kConv ? s.c : int64_t{1});
  const int64_t by = s.n > 1 ? s.n : s.oh;
  const int64_t min_part = kind == Kind::kConv ? kMinPartMacs : kMinPartTaps;
  const int64_t parts = std::min({ParallelThreads(), by, std::max<int64_t>(work / min_part, 1)});
  std::vector<Part> out;
  for (int64_t p = 0; p < parts && parts > 1; ++p) {
    const int64_t first = by * p / parts, last = by * (p + 1) / parts;
    Part part;
    if (s.n > 1) {
      part = ImagesPart(s, first, last);
    } else if (!RowsPart(s, first, last, &part)) {
      out.clear();
      break;
    }
    part.entry = Cached(kind, part.shape, bias, relu);
    if (part.entry == nullptr ||
        (!out.empty() && part.entry->weights != out.front().entry->weights)) {
      out.clear();
      break;
    }
    out.push_back(std::move(part));
  }
  if (out.empty()) {
    Part whole;
    whole.shape = s;
    whole.entry = Cached(kind, s, bias, relu);
    if (whole.entry != nullptr) out.push_back(std::move(whole));
  }
  return out;
}

// Runs the parts over ParallelFor, each on one OpenMP thread with its own
// stream and scratch memory; `weights`/`bias` are shared (null for pooling).
// After each part, `after(part)` (may be empty). False when oneDNN failed.
bool RunParts(const std::vector<Part>& parts, const float* x, float* weights, const float* bias,
              float* out, const std::function<void(const Part&)>& after) {
  dnnl::engine& engine = Engine();
  std::vector<char> failed(parts.size(), 0);
  ParallelFor(static_cast<int64_t>(parts.size()), [&](int64_t p) {
    const Part& part = parts[p];
    const Entry& e = *part.entry;
    try {
      OneOmpThread one;
      thread_local dnnl::stream stream(Engine());
      thread_local Scratch scratch_buffer;
      // oneDNN takes non-const handles; it only reads src and bias.
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, memory(e.src, engine, const_cast<float*>(x) + part.x_offset)},
          {DNNL_ARG_DST, memory(e.dst, engine, out + part.out_offset)}};
      if (weights != nullptr) args.emplace(DNNL_ARG_WEIGHTS, memory(e.weights, engine, weights));
      if (bias != nullptr) {
        args.emplace(DNNL_ARG_BIAS, memory(e.bias, engine, const_cast<float*>(bias)));
      }
      if (e.scratch.get_size() > 0) {
        args.emplace(DNNL_ARG_SCRATCHPAD,
                     memory(e.scratch, engine, scratch_buffer.Get(e.scratch.get_size())));
      }
      e.prim.execute(stream, args);
      stream.wait();
      if (after) after(part);
    } catch (const dnnl::error&) {
      failed[p] = 1;
    }
  });
  return std::find(failed.begin(), failed.end(), 1) == failed.end();
}

}  // namespace

bool Built() { return true; }

bool Conv2D(const ConvShape& s, const float* x, const float* filter, const float* bias, bool relu,
            float* out) {
  try {
    // oneDNN's Relu post-operation turns NaN into 0 where TF's Relu keeps it.
    // A NaN in the output needs a NaN or infinity in an input (or an
    // overflow, which makes the sum's order matter anyway): with finite
    // inputs the post-operation is exact; otherwise the Relu runs after.
    const bool fused_relu = relu && AllFinite(x, s.n * s.h * s.w * s.c) &&
                            AllFinite(filter, s.kh * s.kw * s.c * s.oc) &&
                            (bias == nullptr || AllFinite(bias, s.oc));
    const bool relu_after = relu && !fused_relu;
    const std::vector<Part> parts = Split(Kind::kConv, s, bias != nullptr, fused_relu);
    if (parts.empty()) return false;
    const Entry& first = *parts.front().entry;
    // The filter in the primitives' layout, once for every part.
    thread_local Scratch weights_buffer;
    float* weights = const_cast<float*>(filter);  // oneDNN only reads it
    if (first.reorder_weights) {
      OneOmpThread one;
      thread_local dnnl::stream stream(Engine());
      memory user(first.weights_user, Engine(), weights);
      memory reordered(first.weights, Engine(), weights_buffer.Get(first.weights.get_size()));
      first.to_weights.execute(stream, user, reordered);
      stream.wait();
      weights = static_cast<float*>(reordered.get_data_handle());
    }
    std::function<void(const Part&)> after;
    if (relu_after) {
      after = [&](const Part& part) {
        const ConvShape& p = part.shape;
        Relu(out + part.out_offset, p.n * p.oh * p.ow * p.oc);
      };
    }
    return RunParts(parts, x, weights, bias, out, after);
  } catch (const dnnl::error&) {
    return false;
  }
}

bool Pool(const ConvShape& s, bool max, const float* x, float* out) {
  try {
    const std::vector<Part> parts = Split(max ? Kind::kMaxPool : Kind::kAvgPool, s, false, false);
    return !parts.empty() && RunParts(parts, x, nullptr, nullptr, out, {});
  } catch (const dnnl::error&) {
    return false;
  }
}

bool Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
           float* c, int64_t lda, int64_t ldb, int64_t ldc) {
  OneOmpThread one;
  // Row-major, as oneDNN's sgemm takes it: a packed lda is a's row length as stored.
  if (lda == 0) lda = ta ? m : k;
  if (ldb == 0) ldb = tb ? k : n;
  if (ldc == 0) ldc = n;
  return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, a, lda, b, ldb, 0.f, c, ldc) ==
         dnnl_success;
}

#endif  // CKPT_HAVE_ONEDNN

}  // namespace ckpt::ops::onednn
