#!/bin/bash
# the record of how docs/frd.md "Temperatures" was run (runs/rule_2026-12-06d.txt, kept as results/finetunes/):
# three rounds of two fine-tunes, each round started when the last ended (the script cds to the repository root)
cd "$(dirname "$0")/../.."
source .venv/bin/activate
train() {  # name seed extra-args...
  local name=$1 seed=$2; shift 2
  OMP_NUM_THREADS=1 nohup frd-q train --config configs/student_w4a4_frd.yaml --set name=student_w4a4_t2_${name} \
    --set train.seed=${seed} "$@" --set "data.augment.scale=[1.0, 1.0]" --no-progress > runs/${name}.log 2>&1 &
}
evaluate() {
  OMP_NUM_THREADS=1 frd-q evaluate --checkpoint runs/student_w4a4_t2_$1/best.pt \
    --sources configs/splits/test.yaml > runs/student_w4a4_t2_$1.test.txt 2>&1
}
wait_round() { while pgrep -f "frd-q train" > /dev/null; do sleep 20; done; }
FRD=(--set distill.ccrd_temperature=0.5)
KD=(--set distill.kd=1.0 --set distill.bfdd=0 --set distill.ccrd=0 --set distill.kd_temperature=4)
echo "round 1 $(date)"
train frdtau_ns_s0 0 "${FRD[@]}"
train frdtau_ns_s1 1 "${FRD[@]}"
sleep 30; wait_round
echo "round 2 $(date)"
train frdtau_ns_s2 2 "${FRD[@]}"
train kdt4_ns_s0 0 "${KD[@]}"
sleep 30
evaluate frdtau_ns_s0; evaluate frdtau_ns_s1
wait_round
echo "round 3 $(date)"
train kdt4_ns_s1 1 "${KD[@]}"
train kdt4_ns_s2 2 "${KD[@]}"
sleep 30
evaluate frdtau_ns_s2; evaluate kdt4_ns_s0
wait_round
evaluate kdt4_ns_s1; evaluate kdt4_ns_s2
echo "chain done $(date)"
