"""One function per training step, each returning a dict of floats, and the helpers they share.

A step gets the (possibly DistributedDataParallel-wrapped) networks, their optimizers, one batch
(x (B, 3, H, W) in [-1, 1], recipe codes (B, C)) and the run's ``Hyper``.
"""

from typing import Optional

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from pizza_models import losses
from pizza_models.augment import diff_augment
from pizza_models.recipe import MAX_PORTIONS

from .hyper import Hyper


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


def classifier_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """Multi-label cross-entropy of the ingredient classifier on one batch."""
    classifier = nets["classifier"]
    target = presence(code, len(unwrap(classifier).config.vocabulary))
    logits = classifier(x)
    loss = losses.multilabel_bce(logits, target)
    update(optimizers["classifier"], loss)
    accuracy = ((logits > 0).float() == target).float().mean()
    return {"loss": loss.item(), "label_accuracy": accuracy.item()}


RECONSTRUCTION = {"signed_bce": losses.reconstruction_signed_bce, "bce": losses.reconstruction_bce, "l2": losses.reconstruction_l2}


def _cvae_loss(vae, x, code, hp: Hyper) -> tuple[torch.Tensor, dict[str, float]]:
    recon, mu, logvar = vae(x, code)
    rec = RECONSTRUCTION[hp.reconstruction](recon, x)
    kl = losses.kl_divergence(mu, logvar)
    loss = rec + hp.kl_weight * kl
    # article_loss: the same loss in the article's units (its Keras logs), to set beside its figures
    return loss, {"loss": loss.item(), "reconstruction": rec.item(), "kl": kl.item(),
                  "article_loss": losses.article_units(loss, x).item()}


def cvae_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """ELBO step: a summed pixel cross-entropy (the article's, or on [0, 1] images) or L2, plus KL."""
    loss, stats = _cvae_loss(nets["vae"], x, code, hp)
    update(optimizers["vae"], loss)
    return stats


@torch.no_grad()
def cvae_losses(nets, x, code, hp: Hyper) -> dict[str, float]:
    """The CVAE step's losses on held-out pictures, without an update (a fresh posterior sample)."""
    return _cvae_loss(nets["vae"], x, code, hp)[1]


def paired_recipes(hp: Hyper, code: torch.Tensor) -> torch.Tensor:
    """The recipes to draw from prior noise: ``code`` (B, C) itself, or, with the mode-seeking term
    on, its first half twice (then the odd one out), so pictures i and i + B/2 share a recipe."""
    if not hp.mode_seeking:  # hyper() refuses the term with batches under 2; the loader drops short ones
        return code
    half = code.shape[0] // 2
    return torch.cat([code[:half], code[:half], code[2 * half:]])


