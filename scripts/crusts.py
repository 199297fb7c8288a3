"""Lay the photos' own crusts on a layered checkpoint: its crust table (``LayeredConfig.crusts``) filled with the
photo bank's bases (the 20 photos with their toppings filled in), each read exactly as the photos are read.

    python scripts/crusts.py checkpoints/painted runs/painted-crusts

Every other weight is the checkpoint's. The crusts come from the bank that ships with the package
(``pizza_models/kitchen/photo_bank``, rebuilt from ../shared by ``scripts/photo_layers.py``), so nothing here
reads the photos themselves. The new folder keeps the checkpoint's card and losses.csv (how its weights were
trained), so ``scripts/ship.py`` can ship it.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
from pathlib import Path

import torch
from torchvision.utils import save_image

from pizza_models.evaluation.protocol import generate
from pizza_models.families.layered import LayeredPizza
from pizza_models.hub import save_checkpoint
from pizza_models.kitchen.bank import WHOLE, PhotoBank, shipped_bank
from pizza_models.menu import MENU
from pizza_models.pipeline import load
from pizza_models.recipe import parse_recipe

KEPT = ("README.md", "losses.csv", "losses.png")  # how the weights were trained


def with_crusts(model: LayeredPizza, bank: PhotoBank, edge: float, hold_out: str = "", whole: str = "none",
                detail: float = 0.0) -> LayeredPizza:
    """A copy of ``model`` whose crust table holds the bank's crusts but those of the ``hold_out`` photos (indices,
    comma-separated, as ``PhotoBank.seen``), each pizza laying one of its own kind of base from ``edge`` of its radius
    out, or, for the photos ``whole`` names, the whole base (``PhotoBank.crust_fields``), and with ``detail`` the
    crust's photo's detail finer than a blur of that sigma inside it (``LayeredConfig.crust_detail``); every other
    weight the model's, loaded strictly."""
    seen = bank.seen(hold_out)
    config = replace(model.config, **bank.crust_fields(hold_out, whole), crust_edge=edge, crust_detail=detail)
    crusted = LayeredPizza(config)
    pictures, radius = (table[seen] for table in bank.crust_table(config.image_size))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("crust.")}
    crusted.load_state_dict(state | {"crust.pictures": pictures, "crust.radius": radius}, strict=True)
    return crusted.eval()


def save_derived(model: LayeredPizza, checkpoint: Path, out: Path) -> None:
    """Save ``model``, made from ``checkpoint`` without training, into ``out`` with the checkpoint's card and losses
    (how its weights were trained, for ``scripts/ship.py``) and a samples.png of the menu's pizzas, two draws each."""
    save_checkpoint(model, out)
    for name in KEPT:
        if (checkpoint / name).is_file() and checkpoint.resolve() != out.resolve():
            shutil.copy2(checkpoint / name, out / name)
    with torch.inference_mode():
        pizzas = generate(model, [parse_recipe(r) for r in MENU.values() for _ in range(2)], latent_seed=0)
    save_image(pizzas * 0.5 + 0.5, out / "samples.png", nrow=8, padding=2, pad_value=1.0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a layered checkpoint (e.g. checkpoints/painted)")
    p.add_argument("out", type=Path, help="the folder to write the model with crusts into")
    p.add_argument("--edge", type=float, default=0.86, help="where a crust begins, as a share of its radius (the photos': 0.84)")
    p.add_argument("--whole", choices=WHOLE, default="none",
                   help="the photos whose whole base is laid, toppings refilled, where a pizza picks them: white, those "
                        "without tomato sauce (the base decoder draws red blotches on white-sauce pizzas); all")
    p.add_argument("--detail", type=float, default=0.0, metavar="SIGMA",
                   help="inside the crust, the detail finer than a Gaussian blur of SIGMA px is the crust's photo's, not the "
                        "base decoder's (its 2 px checkerboard); 0: the decoder's")
    p.add_argument("--hold-out", default="", help="photos whose crusts stay out (indices, comma-separated: the --hold-out "
                                                  "of a model trained without them)")
    args = p.parse_args(argv)
    model = load(args.checkpoint)
    if not isinstance(model, LayeredPizza):
        p.error(f"{args.checkpoint} is a {model.config.family} model: only a layered model lays crusts")
    try:
        crusted = with_crusts(model, shipped_bank(), args.edge, args.hold_out, args.whole, args.detail)
    except ValueError as error:
        p.error(str(error))
    save_derived(crusted, args.checkpoint, args.out)
    print(f"wrote {args.out}: {len(crusted.config.crusts)} crusts from the photo bank, edge {args.edge}, "
          f"{len(crusted.config.crust_whole)} laid whole, detail {args.detail}")


if __name__ == "__main__":
    main()
