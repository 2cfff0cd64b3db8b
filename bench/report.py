#!/usr/bin/env python3
"""Writes the generated part of docs/benchmarks.md from one bench/run.

Inputs: bundle_bench's Google Benchmark JSON, optionally the JSON of
bench/tf_save_restore.py, and run facts passed on the command line. Machine
facts (nproc, memory, disk, kernel, CPU) are read here. Every ratio is
computed from numbers of this same run.

The document keeps hand-written text: only the part between
<!-- BEGIN GENERATED --> and <!-- END GENERATED --> is replaced (the whole
file is created if missing or if it has no markers).
"""
import argparse
import json
import os
import platform
import re
import subprocess
import statistics

BEGIN = "<!-- BEGIN GENERATED (bench/run; do not edit by hand) -->"
END = "<!-- END GENERATED -->"
# The graph-execution section (exec_bench + tf_session_run.py) has its own
# markers, so `bench/run --exec-only` can regenerate it alone.
EXEC_BEGIN = "<!-- BEGIN GENERATED GRAPH EXECUTION (bench/run --exec-only; do not edit by hand) -->"
EXEC_END = "<!-- END GENERATED GRAPH EXECUTION -->"
GIB = float(1 << 30)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, check=False, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""


def load_bench(path):
    """name -> dict(gibs=[...], ms=[...], resident=[...], error=str|None)."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") != "iteration":
            continue
        name = b.get("run_name", b["name"]).split("/iterations:")[0]
        r = out.setdefault(name, {"gibs": [], "ms": [], "cpu_ms": [], "resident": [],
                                  "error": None})
        if b.get("error_occurred"):
            r["error"] = b.get("error_message", "error")
            continue
        if "bytes_per_second" in b:  # not for open_view (a latency)
            r["gibs"].append(b["bytes_per_second"] / GIB)
        # real_time is in the benchmark's unit (ms here) per iteration.
        r["ms"].append(b["real_time"])
        r["cpu_ms"].append(b["cpu_time"])
        if "resident_before" in b:
            r["resident"].append(b["resident_before"])
        if "tensors" in b:
            r["tensors"] = b["tensors"]
        if "bytes_per_second" in b:
            r["bytes"] = b["bytes_per_second"] * b["real_time"] / 1e3  # ms per iteration
    return data.get("context", {}), out


def load_tf(path):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for r in data["results"]:
        out[r["name"]] = {"gibs": [r["bytes"] / s / GIB for s in r["seconds"]],
                          "ms": [s * 1e3 for s in r["seconds"]], "cpu_ms": [], "resident": [],
                          "error": None, "bytes": r["bytes"], "tensors": r.get("tensors")}
    return data, out


def load_json(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def mmed(v):
    return statistics.median(v) if v else None


def fmt_range(v, f="{:.0f}"):
    if not v:
        return "n/a"
    if len(v) == 1:
        return f.format(v[0])
    return (f + " (" + f + "–" + f + ")").format(statistics.median(v), min(v), max(v))


def verdict(value, target, higher_is_better=True):
    """'met' / 'not met' with the distance to the target."""
    if value is None:
        return "not measured"
    if higher_is_better:
        ok = value >= target
        rel = value / target
    else:
        if value <= target:
            return f"**met** (limit {target:g})"
        return f"**not met** ({value / target:.2f}× the limit {target:g})"
    if ok:
        return f"**met** ({rel:.2f}× the target)"
    return f"**not met** ({rel * 100:.0f}% of the target)"


def med(r):
    return statistics.median(r["gibs"]) if r and r["gibs"] else None


def fmt_tp(r):
    if r is None:
        return "n/a"
    if r["error"]:
        return "error: " + r["error"]
    g = r["gibs"]
    if len(g) == 1:
        return f"{g[0]:.2f}"
    return f"{statistics.median(g):.2f} ({min(g):.2f}–{max(g):.2f})"


def fmt_ratio(a, b):
    ma, mb = med(a), med(b)
    if ma is None or mb is None or mb == 0:
        return "n/a"
    return f"**{ma / mb:.2f}×**"


def machine_facts(bench_dir):
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1") or platform.processor()
    virt = sh("lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1")
    df = sh(f"df -h --output=source,fstype,size,used,avail,target '{bench_dir}' | tail -1")
    dev = sh(f"df --output=source '{bench_dir}' | tail -1")
    rot = ""
    m = re.match(r"/dev/([a-z]+)", dev)
    if m:
        rot = sh(f"cat /sys/block/{m.group(1)}/queue/rotational 2>/dev/null")
    return {
        "nproc": sh("nproc"),
        "cpu": cpu + (f" ({virt} guest)" if virt else ""),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "disk": " ".join(df.split()) + (f" (rotational={rot})" if rot else ""),
        "mount": sh(f"findmnt -n -o FSTYPE,OPTIONS -T '{bench_dir}'"),
        "kernel": platform.release(),
    }


def best_raw_write(b, w):
    """The faster (by median) of raw_write/<w> and raw_write_direct/<w>."""
    cands = [r for r in (b.get(f"raw_write/{w}"), b.get(f"raw_write_direct/{w}")) if r and r["gibs"]]
    return max(cands, key=lambda r: statistics.median(r["gibs"])) if cands else None


# Benchmarks of the fresh-memory load workload (bundle_bench's bert_base and
# tf_save_restore.py's side of it).
LOAD_KINDS = ("load_gettensor", "load_gettensors", "load_views", "raw_read_fresh", "raw_read_fresh_huge", "tf_get_tensor",
              "safetensors_load_file")


def previous_report(doc):
    """The commit and the per-benchmark GiB/s medians of the report in `doc`
    (its "Every measurement" table), before this run replaces it."""
    out = {"commit": None, "gibs": {}}
    if not os.path.exists(doc):
        return out
    with open(doc) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        return out
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    m = re.search(r"^\| Commit \| `([^`]+)` \|", section, re.M)
    if m:
        out["commit"] = m.group(1).split()[0]
    m = re.search(r"^\| CPU \| (.+), nproc = ", section, re.M)
    if m:
        out["cpu"] = m.group(1)
    for m in re.finditer(r"^\| `([^`]+)` \| [^|]+ \| [^|]+ \| ([0-9.]+) \(", section, re.M):
        out["gibs"][m.group(1)] = float(m.group(2))
    return out


def best_raw_read(b, w, c):
    """The faster (higher median) of the buffered and the O_DIRECT raw reads."""
    cands = [r for r in (b.get(f"raw_read/{w}/{c}"), b.get(f"raw_read_direct/{w}/{c}")) if med(r)]
    return max(cands, key=med) if cands else None


def generate(args):
    ctx, b = load_bench(args.bench)
    tf_meta, t = ({}, {})
    if args.tf and os.path.exists(args.tf):
        tf_meta, t = load_tf(args.tf)
    facts = machine_facts(args.dir)
    # Fixed order (the JSON's order is random with interleaving).
    workloads = sorted({n.split("/")[1] for n in list(b) + list(t)
                        if n.count("/") >= 1 and not n.startswith("open_view/")
                        and n.split("/")[0] not in LOAD_KINDS},
                       key=lambda w: (w != "one_tensor", w))
    load_workloads = sorted({n.split("/")[1] for n in list(b) + list(t)
                             if n.split("/")[0] in LOAD_KINDS})
    previous = previous_report(args.doc)
    L = []
    L.append(BEGIN)
    L.append("")
    L.append(f"Generated by `bench/run` on {args.date}.")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append(f"| Command | `{args.command}` |")
    L.append(f"| Commit | `{args.commit}` |")
    L.append(f"| CPU | {facts['cpu']}, nproc = {facts['nproc']} |")
    L.append(f"| Memory | {facts['memory']} |")
    L.append(f"| Disk (bench dir) | `{facts['disk']}` |")
    L.append(f"| Mount | `{facts['mount']}` |")
    L.append(f"| Kernel | {facts['kernel']} |")
    L.append(f"| Bench dir | `{args.dir}` |")
    L.append(f"| Load average before / after | {args.load_before} / {args.load_after} |")
    L.append(f"| Global cache drop (`echo 3 > /proc/sys/vm/drop_caches`) | {args.drop_caches} |")
    L.append(f"| Workload size | {ctx.get('bench_mib', '?')} MiB of float32 per workload |")
    L.append(f"| Mixed workload | {ctx.get('bench_tensors', '?')} tensors, "
             f"log-uniform sizes: {ctx.get('mixed_sizes', '?')} |")
    reps = max((len(r["gibs"]) for r in b.values()), default=0)
    L.append(f"| Repetitions | {reps} per ckpt benchmark, in random interleaved order; "
             "each is one whole save or restore |")
    if tf_meta:
        tf_reps = max((len(r["gibs"]) for r in t.values()), default=0)
        L.append(f"| TensorFlow | {tf_meta.get('tf_version')} (Python {tf_meta.get('python')}, "
                 f"numpy {tf_meta.get('numpy_version')}), {tf_reps} repetitions each, "
                 "run after the ckpt benchmarks |")
    L.append(f"| Google Benchmark build | {ctx.get('library_build_type', '?')} "
             "(Debian's libbenchmark; only affects the harness, not the code measured) |")
    L.append(f"| ckpt build | Release (`-O3 -DNDEBUG`), `build-bench/` |")
    L.append("")
    L.append("Throughput is GiB/s (2^30 bytes per second of wall-clock time), shown as "
             "median (min–max) over the repetitions. A ratio is ckpt's median "
             "throughput divided by the other's median: above 1 means ckpt is "
             "faster. `warm`: the bundle's files were read once before timing; "
             "`cold`: `posix_fadvise(DONTNEED)` on them before every repetition. "
             "`resident` is the fraction of the data file's pages found in the page "
             "cache (mincore) right before the timed repetitions (mean).")
    L.append("")

    L.append("### Save (durable: data, index and directory fsynced)")
    L.append("")
    L.append("`ckpt save` uses the default options (`direct_io`: the data file is "
             "written with O_DIRECT); `save, buffered` is the same save through the "
             "page cache. The physical limit is the faster of the two raw writes "
             "(`best raw`), and `ckpt / best raw` divides by it.")
    L.append("")
    hdr = ["Workload", "ckpt save", "ckpt save, buffered", "raw write+fdatasync",
           "raw O_DIRECT write+fdatasync", "ckpt / best raw", "buffered / best raw"]
    if t:
        hdr += ["TF SaveV2+fsync", "ckpt / TF SaveV2", "TF Checkpoint.write+fsync",
                "ckpt / TF Checkpoint"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    for w in workloads:
        s, sb = b.get(f"save/{w}"), b.get(f"save_buffered/{w}")
        r, rd = b.get(f"raw_write/{w}"), b.get(f"raw_write_direct/{w}")
        best = best_raw_write(b, w)
        row = [w, fmt_tp(s), fmt_tp(sb), fmt_tp(r), fmt_tp(rd), fmt_ratio(s, best),
               fmt_ratio(sb, best)]
        if t:
            ts, tc = t.get(f"tf_savev2/{w}"), t.get(f"tf_ckpt_write/{w}")
            row += [fmt_tp(ts), fmt_ratio(s, ts), fmt_tp(tc), fmt_ratio(s, tc)]
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("### Restore")
    L.append("")
    hdr = ["Workload", "Cache", "resident", "ckpt ReadInto", "raw pread",
           "ReadInto / raw", "raw O_DIRECT read", "ReadInto / best raw",
           "ckpt ReadView (mmap)", "raw mmap read", "ReadView / raw mmap"]
    if t:
        hdr += ["TF RestoreV2", "ReadInto / TF RestoreV2", "TF Checkpoint.read",
                "ReadInto / TF Checkpoint"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    for w in workloads:
        for c in ("warm", "cold"):
            ri = b.get(f"restore_readinto/{w}/{c}")
            rv = b.get(f"restore_readview/{w}/{c}")
            rr = b.get(f"raw_read/{w}/{c}")
            rm = b.get(f"raw_mmap_read/{w}/{c}")
            res = ri["resident"] if ri and ri["resident"] else []
            rd = b.get(f"raw_read_direct/{w}/{c}")
            row = [w, c, f"{statistics.mean(res):.2f}" if res else "?",
                   fmt_tp(ri), fmt_tp(rr), fmt_ratio(ri, rr), fmt_tp(rd),
                   fmt_ratio(ri, best_raw_read(b, w, c)), fmt_tp(rv), fmt_tp(rm),
                   fmt_ratio(rv, rm)]
            if t:
                tr, tc = t.get(f"tf_restorev2/{w}/{c}"), t.get(f"tf_ckpt_read/{w}/{c}")
                row += [fmt_tp(tr), fmt_ratio(ri, tr), fmt_tp(tc), fmt_ratio(ri, tc)]
            L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("### Diagnostics (same run)")
    L.append("")
    L.append("| Benchmark | GiB/s | vs. ckpt ReadInto (same workload/cache) |")
    L.append("|---|---|---|")
    for w in workloads:
        for c in ("warm", "cold"):
            n = b.get(f"restore_readinto_nocrc/{w}/{c}")
            ri = b.get(f"restore_readinto/{w}/{c}")
            L.append(f"| ReadInto, verify_checksums=false, {w}/{c} | {fmt_tp(n)} | "
                     f"{fmt_ratio(n, ri)} |")
    L.append(f"| CRC32C (ISA-L) over the workload in memory | {fmt_tp(b.get('crc32c_mem'))} | |")
    L.append(f"| memcpy of the workload in memory | {fmt_tp(b.get('memcpy_mem'))} | |")
    L.append(f"| First touch of fresh anonymous memory of the workload's size "
             f"(mmap+memset) | {fmt_tp(b.get('first_touch_mem'))} | |")
    L.append(f"| The same on 2 MiB-aligned memory advised MADV_HUGEPAGE "
             f"| {fmt_tp(b.get('first_touch_huge_mem'))} | |")
    L.append("")

    for w in load_workloads:
        g, v = b.get(f"load_gettensor/{w}"), b.get(f"load_views/{w}")
        gs = b.get(f"load_gettensors/{w}")
        raw = b.get(f"raw_read_fresh/{w}")
        roof = b.get(f"raw_read_fresh_huge/{w}")
        tg, st = t.get(f"tf_get_tensor/{w}"), t.get(f"safetensors_load_file/{w}")
        any_r = next((r for r in (g, gs, v, raw, roof, tg, st) if r), None)
        L.append(f"### Fresh-memory loads: every variable of `{w}` into new memory (warm)")
        L.append("")
        if any_r and any_r.get("bytes"):
            L.append(f"{any_r.get('tensors', '?'):.0f} float32 tensors, "
                     f"{any_r['bytes'] / 2**20:.0f} MiB (BERT-base's variables). Each repetition "
                     "loads all of them into memory the process gets anew; what was loaded is "
                     "freed untimed afterwards.")
            L.append("")
        L.append("| Loader | GiB/s, median (min–max) | ckpt GetTensor / this | ckpt GetTensors / this "
                 "| ckpt views / this |")
        L.append("|---|---|---|---|---|")
        rows = [("ckpt: `CheckpointReader::Open` + `GetTensor` of each (checksums verified)", g),
                ("ckpt: `CheckpointReader::Open` + one `GetTensors` of all (one batch, checksums "
                 "verified)", gs),
                ("ckpt: `BundleReader::Open(use_mmap)` + `ReadView` of each (zero-copy, "
                 "checksums verified)", v),
                ("raw: `pread` of each tensor's bytes into a new `malloc` block (no checks)", raw),
                ("raw roof of a copying load: `pread` of each into memory allocated as ckpt "
                 "allocates tensors (huge pages from 2 MiB), two threads, no checks", roof),
                ("TF: `tf.train.load_checkpoint` + `get_tensor` of each (numpy)", tg),
                ("safetensors: `safetensors.numpy.load_file` (no checksums)", st)]
        for lab, r in rows:
            if r is None:
                continue
            L.append(f"| {lab} | {fmt_tp(r)} | {fmt_ratio(g, r) if r is not g else ''} | "
                     f"{fmt_ratio(gs, r) if r is not gs else ''} | "
                     f"{fmt_ratio(v, r) if r is not v else ''} |")
        L.append("")
        if med(roof) and med(tg) and med(g):
            L.append(f"The roof row is what any loader that copies into new memory can reach "
                     f"here: {med(roof):.2f} GiB/s, {med(roof) / med(tg):.2f}× TF's loop "
                     f"(3× TF would be {3 * med(tg):.2f} GiB/s); ckpt's `GetTensor`, which also "
                     f"verifies every checksum, runs at {med(g) / med(roof):.2f}× that roof"
                     + (f", one `GetTensors` of all at {med(gs) / med(roof):.2f}×" if med(gs) else "")
                     + ".")
            L.append("")

    ins = load_json(args.inspect)
    tr = load_json(args.train)
    tft = load_json(args.tf_train)
    extras = {}
    for e in args.extra or []:
        name, _, path = e.partition("=")
        extras[name] = load_json(path)

    # ---- zero-copy open cost
    ov = {n: r for n, r in b.items() if n.startswith("open_view/")}
    open_us = {}
    if ov:
        L.append("### Zero-copy open cost (warm)")
        L.append("")
        L.append("`BundleReader::Open(use_mmap, verify_checksums=false)` + `ReadView` of the "
                 "bundle's one tensor + reader destruction, 200 times per repetition.")
        L.append("")
        L.append("| Tensor size | µs per open+view+close, median (min–max) | CPU µs, median | reps |")
        L.append("|---|---|---|---|")
        for n in sorted(ov, key=lambda n: int(n.split("/")[1].rstrip("MiB"))):
            r = ov[n]
            us = [ms * 1e3 / 200 for ms in r["ms"]]
            cpu = [ms * 1e3 / 200 for ms in r["cpu_ms"]]
            # Judged on the fastest repetition: a latency this small is only
            # ever made slower by the machine (one preempted repetition).
            open_us[n.split("/")[1]] = min(us)
            L.append(f"| {n.split('/')[1]} | {fmt_range(us, '{:.1f}')} | {mmed(cpu):.1f} | {len(us)} |")
        L.append("")

    # ---- open + list
    ins_ratio = None
    if ins:
        sec = {r["name"]: r["seconds"] for r in ins["results"]}
        ms = {k: [x * 1e3 for x in v] for k, v in sec.items()}
        L.append(f"### Open + list a {ins['tensors']:,}-tensor checkpoint (whole processes)")
        L.append("")
        L.append("Wall time from fork+exec to exit, stdout drained through a pipe; one untimed "
                 "run each first. Lines printed: "
                 + ", ".join(f"{k} {v}" for k, v in ins.get("lines", {}).items()
                             if k.endswith("inspect")) + ".")
        L.append("")
        L.append("| Process | ms, median (min–max) | time / ckpt inspect's |")
        L.append("|---|---|---|")
        ck = mmed(ms.get("ckpt_inspect"))
        labels = [("ckpt_inspect", "`ckpt inspect --file_name=P`"),
                  ("tf_inspect", "`python -m tensorflow.python.tools.inspect_checkpoint --file_name=P`"),
                  ("tf_import", "`python -c \"import tensorflow\"`"),
                  ("python_startup", "`python -c pass`")]
        for k, lab in labels:
            v = ms.get(k)
            rel = ""
            if v and ck and k != "ckpt_inspect":
                x = mmed(v) / ck
                rel = f"**{x:.0f}×**" if x >= 10 else f"{x:.2f}×"
            L.append(f"| {lab} | {fmt_range(v, '{:.1f}')} | {rel} |")
        if ck and ms.get("tf_inspect"):
            ins_ratio = mmed(ms["tf_inspect"]) / ck
            imp = mmed(ms.get("tf_import"))
            if imp:
                rest = mmed(ms["tf_inspect"]) - imp
                L.append("")
                L.append(f"`import tensorflow` alone takes {imp / mmed(ms['tf_inspect']) * 100:.0f}% "
                         "of TF's inspect time (medians of separate processes; above 100% means "
                         "the difference is within the noise)" +
                         (f"; TF's time minus the import is still {rest / ck:.1f}× ckpt's "
                          "whole process." if rest > 0 else "."))
        L.append("")

    # ---- training
    train_ratio = None
    if tr:
        L.append("### Training: Iris DNNClassifier, batch 100, steps per second")
        L.append("")
        L.append("Hidden [10, 10], relu, 3 classes, Adagrad(0.05, initial accumulator 0.1), SUM "
                 "softmax cross-entropy, one thread of ckpt vs TensorFlow's thread pools. "
                 f"ckpt: {tr['steps']:,} timed steps per repetition after {tr['warmup']} warm-up "
                 "steps" + (f"; TF: {tft['results'][0]['steps']:,} steps after "
                            f"{tft['results'][0]['warmup']}" if tft else "") + ".")
        L.append("")
        L.append("| Loop | steps/s, median (min–max) | ckpt pipeline / this |")
        L.append("|---|---|---|")
        cp = tr["pipeline_steps_per_sec"]
        rows = [("ckpt: Dataset shuffle/repeat/batch (`NextInto` a reused batch) + MakeFeatureMatrix + `TrainStep`", cp),
                ("ckpt: `TrainStep` only (batches made before timing)",
                 tr["step_only_steps_per_sec"])]
        tfnames = {"keras_train_on_batch": "TF/Keras 3: `model.train_on_batch` (numpy batches)",
                   "keras_tf_function": "TF/Keras 3: `tf.function` train step (GradientTape + "
                                        "`apply_gradients`, jit_compile=False)",
                   "v1_session": "TF `tf.compat.v1` graph: in-graph tf.data + `session.run(train_op)`, "
                                 "`AdagradOptimizer` (closest to TF 1.8's Estimator)"}
        tfmed = {}
        if tft:
            for r in tft["results"]:
                rows.append((tfnames.get(r["name"], r["name"]), r["steps_per_sec"]))
                tfmed[r["name"]] = mmed(r["steps_per_sec"])
        rows.append(("TF 1.8 Estimator, seed 001 log (historical, other machine): "
                     "490 global_step/sec", [490.0]))
        for lab, v in rows:
            rel = f"**{mmed(cp) / mmed(v):.1f}×**" if v is not cp else ""
            L.append(f"| {lab} | {fmt_range(v)} | {rel} |")
        if tfmed:
            best = max(tfmed, key=tfmed.get)
            train_ratio = (mmed(cp) / tfmed[best], best)
        L.append("")

    if args.exec:
        L.extend(exec_section(args, facts))
        L.append("")

    # ---- async save (stall_bench, rss_bench from helper "async")
    stall, rss = extras.get("stall_bench"), extras.get("rss_bench")
    if stall:
        cfg = stall["config"]
        L.append(f"### Checkpoint stall: {cfg['mib']} MiB of variables, a checkpoint every "
                 f"{cfg['every']} steps (`stall_bench`)")
        L.append("")
        L.append(f"{cfg['steps']} steps per run ({cfg['checkpoints_per_run']} durable checkpoints, "
                 f"max_to_keep 2), {cfg['reps']} repetitions with the modes interleaved; a step "
                 "updates every variable once (memory-bound, one thread). Load during the "
                 f"benchmark: {stall.get('load_avg_before')} / {stall.get('load_avg_after')}.")
        L.append("")
        mc = stall["memcpy_ms"]
        L.append(f"In-memory copy of all variables: {mc['one_thread']:.1f} ms (1 thread), "
                 f"{mc['two_threads']:.1f} ms (2 threads), {mc['fresh_memory_one_thread']:.1f} ms "
                 "into fresh memory.")
        L.append("")
        L.append("| Mode | run total s | step ms | blocked per checkpoint ms (median / max) | "
                 "block / 1-thread copy | slowdown vs no checkpoints (median-based / paired) |")
        L.append("|---|---|---|---|---|---|")
        for mode, r in stall["summary"].items():
            if mode == "none":
                L.append(f"| none | {r['total_s']:.3f} | {r['step_ms']:.2f} | | | |")
            else:
                L.append(f"| {mode} | {r['total_s']:.3f} | {r['step_ms']:.2f} | "
                         f"{r['block_ms']:.1f} / {r['block_ms_max']:.1f} | "
                         f"{r['block_over_memcpy']:.2f}× | {r['slowdown_pct']:.2f}% / "
                         f"{r['slowdown_pct_paired']:.2f}% |")
        L.append("")
    if rss:
        L.append(f"### Memory: peak RSS, {rss['config']['mib']} MiB model (`rss_bench`)")
        L.append("")
        L.append("Each case in a fresh process; peak = VmHWM.")
        L.append("")
        L.append("| Case | before MiB | peak MiB | peak − before | peak − model |")
        L.append("|---|---|---|---|---|")
        for r in rss["cases"]:
            L.append(f"| {r['case']} | {r['before_mib']:.0f} | {r['peak_mib']:.0f} | "
                     f"{r['peak_minus_before_mib']:.0f} | {r['peak_minus_model_mib']:.0f} |")
        L.append("")
    L.extend(staging_budget_section(extras.get("stall_budget"), rss))
    shard = extras.get("shard_bench")
    if shard:
        L.extend(shard_section(shard))
    for name, data in extras.items():
        if name not in ("stall_bench", "rss_bench", "shard_bench", "stall_budget"):
            L.append(f"### {name}")
            L.append("")
            L.append("```")
            L.append(json.dumps(data, indent=1)[:4000])
            L.append("```")
            L.append("")

    # ---- targets
    T = []

    def ratio(a, c):
        ma, mc = med(a), med(c)
        return ma / mc if ma and mc else None
    for w in workloads:
        T.append((f"save {w} >= 0.9× raw write (the faster of buffered and O_DIRECT)",
                  ratio(b.get(f"save/{w}"), best_raw_write(b, w)), 0.9))
        if t:
            for k, lab in (("tf_savev2", "SaveV2+fsync"), ("tf_ckpt_write", "Checkpoint.write+fsync")):
                T.append((f"save {w} >= 3× TF {lab}", ratio(b.get(f"save/{w}"), t.get(f"{k}/{w}")), 3))
    for w in workloads:
        for c in ("warm", "cold"):
            T.append((f"restore {w}/{c}: ReadInto >= 0.9× raw pread",
                      ratio(b.get(f"restore_readinto/{w}/{c}"), b.get(f"raw_read/{w}/{c}")), 0.9))
            T.append((f"restore {w}/{c}: ReadView >= 0.9× raw mmap read",
                      ratio(b.get(f"restore_readview/{w}/{c}"), b.get(f"raw_mmap_read/{w}/{c}")), 0.9))
            if t:
                for k, lab in (("tf_restorev2", "RestoreV2"), ("tf_ckpt_read", "Checkpoint.read")):
                    T.append((f"restore {w}/{c}: ReadInto >= 3× TF {lab}",
                              ratio(b.get(f"restore_readinto/{w}/{c}"), t.get(f"{k}/{w}/{c}")), 3))
    T17 = []
    for w in load_workloads:
        g, v = b.get(f"load_gettensor/{w}"), b.get(f"load_views/{w}")
        if t:
            T17.append((f"fresh-memory load {w}: GetTensor >= 3× TF get_tensor loop",
                        ratio(g, t.get(f"tf_get_tensor/{w}")), 3))
            T17.append((f"fresh-memory load {w}: GetTensor >= 1.5× safetensors load_file",
                        ratio(g, t.get(f"safetensors_load_file/{w}")), 1.5))
            gs = b.get(f"load_gettensors/{w}")
            if gs:
                T17.append((f"fresh-memory load {w}: GetTensors (one batch) >= 3× TF get_tensor loop",
                            ratio(gs, t.get(f"tf_get_tensor/{w}")), 3))
                T17.append((f"fresh-memory load {w}: GetTensors (one batch) >= 1.5× safetensors "
                            "load_file", ratio(gs, t.get(f"safetensors_load_file/{w}")), 1.5))
            T17.append((f"fresh-memory load {w}: views >= 3× safetensors load_file",
                        ratio(v, t.get(f"safetensors_load_file/{w}")), 3))
    for w in workloads:
        T17.append((f"cold restore {w}: ReadInto >= 0.9× the best raw read (buffered or O_DIRECT)",
                    ratio(b.get(f"restore_readinto/{w}/cold"), best_raw_read(b, w, "cold")), 0.9))
        if t:
            T17.append((f"cold restore {w}: ReadInto >= 1.5× TF RestoreV2",
                        ratio(b.get(f"restore_readinto/{w}/cold"), t.get(f"tf_restorev2/{w}/cold")), 1.5))
    prev = previous.get("gibs", {})
    # Absolute rates compare across runs only on the same kind of machine.
    other_cpu = previous.get("cpu") not in (None, facts["cpu"])
    for w in workloads:
        for name in (f"save/{w}", f"restore_readinto/{w}/warm"):
            if name in prev and med(b.get(name)):
                lab = (f"no regression: `{name}` >= 0.95× the previous report "
                       f"({prev[name]:.2f} GiB/s at `{previous.get('commit')}`)")
                if other_cpu:
                    T17.append((lab + f": that run's CPU was {previous['cpu']}, not comparable "
                                "(compare within one run: an A/B of the two builds)", None, 0.95))
                else:
                    T17.append((lab, med(b.get(name)) / prev[name], 0.95))
    if T17:
        L.append("### Issue 17 targets, this run")
        L.append("")
        L.append("| Target | Measured | Verdict |")
        L.append("|---|---|---|")
        for lab, val, tgt in T17:
            L.append(f"| {lab} | {'n/a' if val is None else f'{val:.2f}×'} | {verdict(val, tgt)} |")
        L.append("")

    L.append("### Issue 6 targets, this run")
    L.append("")
    L.append("| Target | Measured | Verdict |")
    L.append("|---|---|---|")
    for lab, v, tgt in T:
        L.append(f"| {lab} | {'n/a' if v is None else f'{v:.2f}×'} | {verdict(v, tgt)} |")
    if len(open_us) >= 2:
        ks = sorted(open_us, key=lambda k: int(k.rstrip("MiB")))
        small, big = open_us[ks[0]], open_us[ks[-1]]
        L.append(f"| zero-copy open cost independent of tensor size (fastest rep) | {ks[0]} {small:.1f} µs, "
                 f"{ks[-1]} {big:.1f} µs ({big / small:.2f}×) | "
                 f"{'**met**' if big / small < 1.5 else '**not met**'} (within 1.5×) |")
    L.append(f"| open + list >= 50× faster than TF inspect_checkpoint | "
             f"{'n/a' if ins_ratio is None else f'{ins_ratio:.0f}×'} | {verdict(ins_ratio, 50)} |")
    if train_ratio:
        L.append(f"| Iris training >= 30× TF/Keras steps/s (vs. TF's fastest variant, "
                 f"`{train_ratio[1]}`) | {train_ratio[0]:.1f}× | {verdict(train_ratio[0], 30)} |")
    else:
        L.append("| Iris training >= 30× TF/Keras steps/s | n/a | not measured |")
    if stall:
        tg = stall["targets"]
        L.append(f"| async save blocks <= 1.5× an in-memory copy of the variables | "
                 f"{tg['async_block_over_memcpy']:.2f}× | "
                 f"{verdict(tg['async_block_over_memcpy'], 1.5, higher_is_better=False)} |")
        L.append(f"| async save slows training <= 3.5% (checkpoint every "
                 f"{stall['config']['every']} steps) | {tg['async_slowdown_pct']:.2f}% | "
                 f"{verdict(max(tg['async_slowdown_pct'], 1e-9), 3.5, higher_is_better=False)} |")
    else:
        L.append("| async save stall <= 1.5× in-memory copy; <= 3.5% slowdown at 1 ckpt/100 steps | "
                 "n/a | not measured in this run (stall_bench missing or failed) |")
    for budget, r in budget_cases(rss):
        if budget is None:
            continue
        over = r["peak_minus_model_mib"]
        L.append(f"| peak RSS of an async save <= model + staging budget ({budget:.0f} MiB) + 64 MiB | "
                 f"model + {over:.0f} MiB | {'**met**' if over <= budget + 64 else '**not met**'} |")
    sync_case = [r for r in (rss or {}).get("cases", []) if r["case"] == "save_sync"]
    if sync_case:
        over = sync_case[0]["peak_minus_model_mib"]
        L.append(f"| peak RSS of a synchronous save <= model size + 64 MiB | model + {over:.0f} MiB | "
                 f"{'**met**' if over <= 64 else '**not met**'} |")
    else:
        L.append("| peak RSS of a synchronous save <= model size + 64 MiB | n/a | "
                 "not measured in this run (rss_bench missing or failed) |")
    L.append("")
    if args.plot:
        L.append(f"![benchmarks]({os.path.basename(args.plot)})")
        L.append("")
        try:
            plot(args.plot, b, t, ins, tr, tft, workloads, ctx.get("bench_mib", "?"))
        except ImportError as e:
            L.append(f"(plot not written: {e})")
            L.append("")

    L.append("<details><summary>Every measurement (median wall time per repetition)</summary>")
    L.append("")
    L.append("| Benchmark | median wall ms | median CPU ms (this process) | "
             "GiB/s median (min–max) | reps |")
    L.append("|---|---|---|---|---|")
    kinds = ["save", "save_buffered", "raw_write", "raw_write_direct", "restore_readinto", "restore_readinto_nocrc",
             "restore_readview", "raw_read", "raw_read_direct", "raw_mmap_read", "crc32c_mem", "memcpy_mem",
             "first_touch_mem", "first_touch_huge_mem", "open_view", "load_gettensor", "load_gettensors", "load_views",
             "raw_read_fresh", "raw_read_fresh_huge", "tf_savev2", "tf_ckpt_write", "tf_restorev2", "tf_ckpt_read",
             "tf_get_tensor", "safetensors_load_file"]

    def order(item):
        parts = item[0].split("/")
        kind = kinds.index(parts[0]) if parts[0] in kinds else len(kinds)
        wl = workloads.index(parts[1]) if len(parts) > 1 and parts[1] in workloads else 99
        cache = parts[2] if len(parts) > 2 else ""
        return (parts[0].startswith("tf_"), wl, cache, kind, item[0])

    for name, r in sorted(list(b.items()) + list(t.items()), key=order):
        ms = f"{statistics.median(r['ms']):.1f}" if r["ms"] else "n/a"
        cpu = f"{statistics.median(r['cpu_ms']):.1f}" if r["cpu_ms"] else "not measured"
        tp = fmt_tp(r) if r["gibs"] else "(latency)"
        L.append(f"| `{name}` | {ms} | {cpu} | {tp} | {len(r['ms'])} |")
    L.append("")
    L.append("</details>")
    L.append("")
    L.append(END)
    return "\n".join(L)



def exec_section(args, facts=None):
    """The "Graph execution" section: exec_bench vs TF session.run."""
    ex = load_json(args.exec)
    tfx = load_json(args.tf_exec)
    if not ex:
        return []
    L = [EXEC_BEGIN, "", "### Graph execution: imported TF graphs, `Session::Run` vs TF `session.run`", ""]
    if args.exec_only:
        facts = facts or machine_facts(args.dir)
        L.append(f"Generated by `{args.command}` on {args.date}, commit `{args.commit}`; "
                 f"{facts['cpu']}, nproc = {facts['nproc']}; load average before / after "
                 f"{args.load_before} / {args.load_after}.")
        L.append("")
    L.append("`bench/tf_exec_models.py` (TF " + (tfx or {}).get("tf_version", "?") +
             ", `tf.compat.v1`) writes two graphs with `Saver.save`: the Iris DNNClassifier "
             "inference graph with the canned estimator's node names (4 feature placeholders, "
             "hidden [10, 10], `dnn/head/predictions/probabilities` and `class_ids` fetched) and a "
             "small CNN (28x28x1, conv 3x3x32, pool, conv 3x3x64, pool, dense 128, dense 10, "
             "softmax). ckpt (`bench/exec_bench`, Release; float Conv2D, pooling and large GEMMs on "
             "oneDNN, the library TF's x86 builds use, one OpenMP thread per call and split over "
             "the cores by images, rows or weight blocks; BiasAdd+Relu fused into the Conv2D/MatMul): "
             "`ImportMetaGraph` + "
             "`Session::Restore`, then `Session::Run` on the inputs TF used; TF "
             "(`bench/tf_session_run.py`): `import_meta_graph` + `saver.restore`, then "
             "`session.run(fetches, feed_dict)` (TF's default thread pools, 2 cores) and, for "
             "reference, `make_callable`. Both sides first check their outputs against the ones "
             "TF computed when it wrote the model (within 1e-5); the largest difference of ckpt's "
             "is in the table. Latency: one call timed at a time; throughput: examples per "
             "second over a repetition (median of the repetitions).")
    L.append("")
    gemm = ex.get("gemm_gflops")
    L.append("Compute limit: flops = 2 x multiply-adds of the MatMuls and Conv2Ds per example "
             "(Iris 340, CNN 8.5 M); the GEMM those kernels use (`GemmF32`, "
             f"{ex.get('gemm_isa', '?')}, split over the cores) reaches {gemm:.1f} GFLOP/s on a "
             "512^3 product in the same run (`gemm_gflops` in exec_bench's JSON). \"% of GEMM "
             "roof\" = the row's achieved GFLOP/s over that: 100% would be the whole model running "
             "at the GEMM's speed (the limit of a compute-bound row; the small rows are bound by "
             "per-call and per-op overhead instead, where the limit is the cost of one call).")
    L.append("")
    tfrows = {}
    for r in (tfx or {}).get("results", []):
        tfrows[(r["model"], r["batch"], r["variant"])] = r
    L.append("| Model | Batch | ckpt µs/Run, median (p90) | TF session.run µs, median (p90) | "
             "TF callable µs | TF session.run / ckpt latency | ckpt examples/s | "
             "TF session.run examples/s | ckpt / TF throughput | ckpt GFLOP/s (% of GEMM roof) | "
             "ckpt max abs diff vs TF | import+restore ms ckpt / TF |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    T = []
    for r in ex["results"]:
        m, n = r["model"], r["batch"]
        tr = tfrows.get((m, n, "session_run"))
        tc = tfrows.get((m, n, "callable"))
        lat, p90 = r["latency_us"]["median"], r["latency_us"]["p90"]
        eps = mmed(r["examples_per_sec"])
        gf = r["flops_per_example"] * eps / 1e9
        roof = f"{gf:.2f} ({gf / gemm * 100:.0f}%)" if gemm else f"{gf:.2f}"
        if tr:
            tlat, tp90 = tr["latency_us"]["median"], tr["latency_us"]["p90"]
            teps = mmed(tr["examples_per_sec"])
            lat_ratio, tp_ratio = tlat / lat, eps / teps
            tf_cols = (f"{tlat:.1f} ({tp90:.1f})", f"{tc['latency_us']['median']:.1f}" if tc else "n/a",
                       f"**{lat_ratio:.1f}×**", f"{teps:,.0f}", f"**{tp_ratio:.2f}×**",
                       f"{r['setup_ms']:.1f} / {tr['setup_ms']:.0f}")
            if n == 1:
                T.append((f"{m} batch 1: latency >= 10× lower than TF session.run", lat_ratio, 10))
            else:
                T.append((f"{m} batch {n}: throughput >= TF session.run's", tp_ratio, 1))
        else:
            tf_cols = ("n/a", "n/a", "n/a", "n/a", "n/a", f"{r['setup_ms']:.1f} / n/a")
        L.append(f"| {m} | {n} | {lat:.1f} ({p90:.1f}) | {tf_cols[0]} | {tf_cols[1]} | {tf_cols[2]} | "
                 f"{eps:,.0f} | {tf_cols[3]} | {tf_cols[4]} | {roof} | {r['max_abs_diff']:.1e} | "
                 f"{tf_cols[5]} |")
    L.append("")
    L.append("CPU time per ckpt Run (user + system, every thread, from getrusage over the timed "
             "runs; unlike wall time it does not grow when other jobs hold the cores), its "
             "system part and the page faults per Run:")
    L.append("")
    L.append("| Model | Batch | CPU µs/Run | of it system µs | page faults/Run |")
    L.append("|---|---|---|---|---|")
    for r in ex["results"]:
        if "cpu_us_per_run" in r:
            L.append(f"| {r['model']} | {r['batch']} | {r['cpu_us_per_run']:.1f} | "
                     f"{r['sys_us_per_run']:.1f} | {r['page_faults_per_run']:.0f} |")
    tuned = load_json(getattr(args, "exec_tuned", None))
    if tuned:
        for r in tuned["results"]:
            L.append(f"| {r['model']} (glibc malloc thresholds raised: `{tuned.get('tunables', '?')}`) "
                     f"| {r['batch']} | {r['cpu_us_per_run']:.1f} | {r['sys_us_per_run']:.1f} | "
                     f"{r['page_faults_per_run']:.0f} |")
        L.append("")
        L.append("The last row is a diagnostic, not ckpt's default: the same binary with glibc's "
                 "mmap and trim thresholds raised through `GLIBC_TUNABLES` (no code change), "
                 "so freed tensor memory is reused instead of returned to the kernel and faulted "
                 "in (and zeroed) again on the next Run. " +
                 ", ".join(f"batch {r['batch']}: {r['latency_us']['median']:.0f} µs median, "
                           f"{mmed(r['examples_per_sec']):,.0f} examples/s"
                           for r in tuned["results"]) + ".")
    L.append("")
    L.append("| Issue 13 target | Measured | Verdict |")
    L.append("|---|---|---|")
    for lab, v, tgt in T:
        L.append(f"| {lab} | {v:.2f}× | {verdict(v, tgt)} |")
    if not T:
        L.append("| batch-1 latency >= 10× lower, batch-100 throughput >= TF | n/a | "
                 "not measured (no TF side in this run) |")
    L.append("")
    L.append(EXEC_END)
    return L


def budget_cases(rss):
    """(budget MiB or None for unlimited, case) of rss_bench's save_async_b*/_unlimited cases."""
    out = []
    for r in (rss or {}).get("cases", []):
        name = r["case"]
        if name == "save_async_unlimited":
            out.append((None, r))
        elif name.startswith("save_async_b"):
            out.append((float(name[len("save_async_b"):]), r))
    return out


