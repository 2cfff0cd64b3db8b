"""ckpt::Saver against TensorFlow's tf.compat.v1.train.Saver (graph mode).

The same scripted sequence of saves runs through ckpt_saver_driver (whose
Env clock follows the script) and through TF's Saver with `time.time` in
saver.py patched to the same values (TF reads it when the Saver is built and
in _RecordLastCheckpoint). The directories must then hold the same file
names and byte-identical state files (up to the directory path), and both
Savers must list the same checkpoints. Restarts run as a new process / a new
Saver adopting the old checkpoints (recover_last_checkpoints with mtimes, or
set_last_checkpoints_with_time).

Also: TF restores checkpoints our Saver wrote into graph variables (plain,
partitioned, sharded over two CPU devices), our Saver restores TF's, and
both report restore errors with the same core text.
"""

import pathlib
import re
import subprocess
import types
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest

from conftest import BUILD_DIR, tf
from corpora import _slicing_initializer
from tensorflow.python.training import saver as tf_saver_module

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_saver_driver"
CONFIG = tf.compat.v1.ConfigProto(device_count={"CPU": 2})
DEVICES = ("/device:CPU:0", "/device:CPU:1")
WRAP_MISMATCH = (
    "Restoring from checkpoint failed. This is most likely due to a mismatch between the "
    "current graph and the graph from the checkpoint. Please ensure that you have not altered "
    "the graph expected based on the checkpoint. Original error:\n\n")
WRAP_MISSING = (
    "Restoring from checkpoint failed. This is most likely due to a Variable name or other "
    "graph key that is missing from the checkpoint. Please ensure that you have not altered "
    "the graph expected based on the checkpoint. Original error:\n\n")


@pytest.fixture(scope="module", autouse=True)
def _require_driver():
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_saver_driver "
                    f"(set CKPT_BUILD_DIR to the build directory)")


# ------------------------------------------------------------------ helpers

