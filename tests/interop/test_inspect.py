"""(d) `ckpt inspect` agrees with TensorFlow's inspect_checkpoint.

--json lists names, dtypes (TF's short names) and shapes; these must equal
tf.train.load_checkpoint's maps. The default text output must equal
TensorFlow's (the reader's DebugString, then the parameter count), and
--all_tensor_names must print what `python -m
tensorflow.python.tools.inspect_checkpoint --all_tensor_names` prints.
Skipped only when the ckpt binary has not been built.
"""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

import golden
from conftest import load, tf, tf_listing, types_pb2

# (fixture, key within it) for every TF-written corpus.
CORPORA = {
    "values": ("values_corpus", None),
    "sliced": ("sliced_corpus", None),
    "object": ("object_corpus", None),
    "saver": ("saver_corpora", "saver"),
    "saver_sharded": ("saver_corpora", "saver_sharded"),
    "many": ("many_corpus", None),
}
GOLDEN = {f"golden:{g.label}": g for g in golden.GOLDENS}


def prefix_of(request, which) -> str:
    if which in GOLDEN:
        return str(GOLDEN[which].path)
    fixture, key = CORPORA[which]
    corpus = request.getfixturevalue(fixture)
    return str((corpus[key] if key else corpus).prefix)


def is_v1(prefix) -> bool:
    return not pathlib.Path(prefix + ".index").exists()


def run_cli(cli, *args) -> bytes:
    proc = subprocess.run([str(cli), "inspect", *args], capture_output=True)
    assert proc.returncode == 0, (
        f"ckpt inspect {' '.join(args)} exited {proc.returncode}: {proc.stderr!r}")
    return proc.stdout


# Runs `python -m tensorflow.python.tools.inspect_checkpoint ARGS...` for
# many ARGS in one interpreter (importing TF once costs seconds): each run
# executes the module as __main__ with its own sys.argv and captured stdout.
_TF_INSPECT_DRIVER = r"""
import contextlib, io, json, runpy, sys
import numpy as np
jobs, out = json.loads(sys.argv[1]), []
for args in jobs:
    buf = io.StringIO()
    sys.argv = ["inspect_checkpoint"] + args
    # --printoptions sets numpy's global options: each job starts from the defaults.
    with contextlib.redirect_stdout(buf), np.printoptions():
        try:
            runpy.run_module("tensorflow.python.tools.inspect_checkpoint", run_name="__main__")
        except SystemExit as e:
            if e.code not in (None, 0):
                raise
    out.append(buf.getvalue())
sys.stdout.write(json.dumps(out))
"""


# TF 2.x's own layout ("tensor: <name> (<dtype>) <shape>", values printed by
# numpy, --count_exclude_pattern, numpy print options), compared byte for
# byte with `ckpt inspect --style tf2`.
TF2_STYLE_CORPORA = ["values", "object"]
TF2_STYLE_ARGS = [
    ("--all_tensor_names", "--count_exclude_pattern=(kernel|/int|OPTIMIZER_SLOT)"),
    ("--all_tensors",),
    ("--all_tensors", "--printoptions", "floatmode=fixed", "precision=3", "threshold=20"),
    ("--all_tensors", "--printoptions", "floatmode=unique", "sign= ", "linewidth=60"),
    ("--all_tensors", "--printoptions", "floatmode=maxprec_equal", "precision=4", "suppress=true"),
]


@pytest.fixture(scope="module")
def tf_inspect(request):
    """args tuple -> stdout bytes of TF's inspect_checkpoint, all computed at once."""
    jobs = []
    for which in CLI_CORPORA:
        prefix = prefix_of(request, which)
        jobs += [[f"--file_name={prefix}"], [f"--file_name={prefix}", "--all_tensor_names"]]
    for which in TF2_STYLE_CORPORA:
        prefix = prefix_of(request, which)
        jobs += [[f"--file_name={prefix}", *args] for args in TF2_STYLE_ARGS]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", _TF_INSPECT_DRIVER, json.dumps(jobs)],
                          capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    outputs = json.loads(proc.stdout)
    return {tuple(j): o.encode("utf-8") for j, o in zip(jobs, outputs)}


def tf_short_name(dtype) -> str:
    """TF's C++ DataTypeString: the enum name without DT_, lower-cased."""
    return types_pb2.DataType.Name(dtype.as_datatype_enum)[3:].lower()


