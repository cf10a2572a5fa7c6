#!/usr/bin/env bash
# The training-recipe experiments of docs/training.md: short teacher runs that differ from the base recipe (the
# one before the experiments: lr 2e-3, 30 warm-up steps, decay on every parameter) in one thing each, two at a time
# with one thread each (2 cores), validated on the val split every 100 steps.
#   bash scripts/recipe.sh [names...]        # default: all; results: runs/recipe/<name>/val_log.csv
#   .venv/bin/python scripts/val_summary.py runs/recipe/*    # the table
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-800}
base=(--set train.steps=$steps --set train.val_every=100 --set train.out_dir=runs/recipe
      --set train.precision=bf16 --set train.channels_last=true
      --set train.lr=0.002 --set train.warmup_steps=30 --set train.decay_1d=true)
declare -A runs=(
  [base]=""
  [lr1e-3_wu100]="--set train.lr=0.001 --set train.warmup_steps=100"
  [no_decay_1d]="--set train.decay_1d=false"
  [pw1_cc0.25]="--set loss.pos_weight=1.0 --set data.change_crop=0.25"
  [bce_only]="--set loss.dice=0.0"
  [lr5e-4_wu100]="--set train.lr=0.0005 --set train.warmup_steps=100"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(base lr1e-3_wu100 no_decay_1d pw1_cc0.25 bce_only lr5e-4_wu100)
run() {  # name: an interrupted run resumes from its last.pt
  local resume=()
  [ -f "runs/recipe/$1/last.pt" ] && resume=(--resume)
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 .venv/bin/frd-q train --config configs/teacher.yaml "${base[@]}" --set name=$1 ${runs[$1]} \
    "${resume[@]}" > "runs/recipe/$1.log" 2>&1
}
mkdir -p runs/recipe
for ((i = 0; i < ${#names[@]}; i += 2)); do
  run "${names[i]}" &
  [ $((i + 1)) -lt ${#names[@]} ] && run "${names[i + 1]}" &
  wait
done
