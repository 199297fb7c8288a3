"""Copy a finished run into ``checkpoints/``: float16 weights, its config, card and pictures, no training state.
With ``--evaluate``, the shipped (float16) weights are judged and their metrics.json goes in the card.

    python scripts/ship.py runs/cvaegan-modern-64 checkpoints/cvaegan --command "python -m train ..." --evaluate
"""

import argparse
import shutil
from pathlib import Path
from typing import Optional

from pizza_models.evaluation.evaluate import main as evaluate_main
from pizza_models.hub import save_checkpoint
from pizza_models.pipeline import load
from train import artifacts
from train.checkpoints import saved_state

SHIPPED = ("samples.png", "losses.png", "losses.csv")  # the progress GIF stays in the run: megabytes


def ship(run: Path, destination: Path, command: str, evaluate: Optional[list[str]] = None) -> Path:
    """Write ``run``'s model into ``destination`` in float16 with its model card and pictures.

    ``evaluate``: extra arguments of ``python -m pizza_models.evaluation.evaluate`` (e.g. ``["--real", CSV]``)
    to judge the shipped weights and write their metrics.json before the card; None skips it.
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
    state = saved_state(run)
    artifacts.write_model_card(destination, state["hyper"], command, steps=state["step"])
    return destination


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a finished run folder (with training_state.pt)")
    p.add_argument("destination", type=Path, help="the checkpoint folder to write, e.g. checkpoints/gan")
    p.add_argument("--command", required=True, help="the command that trained the run, for the model card")
    p.add_argument("--evaluate", action="store_true", help="judge the shipped weights and write metrics.json")
    p.add_argument("--real", default="kitchen", help="with --evaluate: real pizzas for FD/KID (kitchen or a manifest)")
    args = p.parse_args()
    print(ship(args.run, args.destination, args.command, ["--real", args.real] if args.evaluate else None))
