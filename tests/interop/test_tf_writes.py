"""(a) TensorFlow writes, ckpt reads: every value bit-exact.

Each corpus is written by TensorFlow at test time, read by ckpt's
CheckpointReader (ckpt_interop_tool dump) and compared byte for byte with
what TensorFlow itself reads back (tf.train.load_checkpoint) and with the
values the test put in.
"""

import pathlib

import numpy as np
import pytest

import corpora
from conftest import (assert_same_value, ckpt_dump, load, tf, tf_dtype, tf_get,
                      tf_listing)


def check_against_tf(dump, prefix, truth=None, names=None):
    """Every variable TF lists (or `names`), as ckpt reads it, is bit-exact
    with TF's reading; where TF cannot read a variable, ckpt's value must
    equal `truth`. Returns the number of tensors compared."""
    reader, dtypes, shapes = tf_listing(prefix) if names is None else (
        load(prefix), None, None)
    if names is None:
        expected_names = {n.encode() for n in dtypes}
    else:
        expected_names = set(names)
    got_names = set(dump.values) | set(dump.errors)
    assert got_names == expected_names, (
        f"ckpt lists {sorted(got_names - expected_names)[:5]} extra and misses "
        f"{sorted(expected_names - got_names)[:5]}")
    assert dump.names == sorted(dump.values), "ckpt variables are not in bytewise name order"
    compared = 0
    for name in sorted(expected_names):
        if dtypes is not None:
            dtype, shape = dtypes[name.decode()], tuple(shapes[name.decode()])
        else:
            dtype, shape = truth[name].dtype, truth[name].shape
        ours = dump.values.get(name)
        if ours is None:
            our_dtype, our_shape, error = dump.errors[name]
            assert (our_dtype, our_shape) == (dtype, shape), name
        else:
            assert ours.dtype == dtype, f"{name!r}: ckpt dtype {ours.dtype} vs TF {dtype}"
            assert tuple(ours.shape) == shape, f"{name!r}: ckpt shape {ours.shape} vs TF {shape}"
        theirs, tf_error = tf_get(reader, name, dtype)
        if theirs is not None:
            assert ours is not None, f"TF reads {name!r} but ckpt fails: {dump.errors[name][2]}"
            assert_same_value(ours, theirs, f"{name!r} ckpt vs TF")
            compared += 1
        elif ours is None:
            pass  # neither can read it (e.g. a partitioned string tensor)
        if truth is not None and name in truth and ours is not None:
            assert_same_value(ours, truth[name], f"{name!r} ckpt vs the value saved")
    return compared


# ------------------------------------------------------------ SaveV2 values

@pytest.fixture(scope="module")
def values_dump(values_corpus, tmp_path_factory):
    return ckpt_dump(values_corpus.prefix, tmp_path_factory.mktemp("dump_values"))


@pytest.mark.parametrize("dt_name", corpora.ALL_DTYPES)
def test_every_dtype(values_corpus, values_dump, dt_name):
    if dt_name in values_corpus.refused:
        pytest.skip(f"TensorFlow {tf.__version__} refuses to save/restore {dt_name}: "
                    f"{values_corpus.refused[dt_name]}")
    dtype = tf_dtype(dt_name)
    reader = load(values_corpus.prefix)
    for kind in ("dtype", "scalar", "empty"):
        name = f"{kind}/{dtype.name}".encode()
        theirs, err = tf_get(reader, name, dtype)
        assert err is None, err
        ours = values_dump.values[name]
        assert_same_value(ours, theirs, f"{name!r} ckpt vs TF")
        assert_same_value(ours, values_corpus.full[name], f"{name!r} ckpt vs saved")


def test_values_corpus_all(values_corpus, values_dump):
    assert values_dump.format == "V2"
    assert values_dump.prefix == str(values_corpus.prefix).encode()
    assert not values_dump.errors, values_dump.errors
    n = check_against_tf(values_dump, values_corpus.prefix, values_corpus.full)
    assert n == len(values_corpus.full)


def test_hard_strings(values_corpus, values_dump):
    """NUL bytes, non-UTF-8, 64 KiB+ and 1 MiB elements, varint length edges."""
    strings = {n: v for n, v in values_corpus.full.items() if n.startswith(b"str/")}
    assert max(len(x) for v in strings.values() for x in v.data) >= 1 << 20
    reader = load(values_corpus.prefix)
    for name, value in strings.items():
        theirs, err = tf_get(reader, name, tf.string)
        assert err is None, err
        assert_same_value(values_dump.values[name], theirs, f"{name!r} ckpt vs TF")
        assert_same_value(values_dump.values[name], value, f"{name!r} ckpt vs saved")


