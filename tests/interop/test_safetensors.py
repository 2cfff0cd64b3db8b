"""`ckpt convert` and `ckpt diff` against the real peers: checkpoints written
by TensorFlow (tf.compat.v1 Saver, tf.train.Checkpoint) converted to
safetensors and read by the safetensors library; files written by
safetensors.numpy.save_file converted to TensorFlow checkpoints and read by
tf.train.load_checkpoint; `ckpt diff` against numpy.allclose."""

import subprocess

import ml_dtypes
import numpy as np
import pytest
import safetensors
import safetensors.numpy
from safetensors.numpy import load_file, save_file

from conftest import tf

# The safetensors dtypes numpy has no names for in safetensors.numpy (it
# reads these only through ml_dtypes).
ML_DTYPES = {
    "BF16": ml_dtypes.bfloat16,
    "F8_E4M3": ml_dtypes.float8_e4m3fn,
    "F8_E5M2": ml_dtypes.float8_e5m2,
}


def peer_load(path):
    """Every tensor of a safetensors file as the safetensors library parses
    it (its deserializer; safetensors.numpy.load_file refuses the ml_dtypes
    ones, and is used directly where a file has none)."""
    with open(path, "rb") as f:
        raw = safetensors.deserialize(f.read())
    table = dict(safetensors.numpy._TYPES, **ML_DTYPES)
    return {name: np.frombuffer(bytes(info["data"]), table[info["dtype"]]).reshape(info["shape"])
            for name, info in raw}


def run(cli, *args, check=True):
    proc = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, f"ckpt {' '.join(map(str, args))}\n{proc.stdout}{proc.stderr}"
    return proc


def assert_same(actual: np.ndarray, expected: np.ndarray, name):
    assert actual.dtype == expected.dtype, (name, actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
    assert actual.tobytes() == expected.tobytes(), name


TF_VALUES = {
    "dense/kernel": (tf.float32, np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)),
    "dense/bias": (tf.float64, np.array([1.5, -2.25, 1e300])),
    "emb/half": (tf.float16, np.array([[0.5, -1.0], [65504, 6e-8]], np.float16)),
    "emb/bf16": (tf.bfloat16, np.array([1.0, -3.5, 1e30], ml_dtypes.bfloat16)),
    "counts/i64": (tf.int64, np.array([1 << 62, -5], np.int64)),
    "counts/i32": (tf.int32, np.array([[-7]], np.int32)),
    "counts/u8": (tf.uint8, np.array([0, 255], np.uint8)),
    "counts/i8": (tf.int8, np.array([-128, 127], np.int8)),
    "mask": (tf.bool, np.array([True, False, True])),
    "step": (tf.int64, np.int64(1000)),
}


@pytest.fixture(scope="module")
def tf1_checkpoint(tmp_path_factory):
    """A checkpoint of tf.compat.v1.train.Saver with TF_VALUES and a string."""
    d = tmp_path_factory.mktemp("tf1")
    with tf.Graph().as_default():
        for name, (dtype, value) in TF_VALUES.items():
            tf.compat.v1.Variable(value, dtype=dtype, name=name)
        tf.compat.v1.Variable(b"vocab words", name="vocab")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            prefix = saver.save(sess, str(d / "model.ckpt"), global_step=3)
    return prefix


@pytest.fixture(scope="module")
def tf2_checkpoint(tmp_path_factory):
    """A tf.train.Checkpoint of a module tree: object-graph names."""
    d = tmp_path_factory.mktemp("tf2")
    module = tf.Module()
    module.dense = tf.Module()
    module.dense.kernel = tf.Variable(TF_VALUES["dense/kernel"][1])
    module.dense.bias = tf.Variable(TF_VALUES["emb/half"][1])
    module.steps = tf.Variable(TF_VALUES["counts/i64"][1])
    ckpt = tf.train.Checkpoint(model=module)
    return ckpt.write(str(d / "ckpt"))


