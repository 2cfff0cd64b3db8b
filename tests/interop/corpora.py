"""Checkpoint corpora built at test time.

Each builder returns a Corpus: the prefix TF (or ckpt) wrote, the entries in
the order they were written (for byte-identity checks), and the full value
of every variable as the test built it (the ground truth a reader must
reproduce).
"""

import pathlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from conftest import Entry, TensorValue, random_value, tf, types_pb2, value_from_numpy

# Every DataType in TF's own enum except the ones a bundle cannot hold by value.
NOT_SAVEABLE_BY_VALUE = {"DT_INVALID", "DT_RESOURCE", "DT_VARIANT"}
ALL_DTYPES = sorted(
    (name for name, num in types_pb2.DataType.items()
     if num < 100 and name not in NOT_SAVEABLE_BY_VALUE),
    key=types_pb2.DataType.Value)


@dataclass
class Corpus:
    prefix: pathlib.Path
    entries: List[Entry]
    full: Dict[bytes, TensorValue]  # name -> whole tensor
    refused: Dict[str, str] = field(default_factory=dict)  # dtype -> TF's error
    meta: dict = field(default_factory=dict)


def tf_savev2(prefix, entries):
    # SaveV2 creates only the last directory level of the prefix.
    pathlib.Path(prefix).parent.parent.mkdir(parents=True, exist_ok=True)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=[e.name if isinstance(e.name, bytes) else e.name.encode() for e in entries],
        shape_and_slices=[e.spec for e in entries],
        tensors=[e.value.tf_tensor() for e in entries])


def probe_dtype(tmp: pathlib.Path, dtype_name: str) -> Optional[str]:
    """None if TF's SaveV2 + RestoreV2 handle `dtype_name`, else TF's error."""
    dtype = tf.as_dtype(types_pb2.DataType.Value(dtype_name))
    value = random_value(np.random.default_rng(0), dtype, (2,))
    prefix = tmp / "dtype_probes" / dtype_name
    try:
        tf_savev2(prefix, [Entry("x", value)])
        tf.raw_ops.RestoreV2(prefix=str(prefix), tensor_names=["x"], shape_and_slices=[""],
                             dtypes=[dtype])
    except Exception as e:  # TF raises many types; keep its message as the reason
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return None


def s(x):
    return x.encode() if isinstance(x, str) else x


def string_value(shape, items) -> TensorValue:
    return TensorValue(tf.string, tuple(shape), [s(x) for x in items])


def build_values_corpus(tmp: pathlib.Path) -> Corpus:
    """Every dtype (as 2-D, scalar and empty tensors), high rank, hard
    strings and awkward names, saved by one tf.raw_ops.SaveV2."""
    rng = np.random.default_rng(1234)
    entries: List[Entry] = []
    refused: Dict[str, str] = {}
    for dt_name in ALL_DTYPES:
        reason = probe_dtype(tmp, dt_name)
        if reason is not None:
            refused[dt_name] = reason
            continue
        dtype = tf.as_dtype(types_pb2.DataType.Value(dt_name))
        short = dtype.name
        entries.append(Entry(f"dtype/{short}", random_value(rng, dtype, (3, 5))))
        entries.append(Entry(f"scalar/{short}", random_value(rng, dtype, ())))
        entries.append(Entry(f"empty/{short}", random_value(rng, dtype, (4, 0, 2))))
    entries += [
        Entry("rank/8", random_value(rng, tf.float32, (2,) * 8)),
        Entry("rank/16", random_value(rng, tf.int16, (1, 2, 1, 3, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2))),
        Entry("rank/1_empty", random_value(rng, tf.float64, (0,))),
        Entry("str/nul", string_value((4,), [b"\x00", b"a\x00b", b"\x00" * 300, b""])),
        Entry("str/non_utf8", string_value((2, 2), [b"\xff\xfe\xfd", b"\xc3\x28", bytes(range(256)),
                                                    "ünïcødé 名前".encode()])),
        Entry("str/big_64k", string_value((), [rng.bytes(65536 + 17)])),
        Entry("str/big_1m_mixed", string_value((3,), [rng.bytes(1 << 20), b"", rng.bytes(127)])),
        Entry("str/len_edges", string_value((6,), [rng.bytes(n) for n in (127, 128, 255, 16383, 16384, 1)])),
        Entry("str/all_empty", string_value((2, 3), [b""] * 6)),
        Entry("names/ünïcødé/名前/✓", random_value(rng, tf.float32, (2,))),
        Entry("names//leading//double//slash/", random_value(rng, tf.int32, (3,))),
        Entry("/", random_value(rng, tf.int8, ())),
        Entry("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z", random_value(rng, tf.uint8, (1,))),
        Entry("names/with space and .dots.", random_value(rng, tf.int64, (2,))),
        Entry("names/" + "x" * 3000, random_value(rng, tf.float32, ())),
    ]
    prefix = tmp / "values" / "model.ckpt"
    tf_savev2(prefix, entries)
    full = {s(e.name): e.value for e in entries}
    return Corpus(prefix, entries, full, refused)


