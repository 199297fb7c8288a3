"""What the Create tab is asked for: the pickers' recipe, typed names, the real menu's pizzas as
examples, the sheet's link (a query string that redraws it) and which pizza of a sheet a click is on.

A link carries exactly the fields of the form, ``?recipe=tomato_sauce,mozzarella,pepperoni&doubles=
pepperoni&noise=1&seed=0&count=4&model=layered``, and is read back as typed values: a stale or wrong
one (an ingredient renamed, a model no longer served, ``seed=abc``) meets the checks and messages of
the form itself.
"""

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union
from urllib.parse import parse_qsl, urlencode

from ..recipe import CHEESE, DEFAULT_VOCABULARY, DRIZZLE, INGREDIENTS, SAUCE, TOPPING, parse_recipe, recipe_names

KIND_ORDER = (SAUCE, CHEESE, TOPPING, DRIZZLE)
# The pickers' (label, id), grouped by role (sauces first); the label carries the Russian menu name
# so that typing either finds it.
INGREDIENT_CHOICES = [(f"{i.name} · {i.name_ru.lower()}" + (f" ({i.kind})" if i.kind != TOPPING else ""), i.id)
                      for i in sorted(INGREDIENTS, key=lambda i: (KIND_ORDER.index(i.kind), i.name))]
FIELDS = ("recipe", "doubles", "noise", "seed", "count", "model")  # a link's keys, in the form's order
SHEET_COLUMNS = 4  # pizzas per row of the Create tab's sheet
SHEET_GAP = 2  # white pixels between them (pipeline.sheet)


def portions(picked: Optional[Sequence[str]], doubled: Optional[Sequence[str]]) -> list[str]:
    """The recipe of the two pickers: each picked ingredient once, a doubled one twice (typed names
    such as "HAM" or "ветчина" count as the ingredient they name). Types and sizes are checked first."""
    picked, doubled = recipe_names(list(picked or [])), recipe_names(list(doubled or []))
    chosen = {_key(name) for name in picked}
    return picked + [d for d in doubled for _ in range(1 if _key(d) in chosen else 2)]


def _key(name: str) -> str:
    try:
        return DEFAULT_VOCABULARY.ingredients[DEFAULT_VOCABULARY.index(name)].id
    except ValueError:  # unknown: parse_recipe will name it with suggestions
        return name


def resolve_typed(values: Optional[list]) -> list:
    """A picker's chips with typed text turned into the ingredient the search list shows first for
    it ("tomato" -> tomato_sauce, "пепперони" -> pepperoni, "HAM" -> ham); text that names nothing
    stays, for the recipe check to refuse with suggestions."""
    resolved = []
    for value in values or []:
        if isinstance(value, str) and value not in DEFAULT_VOCABULARY.ids and len(value) <= 64:
            value = next(iter(DEFAULT_VOCABULARY.matches(value, close=False)), value)
        resolved.append(value)
    return list(dict.fromkeys(resolved))  # a typed duplicate of a chip is one chip


def picked_as_shown(values: Any) -> Any:
    """A picker's value as the page means it: text typed and entered becomes what it names
    (``resolve_typed``), so that no raw chip ever reaches a model; anything else is left for the checks."""
    if isinstance(values, list) and all(isinstance(value, str) for value in values):
        return resolve_typed(values)
    return values


def menu_example(recipe: str) -> list[list[str]]:
    """A menu recipe as the pickers' values: [picked, doubled]."""
    ids = parse_recipe(recipe).portions
    return [sorted(set(ids), key=ids.index), sorted({i for i in ids if ids.count(i) > 1})]


