"""What ``python -m train`` can train: the networks of each family, its hyper-parameters per preset,
and one function per training step, each returning a dict of floats.

- cvae: a conditional VAE (article: the article's method 1 or 2; modern: conv encoder, residual decoder);
- gan: a generator and a discriminator (article: the article's DCGAN; modern: projection D, hinge, EMA);
- cvaegan: Bao et al. 2017: encoder, generator, discriminator and ingredient classifier;
- classifier: a multi-label ingredient classifier (the app's recipe guesser, or the judge);
- layered: a base plus one layer per ingredient (``train/layered.py``).

Each family registers its builder once with ``@register``; ``trainers()`` finds them all.
Optimizers live here, never inside the modules.
"""

from dataclasses import dataclass, field, fields, replace
from typing import Callable, Optional

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from pizza_models import losses
from pizza_models.augment import diff_augment
from pizza_models.classifier import ClassifierConfig, IngredientClassifier
from pizza_models.cvae import CVAE, CVAEConfig
from pizza_models.gan import Discriminator, GANConfig, Generator
from pizza_models.hub import PizzaModel, import_all
from pizza_models.recipe import MAX_PORTIONS, Vocabulary


def _knob(default, help: str, choices: Optional[tuple] = None):
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class Hyper:
    """Training hyper-parameters of one run: a preset's values, overridden from the command line.

    Every field but ``family`` and ``preset`` is a ``python -m train`` option of the same name; the
    defaults here are the modern preset's where the families agree, and ``PRESETS`` holds the rest.
    """

    family: str
    preset: str
    image_size: int = _knob(64, "image size", (32, 64, 128))
    steps: int = _knob(3000, "optimizer steps in total")
    batch_size: int = _knob(32, "batch size per process")
    lr: float = _knob(2e-4, "learning rate of the generator / VAE / classifier / layered model")
    lr_d: float = _knob(2e-4, "learning rate of the discriminator (and the CVAE-GAN's classifier)")
    betas: tuple[float, float] = _knob((0.9, 0.999), "Adam's two betas")
    networks: str = _knob("modern", "article: the article's networks layer for layer, on its slot code; "
                                    "modern: ours, on ingredient counts", ("article", "modern"))
    loss: str = _knob("hinge", "adversarial loss of the GAN and CVAE-GAN", ("bce", "hinge"))
    reconstruction: str = _knob("l2", "CVAE pixel loss: the article's summed sigmoid cross entropy, or L2", ("bce", "l2"))
    kl_weight: float = _knob(1.0, "weight of the KL term")
    fm_weight: float = _knob(1.0, "CVAE-GAN: weight of feature matching on D and C features")
    adv_weight: float = _knob(0.0, "CVAE-GAN: weight of the hinge loss on prior samples")
    cls_weight: float = _knob(0.0, "CVAE-GAN: weight of the classifier loss on prior samples (0 turns it off)")
    diffaugment: str = _knob("", "DiffAugment policy on real and fake pictures in D and G steps ('' for none)")
    ema: float = _knob(0.0, "decay of the exported weights' moving average (0 exports the raw weights)")
    method: int = _knob(1, "article CVAE/CVAE-GAN encoder: recipe after the convolutions (1) or as a channel (2)", (1, 2))
    channels: int = _knob(32, "width of the modern networks")
    arch: str = _knob("vgg", "classifier architecture", ("vgg", "resnet"))


ARTICLE = dict(image_size=32, networks="article", loss="bce", reconstruction="bce")
PRESETS: dict[tuple[str, str], dict] = {
    # The article's runs: Keras defaults (Adam 1e-3) for the VAEs; its DCGAN's Adam 1e-4 (D) and 1e-3 (stacked G), batch 16.
    ("cvae", "article"): dict(ARTICLE, batch_size=32, lr=1e-3, lr_d=1e-3, betas=(0.9, 0.999)),
    ("gan", "article"): dict(ARTICLE, batch_size=16, lr=1e-3, lr_d=1e-4, betas=(0.9, 0.999)),
    ("cvaegan", "article"): dict(ARTICLE, batch_size=16, lr=2e-4, lr_d=2e-4, betas=(0.5, 0.999), fm_weight=1.0),
    ("classifier", "article"): dict(ARTICLE, batch_size=64, lr=1e-3, lr_d=1e-3, betas=(0.9, 0.999)),
    # Ours: counts conditioning, spectral norm + projection D, hinge loss, DiffAugment, EMA.
    ("cvae", "modern"): dict(batch_size=32, lr=1e-3, lr_d=1e-3, betas=(0.9, 0.999), kl_weight=1.0),
    ("gan", "modern"): dict(batch_size=32, lr=2e-4, lr_d=2e-4, betas=(0.0, 0.99), diffaugment="color,translation,cutout", ema=0.999),
    ("cvaegan", "modern"): dict(
        batch_size=32, lr=2e-4, lr_d=2e-4, betas=(0.0, 0.99), fm_weight=1.0, adv_weight=0.1, cls_weight=1.0,
        diffaugment="color,translation,cutout", ema=0.999,
    ),
    ("classifier", "modern"): dict(batch_size=64, lr=2e-3, lr_d=2e-3, betas=(0.9, 0.999)),
    # Every part learns from the kitchen's own layers: plain Adam, the KL on the base (a lighter one
    # lets its latent carry the pizza itself and prior samples lose the disc), an EMA.
    ("layered", "modern"): dict(batch_size=32, lr=2e-3, lr_d=2e-3, betas=(0.9, 0.99), kl_weight=1.0, ema=0.995, channels=16),
}
PRESET_ALIASES = {"seed": "article"}  # the article's preset's first name, still accepted


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
    return hp


