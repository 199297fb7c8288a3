"""The photo reader: which ingredients a pizza photo shows, and which pixels show each of them.

One small U-Net with two heads, trained on painted-kitchen pizzas (whose layers are exact) and on
real photos (whose recipes are known, their layers not), or several such readers trained apart whose
probabilities are averaged (``ReaderConfig.members``, ``ensemble``):

- ``forward(x)`` -> (B, V) ingredient logits: the recipe guess of the Restyle tab (``classifies``,
  so ``pipeline.guess_recipe`` and ``ingredient_probabilities`` read it as any classifier). The base's
  ingredients (sauces, cheese) are read by the pooled head; with ``topping_pixels`` a layer's ingredient
  is read where its pixels are: the mean probability of its likeliest ``topping_pixels`` pixels, so a
  topping is named by pieces that look like it, not by the look of the whole pizza;
- ``layers(x)`` -> (B, 1 + L, H, W) logits of what each pixel shows on top: 0 the base (crust,
  sauce, cheese), k the layer ``LAYERS[k - 1]`` (toppings, drizzles, condensed milk), as the
  painted kitchen lays them; ``read_layers`` keeps only what a recipe allows.

Training lives in ``scripts/photo_reader.py``; the photo edits built on the reading in
``pizza_models.app.photo_edit``.
"""


from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hub import PizzaModel
from ..recipe import DEFAULT_VOCABULARY, MAX_PORTIONS, RecipeConditioned, RecipeLike, parse_recipe

# Layer k of a reading is LAYERS[k - 1]: every ingredient drawn above the base (the painted kitchen's order).
LAYERS = ("ham", "beef", "bacon", "pepperoni", "chicken", "mushrooms", "tomatoes", "pineapple", "hunter_sausages",
          "shrimp", "pickles", "ground_beef", "olives", "red_onion", "bell_pepper", "jalapeno", "feta", "lingonberry",
          "garlic", "basil", "oregano", "bbq_sauce", "sweet_sour_sauce", "condensed_milk")


@dataclass(frozen=True)
class ReaderConfig(RecipeConditioned):
    """Shape of a photo reader; its config.json."""

    family: str = "reader"
    image_size: int = 64
    ingredients: tuple[str, ...] = DEFAULT_VOCABULARY.ids
    layers: tuple[str, ...] = LAYERS
    channels: int = 16
    # a layer's ingredient is read from its likeliest pixels (20: about a piece at 64 px); 0, the readers before it: the pooled head
    topping_pixels: int = 0
    members: int = 1  # readers trained apart (other seeds) whose probabilities are averaged: an ensemble reads new photos better

    def __post_init__(self) -> None:
        self._check_recipe_fields()
        object.__setattr__(self, "layers", tuple(self.layers))
        if self.image_size % 8:
            raise ValueError(f"the reader halves the picture three times: image size must be divisible by 8, got {self.image_size}")
        unknown = [name for name in self.layers if name not in self.ingredients]
        if unknown:
            raise ValueError(f"layers {unknown} are not ingredients of the vocabulary")
        if not 0 <= self.topping_pixels <= self.image_size ** 2:
            raise ValueError(f"topping_pixels: 0 (the pooled head) to {self.image_size ** 2} pixels, got {self.topping_pixels}")
        if self.members < 1:
            raise ValueError(f"members: one reader or more, got {self.members}")


def topping_probabilities(layer_logits: torch.Tensor, pixels: int) -> torch.Tensor:
    """Layer logits (B, 1 + L, S, S) -> (B, L): each layer's mean probability over its ``pixels`` likeliest pixels."""
    shown = layer_logits.float().softmax(1)[:, 1:].flatten(2)  # (B, L, S*S): each pixel's share of each layer
    return shown.topk(min(pixels, shown.shape[-1]), dim=2).values.mean(2)


