"""What ``python -m train`` can train: the networks and optimizers of each family (its hyper-parameters
per preset are in ``hyper.py``, its step function in ``steps.py``).

- cvae: a conditional VAE (article: the article's method 1 or 2; modern: conv encoder, residual decoder);
- gan: a generator and a discriminator (article: the article's DCGAN; modern: projection D, hinge, EMA);
- cvaegan: Bao et al. 2017: encoder, generator, discriminator and ingredient classifier;
- classifier: a multi-label ingredient classifier (the app's recipe guesser, or the judge);
- layered: a base plus one layer per ingredient (``train/layered.py``).

Each family registers its builder once with ``@register``; ``trainers()`` finds them all.
Optimizers live here, never inside the modules.
"""

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from pizza_models.classifier import ClassifierConfig, IngredientClassifier
from pizza_models.cvae import CVAE, CVAEConfig
from pizza_models.gan import Discriminator, GANConfig, Generator
from pizza_models.hub import PizzaModel, import_all
from pizza_models.pipeline import load
from pizza_models.recipe import Vocabulary

from .hyper import PRESET_ALIASES, PRESETS, Hyper
from .steps import classifier_step, cvae_losses, cvae_step, cvaegan_sequential_step, cvaegan_step, gan_step

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
__all__ = ["PRESETS", "Hyper", "Setup", "build", "hyper", "register", "trainables", "trainers"]


def hyper(family: str, preset: str, image_size: Optional[int] = None, **overrides) -> Hyper:
    """A preset's hyper-parameters with the given (non-None) overrides."""
    known = trainers()
    if family not in known:
        raise ValueError(f"unknown model family {family!r}; use one of {', '.join(known)}")
    preset = PRESET_ALIASES.get(preset, preset)
    if (family, preset) not in PRESETS:
        offered = [p for f, p in PRESETS if f == family]
        raise ValueError(f"unknown preset {preset!r} for {family}; use {' or '.join(offered)}")
    base = Hyper(family=family, preset=preset, **PRESETS[family, preset])
    hp = replace(base, **{k: v for k, v in dict(overrides, image_size=image_size).items() if v is not None})
    for f in fields(Hyper):
        choices = f.metadata.get("choices")
        if choices and getattr(hp, f.name) not in choices:
            raise ValueError(f"{f.name} {getattr(hp, f.name)!r}: use one of {', '.join(map(str, choices))}")
    if hp.steps < 1:
        raise ValueError(f"steps must be at least 1, got {hp.steps}")
    if hp.mode_seeking and hp.batch_size < 2:
        raise ValueError(f"--mode-seeking compares pairs of pizzas in a batch: use --batch-size 2 or more, got {hp.batch_size}")
    return hp


@dataclass
class Setup:
    """Everything a run trains: named modules (saved in the training state), their optimizers, the step."""

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    step: Callable[..., dict[str, float]]
    export: Callable[[], PizzaModel]  # the model a checkpoint folder holds (EMA weights where kept)
    ema: Optional[AveragedModel] = None
    validate: Optional[Callable[..., dict[str, float]]] = None  # (nets, x, code, hp) -> losses, no update
    frozen: dict[str, nn.Module] = field(default_factory=dict)  # called by the step, never trained nor saved


@dataclass(frozen=True)
class Trainer:
    """How to train one family: its builder, and the kitchen data it needs if not plain pictures."""

    build: Callable[[Hyper, Vocabulary], Setup]
    # (hp, vocabulary, n, seed, progress, setup) -> Dataset for --data kitchen; None: cached kitchen renders
    data: Optional[Callable] = None


_TRAINERS: dict[str, Trainer] = {}


def register(family: str, data: Optional[Callable] = None):
    """Decorator: ``build(hp, vocabulary) -> Setup`` trains ``family`` (once per family)."""

    def wrap(build_fn: Callable[[Hyper, Vocabulary], Setup]):
        if family in _TRAINERS:
            raise ValueError(f"the family {family!r} is registered twice")
        _TRAINERS[family] = Trainer(build_fn, data)
        return build_fn

    return wrap


