"""Warm starting ckpt::DnnClassifierModel from checkpoints TensorFlow wrote.

TensorFlow writes two checkpoints of one Keras network of the canned
DNNClassifier's architecture (Dense 10 relu, Dense 10 relu, Dense 3; inputs
in sorted feature order) with tf.compat.v1.train.Saver in graph mode:
  * "dnn": the graph TF1's DNNClassifier builds (one-piece partitioned
    weights under `dnn`, Adagrad slots created by minimize inside the
    `dnn/head` name scope, global_step), weights from the Keras model,
    accumulators set to 0.3 and global_step to 1234;
  * "old": the same 13 values as plain variables named "old/<key>".
ckpt_warm_start_driver warm-starts a fresh model from them and prints its
Iris test-set probabilities, which must equal the Keras model's; with the
default settings global_step and the accumulators must keep their initial
values. TF's own tf.compat.v1.train.warm_start is the oracle for which
variables a vars_to_warm_start selection loads and for the shape error's text.
"""

import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, REPO, tf
from test_dnn_classifier import EXPECTED_KEYS, build_tf1_dnn_graph, iris_test_features

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_warm_start_driver"
IRIS_TEST = REPO / "data" / "iris" / "iris_test.csv"
ACCUM = 0.3
STEP = 1234
LAYERS = ["dnn/hiddenlayer_0", "dnn/hiddenlayer_1", "dnn/logits"]
WEIGHT_KEYS = sorted(f"{layer}/{w}" for layer in LAYERS for w in ("kernel", "bias"))
SLOT_KEYS = sorted(k + "/t_0/Adagrad" for k in WEIGHT_KEYS)


def run_driver(mode, checkpoint, *args, hidden="10,10", expect_ok=True):
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_warm_start_driver")
    proc = subprocess.run([str(DRIVER), str(IRIS_TEST), hidden, mode, str(checkpoint), *args],
                          capture_output=True, text=True, check=False)
    if not expect_ok:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        return proc.stderr
    assert proc.returncode == 0, proc.stderr
    out = {"warm": {}, "accum": {}, "prob": [], "global_step": None}
    for line in proc.stdout.splitlines():
        kind, *rest = line.split(" ")
        if kind == "warm":
            out["warm"][rest[0]] = rest[1]
        elif kind == "accum":
            out["accum"][rest[0]] = (float(rest[1]), float(rest[2]))
        elif kind == "global_step":
            out["global_step"] = int(rest[0])
        elif kind == "prob":
            out["prob"].append([float(v) for v in rest])
    out["prob"] = np.array(out["prob"], dtype=np.float64)
    return out


def checkpoint_key(variable):
    info = variable._save_slice_info  # partitioned: saved under the full name
    return info.full_name if info is not None else variable.op.name


@pytest.fixture(scope="module")
def tf_checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("warm_start")
    rng = np.random.default_rng(5)
    keras = tf.keras.Sequential([
        tf.keras.Input(shape=(4,)),
        tf.keras.layers.Dense(10, activation="relu"),
        tf.keras.layers.Dense(10, activation="relu"),
        tf.keras.layers.Dense(3),
    ])
    # Kernels as Keras initialised them; biases non-zero so that loading
    # them matters.
    keras.set_weights([w if w.ndim == 2 else rng.normal(0, 0.3, w.shape).astype(np.float32)
                       for w in keras.get_weights()])
    weights = {}
    for layer, dense in zip(LAYERS, keras.layers):
        kernel, bias = dense.get_weights()
        weights[layer + "/kernel"], weights[layer + "/bias"] = kernel, bias
    x, _ = iris_test_features()
    expected = tf.nn.softmax(keras(x)).numpy().astype(np.float64)

    # "dnn": the DNNClassifier's own graph and names.
    v1 = tf.compat.v1
    graph = build_tf1_dnn_graph(weights=weights)[0]
    with graph.as_default(), v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        for v in graph.get_collection("variables"):
            if checkpoint_key(v).endswith("/Adagrad"):
                sess.run(v.assign(np.full(v.shape, ACCUM, np.float32)))
        sess.run(v1.train.get_global_step().assign(STEP))
        values = {checkpoint_key(v): sess.run(v) for v in graph.get_collection("variables")}
        dnn_prefix = v1.train.Saver().save(sess, str(root / "dnn" / "model.ckpt"),
                                           global_step=STEP)
    assert sorted(values) == sorted(EXPECTED_KEYS)

    # "old": the same values under other names, plain variables.
    old_graph = tf.Graph()
    with old_graph.as_default():
        old_vars = [v1.Variable(value, name="old/" + key) for key, value in values.items()]
        with v1.Session(graph=old_graph) as sess:
            sess.run(v1.global_variables_initializer())
            old_prefix = v1.train.Saver(old_vars).save(sess, str(root / "old" / "model.ckpt"))
    old_keys = tf.train.load_checkpoint(old_prefix).get_variable_to_shape_map()
    assert sorted(old_keys) == sorted("old/" + k for k in EXPECTED_KEYS)
    return {"dnn_dir": root / "dnn", "dnn": dnn_prefix, "old": old_prefix,
            "expected": expected, "values": values}


def assert_fresh_step_and_accumulators(out):
    assert out["global_step"] == 0
    assert sorted(out["accum"]) == SLOT_KEYS
    for key, (lo, hi) in out["accum"].items():
        assert lo == hi == pytest.approx(0.1), key


