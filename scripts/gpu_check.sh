#!/usr/bin/env bash
# Every CUDA check in one call, for a machine with an NVIDIA GPU and its own torch
# (no venv, no network, no ROS needed): the CUDA tests, then the GPU benchmarks,
# with a short table last. Results go to ${OUT:-gpu_check_out}/.
#
#   bash scripts/gpu_check.sh            # from the repository root
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
out="${OUT:-gpu_check_out}"
mkdir -p "$out"
py=${PYTHON:-python3}

$py - <<'PY' || exit 1
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")
PY
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null

status=0
# -p no:cacheprovider: the checkout may be read-only there.
$py -m pytest -q -p no:cacheprovider -m cuda test 2>&1 | tee "$out/cuda_tests.log" || status=1
$py -m pytest -q -p no:cacheprovider test/inference test/models 2>&1 | tail -3 | tee -a "$out/cuda_tests.log"

weights=()
[ -f weights/sobelnet.safetensors ] || weights=(--random-weights)
$py -m sobelnet_ros.cli.main bench --device cuda "${weights[@]}" --runs 50 \
  --json "$out/bench_cuda.json" 2>&1 | tee "$out/bench_cuda.log" || status=1
$py -m sobelnet_ros.cli.main engine-bench --device cuda "${weights[@]}" --frames 500 \
  --json "$out/engine_cuda.json" 2>&1 | tee "$out/engine_cuda.log" || status=1

$py - "$out/engine_cuda.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
print(f"\nsummary on {data['device']} (torch {data['torch']}); latency = submit -> result on host")
print(f"{'size':<10}{'mode':<30}{'p50 ms':>8}{'p99 ms':>8}{'fps@1':>9}{'fps@2':>9}{'fps@3':>9}")
for size, modes in data["sizes"].items():
    for mode, f in modes.items():
        print(f"{size:<10}{mode:<30}{f['latency_p50_ms']:>8.3f}{f['latency_p99_ms']:>8.3f}"
              f"{f['fps_in_flight_1']:>9.0f}{f['fps_in_flight_2']:>9.0f}{f['fps_in_flight_3']:>9.0f}")
PY
exit $status
