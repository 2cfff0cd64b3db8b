// Optimizer updates against values computed from TF1's formulas (in the
// test, in double precision) for three steps, slot names and initial values,
// error handling, and saving slots with a Saver.
#include "ckpt/optimizer.h"

#include <cmath>
#include <functional>

#include "ckpt/saver.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;

constexpr double kLr = 0.05;
// Scalar variable 1.0 and gradients 0.5, -0.3, 0.8: values precomputed by
// hand from the update formulas (Python, double precision).
const std::vector<float> kScalarGrads = {0.5f, -0.3f, 0.8f};

std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.flat<float>(), t.flat<float>() + t.num_elements());
}

Tensor FloatTensor(std::vector<float> v) {
  return Tensor::FromVector<float>(TensorShape({static_cast<int64_t>(v.size())}), v);
}

// Runs three steps on a scalar-like [1] variable starting at 1.0.
void RunScalar(Optimizer* opt, Tensor* var) {
  *var = FloatTensor({1.0f});
  CKPT_ASSERT_OK(opt->AddVariable("w", var));
  for (float g : kScalarGrads) {
    CKPT_ASSERT_OK(opt->ApplyGradients({{"w", FloatTensor({g})}}));
  }
}

TEST(OptimizerScalarTest, GradientDescent) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("SGD"));
  EXPECT_EQ(opt->name(), "GradientDescent");
  EXPECT_TRUE(opt->slot_names().empty());
  Tensor var;
  RunScalar(opt.get(), &var);
  // 1 - 0.05 * (0.5 - 0.3 + 0.8)
  EXPECT_NEAR(var.flat<float>()[0], 0.95, 1e-6);
}

TEST(OptimizerScalarTest, Adagrad) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("Adagrad"));
  Tensor var;
  RunScalar(opt.get(), &var);
  EXPECT_NEAR(var.flat<float>()[0], 0.9418656201609313, 1e-6);
  EXPECT_NEAR(opt->GetSlot("w", "Adagrad")->flat<float>()[0], 1.08, 1e-6);  // 0.1 + sum g^2
}

TEST(OptimizerScalarTest, Adam) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("Adam"));
  Tensor var;
  RunScalar(opt.get(), &var);
  EXPECT_NEAR(var.flat<float>()[0], 0.9102483265412142, 2e-6);
  EXPECT_NEAR(opt->GetSlot("w", "Adam")->flat<float>()[0], 0.0935, 1e-7);
  // 1 - beta2 is computed in float32 (0.99999871e-3, as TF casts beta2 to
  // the variable's dtype): a relative difference of 1.3e-5 from 0.001.
  EXPECT_NEAR(opt->GetSlot("w", "Adam_1")->flat<float>()[0], 0.00097941025, 2e-8);
  EXPECT_NEAR(opt->GetNonSlot("beta1_power")->flat<float>()[0], 0.6561, 1e-7);  // 0.9^4
  EXPECT_NEAR(opt->GetNonSlot("beta2_power")->flat<float>()[0], 0.996005996001, 1e-7);
}

TEST(OptimizerScalarTest, RMSProp) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("RMSProp"));
  Tensor var;
  RunScalar(opt.get(), &var);
  EXPECT_NEAR(var.flat<float>()[0], 0.9462216925957235, 1e-6);
  EXPECT_NEAR(opt->GetSlot("w", "RMSProp")->flat<float>()[0], 0.82135, 1e-6);
  EXPECT_NEAR(opt->GetSlot("w", "RMSProp_1")->flat<float>()[0], 0.04413629366340129, 1e-6);
}

TEST(OptimizerScalarTest, Ftrl) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("Ftrl"));
  Tensor var;
  RunScalar(opt.get(), &var);
  EXPECT_NEAR(var.flat<float>()[0], 0.40734313633608255, 2e-6);
  EXPECT_NEAR(opt->GetSlot("w", "Ftrl")->flat<float>()[0], 1.08, 1e-6);
  EXPECT_NEAR(opt->GetSlot("w", "Ftrl_1")->flat<float>()[0], -8.466468098982613, 2e-5);
}

// ------------------------------------------------- vector, 3 steps, formulas

// A reference update in double: (var, grad, slots, non_slots, step) -> void.
using Reference = std::function<void(std::vector<double>* var, const std::vector<double>& grad,
                                     std::vector<std::vector<double>>* slots,
                                     std::vector<double>* non_slots)>;

