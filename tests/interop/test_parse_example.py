"""ParseExampleV2 (the tf.Example serving receiver's parse) against TF 2.21.

* OpDefs: ckpt's ParseExampleV2, ParseExample and Reshape equal TF's
  registered ones.
* The builder: for the same feature spec, the nodes GraphBuilder::ParseExample
  emits (ckpt_graph_driver parse_example) equal, in order, name, op, inputs
  and attr by attr, what tf.io.parse_example emits in a tf.compat.v1 graph.
* The kernel: TF builds random tf.Example protos and parses them with
  tf.io.parse_example; `ckpt run` on TF's GraphDef and on ckpt's own .meta
  must give identical tensors, and TF running ckpt's graph must too.
* V1: a TF graph with the ParseExample op (scalar keys) runs in ckpt as in
  TF; a TF-written SavedModel whose classify signature takes serialized
  examples answers `ckpt run --saved_model --signature serving_default`.
* Errors: a missing required feature, a wrong type, a wrong count and
  garbage bytes fail in ckpt with TF's message.
"""

import pathlib
import subprocess

import numpy as np
import pytest

from conftest import run_graph_driver as run_driver, tf

tf1 = tf.compat.v1

# (key, dtype, shape, default or None): every dtype, shapes [], [1], [2],
# [2, 3], defaults of each dtype, and keys TF must sanitize for Const names.
SPEC = [
    ("f", tf.float32, [2], None),
    ("i", tf.int64, [1], None),
    ("s", tf.string, [], None),
    ("m x", tf.float32, [2, 3], None),
    ("d", tf.int64, [2], [3, -4]),
    ("ds", tf.string, [1], ["zz"]),
    ("df+", tf.float32, [], [0.25]),
]
DTYPE_NAMES = {tf.float32: "float", tf.int64: "int64", tf.string: "string"}


def tf_features(spec):
    return {k: tf.io.FixedLenFeature(shape, dt, default_value=d) for k, dt, shape, d in spec}


def tf_graph(spec):
    """TF's graph: tf.io.parse_example on a [None] string placeholder."""
    g = tf.Graph()
    with g.as_default():
        s = tf1.placeholder(tf.string, [None], name="input_example_tensor")
        outputs = tf.io.parse_example(s, tf_features(spec))
    return g, {k: t.name for k, t in outputs.items()}


def our_meta(spec, path):
    """ckpt's graph for the same spec, written as a .meta; its output names."""
    args = ["parse_example", path]
    for key, dt, shape, default in spec:
        args += [key, DTYPE_NAMES[dt], ",".join(map(str, shape)) or ".",
                 "-" if default is None else ",".join(map(str, default))]
    outputs = {}
    for line in run_driver(*args):
        tag, rest = line.split(" ", 1)
        assert tag == "output", line
        key, tensor = rest.rsplit(" ", 1)
        outputs[key] = tensor
    return outputs


def load_meta(path):
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString(pathlib.Path(path).read_bytes())
    return meta


def test_op_defs_equal_tfs():
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.framework import op_def_registry

    ops = ["ParseExampleV2", "ParseExample", "Reshape"]
    lines = run_driver("opdef", *ops)
    assert len(lines) == len(ops)
    for line in lines:
        _, name, hexdef = line.split()
        ours = op_def_pb2.OpDef.FromString(bytes.fromhex(hexdef))
        assert ours == op_def_registry.get(name), name


@pytest.mark.parametrize("spec", [SPEC, SPEC[:1], [SPEC[5], SPEC[1]]],
                         ids=["all", "one", "default_first"])
def test_builder_emits_tfs_nodes(spec, tmp_path):
    g, tf_outputs = tf_graph(spec)
    outputs = our_meta(spec, tmp_path / "ours.meta")
    assert outputs == tf_outputs
    meta = load_meta(tmp_path / "ours.meta")
    theirs = list(g.as_graph_def().node)
    ours = list(meta.graph_def.node)
    assert [n.name for n in ours] == [n.name for n in theirs]
    for a, b in zip(ours, theirs):
        assert a.op == b.op, a.name
        assert list(a.input) == list(b.input), a.name
        assert sorted(a.attr) == sorted(b.attr), a.name
        for key in b.attr:
            assert a.attr[key] == b.attr[key], f"{a.name} attr {key}: {a.attr[key]} vs {b.attr[key]}"
    from tensorflow.python.framework import op_def_registry
    for op in meta.meta_info_def.stripped_op_list.op:
        assert op == op_def_registry.get(op.name), op.name


