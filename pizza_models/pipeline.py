"""Inference: load a checkpoint of any family, draw pizzas for recipes, restyle photos."""

import torch
from torch import nn

from .cvae import CVAE


def decode_latents(model: nn.Module, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Images (B, 3, H, W) in [-1, 1] from latents (B, latent_dim) and recipe codes (B, cond_dim),
    whatever the family: a CVAE decodes, a GAN generator generates."""
    if isinstance(model, CVAE):
        return model.decode(z, codes)
    return model(z, codes)
