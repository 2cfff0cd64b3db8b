"""The premade-estimator example (README's main job) checked by TensorFlow.

examples/premade_estimator trains ckpt's Estimator + DNNClassifier on the
shipped Iris data into a model_dir; TensorFlow and TensorBoard then read what
it wrote:
  * the model_dir listing of the guide (checkpoint, events, graph.pbtxt,
    model.ckpt-1.*, model.ckpt-1000.*, eval/), and TF's latest_checkpoint;
  * tf.train.load_checkpoint finds the 13 keys of docs/canned.md;
  * a Keras model given those weights reproduces the example's probabilities
    on the test set (1e-5), and import_meta_graph on our .meta + restore
    reproduces them within 1e-6;
  * TensorBoard's EventAccumulator finds loss, global_step/sec, the DNN
    summaries and the eval metrics;
  * a second run resumes; the guide's bad restoration fails with TF's text
    and leaves every file of model_dir untouched.
"""

import hashlib
import pathlib
import re
import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, REPO, tf
from test_dnn_classifier import (EXPECTED_KEYS, iris_test_features, keras_probabilities,
                                 run_imported_meta_graph)
from tensorboard.backend.event_processing import event_accumulator as tb_ea

EXAMPLE = BUILD_DIR / "examples" / "premade_estimator"
IRIS = REPO / "data" / "iris"
def run_example(model_dir, *extra, check=True):
    if not EXAMPLE.exists():
        pytest.fail(f"{EXAMPLE} not built; build target premade_estimator")
    proc = subprocess.run(
        [str(EXAMPLE), "--model_dir", str(model_dir), "--predict_csv",
         str(IRIS / "iris_test.csv"), *extra],
        capture_output=True, text=True, check=False, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def parse_probabilities(stdout):
    rows = [line.split() for line in stdout.splitlines() if line.startswith("probabilities ")]
    return np.array([[float(v) for v in row[1:4]] for row in rows], dtype=np.float64)


def snapshot(directory):
    """Every file under `directory` with its size, mtime and content hash."""
    out = {}
    for path in sorted(pathlib.Path(directory).rglob("*")):
        if path.is_file():
            st = path.stat()
            out[str(path.relative_to(directory))] = (
                st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("est") / "iris"
    proc = run_example(model_dir, "--seed", "7")
    return model_dir, proc


def test_example_output(first_run):
    _, proc = first_run
    match = re.search(r"^Test set accuracy: (0\.\d{3}|1\.000)$", proc.stdout, re.M)
    assert match, proc.stdout
    assert float(match.group(1)) >= 0.9
    predictions = re.findall(r'^Prediction is "(\w+)" \((\d+\.\d)%\), expected "(\w+)"$',
                             proc.stdout, re.M)
    assert [p[2] for p in predictions] == ["Setosa", "Versicolor", "Virginica"]
    for got, percent, expected in predictions:
        assert got == expected
        assert 50.0 < float(percent) <= 100.0


def test_model_dir_listing_and_state_file(first_run):
    model_dir, _ = first_run
    names = sorted(p.name for p in model_dir.iterdir())
    expected = ["checkpoint", "eval", "graph.pbtxt"] + [
        f"model.ckpt-{step}.{ext}" for step in (1, 1000)
        for ext in ("data-00000-of-00001", "index", "meta")]
    events = [n for n in names if n.startswith("events.out.tfevents.")]
    assert len(events) == 1, names
    assert sorted(set(names) - set(events)) == sorted(expected)
    assert tf.train.latest_checkpoint(str(model_dir)) == str(model_dir / "model.ckpt-1000")
    state = tf.train.get_checkpoint_state(str(model_dir))
    assert list(state.all_model_checkpoint_paths) == [
        str(model_dir / "model.ckpt-1"), str(model_dir / "model.ckpt-1000")]
    # Relative paths, as the Estimator's Saver writes them.
    assert 'model_checkpoint_path: "model.ckpt-1000"' in (model_dir / "checkpoint").read_text()


def test_log_lines(first_run):
    model_dir, proc = first_run
    log = proc.stderr
    prefix = f"{model_dir}/model.ckpt"
    for line in [
        "INFO:tensorflow:Using config: {'_model_dir': '" + str(model_dir) + "'",
        "INFO:tensorflow:Calling model_fn.",
        "INFO:tensorflow:Create CheckpointSaverHook.",
        "INFO:tensorflow:Graph was finalized.",
        "INFO:tensorflow:Running local_init_op.",
        f"INFO:tensorflow:Saving checkpoints for 1 into {prefix}.",
        f"INFO:tensorflow:Saving checkpoints for 1000 into {prefix}.",
        f"INFO:tensorflow:Restoring parameters from {prefix}-1000",
        "INFO:tensorflow:Saving dict for global step 1000: accuracy = ",
    ]:
        assert line in log, line
    assert re.search(r"^INFO:tensorflow:loss = [\d.e+-]+, step = 1$", log, re.M), log
    assert re.search(r"^INFO:tensorflow:loss = [\d.e+-]+, step = 101 \(\d+\.\d{3} sec\)$", log,
                     re.M), log
    assert re.search(r"^INFO:tensorflow:global_step/sec: [\d.e+-]+$", log, re.M), log
    assert re.search(r"^INFO:tensorflow:Loss for final step: [\d.e+-]+\.$", log, re.M), log


def test_tensorflow_reads_checkpoint_keys(first_run):
    model_dir, _ = first_run
    reader = tf.train.load_checkpoint(str(model_dir / "model.ckpt-1000"))
    assert reader.get_variable_to_shape_map() == {k: s for k, (s, _) in EXPECTED_KEYS.items()}
    assert reader.get_variable_to_dtype_map() == {k: d for k, (_, d) in EXPECTED_KEYS.items()}
    assert reader.get_tensor("global_step") == 1000
    assert tf.train.load_checkpoint(str(model_dir / "model.ckpt-1")).get_tensor("global_step") == 1


def test_keras_reproduces_probabilities(first_run):
    model_dir, proc = first_run
    probs = parse_probabilities(proc.stdout)
    x, labels = iris_test_features()
    tf_probs = keras_probabilities(str(model_dir / "model.ckpt-1000"), x)
    assert probs.shape == tf_probs.shape == (30, 3)
    np.testing.assert_allclose(tf_probs, probs, atol=1e-5, rtol=0)
    assert np.mean(np.argmax(tf_probs, axis=1) == labels) >= 0.9


def test_import_meta_graph_restores_and_matches(first_run):
    model_dir, proc = first_run
    probs = parse_probabilities(proc.stdout)
    prefix = str(model_dir / "model.ckpt-1000")
    got, _ = run_imported_meta_graph(prefix, "dnn/head/predictions/probabilities:0",
                                     iris_test_features()[0])
    np.testing.assert_allclose(got, probs, atol=1e-6, rtol=0)


def test_graph_pbtxt_is_a_text_graph_def(first_run):
    model_dir, _ = first_run
    from google.protobuf import text_format
    graph_def = text_format.Parse((model_dir / "graph.pbtxt").read_text(), tf.compat.v1.GraphDef())
    names = {node.name for node in graph_def.node}
    assert {"global_step", "dnn/logits/kernel", "dnn/head/predictions/probabilities"} <= names
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")


def test_tensorboard_reads_training_and_eval_events(first_run):
    model_dir, proc = first_run
    train = tb_ea.EventAccumulator(str(model_dir), size_guidance={tb_ea.SCALARS: 0,
                                                                  tb_ea.HISTOGRAMS: 0})
    train.Reload()
    tags = train.Tags()
    for tag in ["loss", "average_loss", "global_step/sec",
                "dnn/dnn/hiddenlayer_0/fraction_of_zero_values",
                "dnn/dnn/hiddenlayer_1/fraction_of_zero_values",
                "dnn/dnn/logits/fraction_of_zero_values"]:
        assert tag in tags["scalars"], (tag, tags["scalars"])
    for tag in ["dnn/dnn/hiddenlayer_0/activation", "dnn/dnn/logits/activation"]:
        assert tag in tags["histograms"], (tag, tags["histograms"])
    assert [e.step for e in train.Scalars("loss")] == list(range(1, 1000, 100))
    assert [e.step for e in train.Scalars("global_step/sec")] == list(range(101, 1000, 100))
    assert tags["graph"] and tags["meta_graph"]

    evaluation = tb_ea.EventAccumulator(str(model_dir / "eval"), size_guidance={tb_ea.SCALARS: 0})
    evaluation.Reload()
    eval_tags = evaluation.Tags()["scalars"]
    assert {"accuracy", "average_loss", "loss"} <= set(eval_tags), eval_tags
    (accuracy,) = evaluation.Scalars("accuracy")
    assert accuracy.step == 1000
    printed = float(re.search(r"Test set accuracy: ([\d.]+)", proc.stdout).group(1))
    assert abs(accuracy.value - printed) < 5e-4
    (loss,) = evaluation.Scalars("loss")
    (average_loss,) = evaluation.Scalars("average_loss")
    # One eval batch of 30: loss (SUM) = 30 x average_loss.
    assert loss.value == pytest.approx(30 * average_loss.value, rel=1e-5)


def test_second_run_resumes(tmp_path):
    model_dir = tmp_path / "iris"
    run_example(model_dir, "--train_steps", "200", "--seed", "3")
    proc = run_example(model_dir, "--train_steps", "200", "--seed", "3")
    prefix = f"{model_dir}/model.ckpt"
    assert f"Restoring parameters from {prefix}-200" in proc.stderr
    assert f"Saving checkpoints for 201 into {prefix}." in proc.stderr
    assert f"Saving checkpoints for 400 into {prefix}." in proc.stderr
    assert tf.train.load_checkpoint(str(model_dir)).get_tensor("global_step") == 400
    state = tf.train.get_checkpoint_state(str(model_dir))
    assert [pathlib.Path(p).name for p in state.all_model_checkpoint_paths] == [
        "model.ckpt-1", "model.ckpt-200", "model.ckpt-201", "model.ckpt-400"]


def test_bad_restoration_leaves_model_dir_untouched(tmp_path):
    model_dir = tmp_path / "iris"
    run_example(model_dir, "--train_steps", "50")
    before = snapshot(model_dir)
    proc = run_example(model_dir, "--hidden_units", "20,20", check=False)
    assert proc.returncode == 1
    assert ("tensor_name = dnn/hiddenlayer_0/bias; shape in shape_and_slice spec [20] does not "
            "match the shape stored in checkpoint: [10]") in proc.stderr
    assert "Test set accuracy" not in proc.stdout
    assert snapshot(model_dir) == before
