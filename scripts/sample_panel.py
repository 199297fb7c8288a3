"""One picture comparing generators side by side: each checkpoint's pizzas for the same single-topping
recipes and noises, and, for the models that encode, their reconstructions and restyles of the same
kitchen pizzas.

    python scripts/sample_panel.py checkpoints/cvaegan runs/inv/snapshots/frozen/min40 \\
        --labels "shipped before" "GAN decoder" --out docs/gan_study/cvaegan/samples.jpg

Rows of the drawing block: one per checkpoint and noise (``--noises``); columns: the single-topping
recipes. The restyle block (``--restyle INGREDIENT``): kitchen pizzas, then for each encoding model
its reconstruction and the same pizza restyled to that single topping.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from pizza_models.recipe_sampler import sample_recipe, single_ingredient_recipe
from pizza_models.pipeline import load
from pizza_models.evaluation.protocol import generate, render
from pizza_models.recipe import encode

TOPPINGS = ["pepperoni", "mushrooms", "olives", "pineapple", "ham", "bell_pepper", "shrimp", "basil"]
LABEL_WIDTH = 150


def to_pil(images: torch.Tensor, columns: int) -> Image.Image:
    """(N, 3, H, W) in [-1, 1] -> one grid picture, ``columns`` wide."""
    grid = make_grid(images.clamp(-1, 1) * 0.5 + 0.5, nrow=columns, padding=2, pad_value=1.0)  # (3, H', W') in [0, 1]
    return Image.fromarray((grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def labelled(blocks: list[tuple[str, Image.Image]]) -> Image.Image:
    """Stack (label, picture) blocks vertically, each label written to the left of its block."""
    width = LABEL_WIDTH + max(b.width for _, b in blocks)
    canvas = Image.new("RGB", (width, sum(b.height for _, b in blocks)), "white")
    draw, top = ImageDraw.Draw(canvas), 0
    for label, block in blocks:
        canvas.paste(block, (LABEL_WIDTH, top))
        draw.multiline_text((4, top + 4), label, fill="black")
        top += block.height
    return canvas


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--labels", nargs="+", help="one per checkpoint (default: the folder)")
    p.add_argument("--noises", type=int, default=2, help="noise rows per checkpoint")
    p.add_argument("--restyle", default="olives", help="the single topping the restyle block asks for ('' for none)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    labels = args.labels or [str(c) for c in args.checkpoints]
    if len(labels) != len(args.checkpoints):
        p.error(f"{len(args.checkpoints)} checkpoints but {len(labels)} labels")
    torch.set_num_threads(1)
    recipes = [single_ingredient_recipe(t) for t in TOPPINGS]
    rng = np.random.default_rng(7)
    kitchen_recipes = [sample_recipe(rng) for _ in range(len(TOPPINGS))]
    kitchen = render(kitchen_recipes, 64, 5000)  # (8, 3, 64, 64): fresh renders, not training pizzas
    drawn, restyled = [], [("kitchen pizzas", to_pil(kitchen, len(TOPPINGS)))]
    for label, folder in zip(labels, args.checkpoints):
        model = load(folder).float().eval()
        with torch.no_grad():
            rows = torch.cat([generate(model, recipes, seed) for seed in range(args.noises)])
            drawn.append((label, to_pil(rows, len(TOPPINGS))))
            if args.restyle and getattr(model, "encodes", False):
                vocabulary = model.config.vocabulary
                source = torch.stack([encode(r, model.config.encoding, vocabulary) for r in kitchen_recipes])
                target = encode(single_ingredient_recipe(args.restyle), model.config.encoding, vocabulary).expand_as(source)
                recon, styled = model.restyle(kitchen, source, target)
                restyled.append((f"{label}\nreconstructed\nrestyled: {args.restyle}", to_pil(torch.cat([recon, styled]), len(TOPPINGS))))
    header = ("single toppings:\n" + ", ".join(TOPPINGS[:4]) + ",\n" + ", ".join(TOPPINGS[4:]), Image.new("RGB", (1, 40), "white"))
    blocks = [header, *drawn] + ([("", Image.new("RGB", (1, 16), "white")), *restyled] if len(restyled) > 1 else [])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    labelled(blocks).save(args.out, quality=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
