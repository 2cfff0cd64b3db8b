"""`ckpt run --saved_model DIR --signature KEY` against TensorFlow.

TensorFlow 2.21 writes the SavedModels:
* TF1 style (tf.compat.v1.saved_model.Builder): an MLP with a
  `predict_signature_def` as serving_default (x -> probabilities, logits,
  class_ids) and a `classification_signature_def` (serialized strings ->
  classes, scores; the strings are hashed into buckets, so the input is a
  string tensor as in TF's classify signatures).
* TF2 style (tf.saved_model.save of a tf.Module with a @tf.function
  signature): its graph calls the function through StatefulPartitionedCall,
  which ckpt cannot run; the test asserts the Unimplemented error.

* TF1 style with a SignatureDef `defaults` entry (build_signature_def's
  `defaults`): ckpt feeds an input left out its default; TF's Python loader
  does not (it requires every input), so the oracle is TF called with the
  default given explicitly.

`ckpt graph --signatures --json` on both must list what TF's own parse of
saved_model.pb holds (keys, method names, tensor names, dtypes, shapes):
this checks ckpt's SignatureDef/TensorInfo field numbers.

The oracle is TensorFlow's own signature call,
`tf.saved_model.load(dir).signatures[KEY](**inputs)`: every output key, float32
within 1e-5 relative (1e-6 absolute near zero), integers and strings exact.
Where TF refuses an input (wrong dtype), ckpt must refuse it too.
"""

import json
import pathlib
import subprocess

import numpy as np
import pytest

from conftest import CLI, run_to_npy, tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2

v1 = tf.compat.v1
RTOL, ATOL = 1e-5, 1e-6
BATCHES = (1, 7, 100)


def build_v1(out_dir):
    """The TF1-style SavedModel (variables with random values, seed 0)."""
    g = tf.Graph()
    with g.as_default():
        rng = np.random.RandomState(0)
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        w1 = v1.get_variable("w1", initializer=rng.randn(4, 8).astype(np.float32))
        b1 = v1.get_variable("b1", initializer=rng.randn(8).astype(np.float32))
        w2 = v1.get_variable("w2", initializer=rng.randn(8, 3).astype(np.float32))
        b2 = v1.get_variable("b2", initializer=rng.randn(3).astype(np.float32))

        def mlp(inputs):
            hidden = tf.nn.relu(tf.matmul(inputs, w1) + b1)
            return tf.nn.bias_add(tf.matmul(hidden, w2), b2)

        logits = tf.identity(mlp(x), name="logits")
        probabilities = tf.nn.softmax(logits, name="probabilities")
        class_ids = tf.argmax(logits, 1, name="class_ids")
        examples = v1.placeholder(tf.string, [None], name="examples")
        features = tf.one_hot(tf.strings.to_hash_bucket_fast(examples, 4), 4)
        scores = tf.nn.softmax(mlp(features), name="scores")
        classes = tf.strings.as_string(tf.argmax(scores, 1), name="classes")
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(out_dir))
            builder.add_meta_graph_and_variables(
                sess, [v1.saved_model.tag_constants.SERVING],
                signature_def_map={
                    "serving_default": v1.saved_model.predict_signature_def(
                        {"x": x},
                        {"probabilities": probabilities, "logits": logits,
                         "class_ids": class_ids}),
                    "classification": v1.saved_model.classification_signature_def(
                        examples, classes, scores),
                })
            builder.save()
    return out_dir


class Scale(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.arange(8, dtype=np.float32).reshape(4, 2))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x):
        return {"y": tf.matmul(x, self.w)}


def build_v2(out_dir):
    module = Scale()
    tf.saved_model.save(module, str(out_dir), signatures={"serving_default": module.__call__})
    return out_dir