def total_params(prefix) -> int:
    from tensorflow.python.tools import inspect_checkpoint
    return inspect_checkpoint._count_total_params(load(prefix))


@pytest.mark.parametrize("which", list(CORPORA) + list(GOLDEN))
def test_json_matches_tf_maps(request, cli, which):
    prefix = prefix_of(request, which)
    doc = json.loads(run_cli(cli, f"--file_name={prefix}", "--json"))
    assert doc["checkpoint"] == prefix
    assert doc["format"] == ("V1" if is_v1(prefix) else "V2")
    _, dtypes, shapes = tf_listing(prefix)
    names = [v["name"] for v in doc["variables"]]
    assert names == sorted(dtypes, key=lambda n: n.encode()), "names differ from TF's"
    for v in doc["variables"]:
        assert v["dtype"] == tf_short_name(dtypes[v["name"]]), v
        assert v["shape"] == list(shapes[v["name"]]), v


def escape_for_display(data: bytes) -> bytes:
    """ckpt's EscapeForDisplay (include/ckpt/escape.h), for expected output:
    C0 controls and DEL as \\t \\n \\r or \\xNN, C1 controls as \\u00NN,
    bytes of invalid UTF-8 as \\xNN; everything else unchanged."""
    out = []
    i = 0
    while i < len(data):
        c = data[i]
        if 0x20 <= c < 0x7F:
            out.append(bytes([c]))
            i += 1
            continue
        if c < 0x80:
            out.append({9: b"\\t", 10: b"\\n", 13: b"\\r"}.get(c, b"\\x%02x" % c))
            i += 1
            continue
        n = 2 if c & 0xE0 == 0xC0 else 3 if c & 0xF0 == 0xE0 else 4 if c & 0xF8 == 0xF0 else 0
        try:
            ch = data[i:i + n].decode("utf-8") if n and i + n <= len(data) else ""
        except UnicodeDecodeError:
            ch = ""
        if len(ch) != 1:
            out.append(b"\\x%02x" % c)
            i += 1
        elif ord(ch) <= 0x9F:
            out.append(b"\\u%04x" % ord(ch))
            i += n
        else:
            out.append(data[i:i + n])
            i += n
    return b"".join(out)


DEBUG_LINE = re.compile(rb"(.*?) \((DT_[A-Z0-9_]+)\) (\[[0-9,]*\])\n", re.S)


def escaped_debug_string(debug: bytes) -> bytes:
    """TF's V2 DebugString ("<key> (<DT_X>) <shape>\\n" per entry, keys raw
    bytes) with each key escaped as ckpt shows it."""
    out, at = [], 0
    for m in DEBUG_LINE.finditer(debug):
        assert m.start() == at, f"unparsed DebugString bytes at {at}: {debug[at:at + 40]!r}"
        out.append(escape_for_display(m.group(1)) + b" (" + m.group(2) + b") " + m.group(3) + b"\n")
        at = m.end()
    assert at == len(debug), f"unparsed DebugString tail {debug[at:at + 40]!r}"
    return b"".join(out)


@pytest.mark.parametrize("which", list(CORPORA) + list(GOLDEN) + ["binary_names"])
def test_text_matches_tf_debug_string(request, cli, which):
    """Default output = the reader's DebugString, a blank line, then the
    parameter count. Keys holding control characters or invalid UTF-8 (the
    binary keys of slices, binary_names) are escaped (EscapeForDisplay), so
    they are compared with TF's DebugString escaped the same way; every
    printable name is byte-identical."""
    if which == "binary_names":
        prefix = str(request.getfixturevalue("binary_names_corpus").prefix)
    else:
        prefix = prefix_of(request, which)
    ours = run_cli(cli, f"--file_name={prefix}")
    debug = load(prefix).debug_string()
    if which == "binary_names":
        # TF's Python maps cannot hold these names; count from the listing.
        count = None
    else:
        count = total_params(prefix)
    body, sep, tail = ours.rpartition(b"\n# Total number of params: ")
    assert sep, f"no parameter count line in {ours[-200:]!r}"
    if count is not None:
        assert tail == b"%d\n" % count
    if is_v1(prefix):
        # TF's V1 reader lists tensors in hash-map order.
        assert sorted(body.split(b"\n")) == sorted(debug.split(b"\n"))
    else:
        # `print` adds the newline that rpartition consumed.
        assert body == escaped_debug_string(debug)
        if which in ("values", "object", "many"):
            assert body == debug  # printable names: exactly TF's bytes