def build_binary_names_corpus(tmp: pathlib.Path) -> Corpus:
    """Names that are not UTF-8 or hold control bytes (TF's Python maps can't
    list these; they are read by name)."""
    rng = np.random.default_rng(7)
    names = [b"\xff\xfe not utf8", b"a\x00b", b"\x00leading nul", b"tab\tand\nnewline",
             b"\x01\x02\x03", b"\xff" * 5, b"\xc0\x80"]
    entries = [Entry(n, random_value(rng, tf.float32, (i + 1,))) for i, n in enumerate(names)]
    prefix = tmp / "binary_names" / "ckpt"
    tf_savev2(prefix, entries)
    return Corpus(prefix, entries, {e.name: e.value for e in entries})


def slice_of(full: np.ndarray, spec_slice: str) -> np.ndarray:
    idx = []
    for d, item in enumerate(spec_slice.split(":")):
        if item == "-":
            idx.append(slice(None))
        else:
            start, length = map(int, item.split(","))
            idx.append(slice(start, start + length))
    return full[tuple(idx)]


def sliced_entries(name, full: TensorValue, slices: List[str]) -> List[Entry]:
    arr = full.array()
    dims = " ".join(str(d) for d in full.shape)
    out = []
    for sl in slices:
        part = np.ascontiguousarray(slice_of(arr, sl))
        out.append(Entry(name, value_from_numpy(part, full.dtype), f"{dims} {sl}"))
    return out


# (name, dtype, full shape, slices); together the slices tile the tensor.
SLICED = [
    ("part/rows", tf.float32, (10, 4), ["0,4:-", "4,3:-", "7,3:-"]),
    ("part/cols", tf.int64, (3, 9), ["-:0,5", "-:5,4"]),
    ("part/blocks", tf.float64, (6, 8), ["0,3:0,4", "0,3:4,4", "3,3:0,4", "3,3:4,4"]),
    ("part/3d", tf.int32, (7, 3, 2), ["0,2:-:-", "2,2:-:-", "4,2:-:-", "6,1:-:-"]),
    ("part/bf16", tf.bfloat16, (5, 2), ["0,3:-", "3,2:-"]),
    ("part/half", tf.float16, (4, 4), ["0,2:-", "2,2:-"]),
    ("part/bool", tf.bool, (9,), ["0,3", "3,6"]),
    ("part/complex64", tf.complex64, (4, 3), ["0,1:-", "1,3:-"]),
    ("part/uint8", tf.uint8, (6, 2), ["0,3:-", "3,3:-"]),
    ("part/qint8", tf.qint8, (6,), ["0,2", "2,4"]),
    ("part/big_offsets", tf.int8, (200, 2), ["0,100:-", "100,100:-"]),
    ("part/strings", tf.string, (4, 2), ["0,2:-", "2,2:-"]),
]


