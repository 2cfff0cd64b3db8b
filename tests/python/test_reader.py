"""CheckpointReader behaviour: zero-copy mmap views and their lifetime,
errors for bad paths and corrupt files, no leaks over many opens."""

import gc
import os
import resource

import numpy as np
import pytest


@pytest.fixture
def prefix(ckpt, tmp_path):
    rng = np.random.default_rng(7)
    values = {"big": rng.standard_normal((256, 256)).astype(np.float32),
              "small": np.arange(10, dtype=np.int64),
              "text": np.array([b"hello", b"world"], dtype=object)}
    return ckpt.save(str(tmp_path / "model"), values), values


def test_mmap_view_outlives_reader(ckpt, prefix):
    path, values = prefix
    reader = ckpt.load_checkpoint(path, mmap=True)
    view = reader.get_tensor("big")
    small = reader.get_tensor("small")
    assert not view.flags.writeable and not view.flags.owndata
    with pytest.raises(ValueError):
        view[0, 0] = 1.0
    with pytest.raises(ValueError):
        view.setflags(write=True)
    del reader
    gc.collect()
    np.testing.assert_array_equal(view, values["big"])
    np.testing.assert_array_equal(small, values["small"])
    # Strings are copies even with mmap.
    text = ckpt.load_checkpoint(path, mmap=True).get_tensor("text")
    assert list(text) == [b"hello", b"world"]


def test_copies_are_writable_and_independent(ckpt, prefix):
    path, values = prefix
    reader = ckpt.load_checkpoint(path)
    a = reader.get_tensor("small")
    assert a.flags.writeable
    a[0] = 99
    assert reader.get_tensor("small")[0] == 0
    del reader
    gc.collect()
    assert a[0] == 99 and a[1] == 1


def test_reader_api(ckpt, prefix):
    path, values = prefix
    reader = ckpt.load_checkpoint(path)
    assert sorted(reader.keys()) == sorted(values)
    assert "big" in reader and reader.has_tensor("small") and "nope" not in reader
    dtypes = reader.get_variable_to_dtype_map()
    assert dtypes["big"] == "float" and dtypes["big"].numpy_dtype == np.float32
    assert dtypes["text"] == "string"
    assert reader.get_variable_to_shape_map()["big"] == [256, 256]


@pytest.mark.parametrize("mmap", [False, True])
def test_get_tensors_is_get_tensor_of_each(ckpt, prefix, mmap):
    path, values = prefix
    reader = ckpt.load_checkpoint(path, mmap=mmap)
    names = ["text", "big", "small", "big"]
    got = reader.get_tensors(names)
    assert len(got) == len(names)
    for name, array in zip(names, got):
        if name == "text":
            assert list(array) == [b"hello", b"world"]
        else:
            np.testing.assert_array_equal(array, values[name])
            assert array.dtype == values[name].dtype
    # Copies own their memory (the repeated name too); mmap gives views.
    assert got[1].flags.writeable != mmap
    if not mmap:
        got[1][0, 0] += 1.0
        np.testing.assert_array_equal(got[3], values["big"])
    del reader
    gc.collect()
    np.testing.assert_array_equal(got[2], values["small"])
    reader = ckpt.load_checkpoint(path, mmap=mmap)
    with pytest.raises(ckpt.NotFoundError, match="nope"):
        reader.get_tensors(["big", "nope"])
    assert reader.get_tensors([]) == []


def test_missing_path(ckpt, tmp_path):
    missing = str(tmp_path / "no_such_model")
    with pytest.raises(ckpt.NotFoundError) as e:
        ckpt.load_checkpoint(missing)
    assert missing in str(e.value) and e.value.code == "NOT_FOUND"
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, ckpt.Error)
    with pytest.raises(ckpt.NotFoundError):
        ckpt.list_variables(tmp_path)  # a directory without a state file


