#!/usr/bin/env bash
# The article's runs on its 20 real photos, at the article's own budgets: every seed model at 32x32
# on the slot code, each photo seen in its 720 rotated/mirrored views (14,400 images an epoch).
# Two queues side by side, one core each:
#   A: the CVAEs, methods 1 and 2, latent 512 and 64: 40 epochs, early stopping with patience 3
#      on a 90/10 split (the article preset's val_fraction and patience);
#   B: the CVAE-GAN (1,700 steps, batch 20; ~3 hours of one core) and the DCGAN on Double Pepperoni
#      alone (50,000 steps, cut at 2 hours: ~3,000 steps on one core).
# Then each is judged, with KID against the 20 photos.
#
#   bash scripts/dodo20.sh   # CVAEGAN_MINUTES=200 GAN_MINUTES=120 DATA=../shared/datasets/dodo20/recipes.csv OUT=runs/dodo20
#   QUEUES=cvaes bash scripts/dodo20.sh   # one queue only (cvaes, adversarial, evaluate)
set -euo pipefail
cd "$(dirname "$0")/.."
CVAEGAN_MINUTES=${CVAEGAN_MINUTES:-200}
GAN_MINUTES=${GAN_MINUTES:-120}
DATA=${DATA:-../shared/datasets/dodo20/recipes.csv}
OUT=${OUT:-runs/dodo20}
QUEUES=${QUEUES:-cvaes adversarial evaluate}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"

train() {  # CORE NAME ARGS...
  local core=$1 name=$2; shift 2
  taskset -c "$core" python -m train "$@" --preset article --size 32 --data "$DATA" --views 720 \
    --no-progress --half --out "$OUT/$name" > "$OUT/$name.log" 2>&1
}
cvaes() {
  for latent in 512 64; do
    for method in 1 2; do
      local name="cvae-method$method"; [ "$latent" = 512 ] || name="$name-latent$latent"
      train 0 "$name" cvae --method "$method" --latent-dim "$latent" --epochs 40 --sample-every 405 --save-every 405
    done
  done
}
adversarial() {
  train 1 cvaegan cvaegan --steps 1700 --max-minutes "$CVAEGAN_MINUTES" --sample-every 50 --save-every 50
  train 1 gan gan --menu-pizza 0 --steps 50000 --max-minutes "$GAN_MINUTES" --sample-every 100 --save-every 100
}
evaluate() {
  OMP_NUM_THREADS=2 python -m pizza_models.evaluation.evaluate "$OUT"/cvae-method1 "$OUT"/cvae-method2 "$OUT"/cvae-method1-latent64 \
    "$OUT"/cvae-method2-latent64 "$OUT"/gan "$OUT"/cvaegan --judge checkpoints/judge --real "$DATA" --no-cas --write \
    | tee "$OUT/metrics.md"
}
for queue in $QUEUES; do
  [ "$queue" = evaluate ] || "$queue" &
done
wait
[[ " $QUEUES " == *" evaluate "* ]] && evaluate
