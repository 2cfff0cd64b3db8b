// Variable initialisers of the canned DNN: glorot_uniform kernels and zeros.
//
// Values come from the caller's seeded Rng, so the same seed gives the same
// weights everywhere. (They are not TensorFlow's Philox values: a C++ model
// does not reproduce a Python run's initial weights bit for bit.)
//
// Thread safety: pure functions apart from the caller's Rng.
#ifndef CKPT_SRC_MODELS_NN_INIT_H_
#define CKPT_SRC_MODELS_NN_INIT_H_

#include <cstdint>

#include "ckpt/random.h"
#include "ckpt/status.h"
#include "models/nn/types.h"

namespace ckpt::nn {

// The Glorot (Xavier) uniform limit r = sqrt(6 / (fan_in + fan_out)).
double GlorotUniformLimit(int64_t fan_in, int64_t fan_out);

// A [fan_in, fan_out] kernel with elements drawn from U(-r, r), r as above,
// in row-major order (u in [0, 1) maps to -r + 2 r u). InvalidArgument for a
// negative dimension or fan_in + fan_out == 0, or a null rng.
template <typename T>
Result<Matrix<T>> GlorotUniform(int64_t fan_in, int64_t fan_out, Rng* rng);

}  // namespace ckpt::nn

#endif  // CKPT_SRC_MODELS_NN_INIT_H_
