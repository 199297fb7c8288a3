#!/usr/bin/env bash
# Time-to-quality curves of the modern GAN and CVAE-GAN at 64 px with each fix on and off: every
# arm trains in chunks of CHUNK minutes on one core (resumed each time), its exported weights copied
# to OUT/snapshots/ARM/minN after each chunk, then scripts/quality_curve.py evaluates every snapshot.
# With INIT=1 every arm starts from the shipped checkpoint of its family (checkpoints/FAMILY, with the
# hyper-parameters on its card; the critic starts afresh), and min0, that checkpoint, is evaluated
# once, in the family's first arm (unless an earlier study already has it).
#
#   bash scripts/gan_study.sh                  # CHUNK=10 CHUNKS=6 OUT=runs/study INIT=0
#   INIT=1 CHUNKS=2 ARMS="gan-base gan-noda" bash scripts/gan_study.sh
#   CURVES=0 ...                               # snapshots only, evaluated later
#   EXTRA="--lr 1e-3" ...                      # more options for every arm
#   python scripts/study_figure.py runs/study docs/gan_study   # every arm's curve in one figure
#
# Arms (each one change from the arm before it, so each fix is measured on and off):
#   *-base     DiffAugment color,translation,cutout (the shipped models' setting; no longer the preset's);
#   *-noda     DiffAugment off (kitchen data is unlimited);
#   *-bilinear as noda, the generator resizing x2 bilinearly instead of nearest before its convolutions
#              (a branch: the arms below build on noda);
#   *-msW      as noda, plus the mode-seeking term (MSGAN) of weight W on pairs of noises for one recipe
#              (a branch, like bilinear): gan-ms1, gan-ms0.1;
#   *-advW     as noda, the CVAE-GAN's hinge term on prior samples at weight W (the preset's 0.1 is
#              small beside its summed pixel loss, ~1,000), and *-advW_msV with mode seeking at V;
#   *-wrong    + real pizzas with another pizza's recipe as fakes for the projection D;
#   *-teacher  + a frozen classifier's recipe loss on generated pizzas (runs/study/teacher: its own
#              seed and kitchen data, never checkpoints/judge or judge2, which score the runs).
# The discriminator already averages 2x2 before each downsampling (blurred downsampling); not an arm.
set -euo pipefail
cd "$(dirname "$0")/.."
CHUNK=${CHUNK:-10}
CHUNKS=${CHUNKS:-6}
OUT=${OUT:-runs/study}
PIZZAS=${PIZZAS:-10000}
INIT=${INIT:-0}
TEACHER_MINUTES=${TEACHER_MINUTES:-20}
ARMS=${ARMS:-gan-base gan-noda gan-bilinear gan-wrong gan-teacher cvaegan-base cvaegan-noda cvaegan-wrong cvaegan-teacher}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"

teach() {  # the teacher, trained once (in its own folder, copied when done: a half-trained one never teaches)
  [ -f "$OUT/teacher/config.json" ] && return
  exec 9> "$OUT/teacher.lock"
  flock 9  # another queue may be training it: wait for that one
  [ -f "$OUT/teacher/config.json" ] || train_teacher
  exec 9>&-  # release the lock
}
train_teacher() {
  python -m train classifier --preset modern --size 64 --kitchen-pizzas 20000 --seed 3003 --steps 100000 \
    --max-minutes "$TEACHER_MINUTES" --save-every 200 --half --no-progress --resume --out "$OUT/teacher-run" >> "$OUT/teacher.log" 2>&1
  mkdir -p "$OUT/teacher"
  cp "$OUT/teacher-run/config.json" "$OUT/teacher-run/model.safetensors" "$OUT/teacher/"
}
flags() {  # ARM -> its options
  case "${1#*-}" in
    base) echo "--diffaugment color,translation,cutout" ;;
    noda) echo "--diffaugment=" ;;
    bilinear) echo "--diffaugment= --upsample bilinear" ;;
    ms*) echo "--diffaugment= --mode-seeking ${1#*-ms}" ;;
    adv*)  # advW or advW_msV: the CVAE-GAN's hinge term on prior samples at weight W (and mode seeking at V)
      local rest=${1#*-adv}
      echo "--diffaugment= --adv-weight ${rest%%_ms*}$([[ $rest == *_ms* ]] && echo " --mode-seeking ${rest#*_ms}")" ;;
    wrong) echo "--diffaugment= --wrong-recipe 1" ;;
    teacher) echo "--diffaugment= --wrong-recipe 1 --teacher $OUT/teacher --teacher-weight 1" ;;
  esac
}

shipped() {  # FAMILY -> the options its shipped checkpoint was trained with (checkpoints/FAMILY/README.md)
  case "$1" in
    gan) echo "--init checkpoints/gan" ;;
    cvaegan) echo "--init checkpoints/cvaegan --lr 1e-3 --fm-weight 0.1 --cls-weight 0" ;;
  esac
}

for arm in $ARMS; do
  family=${arm%%-*}
  [[ "$arm" == *-teacher ]] && teach
  init=""
  if [ "$INIT" = 1 ]; then
    init=$(shipped "$family")
    first=$(for a in $ARMS; do [ "${a%%-*}" = "$family" ] && echo "$a"; done | head -1)
    if [ "$arm" = "$first" ] && ! compgen -G "$OUT/snapshots/$family-*/min0/config.json" > /dev/null; then
      mkdir -p "$OUT/snapshots/$arm/min0"
      cp "checkpoints/$family/config.json" "checkpoints/$family/model.safetensors" "$OUT/snapshots/$arm/min0/"
      echo 0 > "$OUT/snapshots/$arm/min0/step"
    fi
  fi
  for chunk in $(seq 1 "$CHUNKS"); do
    snap="$OUT/snapshots/$arm/min$(awk "BEGIN { print $chunk * $CHUNK }")"
    [ -f "$snap/config.json" ] && continue
    resume=$([ -f "$OUT/$arm/training_state.pt" ] && echo --resume || true)
    # shellcheck disable=SC2046
    python -m train "$family" --preset modern --size 64 --kitchen-pizzas "$PIZZAS" --steps 1000000 --max-minutes "$CHUNK" --sample-every 200 \
      --save-every 200 --no-progress --out "$OUT/$arm" $resume $init $(flags "$arm") ${EXTRA:-} >> "$OUT/$arm.log" 2>&1
    mkdir -p "$snap"
    cp "$OUT/$arm/config.json" "$OUT/$arm/model.safetensors" "$snap/"
    python -c "import torch,sys; print(torch.load(sys.argv[1], weights_only=True)['step'])" \
      "$OUT/$arm/training_state.pt" > "$snap/step"
  done
  [ "${CURVES:-1}" = 0 ] || python scripts/quality_curve.py "$OUT/snapshots/$arm" "$OUT/curves/$arm" --cas-every 3
done