def staging_budget_section(stall, rss):
    """The AsyncSaver's staging budget: blocked time (stall_bench) and peak RSS (rss_bench)."""
    cases = budget_cases(rss)
    modes = {m: r for m, r in (stall or {}).get("summary", {}).items() if m.startswith("async_")}
    if not cases and not modes:
        return []
    mib = (stall or rss)["config"]["mib"]
    size = "1 GiB" if mib == 1024 else f"{mib} MiB"
    L = [f"### Async save: staging budget vs blocked time and peak RSS ({size} model)", ""]
    if stall:
        cfg = stall["config"]
        L.append(f"Blocked: each `AsyncSaver::Save()` call in a training loop (`stall_bench "
                 f"--staging_budgets_mib=...`: {cfg['tensors']} tensors, {cfg['steps']} steps, a "
                 f"durable checkpoint every {cfg['every']}, {cfg['reps']} repetition(s)); the "
                 "variables that do not fit the budget are written while Save() blocks. "
                 "Peak RSS: `rss_bench` cases `save_async_b<N>` (Create + Save + Wait in a fresh "
                 "process; its Save() time, with no training, in its own column).")
        L.append("")
    L.append("| Staging budget | snapshot MiB | blocked per checkpoint ms (median / max) | "
             "slowdown vs no checkpoints | Save() ms (rss_bench) | peak RSS − model MiB | "
             "bound: budget + 64 MiB |")
    L.append("|---|---|---|---|---|---|---|")
    by_budget = {}
    for budget, r in cases:
        by_budget.setdefault(budget, {})["rss"] = r
    for mode, r in modes.items():
        budget = None if mode == "async_unlimited" else float(mode[len("async_b"):])
        by_budget.setdefault(budget, {})["stall"] = r
    for budget in sorted(by_budget, key=lambda b: float("inf") if b is None else b):
        row = by_budget[budget]
        st, rs = row.get("stall"), row.get("rss")
        label = "unlimited" if budget is None else f"{budget:.0f} MiB"
        snap = f"{rs['snapshot_mib']:.0f}" if rs and "snapshot_mib" in rs else ""
        blocked = f"{st['block_ms']:.0f} / {st['block_ms_max']:.0f}" if st else "not measured"
        slow = f"{st['slowdown_pct']:.1f}%" if st else ""
        save_ms = f"{rs['save_block_ms']:.0f}" if rs and "save_block_ms" in rs else ""
        peak = f"{rs['peak_minus_model_mib']:.0f}" if rs else "not measured"
        bound = "" if budget is None else (
            f"{budget + 64:.0f} ({'met' if rs and rs['peak_minus_model_mib'] <= budget + 64 else 'not met'})"
            if rs else f"{budget + 64:.0f}")
        L.append(f"| {label} | {snap} | {blocked} | {slow} | {save_ms} | {peak} | {bound} |")
    L.append("")
    return L


