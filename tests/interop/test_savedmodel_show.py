"""`ckpt savedmodel show` against TensorFlow's `saved_model_cli show`.

TensorFlow 2.21 writes the SavedModels:
* TF1 style (tf.compat.v1.saved_model.Builder): a small MLP with a
  predict signature (serving_default) and a classification signature over
  serialized strings, in two meta graphs ({serve} and {serve, gpu}), the
  second with a regression signature and an unknown-rank input;
* TF2 style: tf.saved_model.save of a tf.Module with two signatures;
* a Keras model (tf.keras.Sequential) saved with tf.saved_model.save.

For each, the tag-set listing, the signature-key listing and every
signature's inputs/outputs are parsed from both tools' text and compared as
dicts; for the TF1 SavedModel the text itself must be identical (and --all
too, but for the op list, which saved_model_cli prints as a Python set in hash
order: compared as sets). ckpt leaves out TF2's "Concrete Functions" and the
ops inside a TF2 graph's function library: for those models ckpt's op set
must be a subset of TF's, and it must say the functions are not listed.
"""

import ast
import functools
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import CLI, tf

v1 = tf.compat.v1
SAVED_MODEL_CLI = pathlib.Path(sys.executable).parent / "saved_model_cli"


def build_v1(out_dir):
    builder = v1.saved_model.Builder(str(out_dir))
    g = tf.Graph()
    with g.as_default(), v1.Session(graph=g) as sess:
        rng = np.random.RandomState(0)
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        w = v1.get_variable("w", initializer=rng.randn(4, 3).astype(np.float32))
        b = v1.get_variable("b", initializer=rng.randn(3).astype(np.float32))
        logits = tf.identity(tf.matmul(x, w) + b, name="logits")
        probs = tf.nn.softmax(logits, name="probabilities")
        serialized = v1.placeholder(tf.string, [None], name="tf_example")
        scores = tf.identity(tf.matmul(tf.ones([tf.shape(serialized)[0], 4]), w) + b,
                             name="scores")
        classes = tf.identity(tf.tile(tf.constant([["a", "b", "c"]]),
                                      [tf.shape(serialized)[0], 1]), name="classes")
        anything = v1.placeholder(tf.float32, None, name="anything")
        sess.run(v1.global_variables_initializer())
        utils = v1.saved_model.utils
        sigs = v1.saved_model.signature_def_utils
        predict = sigs.predict_signature_def({"x": x}, {"probabilities": probs, "logits": logits})
        classify = sigs.classification_signature_def(serialized, classes, scores)
        regress = sigs.regression_signature_def(serialized, tf.identity(anything, name="value"))
        builder.add_meta_graph_and_variables(
            sess, ["serve"], signature_def_map={"serving_default": predict, "classify": classify})
        builder.add_meta_graph(["serve", "gpu"], signature_def_map={"regress": regress,
                                                                    "predict": predict})
    builder.save()
    return out_dir


