"""(c) Same tensors, same order: ckpt's .index and .data files are
byte-identical to what TensorFlow's SaveV2 (and MergeV2Checkpoints) write.

SaveV2 appends data in argument order and writes the index in key order;
ckpt is given the same tensors in the same order and must produce the same
bytes, including sliced tensors, strings and large multi-block indexes.
"""

import numpy as np
import pytest

import corpora
from conftest import Entry, assert_files_identical, bundle_files, ckpt_write, random_value, tf


def assert_bundles_identical(ours_prefix, tf_prefix):
    ours, theirs = bundle_files(ours_prefix), bundle_files(tf_prefix)
    assert [p.name.replace(ours_prefix.name, "P", 1) for p in ours] == \
        [p.name.replace(tf_prefix.name, "P", 1) for p in theirs]
    for a, b in zip(ours, theirs):
        assert_files_identical(a, b)


@pytest.mark.parametrize("corpus_name", ["values_corpus", "binary_names_corpus",
                                         "sliced_corpus", "many_corpus"])
def test_same_bytes_as_savev2(request, corpus_name, tmp_path):
    corpus = request.getfixturevalue(corpus_name)
    prefix = tmp_path / "ours" / corpus.prefix.name
    ckpt_write(prefix, corpus.entries)
    assert_bundles_identical(prefix, corpus.prefix)


def test_same_bytes_256_mib(big_corpus, tmp_path):
    prefix = tmp_path / "ours" / big_corpus.prefix.name
    ckpt_write(prefix, big_corpus.entries)
    assert_bundles_identical(prefix, big_corpus.prefix)


def test_same_bytes_reversed_order(values_corpus, tmp_path):
    """Data follows argument order: reversing the order changes the .data
    file, and ckpt still matches TF exactly."""
    entries = list(reversed(values_corpus.entries))
    tf_prefix = tmp_path / "tf" / "model.ckpt"
    corpora.tf_savev2(tf_prefix, entries)
    ours = tmp_path / "ours" / "model.ckpt"
    ckpt_write(ours, entries)
    assert_bundles_identical(ours, tf_prefix)
    # Not vacuous: the reversed data file differs from the forward one.
    fwd = bundle_files(values_corpus.prefix)[1].read_bytes()
    assert bundle_files(tf_prefix)[1].read_bytes() != fwd


def test_same_bytes_single_tensor_kinds(tmp_path):
    """One tensor per bundle: scalar, empty, strings of every length class."""
    rng = np.random.default_rng(77)
    cases = {
        "scalar_f32": [Entry("x", random_value(rng, tf.float32, ()))],
        "empty": [Entry("x", random_value(rng, tf.int64, (0, 3)))],
        "empty_string": [Entry("x", corpora.string_value((0,), []))],
        "string_scalar_empty": [Entry("x", corpora.string_value((), [b""]))],
        "string_64k": [Entry("x", corpora.string_value((2,), [rng.bytes(70000), b"\x00"]))],
        "slice_only": [Entry("x", random_value(rng, tf.float32, (2, 3)), "4 3 0,2:-")],
        "string_slices": corpora.sliced_entries(
            "s", random_value(rng, tf.string, (4, 2)), ["0,1:-", "1,3:-"]),
    }
    for label, entries in cases.items():
        tf_prefix = tmp_path / label / "tf" / "ckpt"
        corpora.tf_savev2(tf_prefix, entries)
        ours = tmp_path / label / "ours" / "ckpt"
        ckpt_write(ours, entries)
        assert_bundles_identical(ours, tf_prefix)


@pytest.mark.parametrize("layout", ["three_shards", "uneven_shards", "split_slices"])
def test_same_bytes_as_merge_v2_checkpoints(values_corpus, sliced_corpus, tmp_path, layout):
    """Shards written separately and merged: ckpt's MergeBundles vs TF's
    MergeV2Checkpoints over the same shard contents."""
    if layout == "three_shards":
        n, entries = 3, [Entry(e.name, e.value, shard=i % 3)
                         for i, e in enumerate(values_corpus.entries)]
    elif layout == "uneven_shards":
        # (TF's SaveV2 cannot write an empty shard; the middle one holds one tensor.)
        n, entries = 3, [Entry(e.name, e.value, shard=1 if i == 7 else (0 if i % 2 else 2))
                         for i, e in enumerate(values_corpus.entries)]
    else:
        n, entries = 2, [Entry(e.name, e.value, e.spec, shard=i % 2)
                         for i, e in enumerate(sliced_corpus.entries)]
    tf_prefix = tmp_path / "tf" / "model.ckpt"
    shard_prefixes = []
    for s in range(n):
        shard_prefix = f"{tf_prefix}_temp/part-{s:05d}-of-{n:05d}"
        corpora.tf_savev2(shard_prefix, [e for e in entries if e.shard == s])
        shard_prefixes.append(shard_prefix)
    tf.raw_ops.MergeV2Checkpoints(checkpoint_prefixes=shard_prefixes,
                                  destination_prefix=str(tf_prefix), delete_old_dirs=True)
    ours = tmp_path / "ours" / "model.ckpt"
    ckpt_write(ours, entries, shards=n)
    assert_bundles_identical(ours, tf_prefix)
    # Same files left behind: merged bundle only, shard dirs removed.
    def listing(d):
        return sorted(p.name for p in d.iterdir() if ".manifest." not in p.name)
    assert listing(tmp_path / "ours") == listing(tmp_path / "tf")
