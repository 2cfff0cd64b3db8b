// RandomUniform (float): TF's stream, so a seeded graph (tf.set_random_seed
// or an op seed) gives TF's numbers. TF's CPU kernel draws from
// Philox4x32-10 keyed by the op's (seed, seed2) attrs; each generator call
// gives four uint32s, each turned into a float in [1, 2) by its low 23 bits
// as mantissa, minus 1. Kernels are stateless, so every run gives the
// numbers of TF's *first* run of that op in a fresh session (TF advances the
// generator between runs). seed == seed2 == 0 means "nondeterministic" in TF;
// here a fresh random key per run.
//
// This is what dropout needs on an inference path: with keep_prob 1 (rate
// 0) the mask is all ones whatever the numbers.
#include <cstring>
#include <random>

#include "ops/kernel_util.h"
#include "ops/kernels.h"

namespace ckpt::ops {
namespace {

// Philox4x32 with 10 rounds (Salmon et al., "Parallel random numbers: as
// easy as 1, 2, 3"), the constants TF uses.
class Philox {
 public:
  Philox(uint64_t seed_lo, uint64_t seed_hi) {
    key_[0] = static_cast<uint32_t>(seed_lo);
    key_[1] = static_cast<uint32_t>(seed_lo >> 32);
    counter_[2] = static_cast<uint32_t>(seed_hi);
    counter_[3] = static_cast<uint32_t>(seed_hi >> 32);
  }

  // Four uint32s, then the counter moves on by one.
  void Next(uint32_t out[4]) {
    uint32_t ctr[4] = {counter_[0], counter_[1], counter_[2], counter_[3]};
    uint32_t key[2] = {key_[0], key_[1]};
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = uint64_t{kMulA} * ctr[0];
      const uint64_t p1 = uint64_t{kMulB} * ctr[2];
      const uint32_t next[4] = {
          static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<uint32_t>(p1),
          static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<uint32_t>(p0)};
      std::memcpy(ctr, next, sizeof(ctr));
      if (round < 9) {
        key[0] += kWeylA;
        key[1] += kWeylB;
      }
    }
    std::memcpy(out, ctr, sizeof(ctr));
    for (int i = 0; i < 4 && ++counter_[i] == 0; ++i) {
    }
  }

 private:
  static constexpr uint32_t kWeylA = 0x9E3779B9;
  static constexpr uint32_t kWeylB = 0xBB67AE85;
  static constexpr uint32_t kMulA = 0xD2511F53;
  static constexpr uint32_t kMulB = 0xCD9E8D57;
  uint32_t key_[2] = {0, 0};
  uint32_t counter_[4] = {0, 0, 0, 0};
};

float Uint32ToFloat(uint32_t x) {
  const uint32_t bits = (127u << 23) | (x & 0x7fffffu);  // [1, 2)
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f - 1.0f;
}

int64_t IntAttrOr(const KernelContext& ctx, const std::string& name, int64_t fallback) {
  auto it = ctx.node->attr().find(name);
  return it == ctx.node->attr().end() ? fallback : it->second.i();
}

}  // namespace

// RandomUniform(shape; dtype, seed, seed2): uniform floats in [0, 1).
Status RandomUniform(KernelContext* ctx) {
  CKPT_RETURN_IF_ERROR(CheckNumInputs(*ctx, 1));
  const DataType dtype = TypeAttr(*ctx, "dtype", DataType::kInvalid);
  if (dtype != DataType::kFloat) return UnsupportedDtype(*ctx, dtype, "float");
  CKPT_ASSIGN_OR_RETURN(std::vector<int64_t> dims, IndexValues(*ctx, ctx->inputs[0], "shape"));
  CKPT_ASSIGN_OR_RETURN(Tensor out, AllocateOutput(*ctx, dtype, TensorShape(dims)));
  uint64_t seed = static_cast<uint64_t>(IntAttrOr(*ctx, "seed", 0));
  uint64_t seed2 = static_cast<uint64_t>(IntAttrOr(*ctx, "seed2", 0));
  if (seed == 0 && seed2 == 0) {
    std::random_device device;
    seed = (uint64_t{device()} << 32) | device();
    seed2 = (uint64_t{device()} << 32) | device();
  }
  Philox philox(seed, seed2);
  float* o = out.mutable_flat<float>();
  const int64_t n = out.num_elements();
  uint32_t bits[4];
  for (int64_t i = 0; i < n; i += 4) {
    philox.Next(bits);
    for (int64_t k = 0; k < 4 && i + k < n; ++k) o[i + k] = Uint32ToFloat(bits[k]);
  }
  ctx->outputs = {out};
  return Status::OK();
}

}  // namespace ckpt::ops
