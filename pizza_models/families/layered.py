"""The layered pizza: a learned base plus one layer per ingredient, laid on in a fixed order.

A pizza is made the way a cook makes one, and the way PizzaGAN (Papadopoulos et al., CVPR 2019)
models it: a base (crust, sauce, cheese), then each topping spread as many small pieces, then the
drizzles. Every part is a small learned model:

- base: a conditional VAE with an 8 x 8 spatial latent, decoding (sauces, cheese, geometry, latent) into the base;
- pieces: one learned RGBA sprite per topping, warped to each piece's centre, size and angle;
- layout: how many pieces, how large, how far out and how shaded, as small learned distributions
  per topping; pieces are spread on Vogel's sunflower spiral (the even spread of a cook's hand),
  turned and jittered by the noise;
- strokes: each drizzle as a few learned RGBA templates in the pizza's own frame (one per way the
  data draws it, e.g. its number of zig-zag passes), sampled at their learned frequencies, turned with the noise;
- decomposer: a small U-Net that reads which layer each pixel of a picture shows, and the base's
  latent, so that restyling adds or removes exactly one layer.

An absent ingredient adds nothing, so a combination never seen in training is composed from parts
the model knows. The latent slider scales every random choice: at 0 the typical layout (most
likely counts and sizes, an untilted spiral), at 1 a sample. Pictures are unlit: the kitchen's
light pass (a gain of a few percent) is not modelled.
"""

import math
from dataclasses import dataclass
from typing import NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..compositing import over, splat, vogel_angle
from .layered_nets import BaseDecoder, CrustTable, Decomposer, Layout
from ..hub import PizzaModel
from .blocks import latent_noise
from ..recipe import DEFAULT_VOCABULARY, DRIZZLE, RecipeConditioned

PIECE_NOISE = 5  # per piece: spiral angle jitter, radius jitter, rotation, size, shade
STROKE_NOISE_EXTRA = 1  # per stroke: rotation, then one value per template