def test_binary_names(binary_names_corpus, tmp_path):
    """Names with NUL, control and non-UTF-8 bytes; TF's Python maps cannot
    list these, so TF reads them one by one by name."""
    dump = ckpt_dump(binary_names_corpus.prefix, tmp_path / "dump")
    n = check_against_tf(dump, binary_names_corpus.prefix, binary_names_corpus.full,
                         names=list(binary_names_corpus.full))
    assert n == len(binary_names_corpus.full)


# ------------------------------------------------------------ SaveV2 slices

def test_savev2_slices(sliced_corpus, tmp_path):
    """Partitioned tensors written by SaveV2 with shape_and_slices are listed
    under their full names and assembled bit-exactly."""
    dump = ckpt_dump(sliced_corpus.prefix, tmp_path / "dump")
    check_against_tf(dump, sliced_corpus.prefix, sliced_corpus.full)
    for name, value in sliced_corpus.full.items():
        if name in dump.values:
            assert_same_value(dump.values[name], value, f"{name!r} assembled")
    # TF cannot assemble partitioned string tensors ("Dtype string not
    # supported."); ckpt may refuse too, but every fixed-size one must work.
    unread = {n for n in dump.errors if sliced_corpus.full[n].dtype != tf.string}
    assert not unread, {n: dump.errors[n][2] for n in unread}


# ----------------------------------------------------- tf.train.Checkpoint

def test_tf_train_checkpoint(object_corpus, tmp_path):
    dump = ckpt_dump(object_corpus.prefix, tmp_path / "dump")
    n = check_against_tf(dump, object_corpus.prefix, object_corpus.full)
    assert b"_CHECKPOINTABLE_OBJECT_GRAPH" in dump.values
    assert n == len(object_corpus.full) + 1  # + the object graph proto
    # The object graph is a real proto TF can parse.
    from tensorflow.core.protobuf import trackable_object_graph_pb2
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(dump.values[b"_CHECKPOINTABLE_OBJECT_GRAPH"].data[0])
    assert len(graph.nodes) > 5


def test_tf_train_checkpoint_directory(object_corpus, tmp_path):
    """A directory resolves through its `checkpoint` state file, as
    tf.train.load_checkpoint(dir) does."""
    ckpt = tf.train.Checkpoint(v=tf.Variable(np.arange(6, dtype=np.int32).reshape(2, 3)))
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path / "managed"), max_to_keep=2)
    manager.save()
    ckpt.v.assign(ckpt.v * 7)
    latest = manager.save()
    dump = ckpt_dump(tmp_path / "managed", tmp_path / "dump")
    assert dump.prefix == latest.encode()
    check_against_tf(dump, tmp_path / "managed")
    key = b"v/.ATTRIBUTES/VARIABLE_VALUE"
    assert np.array_equal(dump.values[key].array(), np.arange(6).reshape(2, 3) * 7)


# --------------------------------------------------- tf.compat.v1.train.Saver

@pytest.mark.parametrize("which", ["saver", "saver_sharded"])
def test_v1_saver(saver_corpora, which, tmp_path):
    corpus = saver_corpora[which]
    data_files = sorted(corpus.prefix.parent.glob(corpus.prefix.name + ".data-*"))
    if which == "saver_sharded":
        # Proves the sharded path was taken (two devices -> two data files).
        assert [f.name[-19:] for f in data_files] == ["data-00000-of-00002",
                                                      "data-00001-of-00002"]
    dump = ckpt_dump(corpus.prefix, tmp_path / "dump")
    assert not dump.errors, dump.errors
    n = check_against_tf(dump, corpus.prefix, corpus.full)
    assert n == len(corpus.full)
    for name in corpus.meta["partitioned"]:
        assert name.encode() in dump.values


def test_v1_saver_directory(saver_corpora, tmp_path):
    corpus = saver_corpora["saver_sharded"]
    dump = ckpt_dump(corpus.prefix.parent, tmp_path / "dump")
    assert dump.prefix == str(corpus.prefix).encode()


# -------------------------------------------------------------- scale

def test_ten_thousand_tensors(many_corpus, tmp_path):
    dump = ckpt_dump(many_corpus.prefix, tmp_path / "dump")
    assert len(dump.values) == 10000
    n = check_against_tf(dump, many_corpus.prefix, many_corpus.full)
    assert n == 10000


def test_256_mib_tensor(big_corpus, tmp_path):
    dump = ckpt_dump(big_corpus.prefix, tmp_path / "dump")
    ours = dump.values[b"big/tensor"]
    assert len(ours.data) == 256 << 20
    reader = tf.train.load_checkpoint(str(big_corpus.prefix))
    theirs = reader.get_tensor("big/tensor")
    assert theirs.shape == corpora.BIG_SHAPE and theirs.dtype == np.float32
    assert ours.data == theirs.tobytes(), "256 MiB tensor differs from TF's reading"
    assert ours.data == big_corpus.full[b"big/tensor"].data
    del theirs
    for small in (b"small/before", b"small/after"):
        assert_same_value(dump.values[small], big_corpus.full[small], small)
