"""(b) ckpt writes, TensorFlow reads: every value bit-exact.

Bundles are written by ckpt::BundleWriter (ckpt_interop_tool write) from the
same ground-truth values the TF-written corpora use, then read by
tf.train.load_checkpoint, tf.raw_ops.RestoreV2 and a TF1 Saver restore.
"""

import pathlib

import numpy as np
import pytest

import corpora
from conftest import (Entry, TensorValue, assert_same_value, bundle_files, ckpt_write, load,
                      random_value, restore_v2, tf, tf_get, tf_listing, to_bytes,
                      value_from_numpy, value_from_tf)


def check_tf_reads(prefix, truth, listable=True):
    """TF lists exactly `truth`'s names with their dtypes and shapes, and
    reads every value bit-exactly (load_checkpoint and RestoreV2)."""
    if listable:
        reader, dtypes, shapes = tf_listing(prefix)
        assert {n.encode() for n in dtypes} == set(truth)
        for name, value in truth.items():
            assert dtypes[name.decode()] == value.dtype, name
            assert tuple(shapes[name.decode()]) == tuple(value.shape), name
    else:
        reader = load(prefix)
    for name, value in truth.items():
        theirs, err = tf_get(reader, name, value.dtype)
        assert err is None, f"TF cannot read {name!r} written by ckpt: {err}"
        assert_same_value(theirs, value, f"{name!r} as TF reads it")
    # One RestoreV2 for everything, as a Saver restore would issue it.
    names = sorted(truth)
    restored = tf.raw_ops.RestoreV2(prefix=str(prefix), tensor_names=names,
                                    shape_and_slices=[""] * len(names),
                                    dtypes=[truth[n].dtype for n in names])
    for name, t in zip(names, restored):
        assert_same_value(value_from_tf(t), truth[name], f"{name!r} via RestoreV2")


def whole_entries(corpus):
    return [e for e in corpus.entries if not e.spec]


def test_values(values_corpus, tmp_path):
    """Every dtype TF saves, scalars, empty, high rank, hard strings, names."""
    prefix = tmp_path / "ours" / "model.ckpt"
    ckpt_write(prefix, values_corpus.entries)
    check_tf_reads(prefix, values_corpus.full)


@pytest.mark.parametrize("alignment", [8, 4096])
def test_aligned_data(values_corpus, tmp_path, alignment):
    """data_alignment pads between tensors; TF reads by offset."""
    prefix = tmp_path / "ours" / "model.ckpt"
    ckpt_write(prefix, values_corpus.entries, alignment=alignment)
    check_tf_reads(prefix, values_corpus.full)


def test_binary_names(binary_names_corpus, tmp_path):
    prefix = tmp_path / "ours" / "ckpt"
    ckpt_write(prefix, binary_names_corpus.entries)
    check_tf_reads(prefix, binary_names_corpus.full, listable=False)


def test_sharded_merge(values_corpus, tmp_path):
    """Shard bundles merged by ckpt::MergeBundles read as one checkpoint."""
    entries = [Entry(e.name, e.value, e.spec, shard=i % 3)
               for i, e in enumerate(values_corpus.entries)]
    prefix = tmp_path / "ours" / "model.ckpt"
    ckpt_write(prefix, entries, shards=3)
    assert [f.name for f in bundle_files(prefix)] == [
        "model.ckpt.index", "model.ckpt.data-00000-of-00003",
        "model.ckpt.data-00001-of-00003", "model.ckpt.data-00002-of-00003"]
    assert not (tmp_path / "ours" / "model.ckpt_temp").exists(), "temp dir not removed"
    check_tf_reads(prefix, values_corpus.full)


# ------------------------------------------------------------------ slices

