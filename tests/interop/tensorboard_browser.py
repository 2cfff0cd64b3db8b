"""Runs real TensorBoard and headless Chromium for test_tensorboard_browser.py.

Everything here listens on / talks to 127.0.0.1 only, every wait is bounded,
and both TensorBoard and Chromium run in their own process group (session),
so teardown kills the whole tree (Chromium forks zygote, GPU and renderer
processes; TensorBoard may fork data-loading helpers).

No third-party Python packages: HTTP through urllib, PNG decoding through
zlib (enough for Chromium's screenshots: 8-bit RGB/RGBA, not interlaced).
"""

import json
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from typing import List, Optional, Sequence, Tuple

LOOPBACK = "127.0.0.1"


# ------------------------------------------------------------- processes

def kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Kills the process group led by `proc`, which must have been started
    with start_new_session=True (so its pid is its process group id and never
    the caller's): SIGTERM, then SIGKILL after `grace` seconds, then SIGKILL
    to anything the leader left behind."""
    if proc is None:
        return
    pgid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:  # nothing left in the group
            break
        except PermissionError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        break
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=5)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# ----------------------------------------------------------- TensorBoard

class TensorBoard:
    """`python -m tensorboard.main` on 127.0.0.1:<free port> over `logdir`.

    Use as a context manager; the server (and its process group) is killed on
    exit. `python` defaults to this interpreter (the venv with tensorboard)."""

    def __init__(self, logdir, workdir, python: str = sys.executable):
        self.logdir = pathlib.Path(logdir)
        self.workdir = pathlib.Path(workdir)
        self.python = python
        self.port = None
        self.proc = None
        self.log_path = self.workdir / "tensorboard.log"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, ready_timeout: float = 60.0) -> "TensorBoard":
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        # A private HOME-independent temp dir: TensorBoard writes its
        # ".tensorboard-info" there.
        env["TMPDIR"] = str(self.workdir)
        last_error = None
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [self.python, "-m", "tensorboard.main", "--logdir", str(self.logdir),
                 "--host", LOOPBACK, "--port", str(self.port), "--load_fast=false",
                 "--reload_interval", "1"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=str(self.workdir), start_new_session=True)
            log.close()
            try:
                self._wait_ready(ready_timeout)
                return self
            except _ServerDied as e:
                last_error = e
                kill_group(self.proc)
                self.proc = None
                if "already in use" not in self.log():
                    break
        raise AssertionError(f"TensorBoard did not start: {last_error}\n--- log ---\n{self.log()}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise _ServerDied(f"exited with status {self.proc.returncode}")
            try:
                self.get_json("/data/runs", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
                pass
            if time.monotonic() > deadline:
                kill_group(self.proc)
                raise AssertionError(
                    f"TensorBoard did not answer on {self.url} within {timeout:.0f} s\n"
                    f"--- log ---\n{self.log()}")
            time.sleep(0.25)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def get_json(self, path: str, timeout: float = 10):
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            assert r.status == 200, f"GET {path}: HTTP {r.status}"
            return json.loads(r.read().decode("utf-8"))

    def wait_json(self, path: str, ready, timeout: float = 20):
        """Polls GET `path` until `ready(result)` is true (TensorBoard loads
        event files in the background); returns the last result."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.get_json(path)
            if ready(result) or time.monotonic() > deadline:
                return result
            time.sleep(0.25)

    def stop(self) -> None:
        kill_group(self.proc)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _ServerDied(Exception):
    pass


# -------------------------------------------------------------- Chromium

def find_chromium() -> Optional[str]:
    """Debian's `chromium` (or CKPT_CHROMIUM), None when not installed."""
    explicit = os.environ.get("CKPT_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_page(chromium: str, url: str, workdir, *, screenshot=None,
                  dump_dom: bool = True, budget_ms: int = 15000,
                  window: Tuple[int, int] = (1400, 1000), timeout: float = 60.0) -> str:
    """Loads `url` in headless Chromium, lets the page run for `budget_ms` of
    virtual time, and returns the serialized DOM (--dump-dom); also writes a
    PNG screenshot when `screenshot` is a path.

    Chromium may only reach 127.0.0.1: every other host name resolves to
    nothing (--host-resolver-rules) and background networking is off."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=workdir)
    args = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", "--disable-default-apps", "--mute-audio",
            "--hide-scrollbars", "--force-device-scale-factor=1",
            f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOOPBACK}",
            f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
            f"--window-size={window[0]},{window[1]}"]
    if screenshot is not None:
        args.append(f"--screenshot={screenshot}")
    if dump_dom:
        args.append("--dump-dom")
    args.append(url)
    err_path = workdir / "chromium.stderr"
    env = dict(os.environ)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    with open(err_path, "ab") as err:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err,
                                stdin=subprocess.DEVNULL, env=env, cwd=str(workdir),
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc, grace=1.0)
            raise AssertionError(f"chromium did not finish loading {url} within {timeout:.0f} s\n"
                                 f"--- stderr ---\n{_tail(err_path)}")
        finally:
            kill_group(proc, grace=1.0)  # renderer/zygote children, if any are left
            shutil.rmtree(profile, ignore_errors=True)
    if proc.returncode != 0:
        raise AssertionError(f"chromium exited with status {proc.returncode} on {url}\n"
                             f"--- stderr ---\n{_tail(err_path)}")
    if screenshot is not None and not pathlib.Path(screenshot).is_file():
        raise AssertionError(f"chromium wrote no screenshot for {url}\n"
                             f"--- stderr ---\n{_tail(err_path)}")
    return out.decode("utf-8", errors="replace")


def _tail(path, n: int = 4000) -> str:
    try:
        return pathlib.Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return ""


# ------------------------------------------------------------------- PNG

class Image:
    """An 8-bit RGB image: rows of bytes, 3 bytes per pixel."""

    def __init__(self, width: int, height: int, rows: List[bytes]):
        self.width, self.height, self.rows = width, height, rows

    def pixel(self, x: int, y: int) -> Tuple[int, int, int]:
        r = self.rows[y]
        return r[3 * x], r[3 * x + 1], r[3 * x + 2]


def read_png(path) -> Image:
    """Decodes a non-interlaced 8-bit RGB or RGBA PNG (what Chromium's
    --screenshot writes). Alpha is dropped."""
    data = pathlib.Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, color, _comp, _filt, interlace = header
    if depth != 8 or color not in (2, 6) or interlace != 0:
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, color type {color}, "
                         f"interlace {interlace})")
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        off = y * (stride + 1)
        ftype = raw[off]
        cur = bytearray(raw[off + 1:off + 1 + stride])
        if ftype == 1:
            for i in range(bpp, stride):
                cur[i] = (cur[i] + cur[i - bpp]) & 0xFF
        elif ftype == 2:
            for i in range(stride):
                cur[i] = (cur[i] + prev[i]) & 0xFF
        elif ftype == 3:
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) & 0xFF
        elif ftype != 0:
            raise ValueError(f"{path}: bad PNG filter {ftype} in row {y}")
        prev = cur
        if bpp == 4:
            rgb = bytearray(width * 3)
            rgb[0::3], rgb[1::3], rgb[2::3] = cur[0::4], cur[1::4], cur[2::4]
            rows.append(bytes(rgb))
        else:
            rows.append(bytes(cur))
    return Image(width, height, rows)


def color_pixels(img: Image, color: Tuple[int, int, int], tolerance: int = 24,
                 box: Optional[Sequence[int]] = None) -> List[Tuple[int, int]]:
    """(x, y) of every pixel within `tolerance` (per channel) of `color`,
    inside box = (x0, y0, x1, y1) when given."""
    x0, y0, x1, y1 = box if box is not None else (0, 0, img.width, img.height)
    found = []
    for y in range(max(0, y0), min(img.height, y1)):
        row = img.rows[y]
        for x in range(max(0, x0), min(img.width, x1)):
            i = 3 * x
            if (abs(row[i] - color[0]) <= tolerance and abs(row[i + 1] - color[1]) <= tolerance
                    and abs(row[i + 2] - color[2]) <= tolerance):
                found.append((x, y))
    return found
