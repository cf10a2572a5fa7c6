# sourced by the chain_*.sh records: the fine-tune, test and wait steps they share (cds to the repository root)
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source .venv/bin/activate
train() {  # name seed extra-args...: one fine-tune of configs/student_w4a4_frd.yaml without rescaled crops, in the background
  local name=$1 seed=$2; shift 2
  OMP_NUM_THREADS=1 nohup frd-q train --config configs/student_w4a4_frd.yaml --set name=student_w4a4_t2_${name} \
    --set train.seed=${seed} "$@" --set "data.augment.scale=[1.0, 1.0]" --no-progress > runs/${name}.log 2>&1 &
}
evaluate() {  # name: its best.pt on the test split
  OMP_NUM_THREADS=1 frd-q evaluate --checkpoint runs/student_w4a4_t2_$1/best.pt \
    --sources configs/splits/test.yaml > runs/student_w4a4_t2_$1.test.txt 2>&1
}
wait_round() { while pgrep -f "frd-q train" > /dev/null; do sleep 20; done; }
