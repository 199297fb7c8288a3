"""What a photo judge of a given budget sees: the photos, photos it never saw, and the kitchens' and models' pizzas.

    python scripts/judge_study.py --seed 0 --out runs/judge_study.json                       # PHOTO_JUDGE_BUDGET
    python scripts/judge_study.py --size 48 --steps 1500 --pizzas 4096 --out runs/judge_cas.json   # the CAS budget
    python scripts/judge_study.py --folds --coverage 0.3 0.55 --out runs/judge_folds.json    # held-out photos only

One judge (``photo_measures.train_photo_judge``) trained on the painted kitchen (clip-art counts, or
``--coverage``) reads the 20 photos and, as ``photo_measures.read_menu``, the single-ingredient pizzas and
held-out recipes of the clip-art kitchen, the clip-art layered model, the painted kitchen (clip-art counts
and the painted model's density, 0.3-0.55) and the shipped painted model. With ``--folds`` it is instead
trained per fold on the kitchen cut down to the fold's 16 photos and reads the 4 others (``cas_on_photos``
with the judge's budget): what it reads on photos whose pieces it never saw. One core: about 10 minutes,
``--folds`` 30. ``--models`` names the painted models it reads (default: the shipped one); for each draw, every
single-ingredient pizza it misses is listed with the judge's mean probability of its ingredient and of the three
others it reads most (``misread``): what it takes the pizza for; and so is the plain pizza (mozzarella on tomato sauce),
to show what the base alone is taken for.
"""

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from photo_measures import DODO20, painted_draw
from pizza_models.evaluation import photo_measures as P
from pizza_models.evaluation.protocol import judge_images
from pizza_models.pipeline import load
from pizza_models.recipe import DEFAULT_VOCABULARY
from pizza_models.recipe_sampler import single_ingredient_recipe


def misread(judge, draw: P.Draw, ingredients: list[str], seed: int, n: int = 8) -> dict:
    """For each of ``ingredients``: the judge's mean probability of it on ``n`` of ``draw``'s pizzas of its
    ``single_ingredient_recipe`` (with ``read_menu``'s seed, but a batch of their own: other pizzas than the ones it
    counts) and of the three other ingredients it reads most."""
    ids, out = DEFAULT_VOCABULARY.ids, {}
    for ingredient in ingredients:
        with torch.inference_mode():
            _, probs = judge_images(judge, P.as_float(draw([single_ingredient_recipe(ingredient)] * n, seed * 100 + 3)))
        mean = probs.mean(0)  # (V,)
        others = sorted(((float(p), i) for i, p in zip(ids, mean.tolist()) if i != ingredient), reverse=True)[:3]
        out[ingredient] = {"own": round(float(mean[ids.index(ingredient)]), 2), "reads": {i: round(p, 2) for p, i in others}}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = P.PHOTO_JUDGE_BUDGET
    p.add_argument("--size", type=int, default=budget.image_size, help="the side the judge reads at")
    p.add_argument("--steps", type=int, default=budget.steps)
    p.add_argument("--pizzas", type=int, default=budget.n_images, help="painted pizzas it learns from")
    p.add_argument("--coverage", type=float, nargs=2, metavar=("LO", "HI"), help="the painted kitchen's density it learns from")
    p.add_argument("--folds", action="store_true", help="train per fold, read the held-out photos only")
    p.add_argument("--models", type=Path, nargs="+", default=[Path("checkpoints/painted")], metavar="DIR",
                   help="painted models it reads (rows named by their folders)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/judge_study.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    budget = replace(budget, image_size=args.size, steps=args.steps, n_images=args.pizzas)
    coverage = tuple(args.coverage) if args.coverage else None
    photos, recipes = P.load_photos(DODO20, 64)
    started, report = time.perf_counter(), {"budget": budget.as_dict(), "coverage": coverage, "seed": args.seed}
    if args.folds:
        held = P.cas_on_photos(lambda train: painted_draw(64, train, coverage), photos, recipes, budget=budget, seed=args.seed)
        read = torch.tensor([[i in r for i in DEFAULT_VOCABULARY.ids] for r in held["read"]])
        scores = P.precision_recall(read, P.presence(recipes, DEFAULT_VOCABULARY))
        report["held_out"] = {**{k: held[k] for k in ("macro_f1", "chance_macro_f1", "micro_f1", "chance_micro_f1")},
                              "precision": scores["precision"], "recall": scores["recall"]}
    else:
        judge, validation = P.train_photo_judge(painted_draw(64, coverage=coverage), photos, recipes, budget=budget, seed=args.seed)
        report["photos"] = {k: validation[k] for k in ("macro_f1", "chance_macro_f1", "micro_f1")}
        draws = {"clip-art kitchen": P.kitchen_draw(64), "clip-art layered model": P.model_draw(load("checkpoints/layered")),
                 "painted kitchen": painted_draw(64), "painted kitchen at 0.3-0.55": painted_draw(64, coverage=(0.3, 0.55)),
                 **{str(folder): P.model_draw(load(folder)) for folder in args.models}}
        for name, draw in draws.items():
            menu = P.read_menu(judge, draw, seed=args.seed)
            single = menu["single_ingredient"]
            missed = [i for i, share in single["share"].items() if share < 0.5]
            report[name] = {"singles": single["recognised"], "held_out": menu["held_out_recipes"]["macro_f1"],
                            "missed": missed, "misread": misread(judge, draw, missed + ["mozzarella"], args.seed)}
    report["seconds"] = round(time.perf_counter() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
