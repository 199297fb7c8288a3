"""Recipes: the ingredient vocabulary, parsing, and the two encodings models are conditioned on.

A recipe is a multiset of at most 9 ingredient portions; an ingredient listed twice is a double
portion. Two encodings:

- ``counts``: one value per ingredient, the number of portions (0, 1 or 2). Our models use it.
- ``slot_code``: the original experiment's code, 9 slots x (ingredients + "none") one-hot,
  slots filled in vocabulary order, flattened (9 x 29 = 261 values for the default vocabulary).
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence, Union

import torch

MAX_PORTIONS = 9  # slots in the original experiment's code
MAX_DOUBLE = 2  # a repeated ingredient is a double portion; no triples on a real menu
MAX_NAMES = 36  # names read at once: 9 portions with room for typos; more is refused before any matching
MAX_NAME_LENGTH = 64  # characters in one name (the longest known is 24)
SHOWN_PROBLEMS = 3  # an error lists this many problems, then counts the rest

# What an ingredient is on the pizza decides how the kitchen draws it and how recipes are sampled.
SAUCE, CHEESE, TOPPING, DRIZZLE = "sauce", "cheese", "topping", "drizzle"


@dataclass(frozen=True)
class Ingredient:
    """One ingredient: a stable id, an English display name, its Russian menu name, its role and
    the everyday names it also answers to (singular and plural, English and Russian)."""

    id: str
    name: str
    name_ru: str
    kind: str = TOPPING
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the ingredient answers to: id, display name, Russian menu name, then aliases."""
        return (self.id, self.name, self.name_ru, *self.aliases)


# The 28 ingredients of the original experiment, in its order of appearance (dodo20/ingredients.csv).
INGREDIENTS: tuple[Ingredient, ...] = (
    Ingredient("tomato_sauce", "Tomato sauce", "Томатный соус", SAUCE),
    Ingredient("mozzarella", "Mozzarella", "моцарелла", CHEESE),
    Ingredient("red_onion", "Red onion", "красный лук"),
    Ingredient("tomatoes", "Tomatoes", "томаты"),
    Ingredient("chicken", "Chicken", "цыпленок"),
    Ingredient("mushrooms", "Mushrooms", "шампиньоны"),
    Ingredient("pepperoni", "Pepperoni", "пепперони"),
    Ingredient("ham", "Ham", "ветчина"),
    Ingredient("bacon", "Bacon", "бекон"),
    Ingredient("oregano", "Oregano", "орегано"),
    Ingredient("olives", "Black olives", "маслины"),
    Ingredient("bell_pepper", "Bell pepper", "сладкий перец"),
    Ingredient("feta", "Feta", "брынза"),
    Ingredient("pineapple", "Pineapple", "ананасы"),
    Ingredient("cheese_sauce", "Cheese sauce", "Сырный соус", SAUCE),
    Ingredient("sweet_sour_sauce", "Sweet-and-sour sauce", "кисло-сладкий соус", DRIZZLE),
    Ingredient("condensed_milk", "Condensed milk", "Сгущенное молоко", SAUCE),
    Ingredient("lingonberry", "Lingonberries", "брусника"),
    Ingredient("ground_beef", "Minced beef", "говядина (фарш)"),
    Ingredient("basil", "Basil", "базилик"),
    Ingredient("jalapeno", "Jalapeno", "халапеньо"),
    Ingredient("shrimp", "Shrimp", "креветки"),
    Ingredient("hunter_sausages", "Hunter sausages", "охотничьи колбаски"),
    Ingredient("ranch_sauce", "Ranch sauce", "Соус Ранч", SAUCE),
    Ingredient("garlic", "Garlic", "чеснок"),
    Ingredient("bbq_sauce", "BBQ sauce", "соус Барбекю", DRIZZLE),
    Ingredient("beef", "Beef", "говядина"),
    Ingredient("pickles", "Pickles", "соленые огурцы"),
)
# Everyday names each ingredient also answers to: singular and plural, English and Russian.
EVERYDAY_NAMES: dict[str, tuple[str, ...]] = {  # what people call them; the menu names are above
    "tomato_sauce": ("pizza sauce", "marinara", "томатная основа"),
    "mozzarella": ("mozzarella cheese", "cheese", "моцарела", "сыр", "сыр моцарелла"),
    "red_onion": ("red onions", "onion", "onions", "лук", "луковица", "красная луковица"),
    "tomatoes": ("cherry tomatoes", "помидор", "помидоры", "помидорки", "томаты черри"),
    "chicken": ("chicken breast", "курица", "куриное филе", "курочка"),
    "mushrooms": ("mushroom", "champignon", "champignons", "гриб", "грибы", "шампиньон", "грибочки"),
    "pepperoni": ("колбаса пепперони",),
    "ham": ("hams", "окорок"),
    "bacon": ("bacon strips",),
    "oregano": ("dried oregano", "душица"),
    "olives": ("olive", "black olive", "маслина", "оливки", "оливка", "черные оливки"),
    "bell_pepper": ("bell peppers", "pepper", "peppers", "sweet pepper", "sweet peppers", "green pepper",
                    "green peppers", "capsicum", "перец", "перцы", "болгарский перец"),
    "feta": ("feta cheese", "фета", "сыр фета"),
    "pineapple": ("pineapples", "ананас"),
    "cheese_sauce": ("cheddar sauce", "сырная основа"),
    "sweet_sour_sauce": ("sweet and sour", "sweet & sour sauce", "кисло сладкий"),
    "condensed_milk": ("sweetened condensed milk", "сгущенка"),
    "lingonberry": ("cowberry", "cowberries", "брусничка"),
    "ground_beef": ("ground beef", "mince", "minced meat", "фарш", "говяжий фарш", "говядина фарш"),
    "basil": ("basil leaves",),
    "jalapeno": ("jalapeño", "jalapenos", "jalapeños", "халапеньос"),
    "shrimp": ("shrimps", "prawn", "prawns", "креветка"),
    "hunter_sausages": ("hunter sausage", "sausage", "sausages", "колбаски", "колбаска", "охотничья колбаска"),
    "ranch_sauce": ("ranch", "ранч"),
    "garlic": ("garlic cloves",),
    "bbq_sauce": ("bbq", "barbecue", "barbecue sauce", "барбекю"),
    "beef": ("говядины",),
    "pickles": ("pickle", "gherkin", "gherkins", "pickled cucumbers", "огурец", "огурцы", "соленый огурец",
                "маринованные огурцы", "корнишоны"),
}
INGREDIENTS = tuple(replace(ingredient, aliases=EVERYDAY_NAMES.get(ingredient.id, ())) for ingredient in INGREDIENTS)
_KNOWN = {ingredient.id: ingredient for ingredient in INGREDIENTS}


