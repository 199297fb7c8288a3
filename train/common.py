"""What every family's training module uses: ``register`` and its ``Trainer``, the ``Setup`` a builder
returns, the ``Update`` a step yields, Adam, the EMA, and what the steps share.

A step is a generator: it yields one ``Update`` per optimizer step it needs (the GAN's D, then its
G) and leaves ``zero_grad``, ``backward``, ``step``, the EMA and autocast to the loop, as
stylegan2-ada's training loop does; a later update sees the weights the earlier one moved.
"""

from dataclasses import dataclass, field
from typing import Callable, Iterator, NamedTuple, Optional

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from pizza_models.hub import PizzaModel
from pizza_models.recipe import MAX_PORTIONS, Vocabulary

from .hyper import Hyper


class Batch(NamedTuple):
    """One batch: x (B, 3, H, W) in [-1, 1], recipe codes (B, C), and the family's own targets (the
    layered family's layers and layouts; empty for the others)."""

    x: torch.Tensor
    code: torch.Tensor
    parts: dict = {}


class Update(NamedTuple):
    """One optimizer step a training step asks for: minimise ``loss`` with the optimizer of that
    name; ``logs`` are the scalars to write to losses.csv."""

    optimizer: str
    loss: torch.Tensor
    logs: dict


Step = Callable[[dict, Batch, Hyper], Iterator[Update]]


@dataclass
class Setup:
    """Everything a run trains: named modules (saved in the training state), their optimizers, the step."""

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    step: Step
    export: Callable[[], PizzaModel]  # the model a checkpoint folder holds (EMA weights where kept)
    ema: Optional[AveragedModel] = None  # the moving average of ``averaged``, updated after every step
    averaged: Optional[nn.Module] = None
    validate: Optional[Callable[[dict, Batch, Hyper], dict[str, float]]] = None  # losses without an update
    frozen: dict[str, nn.Module] = field(default_factory=dict)  # called by the step, never trained nor saved
    calls: Optional[dict[str, nn.Module]] = None  # what the step calls, if not nets and frozen (a wrapper)

    def modules(self) -> dict[str, nn.Module]:
        """The modules the step calls, by name (the loop wraps the trained ones in DistributedDataParallel)."""
        return dict(self.calls) if self.calls is not None else {**self.nets, **self.frozen}


@dataclass(frozen=True)
class Trainer:
    """How to train one family: its hyper-parameters and presets, its builder, and the kitchen data
    it needs if plain pictures will not do."""

    family: str
    hyper: type  # a frozen subclass of Hyper: the options that apply to this family
    presets: dict[str, dict]  # preset name -> values of hyper's fields
    # (hp, vocabulary, resumed) -> Setup; resumed: the config.json of the run being resumed, or None
    build: Callable[[Hyper, Vocabulary, Optional[dict]], Setup]
    # (hp, vocabulary, n, seed, progress, setup) -> Dataset for --data kitchen; None: cached kitchen renders
    data: Optional[Callable] = None


_TRAINERS: dict[str, Trainer] = {}


def register(trainer: Trainer) -> Trainer:
    """Make ``trainer`` known to ``python -m train`` (once per family); returns it."""
    if trainer.family in _TRAINERS:
        raise ValueError(f"the family {trainer.family!r} is registered twice")
    _TRAINERS[trainer.family] = trainer
    return trainer


def registered() -> dict[str, Trainer]:
    """The trainers registered so far (``registry.trainers()`` imports the package's first)."""
    return dict(_TRAINERS)


def adam(hp: Hyper, nets: dict[str, nn.Module], lrs: dict[str, float]) -> dict[str, torch.optim.Optimizer]:
    """One Adam per named module at its learning rate."""
    # fused: one kernel for all parameters (2.4x faster than the for-loop on CPU, benchmarks/train_profile.py)
    return {name: torch.optim.Adam(nets[name].parameters(), lr=lr, betas=hp.betas, fused=True) for name, lr in lrs.items()}


def ema_with_warmup(decay: float):
    """EMA update whose decay grows as min(decay, (1 + n) / (10 + n)) with the number of updates n.

    A fixed 0.999 would keep the average close to the random initial weights for the first
    thousand steps, so a short run would export noise; the warm-up follows the weights early on.
    """

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged) -> None:
        n = float(num_averaged)
        weight = 1 - min(decay, (1 + n) / (10 + n))
        for a, c in zip(averaged, current):
            if a.is_floating_point():
                a.lerp_(c, weight)
            else:  # batch-norm counters: copied, not averaged
                a.copy_(c)

    return update


def ema_model(model: nn.Module, decay: float) -> Optional[AveragedModel]:
    """The moving average of ``model`` with ``decay`` (None for 0)."""
    # use_buffers: batch-norm statistics are averaged too, so the EMA model is usable as is.
    return AveragedModel(model, multi_avg_fn=ema_with_warmup(decay), use_buffers=True) if decay else None


def exporter(model: PizzaModel, ema: Optional[AveragedModel]) -> Callable[[], PizzaModel]:
    """What a checkpoint holds: the EMA's copy of ``model`` where there is one, else ``model``."""
    return (lambda: ema.module) if ema is not None else (lambda: model)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return getattr(module, "module", module)


def presence(code: torch.Tensor, vocabulary_size: int) -> torch.Tensor:
    """(B, V) 0/1 ingredient presence from a counts (B, V) or slot code (B, 9 * (V + 1))."""
    if code.shape[1] == vocabulary_size:
        return (code > 0).float()
    slots = code.view(code.shape[0], MAX_PORTIONS, vocabulary_size + 1)[:, :, :vocabulary_size]
    return (slots.sum(dim=1) > 0).float()


class frozen:
    """Context manager: no gradients into ``modules`` (a G step through D must not train D).

    A step yields its update inside the block, so the loop's backward runs while they are frozen.
    """

    def __init__(self, *modules: nn.Module):
        self.modules = modules

    def __enter__(self) -> None:
        self.was = [[p.requires_grad for p in m.parameters()] for m in self.modules]  # as they were: --train-only keeps some off
        for m in self.modules:
            m.requires_grad_(False)

    def __exit__(self, *exc) -> None:
        for m, was in zip(self.modules, self.was):
            for p, flag in zip(m.parameters(), was):
                p.requires_grad_(flag)