struct Case {
  std::string label;
  std::function<Result<std::unique_ptr<Optimizer>>()> make;
  std::vector<std::string> slot_names;
  std::vector<double> slot_initial;
  std::vector<double> non_slot_initial;
  Reference reference;
};

const std::vector<std::vector<double>> kGrads = {
    {0.5, -1.0, 0.25, 0.0}, {0.1, 2.0, -0.75, 0.0}, {-0.3, 0.5, 0.25, 1.5}};
const std::vector<double> kInit = {1.0, -0.5, 2.0, 0.25};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back({"SGD", [] { return Optimizer::Create("SGD"); }, {}, {}, {},
                   [](auto* w, const auto& g, auto*, auto*) {
                     for (size_t i = 0; i < w->size(); ++i) (*w)[i] -= kLr * g[i];
                   }});
  cases.push_back({"Adagrad", [] { return Optimizer::Create("Adagrad"); }, {"Adagrad"}, {0.1}, {},
                   [](auto* w, const auto& g, auto* s, auto*) {
                     auto& acc = (*s)[0];
                     for (size_t i = 0; i < w->size(); ++i) {
                       acc[i] += g[i] * g[i];
                       (*w)[i] -= kLr * g[i] / std::sqrt(acc[i]);
                     }
                   }});
  cases.push_back({"Adam", [] { return Optimizer::Create("Adam"); }, {"Adam", "Adam_1"}, {0, 0},
                   {0.9, 0.999},
                   [](auto* w, const auto& g, auto* s, auto* ns) {
                     auto& m = (*s)[0];
                     auto& v = (*s)[1];
                     const double b1p = (*ns)[0], b2p = (*ns)[1];
                     const double lr_t = kLr * std::sqrt(1 - b2p) / (1 - b1p);
                     for (size_t i = 0; i < w->size(); ++i) {
                       m[i] = 0.9 * m[i] + 0.1 * g[i];
                       v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                       (*w)[i] -= lr_t * m[i] / (std::sqrt(v[i]) + 1e-8);
                     }
                     (*ns)[0] *= 0.9;
                     (*ns)[1] *= 0.999;
                   }});
  cases.push_back({"RMSProp", [] { return Optimizer::Create("RMSProp"); },
                   {"RMSProp", "RMSProp_1"}, {1, 0}, {},
                   [](auto* w, const auto& g, auto* s, auto*) {
                     auto& ms = (*s)[0];
                     auto& mom = (*s)[1];
                     for (size_t i = 0; i < w->size(); ++i) {
                       ms[i] = 0.9 * ms[i] + 0.1 * g[i] * g[i];
                       mom[i] = 0.0 * mom[i] + kLr * g[i] / std::sqrt(ms[i] + 1e-10);
                       (*w)[i] -= mom[i];
                     }
                   }});
  cases.push_back({"RMSPropCenteredMomentum",
                   [] {
                     RMSPropOptions o;
                     o.centered = true;
                     o.momentum = 0.9;
                     return Optimizer::RMSProp(o);
                   },
                   {"RMSProp", "RMSProp_1", "RMSProp_2"}, {1, 0, 0}, {},
                   [](auto* w, const auto& g, auto* s, auto*) {
                     auto& ms = (*s)[0];
                     auto& mg = (*s)[1];
                     auto& mom = (*s)[2];
                     for (size_t i = 0; i < w->size(); ++i) {
                       ms[i] = 0.9 * ms[i] + 0.1 * g[i] * g[i];
                       mg[i] = 0.9 * mg[i] + 0.1 * g[i];
                       mom[i] = 0.9 * mom[i] + kLr * g[i] / std::sqrt(ms[i] - mg[i] * mg[i] + 1e-10);
                       (*w)[i] -= mom[i];
                     }
                   }});
  cases.push_back({"Ftrl", [] { return Optimizer::Create("Ftrl"); }, {"Ftrl", "Ftrl_1"}, {0.1, 0},
                   {},
                   [](auto* w, const auto& g, auto* s, auto*) {
                     auto& n = (*s)[0];
                     auto& z = (*s)[1];
                     for (size_t i = 0; i < w->size(); ++i) {
                       const double n_new = n[i] + g[i] * g[i];
                       const double sigma = (std::sqrt(n_new) - std::sqrt(n[i])) / kLr;
                       z[i] += g[i] - sigma * (*w)[i];
                       n[i] = n_new;
                       // l1 = l2 = 0: w = -z / (sqrt(n) / lr)
                       (*w)[i] = z[i] == 0 ? 0 : -z[i] * kLr / std::sqrt(n[i]);
                     }
                   }});
  cases.push_back({"FtrlL1L2PowerShrinkage",
                   [] {
                     FtrlOptions o;
                     o.l1_regularization_strength = 0.01;
                     o.l2_regularization_strength = 0.2;
                     o.learning_rate_power = -0.6;
                     o.l2_shrinkage_regularization_strength = 0.1;
                     return Optimizer::Ftrl(o);
                   },
                   {"Ftrl", "Ftrl_1"}, {0.1, 0}, {},
                   [](auto* w, const auto& g, auto* s, auto*) {
                     auto& n = (*s)[0];
                     auto& z = (*s)[1];
                     const double l1 = 0.01, l2 = 0.2, p = 0.6, shrink = 0.1;
                     for (size_t i = 0; i < w->size(); ++i) {
                       const double g_shrunk = g[i] + 2 * shrink * (*w)[i];
                       const double n_new = n[i] + g[i] * g[i];
                       z[i] += g_shrunk - (std::pow(n_new, p) - std::pow(n[i], p)) / kLr * (*w)[i];
                       n[i] = n_new;
                       const double q = std::pow(n[i], p) / kLr + 2 * l2;
                       (*w)[i] = std::abs(z[i]) > l1 ? (l1 * (z[i] > 0 ? 1 : -1) - z[i]) / q : 0;
                     }
                   }});
  return cases;
}

