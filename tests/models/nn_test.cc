// Gradient checks (central finite differences in double precision) and
// forward-pass values for the DNN building blocks.
#include <cmath>
#include <functional>

#include "models/nn/batch_norm.h"
#include "models/nn/feature_major.h"
#include "models/nn/init.h"
#include "models/nn/layers.h"
#include "models/nn/loss.h"
#include "models/nn/types.h"
#include "testutil/testutil.h"

namespace ckpt::nn {
namespace {

using ::ckpt::testing::StatusIs;
using M = Matrix<double>;
using V = RowVector<double>;

M RandomMatrix(int rows, int cols, Rng* rng, double lo = -1, double hi = 1) {
  M m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = lo + (hi - lo) * rng->UniformDouble();
  return m;
}

V RandomVector(int n, Rng* rng, double lo = -1, double hi = 1) {
  return RandomMatrix(1, n, rng, lo, hi);
}

// Compares analytic gradient `analytic` of loss() with respect to every
// element of *param against central differences.
template <typename Mat>
void ExpectGradientMatches(const std::function<double()>& loss, Mat* param, const Mat& analytic,
                           const char* what) {
  ASSERT_EQ(param->rows(), analytic.rows()) << what;
  ASSERT_EQ(param->cols(), analytic.cols()) << what;
  constexpr double kH = 1e-6;
  double max_err = 0;
  for (Eigen::Index i = 0; i < param->size(); ++i) {
    const double saved = param->data()[i];
    param->data()[i] = saved + kH;
    const double plus = loss();
    param->data()[i] = saved - kH;
    const double minus = loss();
    param->data()[i] = saved;
    const double numeric = (plus - minus) / (2 * kH);
    const double a = analytic.data()[i];
    const double err = std::abs(numeric - a) / std::max(1.0, std::abs(numeric));
    max_err = std::max(max_err, err);
    EXPECT_LT(err, 1e-6) << what << " element " << i << ": analytic " << a << " numeric "
                         << numeric;
  }
  // Guard against a vacuous check (all-zero gradients pass trivially).
  EXPECT_GT(analytic.norm(), 1e-3) << what << ": gradient unexpectedly ~0";
}

// Weighted sum of the outputs: d loss / d output = weights.
double WeightedSum(const M& y, const M& weights) { return y.cwiseProduct(weights).sum(); }

TEST(DenseTest, ForwardValues) {
  M x(2, 3);
  x << 1, 2, 3, 4, 5, 6;
  M w(3, 2);
  w << 1, 0, 0, 1, 1, -1;
  V b(2);
  b << 0.5, -0.5;
  CKPT_ASSERT_OK_AND_ASSIGN(M y, DenseForward<double>(x, w, b));
  M expected(2, 2);
  expected << 1 + 3 + 0.5, 2 - 3 - 0.5, 4 + 6 + 0.5, 5 - 6 - 0.5;
  EXPECT_TRUE(y.isApprox(expected)) << y;
}

TEST(DenseTest, GradientsMatchFiniteDifferences) {
  Rng rng(1);
  M x = RandomMatrix(5, 4, &rng);
  M w = RandomMatrix(4, 3, &rng);
  V b = RandomVector(3, &rng);
  const M r = RandomMatrix(5, 3, &rng);
  auto loss = [&] { return WeightedSum(DenseForward<double>(x, w, b).value(), r); };
  CKPT_ASSERT_OK_AND_ASSIGN(DenseGradients<double> g, DenseBackward<double>(x, w, r));
  ExpectGradientMatches<M>(loss, &x, g.d_input, "d_input");
  ExpectGradientMatches<M>(loss, &w, g.d_kernel, "d_kernel");
  ExpectGradientMatches<V>(loss, &b, g.d_bias, "d_bias");
}

TEST(DenseTest, ShapeMismatchIsInvalidArgument) {
  M x(2, 3), w(4, 2), dy(2, 2);
  V b(2);
  EXPECT_THAT(DenseForward<double>(x, w, b),
              StatusIs(StatusCode::kInvalidArgument, "input [2,3] does not match kernel [4,2]"));
  M w2(3, 2);
  V b3(3);
  EXPECT_THAT(DenseForward<double>(x, w2, b3),
              StatusIs(StatusCode::kInvalidArgument, "bias of size 3"));
  EXPECT_THAT(DenseBackward<double>(x, w, dy), StatusIs(StatusCode::kInvalidArgument, "d_output"));
}

TEST(DenseTest, FloatMatchesDouble) {
  Rng rng(2);
  M x = RandomMatrix(3, 4, &rng), w = RandomMatrix(4, 2, &rng);
  V b = RandomVector(2, &rng);
  CKPT_ASSERT_OK_AND_ASSIGN(Matrix<float> yf, DenseForward<float>(x.cast<float>(), w.cast<float>(),
                                                                  b.cast<float>()));
  CKPT_ASSERT_OK_AND_ASSIGN(M yd, DenseForward<double>(x, w, b));
  EXPECT_LT((yf.cast<double>() - yd).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(ReluTest, ForwardAndGradient) {
  Rng rng(3);
  // Values away from the kink at 0, both signs.
  M x = RandomMatrix(4, 5, &rng, 0.1, 1.0);
  for (Eigen::Index i = 0; i < x.size(); i += 2) x.data()[i] = -x.data()[i];
  const M y = Relu<double>(x);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y.data()[i], x.data()[i] > 0 ? x.data()[i] : 0.0);
  }
  const M r = RandomMatrix(4, 5, &rng);
  auto loss = [&] { return WeightedSum(Relu<double>(x), r); };
  CKPT_ASSERT_OK_AND_ASSIGN(M dx, ReluBackward<double>(Relu<double>(x), r));
  ExpectGradientMatches<M>(loss, &x, dx, "relu d_input");
  EXPECT_THAT(ReluBackward<double>(M(2, 2), M(2, 3)),
              StatusIs(StatusCode::kInvalidArgument, "differ in shape"));
}

TEST(DenseReluStackTest, TwoLayerGradient) {
  // A hidden layer with relu feeding logits: the chain rule end to end.
  Rng rng(4);
  M x = RandomMatrix(6, 4, &rng);
  M w1 = RandomMatrix(4, 5, &rng), w2 = RandomMatrix(5, 3, &rng);
  V b1 = RandomVector(5, &rng, 0.2, 0.5), b2 = RandomVector(3, &rng);
  const std::vector<int64_t> labels = {0, 1, 2, 2, 1, 0};
  auto forward = [&](M* h_pre, M* h) {
    *h_pre = DenseForward<double>(x, w1, b1).value();
    *h = Relu<double>(*h_pre);
    return DenseForward<double>(*h, w2, b2).value();
  };
  auto loss = [&] {
    M hp, h;
    return SparseSoftmaxCrossEntropy<double>(forward(&hp, &h), labels).value().loss;
  };
  M hp, h;
  const M logits = forward(&hp, &h);
  auto ce = SparseSoftmaxCrossEntropy<double>(logits, labels).value();
  auto g2 = DenseBackward<double>(h, w2, ce.d_logits).value();
  const M dh_pre = ReluBackward<double>(h, g2.d_input).value();
  auto g1 = DenseBackward<double>(x, w1, dh_pre).value();
  ExpectGradientMatches<M>(loss, &w1, g1.d_kernel, "w1");
  ExpectGradientMatches<V>(loss, &b1, g1.d_bias, "b1");
  ExpectGradientMatches<M>(loss, &w2, g2.d_kernel, "w2");
  ExpectGradientMatches<V>(loss, &b2, g2.d_bias, "b2");
}

TEST(SoftmaxTest, ValuesAndStability) {
  M logits(2, 3);
  logits << 1, 2, 3, 1000, 1000, 1000;
  const M p = Softmax<double>(logits);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(p(0, 0), std::exp(1.0) / z, 1e-15);
  EXPECT_NEAR(p(0, 2), std::exp(3.0) / z, 1e-15);
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(p(1, j), 1.0 / 3, 1e-15);  // no overflow
  const M lp = LogSoftmax<double>(logits);
  EXPECT_NEAR(lp(1, 0), -std::log(3.0), 1e-12);
  EXPECT_NEAR(lp(0, 1), 2.0 - std::log(z), 1e-12);
}

TEST(CrossEntropyTest, SumReductionValues) {
  M logits(2, 3);
  logits << 1, 2, 3, 0, 0, 0;
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, SparseSoftmaxCrossEntropy<double>(logits, {2, 0}));
  const double loss0 = -std::log(std::exp(3.0) / z);
  const double loss1 = std::log(3.0);
  EXPECT_NEAR(r.losses(0), loss0, 1e-12);
  EXPECT_NEAR(r.losses(1), loss1, 1e-12);
  EXPECT_NEAR(r.loss, loss0 + loss1, 1e-12);  // SUM, not mean
  // d loss / d logits = softmax - onehot, not divided by the batch size.
  EXPECT_NEAR(r.d_logits(0, 2), std::exp(3.0) / z - 1, 1e-12);
  EXPECT_NEAR(r.d_logits(1, 0), 1.0 / 3 - 1, 1e-12);
  EXPECT_NEAR(r.d_logits(1, 1), 1.0 / 3, 1e-12);
}

TEST(CrossEntropyTest, UniformLogitsOnIrisBatchIsBatchTimesLog3) {
  // 100 examples, 3 classes, all-zero logits: loss = 100 * ln 3 = 109.86.
  M logits = M::Zero(100, 3);
  std::vector<int64_t> labels(100);
  for (int i = 0; i < 100; ++i) labels[i] = i % 3;
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, SparseSoftmaxCrossEntropy<double>(logits, labels));
  EXPECT_NEAR(r.loss, 100 * std::log(3.0), 1e-9);
  EXPECT_NEAR(r.loss / 100, std::log(3.0), 1e-12);  // average_loss
}

