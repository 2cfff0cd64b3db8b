#!/usr/bin/env bash
# The long run of tests/interop/test_model_dir_safety.py: two example trainers
# at once on one model_dir for ROUNDS rounds (default 60, the issue's soak;
# CI runs 4). Usage: scripts/soak_model_dir.sh [ROUNDS]. Needs a build in
# build/ (bash scripts/test.sh or cmake --build build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${CKPT_VENV:-$HOME/.cache/ckpt/venv}
CKPT_SOAK_ROUNDS=${1:-60} CKPT_BUILD_DIR="$root/build" TF_CPP_MIN_LOG_LEVEL=3 \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -s \
  "$root/tests/interop/test_model_dir_safety.py" -k "two_trainers"