@dataclass(frozen=True)
class LayeredConfig(RecipeConditioned):
    """Shape of a layered model; its config.json. ``pieces`` and ``strokes`` list ingredient ids in
    drawing order (bottom to top); every other ingredient of the vocabulary only shapes the base."""

    family: str = "layered"
    image_size: int = 64
    encoding: str = "counts"
    ingredients: tuple[str, ...] = DEFAULT_VOCABULARY.ids
    pieces: tuple[str, ...] = ()
    strokes: tuple[str, ...] = ()
    sprite_size: int = 16
    max_pieces: int = 256
    base_channels: int = 4
    base_latent_side: int = 8  # the base latent is a (base_channels, side, side) map
    channels: int = 32
    templates: int = 4
    variants: int = 1  # sprites per topping: pieces that differ, picked at learned frequencies
    crust: str = "learned"  # "round": the base is cut by its geometry's disc (the photos' crusts are round)
    base_blocks: int = 0  # residual blocks reading noise in the base decoder: wider texture than the grain
    base_reach: str = "dilated"  # how those blocks reach: "dilated" 3x3 convolutions, or "pooled" ones upsampled (no grid)
    reach_cell: int = 2  # the first block's dilation or cell, px; each next doubles (3 at 96 px: the cells of 2 at 64)
    fine_noise_blur: float = 0.0  # sigma (px) of a Gaussian blur of the finest reach block's noise (0: white noise)
    base_size: int = 0  # the side the base is drawn and pictures are read at, then upsampled to image_size (0: image_size)
    piece_grain: bool = False  # pieces carry the grain too, at a learned amplitude per topping (a photo's pieces have texture)
    base_drizzles: bool = False  # the base reads the drizzles too (a kitchen's base never does: a critic can tint it by them);
    # a sauce drawn as strokes as well (condensed milk) is read either way, as a kitchen's base reads it
    crusts: tuple[str, ...] = ()  # the photos whose crusts the crust table holds, laid over the base's rim (none: the base's own)
    crust_edge: float = 0.86  # where a laid crust begins, as a share of its radius (the photos' crust begins at 0.84)
    crust_bases: tuple[tuple[str, ...], ...] = ()  # per crust, the sauces and cheese of its photo (a pizza picks a crust of its base)
    crust_whole: tuple[str, ...] = ()  # the crusts laid whole where picked: the photo's base and crust, the base not drawn
    crust_detail: float = 0.0  # inside a laid crust, detail finer than a Gaussian of this sigma (px) is its photo's (0: the decoder's)

    def __post_init__(self) -> None:
        self._check_recipe_fields()
        object.__setattr__(self, "pieces", tuple(self.pieces))
        object.__setattr__(self, "strokes", tuple(self.strokes))
        object.__setattr__(self, "crusts", tuple(self.crusts))
        object.__setattr__(self, "crust_bases", tuple(tuple(b) for b in self.crust_bases))
        object.__setattr__(self, "crust_whole", tuple(self.crust_whole))
        reach_ok = self.base_blocks >= 0 and self.base_reach in ("dilated", "pooled") and self.reach_cell >= 1
        if self.variants < 1 or self.crust not in ("learned", "round") or not reach_ok or not 0 <= self.base_size <= self.image_size:
            raise ValueError(f"variants >= 1, crust learned|round, base_blocks >= 0, base_reach dilated|pooled, reach_cell >= 1, "
                             f"base_size in [0, image_size]: {self.variants}, {self.crust!r}, {self.base_blocks}, "
                             f"{self.base_reach!r}, {self.reach_cell}, {self.base_size}")
        widest = self.reach_cell * 2 ** max(self.base_blocks - 1, 0)
        if self.base_reach == "pooled" and self.base_blocks and self.base_side % widest:
            raise ValueError(f"pooled reach cells up to {widest} px must tile the base's side {self.base_side}")
        if self.crusts and not 0 < self.crust_edge < 1:
            raise ValueError(f"crust_edge is a share of the crust's radius, in (0, 1): {self.crust_edge}")
        if self.fine_noise_blur < 0:
            raise ValueError(f"fine_noise_blur is a blur's sigma in px, 0 or more: {self.fine_noise_blur}")
        if self.crust_detail < 0 or (self.crust_detail and not self.crusts):
            raise ValueError(f"crust_detail is a blur's sigma in px, 0 or more, and needs a crust table: {self.crust_detail}")
        if not set(self.crust_whole) <= set(self.crusts):
            raise ValueError(f"crust_whole names crusts the table does not hold: {sorted(set(self.crust_whole) - set(self.crusts))}")
        if self.crust_bases and len(self.crust_bases) != len(self.crusts):
            raise ValueError(f"crust_bases names the base of each of the {len(self.crusts)} crusts: {len(self.crust_bases)} given")
        if self.encoding != "counts":
            raise ValueError("a layered model reads ingredient counts (encoding 'counts')")
        unknown = [i for i in self.pieces + self.strokes + sum(self.crust_bases, ()) if i not in self.ingredients]
        if unknown:
            raise ValueError(f"pieces/strokes/crust_bases name ingredients outside the vocabulary: {unknown}")
        steps = math.log2(self.base_side / self.base_latent_side)
        if steps < 1 or steps != int(steps):
            raise ValueError(f"the base's side must be base_latent_side ({self.base_latent_side}) times a power of two: {self.base_side}")

    @property
    def base_side(self) -> int:
        """The side the base decoder draws and the decomposer reads at (a base of 64 px under pieces of 96 px)."""
        return self.base_size or self.image_size

    @property
    def layers(self) -> tuple[str, ...]:
        """Every ingredient with a layer of its own, bottom to top."""
        return self.pieces + self.strokes

    @property
    def piece_noise(self) -> int:
        """Noise values per piece: PIECE_NOISE, and one that picks its sprite where there are several."""
        return PIECE_NOISE + (self.variants > 1)

    @property
    def latent_dim(self) -> int:
        base = 4 + self.base_channels * self.base_latent_side**2 + self.image_size**2  # geometry, base map, grain
        layers = len(self.pieces) * (2 + self.piece_noise * self.max_pieces) + len(self.strokes) * (1 + self.templates)
        return base + layers + 3 * bool(self.crusts)  # crusts: which, its quarter turns, mirrored or not


class Latent(NamedTuple):
    """The parts of a flat latent (B, latent_dim); all standard normal under the prior."""

    geometry: torch.Tensor  # (B, 4)
    base: torch.Tensor  # (B, C, k, k), k = base_latent_side
    spread: torch.Tensor  # (B, P, 2): spiral turn, count
    pieces: torch.Tensor  # (B, P, max_pieces, piece_noise)
    strokes: torch.Tensor  # (B, S, 1 + templates): turn, template choice
    grain: torch.Tensor  # (B, 1, H, W): the base's pixel-scale texture
    crust: torch.Tensor  # (B, 3) with a crust table, else (B, 0): which crust, its turn, its mirror