TEST(CrossEntropyTest, GradientMatchesFiniteDifferences) {
  Rng rng(5);
  M logits = RandomMatrix(7, 4, &rng, -3, 3);
  const std::vector<int64_t> labels = {0, 3, 1, 2, 2, 0, 3};
  auto loss = [&] { return SparseSoftmaxCrossEntropy<double>(logits, labels).value().loss; };
  CKPT_ASSERT_OK_AND_ASSIGN(auto r, SparseSoftmaxCrossEntropy<double>(logits, labels));
  ExpectGradientMatches<M>(loss, &logits, r.d_logits, "d_logits");
}

TEST(CrossEntropyTest, BadLabels) {
  M logits = M::Zero(3, 3);
  EXPECT_THAT(SparseSoftmaxCrossEntropy<double>(logits, {1, 3, 0}),
              StatusIs(StatusCode::kInvalidArgument,
                       "Received a label value of 3 which is outside the valid range of [0, 3)."
                       "  Label values: 1 3 0"));
  EXPECT_THAT(SparseSoftmaxCrossEntropy<double>(logits, {1, -1, 0}),
              StatusIs(StatusCode::kInvalidArgument, "label value of -1"));
  EXPECT_THAT(SparseSoftmaxCrossEntropy<double>(logits, {1, 2}),
              StatusIs(StatusCode::kInvalidArgument,
                       "logits shape [3,3] and labels shape [2]"));
}

