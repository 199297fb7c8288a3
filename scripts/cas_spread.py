"""How much one CAS figure moves when only the CAS classifier's seed changes.

    python scripts/cas_spread.py checkpoints/gan checkpoints/cvaegan --seeds 3003 3004 3005

For each checkpoint, the same 4,096 pizzas (latent seed 0, as ``pizza_models.evaluation.evaluate``) train a
fresh CAS classifier once per budget seed (its weights and batch order); each is tested on the same
kitchen renders. Prints a markdown table: every seed's macro-F1, their mean and spread (max - min).
The spread is the least two CAS figures must differ by before a generator, not the classifier's
seed, can be said to explain it.
"""

import argparse
from dataclasses import replace
from pathlib import Path

import torch

from pizza_models.evaluation.cas import CAS_BUDGET
from pizza_models.pipeline import load
from pizza_models.evaluation.protocol import classification_accuracy_score


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--seeds", type=int, nargs="+", default=[3003, 3004, 3005], help="CAS budget seeds")
    args = p.parse_args()
    print("| model | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | spread |")
    print("|---" * (len(args.seeds) + 3) + "|")
    for folder in args.checkpoints:
        model = load(folder)
        with torch.inference_mode():  # as the protocol: CAS training re-enables gradients for itself
            scores = [classification_accuracy_score(model, replace(CAS_BUDGET, seed=s))["macro_f1"] for s in args.seeds]
        print(f"| {folder} | " + " | ".join(f"{x:.3f}" for x in scores)
              + f" | {sum(scores) / len(scores):.3f} | {max(scores) - min(scores):.3f} |", flush=True)


if __name__ == "__main__":
    main()
