#!/bin/bash
# the record of how docs/frd.md "Temperatures" was run (runs/rule_2026-12-06d.txt, kept as results/finetunes/):
# three rounds of two fine-tunes, each round started when the last ended
source "$(dirname "$0")/chain_common.sh"   # cd to the repository root, train / evaluate / wait_round
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
