#!/usr/bin/env python3
"""The Python package against TensorFlow and safetensors (docs/python.md).

1. open + list a 10 000-tensor checkpoint in a fresh process:
   ckpt.list_variables vs tf.train.list_variables (import time reported apart).
2. load every tensor of a ~400 MB checkpoint (100 float32 tensors of 1M):
   ckpt get_tensor (copies), one get_tensors of all (copies, one batch),
   ckpt mmap=True (verified zero-copy views), TF's
   get_tensor loop, safetensors.numpy.load_file of the same tensors. The files
   are read once first (warm page cache); the best of --repeats runs counts.

Run in the test venv (TensorFlow, safetensors): python bench/python_bench.py
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

import ckpt

CHILD = textwrap.dedent("""
    import sys, time
    t0 = time.perf_counter()
    if sys.argv[1] == "ckpt":
        import ckpt as lib
        list_variables = lib.list_variables
    else:
        import tensorflow as tf
        list_variables = tf.train.list_variables
    t1 = time.perf_counter()
    n = len(list_variables(sys.argv[2]))
    t2 = time.perf_counter()
    print(n, t1 - t0, t2 - t1)
""")

LOAD = textwrap.dedent("""
    import sys, time
    which, path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if which == "safetensors":
        from safetensors.numpy import load_file
        load = lambda: load_file(path)
    elif which == "tf":
        import tensorflow as tf
        def load():
            r = tf.train.load_checkpoint(path)
            return {k: r.get_tensor(k) for k in r.get_variable_to_shape_map()}
    elif which == "ckpt-batch":
        import ckpt
        def load():
            r = ckpt.load_checkpoint(path)
            return dict(zip(r.keys(), r.get_tensors(r.keys())))
    else:
        import ckpt
        def load():
            r = ckpt.load_checkpoint(path, mmap=(which == "ckpt-mmap"))
            return {k: r.get_tensor(k) for k in r.keys()}
    best = 1e9
    for _ in range(repeats + 1):  # the first run warms the page cache
        t = time.perf_counter()
        tensors = load()
        total = sum(float(v.reshape(-1)[-1]) for v in tensors.values())  # touch each
        best = min(best, time.perf_counter() - t)
        del tensors
    print(best)
""")


def child(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", script] + [str(a) for a in args], env=env,
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        many = os.path.join(tmp, "many")
        ckpt.save(many, {"layer_%05d/kernel" % i: np.full((4,), i, np.float32)
                         for i in range(10000)})
        print("open + list, 10 000 tensors, fresh process (best of %d):" % args.repeats)
        for lib in ("ckpt", "tf"):
            runs = [child(CHILD, lib, many) for _ in range(args.repeats)]
            assert all(int(r[0]) == 10000 for r in runs)
            print("  %-5s import %7.1f ms   list %7.1f ms" % (
                lib, 1e3 * min(float(r[1]) for r in runs), 1e3 * min(float(r[2]) for r in runs)))

        rng = np.random.default_rng(0)
        tensors = {"t%03d" % i: rng.standard_normal(1 << 20).astype(np.float32)
                   for i in range(100)}
        big = os.path.join(tmp, "big")
        ckpt.save(big, tensors)
        from safetensors.numpy import save_file
        st = os.path.join(tmp, "big.safetensors")
        save_file(tensors, st)
        size = os.path.getsize(big + ".data-00000-of-00001")
        del tensors
        print("load every tensor, %.0f MB, 100 tensors (warm cache, best of %d):"
              % (size / 1e6, args.repeats))
        for which, path in (("ckpt", big), ("ckpt-batch", big), ("ckpt-mmap", big), ("tf", big),
                            ("safetensors", st)):
            seconds = float(child(LOAD, which, path, args.repeats)[0])
            print("  %-12s %7.1f ms  %6.2f GB/s" % (which, 1e3 * seconds, size / seconds / 1e9))


if __name__ == "__main__":
    main()
