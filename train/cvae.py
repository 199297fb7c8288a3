"""Training the conditional VAE: the article's method 1 or 2 on its slot code, or ours on counts.

The loss is the ELBO: a summed pixel loss (the article's sigmoid cross-entropy against the image
in [-1, 1], against it in [0, 1], or L2) plus the KL term. The article's runs hold out 10% of the
data and stop after 3 epochs without a better validation loss.
"""

from dataclasses import dataclass
from typing import Iterator, Optional

import torch

from pizza_models import losses
from pizza_models.families.cvae import CVAE, CVAEConfig
from pizza_models.recipe import Vocabulary

from .common import Batch, Setup, Trainer, Update, adam, register
from .hyper import Hyper, Networks, Variational, knob


@dataclass(frozen=True, kw_only=True)
class CVAEHyper(Variational, Networks, Hyper):
    """The CVAE's options."""

    reconstruction: str = knob("l2", "CVAE pixel loss: summed sigmoid cross entropy against the image in [-1, 1] as the "
                                     "article (signed_bce), against it in [0, 1] (bce), or L2", ("signed_bce", "bce", "l2"))
    val_fraction: float = knob(0.0, "hold out this fraction of the data; its loss is logged after every epoch (CVAE)")
    patience: int = knob(0, "stop after this many epochs without a better validation loss (0: never)")


ARTICLE = dict(image_size=32, networks="article", reconstruction="signed_bce", betas=(0.9, 0.999))
PRESETS = {
    # The article's: Keras' Adam 1e-3, batch 32, early stopping with patience 3 on a 90/10 split; 40 epochs.
    "article": dict(ARTICLE, batch_size=32, lr=1e-3, val_fraction=0.1, patience=3),
    "modern": dict(batch_size=32, lr=1e-3, betas=(0.9, 0.999), kl_weight=1.0),
}
RECONSTRUCTION = {"signed_bce": losses.reconstruction_signed_bce, "bce": losses.reconstruction_bce, "l2": losses.reconstruction_l2}


def cvae_config(hp: Hyper, vocabulary: Vocabulary) -> CVAEConfig:
    """The CVAE's shape for ``hp``: the article's method on the slot code, or ours on counts."""
    if hp.networks == "article":
        return CVAEConfig.article(hp.method, hp.image_size, vocabulary, latent_dim=hp.latent_dim or 512)
    return CVAEConfig.modern(hp.image_size, vocabulary, latent_dim=hp.latent_dim or 128, channels=hp.channels,
                             upsample=hp.upsample)


def build_cvae(hp: CVAEHyper, vocabulary: Vocabulary, resumed: Optional[dict] = None) -> Setup:
    """The CVAE, its Adam, and its validation loss."""
    nets = {"vae": CVAE(cvae_config(hp, vocabulary))}
    return Setup(nets, adam(hp, nets, {"vae": hp.lr}), cvae_step, lambda: nets["vae"], validate=cvae_losses)


def elbo(vae, batch: Batch, hp: CVAEHyper) -> tuple[torch.Tensor, dict]:
    """The negative ELBO through one posterior sample, and its terms."""
    recon, mu, logvar = vae(batch.x, batch.code)
    rec = RECONSTRUCTION[hp.reconstruction](recon, batch.x)
    kl = losses.kl_divergence(mu, logvar)
    loss = rec + hp.kl_weight * kl
    # article_loss: the same loss in the article's units (its Keras logs), to set beside its figures
    return loss, {"loss": loss, "reconstruction": rec, "kl": kl, "article_loss": losses.article_units(loss, batch.x)}


def cvae_step(nets: dict, batch: Batch, hp: CVAEHyper) -> Iterator[Update]:
    """One ELBO step."""
    loss, logs = elbo(nets["vae"], batch, hp)
    yield Update("vae", loss, logs)


@torch.no_grad()
def cvae_losses(nets: dict, batch: Batch, hp: CVAEHyper) -> dict[str, float]:
    """The step's losses on held-out pictures, without an update (a fresh posterior sample)."""
    return {k: v.item() for k, v in elbo(nets["vae"], batch, hp)[1].items()}


TRAINER = register(Trainer("cvae", CVAEHyper, PRESETS, build_cvae))
