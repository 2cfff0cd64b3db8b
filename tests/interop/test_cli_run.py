"""`ckpt run`, `ckpt graph` and examples/restore_and_run against TensorFlow.

* .npy files numpy writes, of every dtype ckpt has a numpy equivalent for (and
  big-endian and Fortran-ordered ones), are fed through an Identity graph TF
  wrote; the .npy files ckpt writes for the fetches are read by numpy and
  must equal the input bit-exactly (dtype, shape, bytes).
* A tf.compat.v1 MLP like the guide's (placeholder 'input', output op
  'output_layer/output') is trained a few steps and saved with Saver.save;
  `ckpt run` on its .meta (newest checkpoint found beside it) and the
  restore_and_run example must match TF's session.run within 1e-5 relative.
* `ckpt graph --json` lists the same nodes (name, op, inputs, in order) as
  the graph_def TF wrote.
Skipped only when the binaries have not been built.
"""

import json
import pathlib
import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, tf

EXAMPLE = BUILD_DIR / "examples" / "restore_and_run"
v1 = tf.compat.v1

# numpy dtype -> TF dtype of the placeholder it feeds.
DTYPES = {
    "<f2": tf.float16, "<f4": tf.float32, "<f8": tf.float64,
    "|i1": tf.int8, "<i2": tf.int16, "<i4": tf.int32, "<i8": tf.int64,
    "|u1": tf.uint8, "<u2": tf.uint16, "<u4": tf.uint32, "<u8": tf.uint64,
    "|b1": tf.bool, "<c8": tf.complex64, "<c16": tf.complex128,
}