def split_latent(z: torch.Tensor, config: LayeredConfig) -> Latent:
    """View a flat latent (B, latent_dim) as its named parts."""
    b, p, s, m = z.shape[0], len(config.pieces), len(config.strokes), config.max_pieces
    side, k = config.image_size, config.base_latent_side
    sizes = [4, config.base_channels * k * k, p * 2, p * m * config.piece_noise, s * (1 + config.templates), side * side,
             3 * bool(config.crusts)]
    geometry, base, spread, pieces, strokes, grain, crust = z.split(sizes, dim=1)
    return Latent(geometry, base.reshape(b, config.base_channels, k, k), spread.reshape(b, p, 2),
                  pieces.reshape(b, p, m, config.piece_noise), strokes.reshape(b, s, 1 + config.templates),
                  grain.reshape(b, 1, side, side), crust)


class LayeredPizza(PizzaModel):
    """Base + pieces + strokes: ``draw(z, counts)`` composes a pizza; ``restyle`` adds and removes layers."""

    family = "layered"
    draws = True
    encodes = True

    def __init__(self, config: LayeredConfig):
        super().__init__()
        s = config.sprite_size
        self.base = BaseDecoder(config)
        self.decomposer = Decomposer(config)
        self.layout = Layout(config)
        self.crust = CrustTable(config)
        # Logits of RGBA; pictures start transparent, so an untrained part covers nothing.
        self.sprites = nn.Parameter(  # (P * variants, 4, s, s): topping t's sprites are rows t * variants ...
            torch.zeros(max(len(config.pieces), 1) * config.variants, 4, s, s).index_fill_(1, torch.tensor([3]), -3.0))
        if config.piece_grain:  # softplus(-4) = 0.018: pieces start as smooth as their sprites
            self.piece_grain = nn.Parameter(torch.full((max(len(config.pieces), 1), 3), -4.0))
        side = config.image_size
        self.templates = nn.Parameter(
            torch.zeros(max(len(config.strokes), 1), 2, config.templates, 4, side, side).index_fill_(3, torch.tensor([3]), -5.0))
        ids = list(config.ingredients)
        self.register_buffer("piece_index", torch.tensor([ids.index(i) for i in config.pieces], dtype=torch.long), persistent=False)
        kinds = {ingredient.id: ingredient.kind for ingredient in config.vocabulary}
        drizzles = () if config.base_drizzles else tuple(i for i in config.strokes if kinds[i] == DRIZZLE)
        unread = config.pieces + drizzles  # what the base never depends on
        self.register_buffer("unread_index", torch.tensor([ids.index(i) for i in unread], dtype=torch.long), persistent=False)
        self.register_buffer("stroke_index", torch.tensor([ids.index(i) for i in config.strokes], dtype=torch.long), persistent=False)
        self.register_buffer("layer_index", torch.tensor([ids.index(i) for i in config.layers], dtype=torch.long), persistent=False)

    # ---------------------------------------------------------------------------- the prior

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None, scale: float = 1.0,
                      device: "torch.device | str | None" = None) -> torch.Tensor:
        """(n, latent_dim) standard normal draws times ``scale`` (0: the typical pizza)."""
        device = device or self.sprites.device
        return latent_noise(n, self.config.latent_dim, False, generator, scale, device)

    def tables(self) -> list[nn.Parameter]:
        """The parameters that are pictures or statistics themselves (sprites, templates, layout),
        not network weights: they take larger optimizer steps."""
        return [self.sprites, self.templates, *self.layout.parameters()] + ([self.piece_grain] if self.config.piece_grain else [])

    def base_counts(self, codes: torch.Tensor) -> torch.Tensor:
        """Counts (B, V) with the toppings drawn as pieces (and the drizzles, unless ``config.base_drizzles``) zeroed: the
        base never depends on them, as a kitchen's base does not; the sauces stay, condensed milk's strokes or not."""
        return codes.index_fill(1, self.unread_index, 0.0) if len(self.unread_index) else codes

    def keep_crusts(self, photos: Sequence[str]) -> "LayeredPizza":
        """Draw only the crusts of these photos (file stems, as ``config.crusts``): a model as if its crust table had
        been built from them alone, so that it can be judged on the other photos. Returns the model."""
        self.crust.keep(photos, self.config.crusts)
        return self

    def sprite_rgba(self) -> torch.Tensor:
        """(P, 4, s, s) straight RGB and alpha in [0, 1]."""
        return torch.sigmoid(self.sprites.float())

    # ---------------------------------------------------------------------------- drawing

    def draw(self, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Pizzas (B, 3, S, S) in [-1, 1] from latents (B, latent_dim) and counts (B, V)."""
        with torch.autocast(z.device.type, enabled=False):
            z, codes = z.float(), codes.float()
            latent = split_latent(z, self.config)
            geometry = self.layout.geometry(latent.geometry)
            picture = self.crust(self.base(latent.base, self.base_counts(codes), geometry, latent.grain), latent.crust, geometry, codes)
            # Only the layers a recipe has are drawn and laid, slot by slot, bottom to top.
            # The strokes' slots count on from the pieces': pieces, then strokes, each slot ascending, is the drawing order.
            for layers, pizza, slot in (self.present_pieces(latent, codes, geometry), self.present_strokes(latent, codes, geometry)):
                for s in slot.unique().tolist():
                    on = (slot == s).nonzero(as_tuple=True)[0]
                    picture[pizza[on]] = over(picture[pizza[on]], layers[on, :3], layers[on, 3:])
            return picture * 2 - 1

    def draw_parts(self, z: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The base (B, 3, S, S) in [0, 1] and every layer (B, L, 4, S, S) premultiplied, bottom to top."""
        latent = split_latent(z, self.config)
        geometry = self.layout.geometry(latent.geometry)
        base = self.crust(self.base(latent.base, self.base_counts(codes), geometry, latent.grain), latent.crust, geometry, codes)
        return base, torch.cat([self.draw_pieces(latent, codes, geometry), self.draw_strokes(latent, codes, geometry)], 1)

    def piece_layout(self, latent: Latent, codes: torch.Tensor, geometry: torch.Tensor):
        """Where every piece of every present topping goes: centre (N, 2) and size (N,) as fractions
        of the side, angle (N,), shade (N,), canvas (N,) = pizza * P + topping, topping (N,)."""
        config, layout = self.config, self.layout
        b, p, m = codes.shape[0], len(config.pieces), config.max_pieces
        portions = codes[:, self.piece_index]  # (B, P)
        crowd = (portions > 0).sum(1, keepdim=True).expand(b, p)
        topping = torch.arange(p, device=codes.device).expand(b, p)
        mean, std = layout.count_stats(topping.reshape(-1), portions.reshape(-1), crowd.reshape(-1))
        count = (mean + std * latent.spread[..., 1].reshape(-1)).exp().round().clamp(1, m).view(b, p)
        count = torch.where(portions > 0, count, torch.zeros_like(count))
        present = torch.arange(m, device=codes.device) < count[..., None]  # (B, P, M)
        # Only the pieces laid are computed: one (pizza, topping, index) triple per piece, in (B, P, M) order.
        pizza, topping, k = present.nonzero(as_tuple=True)  # (N,) each
        kf, noise, inner = k.float(), latent.pieces[pizza, topping, k], geometry[pizza, 3]  # noise (N, piece_noise)
        log_size = layout.size[topping, 0] + layout.size[topping, 1].exp() * noise[:, 3]
        size = inner * log_size.exp()
        reach = torch.sigmoid(layout.reach[topping]) * inner
        u = (0.5 + 0.3 * noise[:, 1]).clamp(0.02, 0.98)
        rho = ((kf + u) / count[pizza, topping].clamp(min=1)).clamp(max=1).sqrt() * reach
        # Each topping's spiral starts at its own angle, so that at noise 0 no two toppings stack.
        start = math.pi / math.sqrt(2) * topping.float()
        phi = math.pi * latent.spread[pizza, topping, 0] + start + vogel_angle(kf) + 0.25 * noise[:, 0]
        centre = torch.stack([geometry[pizza, 0] + rho * phi.cos(), geometry[pizza, 1] + rho * phi.sin()], -1)
        angle = math.pi * noise[:, 2] + 2.4 * kf
        shade = 1 + layout.shade_log_std[topping].exp() * noise[:, 4]
        sprite = topping * config.variants + layout.variant(topping, noise[:, 5], kf) if config.variants > 1 else topping
        return centre, size, angle, shade, pizza * p + topping, sprite

    @torch.autocast("cpu", enabled=False)
    @torch.autocast("cuda", enabled=False)
    def render_pieces(self, centre, size, angle, shade, canvas, sprite, n_canvases: int) -> torch.Tensor:
        """(n_canvases, 4, S, S): pieces (fractions of the side) laid with this model's sprites (N,)
        (topping * variants + variant)."""
        side = self.config.image_size
        centre, size, angle, shade = centre.float(), size.float(), angle.float(), shade.float()
        sprites = self.sprite_rgba()[sprite]  # (N, 4, s, s)
        sprites = torch.cat([sprites[:, :3] * shade[:, None, None, None], sprites[:, 3:]], 1).clamp(0, 1)
        return splat(sprites, centre * side, (size * side).clamp(min=0.3), angle, canvas, n_canvases, side)

    def present_pieces(self, latent: Latent, codes: torch.Tensor, geometry: torch.Tensor):
        """The piece layers the recipes have: (K, 4, S, S) premultiplied, and each one's pizza and slot (K,)."""
        centre, size, angle, shade, canvas, sprite = self.piece_layout(latent, codes, geometry)
        canvases, index = canvas.unique(return_inverse=True)  # (K,): pizza * P + topping, ascending
        layers = self.render_pieces(centre, size, angle, shade, index, sprite, n_canvases=len(canvases))
        p = len(self.config.pieces)
        if self.config.piece_grain:
            layers = self.grained_pieces(layers, canvases % p, latent.grain[canvases // p])
        return layers, canvases // p, canvases % p

    def grained_pieces(self, layers: torch.Tensor, topping: torch.Tensor, grain: torch.Tensor) -> torch.Tensor:
        """Piece layers (K, 4, S, S) premultiplied with the grain (K, 1, S, S) laid on their colour at each
        topping's (K,) learned amplitude, as the base carries it: the pieces of one pizza share its grain."""
        colour, alpha = layers[:, :3], layers[:, 3:]
        amplitude = F.softplus(self.piece_grain.float()[topping])[:, :, None, None]  # (K, 3, 1, 1)
        colour = torch.minimum((colour + alpha * amplitude * grain.float()).clamp(min=0), alpha)
        return torch.cat([colour, alpha], 1)

    def draw_pieces(self, latent: Latent, codes: torch.Tensor, geometry: torch.Tensor) -> torch.Tensor:
        """Every piece layer (B, P, 4, S, S), empty where the recipe has none."""
        side = self.config.image_size
        out = codes.new_zeros(codes.shape[0], len(self.config.pieces), 4, side, side)
        layers, pizza, slot = self.present_pieces(latent, codes, geometry)
        out[pizza, slot] = layers
        return out

    @torch.autocast("cpu", enabled=False)
    @torch.autocast("cuda", enabled=False)
    def render_strokes(self, stroke: torch.Tensor, double: torch.Tensor, template: torch.Tensor,
                       angle: torch.Tensor, geometry: torch.Tensor) -> torch.Tensor:
        """(N, 4, S, S) premultiplied: templates of strokes (N,) turned by angle (N,) onto the pizza
        with geometry (N, 4); ``double`` (N,) 0/1 picks the double-portion templates."""
        side = self.config.image_size
        angle, geometry = angle.float(), geometry.float()
        rgba = torch.sigmoid(self.templates.float()[stroke, double, template])  # (N, 4, S, S)
        inner = geometry[:, 3]
        cos, sin = angle.cos(), angle.sin()
        # Output pixel p (in [-1, 1] image units) -> template coordinate R(-angle) (p - c) / (2 inner).
        s = 1 / (2 * inner)
        ox, oy = 2 * geometry[:, 0] - 1, 2 * geometry[:, 1] - 1
        theta = torch.stack([
            torch.stack([cos * s, sin * s, -(cos * ox + sin * oy) * s], 1),
            torch.stack([-sin * s, cos * s, (sin * ox - cos * oy) * s], 1),
        ], 1)  # (N, 2, 3)
        grid = F.affine_grid(theta, [len(rgba), 4, side, side], align_corners=False)
        warped = F.grid_sample(rgba, grid, align_corners=False)
        return torch.cat([warped[:, :3] * warped[:, 3:], warped[:, 3:]], 1)

    def present_strokes(self, latent: Latent, codes: torch.Tensor, geometry: torch.Tensor):
        """The stroke layers the recipes have: (N, 4, S, S) premultiplied, each one's pizza and slot (N,)
        (slots count on from the pieces')."""
        side = self.config.image_size
        portions = codes[:, self.stroke_index]  # (B, S)
        pizza, stroke = (portions > 0).nonzero(as_tuple=True)
        if not len(pizza):
            return codes.new_zeros(0, 4, side, side), pizza, stroke
        double = (portions[pizza, stroke] > 1).long()
        noise = latent.strokes[pizza, stroke]  # (N, 1 + templates)
        template = self.layout.template(stroke, double, noise[:, 1:])
        angle = math.pi * noise[:, 0]
        layers = self.render_strokes(stroke, double, template, angle, geometry[pizza])
        return layers, pizza, stroke + len(self.config.pieces)

    def draw_strokes(self, latent: Latent, codes: torch.Tensor, geometry: torch.Tensor) -> torch.Tensor:
        """Every stroke layer (B, S, 4, S, S), empty where the recipe has none."""
        side = self.config.image_size
        out = codes.new_zeros(codes.shape[0], len(self.config.strokes), 4, side, side)
        layers, pizza, slot = self.present_strokes(latent, codes, geometry)
        out[pizza, slot - len(self.config.pieces)] = layers
        return out

    # ---------------------------------------------------------------------------- reading pictures

    def restyle(
        self, x: torch.Tensor, source: torch.Tensor, target: torch.Tensor, noise: float = 0.0,
        generator: Optional[torch.Generator] = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Take pictures x (B, 3, S, S) in [-1, 1] apart with their recipes ``source`` (B, V), and
        lay them up again as ``target``: a removed ingredient's pixels show the base the decomposer
        reads beneath them; an added ingredient's layer is drawn (its noise from ``generator``, times
        ``noise``) and laid on at its place in the order, under the picture's upper layers; every other
        pixel is the picture's own.
        Returns (reconstruction, restyled), each (B, 3, S, S) in [-1, 1]."""
        with torch.autocast(x.device.type, enabled=False):
            x, source, target = x.float(), source.float(), target.float()
            shows, base, geometry = self.read(x, source)
            picture = (x + 1) / 2
            kept = torch.ones_like(shows[:, :1])  # (B, 1, S, S): pixels of the picture kept
            removed = (source[:, self.layer_index] > 0) & (target[:, self.layer_index] == 0)  # (B, L)
            for i in range(removed.shape[1]):
                kept = kept * (1 - shows[:, 1 + i:2 + i] * removed[:, i, None, None, None])
            # The reconstruction is the model's reading: the base it reads, under the picture's own layers.
            # The restyled picture keeps every pixel it does not edit, so a photo stays a photo.
            reconstruction = picture * (1 - shows[:, :1]) + base * shows[:, :1]
            restyled = picture * kept + base * (1 - kept)
            added = (target[:, self.layer_index] > 0) & (source[:, self.layer_index] == 0)
            if added.any():
                z = latent_noise(len(x), self.config.latent_dim, False, generator, noise, "cpu").to(x.device)
                latent = split_latent(z, self.config)._replace(geometry=torch.zeros_like(geometry))
                only_added = torch.zeros_like(target)
                only_added[:, self.layer_index] = target[:, self.layer_index] * added
                layers = torch.cat([self.draw_pieces(latent, only_added, geometry),
                                    self.draw_strokes(latent, only_added, geometry)], 1)
                kept_layers = shows[:, 1:] * (~removed).float()[:, :, None, None]  # (B, L, S, S)
                for i in range(layers.shape[1]):
                    if not added[:, i].any():
                        continue
                    above = kept_layers[:, i + 1:].sum(1, keepdim=True)  # the picture's own layers over this one
                    laid = over(restyled, layers[:, i, :3], layers[:, i, 3:])
                    restyled = laid * (1 - above) + restyled * above
            return reconstruction * 2 - 1, restyled * 2 - 1

    def read(self, x: torch.Tensor, counts: torch.Tensor):
        """What the decomposer sees in pictures x (B, 3, S, S) in [-1, 1] of recipes ``counts`` (B, V):
        which layer each pixel shows (B, 1 + L, S, S) as probabilities over the recipe's own layers,
        the base it reads beneath the toppings (B, 3, S, S) in [0, 1], and the geometry (B, 4)."""
        logits, mu, _, geometry = self.decomposer(x)
        allowed = torch.cat([torch.ones_like(counts[:, :1]), (counts[:, self.layer_index] > 0).float()], 1)
        logits = logits.float().masked_fill(allowed[:, :, None, None] == 0, -1e4)
        geometry = geometry.float()
        base = self.base(mu.float(), self.base_counts(counts), geometry)
        return logits.softmax(1), base, geometry
