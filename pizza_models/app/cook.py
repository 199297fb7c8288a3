"""How a layered pizza is made: the model's own base and layers, shown one step at a time.

A layered model (``pizza_models.families.layered``) draws a pizza the way a cook makes one: a base decoded
from the recipe's sauces and cheese, then one premultiplied RGBA layer per topping and drizzle,
laid on in a fixed order. ``making`` replays that drawing for one pizza of a sheet and keeps a
picture after each step:

- dough: the base decoded for no ingredient at all;
- each sauce, then the cheese (and any other ingredient that only shapes the base): the base
  decoded for the ingredients so far;
- each topping, then each drizzle, in the model's drawing order: its layer laid on.

The last picture is the pizza ``pipeline.generate`` draws for the sheet, pixel for pixel: the
latents, the finished base and the layers come from the whole sheet's batch, and each layer is
laid with ``LayeredPizza.draw``'s own ``compositing.over``.

A base step that changes next to nothing is shown in one step with the one before it ("Dough +
Tomato sauce + Mozzarella"): a model whose base is painted from photos draws crust, sauce and
cheese at once, and a strip of identical pictures under different names would pretend otherwise.
"""

from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from .. import pipeline
from ..compositing import over
from ..data import to_pil
from ..hub import PizzaModel
from ..families.layered import LayeredPizza, split_latent
from ..recipe import CHEESE, DRIZZLE, SAUCE, TOPPING, Recipe, RecipeLike, encode, parse_recipe

BASE_ORDER = (SAUCE, CHEESE, TOPPING, DRIZZLE)  # ingredients that only shape the base, in a cook's order
SHOWN_LEVEL = 24  # a pixel changes visibly when a channel moves by more than this (of 255)
SHOWN_SHARE = 0.05  # a base step shows when this share of the pixels changes visibly


class Step(NamedTuple):
    """One step of a making: what was added, and the pizza so far at the model's resolution."""

    name: str
    image: Image.Image


def has_layers(model: PizzaModel) -> bool:
    """Whether ``model`` draws its pizzas as a base and layers, so that ``making`` can show them."""
    return isinstance(model, LayeredPizza)


def no_layers(name: str) -> str:
    """What to say of a model that draws every pizza in one go."""
    return (f"the {name!r} model draws each pizza in one go, with no layers: there are no steps to show. "
            "A layered model shows how its pizzas are made.")


@torch.inference_mode()
def making(model: PizzaModel, recipe: RecipeLike, n: int = 1, index: int = 0, seed: int = 0,
           noise: float = 1.0, name: str = "") -> list[Step]:
    """The making of pizza ``index`` (from 0) of the sheet ``pipeline.generate(model, [recipe], n, seed,
    noise)`` draws: dough, sauces, cheese, each topping and drizzle in drawing order; the last step's
    picture is that pizza. ``ValueError`` for a model without layers (``name`` names it) and for
    values ``generate`` refuses."""
    if not has_layers(model):
        raise ValueError(no_layers(name or model.family))
    seed, noise = pipeline.check_seed(seed), pipeline.check_noise(noise)
    n = pipeline.check_whole(n, "the number of pizzas", 1, 10_000)
    index = pipeline.check_whole(index, "the pizza's index", 0, n - 1)
    config = model.config
    parsed = parse_recipe(recipe, config.vocabulary)
    device = next(model.parameters()).device
    codes = torch.stack([encode(parsed, config.encoding, config.vocabulary)] * n).to(device)  # (n, V): generate's
    z = pipeline.latents(model, n, seed, noise).to(device)  # (n, latent_dim)
    with pipeline.MODEL_LOCK, torch.autocast(device.type, enabled=False):  # as draw: float32 throughout
        bases, base_names = _base_steps(model, parsed, z.float(), codes.float(), index)
        pictures, layer_names = _layer_steps(model, parsed, z.float(), codes.float(), index, bases[-1])
    steps = [Step(label, to_pil(picture * 2 - 1)) for label, picture in zip(base_names, bases)]
    steps = _merge_unseen(steps)
    return steps + [Step(label, to_pil(picture * 2 - 1)) for label, picture in zip(layer_names, pictures)]


def _label(recipe: Recipe, ingredient_id: str, vocabulary) -> str:
    name = vocabulary.ingredients[vocabulary.index(ingredient_id)].name
    return f"{name} (double)" if recipe.count(ingredient_id) > 1 else name


