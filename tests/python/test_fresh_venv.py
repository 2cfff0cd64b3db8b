"""The user's install command in a new venv without TensorFlow:
`python -m pip install <repo>` (an isolated build, as users run it), then
reading a checkpoint TensorFlow wrote and converting one into files that
safetensors and Keras 3 (in this process) load. The venv lives in
build/pip/fresh-venv and is reinstalled only when the sources changed (a
stamp of their sizes and times), so reruns cost a second; the isolated build
shares pyproject.toml's build-dir with scripts/test.sh's install."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCES = ("CMakeLists.txt", "pyproject.toml", "python", "src", "include", "proto", "cmake")


def source_stamp():
    h = hashlib.sha256()
    for top in SOURCES:
        path = os.path.join(ROOT, top)
        walk = [(ROOT, [], [top])] if os.path.isfile(path) else os.walk(path)
        for dirpath, dirnames, filenames in walk:
            dirnames.sort()
            for name in sorted(filenames):
                st = os.stat(os.path.join(dirpath, name))
                h.update(("%s %d %d\n" % (os.path.join(dirpath, name), st.st_size,
                                          st.st_mtime_ns)).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def fresh_python():
    venv = os.path.join(ROOT, "build", "pip", "fresh-venv")
    python = os.path.join(venv, "bin", "python")
    stamp_file = os.path.join(venv, "ckpt-source-stamp")
    stamp = source_stamp()
    if not os.path.exists(stamp_file) or open(stamp_file).read() != stamp:
        if not os.path.exists(python):
            subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
        # pyproject.toml's build-dir, which scripts/test.sh's install has
        # filled: the isolated build recompiles nanobind and the module, not
        # the library.
        subprocess.run([python, "-m", "pip", "install", "-q", "--force-reinstall", ROOT, "numpy"],
                       check=True, cwd=ROOT)
        with open(stamp_file, "w") as f:
            f.write(stamp)
    return python


@pytest.mark.fresh_venv
def test_fresh_venv_reads_tf_checkpoint(tf, fresh_python, tmp_path):
    v = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    path = tf.train.Checkpoint(v=v).save(str(tmp_path / "tf"))
    script = (
        "import sys, ckpt, importlib.util\n"
        "assert importlib.util.find_spec('tensorflow') is None, 'TensorFlow is installed'\n"
        "r = ckpt.load_checkpoint(sys.argv[1])\n"
        "print(ckpt.__version__, r.get_tensor('v/.ATTRIBUTES/VARIABLE_VALUE').sum())\n")
    out = subprocess.run([fresh_python, "-c", script, str(tmp_path)], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [__import__("ckpt").__version__, "15.0"]


def run_fresh(python, script, *args):
    """Runs `script` in the fresh venv, which must not have TensorFlow."""
    script = ("import importlib.util\n"
              "assert importlib.util.find_spec('tensorflow') is None, 'TensorFlow is installed'\n"
              + script)
    proc = subprocess.run([python, "-c", script, *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.fresh_venv
def test_fresh_venv_converts_tf_checkpoint_to_safetensors(tf, fresh_python, tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    net = tf.Module()
    net.w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    net.b = tf.Variable(np.array([-1, 2], np.int64))
    prefix = tf.train.Checkpoint(net=net).save(str(tmp_path / "tf"))
    run_fresh(fresh_python, "import sys, ckpt\nckpt.convert(sys.argv[1], sys.argv[2])\n",
              prefix, tmp_path / "out.safetensors")
    got = safetensors_numpy.load_file(str(tmp_path / "out.safetensors"))
    assert sorted(got) == ["net/b", "net/w", "save_counter"]
    for name, variable in (("net/w", net.w), ("net/b", net.b)):
        assert got[name].dtype == variable.numpy().dtype
        np.testing.assert_array_equal(got[name], variable.numpy())


@pytest.mark.fresh_venv
def test_fresh_venv_converts_tf_checkpoint_to_keras_weights(tf, fresh_python, tmp_path):
    keras = pytest.importorskip("keras")

    def model(seed=None):
        keras.backend.clear_session()  # the same layer names in every build
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
        if seed is not None:
            rng = np.random.default_rng(seed)
            m.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                           for w in m.get_weights()])
        return m

    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    trained = model(seed=3)
    want = trained(x, training=False).numpy()
    prefix = tf.train.Checkpoint(model=trained).save(str(tmp_path / "tf"))
    target = model()
    target.save_weights(str(tmp_path / "template.weights.h5"))
    assert not np.array_equal(target(x, training=False).numpy(), want)

    run_fresh(fresh_python,
              "import sys, ckpt\n"
              "ckpt.convert(sys.argv[1], sys.argv[2], keras_template=sys.argv[3])\n",
              prefix, tmp_path / "out.weights.h5", tmp_path / "template.weights.h5")
    target.load_weights(str(tmp_path / "out.weights.h5"))
    np.testing.assert_array_equal(target(x, training=False).numpy(), want)
