"""Regenerate the README's making of a pizza: ``python docs/make_cook_figures.py``.

- ``docs/cook/strip.png``: the steps of one pizza drawn by the shipped layered model (and, below,
  the photo-painted one), each at 2x with its name, as ``/cook`` returns them;
- ``docs/cook/making.gif``: the layered model's steps as the app's animation (4x, named, looping).

The pizza is the Create tab's: pizza 2 of a sheet of four, seed 3, noise 1.
"""

from pathlib import Path

import torch
from PIL import Image

from pizza_models.app.cook import making
from pizza_models.app.export import captioned, save_animation
from pizza_models.pipeline import load

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cook"
RECIPE = ["tomato_sauce", "mozzarella", "pepperoni", "mushrooms", "olives", "bbq_sauce"]
MODELS = {"checkpoints/layered": "Layered (clip-art)", "checkpoints/painted": "Photo-painted layered"}
GAP = 6


def strip(rows: list[list[Image.Image]]) -> Image.Image:
    """Rows of captioned frames, ``GAP`` white pixels apart, on one white picture."""
    width = max(sum(frame.width + GAP for frame in row) for row in rows) + GAP
    height = sum(row[0].height + GAP for row in rows) + GAP
    picture, y = Image.new("RGB", (width, height), "white"), GAP
    for row in rows:
        x = GAP
        for frame in row:
            picture.paste(frame, (x, y))
            x += frame.width + GAP
        y += row[0].height + GAP
    return picture


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, folder in enumerate(MODELS):
        steps = making(load(ROOT / folder), RECIPE, n=4, index=1, seed=3, noise=1.0)
        rows.append([captioned(step.image, step.name, scale=2) for step in steps])
        if i == 0:
            save_animation(steps, OUT / "making.gif")
    strip(rows).save(OUT / "strip.png", optimize=True)
    print(f"wrote {OUT / 'strip.png'} and {OUT / 'making.gif'}")


if __name__ == "__main__":
    main()
