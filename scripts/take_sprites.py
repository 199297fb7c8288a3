"""Give a layered checkpoint some toppings' sprites from another one: after the painted kitchen changes how a topping
looks, a run refits every sprite and how often each is drawn (``--init-fresh sprites layout.variant_logits --train-only
sprites layout.variant_logits``), and this keeps only the changed toppings' from it, every other weight the checkpoint's
to the bit, so that what a comparison measures is that change.

    python scripts/take_sprites.py checkpoints/painted runs/onion-white runs/painted-onion --pieces red_onion

The new folder keeps the checkpoint's card and losses.csv (how its weights were trained), so ``scripts/ship.py`` can
ship it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root, for scripts.*

from pizza_models.families.layered import LayeredPizza  # noqa: E402
from pizza_models.pipeline import load  # noqa: E402
from scripts.crusts import save_derived  # noqa: E402


def take_sprites(model: LayeredPizza, donor: LayeredPizza, pieces: Sequence[str]) -> LayeredPizza:
    """``model`` with the sprites (every variant) of ``pieces`` and their frequencies copied from ``donor``, a model of
    the same pieces, variants and sprite size; nothing else changes."""
    config, other = model.config, donor.config
    if (config.pieces, config.variants) != (other.pieces, other.variants) or model.sprites.shape != donor.sprites.shape:
        raise ValueError("the two models draw different pieces or sprites: their sprites do not line up")
    unknown = [name for name in pieces if name not in config.pieces]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not pieces of this model (it draws {', '.join(config.pieces)})")
    rows = torch.tensor([config.pieces.index(name) * config.variants + v for name in pieces for v in range(config.variants)])
    with torch.no_grad():  # sprites (pieces * variants, 4, s, s): a piece's variants are consecutive rows
        model.sprites[rows] = donor.sprites[rows].to(model.sprites.dtype)
        if config.variants > 1:  # variant_logits (pieces, variants): how often each sprite is drawn
            slots = torch.tensor([config.pieces.index(name) for name in pieces])
            model.layout.variant_logits[slots] = donor.layout.variant_logits[slots].to(model.layout.variant_logits.dtype)
    return model


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a layered checkpoint (e.g. checkpoints/painted)")
    p.add_argument("donor", type=Path, help="a layered checkpoint of the same pieces whose sprites to take")
    p.add_argument("out", type=Path, help="the folder to write the model into")
    p.add_argument("--pieces", nargs="+", required=True, help="the toppings whose sprites to take (e.g. red_onion)")
    args = p.parse_args(argv)
    model, donor = load(args.checkpoint), load(args.donor)
    if not isinstance(model, LayeredPizza) or not isinstance(donor, LayeredPizza):
        p.error("both checkpoints must be layered models: only they draw pieces with sprites")
    try:
        taken = take_sprites(model, donor, args.pieces)
    except ValueError as error:
        p.error(str(error))
    save_derived(taken, args.checkpoint, args.out)
    print(f"wrote {args.out}: the sprites of {', '.join(args.pieces)} from {args.donor}, every other weight {args.checkpoint}'s")


if __name__ == "__main__":
    main()
