#!/usr/bin/env bash
# Installs what building and testing ckpt needs, idempotently:
#   - Debian packages (compiler, CMake, protobuf, LevelDB, ISA-L, ...), via apt
#   - with --python: a venv with the test peers (tensorflow-cpu, tensorboard,
#     numpy, pytest) at $CKPT_VENV (default ~/.cache/ckpt/venv)
# Fast when everything is already there.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
want_python=0
[ "${1:-}" = "--python" ] && want_python=1

packages=(
  build-essential cmake pkg-config git
  protobuf-compiler libprotobuf-dev
  libleveldb-dev libsnappy-dev
  libisal-dev libeigen3-dev libcli11-dev
  # JSON headers of safetensors files (src/convert, header-only)
  nlohmann-json3-dev
  # oneDNN: float convolutions and GEMMs (src/ops/onednn.h)
  libdnnl-dev ocl-icd-opencl-dev  # the second: dnnl-config.cmake asks for OpenCL
  # HDF5: Keras 3 .weights.h5 files (src/keras/, the HDF5 C API)
  libhdf5-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Open MPI: distributed checkpoints (ckpt::mpi) and their tests under mpirun
  openmpi-bin libopenmpi-dev
  # scripts/fuzz.sh: clang and its libFuzzer/sanitizer runtimes
  clang libclang-rt-14-dev
  python3 python3-venv
  # Headless browser for tests/interop/test_tensorboard_browser.py (with
  # --no-install-recommends it comes without fonts; text must render).
  chromium fonts-liberation fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $want_python -eq 1 ]; then
  venv=${CKPT_VENV:-$HOME/.cache/ckpt/venv}
  req="$here/tests/interop/requirements.txt"
  stamp="$venv/.ckpt-requirements"
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$stamp"; then
    echo "deps: creating Python venv with the test peers at $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$req"
    cp "$req" "$stamp"
  fi
fi