class OptimizerFormulaTest : public ::testing::TestWithParam<Case> {};

TEST_P(OptimizerFormulaTest, ThreeStepsMatchFormulas) {
  const Case& c = GetParam();
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, c.make());
  EXPECT_EQ(opt->slot_names(), c.slot_names);
  Tensor var = FloatTensor(std::vector<float>(kInit.begin(), kInit.end()));
  CKPT_ASSERT_OK(opt->AddVariable("layer/kernel", &var));
  for (size_t k = 0; k < c.slot_names.size(); ++k) {
    Tensor* slot = opt->GetSlot("layer/kernel", c.slot_names[k]);
    ASSERT_NE(slot, nullptr) << c.slot_names[k];
    EXPECT_EQ(slot->shape(), var.shape());
    for (float v : Values(*slot)) EXPECT_FLOAT_EQ(v, c.slot_initial[k]) << c.slot_names[k];
  }

  std::vector<double> w = kInit;
  std::vector<std::vector<double>> slots;
  for (double init : c.slot_initial) slots.emplace_back(w.size(), init);
  std::vector<double> non_slots = c.non_slot_initial;
  for (const auto& g : kGrads) {
    c.reference(&w, g, &slots, &non_slots);
    CKPT_ASSERT_OK(opt->ApplyGradients(
        {{"layer/kernel", FloatTensor(std::vector<float>(g.begin(), g.end()))}}));
    const std::vector<float> got = Values(var);
    for (size_t i = 0; i < w.size(); ++i) {
      EXPECT_NEAR(got[i], w[i], 2e-6 * std::max(1.0, std::abs(w[i]))) << c.label << " var " << i;
    }
    for (size_t k = 0; k < slots.size(); ++k) {
      const std::vector<float> s = Values(*opt->GetSlot("layer/kernel", c.slot_names[k]));
      for (size_t i = 0; i < w.size(); ++i) {
        EXPECT_NEAR(s[i], slots[k][i], 2e-6 * std::max(1.0, std::abs(slots[k][i])))
            << c.label << " slot " << c.slot_names[k] << " element " << i;
      }
    }
  }
  // The variable moved (a no-op update would not be caught otherwise).
  EXPECT_NE(Values(var), std::vector<float>(kInit.begin(), kInit.end()));
}

