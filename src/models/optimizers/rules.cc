// Update rules (formulas of TF1's training_ops kernels):
//   GradientDescent  var -= grad * lr
//   Adagrad          accum += grad^2; var -= grad * lr / sqrt(accum)
//   Adam             alpha = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
//                    m += (grad - m) * (1 - beta1); v += (grad^2 - v) * (1 - beta2)
//                    var -= m * alpha / (sqrt(v) + epsilon)
//                    after the step: beta1_power *= beta1; beta2_power *= beta2
//   RMSProp          ms += (grad^2 - ms) * (1 - decay)
//                    [centered: mg += (grad - mg) * (1 - decay); denom = ms - mg^2 + eps]
//                    mom = mom * momentum + grad * lr / sqrt(denom or ms + eps)
//                    var -= mom
//   Ftrl             g' = grad + 2 * l2_shrinkage * var (g' = grad without shrinkage)
//                    new_accum = accum + grad^2
//                    linear += g' - (new_accum^-p - accum^-p) / lr * var
//                    quadratic = new_accum^-p / lr + 2 * l2
//                    var = |linear| > l1 ? (sign(linear) * l1 - linear) / quadratic : 0
//                    accum = new_accum          (p = learning_rate_power; x^0.5 = sqrt)
//
// Each rule is one loop over contiguous arrays with no dependence between
// elements, which the compiler vectorises (this file is compiled with
// -fno-math-errno so that std::sqrt is the SIMD square-root instruction and
// not a call that may set errno). IEEE add, multiply, divide and square root
// are correctly rounded per element, vectorised or not, so the results are
// bit for bit those of the scalar formulas. (Eigen's float SIMD sqrt is an
// approximation under its default EIGEN_FAST_MATH, hence plain loops.)
#include "models/optimizers/rules.h"

#include <cmath>
#include <utility>
#include <vector>

namespace ckpt::optimizers {
namespace {

using SlotSpec = std::vector<std::pair<std::string, std::pair<std::string, double>>>;

// Shares the float/double dispatch: Rule::Update<T> is the update.
template <typename Rule>
class RuleOptimizer : public Optimizer {
 public:
  template <typename... Args>
  RuleOptimizer(Rule rule, std::string name, double lr, Args&&... specs)
      : Optimizer(std::move(name), lr, std::forward<Args>(specs)...), rule_(std::move(rule)) {}

 protected:
  void UpdateFloat(int64_t n, float* var, const float* grad, float* const* slots,
                   const double* non_slots) override {
    rule_.template Update<float>(n, var, grad, slots, non_slots);
  }
  void UpdateDouble(int64_t n, double* var, const double* grad, double* const* slots,
                    const double* non_slots) override {
    rule_.template Update<double>(n, var, grad, slots, non_slots);
  }
  void Finish(std::vector<Tensor>* non_slots) override { rule_.Finish(non_slots); }

