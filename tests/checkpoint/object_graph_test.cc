// Tests of ckpt/object_graph.h: key escaping, TensorFlow-written object
// graphs read back with known paths and values, and corrupt graphs.
#include "ckpt/object_graph.h"

#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "tensorflow/core/protobuf/trackable_object_graph.pb.h"
#include "checkpoint/object_graph_testing.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::ChildNames;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::Values;
using ::testing::ElementsAre;

constexpr char kB1[] =
    "java/tensorflow-core/tensorflow-core-api/src/test/resources/saved_model_using_python/"
    "model/variables/variables";
constexpr char kB2[] = "rust/examples/regression_savedmodel/variables/variables";
constexpr char kB3[] =
    "serving/tensorflow_serving/servables/tensorflow/testdata/"
    "saved_model_half_plus_two_tf2_cpu/00000123/variables/variables";
constexpr char kB4[] =
    "serving/tensorflow_serving/servables/tensorflow/testdata/tf_text_regression/01/"
    "variables/variables";
constexpr char kA1[] =
    "serving/tensorflow_serving/servables/tensorflow/testdata/"
    "saved_model_half_plus_two_gpu/00000123/variables/variables";

// ------------------------------------------------------------------- keys

TEST(ObjectKeysTest, EscapesDotsThenSlashes) {
  EXPECT_EQ(EscapeLocalName("plain_name-0"), "plain_name-0");
  EXPECT_EQ(EscapeLocalName("a.b"), "a..b");
  EXPECT_EQ(EscapeLocalName("a/b"), "a.Sb");
  EXPECT_EQ(EscapeLocalName("./."), "...S..");
  EXPECT_EQ(EscapeLocalName(".S"), "..S");
  EXPECT_EQ(EscapeLocalName(""), "");
}

TEST(ObjectKeysTest, UnescapeInvertsEscape) {
  for (std::string name : {"a", "a.b", "a/b", "./.", ".S", "..", "x/.S/y", ""}) {
    auto back = UnescapeLocalName(EscapeLocalName(name));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, name);
  }
  EXPECT_THAT(UnescapeLocalName("a.b"), StatusIs(StatusCode::kInvalidArgument, "a.b"));
  EXPECT_THAT(UnescapeLocalName("trailing."), StatusIs(StatusCode::kInvalidArgument, "offset 8"));
}

