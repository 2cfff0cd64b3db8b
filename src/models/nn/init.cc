#include "models/nn/init.h"

#include <cmath>
#include <string>

namespace ckpt::nn {

double GlorotUniformLimit(int64_t fan_in, int64_t fan_out) {
  return std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
}

template <typename T>
Result<Matrix<T>> GlorotUniform(int64_t fan_in, int64_t fan_out, Rng* rng) {
  if (fan_in < 0 || fan_out < 0 || fan_in + fan_out == 0) {
    return InvalidArgumentError("GlorotUniform: invalid fan_in " + std::to_string(fan_in) +
                                " and fan_out " + std::to_string(fan_out) +
                                " (both must be >= 0 and not both 0)");
  }
  if (rng == nullptr) return InvalidArgumentError("GlorotUniform: null rng");
  const double limit = GlorotUniformLimit(fan_in, fan_out);
  Matrix<T> m(fan_in, fan_out);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    m.data()[i] = static_cast<T>(-limit + 2.0 * limit * rng->UniformDouble());
  }
  return m;
}

template Result<Matrix<float>> GlorotUniform<float>(int64_t, int64_t, Rng*);
template Result<Matrix<double>> GlorotUniform<double>(int64_t, int64_t, Rng*);

}  // namespace ckpt::nn
