"""TensorBoard event files: ckpt writes, TensorBoard reads; TF writes, ckpt reads.

* ckpt_events_driver writes scalars (TF1 simple_value and TF2 tensor style),
  histograms, text, a GraphDef, a MetaGraphDef and SessionLogs; TensorBoard's
  EventAccumulator, its plugin multiplexer + data provider, and TF's
  summary_iterator must read back exactly those values.
* Our histogram buckets must equal TensorFlow's HistogramSummary for the same
  values (TF1 graph mode).
* `ckpt events --format=json` must return the values of files written by TF2
  tf.summary (create_file_writer) and by tf.compat.v1.summary.FileWriter.
"""

import json
import pathlib
import re
import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, TESTDATA_DIR, tf

DRIVER = BUILD_DIR / "tests" / "interop" / "ckpt_events_driver"

from tensorboard import context as tb_context  # noqa: E402
from tensorboard.backend.event_processing import data_provider as tb_data_provider  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator as tb_ea  # noqa: E402
from tensorboard.backend.event_processing import plugin_event_multiplexer as tb_mux  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _require_driver():
    if not DRIVER.exists():
        pytest.fail(f"{DRIVER} not built; build target ckpt_events_driver")


def run_driver(script_lines, tmp_path) -> pathlib.Path:
    script = tmp_path / "script.txt"
    script.write_text("\n".join(script_lines) + "\n")
    proc = subprocess.run([str(DRIVER), str(script)], capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return pathlib.Path(proc.stdout.decode().strip())


def ckpt_events_json(cli, path, *extra):
    proc = subprocess.run([str(cli), "events", str(path), "--format=json", *extra],
                          capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


def f32(x) -> float:
    return float(np.float32(x))


def tf1_histogram(values):
    """HistogramProto as TF1's HistogramSummary op computes it."""
    from tensorflow.core.framework import summary_pb2
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(np.asarray(values, np.float64))
        op = tf.compat.v1.summary.histogram("h", x)
        with tf.compat.v1.Session(graph=g) as sess:
            s = summary_pb2.Summary.FromString(sess.run(op))
    return s.value[0].histo


def small_graph():
    g = tf.Graph()
    with g.as_default():
        a = tf.constant([1.0, 2.0], name="a")
        tf.identity(a * 2.0, name="out")
    return g


RNG = np.random.default_rng(7)
HIST_VALUES = np.concatenate([RNG.normal(0, 3, 200), [0.0, 0.0, -1e-13, 1e-12, 1.0, -1.0, 5e5]])
SCALARS_V1 = [(0, 0.5), (10, 0.25), (20, -1e-8), (30, 3.4028234663852886e38)]
SCALARS_V2 = [(1, 0.1), (2, 123456.789), (3, -0.0)]
TEXT = "hello, wörld\nline two\x00end"


@pytest.fixture(scope="module")
def ckpt_written(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ckpt_events")
    logdir = tmp / "logdir"
    graph_def = small_graph().as_graph_def()
    graph_file = tmp / "graph.pb"
    graph_file.write_bytes(graph_def.SerializeToString())
    with small_graph().as_default():  # export_meta_graph refuses eager mode
        meta = tf.compat.v1.train.export_meta_graph()
    meta_file = tmp / "meta.pb"
    meta_file.write_bytes(meta.SerializeToString())
    lines = [f"logdir {logdir}", "hostname testhost", "suffix " + b".ckpt".hex(),
             "source_writer ckpt.events_driver",
             "session_log START 0", f"graph 0 {graph_file}", f"meta_graph 0 {meta_file}"]
    for step, v in SCALARS_V1:
        lines.append(f"scalar_v1 loss {step} {v!r}")
    for step, v in SCALARS_V2:
        lines.append(f"scalar_v2 acc {step} {v!r}")
    lines.append("histogram weights 5 " + ",".join(repr(float(v)) for v in HIST_VALUES))
    lines.append("histogram empty 6 -")
    lines.append("text notes 7 " + TEXT.encode().hex())
    lines.append("session_log CHECKPOINT 30 " + b"/m/model.ckpt-30".hex())
    path = run_driver(lines, tmp)
    return dict(path=path, logdir=logdir, graph_def=graph_def, meta=meta)


def test_file_name_and_first_record(ckpt_written):
    path = ckpt_written["path"]
    assert path.parent == ckpt_written["logdir"]
    m = re.fullmatch(r"events\.out\.tfevents\.(\d{10})\.testhost\.ckpt", path.name)
    assert m, path.name
    events = list(tf.compat.v1.train.summary_iterator(str(path)))
    assert events[0].file_version == "brain.Event:2"
    assert events[0].wall_time == float(m.group(1))
    kinds = [e.WhichOneof("what") for e in events]
    assert kinds[:4] == ["file_version", "session_log", "graph_def", "meta_graph_def"]
    assert events[1].session_log.status == events[1].session_log.START
    assert events[-1].session_log.status == events[-1].session_log.CHECKPOINT
    assert events[-1].session_log.checkpoint_path == "/m/model.ckpt-30"
    assert events[-1].step == 30
    assert all(e.wall_time >= events[0].wall_time for e in events)


def test_event_accumulator_reads_ckpt_events(ckpt_written):
    acc = tb_ea.EventAccumulator(str(ckpt_written["path"]), size_guidance={
        tb_ea.SCALARS: 0, tb_ea.HISTOGRAMS: 0, tb_ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    assert tags["scalars"] == ["loss"]
    assert sorted(tags["histograms"]) == ["empty", "weights"]
    assert sorted(tags["tensors"]) == ["acc", "notes"]
    assert tags["graph"] and tags["meta_graph"]
    assert acc.GetSourceWriter() == "ckpt.events_driver"

    # TF1-style scalars.
    got = [(e.step, e.value) for e in acc.Scalars("loss")]
    assert got == [(s, f32(v)) for s, v in SCALARS_V1]

    # TF2-style scalars: float32 rank-0 tensors with the scalars plugin.
    acc_events = acc.Tensors("acc")
    assert [e.step for e in acc_events] == [s for s, _ in SCALARS_V2]
    for e, (_, v) in zip(acc_events, SCALARS_V2):
        arr = tf.make_ndarray(e.tensor_proto)
        assert arr.dtype == np.float32 and arr.shape == ()
        assert arr.tobytes() == np.float32(v).tobytes()
    assert acc.SummaryMetadata("acc").plugin_data.plugin_name == "scalars"

    # Histograms: equal to TensorFlow's own HistogramSummary of the values.
    (h,) = acc.Histograms("weights")
    assert h.step == 5
    tfh = tf1_histogram(HIST_VALUES)
    v = h.histogram_value
    assert list(v.bucket_limit) == list(tfh.bucket_limit)
    assert list(v.bucket) == list(tfh.bucket)
    assert (v.min, v.max, v.num, v.sum, v.sum_squares) == (
        tfh.min, tfh.max, tfh.num, tfh.sum, tfh.sum_squares)
    assert sum(v.bucket) == len(HIST_VALUES)
    (e,) = acc.Histograms("empty")
    tfe = tf1_histogram(np.zeros([0]))
    assert list(e.histogram_value.bucket_limit) == list(tfe.bucket_limit)
    assert (e.histogram_value.min, e.histogram_value.max) == (tfe.min, tfe.max)

    # Text.
    (t,) = acc.Tensors("notes")
    assert t.step == 7
    assert tf.make_ndarray(t.tensor_proto).item() == TEXT.encode()
    assert acc.SummaryMetadata("notes").plugin_data.plugin_name == "text"

    # Graph and meta graph, byte for byte. Map fields (collection_def) have no
    # fixed wire order unless serialized deterministically.
    def wire(msg):
        return msg.SerializeToString(deterministic=True)

    assert wire(acc.Graph()) == wire(ckpt_written["graph_def"])
    assert wire(acc.MetaGraph()) == wire(ckpt_written["meta"])


def test_tensorboard_data_provider_reads_both_scalar_styles(ckpt_written):
    logdir = str(ckpt_written["logdir"])
    mux = tb_mux.EventMultiplexer()
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    provider = tb_data_provider.MultiplexerDataProvider(mux, logdir)
    ctx = tb_context.RequestContext()
    scalars = provider.read_scalars(ctx, experiment_id="", plugin_name="scalars", downsample=1000)
    (run,) = scalars.keys()
    assert sorted(scalars[run]) == ["acc", "loss"]
    assert [(d.step, d.value) for d in scalars[run]["loss"]] == [(s, f32(v)) for s, v in SCALARS_V1]
    assert [(d.step, d.value) for d in scalars[run]["acc"]] == [(s, f32(v)) for s, v in SCALARS_V2]
    text = provider.read_tensors(ctx, experiment_id="", plugin_name="text", downsample=100)
    (datum,) = text[run]["notes"]
    assert datum.numpy.item() == TEXT.encode()
    hist = provider.read_tensors(ctx, experiment_id="", plugin_name="histograms", downsample=100)
    (datum,) = hist[run]["weights"]
    # The provider migrates HistogramProto to (left, right, count) rows.
    assert datum.numpy[:, 2].sum() == len(HIST_VALUES)


def test_ckpt_reads_its_own_file_like_tensorboard(ckpt_written, cli):
    doc = ckpt_events_json(cli, ckpt_written["path"])
    by_tag = {}
    for e in doc["events"]:
        by_tag.setdefault(e["tag"], []).append(e)
    assert [(e["step"], e["value"]) for e in by_tag["loss"]] == [(s, f32(v)) for s, v in SCALARS_V1]
    assert [(e["step"], e["value"]) for e in by_tag["acc"]] == [(s, f32(v)) for s, v in SCALARS_V2]
    tfh = tf1_histogram(HIST_VALUES)
    (h,) = by_tag["weights"]
    assert h["value"]["bucket_limit"] == list(tfh.bucket_limit)
    assert h["value"]["bucket"] == list(tfh.bucket)
    assert by_tag["notes"][0]["value"] == TEXT


def test_tf2_summaries_are_wire_identical(tmp_path):
    """Our TF2-style scalar and text Summary bytes equal tf.summary's."""
    logdir = tmp_path / "tf2_same"
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        tf.summary.scalar("loss", 0.5, step=1)
        tf.summary.text("t", "hi ✓", step=3)
    writer.close()
    (tf_path,) = list(logdir.iterdir())
    theirs = [e for e in tf.compat.v1.train.summary_iterator(str(tf_path))]
    ours_path = run_driver([f"logdir {tmp_path / 'ours_same'}", "hostname h",
                            "scalar_v2 loss 1 0.5", "text t 3 " + "hi ✓".encode().hex()], tmp_path)
    ours = [e for e in tf.compat.v1.train.summary_iterator(str(ours_path))]
    assert len(ours) == len(theirs) == 3
    assert ours[0].file_version == theirs[0].file_version
    for a, b in zip(ours[1:], theirs[1:]):
        assert a.step == b.step
        assert a.summary.SerializeToString() == b.summary.SerializeToString()


# ----------------------------------------------------------- TF writes

def test_ckpt_reads_tf2_summaries(tmp_path, cli):
    logdir = tmp_path / "tf2"
    data = RNG.normal(1.0, 2.0, 500).astype(np.float32)
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        for step in range(5):
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
        tf.summary.histogram("h", data, step=3, buckets=10)
        tf.summary.text("t", "some *markdown* ✓", step=4)
    writer.flush()
    writer.close()
    (path,) = list(logdir.iterdir())
    assert re.fullmatch(r"events\.out\.tfevents\.\d{10}\..+\.v2", path.name), path.name

    doc = ckpt_events_json(cli, logdir)
    assert doc["files"] == [str(path)]
    tf_events = list(tf.compat.v1.train.summary_iterator(str(path)))
    ours = doc["events"]
    assert ours[0]["kind"] == "file_version" and ours[0]["value"] == "brain.Event:2"
    assert ours[0]["wall_time"] == tf_events[0].wall_time
    rows = [e for e in ours if e["kind"] != "file_version"]
    tf_values = [(ev, v) for ev in tf_events for v in ev.summary.value]
    assert len(rows) == len(tf_values)
    for row, (ev, v) in zip(rows, tf_values):
        assert row["tag"] == v.tag
        assert row["step"] == ev.step
        assert row["wall_time"] == ev.wall_time
        arr = tf.make_ndarray(v.tensor)
        if v.tag == "loss":
            assert row["kind"] == "scalar"
            assert row["value"] == float(arr)
        elif v.tag == "h":
            assert row["kind"] == "histogram"
            assert row["value"]["bucket_limit"] == [float(x) for x in arr[:, 1]]
            assert row["value"]["bucket"] == [float(x) for x in arr[:, 2]]
            assert row["value"]["num"] == 500
        else:
            assert row["kind"] == "text"
            assert row["value"] == "some *markdown* ✓"
    assert [r["value"] for r in rows if r["tag"] == "loss"] == [f32(1.0 / (s + 1)) for s in range(5)]


def test_ckpt_reads_tf1_file_writer(tmp_path, cli):
    logdir = tmp_path / "tf1"
    values = RNG.uniform(-10, 10, 300)
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [], name="x")
        v = tf.compat.v1.placeholder(tf.float64, [None], name="v")
        tf.compat.v1.summary.scalar("loss", x)
        tf.compat.v1.summary.histogram("acts", v)
        merged = tf.compat.v1.summary.merge_all()
        writer = tf.compat.v1.summary.FileWriter(str(logdir), graph=g)
        writer.add_session_log(tf.compat.v1.SessionLog(status=tf.compat.v1.SessionLog.START), 0)
        with tf.compat.v1.Session(graph=g) as sess:
            for step in (1, 2, 3):
                s = sess.run(merged, {x: step * 0.1, v: values * step})
                writer.add_summary(s, step)
        writer.add_session_log(
            tf.compat.v1.SessionLog(status=tf.compat.v1.SessionLog.CHECKPOINT,
                                    checkpoint_path="/tmp/model.ckpt-3"), 3)
        writer.close()
    (path,) = list(logdir.iterdir())
    assert re.fullmatch(r"events\.out\.tfevents\.\d{10}\.[^.].*", path.name), path.name
    doc = ckpt_events_json(cli, path)
    kinds = [e["kind"] for e in doc["events"]]
    assert kinds[0] == "file_version"
    graph_rows = [e for e in doc["events"] if e["kind"] == "graph_def"]
    (tf_graph,) = [e.graph_def for e in tf.compat.v1.train.summary_iterator(str(path))
                   if e.WhichOneof("what") == "graph_def"]
    assert len(graph_rows) == 1
    assert graph_rows[0]["value"]["bytes"] == len(tf_graph)

    loss = [(e["step"], e["value"]) for e in doc["events"] if e["tag"] == "loss"]
    assert loss == [(s, f32(s * np.float32(0.1))) for s in (1, 2, 3)]
    tf_events = [e for e in tf.compat.v1.train.summary_iterator(str(path))
                 if e.WhichOneof("what") == "summary"]
    tf_hists = [(e.step, val.histo) for e in tf_events for val in e.summary.value
                if val.tag == "acts"]
    ours = [e for e in doc["events"] if e["tag"] == "acts"]
    assert len(ours) == len(tf_hists) == 3
    for row, (step, histo) in zip(ours, tf_hists):
        assert row["kind"] == "histogram" and row["step"] == step
        for field in ("min", "max", "num", "sum", "sum_squares"):
            assert row["value"][field] == getattr(histo, field), field
        assert row["value"]["bucket_limit"] == list(histo.bucket_limit)
        assert row["value"]["bucket"] == list(histo.bucket)
    logs = [e for e in doc["events"] if e["kind"] == "session_log"]
    assert [l["value"]["status"] for l in logs] == ["START", "CHECKPOINT"]
    assert logs[1]["value"]["checkpoint_path"] == "/tmp/model.ckpt-3"

    # And our histogram of the same values equals TF's (default buckets).
    script = [f"logdir {tmp_path / 'ours'}", "hostname h",
              "histogram acts 2 " + ",".join(repr(float(x)) for x in values * 2)]
    ours_path = run_driver(script, tmp_path)
    (ours_row,) = [e for e in ckpt_events_json(cli, ours_path)["events"] if e["tag"] == "acts"]
    assert ours_row["value"] == ours[1]["value"]


def test_lingvo_golden_through_cli(cli):
    path = TESTDATA_DIR / "lingvo/lingvo/core/ops/testdata/events.out.tfevents.test"
    doc = ckpt_events_json(cli, path, "--tag", "bleu/dev")
    values = [(e["step"], e["value"]) for e in doc["events"]]
    assert len(values) == 360
    assert values[0] == (1500, 0.11201018840074539)
    assert max(values, key=lambda sv: sv[1]) == (102600, 0.2882329523563385)
    # TensorBoard agrees.
    acc = tb_ea.EventAccumulator(str(path), size_guidance={tb_ea.SCALARS: 0})
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("bleu/dev")] == values


def test_cli_errors(tmp_path, cli):
    bad = tmp_path / "events.out.tfevents.1.h"
    bad.write_bytes(b"\x05" + b"\x00" * 20)
    proc = subprocess.run([str(cli), "events", str(bad)], capture_output=True)
    assert proc.returncode == 1
    assert b"DATA_LOSS" in proc.stderr and b"offset 0" in proc.stderr
    assert proc.stdout == b""