TEST_P(OptimizerFormulaTest, DoubleVariablesMatchFormulasClosely) {
  const Case& c = GetParam();
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, c.make());
  Tensor var = Tensor::FromVector<double>(TensorShape({4}), kInit);
  CKPT_ASSERT_OK(opt->AddVariable("v", &var));
  std::vector<double> w = kInit;
  std::vector<std::vector<double>> slots;
  for (double init : c.slot_initial) slots.emplace_back(w.size(), init);
  std::vector<double> non_slots = c.non_slot_initial;
  for (const auto& g : kGrads) {
    c.reference(&w, g, &slots, &non_slots);
    CKPT_ASSERT_OK(opt->ApplyGradients({{"v", Tensor::FromVector<double>(TensorShape({4}), g)}}));
  }
  for (size_t i = 0; i < w.size(); ++i) {
    // Adam's hyperparameters go through float32 in TF only for float
    // variables; in double the formulas agree to rounding.
    EXPECT_NEAR(var.flat<double>()[i], w[i], 1e-12) << c.label << " element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(All, OptimizerFormulaTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.label; });

// ---------------------------------------------------------------- contract

TEST(OptimizerTest, FactoryNamesAndLearningRate) {
  for (const char* name : {"Adagrad", "Adam", "Ftrl", "RMSProp", "SGD"}) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create(name));
    EXPECT_DOUBLE_EQ(opt->learning_rate(), 0.05) << name;
  }
  CKPT_ASSERT_OK_AND_ASSIGN(auto adam, Optimizer::Create("Adam", 0.01));
  EXPECT_DOUBLE_EQ(adam->learning_rate(), 0.01);
  EXPECT_EQ(adam->non_slot_names(), (std::vector<std::string>{"beta1_power", "beta2_power"}));
  EXPECT_THAT(Optimizer::Create("Adadelta"),
              StatusIs(StatusCode::kInvalidArgument, "Unsupported optimizer name: \"Adadelta\""));
  EXPECT_THAT(Optimizer::Create("adagrad"), StatusIs(StatusCode::kInvalidArgument, "'Adagrad'"));
  EXPECT_THAT(Optimizer::Create("SGD", std::nan("")),
              StatusIs(StatusCode::kInvalidArgument, "learning_rate must be finite"));
}

TEST(OptimizerTest, HyperparameterValidation) {
  AdagradOptions ada;
  ada.initial_accumulator_value = 0;
  EXPECT_THAT(Optimizer::Adagrad(ada),
              StatusIs(StatusCode::kInvalidArgument, "initial_accumulator_value must be positive"));
  FtrlOptions f;
  f.learning_rate_power = 0.5;
  EXPECT_THAT(Optimizer::Ftrl(f), StatusIs(StatusCode::kInvalidArgument, "negative or zero"));
  f = FtrlOptions();
  f.l1_regularization_strength = -1;
  EXPECT_THAT(Optimizer::Ftrl(f),
              StatusIs(StatusCode::kInvalidArgument, "l1_regularization_strength"));
  f = FtrlOptions();
  f.initial_accumulator_value = -0.1;
  EXPECT_THAT(Optimizer::Ftrl(f), StatusIs(StatusCode::kInvalidArgument, "positive or zero"));
}

TEST(OptimizerTest, SlotsByInternalNameAndOrder) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("Adam"));
  Tensor a = FloatTensor({1, 2}), b = FloatTensor({3});
  CKPT_ASSERT_OK(opt->AddVariable("b_second", &a));
  CKPT_ASSERT_OK(opt->AddVariable("a_first", &b));
  EXPECT_EQ(opt->GetSlot("b_second", "m"), opt->GetSlot("b_second", "Adam"));
  EXPECT_EQ(opt->GetSlot("b_second", "v"), opt->GetSlot("b_second", "Adam_1"));
  EXPECT_EQ(opt->GetSlot("b_second", "Adam_2"), nullptr);
  EXPECT_EQ(opt->GetSlot("nope", "Adam"), nullptr);
  EXPECT_EQ(opt->GetNonSlot("beta3_power"), nullptr);
  EXPECT_THAT(opt->variable_names(), ElementsAre("b_second", "a_first"));
  std::vector<std::string> listed;
  for (const auto& s : opt->slots()) listed.push_back(s.var_name + "/" + s.slot_name);
  EXPECT_THAT(listed, ElementsAre("b_second/Adam", "b_second/Adam_1", "a_first/Adam",
                                  "a_first/Adam_1"));
  // Non-slot variables are scalars created once.
  EXPECT_EQ(opt->GetNonSlot("beta1_power")->shape(), TensorShape());
  EXPECT_FLOAT_EQ(opt->GetNonSlot("beta1_power")->flat<float>()[0], 0.9f);
  EXPECT_FLOAT_EQ(opt->GetNonSlot("beta2_power")->flat<float>()[0], 0.999f);
}

