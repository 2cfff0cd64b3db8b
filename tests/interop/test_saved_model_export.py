"""SavedModels exported by ckpt's Estimator, served by TensorFlow.

ckpt_export_driver trains a canned classifier with ckpt::Estimator, exports
it (Estimator::ExportSavedModel) with a raw-feature or a tf.Example receiver
and prints ckpt's own predictions on the Iris test set. TensorFlow 2.21 then
loads each export (tf.saved_model.load, and tf.compat.v1's loader in a
session), serves every signature and must reproduce ckpt's predictions:
probabilities within 1e-6, class ids and class names exactly. saved_model_cli
shows and runs the exports, and the examples' premade_estimator
--export_dir writes one that TF serves too.
"""

import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import BUILD_DIR, REPO, tf

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_export_driver"
EXAMPLE = BUILD_DIR / "examples" / "premade_estimator"
IRIS = REPO / "data" / "iris"
FEATURES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]  # the CSV's order
# Installed beside the venv's python.
SAVED_MODEL_CLI = pathlib.Path(sys.executable).parent / "saved_model_cli"

# Optimizer slots (<var>/t_0/Adagrad, <var>/part_0/Ftrl_1) and non-slot
# variables (dnn/head/beta1_power).
OPTIMIZER_STATE = re.compile(r"/(Adagrad|Ftrl|Ftrl_1|Adam|Adam_1|RMSProp|RMSProp_1|Momentum)$|_power$")

# (model, n_classes, receiver, vocabulary)
CONFIGS = [
    ("dnn", 3, "example", ""),
    ("dnn", 3, "raw", ""),
    ("dnn", 3, "example", "setosa,versicolor,virginica"),
    ("linear", 2, "example", ""),
    ("linear", 3, "raw", "a,b,c"),
]


def iris_test_rows():
    data = np.loadtxt(IRIS / "iris_test.csv", delimiter=",", skiprows=1, dtype=np.float64)
    return data[:, :4].astype(np.float32)


def serialized_examples(rows):
    out = []
    for row in rows:
        feature = {name: tf.train.Feature(float_list=tf.train.FloatList(value=[float(v)]))
                   for name, v in zip(FEATURES, row)}
        out.append(tf.train.Example(
            features=tf.train.Features(feature=feature)).SerializeToString())
    return out


def parse_driver(stdout):
    export = re.search(r"^export (.+)$", stdout, re.M).group(1)
    ids, names, probs = [], [], []
    for line in stdout.splitlines():
        if line.startswith("pred "):
            parts = line.split()
            ids.append(int(parts[1]))
            names.append(parts[2].encode())
            probs.append([float(v) for v in parts[3:]])
    return pathlib.Path(export), np.array(ids), names, np.array(probs)


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda c: "-".join(str(x) for x in c if x))
def export(request, tmp_path_factory):
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_export_driver")
    model, n_classes, receiver, vocab = request.param
    base = tmp_path_factory.mktemp("export")
    cmd = [str(DRIVER), str(IRIS / "iris_training.csv"), str(IRIS / "iris_test.csv"),
           str(base / "model"), str(base / "export"), model, str(n_classes), receiver]
    if vocab:
        cmd.append(vocab)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    directory, ids, names, probs = parse_driver(proc.stdout)
    assert len(ids) == 30
    class_names = [w.encode() for w in vocab.split(",")] if vocab else \
        [str(i).encode() for i in range(n_classes)]
    return dict(dir=directory, base=base, model=model, n_classes=n_classes, receiver=receiver,
                ids=ids, names=names, probs=probs, class_names=class_names, stderr=proc.stderr)


def inputs_for(export, rows):
    if export["receiver"] == "example":
        return {"examples": tf.constant(serialized_examples(rows))}
    return {name: tf.constant(rows[:, i]) for i, name in enumerate(FEATURES)}


def expected_signatures(export):
    if export["receiver"] == "raw":
        return {"predict"}  # classification needs one string input (TF's rule)
    keys = {"serving_default", "classification", "predict"}
    if export["n_classes"] == 2:
        keys.add("regression")
    return keys


