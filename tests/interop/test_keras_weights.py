"""Keras 3 `.weights.h5` <-> TF2 object checkpoints (`ckpt convert`).

Both directions against real Keras 3 (TF backend): a model's TF checkpoint
converted by ckpt must load with `model.load_weights` into a fresh model and
reproduce the original's outputs (and optimizer variables) exactly; a file
written by `model.save_weights` converted by ckpt must restore with
`tf.train.Checkpoint(model=fresh).restore(...)` and do the same. Templates
always come from a fresh model (other values than the ones converted), so a
conversion that copied the template instead of the source would fail.
docs/format/keras_weights.md describes the correspondence.
"""

import subprocess

import numpy as np
import pytest

from conftest import tf

keras = tf.keras
RNG = np.random.default_rng(7)


def conv_bn_sequential():
    return keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.Conv2D(3, 3),
        keras.layers.BatchNormalization(),
        keras.layers.Flatten(),
        keras.layers.Dense(4),
    ])


def embedding_lstm_functional():
    """Functional, with Embedding, LSTM and a nested Sequential model."""
    inputs = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(11, 4)(inputs)
    h = keras.layers.LSTM(3)(h)
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2)], name="inner")
    return keras.Model(inputs, inner(h))


MODELS = {
    "sequential_conv_bn": (conv_bn_sequential,
                           lambda: RNG.random((4, 6, 6, 2), dtype=np.float32), (4, 4)),
    "functional_embedding_lstm_nested": (embedding_lstm_functional,
                                         lambda: RNG.integers(0, 11, (4, 5)).astype(np.int32),
                                         (4, 2)),
}


def build(name, trained, x):
    """A model built from scratch; `trained`: compiled with Adam and fit one
    step (so the optimizer has state and BatchNormalization moved its
    statistics). Names restart so that two builds get the same layer names,
    as two runs of the same program do (layers are matched by name)."""
    keras.backend.clear_session()
    make, _, out_shape = MODELS[name]
    model = make()
    if trained:
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
        y = RNG.random(out_shape, dtype=np.float32)
        model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    return model


def fresh(name, trained):
    """A fresh model of the same architecture; with an optimizer built (no
    step taken) when `trained`."""
    keras.backend.clear_session()
    model = MODELS[name][0]()
    if trained:
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
        model.optimizer.build(model.trainable_variables)
    return model


def outputs(model, x):
    return model(x, training=False).numpy()


def optimizer_values(model):
    return [v.numpy() for v in model.optimizer.variables]


def checkpoint(model, trained):
    if trained:
        return tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    return tf.train.Checkpoint(model=model)


def convert(cli, *args):
    proc = subprocess.run([str(cli), "convert", *map(str, args)],
                          capture_output=True, text=True)
    return proc


CASES = [(name, trained) for name in MODELS for trained in (False, True)]
IDS = [f"{n}-{'trained' if t else 'untrained'}" for n, t in CASES]


@pytest.mark.parametrize("name,trained", CASES, ids=IDS)
def test_checkpoint_to_weights_h5(cli, tmp_path, name, trained):
    x = MODELS[name][1]()
    model = build(name, trained, x)
    want = outputs(model, x)
    want_opt = optimizer_values(model) if trained else None
    checkpoint(model, trained).write(str(tmp_path / "ckpt"))

    target = fresh(name, trained)
    target.save_weights(str(tmp_path / "template.weights.h5"))
    assert not np.array_equal(outputs(target, x), want)

    proc = convert(cli, tmp_path / "ckpt", tmp_path / "out.weights.h5",
                   "--template", tmp_path / "template.weights.h5")
    assert proc.returncode == 0, proc.stderr
    target.load_weights(str(tmp_path / "out.weights.h5"))
    np.testing.assert_array_equal(outputs(target, x), want)
    if trained:
        got_opt = optimizer_values(target)
        assert len(got_opt) == len(want_opt)
        for got, expected in zip(got_opt, want_opt):
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name,trained", CASES, ids=IDS)
def test_weights_h5_to_checkpoint(cli, tmp_path, name, trained):
    x = MODELS[name][1]()
    model = build(name, trained, x)
    want = outputs(model, x)
    want_opt = optimizer_values(model) if trained else None
    model.save_weights(str(tmp_path / "model.weights.h5"))

    target = fresh(name, trained)
    # save(), not write(): the checkpoint restoring the output has a
    # save_counter, which only save() puts into the template.
    template = checkpoint(target, trained).save(str(tmp_path / "template"))
    assert not np.array_equal(outputs(target, x), want)

    proc = convert(cli, tmp_path / "model.weights.h5", tmp_path / "out",
                   "--template", template)
    assert proc.returncode == 0, proc.stderr
    restored = fresh(name, trained)
    checkpoint(restored, trained).restore(str(tmp_path / "out")).assert_existing_objects_matched()
    np.testing.assert_array_equal(outputs(restored, x), want)
    if trained:
        for got, expected in zip(optimizer_values(restored), want_opt, strict=True):
            np.testing.assert_array_equal(got, expected)


def test_other_architecture_is_refused(cli, tmp_path):
    """A template of another model: exit 1 naming the group that has no
    counterpart, and no output file."""
    x = MODELS["sequential_conv_bn"][1]()
    model = build("sequential_conv_bn", False, x)
    checkpoint(model, False).write(str(tmp_path / "ckpt"))
    other = fresh("functional_embedding_lstm_nested", False)
    other.save_weights(str(tmp_path / "other.weights.h5"))

    proc = convert(cli, tmp_path / "ckpt", tmp_path / "out.weights.h5",
                   "--template", tmp_path / "other.weights.h5")
    assert proc.returncode == 1
    assert "other.weights.h5" in proc.stderr and "embedding" in proc.stderr, proc.stderr
    assert not (tmp_path / "out.weights.h5").exists()
    assert [p.name for p in tmp_path.iterdir() if ".ckpt-tmp." in p.name] == []


def test_corrupt_h5_is_an_error(cli, tmp_path):
    x = MODELS["sequential_conv_bn"][1]()
    model = build("sequential_conv_bn", False, x)
    model.save_weights(str(tmp_path / "m.weights.h5"))
    checkpoint(model, False).write(str(tmp_path / "template"))
    data = (tmp_path / "m.weights.h5").read_bytes()
    (tmp_path / "cut.weights.h5").write_bytes(data[: len(data) // 2])
    proc = convert(cli, tmp_path / "cut.weights.h5", tmp_path / "out",
                   "--template", tmp_path / "template")
    assert proc.returncode == 1
    assert "cut.weights.h5" in proc.stderr, proc.stderr
    assert not (tmp_path / "out.index").exists()