TEST(OptimizerTest, RegistrationErrors) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("Adagrad"));
  Tensor var = FloatTensor({1, 2});
  CKPT_ASSERT_OK(opt->AddVariable("w", &var));
  EXPECT_THAT(opt->AddVariable("w", &var), StatusIs(StatusCode::kAlreadyExists, "\"w\""));
  EXPECT_THAT(opt->AddVariable("x", nullptr), StatusIs(StatusCode::kInvalidArgument, "null"));
  EXPECT_THAT(opt->AddVariable("", &var), StatusIs(StatusCode::kInvalidArgument, "empty"));
  Tensor ints = Tensor::FromVector<int32_t>(TensorShape({2}), {1, 2});
  EXPECT_THAT(opt->AddVariable("i", &ints), StatusIs(StatusCode::kInvalidArgument, "dtype int32"));
  float raw[2] = {1, 2};
  Tensor view = Tensor::View(DataType::kFloat, TensorShape({2}), raw);
  EXPECT_THAT(opt->AddVariable("view", &view), StatusIs(StatusCode::kInvalidArgument, "view"));
}

TEST(OptimizerTest, BadGradientsChangeNothing) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("Adagrad"));
  Tensor w = FloatTensor({1, 2}), b = FloatTensor({3});
  CKPT_ASSERT_OK(opt->AddVariable("w", &w));
  CKPT_ASSERT_OK(opt->AddVariable("b", &b));
  EXPECT_THAT(opt->Apply("missing", FloatTensor({1})), StatusIs(StatusCode::kNotFound, "missing"));
  EXPECT_THAT(opt->Apply("w", FloatTensor({1, 2, 3})),
              StatusIs(StatusCode::kInvalidArgument,
                       "var and grad do not have the same shape[2] [3]"));
  EXPECT_THAT(opt->Apply("w", Tensor::FromVector<double>(TensorShape({2}), {1, 2})),
              StatusIs(StatusCode::kInvalidArgument, "dtype double"));
  // ApplyGradients checks everything first: the good "w" is not applied.
  EXPECT_THAT(opt->ApplyGradients({{"w", FloatTensor({1, 1})}, {"b", FloatTensor({1, 1})}}),
              StatusIs(StatusCode::kInvalidArgument, "same shape"));
  EXPECT_EQ(Values(w), (std::vector<float>{1, 2}));
  EXPECT_EQ(Values(*opt->GetSlot("w", "Adagrad")), (std::vector<float>{0.1f, 0.1f}));
  // A variable replaced by one of another shape is caught.
  w = FloatTensor({1, 2, 3});
  EXPECT_THAT(opt->Apply("w", FloatTensor({1, 1, 1})),
              StatusIs(StatusCode::kFailedPrecondition, "changed shape"));
}

TEST(OptimizerTest, AdamBetaPowersAdvanceOncePerStep) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("Adam"));
  Tensor a = FloatTensor({1}), b = FloatTensor({1});
  CKPT_ASSERT_OK(opt->AddVariable("a", &a));
  CKPT_ASSERT_OK(opt->AddVariable("b", &b));
  // Two variables in one step: the powers advance once, and both updates use
  // the same (first-step) bias correction, so equal gradients give equal moves.
  CKPT_ASSERT_OK(opt->ApplyGradients({{"a", FloatTensor({0.5f})}, {"b", FloatTensor({0.5f})}}));
  EXPECT_FLOAT_EQ(opt->GetNonSlot("beta1_power")->flat<float>()[0], 0.9f * 0.9f);
  EXPECT_EQ(a.flat<float>()[0], b.flat<float>()[0]);
  // First Adam step moves by ~lr (m_hat / sqrt(v_hat) = sign(g)).
  EXPECT_NEAR(a.flat<float>()[0], 1.0 - 0.05, 1e-6);
  // Apply without FinishStep leaves the powers.
  CKPT_ASSERT_OK(opt->Apply("a", FloatTensor({0.5f})));
  EXPECT_FLOAT_EQ(opt->GetNonSlot("beta1_power")->flat<float>()[0], 0.9f * 0.9f);
  opt->FinishStep();
  EXPECT_FLOAT_EQ(opt->GetNonSlot("beta1_power")->flat<float>()[0], 0.9f * 0.9f * 0.9f);
}

