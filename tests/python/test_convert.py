"""ckpt.convert against the real peers: checkpoints TensorFlow wrote read
back by safetensors, safetensors files read back by TensorFlow, and Keras 3
.weights.h5 files loaded by Keras (include/ckpt/convert.h, docs/python.md)."""

import os

import numpy as np
import pytest

safetensors_numpy = pytest.importorskip("safetensors.numpy")

RNG = np.random.default_rng(11)
OBJECT_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def tf_tensors(tf, path):
    """name -> array of every tensor TensorFlow reads from `path`, without
    an object checkpoint's object graph."""
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def assert_same_tensors(got, want):
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        assert got[name].dtype == value.dtype, name
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_tf1_saver_checkpoint_to_safetensors(tf, ckpt, tmp_path):
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        values = {
            "dense/kernel": RNG.standard_normal((3, 4)).astype(np.float32),
            "dense/bias": RNG.standard_normal(4).astype(np.float16),
            "global_step": np.array(42, np.int64),
            "embed/table": RNG.integers(-100, 100, (5, 2)).astype(np.int32),
            "mask": RNG.random(6) > 0.5,
        }
        variables = [tf.compat.v1.Variable(v, name=n) for n, v in values.items()]
        sess.run(tf.compat.v1.global_variables_initializer())
        prefix = tf.compat.v1.train.Saver(variables).save(sess, str(tmp_path / "model"),
                                                          write_meta_graph=False)
    out = tmp_path / "model.safetensors"
    result = ckpt.convert(prefix, out, metadata={"format": "pt"})
    assert result.destination == str(out)
    assert result.written == {name: name for name in values}
    assert result.skipped == {}
    assert_same_tensors(safetensors_numpy.load_file(str(out)), tf_tensors(tf, prefix))
    with open(out, "rb") as f:
        assert b'"__metadata__":{"format":"pt"}' in f.read(4096)


def test_object_checkpoint_to_safetensors_strips_suffix(tf, ckpt, tmp_path):
    net = tf.Module()
    net.w = tf.Variable(RNG.standard_normal((2, 3)).astype(np.float32))
    net.b = tf.Variable(RNG.standard_normal(3).astype(np.float64))
    step = tf.Variable(np.int64(7))
    prefix = tf.train.Checkpoint(net=net, step=step).save(str(tmp_path / "ckpt"))
    want = {name[:-len(OBJECT_SUFFIX)]: value for name, value in tf_tensors(tf, prefix).items()}
    assert "net/w" in want and "step" in want

    result = ckpt.convert(tmp_path, tmp_path / "out.safetensors")  # the directory's newest
    assert_same_tensors(safetensors_numpy.load_file(str(tmp_path / "out.safetensors")), want)
    assert result.written == {name + OBJECT_SUFFIX: name for name in want}

    # Rules run after the default strip; without it names stay whole.
    ckpt.convert(prefix, tmp_path / "renamed.safetensors", name_map=["prefix:net/=model."])
    assert "model.w" in safetensors_numpy.load_file(str(tmp_path / "renamed.safetensors"))
    ckpt.convert(prefix, tmp_path / "whole.safetensors", default_name_map=False)
    assert "net/w" + OBJECT_SUFFIX in safetensors_numpy.load_file(
        str(tmp_path / "whole.safetensors"))


def test_safetensors_to_tf_checkpoint(tf, ckpt, tmp_path):
    values = {
        "layer.0.weight": RNG.standard_normal((4, 3)).astype(np.float32),
        "layer.0.bias": RNG.standard_normal(4).astype(np.float64),
        "ids": RNG.integers(-2**40, 2**40, 5).astype(np.int64),
        "bytes": RNG.integers(0, 255, (2, 2)).astype(np.uint8),
        "half": RNG.standard_normal(3).astype(np.float16),
        "flags": RNG.random(4) > 0.5,
        "scalar": np.array(3, np.int8),
    }
    src = tmp_path / "in.safetensors"
    safetensors_numpy.save_file(values, str(src))
    out_dir = tmp_path / "tf"
    out_dir.mkdir()
    result = ckpt.convert(src, out_dir / "model", to="tf", state_file=True)
    assert result.destination == str(out_dir / "model")
    assert_same_tensors(tf_tensors(tf, str(out_dir / "model")), values)
    assert tf.train.latest_checkpoint(str(out_dir)) == str(out_dir / "model")

    # Explicit formats win over the names: a safetensors file by any name.
    os.rename(src, tmp_path / "weights.bin")
    ckpt.convert(tmp_path / "weights.bin", tmp_path / "again", from_format="safetensors", to="tf")
    assert_same_tensors(tf_tensors(tf, str(tmp_path / "again")), values)