def test_tf1_saver_checkpoint_to_safetensors(cli, tf1_checkpoint, tmp_path):
    out = tmp_path / "model.safetensors"
    proc = run(cli, "convert", tf1_checkpoint, out, check=False)
    assert proc.returncode == 1
    assert "Cannot convert tensor 'vocab'" in proc.stderr and "string" in proc.stderr
    assert not out.exists()

    run(cli, "convert", tf1_checkpoint, out, "--skip-unsupported", "--metadata", "format=tf")
    reader = tf.train.load_checkpoint(tf1_checkpoint)
    got = peer_load(out)
    expected_names = set(reader.get_variable_to_shape_map()) - {"vocab"}
    assert set(got) == expected_names
    for name in expected_names:
        assert_same(got[name], np.asarray(reader.get_tensor(name)), name)
    with safetensors.safe_open(str(out), framework="np") as f:
        assert f.metadata() == {"format": "tf"}
    # Names and values equal to what the Saver was given, too.
    for name, (_, value) in TF_VALUES.items():
        assert_same(got[name], np.asarray(value), name)


def test_tf2_object_checkpoint_to_safetensors_strips_attribute_suffix(cli, tf2_checkpoint, tmp_path):
    out = tmp_path / "obj.safetensors"
    run(cli, "convert", tf2_checkpoint, out)
    got = load_file(str(out))
    reader = tf.train.load_checkpoint(tf2_checkpoint)
    suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
    tf_names = [n for n in reader.get_variable_to_shape_map() if n != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert set(got) == {n[: -len(suffix)] for n in tf_names}
    assert set(got) == {"model/dense/kernel", "model/dense/bias", "model/steps"}
    for n in tf_names:
        assert_same(got[n[: -len(suffix)]], np.asarray(reader.get_tensor(n)), n)

    # Rules after the default: prefix and regex, in order.
    out2 = tmp_path / "mapped.safetensors"
    run(cli, "convert", tf2_checkpoint, out2, "--name-map", "prefix:model/=net.",
        "--name-map", r"regex:/=.")
    assert "net.dense.kernel" in load_file(str(out2))


SAFETENSORS_VALUES = {
    "f64": np.array([1.0, -2.5, np.inf]),
    "f32": np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32),
    "f16": np.array([0.5, -65504, np.nan], np.float16),
    "bf16": np.array([[1.0, 3.0e38], [-0.0, 2.0]], ml_dtypes.bfloat16),
    "f8_e4m3": np.array([1.0, -448.0], ml_dtypes.float8_e4m3fn),
    "f8_e5m2": np.array([1.0, 57344.0], ml_dtypes.float8_e5m2),
    "c64": np.array([1 + 2j, -3j], np.complex64),
    "i64": np.array([-(1 << 63), 1 << 40], np.int64),
    "i32": np.array([[1, -2, 3]], np.int32),
    "i16": np.array([-32768, 7], np.int16),
    "i8": np.array([-1], np.int8),
    "u64": np.array([(1 << 64) - 1], np.uint64),
    "u32": np.array([1 << 31], np.uint32),
    "u16": np.array([65535], np.uint16),
    "u8": np.arange(5, dtype=np.uint8),
    "bool": np.array([[True], [False]]),
    "scalar": np.array(3.5, np.float32),
    "empty": np.zeros((0, 3), np.float32),
}