TEST(ObjectKeysTest, BuildsAttributeAndSlotKeys) {
  EXPECT_EQ(ObjectPath({"model", "dense.1", "a/b"}), "model/dense..1/a.Sb");
  EXPECT_EQ(AttributeCheckpointKey("model/dense/kernel"),
            "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(AttributeCheckpointKey("x", "OBJECT_CONFIG.JSON"), "x/.ATTRIBUTES/OBJECT_CONFIG..JSON");
  EXPECT_EQ(SlotVariablePath("model/dense/kernel", "optimizer", "m"),
            "model/dense/kernel/.OPTIMIZER_SLOT/optimizer/m");
  EXPECT_EQ(AttributeCheckpointKey(SlotVariablePath("v", "opt/inner", "a/b")),
            "v/.OPTIMIZER_SLOT/opt/inner/a.Sb/.ATTRIBUTES/VARIABLE_VALUE");
}

// ------------------------------------------------------------------ golden

TEST(ObjectGoldenTest, B1JavaSavedModelUsingPython) {
  auto r = ObjectCheckpointReader::Open(testing::TestDataPath(kB1));
  ASSERT_TRUE(r.ok()) << r.status();
  const ObjectGraph& g = (*r)->graph();
  ASSERT_GE(g.nodes().size(), 4u);
  EXPECT_THAT(ChildNames(g.nodes()[0]), ElementsAre("variable", "keras_api", "signatures"));
  EXPECT_EQ(g.nodes()[0].children[0].node_id, 1);
  EXPECT_EQ(g.nodes()[0].children[1].node_id, 2);
  EXPECT_EQ(g.nodes()[0].children[2].node_id, 3);
  const auto& n1 = g.nodes()[1];
  EXPECT_EQ(n1.path, "variable");
  ASSERT_EQ(n1.attributes.size(), 1u);
  EXPECT_EQ(n1.attributes[0].name, "VARIABLE_VALUE");
  EXPECT_EQ(n1.attributes[0].full_name, "Variable");
  EXPECT_EQ(n1.attributes[0].checkpoint_key, "variable/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_FALSE(n1.has_checkpoint_values.has_value());  // TF 2.4 did not write field 5
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor v, (*r)->GetVariable("variable"));
  ASSERT_EQ(v.dtype(), DataType::kFloat);
  EXPECT_EQ(v.flat<float>()[0], 2.0f);
  auto vars = (*r)->Variables();
  ASSERT_EQ(vars.size(), 1u);
  EXPECT_EQ(vars[0].path, "variable");
  EXPECT_EQ(vars[0].dtype, DataType::kFloat);
  EXPECT_EQ(vars[0].shape, TensorShape({}));
}

TEST(ObjectGoldenTest, B2RustRegressionWithSgd) {
  auto r = ObjectCheckpointReader::Open(testing::TestDataPath(kB2));
  ASSERT_TRUE(r.ok()) << r.status();
  const ObjectGraph& g = (*r)->graph();
  ASSERT_EQ(g.nodes().size(), 9u);
  EXPECT_THAT(ChildNames(g.nodes()[0]), ElementsAre("w", "b", "optimizer", "signatures"));
  EXPECT_THAT(ChildNames(g.nodes()[3]), ElementsAre("iter", "decay", "learning_rate", "momentum"));
  std::vector<int> ids;
  for (const auto& c : g.nodes()[3].children) ids.push_back(c.node_id);
  EXPECT_THAT(ids, ElementsAre(5, 6, 7, 8));
  std::map<std::string, std::string> full_names;
  for (const auto& v : (*r)->Variables()) full_names[v.path] = v.full_name;
  EXPECT_EQ(full_names, (std::map<std::string, std::string>{
                            {"w", "w"},
                            {"b", "b"},
                            {"optimizer/iter", "SGD/iter"},
                            {"optimizer/decay", "SGD/decay"},
                            {"optimizer/learning_rate", "SGD/learning_rate"},
                            {"optimizer/momentum", "SGD/momentum"}}));
  EXPECT_EQ(g.nodes()[5].attributes[0].checkpoint_key,
            "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE");
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor iter, (*r)->GetVariable("optimizer/iter"));
  EXPECT_EQ(iter.dtype(), DataType::kInt64);
  EXPECT_EQ(iter.flat<int64_t>()[0], 0);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor lr, (*r)->GetVariable("optimizer/learning_rate"));
  EXPECT_EQ(lr.flat<float>()[0], 0.5f);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor w, (*r)->GetVariable("w"));
  EXPECT_EQ(w.shape(), TensorShape({1}));
  EXPECT_EQ(w.flat<float>()[0], 0.20429754257202148f);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor b, (*r)->GetVariable("b"));
  EXPECT_THAT(Values<float>(b), ElementsAre(0.0f));
  // The signatures node holds no value.
  EXPECT_THAT((*r)->GetVariable("signatures"),
              StatusIs(StatusCode::kNotFound, "has no attribute VARIABLE_VALUE"));
  EXPECT_THAT((*r)->GetVariable("optimizer/beta_1"),
              StatusIs(StatusCode::kNotFound, "\"optimizer\" has no child \"beta_1\""));
}

