"""Figures of a layered checkpoint for docs/layered: what it draws, what the noise does, how it restyles.

    python scripts/layered_figures.py checkpoints/layered docs/layered [--photos ../shared/datasets/dodo20/recipes.csv]

- singles.png: the 28 single-ingredient pizzas, kitchen renders (rows 1 and 3) above the model's (rows 2 and 4);
- noise.png: one recipe per row at latent noise 0, 0.5, 1 and 1.5 (two seeds each);
- restyle_kitchen.png: kitchen pizzas (picture, reconstruction, a topping added, one removed);
- restyle_photos.png: the same on real photos, when ``--photos`` is given;
- decomposition.json: how well the decomposer reads which layer each pixel shows, per layer, as the
  IoU of its reading with the kitchen's own on 256 fresh kitchen pizzas (seeds no training set uses).
"""

import argparse
import json
from pathlib import Path

import torch

from PIL import Image, ImageDraw

from pizza_models.data import read_manifest
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.recipe_sampler import single_ingredient_recipe
from pizza_models.framing import crop_to_disc
from pizza_models.pipeline import generate, load, model_view, read_photo, restyle
from pizza_models.recipe import Recipe, parse_recipe
from train.layered import LayeredKitchen

SCALE = 2  # pictures are 64 px: shown at twice that, nearest neighbour
NOISE_RECIPES = ["tomato_sauce, mozzarella, pepperoni, mushrooms", "cheese_sauce, mozzarella, ham, pineapple, bbq_sauce"]
KITCHEN_EDITS = [  # (picture's recipe, topping to add, topping to remove)
    ("tomato_sauce, mozzarella, pepperoni, olives", "mushrooms", "olives"),
    ("tomato_sauce, mozzarella, ham, bell_pepper, red_onion", "pineapple", "ham"),
    ("ranch_sauce, mozzarella, bacon, tomatoes", "jalapeno", "bacon"),
]


def sheet(rows: list[list[Image.Image]], labels: list[str], side: int) -> Image.Image:
    """A grid of pictures scaled to ``side`` px, one label per row on the left."""
    margin = 150 if any(labels) else 0
    width = margin + side * max(len(r) for r in rows)
    out = Image.new("RGB", (width, side * len(rows)), "white")
    draw = ImageDraw.Draw(out)
    for i, (row, label) in enumerate(zip(rows, labels)):
        draw.text((4, i * side + side // 2 - 6), label, fill="black")
        for j, image in enumerate(row):
            out.paste(image.resize((side, side), Image.Resampling.NEAREST), (margin + j * side, i * side))
    return out


def singles(model, kitchen: Kitchen) -> Image.Image:
    vocabulary = model.config.vocabulary
    recipes = [single_ingredient_recipe(i.id, vocabulary) for i in vocabulary]
    drawn = generate(model, recipes, seed=0)
    real = [kitchen.render(r, 90_000 + k, model.config.image_size) for k, r in enumerate(recipes)]
    half = len(recipes) // 2
    return sheet([real[:half], drawn[:half], real[half:], drawn[half:]], ["kitchen", "layered", "kitchen", "layered"],
                 64 * SCALE // 2 * 2)


def noise(model) -> Image.Image:
    rows, labels = [], []
    for recipe in NOISE_RECIPES:
        rows.append([generate(model, [recipe], seed=s, noise=n)[0] for n in (0, 0.5, 1, 1.5) for s in (0, 1)])
        labels.append("noise 0 0 .5 .5 1 1 1.5 1.5")
    return sheet(rows, labels, 64 * SCALE)


def edits(model, pictures: list[tuple[Image.Image, Recipe, str, str]]) -> Image.Image:
    """Rows: model view, reconstruction, + topping, - topping."""
    rows, labels = [], []
    for picture, recipe, add, remove in pictures:
        source = list(recipe.portions)
        reconstruction, added = restyle(model, picture, source, source + [add], seed=0, noise=1.0)
        _, removed = restyle(model, picture, source, [p for p in source if p != remove], seed=0)
        rows.append([model_view(model, picture), reconstruction, added, removed])
        labels.append(f"+{add} / -{remove}")
    return sheet(rows, labels, 64 * SCALE)


@torch.inference_mode()
def decomposition_iou(model, n: int = 256, seed: int = 424_242) -> dict:
    """Per-layer IoU between the decomposer's reading (each pixel's most likely layer, given the
    recipe) and the layer the kitchen actually shows there; the base is layer "base"."""
    data = LayeredKitchen(model.config, n, seed=seed, progress=False)
    x, counts, parts = data.collate([data[i] for i in range(n)])
    shows, _, _ = model.read(x, counts)
    guess, truth = shows.argmax(1), parts["visible"]  # (N, S, S) each
    names = ("base",) + model.config.layers
    iou = {}
    for k, name in enumerate(names):
        union = ((guess == k) | (truth == k)).sum().item()
        if union:
            iou[name] = round(((guess == k) & (truth == k)).sum().item() / union, 3)
    layers = [v for k, v in iou.items() if k != "base"]
    return {"pizzas": n, "mean_layer_iou": round(sum(layers) / len(layers), 3), "per_layer": iou}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--photos", type=Path, help="a manifest of real photos (e.g. ../shared/datasets/dodo20/recipes.csv)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model, kitchen = load(args.checkpoint), Kitchen()
    (args.out / "decomposition.json").write_text(json.dumps(decomposition_iou(model), indent=1) + "\n")
    singles(model, kitchen).save(args.out / "singles.png")
    noise(model).save(args.out / "noise.png")
    pictures = [(kitchen.render(r, 70_000 + k, 64), parse_recipe(r), add, remove)
                for k, (r, add, remove) in enumerate(KITCHEN_EDITS)]
    edits(model, pictures).save(args.out / "restyle_kitchen.png")
    if args.photos:
        photos = read_manifest(args.photos, model.config.vocabulary)[:6]
        pictures = []
        for photo in photos:
            image = crop_to_disc(read_photo(photo.path)[0])
            toppings = [i for i in photo.recipe.ingredients if i in model.config.pieces]
            add = next(i for i in ("mushrooms", "olives", "pepperoni") if i not in photo.recipe.ingredients)
            pictures.append((image, photo.recipe, add, toppings[0] if toppings else "mozzarella"))
        edits(model, pictures).save(args.out / "restyle_photos.png")
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
