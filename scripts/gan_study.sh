#!/usr/bin/env bash
# Time-to-quality curves of the modern GAN and CVAE-GAN at 64 px with each fix on and off: every
# arm trains in chunks of CHUNK minutes on one core (resumed each time), its exported weights copied
# to SNAP/ARM/minN after each chunk, then scripts/quality_curve.py evaluates every snapshot.
#
#   bash scripts/gan_study.sh                  # CHUNK=10 CHUNKS=6 OUT=runs/study
#   ARMS="gan-base gan-noda" bash scripts/gan_study.sh
#   CURVES=0 ...                               # snapshots only, evaluated later
#
# Arms (each one change from the arm before it, so each fix is measured on and off):
#   *-base     the modern preset (DiffAugment color,translation,cutout);
#   *-noda     DiffAugment off (kitchen data is unlimited);
#   *-wrong    + real pizzas with another pizza's recipe as fakes for the projection D;
#   *-teacher  + a frozen classifier's recipe loss on generated pizzas (runs/study/teacher: its own
#              seed and kitchen data, never checkpoints/judge or judge2, which score the runs).
# Resize-then-convolve upsampling is already the modern generator's (nearest x2, then 3x3 convs) and
# the discriminator already averages 2x2 before each downsampling; they are not arms here.
set -euo pipefail
cd "$(dirname "$0")/.."
CHUNK=${CHUNK:-10}
CHUNKS=${CHUNKS:-6}
OUT=${OUT:-runs/study}
PIZZAS=${PIZZAS:-10000}
ARMS=${ARMS:-gan-base gan-noda gan-wrong gan-teacher cvaegan-base cvaegan-noda cvaegan-wrong cvaegan-teacher}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"

if [ ! -f "$OUT/teacher/config.json" ]; then
  python -m train classifier --preset modern --size 64 --kitchen-pizzas 20000 --seed 3003 --steps 100000 \
    --max-minutes 20 --save-every 200 --half --no-progress --out "$OUT/teacher" > "$OUT/teacher.log" 2>&1
fi

flags() {  # ARM -> its options
  case "${1#*-}" in
    base) echo "" ;;
    noda) echo "--diffaugment=" ;;
    wrong) echo "--diffaugment= --wrong-recipe 1" ;;
    teacher) echo "--diffaugment= --wrong-recipe 1 --teacher $OUT/teacher --teacher-weight 1" ;;
  esac
}

for arm in $ARMS; do
  family=${arm%%-*}
  for chunk in $(seq 1 "$CHUNKS"); do
    snap="$OUT/snapshots/$arm/min$(awk "BEGIN { print $chunk * $CHUNK }")"
    [ -f "$snap/config.json" ] && continue
    resume=$([ -f "$OUT/$arm/training_state.pt" ] && echo --resume || true)
    # shellcheck disable=SC2046
    python -m train "$family" --preset modern --size 64 --kitchen-pizzas "$PIZZAS" --steps 1000000 --max-minutes "$CHUNK" --sample-every 200 \
      --save-every 200 --no-progress --out "$OUT/$arm" $resume $(flags "$arm") >> "$OUT/$arm.log" 2>&1
    mkdir -p "$snap"
    cp "$OUT/$arm/config.json" "$OUT/$arm/model.safetensors" "$snap/"
    python -c "import torch,sys; print(torch.load(sys.argv[1], weights_only=True)['step'])" \
      "$OUT/$arm/training_state.pt" > "$snap/step"
  done
  [ "${CURVES:-1}" = 0 ] || python scripts/quality_curve.py "$OUT/snapshots/$arm" "$OUT/curves/$arm" --cas-every 3
done
