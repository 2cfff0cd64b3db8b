"""TF-written golden files (shared/testdata/tensorflow) read by both
TensorFlow and ckpt: same names, dtypes, shapes and bytes."""

import pytest

import golden
from conftest import TESTDATA_DIR, assert_same_value, ckpt_dump, tf_get, tf_listing


def test_goldens_present():
    if not TESTDATA_DIR.is_dir():
        pytest.skip(f"no golden files at {TESTDATA_DIR} (set CKPT_TESTDATA_DIR)")
    assert len([g for g in golden.GOLDENS if g.path.with_suffix(".index").exists()
                or (g.path.parent / (g.path.name + ".index")).exists()]) >= 5
    assert any(not (g.path.parent / (g.path.name + ".index")).exists() for g in golden.GOLDENS)


@pytest.mark.parametrize("g", golden.GOLDENS, ids=lambda g: g.label)
def test_golden_read_by_both(g, tmp_path):
    dump = ckpt_dump(g.path, tmp_path / "dump")
    is_v2 = (g.path.parent / (g.path.name + ".index")).exists()
    assert dump.format == ("V2" if is_v2 else "V1")
    assert not dump.errors, dump.errors
    reader, dtypes, shapes = tf_listing(g.path)
    assert set(dump.values) == {n.encode() for n in dtypes}
    for name, ours in dump.values.items():
        assert ours.dtype == dtypes[name.decode()], name
        assert list(ours.shape) == shapes[name.decode()], name
        theirs, err = tf_get(reader, name, ours.dtype)
        assert err is None, err
        assert_same_value(ours, theirs, f"{g.label}: {name!r}")