class Var:
    """A variable of the test graph: name, value, device, partitions (axis-0
    row counts, as fixed_size_partitioner makes them) or None."""

    def __init__(self, name, value, device=DEVICES[0], parts: Optional[int] = None):
        self.name, self.value, self.device, self.parts = name, np.asarray(value), device, parts

    def slices(self) -> List[Tuple[str, np.ndarray]]:
        """(slice spec, part value) per partition, or one ("", value)."""
        if self.parts is None:
            return [("", self.value)]
        rows = self.value.shape[0]
        # fixed_size_partitioner: the first (rows % parts) parts get one more row.
        sizes = [rows // self.parts + (1 if i < rows % self.parts else 0) for i in range(self.parts)]
        out, start = [], 0
        for n in sizes:
            spec = ":".join([f"{start},{n}"] + ["-"] * (self.value.ndim - 1))
            out.append((spec, self.value[start:start + n]))
            start += n
        return out


DT_NAMES = {np.float32: "DT_FLOAT", np.float64: "DT_DOUBLE", np.int32: "DT_INT32",
            np.int64: "DT_INT64"}


def var_lines(variables: List[Var], zero=False) -> List[str]:
    lines = []
    for v in variables:
        dt = DT_NAMES[v.value.dtype.type]
        for spec, part in v.slices():
            data = np.zeros_like(part) if zero else part
            dims = ",".join(map(str, part.shape)) or "scalar"
            line = f"var {v.name} {dt} {dims} {np.ascontiguousarray(data).tobytes().hex()}"
            line += f" device={v.device}"
            if spec:
                line += f" full={','.join(map(str, v.value.shape))} slice={spec}"
            lines.append(line)
    return lines


def run_driver(script_path: pathlib.Path, lines: List[str]) -> List[str]:
    script_path.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([str(DRIVER), str(script_path)], capture_output=True, text=True)
    assert proc.returncode == 0, f"driver failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout.splitlines()


def parse_error(line: str) -> Tuple[str, str]:
    _, code, hexmsg = line.split(" ", 2)
    return code, bytes.fromhex(hexmsg).decode()


def build_graph(variables: List[Var], zero=False):
    """A graph holding `variables` (resource variables, on their devices)."""
    graph = tf.Graph()
    with graph.as_default():
        handles, full = [], {}
        for v in variables:
            init_value = np.zeros_like(v.value) if zero else v.value
            with tf.compat.v1.device(v.device):
                if v.parts is None:
                    var = tf.compat.v1.get_variable(
                        v.name, initializer=tf.constant(init_value), use_resource=True)
                    handles.append(var)
                    full[v.name] = var
                else:
                    pv = tf.compat.v1.get_variable(
                        v.name, shape=v.value.shape, dtype=tf.as_dtype(v.value.dtype),
                        initializer=_slicing_initializer(init_value),
                        partitioner=tf.compat.v1.fixed_size_partitioner(v.parts, axis=0),
                        use_resource=True)
                    handles.append(pv)
                    full[v.name] = pv.as_tensor()
        init = tf.compat.v1.global_variables_initializer()
    return graph, handles, full, init


class Clock:
    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(tf_saver_module, "time", types.SimpleNamespace(time=c.time))
    return c


# ------------------------------------------------------- retention parity
#
# A scenario is a list of steps:
#   ("saver", {options}, t)         new Saver at clock t (a restart if not first)
#   ("recover",)                    recover_last_checkpoints(state file's paths)
#   ("set_last", [(step, t), ...])  set_last_checkpoints_with_time
#   ("save", step or None, t, {args})

def saves(steps, dt=100.0, t0=0.0, **args):
    return [("save", s, t0 + s * dt, args) for s in steps]


SCENARIOS: Dict[str, list] = {
    "keep5": [("saver", {}, 0.0)] + saves(range(1, 9)),
    "keep1": [("saver", {"max_to_keep": 1}, 0.0)] + saves(range(1, 5)),
    "keep0": [("saver", {"max_to_keep": 0}, 0.0)] + saves(range(1, 5)),
    "n_hours": [("saver", {"max_to_keep": 2, "hours": 0.5}, 0.0)] + saves(range(1, 13), dt=700),
    "n_hours_late_start": [("saver", {"max_to_keep": 1, "hours": 1}, 5000.0)]
                          + saves(range(1, 9), dt=1000),
    "no_step_and_resave": [("saver", {"max_to_keep": 2}, 0.0),
                           ("save", None, 10.0, {}), ("save", 3, 20.0, {}),
                           ("save", 3, 30.0, {}), ("save", 4, 40.0, {}),
                           ("save", None, 50.0, {}), ("save", 5, 60.0, {})],
    "pad_relative": [("saver", {"pad": 1, "relative": 1, "max_to_keep": 2}, 0.0)]
                    + saves([1, 10, 100, 1000]),
    "sharded": [("saver", {"sharded": 1, "max_to_keep": 2}, 0.0)] + saves(range(1, 5)),
    "latest_meta_state": [("saver", {"max_to_keep": 2}, 0.0)]
                         + saves([1, 2], latest="state_b")
                         + saves([3], meta=0) + saves([4, 5], state=0)
                         + saves([6, 7], suffix="pbmeta"),
    "restart_recover": [("saver", {"max_to_keep": 3, "hours": 0.5}, 0.0)]
                       + saves(range(1, 5), dt=1000)
                       + [("saver", {"max_to_keep": 3, "hours": 0.5}, 4500.0), ("recover",)]
                       + saves(range(5, 9), dt=1000),
    "restart_set_last": [("saver", {"max_to_keep": 2, "hours": 0.5}, 0.0)]
                        + saves(range(1, 4), dt=1000)
                        + [("saver", {"max_to_keep": 2, "hours": 0.5}, 3500.0),
                           ("set_last", [(2, 2000.0), (3, 3000.0)])]
                        + saves(range(4, 9), dt=1000),
}

RETENTION_VARS = [Var("a", np.arange(4, dtype=np.float32), DEVICES[0]),
                  Var("b", np.arange(3, dtype=np.int64), DEVICES[1])]


def run_ours(scenario, d: pathlib.Path, scripts: pathlib.Path) -> Tuple[List[str], List[str]]:
    """Runs the scenario through the driver, one process per Saver. Returns
    (save results, last_checkpoints of the final Saver)."""
    results, chunks, current = [], [], None
    for step in scenario:
        if step[0] == "saver":
            current = [step]
            chunks.append(current)
        else:
            current.append(step)
    last = []
    for i, chunk in enumerate(chunks):
        _, opts, t = chunk[0]
        lines = var_lines(RETENTION_VARS) + [f"now {t}"]
        lines.append("saver " + " ".join(f"{k}={v}" for k, v in opts.items()))
        for st in chunk[1:]:
            if st[0] == "recover":
                state = tf.train.get_checkpoint_state(str(d))
                lines.append("recover " + " ".join(state.all_model_checkpoint_paths))
            elif st[0] == "set_last":
                lines.append("set_last " + " ".join(f"{d / 'model'}-{s}@{tt}" for s, tt in st[1]))
            else:
                _, s, t, args = st
                lines.append(f"now {t}")
                line = f"save {d / 'model'}" + ("" if s is None else f" step={s}")
                line += "".join(f" {k}={v}" for k, v in args.items())
                lines.append(line)
        lines.append("last")
        out = run_driver(scripts / f"script{i}.txt", lines)
        results += [l for l in out if l.startswith(("saved ", "error "))]
        last = [l.split(" ")[1] for l in out if l.startswith("last ")]
    return results, last


def run_tf(scenario, d: pathlib.Path, clock: Clock) -> Tuple[List[str], List[str]]:
    graph, handles, _, init = build_graph(RETENTION_VARS)
    results, saver = [], None
    arg_names = {"latest": "latest_filename", "meta": "write_meta_graph",
                 "state": "write_state", "suffix": "meta_graph_suffix"}
    with tf.compat.v1.Session(graph=graph, config=CONFIG) as sess:
        sess.run(init)
        for st in scenario:
            if st[0] == "saver":
                _, opts, t = st
                clock.now = t
                kwargs = {}
                if "max_to_keep" in opts:
                    kwargs["max_to_keep"] = opts["max_to_keep"]
                if "hours" in opts:
                    kwargs["keep_checkpoint_every_n_hours"] = opts["hours"]
                kwargs["sharded"] = bool(opts.get("sharded", 0))
                kwargs["pad_step_number"] = bool(opts.get("pad", 0))
                kwargs["save_relative_paths"] = bool(opts.get("relative", 0))
                with graph.as_default():
                    saver = tf.compat.v1.train.Saver(handles, **kwargs)
            elif st[0] == "recover":
                state = tf.train.get_checkpoint_state(str(d))
                saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
            elif st[0] == "set_last":
                saver.set_last_checkpoints_with_time(
                    [(f"{d / 'model'}-{s}", tt) for s, tt in st[1]])
            else:
                _, s, t, args = st
                clock.now = t
                kwargs = {arg_names[k]: (bool(v) if k in ("meta", "state") else v)
                          for k, v in args.items()}
                try:
                    p = saver.save(sess, str(d / "model"), global_step=s, **kwargs)
                    results.append(f"saved {p}")
                except Exception as e:  # compared by type below
                    results.append(f"error {type(e).__name__} {e}")
    return results, list(saver.last_checkpoints)


def listing(d: pathlib.Path) -> List[str]:
    return sorted(p.name for p in d.iterdir())


def state_files(d: pathlib.Path) -> Dict[str, str]:
    return {p.name: p.read_text().replace(str(d), "{dir}")
            for p in d.iterdir() if p.name in ("checkpoint", "state_b")}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_retention_matches_tf(name, tmp_path, clock):
    scenario = SCENARIOS[name]
    ours_dir, tf_dir, scripts = tmp_path / "ours", tmp_path / "tf", tmp_path / "scripts"
    for p in (ours_dir, tf_dir, scripts):
        p.mkdir()
    our_results, our_last = run_ours(scenario, ours_dir, scripts)
    tf_results, tf_last = run_tf(scenario, tf_dir, clock)

    assert [r.replace(str(ours_dir), "{dir}") for r in our_results] == \
           [r.replace(str(tf_dir), "{dir}") for r in tf_results]
    assert listing(ours_dir) == listing(tf_dir)
    assert state_files(ours_dir) == state_files(tf_dir)
    assert [p.replace(str(ours_dir), "{dir}") for p in our_last] == \
           [p.replace(str(tf_dir), "{dir}") for p in tf_last]
    # And TF reads our state file as it reads its own.
    ours = tf.train.get_checkpoint_state(str(ours_dir))
    theirs = tf.train.get_checkpoint_state(str(tf_dir))
    assert ours.model_checkpoint_path.replace(str(ours_dir), "{dir}") == \
           theirs.model_checkpoint_path.replace(str(tf_dir), "{dir}")


def test_retention_scenarios_delete_something(tmp_path, clock):
    """Guards the parity test against vacuous scenarios: the N-hours one
    both deletes and preserves checkpoints."""
    d = tmp_path / "tf"
    d.mkdir()
    run_tf(SCENARIOS["n_hours"], d, clock)
    steps = sorted(int(re.match(r"model-(\d+)\.index", n).group(1))
                   for n in listing(d) if n.endswith(".index"))
    assert 1 not in steps and 11 in steps and 12 in steps
    assert len(steps) > 2  # some kept by the N-hours rule


# ------------------------------------------------------------- restores

def values_vars(rng) -> List[Var]:
    return [
        Var("dense/kernel", rng.standard_normal((3, 4)).astype(np.float32), DEVICES[0]),
        Var("dense/bias", rng.standard_normal(4), DEVICES[1]),
        Var("global_step", np.int64(rng.integers(0, 1 << 40)), DEVICES[0]),
        Var("counts", rng.integers(-100, 100, size=(2, 2)).astype(np.int32), DEVICES[1]),
        Var("emb", rng.standard_normal((5, 2)).astype(np.float32), DEVICES[1], parts=2),
        Var("emb3", rng.integers(0, 1 << 50, size=(7, 2, 2)), DEVICES[0], parts=3),
    ]


@pytest.mark.parametrize("sharded", [0, 1])
def test_tf_restores_our_checkpoint(tmp_path, sharded):
    variables = values_vars(np.random.default_rng(5 + sharded))
    out = run_driver(tmp_path / "script.txt",
                     var_lines(variables) + [f"saver sharded={sharded}",
                                             f"save {tmp_path / 'model'} step=3"])
    assert out == [f"saved {tmp_path / 'model'}-3"]
    graph, handles, full, init = build_graph(variables, zero=True)
    with graph.as_default():
        saver = tf.compat.v1.train.Saver(handles)
    with tf.compat.v1.Session(graph=graph, config=CONFIG) as sess:
        sess.run(init)
        before = sess.run(full)
        assert not np.array_equal(before["dense/kernel"], variables[0].value)
        saver.restore(sess, str(tmp_path / "model-3"))
        got = sess.run(full)
    for v in variables:
        assert got[v.name].dtype == v.value.dtype, v.name
        assert got[v.name].tobytes() == v.value.tobytes(), v.name


def test_tf_restores_parallel_sharded_checkpoint(tmp_path):
    """Six devices: six shard bundles, written six at a time (and one at a
    time, for comparison), merged into one checkpoint. Both ways give the
    same bytes, TF sees six data files and restores every value."""
    base = values_vars(np.random.default_rng(21))
    ours = [Var(v.name, v.value, f"/device:CPU:{i}", v.parts) for i, v in enumerate(base)]
    files = {}
    for threads in (1, 6):
        d = tmp_path / f"t{threads}"
        d.mkdir()
        out = run_driver(tmp_path / f"script{threads}.txt",
                         var_lines(ours) + [f"saver sharded=1 relative=1 threads={threads}",
                                            f"save {d / 'model'} step=3"])
        assert out == [f"saved {d / 'model'}-3"]
        files[threads] = {p.name: p.read_bytes() for p in d.iterdir()}
    assert sorted(files[6]) == sorted(files[1])
    for name in files[1]:
        assert files[6][name] == files[1][name], name
    prefix = str(tmp_path / "t6" / "model-3")
    assert sorted(n for n in files[6] if ".data-" in n) == \
        [f"model-3.data-{i:05d}-of-00006" for i in range(6)]
    reader = tf.train.load_checkpoint(prefix)
    assert sorted(reader.get_variable_to_shape_map()) == sorted(v.name for v in base)
    # TF's own graph (two CPU devices) restores it.
    graph, handles, full, init = build_graph(base, zero=True)
    with graph.as_default():
        saver = tf.compat.v1.train.Saver(handles)
    with tf.compat.v1.Session(graph=graph, config=CONFIG) as sess:
        sess.run(init)
        saver.restore(sess, prefix)
        got = sess.run(full)
    for v in base:
        assert got[v.name].dtype == v.value.dtype, v.name
        assert got[v.name].tobytes() == v.value.tobytes(), v.name


@pytest.mark.parametrize("sharded", [False, True])
def test_we_restore_tf_checkpoint(tmp_path, sharded):
    variables = values_vars(np.random.default_rng(9 + sharded))
    graph, handles, full, init = build_graph(variables)
    with graph.as_default():
        saver = tf.compat.v1.train.Saver(handles, sharded=sharded)
    (tmp_path / "tf").mkdir()
    with tf.compat.v1.Session(graph=graph, config=CONFIG) as sess:
        sess.run(init)
        prefix = saver.save(sess, str(tmp_path / "tf" / "model"), global_step=7)
    out = run_driver(tmp_path / "script.txt",
                     var_lines(variables, zero=True) + ["saver", f"restore {prefix}"])
    expected = [(v.name, part) for v in variables for _, part in v.slices()]
    assert len(out) == len(expected), out
    for i, (line, (name, part)) in enumerate(zip(out, expected)):
        assert line == f"value {i} {name} {np.ascontiguousarray(part).tobytes().hex()}"


def test_partial_restore_and_name_map(tmp_path):
    """Warm start: restore a renamed subset of TF's checkpoint."""
    variables = [Var("old/w", np.arange(6, dtype=np.float32).reshape(2, 3)),
                 Var("old/b", np.arange(3, dtype=np.float64))]
    graph, handles, _, init = build_graph(variables)
    with graph.as_default():
        saver = tf.compat.v1.train.Saver(handles)
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init)
        prefix = saver.save(sess, str(tmp_path / "model"))
    ours = [Var("new/w", np.zeros((2, 3), np.float32)), Var("new/b", np.full(3, 5.0)),
            Var("head/out", np.ones(2, np.float32))]
    out = run_driver(tmp_path / "script.txt",
                     var_lines(ours) + ["saver", f"restore {prefix} include=new/.* "
                                        "map=new/w:old/w map=new/b:old/b"])
    assert out == [f"value 0 new/w {variables[0].value.tobytes().hex()}",
                   f"value 1 new/b {variables[1].value.tobytes().hex()}",
                   f"value 2 head/out {np.ones(2, np.float32).tobytes().hex()}"]


