#!/usr/bin/env bash
# Train every model the app ships and copy each into checkpoints/ (float16 weights, config, sample
# grid, loss curve, model card, and metrics.json from the evaluation of the shipped weights).
#
# Two runs side by side, one core each, about an hour on a 2-core CPU; every run stops at its
# --max-minutes budget, so the step counts (in each card) depend on the machine.
#
#   bash scripts/train_checkpoints.sh     # OUT=runs/ship DATA=../shared/datasets/dodo20/recipes.csv
#
# The ingredient classifier (checkpoints/judge) is trained by the command in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/ship}
DATA=${DATA:-../shared/datasets/dodo20/recipes.csv}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"

CVAEGAN="python -m train cvaegan --preset modern --size 64 --steps 100000 --max-minutes 55"
GAN="python -m train gan --preset modern --size 64 --steps 100000 --max-minutes 30"
CVAE="python -m train cvae --preset modern --size 64 --steps 100000 --max-minutes 14"
DODO20="python -m train cvaegan --preset seed --size 32 --data $DATA --views 720 --steps 100000 --max-minutes 10"

COMMON="--sample-every 200 --save-every 200 --no-progress"
train() {  # NAME COMMAND
  $2 $COMMON --out "$OUT/$1" > "$OUT/$1.log" 2>&1
}
train cvaegan "$CVAEGAN" &
{ train gan "$GAN"; train cvae "$CVAE"; train dodo20-cvaegan "$DODO20"; } &
wait

export OMP_NUM_THREADS=2
python scripts/ship.py "$OUT/cvaegan" checkpoints/cvaegan --evaluate --command "$CVAEGAN $COMMON --out $OUT/cvaegan"
python scripts/ship.py "$OUT/gan" checkpoints/gan --evaluate --command "$GAN $COMMON --out $OUT/gan"
python scripts/ship.py "$OUT/cvae" checkpoints/cvae --evaluate --command "$CVAE $COMMON --out $OUT/cvae"
python scripts/ship.py "$OUT/dodo20-cvaegan" checkpoints/dodo20-cvaegan --evaluate --command "$DODO20 $COMMON --out $OUT/dodo20-cvaegan" --real "$DATA"
