"""Data-parallel training (EstimatorOptions::communicator) of the guide's
premade_estimator under mpirun, read by TensorFlow.

premade_estimator trains 4 ranks for 60 steps into one model_dir, then a job
of 2 ranks resumes it for 60 more (another rank count): TensorFlow reads the
result, and its variables equal those of one process that ran the same two
calls on the whole batches (same seed), up to float rounding. The same with
partitioned variables (--partition_min_bytes 0: every variable with as many
rows as ranks is stored as one row slice per rank, each rank writing its own
data shard) at 3, then 2, then 4 ranks, where a TF1 Saver also restores the
checkpoint into variables partitioned by fixed_size_partitioner(ranks).
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


def run(model_dir, ranks, extra=()):
    cmd = [str(EXAMPLE), "--model_dir", str(model_dir)] + FLAGS + list(extra)
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
    first = run(dist, 4)
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


def tf1_restore_partitioned(prefix, ranks, want):
    """Restores `prefix` with a TF1 Saver into variables of `want`'s names and
    shapes, those with at least `ranks` rows partitioned by
    fixed_size_partitioner(ranks); returns {name: [part values]}."""
    graph = tf.Graph()
    with graph.as_default():
        variables_, partitioned = {}, set()
        for name, value in want.items():
            if value.ndim >= 1 and value.shape[0] >= ranks:
                partitioned.add(name)
            variables_[name] = tf.compat.v1.get_variable(
                name, shape=value.shape, dtype=tf.as_dtype(value.dtype),
                initializer=tf.compat.v1.zeros_initializer(),
                partitioner=(tf.compat.v1.fixed_size_partitioner(ranks)
                             if name in partitioned else None))
        saver = tf.compat.v1.train.Saver(list(variables_.values()))
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.restore(sess, str(prefix))
            out = {}
            for name, v in variables_.items():
                parts = list(v) if name in partitioned else [v]
                out[name] = sess.run(parts)
    return out


def test_partitioned_ranks_resume_at_other_counts_and_tf1_restores_the_partitions(tmp_path):
    single, dist = tmp_path / "single", tmp_path / "dist"
    partition = ["--partition_min_bytes", "0"]
    for step, ranks in ((60, 3), (120, 2), (180, 4)):
        run(single, 1)
        run(dist, ranks, partition)
        want, got = variables(single), variables(dist)
        assert int(got["global_step"]) == step
        assert sorted(want) == sorted(got)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name} after {ranks} ranks")
        # Every rank wrote its own data shard of the checkpoint.
        prefix = tf.train.latest_checkpoint(str(dist))
        shards = sorted(f for f in os.listdir(dist)
                        if f.startswith(os.path.basename(prefix) + ".data-"))
        assert shards == [f"{os.path.basename(prefix)}.data-{r:05d}-of-{ranks:05d}"
                          for r in range(ranks)]
        assert all(os.path.getsize(dist / f) > 0 for f in shards)
        # A TF1 job with the variables partitioned over as many parts restores
        # every part, bit-exactly the rows of the whole variable.
        restored = tf1_restore_partitioned(prefix, ranks, got)
        partitioned = 0
        for name, parts in restored.items():
            whole = got[name]
            if len(parts) > 1:
                partitioned += 1
                np.testing.assert_array_equal(np.concatenate(parts), whole, err_msg=name)
                sizes = [p.shape[0] for p in parts]
                assert sizes == [whole.shape[0] // ranks + (r < whole.shape[0] % ranks)
                                 for r in range(ranks)], name
            else:
                np.testing.assert_array_equal(parts[0], whole, err_msg=name)
        assert partitioned >= 10, f"{partitioned} variables partitioned at {ranks} ranks"
