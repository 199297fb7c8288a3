"""Figures of the photo-painted model beside the menu photos.

    python scripts/painted_figures.py checkpoints/painted docs/painted \
        [--photos ../shared/datasets/dodo20/recipes.csv] [--clipart checkpoints/layered] [--coverage LO HI] [--size 64]

- ``menu.jpg``: for each of the 20 menu recipes, side by side at ``--size`` px: the real photo, the clip-art
  layered model's pizza, the painted kitchen's render and the painted model's pizza (shown at 2x);
- ``singles.jpg``: the painted model's 28 single-ingredient pizzas in vocabulary order, rows of seven;
- ``samples.jpg``: four pizzas per menu recipe, to show that pieces and bases vary;
- ``sprites.png``: the model's sprites over a cheese colour, a row per topping drawn as pieces (vocabulary
  order of ``LayeredConfig.pieces``), a column per variant.

With ``--compare DIR... --labels NAME...`` it writes only ``compare.jpg``: per menu recipe (``--with ID...``: those
with one of these ingredients), the photo and each model's pizza for it (the same seed), side by side (with
``--fold-models``, the pizza of the fold model that never saw the photo too; with ``--singles ID...``,
``compare-singles.jpg`` as well (``--doubled``: ``compare-doubles.jpg``, each a double portion): per ingredient
named, the painted kitchen's single-ingredient pizza and each model's): each picture at its own size, enlarged to
twice ``--size`` by a whole factor where it can be (``--size 96``: a 64 px model 3x, a 96 px one 2x, the photo
shrunk to 96 px then 2x). Pictures are enlarged as the app enlarges them: photographic ones (the photos, the
painted kitchen and model) with Lanczos, clip-art as crisp squares (``export.photographic``).
"""

import argparse
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid

from pizza_models.app.export import enlarge, photographic
from pizza_models.data import read_manifest
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.pipeline import generate, load, sheet, single_ingredient_menu
from pizza_models.recipe import DEFAULT_VOCABULARY, parse_recipe
from pizza_models.recipe_sampler import single_ingredient_recipe

SIZE = 64


def photo(path: Path, size: int = SIZE) -> Image.Image:
    return Image.open(path).convert("RGB").resize((size, size), Image.LANCZOS)


def draw_one(model, recipe, seed: int) -> Image.Image:
    return generate(model, [recipe], n=1, seed=seed, noise=1.0)[0]