TEST(OptimizerTest, SlotsSaveAndRestoreWithSaver) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, Optimizer::Create("Adam"));
  Tensor w = FloatTensor({1, 2, 3});
  CKPT_ASSERT_OK(opt->AddVariable("dense/kernel", &w));
  CKPT_ASSERT_OK(opt->ApplyGradients({{"dense/kernel", FloatTensor({0.1f, -0.2f, 0.3f})}}));
  VarList vars = {{"dense/kernel", &w}};
  for (const auto& s : opt->slots()) vars.push_back({s.var_name + "/" + s.slot_name, s.tensor});
  for (const std::string& n : opt->non_slot_names()) vars.push_back({n, opt->GetNonSlot(n)});
  const std::vector<float> m_saved = Values(*opt->GetSlot("dense/kernel", "Adam"));
  const float b1_saved = opt->GetNonSlot("beta1_power")->flat<float>()[0];

  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(vars));
  const std::string dir = ::ckpt::testing::TempDir();
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, saver->Save(dir + "/model.ckpt"));
  CKPT_ASSERT_OK(opt->ApplyGradients({{"dense/kernel", FloatTensor({1, 1, 1})}}));
  EXPECT_NE(Values(*opt->GetSlot("dense/kernel", "Adam")), m_saved);
  CKPT_ASSERT_OK(saver->Restore(prefix));
  EXPECT_EQ(Values(*opt->GetSlot("dense/kernel", "Adam")), m_saved);
  EXPECT_EQ(opt->GetNonSlot("beta1_power")->flat<float>()[0], b1_saved);
}

// The updates run as SIMD expressions over whole arrays; element by element
// they are the same float operations, so a 37-element variable (full SIMD
// packets and a scalar tail) ends bit for bit where 37 one-element
// variables given the same gradients end.
TEST(OptimizerTest, VectorisedUpdatesEqualElementwiseUpdates) {
  std::vector<std::function<Result<std::unique_ptr<Optimizer>>()>> makers = {
      [] { return Optimizer::Create("SGD"); },
      [] { return Optimizer::Create("Adagrad"); },
      [] { return Optimizer::Create("Adam", 0.01); },
      [] { return Optimizer::RMSProp({.learning_rate = 0.01, .momentum = 0.5}); },
      [] {
        return Optimizer::RMSProp({.learning_rate = 0.01, .momentum = 0.9, .centered = true});
      },
      [] { return Optimizer::Create("Ftrl"); },
  };
  constexpr int kN = 37;
  for (auto& make : makers) {
    CKPT_ASSERT_OK_AND_ASSIGN(auto whole, make());
    CKPT_ASSERT_OK_AND_ASSIGN(auto parts, make());
    SCOPED_TRACE(whole->name());
    std::vector<float> init(kN);
    for (int i = 0; i < kN; ++i) init[i] = 0.1f * static_cast<float>(i) - 1.7f;
    Tensor var = FloatTensor(init);
    CKPT_ASSERT_OK(whole->AddVariable("w", &var));
    std::vector<Tensor> singles(kN);
    for (int i = 0; i < kN; ++i) {
      singles[i] = FloatTensor({init[i]});
      CKPT_ASSERT_OK(parts->AddVariable("w" + std::to_string(i), &singles[i]));
    }
    for (int step = 0; step < 3; ++step) {
      std::vector<float> g(kN);
      for (int i = 0; i < kN; ++i) g[i] = std::sin(0.7f * static_cast<float>(i + 5 * step));
      CKPT_ASSERT_OK(whole->ApplyGradients({{"w", FloatTensor(g)}}));
      std::vector<std::pair<std::string, Tensor>> grads;
      for (int i = 0; i < kN; ++i) grads.emplace_back("w" + std::to_string(i), FloatTensor({g[i]}));
      CKPT_ASSERT_OK(parts->ApplyGradients(grads));
    }
    for (int i = 0; i < kN; ++i) {
      EXPECT_EQ(var.flat<float>()[i], singles[i].flat<float>()[0]) << i;
      EXPECT_NE(var.flat<float>()[i], init[i]) << i;
    }
  }
}

}  // namespace
}  // namespace ckpt