TEST(GlorotUniformTest, LimitsOfTheCannedDnn) {
  EXPECT_NEAR(GlorotUniformLimit(4, 10), 0.6547, 1e-4);
  EXPECT_NEAR(GlorotUniformLimit(10, 10), 0.5477, 1e-4);
  EXPECT_NEAR(GlorotUniformLimit(10, 3), 0.6794, 1e-4);
}

TEST(GlorotUniformTest, RangeDeterminismAndMoments) {
  Rng a(42), b(42), c(43);
  CKPT_ASSERT_OK_AND_ASSIGN(Matrix<float> wa, GlorotUniform<float>(4, 10, &a));
  CKPT_ASSERT_OK_AND_ASSIGN(Matrix<float> wb, GlorotUniform<float>(4, 10, &b));
  CKPT_ASSERT_OK_AND_ASSIGN(Matrix<float> wc, GlorotUniform<float>(4, 10, &c));
  EXPECT_EQ(wa.rows(), 4);
  EXPECT_EQ(wa.cols(), 10);
  EXPECT_EQ(wa, wb);
  EXPECT_NE(wa, wc);
  const float r = static_cast<float>(GlorotUniformLimit(4, 10));
  EXPECT_LE(wa.cwiseAbs().maxCoeff(), r);

  Rng big(7);
  CKPT_ASSERT_OK_AND_ASSIGN(M w, GlorotUniform<double>(300, 300, &big));
  const double limit = GlorotUniformLimit(300, 300);
  EXPECT_LE(w.cwiseAbs().maxCoeff(), limit);
  EXPECT_GT(w.cwiseAbs().maxCoeff(), 0.99 * limit);
  EXPECT_NEAR(w.mean(), 0.0, 0.01 * limit);
  // Var of U(-r, r) is r^2 / 3.
  EXPECT_NEAR(w.array().square().mean(), limit * limit / 3, 0.02 * limit * limit / 3);
}

TEST(GlorotUniformTest, BadArguments) {
  Rng rng(1);
  EXPECT_THAT(GlorotUniform<float>(0, 0, &rng), StatusIs(StatusCode::kInvalidArgument, "fan_in 0"));
  EXPECT_THAT(GlorotUniform<float>(-1, 3, &rng), StatusIs(StatusCode::kInvalidArgument, "fan_in -1"));
  EXPECT_THAT(GlorotUniform<float>(2, 3, nullptr), StatusIs(StatusCode::kInvalidArgument, "null rng"));
}

TEST(DropoutTest, KeepsAndScales) {
  Rng rng(9);
  const M x = M::Constant(100, 100, 3.0);
  CKPT_ASSERT_OK_AND_ASSIGN(auto d, DropoutForward<double>(x, 0.25, &rng));
  int kept = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double y = d.output.data()[i];
    if (y != 0) {
      ++kept;
      EXPECT_DOUBLE_EQ(y, 3.0 / 0.75);
      EXPECT_DOUBLE_EQ(d.scale.data()[i], 1 / 0.75);
    } else {
      EXPECT_EQ(d.scale.data()[i], 0.0);
    }
  }
  EXPECT_NEAR(kept / 10000.0, 0.75, 0.02);
  // Backward multiplies by the same mask.
  const M dy = M::Constant(100, 100, 1.0);
  CKPT_ASSERT_OK_AND_ASSIGN(M dx, DropoutBackward<double>(d.scale, dy));
  EXPECT_EQ(dx, d.scale);
  // Same seed, same mask.
  Rng rng2(9);
  EXPECT_EQ(DropoutForward<double>(x, 0.25, &rng2).value().scale, d.scale);
}