def sample(descr, shape, seed):
    rng = np.random.RandomState(seed)
    dt = np.dtype(descr)
    n = int(np.prod(shape))
    if dt.kind == "b":
        a = rng.randint(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        a = rng.randint(0, 256, n * dt.itemsize).astype(np.uint8).view(dt)[:n]
        if n >= 2:
            a[0], a[1] = info.min, info.max
    elif dt.kind == "f":
        a = (rng.randn(n) * 1000).astype(dt)
        special = np.array([np.nan, -np.inf, np.inf, -0.0], dtype=dt)
        a[: min(n, 4)] = special[: min(n, 4)]
    else:
        a = (rng.randn(n) + 1j * rng.randn(n)).astype(dt)
    return a.reshape(shape)


def run(cli, *args, check=True):
    proc = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, f"ckpt {' '.join(map(str, args))}: {proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def identity_graph(tmp_path_factory):
    """graph.pbtxt: for each dtype d a Placeholder 'in_d' and Identity 'out_d'."""
    d = tmp_path_factory.mktemp("identity")
    g = tf.Graph()
    with g.as_default():
        for i, (descr, tfd) in enumerate(DTYPES.items()):
            x = v1.placeholder(tfd, name=f"in_{i}")
            tf.identity(x, name=f"out_{i}")
        x = v1.placeholder(tf.string, name="in_str")
        tf.identity(x, name="out_str")
    tf.io.write_graph(g.as_graph_def(), str(d), "graph.pbtxt", as_text=True)
    tf.io.write_graph(g.as_graph_def(), str(d), "graph.pb", as_text=False)
    return d


@pytest.mark.parametrize("shape", [(), (0,), (7,), (2, 3, 4)])
def test_every_dtype_round_trips_through_ckpt(cli, identity_graph, tmp_path, shape):
    args = ["run", "--graph", identity_graph / "graph.pbtxt", "--output", tmp_path / "out"]
    inputs = {}
    for i, descr in enumerate(DTYPES):
        a = sample(descr, shape, seed=i)
        np.save(tmp_path / f"in_{i}.npy", a)
        inputs[f"out_{i}:0"] = a
        args += ["--feed", f"in_{i}:0={tmp_path / f'in_{i}.npy'}", "--fetch", f"out_{i}:0"]
    strings = np.array([b"ab", b"", b"\xff\x00z", b"long one"] * 6, dtype="S")[
        : int(np.prod(shape))].reshape(shape)
    np.save(tmp_path / "in_str.npy", strings)
    inputs["out_str:0"] = strings
    args += ["--feed", f"in_str={tmp_path / 'in_str.npy'}", "--fetch", "out_str:0"]
    proc = run(cli, *args)
    listed = dict(line.split("\t") for line in proc.stdout.splitlines())
    assert list(listed) == list(inputs)
    for name, a in inputs.items():
        b = np.load(listed[name])
        if a.dtype.kind == "S":
            # ckpt's strings carry no width: 'S<longest element>' (numpy's own rule).
            assert b.dtype.kind == "S" and b.shape == a.shape and b.tolist() == a.tolist()
            assert b.dtype.itemsize == max([len(v) for v in a.ravel().tolist()] + [1])
            continue
        assert b.dtype == a.dtype, name
        assert b.shape == a.shape, name
        assert b.tobytes() == a.tobytes(), name


def test_byte_order_fortran_and_unicode_inputs(cli, identity_graph, tmp_path):
    a = np.arange(12, dtype="<f4").reshape(3, 4) * 1.5 - 3
    np.save(tmp_path / "be.npy", a.astype(">f4"))
    np.save(tmp_path / "fo.npy", np.asfortranarray(a))
    np.save(tmp_path / "big_i8.npy", np.array([1, -2, 2**40], dtype=">i8"))
    np.save(tmp_path / "u.npy", np.array(["a", "\u00e9\u20ac", ""]))
    i4 = list(DTYPES).index("<f4")
    i8 = list(DTYPES).index("<i8")
    for src in ("be.npy", "fo.npy"):
        proc = run(cli, "run", "--graph", identity_graph / "graph.pb", "--feed",
                   f"in_{i4}={tmp_path / src}", "--fetch", f"out_{i4}", "--output",
                   tmp_path / src.replace(".npy", ""))
        got = np.load(proc.stdout.split("\t")[1].strip())
        assert got.dtype == np.dtype("<f4") and got.tobytes() == a.tobytes(), src
    proc = run(cli, "run", "--graph", identity_graph / "graph.pb", "--feed",
               f"in_{i8}={tmp_path / 'big_i8.npy'}", "--feed", f"in_str={tmp_path / 'u.npy'}",
               "--fetch", f"out_{i8}", "--fetch", "out_str", "--json")
    doc = json.loads(proc.stdout)
    assert doc[f"out_{i8}"] == {"dtype": "int64", "shape": [3], "values": [1, -2, 2**40]}
    assert doc["out_str"]["values"] == ["a", "\u00e9\u20ac", ""]


def test_malformed_npy_is_a_clear_error(cli, identity_graph, tmp_path):
    np.save(tmp_path / "ok.npy", np.zeros(3, np.float32))
    data = (tmp_path / "ok.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-1])
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    i4 = list(DTYPES).index("<f4")
    for name, message in [("short.npy", "expected 3 elements"), ("obj.npy", "'|O'")]:
        proc = run(cli, "run", "--graph", identity_graph / "graph.pbtxt", "--feed",
                   f"in_{i4}={tmp_path / name}", "--fetch", f"out_{i4}", check=False)
        assert proc.returncode == 1
        assert name in proc.stderr and message in proc.stderr, proc.stderr
        assert proc.stdout == ""


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """The guide's MLP, trained 5 steps and saved twice (steps 3 and 5)."""
    d = tmp_path_factory.mktemp("mlp")
    g = tf.Graph()
    rng = np.random.RandomState(0)
    with g.as_default():
        X = v1.placeholder(tf.float32, [None, 4], name="input")
        Y = v1.placeholder(tf.float32, [None, 3], name="labels")
        with v1.variable_scope("hidden"):
            w1 = v1.get_variable("kernel", [4, 16])
            b1 = v1.get_variable("bias", [16], initializer=v1.zeros_initializer())
            h = tf.nn.relu(tf.matmul(X, w1) + b1)
        with v1.variable_scope("output_layer"):
            w2 = v1.get_variable("kernel", [16, 3])
            b2 = v1.get_variable("bias", [3], initializer=v1.zeros_initializer())
            logits = tf.add(tf.matmul(h, w2), b2, name="logits")
            out = tf.nn.softmax(logits, name="output")
        loss = v1.losses.softmax_cross_entropy(Y, logits)
        train = v1.train.AdamOptimizer(0.05).minimize(loss)
        saver = v1.train.Saver()
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            for step in range(1, 6):
                sess.run(train, {X: rng.rand(32, 4), Y: np.eye(3)[rng.randint(0, 3, 32)]})
                if step in (3, 5):
                    saver.save(sess, str(d / "model.ckpt"), global_step=step)
            x = rng.rand(10, 4).astype(np.float32)
            expected = sess.run(out, {X: x})
            expected_logits = sess.run(logits, {X: x})
    np.save(d / "x.npy", x)
    return {"dir": d, "x": x, "out": expected, "logits": expected_logits,
            "graph_def": g.as_graph_def()}


def assert_close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=0)


def test_ckpt_run_matches_session_run(cli, mlp, tmp_path):
    d = mlp["dir"]
    # The .meta of step 3: the newest checkpoint beside it (step 5) is restored.
    proc = run(cli, "run", "--meta_graph", d / "model.ckpt-3.meta", "--feed",
               f"input:0={d / 'x.npy'}", "--fetch", "output_layer/output:0", "--fetch",
               "output_layer/logits", "--output", tmp_path)
    listed = dict(line.split("\t") for line in proc.stdout.splitlines())
    assert listed["output_layer/output:0"] == str(tmp_path / "output_layer_output_0.npy")
    got = np.load(listed["output_layer/output:0"])
    assert got.dtype == np.float32 and got.shape == (10, 3)
    assert_close(got, mlp["out"])
    assert_close(np.load(listed["output_layer/logits"]), mlp["logits"])
    # --json, fed float64 (converted to the placeholder's float32 as feed_dict does).
    np.save(tmp_path / "x64.npy", mlp["x"].astype(np.float64))
    proc = run(cli, "run", "--meta_graph", d / "model.ckpt-5.meta", "--feed",
               f"input:0={tmp_path / 'x64.npy'}", "--fetch", "output_layer/output:0", "--json")
    doc = json.loads(proc.stdout)["output_layer/output:0"]
    assert doc["dtype"] == "float" and doc["shape"] == [10, 3]
    assert_close(np.array(doc["values"], np.float32).reshape(10, 3), mlp["out"])
    # The older checkpoint gives other values (the restore really happened).
    proc = run(cli, "run", "--meta_graph", d / "model.ckpt-5.meta", "--checkpoint",
               d / "model.ckpt-3", "--feed", f"input:0={d / 'x.npy'}", "--fetch",
               "output_layer/output:0", "--json")
    older = np.array(json.loads(proc.stdout)["output_layer/output:0"]["values"])
    assert not np.allclose(older.reshape(10, 3), mlp["out"], rtol=1e-5)


def test_unfed_input_and_training_op_are_errors(cli, mlp):
    d = mlp["dir"]
    proc = run(cli, "run", "--meta_graph", d / "model.ckpt-5.meta", "--fetch",
               "output_layer/output:0", check=False)
    assert proc.returncode == 1
    assert "You must feed a value for placeholder tensor 'input'" in proc.stderr
    proc = run(cli, "run", "--meta_graph", d / "model.ckpt-5.meta", "--feed",
               f"input:0={d / 'x.npy'}", "--target", "Adam", check=False)
    assert proc.returncode == 1 and "Unimplemented" in proc.stderr.replace("UNIMPLEMENTED",
                                                                          "Unimplemented")


def test_example_matches_session_run(mlp, tmp_path):
    if not EXAMPLE.exists():
        pytest.skip(f"restore_and_run not built at {EXAMPLE}")
    d = mlp["dir"]
    proc = subprocess.run([str(EXAMPLE), str(d / "model.ckpt-5.meta"), "input:0",
                           "output_layer/output:0", str(d / "x.npy"), str(tmp_path / "y.npy")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"restored {d / 'model.ckpt-5'}" in proc.stdout
    assert_close(np.load(tmp_path / "y.npy"), mlp["out"])
    printed = [float(v) for line in proc.stdout.splitlines()[2:] for v in line.split()]
    assert_close(np.array(printed, np.float32).reshape(10, 3), mlp["out"])


def test_graph_lists_the_nodes_tf_wrote(cli, mlp):
    d = mlp["dir"]
    proc = run(cli, "graph", d / "model.ckpt-5.meta", "--json")
    got = [(n["name"], n["op"], n["inputs"]) for n in json.loads(proc.stdout)["nodes"]]
    from tensorflow.core.protobuf import meta_graph_pb2
    mg = meta_graph_pb2.MetaGraphDef()
    mg.ParseFromString((d / "model.ckpt-5.meta").read_bytes())
    want = [(n.name, n.op, list(n.input)) for n in mg.graph_def.node]
    assert got == want
    # The graph TF built in Python lists the same nodes.
    assert [n for n, _, _ in got] == [n.name for n in mlp["graph_def"].node]
    # Text form: name<TAB>op<TAB>inputs.
    text = run(cli, "graph", d / "model.ckpt-5.meta").stdout.splitlines()
    assert text == [f"{n}\t{op}\t{','.join(ins)}" for n, op, ins in want]
    # --ops: every op on the inference path is runnable; the optimizer's is not.
    ops = json.loads(run(cli, "graph", d / "model.ckpt-5.meta", "--ops", "--json").stdout)
    runnable = {o["op"]: o["runnable"] for o in ops["ops"]}
    for op in ("Placeholder", "MatMul", "AddV2", "Relu", "Softmax", "VarHandleOp",
               "ReadVariableOp"):
        assert runnable.get(op, True), op
    assert runnable["ResourceApplyAdam"] is False
    assert ops["nodes"] == len(want)
    # The inference path alone (as a run prunes it) is fully runnable.
    path = json.loads(run(cli, "graph", d / "model.ckpt-5.meta", "--ops", "--json", "--fetch",
                          "output_layer/output:0", "--feed", "input:0").stdout)
    assert path["runnable_nodes"] == path["nodes"] > 0, path
    assert {o["op"] for o in path["ops"]} >= {"MatMul", "Relu", "Softmax", "ReadVariableOp"}
