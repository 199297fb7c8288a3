"""Training the GAN: the article's DCGAN (BCE), or ours (projection D, hinge, EMA), and the options
of the adversarial game the CVAE-GAN shares: DiffAugment, real pizzas with a wrong recipe as fakes,
the mode-seeking term and a frozen teacher classifier.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import torch
from torch import nn

from pizza_models import losses
from pizza_models.augment import diff_augment
from pizza_models.families.gan import Discriminator, GANConfig, Generator
from pizza_models.pipeline import load
from pizza_models.recipe import Vocabulary

from .common import Batch, Setup, Trainer, Update, adam, ema_model, exporter, frozen, presence, register, unwrap
from .hyper import Adversarial, Hyper, Networks

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
JUDGES = ("judge", "judge2")  # the evaluation's classifiers (checkpoints/judge*): they score, they never teach


@dataclass(frozen=True, kw_only=True)
class GANHyper(Adversarial, Networks, Hyper):
    """The GAN's options."""


PRESETS = {
    # The article's DCGAN: batch 16, Adam 1e-3 for G through the stacked model, 1e-4 for D; 50,000 steps.
    "article": dict(image_size=32, networks="article", loss="bce", betas=(0.9, 0.999), batch_size=16, lr=1e-3, lr_d=1e-4),
    # No DiffAugment: kitchen data is unlimited, and without it both GAN families read better to a fresh
    # classifier (CAS) at equal CPU-minutes (docs/gan_study); runs on the 20 photos pass it.
    "modern": dict(batch_size=32, lr=2e-4, lr_d=2e-4, betas=(0.0, 0.99), ema=0.999),
}
ADVERSARIAL = {"bce": (losses.d_bce, losses.g_bce), "hinge": (losses.d_hinge, losses.g_hinge)}  # (D's loss, G's)


def build_gan(hp: GANHyper, vocabulary: Vocabulary, resumed: Optional[dict] = None) -> Setup:
    """Generator, discriminator, their Adams, the generator's EMA and the teacher if any."""
    config = GANConfig.article(hp.image_size, vocabulary) if hp.networks == "article" else GANConfig.modern(
        hp.image_size, vocabulary, g_channels=hp.channels, d_channels=hp.channels, upsample=hp.upsample)
    nets = {"G": Generator(config), "D": Discriminator(config)}
    ema = ema_model(nets["G"], hp.ema)
    return Setup(nets, adam(hp, nets, {"G": hp.lr, "D": hp.lr_d}), gan_step, exporter(nets["G"], ema), ema, nets["G"],
                 frozen=teacher(hp, vocabulary))


def teacher(hp: Adversarial, vocabulary: Vocabulary) -> dict[str, nn.Module]:
    """{"teacher": the frozen classifier of ``hp.teacher``} or {} when there is none; a judge is refused."""
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


def augment(hp: Adversarial, x: torch.Tensor) -> torch.Tensor:
    """DiffAugment of pictures x (B, 3, H, W) where ``hp.diffaugment`` names a policy."""
    return diff_augment(x, hp.diffaugment) if hp.diffaugment else x


def with_wrong_recipes(hp: Adversarial, pictures: list[torch.Tensor], codes: list[torch.Tensor]):
    """The D batch: ``pictures`` (real first) with their ``codes``, plus, when ``hp.wrong_recipe``
    is set, the real pictures again with the batch's recipes rolled by one (another pizza's
    recipe; counted as fake). Returns (images (k B, 3, H, W), codes (k B, C))."""
    if hp.wrong_recipe:
        pictures, codes = pictures + [pictures[0]], codes + [codes[0].roll(1, dims=0)]
    return torch.cat(pictures), torch.cat(codes)


def fake_weights(hp: Adversarial, fakes: int, wrong: int) -> list[float]:
    """D's weight of each fake batch: 1 for drawn pizzas, ``hp.wrong_recipe`` for the ``wrong`` last ones."""
    return [1.0] * (fakes - wrong) + [hp.wrong_recipe] * wrong


def paired_recipes(hp: Adversarial, code: torch.Tensor) -> torch.Tensor:
    """The recipes to draw from prior noise: ``code`` (B, C) itself, or, with the mode-seeking term
    on, its first half twice (then the odd one out), so pictures i and i + B/2 share a recipe."""
    if not hp.mode_seeking:  # the hyper-parameters refuse the term with batches under 2; the loader drops short ones
        return code
    half = code.shape[0] // 2
    return torch.cat([code[:half], code[:half], code[2 * half:]])


def seeking(fake: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The mode-seeking term of pizzas ``fake`` (B, 3, H, W) drawn from ``z`` for ``paired_recipes``:
    the two halves share recipes, not noises."""
    half = fake.shape[0] // 2
    return losses.mode_seeking(fake[:half], fake[half:2 * half], z[:half], z[half:2 * half])


def gan_step(nets: dict, batch: Batch, hp: GANHyper) -> Iterator[Update]:
    """One D update (real against drawn pizzas, and against real ones with a wrong recipe where set),
    then one G update through the frozen D (with the mode-seeking and teacher terms where set)."""
    G, D, (x, code) = nets["G"], nets["D"], batch[:2]
    g, d_loss_of, g_loss_of = unwrap(G), *ADVERSARIAL[hp.loss]
    with torch.no_grad():
        fake = g(g.sample_latent(x.shape[0], device=x.device), code)
    # Real and fake in one D forward: one forward per backward under DistributedDataParallel.
    pictures, codes = with_wrong_recipes(hp, [x, fake], [code, code])
    real_logits, *fake_logits = D(augment(hp, pictures), codes)[0].chunk(len(codes) // len(x))
    d_loss = d_loss_of(real_logits, fake_logits, weights=fake_weights(hp, len(fake_logits), len(fake_logits) - 1))
    yield Update("D", d_loss, {"d_loss": d_loss, "d_real": real_logits.mean(), "d_fake": fake_logits[0].mean()})

    with frozen(unwrap(D)):
        z, code = g.sample_latent(x.shape[0], device=x.device), paired_recipes(hp, code)
        fake = G(z, code)
        g_loss, logs = g_loss_of(unwrap(D)(augment(hp, fake), code)[0]), {}
        if hp.mode_seeking:
            logs["mode_seeking"] = seeking(fake, z)
            g_loss = g_loss + hp.mode_seeking * logs["mode_seeking"]
        if "teacher" in nets:
            logs["teacher"] = losses.multilabel_bce(nets["teacher"](fake), presence(code, len(g.config.vocabulary)))
            g_loss = g_loss + hp.teacher_weight * logs["teacher"]
        yield Update("G", g_loss, {"g_loss": g_loss, **logs})


TRAINER = register(Trainer("gan", GANHyper, PRESETS, build_gan))
