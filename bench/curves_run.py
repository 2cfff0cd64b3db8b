#!/usr/bin/env python3
"""Runs the points of the cost curves (called by bench/curves).

Two sweeps: checkpoint size at a fixed tensor count (--size-tensors), and
tensor count at a fixed total size (--count-bytes). A point shared by both is
run once. Per point: bench/curve_bench (ckpt, its own process), then
bench/tf_curve.py (TensorFlow, its own process, killed after --tf-timeout s).
Within a sweep, a TF operation that took over --tf-limit seconds (or did not
finish) is skipped at the larger points; a point whose save is skipped is not
run at all. Writes JSON {"points": [...], "sweeps": {...}, ...} to --out.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

TF_OPS = ("save", "open_list", "restore")


def log(msg):
    print(f"[bench/curves {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_ckpt(args, nbytes, tensors, reps):
    out = os.path.join(args.results, f"ckpt_{nbytes}_{tensors}.json")
    cmd = [args.curve_bench, f"--dir={args.dir}", f"--bytes={nbytes}", f"--tensors={tensors}",
           f"--reps={reps}", f"--ckpt={args.ckpt}", f"--json={out}"]
    subprocess.run(cmd, check=True)
    with open(out) as f:
        return json.load(f)


def run_tf(args, nbytes, tensors, reps, skip):
    cmd = [args.python, os.path.join(args.root, "bench", "tf_curve.py"), f"--bytes={nbytes}",
           f"--tensors={tensors}", f"--dir={args.dir}", f"--reps={reps}",
           f"--skip={','.join(sorted(skip))}"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    got, timed_out = {}, False
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        out, _ = p.communicate(timeout=args.tf_timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        timed_out = True
    for line in out.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            got[d["op"]] = d["seconds"]
    if p.returncode not in (0, None) and not timed_out:
        log(f"WARNING: TF at {nbytes} B / {tensors} tensors exited {p.returncode}")
    shutil.rmtree(os.path.join(args.dir, "tf"), ignore_errors=True)
    return got, timed_out, time.perf_counter() - t0


def median(v):
    v = sorted(v)
    n = len(v)
    return None if n == 0 else (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--curve-bench", required=True)
    ap.add_argument("--ckpt", required=True, help="the ckpt CLI")
    ap.add_argument("--python", default="", help="Python with TensorFlow ('' = no TF)")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--sizes", required=True, help="comma-separated byte counts")
    ap.add_argument("--size-tensors", type=int, default=100)
    ap.add_argument("--counts", required=True, help="comma-separated tensor counts")
    ap.add_argument("--count-bytes", type=int, required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tf-limit", type=float, default=60)
    ap.add_argument("--tf-timeout", type=float, default=600)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.results, exist_ok=True)
    sweeps = {
        "size": [(int(b), args.size_tensors) for b in args.sizes.split(",")],
        "count": [(args.count_bytes, int(t)) for t in args.counts.split(",")],
    }
    points = {}  # (bytes, tensors) -> result
    tf_skip = {"size": set(), "count": set()}
    for sweep in ("count", "size"):
        for nbytes, tensors in sweeps[sweep]:
            key = (nbytes, tensors)
            if key not in points:
                reps = args.reps if nbytes < (2 << 30) else max(1, args.reps - 1)
                log(f"ckpt: {nbytes} B in {tensors} tensors ({reps} reps)")
                r = run_ckpt(args, nbytes, tensors, reps)
                r["tf"] = {}
                r["tf_skipped"] = {}
                points[key] = r
            r = points[key]
            if not args.python:
                continue
            todo = [op for op in TF_OPS if op not in tf_skip[sweep] and op not in r["tf"]]
            if not todo:
                for op in TF_OPS:
                    if op not in r["tf"]:
                        r["tf_skipped"].setdefault(op, f"over {args.tf_limit:.0f} s at a smaller point")
                continue
            if "save" in tf_skip[sweep]:
                for op in TF_OPS:
                    r["tf_skipped"].setdefault(op, f"save over {args.tf_limit:.0f} s at a smaller point")
                continue
            skip = {op for op in TF_OPS if op not in todo}
            log(f"TF: {nbytes} B in {tensors} tensors (skipping {sorted(skip) or 'nothing'})")
            got, timed_out, wall = run_tf(args, nbytes, tensors, args.reps, skip)
            for op in TF_OPS:
                if op in got:
                    r["tf"][op] = got[op]
                    if median(got[op]) > args.tf_limit:
                        tf_skip[sweep].add(op)
                elif op in todo:
                    r["tf_skipped"][op] = (f"killed after {args.tf_timeout:.0f} s" if timed_out
                                           else "failed")
                    tf_skip[sweep].add(op)
            for op, secs in got.items():  # extra measurements (open_list_cpu)
                r["tf"].setdefault(op, secs)
            if timed_out:
                log(f"TF: killed after {wall:.0f} s; finished {sorted(got)}")
    out = {"sweeps": {k: [list(p) for p in v] for k, v in sweeps.items()},
           "size_tensors": args.size_tensors, "count_bytes": args.count_bytes,
           "tf_limit": args.tf_limit, "tf_timeout": args.tf_timeout,
           "points": list(points.values())}
    if args.python:
        v = subprocess.run([args.python, "-c", "import tensorflow as tf; print(tf.__version__)"],
                           capture_output=True, text=True,
                           env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        out["tf_version"] = v.stdout.strip()
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    log(f"results in {args.out}")


if __name__ == "__main__":
    main()
