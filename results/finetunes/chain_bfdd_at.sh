#!/bin/bash
# the record of how docs/frd.md "BFDD alone and AT" was run (runs/rule_2026-12-06c.txt, kept as results/finetunes/):
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
echo "round 1 $(date)"
train bfdd_ns_s0 0 --set distill.ccrd=0
train bfdd_ns_s1 1 --set distill.ccrd=0
sleep 30; wait_round
echo "round 2 $(date)"
train bfdd_ns_s2 2 --set distill.ccrd=0
train at_ns_s0 0 --set distill.bfdd=0 --set distill.ccrd=0 --set distill.at=1.0
sleep 30
evaluate bfdd_ns_s0; evaluate bfdd_ns_s1
wait_round
echo "round 3 $(date)"
train at_ns_s1 1 --set distill.bfdd=0 --set distill.ccrd=0 --set distill.at=1.0
train at_ns_s2 2 --set distill.bfdd=0 --set distill.ccrd=0 --set distill.at=1.0
sleep 30
evaluate bfdd_ns_s2; evaluate at_ns_s0
wait_round
evaluate at_ns_s1; evaluate at_ns_s2
echo "chain done $(date)"
