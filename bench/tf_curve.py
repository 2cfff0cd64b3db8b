#!/usr/bin/env python3
"""TensorFlow side of the cost curves (bench/curves): one point per process.

The same checkpoint as bench/curve_bench.cc: --bytes of float32 in --tensors
equal tensors (the first takes the remainder), named model/block_NNNNNNN/kernel,
in --dir. Times (time.perf_counter, median of --reps; one rep only when the
first takes over 20 s):
  save       tf.raw_ops.SaveV2 (eager) of pre-built tensors, then fsync of the
             files and the directory (as bench/tf_save_restore.py: SaveV2 does
             not fsync, ckpt's save does)
  open_list  tf.train.load_checkpoint + get_variable_to_shape_map +
             get_variable_to_dtype_map (also its CPU seconds, time.process_time,
             averaged over the repetitions: "open_list_cpu")
  restore    tf.raw_ops.RestoreV2 (eager) of every tensor, files warm (TF has
             no read-into-buffer op: it allocates new tensors)
--skip names operations not to run (the driver skips an operation at larger
points once it took over a minute); save always runs, the others need its
files, but with "save" in --skip its time is not recorded.
Prints one JSON line per finished operation ({"op", "seconds"}), so a driver
that kills a slow process still has what finished.
"""
import argparse
import json
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def fsync_bundle(prefix):
    d = os.path.dirname(prefix)
    base = os.path.basename(prefix)
    for f in sorted(os.listdir(d)):
        if f.startswith(base + "."):
            fd = os.open(os.path.join(d, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def emit(op, secs):
    print(json.dumps({"op": op, "seconds": secs}), flush=True)


def repeat(fn, reps):
    secs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t0)
        if secs[0] > 20:
            break
    return secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bytes", type=int, required=True)
    ap.add_argument("--tensors", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma-separated: save,open_list,restore")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    n = args.tensors
    elems = args.bytes // 4
    keys = [f"model/block_{i:07d}/kernel" for i in range(n)]
    counts = [elems // n + (elems % n if i == 0 else 0) for i in range(n)]
    # Built one at a time so only one numpy copy is alive.
    tensors = [tf.constant(np.full(c, i % 1000, dtype=np.float32)) for i, c in enumerate(counts)]
    slices = [""] * n
    wdir = os.path.join(args.dir, "tf")
    shutil.rmtree(wdir, ignore_errors=True)
    os.makedirs(wdir)
    prefix = os.path.join(wdir, "model")
    try:
        def save():
            tf.raw_ops.SaveV2(prefix=prefix, tensor_names=keys, shape_and_slices=slices,
                              tensors=tensors)
            fsync_bundle(prefix)
        secs = repeat(save, 1 if "save" in skip else args.reps)
        if "save" not in skip:
            emit("save", secs)
        del tensors

        if "open_list" not in skip:
            def open_list():
                r = tf.train.load_checkpoint(prefix)
                shapes = r.get_variable_to_shape_map()
                dtypes = r.get_variable_to_dtype_map()
                assert len(shapes) == n and len(dtypes) == n
            open_list()  # warm-up, untimed
            c0 = time.process_time()
            secs = repeat(open_list, args.reps)
            emit("open_list", secs)
            emit("open_list_cpu", [(time.process_time() - c0) / len(secs)] * len(secs))

        if "restore" not in skip:
            dtypes = [tf.float32] * n

            def restore():
                got = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=keys,
                                           shape_and_slices=slices, dtypes=dtypes)
                assert len(got) == n and int(got[-1].shape[0]) == counts[-1]
            emit("restore", repeat(restore, args.reps))
    finally:
        shutil.rmtree(wdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
