"""TF2 object-based checkpoints between ckpt and TensorFlow 2.21 / Keras 3.

* TF writes (tf.train.Checkpoint of tf.Module trees, a Keras 3 model with an
  Adam optimizer that took a step, a tf.compat.v1 Adam optimizer with real
  slot variables); ckpt's ObjectCheckpointReader exposes the same graph,
  object paths, full names and values.
* ckpt writes (ckpt_object_driver from a spec mirroring the same structures
  with new values); tf.train.Checkpoint(...).restore(path).assert_consumed()
  accepts it and the Python objects hold the new values. For tf.Module trees
  the files are byte-identical to TensorFlow's.
* ckpt restores TF's checkpoints by graph matching, and reports shape
  mismatches with TensorFlow's wording.

Keras 3 (shipped with TF 2.21) writes weights only as `.weights.h5`:
`model.save_weights("x.ckpt")` raises ValueError, and `load_weights` reads
only `.weights.h5`/`.keras`. The TF-format path for Keras models is therefore
`tf.train.Checkpoint(model=model, optimizer=optimizer)`, tested here; the two
Keras calls are checked to still refuse, so a Keras that accepts them again
shows up as a failing test.
"""

import pathlib
import re
import subprocess
from collections import deque

import numpy as np
import pytest

from conftest import BUILD_DIR, TensorValue, assert_same_value, random_value, tf, value_from_numpy
from tensorflow.core.protobuf import trackable_object_graph_pb2

import keras

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_object_driver"
GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


@pytest.fixture(scope="module", autouse=True)
def _require_driver():
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_object_driver")


def driver(*args, check=True):
    proc = subprocess.run([str(DRIVER), *map(str, args)], capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"ckpt_object_driver {' '.join(map(str, args))} failed "
                             f"({proc.returncode}):\n{proc.stderr.decode(errors='replace')}")
    return proc


def hx(b: bytes) -> str:
    return b.hex() if b else "-"


def unhex(s: str) -> bytes:
    return b"" if s == "-" else bytes.fromhex(s)


def escape(name: str) -> str:
    return name.replace(".", "..").replace("/", ".S")


def value_field(v: TensorValue) -> str:
    dims = " ".join(str(d) for d in v.shape)
    head = f"{tf_enum(v.dtype)} {len(v.shape)}" + (f" {dims}" if dims else "")
    if v.is_string:
        return head + " s:" + ",".join(hx(e) for e in v.data)
    return head + " " + hx(v.data)


def tf_enum(dtype):
    from tensorflow.core.framework import types_pb2
    return types_pb2.DataType.Name(tf.as_dtype(dtype).as_datatype_enum)


def parse_value(dt: str, dims, field: str) -> TensorValue:
    from tensorflow.core.framework import types_pb2
    dtype = tf.as_dtype(types_pb2.DataType.Value(dt))
    if field.startswith("s:"):
        body = field[2:]
        return TensorValue(dtype, tuple(dims), [unhex(e) for e in body.split(",")] if body else [])
    return TensorValue(dtype, tuple(dims), unhex(field))


def parse_vars(stdout: bytes):
    """{path: (full_name, key, TensorValue)} and node lines of driver output."""
    out, nodes, tail = {}, {}, []
    for line in stdout.decode().splitlines():
        tok = line.split(" ")
        if tok[0] == "var":
            rank = int(tok[5])
            dims = [int(d) for d in tok[6:6 + rank]]
            out[unhex(tok[1]).decode()] = (unhex(tok[2]).decode(), unhex(tok[3]).decode(),
                                           parse_value(tok[4], dims, tok[6 + rank]))
        elif tok[0] == "node":
            nodes[int(tok[1])] = (None if tok[2] == "-" else unhex(tok[2]).decode(),
                                  unhex(tok[3]).decode())
        else:
            tail.append(line)
    return out, nodes, tail


# ------------------------------------------------------ TF-side graph walk

def tf_graph(prefix):
    reader = tf.train.load_checkpoint(str(prefix))
    g = trackable_object_graph_pb2.TrackableObjectGraph()
    g.ParseFromString(reader.get_tensor(GRAPH_KEY))
    return reader, g


