"""Training the CVAE-GAN (Bao et al. 2017): encoder, decoder, discriminator and ingredient classifier.

The article's order (``--update-order sequential``): encoder, decoder, classifier, discriminator,
each update seeing the last, every loss a per-element mean as its Keras layers compute them. Ours
(``joint``): classifier, discriminator, then encoder and decoder as one, with the decoder's
adversarial and recipe terms on prior samples. Its decoder may start as a trained GAN's generator
(``--init``) and stay frozen while the encoder learns to invert it.
"""

from dataclasses import dataclass, replace
from typing import Iterator, Optional

import torch
from torch import nn

from pizza_models import losses
from pizza_models.families.classifier import ClassifierConfig, IngredientClassifier
from pizza_models.families.cvae import CVAE, CVAEGAN
from pizza_models.families.gan import Discriminator, GANConfig
from pizza_models.recipe import Vocabulary

from .common import Batch, Setup, Trainer, Update, adam, ema_model, exporter, frozen, presence, register, unwrap
from .cvae import cvae_config
from .gan import ADVERSARIAL, augment, fake_weights, paired_recipes, seeking, teacher, with_wrong_recipes
from .hyper import Adversarial, Hyper, Networks, Variational, knob


@dataclass(frozen=True, kw_only=True)
class CVAEGANHyper(Adversarial, Variational, Networks, Hyper):
    """The CVAE-GAN's options: the GAN's and the CVAE's, and its own loss weights and training order."""

    fm_weight: float = knob(1.0, "CVAE-GAN: weight of feature matching on D and C features")
    adv_weight: float = knob(0.0, "CVAE-GAN: weight of the hinge loss on prior samples")
    cls_weight: float = knob(0.0, "CVAE-GAN: weight of the classifier loss on prior samples (0 turns it off)")
    decoder: str = knob("trained", "CVAE-GAN decoder: trained with the rest, or frozen as --init gave it (its BatchNorm "
                                   "statistics too) while the encoder learns to invert it", ("trained", "frozen"))
    latent_regression: float = knob(0.0, "CVAE-GAN: weight of the encoder's error in finding the noise of its own "
                                         "prior samples (teaches it the decoder's latent space; 0: off)")
    update_order: str = knob("joint", "CVAE-GAN updates: classifier, discriminator, then encoder and decoder as one (joint), "
                                      "or encoder, decoder, classifier, discriminator, each seeing the last (sequential, "
                                      "the article)", ("joint", "sequential"))

    def __post_init__(self) -> None:
        super().__post_init__()
        joint_only = self.teacher or self.wrong_recipe or self.mode_seeking or self.latent_regression or self.decoder == "frozen"
        if self.update_order == "sequential" and joint_only:
            raise ValueError("--teacher, --wrong-recipe, --mode-seeking, --latent-regression and --decoder frozen train the "
                             "joint CVAE-GAN step: use --update-order joint")


PRESETS = {
    # The article's: batch 20, Adam 1e-3 for all four networks, trained one after another; 1,700 steps.
    "article": dict(image_size=32, networks="article", loss="bce", betas=(0.9, 0.999), batch_size=20, lr=1e-3, lr_d=1e-3,
                    fm_weight=1.0, update_order="sequential"),
    "modern": dict(batch_size=32, lr=2e-4, lr_d=2e-4, betas=(0.0, 0.99), fm_weight=1.0, adv_weight=0.1, cls_weight=1.0,
                   ema=0.999),
}


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


