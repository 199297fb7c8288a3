"""Small building blocks shared by the modern networks: conditional batch norm, residual blocks, a patch critic.

The generator's up-blocks follow BigGAN (Brock et al. 2019) without attention; the down-blocks
follow the SNGAN projection discriminator (Miyato & Koyama 2018).
"""

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


UPSAMPLING = ("nearest", "bilinear")  # the generator's x2 resize before each up-block's convolutions


def stages(image_size: int, smallest: int = 4) -> int:
    """Number of factor-2 resolution changes between ``smallest`` and ``image_size`` (64 -> 4)."""
    n = round(math.log2(image_size / smallest))
    if n < 1 or smallest * 2**n != image_size:
        raise ValueError(f"image_size must be {smallest} times a power of two, got {image_size}")
    return n


def down_widths(channels: int, n: int) -> list[int]:
    """Channel widths of an n-stage encoder from RGB: doubling from ``channels`` up to ``8 * channels``
    at the bottom, e.g. (32, 4) -> [3, 32, 64, 128, 256]."""
    return [3] + [max(channels, 8 * channels >> (n - 1 - i)) for i in range(n)]


def maybe_sn(module: nn.Module, use: bool) -> nn.Module:
    """``module`` with spectral normalisation (parametrization API) if ``use``."""
    return spectral_norm(module) if use else module


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose per-channel gain and bias are predicted from a condition embedding.

    The predictors start at zero, so at initialisation this is plain batch norm with gain 1:
    the condition is learned into the normalisation rather than disturbing early training.
    """

    def __init__(self, num_features: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Linear(cond_dim, num_features)
        self.bias = nn.Linear(cond_dim, num_features)
        for linear in (self.gain, self.bias):
            nn.init.zeros_(linear.weight)
            nn.init.zeros_(linear.bias)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        # x (B, C, H, W), e (B, cond_dim) -> (B, C, H, W)
        gain = 1 + self.gain(e)[:, :, None, None]
        bias = self.bias(e)[:, :, None, None]
        return self.bn(x) * gain + bias


class GBlock(nn.Module):
    """Residual up-block: CBN-ReLU-up-conv3x3-CBN-ReLU-conv3x3, plus an upsampled 1x1 shortcut.

    ``upsample`` is the x2 resize before the convolutions: "nearest" (BigGAN's) or "bilinear",
    which hands the convolutions no 2x2 blocks of equal values to turn into a lattice.
    """

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, upsample: str = "nearest"):
        super().__init__()
        if upsample not in UPSAMPLING:
            raise ValueError(f"unknown upsampling {upsample!r}; use one of {UPSAMPLING}")
        self.upsample = upsample
        self.norm1 = ConditionalBatchNorm2d(in_channels, cond_dim)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = ConditionalBatchNorm2d(out_channels, cond_dim)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        # x (B, Cin, H, W), e (B, cond_dim) -> (B, Cout, 2H, 2W)
        h = self.conv2(F.relu(self.norm2(self.conv1(self.up(F.relu(self.norm1(x, e)))), e)))
        return h + self.shortcut(self.up(x))

    def up(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, C, 2H, 2W)
        if self.upsample == "nearest":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class DBlock(nn.Module):
    """Residual down-block: (ReLU)-conv3x3-ReLU-conv3x3-avgpool, plus a 1x1 shortcut.

    ``preactivation=False`` for the first block, which sees the image itself (SNGAN's
    "optimized" block: no ReLU on pixels, pool before the shortcut conv). ``blur`` halves with a
    [1, 3, 3, 1] / 8 filter instead of a 2x2 box, whose gradient is constant over each 2x2 cell (StyleGAN2's
    discriminator blurs likewise)."""

    def __init__(self, in_channels: int, out_channels: int, preactivation: bool = True, sn: bool = True,
                 blur: bool = False):
        super().__init__()
        self.preactivation, self.blur = preactivation, blur
        self.conv1 = maybe_sn(nn.Conv2d(in_channels, out_channels, 3, padding=1), sn)
        self.conv2 = maybe_sn(nn.Conv2d(out_channels, out_channels, 3, padding=1), sn)
        self.shortcut = maybe_sn(nn.Conv2d(in_channels, out_channels, 1), sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, Cin, H, W) -> (B, Cout, H/2, W/2)
        h = F.relu(x) if self.preactivation else x
        h = self.down(self.conv2(F.relu(self.conv1(h))))
        if self.preactivation:
            return h + self.down(self.shortcut(x))
        return h + self.shortcut(self.down(x))

    def down(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H/2, W/2): a 2x2 box, or with ``blur`` the [1, 3, 3, 1] / 8 filter, edges repeated."""
        if not self.blur:
            return F.avg_pool2d(x, 2)
        taps = x.new_tensor([1.0, 3.0, 3.0, 1.0]) / 8
        kernel = (taps[:, None] * taps[None, :]).expand(x.shape[1], 1, 4, 4)  # one 4x4 filter per channel
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, stride=2, groups=x.shape[1])


class PatchCritic(nn.Module):
    """Is a patch real or drawn? (x (B, 3, S, S) in [-1, 1]) -> logits (B, 1, S / 8, S / 8), one per patch
    of about 30 px: the layered model's photo critic judges the look of the crust, sauce, cheese and
    pieces, not the whole pizza, which 20 photos could only teach by heart.

    With ``reads`` (vocabulary indices, the sauces and cheese), it also reads which of them the pizza has,
    as a projection discriminator does: a pizza without tomato sauce is judged against the photos
    without it. Only the base's ingredients: the toppings would name single photos. ``blur``: see ``DBlock``."""

    def __init__(self, channels: int = 32, reads: tuple[int, ...] = (), blur: bool = False):
        super().__init__()
        c = channels
        self.blocks = nn.Sequential(DBlock(3, c, preactivation=False, blur=blur), DBlock(c, 2 * c, blur=blur),
                                    DBlock(2 * c, 4 * c, blur=blur))
        self.out = spectral_norm(nn.Conv2d(4 * c, 1, 1))
        self.register_buffer("reads", torch.tensor(reads, dtype=torch.long), persistent=False)
        self.embed = spectral_norm(nn.Linear(len(reads), 4 * c, bias=False)) if reads else None

    def forward(self, x: torch.Tensor, counts: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = F.relu(self.blocks(x))  # (B, 4c, S / 8, S / 8)
        logits = self.out(h)
        if self.embed is None:
            return logits
        has = (counts[:, self.reads] > 0).to(h.dtype)  # (B, R): which sauces and cheese
        return logits + (self.embed(has)[:, :, None, None] * h).sum(1, keepdim=True)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def latent_noise(
    n: int, dim: int, uniform: bool = False, generator: "torch.Generator | None" = None,
    scale: float = 1.0, device: "torch.device | str | None" = None,
) -> torch.Tensor:
    """(n, dim) noise: standard normal, or uniform in [-1, 1] if ``uniform``, times ``scale``.

    Drawn on the generator's device (so a seeded CPU generator gives the same numbers whatever
    the model's device), then moved to ``device``. ``scale=0`` is the all-zero, "typical" latent.
    """
    source = generator.device if generator is not None else (device or "cpu")
    if uniform:
        z = torch.rand(n, dim, generator=generator, device=source) * 2 - 1
    else:
        z = torch.randn(n, dim, generator=generator, device=source)
    return (z * scale).to(device or source)
