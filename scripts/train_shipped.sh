#!/usr/bin/env bash
# Trains the three shipped models on this 2-core CPU and ships them to checkpoints/ (checkpoints/README.md):
#   nohup bash scripts/train_shipped.sh > runs/train_shipped.log 2>&1 &
# The float teacher and the undistilled W4A4 student train side by side (one thread each, which gives more steps
# per second in total than one run on two threads here), then the FRD student distils from the shipped teacher.
# Every run resumes from runs/<name>/last.pt when there is one, so a killed session continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
frd=.venv/bin/frd-q
mkdir -p runs

train() {  # config
  local name resume=()
  name=$(basename "$1" .yaml)
  [ -f "runs/$name/last.pt" ] && resume=(--resume)
  OMP_NUM_THREADS=1 $frd train --config "$1" "${resume[@]}" --no-progress > "runs/$name.log" 2>&1
}

train configs/teacher.yaml & train configs/student_w4a4.yaml & wait
$frd ship --checkpoint runs/teacher/best.pt --name teacher --command "bash scripts/train_shipped.sh"
$frd ship --checkpoint runs/student_w4a4/best.pt --name student_w4a4 --command "bash scripts/train_shipped.sh"
train configs/student_w4a4_frd.yaml
$frd ship --checkpoint runs/student_w4a4_frd/best.pt --name student_w4a4_frd --command "bash scripts/train_shipped.sh"
