// Rng: a small, seeded, deterministic pseudo-random generator.
//
// Used wherever ckpt needs reproducible randomness (weight initialisation,
// dropout masks, dataset shuffling). The same seed gives the same sequence
// on every platform and compiler: the generator is xoshiro256** seeded
// through SplitMix64, and the conversions to integers and floats below are
// defined here (not by <random>'s implementation-defined distributions).
// It is not cryptographically secure and does not reproduce TensorFlow's
// Philox streams.
//
// Thread safety: an Rng is a value; use one per thread.
#ifndef CKPT_RANDOM_H_
#define CKPT_RANDOM_H_

#include <cstdint>

namespace ckpt {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& s : state_) s = SplitMix64(&x);
  }

  // 64 uniformly distributed bits.
  uint64_t Next64() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, n), without modulo bias. REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n) {
    // Rejects the low values that would make the modulo uneven.
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
      const uint64_t r = Next64();
      if (r >= threshold) return r % n;
    }
  }

  // Uniform in [0, 1) with 53 random bits.
  double UniformDouble() { return static_cast<double>(Next64() >> 11) * 0x1.0p-53; }

  // Uniform in [0, 1) with 24 random bits.
  float UniformFloat() { return static_cast<float>(Next64() >> 40) * 0x1.0p-24f; }

  // The SplitMix64 step: advances *x and returns a well-mixed value. Also
  // useful to derive independent seeds from one seed.
  static uint64_t SplitMix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // A seed derived from (seed, stream): different streams give unrelated
  // sequences.
  static uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    return SplitMix64(&x);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace ckpt

#endif  // CKPT_RANDOM_H_
