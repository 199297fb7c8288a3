"""How fast the kitchen renders, on one core: ``python benchmarks/kitchen_speed.py``.

Renders sampled recipes at 32, 64 and 128 px single-threaded and prints pizzas per second; the
64 px row is checked against the target of 300 pizzas/s a training loop needs to draw fresh
pizzas every step without waiting on them.
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy loads: one core, as a data worker has
import time

import numpy as np

from benchmarks.common import cpu_model
from pizza_models.kitchen import Kitchen
from pizza_models.menu import sample_recipe

TARGET = {64: 300.0}  # pizzas/s


def rate(kitchen: Kitchen, recipes, size: int, repeats: int) -> float:
    """Best of ``repeats`` timed passes over the recipes, in pizzas per second."""
    kitchen.render(recipes[0], 0, size)  # builds the per-size textures outside the timing
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
    kitchen = Kitchen()
    print(f"CPU: {cpu_model()}; one thread, supersample {kitchen.supersample}, {args.n} sampled recipes, best of {args.repeats}")
    print(f"{'size':>6} {'pizzas/s':>10} {'ms/pizza':>9} {'target':>8} {'result':>7}")
    for size in (32, 64, 128):
        r = rate(kitchen, recipes, size, args.repeats)
        target = TARGET.get(size)
        verdict = ("PASS" if r >= target else "FAIL") if target else "-"
        print(f"{size:>6} {r:>10.0f} {1000 / r:>9.2f} {target or '-':>8} {verdict:>7}")


if __name__ == "__main__":
    main()