def _mode_seeking(fake: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    # fake (B, 3, H, W) drawn for paired_recipes: the two halves share recipes, not noises
    half = fake.shape[0] // 2
    return losses.mode_seeking(fake[:half], fake[half:2 * half], z[:half], z[half:2 * half])


def gan_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """One D step and one G step: BCE (the article's DCGAN) or hinge, with DiffAugment where set, and
    the mode-seeking term on pairs of the G batch where ``hp.mode_seeking`` is set."""
    G, D = nets["G"], nets["D"]
    g = unwrap(G)
    d_loss_fn, g_loss_fn = (losses.d_bce, losses.g_bce) if hp.loss == "bce" else (losses.d_hinge, losses.g_hinge)

    with torch.no_grad():
        fake = g(g.sample_latent(x.shape[0], device=x.device), code)
    # Real and fake in one D forward: one forward per backward under DistributedDataParallel.
    pictures, codes = with_wrong_recipes(hp, [x, fake], [code, code])
    logits, _ = D(_augment(hp, pictures), codes)
    real_logits, *fake_logits = logits.chunk(len(codes) // len(x))
    d_loss = d_loss_fn(real_logits, fake_logits, weights=[1.0] + [hp.wrong_recipe] * (len(fake_logits) - 1))
    update(optimizers["D"], d_loss)

    stats = {}
    with frozen(unwrap(D)):
        z = g.sample_latent(x.shape[0], device=x.device)
        code = paired_recipes(hp, code)
        fake = G(z, code)
        g_loss = g_loss_fn(unwrap(D)(_augment(hp, fake), code)[0])
        if hp.mode_seeking:
            seeking = _mode_seeking(fake, z)
            g_loss = g_loss + hp.mode_seeking * seeking
            stats["mode_seeking"] = seeking.item()
        if "teacher" in nets:
            taught = losses.multilabel_bce(nets["teacher"](fake), presence(code, len(g.config.vocabulary)))
            g_loss = g_loss + hp.teacher_weight * taught
            stats["teacher"] = taught.item()
        update(optimizers["G"], g_loss)
    if ema is not None:
        ema.update_parameters(g)
    return {
        "d_loss": d_loss.item(), "g_loss": g_loss.item(),
        "d_real": real_logits.mean().item(), "d_fake": fake_logits[0].mean().item(), **stats,
    }


def with_wrong_recipes(hp: Hyper, pictures: list[torch.Tensor], codes: list[torch.Tensor]):
    """The D batch: ``pictures`` (real first) with their ``codes``, plus, when ``hp.wrong_recipe``
    is set, the real pictures again with the batch's recipes rolled by one (another pizza's
    recipe; counted as fake). Returns (images (k B, 3, H, W), codes (k B, C))."""
    if hp.wrong_recipe:
        pictures, codes = pictures + [pictures[0]], codes + [codes[0].roll(1, dims=0)]
    return torch.cat(pictures), torch.cat(codes)


def _matching(d: nn.Module, c: nn.Module, x, recon, prior, code, prior_code) -> torch.Tensor:
    """Feature matching on D and C features: pairwise for reconstructions, batch means for prior samples."""
    _, d_features = d(torch.cat([x, recon, prior]), torch.cat([code, code, prior_code]))
    d_real, d_recon, d_prior = d_features.chunk(3)
    c_real, c_recon, c_prior = c.features(torch.cat([x, recon, prior])).chunk(3)
    d_real, c_real = d_real.detach(), c_real.detach()
    return (losses.pairwise_feature_matching(d_real, d_recon) + losses.pairwise_feature_matching(c_real, c_recon)
            + losses.feature_matching(d_real, d_prior) + losses.feature_matching(c_real, c_prior))


def cvaegan_sequential_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """The article's CVAE-GAN step: Bao et al.'s four updates in its order, each network after the
    last has moved, every loss a per-element mean as its Keras layers compute them:

    - encoder: pixel MSE + MSE of D's and C's features of x and its reconstruction + KL (per dimension);
    - decoder: the same without KL, plus matching the batch-mean features of prior samples to x's;
    - classifier: multi-label BCE on real recipes; discriminator: BCE, real vs reconstructed vs sampled.
    """
    vae, D, C = unwrap(nets["vae"]).vae, unwrap(nets["D"]), unwrap(nets["C"])
    target = presence(code, len(C.config.vocabulary))
    z_prior = vae.sample_latent(x.shape[0], device=x.device)
    stats = {}
    with frozen(D, C):
        for part in ("encoder", "decoder"):
            recon, prior, mu, logvar = nets["vae"](x, code, z_prior)
            d_real, d_recon, d_prior = D(torch.cat([x, recon, prior]), torch.cat([code, code, code]))[1].chunk(3)
            c_real, c_recon, c_prior = C.features(torch.cat([x, recon, prior])).chunk(3)
            d_real, c_real = d_real.detach(), c_real.detach()
            kl = losses.kl_divergence(mu, logvar) / mu.shape[1]
            pixel = losses.mean_squared(x, recon)
            paired = losses.mean_squared(d_real, d_recon) + losses.mean_squared(c_real, c_recon)
            matching = losses.mean_feature_matching(d_real, d_prior) + losses.mean_feature_matching(c_real, c_prior)
            loss = pixel + hp.fm_weight * paired + (hp.kl_weight * kl if part == "encoder" else hp.fm_weight * matching)
            update(optimizers[part], loss)
            stats[f"{part}_loss"] = loss.item()
    c_loss = losses.multilabel_bce(nets["C"](x), target)
    update(optimizers["C"], c_loss)
    with torch.no_grad():
        recon, prior, _, _ = nets["vae"](x, code, z_prior)
    logits, _ = nets["D"](_augment(hp, torch.cat([x, recon, prior])), torch.cat([code, code, code]))
    real_logits, recon_logits, prior_logits = logits.chunk(3)
    d_loss = (losses.d_bce if hp.loss == "bce" else losses.d_hinge)(real_logits, [recon_logits, prior_logits])
    update(optimizers["D"], d_loss)
    if ema is not None:
        ema.update_parameters(vae)
    return {**stats, "d_loss": d_loss.item(), "c_loss": c_loss.item(), "kl": kl.item(), "pixel": pixel.item(),
            "paired": paired.item(), "matching": matching.item()}


def cvaegan_step(nets, optimizers, x, code, hp: Hyper, ema: Optional[AveragedModel] = None) -> dict[str, float]:
    """Bao et al. 2017: train C on real recipes, D on real vs reconstructed vs sampled, then E and G
    with KL, pixel L2, feature matching on D and C features (pairwise for reconstructions, batch
    means for prior samples) and, in the modern preset, a hinge and a classifier term on samples
    (and the mode-seeking term on pairs of them where ``hp.mode_seeking`` is set, and the encoder's
    latent regression on them where ``hp.latent_regression`` is)."""
    vae, D, C = nets["vae"], nets["D"], nets["C"]
    d, c = unwrap(D), unwrap(C)
    target = presence(code, len(c.config.vocabulary))
    z_prior = unwrap(vae).vae.sample_latent(x.shape[0], device=x.device)
    prior_code = paired_recipes(hp, code)
    recon, prior, mu, logvar, *mu_prior = vae(x, code, z_prior, prior_code)  # mu_prior: with latent regression

    c_loss = losses.multilabel_bce(C(x), target)
    update(optimizers["C"], c_loss)

    pictures, codes = with_wrong_recipes(hp, [x, recon.detach(), prior.detach()], [code, code, prior_code])
    logits, _ = D(_augment(hp, pictures), codes)
    real_logits, *fake_logits = logits.chunk(len(codes) // len(x))
    d_loss = (losses.d_bce if hp.loss == "bce" else losses.d_hinge)(real_logits, fake_logits,
                                                                     weights=[1.0, 1.0] + [hp.wrong_recipe] * (len(fake_logits) - 2))
    update(optimizers["D"], d_loss)

    with frozen(d, c):
        kl = losses.kl_divergence(mu, logvar)
        pixel = losses.reconstruction_l2(recon, x)
        matching = _matching(d, c, x, recon, prior, code, prior_code)
        g_loss = hp.kl_weight * kl + pixel + hp.fm_weight * matching
        prior_target = presence(prior_code, len(c.config.vocabulary))
        stats = {}
        if hp.adv_weight:
            adversarial = losses.g_hinge(d(_augment(hp, prior), prior_code)[0])
            g_loss = g_loss + hp.adv_weight * adversarial
            stats["adversarial"] = adversarial.item()
        if hp.cls_weight:
            recipe_loss = losses.multilabel_bce(c(prior), prior_target)
            g_loss = g_loss + hp.cls_weight * recipe_loss
            stats["recipe"] = recipe_loss.item()
        if hp.mode_seeking:
            seeking = _mode_seeking(prior, z_prior)
            g_loss = g_loss + hp.mode_seeking * seeking
            stats["mode_seeking"] = seeking.item()
        if mu_prior:
            regression = losses.latent_regression(mu_prior[0], z_prior)
            g_loss = g_loss + hp.latent_regression * regression
            stats["latent_regression"] = regression.item()
        if "teacher" in nets:
            taught = losses.multilabel_bce(nets["teacher"](prior), prior_target)
            g_loss = g_loss + hp.teacher_weight * taught
            stats["teacher"] = taught.item()
        update(optimizers["vae"], g_loss)
    if ema is not None:
        ema.update_parameters(unwrap(vae).vae)
    return {
        "g_loss": g_loss.item(), "d_loss": d_loss.item(), "c_loss": c_loss.item(),
        "kl": kl.item(), "pixel": pixel.item(), "matching": matching.item(), **stats,
    }
