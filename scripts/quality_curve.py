"""Quality against CPU-minutes: evaluate snapshots of one run and plot the curve.

    python scripts/quality_curve.py runs/layered-64-snapshots docs/layered --cas-every 2

The snapshot folder holds one checkpoint folder per time, named ``minN`` (N minutes of training on
one core), each with config.json, model.safetensors and a ``step`` file. Every snapshot gets the
fixed protocol of ``pizza_models.evaluation.evaluate`` with the first judge (held-out recipe macro-F1, single
ingredients recognised, Frechet distance, spectral distance); every ``--cas-every``-th, and the
last, also the Classification Accuracy Score; with ``--restyle``, an encoding model's reconstruction
PSNR and restyle scores. Writes ``curve.csv`` and ``curve.png``; snapshots
already in ``curve.csv`` are not evaluated again, so it can follow a run as its snapshots appear.
"""

import argparse
import csv
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pizza_models.evaluation.cas import CAS_BUDGET  # noqa: E402
from pizza_models.evaluation.protocol import evaluate_generator  # noqa: E402
from pizza_models.pipeline import load  # noqa: E402

COLUMNS = ["minutes", "step", "held_out_macro_f1", "train_macro_f1", "singles_recognised", "cas_macro_f1", "frechet",
           "spectral_distance", "diversity", "reconstruction_psnr", "restyle_edit_success", "restyle_macro_f1"]


def row(folder: Path, judge, with_cas: bool, restyle: bool = False) -> dict:
    """One snapshot's point of the curve; with ``restyle``, an encoding model's reconstruction and restyle too."""
    metrics = evaluate_generator(load(folder), judge, cas=CAS_BUDGET if with_cas else None, n_recon=64 if restyle else 0)
    fidelity = metrics.get("restyle_fidelity")
    return {
        "minutes": int(re.sub(r"\D", "", folder.name)),
        "step": int((folder / "step").read_text()) if (folder / "step").is_file() else "",
        "held_out_macro_f1": round(metrics["held_out_recipes"]["macro_f1"], 4),
        "train_macro_f1": round(metrics["train_recipes"]["macro_f1"], 4),
        "singles_recognised": metrics["single_ingredient"]["recognised"],
        "cas_macro_f1": round(metrics["cas"]["macro_f1"], 4) if metrics["cas"] else "",
        "frechet": round(metrics["frechet"], 2),
        "spectral_distance": round(metrics["spectral_distance"], 3),
        "diversity": round(metrics["diversity"], 3),
        "reconstruction_psnr": round(metrics["reconstruction_psnr"], 2) if fidelity else "",
        "restyle_edit_success": round(fidelity["edit_success"], 4) if fidelity else "",
        "restyle_macro_f1": round(fidelity["macro_f1"], 4) if fidelity else "",
    }


def _number(text: str):
    """A CSV cell back as int, float or "" (not measured)."""
    if text in ("", None):
        return ""
    value = float(text)
    return int(value) if value.is_integer() else value


def plot(rows: list[dict], path: Path, title: str) -> None:
    panels = [("held_out_macro_f1", "held-out recipe macro-F1"), ("singles_recognised", "single ingredients (of 28)"),
              ("cas_macro_f1", "CAS macro-F1"), ("frechet", "Frechet distance (judge features)")]
    figure, axes = plt.subplots(1, 4, figsize=(16, 3.4))
    for ax, (key, label) in zip(axes, panels):
        points = [(r["minutes"], r[key]) for r in rows if r[key] != ""]
        ax.plot(*zip(*points), marker="o")
        ax.set_xlabel("CPU-minutes (one core)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("snapshots", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--judge", type=Path, default=Path("checkpoints/judge"))
    p.add_argument("--cas-every", type=int, default=2, help="CAS on every N-th snapshot and the last (0: never)")
    p.add_argument("--restyle", action="store_true",
                   help="also the reconstruction PSNR and restyle scores of models that encode (64 kitchen pizzas)")
    args = p.parse_args()
    folders = sorted((f for f in args.snapshots.iterdir() if (f / "config.json").is_file()),
                     key=lambda f: int(re.sub(r"\D", "", f.name)))
    judge = load(args.judge)
    args.out.mkdir(parents=True, exist_ok=True)
    table = args.out / "curve.csv"
    done = {int(float(r["minutes"])): r for r in csv.DictReader(open(table))} if table.is_file() else {}
    rows = []
    for i, folder in enumerate(folders):
        minutes = int(re.sub(r"\D", "", folder.name))
        with_cas = args.cas_every > 0 and (i % args.cas_every == args.cas_every - 1 or i == len(folders) - 1)
        if minutes in done and (done[minutes]["cas_macro_f1"] != "" or not with_cas):
            rows.append({k: _number(v) for k, v in done[minutes].items()})
            continue
        rows.append(row(folder, judge, with_cas, args.restyle))
        print(rows[-1], flush=True)
        with open(table, "w", newline="") as f:  # after every snapshot: a long evaluation can be stopped
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    plot(rows, args.out / "curve.png", f"{args.snapshots.name}: quality against training time")


if __name__ == "__main__":
    main()