@dataclass
class Setup:
    """Everything a run trains: named modules (saved in the training state), their optimizers, the step."""

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    step: Callable[..., dict[str, float]]
    export: Callable[[], PizzaModel]  # the model a checkpoint folder holds (EMA weights where kept)
    ema: Optional[AveragedModel] = None


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
        size, vocabulary, g_channels=hp.channels, d_channels=hp.channels)
    nets = {"G": Generator(config), "D": Discriminator(config)}
    ema = ema_model(nets["G"], hp.ema)
    return Setup(nets, adam(hp, nets, {"G": hp.lr, "D": hp.lr_d}), gan_step, exporter(nets["G"], ema), ema)


def _cvae_config(hp: Hyper, vocabulary: Vocabulary) -> CVAEConfig:
    return CVAEConfig.seed(hp.method, hp.image_size, vocabulary) if hp.networks == "article" else CVAEConfig.modern(
        hp.image_size, vocabulary, channels=hp.channels)


@register("cvae")
def build_cvae(hp: Hyper, vocabulary: Vocabulary) -> Setup:
    nets = {"vae": CVAE(_cvae_config(hp, vocabulary))}
    return Setup(nets, adam(hp, nets, {"vae": hp.lr}), cvae_step, lambda: nets["vae"])


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
    return Setup(nets, adam(hp, nets, {"vae": hp.lr, "D": hp.lr_d, "C": hp.lr_d}), cvaegan_step, exporter(vae, ema), ema)


def adam(hp: Hyper, nets: dict[str, nn.Module], lrs: dict[str, float]) -> dict[str, torch.optim.Optimizer]:
    return {name: torch.optim.Adam(nets[name].parameters(), lr=lr, betas=hp.betas) for name, lr in lrs.items()}


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


# --------------------------------------------------------------------------- helpers


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return getattr(module, "module", module)


def presence(code: torch.Tensor, vocabulary_size: int) -> torch.Tensor:
    """(B, V) 0/1 ingredient presence from a counts (B, V) or slot code (B, 9 * (V + 1))."""
    if code.shape[1] == vocabulary_size:
        return (code > 0).float()
    slots = code.view(code.shape[0], MAX_PORTIONS, vocabulary_size + 1)[:, :, :vocabulary_size]
    return (slots.sum(dim=1) > 0).float()


def frozen(*modules: nn.Module):
    """Context manager: no gradients into ``modules`` (a G step through D must not train D)."""

    class _Frozen:
        def __enter__(self):
            for m in modules:
                m.requires_grad_(False)

        def __exit__(self, *exc):
            for m in modules:
                m.requires_grad_(True)

    return _Frozen()


def _augment(hp: Hyper, x: torch.Tensor) -> torch.Tensor:
    return diff_augment(x, hp.diffaugment) if hp.diffaugment else x


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


class VAEWithPrior(nn.Module):
    """One forward for the CVAE-GAN: reconstructions and prior samples decoded as one batch.

    DistributedDataParallel expects one forward per backward, so both decoder passes of Bao et
    al.'s step go through here. Returns recon, prior, mu, logvar; images (B, 3, H, W) in [-1, 1].
    """

    def __init__(self, vae: CVAE):
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor, code: torch.Tensor, z_prior: torch.Tensor):
        mu, logvar = self.vae.encode(x, code)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        recon, prior = self.vae.decode(torch.cat([z, z_prior]), torch.cat([code, code])).chunk(2)
        return recon, prior, mu, logvar


def trainables(setup: Setup, hp: Hyper) -> dict[str, nn.Module]:
    """The modules the step function calls (the loop may wrap each in DistributedDataParallel)."""
    if hp.family == "cvaegan":
        return {"vae": VAEWithPrior(setup.nets["vae"]), "D": setup.nets["D"], "C": setup.nets["C"]}
    return dict(setup.nets)


# --------------------------------------------------------------------------- steps


