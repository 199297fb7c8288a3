"""The trainable families, by name: what ``python -m train FAMILY`` can train.

Each family's module (``train/<family>.py``) registers a ``Trainer`` with ``common.register``;
``trainers()`` imports every module of this package once so that they have. A new family is one
new module and no list to edit (the model it trains registers itself in ``pizza_models``).
"""

import importlib
import pkgutil
from dataclasses import replace
from typing import Optional

from pizza_models.recipe import Vocabulary

from .common import Setup, Trainer, registered
from .hyper import PRESET_ALIASES, Hyper, flag, options

__all__ = ["build", "hyper", "trainers"]


def trainers() -> dict[str, Trainer]:
    """Every trainable family, by name (each module of the ``train`` package imported once)."""
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__package__}.{module.name}")
    return registered()


def hyper(family: str, preset: str, image_size: Optional[int] = None, **overrides) -> Hyper:
    """A preset's hyper-parameters for ``family`` with the given (non-None) overrides; an option that
    does not apply to the family is refused with a message naming it."""
    known = trainers()
    if family not in known:
        raise ValueError(f"unknown model family {family!r}; use one of {', '.join(known)}")
    trainer, preset = known[family], PRESET_ALIASES.get(preset, preset)
    if preset not in trainer.presets:
        raise ValueError(f"unknown preset {preset!r} for {family}; use {' or '.join(trainer.presets)}")
    given = {k: v for k, v in dict(overrides, image_size=image_size).items() if v is not None}
    names = {f.name for f in options(trainer.hyper)}
    foreign = [flag(k) for k in given if k not in names]
    if foreign:
        raise ValueError(f"{', '.join(foreign)}: no such option for the {family} family (its options: "
                         f"{', '.join(flag(n) for n in sorted(names))})")
    return replace(trainer.hyper(family=family, preset=preset, **trainer.presets[preset]), **given)


def build(hp: Hyper, vocabulary: Vocabulary, resumed: Optional[dict] = None) -> Setup:
    """Networks and optimizers for ``hp`` (on CPU; the loop moves them). ``resumed``: the config.json
    of the run being resumed, for a family whose networks depend on more than ``hp``."""
    return trainers()[hp.family].build(hp, vocabulary, resumed)
