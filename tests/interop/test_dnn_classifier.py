"""ckpt::DnnClassifierModel checkpoints read by TensorFlow.

ckpt_dnn_driver trains the canned-DNN model core on the shipped Iris data and
saves a checkpoint (+ .meta); TensorFlow then
  * lists the keys, shapes and dtypes of docs/canned.md,
  * rebuilds the network in Keras from those weights and reproduces the
    driver's probabilities on the Iris test set,
  * restores it into the graph TF1's DNNClassifier builds (one-piece
    partitioned variables under `dnn`, optimizer slots created by
    minimize inside the `dnn/head` name scope), and
  * imports the .meta and restores it through the Saver stored there.
"""

import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, REPO, tf

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_dnn_driver"
IRIS = REPO / "data" / "iris"
SORTED_FEATURES = ["PetalLength", "PetalWidth", "SepalLength", "SepalWidth"]
CSV_COLUMNS = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]

EXPECTED_KEYS = {
    "dnn/hiddenlayer_0/bias": ([10], tf.float32),
    "dnn/hiddenlayer_0/bias/t_0/Adagrad": ([10], tf.float32),
    "dnn/hiddenlayer_0/kernel": ([4, 10], tf.float32),
    "dnn/hiddenlayer_0/kernel/t_0/Adagrad": ([4, 10], tf.float32),
    "dnn/hiddenlayer_1/bias": ([10], tf.float32),
    "dnn/hiddenlayer_1/bias/t_0/Adagrad": ([10], tf.float32),
    "dnn/hiddenlayer_1/kernel": ([10, 10], tf.float32),
    "dnn/hiddenlayer_1/kernel/t_0/Adagrad": ([10, 10], tf.float32),
    "dnn/logits/bias": ([3], tf.float32),
    "dnn/logits/bias/t_0/Adagrad": ([3], tf.float32),
    "dnn/logits/kernel": ([10, 3], tf.float32),
    "dnn/logits/kernel/t_0/Adagrad": ([10, 3], tf.float32),
    "global_step": ([], tf.int64),
}


def run_driver(out_dir, steps=1000, optimizer="Adagrad", hidden="10,10"):
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_dnn_driver")
    proc = subprocess.run(
        [str(DRIVER), str(IRIS / "iris_training.csv"), str(IRIS / "iris_test.csv"),
         str(out_dir), str(steps), optimizer, hidden],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    prefix, accuracy, probs = None, None, []
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "prefix":
            prefix = rest
        elif kind == "accuracy":
            accuracy = float(rest)
        elif kind == "prob":
            probs.append([float(v) for v in rest.split()])
    return prefix, accuracy, np.array(probs, dtype=np.float64)


def iris_test_features():
    """The test CSV's features in sorted-name column order, and labels."""
    data = np.loadtxt(IRIS / "iris_test.csv", delimiter=",", skiprows=1, dtype=np.float64)
    x = data[:, :4].astype(np.float32)
    order = [CSV_COLUMNS.index(name) for name in SORTED_FEATURES]
    return x[:, order], data[:, 4].astype(np.int64)


def run_imported_meta_graph(prefix, fetches, features):
    """TF1 graph mode: import prefix.meta, restore prefix through the
    imported Saver, feed `features` to "features:0" and run `fetches`.
    Returns (the fetched values, the imported graph)."""
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(prefix + ".meta")
        assert saver is not None, "import_meta_graph found no SaverDef"
        with tf.compat.v1.Session(graph=graph) as sess:
            saver.restore(sess, prefix)
            return sess.run(fetches, {"features:0": features}), graph


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return run_driver(tmp_path_factory.mktemp("dnn"))


def test_checkpoint_keys_shapes_dtypes(trained):
    prefix, accuracy, _ = trained
    assert accuracy >= 0.9
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    assert sorted(shapes) == sorted(EXPECTED_KEYS)
    for key, (shape, dtype) in EXPECTED_KEYS.items():
        assert shapes[key] == shape, key
        assert dtypes[key] == dtype, key
    assert reader.get_tensor("global_step") == 1000


def keras_probabilities(prefix, x):
    """Softmax output of a Keras model of the DNNClassifier's architecture
    given the weights of the checkpoint at `prefix`."""
    reader = tf.train.load_checkpoint(prefix)
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(4,)),
        tf.keras.layers.Dense(10, activation="relu"),
        tf.keras.layers.Dense(10, activation="relu"),
        tf.keras.layers.Dense(3),
    ])
    weights = []
    for scope in ["dnn/hiddenlayer_0", "dnn/hiddenlayer_1", "dnn/logits"]:
        weights += [reader.get_tensor(scope + "/kernel"), reader.get_tensor(scope + "/bias")]
    model.set_weights(weights)
    return tf.nn.softmax(model(x)).numpy()


