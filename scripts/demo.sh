#!/usr/bin/env bash
# The main job on the bundled real data, sized for a 2-core CPU (about 15 minutes there, see README.md):
# a float teacher and a W4A4 Brevitas student trained on the training split of ../shared/data/real_cd_train and
# ../shared/data/real_cd, both evaluated on the test split (configs/splits/test.yaml, docs/training.md), then
# the student compiled by the FINN flow for a ZCU104 (estimates and generated RTL/HLS under build/demo_ZCU104) and
# its hardware graph checked bit-exact against PyTorch on real tiles.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
frd=.venv/bin/frd-q
val=(--sources configs/splits/test.yaml)

$frd train --config configs/teacher.yaml --overwrite --set name=demo_teacher --set train.steps=200
$frd train --config configs/student_w4a4.yaml --overwrite --set name=demo_student_w4a4 --set train.steps=300

echo; echo "== float teacher, test split"
$frd evaluate --checkpoint runs/demo_teacher/best.pt "${val[@]}" --json runs/demo_teacher/eval.json
echo; echo "== W4A4 student, test split"
$frd evaluate --checkpoint runs/demo_student_w4a4/best.pt "${val[@]}" --json runs/demo_student_w4a4/eval.json
echo
$frd predict --checkpoint runs/demo_student_w4a4/best.pt \
  --a ../shared/data/real_cd/LEVIR-CD/A/val_27_0000_0256.png --b ../shared/data/real_cd/LEVIR-CD/B/val_27_0000_0256.png \
  --out runs/demo_student_w4a4/val_27_mask.png --overlay runs/demo_student_w4a4/val_27_overlay.png

echo; echo "== FINN flow for the ZCU104 (up to code generation without Vivado / Vitis HLS; every layer RTL)"
# --fifo-sizing off: sizing the FIFOs by Verilator simulation takes tens of minutes for this student at 256x256
# (docs/rtl.md); the check below executes the hardware graph in python, which needs no FIFOs
.venv/bin/python flows/build.py --board ZCU104 --checkpoint runs/demo_student_w4a4/best.pt --out build/demo_ZCU104 \
  --overwrite --fifo-sizing off
tail -n 8 build/demo_ZCU104/estimates.md
echo; echo "== hardware graph vs PyTorch, integer outputs, first 6 real tiles"
.venv/bin/python flows/check_hw.py --build build/demo_ZCU104 --data ../shared/data/real_cd --limit 6
echo; echo "== the same pair through the deployed integer graph (the accelerator's decisions, host tail in float)"
$frd predict --model build/demo_ZCU104 \
  --a ../shared/data/real_cd/LEVIR-CD/A/val_27_0000_0256.png --b ../shared/data/real_cd/LEVIR-CD/B/val_27_0000_0256.png \
  --out runs/demo_student_w4a4/val_27_mask_accelerator.png