def block(cin: int, cout: int) -> nn.Sequential:
    """Two conv3x3-GroupNorm-SiLU at one resolution: (B, cin, H, W) -> (B, cout, H, W)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(4, cout), nn.SiLU(),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.GroupNorm(4, cout), nn.SiLU())


class PhotoReader(PizzaModel):
    """A three-level U-Net: the bottleneck pooled reads the recipe, the decoder reads the layers. With
    ``config.members`` above 1 it is the first of that many readers (the rest in ``others``) and ``forward`` and
    ``layers`` read with all of them, averaging their probabilities; ``read`` and ``features`` are its own."""

    family = "reader"
    classifies = True

    def __init__(self, config: ReaderConfig):
        super().__init__()
        c = config.channels
        self.down = nn.ModuleList([block(3, c), block(c, 2 * c), block(2 * c, 4 * c), block(4 * c, 8 * c)])
        self.up = nn.ModuleList([block(12 * c, 4 * c), block(6 * c, 2 * c), block(3 * c, c)])
        self.recipe = nn.Sequential(nn.Dropout(0.2), nn.Linear(16 * c, len(config.ingredients)))
        self.pixels = nn.Conv2d(c, 1 + len(config.layers), 1)
        # where each layer's ingredient sits in the vocabulary: (L,) long, not saved (the config says it)
        self.register_buffer("layer_index", torch.tensor([config.ingredients.index(n) for n in config.layers]), persistent=False)
        self.others = nn.ModuleList([PhotoReader(replace(config, members=1)) for _ in range(config.members - 1)])

    def _trunk(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B, 3, S, S) in [-1, 1] -> features at S, S/2, S/4, S/8."""
        skips = [self.down[0](x)]
        for stage in self.down[1:]:
            skips.append(stage(F.avg_pool2d(skips[-1], 2)))
        return skips

    def _recipe(self, deepest: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([deepest.mean((2, 3)), deepest.amax((2, 3))], 1)  # (B, 16c): how much, and anywhere at all
        return self.recipe(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, S, S) in [-1, 1] -> ingredient logits (B, V): the base's from the pooled head, the layers'
        from their likeliest pixels (``ReaderConfig.topping_pixels``; 0: every one from the pooled head); with
        ``others``, the logits of the members' mean probabilities."""
        if len(self.others):
            p = torch.stack([torch.sigmoid(m._logits(x).float()) for m in (self, *self.others)]).mean(0)  # (B, V)
            return torch.logit(p, eps=1e-6)
        return self._logits(x)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """This reader's own ingredient logits (B, V), as ``forward`` without ``others``."""
        k = self.config.topping_pixels
        if not k:
            return self._recipe(self._trunk(x)[-1])
        recipe_logits, layer_logits = self.read(x)
        p = topping_probabilities(layer_logits, k)  # (B, L)
        return recipe_logits.float().index_copy(1, self.layer_index, torch.logit(p, eps=1e-6))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled bottleneck features (B, 16c), as a judge's ``features``."""
        deepest = self._trunk(x)[-1]
        return torch.cat([deepest.mean((2, 3)), deepest.amax((2, 3))], 1)

    def read(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 3, S, S) -> (ingredient logits (B, V), layer logits (B, 1 + L, S, S))."""
        skips = self._trunk(x)
        h = skips[-1]
        for stage, skip in zip(self.up, reversed(skips[:-1])):
            h = stage(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skip], 1))
        return self._recipe(skips[-1]), self.pixels(h)

    def layers(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, S, S) in [-1, 1] -> layer logits (B, 1 + L, S, S); with ``others``, the log of the members'
        mean per-pixel probabilities."""
        if len(self.others):
            p = torch.stack([m.read(x)[1].float().softmax(1) for m in (self, *self.others)]).mean(0)
            return p.clamp_min(1e-12).log()
        return self.read(x)[1]


def ensemble(readers: Sequence[PhotoReader]) -> PhotoReader:
    """One reader that reads with all of ``readers`` (trained apart, one config but for their seeds), each weight
    theirs, loaded strictly; in eval mode."""
    if not readers or any(len(r.others) or r.config != readers[0].config for r in readers):
        raise ValueError("an ensemble is made of one or more single readers of one config")
    combined = PhotoReader(replace(readers[0].config, members=len(readers)))
    state = dict(readers[0].state_dict())
    for k, reader in enumerate(readers[1:]):
        state |= {f"others.{k}.{name}": value for name, value in reader.state_dict().items()}
    combined.load_state_dict(state, strict=True)
    return combined.eval()


def guess(reader: PhotoReader, x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """(B, V) bool: the ingredients read on pictures x (B, 3, S, S) in [-1, 1], at most the 9 likeliest."""
    with torch.inference_mode():
        p = torch.sigmoid(reader(x).float())
    top = p.argsort(1, descending=True)[:, :MAX_PORTIONS]
    return torch.zeros_like(p, dtype=torch.bool).scatter_(1, top, p.gather(1, top) >= threshold)


def allowed_layers(config: ReaderConfig, recipe: RecipeLike) -> torch.Tensor:
    """(1 + L,) bool: the base and the layers of the recipe's ingredients."""
    recipe = parse_recipe(recipe, config.vocabulary, allow_empty=True)
    return torch.tensor([True] + [name in recipe.ingredients for name in config.layers])


def read_layers(reader: PhotoReader, x: torch.Tensor, recipe: RecipeLike, size: int) -> np.ndarray:
    """Which layer each pixel of the picture x (1, 3, S, S) in [-1, 1] shows, at ``size`` x ``size``:
    (size, size) int, 0 the base, k ``reader.config.layers[k - 1]``, only layers of ``recipe``.

    The logits are read at the reader's size and upsampled smoothly, so the edges fall between its pixels."""
    with torch.inference_mode():
        logits = reader.layers(x).float()  # (1, 1 + L, S, S)
        logits = logits.masked_fill(~allowed_layers(reader.config, recipe)[None, :, None, None], -1e4)
        logits = F.interpolate(logits, size=(size, size), mode="bilinear", align_corners=False)
    return logits[0].argmax(0).numpy()


__all__ = ["LAYERS", "PhotoReader", "ReaderConfig", "allowed_layers", "ensemble", "guess", "read_layers", "topping_probabilities"]