def test_layout_and_no_leftovers(export):
    d = export["dir"]
    assert re.fullmatch(r"\d{10}", d.name)
    assert (d / "saved_model.pb").is_file()
    assert (d / "variables" / "variables.index").is_file()
    assert (d / "variables" / "variables.data-00000-of-00001").is_file()
    assert [p.name for p in d.parent.iterdir()] == [d.name]  # no temp-<seconds> left


def test_variables_are_the_checkpoints_weights(export):
    prefix = str(export["dir"] / "variables" / "variables")
    exported = dict(tf.train.list_variables(prefix))
    checkpoint = tf.train.latest_checkpoint(str(export["base"] / "model"))
    in_checkpoint = dict(tf.train.list_variables(checkpoint))
    # The serving graph's variables: weights and global_step, no optimizer slots.
    assert "global_step" in exported
    assert not [k for k in exported if OPTIMIZER_STATE.search(k)]
    weights = {k for k in in_checkpoint if not OPTIMIZER_STATE.search(k)}
    assert len(weights) < len(in_checkpoint)
    assert set(exported) == weights
    a = tf.train.load_checkpoint(prefix)
    b = tf.train.load_checkpoint(checkpoint)
    for key in exported:
        np.testing.assert_array_equal(a.get_tensor(key), b.get_tensor(key), err_msg=key)


def test_tf2_serves_predict_signature(export):
    loaded = tf.saved_model.load(str(export["dir"]))
    assert set(loaded.signatures.keys()) == expected_signatures(export)
    out = loaded.signatures["predict"](**inputs_for(export, iris_test_rows()))
    np.testing.assert_allclose(out["probabilities"].numpy(), export["probs"], atol=1e-6)
    np.testing.assert_array_equal(out["class_ids"].numpy()[:, 0], export["ids"])
    assert list(out["classes"].numpy()[:, 0]) == export["names"]
    assert out["logits"].shape[0] == 30
    if export["n_classes"] == 2:
        np.testing.assert_allclose(out["logistic"].numpy()[:, 0], export["probs"][:, 1], atol=1e-6)


def test_tf2_serves_classification_signatures(export):
    if export["receiver"] == "raw":
        pytest.skip("raw receivers export only predict, as TF's")
    loaded = tf.saved_model.load(str(export["dir"]))
    examples = tf.constant(serialized_examples(iris_test_rows()))
    for key in ("serving_default", "classification"):
        out = loaded.signatures[key](inputs=examples)
        np.testing.assert_allclose(out["scores"].numpy(), export["probs"], atol=1e-6)
        classes = out["classes"].numpy()
        assert classes.shape == (30, export["n_classes"])
        assert all(list(row) == export["class_names"] for row in classes)
    if export["n_classes"] == 2:
        out = loaded.signatures["regression"](inputs=examples)
        np.testing.assert_allclose(out["outputs"].numpy()[:, 0], export["probs"][:, 1], atol=1e-6)


def test_tf1_loader_runs_it_in_a_session(export):
    rows = iris_test_rows()
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(export["dir"]))
        sig = meta.signature_def["predict"]
        if export["receiver"] == "example":
            feed = {sig.inputs["examples"].name: serialized_examples(rows)}
        else:
            feed = {sig.inputs[name].name: rows[:, i] for i, name in enumerate(FEATURES)}
        probs, ids = sess.run([sig.outputs["probabilities"].name, sig.outputs["class_ids"].name],
                              feed_dict=feed)
    np.testing.assert_allclose(probs, export["probs"], atol=1e-6)
    np.testing.assert_array_equal(ids[:, 0], export["ids"])


def test_export_logs_the_signature_report(export):
    assert "Signatures INCLUDED in export for Predict: ['predict']" in export["stderr"]
    if export["receiver"] == "raw":
        assert "Export includes no default signature!" in export["stderr"]
        assert "'serving_default' : Classification signatures can only accept" in export["stderr"]


