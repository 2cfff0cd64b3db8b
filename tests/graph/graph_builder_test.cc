// GraphBuilder: names, attrs, inputs, Const encoding, errors, text format.
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ckpt/graph.h"
#include "ckpt/meta_graph.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;

const tensorflow::NodeDef* Node(const GraphBuilder& g, const std::string& name) {
  for (const auto& n : g.graph_def().node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

std::vector<std::string> Names(const GraphBuilder& g) {
  std::vector<std::string> names;
  for (const auto& n : g.graph_def().node()) names.push_back(n.name());
  return names;
}

std::vector<std::string> Inputs(const tensorflow::NodeDef* n) {
  return {n->input().begin(), n->input().end()};
}

std::vector<std::string> AttrKeys(const tensorflow::NodeDef* n) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : n->attr()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(GraphBuilderTest, UniqueNamesFollowTf) {
  GraphBuilder g;
  EXPECT_EQ(g.UniqueName("Const"), "Const");
  EXPECT_EQ(g.UniqueName("Const"), "Const_1");
  EXPECT_EQ(g.UniqueName("const"), "const_2");  // case-insensitive, shared count
  EXPECT_EQ(g.UniqueName("Const_1"), "Const_1_1");
  {
    auto s = g.NameScope("dense");
    EXPECT_EQ(g.current_scope(), "dense/");
    EXPECT_EQ(g.UniqueName("MatMul"), "dense/MatMul");
  }
  {
    auto s = g.NameScope("dense");
    EXPECT_EQ(g.current_scope(), "dense_1/");
    auto inner = g.NameScope("dense/");  // absolute re-entry
    EXPECT_EQ(g.UniqueName("MatMul"), "dense/MatMul_1");
  }
  EXPECT_EQ(g.current_scope(), "");
}

TEST(GraphBuilderTest, ConstNamesAndEncodingMatchTfPython) {
  GraphBuilder g;
  Output a = g.Const(Tensor::Scalar<float>(3.0f));
  Output b = g.Const(Tensor::FromVector<int32_t>({3}, {1, 2, 3}));
  Output c = g.Const(Tensor::StringScalar("hi"));
  Output d = g.Const(Tensor::FromVector<bool>({2}, {true, false}));
  Output e = g.Const(Tensor::FromVector<uint16_t>({2}, {7, 9}));
  CKPT_ASSERT_OK(g.status());
  EXPECT_EQ(a.node, "Const");
  EXPECT_EQ(b.node, "Const_1");
  EXPECT_EQ(c.node, "Const_2");
  // Scalars use the typed field; multi-element numeric values tensor_content
  // (TF's make_tensor_proto); bool and uint16 always the typed fields.
  EXPECT_EQ(GraphDefToText(g.graph_def()).find("float_val: 3") != std::string::npos, true);
  const auto& tb = Node(g, "Const_1")->attr().at("value").tensor();
  EXPECT_EQ(tb.tensor_content(), std::string("\1\0\0\0\2\0\0\0\3\0\0\0", 12));
  EXPECT_EQ(tb.int_val_size(), 0);
  EXPECT_EQ(Node(g, "Const_2")->attr().at("value").tensor().string_val(0), "hi");
  EXPECT_THAT(Node(g, "Const_3")->attr().at("value").tensor().bool_val(), ElementsAre(true, false));
  EXPECT_THAT(Node(g, "Const_4")->attr().at("value").tensor().int_val(), ElementsAre(7, 9));
  EXPECT_EQ(Node(g, "Const")->attr().at("dtype").type(), tensorflow::DT_FLOAT);
  EXPECT_EQ(a.input_name(), "Const");
  EXPECT_EQ(a.tensor_name(), "Const:0");
}

TEST(GraphBuilderTest, VariableNodesAttrsAndCollections) {
  GraphBuilder g;
  GraphVariable w;
  {
    auto s = g.NameScope("dense");
    w = g.Variable("kernel", Tensor::FromVector<float>({4, 3}, std::vector<float>(12, 1.0f)));
  }
  CKPT_ASSERT_OK(g.status());
  EXPECT_THAT(Names(g), ElementsAre("dense/kernel/initial_value", "dense/kernel",
                                    "dense/kernel/Assign", "dense/kernel/read"));
  EXPECT_EQ(w.name, "dense/kernel");
  EXPECT_TRUE(w.ref.is_ref);
  EXPECT_FALSE(w.read.is_ref);
  const auto* var = Node(g, "dense/kernel");
  EXPECT_EQ(var->op(), "VariableV2");
  EXPECT_THAT(AttrKeys(var), ElementsAre("container", "dtype", "shape", "shared_name"));
  EXPECT_EQ(var->attr().at("shape").shape().dim(1).size(), 3);
  const auto* assign = Node(g, "dense/kernel/Assign");
  EXPECT_THAT(Inputs(assign), ElementsAre("dense/kernel", "dense/kernel/initial_value"));
  EXPECT_THAT(AttrKeys(assign), ElementsAre("T", "_class", "_has_manual_control_dependencies",
                                            "use_locking", "validate_shape"));
  EXPECT_EQ(assign->attr().at("_class").list().s(0), "loc:@dense/kernel");
  EXPECT_TRUE(assign->attr().at("validate_shape").b());
  const auto* read = Node(g, "dense/kernel/read");
  EXPECT_EQ(read->op(), "Identity");
  EXPECT_THAT(AttrKeys(read), ElementsAre("T", "_class"));

  tensorflow::VariableDef def = w.ToVariableDef();
  EXPECT_EQ(def.variable_name(), "dense/kernel:0");
  EXPECT_EQ(def.initializer_name(), "dense/kernel/Assign");
  EXPECT_EQ(def.snapshot_name(), "dense/kernel/read:0");
  EXPECT_EQ(def.initial_value_name(), "dense/kernel/initial_value:0");
  EXPECT_TRUE(def.trainable());
  ASSERT_EQ(g.collections().count("variables"), 1u);
  ASSERT_EQ(g.collections().count("trainable_variables"), 1u);
  EXPECT_EQ(g.collections().at("variables").bytes_list().value(0), def.SerializeAsString());

  // A second variable of the same name gets "_1" on every node.
  {
    auto s = g.NameScope("dense/");
    GraphVariable w2 = g.Variable("kernel", Tensor::Scalar<float>(1), /*trainable=*/false);
    EXPECT_EQ(w2.name, "dense/kernel_1");
    EXPECT_EQ(w2.initializer, "dense/kernel_1/Assign");
  }
  EXPECT_EQ(g.collections().at("variables").bytes_list().value_size(), 2);
  EXPECT_EQ(g.collections().at("trainable_variables").bytes_list().value_size(), 1);
}

TEST(GraphBuilderTest, DenseLayerOpsCarryTfAttrs) {
  GraphBuilder g;
  Output x = g.Placeholder(DataType::kFloat, PartialShape{-1, 4}, "x");
  GraphVariable w = g.Variable("w", Tensor::FromVector<float>({4, 3}, std::vector<float>(12)));
  GraphVariable b = g.Variable("b", Tensor::FromVector<float>({3}, std::vector<float>(3)));
  Output mm = g.MatMul(x, w.read);
  Output y = g.Softmax(g.Relu(g.BiasAdd(mm, b.read)));
  Output am = g.ArgMax(y, 1);
  std::string init = g.GlobalVariablesInitializer();
  CKPT_ASSERT_OK(g.status());
  EXPECT_EQ(mm.shape, (PartialShape{-1, 3}));
  EXPECT_EQ(am.shape, (PartialShape{-1}));
  EXPECT_EQ(am.dtype, DataType::kInt64);
  EXPECT_THAT(AttrKeys(Node(g, "x")), ElementsAre("dtype", "shape"));
  EXPECT_THAT(AttrKeys(Node(g, "MatMul")),
              ElementsAre("T", "grad_a", "grad_b", "transpose_a", "transpose_b"));
  EXPECT_THAT(Inputs(Node(g, "MatMul")), ElementsAre("x", "w/read"));
  EXPECT_EQ(Node(g, "BiasAdd")->attr().at("data_format").s(), "NHWC");
  EXPECT_THAT(Inputs(Node(g, "Relu")), ElementsAre("BiasAdd"));
  EXPECT_THAT(AttrKeys(Node(g, "ArgMax")), ElementsAre("T", "Tidx", "output_type"));
  EXPECT_THAT(Inputs(Node(g, "ArgMax")), ElementsAre("Softmax", "ArgMax/dimension"));
  EXPECT_EQ(Node(g, "ArgMax/dimension")->attr().at("value").tensor().int_val(0), 1);
  EXPECT_EQ(init, "init");
  // Control inputs sorted by name, after data inputs.
  EXPECT_THAT(Inputs(Node(g, "init")), ElementsAre("^b/Assign", "^w/Assign"));
  EXPECT_THAT(g.UsedOps(), ElementsAre("ArgMax", "Assign", "BiasAdd", "Const", "Identity", "MatMul",
                                       "NoOp", "Placeholder", "Relu", "Softmax", "VariableV2"));
}

TEST(GraphBuilderTest, UnaryActivationsAndLeakyRelu) {
  GraphBuilder g;
  Output x = g.Placeholder(DataType::kFloat, PartialShape{-1, 4}, "x");
  for (const char* op : {"Relu", "Relu6", "Elu", "Selu", "Tanh", "Sigmoid", "Softplus",
                         "Softsign", "Rsqrt", "ZerosLike"}) {
    SCOPED_TRACE(op);
    Output y = g.Unary(op, x);
    CKPT_ASSERT_OK(g.status());
    EXPECT_EQ(y.node, op);
    EXPECT_EQ(y.shape, (PartialShape{-1, 4}));
    EXPECT_EQ(Node(g, op)->op(), op);
    EXPECT_THAT(AttrKeys(Node(g, op)), ElementsAre("T"));
    EXPECT_EQ(Node(g, op)->attr().at("T").type(), tensorflow::DT_FLOAT);
    EXPECT_THAT(Inputs(Node(g, op)), ElementsAre("x"));
  }
  EXPECT_EQ(g.Unary("Tanh", x, "layer/act").node, "layer/act");
  EXPECT_EQ(g.Unary("Tanh", x).node, "Tanh_1");
  Output l = g.LeakyRelu(x, 0.3f);
  CKPT_ASSERT_OK(g.status());
  EXPECT_THAT(AttrKeys(Node(g, l.node)), ElementsAre("T", "alpha"));
  EXPECT_FLOAT_EQ(Node(g, l.node)->attr().at("alpha").f(), 0.3f);
  // Not a one-input, T-only op.
  GraphBuilder bad;
  Output y = bad.Placeholder(DataType::kFloat);
  EXPECT_FALSE(bad.Unary("MatMul", y).valid());
  EXPECT_THAT(bad.status(), StatusIs(StatusCode::kInvalidArgument, "'MatMul' is not"));
  GraphBuilder bad2;
  Output i = bad2.Placeholder(DataType::kInt32);
  bad2.Unary("Tanh", i);  // T = int32 is not among Tanh's allowed types
  EXPECT_THAT(bad2.status(), StatusIs(StatusCode::kInvalidArgument, "is not allowed"));
}

TEST(GraphBuilderTest, BinaryConcatAndExpandDims) {
  GraphBuilder g;
  Output x = g.Placeholder(DataType::kFloat, PartialShape{-1, 1}, "x");
  Output v = g.Placeholder(DataType::kFloat, PartialShape{3}, "v");
  Output s = g.Const(Tensor::Scalar<float>(2), "s");
  Output add = g.Binary("Add", v, s, "add");
  Output mul = g.Binary("Mul", x, v);
  Output sub = g.Binary("Sub", mul, add);
  CKPT_ASSERT_OK(g.status());
  EXPECT_EQ(add.shape, (PartialShape{3}));
  EXPECT_EQ(mul.shape, (PartialShape{-1, 3}));
  EXPECT_EQ(sub.node, "Sub");
  EXPECT_THAT(Inputs(Node(g, "Sub")), ElementsAre("Mul", "add"));
  EXPECT_THAT(AttrKeys(Node(g, "add")), ElementsAre("T"));

  Output z = g.Unary("ZerosLike", x, "zeros_like");
  Output c = g.ConcatV2({z, x}, -1, "two");
  CKPT_ASSERT_OK(g.status());
  EXPECT_EQ(c.shape, (PartialShape{-1, 2}));
  EXPECT_THAT(Inputs(Node(g, "two")), ElementsAre("zeros_like", "x", "two/axis"));
  EXPECT_THAT(AttrKeys(Node(g, "two")), ElementsAre("N", "T", "Tidx"));
  EXPECT_EQ(Node(g, "two")->attr().at("N").i(), 2);
  EXPECT_EQ(Node(g, "two/axis")->attr().at("value").tensor().int_val(0), -1);
  Output rows = g.ConcatV2({g.Placeholder(DataType::kFloat, PartialShape{1, 3}, "r0"),
                            g.Placeholder(DataType::kFloat, PartialShape{2, 3}, "r1")},
                           0);
  EXPECT_EQ(rows.node, "concat");
  EXPECT_EQ(rows.shape, (PartialShape{3, 3}));

  Output am = g.ArgMax(c, -1);
  Output e = g.ExpandDims(am, -1);
  CKPT_ASSERT_OK(g.status());
  EXPECT_EQ(e.shape, (PartialShape{-1, 1}));
  EXPECT_EQ(e.dtype, DataType::kInt64);
  EXPECT_THAT(Inputs(Node(g, "ExpandDims")), ElementsAre("ArgMax", "ExpandDims/dim"));
  EXPECT_THAT(AttrKeys(Node(g, "ExpandDims")), ElementsAre("T", "Tdim"));
  EXPECT_EQ(Node(g, "ExpandDims/dim")->attr().at("value").tensor().int_val(0), -1);

  {
    GraphBuilder b;
    Output p = b.Placeholder(DataType::kFloat, PartialShape{2, 3});
    Output q = b.Placeholder(DataType::kFloat, PartialShape{4});
    EXPECT_FALSE(b.Binary("Add", p, q).valid());
    EXPECT_THAT(b.status(), StatusIs(StatusCode::kInvalidArgument, "cannot broadcast"));
  }
  {
    GraphBuilder b;
    Output p = b.Placeholder(DataType::kFloat, PartialShape{2, 3});
    EXPECT_FALSE(b.Binary("MatMul", p, p).valid());
    EXPECT_THAT(b.status(), StatusIs(StatusCode::kInvalidArgument, "not one of"));
  }
  {
    GraphBuilder b;
    Output p = b.Placeholder(DataType::kFloat, PartialShape{2, 3});
    Output q = b.Placeholder(DataType::kFloat, PartialShape{2, 4});
    EXPECT_FALSE(b.ConcatV2({p, q}, 0).valid());
    EXPECT_THAT(b.status(), StatusIs(StatusCode::kInvalidArgument, "dimension 1 differs"));
  }
  {
    GraphBuilder b;
    Output p = b.Placeholder(DataType::kFloat, PartialShape{2, 3});
    EXPECT_FALSE(b.ConcatV2({p}, 0).valid());
    EXPECT_THAT(b.status(), StatusIs(StatusCode::kInvalidArgument, "at least two"));
  }
}

TEST(GraphBuilderTest, TextFormatOfSmallGraph) {
  GraphBuilder g;
  Output x = g.Placeholder(DataType::kFloat, PartialShape{-1, 2}, "x");
  g.Identity(x, "y");
  CKPT_ASSERT_OK(g.status());
  auto graph = BuildGraphDef(g);
  ASSERT_TRUE(graph.ok());
  EXPECT_EQ(GraphDefToText(*graph),
            "node {\n"
            "  name: \"x\"\n"
            "  op: \"Placeholder\"\n"
            "  attr {\n"
            "    key: \"dtype\"\n"
            "    value {\n"
            "      type: DT_FLOAT\n"
            "    }\n"
            "  }\n"
            "  attr {\n"
            "    key: \"shape\"\n"
            "    value {\n"
            "      shape {\n"
            "        dim {\n"
            "          size: -1\n"
            "        }\n"
            "        dim {\n"
            "          size: 2\n"
            "        }\n"
            "      }\n"
            "    }\n"
            "  }\n"
            "}\n"
            "node {\n"
            "  name: \"y\"\n"
            "  op: \"Identity\"\n"
            "  input: \"x\"\n"
            "  attr {\n"
            "    key: \"T\"\n"
            "    value {\n"
            "      type: DT_FLOAT\n"
            "    }\n"
            "  }\n"
            "}\n"
            "versions {\n"
            "  producer: 2474\n"
            "}\n");
}

TEST(GraphBuilderTest, ErrorsAreStickyAndNamed) {
  {
    GraphBuilder g;
    Output a = g.Placeholder(DataType::kFloat, PartialShape{2, 3});
    Output b = g.Placeholder(DataType::kFloat, PartialShape{4, 5});
    Output c = g.MatMul(a, b);
    EXPECT_FALSE(c.valid());
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "inner dimensions differ"));
    // Later calls fail with the first error.
    EXPECT_FALSE(g.Relu(a).valid());
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "inner dimensions"));
    EXPECT_THAT(BuildGraphDef(g), StatusIs(StatusCode::kInvalidArgument, "inner dimensions"));
  }
  {
    GraphBuilder g;
    Output a = g.Placeholder(DataType::kFloat);
    Output b = g.Placeholder(DataType::kDouble);
    g.MatMul(a, b);
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "has dtype double, expected float"));
  }
  {
    GraphBuilder g;
    g.Softmax(g.Placeholder(DataType::kInt32));
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "not allowed (int32)"));
  }
  {
    GraphBuilder g;
    g.AddOp("Conv2D", "c", {}, {});
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "not in ckpt's op registry"));
  }
  {
    GraphBuilder g;
    Output a = g.Placeholder(DataType::kFloat);
    g.Assign(a, a);  // not a ref
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "must be a ref"));
  }
  {
    GraphBuilder g;
    g.Placeholder(DataType::kFloat, PartialShape::Unknown(), "bad name!");
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "not a valid node name"));
  }
  {
    GraphBuilder g;
    g.AddOp("Placeholder", "p", {}, {});  // dtype has no default
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "missing attr 'dtype'"));
  }
  {
    GraphBuilder g;
    g.AddOp("NoOp", "n", {}, {{"bogus", AttrBool(true)}});
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "no attr 'bogus'"));
  }
  {
    GraphBuilder g;
    g.NoOp("n", {"missing"});
    EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument, "control input 'missing'"));
  }
  {
    tensorflow::TensorProto p;
    EXPECT_THAT(TensorToProto(Tensor(), &p), StatusIs(StatusCode::kInvalidArgument, "cannot hold"));
  }
}

