"""The .meta of every canned-classifier form, run by real TensorFlow.

ckpt_graph_forms_driver trains one form of the DNN or linear model core on
Iris and saves a checkpoint with its .meta (DescribeGraph + the Saver
subgraph). TensorFlow then, in graph mode:
  * imports the .meta with tf.compat.v1.train.import_meta_graph, restores
    our checkpoint through the imported Saver, feeds the Iris test rows to
    the "features" placeholder and gets our logits, probabilities and class
    ids (1e-5), for every activation, the binary head, batch norm and the
    linear model with both heads;
  * finds every checkpoint key among the graph's variables (and nothing
    else), and every OpDef of the stripped_op_list equal to its own;
  * builds the binary head's prediction ops and tf.nn.batch_normalization
    itself and finds our nodes (names, ops, inputs, attrs) equal.
"""

import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, REPO, tf
from test_dnn_classifier import iris_test_features, run_imported_meta_graph

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_graph_forms_driver"
IRIS = REPO / "data" / "iris"
STEPS = 60

# id -> (model, activation, n_classes, batch_norm)
FORMS = {
    "dnn_tanh": ("dnn", "tanh", 3, 0),
    "dnn_binary_relu": ("dnn", "relu", 2, 0),
    "dnn_batch_norm": ("dnn", "relu", 3, 1),
    "dnn_batch_norm_binary_elu": ("dnn", "elu", 2, 1),
    "dnn_relu6": ("dnn", "relu6", 3, 0),
    "dnn_selu": ("dnn", "selu", 3, 0),
    "dnn_sigmoid": ("dnn", "sigmoid", 3, 0),
    "dnn_softplus": ("dnn", "softplus", 3, 0),
    "dnn_softsign": ("dnn", "softsign", 3, 0),
    "dnn_leaky_relu": ("dnn", "leaky_relu", 3, 0),
    "linear": ("linear", "-", 3, 0),
    "linear_binary": ("linear", "-", 2, 0),
}


