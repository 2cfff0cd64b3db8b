// Optimizer: TensorFlow 1's tf.compat.v1.train optimizers for C++ variables.
//
// An Optimizer updates float32 or float64 variables (ckpt::Tensor, owned by
// the caller) from their gradients with the update rule of TF1's
// training_ops (ApplyGradientDescent, ApplyAdagrad, ApplyAdam,
// ApplyRMSProp / ApplyCenteredRMSProp, ApplyFtrl / ApplyFtrlV2), computed in
// the variable's dtype, and owns each variable's slots (accumulators,
// moments) under TensorFlow's slot names so that a Saver can checkpoint
// them where TensorFlow would:
//
//   optimizer        slots per variable (name: TF's internal slot, initial)
//   GradientDescent  none
//   Adagrad          "Adagrad" (accumulator, initial_accumulator_value)
//   Adam             "Adam" (m, 0), "Adam_1" (v, 0);
//                    non-slot "beta1_power" (beta1), "beta2_power" (beta2)
//   RMSProp          "RMSProp" (rms, 1), "RMSProp_1" (momentum, 0);
//                    centered: "RMSProp" (rms), "RMSProp_1" (mg, 0),
//                    "RMSProp_2" (momentum)
//   Ftrl             "Ftrl" (accum, initial_accumulator_value),
//                    "Ftrl_1" (linear, 0)
//
// A slot's checkpoint key in a TF1 graph is the variable's name + "/" + the
// slot name (e.g. "dense/kernel/Adagrad"); composing keys is the caller's
// business. Non-slot variables are scalars of the first registered
// variable's dtype.
//
// Usage: AddVariable() every variable once, then per training step either
// ApplyGradients() (TF's apply_gradients: every update, then FinishStep), or
// Apply() for each variable followed by one FinishStep().
//
// Ownership: the caller owns the variables and must keep each registered
// Tensor alive and at the same address; the Optimizer owns the slots, whose
// addresses stay valid for its lifetime (a Saver may hold them).
// Thread safety: an Optimizer is used from one thread at a time.
#ifndef CKPT_OPTIMIZER_H_
#define CKPT_OPTIMIZER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/status.h"
#include "ckpt/tensor.h"

namespace ckpt {

// Hyperparameters, defaulting to TF1's. learning_rate has no TF default
// except Adam's (0.001); 0.05 is what the canned estimators use.
struct GradientDescentOptions {
  double learning_rate = 0.05;
};
struct AdagradOptions {
  double learning_rate = 0.05;
  double initial_accumulator_value = 0.1;  // REQUIRES: > 0
};
struct AdamOptions {
  double learning_rate = 0.001;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};
struct RMSPropOptions {
  double learning_rate = 0.05;
  double decay = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-10;
  bool centered = false;
};
struct FtrlOptions {
  double learning_rate = 0.05;
  double learning_rate_power = -0.5;       // REQUIRES: <= 0
  double initial_accumulator_value = 0.1;  // REQUIRES: >= 0
  double l1_regularization_strength = 0.0; // REQUIRES: >= 0
  double l2_regularization_strength = 0.0; // REQUIRES: >= 0
  double l2_shrinkage_regularization_strength = 0.0;  // REQUIRES: >= 0
  double beta = 0.0;  // folded into l2 as TF1 does: l2 + beta / (2 lr)
};

class Optimizer {
 public:
  // By the names the canned estimators accept: "Adagrad", "Adam", "Ftrl",
  // "RMSProp", "SGD" (GradientDescent), each with TF1's defaults and the
  // given learning rate. InvalidArgument for another name (the message lists
  // the accepted ones) or a learning rate that is not finite.
  static Result<std::unique_ptr<Optimizer>> Create(std::string_view name,
                                                   double learning_rate = 0.05);

  // InvalidArgument for hyperparameters TensorFlow rejects (see REQUIRES
  // above) or that are not finite.
  static Result<std::unique_ptr<Optimizer>> GradientDescent(const GradientDescentOptions& o = {});
  static Result<std::unique_ptr<Optimizer>> Adagrad(const AdagradOptions& o = {});
  static Result<std::unique_ptr<Optimizer>> Adam(const AdamOptions& o = {});
  static Result<std::unique_ptr<Optimizer>> RMSProp(const RMSPropOptions& o = {});
  static Result<std::unique_ptr<Optimizer>> Ftrl(const FtrlOptions& o = {});

  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // TensorFlow's optimizer name, which is also the slot name stem:
  // "GradientDescent", "Adagrad", "Adam", "RMSProp" or "Ftrl".
  const std::string& name() const { return name_; }
  double learning_rate() const { return learning_rate_; }

