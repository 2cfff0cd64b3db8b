"""Graphs: ckpt's GraphBuilder / Saver subgraph / .meta / graph.pbtxt against
real TensorFlow, and ckpt reading TF-written .meta files.

ckpt_graph_driver (graph_driver.cc) builds a small dense model, saves its
variables with ckpt::Saver (meta_graph_writer set) and prints the C++ forward
pass; TensorFlow then imports the .meta, restores the checkpoint through the
graph's own Saver and must reproduce the outputs.
"""

import pathlib

import numpy as np
import pytest

from conftest import TESTDATA_DIR, run_graph_driver as run_driver, tf

tf1 = tf.compat.v1


@pytest.fixture(scope="module")
def dense_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("graph_dense")
    lines = run_driver("dense", d, 42)
    prefix, inputs, outputs, classes = None, {}, {}, {}
    for line in lines:
        tok = line.split()
        if tok[0] == "prefix":
            prefix = tok[1]
        elif tok[0] == "input":
            inputs[int(tok[1])] = [float(v) for v in tok[2:]]
        elif tok[0] == "output":
            outputs[int(tok[1])] = [float(v) for v in tok[2:]]
        elif tok[0] == "argmax":
            classes[int(tok[1])] = int(tok[2])
    n = len(inputs)
    return {
        "dir": d,
        "prefix": prefix,
        "x": np.array([inputs[i] for i in range(n)], np.float32),
        "y": np.array([outputs[i] for i in range(n)], np.float64),
        "cls": np.array([classes[i] for i in range(n)], np.int64),
    }


def test_tf_imports_meta_restores_and_reproduces_forward_pass(dense_model):
    meta = dense_model["prefix"] + ".meta"
    assert pathlib.Path(meta).exists()
    g = tf.Graph()
    with g.as_default():
        saver = tf1.train.import_meta_graph(meta)
        assert saver is not None, "import_meta_graph found no SaverDef"
        with tf1.Session(graph=g) as sess:
            saver.restore(sess, dense_model["prefix"])
            probs, cls, step = sess.run(["Softmax:0", "ArgMax:0", "global_step:0"],
                                        feed_dict={"x:0": dense_model["x"]})
            # The user collections resolve to the same tensors.
            assert g.get_collection("predictions")[0].name == "Softmax:0"
            assert len(tf1.global_variables()) == 5
            assert sorted(v.op.name for v in tf1.trainable_variables()) == [
                "dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel"]
            assert tf1.train.get_global_step(g).op.name == "global_step"
    np.testing.assert_allclose(probs, dense_model["y"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(cls, dense_model["cls"])
    assert step == 42


def test_tf_saver_from_our_meta_saves_what_ckpt_reads(dense_model, tmp_path):
    """The Saver subgraph also saves: TF runs save/control_dependency and the
    checkpoint holds the values our checkpoint held."""
    g = tf.Graph()
    with g.as_default():
        saver = tf1.train.import_meta_graph(dense_model["prefix"] + ".meta")
        with tf1.Session(graph=g) as sess:
            saver.restore(sess, dense_model["prefix"])
            out = saver.save(sess, str(tmp_path / "again"), write_meta_graph=False)
    ours = tf.train.load_checkpoint(dense_model["prefix"])
    theirs = tf.train.load_checkpoint(out)
    assert ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map()
    for name in ours.get_variable_to_shape_map():
        np.testing.assert_array_equal(ours.get_tensor(name), theirs.get_tensor(name))


def test_tf_initializes_from_our_graph(dense_model):
    """Running `init` assigns the initial values stored in our Const nodes."""
    g = tf.Graph()
    with g.as_default():
        tf1.train.import_meta_graph(dense_model["prefix"] + ".meta")
        with tf1.Session(graph=g) as sess:
            sess.run("init")
            probs = sess.run("Softmax:0", feed_dict={"x:0": dense_model["x"]})
    # The driver's initial values are the saved values.
    np.testing.assert_allclose(probs, dense_model["y"], rtol=0, atol=1e-6)


def test_tf_reads_our_graph_pbtxt(dense_model):
    from google.protobuf import text_format
    text = tf.io.read_file(str(dense_model["dir"] / "graph.pbtxt")).numpy().decode()
    graph_def = text_format.Parse(text, tf1.GraphDef())
    assert graph_def.versions.producer == 2474
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(graph_def, name="")
        names = {op.name for op in g.get_operations()}
        assert {"x", "dense/kernel", "dense/kernel/read", "save/restore_all", "init"} <= names
        with tf1.Session(graph=g) as sess:
            sess.run("init")
            probs = sess.run("Softmax:0", feed_dict={"x:0": dense_model["x"]})
    np.testing.assert_allclose(probs, dense_model["y"], rtol=0, atol=1e-6)


def test_our_meta_graph_matches_tf_structure(dense_model):
    """Our nodes, attrs (incl. defaults) and OpDefs equal what TF 2.21 writes
    for the same model built with tf.compat.v1 (ignoring _output_shapes,
    which TF adds on export and ckpt leaves out)."""
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow.python.framework import op_def_registry

    ours = meta_graph_pb2.MetaGraphDef()
    ours.ParseFromString(pathlib.Path(dense_model["prefix"] + ".meta").read_bytes())
    # Every OpDef in our stripped_op_list equals TF 2.21's registered one.
    for op in ours.meta_info_def.stripped_op_list.op:
        assert op == op_def_registry.get(op.name), op.name

    reader = tf.train.load_checkpoint(dense_model["prefix"])
    g = tf.Graph()
    with g.as_default():
        tf1.disable_resource_variables()
        try:
            x = tf1.placeholder(tf.float32, [None, 4], name="x")
            with tf1.name_scope("dense"):
                w1 = tf1.Variable(reader.get_tensor("dense/kernel"), name="kernel")
                b1 = tf1.Variable(reader.get_tensor("dense/bias"), name="bias")
                h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w1), b1))
            with tf1.name_scope("dense_1"):
                w2 = tf1.Variable(reader.get_tensor("dense_1/kernel"), name="kernel")
                b2 = tf1.Variable(reader.get_tensor("dense_1/bias"), name="bias")
                logits = tf.nn.bias_add(tf.matmul(h, w2), b2)
            probs = tf.nn.softmax(logits)
            tf.argmax(probs, 1)
            tf1.train.get_or_create_global_step()
            tf1.global_variables_initializer()
            saver = tf1.train.Saver()
            theirs = tf1.train.export_meta_graph(graph=g, saver_def=saver.as_saver_def())
        finally:
            tf1.enable_resource_variables()

    def nodes(meta):
        out = {}
        for n in meta.graph_def.node:
            n = type(n).FromString(n.SerializeToString())
            if "_output_shapes" in n.attr:
                del n.attr["_output_shapes"]
            out[n.name] = n
        return out

    a, b = nodes(ours), nodes(theirs)
    assert list(a) == list(b), "node names or order differ"
    for name in a:
        assert a[name] == b[name], f"node {name} differs:\nours:\n{a[name]}\nTF:\n{b[name]}"
    assert ours.saver_def == theirs.saver_def
    assert sorted(ours.collection_def) == sorted(set(theirs.collection_def) | {"predictions", "classes"})
    for key in ("variables", "trainable_variables", "global_step"):
        assert ours.collection_def[key] == theirs.collection_def[key], key
    assert ([o.name for o in ours.meta_info_def.stripped_op_list.op]
            == [o.name for o in theirs.meta_info_def.stripped_op_list.op])


