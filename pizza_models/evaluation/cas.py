"""Classification Accuracy Score (Ravuri & Vinyals 2019): what a classifier learns from a generator's pizzas.

A fresh ingredient classifier is trained only on a generator's pizzas, labelled with the recipes
they were drawn for, and tested on fresh kitchen renders. Patterns that fool a judge teach this
classifier nothing about real pizzas; a generator scores well only if its pizzas show the asked
ingredients the way the kitchen draws them. The same budget trained on kitchen renders (the
"kitchen" column of ``pizza_models.evaluation.evaluate``) is the ceiling.

The budget is fixed (``CAS_BUDGET``) so scores compare across models: 4,096 pizzas, shrunk to
48 x 48 (the judges' antialiased resize), 1,500 Adam steps of 32, a ``resnet`` classifier 16 channels
wide (0.31 M parameters), tested on 512 fresh kitchen renders at 48 x 48. Training takes about two
minutes of one CPU core. Trained the same way on kitchen renders it reaches macro-F1 0.58 (the
"kitchen" column): that is this budget's ceiling, well under the judges' 0.98 after 20 minutes at
64 x 64 (at 32 x 32 and 400 steps the ceiling was 0.36, too low to tell generators apart).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..families.classifier import ClassifierConfig, IngredientClassifier
from ..recipe import Vocabulary


@dataclass(frozen=True)
class CASBudget:
    """How the CAS classifier is trained: data, steps, width, optimiser and its seed."""

    n_images: int = 4096  # generated pizzas, one per training-like recipe
    image_size: int = 48  # the pizzas are resized to this side for training and testing
    steps: int = 1500  # Adam steps of ``batch_size`` (about 12 passes over the pizzas)
    batch_size: int = 32
    lr: float = 2e-3
    channels: int = 16
    arch: str = "resnet"
    n_test: int = 512  # fresh kitchen renders it is tested on (``protocol.judge_accuracy``)
    seed: int = 3003  # weights, dropout and batch order

    def as_dict(self) -> dict:
        return asdict(self)


CAS_BUDGET = CASBudget()


def train_classifier(images: torch.Tensor, labels: torch.Tensor, vocabulary: Vocabulary, budget: CASBudget = CAS_BUDGET,
                     device=None, progress: bool = False) -> IngredientClassifier:
    """A fresh ``IngredientClassifier`` trained with ``budget`` on ``images`` (N, 3, H, W) in [-1, 1]
    with multi-label targets ``labels`` (N, V) bool, V ingredients of ``vocabulary``; returned in eval mode.
    ``protocol.judge_accuracy`` then tests it on fresh kitchen renders: that is the score.

    Reproducible and side-effect free: weights and dropout draw from the global RNG inside
    ``torch.random.fork_rng`` seeded ``budget.seed`` (the caller's RNG state is restored after),
    batches from a ``torch.Generator`` with the same seed.
    """
    device = torch.device(device or "cpu")
    config = ClassifierConfig(image_size=images.shape[-1], ingredients=vocabulary.ids,
                              channels=budget.channels, arch=budget.arch)
    targets = labels.float()
    order = torch.Generator().manual_seed(budget.seed)
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(budget.seed)
        model = IngredientClassifier(config).to(device).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=budget.lr)
        batches = _batches(len(images), budget.batch_size, budget.steps, order)
        for index in tqdm(batches, desc="CAS training", disable=not progress, leave=False, dynamic_ncols=True):
            x, y = images[index].to(device), targets[index].to(device)  # (B, 3, H, W), (B, V)
            loss = F.binary_cross_entropy_with_logits(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model.eval()


def _batches(n: int, batch_size: int, steps: int, generator: torch.Generator) -> list[torch.Tensor]:
    """``steps`` index batches: passes over a fresh permutation of range(n), the last partial batch of a pass dropped."""
    per_pass = max(1, n // batch_size)
    batches: list[torch.Tensor] = []
    while len(batches) < steps:
        batches += list(torch.randperm(n, generator=generator)[: per_pass * batch_size].split(batch_size))
    return batches[:steps]
