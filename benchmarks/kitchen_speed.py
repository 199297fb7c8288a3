"""How fast the kitchen renders, on one core: ``python benchmarks/kitchen_speed.py``.

Renders sampled recipes at 32, 64 and 128 px single-threaded and prints pizzas per second, for the
clip-art kitchen (the baseline) and the painted kitchen in the same run; the 64 px rows are checked
against their targets: 300 pizzas/s for the clip-art kitchen (a training loop drawing fresh pizzas
every step), 100 for the painted one (its pieces are cached per sprite, size and turn: the timed
passes come after one warm-up pass over the same recipes).
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy loads: one core, as a data worker has
import time

import numpy as np

from benchmarks.common import cpu_model
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.recipe_sampler import sample_recipe
from pizza_models.kitchen.painted import PaintedKitchen

TARGET = {("clip-art", 64): 300.0, ("painted", 64): 100.0}  # pizzas/s


def rate(kitchen: Kitchen, recipes, size: int, repeats: int) -> float:
    """Best of ``repeats`` timed passes over the recipes, in pizzas per second."""
    for seed, recipe in enumerate(recipes):  # per-size textures and cached sprites outside the timing
        kitchen.render(recipe, seed, size)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for seed, recipe in enumerate(recipes):
            kitchen.render(recipe, seed, size)
        best = max(best, len(recipes) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="pizzas per timed pass")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # pin to one core
    rng = np.random.default_rng(0)
    recipes = [sample_recipe(rng) for _ in range(args.n)]
    kitchens = {"clip-art": Kitchen(), "painted": PaintedKitchen()}
    print(f"CPU: {cpu_model()}; one thread, supersample 2, {args.n} sampled recipes, best of {args.repeats}")
    print(f"{'kitchen':>9} {'size':>6} {'pizzas/s':>10} {'ms/pizza':>9} {'target':>8} {'result':>7}")
    for name, kitchen in kitchens.items():
        for size in (32, 64, 128):
            r = rate(kitchen, recipes, size, args.repeats)
            target = TARGET.get((name, size))
            verdict = ("PASS" if r >= target else "FAIL") if target else "-"
            print(f"{name:>9} {size:>6} {r:>10.0f} {1000 / r:>9.2f} {target or '-':>8} {verdict:>7}")


if __name__ == "__main__":
    main()
