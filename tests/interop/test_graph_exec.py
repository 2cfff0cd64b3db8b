"""The seed's restore-and-run workflow, in C++: TensorFlow builds, trains and
saves TF1-style models (exec_models.py); `ckpt run` imports each `.meta`,
restores the checkpoint through the imported Saver and runs the named
outputs. TensorFlow, doing the same (import_meta_graph + restore + run), is
the oracle: float32 within 1e-5 relative (plus 1e-6 absolute for values
near zero), integers and strings exact.
"""

import json
import pathlib
import re
import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, CLI, REPO, run_to_npy
import exec_models as em

BATCHES = (1, 7, 100)
RTOL, ATOL = 1e-5, 1e-6


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    if not CLI.exists():
        pytest.fail(f"{CLI} not built; build target ckpt_cli")
    return em.build_all(tmp_path_factory.mktemp("models"))


def ckpt_run(tmp_path, meta, feeds, fetches, checkpoint=None, targets=(), check=True):
    """`ckpt run`; the fetched arrays by name, or the CompletedProcess when
    check is False."""
    tmp_path = pathlib.Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    cmd = [str(CLI), "run", "--meta_graph", str(meta)]
    if checkpoint is not None:
        cmd += ["--checkpoint", str(checkpoint)]
    for i, (name, value) in enumerate(feeds.items()):
        path = tmp_path / f"feed{i}.npy"
        if np.asarray(value).dtype == object:  # strings: numpy's 'S' (no pickles)
            value = np.asarray(value).astype(bytes)
        np.save(path, value)
        cmd += ["--feed", f"{name}={path}"]
    for name in fetches:
        cmd += ["--fetch", name]
    for name in targets:
        cmd += ["--target", name]
    got = run_to_npy(cmd, tmp_path / "out", check)
    if check:
        assert sorted(got) == sorted(fetches), list(got)
    return got


def assert_matches(got, expected, what):
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != TF's {expected.shape}"
    if expected.dtype == object or expected.dtype.kind in "SU":
        assert [to_bytes(v) for v in got.reshape(-1)] == \
            [to_bytes(v) for v in expected.reshape(-1)], what
        return
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != TF's {expected.dtype}"
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg=what)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


def to_bytes(v):
    return v if isinstance(v, bytes) else str(v).encode()


def run_both(tmp_path, model, feeds, fetches=None, targets=()):
    fetches = fetches or model.fetches
    expected = em.tf_run(model.meta, model.prefix, feeds, fetches, targets)
    got = ckpt_run(tmp_path, model.meta, feeds, fetches, checkpoint=model.prefix,
                   targets=targets)
    for name, value in zip(fetches, expected):
        assert_matches(got[name], value, f"{model.name} {name}")
    return got, expected


MODEL_NAMES = ["mlp", "mlp_v1", "mlp_resource", "cnn", "batch_norm", "partitioned", "dnn3",
               "dnn2", "linear3", "feature_columns"]


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_matches_tensorflow(models, tmp_path, name, batch):
    model = models[name]
    run_both(tmp_path, model, model.make_feeds(batch))


def test_default_checkpoint_is_the_newest_beside_the_meta(models, tmp_path):
    model = models["dnn3"]  # saved with global_step: model.ckpt-60
    feeds = model.make_feeds(7)
    expected = em.tf_run(model.meta, model.prefix, feeds, model.fetches[:1])
    got = ckpt_run(tmp_path, model.meta, feeds, model.fetches[:1])
    assert_matches(got[model.fetches[0]], expected[0], "default checkpoint")


def test_feeding_a_non_placeholder_tensor(models, tmp_path):
    model = models["mlp"]
    hidden = np.abs(em._rng(5).normal(size=(7, 16))).astype(np.float32)
    got, _ = run_both(tmp_path, model, {"hidden_1/Relu:0": hidden}, ["output_layer/output:0"])
    # The fed tensor cut the graph: no 'input' was needed.
    assert got["output_layer/output:0"].shape == (7, 3)


def test_placeholder_with_default(models, tmp_path):
    model = models["mlp"]
    feeds = model.make_feeds(7)
    default, _ = run_both(tmp_path / "default", model, feeds)
    halved, _ = run_both(tmp_path / "fed", model, {**feeds, "scale:0": np.float32(0.5)})
    assert not np.allclose(default["output_layer/output:0"], halved["output_layer/output:0"])


def test_dropout_keep_prob_matches_tfs_first_run(models, tmp_path):
    """keep_prob 0.5: the mask comes from RandomUniform, seeded through
    tf.set_random_seed, so ckpt's numbers are TF's first run's."""
    model = models["mlp"]
    feeds = {**model.make_feeds(7), "keep_prob:0": np.float32(0.5)}
    dropped, _ = run_both(tmp_path, model, feeds)
    kept = em.tf_run(model.meta, model.prefix, model.make_feeds(7), model.fetches)
    assert not np.allclose(dropped["output_layer/output:0"], kept[0])


