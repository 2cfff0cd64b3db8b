#!/usr/bin/env bash
# The main job: builds ckpt and runs the guide's premade-estimator example,
# which trains a DNNClassifier on Iris into models/iris (checkpoints, events,
# graph), evaluates it, predicts three flowers and exports it for serving
# (a SavedModel in models/iris/export/<timestamp>). Run it again and it
# resumes from the newest checkpoint. Installs its own dependencies.
# Extra arguments go to the example (e.g. --train_steps 200, --hidden_units 20,20).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target premade_estimator ckpt_cli
./build/examples/premade_estimator --model_dir models/iris --export_dir models/iris/export "$@"
echo
echo "$ ls models/iris"
ls models/iris
echo
echo "$ ckpt inspect --file_name=models/iris"
./build/tools/ckpt inspect --file_name=models/iris
echo
echo "$ ckpt savedmodel show --all <newest export>"
newest=$(ls -d models/iris/export/[0-9]* | sort | tail -n 1)
./build/tools/ckpt savedmodel show "$newest" --all
