"""TensorFlow reads AsyncSaver checkpoints whatever the staging budget.

With a staging budget smaller than the model, the variables that are not
staged ("direct") come first in the data file, so its bytes differ from a
synchronous save's; the index stays sorted. ckpt_saver_driver's async_save
saves through an AsyncSaver and overwrites every variable right after Save()
returns; TensorFlow must still read the values of the Save() call.
"""

import numpy as np
import pytest

from conftest import load
from test_saver_retention import DRIVER, Var, run_driver, var_lines


@pytest.fixture(scope="module", autouse=True)
def _require_driver():
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_saver_driver "
                    f"(set CKPT_BUILD_DIR to the build directory)")


def model():
    rng = np.random.default_rng(17)
    return [
        Var("dense/kernel", rng.standard_normal((64, 32)).astype(np.float32)),  # 8192 bytes
        Var("dense/bias", rng.standard_normal(32).astype(np.float64)),  # 256 bytes
        Var("emb", rng.standard_normal((5, 4)).astype(np.float32), parts=2),  # 48 + 32 bytes
        Var("global_step", np.array(1234, dtype=np.int64), device="/device:CPU:1"),
        Var("layer/w", rng.integers(-1000, 1000, (50, 10)).astype(np.int32)),  # 2000 bytes
    ]


# 0: everything direct; 2500: dense/bias, layer/w and the rest but the
# kernel staged (first fit by decreasing size); -1: everything staged.
@pytest.mark.parametrize("sharded", [0, 1])
def test_tf_reads_async_checkpoints_of_every_budget(tmp_path, sharded):
    variables = model()
    script = var_lines(variables)
    for budget in (0, 2500, -1):
        script.append(f"async_save {tmp_path}/b{budget}/model budget={budget} step=1 "
                      f"sharded={sharded}")
    for budget in (0, 2500, -1):
        (tmp_path / f"b{budget}").mkdir()
    out = run_driver(tmp_path / "script", script)
    staged = [int(line.split()[1]) for line in out if line.startswith("staged ")]
    saved = [line.split()[1] for line in out if line.startswith("saved ")]
    assert len(saved) == 3, out
    assert staged[0] == 0
    assert 0 < staged[1] <= 2500
    assert staged[2] == sum(v.value.nbytes for v in variables)
    for prefix in saved:
        reader = load(prefix)
        assert sorted(reader.get_variable_to_shape_map()) == sorted(v.name for v in variables)
        for v in variables:
            got = reader.get_tensor(v.name)
            assert got.dtype == v.value.dtype, (prefix, v.name)
            np.testing.assert_array_equal(got, v.value, err_msg=f"{prefix}: {v.name}")
    # The orders really differ: direct variables first.
    data = [sorted((tmp_path / f"b{b}").glob("model-1.data-*")) for b in (0, 2500, -1)]
    assert [len(d) for d in data] == [1 + sharded] * 3
    partial, full = b"".join(p.read_bytes() for p in data[1]), b"".join(
        p.read_bytes() for p in data[2])
    assert len(partial) == len(full) and partial != full
