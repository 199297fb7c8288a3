"""The summary table of docs/evaluation.md and the README, from the shipped checkpoints' metrics.json.

    python scripts/evaluation_table.py cvaegan gan cvae dodo20-cvaegan     # after scripts/evaluate_checkpoints.sh

Each generator's metrics.json carries the kitchen and trivial columns it was evaluated beside
(``reference``); a kitchen column is printed once per image size, before the models of that size.
"""

import argparse
import json
from pathlib import Path
from typing import Optional

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


def _get(metrics: dict, path: str) -> Optional[float]:
    for key in path.split("."):
        if not isinstance(metrics, dict) or metrics.get(key) is None:
            return None
        metrics = metrics[key]
    return metrics


def _one(metrics: dict, path: str, digits: int = 3) -> str:
    value = _get(metrics, path)
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _pair(metrics: dict, a: str, b: str, digits: int = 3) -> str:
    return f"{_one(metrics, a, digits)} / {_one(metrics, b, digits)}"


ROWS = [
    ("judge 1: recipe macro-F1, training / held-out recipes",
     lambda m: _pair(m, "train_recipes.macro_f1", "held_out_recipes.macro_f1")),
    ("judge 1: single ingredients recognised (of 28)", lambda m: _one(m, "single_ingredient.recognised")),
    ("judge 2: recipe macro-F1, training / held-out recipes",
     lambda m: _pair(m, "second_judge.train_recipes.macro_f1", "second_judge.held_out_recipes.macro_f1")),
    ("judge 2: single ingredients recognised (of 28)",
     lambda m: _one(m, "second_judge.single_ingredient.recognised")),
    ("judges disagree (share of decisions)", lambda m: _one(m, "judge_disagreement.mean")),
    ("CAS macro-F1 / micro-F1 (on kitchen renders)", lambda m: _pair(m, "cas.macro_f1", "cas.micro_f1")),
    ("spectral distance to the kitchen (dB)", lambda m: _one(m, "spectral_distance", 2)),
    ("Frechet distance / KID (judge 1 features)", lambda m: _pair(m, "frechet", "kid", 1)),
    ("diversity within a recipe", lambda m: _one(m, "diversity", 2)),
]


def table(names: list[str]) -> str:
    columns: list[tuple[str, dict]] = []
    seen_sizes: set[int] = set()
    for name in names:
        metrics = json.loads((CHECKPOINTS / name / "metrics.json").read_text())
        size = metrics["protocol"]["image_size"]
        reference = metrics.get("reference")
        if reference and size not in seen_sizes:
            seen_sizes.add(size)
            columns.append((f"kitchen ({size} px)", reference["kitchen"]))
            if len(seen_sizes) == 1:
                columns.append(("trivial", reference["trivial"]))
        columns.append((name, metrics))
    lines = ["| metric | " + " | ".join(n for n, _ in columns) + " |", "|---|" + "---|" * len(columns)]
    for label, cell in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(m) for _, m in columns) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", help="checkpoint folders under checkpoints/")
    print(table(p.parse_args().names))
