"""The `checkpoint` state file both ways: TensorFlow reads the state files
ckpt writes (CheckpointManager and UpdateCheckpointState) with
tf.train.get_checkpoint_state / tf.train.latest_checkpoint, and ckpt reads
the ones TensorFlow writes (TF1 Saver with absolute paths, tf.train.Checkpoint
.save with one relative entry, tf.train.CheckpointManager with timestamps)
through ckpt_manager_driver's `state` command and `ckpt inspect`.
"""

import json
import pathlib
import shutil
import subprocess

import pytest

from conftest import tf
from test_checkpoint_manager import T0, driver, run_driver, saves  # noqa: F401 (fixture)
from tensorflow.python.checkpoint import checkpoint_management


def our_state(driver, directory):
    proc = subprocess.run([str(driver), "state", str(directory)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def tf_state(directory):
    state = tf.train.get_checkpoint_state(str(directory))
    assert state is not None, f"TF found no state in {directory}"
    return state


def assert_same_state(ours, theirs):
    assert ours["model_checkpoint_path"] == theirs.model_checkpoint_path
    assert ours["all_model_checkpoint_paths"] == list(theirs.all_model_checkpoint_paths)
    assert ours["all_model_checkpoint_timestamps"] == list(theirs.all_model_checkpoint_timestamps)
    if ours["last_preserved_timestamp"] is None:
        assert theirs.last_preserved_timestamp == 0
    else:
        assert ours["last_preserved_timestamp"] == theirs.last_preserved_timestamp


# ------------------------------------------------------- TF reads ours

def test_tf_reads_our_manager_state(tmp_path, driver):
    d = tmp_path / "run"
    run_driver(driver, d, f"clock {T0!r}\nopen max_to_keep=2\n" + saves(T0 + 1, 3, 0.5))
    state = tf_state(d)
    assert state.model_checkpoint_path == str(d / "ckpt-3")
    assert list(state.all_model_checkpoint_paths) == [str(d / "ckpt-2"), str(d / "ckpt-3")]
    assert list(state.all_model_checkpoint_timestamps) == [T0 + 1.5, T0 + 2.0]
    assert state.last_preserved_timestamp == T0 - 1
    latest = tf.train.latest_checkpoint(str(d))
    assert latest == str(d / "ckpt-3")
    reader = tf.train.load_checkpoint(latest)
    assert reader.get_tensor("save_counter/.ATTRIBUTES/VARIABLE_VALUE") == 3
    ours, _ = our_state(driver, d)
    assert_same_state(ours, state)
    assert ours["latest"] == latest


def test_tf_manager_picks_up_our_checkpoints(tmp_path, driver, monkeypatch):
    d = tmp_path / "run"
    run_driver(driver, d, f"clock {T0!r}\nopen max_to_keep=3\n" + saves(T0, 3))

    class Clock:
        @staticmethod
        def time():
            return T0 + 10

    monkeypatch.setattr(checkpoint_management, "time", Clock)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(), str(d), max_to_keep=3)
    assert manager.latest_checkpoint == str(d / "ckpt-3")
    assert manager.checkpoints == [str(d / f"ckpt-{i}") for i in (1, 2, 3)]


@pytest.mark.parametrize("relative", [False, True])
def test_tf_reads_our_update_checkpoint_state(tmp_path, driver, relative):
    d = tmp_path / "saver"
    d.mkdir()
    paths = [str(d / "model.ckpt-1"), str(d / "model.ckpt-2")]
    for p in paths:
        pathlib.Path(p + ".index").write_bytes(b"")
    args = [str(driver), "update", str(d), paths[-1]] + (["--relative"] if relative else []) + paths
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = (d / "checkpoint").read_text()
    assert (str(d) in text) != relative, text
    state = tf_state(d)
    assert state.model_checkpoint_path == paths[-1]
    assert list(state.all_model_checkpoint_paths) == paths
    assert tf.train.latest_checkpoint(str(d)) == paths[-1]


def test_our_text_equals_tf_text(tmp_path, driver):
    """For the same arguments, the state file bytes are equal."""
    ours_dir, tf_dir = tmp_path / "ours", tmp_path / "tf"
    ours_dir.mkdir()
    tf_dir.mkdir()
    for d, write in ((ours_dir, "ours"), (tf_dir, "tf")):
        paths = [str(d / "a-1"), "rel/b-2", str(d / "c-3")]
        if write == "ours":
            proc = subprocess.run([str(driver), "update", str(d), paths[-1], *paths[:2]],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
        else:
            checkpoint_management.update_checkpoint_state_internal(
                str(d), paths[-1], all_model_checkpoint_paths=paths[:2])
    ours = (ours_dir / "checkpoint").read_text().replace(str(ours_dir), "<dir>")
    theirs = (tf_dir / "checkpoint").read_text().replace(str(tf_dir), "<dir>")
    assert ours == theirs


# ------------------------------------------------------- we read TF's

@pytest.fixture(scope="module")
def tf1_saver_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tf1_saver")
    with tf.Graph().as_default():
        tf.compat.v1.get_variable("v", initializer=1.5)
        saver = tf.compat.v1.train.Saver(max_to_keep=2)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for step in (1, 2, 3):
                saver.save(sess, str(d / "model.ckpt"), global_step=step)
    return d


def test_we_read_tf1_saver_state(tf1_saver_dir, driver):
    d = tf1_saver_dir
    text = (d / "checkpoint").read_text()
    assert f'model_checkpoint_path: "{d}/model.ckpt-3"' in text  # absolute
    ours, _ = our_state(driver, d)
    assert_same_state(ours, tf_state(d))
    assert ours["all_model_checkpoint_timestamps"] == []
    assert ours["latest"] == str(d / "model.ckpt-3") == tf.train.latest_checkpoint(str(d))


def test_moved_tf1_saver_directory(tf1_saver_dir, driver, tmp_path):
    """Absolute paths of a moved directory: ckpt resolves the checkpoint
    beside the state file (with a warning); TensorFlow finds nothing."""
    moved = tmp_path / "moved"
    shutil.copytree(tf1_saver_dir, moved)
    # The recorded absolute paths name a place that no longer exists.
    state_file = moved / "checkpoint"
    state_file.write_text(state_file.read_text().replace(str(tf1_saver_dir), "/gone/old/place"))
    ours, stderr = our_state(driver, moved)
    assert ours["model_checkpoint_path"] == "/gone/old/place/model.ckpt-3"
    assert ours["latest"] == str(moved / "model.ckpt-3")
    assert "moved" in stderr
    assert tf.train.latest_checkpoint(str(moved)) is None  # TF's behaviour differs


def test_we_read_tf2_checkpoint_save_state(tmp_path, driver, cli):
    d = tmp_path / "tf2"
    checkpoint = tf.train.Checkpoint(v=tf.Variable([1.0, 2.0]))
    checkpoint.save(str(d / "ckpt"))
    path = checkpoint.save(str(d / "ckpt"))
    text = (d / "checkpoint").read_text()
    assert text == 'model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n'
    ours, _ = our_state(driver, d)
    assert_same_state(ours, tf_state(d))
    assert ours["latest"] == path == tf.train.latest_checkpoint(str(d))
    # `ckpt inspect` resolves a directory through its state file.
    proc = subprocess.run([str(cli), "inspect", f"--file_name={d}", "--json"], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["checkpoint"] == path
    names = {v["name"] for v in doc["variables"]}
    assert "v/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert "save_counter/.ATTRIBUTES/VARIABLE_VALUE" in names


def test_we_read_tf_manager_state_and_carry_on(tmp_path, driver, monkeypatch):
    d = tmp_path / "mgr"

    class Clock:
        now = T0

        @classmethod
        def time(cls):
            return cls.now

    monkeypatch.setattr(checkpoint_management, "time", Clock)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(3.0)), str(d),
                                         max_to_keep=2, keep_checkpoint_every_n_hours=0.0002)
    for i in range(4):
        Clock.now = T0 + 0.75 * i
        manager.save()
    state = tf_state(d)
    assert len(state.all_model_checkpoint_timestamps) == 2
    assert state.last_preserved_timestamp == T0 + 0.75  # ckpt-2 was preserved last
    ours, _ = our_state(driver, d)
    assert_same_state(ours, state)
    assert ours["latest"] == str(d / "ckpt-4")
    # Our manager carries on: the active set is TF's, the preserved one stays.
    out = run_driver(driver, d, f"clock {T0 + 5!r}\nopen max_to_keep=2\nlist\nrestore\nsave\nlist\n")
    assert out[1] == f"checkpoints {d / 'ckpt-3'} {d / 'ckpt-4'}"
    assert out[2] == f"restored {d / 'ckpt-4'}"
    assert out[3] == f"saved {d / 'ckpt-5'}"
    assert out[4] == f"checkpoints {d / 'ckpt-4'} {d / 'ckpt-5'}"
    indexes = sorted(p.name for p in d.glob("*.index"))
    # 0.72 s after the last preserved: ckpt-1 (T0 > T0-1 + 0.72) and ckpt-2
    # (T0+0.75) were preserved by TF; ckpt-3 was deleted by us.
    assert indexes == ["ckpt-1.index", "ckpt-2.index", "ckpt-4.index", "ckpt-5.index"]
    after = tf_state(d)
    assert after.last_preserved_timestamp == state.last_preserved_timestamp
    assert tf.train.latest_checkpoint(str(d)) == str(d / "ckpt-5")