def build_sliced_corpus(tmp: pathlib.Path) -> Corpus:
    """Partitioned tensors saved by tf.raw_ops.SaveV2 with shape_and_slices,
    interleaved with whole tensors."""
    rng = np.random.default_rng(99)
    entries, full = [], {}
    for i, (name, dtype, shape, slices) in enumerate(SLICED):
        value = random_value(rng, dtype, shape)
        full[name.encode()] = value
        entries += sliced_entries(name, value, slices)
        whole = random_value(rng, tf.float32, (i + 1,))
        entries.append(Entry(f"whole/{i}", whole))
        full[f"whole/{i}".encode()] = whole
    prefix = tmp / "sliced" / "model.ckpt"
    tf_savev2(prefix, entries)
    return Corpus(prefix, entries, full)


def build_many_corpus(tmp: pathlib.Path, count: int = 10000) -> Corpus:
    rng = np.random.default_rng(5)
    dtypes = [tf.float32, tf.int64, tf.float16, tf.string, tf.uint8, tf.bfloat16, tf.bool]
    entries = []
    for i in range(count):
        dtype = dtypes[i % len(dtypes)]
        shape = [(), (i % 5,), (2, i % 3 + 1)][i % 3]
        entries.append(Entry(f"layer_{i % 97:03d}/var_{i:05d}/kernel", random_value(rng, dtype, shape)))
    prefix = tmp / "many" / "model.ckpt"
    tf_savev2(prefix, entries)
    return Corpus(prefix, entries, {s(e.name): e.value for e in entries})


BIG_SHAPE = (8192, 8192)  # float32: 256 MiB


def build_big_corpus(tmp: pathlib.Path) -> Corpus:
    rng = np.random.default_rng(256)
    big = TensorValue(tf.float32, BIG_SHAPE, rng.bytes(int(np.prod(BIG_SHAPE)) * 4))
    entries = [Entry("small/before", random_value(rng, tf.float32, (3,))),
               Entry("big/tensor", big),
               Entry("small/after", random_value(rng, tf.int64, (2,)))]
    prefix = tmp / "big" / "model.ckpt"
    tf_savev2(prefix, entries)
    return Corpus(prefix, entries, {s(e.name): e.value for e in entries})


def build_object_corpus(tmp: pathlib.Path) -> Corpus:
    """tf.train.Checkpoint of a small object tree (TF2 object-based keys,
    sharded-and-merged save path, _CHECKPOINTABLE_OBJECT_GRAPH string)."""
    rng = np.random.default_rng(3)
    root = tf.Module()
    root.dense = tf.Module()
    values = {}

    def var(owner, attr, value: TensorValue):
        v = tf.Variable(value.tf_tensor())
        setattr(owner, attr, v)
        return v

    vals = {
        "kernel": random_value(rng, tf.float32, (4, 3)),
        "bias": random_value(rng, tf.float64, (3,)),
        "steps": random_value(rng, tf.int64, ()),
        "half": random_value(rng, tf.float16, (2, 2)),
        "bf16": random_value(rng, tf.bfloat16, (5,)),
        "flags": random_value(rng, tf.bool, (3,)),
        "vocab": string_value((3,), [b"a", b"\x00\xff", "名前".encode()]),
        "c128": random_value(rng, tf.complex128, (2,)),
        "u32": random_value(rng, tf.uint32, (2,)),
    }
    for k, v in vals.items():
        var(root.dense, k, v)
    root.nested = tf.Module()
    root.nested.deeper = tf.Module()
    var(root.nested.deeper, "w", random_value(rng, tf.int8, (2, 3)))
    root.lst = [tf.Variable(np.float32(i)) for i in range(3)]
    ckpt = tf.train.Checkpoint(model=root, step=tf.Variable(np.int64(42)))
    prefix = tmp / "object" / "ckpt"
    path = ckpt.write(str(prefix))
    assert pathlib.Path(path) == prefix
    # Ground truth for variables: their values as TF holds them.
    full = {}
    for key, v in [(f"model/dense/{k}", getattr(root.dense, k)) for k in vals] + [
            ("model/nested/deeper/w", root.nested.deeper.w), ("step", ckpt.step)] + [
            (f"model/lst/{i}", root.lst[i]) for i in range(3)]:
        full[f"{key}/.ATTRIBUTES/VARIABLE_VALUE".encode()] = value_from_numpy(v.numpy(), v.dtype)
    return Corpus(prefix, [], full)