def test_saved_model_and_frozen_graph_forms(models, tmp_path):
    """The same MLP as a SavedModel (ckpt run --saved_model) and as a frozen
    GraphDef, binary and text (ckpt run --graph): TF's answer each time."""
    model = models["mlp"]
    outputs = ["output_layer/output:0"]
    saved, pb, pbtxt = em.export_other_forms(model, tmp_path / "forms", outputs)
    feeds = model.make_feeds(7)
    expected = em.tf_run(model.meta, model.prefix, feeds, outputs)[0]
    runs = {"saved_model": ["--saved_model", str(saved)], "pb": ["--graph", str(pb)],
            "pbtxt": ["--graph", str(pbtxt)]}
    for form, source in runs.items():
        cmd = [str(CLI), "run", *source, "--fetch", outputs[0], "--output", str(tmp_path / form)]
        np.save(tmp_path / "x.npy", feeds["input:0"])
        cmd += ["--feed", f"input:0={tmp_path / 'x.npy'}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{form}: {proc.stderr}"
        path = proc.stdout.strip().split("\t")[1]
        assert_matches(np.load(path), expected, form)


def test_targets_run_with_fetches(models, tmp_path):
    model = models["cnn"]
    run_both(tmp_path, model, model.make_feeds(7), ["probs:0"], targets=["logits"])


def test_training_op_is_unimplemented_before_any_work(models, tmp_path):
    """The train op as a target, and a training op's output as a fetch (TF
    Python's sess.run('train') runs an op name as a target; ckpt run's
    --fetch takes tensors only)."""
    model = models["mlp"]
    update = "train/update_hidden_1/w1/ApplyGradientDescent"
    graph = em.tf.Graph()
    with graph.as_default():
        em.v1.train.import_meta_graph(model.meta)
    assert graph.get_operation_by_name(update).type == "ApplyGradientDescent"
    feeds = {**model.make_feeds(7), "labels:0": np.zeros((7, 3), np.float32)}
    cases = {"target": dict(fetches=["output_layer/output:0"], targets=["train"]),
             "fetch": dict(fetches=["output_layer/output:0", update + ":0"])}
    for flag, kwargs in cases.items():
        out = tmp_path / flag
        proc = ckpt_run(out, model.meta, feeds, checkpoint=model.prefix, check=False, **kwargs)
        assert proc.returncode != 0, flag
        assert "not supported by ckpt" in proc.stderr, proc.stderr
        assert f"needed by {flag} '" in proc.stderr, proc.stderr
        # Nothing was fetched: the check comes before any work.
        assert not (out / "out").exists() or not any((out / "out").iterdir()), flag


def test_training_graph_names_the_unsupported_op_and_node(models, tmp_path):
    model = models["cnn"]
    feeds = {**model.make_feeds(1), "labels:0": np.zeros((1,), np.int64)}
    proc = ckpt_run(tmp_path, model.meta, feeds, ["probs:0"], checkpoint=model.prefix,
                    targets=["train"], check=False)
    assert proc.returncode != 0
    m = re.search(r"Op type '(\w+)' of node '([^']+)'", proc.stderr)
    assert m, proc.stderr
    graph = em.tf.Graph()
    with graph.as_default():
        em.v1.train.import_meta_graph(model.meta)
    assert graph.get_operation_by_name(m.group(2)).type == m.group(1)


def test_partitioned_variables_and_sharded_saver(models):
    model = models["partitioned"]
    names = model.notes["variables"]
    assert "fixed/w/part_2" in names and "minmax/table/part_3" in names, names
    graph = em.tf.Graph()
    with graph.as_default():
        saver = em.v1.train.import_meta_graph(model.meta)
    assert saver.saver_def.sharded


def test_v1_checkpoint_has_no_index(models):
    prefix = pathlib.Path(models["mlp_v1"].prefix)
    assert prefix.exists() and not pathlib.Path(str(prefix) + ".index").exists()


def test_batch_norm_moving_stats_moved(models):
    moving = models["batch_norm"].notes["moving"]
    means = [v for k, v in moving.items() if k.endswith("moving_mean")]
    assert len(means) == 2 and all(np.abs(m).max() > 1e-3 for m in means), moving


def test_inference_ops_are_all_covered(models):
    """`ckpt graph --ops` on each model: every op type the inference
    subgraph needs (TF's extract_sub_graph) is one ckpt runs."""
    for model in models.values():
        needed = em.inference_op_types(model.meta, model.fetches)
        proc = subprocess.run([str(CLI), "graph", model.meta, "--ops", "--json"],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        report = {entry["op"]: entry["runnable"] for entry in json.loads(proc.stdout)["ops"]}
        assert set(needed) <= set(report), f"{model.name}: {set(needed) - set(report)}"
        missing = sorted(op for op in needed if not report[op])
        assert not missing, f"{model.name}: {missing}"
        # The training ops are in these graphs, and reported as not runnable.
        if "train_op" in model.notes:
            assert not all(report.values()), model.name


# ----------------------------------------------- ckpt's own DNNClassifier

DNN_DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_dnn_driver"
OWN_FETCHES = ["dnn/head/predictions/probabilities:0", "dnn/logits/BiasAdd:0"]


@pytest.fixture(scope="module")
def ckpt_dnn(tmp_path_factory):
    from test_dnn_classifier import iris_test_features, run_driver
    if not DNN_DRIVER.exists():
        pytest.fail(f"{DNN_DRIVER} not built; build target ckpt_dnn_driver")
    prefix, _, probs = run_driver(tmp_path_factory.mktemp("ckpt_dnn"), steps=200)
    return prefix, probs, iris_test_features()[0]


def test_ckpt_written_meta_runs_in_ckpt_and_tf(ckpt_dnn, tmp_path):
    prefix, driver_probs, x = ckpt_dnn
    meta = prefix + ".meta"
    graph = em.tf.Graph()
    with graph.as_default():
        em.v1.train.import_meta_graph(meta)
    fetches = [f for f in OWN_FETCHES if graph.get_operation_by_name(f.split(":")[0])]
    feeds = {"features:0": x}
    expected = em.tf_run(meta, prefix, feeds, fetches)
    got = ckpt_run(tmp_path, meta, feeds, fetches, checkpoint=prefix)
    for name, value in zip(fetches, expected):
        assert_matches(got[name], value, f"ckpt's own .meta {name}")
    # ...and both agree with the driver's own Predict.
    np.testing.assert_allclose(got[OWN_FETCHES[0]], driver_probs, rtol=0, atol=1e-5)