def _normalise(name: str) -> str:
    """Case, whitespace, '_'/'-' and 'ё' insensitive key: 'Tomato sauce' == 'tomato_sauce'."""
    name = name.strip().casefold().replace("ё", "е")
    return re.sub(r"[\s_\-]+", " ", name)


@dataclass(frozen=True)
class Vocabulary:
    """An ordered set of ingredients; the order fixes every encoding."""

    ingredients: tuple[Ingredient, ...] = INGREDIENTS

    def __post_init__(self) -> None:
        ids = [ingredient.id for ingredient in self.ingredients]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate ingredient ids in vocabulary: {ids}")
        lookup: dict[str, int] = {}
        for i, ingredient in enumerate(self.ingredients):
            for alias in ingredient.names:
                if lookup.setdefault(_normalise(alias), i) != i:
                    raise ValueError(f"{alias!r} names both {self.ingredients[lookup[_normalise(alias)]].id} "
                                     f"and {ingredient.id}")
        object.__setattr__(self, "_lookup", lookup)

    def __len__(self) -> int:
        return len(self.ingredients)

    def __iter__(self):
        return iter(self.ingredients)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(ingredient.id for ingredient in self.ingredients)

    @property
    def slot_classes(self) -> int:
        """Classes per slot of the slot code: every ingredient plus "none"."""
        return len(self) + 1

    @property
    def slot_code_size(self) -> int:
        return MAX_PORTIONS * self.slot_classes

    @classmethod
    def from_ids(cls, ids: Iterable[str]) -> "Vocabulary":
        """A vocabulary from ingredient ids; known ids keep their names, new ones get a title."""
        return cls(tuple(_KNOWN.get(i) or Ingredient(i, i.replace("_", " ").capitalize(), i) for i in ids))

    @classmethod
    def from_manifest(cls, path: Union[str, Path], column: str = "ingredients") -> "Vocabulary":
        """The ingredients a manifest CSV uses, in order of first appearance (other data, other toppings)."""
        seen: dict[str, None] = {}
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                for name in _split(row.get(column) or ""):
                    seen.setdefault(name.strip().lower(), None)
        return cls.from_ids(seen)

    def index(self, name: str) -> int:
        """Position of an ingredient given by id, English or Russian name (any case)."""
        key = _normalise(name)
        try:
            return self._lookup[key]  # type: ignore[attr-defined]
        except KeyError:
            raise ValueError(self._unknown_message(name)) from None

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Display names of the known ingredients closest to an unknown name (what a person reads)."""
        return [self.ingredients[self.index(i)].name for i in self._closest(name, n)]

    def _closest(self, name: str, n: int = 3) -> list[str]:
        """Ids of the known ingredients whose names are spelled closest to ``name``."""
        matches = difflib.get_close_matches(_normalise(name), self._lookup, n=n * 3, cutoff=0.5)  # type: ignore[attr-defined]
        ids = dict.fromkeys(self.ingredients[self._lookup[m]].id for m in matches)  # type: ignore[attr-defined]
        return list(ids)[:n]

    def matches(self, text: str, close: bool = True) -> list[str]:
        """Ids of the ingredients ``text`` may mean, best first: an exact name, then names that start
        with it, then names that contain it (what a search box offers), then, with ``close``, close
        spellings."""
        key = _normalise(text)
        if not key:
            return []
        lookup: dict[str, int] = self._lookup  # type: ignore[attr-defined]
        ranked = [lookup[key]] if key in lookup else []
        ranked += [i for alias, i in lookup.items() if alias.startswith(key)]
        ranked += [i for alias, i in lookup.items() if key in alias]
        ids = dict.fromkeys(self.ingredients[i].id for i in ranked)
        return list(ids) or (self._closest(text) if close else [])

    def _unknown_message(self, name: str) -> str:
        suggestions = self.suggest(name)
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        return f"unknown ingredient {name.strip()!r}{hint}"


DEFAULT_VOCABULARY = Vocabulary()


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[,;]", text) if part.strip()]


@dataclass(frozen=True)
class Recipe:
    """A multiset of ingredient ids in vocabulary order; a repeated id is a double portion."""

    portions: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.portions)

    def __str__(self) -> str:
        return ", ".join(self.portions) if self.portions else "(nothing)"

    @property
    def ingredients(self) -> tuple[str, ...]:
        """Distinct ingredient ids, in order."""
        return tuple(dict.fromkeys(self.portions))

    def count(self, ingredient_id: str) -> int:
        return self.portions.count(ingredient_id)


RecipeLike = Union[Recipe, str, Sequence[str]]


def summarise(problems: Sequence[str], shown: int = SHOWN_PROBLEMS) -> str:
    """The first ``shown`` problems joined with "; ", and how many more there are."""
    more = len(problems) - shown
    return "; ".join(problems[:shown]) + (f"; and {more} more problem{'s' * (more > 1)}" if more > 0 else "")


def recipe_names(recipe: object) -> list[str]:
    """The names in a recipe given as a ``Recipe``, a comma/semicolon-separated string or a list of
    strings, checked for type and size before any of them is looked up.

    Raises ``ValueError`` (short: the first few problems and a count) for anything else: numbers,
    null, nested lists, names over ``MAX_NAME_LENGTH`` characters or more than ``MAX_NAMES`` names.
    """
    if isinstance(recipe, Recipe):
        return list(recipe.portions)
    if isinstance(recipe, str):
        items: Sequence[object] = [recipe]
    elif isinstance(recipe, (list, tuple)):
        items = recipe
    else:
        raise ValueError(f"a recipe is a list of ingredient names or a comma-separated string, not {_kind(recipe)}")
    if len(items) > MAX_NAMES:  # before splitting or matching anything: one request must stay cheap
        raise ValueError(f"{len(items)} names is far too many: a pizza holds at most {MAX_PORTIONS} portions")
    problems = [f"item {n} is {_kind(item)}, not an ingredient name"
                for n, item in enumerate(items, start=1) if not isinstance(item, str)]
    if problems:
        raise ValueError(summarise(problems))
    names = [part for item in items for part in _split(item)]  # type: ignore[arg-type]
    if len(names) > MAX_NAMES:
        raise ValueError(f"{len(names)} names is far too many: a pizza holds at most {MAX_PORTIONS} portions")
    long = [f"{name.strip()[:20]!r}... is {len(name.strip())} characters long, not an ingredient name"
            for name in names if len(name.strip()) > MAX_NAME_LENGTH]
    if long:
        raise ValueError(summarise(long))
    return names


def _kind(value: object) -> str:
    """What a value is, for an error message: 'a number', 'null', 'a list'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def parse_recipe(
    recipe: RecipeLike, vocabulary: Vocabulary = DEFAULT_VOCABULARY, allow_empty: bool = False
) -> Recipe:
    """Parse a recipe from a list of names or a comma/semicolon-separated string.

    Names may be ids, English or Russian names, in any case. Types and sizes are checked first
    (``recipe_names``); then all problems are reported in one ``ValueError`` (the first few and a
    count): unknown ingredients (with suggestions), more than 9 portions, more than a double
    portion of one ingredient, or nothing at all unless ``allow_empty``.
    """
    names = recipe_names(recipe)

    problems, indices = [], []
    for name in names:
        try:
            indices.append(vocabulary.index(name))
        except ValueError as error:
            problems.append(str(error))
    if not names and not allow_empty:
        problems.append("the recipe is empty: pick at least one ingredient")
    if len(names) > MAX_PORTIONS:
        problems.append(f"{len(names)} portions is too many: a pizza holds at most {MAX_PORTIONS}")
    for i in sorted(set(indices)):
        if indices.count(i) > MAX_DOUBLE:
            problems.append(
                f"{vocabulary.ingredients[i].id} appears {indices.count(i)} times: "
                f"at most a double portion ({MAX_DOUBLE})"
            )
    if problems:
        raise ValueError(summarise(problems))
    return Recipe(tuple(vocabulary.ingredients[i].id for i in sorted(indices)))