TEST(DropoutTest, RateZeroIsIdentityAndBadRatesFail) {
  Rng rng(1);
  const M x = RandomMatrix(3, 3, &rng);
  CKPT_ASSERT_OK_AND_ASSIGN(auto d, DropoutForward<double>(x, 0.0, &rng));
  EXPECT_EQ(d.output, x);
  EXPECT_THAT(DropoutForward<double>(x, 1.0, &rng),
              StatusIs(StatusCode::kInvalidArgument, "range [0, 1)"));
  EXPECT_THAT(DropoutForward<double>(x, -0.1, &rng),
              StatusIs(StatusCode::kInvalidArgument, "range [0, 1)"));
}

TEST(BatchNormTest, TrainingForwardAndMovingAverages) {
  M x(4, 2);
  x << 1, 10, 2, 20, 3, 30, 4, 40;
  V gamma(2), beta(2), mm = V::Zero(2), mv = V::Ones(2);
  gamma << 2, 1;
  beta << 0.5, -1;
  BatchNormConfig config;  // momentum 0.999, epsilon 0.001
  BatchNormCache<double> cache;
  CKPT_ASSERT_OK_AND_ASSIGN(M y, BatchNormTrain<double>(x, gamma, beta, &mm, &mv, config, &cache));
  // Column 0: mean 2.5, biased variance 1.25.
  const double inv0 = 1 / std::sqrt(1.25 + 0.001);
  EXPECT_NEAR(y(0, 0), 2 * (1 - 2.5) * inv0 + 0.5, 1e-12);
  EXPECT_NEAR(y(3, 0), 2 * (4 - 2.5) * inv0 + 0.5, 1e-12);
  // Column 1: mean 25, variance 125.
  EXPECT_NEAR(y(1, 1), (20 - 25) / std::sqrt(125.001) - 1, 1e-12);
  // Moving statistics: moving -= (moving - batch) * (1 - momentum).
  EXPECT_NEAR(mm(0), 0.001 * 2.5, 1e-15);
  EXPECT_NEAR(mm(1), 0.001 * 25, 1e-14);
  EXPECT_NEAR(mv(0), 1 - (1 - 1.25) * 0.001, 1e-15);
  EXPECT_NEAR(mv(1), 1 - (1 - 125) * 0.001, 1e-13);

  // Inference uses the moving statistics and leaves them alone.
  CKPT_ASSERT_OK_AND_ASSIGN(M yi, BatchNormInference<double>(x, gamma, beta, mm, mv, config, nullptr));
  EXPECT_NEAR(yi(0, 0), 2 * (1 - mm(0)) / std::sqrt(mv(0) + 0.001) + 0.5, 1e-12);
}

TEST(BatchNormTest, TrainingGradientsMatchFiniteDifferences) {
  Rng rng(11);
  M x = RandomMatrix(6, 3, &rng, -2, 2);
  V gamma = RandomVector(3, &rng, 0.5, 1.5), beta = RandomVector(3, &rng);
  const M r = RandomMatrix(6, 3, &rng);
  BatchNormConfig config;
  auto loss = [&] {
    V mm = V::Zero(3), mv = V::Ones(3);
    return WeightedSum(
        BatchNormTrain<double>(x, gamma, beta, &mm, &mv, config, nullptr).value(), r);
  };
  V mm = V::Zero(3), mv = V::Ones(3);
  BatchNormCache<double> cache;
  CKPT_ASSERT_OK(BatchNormTrain<double>(x, gamma, beta, &mm, &mv, config, &cache).status());
  CKPT_ASSERT_OK_AND_ASSIGN(auto g, BatchNormBackward<double>(r, gamma, cache));
  ExpectGradientMatches<M>(loss, &x, g.d_input, "bn d_input");
  ExpectGradientMatches<V>(loss, &gamma, g.d_gamma, "bn d_gamma");
  ExpectGradientMatches<V>(loss, &beta, g.d_beta, "bn d_beta");
}

TEST(BatchNormTest, InferenceGradientsMatchFiniteDifferences) {
  Rng rng(12);
  M x = RandomMatrix(5, 3, &rng, -2, 2);
  V gamma = RandomVector(3, &rng, 0.5, 1.5), beta = RandomVector(3, &rng);
  const V mm = RandomVector(3, &rng), mv = RandomVector(3, &rng, 0.5, 2);
  const M r = RandomMatrix(5, 3, &rng);
  BatchNormConfig config;
  auto loss = [&] {
    return WeightedSum(
        BatchNormInference<double>(x, gamma, beta, mm, mv, config, nullptr).value(), r);
  };
  BatchNormCache<double> cache;
  CKPT_ASSERT_OK(BatchNormInference<double>(x, gamma, beta, mm, mv, config, &cache).status());
  CKPT_ASSERT_OK_AND_ASSIGN(auto g, BatchNormBackward<double>(r, gamma, cache));
  ExpectGradientMatches<M>(loss, &x, g.d_input, "bn inference d_input");
  ExpectGradientMatches<V>(loss, &gamma, g.d_gamma, "bn inference d_gamma");
  ExpectGradientMatches<V>(loss, &beta, g.d_beta, "bn inference d_beta");
}

