"""Copy a finished run into ``checkpoints/``: float16 weights, its config, card and pictures, no training state.

    python scripts/ship.py runs/cvaegan-modern-64 checkpoints/cvaegan
"""

import argparse
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pizza_models.hub import save_checkpoint  # noqa: E402
from pizza_models.pipeline import load  # noqa: E402
from train import artifacts  # noqa: E402
from train.loop import STATE  # noqa: E402

SHIPPED = ("samples.png", "progress.gif", "losses.png", "losses.csv", artifacts.METRICS)


def ship(run: Path, destination: Path, command: str) -> Path:
    """Write ``run``'s model into ``destination`` in float16 with its model card and pictures."""
    model = load(run)
    save_checkpoint(model, destination, half=True)
    if run.resolve() != destination.resolve():
        for name in SHIPPED:
            if (run / name).is_file():
                shutil.copy2(run / name, destination / name)
    hyper = torch.load(run / STATE, map_location="cpu", weights_only=True)["hyper"]
    artifacts.write_model_card(destination, hyper, command)
    return destination


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a finished run folder (with training_state.pt)")
    p.add_argument("destination", type=Path, help="the checkpoint folder to write, e.g. checkpoints/gan")
    p.add_argument("--command", required=True, help="the command that trained the run, for the model card")
    args = p.parse_args()
    print(ship(args.run, args.destination, args.command))