def test_safetensors_file_to_tf_checkpoint(cli, tmp_path):
    src = tmp_path / "peer.safetensors"
    save_file(SAFETENSORS_VALUES, str(src), metadata={"format": "np", "who": "test"})
    dst = tmp_path / "tf" / "model.ckpt"
    run(cli, "convert", src, dst, "--to", "tf")
    reader = tf.train.load_checkpoint(str(dst))
    dtypes = reader.get_variable_to_dtype_map()
    assert set(dtypes) == set(SAFETENSORS_VALUES)
    for name, value in SAFETENSORS_VALUES.items():
        got = np.asarray(reader.get_tensor(name))
        assert dtypes[name].as_numpy_dtype == value.dtype, (name, dtypes[name])
        assert_same(got, value, name)

    # A directory destination gets a state file TensorFlow follows.
    run(cli, "convert", src, str(tmp_path / "dir") + "/")
    assert tf.train.latest_checkpoint(str(tmp_path / "dir")) == str(tmp_path / "dir" / "model.ckpt")
    # And back to safetensors: the same bytes as the peer wrote, tensor by tensor.
    back = tmp_path / "back.safetensors"
    run(cli, "convert", dst, back)
    again = peer_load(back)
    for name, value in SAFETENSORS_VALUES.items():
        assert_same(again[name], value, name)


def test_corrupt_safetensors_is_an_error_not_a_crash(cli, tmp_path):
    src = tmp_path / "peer.safetensors"
    save_file({"w": np.ones((4,), np.float32)}, str(src))
    data = src.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[:-3])
    proc = run(cli, "convert", cut, tmp_path / "x", "--to", "tf", check=False)
    assert proc.returncode == 1
    assert "DATA_LOSS" in proc.stderr and "cut.safetensors" in proc.stderr
    assert not (tmp_path / "x.index").exists()


DIFF_CASES = [
    # (b = a + delta at element 0, atol, rtol)
    (1e-9, 1e-8, 1e-5),
    (1e-3, 1e-8, 1e-5),
    (1e-3, 2e-3, 0.0),
    (0.5, 0.0, 0.3),
    (0.5, 0.0, 0.2),
    (np.inf, 1.0, 1.0),
]


@pytest.mark.parametrize("delta,atol,rtol", DIFF_CASES)
def test_diff_agrees_with_numpy_allclose(cli, tmp_path, delta, atol, rtol):
    rng = np.random.default_rng(3)
    a = {"x": rng.uniform(1, 2, (3, 4)).astype(np.float64), "y": np.arange(6, dtype=np.int32)}
    b = {k: v.copy() for k, v in a.items()}
    b["x"][0, 0] += delta
    save_file(a, str(tmp_path / "a.safetensors"))
    save_file(b, str(tmp_path / "b.safetensors"))
    proc = run(cli, "diff", tmp_path / "a.safetensors", tmp_path / "b.safetensors",
               "--atol", repr(atol), "--rtol", repr(rtol), check=False)
    equal = all(np.allclose(a[k], b[k], rtol=rtol, atol=atol) for k in a)
    assert proc.returncode == (0 if equal else 1), proc.stdout + proc.stderr
    if not equal:
        assert "values differ: x: 1 of 12 elements" in proc.stdout
        abs_diff = float(np.max(np.abs(a["x"] - b["x"])))
        assert f"max abs diff {abs_diff:g}" in proc.stdout


def test_diff_across_formats(cli, tf1_checkpoint, tmp_path):
    out = tmp_path / "m.safetensors"
    run(cli, "convert", tf1_checkpoint, out, "--skip-unsupported")
    proc = run(cli, "diff", tf1_checkpoint, out, check=False)
    assert proc.returncode == 1
    assert "only in A: vocab (string) []" in proc.stdout
    assert f"{len(TF_VALUES)} tensors equal, 1 differ" in proc.stdout
    # The same values with one changed, written by the peer.
    values = peer_load(out)
    values["dense/kernel"] = values["dense/kernel"] * 2
    save_file(values, str(tmp_path / "changed.safetensors"))
    proc = run(cli, "diff", out, tmp_path / "changed.safetensors", check=False)
    assert proc.returncode == 1
    assert proc.stdout.count("values differ") == 1 and "dense/kernel" in proc.stdout
    proc = run(cli, "diff", out, tmp_path / "missing.safetensors", check=False)
    assert proc.returncode == 2
