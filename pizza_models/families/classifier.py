"""Ingredient classifier: which ingredients are on a pizza image (multi-label).

Three uses: the app guesses an uploaded photo's recipe, evaluation scores generated pizzas with a
separately trained instance (the judge), and the CVAE-GAN matches its features (the classifier C
of Bao et al. 2017).

Two architectures share one interface (``features`` -> pooled (B, 8c), ``head`` -> logits):

- ``vgg`` (the default, and every config.json written before ``arch`` existed): four stages of two
  3x3 convolutions and a max pool, full resolution in the first stage;
- ``resnet``: a 3x3 stem, then four residual blocks that each halve the resolution with a strided
  convolution; about a third of vgg's multiply-adds at 64 x 64. The second judge uses it, so the
  two judges differ in architecture as well as in seed.
"""

from dataclasses import dataclass

import torch
from torch import nn

from ..hub import PizzaModel
from ..recipe import DEFAULT_VOCABULARY, RecipeConditioned

ARCHS = ("vgg", "resnet")


@dataclass(frozen=True)
class ClassifierConfig(RecipeConditioned):
    """Shape of an ingredient classifier; its config.json."""

    family: str = "classifier"
    image_size: int = 64
    ingredients: tuple[str, ...] = DEFAULT_VOCABULARY.ids
    channels: int = 32
    dropout: float = 0.3
    arch: str = "vgg"

    def __post_init__(self) -> None:
        self._check_recipe_fields()
        if self.arch not in ARCHS:
            raise ValueError(f"unknown classifier arch {self.arch!r}; use one of {ARCHS}")
        if self.image_size % 16:
            raise ValueError(f"the classifier pools four times: image size must be divisible by 16, got {self.image_size}")


def conv_stage(cin: int, cout: int) -> nn.Sequential:
    """Two conv3x3-BN-ReLU then a 2x max pool: (B, cin, H, W) -> (B, cout, H/2, W/2)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.MaxPool2d(2),
    )


class ResidualDown(nn.Module):
    """A basic residual block that halves the resolution: (B, cin, H, W) -> (B, cout, H/2, W/2).

    conv3x3 (stride 2)-BN-ReLU-conv3x3-BN, plus a strided 1x1 conv-BN shortcut, then ReLU (He et al. 2016).
    """

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


def _stages(config: ClassifierConfig) -> nn.Sequential:
    """The convolutional trunk of ``config.arch``: (B, 3, H, W) -> (B, 8c, H/16, W/16)."""
    c = config.channels
    widths = (c, c, 2 * c, 4 * c, 8 * c)
    if config.arch == "vgg":
        return nn.Sequential(*(conv_stage(cin, cout) for cin, cout in zip((3,) + widths[1:], widths[1:])))
    stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
    return nn.Sequential(stem, *(ResidualDown(cin, cout) for cin, cout in zip(widths, widths[1:])))


class IngredientClassifier(PizzaModel):
    """A convolutional trunk (``config.arch``), global average pool, dropout, one logit per ingredient."""

    family = "classifier"
    classifies = True

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.stages = _stages(config)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(8 * config.channels, len(config.ingredients))

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
