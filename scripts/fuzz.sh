#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, CKPT_FUZZ=ON, clang with
# ASan + UBSan) in build-fuzz/ and runs them, one after the other:
#   1. every checked-in seed of tests/fuzz/corpus/<harness>/ once (regression
#      inputs: a known crash added to the corpus fails here);
#   2. fuzzing for SECONDS each (default 60) from a scratch corpus,
#      build-fuzz/corpus/<harness>/, that starts from the checked-in seeds
#      (which are never written to); SECONDS = 0 skips this step.
# Prints the executions per harness and in total; exits non-zero if any
# harness found a crash, leak, timeout or out-of-memory (the input is kept
# in build-fuzz/artifacts/<harness>/; add it to the corpus with the fix).
#
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS ...]
#        scripts/fuzz.sh --build-only
# Environment: CKPT_FUZZ_JOBS (build jobs, default nproc), CKPT_FUZZ_NICE
# (niceness of the fuzzers, default 10), CKPT_FUZZ_BUILD (build directory,
# default build-fuzz/), CKPT_FUZZ_WITH_TESTS=1 (build the unit tests in the
# same sanitized configuration too: scripts/test.sh runs them under
# ASan + UBSan from that one build instead of compiling everything twice).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build_only=0
if [ "${1:-}" = "--build-only" ]; then
  build_only=1
  shift
fi
secs=${1:-60}
[ $# -gt 0 ] && shift
all=(bundle table v1 checkpoint_state object_graph record event meta_graph saved_model graph_pbtxt graph_exec
     iris inspect npy parse_example safetensors)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")
build="${CKPT_FUZZ_BUILD:-$root/build-fuzz}"
with_tests=OFF
[ "${CKPT_FUZZ_WITH_TESTS:-0}" = "1" ] && with_tests=ON

# Largest input each harness is fuzzed with (bytes).
declare -A max_len=(
  [bundle]=16384 [table]=16384 [v1]=8192 [checkpoint_state]=4096 [object_graph]=8192
  [record]=16384 [event]=8192 [meta_graph]=65536 [saved_model]=65536 [graph_pbtxt]=16384 [graph_exec]=65536 [iris]=8192
  [inspect]=4096 [npy]=4096 [parse_example]=4096 [safetensors]=4096)

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "== fuzz: build ($build, clang, -fsanitize=fuzzer,address,undefined, unit tests $with_tests)"
# -O1 with line tables only, assertions on: a cheaper compile than -O2 -g
# (the sanitized protobuf code dominates the build). Without oneDNN, so the
# Eigen paths of Conv2D and GEMM (src/ops/onednn.h) are the ones sanitized.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKPT_FUZZ=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DCKPT_ONEDNN=OFF \
  -DCKPT_BUILD_TESTS="$with_tests" -DCKPT_BUILD_BENCHMARKS=OFF -DCKPT_BUILD_EXAMPLES=OFF \
  -DCKPT_INSTALL=OFF "${launcher[@]}" >/dev/null
targets=(--target fuzzers)
[ "$with_tests" = ON ] && targets=(--target all fuzzers)
cmake --build "$build" -j"${CKPT_FUZZ_JOBS:-$(nproc)}" "${targets[@]}"
[ $build_only = 1 ] && exit 0

asan_default=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
# Harnesses that run graphs may be asked for any tensor size: there an
# allocation above 64 MiB fails (null, as when memory runs out), and the
# library must turn that into an error, not a crash.
declare -A asan_extra=([graph_exec]=allocator_may_return_null=1:max_allocation_size_mb=64)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
nice_cmd=(nice -n "${CKPT_FUZZ_NICE:-10}")
failed=()
total=0
summary=""
for h in "${harnesses[@]}"; do
  bin="$build/tests/fuzz/fuzz_$h"
  seeds="$root/tests/fuzz/corpus/$h"
  if [ -z "${max_len[$h]:-}" ] || [ ! -x "$bin" ]; then
    echo "fuzz: unknown harness '$h' (known: ${all[*]})" >&2
    exit 2
  fi
  log="$build/logs/$h.log"
  export ASAN_OPTIONS="$asan_default${asan_extra[$h]:+:${asan_extra[$h]}}"
  mkdir -p "$build/corpus/$h" "$build/artifacts/$h" "$build/logs"
  flags=(-timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$h]}"
         -artifact_prefix="$build/artifacts/$h/" -print_final_stats=1)

  echo "== fuzz: $h: the checked-in corpus once"
  if ! "${nice_cmd[@]}" "$bin" "${flags[@]}" -runs=0 "$seeds" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    failed+=("$h (corpus)")
    continue
  fi
  [ "$secs" = 0 ] && continue

  echo "== fuzz: $h for ${secs}s"
  rc=0
  "${nice_cmd[@]}" "$bin" "${flags[@]}" -max_total_time="$secs" \
    "$build/corpus/$h" "$seeds" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  execs=${execs:-0}
  total=$((total + execs))
  summary+=$(printf '%-18s %12s execs  %s\n' "$h" "$execs" "$([ $rc = 0 ] && echo ok || echo FAILED)")
  summary+=$'\n'
  if [ $rc != 0 ]; then
    tail -n 60 "$log" >&2
    failed+=("$h")
  fi
done

if [ "$secs" != 0 ]; then
  echo "== fuzz: executions (${secs}s per harness)"
  printf '%s' "$summary"
  printf '%-18s %12s execs\n' total "$total"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (logs in $build/logs/, inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz: nothing found"