 private:
  Rule rule_;
};

struct NoFinish {
  void Finish(std::vector<Tensor>*) {}
};

struct GradientDescentRule : NoFinish {
  double lr;
  template <typename T>
  void Update(int64_t n, T* var, const T* grad, T* const*, const double*) {
    const T alpha = static_cast<T>(lr);
    for (int64_t i = 0; i < n; ++i) var[i] -= grad[i] * alpha;
  }
};

struct AdagradRule : NoFinish {
  double lr;
  template <typename T>
  void Update(int64_t n, T* var, const T* grad, T* const* slots, const double*) {
    const T alpha = static_cast<T>(lr);
    T* accum = slots[0];
    for (int64_t i = 0; i < n; ++i) {
      accum[i] += grad[i] * grad[i];
      var[i] -= grad[i] * alpha / std::sqrt(accum[i]);
    }
  }
};

struct AdamRule {
  AdamOptions o;
  template <typename T>
  void Update(int64_t n, T* var, const T* grad, T* const* slots, const double* non_slots) {
    const T lr = static_cast<T>(o.learning_rate);
    const T beta1 = static_cast<T>(o.beta1);
    const T beta2 = static_cast<T>(o.beta2);
    const T epsilon = static_cast<T>(o.epsilon);
    const T beta1_power = static_cast<T>(non_slots[0]);
    const T beta2_power = static_cast<T>(non_slots[1]);
    const T alpha = lr * std::sqrt(T(1) - beta2_power) / (T(1) - beta1_power);
    T* m = slots[0];
    T* v = slots[1];
    for (int64_t i = 0; i < n; ++i) {
      m[i] += (grad[i] - m[i]) * (T(1) - beta1);
      v[i] += (grad[i] * grad[i] - v[i]) * (T(1) - beta2);
      var[i] -= (m[i] * alpha) / (std::sqrt(v[i]) + epsilon);
    }
  }
  void Finish(std::vector<Tensor>* non_slots) {
    const double betas[2] = {o.beta1, o.beta2};
    for (int k = 0; k < 2; ++k) {
      Tensor& t = (*non_slots)[k];
      if (t.dtype() == DataType::kFloat) {
        t.mutable_flat<float>()[0] *= static_cast<float>(betas[k]);
      } else {
        t.mutable_flat<double>()[0] *= betas[k];
      }
    }
  }
};

struct RMSPropRule : NoFinish {
  RMSPropOptions o;
  template <typename T>
  void Update(int64_t n, T* var, const T* grad, T* const* slots, const double*) {
    const T lr = static_cast<T>(o.learning_rate);
    const T rho = static_cast<T>(o.decay);
    const T momentum = static_cast<T>(o.momentum);
    const T epsilon = static_cast<T>(o.epsilon);
    T* ms = slots[0];
    if (!o.centered) {
      T* mom = slots[1];
      for (int64_t i = 0; i < n; ++i) {
        ms[i] += (grad[i] * grad[i] - ms[i]) * (T(1) - rho);
        mom[i] = mom[i] * momentum + (grad[i] * lr) / std::sqrt(ms[i] + epsilon);
        var[i] -= mom[i];
      }
      return;
    }
    T* mg = slots[1];
    T* mom = slots[2];
    for (int64_t i = 0; i < n; ++i) {
      ms[i] += (grad[i] * grad[i] - ms[i]) * (T(1) - rho);
      mg[i] += (grad[i] - mg[i]) * (T(1) - rho);
      const T denom = (ms[i] - mg[i] * mg[i]) + epsilon;
      mom[i] = mom[i] * momentum + (grad[i] * lr) / std::sqrt(denom);
      var[i] -= mom[i];
    }
  }
};

struct FtrlRule : NoFinish {
  FtrlOptions o;
  template <typename T>
  static T Power(T x, T neg_power, bool is_sqrt) {
    return is_sqrt ? std::sqrt(x) : std::pow(x, neg_power);
  }
  template <typename T>
  void Update(int64_t n, T* var, const T* grad, T* const* slots, const double*) {
    const T lr = static_cast<T>(o.learning_rate);
    const T l1 = static_cast<T>(o.l1_regularization_strength);
    // TF1's FtrlOptimizer folds beta into l2.
    const T l2 = static_cast<T>(o.l2_regularization_strength +
                                o.beta / (2.0 * o.learning_rate));
    const T shrinkage = static_cast<T>(o.l2_shrinkage_regularization_strength);
    const bool use_shrinkage = o.l2_shrinkage_regularization_strength > 0.0;
    const T lr_power = static_cast<T>(o.learning_rate_power);
    const bool is_sqrt = lr_power == static_cast<T>(-0.5);
    T* accum = slots[0];
    T* linear = slots[1];
    for (int64_t i = 0; i < n; ++i) {
      const T g = grad[i];
      const T g_shrunk = use_shrinkage ? g + T(2) * shrinkage * var[i] : g;
      const T new_accum = accum[i] + g * g;
      const T new_pow = Power<T>(new_accum, -lr_power, is_sqrt);
      const T old_pow = Power<T>(accum[i], -lr_power, is_sqrt);
      linear[i] += g_shrunk - (new_pow - old_pow) / lr * var[i];
      const T quadratic = new_pow / lr + T(2) * l2;
      if (std::abs(linear[i]) > l1) {
        const T sign = linear[i] > T(0) ? T(1) : (linear[i] < T(0) ? T(-1) : T(0));
        var[i] = (l1 * sign - linear[i]) / quadratic;
      } else {
        var[i] = T(0);
      }
      accum[i] = new_accum;
    }
  }
};

}  // namespace

std::unique_ptr<Optimizer> MakeGradientDescent(const GradientDescentOptions& o) {
  return std::make_unique<RuleOptimizer<GradientDescentRule>>(
      GradientDescentRule{{}, o.learning_rate}, "GradientDescent", o.learning_rate,
      std::vector<Optimizer::SlotSpec>{}, std::vector<Optimizer::SlotSpec>{});
}

std::unique_ptr<Optimizer> MakeAdagrad(const AdagradOptions& o) {
  return std::make_unique<RuleOptimizer<AdagradRule>>(
      AdagradRule{{}, o.learning_rate}, "Adagrad", o.learning_rate,
      std::vector<Optimizer::SlotSpec>{{"Adagrad", "accumulator", o.initial_accumulator_value}},
      std::vector<Optimizer::SlotSpec>{});
}

std::unique_ptr<Optimizer> MakeAdam(const AdamOptions& o) {
  return std::make_unique<RuleOptimizer<AdamRule>>(
      AdamRule{o}, "Adam", o.learning_rate,
      std::vector<Optimizer::SlotSpec>{{"Adam", "m", 0.0}, {"Adam_1", "v", 0.0}},
      std::vector<Optimizer::SlotSpec>{{"beta1_power", "beta1_power", o.beta1},
                                       {"beta2_power", "beta2_power", o.beta2}});
}

std::unique_ptr<Optimizer> MakeRMSProp(const RMSPropOptions& o) {
  std::vector<Optimizer::SlotSpec> slots = {{"RMSProp", "rms", 1.0}};
  if (o.centered) slots.push_back({"RMSProp_1", "mg", 0.0});
  slots.push_back({o.centered ? "RMSProp_2" : "RMSProp_1", "momentum", 0.0});
  return std::make_unique<RuleOptimizer<RMSPropRule>>(RMSPropRule{{}, o}, "RMSProp",
                                                      o.learning_rate, std::move(slots),
                                                      std::vector<Optimizer::SlotSpec>{});
}

std::unique_ptr<Optimizer> MakeFtrl(const FtrlOptions& o) {
  return std::make_unique<RuleOptimizer<FtrlRule>>(
      FtrlRule{{}, o}, "Ftrl", o.learning_rate,
      std::vector<Optimizer::SlotSpec>{{"Ftrl", "accum", o.initial_accumulator_value},
                                       {"Ftrl_1", "linear", 0.0}},
      std::vector<Optimizer::SlotSpec>{});
}

}  // namespace ckpt::optimizers
