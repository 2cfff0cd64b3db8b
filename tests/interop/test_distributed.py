"""A distributed checkpoint (ckpt/distributed.h) read by TensorFlow.

tests/mpi/mpi_save_tool runs under `mpirun -np 3`: each rank writes its own
data shard of one checkpoint (rows of a partitioned `emb`, a replicated
`bias`, its own `w_<r>`, an int64 and a float64 variable). TensorFlow must
read every value bit-exactly, list `emb` as one [10, 4] variable, and a TF1
graph with `emb` partitioned its own way must restore it through
tf.compat.v1.train.Saver.
"""

import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, tf

TOOL = BUILD_DIR / "tests" / "mpi" / "mpi_save_tool"
RANKS = 3
MPIRUN = shutil.which("mpirun")

pytestmark = [
    pytest.mark.skipif(MPIRUN is None, reason="mpirun not found (Open MPI not installed)"),
    pytest.mark.skipif(not TOOL.exists(), reason=f"mpi_save_tool not built at {TOOL}"),
]


def expected():
    """Every key the tool writes at RANKS ranks, as numpy arrays."""
    want = {
        "emb": np.arange(40, dtype=np.float32).reshape(10, 4),
        "bias": np.array([1, 2, 3], dtype=np.float32),
        "step": np.array(1234567890123, dtype=np.int64),
        "scale": (np.arange(6, dtype=np.float64) * 0.1 + 1.0 / 3.0).reshape(2, 3),
    }
    for r in range(RANKS):
        want[f"w_{r}"] = np.full((2, 2), r, dtype=np.float32)
    return want


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """The checkpoint prefix the tool wrote at RANKS ranks."""
    out = tmp_path_factory.mktemp("distributed") / "model"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl="self,vader", OMPI_MCA_btl_vader_single_copy_mechanism="none")
    proc = subprocess.run(
        [MPIRUN, "-np", str(RANKS), "--oversubscribe", str(TOOL), str(out)],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, f"mpi_save_tool failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_files_are_one_index_and_a_data_shard_per_rank(prefix):
    names = sorted(p.name for p in prefix.parent.iterdir())
    want = ["model.index"] + [f"model.data-{r:05d}-of-{RANKS:05d}" for r in range(RANKS)]
    assert names == sorted(want)


def test_load_checkpoint_reads_every_key_bit_exactly(prefix):
    reader = tf.train.load_checkpoint(str(prefix))
    want = expected()
    shapes = reader.get_variable_to_shape_map()
    assert sorted(shapes) == sorted(want)
    for key, value in want.items():
        got = reader.get_tensor(key)
        assert got.dtype == value.dtype, key
        assert got.shape == value.shape, key
        assert got.tobytes() == value.tobytes(), key


def test_list_variables_lists_emb_whole(prefix):
    listed = dict(tf.train.list_variables(str(prefix)))
    want = expected()
    assert listed == {k: list(v.shape) for k, v in want.items()}
    assert listed["emb"] == [10, 4]


def test_tf1_saver_restores_a_partitioned_variable(prefix):
    want = expected()
    graph = tf.Graph()
    with graph.as_default():
        emb = tf.compat.v1.get_variable(
            "emb", shape=[10, 4], dtype=tf.float32,
            initializer=tf.compat.v1.zeros_initializer(),
            partitioner=tf.compat.v1.fixed_size_partitioner(2))
        bias = tf.compat.v1.get_variable(
            "bias", shape=[3], dtype=tf.float32, initializer=tf.compat.v1.zeros_initializer())
        step = tf.compat.v1.get_variable(
            "step", shape=[], dtype=tf.int64, initializer=tf.compat.v1.zeros_initializer())
        scale = tf.compat.v1.get_variable(
            "scale", shape=[2, 3], dtype=tf.float64,
            initializer=tf.compat.v1.zeros_initializer())
        parts = list(emb)
        assert [p.shape.as_list() for p in parts] == [[5, 4], [5, 4]]
        saver = tf.compat.v1.train.Saver([emb, bias, step, scale])
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            assert not sess.run(emb.as_tensor()).any()
            saver.restore(sess, str(prefix))
            got_parts = sess.run(parts)
            got_emb, got_bias, got_step, got_scale = sess.run(
                [emb.as_tensor(), bias, step, scale])
    assert got_parts[0].tobytes() == want["emb"][:5].tobytes()
    assert got_parts[1].tobytes() == want["emb"][5:].tobytes()
    assert got_emb.tobytes() == want["emb"].tobytes()
    assert got_bias.tobytes() == want["bias"].tobytes()
    assert got_step == want["step"]
    assert got_scale.tobytes() == want["scale"].tobytes()