  // Slot names every variable gets, in creation order (e.g. {"Adam",
  // "Adam_1"}), and non-slot variable names ({"beta1_power",
  // "beta2_power"} for Adam, else none).
  std::vector<std::string> slot_names() const;
  std::vector<std::string> non_slot_names() const;

  // Registers `var` under `var_name` and creates its slots (same dtype and
  // shape, filled with their initial values); the first registration also
  // creates the non-slot variables. InvalidArgument for a null or view
  // tensor, a dtype other than float/double, or an empty name;
  // AlreadyExists if `var_name` is registered.
  Status AddVariable(const std::string& var_name, Tensor* var);

  // Registered variable names, in registration order.
  const std::vector<std::string>& variable_names() const { return order_; }

  // Applies one gradient to the variable registered as `var_name`, updating
  // it and its slots in place. NotFound for an unregistered name;
  // InvalidArgument when grad's dtype or shape differs from the variable's.
  // On error nothing is changed.
  Status Apply(const std::string& var_name, const Tensor& grad);

  // Ends a training step after its Apply calls (TF's _finish): Adam
  // multiplies beta1_power by beta1 and beta2_power by beta2; the others do
  // nothing.
  void FinishStep();

  // Every gradient (variable name -> gradient) is checked first; then each
  // is applied and FinishStep() is called. On error nothing is changed.
  // With a gradient combiner set, the gradients it returns are applied.
  Status ApplyGradients(const std::vector<std::pair<std::string, Tensor>>& grads);

  // Data-parallel training: ApplyGradients first passes a copy of its
  // gradients through `combine` (e.g. summing them over the ranks of a job)
  // and applies what it leaves; its error stops the step with nothing
  // changed. Empty: none (the default).
  using GradientCombiner = std::function<Status(std::vector<std::pair<std::string, Tensor>>*)>;
  void set_gradient_combiner(GradientCombiner combine) { combine_ = std::move(combine); }

  // The slot `slot_name` of `var_name` (a key name such as "Adam_1", or
  // TF's internal name such as "v"), or null if there is none.
  Tensor* GetSlot(const std::string& var_name, std::string_view slot_name);
  // A non-slot variable ("beta1_power"), or null.
  Tensor* GetNonSlot(std::string_view name);

  // Every slot as (variable name, slot name, tensor), variables in
  // registration order, slots in creation order.
  struct SlotRef {
    std::string var_name;
    std::string slot_name;
    Tensor* tensor;
  };
  std::vector<SlotRef> slots();

  // How a subclass describes one slot (or non-slot variable).
  struct SlotSpec {
    std::string name;           // checkpoint name, e.g. "Adam_1"
    std::string internal_name;  // TF's slot name, e.g. "v"
    double initial_value;
  };

 protected:
  Optimizer(std::string name, double learning_rate, std::vector<SlotSpec> slot_specs,
            std::vector<SlotSpec> non_slot_specs);

  // The update rule, in the variable's dtype. `slots` follow slot_specs;
  // `non_slots` follow non_slot_specs (scalars, already converted to T).
  // REQUIRES: every array has n elements.
  virtual void UpdateFloat(int64_t n, float* var, const float* grad, float* const* slots,
                           const double* non_slots) = 0;
  virtual void UpdateDouble(int64_t n, double* var, const double* grad, double* const* slots,
                            const double* non_slots) = 0;
  // Per-step work after all updates (TF's _finish). `non_slots` are the
  // non-slot tensors.
  virtual void Finish(std::vector<Tensor>* non_slots) {}

 private:
  struct Entry {
    Tensor* var;
    std::vector<Tensor> slots;
  };
  Status CheckGradient(const std::string& var_name, const Tensor& grad, Entry** entry);
  // ApplyGradients' work, without the combiner.
  Status ApplyAll(const std::vector<std::pair<std::string, Tensor>>& grads);

  const std::string name_;
  const double learning_rate_;
  const std::vector<SlotSpec> slot_specs_;
  const std::vector<SlotSpec> non_slot_specs_;
  std::map<std::string, Entry> vars_;
  std::vector<std::string> order_;
  std::vector<Tensor> non_slots_;
  GradientCombiner combine_;
};

}  // namespace ckpt

#endif  // CKPT_OPTIMIZER_H_
