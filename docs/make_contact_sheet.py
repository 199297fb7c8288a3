"""Regenerate the kitchen's contact sheets: ``python docs/make_contact_sheet.py``.

- ``docs/contact_sheet.png``: the 28 single-ingredient pizzas at 64 x 64, shown at 2x (nearest,
  so the real pixels stay visible), 7 columns x 4 rows, each labelled with its English name.
- ``docs/kitchen_samples.png``: 16 sampled recipes at 128 x 128.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pizza_models.kitchen.procedural import Kitchen
from pizza_models.recipe_sampler import sample_recipe, single_ingredient_recipe
from pizza_models.recipe import DEFAULT_VOCABULARY

DOCS = Path(__file__).resolve().parent


def grid(tiles: list[Image.Image], labels: list[str], columns: int, label_height: int = 14) -> Image.Image:
    """Tiles in rows of ``columns``, each with a label centred under it."""
    w, h = tiles[0].size
    rows = -(-len(tiles) // columns)
    pad = 6
    sheet = Image.new("RGB", (columns * (w + pad) + pad, rows * (h + label_height + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        x, y = pad + (i % columns) * (w + pad), pad + (i // columns) * (h + label_height + pad)
        sheet.paste(tile, (x, y))
        text_w = draw.textlength(label)
        draw.text((x + (w - text_w) / 2, y + h + 2), label, fill=(40, 40, 40))
    return sheet


def save(image: Image.Image, name: str) -> None:
    # Full colour: a 256-colour palette visibly shifts the toppings' colours, which is what the sheet shows.
    image.save(DOCS / name, optimize=True)


def main() -> None:
    kitchen = Kitchen()
    ingredients = list(DEFAULT_VOCABULARY)
    tiles = [kitchen.render(single_ingredient_recipe(i.id), seed=n, size=64).resize((128, 128), Image.NEAREST)
             for n, i in enumerate(ingredients)]
    save(grid(tiles, [i.name for i in ingredients], columns=7), "contact_sheet.png")

    rng = np.random.default_rng(2024)
    recipes = [sample_recipe(rng) for _ in range(16)]
    samples = [kitchen.render(r, seed=n, size=128) for n, r in enumerate(recipes)]
    labels = [f"{n + 1}" for n in range(16)]
    save(grid(samples, labels, columns=8), "kitchen_samples.png")
    for n, r in enumerate(recipes):
        print(f"{n + 1:2d}: {r}")


if __name__ == "__main__":
    main()
