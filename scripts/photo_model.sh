#!/usr/bin/env bash
# The app's photo model, two candidates on the 20 dodo20 photos (720 views each):
#   - the article's CVAE-GAN trained on the photos alone (runs/dodo20/cvaegan, from scripts/dodo20.sh);
#   - the kitchen-trained modern CVAE-GAN (checkpoints/cvaegan) fine-tuned on the photos, DiffAugment on
#     (20 photos are scarce data), MINUTES of one core.
# Then both are compared on the photos (reconstruction PSNR, KID) and on the single-ingredient grid.
#
#   bash scripts/photo_model.sh   # MINUTES=25 DATA=../shared/datasets/dodo20/recipes.csv OUT=runs/dodo20
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-25}
DATA=${DATA:-../shared/datasets/dodo20/recipes.csv}
OUT=${OUT:-runs/dodo20}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
python -m train cvaegan --preset modern --size 64 --data "$DATA" --views 720 --init checkpoints/cvaegan \
  --diffaugment color,translation,cutout --batch-size 16 --steps 100000 --max-minutes "$MINUTES" --sample-every 50 --save-every 50 --half --no-progress \
  --out "$OUT/kitchen-finetune" > "$OUT/kitchen-finetune.log" 2>&1
OMP_NUM_THREADS=2 python -m pizza_models.evaluation.evaluate "$OUT"/cvaegan "$OUT"/kitchen-finetune checkpoints/dodo20-cvaegan \
  --judge checkpoints/judge --real "$DATA" --no-cas --write | tee "$OUT/photo-model.md"