TEST(BatchNormTest, BadShapes) {
  M x(3, 2);
  x.setOnes();
  V two = V::Ones(2), three = V::Ones(3), mm = V::Zero(2), mv = V::Ones(2);
  EXPECT_THAT(BatchNormTrain<double>(x, three, two, &mm, &mv, {}, nullptr),
              StatusIs(StatusCode::kInvalidArgument, "gamma has 3 elements"));
  EXPECT_THAT(BatchNormTrain<double>(M(0, 2), two, two, &mm, &mv, {}, nullptr),
              StatusIs(StatusCode::kInvalidArgument, "empty batch"));
  EXPECT_THAT(BatchNormInference<double>(x, two, two, three, mv, {}, nullptr),
              StatusIs(StatusCode::kInvalidArgument, "moving_mean has 3"));
  BatchNormCache<double> cache;
  CKPT_ASSERT_OK(BatchNormTrain<double>(x, two, two, &mm, &mv, {}, &cache).status());
  EXPECT_THAT(BatchNormBackward<double>(M::Ones(4, 2), two, cache),
              StatusIs(StatusCode::kInvalidArgument, "does not match"));
}

TEST(ActivationTest, NamesRoundTripAndUnknownFails) {
  for (const char* name : {"relu", "relu6", "elu", "selu", "tanh", "sigmoid", "softplus",
                           "softsign", "leaky_relu"}) {
    CKPT_ASSERT_OK_AND_ASSIGN(Activation a, ActivationFromName(name));
    EXPECT_STREQ(ActivationName(a), name);
  }
  EXPECT_THAT(ActivationFromName("swish"),
              StatusIs(StatusCode::kInvalidArgument, "unknown activation \"swish\""));
}

