#!/usr/bin/env python3
"""Writes the "Cost curves" section of docs/benchmarks.md and docs/curves.png.

Input: the JSON of bench/curves_run.py (points with ckpt and TF medians,
peak RSS of open+list, index sizes) and the machine's roofs (curve_bench
--case=roofs). Only the text between COST_BEGIN and COST_END is replaced; a
document without them gets the section appended (a new file is created).
Slopes are least-squares fits of log(time) against log(size) or log(tensor
count): 1 is linear, 2 quadratic, 0 flat.
"""
import argparse
import json
import math
import os
import platform
import subprocess

COST_BEGIN = "<!-- BEGIN GENERATED COST CURVES (bench/curves; do not edit by hand) -->"
COST_END = "<!-- END GENERATED COST CURVES -->"

CKPT_OPS = [("save", "save"), ("open_list", "open+list"), ("inspect_proc", "`ckpt inspect`"),
            ("verify", "verify"), ("restore", "restore")]
TF_OPS = [("save", "TF save"), ("open_list", "TF open+list"), ("restore", "TF restore")]
MiB = 1 << 20


def median(v):
    v = sorted(v or [])
    n = len(v)
    if n == 0:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def fmt_t(s):
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_bytes(b):
    def num(x):
        return f"{x:.0f}" if x == int(x) or x >= 100 else f"{x:.1f}"
    if b >= 1 << 30:
        return f"{num(b / (1 << 30))} GiB"
    if b >= MiB:
        return f"{num(b / MiB)} MiB"
    if b >= 1024:
        return f"{b / 1024:.0f} KiB"
    return f"{b} B"


def slope(xs, ys):
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if y and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else None


def fmt_slope(s):
    return "–" if s is None else f"{s:.2f}"


def machine(scratch):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / (1 << 20):.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    fs = ""
    try:
        d = scratch
        while d and not os.path.exists(d):
            d = os.path.dirname(d)
        out = subprocess.run(["df", "--output=source,fstype", d], capture_output=True,
                             text=True).stdout.split("\n")[1].split()
        fs = f"scratch on {out[0]} ({out[1]})"
    except (OSError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem}, {fs}, Linux {platform.release()}"


def floors(p, roofs):
    """Lower bounds (seconds) per operation from the machine's roofs."""
    gib = float(1 << 30)
    b, ix = p["bytes"], p["index_bytes"]
    # Reading the index at all: copy it from the page cache into fresh memory.
    open_floor = ix / (roofs["memcpy_gib_s"] * gib) + ix / 4096 * roofs["fault_us_per_page"] * 1e-6
    crc = b / (roofs["crc32c_gib_s"] * gib)
    copy = b / (roofs["memcpy_gib_s"] * gib)
    return {
        # Data and index to disk, and at least the data file, the index and
        # the directory synced.
        "save": (b + ix) / (roofs["disk_write_gib_s"] * gib) + 3 * roofs["fsync_ms"] * 1e-3,
        "open_list": open_floor,
        "inspect_proc": open_floor + median(p["seconds"].get("proc_start") or [0]),
        "verify": open_floor + crc,
        "restore": open_floor + copy + crc,
    }