def random_examples(rng, spec, n):
    """n serialized tf.Examples; features with defaults are left out at times.
    None ends in a NUL byte: ckpt run's string feeds are numpy 'S' arrays,
    which cannot hold trailing NULs."""
    out = []
    while len(out) < n:
        feats = {}
        for key, dt, shape, default in spec:
            if default is not None and rng.random() < 0.3:
                continue
            count = int(np.prod(shape))
            if dt == tf.float32:
                v = rng.normal(size=count).astype(np.float32) * 100
                feats[key] = tf.train.Feature(float_list=tf.train.FloatList(value=v))
            elif dt == tf.int64:
                v = rng.integers(-2**62, 2**62, size=count)
                feats[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=v))
            else:
                v = [rng.bytes(int(rng.integers(0, 6))) + b"!" for _ in range(count)]
                feats[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
        data = tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()
        if not data.endswith(b"\x00"):
            out.append(data)
    return out


def ckpt_run(cli, graph_args, tensors, examples, tmp_path, check=True):
    np.save(tmp_path / "ex.npy", np.array(examples, dtype="S"))
    args = [str(cli), "run", *graph_args, "--feed",
            f"input_example_tensor:0={tmp_path / 'ex.npy'}", "--output", str(tmp_path / "out")]
    for t in tensors:
        args += ["--fetch", t]
    proc = subprocess.run(args, capture_output=True, text=True)
    if not check:
        return proc
    assert proc.returncode == 0, proc.stderr
    got = {}
    for line in proc.stdout.splitlines():
        name, path = line.split("\t")
        got[name] = np.load(path.strip())
    return got


def assert_same(got, want, what):
    want = want.numpy()
    assert got.shape == want.shape, what
    if want.dtype == object:
        assert got.tolist() == want.tolist(), what
    else:
        assert got.dtype == want.dtype, what
        np.testing.assert_array_equal(got, want, err_msg=what)


@pytest.mark.parametrize("seed", [1, 2])
def test_kernel_matches_tf_on_random_examples(cli, seed, tmp_path):
    rng = np.random.default_rng(seed)
    examples = random_examples(rng, SPEC, 9)
    want = tf.io.parse_example(tf.constant(examples, dtype=tf.string), tf_features(SPEC))

    g, tf_outputs = tf_graph(SPEC)
    tf.io.write_graph(g.as_graph_def(), str(tmp_path), "tf.pb", as_text=False)
    got = ckpt_run(cli, ["--graph", tmp_path / "tf.pb"], tf_outputs.values(), examples, tmp_path)
    for key, tensor in tf_outputs.items():
        assert_same(got[tensor], want[key], f"TF graph, {key}")

    outputs = our_meta(SPEC, tmp_path / "ours.meta")
    got = ckpt_run(cli, ["--meta_graph", tmp_path / "ours.meta", "--checkpoint", "none"],
                   outputs.values(), examples, tmp_path)
    for key, tensor in outputs.items():
        assert_same(got[tensor], want[key], f"ckpt graph, {key}")

    # TF runs ckpt's graph to the same values.
    with tf.Graph().as_default() as g2:
        tf1.train.import_meta_graph(str(tmp_path / "ours.meta"))
        with tf1.Session(graph=g2) as sess:
            ran = sess.run({k: t for k, t in outputs.items()},
                           feed_dict={"input_example_tensor:0": examples})
    for key in outputs:
        assert_same(ran[key], tf.constant(want[key]), f"TF on ckpt graph, {key}")


def tf_error(examples, spec):
    try:
        tf.io.parse_example(tf.constant(examples, dtype=tf.string), tf_features(spec))
    except tf.errors.InvalidArgumentError as e:
        # Eager messages wrap TF's in "{{function_node ...}} ... [Op:...]".
        return e.message.split("}} ", 1)[-1].rsplit(" [Op:", 1)[0]
    pytest.fail("TF parsed the bad examples")


def feature(**kw):
    (key, value), = kw.items()
    if isinstance(value[0], float):
        f = tf.train.Feature(float_list=tf.train.FloatList(value=value))
    elif isinstance(value[0], int):
        f = tf.train.Feature(int64_list=tf.train.Int64List(value=value))
    else:
        f = tf.train.Feature(bytes_list=tf.train.BytesList(value=value))
    return tf.train.Example(
        features=tf.train.Features(feature={key: f})).SerializeToString()


@pytest.mark.parametrize("examples,spec", [
    ([feature(y=[1.0])], [("x", tf.float32, [1], None)]),
    ([feature(x=[1]), feature(x=[1.5])], [("x", tf.int64, [1], None)]),
    ([feature(x=[b"a", b"b"])], [("x", tf.string, [3], None)]),
    ([feature(x=[1.0, 2.0, 3.0])], [("x", tf.float32, [2], None)]),
    ([feature(x=[1.0]), b"\n\x03abc"], [("x", tf.float32, [1], None)]),
], ids=["missing", "wrong_type", "wrong_bytes_count", "wrong_count", "garbage"])
def test_errors_carry_tfs_message(cli, examples, spec, tmp_path):
    message = tf_error(examples, spec)
    g, tf_outputs = tf_graph(spec)
    tf.io.write_graph(g.as_graph_def(), str(tmp_path), "tf.pb", as_text=False)
    proc = ckpt_run(cli, ["--graph", tmp_path / "tf.pb"], tf_outputs.values(), examples,
                    tmp_path, check=False)
    assert proc.returncode != 0
    assert "INVALID_ARGUMENT" in proc.stderr or "InvalidArgument" in proc.stderr, proc.stderr
    if message.startswith("Could not parse example input"):
        # The escaping of the bytes differs; the words and the batch index do not.
        assert "Could not parse example input" in proc.stderr, proc.stderr
        assert "serialized[1]" in proc.stderr, proc.stderr
    else:
        assert message in proc.stderr, proc.stderr


def test_v1_parse_example_graph_runs_as_in_tf(cli, tmp_path):
    """Old SavedModels carry ParseExample (V1): scalar key inputs, one per key."""
    spec = [SPEC[0], SPEC[1], SPEC[4], SPEC[5]]
    examples = random_examples(np.random.default_rng(3), spec, 5)
    g = tf.Graph()
    with g.as_default():
        s = tf1.placeholder(tf.string, [None], name="input_example_tensor")
        outs = tf.raw_ops.ParseExample(
            serialized=s, names=tf.constant([], tf.string), sparse_keys=[], sparse_types=[],
            dense_keys=[tf.constant(k) for k, _, _, _ in spec],
            dense_defaults=[tf.constant(d if d is not None else [], dt) for _, dt, _, d in spec],
            dense_shapes=[shape for _, _, shape, _ in spec], name="ParseExample")
        tensors = [t.name for t in outs.dense_values]
        with tf1.Session() as sess:
            want = sess.run(tensors, feed_dict={s: examples})
    assert g.get_operation_by_name("ParseExample").type == "ParseExample"
    tf.io.write_graph(g.as_graph_def(), str(tmp_path), "v1.pb", as_text=False)
    got = ckpt_run(cli, ["--graph", tmp_path / "v1.pb"], tensors, examples, tmp_path)
    for t, w in zip(tensors, want):
        assert_same(got[t], tf.constant(w), t)


def test_saved_model_classify_signature_on_examples(cli, tmp_path):
    """`ckpt run --saved_model --signature serving_default` feeds serialized
    tf.Examples to a TF-written SavedModel whose signature takes them, as an
    Estimator's tf.Example receiver exports it (input key 'inputs')."""
    spec = [SPEC[0], SPEC[2], SPEC[6]]
    examples = random_examples(np.random.default_rng(4), spec, 6)
    export = tmp_path / "export"
    g = tf.Graph()
    with g.as_default():
        s = tf1.placeholder(tf.string, [None], name="input_example_tensor")
        feats = tf.io.parse_example(s, tf_features(spec))
        scores = tf.multiply(feats["f"], tf.expand_dims(feats["df+"], 1), name="scores")
        classes = tf.tile(tf.expand_dims(feats["s"], 1), [1, 2], name="classes")
        sig = tf1.saved_model.classification_signature_def(s, classes, scores)
        with tf1.Session() as sess:
            builder = tf1.saved_model.Builder(str(export))
            builder.add_meta_graph_and_variables(sess, ["serve"],
                                                 signature_def_map={"serving_default": sig})
            builder.save()
            want = sess.run({"classes": classes, "scores": scores}, feed_dict={s: examples})
    np.save(tmp_path / "ex.npy", np.array(examples, dtype="S"))
    proc = subprocess.run([str(cli), "run", "--saved_model", str(export), "--signature",
                           "serving_default", "--checkpoint", "none", "--feed",
                           f"inputs={tmp_path / 'ex.npy'}", "--output", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    got = dict(line.split("\t") for line in proc.stdout.splitlines())
    assert sorted(got) == ["classes", "scores"]
    for key in got:
        assert_same(np.load(got[key].strip()), tf.constant(want[key]), key)
