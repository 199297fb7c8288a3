#!/usr/bin/env bash
# The article's runs on its 20 real photos: every seed model at 32x32 on the slot code, each photo
# seen in its 720 rotated/mirrored views (14,400 images an epoch), MINUTES of training on one core
# each, two runs side by side. Then each is judged, with KID against the 20 photos.
#
#   bash scripts/dodo20.sh        # MINUTES=4, DATA=../shared/datasets/dodo20/recipes.csv, OUT=runs/dodo20
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-4}
DATA=${DATA:-../shared/datasets/dodo20/recipes.csv}
OUT=${OUT:-runs/dodo20}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"

train() {  # NAME ARGS...
  local name=$1; shift
  python -m train "$@" --preset article --size 32 --data "$DATA" --views 720 --steps 1000000 \
    --max-minutes "$MINUTES" --sample-every 100 --save-every 1000 --no-progress --out "$OUT/$name" > "$OUT/$name.log" 2>&1
}
train cvae-method1 cvae --method 1 & train cvae-method2 cvae --method 2 & wait
train gan gan & train cvaegan cvaegan & wait
OMP_NUM_THREADS=2 python -m pizza_models.evaluate "$OUT"/cvae-method1 "$OUT"/cvae-method2 "$OUT"/gan "$OUT"/cvaegan \
  --judge checkpoints/judge --real "$DATA" --write | tee "$OUT/metrics.md"
