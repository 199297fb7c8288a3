"""How pizzas are put together, for the kitchen and the layered family alike: pieces spread on Vogel's
spiral, sprites laid as pieces, premultiplied layers laid "over" a base.

``over`` and ``vogel_angle`` take numpy arrays (the kitchen) and torch tensors (the layered model);
``shadowed`` is the painted kitchen's, numpy; the rest is differentiable torch, in float32: alpha products underflow in bf16.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

SPRITE_EXTENT = 1.25  # a sprite spans +-1.25 piece half-widths, room for rims and curls
WINDOW_STEP = 4  # splat windows come in widths of 4, 8, 12, ... px: few batches, little wasted area
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))  # Vogel's divergence angle, about 137.5 degrees
SHADOW = (58, 36, 22)  # the colour of the contact shadow under a piece


def vogel_angle(k):
    """The angle (radians) of point ``k`` on Vogel's sunflower spiral: ``k`` golden angles, so that
    successive points never line up (the even spread of a cook's hand). ``k``: numbers, arrays or tensors."""
    return k * GOLDEN_ANGLE


def over(under, colour, alpha):
    """Porter-Duff "over": premultiplied ``colour`` with ``alpha`` laid on ``under``.

    Any layout whose colour and alpha broadcast against ``under``: (S, S, 3) and (S, S, 1) arrays in
    the kitchen, (B, 3, S, S) and (B, 1, S, S) tensors in the layered model.
    """
    return under * (1 - alpha) + colour
def coordinate_maps(geometry: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 4, S, S): distance from the centre over the radius and over the inner radius, and x, y
    offsets over the radius, for geometry (B, 4) = (cx, cy, radius, inner) as fractions of the side."""
    t = (torch.arange(size, device=geometry.device, dtype=torch.float32) + 0.5) / size
    cx, cy, radius, inner = (g[:, None, None] for g in geometry.float().unbind(1))
    dx, dy = t[None, None, :] - cx, t[None, :, None] - cy  # (B, 1, S), (B, S, 1)
    dist = (dx * dx + dy * dy).sqrt()
    return torch.stack([dist / radius, dist / inner, (dx / radius).expand_as(dist), (dy / radius).expand_as(dist)], 1)


def splat(sprites: torch.Tensor, centre: torch.Tensor, size: torch.Tensor, angle: torch.Tensor,
          canvas: torch.Tensor, n_canvases: int, image_size: int) -> torch.Tensor:
    """Lay N sprites onto canvases: (n_canvases, 4, S, S) premultiplied RGBA in [0, 1].

    sprites (N, 4, s, s) straight RGB and alpha in [0, 1]; centre (N, 2) and size (N,) half-width
    in pixels; angle (N,) radians; canvas (N,) which canvas each piece lands on. Each sprite is
    sampled only in a window around its centre, as wide as its own size needs (windows come in
    steps of WINDOW_STEP px, one batch per width), so the cost grows with the pieces' areas, not the
    canvas nor the largest piece. Pieces of one canvas overlap rarely; where they do, alpha combines
    as 1 - prod(1 - a) and colour as the alpha-weighted mean.
    """
    pixels = n_canvases * image_size * image_size
    indices, values = [], []  # per width: (n * W * W,) target pixels and (5, n * W * W) weight, colour (3), log-clearness
    if len(sprites):
        needed = 2 * (SPRITE_EXTENT * math.sqrt(2) * size.detach()).ceil() + 2  # (N,) window sides that hold each turned sprite
        widths = (needed / WINDOW_STEP).ceil().long() * WINDOW_STEP
        for window in widths.unique().tolist():
            pick = (widths == window).nonzero(as_tuple=True)[0]
            index, value = _windows(sprites[pick], centre[pick], size[pick], angle[pick], canvas[pick], window, image_size, pixels)
            indices.append(index)
            values.append(value)
    out = sprites.new_zeros(5, pixels + 1)  # the last column collects pixels outside the frame
    if indices:
        index = torch.cat(indices)
        # One channel at a time: each a contiguous (n * W * W,) sum, no channels-last copy of the windows.
        out = torch.stack([row.index_add(0, index, value) for row, value in zip(out, torch.cat(values, 1))])
    out = out[:, :pixels].view(5, n_canvases, image_size, image_size).transpose(0, 1)
    weight, colour, log_clear = out[:, :1], out[:, 1:4], out[:, 4:]
    alpha = 1 - log_clear.exp()
    return torch.cat([colour * alpha / (weight + 1e-4), alpha], 1)


def _windows(sprites: torch.Tensor, centre: torch.Tensor, size: torch.Tensor, angle: torch.Tensor,
             canvas: torch.Tensor, window: int, image_size: int, outside: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The n sprites sampled in windows of window x window pixels around their centres: each texel's
    flat canvas pixel (n * W * W,) (``outside`` where outside the frame) and its weight, colour
    and log-clearness (5, n * W * W), as ``splat`` sums them."""
    offsets = torch.arange(window, device=sprites.device, dtype=torch.float32)
    origin = centre.detach().floor() - window // 2 + 1  # (n, 2): the window's top-left pixel
    px = origin[:, None, 0] + offsets  # (n, W) pixel columns
    py = origin[:, None, 1] + offsets  # (n, W) pixel rows
    dx = (px + 0.5 - centre[:, :1])[:, None, :]  # (n, 1, W)
    dy = (py + 0.5 - centre[:, 1:])[:, :, None]  # (n, W, 1)
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    scale = (SPRITE_EXTENT * size)[:, None, None]
    u, v = (cos * dx + sin * dy) / scale, (-sin * dx + cos * dy) / scale  # the sprite's own frame
    texels = F.grid_sample(sprites, torch.stack([u, v], -1), align_corners=False)  # (n, 4, W, W)
    alpha = texels[:, 3].clamp(0, 0.999)
    inside = ((px >= 0) & (px < image_size))[:, None, :] & ((py >= 0) & (py < image_size))[:, :, None]
    index = (canvas[:, None, None] * image_size + py[:, :, None].long()) * image_size + px[:, None, :].long()
    index = torch.where(inside, index, outside).flatten()
    values = torch.stack([alpha, *(alpha * texels[:, c] for c in range(3)), torch.log1p(-alpha)]).flatten(1)
    return index, values


def moved(picture: torch.Tensor, dx: int, dy: int, fill: float = 1.0) -> torch.Tensor:
    """A picture (C, S, S) moved by whole pixels (dx right, dy down), ``fill`` where it moved in from beyond the frame:
    no resampling."""
    side, reach = picture.shape[-1], max(abs(dx), abs(dy))
    padded = F.pad(picture, (reach, reach, reach, reach), value=fill)
    return padded[:, reach - dy:reach - dy + side, reach - dx:reach - dx + side]


def shadowed(rgba: np.ndarray, off: int, soft: float = 0.0) -> np.ndarray:
    """A piece (or a layer of pieces) over its contact shadow: (h, w, 4) straight RGBA in [0, 1] -> premultiplied,
    the shadow its own alpha at 0.45 in ``SHADOW``'s colour, fallen ``off`` px down and right (as light from the
    top left casts it on the cheese), its edge blurred by a Gaussian of radius ``soft`` px."""
    alpha = rgba[..., 3:]  # (h, w, 1)
    shadow = np.zeros_like(alpha)
    shadow[off:, off:] = alpha[:-off, :-off] * 0.45
    if soft > 0:
        grey = Image.fromarray(np.round(shadow[..., 0] * 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(soft))
        shadow = np.asarray(grey, np.float32)[..., None] / 255
    return np.concatenate([rgba[..., :3] * alpha + np.float32(SHADOW) / 255 * shadow * (1 - alpha),
                           alpha + shadow * (1 - alpha)], -1)


def lay(base: torch.Tensor, layers: torch.Tensor) -> torch.Tensor:
    """Lay premultiplied layers (B, L, 4, S, S) over a base (B, 3, S, S), bottom to top."""
    picture = base
    for i in range(layers.shape[1]):
        picture = over(picture, layers[:, i, :3], layers[:, i, 3:])
    return picture