def tf_restore_error(tmp_path, saved: List[Var], wanted: List[Var]):
    graph, handles, _, init = build_graph(saved)
    with graph.as_default():
        saver = tf.compat.v1.train.Saver(handles)
    with tf.compat.v1.Session(graph=graph, config=CONFIG) as sess:
        sess.run(init)
        prefix = saver.save(sess, str(tmp_path / "model"))
    graph2, handles2, _, init2 = build_graph(wanted, zero=True)
    with graph2.as_default():
        saver2 = tf.compat.v1.train.Saver(handles2)
    with tf.compat.v1.Session(graph=graph2, config=CONFIG) as sess:
        sess.run(init2)
        with pytest.raises(Exception) as info:
            saver2.restore(sess, prefix)
    return prefix, info.value


def our_restore_error(tmp_path, prefix, wanted: List[Var]) -> Tuple[str, str]:
    out = run_driver(tmp_path / "ours.txt", var_lines(wanted, zero=True) + ["saver",
                                                                            f"restore {prefix}"])
    assert len(out) == 1 and out[0].startswith("error "), out
    return parse_error(out[0])


def test_partitioned_shape_mismatch_error_matches_tf(tmp_path):
    saved = [Var("p", np.ones((10, 2), np.float32), parts=2)]
    wanted = [Var("p", np.ones((12, 2), np.float32), parts=2)]
    prefix, err = tf_restore_error(tmp_path, saved, wanted)
    assert isinstance(err, tf.errors.InvalidArgumentError)
    code, msg = our_restore_error(tmp_path, prefix, wanted)
    assert code == "INVALID_ARGUMENT"
    core = ("tensor_name = p; shape in shape_and_slice spec [12,2] does not match the shape "
            "stored in checkpoint: [10,2]")
    assert core in err.message
    assert core in msg
    assert err.message.startswith(WRAP_MISMATCH) and msg.startswith(WRAP_MISMATCH)