def labelled_grid(rows: list[list[Image.Image]], header: list[str], tile: int = 2 * SIZE) -> Image.Image:
    """Rows of tiles ``tile`` px a side (each picture enlarged to it) under a header line of column names."""
    gap, top = 4, 18
    columns = len(header)
    pairs = (len(rows) + 1) // 2  # two recipes side by side per line
    width = 2 * columns * (tile + gap) + gap * 3
    board = Image.new("RGB", (width, top + pairs * (tile + gap)), "white")
    pen = ImageDraw.Draw(board)
    for half in range(2):
        for c, name in enumerate(header):
            pen.text((half * (columns * (tile + gap) + gap * 3) + c * (tile + gap) + 4, 3), name, fill=(40, 40, 40))
    for i, row in enumerate(rows):
        x0 = (i % 2) * (columns * (tile + gap) + gap * 3)
        y = top + (i // 2) * (tile + gap)
        for c, image in enumerate(row):
            resample = Image.LANCZOS if photographic(image) else Image.NEAREST  # as the app enlarges it
            board.paste(image.resize((tile, tile), resample), (x0 + c * (tile + gap), y))
    return board


def sprite_sheet(model, scale: int = 4) -> Image.Image:
    """A layered model's sprites over a cheese colour: a row per topping, a column per variant, enlarged ``scale`` x."""
    rgba = model.sprite_rgba()  # (P * variants, 4, s, s) straight RGB and alpha in [0, 1]
    cheese = torch.tensor([0.95, 0.85, 0.6])[:, None, None]
    tiles = rgba[:, :3] * rgba[:, 3:] + cheese * (1 - rgba[:, 3:])
    grid = to_pil_image(make_grid(tiles, nrow=model.config.variants, padding=1, pad_value=1.0))
    return grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--photos", type=Path, default=Path("../shared/datasets/dodo20/recipes.csv"))
    parser.add_argument("--clipart", type=Path, default=Path("checkpoints/layered"))
    parser.add_argument("--coverage", type=float, nargs=2, metavar=("LO", "HI"),
                        help="the painted kitchen's coverage the model was trained at (default: clip-art counts)")
    parser.add_argument("--compare", type=Path, nargs="+", default=[], metavar="DIR",
                        help="more models: write compare.jpg (the photo, MODEL and these per menu recipe) and nothing else")
    parser.add_argument("--labels", nargs="+", default=[], help="column names of MODEL and the --compare models")
    parser.add_argument("--fold-models", type=Path, nargs="+", default=[], metavar="DIR",
                        help="with --compare: one more column, each photo's recipe drawn by the model (of these, one per "
                             "fold, trained with --hold-out) whose crust table lacks that photo: the model that never saw it")
    parser.add_argument("--singles", nargs="+", default=[], metavar="ID",
                        help="with --compare: ingredients whose single-ingredient pizzas go in compare-singles.jpg")
    parser.add_argument("--doubled", action="store_true",
                        help="with --singles: each of those ingredients in a double portion (compare-doubles.jpg)")
    parser.add_argument("--size", type=int, default=SIZE, help="the photos' side in the figures; tiles are twice that")
    parser.add_argument("--with", dest="having", nargs="+", default=[], metavar="ID",
                        help="with --compare: only the menu recipes with one of these ingredients (each keeps its noise)")
    args = parser.parse_args()
    if args.singles and not args.compare:
        parser.error("--singles goes with --compare")
    try:  # a misspelt ingredient is told before any model draws
        single_recipes = [single_ingredient_recipe(i) for i in args.singles]
        if args.doubled:  # the ingredient once more: the id it was read as
            single_recipes = [parse_recipe([*r.portions, DEFAULT_VOCABULARY.ingredients[DEFAULT_VOCABULARY.index(i)].id])
                              for r, i in zip(single_recipes, args.singles)]
    except ValueError as error:
        parser.error(f"--singles: {error}")
    torch.set_grad_enabled(False)
    photos = read_manifest(args.photos)
    args.out.mkdir(parents=True, exist_ok=True)
    kitchen = PaintedKitchen(coverage=tuple(args.coverage) if args.coverage else None)
    if args.compare:
        models = [load(path).eval() for path in [args.model, *args.compare]]
        labels = args.labels or [path.name for path in [args.model, *args.compare]]
        shown = [i for i, p in enumerate(photos) if not args.having or set(args.having) & set(p.recipe.ingredients)]
        rows = [[photo(photos[i].path, args.size)] + [draw_one(m, photos[i].recipe, i) for m in models] for i in shown]
        if args.fold_models:
            folds = [load(path).eval() for path in args.fold_models]
            for i, row in zip(shown, rows):
                p = photos[i]
                unseen = [m for m in folds if p.path.stem not in m.config.crusts]
                if len(unseen) != 1:
                    parser.error(f"--fold-models: {len(unseen)} of them never saw {p.path.stem}; one per fold, please")
                row.append(draw_one(unseen[0], p.recipe, i))
        header = ["photo", *labels] + ["fold model"] * bool(args.fold_models)
        labelled_grid(rows, header, 2 * args.size).save(args.out / "compare.jpg", quality=92)
        print(f"wrote {args.out / 'compare.jpg'}")
        if single_recipes:
            rows = [[kitchen.render(r, i, args.size)] + [draw_one(m, r, i) for m in models] for i, r in enumerate(single_recipes)]
            name = "compare-doubles.jpg" if args.doubled else "compare-singles.jpg"
            labelled_grid(rows, ["painted kitchen", *labels], 2 * args.size).save(args.out / name, quality=92)
            print(f"wrote {args.out / name}")
        return
    model, clipart = load(args.model).eval(), load(args.clipart).eval()
    rows = [[photo(p.path, args.size), draw_one(clipart, p.recipe, i), kitchen.render(p.recipe, i, args.size),
             draw_one(model, p.recipe, i)] for i, p in enumerate(photos)]
    menu = labelled_grid(rows, ["photo", "clip-art model", "painted kitchen", "painted model"], 2 * args.size)
    menu.save(args.out / "menu.jpg", quality=90)
    singles = single_ingredient_menu(model, seed=0, noise=1.0)
    board = sheet([image for image, _ in singles], columns=7)  # vocabulary order, rows of seven
    enlarge(board, 2).save(args.out / "singles.jpg", quality=90)
    samples = [[photo(p.path, args.size)] + generate(model, [p.recipe], n=4, seed=7, noise=1.0) for p in photos]
    labelled_grid(samples, ["photo", "seed 7", "", "", ""], 2 * args.size).save(args.out / "samples.jpg", quality=90)
    sprite_sheet(model).save(args.out / "sprites.png")
    print(f"wrote {args.out / 'menu.jpg'}, singles.jpg, samples.jpg, sprites.png")


if __name__ == "__main__":
    main()