def run_cli(*args):
    proc = subprocess.run([str(SAVED_MODEL_CLI), *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_saved_model_cli_shows_and_runs_it(export):
    shown = run_cli("show", "--dir", str(export["dir"]), "--all")
    for key in expected_signatures(export):
        assert f"signature_def['{key}']:" in shown
    row = iris_test_rows()[:1]
    if export["receiver"] == "example":
        spec = json.dumps([{name: [float(v)] for name, v in zip(FEATURES, row[0])}])
        ran = run_cli("run", "--dir", str(export["dir"]), "--tag_set", "serve",
                      "--signature_def", "predict", "--input_examples", f"examples={spec}")
    else:
        exprs = ";".join(f"{name}=[{float(v)!r}]" for name, v in zip(FEATURES, row[0]))
        ran = run_cli("run", "--dir", str(export["dir"]), "--tag_set", "serve",
                      "--signature_def", "predict", "--input_exprs", exprs)
    match = re.search(r"Result for output key class_ids:\s*\[\[(\d+)\]\]", ran)
    assert match, ran
    assert int(match.group(1)) == export["ids"][0]


def test_premade_estimator_exports_what_tf_serves(tmp_path):
    proc = subprocess.run(
        [str(EXAMPLE), "--model_dir", str(tmp_path / "iris"), "--seed", "3", "--train_steps",
         "300", "--predict_csv", str(IRIS / "iris_test.csv"), "--export_dir",
         str(tmp_path / "iris" / "export")],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    directory = re.search(r"^Exported for serving: (.+)$", proc.stdout, re.M).group(1)
    probs = np.array([[float(v) for v in line.split()[1:4]] for line in proc.stdout.splitlines()
                      if line.startswith("probabilities ")])
    loaded = tf.saved_model.load(directory)
    out = loaded.signatures["serving_default"](inputs=tf.constant(serialized_examples(iris_test_rows())))
    np.testing.assert_allclose(out["scores"].numpy(), probs, atol=1e-6)


def test_stripped_op_list_is_tfs_registry(export):
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry
    model = saved_model_pb2.SavedModel()
    model.ParseFromString((export["dir"] / "saved_model.pb").read_bytes())
    (meta,) = model.meta_graphs
    assert list(meta.meta_info_def.tags) == ["serve"]
    used = {node.op for node in meta.graph_def.node}
    listed = [op.name for op in meta.meta_info_def.stripped_op_list.op]
    assert listed == sorted(used)
    for op in meta.meta_info_def.stripped_op_list.op:
        theirs = type(op)()
        theirs.CopyFrom(op_def_registry.get(op.name))
        # ckpt's op_def.proto leaves out the experimental full-type field.
        for arg in list(theirs.input_arg) + list(theirs.output_arg):
            arg.ClearField("experimental_full_type")
        assert op == theirs, op.name


def test_ckpt_runs_its_own_export(export, tmp_path):
    """`ckpt run --saved_model DIR --signature predict` (ckpt's graph
    executor, restoring variables/variables through the export's Saver)
    answers what ckpt's Predict and TF answered."""
    rows = iris_test_rows()
    if export["receiver"] == "example":
        np.save(tmp_path / "examples.npy", np.array(serialized_examples(rows), dtype="S"))
        feeds = ["--feed", f"examples={tmp_path / 'examples.npy'}"]
    else:
        feeds = []
        for i, name in enumerate(FEATURES):
            np.save(tmp_path / f"{name}.npy", rows[:, i])
            feeds += ["--feed", f"{name}={tmp_path / f'{name}.npy'}"]
    proc = subprocess.run([str(BUILD_DIR / "tools" / "ckpt"), "run", "--saved_model",
                           str(export["dir"]), "--signature", "predict", *feeds, "--output",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = {k: np.load(v.strip()) for k, v in (line.split("\t") for line in proc.stdout.splitlines())}
    np.testing.assert_allclose(got["probabilities"], export["probs"], atol=1e-6)
    np.testing.assert_array_equal(got["class_ids"][:, 0], export["ids"])
    assert [c.encode() if isinstance(c, str) else c for c in got["classes"][:, 0]] == export["names"]