def tf_paths(g):
    """TensorFlow's naming: BFS over children, then slot variables."""
    paths = {0: ""}
    todo = deque([0])
    while todo:
        i = todo.popleft()
        for c in g.nodes[i].children:
            if c.node_id not in paths:
                p = paths[i]
                paths[c.node_id] = (p + "/" if p else "") + escape(c.local_name)
                todo.append(c.node_id)
    for i, node in enumerate(g.nodes):
        if i not in paths:
            continue
        for s in node.slot_variables:
            if s.slot_variable_node_id not in paths and s.original_variable_node_id in paths:
                paths[s.slot_variable_node_id] = (f"{paths[s.original_variable_node_id]}"
                                                  f"/.OPTIMIZER_SLOT/{paths[i]}/{escape(s.slot_name)}")
    return paths


def mirror_spec(prefix, spec_path, rng, skip_root=("save_counter",)):
    """A driver spec with TF's object tree at `prefix` and new random values.
    Returns {our path: TensorValue} of the values written."""
    reader, g = tf_graph(prefix)
    paths = tf_paths(g)
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    lines, values, declared = [], {}, {0: ""}

    def value_for(node):
        attr = next(a for a in node.attributes if a.name == "VARIABLE_VALUE")
        v = random_value(rng, dtypes[attr.checkpoint_key], shapes[attr.checkpoint_key])
        if v.dtype == tf.int64:  # keep counters sane
            v = value_from_numpy(rng.integers(1, 1000, size=v.shape, dtype=np.int64))
        return attr, v

    todo = deque([0])
    while todo:
        i = todo.popleft()
        for c in g.nodes[i].children:
            if i == 0 and c.local_name in skip_root:
                continue
            path = (declared[i] + "/" if declared[i] else "") + escape(c.local_name)
            if c.node_id in declared:
                lines.append(f"alias {path} {declared[c.node_id]}")
                continue
            declared[c.node_id] = path
            node = g.nodes[c.node_id]
            if any(a.name == "VARIABLE_VALUE" for a in node.attributes):
                attr, v = value_for(node)
                values[path] = v
                lines.append(f"variable {path} {hx(attr.full_name.encode())} {value_field(v)}")
            else:
                lines.append(f"object {path}")
            todo.append(c.node_id)
    for i, node in enumerate(g.nodes):
        for s in node.slot_variables:
            attr, v = value_for(g.nodes[s.slot_variable_node_id])
            path = paths[s.slot_variable_node_id]
            values[path] = v
            lines.append(f"slot {declared[i]} {declared[s.original_variable_node_id]} "
                         f"{s.slot_name} {hx(attr.full_name.encode())} {value_field(v)}")
    pathlib.Path(spec_path).write_text("\n".join(lines) + "\n")
    return values


def tf_values_by_path(prefix):
    reader, g = tf_graph(prefix)
    paths = tf_paths(g)
    out = {}
    for i, node in enumerate(g.nodes):
        for a in node.attributes:
            if a.name == "VARIABLE_VALUE":
                dt = reader.get_variable_to_dtype_map()[a.checkpoint_key]
                out[paths[i]] = (a.full_name, a.checkpoint_key,
                                 value_from_numpy(reader.get_tensor(a.checkpoint_key), dt))
    return out, g


# ------------------------------------------------------------- TF models

def module_with_v1_adam(seed):
    """tf.Module layers plus a tf.compat.v1 Adam optimizer after one step, so
    the checkpoint has SlotVariableReferences and .OPTIMIZER_SLOT keys."""
    rng = np.random.default_rng(seed)
    model = tf.Module()
    layer = tf.Module()
    model.__setattr__("layer_with_weights-0", layer)
    setattr(model, "layer-0", layer)
    layer.kernel = tf.Variable(rng.standard_normal((3, 2)).astype(np.float32), name="dense/kernel")
    layer.bias = tf.Variable(rng.standard_normal((2,)).astype(np.float32), name="dense/bias")
    model.step = tf.Variable(np.int64(seed), name="step")
    opt = tf.compat.v1.train.AdamOptimizer(0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer.kernel ** 2) + tf.reduce_sum(layer.bias)
    opt.apply_gradients(zip(tape.gradient(loss, [layer.kernel, layer.bias]),
                            [layer.kernel, layer.bias]))
    return model, opt