def build_cvaegan(hp: CVAEGANHyper, vocabulary: Vocabulary, resumed: Optional[dict] = None) -> Setup:
    """The CVAE-GAN's four networks, their optimizers (one per network in the article's order), its EMA."""
    config = replace(cvae_config(hp, vocabulary), family="cvaegan", training="cvaegan")
    vae, article = CVAEGAN(config), hp.networks == "article"
    critic = GANConfig(arch="article" if article else "modern", image_size=hp.image_size, latent_dim=config.latent_dim,
                       encoding=config.encoding, ingredients=vocabulary.ids, g_channels=hp.channels,
                       d_channels=hp.channels, conditional=not article)
    classifier = ClassifierConfig(image_size=hp.image_size, ingredients=vocabulary.ids, channels=hp.channels)
    nets = {"vae": vae, "D": Discriminator(critic), "C": IngredientClassifier(classifier)}
    ema = ema_model(vae, hp.ema)
    vae.decoder.requires_grad_(hp.decoder == "trained")
    calls = {"vae": VAEWithPrior(vae, hp.decoder == "frozen", bool(hp.latent_regression)), "D": nets["D"], "C": nets["C"]}
    if hp.update_order == "sequential":  # the article's four trainers: an optimizer each for encoder and decoder
        parts = {"encoder": vae.encoder, "decoder": vae.decoder, "D": nets["D"], "C": nets["C"]}
        optimizers = adam(hp, parts, {"encoder": hp.lr, "decoder": hp.lr, "D": hp.lr_d, "C": hp.lr_d})
        return Setup(nets, optimizers, cvaegan_sequential_step, exporter(vae, ema), ema, vae, calls=calls)
    taught = teacher(hp, vocabulary)
    optimizers = adam(hp, nets, {"vae": hp.lr, "D": hp.lr_d, "C": hp.lr_d})
    return Setup(nets, optimizers, cvaegan_step, exporter(vae, ema), ema, vae, frozen=taught, calls={**calls, **taught})


def matching(d: nn.Module, c: nn.Module, x, recon, prior, code, prior_code) -> torch.Tensor:
    """Feature matching on D and C features: pairwise for reconstructions, batch means for prior samples."""
    _, d_features = d(torch.cat([x, recon, prior]), torch.cat([code, code, prior_code]))
    d_real, d_recon, d_prior = d_features.chunk(3)
    c_real, c_recon, c_prior = c.features(torch.cat([x, recon, prior])).chunk(3)
    d_real, c_real = d_real.detach(), c_real.detach()
    return (losses.pairwise_feature_matching(d_real, d_recon) + losses.pairwise_feature_matching(c_real, c_recon)
            + losses.feature_matching(d_real, d_prior) + losses.feature_matching(c_real, c_prior))