// tf.io.parse_example(s, {"z": FixedLenFeature([2], float32),
// "a": FixedLenFeature([1], int64, default_value=[7]),
// "m b": FixedLenFeature([], string)}) in TF 2.21's graph mode: the node
// order, names, inputs and attrs TF prints (its GraphDef, checked against
// TF itself attr by attr in tests/interop/test_parse_example.py).
TEST(GraphBuilderTest, ParseExampleEmitsTfsNodes) {
  GraphBuilder g;
  Output s = g.Placeholder(DataType::kString, {-1}, "input_example_tensor");
  std::vector<DenseFeature> features = {
      {"z", DataType::kFloat, {2}, std::nullopt},
      {"a", DataType::kInt64, {1}, Tensor::FromVector<int64_t>({1}, {7})},
      {"m b", DataType::kString, {}, std::nullopt}};
  std::vector<Output> out = g.ParseExample(s, features);
  CKPT_ASSERT_OK(g.status());
  EXPECT_THAT(Names(g), ElementsAre("input_example_tensor", "ParseExample/key_a",
                                    "ParseExample/Reshape/shape", "ParseExample/Reshape",
                                    "ParseExample/Const", "ParseExample/Const_1",
                                    "ParseExample/ParseExampleV2/names",
                                    "ParseExample/ParseExampleV2/sparse_keys",
                                    "ParseExample/ParseExampleV2/dense_keys",
                                    "ParseExample/ParseExampleV2/ragged_keys",
                                    "ParseExample/ParseExampleV2"));
  const auto* node = Node(g, "ParseExample/ParseExampleV2");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->op(), "ParseExampleV2");
  EXPECT_THAT(Inputs(node),
              ElementsAre("input_example_tensor", "ParseExample/ParseExampleV2/names",
                          "ParseExample/ParseExampleV2/sparse_keys",
                          "ParseExample/ParseExampleV2/dense_keys",
                          "ParseExample/ParseExampleV2/ragged_keys", "ParseExample/Reshape",
                          "ParseExample/Const", "ParseExample/Const_1"));
  EXPECT_THAT(AttrKeys(node), ElementsAre("Tdense", "dense_shapes", "num_sparse",
                                          "ragged_split_types", "ragged_value_types",
                                          "sparse_types"));
  const auto& types = node->attr().at("Tdense").list().type();
  EXPECT_THAT(std::vector<int>(types.begin(), types.end()),
              ElementsAre(tensorflow::DT_INT64, tensorflow::DT_STRING, tensorflow::DT_FLOAT));
  const auto& shapes = node->attr().at("dense_shapes").list();
  ASSERT_EQ(shapes.shape_size(), 3);
  EXPECT_EQ(shapes.shape(0).dim(0).size(), 1);
  EXPECT_EQ(shapes.shape(1).dim_size(), 0);
  EXPECT_EQ(shapes.shape(2).dim(0).size(), 2);
  EXPECT_TRUE(node->attr().at("sparse_types").has_list());
  EXPECT_EQ(node->attr().at("num_sparse").i(), 0);
  const auto& keys = Node(g, "ParseExample/ParseExampleV2/dense_keys")->attr().at("value").tensor();
  EXPECT_THAT(std::vector<std::string>(keys.string_val().begin(), keys.string_val().end()),
              ElementsAre("a", "m b", "z"));
  EXPECT_EQ(Node(g, "ParseExample/Const")->attr().at("dtype").type(), tensorflow::DT_STRING);
  EXPECT_EQ(Node(g, "ParseExample/Const")->attr().at("value").tensor().tensor_shape().dim(0).size(),
            0);

  // The outputs in the caller's order, each [batch] + shape.
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].input_name(), "ParseExample/ParseExampleV2:2");
  EXPECT_EQ(out[0].dtype, DataType::kFloat);
  EXPECT_EQ(out[0].shape, (PartialShape{-1, 2}));
  EXPECT_EQ(out[1].input_name(), "ParseExample/ParseExampleV2");
  EXPECT_EQ(out[1].shape, (PartialShape{-1, 1}));
  EXPECT_EQ(out[2].tensor_name(), "ParseExample/ParseExampleV2:1");
  EXPECT_EQ(out[2].shape, (PartialShape{-1}));

  // A second parse gets its own scope, as TF's name_scope makes it unique.
  g.ParseExample(s, {{"k.1", DataType::kFloat, {1}, Tensor::FromVector<float>({}, {0.5f})}});
  CKPT_ASSERT_OK(g.status());
  EXPECT_TRUE(g.HasNode("ParseExample_1/ParseExampleV2"));
  EXPECT_TRUE(g.HasNode("ParseExample_1/key_k.1"));
}