TEST(ActivationTest, ForwardValuesAsTensorFlow) {
  M z(1, 4);
  z << -2.0, -0.5, 0.5, 7.0;
  auto at = [&](const char* name) {
    return Activate<double>(ActivationFromName(name).value(), z);
  };
  // Reference values from the definitions (tf.nn.* at these points).
  const double selu_scale = 1.0507009873554805, selu_alpha = 1.6732632423543772;
  EXPECT_DOUBLE_EQ(at("relu6")(0, 3), 6.0);
  EXPECT_DOUBLE_EQ(at("relu6")(0, 2), 0.5);
  EXPECT_DOUBLE_EQ(at("relu6")(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(at("elu")(0, 0), std::exp(-2.0) - 1);
  EXPECT_DOUBLE_EQ(at("elu")(0, 2), 0.5);
  EXPECT_NEAR(at("selu")(0, 1), selu_scale * selu_alpha * (std::exp(-0.5) - 1), 1e-15);
  EXPECT_DOUBLE_EQ(at("selu")(0, 2), selu_scale * 0.5);
  EXPECT_DOUBLE_EQ(at("tanh")(0, 1), std::tanh(-0.5));
  EXPECT_DOUBLE_EQ(at("sigmoid")(0, 2), 1 / (1 + std::exp(-0.5)));
  EXPECT_NEAR(at("softplus")(0, 3), std::log(1 + std::exp(7.0)), 1e-14);
  EXPECT_NEAR(at("softplus")(0, 0), std::log(1 + std::exp(-2.0)), 1e-15);
  EXPECT_DOUBLE_EQ(at("softsign")(0, 1), -0.5 / 1.5);
  EXPECT_DOUBLE_EQ(at("leaky_relu")(0, 0), -0.4);
  EXPECT_DOUBLE_EQ(at("leaky_relu")(0, 3), 7.0);
}

TEST(ActivationTest, GradientsMatchFiniteDifferences) {
  for (const char* name : {"relu", "relu6", "elu", "selu", "tanh", "sigmoid", "softplus",
                           "softsign", "leaky_relu"}) {
    SCOPED_TRACE(name);
    const Activation a = ActivationFromName(name).value();
    Rng rng(11);
    // Values away from the kinks at 0 and 6, on both sides of each.
    M z = RandomMatrix(4, 6, &rng, 0.1, 2.0);
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      if (i % 3 == 0) z.data()[i] = -z.data()[i];
      if (i % 3 == 1) z.data()[i] += 5.5;  // 5.6 .. 7.5: straddles relu6's 6
      if (std::abs(z.data()[i] - 6.0) < 0.05) z.data()[i] += 0.1;
    }
    const M r = RandomMatrix(4, 6, &rng);
    auto loss = [&] { return WeightedSum(Activate<double>(a, z), r); };
    CKPT_ASSERT_OK_AND_ASSIGN(M dz, ActivationBackward<double>(a, z, Activate<double>(a, z), r));
    ExpectGradientMatches<M>(loss, &z, dz, name);
  }
  EXPECT_THAT(ActivationBackward<double>(Activation::kTanh, M(2, 2), M(2, 2), M(2, 3)),
              StatusIs(StatusCode::kInvalidArgument, "differ in shape"));
}

TEST(SigmoidCrossEntropyTest, ValuesGradientAndErrors) {
  M logits(4, 1);
  logits << 2.0, -1.0, 0.0, 40.0;
  const std::vector<int64_t> labels = {1, 1, 0, 0};
  CKPT_ASSERT_OK_AND_ASSIGN(CrossEntropyResult<double> r,
                            SigmoidCrossEntropy<double>(logits, labels));
  // -log(sigmoid(z)) for label 1, -log(1 - sigmoid(z)) for label 0.
  EXPECT_NEAR(r.losses(0), std::log(1 + std::exp(-2.0)), 1e-14);
  EXPECT_NEAR(r.losses(1), std::log(1 + std::exp(1.0)), 1e-14);
  EXPECT_NEAR(r.losses(2), std::log(2.0), 1e-14);
  EXPECT_NEAR(r.losses(3), 40.0, 1e-12);  // stable: no overflow
  EXPECT_NEAR(r.loss, r.losses.sum(), 1e-12);
  M small = logits;
  small(3, 0) = 0.7;
  CKPT_ASSERT_OK_AND_ASSIGN(r, SigmoidCrossEntropy<double>(small, labels));
  auto loss = [&] { return SigmoidCrossEntropy<double>(small, labels).value().loss; };
  ExpectGradientMatches<M>(loss, &small, r.d_logits, "sigmoid d_logits");
  EXPECT_THAT(SigmoidCrossEntropy<double>(small, {1, 2, 0, 0}),
              StatusIs(StatusCode::kInvalidArgument,
                       "Received a label value of 2 which is outside the valid range of [0, 2)"));
  EXPECT_THAT(SigmoidCrossEntropy<double>(M(4, 2), labels),
              StatusIs(StatusCode::kInvalidArgument, "[batch, 1]"));
  EXPECT_THAT(SigmoidCrossEntropy<double>(small, {1, 0}),
              StatusIs(StatusCode::kInvalidArgument, "same first dimension"));
}

TEST(TensorConversionTest, RoundTripAndErrors) {
  Matrix<float> m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  Tensor t = TensorFromMatrix<float>(m);
  EXPECT_EQ(t.shape(), TensorShape({2, 3}));
  EXPECT_EQ(t.flat<float>()[3], 4.0f);  // row-major, as TensorFlow
  CKPT_ASSERT_OK_AND_ASSIGN(Matrix<float> back, MatrixFromTensor<float>(t));
  EXPECT_EQ(back, m);
  EXPECT_THAT(MatrixFromTensor<double>(t), StatusIs(StatusCode::kInvalidArgument, "expected dtype double"));
  RowVector<float> v(3);
  v << 7, 8, 9;
  Tensor tv = TensorFromRowVector<float>(v);
  EXPECT_THAT(MatrixFromTensor<float>(tv), StatusIs(StatusCode::kInvalidArgument, "rank-2"));
  CKPT_ASSERT_OK_AND_ASSIGN(RowVector<float> vb, RowVectorFromTensor<float>(tv));
  EXPECT_EQ(vb, v);
  CKPT_ASSERT_OK(AssignToTensor<float>(Matrix<float>(m * 2), &t));
  EXPECT_EQ(t.flat<float>()[5], 12.0f);
  EXPECT_THAT(AssignToTensor<float>(v, &t), StatusIs(StatusCode::kInvalidArgument, "cannot hold 3"));
}

// The feature-major training kernels against the reference functions, in
// double (agreement to rounding) and float (to float32 rounding), over
// batch sizes that exercise every loop of the kernels: full SIMD blocks,
// single packets and leftover columns.
// The float kernels run in vectors of 16 (AVX-512), 8 (AVX2) or 4 lanes:
// blocks of 4 vectors, single vectors, one vector each of the halved
// widths, then columns one at a time; the sizes cover each of those.
const int kBatches[] = {1, 3, 4, 5, 7, 8, 12, 13, 16, 28, 31, 32, 37, 64, 65, 79, 100, 127};

// Runs f with each float kernel variant this CPU supports.
template <typename F>
void ForEachKernelIsa(F f) {
  for (KernelIsa isa : SupportedKernelIsas()) {
    SCOPED_TRACE(KernelIsaName(isa));
    const KernelIsa before = SetKernelIsaForTesting(isa);
    ASSERT_EQ(ActiveKernelIsa(), isa);
    f();
    SetKernelIsaForTesting(before);
  }
}

template <typename T>
Matrix<T> RandomOf(int rows, int cols, Rng* rng, double lo = -1, double hi = 1) {
  return RandomMatrix(rows, cols, rng, lo, hi).cast<T>();
}

template <typename T>
void ExpectClose(const Matrix<T>& got, const Matrix<T>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  for (Eigen::Index i = 0; i < got.size(); ++i) {
    const double w = want.data()[i];
    EXPECT_NEAR(got.data()[i], w, tol * std::max(1.0, std::abs(w))) << what << " element " << i;
  }
}

template <typename T>
void CheckDenseFM(double tol) {
  Rng rng(5);
  for (int batch : kBatches) {
    for (auto [in, out] : {std::pair{4, 10}, {10, 10}, {10, 3}, {7, 5}}) {
      const std::string what = "batch " + std::to_string(batch) + " [" + std::to_string(in) +
                               "," + std::to_string(out) + "]";
      const Matrix<T> x = RandomOf<T>(batch, in, &rng);
      const Matrix<T> kernel = RandomOf<T>(in, out, &rng);
      const RowVector<T> bias = RandomOf<T>(1, out, &rng);
      const Matrix<T> d = RandomOf<T>(batch, out, &rng);
      const Matrix<T> x_t = x.transpose();
      const Matrix<T> want = DenseForward<T>(x, kernel, bias).value();
      Matrix<T> y_t;
      DenseForwardFM<T>(kernel.data(), bias.data(), in, out, x_t, /*relu=*/false, &y_t);
      ExpectClose<T>(y_t.transpose(), want, tol, what + " forward");
      DenseForwardFM<T>(kernel.data(), bias.data(), in, out, x_t, /*relu=*/true, &y_t);
      ExpectClose<T>(y_t.transpose(), Relu<T>(want), tol, what + " forward relu");
      if (batch >= 8) EXPECT_GT((y_t.array() == T(0)).count(), 0) << what;  // relu did something

      const DenseGradients<T> g = DenseBackward<T>(x, kernel, d).value();
      const Matrix<T> d_t = d.transpose();
      Matrix<T> d_kernel(in, out), d_input_t;
      RowVector<T> d_bias(out);
      DenseBackwardFM<T>(kernel.data(), in, out, x_t, d_t, d_kernel.data(), d_bias.data(),
                         &d_input_t);
      ExpectClose<T>(d_kernel, g.d_kernel, tol, what + " d_kernel");
      ExpectClose<T>(d_bias, g.d_bias, tol, what + " d_bias");
      ExpectClose<T>(d_input_t.transpose(), g.d_input, tol, what + " d_input");
      // Without d_input; then with ReluGrad fused, the mask being a relu
      // output of the input's shape.
      Matrix<T> d_kernel2(in, out);
      DenseBackwardFM<T>(kernel.data(), in, out, x_t, d_t, d_kernel2.data(), d_bias.data(),
                         nullptr);
      EXPECT_EQ(d_kernel2, d_kernel) << what;
      const Matrix<T> relu_out = Relu<T>(x);
      const Matrix<T> relu_out_t = relu_out.transpose();
      DenseBackwardFM<T>(kernel.data(), in, out, x_t, d_t, d_kernel.data(), d_bias.data(),
                         &d_input_t, &relu_out_t);
      ExpectClose<T>(d_input_t.transpose(), ReluBackward<T>(relu_out, g.d_input).value(), tol,
                     what + " d_input through relu");
      Matrix<T> masked = g.d_input.transpose();
      ReluBackwardInPlace<T>(relu_out_t, &masked);
      ExpectClose<T>(masked.transpose(), ReluBackward<T>(relu_out, g.d_input).value(), tol,
                     what + " ReluBackwardInPlace");
    }
  }
}

TEST(FeatureMajorTest, DenseMatchesReferenceDouble) { CheckDenseFM<double>(1e-12); }
TEST(FeatureMajorTest, DenseMatchesReferenceFloat) {
  ForEachKernelIsa([] { CheckDenseFM<float>(3e-5); });
}

template <typename T>
void CheckLossesFM(double tol) {
  Rng rng(9);
  for (int batch : kBatches) {
    const std::string what = "batch " + std::to_string(batch);
    std::vector<int64_t> labels(static_cast<size_t>(batch));
    for (int64_t& l : labels) l = static_cast<int64_t>(rng.Uniform(3));
    // Large logits too: the max is subtracted before exp.
    Matrix<T> logits = RandomOf<T>(batch, 3, &rng, -30, 30);
    logits(0, 0) = T(500);
    const CrossEntropyResult<T> want = SparseSoftmaxCrossEntropy<T>(logits, labels).value();
    Matrix<T> d_t;
    std::vector<T> losses(static_cast<size_t>(batch));
    SoftmaxCrossEntropyFM<T>(Matrix<T>(logits.transpose()), labels, losses.data(), &d_t);
    ExpectClose<T>(d_t.transpose(), want.d_logits, tol, what + " softmax d_logits");
    for (int b = 0; b < batch; ++b) {
      EXPECT_NEAR(losses[static_cast<size_t>(b)], want.losses(b),
                  tol * std::max(1.0, std::abs(static_cast<double>(want.losses(b)))))
          << what << " loss " << b;
    }

    std::vector<int64_t> binary(static_cast<size_t>(batch));
    for (int64_t& l : binary) l = static_cast<int64_t>(rng.Uniform(2));
    const Matrix<T> z = RandomOf<T>(batch, 1, &rng, -40, 40);
    const CrossEntropyResult<T> want_b = SigmoidCrossEntropy<T>(z, binary).value();
    SigmoidCrossEntropyFM<T>(Matrix<T>(z.transpose()), binary, losses.data(), &d_t);
    ExpectClose<T>(d_t.transpose(), want_b.d_logits, tol, what + " sigmoid d_logits");
    for (int b = 0; b < batch; ++b) {
      EXPECT_NEAR(losses[static_cast<size_t>(b)], want_b.losses(b),
                  tol * std::max(1.0, std::abs(static_cast<double>(want_b.losses(b)))))
          << what << " sigmoid loss " << b;
    }
  }
}

TEST(FeatureMajorTest, LossesMatchReferenceDouble) { CheckLossesFM<double>(1e-12); }
TEST(FeatureMajorTest, LossesMatchReferenceFloat) {
  ForEachKernelIsa([] { CheckLossesFM<float>(3e-5); });
}

TEST(FeatureMajorTest, KernelIsaSelection) {
  const std::vector<KernelIsa> isas = SupportedKernelIsas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas[0], KernelIsa::kBaseline);
  // By default the widest variant the CPU has.
  EXPECT_EQ(ActiveKernelIsa(), isas.back());
  EXPECT_STREQ(KernelIsaName(KernelIsa::kAvx512), "avx512f");
}