def build_tf2(out_dir):
    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable([[1.0, 2.0], [3.0, 4.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def predict(self, x):
            return {"y": tf.matmul(x, self.w)}

        @tf.function(input_signature=[tf.TensorSpec([3], tf.int64, name="ids"),
                                      tf.TensorSpec([], tf.string, name="tag")])
        def lookup(self, ids, tag):
            return {"sum": tf.reduce_sum(ids), "tag": tag}

    m = Model()
    tf.saved_model.save(m, str(out_dir), signatures={"serving_default": m.predict,
                                                     "lookup": m.lookup})
    return out_dir


def build_keras(out_dir):
    model = tf.keras.Sequential([tf.keras.Input(shape=(5,), name="features"),
                                 tf.keras.layers.Dense(2, activation="softmax")])
    tf.saved_model.save(model, str(out_dir))
    return out_dir


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("savedmodels")
    return {"v1": build_v1(root / "v1"), "tf2": build_tf2(root / "tf2"),
            "keras": build_keras(root / "keras")}


def run(cmd):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    return proc


def ckpt_show(d, *flags):
    proc = run([CLI, "savedmodel", "show", d, *flags])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@functools.lru_cache(maxsize=None)
def tf_show(d, *flags):
    """saved_model_cli's output (each about 3 s: it imports TF), once per
    distinct command line."""
    proc = run([SAVED_MODEL_CLI, "show", "--dir", d, *flags])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def parse_signature(lines):
    """{'inputs': {key: (dtype, shape, name)}, 'outputs': {...}, 'method': m}
    from one signature's lines (saved_model_cli's layout, any indent)."""
    sig = {"inputs": {}, "outputs": {}, "method": None}
    side = key = None
    info = {}
    for line in lines:
        s = line.strip()
        m = re.match(r"(inputs|outputs)\['(.*)'\] tensor_info:$", s)
        if m:
            side, key = m.group(1), m.group(2)
            info = {}
            continue
        m = re.match(r"(dtype|shape|name): (.*)$", s)
        if m and side:
            info[m.group(1)] = m.group(2)
            if m.group(1) == "name":
                sig[side][key] = (info.get("dtype"), info.get("shape"), info["name"])
            continue
        m = re.match(r"Method name is:\s*(.*)$", s)
        if m:
            sig["method"] = m.group(1)
    return sig


def parse_all(text):
    """{tag-set header: {'signatures': {key: sig}, 'ops': set}} from --all."""
    graphs = {}
    current = sig_key = None
    sig_lines = []

    def flush():
        if current is not None and sig_key is not None:
            graphs[current]["signatures"][sig_key] = parse_signature(sig_lines)

    for line in text.splitlines():
        m = re.match(r"MetaGraphDef with tag-set: '(.*)' contains the following SignatureDefs:$",
                     line)
        if m:
            flush()
            current, sig_key, sig_lines = m.group(1), None, []
            graphs[current] = {"signatures": {}, "ops": None}
            continue
        m = re.match(r"signature_def\['(.*)'\]:$", line)
        if m:
            flush()
            sig_key, sig_lines = m.group(1), []
            continue
        m = re.match(r"The MetaGraph with tag set .* contains the following ops: (.*)$", line)
        if m:
            flush()
            sig_key = None
            graphs[current]["ops"] = ast.literal_eval(m.group(1))
            continue
        if line.startswith("Concrete Functions:"):
            flush()
            break
        sig_lines.append(line)
    flush()
    return graphs


def tag_sets(d):
    text = tf_show(d)
    return [ast.literal_eval(line) for line in text.splitlines()[1:]]


@pytest.mark.parametrize("name", ["v1", "tf2", "keras"])
def test_listings_and_signatures_match_saved_model_cli(models, name):
    d = models[name]
    assert ckpt_show(d) == tf_show(d)
    for tags in tag_sets(d):
        tag_flag = tags.replace(", ", ",")
        assert ckpt_show(d, "--tag_set", tag_flag) == tf_show(d, "--tag_set", tag_flag)
        keys = re.findall(r'SignatureDef key: "(.*)"', tf_show(d, "--tag_set", tag_flag))
        assert keys, f"{name}: no signatures in {tags}"
        for key in keys:
            ours = ckpt_show(d, "--tag_set", tag_flag, "--signature_def", key)
            theirs = tf_show(d, "--tag_set", tag_flag, "--signature_def", key)
            assert parse_signature(ours.splitlines()) == parse_signature(theirs.splitlines())
            # (TF2's __saved_model_init_op has an empty method name.)
            assert parse_signature(ours.splitlines())["method"] is not None
            assert ours == theirs, f"{name} {tags} {key}"


@pytest.mark.parametrize("name", ["v1", "tf2", "keras"])
def test_all_matches_saved_model_cli(models, name):
    d = models[name]
    ours_text, theirs_text = ckpt_show(d, "--all"), tf_show(d, "--all")
    ours, theirs = parse_all(ours_text), parse_all(theirs_text)
    assert ours.keys() == theirs.keys()
    for tags in theirs:
        assert ours[tags]["signatures"] == theirs[tags]["signatures"], tags
        assert ours[tags]["signatures"], tags
        if name == "v1":
            assert ours[tags]["ops"] == theirs[tags]["ops"], tags
        else:
            assert ours[tags]["ops"] <= theirs[tags]["ops"], tags
    if name == "v1":
        ops_line = re.compile(r"(contains the following ops: ).*$", re.M)
        assert ops_line.sub(r"\1", ours_text) == ops_line.sub(r"\1", theirs_text)
        assert "Concrete Functions" not in ours_text
    else:
        assert "Concrete Functions:" in theirs_text
        assert "\nConcrete Functions: N/A" in ours_text


def test_errors_exit_non_zero(models, tmp_path):
    d = models["v1"]
    proc = run([CLI, "savedmodel", "show", d, "--tag_set", "train"])
    assert proc.returncode == 1 and proc.stdout == ""
    assert "{gpu, serve}" in proc.stderr and "{serve}" in proc.stderr
    proc = run([CLI, "savedmodel", "show", d, "--tag_set", "serve", "--signature_def", "nope"])
    assert proc.returncode == 1
    assert "Please choose from: classify, serving_default" in proc.stderr
    proc = run([CLI, "savedmodel", "show", tmp_path])
    assert proc.returncode == 1
    assert "is not a SavedModel directory" in proc.stderr


def test_readers_take_a_savedmodel_directory(models):
    """ckpt inspect on the SavedModel directory lists what TF's reader of its
    variables lists."""
    for name in ("v1", "tf2"):
        d = models[name]
        reader = tf.train.load_checkpoint(str(d / "variables" / "variables"))
        proc = run([CLI, "inspect", "--file_name", d, "--all_tensor_names"])
        assert proc.returncode == 0, proc.stderr
        names = re.findall(r"^tensor_name:  (.*)$", proc.stdout, re.M)
        assert sorted(names) == sorted(reader.get_variable_to_shape_map())
