"""The layered family's two convolutional networks: the base decoder (the base VAE's decoder, with its
grain) and the decomposer (which layer each pixel shows, the base's latent, the geometry)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..compositing import coordinate_maps

if TYPE_CHECKING:  # the config's module imports this one
    from .layered import LayeredConfig


class FiLM(nn.Module):
    """Per-channel gain and bias from a condition (B, cond) -> applied to (B, C, H, W)."""

    def __init__(self, cond_dim: int, channels: int):
        super().__init__()
        self.linear = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gain, bias = self.linear(cond)[:, :, None, None].chunk(2, dim=1)
        return h * (1 + gain) + bias


class ReachBlock(nn.Module):
    """A residual block at full resolution reading noise (B, 1, S, S) ``step`` pixels wide: texture a few
    to tens of pixels across (cheese blotches, sauce showing through, browning), which neither the
    8 x 8 latent nor the per-pixel grain can draw. Dilated: a 3x3 convolution of dilation ``step``
    (it reads every step-th pixel, and draws that grid); pooled: a 3x3 convolution of the features and
    noise averaged over step x step cells, upsampled smoothly (no grid). Starts as the identity."""

    def __init__(self, channels: int, step: int, pooled: bool = False):
        super().__init__()
        self.step, self.pooled = step, pooled
        self.noise_gain = nn.Parameter(torch.zeros(1, channels, 1, 1))  # per channel, as StyleGAN's noise inputs
        reach = 1 if pooled else step
        self.conv = nn.Conv2d(channels, channels, 3, padding=reach, dilation=reach)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if not self.pooled:
            return h + self.out(F.silu(self.conv(h + self.noise_gain * noise)))
        s = self.step  # the cell's mean of unit noise has std 1 / s: times s, unit again
        coarse = F.avg_pool2d(h, s) + self.noise_gain * F.avg_pool2d(noise, s) * s  # (B, C, S / s, S / s)
        return h + F.interpolate(self.out(F.silu(self.conv(coarse))), scale_factor=s, mode="bilinear", align_corners=False)


class BaseDecoder(nn.Module):
    """(base latent (B, C, k, k), recipe counts (B, V), geometry (B, 4)) -> base (B, 3, S, S) in [0, 1].

    With ``grain`` (B, 1, S, S) noise, a learned per-pixel amplitude of it is added: the crust's
    specks and the sauce's grain, which no smooth decoder draws (``amplitude`` learns it). With
    ``config.base_blocks``, ``ReachBlock``s of steps ``reach_cell`` times 1, 2, 4, ... (``config.base_reach``) read the same noise first."""

    def __init__(self, config: LayeredConfig):
        super().__init__()
        c, v = config.channels, len(config.ingredients)
        self.size, self.round_crust = config.image_size, config.crust == "round"
        self.embed = nn.Sequential(nn.Linear(v, 64), nn.SiLU())
        self.conv_in = nn.Conv2d(4 + config.base_channels, c, 3, padding=1)
        self.convs = nn.ModuleList([nn.Conv2d(c, c, 3, padding=1) for _ in range(2)])
        self.films = nn.ModuleList([FiLM(64, c) for _ in range(3)])
        self.reach = nn.ModuleList([ReachBlock(c, config.reach_cell * 2**i, config.base_reach == "pooled")
                                    for i in range(config.base_blocks)])
        self.to_rgb = nn.Conv2d(c, 3, 1)
        self.to_grain = nn.Conv2d(c, 3, 1)
        nn.init.zeros_(self.to_grain.weight)
        nn.init.constant_(self.to_grain.bias, -4.0)

    def forward(self, latent: torch.Tensor, counts: torch.Tensor, geometry: torch.Tensor,
                grain: Optional[torch.Tensor] = None) -> torch.Tensor:
        smooth, amplitude = self.parts(latent, counts, geometry, grain)
        return smooth if grain is None else (smooth + amplitude * grain).clamp(0, 1)

    def parts(self, latent: torch.Tensor, counts: torch.Tensor, geometry: torch.Tensor,
              noise: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The base before its grain (B, 3, S, S) in [0, 1] and the grain's amplitude (B, 3, S, S);
        ``noise`` (B, 1, S, S) feeds the reach blocks (None: zeros, the mean texture)."""
        e = self.embed(counts)
        maps = coordinate_maps(geometry, self.size).to(latent.dtype)
        up = F.interpolate(latent, size=(self.size, self.size), mode="bilinear", align_corners=False)
        h = F.silu(self.films[0](self.conv_in(torch.cat([maps, up], 1)), e))
        for conv, film in zip(self.convs, self.films[1:]):
            h = F.silu(film(conv(h), e))
        if len(self.reach):
            noise = torch.zeros_like(h[:, :1]) if noise is None else noise.to(h.dtype)
            for block in self.reach:
                h = block(h, noise)
        # The grain head reads the trunk's features but never trains them: the smooth base is the
        # trunk's job alone (trained through it, the grain pulls the base away from the picture).
        smooth, amplitude = torch.sigmoid(self.to_rgb(h)), F.softplus(self.to_grain(h.detach()))
        if self.round_crust:  # white beyond the geometry's rim, soft over 1.5 px: round whatever the latent
            disc = ((1 - maps[:, :1]) * geometry[:, 2, None, None, None].to(maps.dtype) * self.size / 1.5 + 0.5).clamp(0, 1)
            smooth, amplitude = 1 - disc * (1 - smooth), amplitude * disc
        return smooth, amplitude


class Decomposer(nn.Module):
    """Reads a picture: (x (B, 3, S, S) in [-1, 1]) -> which layer each pixel shows, as logits
    (B, 1 + L, S, S) (0 is the base), the base latent's mean and log-variance (B, C, k, k) each,
    and the geometry (B, 4)."""

    def __init__(self, config: LayeredConfig):
        super().__init__()
        c, k = config.channels, config.base_channels
        steps = int(math.log2(config.image_size // config.base_latent_side))
        widths = [c * min(2**i, 4) for i in range(steps + 1)]  # e.g. 16, 32, 64, 64: thin at full resolution
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, padding=1), nn.SiLU())
        self.down = nn.ModuleList([nn.Sequential(nn.Conv2d(a, b, 4, 2, 1), nn.SiLU(), nn.Conv2d(b, b, 3, padding=1), nn.SiLU())
                                   for a, b in zip(widths[:-1], widths[1:])])
        self.up = nn.ModuleList([nn.Sequential(nn.Conv2d(b + a, a, 3, padding=1), nn.SiLU())
                                 for a, b in zip(widths[:-1], widths[1:])][::-1])
        self.to_layers = nn.Conv2d(widths[0], 1 + len(config.layers), 1)
        self.to_latent = nn.Conv2d(widths[-1], 2 * k, 1)
        self.to_geometry = nn.Linear(widths[-1], 4)

    def forward(self, x: torch.Tensor):
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(skips[-1]))
        h = skips[-1]  # (B, C', k, k)
        mu, logvar = self.to_latent(h).chunk(2, dim=1)
        geometry = self.to_geometry(h.mean(dim=(2, 3)))
        for block, skip in zip(self.up, skips[-2::-1]):
            h = block(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skip], 1))
        return self.to_layers(h), mu, logvar.clamp(-10, 5), geometry