// The float softmax's exp and log (vector polynomials) against double:
// two classes with logits (0, -t), t from 0 to 100, so that exp runs over
// its whole range down to underflow and the loss takes log of 1 + e^-t;
// then 7 classes (sums up to 7).
TEST(FeatureMajorTest, SoftmaxFloatIsWithinRoundingOfDouble) {
  ForEachKernelIsa([] {
    const int batch = 1001;
    Matrix<float> logits_t(2, batch);
    std::vector<int64_t> labels(batch);
    for (int b = 0; b < batch; ++b) {
      logits_t(0, b) = 0.0f;
      logits_t(1, b) = -0.1f * static_cast<float>(b);
      labels[static_cast<size_t>(b)] = b % 2;
    }
    Rng rng(3);
    Matrix<float> logits7_t = RandomOf<float>(7, 100, &rng, -5, 5);
    std::vector<int64_t> labels7(100);
    for (int64_t& l : labels7) l = static_cast<int64_t>(rng.Uniform(7));
    for (auto [l, lab] : {std::pair{&logits_t, &labels}, {&logits7_t, &labels7}}) {
      const int64_t n = l->cols();
      Matrix<float> d_t;
      std::vector<float> losses(static_cast<size_t>(n));
      SoftmaxCrossEntropyFM<float>(*l, *lab, losses.data(), &d_t);
      Matrix<double> want_d;
      std::vector<double> want_losses(static_cast<size_t>(n));
      SoftmaxCrossEntropyFM<double>(l->cast<double>(), *lab, want_losses.data(), &want_d);
      for (Eigen::Index i = 0; i < d_t.size(); ++i) {
        const double w = want_d.data()[i];
        // Relative to the probability p (d is p, or p - 1 for the label:
        // then relative to the larger of the two), absolute below the
        // smallest normal float.
        const double p = w < 0 ? w + 1 : w;
        EXPECT_NEAR(d_t.data()[i], w, 1e-6 * std::max(p, std::abs(w)) + 2e-38)
            << "d element " << i;
      }
      for (int64_t b = 0; b < n; ++b) {
        const double w = want_losses[static_cast<size_t>(b)];
        EXPECT_NEAR(losses[static_cast<size_t>(b)], w, 1e-6 * std::max(1.0, std::abs(w)))
            << "loss " << b;
      }
    }
  });
}

