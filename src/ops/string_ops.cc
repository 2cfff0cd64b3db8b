// String ops of feature columns: Equal/NotEqual on strings and bools (the
// "missing value" test of categorical columns, x != ''), numeric dtypes go
// to elementwise.cc's kernels; StringToHashBucketFast
// (categorical_column_with_hash_bucket): TF's Fingerprint64 of each string
// modulo num_buckets. TF's Fingerprint64 is
// FarmHash's Fingerprint64 (the "na" variant of Hash64 with its fixed
// seeds); reimplemented here from the published algorithm and checked
// against TF's tf.fingerprint / tf.strings.to_hash_bucket_fast values.
#include <cstring>
#include <utility>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

constexpr uint64_t k0 = 0xc3a5c85c97cb3127ULL;
constexpr uint64_t k1 = 0xb492b66fbe98f273ULL;
constexpr uint64_t k2 = 0x9ae16a3b2f90404fULL;

uint64_t Fetch64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));  // little-endian hosts (as the rest of ckpt)
  return v;
}
uint32_t Fetch32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
uint64_t Rotate(uint64_t v, int shift) {
  return shift == 0 ? v : (v >> shift) | (v << (64 - shift));
}
uint64_t ShiftMix(uint64_t v) { return v ^ (v >> 47); }

uint64_t HashLen16(uint64_t u, uint64_t v, uint64_t mul) {
  uint64_t a = (u ^ v) * mul;
  a ^= (a >> 47);
  uint64_t b = (v ^ a) * mul;
  b ^= (b >> 47);
  return b * mul;
}

uint64_t HashLen0to16(const char* s, size_t len) {
  if (len >= 8) {
    const uint64_t mul = k2 + len * 2;
    const uint64_t a = Fetch64(s) + k2;
    const uint64_t b = Fetch64(s + len - 8);
    const uint64_t c = Rotate(b, 37) * mul + a;
    const uint64_t d = (Rotate(a, 25) + b) * mul;
    return HashLen16(c, d, mul);
  }
  if (len >= 4) {
    const uint64_t mul = k2 + len * 2;
    const uint64_t a = Fetch32(s);
    return HashLen16(len + (a << 3), Fetch32(s + len - 4), mul);
  }
  if (len > 0) {
    const uint8_t a = static_cast<uint8_t>(s[0]);
    const uint8_t b = static_cast<uint8_t>(s[len >> 1]);
    const uint8_t c = static_cast<uint8_t>(s[len - 1]);
    const uint32_t y = static_cast<uint32_t>(a) + (static_cast<uint32_t>(b) << 8);
    const uint32_t z = static_cast<uint32_t>(len) + (static_cast<uint32_t>(c) << 2);
    return ShiftMix(y * k2 ^ z * k0) * k2;
  }
  return k2;
}

uint64_t HashLen17to32(const char* s, size_t len) {
  const uint64_t mul = k2 + len * 2;
  const uint64_t a = Fetch64(s) * k1;
  const uint64_t b = Fetch64(s + 8);
  const uint64_t c = Fetch64(s + len - 8) * mul;
  const uint64_t d = Fetch64(s + len - 16) * k2;
  return HashLen16(Rotate(a + b, 43) + Rotate(c, 30) + d, a + Rotate(b + k2, 18) + c, mul);
}

uint64_t HashLen33to64(const char* s, size_t len) {
  const uint64_t mul = k2 + len * 2;
  const uint64_t a = Fetch64(s) * k2;
  const uint64_t b = Fetch64(s + 8);
  const uint64_t c = Fetch64(s + len - 8) * mul;
  const uint64_t d = Fetch64(s + len - 16) * k2;
  const uint64_t y = Rotate(a + b, 43) + Rotate(c, 30) + d;
  const uint64_t z = HashLen16(y, a + Rotate(b + k2, 18) + c, mul);
  const uint64_t e = Fetch64(s + 16) * mul;
  const uint64_t f = Fetch64(s + 24);
  const uint64_t g = (y + Fetch64(s + len - 32)) * mul;
  const uint64_t h = (z + Fetch64(s + len - 24)) * mul;
  return HashLen16(Rotate(e + f, 43) + Rotate(g, 30) + h, e + Rotate(f + a, 18) + g, mul);
}

std::pair<uint64_t, uint64_t> WeakHashLen32WithSeeds(const char* s, uint64_t a, uint64_t b) {
  const uint64_t w = Fetch64(s), x = Fetch64(s + 8), y = Fetch64(s + 16), z = Fetch64(s + 24);
  a += w;
  b = Rotate(b + a + z, 21);
  const uint64_t c = a;
  a += x;
  a += y;
  b += Rotate(a, 44);
  return {a + z, b + c};
}

}  // namespace

