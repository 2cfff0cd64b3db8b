"""Long `ckpt` commands draw a progress bar only on a terminal.

`ckpt verify DIR` runs with stderr on a pseudo-terminal: the bar is drawn in
place ('\\r') and erased at the end; with stderr piped, or CKPT_NO_PROGRESS
set, nothing but the report is printed. The report (stdout) never holds the
bar.
"""

import os
import pty
import subprocess

import pytest


def run_with_tty_stderr(args, env):
    """Runs args with stderr on a pseudo-terminal; returns (code, stdout, tty bytes)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        slave = -1
        tty = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            tty += chunk
        out, _ = proc.communicate(timeout=120)
        return proc.returncode, out, tty
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)


@pytest.fixture
def checkpoint_dir(values_corpus):
    return os.path.dirname(str(values_corpus.prefix))


def test_verify_draws_a_bar_on_a_terminal(cli, checkpoint_dir):
    env = {k: v for k, v in os.environ.items() if k != "CKPT_NO_PROGRESS"}
    env["TERM"] = "xterm"
    code, out, tty = run_with_tty_stderr([str(cli), "verify", checkpoint_dir], env)
    assert code == 0, (out, tty)
    assert b"\rverifying [" in tty and b"100%" in tty, tty
    assert tty.endswith(b"\r\x1b[K"), tty[-40:]
    assert b"\r" not in out and b"verified" in out


def test_verify_is_quiet_when_piped_or_asked(cli, checkpoint_dir):
    piped = subprocess.run([str(cli), "verify", checkpoint_dir], capture_output=True)
    assert piped.returncode == 0
    assert piped.stderr == b""
    env = dict(os.environ, CKPT_NO_PROGRESS="1", TERM="xterm")
    code, out, tty = run_with_tty_stderr([str(cli), "verify", checkpoint_dir], env)
    assert code == 0
    assert tty == b""
    assert out == piped.stdout


def test_convert_draws_a_bar_on_a_terminal(cli, values_corpus, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CKPT_NO_PROGRESS"}
    env["TERM"] = "xterm"
    dst = tmp_path / "values.safetensors"
    args = [str(cli), "convert", str(values_corpus.prefix), str(dst), "--skip-unsupported"]
    code, out, tty = run_with_tty_stderr(args, env)
    assert code == 0, (out, tty)
    assert b"\rconverting [" in tty and b"100%" in tty, tty
    assert tty.endswith(b"\r\x1b[K")
    assert b"\r" not in out and b"Wrote " in out
    piped = subprocess.run(args, capture_output=True)
    assert piped.returncode == 0 and piped.stderr == b""


def test_merge_draws_a_bar_on_a_terminal(cli, values_corpus, tmp_path):
    sources = []
    for part in ("a", "b"):
        prefix = tmp_path / part / "p"
        subprocess.run([str(cli), "convert", str(values_corpus.prefix), str(prefix), "--to", "tf",
                        "--name-map", f"prefix:={part}/"], check=True, capture_output=True)
        sources.append(str(prefix))
    env = {k: v for k, v in os.environ.items() if k != "CKPT_NO_PROGRESS"}
    env["TERM"] = "xterm"
    code, out, tty = run_with_tty_stderr(
        [str(cli), "merge", *sources, "--into", str(tmp_path / "m" / "p")], env)
    assert code == 0, (out, tty)
    assert b"\rmerging [" in tty and b"100%" in tty, tty
    assert tty.endswith(b"\r\x1b[K")
    assert b"\r" not in out and b"Merged 2 bundles" in out