def shard_section(data):
    """Markdown for shard_bench's Google Benchmark JSON: sharded Saver saves
    with shards written one at a time vs concurrently."""
    ctx = data.get("context", {})
    mib = float(ctx.get("bench_mib", "0"))
    times = {}  # name -> [ms per repetition]
    for b in data.get("benchmarks", []):
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        times.setdefault(b.get("run_name", b["name"]).split("/iterations:")[0], []).append(
            b["real_time"])

    def gibs(name):
        v = times.get(name)
        return [mib / 1024 / (ms / 1e3) for ms in v] if v else None
    L = [f"### Sharded save: {mib:.0f} MiB in {ctx.get('bench_tensors', '?')} tensors over D devices "
         "(`shard_bench`)", "",
         "One durable `Saver::Save` with `sharded = true` per repetition (tensor i on device i % D; "
         "one bundle per device, then merged), shards written one after another "
         "(`shard_write_threads = 1`) or concurrently; the raw rows write the same bytes as F files "
         "from F threads (8 MiB `write()`s + `fdatasync`). GiB/s, median (min–max).", "",
         "| Devices | sequential (threads:1) | concurrent | threads | concurrent / sequential |",
         "|---|---|---|---|---|"]
    seq_names = sorted(n for n in times if n.startswith("sharded_save/") and n.endswith("/threads:1"))
    for sn in seq_names:
        d = sn.split("devices:")[1].split("/")[0]
        seq = gibs(sn)
        pars = sorted((n for n in times if n.startswith(f"sharded_save/devices:{d}/") and n != sn),
                      key=lambda n: int(n.rsplit(":", 1)[1]))
        if not pars:
            L.append(f"| {d} | {fmt_range(seq, '{:.2f}')} | | | |")
        for pn in pars:
            par = gibs(pn)
            L.append(f"| {d} | {fmt_range(seq, '{:.2f}')} | {fmt_range(par, '{:.2f}')} | "
                     f"{pn.rsplit(':', 1)[1]} | **{mmed(par) / mmed(seq):.2f}×** |")
    raws = sorted((n for n in times if n.startswith("raw_write/files:")),
                  key=lambda n: int(n.rsplit(":", 1)[1]))
    if raws:
        L.append("")
        L.append("| Raw baseline | GiB/s |")
        L.append("|---|---|")
        for n in raws:
            L.append(f"| {n.rsplit(':', 1)[1]} file(s), one thread each | {fmt_range(gibs(n), '{:.2f}')} |")
    L.append("")
    return L


