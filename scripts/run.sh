#!/usr/bin/env bash
# Builds ckpt and runs the main example. Installs its own dependencies.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target write_read_checkpoint ckpt_cli
./build/examples/write_read_checkpoint models/example/model.ckpt
./build/tools/ckpt inspect --file_name=models/example
