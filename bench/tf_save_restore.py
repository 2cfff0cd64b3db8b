#!/usr/bin/env python3
"""TensorFlow side-by-side for bench/bundle_bench: same workloads, same disk.

Measures, per workload (sizes taken from `bundle_bench --bench_dump_sizes`):
  (Every timed save follows an identical untimed save that is deleted, and
  every timed restore follows an untimed prefault of free memory: see
  bundle_bench.cc, PrefaultFreeMemory and BM_Save, for why on this VM.)
  tf_savev2/<w>             tf.raw_ops.SaveV2 (eager) of pre-built tensors,
                            then fsync of the data and index files and the
                            directory. SaveV2 itself does not fsync; the
                            fsyncs are timed so the result is as durable as
                            ckpt's sync=true save.
  tf_restorev2/<w>/<cache>  tf.raw_ops.RestoreV2 (eager) of every tensor.
                            Allocates new tensors (TF has no read-into-buffer
                            op); compare with ckpt restore_readinto.
  tf_ckpt_write/<w>         tf.train.Checkpoint(vars=[...]).write(prefix) of
                            tf.Variables, then the same fsyncs.
  tf_ckpt_read/<w>/<cache>  Checkpoint.read(prefix) into those variables
                            (assigns into existing buffers).
  And for a workload marked "load" (real shapes, e.g. bert_base):
  tf_get_tensor/<w>         tf.train.load_checkpoint(prefix) + get_tensor of
                            every variable into new numpy arrays, warm (the
                            file written by SaveV2 first); compare with ckpt
                            load_gettensor (CheckpointReader::GetTensor)
  safetensors_load_file/<w> safetensors.numpy.load_file of the same arrays
                            saved as one .safetensors file, warm (no
                            checksums: the format has none); skipped if the
                            safetensors package is missing
Timing: time.perf_counter around the call(s), one save/restore per
repetition. Cache states as in bundle_bench: warm = files read once before
timing, cold = posix_fadvise(DONTNEED) on the files before each repetition;
the resident fraction is not measured here (no mincore in Python) but the
same mechanism is verified in bundle_bench.
"""
import argparse
import gc
import json
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def bundle_files(prefix):
    d = os.path.dirname(prefix)
    base = os.path.basename(prefix)
    return [os.path.join(d, f) for f in sorted(os.listdir(d))
            if f.startswith(base + ".")]


