"""Data-parallel training (EstimatorOptions::communicator) of the guide's
premade_estimator under mpirun, read by TensorFlow.

premade_estimator trains 3 ranks for 60 steps into one model_dir, then a job
of 2 ranks resumes it for 60 more (another rank count): TensorFlow reads the
result, and its variables equal those of one process that ran the same two
calls on the whole batches (same seed), up to float rounding.
"""

import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, tf

EXAMPLE = BUILD_DIR / "examples" / "premade_estimator"
MPIRUN = shutil.which("mpirun")

pytestmark = [
    pytest.mark.skipif(MPIRUN is None, reason="mpirun not found (Open MPI not installed)"),
    pytest.mark.skipif(not EXAMPLE.exists(), reason=f"premade_estimator not built at {EXAMPLE}"),
]

FLAGS = ["--train_steps", "60", "--seed", "3", "--batch_size", "30"]


def run(model_dir, ranks):
    cmd = [str(EXAMPLE), "--model_dir", str(model_dir)] + FLAGS
    env = dict(os.environ)
    if ranks > 1:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_btl="self,vader", OMPI_MCA_btl_vader_single_copy_mechanism="none")
        cmd = [MPIRUN, "--oversubscribe", "-np", str(ranks)] + cmd
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def variables(model_dir):
    prefix = tf.train.latest_checkpoint(str(model_dir))
    assert prefix is not None, f"no checkpoint in {model_dir}"
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def test_ranks_train_resume_at_another_count_and_match_one_process(tmp_path):
    single, dist = tmp_path / "single", tmp_path / "dist"
    run(single, 1)
    run(single, 1)
    first = run(dist, 3)
    assert "Test set accuracy" in first.stdout
    assert first.stdout.count("Test set accuracy") == 1, "only the chief evaluates"
    run(dist, 2)

    want, got = variables(single), variables(dist)
    assert int(got["global_step"]) == 120
    assert sorted(want) == sorted(got)
    trained = [n for n in got if n.startswith("dnn/") and "Adagrad" not in n]
    assert len(trained) >= 6
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5, err_msg=name)
    # Only the chief wrote: one events file per training job, no worker files.
    events = [f for f in os.listdir(dist) if f.startswith("events.out.tfevents.")]
    assert len(events) == 2, events
