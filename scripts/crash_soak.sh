#!/usr/bin/env bash
# Crash soak: kill -9 ckpt_crash_saver at random moments, many times.
#
#   scripts/crash_soak.sh [TRIALS] [BUILD_DIR]
#
# Runs tests/interop/test_crash.py with TRIALS trials (default 1000; CI runs
# 200). Needs ckpt_crash_saver, ckpt_cli and ckpt_interop_tool built in
# BUILD_DIR (default build/) and the interop venv (TensorFlow checks values).
# Prints the seed; rerun a failure with CKPT_CRASH_SEED=<seed>.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
trials="${1:-1000}"
build="${2:-$here/build}"
python="${CKPT_PYTHON:-$HOME/.cache/ckpt/venv/bin/python}"
cd "$here/tests/interop"
CKPT_BUILD_DIR="$build" CKPT_CRASH_TRIALS="$trials" \
  "$python" -m pytest -q -s test_crash.py