def fsync_bundle(prefix):
    for f in bundle_files(prefix):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fd = os.open(os.path.dirname(prefix), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def set_cache(prefix, cold):
    for f in bundle_files(prefix):
        fd = os.open(f, os.O_RDONLY)
        try:
            if cold:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            else:
                while os.read(fd, 8 << 20):
                    pass
        finally:
            os.close(fd)


def clear_dir(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    os.sync()


def prefault(nbytes):
    """Faults in and frees nbytes + 64 MiB of anonymous memory, untimed.

    Same as bundle_bench's PrefaultFreeMemory: in this VM, memory freed a
    while ago goes back to the host and costs ~3 s of CPU per GiB to touch
    again; this makes the page cache (and RestoreV2's new tensors) land on
    memory the host already backs, as on the ckpt side.
    """
    a = np.ones(nbytes + (64 << 20), dtype=np.uint8)
    del a


def timed(fn, prefault_bytes=0):
    if prefault_bytes:
        prefault(prefault_bytes)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_workload(name, keys, elems, base_dir, reps, results):
    total_bytes = 4 * sum(elems)
    rng = np.random.default_rng(7)
    flat = rng.random(sum(elems), dtype=np.float32)
    splits = np.cumsum(elems)[:-1]
    arrays = np.split(flat, splits) if len(elems) > 1 else [flat]
    n = len(keys)
    slices = [""] * n
    wdir = os.path.join(base_dir, name)

    def record(bench, secs):
        results.append({"name": bench, "bytes": total_bytes, "tensors": n,
                        "seconds": secs})
        med = sorted(secs)[len(secs) // 2]
        print(f"{bench:40s} median {med * 1e3:9.1f} ms  "
              f"{total_bytes / med / 2**30:6.2f} GiB/s", flush=True)

    # ---- raw ops ----
    tensors = [tf.constant(a) for a in arrays]
    prefix = os.path.join(wdir, "savev2", "ckpt")
    secs = []
    for _ in range(reps):
        def save():
            tf.raw_ops.SaveV2(prefix=prefix, tensor_names=keys,
                              shape_and_slices=slices, tensors=tensors)
            fsync_bundle(prefix)
        # Untimed identical save + delete first, as bundle_bench does for
        # ckpt and the raw baseline (page-cache memory just freed is reused).
        clear_dir(os.path.dirname(prefix))
        save()
        clear_dir(os.path.dirname(prefix))
        secs.append(timed(save))
    record(f"tf_savev2/{name}", secs)
    del tensors
    gc.collect()

    dtypes = [tf.float32] * n
    for cold in (False, True):
        secs = []
        for _ in range(reps):
            set_cache(prefix, cold)
            out = []

            def restore():
                out.append(tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=keys,
                                                shape_and_slices=slices,
                                                dtypes=dtypes))
            secs.append(timed(restore, total_bytes))
            got = out[0]
            assert len(got) == n and tuple(got[-1].shape) == (elems[-1],)
            del out, got
            gc.collect()
        record(f"tf_restorev2/{name}/{'cold' if cold else 'warm'}", secs)
    shutil.rmtree(os.path.dirname(prefix), ignore_errors=True)

    # ---- tf.train.Checkpoint ----
    variables = [tf.Variable(a) for a in arrays]
    ckpt = tf.train.Checkpoint(vars=variables)
    prefix = os.path.join(wdir, "checkpoint", "ckpt")
    secs = []
    for _ in range(reps):
        def write():
            ckpt.write(prefix)
            fsync_bundle(prefix)
        clear_dir(os.path.dirname(prefix))  # untimed warm-up write, as above
        write()
        clear_dir(os.path.dirname(prefix))
        secs.append(timed(write))
    record(f"tf_ckpt_write/{name}", secs)
    for cold in (False, True):
        secs = []
        for _ in range(reps):
            set_cache(prefix, cold)
            status = []

            def read():
                status.append(ckpt.read(prefix))
            secs.append(timed(read, total_bytes if cold else 0))
            status[0].assert_existing_objects_matched()
        record(f"tf_ckpt_read/{name}/{'cold' if cold else 'warm'}", secs)
    del ckpt, variables, arrays, flat
    gc.collect()
    shutil.rmtree(wdir, ignore_errors=True)


def run_load(name, keys, shapes, base_dir, reps, results):
    """Fresh-memory loads of every variable of a warm checkpoint."""
    rng = np.random.default_rng(7)
    arrays = [rng.random(tuple(s), dtype=np.float32) for s in shapes]
    total_bytes = sum(a.nbytes for a in arrays)
    n = len(keys)
    wdir = os.path.join(base_dir, name)
    prefix = os.path.join(wdir, "ckpt")
    os.makedirs(wdir, exist_ok=True)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=keys, shape_and_slices=[""] * n,
                      tensors=[tf.constant(a) for a in arrays])

    def record(bench, secs):
        results.append({"name": bench, "bytes": total_bytes, "tensors": n, "seconds": secs})
        med = sorted(secs)[len(secs) // 2]
        print(f"{bench:40s} median {med * 1e3:9.1f} ms  "
              f"{total_bytes / med / 2**30:6.2f} GiB/s", flush=True)

    def check(loaded):
        assert len(loaded) == n
        assert np.array_equal(loaded[keys[-1]], arrays[-1])

    secs = []
    for _ in range(reps):
        set_cache(prefix, False)
        out = {}

        def load():
            reader = tf.train.load_checkpoint(prefix)
            for k in keys:
                out[k] = reader.get_tensor(k)
        secs.append(timed(load, total_bytes))
        check(out)
        del out
        gc.collect()
    record(f"tf_get_tensor/{name}", secs)

    try:
        from safetensors.numpy import load_file, save_file
    except ImportError:
        print("safetensors not installed: skipping safetensors_load_file", flush=True)
    else:
        path = os.path.join(wdir, "model.safetensors")
        save_file(dict(zip(keys, arrays)), path)
        secs = []
        for _ in range(reps):
            with open(path, "rb") as f:  # warm
                while f.read(8 << 20):
                    pass
            out = {}

            def load_st():
                out.update(load_file(path))
            secs.append(timed(load_st, total_bytes))
            check(out)
            del out
            gc.collect()
        record(f"safetensors_load_file/{name}", secs)
    del arrays
    gc.collect()
    shutil.rmtree(wdir, ignore_errors=True)


def warm_up(base):
    """Runs every measured API once on a tiny tensor (op/kernel setup, imports)."""
    prefix = os.path.join(base, "warmup", "ckpt")
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    t = tf.constant(np.ones(4, np.float32))
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["w"], shape_and_slices=[""], tensors=[t])
    tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=["w"], shape_and_slices=[""],
                         dtypes=[tf.float32])
    tf.train.load_checkpoint(prefix).get_tensor("w")
    ckpt = tf.train.Checkpoint(vars=[tf.Variable(t)])
    ckpt.write(prefix + "2")
    ckpt.read(prefix + "2").assert_existing_objects_matched()
    shutil.rmtree(os.path.dirname(prefix), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", required=True, help="JSON from bundle_bench --bench_dump_sizes")
    ap.add_argument("--dir", required=True, help="scratch directory (same disk as bundle_bench's)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", required=True, help="results JSON")
    args = ap.parse_args()

    with open(args.sizes) as f:
        sizes = json.load(f)
    base = os.path.join(args.dir, "tf")
    os.makedirs(base, exist_ok=True)
    results = []
    try:
        warm_up(base)
        for name, w in sizes.items():
            if w.get("load"):
                run_load(name, w["keys"], w["shapes"], base, args.reps, results)
            else:
                run_workload(name, w["keys"], w["elems"], base, args.reps, results)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    with open(args.out, "w") as f:
        json.dump({"tf_version": tf.__version__, "numpy_version": np.__version__,
                   "python": sys.version.split()[0],
                   "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                   "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