uint64_t Fingerprint64(std::string_view str) {
  const char* s = str.data();
  const size_t len = str.size();
  if (len <= 16) return HashLen0to16(s, len);
  if (len <= 32) return HashLen17to32(s, len);
  if (len <= 64) return HashLen33to64(s, len);
  const uint64_t seed = 81;
  uint64_t x = seed;
  uint64_t y = seed * k1 + 113;
  uint64_t z = ShiftMix(y * k2 + 113) * k2;
  std::pair<uint64_t, uint64_t> v{0, 0}, w{0, 0};
  x = x * k2 + Fetch64(s);
  const char* end = s + ((len - 1) / 64) * 64;
  const char* last64 = end + ((len - 1) & 63) - 63;
  do {
    x = Rotate(x + y + v.first + Fetch64(s + 8), 37) * k1;
    y = Rotate(y + v.second + Fetch64(s + 48), 42) * k1;
    x ^= w.second;
    y += v.first + Fetch64(s + 40);
    z = Rotate(z + w.first, 33) * k1;
    v = WeakHashLen32WithSeeds(s, v.second * k1, x + w.first);
    w = WeakHashLen32WithSeeds(s + 32, z + w.second, y + Fetch64(s + 16));
    std::swap(z, x);
    s += 64;
  } while (s != end);
  const uint64_t mul = k1 + ((z & 0xff) << 1);
  s = last64;
  w.first += ((len - 1) & 63);
  v.first += w.first;
  w.first += v.first;
  x = Rotate(x + y + v.first + Fetch64(s + 8), 37) * mul;
  y = Rotate(y + v.second + Fetch64(s + 48), 42) * mul;
  x ^= w.second * 9;
  y += v.first * 9 + Fetch64(s + 40);
  z = Rotate(z + w.first, 33) * mul;
  v = WeakHashLen32WithSeeds(s, v.second * mul, x + w.first);
  w = WeakHashLen32WithSeeds(s + 32, z + w.second, y + Fetch64(s + 16));
  std::swap(z, x);
  return HashLen16(HashLen16(v.first, w.first, mul) + ShiftMix(y) * k0 + z,
                   HashLen16(v.second, w.second, mul) + x, mul);
}

// Equal / NotEqual for every dtype: strings and bools here (broadcasting),
// the numeric dtypes through elementwise.cc.
Status EqualAnyType(KernelContext* ctx) {
  const bool equal = ctx->node->op() == "Equal";
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 2));
  const Tensor& a = ctx->inputs[0];
  const Tensor& b = ctx->inputs[1];
  const DataType dtype = a.dtype();
  if (dtype != DataType::kString && dtype != DataType::kBool) {
    return equal ? Equal(ctx) : NotEqual(ctx);
  }
  if (b.dtype() != dtype) {
    return InvalidArg(*ctx, "cannot compute " + ctx->node->op() +
                                " as input #1(zero-based) was "
                                "expected to be a " +
                                std::string(DataTypeName(dtype)) + " tensor but is a " +
                                std::string(DataTypeName(b.dtype())) + " tensor");
  }
  CKPT_ASSIGN_OR_RETURN(TensorShape shape, BroadcastShape(*ctx, a.shape(), b.shape()));
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, DataType::kBool, shape));
  const std::vector<int64_t> ia = BroadcastIndex(a.shape(), shape);
  const std::vector<int64_t> ib = BroadcastIndex(b.shape(), shape);
  bool* o = out.mutable_flat<bool>();
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    const bool same = dtype == DataType::kString ? a.strings()[ia[i]] == b.strings()[ib[i]]
                                                 : a.flat<bool>()[ia[i]] == b.flat<bool>()[ib[i]];
    o[i] = same == equal;
  }
  ctx->outputs = {out};
  return Status::OK();
}

// StringToHashBucketFast(input; num_buckets): int64 Fingerprint64 % buckets.
Status StringToHashBucketFast(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const Tensor& in = ctx->inputs[0];
  if (in.dtype() != DataType::kString) return UnsupportedDtype(*ctx, in.dtype(), "string");
  auto it = ctx->node->attr().find("num_buckets");
  const int64_t buckets = it == ctx->node->attr().end() ? 0 : it->second.i();
  if (buckets < 1) {
    return InvalidArg(*ctx, "num_buckets must be at least 1, got " + std::to_string(buckets));
  }
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, DataType::kInt64, in.shape()));
  int64_t* o = out.mutable_flat<int64_t>();
  const std::vector<std::string>& strings = in.strings();
  for (size_t i = 0; i < strings.size(); ++i) {
    o[i] = static_cast<int64_t>(Fingerprint64(strings[i]) % static_cast<uint64_t>(buckets));
  }
  ctx->outputs = {out};
  return Status::OK();
}

}  // namespace ckpt::ops