def describe(path, saved_model=False):
    args = ["describe", path] + (["savedmodel"] if saved_model else [])
    out = {"op": [], "node": {}, "variable": [], "collection": {}, "saver": None}
    for line in run_driver(*args):
        tok = line.split(" ")
        if tok[0] == "op":
            out["op"].append(tok[1])
        elif tok[0] == "node":
            out["node"][tok[1]] = (tok[2], tok[3:])
        elif tok[0] == "variable":
            out["variable"].append((tok[1], tok[2], tok[3], tok[4] == "1"))
        elif tok[0] == "collection":
            out["collection"][tok[1]] = (tok[2], int(tok[3]))
        elif tok[0] == "saver":
            out["saver"] = tok[1:]
        elif tok[0] in ("version", "producer"):
            out[tok[0]] = tok[1]
    return out


def test_we_read_tf_written_meta(tmp_path):
    g = tf.Graph()
    with g.as_default():
        tf1.disable_resource_variables()
        try:
            x = tf1.placeholder(tf.float32, [None, 2], name="x")
            w = tf1.Variable(np.ones((2, 2), np.float32), name="w")
            v = tf1.Variable(np.zeros((2,), np.float32), name="v", trainable=False)
            y = tf.matmul(x, w) + v
            step = tf1.train.get_or_create_global_step()
            tf1.add_to_collection("train_op", tf1.assign_add(step, 1).op)
            saver = tf1.train.Saver(max_to_keep=3, keep_checkpoint_every_n_hours=2.0)
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                prefix = saver.save(sess, str(tmp_path / "tf_model"), global_step=5)
            theirs = tf1.train.export_meta_graph(graph=g)
        finally:
            tf1.enable_resource_variables()
    info = describe(prefix + ".meta")
    assert info["version"] == tf.__version__
    assert int(info["producer"]) == tf.version.GRAPH_DEF_VERSION
    assert info["op"] == sorted(info["op"])
    assert set(info["op"]) == {n.op for n in theirs.graph_def.node}
    assert list(info["node"]) == [n.name for n in theirs.graph_def.node]
    for n in theirs.graph_def.node:
        assert info["node"][n.name] == (n.op, list(n.input)), n.name
    assert [v[0] for v in info["variable"]] == ["w", "v", "global_step"]
    assert [v[3] for v in info["variable"]] == [True, False, False]
    assert info["variable"][0][1:3] == ("w/Assign", "w/read:0")
    assert info["collection"]["train_op"] == ("node_list", 1)
    assert info["collection"]["variables"] == ("bytes_list", 3)
    assert info["saver"] == ["save/Const:0", "save/control_dependency:0", "save/restore_all",
                             "3", "2", "0", "2"]


@pytest.mark.parametrize("rel,version,producer", [
    ("serving/tensorflow_serving/servables/tensorflow/testdata/bad_half_plus_two/00000123/export.meta",
     "", "11"),
    ("serving/tensorflow_serving/session_bundle/testdata/half_plus_two/00000123/export.meta",
     "0.12.head", "19"),
])
def test_we_read_testdata_meta_like_tf(rel, version, producer):
    """C1/C2: ckpt's listing equals what TF's own MetaGraphDef parser sees."""
    from tensorflow.core.protobuf import meta_graph_pb2
    path = TESTDATA_DIR / rel
    theirs = meta_graph_pb2.MetaGraphDef()
    theirs.ParseFromString(path.read_bytes())
    info = describe(path)
    assert info["version"] if version else True
    assert info.get("version", "") == theirs.meta_info_def.tensorflow_version
    assert info["producer"] == producer
    assert list(info["node"]) == [n.name for n in theirs.graph_def.node]
    for n in theirs.graph_def.node:
        assert info["node"][n.name] == (n.op, list(n.input))
    assert set(info["collection"]) == set(theirs.collection_def)
    s = theirs.saver_def
    assert info["saver"][:3] == [s.filename_tensor_name, s.save_tensor_name, s.restore_op_name]
