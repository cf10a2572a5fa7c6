#!/usr/bin/env bash
# Trains the four shipped models on this 2-core CPU and ships them to checkpoints/ (checkpoints/README.md):
#   nohup bash scripts/train_shipped.sh > runs/train_shipped.log 2>&1 &
# The teacher is a two-block-decoder stage 1 plus the weight average (frd-q soup) of two of its five fine-tunes, with
# context blocks trained alone on top (round 7) and its decoder's convolutions retrained (round 8); the
# Pynq-Z1 student has four stages, distilled from the earlier linear-decoder teacher (stage 1 and its first fine-tune).
# Runs pair up on one thread each (more steps per second in total than one run on two threads here):
#   1. linear-decoder teacher (configs/teacher.yaml) | undistilled W4A4 student (configs/student_w4a4.yaml); it ships
#   2. its fine-tune (configs/teacher_ft128.yaml, from 1) | three-level Pynq-Z1 student (configs/
#      student_w4a4_frd_pynq.yaml, distilled from the teacher of 1)
#   3. two-block-decoder teacher (configs/teacher_dec2.yaml) | the Pynq student's FRD fine-tune
#      (configs/student_w4a4_frd_pynq_ft.yaml, distilled from the fine-tune of 2)
#   4. the first fine-tune of 3 (configs/teacher_dec2_ft.yaml) | the Pynq student's stage 3 (..._ft2.yaml)
#   5. four more fine-tunes of 3 (configs/teacher_dec2_ft_b.yaml | ..._c.yaml, then ..._d.yaml | ..._e.yaml); the
#      greedy soup of the five and of 3 ships as the teacher (docs/training.md numbers the rounds the same way)
#   6. FRD fine-tune of the shipped student from the shipped teacher (configs/student_w4a4_frd.yaml) | the Pynq
#      student's stage 4 (..._ft3.yaml); both ship.
#   7. context blocks on the shipped teacher, only they train (configs/teacher_ctx_only.yaml on whole tiles |
#      configs/teacher_ctx_only128.yaml on 128x128 crops); the second led on val and ships as the teacher
#   8. the decoder's convolutions of that teacher alone, every BatchNorm frozen, whole tiles
#      (configs/teacher_dec_convs.yaml | ..._lr3e-5.yaml); the second led on val and ships as the teacher.
#      The students of 6 read only the teacher's encoder features, which rounds 7 and 8 leave as they were.
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
pair configs/teacher_dec2.yaml configs/student_w4a4_frd_pynq_ft.yaml
pair configs/teacher_dec2_ft.yaml configs/student_w4a4_frd_pynq_ft2.yaml
pair configs/teacher_dec2_ft_b.yaml configs/teacher_dec2_ft_c.yaml
pair configs/teacher_dec2_ft_d.yaml configs/teacher_dec2_ft_e.yaml
$frd soup --checkpoint runs/teacher_dec2/best.pt runs/teacher_dec2_ft/best.pt runs/teacher_dec2_ft_b/best.pt \
  runs/teacher_dec2_ft_c/best.pt runs/teacher_dec2_ft_d/best.pt runs/teacher_dec2_ft_e/best.pt --name teacher_soup
ship teacher_soup teacher
pair configs/student_w4a4_frd.yaml configs/student_w4a4_frd_pynq_ft3.yaml
ship student_w4a4_frd student_w4a4_frd
ship student_w4a4_frd_pynq_ft3 student_w4a4_frd_pynq
pair configs/teacher_ctx_only.yaml configs/teacher_ctx_only128.yaml
ship teacher_ctx_only128 teacher
pair configs/teacher_dec_convs.yaml configs/teacher_dec_convs_lr3e-5.yaml
ship teacher_dec_convs_lr3e-5 teacher
