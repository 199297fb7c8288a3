#!/usr/bin/env bash
# Evaluate every shipped generator beside the kitchen (ceiling) and trivial (floor) columns, with
# both judges, and write each checkpoint's metrics.json. The tables go to docs/evaluation/.
#
# About 25 minutes on one core of a 2-core CPU (the kitchen column and the CAS classifiers are
# most of it); the numbers are deterministic (fixed recipes, seeds and counts).
#
#   bash scripts/evaluate_checkpoints.sh     # DATA=../shared/datasets/dodo20/recipes.csv
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/dodo20/recipes.csv}
export OMP_NUM_THREADS=1
mkdir -p docs/evaluation

python -m pizza_models.evaluation.evaluate --judge-only checkpoints/judge > docs/evaluation/judge.md
python -m pizza_models.evaluation.evaluate --judge-only checkpoints/judge2 > docs/evaluation/judge2.md
python -m pizza_models.evaluation.evaluate checkpoints/gan checkpoints/cvae checkpoints/cvaegan --write \
    > docs/evaluation/kitchen-64.md
python -m pizza_models.evaluation.evaluate checkpoints/dodo20-cvaegan --real "$DATA" --write > docs/evaluation/dodo20-32.md
python -m pizza_models.evaluation.evaluate checkpoints/photo --real "$DATA" --write > docs/evaluation/photo-64.md