def keras_model_with_adam(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="dense"),
                              keras.layers.Dense(1, name="out")])
    opt = keras.optimizers.Adam(0.05)
    x = np.ones((4, 3), np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - 1.0) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                            model.trainable_variables))
    return model, opt


def assert_reader_matches_tf(prefix):
    ours, nodes, _ = parse_vars(driver("read", prefix).stdout)
    theirs, g = tf_values_by_path(prefix)
    assert len(nodes) == len(g.nodes)
    for i, node in enumerate(g.nodes):
        children = ",".join(f"{c.local_name}={c.node_id}" for c in node.children)
        assert nodes[i][1] == children, f"node {i}"
    assert set(ours) == set(theirs)
    for path, (full_name, key, value) in theirs.items():
        assert ours[path][0] == full_name, path
        assert ours[path][1] == key, path
        # TF's keys are exactly the object paths.
        assert key == path + "/.ATTRIBUTES/VARIABLE_VALUE"
        assert_same_value(ours[path][2], value, path)
    return ours


# ----------------------------------------------------- TF writes, we read

def test_reader_on_tf_module_tree(object_corpus):
    ours = assert_reader_matches_tf(object_corpus.prefix)
    for key, value in object_corpus.full.items():
        path = key.decode()[:-len("/.ATTRIBUTES/VARIABLE_VALUE")]
        assert_same_value(ours[path][2], value, path)
    assert "model/lst/2" in ours and "model/dense/vocab" in ours


def test_reader_on_keras_model_with_optimizer(tmp_path):
    model, opt = keras_model_with_adam(1)
    prefix = tf.train.Checkpoint(model=model, optimizer=opt).write(str(tmp_path / "keras" / "ckpt"))
    ours = assert_reader_matches_tf(prefix)
    # Keras 3 keeps its optimizer state as tracked lists, not slot references.
    assert ours["optimizer/_iterations"][2].array() == 1
    assert ours["optimizer/_iterations"][0] == "adam/iteration"
    by_name = {full: v for full, _, v in ours.values()}
    for w in model.weights:
        assert_same_value(by_name[w.path], value_from_numpy(w.numpy(), w.dtype), w.path)
    for w in opt.variables:
        if w.path in by_name:
            assert_same_value(by_name[w.path], value_from_numpy(w.numpy(), w.dtype), w.path)
    assert any(k.startswith("optimizer/_variables/") for k in ours)


def test_reader_on_v1_optimizer_slots(tmp_path):
    model, opt = module_with_v1_adam(3)
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt)
    prefix = ckpt.save(str(tmp_path / "v1" / "ckpt"))
    ours = assert_reader_matches_tf(prefix)
    for var in (model.__dict__["layer_with_weights-0"].kernel,
                model.__dict__["layer_with_weights-0"].bias):
        name = var.name.split("/")[1].split(":")[0]
        for slot in ("m", "v"):
            path = f"model/layer_with_weights-0/{name}/.OPTIMIZER_SLOT/optimizer/{slot}"
            expected = opt.get_slot(var, slot)
            assert_same_value(ours[path][2], value_from_numpy(expected.numpy(), tf.float32), path)
    assert ours["save_counter"][2].array() == 1


def test_keras3_tf_format_weights_are_refused(tmp_path):
    model, _ = keras_model_with_adam(2)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(str(tmp_path / "w.ckpt"))
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "m" / "ckpt"))
    with pytest.raises(ValueError):
        model.load_weights(prefix)


# ------------------------------------------------ we write, TF restores

