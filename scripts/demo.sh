#!/usr/bin/env bash
# The main job on the bundled real data, sized for a 2-core CPU (about 15 minutes there, see README.md):
#  1. the shipped models (checkpoints/: float teacher, undistilled W4A4 student, FRD-distilled W4A4 student, the
#     three-level FRD student for the Pynq-Z1) evaluated on the test split (configs/splits/test.yaml, docs/training.md), and a change map + overlay of a
#     held-out LEVIR-CD tile from the shipped FRD student;
#  2. a short FRD student made here the way the shipped one is made (configs/student_w4a4_frd.yaml, 300 of its 1500
#     steps): the shipped undistilled student fine-tuned with BFDD + CCRD from the shipped teacher (docs/frd.md),
#     evaluated the same way, and both FRD students compared with the teacher (paired differences with intervals);
#  3. that student compiled by the FINN flow for a ZCU104 (estimates and generated RTL under build/demo_ZCU104),
#     its hardware graph checked bit-exact against PyTorch on real tiles, and the tile run through the deployed
#     integer graph.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
frd=.venv/bin/frd-q
test_split=(--sources configs/splits/test.yaml)
tile=(--a ../shared/data/real_cd/LEVIR-CD/A/val_27_0000_0256.png --b ../shared/data/real_cd/LEVIR-CD/B/val_27_0000_0256.png)
mkdir -p runs/demo

for name in teacher student_w4a4 student_w4a4_frd student_w4a4_frd_pynq; do
  echo; echo "== shipped $name (checkpoints/$name.pt), test split"
  $frd evaluate --checkpoint checkpoints/$name.pt "${test_split[@]}" --json runs/demo/$name.eval.json
done
echo
$frd predict --checkpoint checkpoints/student_w4a4_frd.pt "${tile[@]}" \
  --out runs/demo/val_27_mask.png --overlay runs/demo/val_27_overlay.png

echo; echo "== a short FRD student: the shipped undistilled student fine-tuned for 300 steps with BFDD + CCRD from the" \
  "shipped teacher (~8 min here)"
$frd train --config configs/student_w4a4_frd.yaml --overwrite --no-progress --set name=demo_student_frd \
  --set train.steps=300 --set train.val_every=150 --set train.log_every=50
echo; echo "== that student, test split"
$frd evaluate --checkpoint runs/demo_student_frd/best.pt "${test_split[@]}" --json runs/demo_student_frd/eval.json
echo; echo "== how sure: both FRD students against the shipped teacher, paired, with 95 % block-bootstrap intervals"
$frd compare --checkpoint checkpoints/teacher.pt checkpoints/student_w4a4_frd.pt runs/demo_student_frd/best.pt \
  "${test_split[@]}" --json runs/demo_student_frd/compare.json

echo; echo "== FINN flow for the ZCU104 (up to code generation without Vivado / Vitis HLS; every layer RTL)"
# --fifo-sizing off: sizing the FIFOs by Verilator simulation takes tens of minutes for this student at 256x256
# (docs/rtl.md); the check below executes the hardware graph in python, which needs no FIFOs
.venv/bin/python flows/build.py --board ZCU104 --checkpoint runs/demo_student_frd/best.pt --out build/demo_ZCU104 \
  --overwrite --fifo-sizing off
tail -n 8 build/demo_ZCU104/estimates.md
echo; echo "== hardware graph vs PyTorch, integer outputs, first 6 real tiles"
.venv/bin/python flows/check_hw.py --build build/demo_ZCU104 --data ../shared/data/real_cd --limit 6
echo; echo "== the LEVIR-CD tile through the deployed integer graph (the accelerator's decisions, host tail in float)"
$frd predict --model build/demo_ZCU104 "${tile[@]}" --out runs/demo_student_frd/val_27_mask_accelerator.png \
  --overlay runs/demo_student_frd/val_27_overlay_accelerator.png
echo; echo "demo: shipped FRD student's overlay runs/demo/val_27_overlay.png; the demo student's (accelerator)" \
  "runs/demo_student_frd/val_27_overlay_accelerator.png"
