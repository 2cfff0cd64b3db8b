"""Crash safety under kill -9: ckpt_crash_saver is killed at random moments.

Each trial starts ckpt_crash_saver (tests/interop/crash_saver.cc) on a
directory, lets it save for a random time and kills it with SIGKILL, so the
kill lands in every phase of a save (data file, index, state file, deleting
old checkpoints, cleanup). Trials are chained: the next trial restarts the
saver on the same directory, as a restarted training job would. After every
kill:

  * the state file's newest checkpoint loads in TensorFlow and every value
    matches the step in its name, and `ckpt verify` finds every checkpoint the
    state file names (and every other checkpoint on disk) whole;
  * no checkpoint reported committed ("committed N" on stdout) and still
    inside the max_to_keep window is missing from the state file or the disk;
  * the newest checkpoint is at most one step past the last reported commit.

After a restart has committed, the leftovers the kill produced are gone.

CKPT_CRASH_TRIALS sets the number of trials (default 200, about 30-60 s);
scripts/crash_soak.sh runs thousands. CKPT_CRASH_SEED fixes the random seed.
"""

import json
import os
import random
import re
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import BUILD_DIR, CLI, tf

SAVER = BUILD_DIR / "tests" / "interop" / "ckpt_crash_saver"
TRIALS = int(os.environ.get("CKPT_CRASH_TRIALS", "200"))
SEED = int(os.environ.get("CKPT_CRASH_SEED", str(int(time.time()))))
MAX_TO_KEEP = 3
CHAIN = 25  # trials per directory before starting a fresh one

STATE_LINE = re.compile(r'^(\w+): "(.*)"$')


def read_state(directory):
    """(model_checkpoint_path, [all paths]) with paths joined onto directory, or None."""
    path = directory / "checkpoint"
    if not path.exists():
        return None
    model, paths = None, []
    for line in path.read_text().splitlines():
        m = STATE_LINE.match(line)
        if not m:
            continue
        value = m.group(2)
        value = value if os.path.isabs(value) else str(directory / value)
        if m.group(1) == "model_checkpoint_path":
            model = value
        elif m.group(1) == "all_model_checkpoint_paths":
            paths.append(value)
    assert model is not None, f"state file {path} names no checkpoint:\n{path.read_text()}"
    return model, paths


def step_of(prefix):
    return int(prefix.rsplit("-", 1)[1])


def check_values(prefix, tensors):
    """Loads `prefix` with TensorFlow and checks every value against its step."""
    step = step_of(prefix)
    reader = tf.train.load_checkpoint(prefix)
    assert int(reader.get_tensor("step")) == step, prefix
    for i in range(tensors):
        v = reader.get_tensor(f"v{i}")
        expected = step * 1000003 + i * 1009 + np.arange(v.shape[0], dtype=np.int64)
        np.testing.assert_array_equal(v, expected, err_msg=f"{prefix} v{i}")


def verify_report(directory):
    run = subprocess.run([str(CLI), "verify", "--json", str(directory)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)


def run_trial(directory, rng, sharded, tensors):
    """Starts the saver, kills it after a random delay; returns (start, committed)."""
    elems = rng.choice([256, 4096, 65536, 262144])  # 2 KiB .. 2 MiB per tensor
    cmd = [str(SAVER), str(directory), f"--max_to_keep={MAX_TO_KEEP}", f"--elems={elems}",
           f"--tensors={tensors}"] + (["--sharded"] if sharded else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, 0.25))
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (
        f"saver exited by itself with {proc.returncode} (a save failed?)")
    start, committed = None, []
    for line in out.decode().splitlines():
        word, _, number = line.partition(" ")
        if word == "start":
            start = int(number)
        elif word == "committed":
            committed.append(int(number))
    return start, committed


