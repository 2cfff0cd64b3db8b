"""TensorBoard in a real browser over a logdir written by ckpt.

ckpt_events_driver (ckpt::EventWriter) writes a run `train` the way a TF1
Estimator does: a `loss` scalar as Summary.Value.simple_value at 50 steps and
a `weights` histogram (HistogramProto over TensorFlow's default buckets) at a
few steps. Then real TensorBoard (the venv's `tensorboard.main`, on
127.0.0.1 and a free port) serves that logdir and:

* its HTTP data API lists the run and both tags, returns every `loss` step
  and value exactly (the float32 we wrote) and every histogram with the
  bucket counts TensorFlow's bucketing gives;
* headless Chromium (Debian's `chromium`) renders the Time Series dashboard:
  the serialized DOM holds a scalar card titled `loss` whose data table shows
  run `train` at the last step with the last value, and a histogram card
  titled `weights`;
* headless Chromium renders the Scalars dashboard to
  $CKPT_BUILD_DIR/artifacts/tensorboard_loss.png, and the screenshot holds
  the drawn `loss` curve: pixels of the run's line colour spanning the plot,
  falling from left to right as the loss does. (Time Series draws its charts
  with WebGL/OffscreenCanvas, which headless screenshots leave blank, so the
  picture comes from the Scalars dashboard, whose charts are SVG.)

TensorBoard and Chromium run in their own process groups and are killed in
teardown; every wait is bounded. Skipped only when chromium is not installed
(scripts/deps.sh installs it).
"""

import bisect
import html
import math
import pathlib
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import BUILD_DIR
import tensorboard_browser as tbb

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_events_driver"
ARTIFACTS = BUILD_DIR / "artifacts"
CHROMIUM = tbb.find_chromium()

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (scripts/deps.sh installs Debian's `chromium`; "
           "or set CKPT_CHROMIUM to a Chromium binary)")

RUN = "train"
STEPS = 50
HIST_STEPS = (0, 10, 20, 30, 40, 49)
HIST_SIZE = 300
# The first run's colour in the Scalars dashboard (TensorBoard's palette
# starts with material deep-orange 400).
LINE_COLOR = (0xFF, 0x70, 0x43)


def loss_at(step: int) -> float:
    """The loss we log: a falling curve, as float32 (what simple_value holds)."""
    return float(np.float32(2.0 * math.exp(-step / 10.0) + 0.25))


def weights_at(step: int) -> np.ndarray:
    """Deterministic values whose spread and centre move with the step."""
    u = np.linspace(-1.0, 1.0, HIST_SIZE)
    return u * u * u * (0.5 + step / 25.0) + step / 20.0


# --------------------------------------------------------------- writing

def write_ckpt_logdir(run_dir: pathlib.Path) -> pathlib.Path:
    """Writes the run with ckpt_events_driver (ckpt::EventWriter); returns
    the event file's path."""
    lines = [f"logdir {run_dir}"]
    for step in range(STEPS):
        lines.append(f"scalar_v1 loss {step} {loss_at(step)!r}")
        if step in HIST_STEPS:
            values = ",".join(repr(v) for v in weights_at(step).tolist())
            lines.append(f"histogram weights {step} {values}")
    script = run_dir.parent / (run_dir.name + ".events-script.txt")
    script.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([str(DRIVER), str(script)], capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"ckpt_events_driver failed ({proc.returncode}):\n"
                             f"{proc.stderr.decode(errors='replace')}")
    return pathlib.Path(proc.stdout.decode().strip())


# ------------------------------------------------------------ TF buckets

def default_bucket_limits():
    """TensorFlow's default histogram bucket limits (histogram.cc), computed
    here independently of ckpt."""
    pos = []
    v = 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-x for x in reversed(pos)] + [0.0] + pos + [sys.float_info.max]


def expected_buckets(values: np.ndarray):
    """(right edge, count) of every non-empty bucket as TensorBoard serves a
    TF1 histogram: float32 edges, the last right edge replaced by the max."""
    limits = default_bucket_limits()
    counts = {}
    for v in values.tolist():
        i = bisect.bisect_right(limits, v)
        counts[i] = counts.get(i, 0) + 1
    idx = sorted(counts)
    rights = [limits[i] for i in idx[:-1]] + [float(values.max())]
    return [(float(np.float32(r)), float(counts[i])) for r, i in zip(rights, idx)]


# ------------------------------------------------------------------ DOM

def elements(dom: str, name: str):
    """Outer HTML of every <name> element (not nested in itself)."""
    return re.findall(rf"<{name}\b.*?</{name}>", dom, flags=re.S)


