"""The hyper-parameters of a training run, and each preset's values: bundles that code reads field by field."""

from dataclasses import dataclass, field
from typing import Optional


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
    reconstruction: str = _knob("l2", "CVAE pixel loss: summed sigmoid cross entropy against the image in [-1, 1] as the "
                                      "article (signed_bce), against it in [0, 1] (bce), or L2", ("signed_bce", "bce", "l2"))
    kl_weight: float = _knob(1.0, "weight of the KL term")
    fm_weight: float = _knob(1.0, "CVAE-GAN: weight of feature matching on D and C features")
    adv_weight: float = _knob(0.0, "CVAE-GAN: weight of the hinge loss on prior samples")
    cls_weight: float = _knob(0.0, "CVAE-GAN: weight of the classifier loss on prior samples (0 turns it off)")
    diffaugment: str = _knob("", "DiffAugment policy on real and fake pictures in D and G steps ('' for none)")
    wrong_recipe: float = _knob(0.0, "weight of real pizzas shown with another pizza's recipe as fakes to the projection D "
                                     "(as MPG; 0: off)")
    mode_seeking: float = _knob(0.0, "GAN / CVAE-GAN: weight of the mode-seeking term (MSGAN): half of each batch of drawn "
                                     "pizzas repeats the other half's recipes with other noises, penalised when the pizzas "
                                     "barely differ (0: off)")
    teacher: str = _knob("", "GAN / CVAE-GAN: a frozen ingredient classifier (checkpoint folder, never a judge) whose "
                             "loss on generated pizzas trains the generator ('' for none)")
    teacher_weight: float = _knob(0.0, "weight of the frozen teacher's recipe loss on generated pizzas")
    ema: float = _knob(0.0, "decay of the exported weights' moving average (0 exports the raw weights)")
    latent_dim: int = _knob(0, "CVAE / CVAE-GAN latent size (0: the networks' own, 512 article, 128 modern)")
    decoder: str = _knob("trained", "CVAE-GAN decoder: trained with the rest, or frozen as --init gave it (its BatchNorm "
                                    "statistics too) while the encoder learns to invert it", ("trained", "frozen"))
    latent_regression: float = _knob(0.0, "CVAE-GAN: weight of the encoder's error in finding the noise of its own "
                                          "prior samples (teaches it the decoder's latent space; 0: off)")
    update_order: str = _knob("joint", "CVAE-GAN updates: classifier, discriminator, then encoder and decoder as one (joint), "
                                       "or encoder, decoder, classifier, discriminator, each seeing the last (sequential, the article)",
                              ("joint", "sequential"))
    val_fraction: float = _knob(0.0, "hold out this fraction of the data; its loss is logged after every epoch (CVAE)")
    patience: int = _knob(0, "stop after this many epochs without a better validation loss (0: never)")
    method: int = _knob(1, "article CVAE/CVAE-GAN encoder: recipe after the convolutions (1) or as a channel (2)", (1, 2))
    channels: int = _knob(32, "width of the modern networks")
    upsample: str = _knob("nearest", "the modern generator's / decoder's x2 resize before each up-block's convolutions",
                          ("nearest", "bilinear"))
    arch: str = _knob("vgg", "classifier architecture", ("vgg", "resnet"))
    kitchen: str = _knob("clipart", "layered: the kitchen its pizzas come from, clip-art or painted with the menu photos",
                         ("clipart", "painted"))
    variants: int = _knob(1, "layered: sprites per topping (pieces that differ; the painted kitchen has up to 8 real ones)")


ARTICLE = dict(image_size=32, networks="article", loss="bce", reconstruction="signed_bce", betas=(0.9, 0.999))
PRESETS: dict[tuple[str, str], dict] = {
    # The article's runs (its published scripts): Keras' Adam (1e-3, betas 0.9/0.999) unless it says otherwise.
    # CVAE: batch 32, early stopping with patience 3 on a 90/10 split; the article trains 40 epochs.
    ("cvae", "article"): dict(ARTICLE, batch_size=32, lr=1e-3, lr_d=1e-3, val_fraction=0.1, patience=3),
    # DCGAN: batch 16, Adam 1e-3 for G through the stacked model, 1e-4 for D; the article trains 50,000 steps.
    ("gan", "article"): dict(ARTICLE, batch_size=16, lr=1e-3, lr_d=1e-4),
    # CVAE-GAN: batch 20, Adam 1e-3 for all four networks, trained one after another; 1,700 steps.
    ("cvaegan", "article"): dict(ARTICLE, batch_size=20, lr=1e-3, lr_d=1e-3, fm_weight=1.0, update_order="sequential"),
    ("classifier", "article"): dict(ARTICLE, batch_size=64, lr=1e-3, lr_d=1e-3),
    # Ours: counts conditioning, spectral norm + projection D, hinge loss, EMA. No DiffAugment: kitchen
    # data is unlimited, and without it both GAN families read better to a fresh classifier (CAS) at
    # equal CPU-minutes (docs/gan_study); runs on the 20 photos pass --diffaugment color,translation,cutout.
    ("cvae", "modern"): dict(batch_size=32, lr=1e-3, lr_d=1e-3, betas=(0.9, 0.999), kl_weight=1.0),
    ("gan", "modern"): dict(batch_size=32, lr=2e-4, lr_d=2e-4, betas=(0.0, 0.99), ema=0.999),
    ("cvaegan", "modern"): dict(
        batch_size=32, lr=2e-4, lr_d=2e-4, betas=(0.0, 0.99), fm_weight=1.0, adv_weight=0.1, cls_weight=1.0, ema=0.999,
    ),
    ("classifier", "modern"): dict(batch_size=64, lr=2e-3, lr_d=2e-3, betas=(0.9, 0.999)),
    # Every part learns from the kitchen's own layers: plain Adam, the KL on the base (a lighter one
    # lets its latent carry the pizza itself and prior samples lose the disc), an EMA.
    ("layered", "modern"): dict(batch_size=32, lr=2e-3, lr_d=2e-3, betas=(0.9, 0.99), kl_weight=1.0, ema=0.995, channels=16),
}
PRESET_ALIASES = {"seed": "article"}  # the article's preset's first name, still accepted