def test_tf_restores_our_module_tree_with_slots(tmp_path):
    model, opt = module_with_v1_adam(5)
    src = tmp_path / "tf" / "ckpt"
    tf.train.Checkpoint(model=model, optimizer=opt).write(str(src))
    spec = tmp_path / "spec.txt"
    values = mirror_spec(src, spec, np.random.default_rng(7))
    # Saved (not written) so that the file has the save_counter TF's
    # assert_consumed wants bound.
    ours = tmp_path / "ours" / "ckpt-1"
    driver("save", tmp_path / "ours" / "ckpt", spec, 1)

    fresh, fresh_opt = module_with_v1_adam(9)
    status = tf.train.Checkpoint(model=fresh, optimizer=fresh_opt).restore(str(ours))
    status.assert_consumed()
    layer = fresh.__dict__["layer_with_weights-0"]
    got = {
        "model/layer_with_weights-0/kernel": layer.kernel,
        "model/layer_with_weights-0/bias": layer.bias,
        "model/step": fresh.step,
        "optimizer/beta1_power": fresh_opt._get_beta_accumulators()[0],
        "optimizer/beta2_power": fresh_opt._get_beta_accumulators()[1],
    }
    for var, name in ((layer.kernel, "kernel"), (layer.bias, "bias")):
        for slot in ("m", "v"):
            got[f"model/layer_with_weights-0/{name}/.OPTIMIZER_SLOT/optimizer/{slot}"] = \
                fresh_opt.get_slot(var, slot)
    assert set(got) == set(values)
    for path, var in got.items():
        assert_same_value(value_from_numpy(var.numpy(), var.dtype), values[path], path)


def keras_name(name):
    """Keras numbers model names per process ("sequential_3"); drop that."""
    return re.sub(r"(sequential|adam)(_\d+)?", r"\1", name)


def test_tf_restores_our_keras_model_and_optimizer(tmp_path):
    model, opt = keras_model_with_adam(11)
    src = tmp_path / "tf" / "ckpt"
    tf.train.Checkpoint(model=model, optimizer=opt).write(str(src))
    spec = tmp_path / "spec.txt"
    values = mirror_spec(src, spec, np.random.default_rng(12))
    # Saved (not written) so that the file has the save_counter TF's
    # assert_consumed wants bound.
    ours = tmp_path / "ours" / "ckpt-1"
    driver("save", tmp_path / "ours" / "ckpt", spec, 1)

    fresh, fresh_opt = keras_model_with_adam(13)
    tf.train.Checkpoint(model=fresh, optimizer=fresh_opt).restore(str(ours)).assert_consumed()
    _, g = tf_graph(ours)
    paths = tf_paths(g)
    written = {}
    for i, node in enumerate(g.nodes):
        for a in node.attributes:
            if paths[i] != "save_counter":
                written[keras_name(a.full_name)] = values[paths[i]]
    for w in list(fresh.weights) + list(fresh_opt.variables):
        assert_same_value(value_from_numpy(w.numpy(), w.dtype), written[keras_name(w.path)], w.path)
    # Keras' model-only route reads the same file.
    other, _ = keras_model_with_adam(14)
    tf.train.Checkpoint(model=other).read(str(ours)).assert_existing_objects_matched()
    for w in other.weights:
        assert_same_value(value_from_numpy(w.numpy(), w.dtype), written[keras_name(w.path)], w.path)
    # Checkpoint.write-style output (no save_counter) is read the same way.
    driver("write", tmp_path / "written" / "ckpt", spec)
    third, _ = keras_model_with_adam(15)
    tf.train.Checkpoint(model=third).read(
        str(tmp_path / "written" / "ckpt")).assert_existing_objects_matched()
    for w in third.weights:
        assert_same_value(value_from_numpy(w.numpy(), w.dtype), written[keras_name(w.path)], w.path)


def test_our_files_are_byte_identical_to_tf(tmp_path):
    model, opt = module_with_v1_adam(21)
    tf_prefix = tf.train.Checkpoint(model=model, optimizer=opt).save(str(tmp_path / "tf" / "ckpt"))
    # Same tree and the same values as TF's (taken from its file).
    spec = tmp_path / "spec.txt"
    mirror_spec(tf_prefix, spec, np.random.default_rng(0))
    theirs, _ = tf_values_by_path(tf_prefix)
    lines = []
    for line in spec.read_text().splitlines():
        tok = line.split(" ")
        if tok[0] in ("variable", "slot"):
            path = tok[1] if tok[0] == "variable" else (
                f"{tok[2]}/.OPTIMIZER_SLOT/{tok[1]}/{escape(tok[3])}")
            value = theirs[path][2]
            keep = 3 if tok[0] == "variable" else 5
            line = " ".join(tok[:keep]) + " " + value_field(value)
        lines.append(line)
    spec.write_text("\n".join(lines) + "\n")
    out = driver("save", tmp_path / "ours" / "ckpt", spec, 1).stdout.decode().split()
    assert out == [str(tmp_path / "ours" / "ckpt-1")]
    for suffix in (".index", ".data-00000-of-00001"):
        a = (tmp_path / "ours" / ("ckpt-1" + suffix)).read_bytes()
        b = pathlib.Path(tf_prefix + suffix).read_bytes()
        assert a == b, f"{suffix} differs from TensorFlow's ({len(a)} vs {len(b)} bytes)"
    assert (tmp_path / "ours" / "checkpoint").read_text() == \
        (tmp_path / "tf" / "checkpoint").read_text()