def _base_steps(model: LayeredPizza, recipe: Recipe, z: torch.Tensor, codes: torch.Tensor,
                index: int) -> tuple[list[torch.Tensor], list[str]]:
    """Pizza ``index``'s base after each base ingredient: pictures (3, S, S) in [0, 1] and their names.
    The last is the base ``draw`` lays the layers on, decoded in the sheet's batch as there."""
    config, vocabulary = model.config, model.config.vocabulary
    latent = split_latent(z, config)
    geometry = model.layout.geometry(latent.geometry)  # (n, 4)
    full = model.base_counts(codes)  # (n, V): what the base reads (the drizzles too where config.base_drizzles)
    finished = model.crust(model.base(latent.base, full, geometry, latent.grain), latent.crust, geometry, full)[index]  # (3, S, S)
    kinds = {ingredient.id: ingredient.kind for ingredient in vocabulary}
    shaping = sorted((i for i in recipe.ingredients if i not in config.layers),
                     key=lambda i: (BASE_ORDER.index(kinds[i]), vocabulary.index(i)))
    # Step k reads the first k base ingredients; the drizzles' counts stay, as in the finished base (where it reads them).
    partial = full[index].repeat(len(shaping), 1)  # (K, V): K = dough and the steps before the last
    for k in range(len(shaping)):
        partial[k, [vocabulary.index(i) for i in shaping[k:]]] = 0
    names = ["Dough"] + [_label(recipe, i, vocabulary) for i in shaping]
    if not shaping:  # no sauce, no cheese: the dough is the finished base
        return [finished], names
    k, one = len(shaping), slice(index, index + 1)
    earlier = model.base(latent.base[one].expand(k, -1, -1, -1), partial, geometry[one].expand(k, -1),
                         latent.grain[one].expand(k, -1, -1, -1))  # (K, 3, S, S)
    # The dough has the finished pizza's crust; where the table lays a photo's whole base, its rim alone (the dough inside).
    earlier = model.crust(earlier, latent.crust[one].expand(k, -1), geometry[one].expand(k, -1), full[one].expand(k, -1),
                          rim_only=True)
    return [*earlier.unbind(0), finished], names


def _layer_steps(model: LayeredPizza, recipe: Recipe, z: torch.Tensor, codes: torch.Tensor, index: int,
                 base: torch.Tensor) -> tuple[list[torch.Tensor], list[str]]:
    """Pizza ``index`` after each of its layers is laid on ``base`` (3, S, S): pictures and names."""
    config = model.config
    latent = split_latent(z, config)
    geometry = model.layout.geometry(latent.geometry)
    # Every pizza of the sheet, as draw renders them: a piece's footprint depends on the whole batch.
    parts = model.present_pieces(latent, codes, geometry), model.present_strokes(latent, codes, geometry)
    layers, pizza, slot = (torch.cat(part) for part in zip(*parts))  # (K, 4, S, S), (K,), (K,)
    picture, pictures, names = base, [], []
    for k in sorted((pizza == index).nonzero(as_tuple=True)[0].tolist(), key=lambda k: int(slot[k])):
        picture = over(picture, layers[k, :3], layers[k, 3:])  # as draw lays it, in its order
        pictures.append(picture)
        names.append(_label(recipe, config.layers[int(slot[k])], config.vocabulary))
    return pictures, names


def shows(before: Image.Image, after: Image.Image) -> bool:
    """Whether ``after`` differs visibly from ``before``: at least ``SHOWN_SHARE`` of the pixels move
    by more than ``SHOWN_LEVEL`` in some channel."""
    change = np.abs(np.asarray(after, dtype=np.int16) - np.asarray(before, dtype=np.int16)).max(-1)  # (H, W)
    return float((change > SHOWN_LEVEL).mean()) >= SHOWN_SHARE


def _merge_unseen(steps: list[Step]) -> list[Step]:
    """Base steps with each one that ``shows`` nothing new folded into the one before it."""
    merged = steps[:1]
    for step in steps[1:]:
        if shows(merged[-1].image, step.image):
            merged.append(step)
        else:
            merged[-1] = Step(f"{merged[-1].name} + {step.name}", step.image)
    return merged
