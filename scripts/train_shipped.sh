#!/usr/bin/env bash
# Trains the four shipped models on this 2-core CPU and ships them to checkpoints/ (checkpoints/README.md):
#   nohup bash scripts/train_shipped.sh > runs/train_shipped.log 2>&1 &
# The teacher is stage 1 plus the weight average (frd-q soup) of three of ten fine-tunes; the Pynq-Z1 student has four
# stages. Runs pair up on one thread each (more steps per second in total than one run on two threads here):
#   1. float teacher (configs/teacher.yaml) | undistilled W4A4 student (configs/student_w4a4.yaml); it ships
#   2. teacher fine-tune (configs/teacher_ft128.yaml, from 1) | three-level Pynq-Z1 student (configs/
#      student_w4a4_frd_pynq.yaml, distilled from the teacher of 1)
#   3. eight more fine-tunes from 1 (configs/teacher_ft128_ema.yaml | configs/teacher_ft128_s2.yaml, then
#      configs/teacher_ft128_s3.yaml | ..._s4.yaml, then ..._s5.yaml | ..._s6.yaml, then two with random rescaling,
#      configs/teacher_ft128_scale_a.yaml | ..._scale_b.yaml), then a third stage from 2 (configs/teacher_ft3.yaml) |
#      the Pynq student's FRD fine-tune (configs/student_w4a4_frd_pynq_ft.yaml, distilled from the fine-tune of 2);
#      the greedy soup of the ten fine-tunes ships as the teacher
#   4. FRD fine-tune of the shipped student from the shipped teacher (configs/student_w4a4_frd.yaml) | the Pynq
#      student's stage 3 (..._ft2.yaml); the FRD student ships; then the Pynq student's stage 4 (..._ft3.yaml), which
#      ships.
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

pair() {  # two configs side by side; stops the script if either run fails
  local one two
  train "$1" & one=$!
  train "$2" & two=$!
  wait "$one" && wait "$two"
}

ship() {  # run name, shipped name
  $frd ship --checkpoint "runs/$1/best.pt" --name "$2" --command "bash scripts/train_shipped.sh"
}

pair configs/teacher.yaml configs/student_w4a4.yaml
ship student_w4a4 student_w4a4
pair configs/teacher_ft128.yaml configs/student_w4a4_frd_pynq.yaml
pair configs/teacher_ft128_ema.yaml configs/teacher_ft128_s2.yaml
pair configs/teacher_ft128_s3.yaml configs/teacher_ft128_s4.yaml
pair configs/teacher_ft128_s5.yaml configs/teacher_ft128_s6.yaml
pair configs/teacher_ft128_scale_a.yaml configs/teacher_ft128_scale_b.yaml
pair configs/teacher_ft3.yaml configs/student_w4a4_frd_pynq_ft.yaml
$frd soup --checkpoint runs/teacher_ft128/best.pt runs/teacher_ft3/best.pt runs/teacher_ft128_ema/best.pt \
  runs/teacher_ft128_s2/best.pt runs/teacher_ft128_s3/best.pt runs/teacher_ft128_s4/best.pt runs/teacher_ft128_s5/best.pt \
  runs/teacher_ft128_s6/best.pt runs/teacher_ft128_scale_a/best.pt runs/teacher_ft128_scale_b/best.pt --name teacher_soup
ship teacher_soup teacher
pair configs/student_w4a4_frd.yaml configs/student_w4a4_frd_pynq_ft2.yaml
ship student_w4a4_frd student_w4a4_frd
train configs/student_w4a4_frd_pynq_ft3.yaml
ship student_w4a4_frd_pynq_ft3 student_w4a4_frd_pynq
