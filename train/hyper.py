"""Hyper-parameters of a training run: frozen dataclasses whose fields are ``python -m train`` options.

``Hyper`` holds what every family has. Each family's module subclasses it with the options that
apply to that family (its networks', its loss weights) and gives its presets: bundles of values
that code reads field by field, never by the preset's name. The mixins here are option groups two
families share, so that a flag means the same in both.
"""

from dataclasses import Field, dataclass, field, fields
from typing import Optional

from pizza_models.augment import policy_names

PRESET_ALIASES = {"seed": "article"}  # the article's preset's first name, still accepted
FLAGS = {"image_size": "--size"}  # options whose flag is not the field's name


def knob(default, help: str, choices: Optional[tuple] = None):
    """A hyper-parameter field: its default, its ``--help`` text and, where the values are few, the choices."""
    return field(default=default, metadata={"help": help, "choices": choices})


def flag(name: str) -> str:
    """The command-line option of a field: ``--batch-size`` for ``batch_size``, ``--size`` for ``image_size``."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def options(hyper_class: type) -> list[Field]:
    """The fields of a hyper-parameter class that are options: all but ``family`` and ``preset``."""
    return [f for f in fields(hyper_class) if f.name not in ("family", "preset")]


@dataclass(frozen=True, kw_only=True)
class Hyper:
    """What every family's run has: a preset's values, overridden from the command line."""

    family: str
    preset: str
    image_size: int = knob(64, "image size", (32, 64, 96, 128))
    steps: int = knob(3000, "optimizer steps in total")
    batch_size: int = knob(32, "batch size per process")
    lr: float = knob(2e-4, "learning rate of the generator / VAE / classifier / layered model")
    betas: tuple[float, float] = knob((0.9, 0.999), "Adam's two betas")
    channels: int = knob(32, "width of the modern networks")

    def __post_init__(self) -> None:
        for f in options(type(self)):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise ValueError(f"{flag(f.name)} {getattr(self, f.name)!r}: use one of {', '.join(map(str, choices))}")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")


@dataclass(frozen=True, kw_only=True)
class Networks:
    """Which networks (GAN, CVAE, CVAE-GAN): the article's, or ours with their generator's resize."""

    networks: str = knob("modern", "article: the article's networks layer for layer, on its slot code; "
                                   "modern: ours, on ingredient counts", ("article", "modern"))
    upsample: str = knob("nearest", "the modern generator's / decoder's x2 resize before each up-block's convolutions",
                         ("nearest", "bilinear"))


@dataclass(frozen=True, kw_only=True)
class Variational:
    """The VAE's options (CVAE, CVAE-GAN)."""

    kl_weight: float = knob(1.0, "weight of the KL term")
    latent_dim: int = knob(0, "CVAE / CVAE-GAN latent size (0: the networks' own, 512 article, 128 modern)")
    method: int = knob(1, "article CVAE/CVAE-GAN encoder: recipe after the convolutions (1) or as a channel (2)", (1, 2))


@dataclass(frozen=True, kw_only=True)
class Adversarial:
    """The adversarial game's options (GAN, CVAE-GAN)."""

    lr_d: float = knob(2e-4, "learning rate of the discriminator (and the CVAE-GAN's classifier)")
    loss: str = knob("hinge", "adversarial loss of the GAN and CVAE-GAN", ("bce", "hinge"))
    diffaugment: str = knob("", "DiffAugment policy on real and fake pictures in D and G steps ('' for none)")
    wrong_recipe: float = knob(0.0, "weight of real pizzas shown with another pizza's recipe as fakes to the projection D "
                                    "(as MPG; 0: off)")
    mode_seeking: float = knob(0.0, "GAN / CVAE-GAN: weight of the mode-seeking term (MSGAN): half of each batch of drawn "
                                    "pizzas repeats the other half's recipes with other noises, penalised when the pizzas "
                                    "barely differ (0: off)")
    teacher: str = knob("", "GAN / CVAE-GAN: a frozen ingredient classifier (checkpoint folder, never a judge) whose "
                            "loss on generated pizzas trains the generator ('' for none)")
    teacher_weight: float = knob(0.0, "weight of the frozen teacher's recipe loss on generated pizzas")
    ema: float = knob(0.0, "decay of the exported weights' moving average (0 exports the raw weights)")

    def __post_init__(self) -> None:
        super().__post_init__()  # Hyper's, later in every adversarial family's MRO
        try:
            policy_names(self.diffaugment)
        except ValueError as error:
            raise ValueError(f"--diffaugment: {error}") from None
        if self.mode_seeking and self.batch_size < 2:
            raise ValueError(f"--mode-seeking compares pairs of pizzas in a batch: use --batch-size 2 or more, "
                             f"got {self.batch_size}")
