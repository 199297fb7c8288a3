"""The layered family's networks: the base decoder (the base VAE's decoder, with its grain), the
decomposer (which layer each pixel shows, the base's latent, the geometry), the layout (the learned
distributions of the geometry, the pieces and the drizzles) and the crust table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from ..compositing import coordinate_maps, moved

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


def unit_blurred(noise: torch.Tensor, sigma: float) -> torch.Tensor:
    """Unit white noise (B, 1, S, S) blurred by a Gaussian of ``sigma`` px, scaled back to unit std."""
    k = 2 * math.ceil(3 * sigma) + 1
    g = torch.exp(-0.5 * (torch.linspace(-(k // 2), k // 2, k) / sigma) ** 2)
    g = g / g.sum()  # torchvision's kernel; a separable blur scales the std of white noise by sum(g^2)
    return gaussian_blur(noise, [k, k], [sigma, sigma]) / float((g**2).sum())


class BaseDecoder(nn.Module):
    """(base latent (B, C, k, k), recipe counts (B, V), geometry (B, 4)) -> base (B, 3, S, S) in [0, 1].

    With ``grain`` (B, 1, S, S) noise, a learned per-pixel amplitude of it is added: the crust's
    specks and the sauce's grain, which no smooth decoder draws (``amplitude`` learns it). With
    ``config.base_blocks``, ``ReachBlock``s of steps ``reach_cell`` times 1, 2, 4, ... (``config.base_reach``) read the same noise first."""

    def __init__(self, config: LayeredConfig):
        super().__init__()
        c, v = config.channels, len(config.ingredients)
        self.size, self.out_size, self.round_crust = config.base_side, config.image_size, config.crust == "round"
        self.fine_blur = config.fine_noise_blur
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
            if noise.shape[-1] != self.size:  # unit white noise stays unit white noise, picked on the base's grid
                noise = F.interpolate(noise, size=(self.size, self.size), mode="nearest")
            # The finest block draws a grid of its cells from white noise; blurred, the same noise draws blotches.
            fine = unit_blurred(noise, self.fine_blur) if self.fine_blur else noise
            for i, block in enumerate(self.reach):
                h = block(h, fine if i == 0 else noise)
        # The grain head reads the trunk's features but never trains them: the smooth base is the
        # trunk's job alone (trained through it, the grain pulls the base away from the picture).
        smooth, amplitude = torch.sigmoid(self.to_rgb(h)), F.softplus(self.to_grain(h.detach()))
        if self.out_size != self.size:  # (B, 3, S, S): a base drawn smaller, under pieces and grain at the full size
            smooth = F.interpolate(smooth, size=(self.out_size, self.out_size), mode="bicubic", align_corners=False).clamp(0, 1)
            amplitude = F.interpolate(amplitude, size=(self.out_size, self.out_size), mode="bilinear", align_corners=False)
            maps = coordinate_maps(geometry, self.out_size).to(maps.dtype)
        if self.round_crust:  # white beyond the geometry's rim, soft over 1.5 px: round whatever the latent
            disc = ((1 - maps[:, :1]) * geometry[:, 2, None, None, None].to(maps.dtype) * self.out_size / 1.5 + 0.5).clamp(0, 1)
            smooth, amplitude = 1 - disc * (1 - smooth), amplitude * disc
        return smooth, amplitude


class Decomposer(nn.Module):
    """Reads a picture: (x (B, 3, S, S) in [-1, 1]) -> which layer each pixel shows, as logits
    (B, 1 + L, S, S) (0 is the base), the base latent's mean and log-variance (B, C, k, k) each,
    and the geometry (B, 4)."""

    def __init__(self, config: LayeredConfig):
        super().__init__()
        c, k = config.channels, config.base_channels
        self.size = config.base_side  # pictures are read at the base's side; the layers come back at theirs
        steps = int(math.log2(config.base_side // config.base_latent_side))
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
        side = x.shape[-1]
        if side != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(skips[-1]))
        h = skips[-1]  # (B, C', k, k)
        mu, logvar = self.to_latent(h).chunk(2, dim=1)
        geometry = self.to_geometry(h.mean(dim=(2, 3)))
        for block, skip in zip(self.up, skips[-2::-1]):
            h = block(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skip], 1))
        logits = self.to_layers(h)  # (B, 1 + L, s, s) -> (B, 1 + L, S, S)
        if side != self.size:
            logits = F.interpolate(logits, size=(side, side), mode="bilinear", align_corners=False)
        return logits, mu, logvar.clamp(-10, 5), geometry


class Layout(nn.Module):
    """Learned distributions of the pizza's geometry and of each topping's pieces.

    - geometry (cx, cy, radius, inner / radius): a diagonal Gaussian;
    - count of pieces: log-normal, its mean and spread predicted from the topping, its portions and
      how many toppings share the pizza (busy pizzas carry fewer pieces of each);
    - piece size over the inner radius: log-normal per topping; shade: normal around 1 per topping;
    - how far out pieces reach, over the inner radius: one number per topping;
    - each drizzle's template: learned frequencies.
    """

    def __init__(self, config: LayeredConfig):
        super().__init__()
        p, s = len(config.pieces), len(config.strokes)
        self.geometry_mean = nn.Parameter(torch.tensor([0.5, 0.5, 0.46, 0.88]))
        self.geometry_log_std = nn.Parameter(torch.full((4,), -4.0))
        self.embed = nn.Embedding(max(p, 1), 16)
        self.count = nn.Sequential(nn.Linear(18, 32), nn.SiLU(), nn.Linear(32, 2))
        self.size = nn.Parameter(torch.tensor([-2.5, -2.0]).repeat(max(p, 1), 1))  # (P, 2): mean, log-std of log size
        self.shade_log_std = nn.Parameter(torch.full((max(p, 1),), -3.0))
        self.reach = nn.Parameter(torch.full((max(p, 1),), 1.5))  # sigmoid -> reach over the inner radius
        self.template_logits = nn.Parameter(torch.zeros(max(s, 1), 2, config.templates))
        if config.variants > 1:  # how often each topping's sprites are used
            self.variant_logits = nn.Parameter(torch.zeros(max(p, 1), config.variants))

    def variant(self, topping: torch.Tensor, noise: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Which sprite pieces (N,) of toppings ``topping`` (N,) are: inverse-CDF sampling at the learned
        frequencies from the normal ``noise`` (N,), offset by the golden ratio per piece index ``k`` (N,) so
        that at noise 0 a topping's pieces still cycle through its sprites."""
        u = torch.special.ndtr(noise.float()) + 0.6180339887 * k.float()
        cdf = self.variant_logits[topping].float().softmax(-1).cumsum(-1)  # (N, V)
        pick = (cdf < (u - u.floor())[:, None]).sum(-1)
        return pick.clamp(max=cdf.shape[-1] - 1)

    def template(self, stroke: torch.Tensor, double: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Which template strokes (N,) of portions ``double`` (N,) are drawn with: the Gumbel-max trick on the
        learned frequencies, its uniforms from the normal ``noise`` (N, templates), so that under the prior
        each template comes at its frequency and at noise 0 the most frequent one."""
        u = torch.special.ndtr(noise.float()).clamp(1e-6, 1 - 1e-6)  # (N, T) uniform under the prior
        return (self.template_logits[stroke, double].float() - (-u.log()).log()).argmax(-1)

    def geometry(self, z: torch.Tensor) -> torch.Tensor:
        """(B, 4) normal noise -> (cx, cy, radius, inner) as fractions of the image side."""
        g = self.geometry_mean + z * self.geometry_log_std.exp()
        radius = g[:, 2].clamp(0.3, 0.49)
        slack = 0.5 - radius  # the pizza stays inside the frame
        cx, cy = (torch.maximum(torch.minimum(g[:, i], 0.5 + slack), 0.5 - slack) for i in (0, 1))
        return torch.stack([cx, cy, radius, radius * g[:, 3].clamp(0.7, 0.98)], 1)

    def count_stats(self, piece: torch.Tensor, portions: torch.Tensor, crowd: torch.Tensor):
        """Mean and std of log(count) for pieces (N,) with portions (N,) on pizzas of ``crowd`` (N,) toppings."""
        h = torch.cat([self.embed(piece), (portions > 1).float()[:, None], crowd.float()[:, None] / 9], 1)
        mean, log_std = self.count(h).unbind(1)
        return mean, log_std.clamp(-5, 1).exp()


def blurred(pictures: torch.Tensor, sigma: float) -> torch.Tensor:
    """Pictures (B, C, H, W) under a Gaussian blur of ``sigma`` px, its kernel 3 sigmas each side."""
    k = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur(pictures, [k, k], [sigma, sigma])


class CrustTable(nn.Module):
    """Crusts laid over the drawn base's rim: (base (B, 3, S, S) in [0, 1], noise (B, 3), geometry (B, 4), counts (B, V))
    -> (B, 3, S, S).

    ``pictures`` (K, 3, S, S) in [0, 1] are pizzas at the model's side, centred, each with its crust's ``radius`` (K,)
    as a fraction of the side (``scripts/crusts.py`` fills them with the photo bank's bases, read as the photos are).
    Each pizza's noise picks one of the crusts ``on`` (the first value), turns it by quarter turns (the second) and
    mirrors it (the third's sign), and moves it onto the geometry's centre by whole pixels: none of it resamples, so a
    crust keeps the pixel statistics of the photos it came from, which no resampled or decoded crust did. It covers
    the picture from ``edge`` of its radius outwards (the plate too), soft over 0.06 of it; inside, the base; a crust of
    ``config.crust_whole`` covers all of it, base and crust both. With ``config.crust_bases`` a pizza picks among the
    crusts whose photo's base (sauces, cheese) agrees with its recipe's in the most of those: a white-sauce pizza a white base;
    a crust laid whole only where the recipe has some of its photo's base (a pizza of toppings alone lays a rim).
    With ``config.crust_detail`` the base inside the crust keeps the decoder's colours at scales above that blur and
    takes its finer detail (cheese grain, sauce specks) from the picked crust's photo, laid as the crust is."""

    def __init__(self, config: LayeredConfig):
        super().__init__()
        k, s = len(config.crusts), config.image_size
        self.edge, self.count, self.detail = config.crust_edge, k, config.crust_detail
        if k:  # a model without crusts holds no weights for them (its checkpoints stay as they were)
            self.register_buffer("pictures", torch.ones(k, 3, s, s))
            self.register_buffer("radius", torch.full((k,), 0.5))
            self.register_buffer("on", torch.ones(k, dtype=torch.bool), persistent=False)  # the crusts a draw may pick
            self.register_buffer("whole", torch.tensor([name in config.crust_whole for name in config.crusts]), persistent=False)
            # What each crust's photo has of the ingredients any of them has as its base: (K, n), from the config.
            named = [i for i in config.ingredients if any(i in b for b in config.crust_bases)]
            self.register_buffer("base_index", torch.tensor([config.ingredients.index(i) for i in named], dtype=torch.long),
                                 persistent=False)
            self.register_buffer("bases", torch.tensor([[i in b for i in named] for b in config.crust_bases], dtype=torch.bool)
                                 .reshape(k if config.crust_bases else 0, len(named)), persistent=False)

    def pick(self, u: torch.Tensor, codes: Optional[torch.Tensor]) -> torch.Tensor:
        """Which crust (B,) for uniform draws ``u`` (B,): the u-quantile of the crusts ``on`` (and of a base like the
        recipe's, with ``crust_bases`` and the recipes' ``codes`` (B, V))."""
        allowed = self.on.expand(len(u), self.count)  # (B, K)
        if len(self.bases) and codes is not None:
            present = (codes[:, self.base_index] > 0)[:, None]  # (B, 1, n)
            agree = (self.bases[None] == present).sum(-1)  # (B, K)
            # A whole base is laid only on a pizza with some of it: bare dough never takes the dessert's pink base.
            agree = agree.masked_fill(self.whole & ~(self.bases[None] & present).any(-1), -1).masked_fill(~self.on, -2)
            allowed = agree == agree.max(1, keepdim=True).values
        n = allowed.sum(1)
        rank = (u * n).long().clamp(max=n - 1)  # (B,): the rank-th allowed crust, from 0
        return ((allowed.cumsum(1) == rank[:, None] + 1) & allowed).long().argmax(1)

    def forward(self, base: torch.Tensor, noise: torch.Tensor, geometry: torch.Tensor,
                codes: Optional[torch.Tensor] = None, rim_only: bool = False) -> torch.Tensor:
        """``rim_only``: a crust of ``whole`` too lays its rim alone (the making's steps before the finished base)."""
        if not self.count:
            return base
        side = base.shape[-1]
        u = torch.special.ndtr(noise.float())  # (B, 3) uniform under the prior
        pick = self.pick(u[:, 0], codes)  # (B,)
        quarter = (u[:, 1] * 4).long().clamp(max=3)
        shift = ((geometry[:, :2].float() - 0.5) * side).round().long().tolist()  # (B, 2) whole pixels: x, y
        yy, xx = torch.meshgrid(torch.arange(side, device=base.device) + 0.5, torch.arange(side, device=base.device) + 0.5, indexing="ij")
        crusts, alphas = [], []
        for b in range(len(base)):
            crust = self.pictures[pick[b]].float().rot90(int(quarter[b]), (1, 2))
            crust = crust.flip(2) if noise[b, 2] < 0 else crust
            dx, dy = shift[b]
            crusts.append(moved(crust, dx, dy))  # white where it moves in: the photos lie on pure white
            rho = torch.hypot(xx - side / 2 - dx, yy - side / 2 - dy) / (self.radius[pick[b]].float() * side)
            alphas.append(((rho - self.edge) / 0.06 + 0.5).clamp(0, 1))  # (S, S)
        crust, alpha = torch.stack(crusts), torch.stack(alphas)[:, None]  # (B, 3, S, S), (B, 1, S, S)
        inside = base.float()
        if self.detail:  # the decoder's colours above the blur's scale (its 2 px checkerboard gone), the photo's finer detail
            inside = (blurred(inside, self.detail) + crust - blurred(crust, self.detail)).clamp(0, 1)
        whole = self.whole[pick][:, None, None, None] & (not rim_only)  # (B, 1, 1, 1): the whole base is the photo's
        return torch.where(whole, crust, inside * (1 - alpha) + crust * alpha).to(base.dtype)

    def keep(self, names: Sequence[str], crusts: Sequence[str]) -> None:
        """Draw only the crusts of these photos (``crusts``: the photo each picture came from, the config's)."""
        if not self.count:
            raise ValueError("this model has no crust table: it draws its base's own crust")
        names = set(names)
        keep = torch.tensor([name in names for name in crusts], dtype=torch.bool, device=self.on.device)
        if not keep.any():
            raise ValueError("none of these photos gave a crust: keep at least one")
        self.on.copy_(keep)
