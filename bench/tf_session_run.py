#!/usr/bin/env python3
"""TensorFlow side of bench/exec_bench: session.run latency and throughput.

For each model bench/tf_exec_models.py wrote (iris, cnn) and batch size
(1, 100): tf.compat.v1.train.import_meta_graph + saver.restore into a
tf.compat.v1.Session, then session.run(fetches, feed_dict) on the same
inputs (numpy arrays read from <models>/io) that exec_bench feeds. The
outputs are checked against the ones stored in <models>/io (1e-5) first.

Two ways of calling are timed, one call at a time, for about --seconds per
repetition, --reps times (cases interleaved):
  session_run    sess.run(fetches, feed_dict): what a TF 1 user writes.
  callable       sess.make_callable(fetches, feed_list): TF's cheapest
                 Python entry into the same graph (fewer per-call lookups).
Writes JSON: {"tf_version": ..., "results": [{"model", "batch", "variant",
"runs", "latency_us": {"median", "p90", "mean"}, "examples_per_sec": [...],
"setup_ms"}]}.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

v1 = tf.compat.v1


def load_cases(models, io):
    cases = []
    for model in ("iris", "cnn"):
        feeds = [s.decode() for s in io.get_tensor(f"{model}/feeds")]
        fetches = [s.decode() for s in io.get_tensor(f"{model}/fetches")]
        for batch in io.get_tensor(f"{model}/batches"):
            key = f"{model}/b{batch}/"
            t0 = time.perf_counter()
            g = tf.Graph()
            sess = v1.Session(graph=g)
            with g.as_default():
                saver = v1.train.import_meta_graph(os.path.join(models, model, "model.meta"))
                saver.restore(sess, os.path.join(models, model, "model"))
            setup_ms = (time.perf_counter() - t0) * 1e3
            cases.append({
                "model": model, "batch": int(batch), "sess": sess, "fetches": fetches,
                "feed_dict": {n: io.get_tensor(f"{key}feed_{i}") for i, n in enumerate(feeds)},
                "expected": [io.get_tensor(f"{key}fetch_{j}") for j in range(len(fetches))],
                "callable": sess.make_callable(fetches, feeds), "setup_ms": setup_ms,
                "lat": {"session_run": [], "callable": []},
                "eps": {"session_run": [], "callable": []}})
    return cases


def verify(c):
    got = c["sess"].run(c["fetches"], c["feed_dict"])
    for name, g, w in zip(c["fetches"], got, c["expected"]):
        if g.dtype.kind == "f":
            ok = np.allclose(g, w, rtol=1e-5, atol=1e-5)
        else:
            ok = np.array_equal(g, w)
        if not ok:
            sys.exit(f"tf_session_run: {c['model']} batch {c['batch']} fetch {name}: "
                     f"TF's session.run disagrees with the stored outputs")


def timed(c, variant, seconds):
    sess, fetches, fd = c["sess"], c["fetches"], c["feed_dict"]
    if variant == "session_run":
        def call():
            return sess.run(fetches, fd)
    else:
        fn, args = c["callable"], list(fd.values())

        def call():
            return fn(*args)
    for _ in range(10):
        call()
    lat = c["lat"][variant]
    runs = 0
    start = now = time.perf_counter()
    while runs < 10 or now - start < seconds:
        t0 = time.perf_counter()
        call()
        now = time.perf_counter()
        lat.append(now - t0)
        runs += 1
    c["eps"][variant].append(runs * c["batch"] / (now - start))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="tf_exec_models.py's --out")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    io = tf.train.load_checkpoint(os.path.join(args.models, "io"))
    cases = load_cases(args.models, io)
    for c in cases:
        verify(c)
    for _ in range(args.reps):
        for c in cases:
            for variant in ("session_run", "callable"):
                timed(c, variant, args.seconds / args.reps)
    results = []
    for c in cases:
        for variant in ("session_run", "callable"):
            lat = np.array(c["lat"][variant])
            results.append({
                "model": c["model"], "batch": c["batch"], "variant": variant, "runs": len(lat),
                "latency_us": {"median": float(np.median(lat) * 1e6),
                               "p90": float(np.percentile(lat, 90) * 1e6),
                               "mean": float(lat.mean() * 1e6)},
                "examples_per_sec": c["eps"][variant], "setup_ms": c["setup_ms"]})
            print(f"tf_session_run: {c['model']} batch {c['batch']} {variant}: median "
                  f"{np.median(lat) * 1e6:.1f} us, {c['eps'][variant][-1]:.0f} ex/s",
                  file=sys.stderr)
    out = {"tf_version": tf.__version__, "python": sys.version.split()[0],
           "intra_op_threads": "default", "results": results}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