@pytest.mark.parametrize("where", ["dnn_dir", "dnn"])
def test_default_settings_reproduce_keras_probabilities(tf_checkpoints, where):
    out = run_driver("default", tf_checkpoints[where])
    assert out["warm"] == {k: k for k in WEIGHT_KEYS}
    assert out["prob"].shape == (30, 3)
    np.testing.assert_allclose(out["prob"], tf_checkpoints["expected"], atol=1e-5, rtol=0)
    # Trainable variables only: no global_step, no Adagrad accumulators.
    assert_fresh_step_and_accumulators(out)


def test_var_name_to_prev_var_name(tf_checkpoints):
    out = run_driver("rename", tf_checkpoints["old"], "old/")
    assert out["warm"] == {k: "old/" + k for k in WEIGHT_KEYS}
    np.testing.assert_allclose(out["prob"], tf_checkpoints["expected"], atol=1e-5, rtol=0)
    assert_fresh_step_and_accumulators(out)
    # Without the map, the "old" checkpoint has none of the model's keys.
    err = run_driver("default", tf_checkpoints["old"], expect_ok=False)
    assert f"Tensor dnn/hiddenlayer_0/bias is not found in {tf_checkpoints['old']} checkpoint" in err


def test_init_from_checkpoint_scope_form(tf_checkpoints):
    # Every variable under dnn/ (weights and accumulators), not global_step.
    out = run_driver("scope", tf_checkpoints["old"], "old/dnn/", "dnn/")
    assert out["warm"] == {k: "old/" + k for k in WEIGHT_KEYS + SLOT_KEYS}
    np.testing.assert_allclose(out["prob"], tf_checkpoints["expected"], atol=1e-5, rtol=0)
    assert out["global_step"] == 0
    for key, (lo, hi) in out["accum"].items():
        assert lo == hi == pytest.approx(ACCUM), key
    # Root form: "/" -> everything, so global_step too.
    out = run_driver("scope", tf_checkpoints["dnn"], "/", "/")
    assert out["global_step"] == STEP
    assert len(out["warm"]) == 13


def tf_warm_started(checkpoint, vars_to_warm_start):
    """The checkpoint keys TF's warm_start loads into its DNNClassifier graph
    (variables whose initialised value is the checkpoint's)."""
    v1 = tf.compat.v1
    reader = tf.train.load_checkpoint(checkpoint)
    graph = build_tf1_dnn_graph()[0]
    with graph.as_default():
        v1.train.warm_start(str(checkpoint), vars_to_warm_start=vars_to_warm_start)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            loaded = set()
            for v in graph.get_collection("variables"):
                key = checkpoint_key(v)
                if np.array_equal(sess.run(v), reader.get_tensor(key)):
                    loaded.add(key)
    return loaded


@pytest.mark.parametrize("selection", [
    ".*", "dnn/hiddenlayer_0", "dnn/logits/b", ".*kernel", "kernel", "global_step",
    [".*"], [".*Adagrad"], ["global_step", ".*logits.*Adagrad"], ["dnn/.*"],
], ids=str)
def test_selection_matches_tf_warm_start(tf_checkpoints, selection):
    want = tf_warm_started(tf_checkpoints["dnn"], selection)
    if isinstance(selection, str):
        out = run_driver("single", tf_checkpoints["dnn"], selection)
    else:
        out = run_driver("list", tf_checkpoints["dnn"], *selection)
    assert set(out["warm"]) == want
    assert all(var == key for var, key in out["warm"].items())


def test_list_selection_known_difference_for_partitioned_slots(tf_checkpoints):
    """Documented in warm_start.h: patterns match checkpoint keys, TF matches
    graph names, and TF's graph name of a DNN slot repeats the `dnn` scope
    ("dnn/dnn/logits/bias/part_0/Adagrad"). A list pattern that is a prefix of
    a weight's key therefore also selects its slot here, not in TF."""
    selection = ["global_step", "dnn/logits"]
    want = tf_warm_started(tf_checkpoints["dnn"], selection)
    assert want == {"global_step", "dnn/logits/bias", "dnn/logits/kernel"}
    out = run_driver("list", tf_checkpoints["dnn"], *selection)
    assert set(out["warm"]) == want | {"dnn/logits/bias/t_0/Adagrad",
                                       "dnn/logits/kernel/t_0/Adagrad"}


def test_wider_model_fails_like_tf(tf_checkpoints):
    err = run_driver("default", tf_checkpoints["dnn"], hidden="20,10", expect_ok=False)
    # TF's warm_start hands each one-piece partitioned variable over as its
    # part_0 and checks its shape while building the initialisers; TF 2.21
    # visits the variables sorted by name, as we do (bias before kernel).
    v1 = tf.compat.v1
    graph = build_tf1_dnn_graph(hidden=(20, 10))[0]
    with graph.as_default():
        with pytest.raises(ValueError) as info:
            v1.train.warm_start(str(tf_checkpoints["dnn"]))
    tf_message = str(info.value)
    assert tf_message == ("Shape of variable dnn/hiddenlayer_0/bias/part_0:0 ((20,)) doesn't "
                          "match with shape of tensor dnn/hiddenlayer_0/bias ([10]) from "
                          "checkpoint reader.")
    assert tf_message in err