TEST(GraphBuilderTest, ParseExampleRejectsBadFeaturesNamingThem) {
  auto fails = [](std::vector<DenseFeature> features, DataType input = DataType::kString) {
    GraphBuilder g;
    Output s = g.Placeholder(input, {-1}, "s");
    EXPECT_TRUE(g.ParseExample(s, features).empty());
    return g.status();
  };
  EXPECT_THAT(fails({}), StatusIs(StatusCode::kInvalidArgument, "no features"));
  EXPECT_THAT(fails({{"x", DataType::kFloat, {1}, std::nullopt}}, DataType::kFloat),
              StatusIs(StatusCode::kInvalidArgument, "serialized has dtype float"));
  EXPECT_THAT(fails({{"x", DataType::kFloat, {1}, std::nullopt},
                     {"x", DataType::kInt64, {1}, std::nullopt}}),
              StatusIs(StatusCode::kInvalidArgument, "feature 'x' given twice"));
  EXPECT_THAT(fails({{"d", DataType::kDouble, {1}, std::nullopt}}),
              StatusIs(StatusCode::kInvalidArgument, "feature 'd' has dtype double"));
  EXPECT_THAT(fails({{"v", DataType::kFloat, {-1}, std::nullopt}}),
              StatusIs(StatusCode::kInvalidArgument, "feature 'v' has a shape that is not"));
  EXPECT_THAT(fails({{"w", DataType::kFloat, {2}, Tensor::FromVector<float>({3}, {1, 2, 3})}}),
              StatusIs(StatusCode::kInvalidArgument, "feature 'w': default has 3 elements"));
  EXPECT_THAT(fails({{"i", DataType::kInt64, {1}, Tensor::FromVector<float>({1}, {1})}}),
              StatusIs(StatusCode::kInvalidArgument, "feature 'i': default has dtype float"));
}

}  // namespace
}  // namespace ckpt