def text_of(fragment: str) -> str:
    fragment = re.sub(r"<(style|script)\b.*?</\1>", " ", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def card_title(card: str) -> str:
    m = re.search(r'<tb-truncated-path\b[^>]*\btitle="([^"]*)"', card)
    return html.unescape(m.group(1)) if m else ""


# ----------------------------------------------------------------- tests

@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_events_driver")
    root = tmp_path_factory.mktemp("tb_logdir")
    event_file = write_ckpt_logdir(root / RUN)
    files = sorted((root / RUN).iterdir())
    assert files == [event_file] and event_file.name.startswith("events.out.tfevents."), files
    return root


@pytest.fixture(scope="module")
def tensorboard(logdir, tmp_path_factory):
    server = tbb.TensorBoard(logdir, tmp_path_factory.mktemp("tensorboard"))
    server.start(ready_timeout=60)
    try:
        yield server
    finally:
        server.stop()


def test_tensorboard_shows_ckpt_logdir(logdir, tensorboard, tmp_path):
    t0 = time.monotonic()
    expected_loss = [(s, loss_at(s)) for s in range(STEPS)]

    # ---- HTTP data API (TensorBoard loads the logdir in the background).
    tags = tensorboard.wait_json(
        "/data/plugin/scalars/tags",
        lambda r: "loss" in r.get(RUN, {}))
    assert RUN in tensorboard.get_json("/data/runs")
    assert list(tags) == [RUN], tags
    assert list(tags[RUN]) == ["loss"], tags

    scalars_path = f"/data/plugin/scalars/scalars?run={RUN}&tag=loss"
    series = tensorboard.wait_json(scalars_path, lambda r: len(r) >= STEPS)
    got = [(step, value) for _wall, step, value in series]
    assert got == expected_loss, "TensorBoard's loss series differs from what ckpt wrote"
    walls = [wall for wall, _step, _value in series]
    assert walls == sorted(walls) and abs(walls[-1] - time.time()) < 3600, walls

    htags = tensorboard.wait_json("/data/plugin/histograms/tags",
                                  lambda r: "weights" in r.get(RUN, {}))
    assert list(htags.get(RUN, {})) == ["weights"], htags
    hist = tensorboard.wait_json(f"/data/plugin/histograms/histograms?run={RUN}&tag=weights",
                                 lambda r: len(r) >= len(HIST_STEPS))
    assert [h[1] for h in hist] == list(HIST_STEPS)
    for _wall, step, buckets in hist:
        values = weights_at(step)
        assert sum(b[2] for b in buckets) == HIST_SIZE, f"step {step}: bucket counts"
        assert buckets[0][0] == float(np.float32(values.min())), f"step {step}: min"
        nonempty = [(b[1], b[2]) for b in buckets if b[2] > 0]
        assert nonempty == expected_buckets(values), f"step {step}: buckets differ"

    # ---- Time Series dashboard: what the page shows, from the DOM.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dom = tbb.chromium_page(CHROMIUM, tensorboard.url + "/#timeseries", tmp_path / "ts",
                            screenshot=ARTIFACTS / "tensorboard_timeseries.png",
                            budget_ms=15000, timeout=30)
    (ARTIFACTS / "tensorboard_timeseries.html").write_text(dom)
    scalar_cards = elements(dom, "scalar-card")
    assert [card_title(c) for c in scalar_cards] == ["loss"], (
        "Time Series shows no single scalar card titled 'loss'; cards: "
        f"{[card_title(c) for c in scalar_cards]} (DOM in {ARTIFACTS})")
    rows = elements(scalar_cards[0], "tb-data-table-content-row")
    assert rows, f"the loss card has no data table rows: {text_of(scalar_cards[0])[:500]}"
    headers = [text_of(h) for h in elements(scalar_cards[0], "tb-data-table-header-cell")]
    cells = [text_of(c) for c in elements(rows[0], "tb-data-table-content-cell")]
    row = dict(zip(headers, cells))  # Run, Smoothed, Value, Step, Relative
    assert row.get("Run") == RUN and row.get("Step") == str(STEPS - 1), (headers, cells)
    # The card's table shows the last step; "Value" is rounded for display.
    assert math.isclose(float(row["Value"]), loss_at(STEPS - 1), rel_tol=1e-3), row
    hist_cards = elements(dom, "histogram-card")
    assert [card_title(c) for c in hist_cards] == ["weights"], (
        f"histogram cards: {[card_title(c) for c in hist_cards]}")

    # ---- Scalars dashboard: the drawn chart, from the screenshot.
    png = ARTIFACTS / "tensorboard_loss.png"
    if png.exists():
        png.unlink()
    dom = tbb.chromium_page(CHROMIUM, tensorboard.url + "/#scalars", tmp_path / "scalars",
                            screenshot=png, budget_ms=15000, timeout=30)
    assert "tf-scalar-dashboard" in dom, "the Scalars dashboard did not load"
    img = tbb.read_png(png)
    assert (img.width, img.height) == (1400, 1000)
    # Right of the runs sidebar, below the header: only the chart's line has
    # the run colour there.
    pts = tbb.color_pixels(img, LINE_COLOR, tolerance=12, box=(340, 110, img.width, img.height))
    assert len(pts) >= 150, f"no loss curve drawn in {png} ({len(pts)} line pixels)"
    xs = sorted({x for x, _ in pts})
    assert xs[-1] - xs[0] >= 150, f"the curve spans only x {xs[0]}..{xs[-1]} in {png}"
    left = [y for x, y in pts if x <= xs[0] + (xs[-1] - xs[0]) // 10]
    right = [y for x, y in pts if x >= xs[-1] - (xs[-1] - xs[0]) // 10]
    # Screen y grows downwards: a falling loss starts high (small y).
    assert max(left) < min(right) - 40, (
        f"the curve in {png} does not fall from left to right "
        f"(left y {min(left)}..{max(left)}, right y {min(right)}..{max(right)})")
    assert time.monotonic() - t0 < 90