# UTF-8-clean corpora, where inspect_checkpoint's output is exactly defined.
# (Partitioned variables make DebugString hold binary slice keys, which TF's
# tool drops as invalid UTF-8 while `ckpt inspect` prints them escaped; those
# corpora are compared with the escaped DebugString above.)
CLI_CORPORA = ["values", "object", "many", "golden:" + golden.GOLDENS[0].label]


@pytest.mark.parametrize("which", CLI_CORPORA)
def test_text_matches_inspect_checkpoint_cli(request, cli, tf_inspect, which):
    prefix = prefix_of(request, which)
    theirs = tf_inspect[(f"--file_name={prefix}",)]
    assert theirs.startswith(load(prefix).debug_string()[:20])
    assert run_cli(cli, f"--file_name={prefix}") == theirs


TENSOR_LINE = re.compile(r"^tensor: (.*) \((\w+)\) (\[[0-9, ]*\])$")
# Older TF releases (and the format sheet, section 16) print "tensor_name:  <key>".
OLD_TENSOR_LINE = re.compile(r"^tensor_name:  (.*)$")


def listed_names(output: bytes):
    lines = output.decode().splitlines()
    assert lines[-1].startswith("# Total number of params: "), lines[-1:]
    names = []
    for line in lines[:-1]:
        m = TENSOR_LINE.match(line) or OLD_TENSOR_LINE.match(line)
        assert m, f"unexpected line {line!r}"
        names.append(m.group(1))
    return names, lines[-1]


@pytest.mark.parametrize("which", CLI_CORPORA)
def test_all_tensor_names_matches_inspect_checkpoint_cli(request, cli, tf_inspect, which):
    prefix = prefix_of(request, which)
    theirs = tf_inspect[(f"--file_name={prefix}", "--all_tensor_names")]
    tf_names, tf_total = listed_names(theirs)
    assert len(tf_names) > 1
    doc = json.loads(run_cli(cli, f"--file_name={prefix}", "--json"))
    assert sorted(v["name"] for v in doc["variables"]) == sorted(tf_names)
    # Same names in the same (Python-sorted) order and the same total; the
    # per-line format may follow either TF generation.
    our_names, our_total = listed_names(run_cli(cli, f"--file_name={prefix}", "--all_tensor_names"))
    assert our_names == tf_names
    assert our_total == tf_total


# numpy_format.h's documented deviations: quantized types (TF returns numpy
# records) and the 2- and 4-bit integers (ml_dtypes' own printing).
DEVIATING_DTYPES = ("qint8", "quint8", "qint16", "quint16", "qint32", "int4", "uint4", "int2", "uint2")


def tensor_blocks(output: bytes):
    """Splits --all_tensors text into {header line: value text} (and the tail)."""
    blocks, header, body = {}, None, []
    lines = output.decode("utf-8", errors="surrogateescape").split("\n")
    for line in lines:
        if TENSOR_LINE.match(line) or line.startswith("# "):
            if header is not None:
                blocks[header] = "\n".join(body)
            header, body = line, []
        else:
            body.append(line)
    blocks[header] = "\n".join(body)
    return blocks


@pytest.mark.parametrize("which", TF2_STYLE_CORPORA)
@pytest.mark.parametrize("args", TF2_STYLE_ARGS, ids=lambda a: " ".join(a))
def test_tf2_style_matches_inspect_checkpoint_cli(request, cli, tf_inspect, which, args):
    prefix = prefix_of(request, which)
    theirs = tf_inspect[(f"--file_name={prefix}", *args)]
    ours = run_cli(cli, f"--file_name={prefix}", "--style", "tf2", *args)
    if "--all_tensors" not in args:
        assert ours == theirs
        return
    tf_blocks, our_blocks = tensor_blocks(theirs), tensor_blocks(ours)
    assert list(our_blocks) == list(tf_blocks)  # same headers, same order, same count lines
    compared = 0
    for header, text in tf_blocks.items():
        if any(f" ({d}) " in header for d in DEVIATING_DTYPES):
            continue
        assert our_blocks[header] == text, header
        compared += 1
    assert compared > 10