def section(res, roofs, args):
    pts = {(p["bytes"], p["tensors"]): p for p in res["points"]}
    size_pts = [pts[tuple(k)] for k in res["sweeps"]["size"]]
    count_pts = [pts[tuple(k)] for k in res["sweeps"]["count"]]
    ncpu = os.cpu_count() or 1
    def load1(text):
        try:
            return float(text.split()[0])
        except (ValueError, IndexError):
            return 0.0
    # The load after the run includes the run's own threads (TensorFlow's);
    # only the load before it says whether other jobs held the cores.
    busy = load1(args.load_before) > 0.5 * ncpu
    L = [COST_BEGIN, "", "### Cost curves: time against checkpoint size and tensor count (`bench/curves`)",
         ""]
    L.append(f"Run {args.date}, commit {args.commit}, `{args.command}`; {machine(args.dir)}. "
             f"Load average before {args.load_before}, after {args.load_after}"
             + (" — **the 1-minute load before the run was above half the cores** (other jobs, or "
                "the tail of earlier ones): absolute times may be inflated and noisy, more so for "
                "the small points; the slopes are what this section checks." if busy else ".")
             + (f" TensorFlow {res['tf_version']}." if res.get("tf_version") else " No TensorFlow."))
    L.append("")
    L.append("Each cell is the median of the repetitions. The checkpoint is float32 tensors of equal "
             "size named `model/block_NNNNNNN/kernel`. ckpt: **save** = `Saver::Save` with default "
             "options (durable: direct IO, fsync, state file); **open+list** = `BundleReader::Open` + "
             "every entry's key, dtype and shape, in process; **`ckpt inspect`** = the process "
             "`ckpt inspect --file_name=P` (fork+exec to exit, output drained); **verify** = "
             "`VerifyCheckpoint` (every checksum); **restore** = `BundleReader::Open` + "
             "`ReadManyInto` into preallocated tensors, files warm. TF: **save** = `SaveV2` + fsync, "
             "**open+list** = `tf.train.load_checkpoint` + shape and dtype maps, **restore** = "
             "`RestoreV2` (allocates). A TF operation is skipped at the larger points of a sweep "
             f"once it took over {res['tf_limit']:.0f} s (or its process was killed after "
             f"{res['tf_timeout']:.0f} s).")
    L.append("")
    L.append(f"![cost curves: time against size and against tensor count]({os.path.basename(args.png)})")
    L.append("")

    def table(title, points, first_col, extra_rss):
        L.append(f"#### {title}")
        L.append("")
        head = [first_col, "index"] + [n for _, n in CKPT_OPS] + [n for _, n in TF_OPS]
        if extra_rss:
            head += ["peak RSS open+list", "÷ index"]
        L.append("| " + " | ".join(head) + " |")
        L.append("|" + "---|" * len(head))
        for p in points:
            row = [fmt_bytes(p["bytes"]) if first_col == "size" else f"{p['tensors']:,}",
                   fmt_bytes(p["index_bytes"])]
            row += [fmt_t(median(p["seconds"].get(op))) for op, _ in CKPT_OPS]
            for op, _ in TF_OPS:
                if op in p.get("tf", {}):
                    row.append(fmt_t(median(p["tf"][op])))
                elif op in p.get("tf_skipped", {}):
                    row.append("skipped")
                else:
                    row.append("–")
            if extra_rss:
                rss = p.get("rss") or {}
                d = (rss.get("hwm_kb", 0) - rss.get("rss_before_kb", 0)) * 1024
                row += [fmt_bytes(d), f"{d / p['index_bytes']:.1f}"]
            L.append("| " + " | ".join(row) + " |")
        L.append("")

    table(f"Size sweep: {res['size_tensors']} tensors", size_pts, "size", False)
    table(f"Tensor-count sweep: {fmt_bytes(res['count_bytes'])} in total", count_pts, "tensors", True)

    # CPU time of open+list.
    L.append("#### Open+list: wall clock and CPU time (count sweep)")
    L.append("")
    L.append("CPU = user + system seconds of the work (in process: `CLOCK_PROCESS_CPUTIME_ID`; the "
             "`ckpt inspect` process: its rusage; TF: `time.process_time`, all its threads). On a "
             "shared machine the wall clock also counts the time other jobs held the cores; the "
             "CPU time does not.")
    L.append("")
    L.append("| tensors | open+list wall | CPU | `ckpt inspect` wall | CPU | TF open+list wall | CPU |")
    L.append("|---|---|---|---|---|---|---|")
    for p in count_pts:
        sec, tf = p["seconds"], p.get("tf", {})
        L.append(f"| {p['tensors']:,} | {fmt_t(median(sec.get('open_list')))} | "
                 f"{fmt_t(median(sec.get('open_list_cpu')))} | "
                 f"{fmt_t(median(sec.get('inspect_proc')))} | "
                 f"{fmt_t(median(sec.get('inspect_proc_cpu')))} | "
                 f"{fmt_t(median(tf.get('open_list')))} | {fmt_t(median(tf.get('open_list_cpu')))} |")
    L.append("")

    # Slopes.
    L.append("#### Fitted slopes (log-log least squares; 1 = linear, 2 = quadratic)")
    L.append("")
    L.append("\"all\" fits every point of the sweep; \"top 3\" only the three largest, where the "
             "swept quantity dominates (at small sizes a fixed cost flattens the curve, and in the "
             "count sweep the bytes are constant, so few tensors cost the same as many until the "
             "per-tensor work dominates).")
    L.append("")
    L.append("| operation | size: all | size: top 3 | count: all | count: top 3 |")
    L.append("|---|---|---|---|---|")

    def series(points, x, op, tf):
        xs, ys = [], []
        for p in points:
            src = p.get("tf", {}) if tf else p["seconds"]
            m = median(src.get(op))
            if m:
                xs.append(p[x])
                ys.append(m)
        return xs, ys

    slopes = {}
    for tf, ops in ((False, CKPT_OPS), (True, TF_OPS)):
        for op, name in ops:
            cells = []
            for points, x in ((size_pts, "bytes"), (count_pts, "tensors")):
                xs, ys = series(points, x, op, tf)
                s_all = slope(xs, ys)
                s_top = slope(xs[-3:], ys[-3:]) if len(xs) >= 3 else None
                cells += [fmt_slope(s_all), fmt_slope(s_top) + ("" if len(xs) == len(points) else
                                                                f" (to {xs[-1]:,})" if xs else "")]
                slopes[(tf, op, x)] = s_top
            L.append(f"| {name} | " + " | ".join(cells) + " |")
    L.append("")

    # Targets.
    big = max(count_pts, key=lambda p: p["tensors"])
    ol = median(big["seconds"]["open_list"])
    ip = median(big["seconds"].get("inspect_proc"))
    ratios = []
    for p in count_pts:
        rss = p.get("rss") or {}
        ratios.append((rss.get("hwm_kb", 0) - rss.get("rss_before_kb", 0)) * 1024 / p["index_bytes"])
    L.append("#### Targets")
    L.append("")
    olc = median(big["seconds"].get("open_list_cpu"))
    ipc = median(big["seconds"].get("inspect_proc_cpu"))

    def verdict(wall, cpu):
        if wall is not None and wall < 1:
            return "met"
        if cpu is not None and cpu < 1:
            return "met in CPU time, not in wall clock"
        return "NOT met"
    L.append(f"- Open+list of {big['tensors']:,} tensors under 1 s: in process {fmt_t(ol)} wall, "
             f"{fmt_t(olc)} CPU ({verdict(ol, olc)}); as the `ckpt inspect` process {fmt_t(ip)} "
             f"wall, {fmt_t(ipc)} CPU ({verdict(ip, ipc)}).")
    big_ratios = [r for p, r in zip(count_pts, ratios) if p["tensors"] >= 10000]
    if big_ratios:
        L.append(f"- Peak RSS of open+list a fixed multiple of the index: {min(big_ratios):.1f}–"
                 f"{max(big_ratios):.1f}× the `.index` size from 10,000 tensors up (below that the "
                 "process's fixed allocations dominate).")
    worst = max(((s, k) for k, s in slopes.items() if s is not None), default=None)
    if worst:
        L.append(f"- Largest top-3 slope: {worst[0]:.2f} ({'TF ' if worst[1][0] else ''}{worst[1][1]} "
                 f"against {'size' if worst[1][2] == 'bytes' else 'tensor count'}); "
                 "no quadratic step shows up (a quadratic one would approach 2).")
    L.append("")

    # Physical limits.
    L.append("#### Distance from the physical limit")
    L.append("")
    L.append(f"Roofs measured on this machine in the same run (`curve_bench --case=roofs`, one thread): "
             f"durable sequential write {roofs['disk_write_gib_s']:.2f} GiB/s (O_DIRECT + fdatasync), "
             f"memcpy {roofs['memcpy_gib_s']:.1f} GiB/s, CRC32C {roofs['crc32c_gib_s']:.1f} GiB/s, "
             f"a page fault on fresh memory {roofs['fault_us_per_page']:.2f} µs per 4 KiB page, "
             f"an fdatasync of a small new file {roofs['fsync_ms']:.2f} ms. "
             "Floor per operation: save = (data + index bytes) / disk write + 3 fsyncs (data, "
             "index, directory); open+list = the index copied from the page cache into fresh "
             "memory (memcpy + its page faults); `ckpt inspect` = that + the start and exit of "
             "the `ckpt` process (`ckpt --version`, timed in the same run); verify = open floor + "
             "data bytes / CRC32C; restore = open floor + data bytes / memcpy + data bytes / "
             "CRC32C. The cell is measured ÷ floor (1.0 = at the limit; below 1 = faster than a "
             "one-thread roof, by using several threads).")
    L.append("")
    head = ["point", "save", "open+list", "`ckpt inspect`", "verify", "restore"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    for title, points in (("size", size_pts), ("count", count_pts)):
        for p in points:
            f = floors(p, roofs)
            cells = []
            for op, _ in CKPT_OPS:
                m = median(p["seconds"].get(op))
                fl = f[op]
                cells.append("–" if not m or fl <= 0 else f"{m / fl:.1f}×")
            label = (f"{fmt_bytes(p['bytes'])}, {p['tensors']:,} tensors")
            L.append(f"| {label} | " + " | ".join(cells) + " |")
    L.append("")
    L.append(COST_END)
    return "\n".join(L) + "\n"


def plot(res, png):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("curves_report: no matplotlib; plot not written")
        return
    pts = {(p["bytes"], p["tensors"]): p for p in res["points"]}
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    colors = {"save": "C0", "open_list": "C1", "inspect_proc": "C4", "verify": "C2", "restore": "C3"}
    for ax, sweep, x, xlabel in ((axes[0], "size", "bytes", "checkpoint size (MiB)"),
                                 (axes[1], "count", "tensors", "tensor count")):
        points = [pts[tuple(k)] for k in res["sweeps"][sweep]]
        scale = MiB if x == "bytes" else 1
        for tf, ops in ((False, CKPT_OPS), (True, TF_OPS)):
            for op, name in ops:
                xs, ys = [], []
                for p in points:
                    src = p.get("tf", {}) if tf else p["seconds"]
                    m = median(src.get(op))
                    if m:
                        xs.append(p[x] / scale)
                        ys.append(m)
                if xs:
                    ax.plot(xs, ys, ("--" if tf else "-") + ("s" if tf else "o"), color=colors[op],
                            label=name.strip("`") if tf or "ckpt" in name else "ckpt " + name,
                            markersize=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds (median)")
        ax.grid(True, which="both", alpha=0.3)
        ax.axhline(1.0, color="gray", lw=0.8, ls=":")
        ax.axhline(60.0, color="gray", lw=0.8, ls=":")
    axes[0].set_title(f"against size ({res['size_tensors']} tensors)")
    axes[1].set_title(f"against tensor count ({fmt_bytes(res['count_bytes'])} total)")
    axes[1].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"curves_report: wrote {png}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--roofs", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--command", default="bench/curves")
    ap.add_argument("--date", default="")
    ap.add_argument("--commit", default="?")
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    ap.add_argument("--dir", default="")
    args = ap.parse_args()
    with open(args.results) as f:
        res = json.load(f)
    with open(args.roofs) as f:
        roofs = json.load(f)
    gen = section(res, roofs, args)
    old = open(args.doc).read() if os.path.exists(args.doc) else ""
    anchor = "\n## Reading these numbers"
    if COST_BEGIN in old and COST_END in old:
        head, rest = old.split(COST_BEGIN, 1)
        tail = rest.split(COST_END, 1)[1].lstrip("\n")
        doc = head + gen + ("\n" + tail if tail else "")
    elif anchor in old:  # before the analysis, after the other generated sections
        head, tail = old.split(anchor, 1)
        doc = head.rstrip("\n") + "\n\n" + gen + anchor + tail
    else:
        doc = old + ("\n" if old and not old.endswith("\n\n") else "") + gen
    with open(args.doc, "w") as f:
        f.write(doc)
    plot(res, args.png)
    print(f"curves_report: wrote {args.doc}")


if __name__ == "__main__":
    main()
