"""Checkpoints of AsyncDistributedSaver (ckpt/distributed.h) read by TensorFlow.

tests/mpi/mpi_async_tool runs its training loop under `mpirun -np 2`: saves
every 5th of 30 steps in the background (max_to_keep 3) while the training
thread does its own AllGather every step, then one save to the end at step 31.
TensorFlow must find the same checkpoints in the state file and read every
value of each bit for bit, `emb` as one variable of both ranks' rows.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, tf

TOOL = BUILD_DIR / "tests" / "mpi" / "mpi_async_tool"
RANKS = 2
ROWS, COLS, W, BIAS = 256, 1024, 1000, 16  # per rank, as in the tool
MPIRUN = shutil.which("mpirun")

pytestmark = [
    pytest.mark.skipif(MPIRUN is None, reason="mpirun not found (Open MPI not installed)"),
    pytest.mark.skipif(not TOOL.exists(), reason=f"mpi_async_tool not built at {TOOL}"),
]


def expected(step):
    """Every variable at `step`, computed as the tool computes it."""
    f32 = np.float32
    want = {
        "emb": (f32(step) * f32(0.5) +
                np.arange(ROWS * RANKS * COLS).astype(f32) * f32(1e-3)).reshape(ROWS * RANKS, COLS),
        "bias": f32(step) * f32(0.25) - np.arange(BIAS).astype(f32),
    }
    for r in range(RANKS):
        want[f"w_{r}"] = step + r * 1e-7 + np.arange(W) / 3.0
    return want


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The directory the tool trained and saved into at RANKS ranks."""
    out = tmp_path_factory.mktemp("async_distributed")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl="self,vader", OMPI_MCA_btl_vader_single_copy_mechanism="none")
    proc = subprocess.run(
        [MPIRUN, "-np", str(RANKS), "--oversubscribe", str(TOOL), "train", str(out)],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, f"mpi_async_tool failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_state_file_lists_the_kept_checkpoints(model_dir):
    state = tf.train.get_checkpoint_state(str(model_dir))
    assert state.model_checkpoint_path == str(model_dir / "model-31")
    assert list(state.all_model_checkpoint_paths) == [
        str(model_dir / f"model-{s}") for s in (25, 30, 31)]


@pytest.mark.parametrize("step", [25, 30, 31])
def test_every_value_is_its_steps_bit_for_bit(model_dir, step):
    reader = tf.train.load_checkpoint(str(model_dir / f"model-{step}"))
    want = expected(step)
    assert sorted(reader.get_variable_to_shape_map()) == sorted(want)
    for key, value in want.items():
        got = reader.get_tensor(key)
        assert got.dtype == value.dtype, key
        assert got.shape == value.shape, key
        assert got.tobytes() == value.tobytes(), (key, step)