def build_v1_with_default(out_dir):
    """y = x * k, with k's default 3 in the SignatureDef."""
    from tensorflow.python.saved_model import signature_def_utils_impl as sdu

    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None], name="x")
        k = v1.placeholder(tf.float32, [], name="k")
        y = tf.multiply(x, k, name="y")
        info = v1.saved_model.build_tensor_info
        sig = sdu.build_signature_def({"x": info(x), "k": info(k)}, {"y": info(y)},
                                      v1.saved_model.signature_constants.PREDICT_METHOD_NAME,
                                      defaults={"k": tf.constant(3.0)})
        with v1.Session() as sess:
            builder = v1.saved_model.Builder(str(out_dir))
            builder.add_meta_graph_and_variables(sess, ["serve"],
                                                 signature_def_map={"serving_default": sig})
            builder.save()
    return out_dir


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    if not CLI.exists():
        pytest.fail(f"{CLI} not built; build target ckpt")
    d = tmp_path_factory.mktemp("signatures")
    return {"v1": build_v1(d / "v1"), "v2": build_v2(d / "v2"),
            "default": build_v1_with_default(d / "default")}


def ckpt_signature(tmp_path, export_dir, key, feeds, fetches=(), check=True):
    """`ckpt run --signature`: the outputs by output key, in stdout's order
    (a dict keeps it), or the CompletedProcess when check is False."""
    tmp_path = pathlib.Path(tmp_path)
    cmd = [str(CLI), "run", "--saved_model", str(export_dir), "--signature", key]
    for input_key, value in feeds.items():
        path = tmp_path / f"feed_{input_key}.npy"
        np.save(path, value)
        cmd += ["--feed", f"{input_key}={path}"]
    for output_key in fetches:
        cmd += ["--fetch", output_key]
    return run_to_npy(cmd, tmp_path / "out", check)


def tf_signature(export_dir, key, feeds):
    fn = tf.saved_model.load(str(export_dir)).signatures[key]
    return {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in feeds.items()}).items()}


def assert_matches(got, want):
    assert list(got) == sorted(want), (list(got), sorted(want))
    for key, value in want.items():
        assert got[key].shape == value.shape, key
        if value.dtype.kind == "f":
            assert got[key].dtype == value.dtype, key
            np.testing.assert_allclose(got[key], value, rtol=RTOL, atol=ATOL, err_msg=key)
        else:  # integers exactly; strings as bytes
            np.testing.assert_array_equal(got[key], value, err_msg=key)


@pytest.mark.parametrize("batch", BATCHES)
def test_predict_signature_matches_tensorflow(saved_models, tmp_path, batch):
    x = np.random.RandomState(batch).randn(batch, 4).astype(np.float32)
    want = tf_signature(saved_models["v1"], "serving_default", {"x": x})
    assert sorted(want) == ["class_ids", "logits", "probabilities"]
    # No --fetch: every output, sorted by key.
    got = ckpt_signature(tmp_path, saved_models["v1"], "serving_default", {"x": x})
    assert_matches(got, want)


@pytest.mark.parametrize("batch", BATCHES)
def test_classification_signature_matches_tensorflow(saved_models, tmp_path, batch):
    rng = np.random.RandomState(batch)
    examples = np.array([b"example-%d" % rng.randint(1000) for _ in range(batch)])
    want = tf_signature(saved_models["v1"], "classification", {"inputs": examples})
    assert sorted(want) == ["classes", "scores"]
    got = ckpt_signature(tmp_path, saved_models["v1"], "classification", {"inputs": examples})
    assert_matches(got, want)


def test_fetch_one_output_key(saved_models, tmp_path):
    x = np.random.RandomState(3).randn(5, 4).astype(np.float32)
    want = tf_signature(saved_models["v1"], "serving_default", {"x": x})
    got = ckpt_signature(tmp_path, saved_models["v1"], "serving_default", {"x": x},
                         fetches=["probabilities"])
    assert list(got) == ["probabilities"]
    np.testing.assert_allclose(got["probabilities"], want["probabilities"], rtol=RTOL, atol=ATOL)