def _slicing_initializer(full: np.ndarray):
    """Initializes each partition with its part of `full`."""
    def init(shape, dtype=None, partition_info=None):
        offset = partition_info.var_offset if partition_info is not None else [0] * len(shape)
        idx = tuple(slice(o, o + n) for o, n in zip(offset, shape))
        return tf.constant(np.ascontiguousarray(full[idx]), dtype=dtype)
    return init


def build_saver_corpus(tmp: pathlib.Path) -> Dict[str, Corpus]:
    """tf.compat.v1.train.Saver in graph mode, plain and sharded=True over two
    CPU devices, with partitioned variables."""
    rng = np.random.default_rng(11)
    out = {}
    graph = tf.Graph()
    inits = {
        "dense/kernel": random_value(rng, tf.float32, (5, 3)),
        "dense/bias": random_value(rng, tf.float64, (3,)),
        "global_step": random_value(rng, tf.int64, ()),
        "table/keys": string_value((3,), [b"k\x00", b"\xff", b"long" * 5000]),
        "emb/bf16": random_value(rng, tf.bfloat16, (4, 2)),
        "emb/u16": random_value(rng, tf.uint16, (3,)),
    }
    partitioned = {
        "part/rows": (tf.float32, (10, 4), 0, 3),
        "part/cols": (tf.int64, (3, 8), 1, 3),
        "part/3d": (tf.float64, (7, 3, 2), 0, 4),
    }
    with graph.as_default():
        variables, full_tensors = [], {}
        for i, (name, value) in enumerate(inits.items()):
            with tf.compat.v1.device(f"/cpu:{i % 2}"):
                v = tf.compat.v1.get_variable(
                    name, initializer=tf.constant(value.array(), dtype=value.dtype),
                    use_resource=True)
            variables.append(v)
            full_tensors[name] = v
        for i, (name, (dtype, shape, axis, nparts)) in enumerate(partitioned.items()):
            value = random_value(rng, dtype, shape)
            with tf.compat.v1.device(f"/cpu:{i % 2}"):
                pv = tf.compat.v1.get_variable(
                    name, shape=shape, dtype=dtype,
                    initializer=_slicing_initializer(value.array()),
                    partitioner=tf.compat.v1.fixed_size_partitioner(nparts, axis=axis),
                    use_resource=True)
            full_tensors[name] = pv.as_tensor()
        saver = tf.compat.v1.train.Saver(sharded=False)
        sharded_saver = tf.compat.v1.train.Saver(sharded=True)
        init = tf.compat.v1.global_variables_initializer()
        config = tf.compat.v1.ConfigProto(device_count={"CPU": 2})
        for d in ("saver", "saver_sharded"):
            (tmp / d).mkdir(parents=True, exist_ok=True)
        with tf.compat.v1.Session(graph=graph, config=config) as sess:
            sess.run(init)
            values = sess.run(full_tensors)
            p1 = saver.save(sess, str(tmp / "saver" / "model.ckpt"), global_step=1)
            p2 = sharded_saver.save(sess, str(tmp / "saver_sharded" / "model.ckpt"), global_step=2)
    full = {name.encode(): value_from_numpy(arr, tf.as_dtype(full_tensors[name].dtype).base_dtype)
            for name, arr in values.items()}
    out["saver"] = Corpus(pathlib.Path(p1), [], full, meta={"partitioned": partitioned})
    out["saver_sharded"] = Corpus(pathlib.Path(p2), [], full, meta={"partitioned": partitioned})
    return out
