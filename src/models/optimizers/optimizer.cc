#include "ckpt/optimizer.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "models/optimizers/rules.h"

namespace ckpt {
namespace {

Status CheckFinite(const char* what, double value) {
  if (!std::isfinite(value)) {
    return InvalidArgumentError(std::string(what) + " must be finite, got " +
                                std::to_string(value));
  }
  return Status::OK();
}

Status CheckNonNegative(const char* what, double value) {
  CKPT_RETURN_IF_ERROR(CheckFinite(what, value));
  if (value < 0.0) {
    return InvalidArgumentError(std::string(what) + " " + std::to_string(value) +
                                " needs to be positive or zero");
  }
  return Status::OK();
}

// A tensor of `dtype` and `shape` with every element `value`.
Tensor Filled(DataType dtype, const TensorShape& shape, double value) {
  Tensor t = Tensor::Allocate(dtype, shape).value();
  const int64_t n = t.num_elements();
  if (dtype == DataType::kFloat) {
    float* p = t.mutable_flat<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(value);
  } else {
    double* p = t.mutable_flat<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = value;
  }
  return t;
}

double ScalarValue(const Tensor& t) {
  return t.dtype() == DataType::kFloat ? static_cast<double>(t.flat<float>()[0])
                                       : t.flat<double>()[0];
}

// Apply and ApplyGradients run once per variable per training step: the
// pointers and scalars an update needs are kept on the stack when they fit
// (every built-in optimizer has at most 3 slots and 2 non-slot variables),
// and ApplyGradients looks each variable up once.
constexpr size_t kOnStack = 16;

// A buffer of n elements, on the stack when n <= kOnStack.
template <typename T>
class SmallBuffer {
 public:
  explicit SmallBuffer(size_t n) {
    if (n > kOnStack) heap_.resize(n);
    data_ = n > kOnStack ? heap_.data() : stack_;
  }
  SmallBuffer(const SmallBuffer&) = delete;
  SmallBuffer& operator=(const SmallBuffer&) = delete;
  T* data() { return data_; }
  T& operator[](size_t i) { return data_[i]; }