def test_string_tensor_to_safetensors(tf, ckpt, tmp_path):
    prefix = ckpt.save(tmp_path / "m", {"text": np.array([b"a", b"b"], dtype=object),
                                        "x": np.ones(2, np.float32)})
    with pytest.raises(ckpt.InvalidArgumentError, match="text"):
        ckpt.convert(prefix, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()
    result = ckpt.convert(prefix, tmp_path / "out.safetensors", skip_unsupported=True)
    assert list(result.skipped) == ["text"] and result.written == {"x": "x"}
    assert list(safetensors_numpy.load_file(str(tmp_path / "out.safetensors"))) == ["x"]


# Keras 3 -------------------------------------------------------------------

def keras_model(keras, seed=None):
    """Dense + BatchNormalization; with a seed, weights (and BatchNormalization
    statistics) drawn from it. Names restart, so that every build gets the
    same layer names, as two runs of one program do (layers match by name)."""
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    if seed is not None:
        rng = np.random.default_rng(seed)
        model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                           for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


X = RNG.standard_normal((3, 5)).astype(np.float32)


def test_object_checkpoint_to_keras_weights(tf, ckpt, keras, tmp_path):
    model = keras_model(keras, seed=1)
    want = model(X, training=False).numpy()
    prefix = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    target = keras_model(keras)
    target.save_weights(str(tmp_path / "template.weights.h5"))
    assert not np.array_equal(target(X, training=False).numpy(), want)

    result = ckpt.convert(prefix, tmp_path / "out.weights.h5",
                          keras_template=tmp_path / "template.weights.h5")
    assert result.destination == str(tmp_path / "out.weights.h5")
    target.load_weights(str(tmp_path / "out.weights.h5"))
    np.testing.assert_array_equal(target(X, training=False).numpy(), want)


def test_keras_weights_to_object_checkpoint(tf, ckpt, keras, tmp_path):
    model = keras_model(keras, seed=2)
    want = model(X, training=False).numpy()
    model.save_weights(str(tmp_path / "model.weights.h5"))
    template = tf.train.Checkpoint(model=keras_model(keras)).save(str(tmp_path / "template"))

    ckpt.convert(tmp_path / "model.weights.h5", tmp_path / "out", to="tf",
                 keras_template=template)
    restored = keras_model(keras)
    tf.train.Checkpoint(model=restored).restore(
        str(tmp_path / "out")).assert_existing_objects_matched()
    np.testing.assert_array_equal(restored(X, training=False).numpy(), want)


def test_keras_weights_to_safetensors(ckpt, keras, tmp_path):
    """A weights file reads as plain tensors named by their HDF5 paths, as
    h5py (Keras's own reader) lists them."""
    h5py = pytest.importorskip("h5py")
    keras_model(keras, seed=3).save_weights(str(tmp_path / "model.weights.h5"))
    want = {}
    with h5py.File(tmp_path / "model.weights.h5", "r") as f:
        f.visititems(lambda name, obj: want.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    assert len(want) == len(keras_model(keras).weights)

    result = ckpt.convert(tmp_path / "model.weights.h5", tmp_path / "out.safetensors")
    assert result.written == {name: name for name in want}
    assert_same_tensors(safetensors_numpy.load_file(str(tmp_path / "out.safetensors")), want)


# Errors --------------------------------------------------------------------

def test_missing_source_is_not_found(ckpt, tmp_path):
    with pytest.raises(ckpt.NotFoundError, match="nope"):
        ckpt.convert(tmp_path / "nope", tmp_path / "out.safetensors")
    with pytest.raises(FileNotFoundError):
        ckpt.convert(tmp_path / "nope.safetensors", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_keras_without_template_is_invalid(tf, ckpt, tmp_path):
    prefix = tf.train.Checkpoint(v=tf.Variable(np.ones(2, np.float32))).save(
        str(tmp_path / "ckpt"))
    with pytest.raises(ckpt.InvalidArgumentError, match="template"):
        ckpt.convert(prefix, tmp_path / "out.weights.h5")
    assert not (tmp_path / "out.weights.h5").exists()


def test_bad_arguments_are_invalid(ckpt, tmp_path):
    prefix = ckpt.save(tmp_path / "m", {"a/x": np.ones(2, np.float32),
                                        "b/x": np.zeros(2, np.float32)})
    out = tmp_path / "out.safetensors"
    with pytest.raises(ckpt.InvalidArgumentError, match="pytorch"):
        ckpt.convert(prefix, out, to="pytorch")
    with pytest.raises(ckpt.InvalidArgumentError, match="rename:a"):
        ckpt.convert(prefix, out, name_map=["rename:a"])
    # Two names mapped to one: both named, nothing written.
    with pytest.raises(ckpt.InvalidArgumentError, match="a/x.*b/x|b/x.*a/x"):
        ckpt.convert(prefix, out, name_map="regex:^[ab]/=")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.data-00000-of-00001", "m.index"]