def test_keys_listed_are_tensorflows(saved_models, tmp_path):
    export_dir = saved_models["v1"]
    loaded = tf.saved_model.load(str(export_dir))
    proc = ckpt_signature(tmp_path, export_dir, "predict", {}, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    listed = ", ".join(f"'{k}'" for k in sorted(loaded.signatures.keys()))
    assert f"No signature 'predict' in the meta graph; it has {listed}" in proc.stderr
    fn = loaded.signatures["serving_default"]
    x = np.zeros((2, 4), np.float32)
    proc = ckpt_signature(tmp_path, export_dir, "serving_default", {"x": x}, fetches=["nope"],
                          check=False)
    outputs = ", ".join(f"'{k}'" for k in sorted(fn.structured_outputs))
    assert f"has no output 'nope'; its outputs: {outputs}" in proc.stderr
    proc = ckpt_signature(tmp_path, export_dir, "serving_default", {"input": x}, check=False)
    inputs = ", ".join(f"'{k}'" for k in sorted(fn.structured_input_signature[1]))
    assert f"has no input 'input'; its inputs: {inputs}" in proc.stderr


def test_wrong_dtype_refused_as_tensorflow_refuses_it(saved_models, tmp_path):
    x64 = np.ones((2, 4), np.float64)
    fn = tf.saved_model.load(str(saved_models["v1"])).signatures["serving_default"]
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        fn(x=tf.constant(x64))
    proc = ckpt_signature(tmp_path, saved_models["v1"], "serving_default", {"x": x64},
                          check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert ("INVALID_ARGUMENT: signature 'serving_default': input 'x' (tensor x:0): expects "
            "dtype float, the value is double") in proc.stderr


def test_tf2_function_signature_is_unimplemented(saved_models, tmp_path):
    export_dir = saved_models["v2"]
    x = np.ones((2, 4), np.float32)
    want = tf_signature(export_dir, "serving_default", {"x": x})  # TF runs it
    assert list(want) == ["y"]
    proc = ckpt_signature(tmp_path, export_dir, "serving_default", {"x": x}, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "UNIMPLEMENTED" in proc.stderr
    assert "Op type 'StatefulPartitionedCall'" in proc.stderr
    assert "signature 'serving_default'" in proc.stderr


def tf_listed_signatures(export_dir):
    """What `ckpt graph --signatures --json` should print, from TF's parse."""
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((pathlib.Path(export_dir) / "saved_model.pb").read_bytes())
    (meta,) = saved.meta_graphs

    def tensors(infos):
        out = []
        for key in sorted(infos):
            info = infos[key]
            shape = None if info.tensor_shape.unknown_rank else [
                d.size for d in info.tensor_shape.dim]
            out.append({"key": key, "name": info.name,
                        "dtype": types_pb2.DataType.Name(info.dtype), "shape": shape})
        return out

    return {"signatures": [
        {"key": key, "method_name": sig.method_name, "inputs": tensors(sig.inputs),
         "outputs": tensors(sig.outputs)}
        for key, sig in sorted(meta.signature_def.items())]}


@pytest.mark.parametrize("which", ["v1", "v2"])
def test_graph_lists_tensorflows_signatures(saved_models, which):
    proc = subprocess.run([str(CLI), "graph", str(saved_models[which]), "--signatures", "--json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    want = tf_listed_signatures(saved_models[which])
    assert len(want["signatures"]) >= 2
    assert json.loads(proc.stdout) == want


def test_input_left_out_is_fed_its_default(saved_models, tmp_path):
    export_dir = saved_models["default"]
    x = np.array([1.5, -2.0, 7.25], np.float32)
    fn = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    with pytest.raises(TypeError):  # TF's Python loader requires k
        fn(x=tf.constant(x))
    want = tf_signature(export_dir, "serving_default", {"x": x, "k": np.float32(3.0)})
    got = ckpt_signature(tmp_path, export_dir, "serving_default", {"x": x})
    assert_matches(got, want)
    got = ckpt_signature(tmp_path, export_dir, "serving_default",
                         {"x": x, "k": np.float32(-0.5)})
    assert_matches(got, tf_signature(export_dir, "serving_default",
                                     {"x": x, "k": np.float32(-0.5)}))