def counts(recipe: RecipeLike, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> torch.Tensor:
    """Portions per ingredient: a float tensor of shape (len(vocabulary),) with values 0, 1, 2."""
    code = torch.zeros(len(vocabulary))
    for ingredient_id in parse_recipe(recipe, vocabulary, allow_empty=True).portions:
        code[vocabulary.index(ingredient_id)] += 1
    return code


def from_counts(code: torch.Tensor, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> Recipe:
    """Inverse of ``counts``; values are rounded, so a model's soft output decodes too."""
    portions = code.detach().round().clamp(0, MAX_DOUBLE).long().tolist()
    return parse_recipe([i.id for i, n in zip(vocabulary.ingredients, portions) for _ in range(n)], vocabulary, allow_empty=True)


def slot_code(recipe: RecipeLike, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> torch.Tensor:
    """The original experiment's code: (9 * (len(vocabulary) + 1),) one-hot slots, empty slots "none"."""
    portions = parse_recipe(recipe, vocabulary, allow_empty=True).portions
    classes = [vocabulary.index(p) for p in portions] + [len(vocabulary)] * (MAX_PORTIONS - len(portions))
    return torch.nn.functional.one_hot(torch.tensor(classes), vocabulary.slot_classes).flatten().float()


def from_slot_code(code: torch.Tensor, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> Recipe:
    """Inverse of ``slot_code``: the argmax class of each slot, "none" slots dropped."""
    classes = code.reshape(MAX_PORTIONS, vocabulary.slot_classes).argmax(dim=1).tolist()
    return parse_recipe([vocabulary.ingredients[c].id for c in classes if c < len(vocabulary)], vocabulary, allow_empty=True)


ENCODINGS = {"counts": (counts, from_counts), "slot_code": (slot_code, from_slot_code)}


def encode(recipe: RecipeLike, encoding: str, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> torch.Tensor:
    """Encode with ``"counts"`` or ``"slot_code"`` by name (what a model config stores)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown recipe encoding {encoding!r}; use one of {sorted(ENCODINGS)}")
    return ENCODINGS[encoding][0](recipe, vocabulary)


def encoding_size(encoding: str, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> int:
    """Length of an encoded recipe: 28 for counts, 261 for the slot code of the default vocabulary."""
    return encode([], encoding, vocabulary).numel()


class RecipeConditioned:
    """Mixin of the frozen model configs that carry the vocabulary (``ingredients``) and an ``encoding``."""

    def _check_recipe_fields(self) -> None:
        object.__setattr__(self, "ingredients", tuple(self.ingredients))  # JSON gives back a list
        encoding = getattr(self, "encoding", "counts")
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown recipe encoding {encoding!r}; use one of {sorted(ENCODINGS)}")

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.from_ids(self.ingredients)

    @property
    def cond_dim(self) -> int:
        """Length of the recipe code the model is conditioned on."""
        return encoding_size(getattr(self, "encoding", "counts"), self.vocabulary)
