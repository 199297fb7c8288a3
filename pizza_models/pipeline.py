"""Inference: load a checkpoint of any family, draw pizzas for recipes, restyle photos, guess recipes.

Everything is reproducible and free of global state: the latent noise comes from an explicit
``torch.Generator`` seeded by the caller, and models run under ``torch.inference_mode()``.
"""

from pathlib import Path
from typing import Sequence, Union

import torch
from PIL import Image
from torch import nn

from .classifier import IngredientClassifier
from .cvae import CVAE
from .data import to_pil, to_tensor
from .gan import Generator
from .hub import CheckpointError, PizzaModel, read_config
from .recipe import MAX_PORTIONS, Recipe, RecipeLike, encode, from_counts, parse_recipe

FAMILIES: dict[str, type[PizzaModel]] = {"cvae": CVAE, "gan": Generator, "classifier": IngredientClassifier}


def load(model_id: Union[str, Path], device: str = "cpu") -> PizzaModel:
    """A checkpoint (local folder or hub id) as the model of its family, in eval mode on ``device``."""
    family = read_config(model_id)["family"]
    if family not in FAMILIES:
        raise CheckpointError(f"{model_id}: a {family!r} checkpoint; loadable families are {', '.join(FAMILIES)}")
    return FAMILIES[family].from_pretrained(model_id).to(device).eval()


def decode_latents(model: nn.Module, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Images (B, 3, H, W) in [-1, 1] from latents (B, latent_dim) and recipe codes (B, cond_dim),
    whatever the family: a CVAE decodes, a GAN generator generates."""
    if isinstance(model, CVAE):
        return model.decode(z, codes)
    return model(z, codes)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def generate(
    model: Union[CVAE, Generator], recipes: Sequence[RecipeLike], n: int = 1, seed: int = 0, noise: float = 1.0,
) -> list[Image.Image]:
    """``n`` pizzas for each of ``recipes``, recipe by recipe, as PIL images.

    ``noise`` scales the latent sample: 0 gives the model's typical pizza for the recipe, 1 a
    sample from the prior. The same (model, recipes, n, seed, noise) gives the same pictures.
    """
    config = model.config
    parsed = [parse_recipe(r, config.vocabulary) for r in recipes for _ in range(n)]
    codes = torch.stack([encode(r, config.encoding, config.vocabulary) for r in parsed]).to(_device(model))
    z = model.sample_latent(len(parsed), generator=torch.Generator().manual_seed(seed), scale=noise, device="cpu")
    images = decode_latents(model, z.to(codes.device), codes)  # (B, 3, H, W) in [-1, 1]
    return [to_pil(x) for x in images]


@torch.inference_mode()
def restyle(
    model: CVAE, image: Image.Image, source: RecipeLike, target: RecipeLike, seed: int = 0, noise: float = 0.0,
) -> tuple[Image.Image, Image.Image]:
    """Encode ``image`` with its own recipe, decode with another: (reconstruction, restyled).

    ``noise`` 0 decodes the encoder's mean (the faithful reconstruction); larger values sample
    around it with a seeded generator.
    """
    if not isinstance(model, CVAE):
        raise ValueError("restyling needs a model with an encoder (a CVAE or CVAE-GAN checkpoint)")
    config = model.config
    vocabulary, device = config.vocabulary, _device(model)
    x = to_tensor(image, config.image_size)[None].to(device)  # (1, 3, H, W) in [-1, 1]
    source_code = encode(parse_recipe(source, vocabulary), config.encoding, vocabulary)[None].to(device)
    target_code = encode(parse_recipe(target, vocabulary), config.encoding, vocabulary)[None].to(device)
    mu, logvar = model.encode(x, source_code)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed)).to(device)
    z = mu + noise * eps * (0.5 * logvar).exp()
    images = model.decode(torch.cat([z, z]), torch.cat([source_code, target_code]))
    return to_pil(images[0]), to_pil(images[1])


@torch.inference_mode()
def guess_recipe(classifier: IngredientClassifier, image: Image.Image, threshold: float = 0.5) -> Recipe:
    """The ingredients the classifier sees on ``image`` (single portions, at most the 9 likeliest)."""
    config = classifier.config
    x = to_tensor(image, config.image_size)[None].to(_device(classifier))
    probabilities = classifier(x)[0].float().sigmoid()  # (V,)
    likeliest = probabilities.argsort(descending=True)[:MAX_PORTIONS]
    present = torch.zeros_like(probabilities)
    present[likeliest] = (probabilities[likeliest] >= threshold).float()
    return from_counts(present, config.vocabulary)