def check_directory(directory, committed, durable, tensors):
    """The invariants after a kill. `committed`: every step reported committed
    in `directory`; `durable`: the newest step known committed before (reported,
    or the state file's newest after the previous kill), 0 if none. Returns
    (newest step, the leftovers `ckpt verify` reports)."""
    state = read_state(directory)
    if state is None:
        assert not committed and durable == 0, (
            f"steps {committed} were committed but {directory} has no state file")
        return 0, []
    model, paths = state
    newest = step_of(model)
    assert newest >= durable, f"committed step {durable} lost; the newest is {newest}"
    assert newest <= durable + 1, f"newest {newest}, but step {durable + 1} was the last begun"
    assert paths and paths[-1] == model
    listed = {step_of(p) for p in paths}
    assert len(listed) <= MAX_TO_KEEP
    for step in committed:
        if step > newest - MAX_TO_KEEP:
            assert step in listed, f"committed step {step} dropped from the state file {paths}"
    check_values(model, tensors)
    report = verify_report(directory)
    for c in report["checkpoints"]:
        assert c["status"] == "ok", f"after a kill: {c}"
    return newest, report["leftovers"]


def leftover_gone(path, newest=None):
    """Whether a leftover of an earlier kill is gone after a restart's save.

    An orphan data file may legitimately exist again: the restart saved that
    step for real (its .index exists), or, with `newest` given, the restart's
    retention deleted that old step and the kill interrupted the deletion (a
    new orphan of an old step; the final restart must remove it)."""
    if path.endswith("/"):
        return not os.path.exists(path)
    if not os.path.exists(path):
        return True
    m = re.match(r"(.*)\.data-\d{5}-of-\d{5}$", path)
    if not m:
        return False
    if os.path.exists(m.group(1) + ".index"):
        return True
    return newest is not None and step_of(m.group(1)) <= newest - MAX_TO_KEEP


def test_kill_minus_nine_at_random_moments(tmp_path):
    rng = random.Random(SEED)
    print(f"seed {SEED}, {TRIALS} trials")
    stats = {"trials": 0, "killed_before_first_commit": 0, "with_leftovers": 0,
             "leftovers_cleaned": 0, "commits": 0}
    begin = time.monotonic()
    chains = (TRIALS + CHAIN - 1) // CHAIN
    for chain in range(chains):
        directory = tmp_path / f"run{chain}"
        sharded = chain % 4 == 3
        tensors = 2
        history = []  # every step reported committed in this directory
        pending = []  # leftovers of the previous kill
        newest = 0  # the state file's newest step after the previous kill
        for _ in range(min(CHAIN, TRIALS - chain * CHAIN)):
            start, committed = run_trial(directory, rng, sharded, tensors)
            if start is not None and history:
                assert start > max(history), f"restart at {start} after committed {history[-1]}"
            if committed:
                state = read_state(directory)
                for path in pending:
                    assert leftover_gone(path, step_of(state[0])), (
                        f"leftover {path} survived a restart's save")
                stats["leftovers_cleaned"] += len(pending)
                pending = []
            else:
                stats["killed_before_first_commit"] += 1
            history += committed
            stats["commits"] += len(committed)
            stats["trials"] += 1
            durable = max([newest] + history)
            newest, leftovers = check_directory(directory, history, durable, tensors)
            if leftovers:
                stats["with_leftovers"] += 1
            pending = sorted(set(pending) | set(leftovers))
        # A final restart completes one save: everything whole, nothing left over.
        run = subprocess.run([str(SAVER), str(directory), f"--max_to_keep={MAX_TO_KEEP}",
                              "--steps=1", "--elems=256"] + (["--sharded"] if sharded else []),
                             capture_output=True, timeout=60)
        assert run.returncode == 0, run.stderr.decode()
        report = verify_report(directory)
        assert report["ok"], report
        for path in pending:
            assert leftover_gone(path), path
    elapsed = time.monotonic() - begin
    print(f"crash stats: {stats}, {elapsed:.1f} s")
    assert stats["trials"] == TRIALS
    # The kills must land inside saves, not only between them.
    assert stats["with_leftovers"] > 0, stats
    assert stats["commits"] > 0, stats