def test_keras_model_reproduces_probabilities(trained):
    prefix, _, probs = trained
    x, labels = iris_test_features()
    tf_probs = keras_probabilities(prefix, x)
    assert probs.shape == tf_probs.shape == (30, 3)
    np.testing.assert_allclose(tf_probs, probs, atol=1e-5, rtol=0)
    assert np.mean(np.argmax(tf_probs, axis=1) == labels) >= 0.9


def build_tf1_dnn_graph(optimizer_name="Adagrad", hidden=(10, 10), weights=None):
    """The variables of TF1's canned DNNClassifier (3 classes). `weights`
    (key such as "dnn/logits/kernel" -> array) replaces initial values."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        global_step = v1.train.get_or_create_global_step()
        x = v1.placeholder(tf.float32, [None, 4])
        labels = v1.placeholder(tf.int64, [None])
        partitioner = v1.min_max_variable_partitioner(max_partitions=1)
        with v1.variable_scope("dnn", partitioner=partitioner):
            h = x
            sizes = list(zip([4] + list(hidden), list(hidden) + [3]))
            for i, (fan_in, units) in enumerate(sizes):
                name = "logits" if i == len(sizes) - 1 else f"hiddenlayer_{i}"
                init = {}
                if weights is not None:
                    init = {w: v1.constant_initializer(weights[f"dnn/{name}/{w}"])
                            for w in ("kernel", "bias")}
                with v1.variable_scope(name):
                    kernel = v1.get_variable("kernel", [fan_in, units],
                                             initializer=init.get("kernel"))
                    bias = v1.get_variable("bias", [units],
                                           initializer=init.get("bias", v1.zeros_initializer()))
                h = tf.matmul(h, kernel) + bias
                if i < len(sizes) - 1:
                    h = tf.nn.relu(h)
            with tf.name_scope("head"):
                loss = tf.reduce_sum(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=h))
                opt = {"Adagrad": v1.train.AdagradOptimizer(0.05),
                       "Adam": v1.train.AdamOptimizer(0.05)}[optimizer_name]
                opt.minimize(loss, global_step=global_step)
            probs = tf.nn.softmax(h)
        saver = v1.train.Saver()
    return graph, saver, x, probs


def test_tf1_dnn_graph_restores_checkpoint(trained):
    prefix, _, probs = trained
    graph, saver, x, tf_probs = build_tf1_dnn_graph("Adagrad")
    with tf.compat.v1.Session(graph=graph) as sess:
        saver.restore(sess, prefix)
        got = sess.run(tf_probs, {x: iris_test_features()[0]})
        names = sorted(v.op.name for v in graph.get_collection("variables"))
    assert "dnn/hiddenlayer_0/kernel/part_0" in names
    np.testing.assert_allclose(got, probs, atol=1e-5, rtol=0)


def test_tf1_adam_keys_match(tmp_path):
    prefix, _, _ = run_driver(tmp_path / "ours", steps=20, optimizer="Adam")
    graph, saver, _, _ = build_tf1_dnn_graph("Adam")
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        tf_prefix = saver.save(sess, str(tmp_path / "tf" / "model.ckpt"))
        saver.restore(sess, prefix)  # our keys are all TF's keys
    ours = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    theirs = tf.train.load_checkpoint(tf_prefix).get_variable_to_shape_map()
    assert ours == theirs


def test_meta_graph_imports_and_restores(trained):
    prefix, _, probs = trained
    got, _ = run_imported_meta_graph(prefix, "dnn/head/predictions/probabilities:0",
                                     iris_test_features()[0])
    np.testing.assert_allclose(got, probs, atol=1e-5, rtol=0)


def test_tf1_linear_keys_follow_slot_rule(tmp_path):
    """TF's keys for the canned LinearClassifier's variables, as
    LinearClassifierModel names them (see its gtest)."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        global_step = v1.train.get_or_create_global_step()
        x = v1.placeholder(tf.float32, [None, 4])
        labels = v1.placeholder(tf.int64, [None])
        partitioner = v1.min_max_variable_partitioner(max_partitions=1, min_slice_size=64 << 20)
        with v1.variable_scope("linear", partitioner=partitioner):
            with v1.variable_scope("linear_model"):
                logits = 0
                for j, name in enumerate(SORTED_FEATURES):
                    with v1.variable_scope(name):
                        w = v1.get_variable("weights", [1, 3], initializer=v1.zeros_initializer())
                    logits += tf.matmul(x[:, j:j + 1], w)
                b = v1.get_variable("bias_weights", [3], initializer=v1.zeros_initializer())
                logits += b
            with tf.name_scope("head"):
                loss = tf.reduce_sum(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
                v1.train.FtrlOptimizer(0.2).minimize(loss, global_step=global_step)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "model.ckpt"))
    keys = sorted(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())
    expected = ["global_step"]
    for var in [f"linear/linear_model/{f}/weights" for f in SORTED_FEATURES] + [
            "linear/linear_model/bias_weights"]:
        expected += [var, var + "/part_0/Ftrl", var + "/part_0/Ftrl_1"]
    assert keys == sorted(expected)
