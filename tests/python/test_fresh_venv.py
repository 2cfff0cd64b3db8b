"""The user's install command in a new venv without TensorFlow:
`python -m pip install <repo>` (an isolated build, as users run it), then
reading a checkpoint TensorFlow wrote. The venv lives in
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
