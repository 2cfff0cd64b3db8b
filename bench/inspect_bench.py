#!/usr/bin/env python3
"""Open + list a checkpoint as whole processes: `ckpt inspect` vs TensorFlow.

Times (wall clock, fork+exec to exit, stdout to a pipe that is drained):
  ckpt_inspect      <ckpt> inspect --file_name=<prefix>
  tf_inspect        <python> -m tensorflow.python.tools.inspect_checkpoint
                    --file_name=<prefix>
  tf_import         <python> -c "import tensorflow"  (what dominates tf_inspect)
  python_startup    <python> -c "pass"
Each command runs once untimed (page cache, .pyc files), then --reps times,
interleaved. The listing is checked: both tools must exit 0 and print one
line per tensor (the same number of lines).
Writes JSON {"prefix", "tensors", "results": [{"name", "seconds": [...]}]}.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def run(cmd, env):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"inspect_bench: {' '.join(cmd)} failed ({p.returncode}):\n"
                 f"{p.stderr.decode(errors='replace')[-2000:]}")
    return dt, p.stdout.decode(errors="replace")


def listed(out):
    return [ln for ln in out.splitlines() if ln.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True, help="the ckpt CLI binary")
    ap.add_argument("--python", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--tensors", type=int, required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    cmds = {
        "ckpt_inspect": [args.ckpt, "inspect", f"--file_name={args.prefix}"],
        "tf_inspect": [args.python, "-m", "tensorflow.python.tools.inspect_checkpoint",
                       f"--file_name={args.prefix}"],
        "tf_import": [args.python, "-c", "import tensorflow"],
        "python_startup": [args.python, "-c", "pass"],
    }
    lines = {}
    for name, cmd in cmds.items():  # untimed warm-up; checks the listings
        _, out = run(cmd, env)
        lines[name] = len(listed(out))
    for name in ("ckpt_inspect", "tf_inspect"):
        if lines[name] < args.tensors:
            sys.exit(f"inspect_bench: {name} printed {lines[name]} lines for "
                     f"{args.tensors} tensors")
    secs = {name: [] for name in cmds}
    for _ in range(args.reps):
        for name, cmd in cmds.items():
            secs[name].append(run(cmd, env)[0])
    with open(args.out, "w") as f:
        json.dump({"prefix": args.prefix, "tensors": args.tensors, "lines": lines,
                   "results": [{"name": n, "seconds": s} for n, s in secs.items()]},
                  f, indent=1)


if __name__ == "__main__":
    main()
