"""The models the app serves, by folder name: what each is in plain words, which of them can do
what, and the one a request names."""

from typing import Any

from ..hub import PizzaModel

LABELS = {  # folder -> what the model is, in plain words; menus list them in this order, the first is the default
    "painted": "Photo-painted: pieces and crust as in the menu photos (best)",
    "layered": "Clip-art layered: each ingredient drawn as a clean icon",
    "gan": "Sharp sketcher: crisp pizzas, pieces move with the seed",
    "cvaegan": "Photo reader + the sharp sketcher: restyles photos",
    "cvae": "Soft painter: blurry, colours follow the recipe",
    "photo": "Photo model: learned from the 20 real photos",
    "dodo20-cvaegan": "The original article's model, on the 20 real photos (32 px)",
}


def model_choices(shelf: dict[str, PizzaModel], capability: str) -> list[tuple[str, str]]:
    """(label, folder) of the models on ``shelf`` that have ``capability`` ("draws", "encodes",
    "classifies"), labelled ones first in ``LABELS`` order, then the rest by name."""
    able = [name for name, model in shelf.items() if getattr(model, capability)]
    ordered = [name for name in LABELS if name in able] + sorted(name for name in able if name not in LABELS)
    return [(LABELS.get(name, name), name) for name in ordered]


def drawer(shelf: dict[str, PizzaModel], name: Any) -> PizzaModel:
    """The model ``name`` on the shelf if it draws (any of them, listed or not: an API client may ask
    for one the menus list once under another name)."""
    if not isinstance(name, str) or name not in shelf or not shelf[name].draws:
        known = ", ".join(n for n, model in shelf.items() if model.draws)
        raise ValueError(f"unknown model {name!r}; choose one of {known}")
    return shelf[name]