TEST(FeatureMajorTest, DropoutScaleIsTheTransposedMask) {
  for (int batch : {1, 7, 100}) {
    Rng a(21), b(21);
    const Matrix<float> x = Matrix<float>::Ones(batch, 10);
    CKPT_ASSERT_OK_AND_ASSIGN(DropoutResult<float> want, DropoutForward<float>(x, 0.3, &a));
    Matrix<float> scale_t;
    DropoutScaleFM<float>(10, batch, 0.3, &b, &scale_t);
    EXPECT_EQ(Matrix<float>(scale_t.transpose()), want.scale) << batch;
    EXPECT_EQ(a.Next64(), b.Next64()) << "same number of draws";
  }
}

TEST(FeatureMajorTest, CheckLabelRange) {
  CKPT_EXPECT_OK(CheckLabelRange({0, 2, 1}, 3));
  EXPECT_THAT(CheckLabelRange({0, 3, 1}, 3),
              StatusIs(StatusCode::kInvalidArgument,
                       "Received a label value of 3 which is outside the valid range of [0, 3).  "
                       "Label values: 0 3 1"));
  EXPECT_THAT(CheckLabelRange({-1}, 2), StatusIs(StatusCode::kInvalidArgument, "value of -1"));
}

}  // namespace
}  // namespace ckpt::nn