def trainers() -> dict[str, Trainer]:
    """Every trainable family, by name (each module of the ``train`` package is imported once)."""
    import_all(__package__)
    return dict(_TRAINERS)


def build(hp: Hyper, vocabulary: Vocabulary) -> Setup:
    """Networks and optimizers for ``hp`` (on CPU; the loop moves them)."""
    return trainers()[hp.family].build(hp, vocabulary)


@register("classifier")
def build_classifier(hp: Hyper, vocabulary: Vocabulary) -> Setup:
    nets = {"classifier": IngredientClassifier(ClassifierConfig(image_size=hp.image_size, ingredients=vocabulary.ids, channels=hp.channels,
                                                                     arch=hp.arch))}
    return Setup(nets, adam(hp, nets, {"classifier": hp.lr}), classifier_step, lambda: nets["classifier"])


@register("gan")
def build_gan(hp: Hyper, vocabulary: Vocabulary) -> Setup:
    size = hp.image_size
    config = GANConfig.seed(size, vocabulary) if hp.networks == "article" else GANConfig.modern(
        size, vocabulary, g_channels=hp.channels, d_channels=hp.channels, upsample=hp.upsample)
    nets = {"G": Generator(config), "D": Discriminator(config)}
    ema = ema_model(nets["G"], hp.ema)
    return Setup(nets, adam(hp, nets, {"G": hp.lr, "D": hp.lr_d}), gan_step, exporter(nets["G"], ema), ema,
                 frozen=teacher(hp, vocabulary))


JUDGES = ("judge", "judge2")  # the evaluation's classifiers (checkpoints/judge*): they score, they never teach


def teacher(hp: Hyper, vocabulary: Vocabulary) -> dict[str, nn.Module]:
    """{"teacher": the frozen classifier of ``hp.teacher``} or {} when there is none."""
    if not hp.teacher:
        return {}
    folder = Path(hp.teacher)
    if folder.resolve().parent == CHECKPOINTS.resolve() and folder.name in JUDGES:
        raise ValueError(f"--teacher {folder}: a judge of the evaluation must not train the generators it scores; "
                         "train another classifier (its own seed and data) to teach")
    model = load(folder)
    if not model.classifies or model.config.image_size != hp.image_size or model.config.vocabulary != vocabulary:
        raise ValueError(f"--teacher {folder}: needs an ingredient classifier of this run's size ({hp.image_size} px) "
                         "and vocabulary")
    return {"teacher": model.requires_grad_(False).eval()}


def _cvae_config(hp: Hyper, vocabulary: Vocabulary) -> CVAEConfig:
    if hp.networks == "article":
        return CVAEConfig.seed(hp.method, hp.image_size, vocabulary, latent_dim=hp.latent_dim or 512)
    return CVAEConfig.modern(hp.image_size, vocabulary, latent_dim=hp.latent_dim or 128, channels=hp.channels,
                             upsample=hp.upsample)


@register("cvae")
def build_cvae(hp: Hyper, vocabulary: Vocabulary) -> Setup:
    nets = {"vae": CVAE(_cvae_config(hp, vocabulary))}
    return Setup(nets, adam(hp, nets, {"vae": hp.lr}), cvae_step, lambda: nets["vae"], validate=cvae_losses)


