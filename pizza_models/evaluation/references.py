"""The two reference columns of every evaluation table: the ceiling and the floor.

- ``KitchenModel``: the kitchen behind the drawing interface, so ``protocol.evaluate_generator``
  runs on kitchen renders unchanged. Its recipe scores are the most a generator can reach with
  these judges; its distances (FD, KID, spectral: kitchen renders against other kitchen renders)
  the least; its CAS is what the CAS budget learns from perfect pizzas.
- ``trivial_reader``: a reader that answers "tomato sauce + mozzarella" for every pizza, scored
  exactly from the recipes. A generator whose recipe scores are near it draws nothing the judge
  reads beyond the base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from . import metrics as M
from ..data import kitchen_recipes, to_tensor
from ..kitchen.procedural import Kitchen
from ..recipe_sampler import HELD_OUT_RECIPES
from .metrics import single_ingredient_scores
from .protocol import EVAL_SEED, KITCHEN, RENDER_SEED, RENDER_STREAM, Images, presence
from ..recipe import DEFAULT_VOCABULARY, Vocabulary, from_counts

TRIVIAL_ANSWER = ("tomato_sauce", "mozzarella")  # the trivial reader's answer for every pizza


@dataclass(frozen=True)
class KitchenConfig:
    image_size: int = 64
    vocabulary: Vocabulary = DEFAULT_VOCABULARY
    encoding: str = "counts"


class KitchenModel:
    """The kitchen behind the drawing interface, so the protocol can run on it unchanged (the "kitchen" column).

    The latent (B, 1) is a render seed offset in [0, RENDER_STREAM), exact in float32; the pizza
    is rendered with seed ``RENDER_SEED + KITCHEN * RENDER_STREAM + z``, a block no training set
    and no other section of the protocol uses. No encoder: a renderer cannot read a picture.
    """

    draws = True
    encodes = False

    def __init__(self, image_size: int = 64, vocabulary: Vocabulary = DEFAULT_VOCABULARY):
        self.config = KitchenConfig(image_size, vocabulary)
        self.kitchen = Kitchen(vocabulary)

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None, scale: float = 1.0,
                      device=None) -> torch.Tensor:
        return torch.randint(0, RENDER_STREAM, (n, 1), generator=generator).float()

    def draw(self, z: torch.Tensor, codes: torch.Tensor) -> Images:
        size, first = self.config.image_size, RENDER_SEED + KITCHEN * RENDER_STREAM
        return torch.stack([
            to_tensor(self.kitchen.render(from_counts(code.cpu(), self.config.vocabulary), first + int(offset), size), size)
            for offset, code in zip(z[:, 0].tolist(), codes)
        ])


def trivial_reader(vocabulary: Vocabulary = DEFAULT_VOCABULARY, *, n_train_recipes: int = 64, n_per_recipe: int = 4,
                   n_held_out_samples: int = 8, n_single_samples: int = 8, answer: Sequence[str] = TRIVIAL_ANSWER) -> dict:
    """The protocol's recipe-reading scores of a reader that answers ``answer`` for every pizza, exactly.

    No image is drawn: the reading does not depend on one, so the scores follow from the recipes
    alone (``metrics.constant_reader_f1``). The same recipes, repeated as often, as in
    ``evaluate_generator``; ``second_judge`` holds the same scores, the reader standing in for either judge.
    """
    said = torch.tensor([i in answer for i in vocabulary.ids])  # (V,)
    train = [r for r in kitchen_recipes(n_train_recipes, EVAL_SEED, vocabulary) for _ in range(n_per_recipe)]
    held_out = [r for r in HELD_OUT_RECIPES for _ in range(n_held_out_samples)]
    scores = {
        "train_recipes": M.constant_reader_f1(presence(train, vocabulary), said),
        "held_out_recipes": M.constant_reader_f1(presence(held_out, vocabulary), said),
        # Ingredient i is on its own single-ingredient pizza, so it is found there exactly when it is answered.
        "single_ingredient": single_ingredient_scores(said.expand(len(vocabulary) * n_single_samples, -1),
                                                      n_single_samples, vocabulary),
    }
    return {**scores, "second_judge": scores,
            "protocol": {"answer": list(answer), "n_train_recipes": n_train_recipes, "n_per_recipe": n_per_recipe,
                         "n_held_out_samples": n_held_out_samples, "n_single_samples": n_single_samples}}