def run_driver(out_dir, form):
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_graph_forms_driver")
    model, activation, n_classes, batch_norm = FORMS[form]
    proc = subprocess.run(
        [str(DRIVER), str(IRIS / "iris_training.csv"), str(IRIS / "iris_test.csv"),
         str(out_dir), str(STEPS), model, activation, str(n_classes), str(batch_norm)],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    out = {"logits": [], "prob": [], "class_id": []}
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "prefix":
            out["prefix"] = rest
        else:
            out[kind].append([float(v) for v in rest.split()])
    for key in ("logits", "prob"):
        out[key] = np.array(out[key], dtype=np.float64)
    out["class_id"] = np.array(out["class_id"], dtype=np.int64)[:, 0]
    return out


def tensor_names(form):
    model, _, n_classes, _ = FORMS[form]
    scope = model
    logits = "dnn/logits/BiasAdd:0" if model == "dnn" else "linear/linear_model/weighted_sum:0"
    p = f"{scope}/head/predictions/"
    ids = p + ("class_ids:0" if n_classes == 2 else "ArgMax:0")
    return logits, p + "probabilities:0", ids, (p + "logistic:0" if n_classes == 2 else None)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cache = {}

    def get(form):
        if form not in cache:
            cache[form] = run_driver(tmp_path_factory.mktemp(form), form)
        return cache[form]

    return get


@pytest.mark.parametrize("form", sorted(FORMS))
def test_imported_meta_graph_reproduces_predict(runs, form):
    ours = runs(form)
    prefix = ours["prefix"]
    logits_name, probs_name, ids_name, logistic_name = tensor_names(form)
    fetches = [logits_name, probs_name, ids_name] + ([logistic_name] if logistic_name else [])
    got, graph = run_imported_meta_graph(prefix, fetches, iris_test_features()[0])
    variables = sorted(v.op.name for v in graph.get_collection("variables"))
    np.testing.assert_allclose(got[0], ours["logits"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(got[1], ours["prob"], atol=1e-5, rtol=0)
    np.testing.assert_array_equal(got[2], ours["class_id"])
    if logistic_name:
        np.testing.assert_allclose(got[3], 1 / (1 + np.exp(-ours["logits"])), atol=1e-5, rtol=0)
        np.testing.assert_allclose(got[1][:, 1], got[3][:, 0], atol=1e-6, rtol=0)
    # The model learnt something (the outputs are not the initial ones).
    assert np.ptp(ours["prob"], axis=0).max() > 0.05
    # Every checkpoint key is a variable of the graph, and nothing else is.
    keys = sorted(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())
    assert variables == keys


def test_batch_norm_statistics_are_nontrivial(runs):
    """The batch-norm forms exercise the arithmetic: trained moving
    statistics and gamma differ from their initial 0 / 1."""
    reader = tf.train.load_checkpoint(runs("dnn_batch_norm")["prefix"])
    for i in (0, 1):
        scope = f"dnn/hiddenlayer_{i}/batchnorm_{i}/"
        assert np.abs(reader.get_tensor(scope + "moving_mean")).max() > 1e-3
        assert np.abs(reader.get_tensor(scope + "moving_variance") - 1).max() > 1e-3
        assert np.abs(reader.get_tensor(scope + "gamma") - 1).max() > 1e-3


@pytest.mark.parametrize("form", ["dnn_batch_norm_binary_elu", "linear"])
def test_stripped_op_list_is_tfs(runs, form):
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow.python.framework import op_def_registry

    meta = meta_graph_pb2.MetaGraphDef()
    with open(runs(form)["prefix"] + ".meta", "rb") as f:
        meta.ParseFromString(f.read())
    ops = {op.name for op in meta.meta_info_def.stripped_op_list.op}
    assert {n.op for n in meta.graph_def.node} == ops
    for op in meta.meta_info_def.stripped_op_list.op:
        assert op == op_def_registry.get(op.name), op.name


def our_nodes(prefix, scope):
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    with open(prefix + ".meta", "rb") as f:
        meta.ParseFromString(f.read())
    return {n.name: n for n in meta.graph_def.node if n.name.startswith(scope)}


def tf_nodes(graph_def, scope):
    nodes = {}
    for n in graph_def.node:
        if n.name.startswith(scope):
            if "_output_shapes" in n.attr:
                del n.attr["_output_shapes"]
            nodes[n.name] = n
    return nodes


def assert_same_nodes(ours, theirs, rename_inputs, ops_equivalent=(), count=0):
    assert len(theirs) == count, sorted(theirs)
    assert sorted(ours) == sorted(theirs)
    for name, node in ours.items():
        want = theirs[name]
        op = node.op
        for a, b in ops_equivalent:
            if want.op == b and op == a:
                op = b
        assert op == want.op, name
        assert [rename_inputs.get(i, i) for i in node.input] == list(want.input), name
        assert dict(node.attr) == dict(want.attr), name


def test_binary_head_nodes_are_tfs(runs):
    """TF's binary logistic head builds these prediction ops (names from
    tensorflow_estimator's canned head) in <scope>/head/predictions."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        logits = v1.placeholder(tf.float32, [None, 1], name="logits")
        with v1.name_scope("dnn/head/predictions/"):
            tf.math.sigmoid(logits, name="logistic")
            two = tf.concat((v1.zeros_like(logits), logits), axis=-1, name="two_class_logits")
            tf.nn.softmax(two, name="probabilities")
            ids = tf.math.argmax(two, axis=-1, name="class_ids")
            tf.expand_dims(ids, axis=-1)
    scope = "dnn/head/predictions/"
    ours = our_nodes(runs("dnn_binary_relu")["prefix"], scope)
    theirs = tf_nodes(graph.as_graph_def(), scope)
    # logistic, zeros_like, two_class_logits(+/axis), probabilities,
    # class_ids(+/dimension), ExpandDims(+/dim)
    assert_same_nodes(ours, theirs, {"dnn/logits/BiasAdd": "logits"}, count=9)


def test_batch_norm_nodes_are_tfs(runs):
    """tf.nn.batch_normalization on the moving statistics: same nodes, except
    that TF 2.x writes `+` as AddV2 where ckpt writes Add (which TF 1.x can
    also load; same arithmetic)."""
    v1 = tf.compat.v1
    prefix = runs("dnn_batch_norm")["prefix"]
    scope = "dnn/hiddenlayer_0/batchnorm_0/batchnorm/"
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 10], name="x")
        reads = {}
        for v in ("gamma", "beta", "moving_mean", "moving_variance"):
            reads[v] = v1.placeholder(tf.float32, [10], name=v)
        with v1.name_scope("dnn/hiddenlayer_0/batchnorm_0/"):
            tf.nn.batch_normalization(x, reads["moving_mean"], reads["moving_variance"],
                                      reads["beta"], reads["gamma"], 0.001)
    ours = our_nodes(prefix, scope)
    theirs = tf_nodes(graph.as_graph_def(), scope)
    rename = {"dnn/hiddenlayer_0/Relu": "x"}
    for v in ("gamma", "beta", "moving_mean", "moving_variance"):
        rename[f"dnn/hiddenlayer_0/batchnorm_0/{v}/read"] = v
    # add(+/y), Rsqrt, mul, mul_1, mul_2, sub, add_1
    assert_same_nodes(ours, theirs, rename, ops_equivalent=[("Add", "AddV2")], count=8)
