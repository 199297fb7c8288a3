"""Every arm of a GAN study in one figure per family, and one table: the curves that
``scripts/gan_study.sh`` leaves in ``OUT/curves/ARM/curve.csv``.

    python scripts/study_figure.py runs/study docs/gan_study

Arms of a family share its ``min0`` point (the checkpoint they all start from) when one of them
evaluated it; with ``--cards checkpoints`` a min0 point without CAS takes the CAS measured on that
checkpoint's card (``checkpoints/FAMILY/metrics.json``, the same protocol). With ``--reference
checkpoints`` (runs from scratch), each family's shipped checkpoint is drawn as a dashed line in
every panel, from its card. Writes ``FAMILY.png`` per family and ``curves.md`` (every point, min0
once per family).
"""

import argparse
import csv
import json
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [("held_out_macro_f1", "held-out recipe macro-F1 (judge)"), ("singles_recognised", "single ingredients (of 28)"),
          ("cas_macro_f1", "CAS macro-F1"), ("spectral_distance", "spectral distance (log, lower is better)"),
          ("frechet", "Frechet distance (judge features)"), ("diversity", "diversity within a recipe (kitchen 5.8)")]
# Drawn where an arm measured them (quality_curve.py --restyle): models that encode.
RESTYLE_PANELS = [("reconstruction_psnr", "reconstruction PSNR (dB)"), ("restyle_edit_success", "restyle: edited topping as asked")]


def read_curves(study: Path) -> dict[str, list[dict]]:
    """{arm: its curve's rows, by minutes}; cells "" where not measured."""
    curves = {}
    for table in sorted(study.glob("curves/*/curve.csv")):
        rows = [{k: float(v) if v != "" else None for k, v in r.items()} for r in csv.DictReader(open(table))]
        curves[table.parent.name] = sorted(rows, key=lambda r: r["minutes"])
    return curves


def card_cas(curves: dict[str, list[dict]], cards: Path) -> None:
    """Fill each min0 row's missing CAS from its family's card, in place."""
    for arm, rows in curves.items():
        card = cards / arm.split("-")[0] / "metrics.json"
        if rows and rows[0]["minutes"] == 0 and rows[0]["cas_macro_f1"] is None and card.is_file():
            rows[0]["cas_macro_f1"] = card_point(card)["cas_macro_f1"]


def card_point(card: Path) -> dict:
    """A checkpoint's metrics.json as one curve row (the panels' keys)."""
    m = json.loads(card.read_text())
    return {"held_out_macro_f1": m["held_out_recipes"]["macro_f1"], "singles_recognised": m["single_ingredient"]["recognised"],
            "cas_macro_f1": (m.get("cas") or {}).get("macro_f1"), "spectral_distance": m.get("spectral_distance"),
            "frechet": m.get("frechet"), "diversity": m.get("diversity")}


def with_start(curves: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Each arm's rows with its family's shared min0 row in front, where one arm has it."""
    starts = {arm.split("-")[0]: rows[0] for arm, rows in curves.items() if rows and rows[0]["minutes"] == 0}
    out = {}
    for arm, rows in curves.items():
        start = starts.get(arm.split("-")[0])
        out[arm] = rows if start is None or (rows and rows[0]["minutes"] == 0) else [start] + rows
    return out


def measured_panels(curves: dict[str, list[dict]]) -> list[tuple[str, str]]:
    """PANELS, and the restyle panels where any arm has a point for them."""
    return PANELS + [(k, label) for k, label in RESTYLE_PANELS if any(r.get(k) is not None for rows in curves.values() for r in rows)]


def plot(family: str, curves: dict[str, list[dict]], path: Path, reference: Optional[dict] = None) -> None:
    panels = measured_panels(curves)
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (key, label) in zip(axes, panels):
        if reference and reference.get(key) is not None:
            ax.axhline(reference[key], color="gray", linestyle="--", label="shipped")
        for arm, rows in curves.items():
            points = [(r["minutes"], r.get(key)) for r in rows if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=arm.split("-", 1)[1])
        if key == "spectral_distance":
            ax.set_yscale("log")
        ax.set_xlabel("CPU-minutes (one core)")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"{family}: quality against training time, each fix on and off")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def table(curves: dict[str, list[dict]]) -> str:
    keys = ["minutes", "step", "held_out_macro_f1", "singles_recognised", "cas_macro_f1", "spectral_distance", "frechet",
            "diversity"] + [k for k, _ in measured_panels(curves)[len(PANELS):]]
    lines = ["| arm | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    points = [(arm.split("-")[0], r["minutes"], arm, r) for arm, rows in curves.items() for r in rows]
    for family, minutes, arm, r in sorted(points, key=lambda p: (p[0], p[1] > 0, p[2], p[1])):
        cells = ["" if r.get(k) is None else f"{r[k]:g}" for k in keys]
        name = f"{family}: shipped, the start" if minutes == 0 else arm
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--cards", type=Path, help="folder of the checkpoints the arms started from (their metrics.json)")
    p.add_argument("--reference", type=Path, metavar="CHECKPOINTS",
                   help="folder of the shipped checkpoints, drawn as dashed lines (their metrics.json)")
    args = p.parse_args()
    measured = read_curves(args.study)
    if not measured:
        raise SystemExit(f"{args.study}: no curves/*/curve.csv yet")
    if args.cards:
        card_cas(measured, args.cards)
    curves = with_start(measured)
    args.out.mkdir(parents=True, exist_ok=True)
    for family in sorted({arm.split("-")[0] for arm in curves}):
        card = args.reference / family / "metrics.json" if args.reference else None
        reference = card_point(card) if card is not None and card.is_file() else None
        plot(family, {a: r for a, r in curves.items() if a.split("-")[0] == family}, args.out / f"{family}.png", reference)
    (args.out / "curves.md").write_text(table(measured))


if __name__ == "__main__":
    main()