TEST(ObjectGoldenTest, B3Tf214HasCheckpointValues) {
  auto r = ObjectCheckpointReader::Open(testing::TestDataPath(kB3));
  ASSERT_TRUE(r.ok()) << r.status();
  const ObjectGraph& g = (*r)->graph();
  ASSERT_EQ(g.nodes().size(), 24u);
  auto names = ChildNames(g.nodes()[0]);
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(names[0], "a");
  EXPECT_EQ(names[1], "b");
  EXPECT_EQ(names[2], "c");
  EXPECT_EQ(names[3], "asset");
  for (const char* n : {"classify_x2y3", "classify_xy", "predict", "regress_x2y3", "regress_xy",
                        "regress_xy2", "signatures"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  // Parsed although ObjectReference has field 2 before field 1.
  EXPECT_EQ(g.nodes()[0].children[0].node_id, 1);
  EXPECT_EQ(g.nodes()[0].children[3].node_id, 4);
  for (const auto& node : g.nodes()) {
    EXPECT_TRUE(node.has_checkpoint_values.has_value()) << "node " << node.id;
  }
  EXPECT_EQ(g.nodes()[0].has_checkpoint_values, true);
  EXPECT_EQ(g.nodes()[1].has_checkpoint_values, true);
  EXPECT_EQ(g.nodes()[4].has_checkpoint_values, false);  // the asset has no value
  const std::map<std::string, float> expected = {{"a", 0.5f}, {"b", 2.0f}, {"c", 3.0f}};
  for (const auto& [path, value] : expected) {
    CKPT_ASSERT_OK_AND_ASSIGN(Tensor t, (*r)->GetVariable(path));
    EXPECT_EQ(t.flat<float>()[0], value) << path;
  }
  EXPECT_EQ((*r)->Variables().size(), 3u);
}

TEST(ObjectGoldenTest, B4GraphOnlyBundle) {
  auto r = ObjectCheckpointReader::Open(testing::TestDataPath(kB4));
  ASSERT_TRUE(r.ok()) << r.status();
  const ObjectGraph& g = (*r)->graph();
  ASSERT_EQ(g.nodes().size(), 30u);
  EXPECT_THAT(ChildNames(g.nodes()[0]),
              ElementsAre("variables", "trainable_variables", "regularization_losses",
                          "keras_api", "__call__", "call_and_return_all_conditional_losses",
                          "_default_save_signature", "wp_vocab_table", "call", "signatures"));
  EXPECT_TRUE((*r)->Variables().empty());
  EXPECT_EQ((*r)->reader().variables().size(), 1u);
  // Some node refers to the same child id under two names; both routes work
  // and the node keeps the first (breadth-first) path.
  bool found_repeat = false;
  for (const auto& node : g.nodes()) {
    for (size_t i = 0; i < node.children.size() && !found_repeat; ++i) {
      for (size_t j = i + 1; j < node.children.size(); ++j) {
        if (node.children[i].node_id != node.children[j].node_id) continue;
        found_repeat = true;
        const int target = node.children[i].node_id;
        std::string base = node.path.empty() ? "" : node.path + "/";
        for (size_t k : {i, j}) {
          auto found = g.Find(base + EscapeLocalName(node.children[k].local_name));
          ASSERT_TRUE(found.ok()) << found.status();
          EXPECT_EQ((*found)->id, target);
        }
        EXPECT_TRUE(g.nodes()[target].reachable);
        break;
      }
    }
  }
  EXPECT_TRUE(found_repeat);
  for (const auto& node : g.nodes()) EXPECT_TRUE(node.reachable) << node.id;
}

TEST(ObjectGoldenTest, NameBasedCheckpointIsNotObjectBased) {
  EXPECT_THAT(ObjectCheckpointReader::Open(testing::TestDataPath(kA1)),
              StatusIs(StatusCode::kNotFound, "is not object-based"));
}

TEST(ObjectGraphTest, RejectsCorruptGraphs) {
  EXPECT_THAT(ObjectGraph::Parse(std::string("\xff\xff\xff", 3)),
              StatusIs(StatusCode::kDataLoss, "not a valid TrackableObjectGraph"));
  EXPECT_THAT(ObjectGraph::Parse(""), StatusIs(StatusCode::kDataLoss, "no nodes"));
  tensorflow::TrackableObjectGraph proto;
  auto* root = proto.add_nodes();
  auto* c = root->add_children();
  c->set_node_id(7);
  c->set_local_name("x");
  EXPECT_THAT(ObjectGraph::Parse(proto.SerializeAsString()),
              StatusIs(StatusCode::kDataLoss, "refers to child node 7, but the graph has 1"));
  c->set_node_id(0);  // a self-loop is legal
  auto* s = root->add_slot_variables();
  s->set_original_variable_node_id(0);
  s->set_slot_variable_node_id(-1);
  EXPECT_THAT(ObjectGraph::Parse(proto.SerializeAsString()),
              StatusIs(StatusCode::kDataLoss, "slot variable node -1"));
}

TEST(ObjectGraphTest, CorruptGraphInBundleIsDataLoss) {
  const std::string prefix = testing::TempDir() + "/bad";
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix));
    CKPT_ASSERT_OK(w->Add(kObjectGraphKey, Tensor::StringScalar("not a proto \xff\xff")));
    CKPT_ASSERT_OK(w->Finish());
  }
  EXPECT_THAT(ObjectCheckpointReader::Open(prefix),
              StatusIs(StatusCode::kDataLoss, "Checkpoint " + prefix));
  const std::string prefix2 = testing::TempDir() + "/notstring";
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(prefix2));
    CKPT_ASSERT_OK(w->Add(kObjectGraphKey, Tensor::Scalar<int32_t>(1)));
    CKPT_ASSERT_OK(w->Finish());
  }
  EXPECT_THAT(ObjectCheckpointReader::Open(prefix2),
              StatusIs(StatusCode::kDataLoss, "expected a string scalar"));
}

}  // namespace
}  // namespace ckpt
