#!/usr/bin/env bash
# A descriptor training stage on one CUDA GPU, sized for a short GPU window, then the
# development evaluations of its weights beside the shipped ones (never graf, boat or
# the TUM frames: those measure, they do not choose).
#
#   PHOTOS=<training photos> bash scripts/gpu_train.sh   # on the GPU machine
#   bash scripts/gpu_train.sh --rehearse                  # the same steps on the CPU, tiny
#
# Run it again with the same OUT to resume the stage where it stopped (each call trains
# for at most MINUTES, checkpoints every 500 steps and exports the weights it reached).
# Environment:
#   PYTHON   interpreter with torch (default python3)
#   OUT      run folder (default gpu_train_out)
#   PHOTOS   training photos (default ../shared/data/train); on a machine that gets only
#            the repository, copy them into an ignored folder of it and point PHOTOS there
#   MINUTES  training wall time of this call (default 6)
#   WORKERS  processes making batches ahead of the GPU (default: CPU count - 2, at most 14)
#   INIT     DesNet weights to start from (default weights/desnet.safetensors)
# The recipe: the shipped stage's ranges (weights/README.md) with 4x the batch (32 pairs),
# 6000 steps, peak learning rate 3e-4, cosine decay.
source "$(dirname "$0")/common.sh" "$@"
py=${PYTHON:-python3}
out=${OUT:-gpu_train_out}
init=${INIT:-weights/desnet.safetensors}
cores=$(nproc)
workers=${WORKERS:-$(((cores > 16 ? 16 : cores) - 2))}
mkdir -p "$out"
sobelnet=("$py" -m sobelnet_ros.cli.main)

if [ "$rehearse" = 1 ]; then
  device=cpu minutes=${MINUTES:-2} workers=${WORKERS:-2}
  images=()  # scikit-image's photos and synthetic shapes: no data needed
  train_args=(--steps 4 --batch-size 2 --size 64 --val-every 4 --val-pairs 8
    --checkpoint-every 2)
  dev_sets=(
    "synthetic|--synthetic 1 --synthetic-seed 1"
  )
else
  device=cuda minutes=${MINUTES:-6}
  photos=${PHOTOS:-../shared/data/train}
  [ -d "$photos" ] || { echo "no training photos at $photos (set PHOTOS)" >&2; exit 2; }
  images=(--images "$photos")
  train_args=(--steps 6000 --batch-size 32 --size 192 --val-every 2000 --val-pairs 96
    --checkpoint-every 500)
  held_out=(--synthetic-photos "$photos" --synthetic-holdout 0.05)
  dev_sets=(
    "synthetic|--synthetic 16 --synthetic-seed 1"
    "held-out photos|--synthetic 34 ${held_out[*]} --synthetic-seed 7"
    "held-out zoom|--synthetic 34 ${held_out[*]} --synthetic-seed 11 --synthetic-zoom"
  )
fi

echo "=== training (device $device, $workers loader workers, at most $minutes min)"
"$py" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.cuda.is_available())"
"${sobelnet[@]}" train descriptor "${images[@]}" --out "$out/descriptor" --device "$device" \
  --detector weights/sobelnet.safetensors --init "$init" --lr 3e-4 --negative-px 12 \
  --max-rotation 120 --max-scale 2.0 --max-exposure 2.5 --seed 20 \
  --loader-workers "$workers" --max-minutes "$minutes" "${train_args[@]}" ||
  { echo "training failed" >&2; exit 1; }

# MMA@3 of one development set with the given DesNet weights.
mma() {
  local weights=$1 tag=$2 set_args=$3
  # shellcheck disable=SC2086  # the set's arguments are words on purpose
  "${sobelnet[@]}" eval $set_args --methods ours --desnet-weights "$weights" \
    --out "$out/eval/$tag" --no-resume --no-progress > "$out/eval/$tag.log" 2>&1 || return 1
  "$py" - "$out/eval/$tag/results.json" <<'PY'
import json
import sys

result = json.load(open(sys.argv[1]))
thresholds = result["protocol"]["thresholds_px"]
print(f"{result['methods']['ours']['summary']['overall']['mma'][thresholds.index(3.0)]:.4f}")
PY
}

mkdir -p "$out/eval"
{
  echo "| development set | shipped | trained |"
  echo "|---|---|---|"
  for index in "${!dev_sets[@]}"; do
    name=${dev_sets[$index]%%|*} set_args=${dev_sets[$index]#*|}
    shipped=$(mma weights/desnet.safetensors "shipped_$index" "$set_args") || shipped=failed
    trained=$(mma "$out/descriptor/desnet.safetensors" "trained_$index" "$set_args") ||
      trained=failed
    echo "| $name | $shipped | $trained |"
  done
} | tee "$out/summary.md"
! grep -q failed "$out/summary.md"