def plot(path, b, t, ins, tr, tft, workloads, mib):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = 1 + (ins is not None) + (tr is not None)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels + 4, 5.5),
                             gridspec_kw={"width_ratios": [3] + [1] * (panels - 1)})
    axes = list(axes) if panels > 1 else [axes]
    ax = axes[0]
    groups = []
    for w in workloads:
        groups.append((f"save\n{w}", [("ckpt", b.get(f"save/{w}")), ("raw", best_raw_write(b, w)),
                                       ("TF", t.get(f"tf_savev2/{w}")),
                                       ("TF ckpt", t.get(f"tf_ckpt_write/{w}"))]))
    for w in workloads:
        for c in ("warm", "cold"):
            groups.append((f"restore\n{w}\n{c}",
                           [("ckpt", b.get(f"restore_readinto/{w}/{c}")),
                            ("raw", b.get(f"raw_read/{w}/{c}")),
                            ("TF", t.get(f"tf_restorev2/{w}/{c}")),
                            ("TF ckpt", t.get(f"tf_ckpt_read/{w}/{c}"))]))
    series = ["ckpt", "raw", "TF", "TF ckpt"]
    names = {"ckpt": "ckpt (save / ReadInto)", "raw": "best raw write+fdatasync / pread",
             "TF": "TF SaveV2 / RestoreV2", "TF ckpt": "TF Checkpoint.write / .read"}
    colors = {"ckpt": "#1f77b4", "raw": "#7f7f7f", "TF": "#ff7f0e", "TF ckpt": "#d62728"}
    width = 0.2
    for k, s in enumerate(series):
        xs, ys = [], []
        for i, (_, bars) in enumerate(groups):
            r = dict(bars).get(s)
            if r and r["gibs"]:
                xs.append(i + (k - 1.5) * width)
                ys.append(statistics.median(r["gibs"]))
        ax.bar(xs, ys, width, label=names[s], color=colors[s])
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[0] for g in groups], fontsize=8)
    ax.set_ylabel("GiB/s (median)")
    ax.set_title(f"Save / restore throughput, {mib} MiB of float32 (higher is better)")
    ax.legend(fontsize=8)
    i = 1
    if ins is not None:
        ax = axes[i]
        i += 1
        sec = {r["name"]: statistics.median(r["seconds"]) * 1e3 for r in ins["results"]}
        keys = [k for k in ("ckpt_inspect", "tf_inspect", "tf_import", "python_startup") if k in sec]
        ax.bar(range(len(keys)), [sec[k] for k in keys],
               color=["#1f77b4", "#ff7f0e", "#ffbb78", "#c7c7c7"][:len(keys)])
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels(["ckpt\ninspect", "TF inspect_\ncheckpoint", "import\ntensorflow",
                            "python\nstartup"][:len(keys)], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ms per process (log)")
        ax.set_title(f"Open + list {ins['tensors']:,} tensors (lower is better)", fontsize=10)
    if tr is not None:
        ax = axes[i]
        labels = ["ckpt\npipeline", "ckpt\nstep only"]
        vals = [statistics.median(tr["pipeline_steps_per_sec"]),
                statistics.median(tr["step_only_steps_per_sec"])]
        cols = ["#1f77b4", "#aec7e8"]
        short = {"keras_train_on_batch": "Keras\ntrain_on_\nbatch",
                 "keras_tf_function": "Keras\ntf.function", "v1_session": "TF v1\nsession"}
        for r in (tft or {}).get("results", []):
            labels.append(short.get(r["name"], r["name"]))
            vals.append(statistics.median(r["steps_per_sec"]))
            cols.append("#ff7f0e")
        labels.append("TF 1.8\nseed log")
        vals.append(490.0)
        cols.append("#c7c7c7")
        ax.bar(range(len(vals)), vals, color=cols)
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("steps/s (log)")
        ax.set_title("Iris DNNClassifier, batch 100 (higher is better)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", help="bundle_bench's JSON (required unless --exec-only)")
    ap.add_argument("--exec", help="exec_bench's JSON")
    ap.add_argument("--tf-exec", help="tf_session_run.py's JSON")
    ap.add_argument("--exec-tuned", help="exec_bench's JSON with malloc tunables (diagnostic)")
    ap.add_argument("--exec-only", action="store_true",
                    help="regenerate only the graph-execution section of --doc")
    ap.add_argument("--tf")
    ap.add_argument("--inspect")
    ap.add_argument("--train")
    ap.add_argument("--tf-train")
    ap.add_argument("--extra", action="append", help="NAME=JSON of stall_bench/rss_bench")
    ap.add_argument("--plot", help="PNG to write (default: <doc>.png with .md replaced)")
    ap.add_argument("--doc", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--commit", default="?")
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    ap.add_argument("--drop-caches", default="not tried")
    args = ap.parse_args()
    if args.plot is None:
        args.plot = os.path.splitext(args.doc)[0] + ".png"

    old = ""
    if os.path.exists(args.doc):
        with open(args.doc) as f:
            old = f.read()
    if args.exec_only:
        gen = "\n".join(exec_section(args))
        if EXEC_BEGIN in old and EXEC_END in old:
            head, rest = old.split(EXEC_BEGIN, 1)
            doc = head + gen + rest.split(EXEC_END, 1)[1]
        elif END in old:
            head, tail = old.split(END, 1)
            doc = head + END + "\n\n" + gen + tail
        else:
            doc = old + "\n" + gen + "\n"
        with open(args.doc, "w") as f:
            f.write(doc)
        print(f"wrote the graph-execution section of {args.doc}")
        return
    if not args.bench:
        ap.error("--bench is required unless --exec-only")
    gen = generate(args)
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        # A graph-execution section an --exec-only run put outside the
        # generated block is superseded by the one inside it.
        if EXEC_BEGIN in tail and EXEC_END in tail:
            before, after = tail.split(EXEC_BEGIN, 1)
            tail = before.rstrip("\n") + "\n" + after.split(EXEC_END, 1)[1]
        doc = head + gen + tail
    else:
        doc = "# Benchmarks\n\n" + gen + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(args.doc)), exist_ok=True)
    with open(args.doc, "w") as f:
        f.write(doc)
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