def cvaegan_step(nets: dict, batch: Batch, hp: CVAEGANHyper) -> Iterator[Update]:
    """Bao et al. 2017: C on real recipes, D on real vs reconstructed vs sampled, then encoder and
    decoder as one (``vae_loss``), all from one forward of the VAE."""
    vae, D, C, (x, code) = nets["vae"], nets["D"], nets["C"], batch[:2]
    d, c = unwrap(D), unwrap(C)
    z_prior = unwrap(vae).vae.sample_latent(x.shape[0], device=x.device)
    prior_code = paired_recipes(hp, code)
    recon, prior, mu, logvar, *mu_prior = vae(x, code, z_prior, prior_code)  # mu_prior: with latent regression

    c_loss = losses.multilabel_bce(C(x), presence(code, len(c.config.vocabulary)))
    yield Update("C", c_loss, {"c_loss": c_loss})

    pictures, codes = with_wrong_recipes(hp, [x, recon.detach(), prior.detach()], [code, code, prior_code])
    real_logits, *fake_logits = D(augment(hp, pictures), codes)[0].chunk(len(codes) // len(x))
    d_loss = ADVERSARIAL[hp.loss][0](real_logits, fake_logits, weights=fake_weights(hp, len(fake_logits), len(fake_logits) - 2))
    yield Update("D", d_loss, {"d_loss": d_loss})

    with frozen(d, c):
        g_loss, logs = vae_loss(nets, hp, x, code, recon, prior, mu, logvar, z_prior, prior_code, mu_prior)
        yield Update("vae", g_loss, {"g_loss": g_loss, **logs})


def vae_loss(nets: dict, hp: CVAEGANHyper, x, code, recon, prior, mu, logvar, z_prior, prior_code, mu_prior):
    """The encoder's and decoder's loss: KL, pixel L2 and feature matching on D and C features, and
    where their weights are set, a hinge and a classifier term on prior samples, the mode-seeking
    term on pairs of them, the encoder's latent regression on them and a frozen teacher's recipe loss.
    Returns (loss, its terms)."""
    d, c = unwrap(nets["D"]), unwrap(nets["C"])
    prior_target = presence(prior_code, len(c.config.vocabulary))
    logs = {"kl": losses.kl_divergence(mu, logvar), "pixel": losses.reconstruction_l2(recon, x),
            "matching": matching(d, c, x, recon, prior, code, prior_code)}
    loss = hp.kl_weight * logs["kl"] + logs["pixel"] + hp.fm_weight * logs["matching"]
    if hp.adv_weight:
        logs["adversarial"] = losses.g_hinge(d(augment(hp, prior), prior_code)[0])
        loss = loss + hp.adv_weight * logs["adversarial"]
    if hp.cls_weight:
        logs["recipe"] = losses.multilabel_bce(c(prior), prior_target)
        loss = loss + hp.cls_weight * logs["recipe"]
    if hp.mode_seeking:
        logs["mode_seeking"] = seeking(prior, z_prior)
        loss = loss + hp.mode_seeking * logs["mode_seeking"]
    if mu_prior:
        logs["latent_regression"] = losses.latent_regression(mu_prior[0], z_prior)
        loss = loss + hp.latent_regression * logs["latent_regression"]
    if "teacher" in nets:
        logs["teacher"] = losses.multilabel_bce(nets["teacher"](prior), prior_target)
        loss = loss + hp.teacher_weight * logs["teacher"]
    return loss, logs


def cvaegan_sequential_step(nets: dict, batch: Batch, hp: CVAEGANHyper) -> Iterator[Update]:
    """The article's CVAE-GAN step: Bao et al.'s four updates in its order, each network after the
    last has moved, every loss a per-element mean as its Keras layers compute them:

    - encoder: pixel MSE + MSE of D's and C's features of x and its reconstruction + KL (per dimension);
    - decoder: the same without KL, plus matching the batch-mean features of prior samples to x's;
    - classifier: multi-label BCE on real recipes; discriminator: BCE, real vs reconstructed vs sampled.
    """
    vae, D, C, (x, code) = unwrap(nets["vae"]).vae, unwrap(nets["D"]), unwrap(nets["C"]), batch[:2]
    z_prior, codes = vae.sample_latent(x.shape[0], device=x.device), torch.cat([code, code, code])
    with frozen(D, C):
        for part in ("encoder", "decoder"):
            recon, prior, mu, logvar = nets["vae"](x, code, z_prior)
            d_real, d_recon, d_prior = D(torch.cat([x, recon, prior]), codes)[1].chunk(3)
            c_real, c_recon, c_prior = C.features(torch.cat([x, recon, prior])).chunk(3)
            d_real, c_real = d_real.detach(), c_real.detach()
            logs = {"kl": losses.kl_divergence(mu, logvar) / mu.shape[1], "pixel": losses.mean_squared(x, recon),
                    "paired": losses.mean_squared(d_real, d_recon) + losses.mean_squared(c_real, c_recon),
                    "matching": losses.mean_feature_matching(d_real, d_prior) + losses.mean_feature_matching(c_real, c_prior)}
            last = hp.kl_weight * logs["kl"] if part == "encoder" else hp.fm_weight * logs["matching"]
            loss = logs["pixel"] + hp.fm_weight * logs["paired"] + last
            yield Update(part, loss, {f"{part}_loss": loss, **logs})
    c_loss = losses.multilabel_bce(nets["C"](x), presence(code, len(C.config.vocabulary)))
    yield Update("C", c_loss, {"c_loss": c_loss})
    with torch.no_grad():
        recon, prior, _, _ = nets["vae"](x, code, z_prior)
    real_logits, recon_logits, prior_logits = nets["D"](augment(hp, torch.cat([x, recon, prior])), codes)[0].chunk(3)
    d_loss = ADVERSARIAL[hp.loss][0](real_logits, [recon_logits, prior_logits])
    yield Update("D", d_loss, {"d_loss": d_loss})


TRAINER = register(Trainer("cvaegan", CVAEGANHyper, PRESETS, build_cvaegan))
