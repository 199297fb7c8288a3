"""What the kitchen cooks: realistic random recipes, the held-out combinations, and the small recipe
helpers the evaluation and the app use (one pizza per ingredient, one topping added or removed).

``sample_recipe(rng)`` draws realistic recipes: one base sauce (tomato about 80%; condensed milk,
the dessert base, rarely and usually without mozzarella), mozzarella about 90% of the time,
1 to 7 toppings weighted like the dodo20 menu (with a floor so every topping appears in several
percent of recipes), a double portion in about 8% and a drizzle in about 10%, at most 9 portions.

``HELD_OUT_RECIPES`` are 16 fixed combinations the sampler never returns (unless asked to): unusual
but plausible pizzas, none on the dodo20 menu, each of whose ingredients is common in training
recipes. A model trained on sampled recipes is tested on them for generalisation to new
combinations; ``is_held_out`` recognises them.
"""

from __future__ import annotations

import numpy as np

from .recipe import (
    CHEESE, DEFAULT_VOCABULARY, DRIZZLE, MAX_PORTIONS, SAUCE, TOPPING,
    Recipe, RecipeLike, Vocabulary, parse_recipe,
)

# How many of the 20 dodo20 menu pizzas carry each topping (ingredients.csv); the floor keeps the
# rare ones frequent enough to learn.
MENU_COUNTS = {
    "red_onion": 7, "tomatoes": 7, "chicken": 7, "pepperoni": 7, "mushrooms": 6, "ham": 5,
    "bacon": 4, "oregano": 4, "olives": 4, "bell_pepper": 4, "feta": 3, "pineapple": 2,
}
TOPPING_FLOOR = 2.0
BASES = {"tomato_sauce": 0.8, "cheese_sauce": 0.08, "ranch_sauce": 0.06, "condensed_milk": 0.04, None: 0.02}
TOPPING_COUNTS = np.array([0.13, 0.2, 0.2, 0.17, 0.13, 0.1, 0.07])  # P(1..7 toppings)


def _held_out(*recipes: str) -> tuple[Recipe, ...]:
    return tuple(parse_recipe(r) for r in recipes)


HELD_OUT_RECIPES: tuple[Recipe, ...] = _held_out(
    "tomato_sauce, mozzarella, pineapple, jalapeno",
    "tomato_sauce, mozzarella, shrimp, pineapple",
    "tomato_sauce, mozzarella, pepperoni, mushrooms, olives",
    "cheese_sauce, mozzarella, ham, pineapple",
    "ranch_sauce, mozzarella, bacon, mushrooms",
    "tomato_sauce, mozzarella, chicken, bell_pepper, basil",
    "tomato_sauce, mozzarella, beef, red_onion, jalapeno",
    "tomato_sauce, mozzarella, feta, tomatoes, olives, basil",
    "tomato_sauce, mozzarella, pepperoni, pepperoni, jalapeno",
    "tomato_sauce, mozzarella, hunter_sausages, pickles, red_onion",
    "cheese_sauce, mozzarella, shrimp, garlic",
    "tomato_sauce, mozzarella, ground_beef, mushrooms, oregano",
    "tomato_sauce, mozzarella, chicken, pineapple, bbq_sauce",
    "tomato_sauce, mozzarella, bacon, tomatoes, sweet_sour_sauce",
    "tomato_sauce, mozzarella, ham, feta, bell_pepper",
    "condensed_milk, pineapple, lingonberry, basil",
)
_HELD_OUT = frozenset(HELD_OUT_RECIPES)


def is_held_out(recipe: RecipeLike, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> bool:
    """Whether the recipe is one of ``HELD_OUT_RECIPES`` (same ingredients and portions)."""
    return parse_recipe(recipe, vocabulary, allow_empty=True) in _HELD_OUT


def single_ingredient_recipe(ingredient_id: str, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> Recipe:
    """The pizza that shows one ingredient: it on tomato sauce and mozzarella.

    A sauce comes with mozzarella only, mozzarella on tomato sauce, and tomato sauce alone, so
    that each of the 28 pizzas differs from the others.
    """
    ingredient_id = vocabulary.ingredients[vocabulary.index(ingredient_id)].id
    kind = vocabulary.ingredients[vocabulary.index(ingredient_id)].kind
    if ingredient_id == "tomato_sauce":  # with mozzarella it would be the mozzarella pizza
        return parse_recipe([ingredient_id], vocabulary)
    base = ["mozzarella"] if kind == SAUCE else ["tomato_sauce", "mozzarella"]
    return parse_recipe(base + ([] if kind == CHEESE else [ingredient_id]), vocabulary)


def sample_recipe(rng: np.random.Generator, vocabulary: Vocabulary = DEFAULT_VOCABULARY,
                  include_held_out: bool = False) -> Recipe:
    """A realistic random recipe (see the module docstring); never a held-out one unless asked."""
    by_kind = {kind: [i.id for i in vocabulary if i.kind == kind] for kind in (SAUCE, CHEESE, TOPPING, DRIZZLE)}
    toppings = by_kind[TOPPING]
    weights = np.array([MENU_COUNTS.get(i, 1) + TOPPING_FLOOR for i in toppings], float)
    bases = [b for b in BASES if b is None or b in by_kind[SAUCE]]
    base_p = np.array([BASES[b] for b in bases]) / sum(BASES[b] for b in bases)
    while True:
        base = bases[rng.choice(len(bases), p=base_p)]
        dessert = base == "condensed_milk"
        portions = [] if base is None else [base]
        if by_kind[CHEESE] and rng.random() < (0.3 if dessert else 0.9):
            portions.append(by_kind[CHEESE][0])
        k = min(len(toppings), 1 + rng.choice(len(TOPPING_COUNTS), p=TOPPING_COUNTS))
        w = weights * np.array([4.0 if dessert and i in ("pineapple", "lingonberry") else 1.0 for i in toppings])
        if k:
            portions += [toppings[j] for j in rng.choice(len(toppings), size=k, replace=False, p=w / w.sum())]
        if by_kind[DRIZZLE] and rng.random() < 0.1:
            portions.append(by_kind[DRIZZLE][rng.integers(len(by_kind[DRIZZLE]))])
        if rng.random() < 0.08:
            doublable = [p for p in portions if p not in by_kind[SAUCE]]
            if doublable:
                portions.append(doublable[rng.integers(len(doublable))])
        while len(portions) > MAX_PORTIONS:  # drop toppings, never the base
            extra = [j for j, p in enumerate(portions) if p in toppings]
            portions.pop(extra[-1])
        if not portions:
            continue
        recipe = parse_recipe(portions, vocabulary)
        if include_held_out or recipe not in _HELD_OUT:
            return recipe


def kitchen_recipes(n: int, seed: int, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> list[Recipe]:
    """``n`` training recipes from the kitchen's sampler (never a held-out one), fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    return [sample_recipe(rng, vocabulary) for _ in range(n)]