def test_tf_follows_our_save_and_state_file(tmp_path):
    spec = tmp_path / "spec.txt"
    spec.write_text("object net\n"
                    f"variable net/w {hx(b'w')} DT_FLOAT 1 2 {np.float32([1.5, -2]).tobytes().hex()}\n")
    paths = driver("save", tmp_path / "run" / "ckpt", spec, 3).stdout.decode().split()
    assert [pathlib.Path(p).name for p in paths] == ["ckpt-1", "ckpt-2", "ckpt-3"]
    latest = tf.train.latest_checkpoint(str(tmp_path / "run"))
    assert latest == paths[-1]
    net = tf.Module()
    net.w = tf.Variable([0.0, 0.0])
    ckpt = tf.train.Checkpoint(net=net)
    ckpt.restore(latest).assert_consumed()
    assert int(ckpt.save_counter.numpy()) == 3
    np.testing.assert_array_equal(net.w.numpy(), [1.5, -2])
    # TF continues the numbering.
    assert pathlib.Path(ckpt.save(str(tmp_path / "run" / "ckpt"))).name == "ckpt-4"


# ------------------------------------------------ we restore TF's files

@pytest.mark.parametrize("kind", ["module", "keras"])
def test_we_restore_tf_checkpoints(tmp_path, kind):
    make = module_with_v1_adam if kind == "module" else keras_model_with_adam
    model, opt = make(31)
    prefix = tf.train.Checkpoint(model=model, optimizer=opt).save(str(tmp_path / "tf" / "ckpt"))
    spec = tmp_path / "spec.txt"
    mirror_spec(prefix, spec, np.random.default_rng(1), skip_root=())  # keeps save_counter
    proc = driver("restore", prefix, spec)
    restored, _, tail = parse_vars(proc.stdout)
    assert tail[-1] == "consumed OK", tail
    theirs, _ = tf_values_by_path(prefix)
    for path, (full_name, _, value) in theirs.items():
        if ".OPTIMIZER_SLOT" in path:
            continue  # slots are printed separately below
        assert_same_value(restored[path][2], value, path)
    if kind == "module":
        slots = [line for line in proc.stdout.decode().splitlines() if line.startswith("slot ")]
        assert len(slots) == 4
        got = sorted(unhex(line.split(" ")[3]) for line in slots)
        want = sorted(v.data for p, (_, _, v) in theirs.items() if ".OPTIMIZER_SLOT" in p)
        assert got == want


def test_shape_mismatch_wording_matches_tf(tmp_path):
    root = tf.Module()
    root.v = tf.Variable([1.0, 2.0, 3.0], name="my_var")
    prefix = tf.train.Checkpoint(net=root).write(str(tmp_path / "tf" / "ckpt"))
    small = tf.Module()
    small.v = tf.Variable([0.0, 0.0], name="my_var")
    with pytest.raises(ValueError) as tf_err:
        tf.train.Checkpoint(net=small).restore(prefix)
    assert "Received incompatible tensor with shape (3,) when attempting to restore variable " \
           "with shape (2,)" in str(tf_err.value)
    spec = tmp_path / "spec.txt"
    spec.write_text("object net\n"
                    f"variable net/v {hx(b'my_var')} DT_FLOAT 1 2 {np.float32([0, 0]).tobytes().hex()}\n")
    proc = driver("restore", prefix, spec, check=False)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "INVALID_ARGUMENT: Received incompatible tensor with shape [3] when attempting to " \
           "restore variable with shape [2] and name my_var" in err