def test_missing_key(ckpt, prefix):
    path, _ = prefix
    with pytest.raises(ckpt.NotFoundError, match="nope"):
        ckpt.load_checkpoint(path).get_tensor("nope")


@pytest.mark.parametrize("mmap", [False, True])
def test_corrupt_data_file(ckpt, prefix, mmap):
    path, _ = prefix
    data = path + ".data-00000-of-00001"
    with open(data, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    reader = ckpt.load_checkpoint(path, mmap=mmap)
    with pytest.raises(ckpt.DataLossError) as e:
        reader.get_tensor("big")
    assert data in str(e.value) and "big" in str(e.value)
    with pytest.raises(ckpt.DataLossError, match="big"):
        reader.get_tensors(["small", "big"])
    np.testing.assert_array_equal(reader.get_tensor("small"), np.arange(10))


def test_truncated_index(ckpt, prefix):
    path, _ = prefix
    index = path + ".index"
    size = os.path.getsize(index)
    with open(index, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(ckpt.DataLossError) as e:
        ckpt.load_checkpoint(path)
    assert index in str(e.value)


def test_bad_values_to_save(ckpt, tmp_path):
    with pytest.raises(ckpt.InvalidArgumentError):
        ckpt.save(tmp_path / "m", {"x": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ckpt.InvalidArgumentError):
        ckpt.save(tmp_path / "m", {"x": np.array([1 + 2j], dtype=np.clongdouble)})
    assert not os.path.exists(tmp_path / "m.index")


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def test_no_leak_over_10000_opens(ckpt, prefix):
    path, values = prefix
    for mmap in (False, True):  # warm up allocators and caches
        ckpt.load_checkpoint(path, mmap=mmap).get_tensor("small")
    gc.collect()
    fds, rss = open_fds(), rss_kib()
    for i in range(10000):
        reader = ckpt.load_checkpoint(path, mmap=bool(i % 2))
        reader.get_tensor("small")
        if i % 1000 == 0:
            with pytest.raises(ckpt.NotFoundError):
                reader.get_tensor("nope")
    del reader
    gc.collect()
    assert open_fds() == fds
    assert rss_kib() - rss < 16 * 1024, "RSS grew by %d KiB" % (rss_kib() - rss)


def test_without_ml_dtypes_bfloat16_names_the_package(ckpt, tmp_path, monkeypatch):
    import ml_dtypes
    path = ckpt.save(tmp_path / "m", {"b": np.ones(2, ml_dtypes.bfloat16), "f": np.ones(2)})
    monkeypatch.setattr(ckpt._dtypes, "_ml_dtypes", None)
    reader = ckpt.load_checkpoint(path)
    assert reader.get_variable_to_dtype_map()["b"] == "bfloat16"
    with pytest.raises(ckpt.UnimplementedError, match="bfloat16.*ml_dtypes"):
        reader.get_tensor("b")
    np.testing.assert_array_equal(reader.get_tensor("f"), [1.0, 1.0])


def test_str_elements_are_stored_utf8(tf, ckpt, tmp_path):
    path = ckpt.save(tmp_path / "m", {"s": np.array(["\u00e9t\u00e9", b"\xff"], dtype=object),
                                      "scalar": "x"})
    reader = tf.train.load_checkpoint(path)
    assert list(reader.get_tensor("s")) == ["\u00e9t\u00e9".encode(), b"\xff"]
    assert reader.get_tensor("scalar") == b"x"


def test_keys_that_are_not_utf8(ckpt, tmp_path):
    name = b"w\xff".decode("utf-8", "surrogateescape")
    path = ckpt.save(tmp_path / "m", {name: np.arange(3), "a": np.zeros(1)})
    with open(path + ".index", "rb") as f:
        assert b"w\xff" in f.read()
    reader = ckpt.load_checkpoint(path)
    assert reader.keys() == ["a", name] and name in reader
    np.testing.assert_array_equal(reader.get_tensor(name), [0, 1, 2])
    assert ckpt.list_variables(path) == [("a", [1]), (name, [3])]
