#!/usr/bin/env bash
# Every CUDA check in one call, for a machine with an NVIDIA GPU and its own torch
# (no venv, no network, no ROS needed): the CUDA tests, the CPU tests of the
# inference and model code, the extractor benchmark, the engine benchmark (every
# variant side by side) and, where ROS and rosbags exist, the node under bag-bench.
#
#   bash scripts/gpu_check.sh              # on the GPU machine, from anywhere
#   bash scripts/gpu_check.sh --rehearse   # the same steps on the CPU, short (CI runs it)
#
# Environment: PYTHON (default python3), OUT (default gpu_check_out). Each step's
# full output is kept in $OUT/<step>.log; a table of steps (status, wall time) is
# printed last, even when steps failed, and any failed step makes the exit status 1.
# Each step has a time limit; on a GPU machine without ROS the limits add up to
# 6 minutes, so one run fits a short GPU window (bag_bench, where ROS exists, adds 2).
source "$(dirname "$0")/common.sh" "$@"
out="${OUT:-gpu_check_out}"
mkdir -p "$out"
py=${PYTHON:-python3}
export out py
# -p no:cacheprovider: the checkout may be read-only there.
pytest=("$py" -m pytest -q -rs -p no:cacheprovider)

if [ "$rehearse" = 1 ]; then
  # The same steps on the CPU, sized to check that each runs, not to measure
  # (two sizes, the second small: 1280x720 takes a CPU ~0.3 s a frame).
  export device=cpu
  bench_args=(--runs 1 --warmup 1 --sizes 640x480,320x240)
  engine_args=(--frames 4 --stage-frames 2 --kernel-frames 1 --budget-s 600 --sizes 640x480,320x240)
  limit_cuda=240 limit_cpu=240 limit_bench=120 limit_engine=240
  # make test runs every CPU test in CI; the cuda_tests step imports every test module
  # here (no ROS), so the CPU step runs only the engine's scheduling tests.
  cpu_tests=(test/inference/test_slot_pipeline.py test/inference/test_packed.py
    test/inference/test_engine.py)
else
  export device=cuda
  bench_args=(--runs 40 --warmup 5)
  engine_args=(--frames 300 --stage-frames 50 --kernel-frames 3 --budget-s 120)
  limit_cuda=100 limit_cpu=45 limit_bench=45 limit_engine=150
  cpu_tests=(test/inference test/models)
fi
weights=()
[ -f weights/sobelnet.safetensors ] && [ -f weights/desnet.safetensors ] || weights=(--random-weights)

names=() states=() walls=() details=()

# step NAME LIMIT_S COMMAND...: run with a time limit, full output to $out/NAME.log.
step() {
  local name=$1 limit=$2
  shift 2
  local log="$out/$name.log" start rc state
  echo "=== $name: $* (limit ${limit}s)" | tee "$log"
  declare -F "$1" >/dev/null && set -- bash -c "$1"  # a function of this script (exported)
  start=$(date +%s%N)
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  case $rc in
    0) state=ok ;;
    124 | 137) state="FAILED (over ${limit}s)" ;;
    *) state="FAILED (exit $rc)" ;;
  esac
  record "$name" "$state" $((($(date +%s%N) - start) / 1000000)) "$(tail -n 1 "$log")"
}

# skip NAME REASON: a step that cannot run here, with the reason in the table.
skip() {
  echo "=== $1: skipped: $2" | tee "$out/$1.log"
  record "$1" skipped 0 "$2"
}

# record NAME STATE WALL_MS DETAIL
record() {
  names+=("$1") states+=("$2") walls+=("$(($3 / 1000)).$(($3 % 1000 / 100))") details+=("${4:0:90}")
}

summary() {
  local failed=() i
  printf '\n%-14s %-22s %8s  %s\n' step status "wall s" "last line of the log ($out/<step>.log)"
  for i in "${!names[@]}"; do
    printf '%-14s %-22s %8s  %s\n' "${names[$i]}" "${states[$i]}" "${walls[$i]}" "${details[$i]}"
    [[ "${states[$i]}" == FAILED* ]] && failed+=("${names[$i]}")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED steps: ${failed[*]}"
    return 1
  fi
  echo "all steps passed or were skipped (mode: $([ $rehearse = 1 ] && echo rehearsal on the CPU || echo CUDA))"
}

environment() {
  "$py" - "$device" <<'PY'
import sys

import torch

from sobelnet_ros.inference.cpu_tuning import cpu_has_native_bf16

print(f"torch {torch.__version__}, built with CUDA {torch.version.cuda}, "
      f"{torch.get_num_threads()} CPU threads, native CPU bf16: {cpu_has_native_bf16()}")
if sys.argv[1] == "cuda":
    assert torch.cuda.is_available(), "no CUDA device visible to torch"
    print(f"GPU: {torch.cuda.get_device_name()}, capability {torch.cuda.get_device_capability()}")
else:
    print(f"rehearsal on the CPU (CUDA available: {torch.cuda.is_available()})")
PY
  local status=$?
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv
  return $status
}

# The node under `sobelnet bag-bench` needs rclpy and rosbags.
bag_bench() {
  "$py" -m sobelnet_ros.cli.main make-demo-bag --out "$out/demo_bag" --force --duration 5 &&
    "$py" -m sobelnet_ros.cli.main bag-bench "$out/demo_bag" --param "device:=$device" \
      --duration 10 --no-peak --out "$out/bag_bench"
}

export -f environment bag_bench
step environment 20 environment
if [[ "${states[0]}" != ok ]]; then
  for name in cuda_tests cpu_tests bench engine_bench bag_bench; do
    skip "$name" "the environment step failed (no usable torch/CUDA)"
  done
  summary
  exit 1
fi
# The CUDA tests (skipped, with the reason, on the CPU; the slow compiled-step test is
# left to engine_bench, whose agreement columns check every variant's output); then
# the CPU tests of the inference and model code on this host (its CPU may pick bf16).
step cuda_tests "$limit_cuda" "${pytest[@]}" -m "cuda and not slow" test
step cpu_tests "$limit_cpu" "${pytest[@]}" -m "not cuda and not slow" "${cpu_tests[@]}"
step bench "$limit_bench" "$py" -m sobelnet_ros.cli.main bench --device "$device" \
  "${weights[@]}" "${bench_args[@]}" --json "$out/bench.json"
step engine_bench "$limit_engine" "$py" -m sobelnet_ros.cli.main engine-bench \
  --device "$device" "${weights[@]}" "${engine_args[@]}" --json "$out/engine_bench.json"
if "$py" -c "import rclpy, rosbags" 2>/dev/null; then
  step bag_bench 120 bag_bench
else
  skip bag_bench "needs rclpy and rosbags (ROS), not installed for $py"
fi

if [ -f "$out/engine_bench.json" ]; then
  "$py" -m sobelnet_ros.cli.engine_bench "$out/engine_bench.json" | tee "$out/summary.txt"
fi
summary | tee -a "$out/summary.txt"
exit "${PIPESTATUS[0]}"