@dataclass(frozen=True)
class Order:
    """One sheet as the Create tab drew it, its values checked: two pickers' ingredients, the latent
    noise, the seed, how many pizzas and the model's name on the shelf."""

    picked: tuple[str, ...]
    doubled: tuple[str, ...]
    noise: float
    seed: int
    count: int
    model: str

    @property
    def recipe(self) -> list[str]:
        """The portions the pickers make (a doubled ingredient twice)."""
        return portions(self.picked, self.doubled)

    def query(self) -> str:
        """The link's query string, without its "?"; noise written exactly (``repr``), so that the
        link redraws the very same pizzas."""
        noise = int(self.noise) if float(self.noise).is_integer() else float(self.noise)
        values = {"recipe": ",".join(self.picked), "doubles": ",".join(self.doubled), "noise": repr(noise),
                  "seed": self.seed, "count": self.count, "model": self.model}
        return urlencode(values, safe=",")

    def stem(self, index: Optional[int] = None) -> str:
        """A file name without its suffix for the sheet, or with ``index`` (from 0) one of its pizzas."""
        return (f"pizza{index + 1}" if index is not None else "pizzas") + f"-{self.model}-seed{self.seed}"

    def text(self, index: Optional[int] = None) -> dict[str, str]:
        """What a downloaded picture says of itself (PNG text chunks): the sheet's, or with ``index``
        (from 0) one pizza's."""
        which = f"pizza {index + 1} of {self.count}" if index is not None else f"{self.count} pizzas"
        return {"Title": f"Neural Pizzaiolo: {which}", "Recipe": ", ".join(self.recipe),
                "Description": describe(self.recipe), "Model": self.model, "Seed": str(self.seed),
                "Noise": repr(float(self.noise)), "Link": "?" + self.query(), "Software": "Neural Pizzaiolo"}


def describe(recipe: Sequence[str]) -> str:
    """A recipe in display names, a double portion said so: "Tomato sauce, Mozzarella, Ham (double)"."""
    try:
        parsed = parse_recipe(list(recipe))
    except ValueError:  # another vocabulary's names: as they are
        return ", ".join(recipe)
    names = {ingredient.id: ingredient.name for ingredient in DEFAULT_VOCABULARY}
    return ", ".join(names[i] + (" (double)" if parsed.count(i) > 1 else "") for i in parsed.ingredients)


def read_query(params: Union[str, Mapping[str, str]], defaults: Sequence[Any]) -> Optional[list]:
    """The form's values (picked, doubled, noise, seed, count, model) a link's ``params`` (or its
    query string) ask for, ``defaults`` for the keys it leaves out; None when it names none of them
    (a plain visit).

    Values come as typed: names split at commas, numbers read as numbers, anything else kept as
    text for the form's checks to refuse with their own messages ("the seed must be a number ... not 'abc'")."""
    if isinstance(params, str):  # a query string, as the page keeps it
        params = dict(parse_qsl(params.lstrip("?"), keep_blank_values=True))
    if not any(key in params for key in FIELDS):
        return None
    values = dict(zip(FIELDS, defaults))
    for key in FIELDS:
        if key not in params:
            continue
        text = str(params[key])
        if key in ("recipe", "doubles"):
            values[key] = [name.strip() for name in text.split(",") if name.strip()]
        elif key == "model":
            values[key] = text
        else:
            values[key] = _number(text)
    return [values[key] for key in FIELDS]


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text.strip()[:40]


def pizza_at(point: Any, count: int, side: int, columns: int = SHEET_COLUMNS, gap: int = SHEET_GAP) -> int:
    """The index (from 0) of the pizza under ``point``, "x,y" in pixels of a sheet of ``count``
    pizzas of ``side`` px (``pipeline.sheet``); a gap belongs to the pizza before it. ``ValueError``
    when the point is on no pizza or is not a point."""
    try:
        x, y = (int(float(v)) for v in str(point).split(","))
    except ValueError:
        raise ValueError(f"pick a pizza of the sheet: {str(point)[:40]!r} is not a point on it") from None
    columns = min(columns, count)
    column, row = x // (side + gap), y // (side + gap)
    if x < 0 or y < 0 or column >= columns or row * columns + column >= count:
        raise ValueError("pick a pizza of the sheet: that point is beside them")
    return row * columns + column
