"""Shared fixtures and helpers for the TensorFlow <-> ckpt interop suite.

Values cross the language boundary through ckpt_interop_tool's manifest
format (see interop_tool.cc): a text manifest with hex names, DT_* dtype names,
shapes and (offset, size) into one binary blob. Fixed-size tensors are their
raw little-endian element bytes; strings are uint64-LE-length-prefixed.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pathlib
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD_DIR = pathlib.Path(os.environ.get("CKPT_BUILD_DIR", REPO / "build"))
TOOL = BUILD_DIR / "tests" / "interop" / "ckpt_interop_tool"
CLI = BUILD_DIR / "tools" / "ckpt"
GRAPH_DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_graph_driver"
TESTDATA_DIR = pathlib.Path(
    os.environ.get("CKPT_TESTDATA_DIR", REPO.parent / "shared" / "testdata" / "tensorflow"))


def run_to_npy(cmd, out_dir, check=True):
    """Runs a `ckpt run` command line with `--output out_dir` added: the
    arrays it wrote by the names on its stdout (`name<TAB>path` lines, in
    order), or the CompletedProcess when check is False."""
    cmd = list(cmd) + ["--output", str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if not check:
        return proc
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    got = {}
    for line in proc.stdout.splitlines():
        name, _, path = line.partition("\t")
        got[name] = np.load(path, allow_pickle=False)
    return got


def _import_tf():
    import tensorflow as tf  # noqa: imported late so the env vars above apply

    tf.get_logger().setLevel("ERROR")
    return tf


tf = _import_tf()
from tensorflow.core.framework import types_pb2  # noqa: E402

# Quantized dtypes come back from TF as structured numpy dtypes; these are
# the plain numpy types with the same bytes.
QUANTIZED_BASE = {
    "qint8": np.int8, "quint8": np.uint8, "qint16": np.int16,
    "quint16": np.uint16, "qint32": np.int32,
}
SUB_BYTE = ("int4", "uint4", "int2", "uint2", "float4_e2m1fn")


def tf_dtype(name: str):
    """A tf.DType from either "DT_FLOAT" or a TF python name like "float32"."""
    if name.startswith("DT_"):
        return tf.as_dtype(types_pb2.DataType.Value(name))
    return tf.as_dtype(name)


def dt_enum_name(dtype) -> str:
    return types_pb2.DataType.Name(tf.as_dtype(dtype).as_datatype_enum)


def np_dtype(dtype):
    dtype = tf.as_dtype(dtype)
    return np.dtype(QUANTIZED_BASE.get(dtype.name, dtype.as_numpy_dtype))


def to_bytes(name) -> bytes:
    return name if isinstance(name, bytes) else name.encode("utf-8")


# ----------------------------------------------------------------- values

@dataclass
class TensorValue:
    """A tensor as raw bytes (fixed-size dtypes) or a list of bytes (strings)."""

    dtype: object  # tf.DType
    shape: Tuple[int, ...]
    data: Union[bytes, List[bytes]]

    @property
    def is_string(self) -> bool:
        return self.dtype == tf.string

    def array(self) -> np.ndarray:
        if self.is_string:
            arr = np.empty(len(self.data), dtype=object)
            arr[:] = self.data
            return arr.reshape(self.shape)
        return np.frombuffer(self.data, dtype=np_dtype(self.dtype)).reshape(self.shape)

    def tf_tensor(self):
        return tf.constant(self.array(), dtype=self.dtype)

    def describe(self) -> str:
        return f"{self.dtype.name}{list(self.shape)}"


def value_from_numpy(arr, dtype=None) -> TensorValue:
    """Raw bytes of a numpy value (as TF returns them)."""
    if isinstance(arr, bytes) and not isinstance(arr, np.bytes_):
        # A Python bytes scalar: np.asarray would make it an 'S' array and
        # drop trailing NUL bytes.
        return TensorValue(tf.string, (), [arr])
    arr = np.asarray(arr)
    if dtype is None:
        dtype = tf.string if arr.dtype == object else tf.as_dtype(arr.dtype)
    dtype = tf.as_dtype(dtype)
    if dtype == tf.string:
        return TensorValue(dtype, tuple(arr.shape), [to_bytes(x) for x in arr.reshape(-1)])
    return TensorValue(dtype, tuple(arr.shape), np.ascontiguousarray(arr).tobytes())


def value_from_tf(t) -> TensorValue:
    return value_from_numpy(t.numpy(), t.dtype)


def assert_same_value(actual: TensorValue, expected: TensorValue, what: str = ""):
    """Bit-exact: same dtype, same shape, same bytes."""
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert tuple(actual.shape) == tuple(expected.shape), (
        f"{what}: shape {actual.shape} != {expected.shape}")
    if actual.is_string:
        assert len(actual.data) == len(expected.data), f"{what}: element count differs"
        for i, (a, e) in enumerate(zip(actual.data, expected.data)):
            assert a == e, (f"{what}: string element {i} differs "
                            f"(len {len(a)} vs {len(e)}; first bytes {a[:16]!r} vs {e[:16]!r})")
    else:
        if actual.data != expected.data:
            a = np.frombuffer(actual.data, np.uint8)
            e = np.frombuffer(expected.data, np.uint8)
            if a.size != e.size:
                raise AssertionError(f"{what}: {a.size} bytes vs {e.size} bytes")
            first = int(np.flatnonzero(a != e)[0])
            raise AssertionError(
                f"{what}: bytes differ first at byte {first}: "
                f"{a[first:first + 8].tobytes().hex()} vs {e[first:first + 8].tobytes().hex()}")


def random_value(rng: np.random.Generator, dtype, shape) -> TensorValue:
    """Random but valid elements; floats get every bit pattern (NaN payloads,
    infinities, denormals, -0) because they are random bytes."""
    dtype = tf.as_dtype(dtype)
    shape = tuple(shape)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == tf.string:
        lens = rng.integers(0, 40, size=n)
        return TensorValue(dtype, shape, [rng.bytes(int(k)) for k in lens])
    if dtype == tf.bool:
        return TensorValue(dtype, shape, rng.integers(0, 2, size=n, dtype=np.uint8).tobytes())
    if dtype.name in SUB_BYTE:
        # One byte per element holding a valid value of the narrow type.
        npd = dtype.as_numpy_dtype
        if dtype.name.startswith("float4"):
            src = rng.choice(np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.5, -6], np.float32), n)
        else:
            info = {"int4": (-8, 8), "uint4": (0, 16), "int2": (-2, 2), "uint2": (0, 4)}
            lo, hi = info[dtype.name]
            src = rng.integers(lo, hi, size=n)
        return TensorValue(dtype, shape, np.asarray(src).astype(npd).tobytes())
    return TensorValue(dtype, shape, rng.bytes(n * np_dtype(dtype).itemsize))


# -------------------------------------------------------- TF-side readers

def tf_listing(prefix):
    reader = load(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    return reader, dtypes, shapes


def tf_get(reader, name: bytes, dtype):
    """(TensorValue, None) or (None, error text) as TensorFlow reads `name`."""
    try:
        arr = reader.get_tensor(name)
        if dtype == tf.string and np.ndim(arr) == 0:
            # The Python reader returns scalar strings as np.bytes_, which
            # drops trailing NUL bytes; RestoreV2 returns the exact bytes.
            arr = restore_v2(reader_prefix(reader), name, dtype).numpy()
    except Exception as e:  # TF raises ValueError / errors.* for unsupported reads
        return None, f"{type(e).__name__}: {e}"
    return value_from_numpy(arr, dtype), None


_READER_PREFIX = {}


def reader_prefix(reader):
    return _READER_PREFIX[id(reader)]


def load(prefix):
    """tf.train.load_checkpoint, remembering the resolved prefix."""
    prefix = str(prefix)
    if pathlib.Path(prefix).is_dir():
        prefix = tf.train.latest_checkpoint(prefix)
    reader = tf.train.load_checkpoint(prefix)
    _READER_PREFIX[id(reader)] = prefix
    return reader


def restore_v2(prefix, name, dtype, spec=""):
    return tf.raw_ops.RestoreV2(prefix=str(prefix), tensor_names=[name],
                                shape_and_slices=[spec], dtypes=[dtype])[0]



# ------------------------------------------------------- the C++ helper

def run_tool(*args, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(TOOL), *map(str, args)], capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"ckpt_interop_tool {' '.join(map(str, args))} failed ({proc.returncode}):\n"
            f"{proc.stderr.decode(errors='replace')}")
    return proc


@dataclass
class Dump:
    format: str
    prefix: bytes
    names: List[bytes]
    values: Dict[bytes, TensorValue]
    # Variables ckpt lists but could not read: name -> (dtype, shape, status)
    errors: Dict[bytes, Tuple[object, Tuple[int, ...], str]] = field(default_factory=dict)


def ckpt_dump(path, outdir) -> Dump:
    """Reads a checkpoint with ckpt::CheckpointReader (through the tool)."""
    outdir = pathlib.Path(outdir)
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    run_tool("dump", path, outdir)
    return parse_dump(outdir)


def parse_dump(outdir) -> Dump:
    outdir = pathlib.Path(outdir)
    lines = (outdir / "manifest.txt").read_text().splitlines()
    assert lines[0] == "ckpt-interop 1", lines[0]
    fmt, prefix, data_file = None, None, None
    records, errors = [], {}
    for line in lines[1:]:
        tok = line.split(" ")
        if tok[0] == "format":
            fmt = tok[1]
        elif tok[0] == "prefix":
            prefix = bytes.fromhex(tok[1])
        elif tok[0] == "data":
            data_file = outdir / tok[1]
        elif tok[0] == "tensor":
            rank = int(tok[3])
            dims = tuple(int(d) for d in tok[4:4 + rank])
            offset, nbytes = int(tok[4 + rank]), int(tok[5 + rank])
            records.append((bytes.fromhex(tok[1]), tf_dtype(tok[2]), dims, offset, nbytes))
        elif tok[0] == "error":
            rank = int(tok[3])
            errors[bytes.fromhex(tok[1])] = (tf_dtype(tok[2]), tuple(int(d) for d in tok[4:4 + rank]),
                                             bytes.fromhex(tok[4 + rank]).decode(errors="replace"))
        else:
            raise AssertionError(f"unexpected manifest line {line!r}")
    names, values = [], {}
    with open(data_file, "rb") as f:
        for name, dtype, dims, offset, nbytes in records:
            f.seek(offset)
            raw = f.read(nbytes)
            assert len(raw) == nbytes
            if dtype == tf.string:
                data, pos = [], 0
                while pos < len(raw):
                    (n,) = struct.unpack_from("<Q", raw, pos)
                    data.append(raw[pos + 8:pos + 8 + n])
                    pos += 8 + n
            else:
                data = raw
            names.append(name)
            values[name] = TensorValue(dtype, dims, data)
    return Dump(fmt, prefix, names, values, errors)


@dataclass
class Entry:
    """One tensor for ckpt_write: a whole tensor, or one slice when `spec` is
    a SaveV2 shape_and_slice string (then `value` holds the slice)."""

    name: Union[str, bytes]
    value: TensorValue
    spec: str = ""
    shard: int = 0


def write_manifest(path, entries: Sequence[Entry], shards: Optional[int] = None):
    path = pathlib.Path(path)
    blob_path = path.with_suffix(".bin")
    lines = ["ckpt-interop 1", f"data {blob_path.name}"]
    if shards is not None:
        lines.append(f"shards {shards}")
    offset = 0
    with open(blob_path, "wb") as blob:
        for e in entries:
            v = e.value
            if v.is_string:
                raw = b"".join(struct.pack("<Q", len(s)) + s for s in v.data)
            else:
                raw = v.data
            blob.write(raw)
            fields = ["tensor", to_bytes(e.name).hex(), dt_enum_name(v.dtype), str(len(v.shape)),
                      *[str(d) for d in v.shape], str(offset), str(len(raw))]
            if e.spec:
                fields.append("slice=" + e.spec.encode().hex())
            if shards is not None:
                fields.append(f"shard={e.shard}")
            lines.append(" ".join(fields))
            offset += len(raw)
    path.write_text("\n".join(lines) + "\n")
    return path


def ckpt_write(prefix, entries: Sequence[Entry], shards: Optional[int] = None,
               alignment: int = 1, check=True):
    """Writes a bundle at `prefix` with ckpt::BundleWriter (through the tool)."""
    prefix = pathlib.Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    manifest = write_manifest(prefix.parent / (prefix.name + ".manifest.txt"), entries, shards)
    args = ["write"]
    if alignment != 1:
        args.append(f"--alignment={alignment}")
    return run_tool(*args, prefix, manifest, check=check)


def bundle_files(prefix) -> List[pathlib.Path]:
    """P.index and P.data-* files of a bundle, sorted."""
    prefix = pathlib.Path(prefix)
    files = sorted(prefix.parent.glob(prefix.name + ".data-*"))
    return [pathlib.Path(str(prefix) + ".index")] + files


def assert_files_identical(ours: pathlib.Path, theirs: pathlib.Path):
    a, b = ours.read_bytes(), theirs.read_bytes()
    if a == b:
        return
    n = min(len(a), len(b))
    diff = next((i for i in range(n) if a[i] != b[i]), n)
    raise AssertionError(
        f"{ours.name} differs from TensorFlow's {theirs.name}: sizes {len(a)} vs {len(b)}, "
        f"first difference at byte {diff}: ours {a[diff:diff + 16].hex()} "
        f"vs TF {b[diff:diff + 16].hex()}")


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="session", autouse=True)
def _require_tool():
    if not TOOL.exists():
        pytest.fail(f"{TOOL} not built; build target ckpt_interop_tool "
                    f"(set CKPT_BUILD_DIR to the build directory)")


def run_graph_driver(*args):
    """ckpt_graph_driver (graph_driver.cc) run with `args`: its stdout lines.
    Fails the test when the driver is not built or exits non-zero."""
    if not GRAPH_DRIVER.exists():
        pytest.fail(f"{GRAPH_DRIVER} not built (target ckpt_graph_driver)")
    proc = subprocess.run([str(GRAPH_DRIVER), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, f"ckpt_graph_driver {args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.splitlines()


@pytest.fixture(scope="session")
def cli():
    """Path to the `ckpt` CLI; skips only when the binary does not exist."""
    if not CLI.exists():
        pytest.skip(f"ckpt CLI not built at {CLI}")
    return CLI


# ---------------------------------------------------------------- corpora
# Built once per session into pytest tmp dirs and shared by the test files.

@pytest.fixture(scope="session")
def values_corpus(tmp_path_factory):
    import corpora
    return corpora.build_values_corpus(tmp_path_factory.mktemp("tf_values"))


@pytest.fixture(scope="session")
def binary_names_corpus(tmp_path_factory):
    import corpora
    return corpora.build_binary_names_corpus(tmp_path_factory.mktemp("tf_binary_names"))


@pytest.fixture(scope="session")
def sliced_corpus(tmp_path_factory):
    import corpora
    return corpora.build_sliced_corpus(tmp_path_factory.mktemp("tf_sliced"))


@pytest.fixture(scope="session")
def many_corpus(tmp_path_factory):
    import corpora
    return corpora.build_many_corpus(tmp_path_factory.mktemp("tf_many"))


@pytest.fixture(scope="session")
def big_corpus(tmp_path_factory):
    import corpora
    return corpora.build_big_corpus(tmp_path_factory.mktemp("tf_big"))


@pytest.fixture(scope="session")
def object_corpus(tmp_path_factory):
    import corpora
    return corpora.build_object_corpus(tmp_path_factory.mktemp("tf_object"))


@pytest.fixture(scope="session")
def saver_corpora(tmp_path_factory):
    import corpora
    return corpora.build_saver_corpus(tmp_path_factory.mktemp("tf_saver"))
