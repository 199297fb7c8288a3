"""Copy a finished run into ``checkpoints/``: float16 weights, its config, card and pictures, no training state.
With ``--evaluate``, the shipped (float16) weights are judged and their metrics.json goes in the card;
``--photo-measures`` adds the run's row of ``scripts/photo_measures.py`` (its measures on the real photos).

    python scripts/ship.py runs/cvaegan-modern-64 checkpoints/cvaegan --command "python -m train ..." --evaluate
"""

import argparse
import csv
import json
import shutil
from pathlib import Path
from typing import Optional

from pizza_models.evaluation.evaluate import main as evaluate_main
from pizza_models.hub import save_checkpoint
from pizza_models.pipeline import load
from train import artifacts
from train.checkpoints import saved_state

SHIPPED = ("samples.png", "losses.png", "losses.csv")  # the progress GIF stays in the run: megabytes


def ship(run: Path, destination: Path, command: str, evaluate: Optional[list[str]] = None,
         photo_measures: Optional[Path] = None) -> Path:
    """Write ``run``'s model into ``destination`` in float16 with its model card and pictures.

    ``evaluate``: extra arguments of ``python -m pizza_models.evaluation.evaluate`` (e.g. ``["--real", CSV]``)
    to judge the shipped weights and write their metrics.json before the card; None skips it.
    ``photo_measures``: a JSON of ``scripts/photo_measures.py`` with a row named as ``run``'s folder, added
    to metrics.json as ``photo_measures`` beside the photo judge's own reading of the photos.
    """
    model = load(run)
    save_checkpoint(model, destination, half=True)
    if run.resolve() != destination.resolve():
        for name in SHIPPED:
            if (run / name).is_file():
                shutil.copy2(run / name, destination / name)
        (destination / artifacts.METRICS).unlink(missing_ok=True)  # metrics of other weights
    if evaluate is not None and evaluate_main([str(destination), "--write", *evaluate]) != 0:
        raise SystemExit(f"evaluating {destination} failed")
    if photo_measures is not None:
        measured = json.loads(photo_measures.read_text())
        if run.name not in measured["rows"]:
            raise SystemExit(f"{photo_measures} has no row {run.name!r}: {', '.join(measured['rows'])}")
        metrics_path = destination / artifacts.METRICS
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        judge = measured["judge_on_photos"]
        metrics["photo_measures"] = {**measured["rows"][run.name], "judge_on_photos_macro_f1": judge["macro_f1"]}
        metrics_path.write_text(json.dumps(metrics, indent=2))
    hyper, steps = run_record(run)
    artifacts.write_model_card(destination, hyper, command, steps=steps)
    return destination


def run_record(run: Path) -> tuple[dict, int]:
    """A run's hyper-parameters and steps: from its training state, or, where that was left on the
    machine that trained it (it holds the optimisers: megabytes), from the card the run wrote and its
    losses.csv."""
    state = saved_state(run)
    if state:
        return state["hyper"], state["step"]
    card, losses = run / "README.md", run / "losses.csv"
    if not card.is_file() or not losses.is_file():
        raise SystemExit(f"{run} has neither a training state nor a card and losses.csv to ship from")
    line = next((line for line in card.read_text().splitlines() if line.startswith("Hyper-parameters: `")), None)
    if line is None:
        raise SystemExit(f"{card} names no hyper-parameters")
    with losses.open(newline="") as rows:
        steps = max(int(row["step"]) for row in csv.DictReader(rows))
    return json.loads(line.removeprefix("Hyper-parameters: `").rstrip("`")), steps


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a finished run folder (its training_state.pt, or its card and losses.csv)")
    p.add_argument("destination", type=Path, help="the checkpoint folder to write, e.g. checkpoints/gan")
    p.add_argument("--command", required=True, help="the command that trained the run, for the model card")
    p.add_argument("--evaluate", action="store_true", help="judge the shipped weights and write metrics.json")
    p.add_argument("--real", default="kitchen", help="with --evaluate: real pizzas for FD/KID (kitchen or a manifest)")
    p.add_argument("--photo-measures", type=Path, help="a JSON of scripts/photo_measures.py with a row for the run")
    args = p.parse_args()
    print(ship(args.run, args.destination, args.command, ["--real", args.real] if args.evaluate else None, args.photo_measures))
