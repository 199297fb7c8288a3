"""Ingredient classifier: which ingredients are on a pizza image (multi-label).

Three uses: the app guesses an uploaded photo's recipe, evaluation scores generated pizzas with a
separately trained instance (the judge), and the CVAE-GAN matches its features (the classifier C
of Bao et al. 2017).
"""

from dataclasses import dataclass

import torch
from torch import nn

from .hub import PizzaModel
from .recipe import DEFAULT_VOCABULARY, RecipeConditioned, Vocabulary


@dataclass(frozen=True)
class ClassifierConfig(RecipeConditioned):
    """Shape of an ingredient classifier; its config.json."""

    family: str = "classifier"
    image_size: int = 64
    ingredients: tuple[str, ...] = DEFAULT_VOCABULARY.ids
    channels: int = 32
    dropout: float = 0.3

    def __post_init__(self) -> None:
        self._check_recipe_fields()
        if self.image_size % 16:
            raise ValueError(f"the classifier pools four times: image size must be divisible by 16, got {self.image_size}")


def conv_stage(cin: int, cout: int) -> nn.Sequential:
    """Two conv3x3-BN-ReLU then a 2x max pool: (B, cin, H, W) -> (B, cout, H/2, W/2)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.MaxPool2d(2),
    )


class IngredientClassifier(PizzaModel):
    """Four conv stages (c, 2c, 4c, 8c), global average pool, dropout, one logit per ingredient."""

    family = "classifier"
    classifies = True

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        c = config.channels
        widths = (3, c, 2 * c, 4 * c, 8 * c)
        self.stages = nn.Sequential(*(conv_stage(cin, cout) for cin, cout in zip(widths, widths[1:])))
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(8 * c, len(config.ingredients))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) in [-1, 1] -> pooled features (B, 8c)."""
        return self.stages(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) in [-1, 1] -> ingredient logits (B, V)."""
        return self.head(self.dropout(self.features(x)))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
        """(B, V) bool: ingredients whose predicted probability reaches ``threshold``."""
        return torch.sigmoid(self(x)) >= threshold