@pytest.fixture(scope="module")
def our_sliced(sliced_corpus, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("ours_sliced") / "model.ckpt"
    ckpt_write(prefix, sliced_corpus.entries)
    return prefix


# Dtypes TF's reader can assemble from slices (tensor_bundle.cc GetSliceValue).
TF_ASSEMBLES = {tf.float32, tf.float64, tf.int32, tf.uint8, tf.int16, tf.int8, tf.complex64,
                tf.complex128, tf.int64, tf.bool, tf.qint32, tf.quint8, tf.qint8, tf.bfloat16}


def test_sliced_full_tensors(sliced_corpus, our_sliced):
    reader, dtypes, shapes = tf_listing(our_sliced)
    assert {n.encode() for n in dtypes} == set(sliced_corpus.full)
    checked = 0
    for name, value in sliced_corpus.full.items():
        assert dtypes[name.decode()] == value.dtype
        assert tuple(shapes[name.decode()]) == value.shape
        theirs, err = tf_get(reader, name, value.dtype)
        if value.dtype in TF_ASSEMBLES or not name.startswith(b"part/"):
            assert err is None, f"{name!r}: {err}"
            assert_same_value(theirs, value, f"{name!r} assembled by TF")
            checked += 1
        else:
            assert err is not None and "not supported" in err, (name, err)
    assert checked >= 15


# (tensor, RestoreV2 slice) pairs that cut across the stored partitions.
RESTORE_SLICES = [
    ("part/rows", "2,5:1,2"),
    ("part/rows", "-:-"),
    ("part/rows", "9,1:-"),
    ("part/cols", "1,2:3,4"),
    ("part/blocks", "2,2:3,3"),
    ("part/blocks", "0,6:4,4"),
    ("part/3d", "1,5:1,2:-"),
    ("part/bf16", "2,2:-"),
    ("part/complex64", "0,2:1,1"),
    ("part/uint8", "2,3:-"),
    ("part/qint8", "1,4"),
    ("part/big_offsets", "90,20:1,1"),
]


@pytest.mark.parametrize("name,sl", RESTORE_SLICES)
def test_restore_v2_slice_of_partitioned(sliced_corpus, our_sliced, name, sl):
    value = sliced_corpus.full[name.encode()]
    spec = " ".join(str(d) for d in value.shape) + " " + sl
    got = restore_v2(our_sliced, name, value.dtype, spec)
    expected = np.ascontiguousarray(corpora.slice_of(value.array(), sl))
    assert_same_value(value_from_tf(got), value_from_numpy(expected, value.dtype),
                      f"RestoreV2 {name} {spec!r}")


def test_restore_v2_slice_of_whole_tensor(values_corpus, tmp_path):
    """RestoreV2 can also cut a slice out of an unpartitioned tensor we wrote."""
    prefix = tmp_path / "ours" / "model.ckpt"
    ckpt_write(prefix, [e for e in values_corpus.entries if e.name == "dtype/float32"])
    value = values_corpus.full[b"dtype/float32"]
    got = restore_v2(prefix, "dtype/float32", tf.float32, "3 5 1,2:2,3")
    assert_same_value(value_from_tf(got),
                      value_from_numpy(np.ascontiguousarray(value.array()[1:3, 2:5])), "slice")


def test_sharded_partitioned(sliced_corpus, tmp_path):
    """Slices of one tensor spread over shards: merging concatenates the
    full entry's slice lists."""
    entries = [Entry(e.name, e.value, e.spec, shard=i % 2)
               for i, e in enumerate(sliced_corpus.entries)]
    prefix = tmp_path / "ours" / "model.ckpt"
    ckpt_write(prefix, entries, shards=2)
    reader = load(prefix)
    for name, value in sliced_corpus.full.items():
        if value.dtype in TF_ASSEMBLES:
            theirs, err = tf_get(reader, name, value.dtype)
            assert err is None, err
            assert_same_value(theirs, value, f"{name!r} from 2 shards")


# ------------------------------------------------------------------ scale

def test_ten_thousand_tensors(many_corpus, tmp_path):
    prefix = tmp_path / "ours" / "model.ckpt"
    ckpt_write(prefix, many_corpus.entries)
    check_tf_reads(prefix, many_corpus.full)


def test_256_mib_tensor(big_corpus, tmp_path):
    prefix = tmp_path / "ours" / "model.ckpt"
    ckpt_write(prefix, big_corpus.entries)
    reader = load(prefix)
    big = reader.get_tensor("big/tensor")
    assert big.shape == corpora.BIG_SHAPE and big.dtype == np.float32
    assert big.tobytes() == big_corpus.full[b"big/tensor"].data
    del big
    for small in (b"small/before", b"small/after"):
        theirs, err = tf_get(reader, small, big_corpus.full[small].dtype)
        assert err is None, err
        assert_same_value(theirs, big_corpus.full[small], small)


# ------------------------------------------------- TF1 Saver restore (graph)

SAVER_PARTITIONED = {
    "part/rows": (tf.float32, (10, 4), 0, 3),
    "part/cols": (tf.int64, (3, 8), 1, 3),
    "part/3d": (tf.float64, (7, 3, 2), 0, 4),
}
SAVER_WHOLE = {
    "dense/kernel": (tf.float32, (5, 3)),
    "dense/bias": (tf.float64, (3,)),
    "global_step": (tf.int64, ()),
    "table/keys": (tf.string, (4,)),
    "emb/bf16": (tf.bfloat16, (4, 2)),
    "emb/u16": (tf.uint16, (3,)),
    "flags": (tf.bool, (5,)),
}


@pytest.mark.parametrize("shards", [None, 2])
def test_v1_saver_restores_into_graph_variables(tmp_path, shards):
    rng = np.random.default_rng(2024)
    truth = {name: random_value(rng, dt, shape) for name, (dt, shape) in SAVER_WHOLE.items()}
    truth["table/keys"] = TensorValue(tf.string, (4,), [b"\x00", b"\xff\xfe", b"", b"x" * 70000])
    for name, (dt, shape, _, _) in SAVER_PARTITIONED.items():
        truth[name] = random_value(rng, dt, shape)

    graph = tf.Graph()
    with graph.as_default():
        fetch = {}
        for name, (dt, shape) in SAVER_WHOLE.items():
            init = "" if dt == tf.string else tf.compat.v1.zeros_initializer()
            v = tf.compat.v1.get_variable(
                name, shape=shape, dtype=dt, use_resource=True,
                initializer=(tf.compat.v1.constant_initializer([b""] * 4) if dt == tf.string
                             else init))
            fetch[name] = v
        parts = {}
        for name, (dt, shape, axis, n) in SAVER_PARTITIONED.items():
            pv = tf.compat.v1.get_variable(
                name, shape=shape, dtype=dt, use_resource=True,
                initializer=tf.compat.v1.zeros_initializer(),
                partitioner=tf.compat.v1.fixed_size_partitioner(n, axis=axis))
            fetch[name] = pv.as_tensor()
            # The slice specs the Saver will ask RestoreV2 for.
            parts[name] = [p._get_save_slice_info().spec for p in pv._get_variable_list()]
        saver = tf.compat.v1.train.Saver(sharded=shards is not None)

    # Write what the Saver expects: whole tensors and each partition's slice.
    entries = [Entry(n, truth[n]) for n in sorted(SAVER_WHOLE)]
    for name, specs in parts.items():
        assert len(specs) == SAVER_PARTITIONED[name][3]
        for spec in specs:
            sl = spec.split(" ")[-1]
            part = np.ascontiguousarray(corpora.slice_of(truth[name].array(), sl))
            entries.append(Entry(name, value_from_numpy(part, truth[name].dtype), spec))
    if shards:
        entries = [Entry(e.name, e.value, e.spec, shard=i % shards) for i, e in enumerate(entries)]
    prefix = tmp_path / "ours" / "model.ckpt"
    ckpt_write(prefix, entries, shards=shards)

    with tf.compat.v1.Session(graph=graph) as sess:
        saver.restore(sess, str(prefix))
        got = sess.run(fetch)
    for name, value in truth.items():
        assert_same_value(value_from_numpy(got[name], value.dtype), value,
                          f"{name} restored by Saver")
