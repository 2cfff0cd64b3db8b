"""ckpt.save / ckpt.load_checkpoint against TensorFlow's own reader and
writers: every dtype, a seeded random corpus, TF1 Savers (V1, V2) and TF2
object checkpoints."""

import numpy as np
import pytest

ml_dtypes = pytest.importorskip("ml_dtypes")

# (ckpt/TF dtype name, numpy dtype).
DTYPES = [
    ("float", np.float32), ("double", np.float64), ("half", np.float16),
    ("bfloat16", ml_dtypes.bfloat16), ("int8", np.int8), ("int16", np.int16),
    ("int32", np.int32), ("int64", np.int64), ("uint8", np.uint8), ("uint16", np.uint16),
    ("uint32", np.uint32), ("uint64", np.uint64), ("complex64", np.complex64),
    ("complex128", np.complex128), ("bool", np.bool_), ("string", object),
    ("float8_e5m2", ml_dtypes.float8_e5m2), ("float8_e4m3fn", ml_dtypes.float8_e4m3fn),
    ("int4", ml_dtypes.int4), ("uint4", ml_dtypes.uint4),
]


def random_array(rng, np_dtype, shape):
    n = int(np.prod(shape))
    if np_dtype is object:
        return np.array([bytes(rng.integers(0, 256, rng.integers(0, 20), dtype=np.uint8))
                         for _ in range(n)], dtype=object).reshape(shape)
    d = np.dtype(np_dtype)
    if d == np.bool_:
        return rng.integers(0, 2, n).astype(bool).reshape(shape)
    if d.kind == "c":
        return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(d).reshape(shape)
    if d.name in ("int4", "uint4"):
        info = ml_dtypes.iinfo(d)
        return rng.integers(int(info.min), int(info.max), n, endpoint=True).astype(d).reshape(shape)
    if d.kind in "iu":
        return rng.integers(0, 256, n * d.itemsize, dtype=np.uint8).view(d).reshape(shape)
    return (rng.standard_normal(n) * 4).astype(d).reshape(shape)


def assert_same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    if a.dtype == object or b.dtype == object:
        assert [bytes(x) for x in a.reshape(-1)] == [bytes(x) for x in b.reshape(-1)]
    else:
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        assert a.tobytes() == b.tobytes()


def tf_dtype_name(name):
    return {"float": "float32", "double": "float64", "half": "float16"}.get(name, name)


@pytest.mark.parametrize("name,np_dtype", DTYPES, ids=[d[0] for d in DTYPES])
def test_every_dtype_ckpt_writes_tf_reads(tf, ckpt, tmp_path, name, np_dtype):
    rng = np.random.default_rng(1)
    values = {"scalar": random_array(rng, np_dtype, ()),
              "matrix": random_array(rng, np_dtype, (3, 5)),
              "empty": random_array(rng, np_dtype, (0, 2))}
    prefix = ckpt.save(str(tmp_path / "model"), values)
    reader = tf.train.load_checkpoint(prefix)
    ours = ckpt.load_checkpoint(prefix)
    for key, value in values.items():
        assert reader.get_variable_to_dtype_map()[key].name == tf_dtype_name(name)
        assert ours.get_variable_to_dtype_map()[key] == name
        assert_same(reader.get_tensor(key), value)
        assert_same(ours.get_tensor(key), value)
        assert ours.get_variable_to_shape_map()[key] == list(value.shape)


@pytest.mark.parametrize("name,np_dtype", DTYPES, ids=[d[0] for d in DTYPES])
def test_every_dtype_tf_writes_ckpt_reads(tf, ckpt, tmp_path, name, np_dtype):
    rng = np.random.default_rng(2)
    value = random_array(rng, np_dtype, (4, 3))
    prefix = str(tmp_path / "tf")
    try:
        tensor = tf.constant(value) if np_dtype is not object else tf.constant(list(value.reshape(-1)), shape=(4, 3))
        tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["x"], shape_and_slices=[""],
                          tensors=[tensor])
    except (TypeError, ValueError, tf.errors.OpError) as e:
        pytest.skip("TensorFlow cannot write %s: %s" % (name, str(e).splitlines()[0]))
    assert_same(ckpt.load_checkpoint(prefix).get_tensor("x"),
                tf.train.load_checkpoint(prefix).get_tensor("x"))


