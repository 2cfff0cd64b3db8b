"""Retention parity: ckpt::CheckpointManager vs tf.train.CheckpointManager.

The same script of saves runs through ckpt_manager_driver (C++) and through
TensorFlow (tf.train.CheckpointManager + tf.train.Checkpoint) with the same
injected clock: `time` inside TensorFlow's checkpoint_management module is
replaced by a fake whose time() returns the script's clock. Both runs must end
with the same checkpoint files, equivalent state files (every field, paths
relative to the directory, timestamps equal) and the same per-command results.
"""

import pathlib
import subprocess

import pytest
from google.protobuf import text_format

from conftest import BUILD_DIR, tf
from tensorflow.python.checkpoint import checkpoint_management
from tensorflow.python.training import checkpoint_state_pb2

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_manager_driver"

T0 = 1700000000.125


@pytest.fixture(scope="session")
def driver():
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_manager_driver")
    return DRIVER


def run_driver(driver, directory, script):
    script_path = pathlib.Path(str(directory) + ".script")
    script_path.write_text(script)
    proc = subprocess.run([str(driver), "run", str(directory), str(script_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"driver failed:\n{proc.stderr}"
    return proc.stdout.splitlines()


class FakeTime:
    """Stands in for the `time` module inside checkpoint_management."""

    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now


def run_tf(directory, script, monkeypatch):
    """Runs the driver's script language with TensorFlow."""
    clock = FakeTime()
    monkeypatch.setattr(checkpoint_management, "time", clock)
    step = tf.Variable(0, dtype=tf.int64)
    manager = None
    checkpoint = None
    out = []
    for line in script.splitlines():
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        cmd, args = tok[0], tok[1:]
        if cmd == "clock":
            clock.now = float(args[0])
        elif cmd == "step":
            step.assign(int(args[0]))
        elif cmd == "open":
            kwargs = {"max_to_keep": 5}
            for a in args:
                key, value = a.split("=", 1)
                none = value == "none"
                if key == "max_to_keep":
                    kwargs["max_to_keep"] = None if none else int(value)
                elif key == "keep_hours":
                    kwargs["keep_checkpoint_every_n_hours"] = None if none else float(value)
                elif key == "name":
                    kwargs["checkpoint_name"] = value
                elif key == "interval":
                    kwargs["checkpoint_interval"] = None if none else int(value)
                    kwargs["step_counter"] = step
                else:
                    raise AssertionError(f"unknown option {key}")
            checkpoint = tf.train.Checkpoint(v=tf.Variable(1.0))
            manager = tf.train.CheckpointManager(checkpoint, str(directory), **kwargs)
            out.append(f"open {manager.latest_checkpoint or '-'}")
        elif cmd == "save":
            number = None if not args or args[0] == "-" else int(args[0])
            check = not (len(args) == 2 and args[1] == "nocheck")
            path = manager.save(checkpoint_number=number, check_interval=check)
            out.append("skipped" if path is None else f"saved {path}")
        elif cmd == "restore":
            path = manager.restore_or_initialize()
            out.append(f"restored {path or '-'}")
        elif cmd == "list":
            out.append(" ".join(["checkpoints", *manager.checkpoints]))
        else:
            raise AssertionError(f"bad command {line!r}")
    return out


def read_state(directory):
    state = checkpoint_state_pb2.CheckpointState()
    text_format.Parse((pathlib.Path(directory) / "checkpoint").read_text(), state)
    return state


def assert_same_run(tmp_path, driver, script, monkeypatch):
    ours_dir, tf_dir = tmp_path / "ours", tmp_path / "tf"
    ours = run_driver(driver, ours_dir, script)
    theirs = run_tf(tf_dir, script, monkeypatch)
    assert [line.replace(str(ours_dir), "<dir>") for line in ours] == \
        [line.replace(str(tf_dir), "<dir>") for line in theirs]
    ours_files = sorted(p.name for p in ours_dir.iterdir())
    tf_files = sorted(p.name for p in tf_dir.iterdir())
    assert ours_files == tf_files
    ours_state, tf_state = read_state(ours_dir), read_state(tf_dir)
    assert ours_state.model_checkpoint_path == tf_state.model_checkpoint_path
    assert list(ours_state.all_model_checkpoint_paths) == list(tf_state.all_model_checkpoint_paths)
    assert list(ours_state.all_model_checkpoint_timestamps) == \
        list(tf_state.all_model_checkpoint_timestamps)
    assert ours_state.last_preserved_timestamp == tf_state.last_preserved_timestamp
    # Relative paths only.
    assert not ours_state.model_checkpoint_path.startswith("/")
    assert all(not p.startswith("/") for p in ours_state.all_model_checkpoint_paths)
    return ours, ours_files, ours_state


def saves(first_clock, count, spacing=1.0):
    return "".join(f"clock {first_clock + i * spacing!r}\nsave\n" for i in range(count))


@pytest.mark.parametrize("max_to_keep", ["1", "3", "none"])
def test_retention_with_restart(tmp_path, driver, monkeypatch, max_to_keep):
    script = (f"clock {T0!r}\nopen max_to_keep={max_to_keep}\n" + saves(T0, 5) + "list\n"
              # A restart: new objects on the same directory carry on.
              f"clock {T0 + 10!r}\nopen max_to_keep={max_to_keep}\nlist\nrestore\n"
              + saves(T0 + 10, 4, 0.5) + "list\n")
    out, files, state = assert_same_run(tmp_path, driver, script, monkeypatch)
    assert out[-1].endswith("ckpt-9"), out
    if max_to_keep == "none":
        assert len(files) == 1 + 2 * 9
    else:
        assert len(files) == 1 + 2 * int(max_to_keep)


@pytest.mark.parametrize("max_to_keep", ["1", "3"])
def test_keep_every_n_hours(tmp_path, driver, monkeypatch, max_to_keep):
    # 0.001 h = 3.6 s; saves every 1.25 s preserve every third or so popped
    # checkpoint, relative to the last preserved one.
    hours = "keep_hours=0.001"
    script = (f"clock {T0!r}\nopen max_to_keep={max_to_keep} {hours}\n" + saves(T0, 12, 1.25)
              + f"clock {T0 + 20!r}\nopen max_to_keep={max_to_keep} {hours}\nrestore\nlist\n"
              + saves(T0 + 20, 8, 1.25) + "list\n")
    _, files, state = assert_same_run(tmp_path, driver, script, monkeypatch)
    kept = len(files) // 2
    assert kept > int(max_to_keep), "no checkpoint was preserved: the test proves nothing"
    assert state.last_preserved_timestamp > T0


def test_restart_with_a_different_policy(tmp_path, driver, monkeypatch):
    # Preserved checkpoints stay preserved; a smaller max_to_keep sweeps more.
    script = (f"clock {T0!r}\nopen max_to_keep=2 keep_hours=0.0005\n" + saves(T0, 6, 1.0)
              + f"clock {T0 + 30!r}\nopen max_to_keep=none\nlist\nrestore\n"
              + saves(T0 + 30, 2) + "list\n"
              + f"clock {T0 + 40!r}\nopen max_to_keep=1\nlist\nrestore\n" + saves(T0 + 40, 1))
    assert_same_run(tmp_path, driver, script, monkeypatch)


def test_explicit_numbers_and_resaves(tmp_path, driver, monkeypatch):
    script = (f"clock {T0!r}\nopen max_to_keep=3 name=model\n"
              "save 100\nclock 1700000001.5\nsave\nsave 100\nsave 7\nlist\nsave\nlist\n"
              # Restart without restoring: the save counter starts over and
              # re-saves model-1, moving it to the end.
              f"clock {T0 + 5!r}\nopen max_to_keep=3 name=model\nsave\nsave\nlist\n")
    assert_same_run(tmp_path, driver, script, monkeypatch)


def test_checkpoint_interval(tmp_path, driver, monkeypatch):
    script = (f"clock {T0!r}\nopen max_to_keep=2 interval=10\n"
              "step 0\nsave\nstep 5\nsave\nstep 10\nsave\nsave - nocheck\nstep 12\nsave - nocheck\n"
              "step 21\nsave\nstep 22\nsave\nlist\n"
              "open max_to_keep=2 interval=10\nstep 30\nrestore\nstep 39\nsave\nstep 40\nsave\nlist\n")
    out, _, _ = assert_same_run(tmp_path, driver, script, monkeypatch)
    assert out.count("skipped") == 4, out  # steps 5, 10 again, 21, 39


def test_clock_behind_the_state_file(tmp_path, driver, monkeypatch):
    # The restarted manager's clock is earlier than the recorded timestamps
    # and last_preserved_timestamp: both are clamped to now.
    script = (f"clock {T0 + 100!r}\nopen max_to_keep=2 keep_hours=0.001\n" + saves(T0 + 100, 6, 2.0)
              + f"clock {T0!r}\nopen max_to_keep=2 keep_hours=0.001\nlist\n" + saves(T0, 3, 1.0)
              + "list\n")
    assert_same_run(tmp_path, driver, script, monkeypatch)


def test_restart_in_a_directory_written_by_tensorflow(tmp_path, driver, monkeypatch):
    # TF starts, ckpt carries on (and the other way round) in one directory.
    d = tmp_path / "shared"
    first = f"clock {T0!r}\nopen max_to_keep=3\n" + saves(T0, 4)
    second = f"clock {T0 + 10!r}\nopen max_to_keep=3\nlist\nrestore\n" + saves(T0 + 10, 2) + "list\n"
    run_tf(d, first, monkeypatch)
    ours = run_driver(driver, d, second)
    assert ours[1] == "checkpoints " + " ".join(str(d / f"ckpt-{i}") for i in (2, 3, 4))
    assert ours[-1] == "checkpoints " + " ".join(str(d / f"ckpt-{i}") for i in (4, 5, 6))
    # TF's Checkpoint cannot restore its save_counter from our bundles (they
    # carry no object graph), so it numbers explicitly.
    theirs = run_tf(d, f"clock {T0 + 20!r}\nopen max_to_keep=3\nlist\nrestore\nsave 7\nlist\n",
                    monkeypatch)
    assert theirs[1] == ours[-1]
    assert theirs[2] == f"restored {d / 'ckpt-6'}"
    assert theirs[-1] == "checkpoints " + " ".join(str(d / f"ckpt-{i}") for i in (5, 6, 7))
    names = sorted(p.name for p in d.iterdir())
    assert names == sorted(["checkpoint"] + [f"ckpt-{i}{s}" for i in (5, 6, 7)
                                             for s in (".index", ".data-00000-of-00001")])
