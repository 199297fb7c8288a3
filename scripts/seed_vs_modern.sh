#!/usr/bin/env bash
# The article preset (the article's models and losses) against the modern preset, family by family, on
# the same data (10,000 kitchen pizzas, 32x32, the article models' size) and the same budget
# (MINUTES of training on one core each; the two presets of a family train side by side so they
# share the machine equally). Then every run is judged with the same protocol.
#
#   bash scripts/seed_vs_modern.sh            # MINUTES=6 by default; OUT=runs/compare
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-6}
OUT=${OUT:-runs/compare}
export OMP_NUM_THREADS=1
DA="--diffaugment color,translation,cutout"  # the modern preset's when these runs were made

for family in cvae gan cvaegan; do
  for preset in article modern; do
    python -m train "$family" --preset "$preset" --size 32 --steps 1000000 --max-minutes "$MINUTES" \
      --kitchen-pizzas 10000 $([ "$preset" = modern ] && echo "$DA") --sample-every 100 --save-every 1000 --no-progress \
      --out "$OUT/$family-$preset" > "$OUT-$family-$preset.log" 2>&1 &
  done
  wait
done
OMP_NUM_THREADS=2 python -m pizza_models.evaluation.evaluate "$OUT"/*-article "$OUT"/*-modern --judge checkpoints/judge --write \
  | tee "$OUT/metrics.md"
