#!/bin/bash
# the record of how docs/frd.md "BFDD alone and AT" was run (runs/rule_2026-12-06c.txt, kept as results/finetunes/):
# three rounds of two fine-tunes, each round started when the last ended
source "$(dirname "$0")/chain_common.sh"   # cd to the repository root, train / evaluate / wait_round
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
