#!/usr/bin/env bash
# Builds ckpt and runs every test:
#   1. unit tests (GoogleTest via ctest), Release-with-debug-info build in build/
#   2. the same unit tests under AddressSanitizer + UBSan, in build-asan/:
#      clang, built without oneDNN (CKPT_ONEDNN=OFF) so that the Eigen paths
#      of the float Conv2D and GEMM (src/ops/onednn.h) are tested too, and
#      with libFuzzer's coverage hooks, so that step 4 reuses the build
#   3. the installed CMake package: a tiny consumer project does find_package(ckpt)
#   4. the libFuzzer harnesses (from build-asan/): every checked-in seed
#      once, then a short fuzzing run of each (scripts/fuzz.sh)
#   5. the Python package: pip install into the test venv, then tests/python
#      (pytest against TensorFlow; one test installs it into a fresh venv)
#   6. interop tests against real TensorFlow (pytest, in a venv of test peers),
#      last, so that pytest's summary closes the output
# Installs its own dependencies first (scripts/deps.sh). Set CKPT_SKIP_ASAN=1
# to skip step 2 while iterating, CKPT_SKIP_FUZZ=1 to skip step 4;
# CKPT_FUZZ_SECONDS sets step 4's seconds per harness (default 10).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)

# A full run needs about 8 GiB: two builds here (~6 GiB) and the interop
# tests' checkpoints in the temp dir (~2 GiB). Say so up front: a full disk
# otherwise shows up as a compiler or test failure far from its cause.
for d in "$root" "${TMPDIR:-/tmp}"; do
  avail_kib=$(df -Pk "$d" 2>/dev/null | awk 'NR == 2 {print $4}')
  if [ -n "$avail_kib" ] && [ "$avail_kib" -lt $((8 * 1024 * 1024)) ]; then
    echo "WARNING: only $((avail_kib / 1024)) MiB free under $d; the tests need about 8 GiB" >&2
  fi
done

# Each step's header carries the time since the start, so a slow CI run says
# which step grew.
start=$(date +%s)
step() { echo "== $* [+$(( ($(date +%s) - start) / 60 )) min]"; }

bash scripts/deps.sh --python
venv=${CKPT_VENV:-$HOME/.cache/ckpt/venv}

step "build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

step "unit tests"
(cd build && ctest --output-on-failure -j"$jobs")

# One sanitized build (clang, ASan + UBSan, libFuzzer's coverage hooks, no
# oneDNN) serves both the unit tests under the sanitizers and the fuzzers.
sanitized="$root/build-asan"
if [ "${CKPT_SKIP_ASAN:-0}" != "1" ]; then
  step "unit tests under AddressSanitizer + UBSan (build-asan/, clang)"
  CKPT_FUZZ_BUILD="$sanitized" CKPT_FUZZ_WITH_TESTS=1 CKPT_FUZZ_JOBS="$jobs" \
    bash scripts/fuzz.sh --build-only
  (cd "$sanitized" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -L unit)
fi

step "installed package (find_package(ckpt) from an install prefix)"
prefix="$root/build/install-test/prefix"
rm -rf "$root/build/install-test"
cmake --install build --prefix "$prefix" >/dev/null
cmake -S tests/install -B build/install-test/consumer -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build build/install-test/consumer -j"$jobs" >/dev/null
"$root/build/install-test/consumer/consumer" "$root/build/install-test/ckpt"

if [ "${CKPT_SKIP_FUZZ:-0}" != "1" ]; then
  # The harnesses, from the sanitized build above: the corpus replay, then
  # 10 s of fuzzing each.
  step "fuzzing (scripts/fuzz.sh, build-asan/)"
  if command -v clang++ >/dev/null; then
    with_tests=1
    [ "${CKPT_SKIP_ASAN:-0}" = "1" ] && with_tests=0
    CKPT_FUZZ_BUILD="$sanitized" CKPT_FUZZ_WITH_TESTS=$with_tests CKPT_FUZZ_JOBS="$jobs" \
      bash scripts/fuzz.sh "${CKPT_FUZZ_SECONDS:-10}"
  else
    echo "clang++ not found (scripts/deps.sh installs it): fuzzing skipped" >&2
    exit 1
  fi
fi

# The package builds the library again, in its own persistent build-dir
# (build/pip/, pyproject.toml), so only what changed is recompiled; without
# build isolation the venv's nanobind keeps that directory valid.
step "Python package (pip install into the test venv, tests/python)"
py_start=$(date +%s)
"$venv/bin/python" -m pip install -q --no-build-isolation --force-reinstall --no-deps "$root"
echo "pip install of the package: $(( $(date +%s) - py_start )) s"
TF_CPP_MIN_LOG_LEVEL=3 "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python

step "interop tests against TensorFlow"
CKPT_BUILD_DIR="$root/build" TF_CPP_MIN_LOG_LEVEL=3 \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/interop
