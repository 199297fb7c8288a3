"""Fit a layered checkpoint's double-portion drizzle templates, and how often each is drawn, on kitchen pizzas that
each carry a double drizzle.

The training recipes double a drizzle about twice in a thousand pizzas (16 of 8,000: sweet-and-sour sauce 10 times,
BBQ sauce 6) and condensed milk, a sauce, never, too few for those templates to learn the kitchen's strokes: the
painted model drew double sweet-and-sour sauce as orange specks, double BBQ sauce three times in five as pale pink
specks, and double condensed milk not at all. This fits them with the training's own losses
(``train.layered.stroke_losses``, at its weights) on kitchen pizzas made for it: realistic recipes, each with one
drizzle doubled, the drizzles in turn. The single-portion templates and every other weight stay to the bit.

    python scripts/fit_templates.py checkpoints/painted runs/painted-doubles --kitchen painted --coverage 0.3 0.55

The new folder keeps the checkpoint's card and losses.csv (how its weights were trained), so ``scripts/ship.py`` can
ship it.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import fields
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root, for scripts.*, train.*

from pizza_models.families.layered import LayeredPizza  # noqa: E402
from pizza_models.kitchen.painted import PaintedKitchen  # noqa: E402
from pizza_models.kitchen.procedural import Kitchen  # noqa: E402
from pizza_models.pipeline import load  # noqa: E402
from pizza_models.recipe import MAX_PORTIONS, Recipe, Vocabulary, parse_recipe  # noqa: E402
from pizza_models.recipe_sampler import sample_recipe  # noqa: E402
from scripts.crusts import save_derived  # noqa: E402
from train.layered import PRESETS, TABLE_LR, LayeredHyper, LayeredKitchen, stroke_losses  # noqa: E402

TRAINING = {f.name: f.default for f in fields(LayeredHyper)}  # the loss weights the templates were trained with


def double_drizzle_recipes(n: int, seed: int, vocabulary: Vocabulary, drizzles: Sequence[str]) -> list[Recipe]:
    """``n`` realistic recipes (``sample_recipe``), the i-th with ``drizzles[i % len(drizzles)]`` doubled in place of
    any drizzle of its own (the last toppings make room for it)."""
    rng = np.random.default_rng(seed)
    recipes = []
    for i in range(n):
        drizzle = drizzles[i % len(drizzles)]
        kept = [p for p in sample_recipe(rng, vocabulary).portions if p not in drizzles][:MAX_PORTIONS - 2]
        recipes.append(parse_recipe(kept + [drizzle, drizzle], vocabulary))
    return recipes


def fit_double_templates(model: LayeredPizza, data: LayeredKitchen, steps: int, batch_size: int = 32,
                         lr: float = PRESETS["modern"]["lr"] * TABLE_LR, seed: int = 0) -> list[float]:
    """Fit ``model``'s double-portion templates and their frequencies to ``data``'s double drizzles: Adam on
    ``stroke_losses`` at the training's weights, the rate decayed to zero on a cosine. Everything else is kept to the
    bit. Returns the loss of every step."""
    if len(data) < batch_size:
        raise ValueError(f"{len(data)} pizzas do not fill one batch of {batch_size}")
    templates, logits = model.templates, model.layout.template_logits  # (S, 2, T, 4, s, s), (S, 2, T); [:, 1]: double
    kept = templates.detach()[:, 0].clone(), logits.detach()[:, 0].clone()
    for p in model.parameters():
        p.requires_grad_(False)
    templates.requires_grad_(True)
    logits.requires_grad_(True)
    opt = torch.optim.Adam([templates, logits], lr=lr, betas=PRESETS["modern"]["betas"])
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    loader = DataLoader(data, batch_size, shuffle=True, drop_last=True, collate_fn=data.collate,
                        generator=torch.Generator().manual_seed(seed))
    history, step = [], 0
    while step < steps:
        for x, _, parts in loader:
            if not bool((parts["stroke_double"] == 1).all()):
                raise ValueError("the pizzas must carry double drizzles only: a single one would move its templates")
            l1, nll = stroke_losses(model, x, parts)
            loss = TRAINING["stroke_weight"] * l1 + TRAINING["template_weight"] * nll
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            history.append(loss.item())
            step += 1
            if step == steps:
                break
    with torch.no_grad():  # the single-portion ones got no gradient; restored to the bit all the same
        templates[:, 0], logits[:, 0] = kept
    templates.requires_grad_(False)
    logits.requires_grad_(False)
    return history


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a layered checkpoint (e.g. checkpoints/painted)")
    p.add_argument("out", type=Path, help="the folder to write the model into")
    p.add_argument("--kitchen", choices=("clipart", "painted"), default="painted", help="the kitchen the checkpoint learned from")
    p.add_argument("--coverage", type=float, nargs=2, default=(0.0, 0.0),
                   help="painted kitchen: the share of the disc its toppings cover, as the checkpoint learned (0 0: clip-art counts)")
    p.add_argument("--pizzas", type=int, default=3000, help="kitchen pizzas, each with one drizzle doubled")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    model = load(args.checkpoint)
    if not isinstance(model, LayeredPizza) or not model.config.strokes:
        p.error("the checkpoint must be a layered model with drizzles: only it draws them from templates")
    config = model.config
    coverage = tuple(args.coverage) if max(args.coverage) > 0 else None
    kitchen = Kitchen(config.vocabulary) if args.kitchen == "clipart" else PaintedKitchen(config.vocabulary, coverage=coverage)
    recipes = double_drizzle_recipes(args.pizzas, args.seed, config.vocabulary, config.strokes)
    data = LayeredKitchen(config, args.pizzas, seed=args.seed, kitchen=kitchen, recipes=recipes)
    try:
        history = fit_double_templates(model, data, args.steps, args.batch_size, seed=args.seed)
    except ValueError as error:
        p.error(str(error))
    print(f"loss {history[0]:.4f} -> {np.mean(history[-20:]):.4f} over {args.steps} steps")
    save_derived(model, args.checkpoint, args.out)


if __name__ == "__main__":
    main()
