// Helpers shared by the classifier model tests (dnn_classifier_test,
// linear_classifier_test): the Iris data (and a fixture holding it), label
// vectors, premade_estimator.py's training loop, and checks of a model's
// DescribeGraph output.
#ifndef CKPT_TESTS_MODELS_CLASSIFIER_TEST_UTIL_H_
#define CKPT_TESTS_MODELS_CLASSIFIER_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "ckpt/classifier.h"
#include "ckpt/dataset.h"
#include "ckpt/graph.h"
#include "ckpt/iris.h"
#include "ckpt/meta_graph.h"
#include "ckpt/saver.h"
#include "tensorflow/core/framework/graph.pb.h"
#include "tensorflow/core/protobuf/meta_graph.pb.h"
#include "testutil/testutil.h"

namespace ckpt::testing {

// The Iris training and test sets of data/iris (CKPT_SOURCE_DIR).
struct IrisBatches {
  IrisDataSet train;
  IrisDataSet test;
};

inline Result<IrisBatches> LoadIris() {
  IrisBatches b;
  const std::string dir = std::string(CKPT_SOURCE_DIR) + "/data/iris/";
  CKPT_ASSIGN_OR_RETURN(b.train, LoadIrisCsv(Env::Posix(), dir + "iris_training.csv"));
  CKPT_ASSIGN_OR_RETURN(b.test, LoadIrisCsv(Env::Posix(), dir + "iris_test.csv"));
  return b;
}

inline std::vector<int64_t> Labels(const std::vector<LabeledExample>& examples) {
  std::vector<int64_t> labels;
  for (const LabeledExample& e : examples) labels.push_back(e.label);
  return labels;
}

// Trains `model` as premade_estimator.py does: shuffle(1000), repeat,
// batch(100), `steps` steps. Returns the losses of every step.
template <typename Model>
Result<std::vector<double>> Train(Model* model, const IrisDataSet& data, int steps, uint64_t seed) {
  CKPT_ASSIGN_OR_RETURN(auto shuffled,
                        Dataset<LabeledExample>::FromVector(data.examples).Shuffle(1000, seed));
  CKPT_ASSIGN_OR_RETURN(auto repeated, shuffled.Repeat());
  CKPT_ASSIGN_OR_RETURN(auto batched, repeated.Batch(100));
  auto it = batched.MakeIterator();
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) {
    std::optional<std::vector<LabeledExample>> batch = it->Next();
    if (!batch) return InternalError("dataset ended");
    CKPT_ASSIGN_OR_RETURN(
        Tensor x, MakeFeatureMatrix(*batch, data.feature_names, model->sorted_feature_names()));
    CKPT_ASSIGN_OR_RETURN(ClassifierTrainResult r, model->TrainStep(x, Labels(*batch)));
    losses.push_back(r.loss);
  }
  return losses;
}

// A fixture holding the Iris data sets in iris_.
class IrisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto iris = LoadIris();
    ASSERT_TRUE(iris.ok()) << iris.status();
    iris_ = std::move(iris).value();
  }
  IrisBatches iris_;
};

// ---- DescribeGraph checks (TF runs these graphs in
// tests/interop/test_graph_forms.py; here: structure).

inline const tensorflow::NodeDef* FindNode(const GraphBuilder& graph, const std::string& name) {
  for (const tensorflow::NodeDef& n : graph.graph_def().node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

inline std::vector<std::string> NodeInputs(const tensorflow::NodeDef& node) {
  return {node.input().begin(), node.input().end()};
}

// Expects node `name` of op `op` with a float T attr (if `typed`).
inline void ExpectNode(const GraphBuilder& graph, const std::string& name, const std::string& op,
                bool typed = true) {
  const tensorflow::NodeDef* n = FindNode(graph, name);
  ASSERT_NE(n, nullptr) << name;
  EXPECT_EQ(n->op(), op) << name;
  if (typed) {
    ASSERT_EQ(n->attr().count("T"), 1u) << name;
    EXPECT_EQ(n->attr().at("T").type(), tensorflow::DT_FLOAT) << name;
  }
}

// The graph's variables are exactly the checkpoint's keys, and the saver
// subgraph and meta graph build on top.
template <typename Model>
void ExpectVariablesAreTheCheckpointKeys(Model* model, GraphBuilder* graph) {
  std::vector<std::string> keys, names;
  for (const SaveableTensor& v : model->SaveableVariables()) keys.push_back(v.name);
  for (const GraphVariable& v : graph->variables()) names.push_back(v.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, keys);
  CKPT_ASSERT_OK_AND_ASSIGN(tensorflow::SaverDef saver_def, AddSaverSubgraph(graph));
  CKPT_ASSERT_OK_AND_ASSIGN(tensorflow::MetaGraphDef meta, BuildMetaGraphDef(*graph, &saver_def));
  CKPT_ASSERT_OK_AND_ASSIGN(MetaGraphInfo info, DescribeMetaGraph(meta));
  EXPECT_EQ(info.variables.size(), keys.size());
}

}  // namespace ckpt::testing

#endif  // CKPT_TESTS_MODELS_CLASSIFIER_TEST_UTIL_H_
