"""A classifier's sample grid: fresh kitchen pizzas, each with its recipe and what the classifier reads.

    python scripts/classifier_grid.py checkpoints/judge     # writes checkpoints/judge/samples.png
"""

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from pizza_models.data import kitchen_recipes
from pizza_models.evaluation.evaluate import EVAL_SEED, RENDER_SEED
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.pipeline import guess_recipe, load

CELL, TEXT = 160, 118  # pixels per pizza and for its caption lines


def caption(truth: tuple[str, ...], seen: tuple[str, ...]) -> list[tuple[str, str]]:
    """(line, colour): found ingredients in black, missed in red with '-', imagined in blue with '+'."""
    lines = [(name, "black") for name in truth if name in seen] + [(f"-{name}", "red") for name in truth if name not in seen]
    return lines + [(f"+{name}", "blue") for name in seen if name not in truth]


def classifier_grid(folder: Path, n: int = 16, columns: int = 8) -> Image.Image:
    classifier = load(folder)
    size = classifier.config.image_size
    recipes = kitchen_recipes(n, EVAL_SEED + 5)
    kitchen = Kitchen()
    sheet = Image.new("RGB", (columns * CELL, -(-n // columns) * (CELL + TEXT)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, recipe in enumerate(recipes):
        pizza = kitchen.render(recipe, seed=RENDER_SEED + 9 * 10**7 + i, size=size)  # seeds no training run uses
        seen = guess_recipe(classifier, pizza).ingredients
        x, y = (i % columns) * CELL, (i // columns) * (CELL + TEXT)
        sheet.paste(pizza.resize((CELL - 8, CELL - 8), Image.Resampling.NEAREST), (x + 4, y + 4))
        for line, (text, colour) in enumerate(caption(recipe.ingredients, seen)):
            draw.text((x + 6, y + CELL + line * 11), text, fill=colour)
    return sheet


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a classifier checkpoint folder")
    args = p.parse_args()
    classifier_grid(args.checkpoint).save(args.checkpoint / "samples.png")
    print(args.checkpoint / "samples.png")