def test_dtype_mismatch_error_matches_tf(tmp_path):
    saved = [Var("a", np.arange(3, dtype=np.int32))]
    wanted = [Var("a", np.zeros(3, np.float32))]
    prefix, err = tf_restore_error(tmp_path, saved, wanted)
    assert isinstance(err, tf.errors.InvalidArgumentError)
    code, msg = our_restore_error(tmp_path, prefix, wanted)
    assert code == "INVALID_ARGUMENT"
    core = "tensor_name = a; expected dtype float does not equal original dtype int32"
    assert core in err.message and core in msg
    assert err.message.startswith(WRAP_MISMATCH) and msg.startswith(WRAP_MISMATCH)


def test_missing_key_error_matches_tf(tmp_path):
    saved = [Var("a", np.arange(3, dtype=np.float32))]
    wanted = [Var("a", np.zeros(3, np.float32)), Var("b", np.zeros(1, np.float32))]
    prefix, err = tf_restore_error(tmp_path, saved, wanted)
    assert isinstance(err, tf.errors.NotFoundError)
    code, msg = our_restore_error(tmp_path, prefix, wanted)
    assert code == "NOT_FOUND"
    core = "Key b not found in checkpoint"
    assert core in err.message and core in msg
    assert err.message.startswith(WRAP_MISSING) and msg.startswith(WRAP_MISSING)


def test_invalid_save_path_error_matches_tf(tmp_path):
    variables = [Var("a", np.zeros(3, np.float32))]
    graph, handles, _, init = build_graph(variables)
    with graph.as_default():
        saver = tf.compat.v1.train.Saver(handles)
    missing = str(tmp_path / "nothing-here")
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init)
        with pytest.raises(ValueError) as info:
            saver.restore(sess, missing)
    code, msg = our_restore_error(tmp_path, missing, variables)
    assert msg == str(info.value)
    assert code == "NOT_FOUND"  # TF: ValueError; ckpt: a missing file is NotFound