def test_random_corpus(tf, ckpt, tmp_path):
    rng = np.random.default_rng(12345)
    alphabet = list("abcxyz_/.-0129") + ["\u00e9", "\u4e2d"]
    values = {}
    while len(values) < 60:
        name = "".join(rng.choice(alphabet, rng.integers(1, 12)))
        shape = tuple(int(d) for d in rng.integers(0, 5, rng.integers(0, 4)))
        _, np_dtype = DTYPES[rng.integers(0, len(DTYPES))]
        values[name] = random_array(rng, np_dtype, shape)
    prefix = ckpt.save(str(tmp_path / "corpus"), values)
    reader = tf.train.load_checkpoint(prefix)
    assert sorted(reader.get_variable_to_shape_map()) == sorted(values)
    assert ckpt.list_variables(prefix) == [(n, list(s)) for n, s in tf.train.list_variables(prefix)]
    ours = ckpt.load_checkpoint(prefix, mmap=True)
    for key, value in values.items():
        assert_same(reader.get_tensor(key), value)
        assert_same(ours.get_tensor(key), value)


def test_tf1_savers_v1_and_v2(tf, ckpt, tmp_path):
    rng = np.random.default_rng(3)
    values = {"dense/kernel": rng.standard_normal((3, 4)).astype(np.float32),
              "global_step": np.int64(77), "tokens": np.array([b"a", b"bc"], dtype=object),
              "flags": np.array([True, False])}  # (TF's V1 reader has no half)
    for version, fmt in ((tf.compat.v1.train.SaverDef.V1, "V1"),
                         (tf.compat.v1.train.SaverDef.V2, "V2")):
        (tmp_path / fmt).mkdir()
        with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
            variables = [tf.compat.v1.Variable(v, name=k) for k, v in values.items()]
            sess.run(tf.compat.v1.global_variables_initializer())
            saver = tf.compat.v1.train.Saver(variables, write_version=version)
            prefix = saver.save(sess, str(tmp_path / fmt / "model"), global_step=5)
        assert ckpt.latest_checkpoint(tmp_path / fmt) == tf.train.latest_checkpoint(str(tmp_path / fmt))
        ours = ckpt.load_checkpoint(tmp_path / fmt)
        assert ours.format == fmt
        tf_reader = tf.train.load_checkpoint(prefix)
        assert ours.get_variable_to_shape_map() == tf_reader.get_variable_to_shape_map()
        for key in values:
            assert_same(ours.get_tensor(key), tf_reader.get_tensor(key))
            assert_same(ckpt.load_variable(prefix, key + ":0"), values[key])


def test_tf2_object_checkpoint(tf, ckpt, tmp_path):
    rng = np.random.default_rng(4)
    model = tf.Module()
    model.w = tf.Variable(rng.standard_normal((2, 3)).astype(np.float32))
    model.b = tf.Variable(tf.constant([1, 2], tf.bfloat16))
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "obj"))
    tf_reader = tf.train.load_checkpoint(path)
    ours = ckpt.load_checkpoint(tmp_path)
    assert ours.prefix == path
    assert ckpt.list_variables(path) == [(n, list(s)) for n, s in tf.train.list_variables(path)]
    for key in tf_reader.get_variable_to_shape_map():
        assert_same(ours.get_tensor(key), tf_reader.get_tensor(key))


def test_save_state_file(tf, ckpt, tmp_path):
    ckpt.save(tmp_path / "a", {"x": np.zeros(2)}, state_file=True)
    ckpt.save(tmp_path / "b", {"x": np.ones(2)}, state_file=True)
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "b")
    assert ckpt.latest_checkpoint(tmp_path) == str(tmp_path / "b")
    assert ckpt.latest_checkpoint(tmp_path / "missing") is None
    assert tf.train.latest_checkpoint(str(tmp_path / "missing")) is None
