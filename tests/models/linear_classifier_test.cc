// LinearClassifierModel: Iris training, checkpoint keys, save/restore, and
// its PREDICT graph for both heads.
#include "ckpt/linear_classifier.h"

#include <cmath>
#include <string>
#include <vector>

#include "ckpt/graph.h"
#include "ckpt/iris.h"
#include "ckpt/saver.h"
#include "models/classifier_test_util.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::ExpectNode;
using ::ckpt::testing::ExpectVariablesAreTheCheckpointKeys;
using ::ckpt::testing::FindNode;
using ::ckpt::testing::Labels;
using ::ckpt::testing::NodeInputs;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::Train;

// The Iris data in iris_.
class LinearClassifierTest : public ::ckpt::testing::IrisTest {};

TEST_F(LinearClassifierTest, TrainsAndSaves) {
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, LinearClassifierModel::Create({}));
  EXPECT_DOUBLE_EQ(model->learning_rate(), 0.2);
  CKPT_ASSERT_OK_AND_ASSIGN(std::vector<double> losses,
                            Train(model.get(), iris_.train, 1000, /*seed=*/5));
  const double first = losses.front(), last = losses.back();
  EXPECT_NEAR(first, 100 * std::log(3.0), 1e-3);  // zero weights: uniform probabilities
  EXPECT_LT(last, first / 2);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor x,
                            MakeFeatureMatrix(iris_.test.examples, iris_.test.feature_names,
                                              model->sorted_feature_names()));
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierEvalResult eval,
                            model->Evaluate(x, Labels(iris_.test.examples)));
  EXPECT_GE(eval.accuracy, 0.8);

  std::vector<std::string> names;
  for (const SaveableTensor& s : model->SaveableVariables()) names.push_back(s.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"global_step", "linear/linear_model/PetalLength/weights",
                                      "linear/linear_model/PetalLength/weights/part_0/Ftrl",
                                      "linear/linear_model/PetalLength/weights/part_0/Ftrl_1",
                                      "linear/linear_model/PetalWidth/weights",
                                      "linear/linear_model/PetalWidth/weights/part_0/Ftrl",
                                      "linear/linear_model/PetalWidth/weights/part_0/Ftrl_1",
                                      "linear/linear_model/SepalLength/weights",
                                      "linear/linear_model/SepalLength/weights/part_0/Ftrl",
                                      "linear/linear_model/SepalLength/weights/part_0/Ftrl_1",
                                      "linear/linear_model/SepalWidth/weights",
                                      "linear/linear_model/SepalWidth/weights/part_0/Ftrl",
                                      "linear/linear_model/SepalWidth/weights/part_0/Ftrl_1",
                                      "linear/linear_model/bias_weights",
                                      "linear/linear_model/bias_weights/part_0/Ftrl",
                                      "linear/linear_model/bias_weights/part_0/Ftrl_1"}));

  CKPT_ASSERT_OK_AND_ASSIGN(auto saver, Saver::Create(model->SaveableVariables()));
  const std::string dir = ::ckpt::testing::TempDir();
  CKPT_ASSERT_OK_AND_ASSIGN(std::string prefix, saver->Save(dir + "/linear.ckpt"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto fresh, LinearClassifierModel::Create({}));
  CKPT_ASSERT_OK_AND_ASSIGN(auto saver2, Saver::Create(fresh->SaveableVariables()));
  CKPT_ASSERT_OK(saver2->Restore(prefix));
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions got, fresh->Predict(x));
  CKPT_ASSERT_OK_AND_ASSIGN(ClassifierPredictions want, model->Predict(x));
  EXPECT_TRUE(got.probabilities.Equals(want.probabilities));
  EXPECT_EQ(fresh->global_step(), 1000);
}

TEST(LinearClassifierGraphTest, BothHeads) {
  for (int64_t n_classes : {3, 2}) {
    SCOPED_TRACE(n_classes);
    LinearClassifierConfig c;
    c.n_classes = n_classes;
    CKPT_ASSERT_OK_AND_ASSIGN(auto model, LinearClassifierModel::Create(c));
    GraphBuilder graph;
    CKPT_ASSERT_OK(model->DescribeGraph(&graph));
    ExpectNode(graph, "linear/linear_model/weights_concat", "ConcatV2");
    EXPECT_THAT(NodeInputs(*FindNode(graph, "linear/linear_model/weights_concat")),
                ::testing::ElementsAre("linear/linear_model/PetalLength/weights/read",
                                       "linear/linear_model/PetalWidth/weights/read",
                                       "linear/linear_model/SepalLength/weights/read",
                                       "linear/linear_model/SepalWidth/weights/read",
                                       "linear/linear_model/weights_concat/axis"));
    ExpectNode(graph, "linear/linear_model/weighted_sum_no_bias", "MatMul");
    ExpectNode(graph, "linear/linear_model/weighted_sum", "BiasAdd");
    EXPECT_THAT(NodeInputs(*FindNode(graph, "linear/linear_model/weighted_sum")),
                ::testing::ElementsAre("linear/linear_model/weighted_sum_no_bias",
                                       "linear/linear_model/bias_weights/read"));
    ExpectNode(graph, "linear/head/predictions/probabilities", "Softmax");
    EXPECT_EQ(graph.HasNode("linear/head/predictions/logistic"), n_classes == 2);
    ExpectVariablesAreTheCheckpointKeys(model.get(), &graph);
  }
  // One feature: the weight row is the kernel, no concat.
  LinearClassifierConfig one;
  one.feature_names = {"x"};
  CKPT_ASSERT_OK_AND_ASSIGN(auto model, LinearClassifierModel::Create(one));
  GraphBuilder graph;
  CKPT_ASSERT_OK(model->DescribeGraph(&graph));
  EXPECT_FALSE(graph.HasNode("linear/linear_model/weights_concat"));
  EXPECT_THAT(NodeInputs(*FindNode(graph, "linear/linear_model/weighted_sum_no_bias")),
              ::testing::ElementsAre("features", "linear/linear_model/x/weights/read"));
  EXPECT_THAT(model->DescribeGraph(nullptr),
              StatusIs(StatusCode::kInvalidArgument, "null GraphBuilder"));
}

}  // namespace
}  // namespace ckpt