def classifier_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """Multi-label cross-entropy of the ingredient classifier on one batch."""
    classifier = nets["classifier"]
    target = presence(code, len(unwrap(classifier).config.vocabulary))
    logits = classifier(x)
    loss = losses.multilabel_bce(logits, target)
    update(optimizers["classifier"], loss)
    accuracy = ((logits > 0).float() == target).float().mean()
    return {"loss": loss.item(), "label_accuracy": accuracy.item()}


def cvae_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """ELBO step: the article's summed pixel cross-entropy (as the Keras original) or L2, plus KL."""
    recon, mu, logvar = nets["vae"](x, code)
    rec = losses.reconstruction_bce(recon, x) if hp.reconstruction == "bce" else losses.reconstruction_l2(recon, x)
    kl = losses.kl_divergence(mu, logvar)
    loss = rec + hp.kl_weight * kl
    update(optimizers["vae"], loss)
    return {"loss": loss.item(), "reconstruction": rec.item(), "kl": kl.item()}


def gan_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """One D step and one G step: BCE (the article's DCGAN) or hinge, with DiffAugment where set."""
    G, D = nets["G"], nets["D"]
    g = unwrap(G)
    d_loss_fn, g_loss_fn = (losses.d_bce, losses.g_bce) if hp.loss == "bce" else (losses.d_hinge, losses.g_hinge)

    with torch.no_grad():
        fake = g(g.sample_latent(x.shape[0], device=x.device), code)
    # Real and fake in one D forward: one forward per backward under DistributedDataParallel.
    logits, _ = D(_augment(hp, torch.cat([x, fake])), torch.cat([code, code]))
    real_logits, fake_logits = logits.chunk(2)
    d_loss = d_loss_fn(real_logits, fake_logits)
    update(optimizers["D"], d_loss)

    with frozen(unwrap(D)):
        fake = G(g.sample_latent(x.shape[0], device=x.device), code)
        g_loss = g_loss_fn(unwrap(D)(_augment(hp, fake), code)[0])
        update(optimizers["G"], g_loss)
    if ema is not None:
        ema.update_parameters(g)
    return {
        "d_loss": d_loss.item(), "g_loss": g_loss.item(),
        "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item(),
    }


def cvaegan_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """Bao et al. 2017: train C on real recipes, D on real vs reconstructed vs sampled, then E and G
    with KL, pixel L2, feature matching on D and C features (pairwise for reconstructions, batch
    means for prior samples) and, in the modern preset, a hinge and a classifier term on samples."""
    vae, D, C = nets["vae"], nets["D"], nets["C"]
    d, c = unwrap(D), unwrap(C)
    target = presence(code, len(c.config.vocabulary))
    z_prior = unwrap(vae).vae.sample_latent(x.shape[0], device=x.device)
    recon, prior, mu, logvar = vae(x, code, z_prior)

    c_loss = losses.multilabel_bce(C(x), target)
    update(optimizers["C"], c_loss)

    logits, _ = D(_augment(hp, torch.cat([x, recon.detach(), prior.detach()])), torch.cat([code, code, code]))
    real_logits, recon_logits, prior_logits = logits.chunk(3)
    d_loss = (losses.d_bce if hp.loss == "bce" else losses.d_hinge)(real_logits, [recon_logits, prior_logits])
    update(optimizers["D"], d_loss)

    with frozen(d, c):
        _, d_features = d(torch.cat([x, recon, prior]), torch.cat([code, code, code]))
        d_real, d_recon, d_prior = d_features.chunk(3)
        c_real, c_recon, c_prior = c.features(torch.cat([x, recon, prior])).chunk(3)
        d_real, c_real = d_real.detach(), c_real.detach()
        kl = losses.kl_divergence(mu, logvar)
        pixel = losses.reconstruction_l2(recon, x)
        matching = (
            losses.pairwise_feature_matching(d_real, d_recon) + losses.pairwise_feature_matching(c_real, c_recon)
            + losses.feature_matching(d_real, d_prior) + losses.feature_matching(c_real, c_prior)
        )
        g_loss = hp.kl_weight * kl + pixel + hp.fm_weight * matching
        stats = {}
        if hp.adv_weight:
            adversarial = losses.g_hinge(d(_augment(hp, prior), code)[0])
            g_loss = g_loss + hp.adv_weight * adversarial
            stats["adversarial"] = adversarial.item()
        if hp.cls_weight:
            recipe_loss = losses.multilabel_bce(c(prior), target)
            g_loss = g_loss + hp.cls_weight * recipe_loss
            stats["recipe"] = recipe_loss.item()
        update(optimizers["vae"], g_loss)
    if ema is not None:
        ema.update_parameters(unwrap(vae).vae)
    return {
        "g_loss": g_loss.item(), "d_loss": d_loss.item(), "c_loss": c_loss.item(),
        "kl": kl.item(), "pixel": pixel.item(), "matching": matching.item(), **stats,
    }