@register("cvaegan")
def build_cvaegan(hp: Hyper, vocabulary: Vocabulary) -> Setup:
    size, config = hp.image_size, _cvae_config(hp, vocabulary)
    vae = CVAE(replace(config, training="cvaegan"))
    article = hp.networks == "article"
    critic = GANConfig(arch="seed" if article else "modern", image_size=size, latent_dim=config.latent_dim,
                       encoding=config.encoding, ingredients=vocabulary.ids, g_channels=hp.channels,
                       d_channels=hp.channels, conditional=not article)
    nets = {
        "vae": vae,
        "D": Discriminator(critic),
        "C": IngredientClassifier(ClassifierConfig(image_size=size, ingredients=vocabulary.ids, channels=hp.channels)),
    }
    ema = ema_model(vae, hp.ema)
    vae.decoder.requires_grad_(hp.decoder == "trained")
    if hp.update_order == "sequential":  # the article's four trainers: an optimizer each for encoder and decoder
        if hp.teacher or hp.wrong_recipe or hp.mode_seeking or hp.latent_regression or hp.decoder == "frozen":
            raise ValueError("--teacher, --wrong-recipe, --mode-seeking, --latent-regression and --decoder frozen train the "
                             "joint CVAE-GAN step: use --update-order joint")
        parts = {"encoder": vae.encoder, "decoder": vae.decoder, "D": nets["D"], "C": nets["C"]}
        optimizers = adam(hp, parts, {"encoder": hp.lr, "decoder": hp.lr, "D": hp.lr_d, "C": hp.lr_d})
        return Setup(nets, optimizers, cvaegan_sequential_step, exporter(vae, ema), ema)
    return Setup(nets, adam(hp, nets, {"vae": hp.lr, "D": hp.lr_d, "C": hp.lr_d}), cvaegan_step, exporter(vae, ema), ema,
                 frozen=teacher(hp, vocabulary))


def adam(hp: Hyper, nets: dict[str, nn.Module], lrs: dict[str, float]) -> dict[str, torch.optim.Optimizer]:
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
    # use_buffers: batch-norm statistics are averaged too, so the EMA model is usable as is.
    return AveragedModel(model, multi_avg_fn=ema_with_warmup(decay), use_buffers=True) if decay else None


def exporter(model: PizzaModel, ema: Optional[AveragedModel]) -> Callable[[], PizzaModel]:
    return (lambda: ema.module) if ema is not None else (lambda: model)


class VAEWithPrior(nn.Module):
    """One forward for the CVAE-GAN: reconstructions and prior samples decoded as one batch.

    DistributedDataParallel expects one forward per backward, so both decoder passes of Bao et
    al.'s step go through here. Returns recon, prior, mu, logvar (and, with ``regress``, the
    encoder's mean for the prior samples, (B, latent)); images (B, 3, H, W) in [-1, 1].
    """

    def __init__(self, vae: CVAE, frozen_decoder: bool = False, regress: bool = False):
        super().__init__()
        self.vae = vae
        self.frozen_decoder = frozen_decoder
        self.regress = regress

    def forward(self, x: torch.Tensor, code: torch.Tensor, z_prior: torch.Tensor, prior_code: Optional[torch.Tensor] = None):
        # prior_code (B, C): the prior samples' recipes when they are not x's (the mode-seeking pairs)
        if self.frozen_decoder:  # after the loop's .train(): a frozen decoder draws with its own BatchNorm statistics
            self.vae.decoder.eval()
        mu, logvar = self.vae.encode(x, code)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        prior_code = code if prior_code is None else prior_code
        recon, prior = self.vae.decode(torch.cat([z, z_prior]), torch.cat([code, prior_code])).chunk(2)
        if not self.regress:
            return recon, prior, mu, logvar
        # The encoder reads its own prior samples back (no gradient into the decoder through them).
        mu_prior, _ = self.vae.encode(prior.detach(), prior_code)
        return recon, prior, mu, logvar, mu_prior


def trainables(setup: Setup, hp: Hyper) -> dict[str, nn.Module]:
    """The modules the step function calls (the loop may wrap the trained ones in DistributedDataParallel)."""
    if hp.family == "cvaegan":
        vae = VAEWithPrior(setup.nets["vae"], hp.decoder == "frozen", bool(hp.latent_regression))
        return {"vae": vae, "D": setup.nets["D"], "C": setup.nets["C"], **setup.frozen}
    return {**setup.nets, **setup.frozen}