 private:
  T stack_[kOnStack];
  std::vector<T> heap_;
  T* data_;
};

void NonSlotValues(const std::vector<Tensor>& tensors, SmallBuffer<double>* values) {
  for (size_t i = 0; i < tensors.size(); ++i) (*values)[i] = ScalarValue(tensors[i]);
}

// The slots' storage, of the variable's dtype T.
template <typename T>
void SlotPointers(std::vector<Tensor>* slots, SmallBuffer<T*>* pointers) {
  for (size_t i = 0; i < slots->size(); ++i) (*pointers)[i] = (*slots)[i].mutable_flat<T>();
}

}  // namespace

Result<std::unique_ptr<Optimizer>> Optimizer::Create(std::string_view name,
                                                     double learning_rate) {
  if (name == "Adagrad") {
    AdagradOptions o;
    o.learning_rate = learning_rate;
    return Adagrad(o);
  }
  if (name == "Adam") {
    AdamOptions o;
    o.learning_rate = learning_rate;
    return Adam(o);
  }
  if (name == "Ftrl") {
    FtrlOptions o;
    o.learning_rate = learning_rate;
    return Ftrl(o);
  }
  if (name == "RMSProp") {
    RMSPropOptions o;
    o.learning_rate = learning_rate;
    return RMSProp(o);
  }
  if (name == "SGD") {
    GradientDescentOptions o;
    o.learning_rate = learning_rate;
    return GradientDescent(o);
  }
  return InvalidArgumentError("Unsupported optimizer name: \"" + std::string(name) +
                              "\". Supported names are: ['Adagrad', 'Adam', 'Ftrl', "
                              "'RMSProp', 'SGD']");
}

Result<std::unique_ptr<Optimizer>> Optimizer::GradientDescent(const GradientDescentOptions& o) {
  CKPT_RETURN_IF_ERROR(CheckFinite("learning_rate", o.learning_rate));
  return optimizers::MakeGradientDescent(o);
}

Result<std::unique_ptr<Optimizer>> Optimizer::Adagrad(const AdagradOptions& o) {
  CKPT_RETURN_IF_ERROR(CheckFinite("learning_rate", o.learning_rate));
  CKPT_RETURN_IF_ERROR(CheckFinite("initial_accumulator_value", o.initial_accumulator_value));
  if (o.initial_accumulator_value <= 0.0) {
    return InvalidArgumentError("initial_accumulator_value must be positive: " +
                                std::to_string(o.initial_accumulator_value));
  }
  return optimizers::MakeAdagrad(o);
}

Result<std::unique_ptr<Optimizer>> Optimizer::Adam(const AdamOptions& o) {
  CKPT_RETURN_IF_ERROR(CheckFinite("learning_rate", o.learning_rate));
  CKPT_RETURN_IF_ERROR(CheckFinite("beta1", o.beta1));
  CKPT_RETURN_IF_ERROR(CheckFinite("beta2", o.beta2));
  CKPT_RETURN_IF_ERROR(CheckFinite("epsilon", o.epsilon));
  return optimizers::MakeAdam(o);
}

Result<std::unique_ptr<Optimizer>> Optimizer::RMSProp(const RMSPropOptions& o) {
  CKPT_RETURN_IF_ERROR(CheckFinite("learning_rate", o.learning_rate));
  CKPT_RETURN_IF_ERROR(CheckFinite("decay", o.decay));
  CKPT_RETURN_IF_ERROR(CheckFinite("momentum", o.momentum));
  CKPT_RETURN_IF_ERROR(CheckFinite("epsilon", o.epsilon));
  return optimizers::MakeRMSProp(o);
}

Result<std::unique_ptr<Optimizer>> Optimizer::Ftrl(const FtrlOptions& o) {
  CKPT_RETURN_IF_ERROR(CheckFinite("learning_rate", o.learning_rate));
  CKPT_RETURN_IF_ERROR(CheckFinite("learning_rate_power", o.learning_rate_power));
  if (o.learning_rate_power > 0.0) {
    return InvalidArgumentError("learning_rate_power " + std::to_string(o.learning_rate_power) +
                                " needs to be negative or zero");
  }
  CKPT_RETURN_IF_ERROR(CheckNonNegative("initial_accumulator_value", o.initial_accumulator_value));
  CKPT_RETURN_IF_ERROR(CheckNonNegative("l1_regularization_strength", o.l1_regularization_strength));
  CKPT_RETURN_IF_ERROR(CheckNonNegative("l2_regularization_strength", o.l2_regularization_strength));
  CKPT_RETURN_IF_ERROR(CheckNonNegative("l2_shrinkage_regularization_strength",
                                        o.l2_shrinkage_regularization_strength));
  CKPT_RETURN_IF_ERROR(CheckNonNegative("beta", o.beta));
  return optimizers::MakeFtrl(o);
}

Optimizer::Optimizer(std::string name, double learning_rate, std::vector<SlotSpec> slot_specs,
                     std::vector<SlotSpec> non_slot_specs)
    : name_(std::move(name)),
      learning_rate_(learning_rate),
      slot_specs_(std::move(slot_specs)),
      non_slot_specs_(std::move(non_slot_specs)) {}

Optimizer::~Optimizer() = default;

std::vector<std::string> Optimizer::slot_names() const {
  std::vector<std::string> names;
  for (const SlotSpec& s : slot_specs_) names.push_back(s.name);
  return names;
}

std::vector<std::string> Optimizer::non_slot_names() const {
  std::vector<std::string> names;
  for (const SlotSpec& s : non_slot_specs_) names.push_back(s.name);
  return names;
}

Status Optimizer::AddVariable(const std::string& var_name, Tensor* var) {
  if (var_name.empty()) return InvalidArgumentError("AddVariable: empty variable name");
  if (var == nullptr) {
    return InvalidArgumentError("AddVariable: null tensor for variable \"" + var_name + "\"");
  }
  if (var->dtype() != DataType::kFloat && var->dtype() != DataType::kDouble) {
    return InvalidArgumentError("AddVariable: variable \"" + var_name + "\" has dtype " +
                                std::string(DataTypeName(var->dtype())) + "; the " + name_ +
                                " optimizer supports float and double");
  }
  if (var->is_view()) {
    return InvalidArgumentError("AddVariable: variable \"" + var_name +
                                "\" is a view; the optimizer updates it in place and needs "
                                "owning storage");
  }
  if (vars_.count(var_name) != 0) {
    return AlreadyExistsError("AddVariable: variable \"" + var_name +
                              "\" is already registered with the " + name_ + " optimizer");
  }
  Entry entry;
  entry.var = var;
  for (const SlotSpec& s : slot_specs_) {
    entry.slots.push_back(Filled(var->dtype(), var->shape(), s.initial_value));
  }
  if (order_.empty()) {
    for (const SlotSpec& s : non_slot_specs_) {
      non_slots_.push_back(Filled(var->dtype(), TensorShape(), s.initial_value));
    }
  }
  vars_.emplace(var_name, std::move(entry));
  order_.push_back(var_name);
  return Status::OK();
}

Status Optimizer::CheckGradient(const std::string& var_name, const Tensor& grad, Entry** entry) {
  auto it = vars_.find(var_name);
  if (it == vars_.end()) {
    return NotFoundError("Variable \"" + var_name + "\" is not registered with the " + name_ +
                         " optimizer (call AddVariable first)");
  }
  const Tensor& var = *it->second.var;
  if (grad.dtype() != var.dtype()) {
    return InvalidArgumentError("Gradient for \"" + var_name + "\" has dtype " +
                                std::string(DataTypeName(grad.dtype())) +
                                " but the variable has dtype " +
                                std::string(DataTypeName(var.dtype())));
  }
  if (grad.shape() != var.shape()) {
    return InvalidArgumentError("var and grad do not have the same shape" +
                                var.shape().DebugString() + " " + grad.shape().DebugString() +
                                " (variable \"" + var_name + "\")");
  }
  // The variable's shape may not change after registration (its slots were
  // allocated for it).
  for (const Tensor& slot : it->second.slots) {
    if (slot.shape() != var.shape()) {
      return FailedPreconditionError("Variable \"" + var_name + "\" changed shape from " +
                                     slot.shape().DebugString() + " to " +
                                     var.shape().DebugString() + " after AddVariable");
    }
  }
  *entry = &it->second;
  return Status::OK();
}

Status Optimizer::Apply(const std::string& var_name, const Tensor& grad) {
  Entry* entry = nullptr;
  CKPT_RETURN_IF_ERROR(CheckGradient(var_name, grad, &entry));
  SmallBuffer<double> non_slots(non_slots_.size());
  NonSlotValues(non_slots_, &non_slots);
  Tensor& var = *entry->var;
  if (var.dtype() == DataType::kFloat) {
    SmallBuffer<float*> slots(entry->slots.size());
    SlotPointers<float>(&entry->slots, &slots);
    UpdateFloat(var.num_elements(), var.mutable_flat<float>(), grad.flat<float>(), slots.data(),
                non_slots.data());
  } else {
    SmallBuffer<double*> slots(entry->slots.size());
    SlotPointers<double>(&entry->slots, &slots);
    UpdateDouble(var.num_elements(), var.mutable_flat<double>(), grad.flat<double>(),
                 slots.data(), non_slots.data());
  }
  return Status::OK();
}

void Optimizer::FinishStep() {
  if (!non_slots_.empty()) Finish(&non_slots_);
}

Status Optimizer::ApplyGradients(const std::vector<std::pair<std::string, Tensor>>& grads) {
  if (!combine_) return ApplyAll(grads);
  std::vector<std::pair<std::string, Tensor>> combined;
  combined.reserve(grads.size());
  for (const auto& [name, grad] : grads) combined.emplace_back(name, grad.Copy());
  CKPT_RETURN_IF_ERROR(combine_(&combined));
  return ApplyAll(combined);
}

Status Optimizer::ApplyAll(const std::vector<std::pair<std::string, Tensor>>& grads) {
  // Every gradient is checked (and its variable looked up) before anything
  // is updated.
  SmallBuffer<Entry*> entries(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    CKPT_RETURN_IF_ERROR(CheckGradient(grads[i].first, grads[i].second, &entries[i]));
  }
  SmallBuffer<double> non_slots(non_slots_.size());
  NonSlotValues(non_slots_, &non_slots);
  for (size_t i = 0; i < grads.size(); ++i) {
    Entry& entry = *entries[i];
    const Tensor& grad = grads[i].second;
    Tensor& var = *entry.var;
    if (var.dtype() == DataType::kFloat) {
      SmallBuffer<float*> slots(entry.slots.size());
      SlotPointers<float>(&entry.slots, &slots);
      UpdateFloat(var.num_elements(), var.mutable_flat<float>(), grad.flat<float>(), slots.data(),
                  non_slots.data());
    } else {
      SmallBuffer<double*> slots(entry.slots.size());
      SlotPointers<double>(&entry.slots, &slots);
      UpdateDouble(var.num_elements(), var.mutable_flat<double>(), grad.flat<double>(),
                   slots.data(), non_slots.data());
    }
  }
  FinishStep();
  return Status::OK();
}

Tensor* Optimizer::GetSlot(const std::string& var_name, std::string_view slot_name) {
  auto it = vars_.find(var_name);
  if (it == vars_.end()) return nullptr;
  for (size_t i = 0; i < slot_specs_.size(); ++i) {
    if (slot_specs_[i].name == slot_name || slot_specs_[i].internal_name == slot_name) {
      return &it->second.slots[i];
    }
  }
  return nullptr;
}

Tensor* Optimizer::GetNonSlot(std::string_view name) {
  for (size_t i = 0; i < non_slot_specs_.size() && i < non_slots_.size(); ++i) {
    if (non_slot_specs_[i].name == name) return &non_slots_[i];
  }
  return nullptr;
}

std::vector<Optimizer::SlotRef> Optimizer::slots() {
  std::vector<SlotRef> refs;
  for (const std::string& var_name : order_) {
    Entry& entry = vars_.at(var_name);
    for (size_t i = 0; i < slot_specs_.size(); ++i) {
      refs.push_back({var_name, slot_specs_[i].name, &entry.slots[i]});
    }
  }
  return refs;
}

}  // namespace ckpt
