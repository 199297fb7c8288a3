"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for training GANs on 20 photos.

The same random transforms are applied to real and generated images before the discriminator,
and gradients flow through them to the generator. Every transform draws per-sample parameters.
Images are (B, 3, H, W) in [-1, 1].

Policies (comma-separated): ``color`` (brightness, saturation, contrast), ``translation`` (up to
1/8 of the size, zero-filled), ``cutout`` (a zeroed square of half the size) and ``rotation``
(a random multiple of 90 degrees plus a small tilt: a pizza seen from above has no up).
"""

import math

import torch
import torch.nn.functional as F


def _rand(shape: tuple[int, ...], x: torch.Tensor, generator: "torch.Generator | None") -> torch.Tensor:
    """Uniform [0, 1) draws of ``shape`` on the generator's device, moved to x's device and dtype."""
    device = generator.device if generator is not None else x.device
    return torch.rand(shape, generator=generator, device=device).to(x.device, x.dtype)


def _randint(low: int, high: int, shape: tuple[int, ...], x: torch.Tensor, generator: "torch.Generator | None") -> torch.Tensor:
    device = generator.device if generator is not None else x.device
    return torch.randint(low, high, shape, generator=generator, device=device).to(x.device)


def rand_brightness(x: torch.Tensor, generator: "torch.Generator | None" = None) -> torch.Tensor:
    """Add a per-image offset in [-0.5, 0.5)."""
    return x + (_rand((x.shape[0], 1, 1, 1), x, generator) - 0.5)


def rand_saturation(x: torch.Tensor, generator: "torch.Generator | None" = None) -> torch.Tensor:
    """Scale each pixel's distance from its grey value by a factor in [0, 2)."""
    grey = x.mean(dim=1, keepdim=True)  # (B, 1, H, W)
    return (x - grey) * (_rand((x.shape[0], 1, 1, 1), x, generator) * 2) + grey


def rand_contrast(x: torch.Tensor, generator: "torch.Generator | None" = None) -> torch.Tensor:
    """Scale each image's distance from its mean by a factor in [0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return (x - mean) * (_rand((x.shape[0], 1, 1, 1), x, generator) + 0.5) + mean


def rand_translation(x: torch.Tensor, ratio: float = 0.125, generator: "torch.Generator | None" = None) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in each direction; uncovered pixels are 0."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(-sy, sy + 1, (b, 1, 1), x, generator)
    dx = _randint(-sx, sx + 1, (b, 1, 1), x, generator)
    batch, rows, cols = torch.meshgrid(
        torch.arange(b, device=x.device), torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij"
    )
    # Index into a copy padded by one zero pixel; out-of-range sources clamp onto the padding.
    rows = (rows + dy + 1).clamp(0, h + 1)
    cols = (cols + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # (B, H+2, W+2, C)
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def rand_cutout(x: torch.Tensor, ratio: float = 0.5, generator: "torch.Generator | None" = None) -> torch.Tensor:
    """Zero a square of ``ratio`` of the size at a random centre (it may stick out of the image)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(0, h + (1 - ch % 2), (b, 1, 1), x, generator)
    cx = _randint(0, w + (1 - cw % 2), (b, 1, 1), x, generator)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch) & (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)  # (B, 1, H, W) mask


def rand_rotation(x: torch.Tensor, max_tilt: float = 15.0, generator: "torch.Generator | None" = None) -> torch.Tensor:
    """Rotate each image by k * 90 degrees plus a tilt in [-max_tilt, max_tilt] degrees (bilinear, reflected edges)."""
    b = x.shape[0]
    quarter = _randint(0, 4, (b,), x, generator).to(x.dtype)
    tilt = (_rand((b,), x, generator) * 2 - 1) * max_tilt
    angle = quarter * (math.pi / 2) + tilt * (math.pi / 180)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


AUGMENTS = {
    "color": (rand_brightness, rand_saturation, rand_contrast),
    "translation": (rand_translation,),
    "cutout": (rand_cutout,),
    "rotation": (rand_rotation,),
}


def policy_names(policy: str) -> list[str]:
    """The augmentations a comma-separated policy names, in order; a ValueError names any unknown one."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [name for name in names if name not in AUGMENTS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; use a comma-separated subset of {sorted(AUGMENTS)}")
    return names


def diff_augment(
    x: torch.Tensor, policy: str = "color,translation,cutout", generator: "torch.Generator | None" = None
) -> torch.Tensor:
    """Apply the policy's transforms in order; ``""`` returns ``x`` itself. Differentiable in x."""
    for name in policy_names(policy):
        for transform in AUGMENTS[name]:
            x = transform(x, generator=generator)
    return x
