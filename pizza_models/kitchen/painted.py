"""The painted kitchen: the kitchen's recipes, layouts and layers, painted with the 20 menu photos.

``PaintedKitchen`` is a ``Kitchen`` (same ``render``, ``render_layers``, the same pizza for the same
seed, the same layout: piece places, sizes, angles and drizzle paths relative to the pizza) that paints
with real pixels instead of flat colours:

- the pizza fills the frame as in the photos (``PaintedKitchen._frame``);
- the base (crust ring, sauce, cheese with its browning) is one of the photos with its toppings
  refilled from its own surface, turned, mirrored and scaled onto the pizza's geometry, its colour
  jittered a little; a photo with the recipe's sauce and cheese is preferred;
- every topping piece is a real piece cut from a photo (``PhotoBank``), turned, scaled to the
  piece's size, its colour shaded slightly, laid with a soft edge and a contact shadow; each piece
  records which sprite of its topping's bank it is (``Pieces.variant``). Three meats the photos gave no clean
  piece of borrow a kindred topping's real pieces in their own colour (``KIN``); the other toppings without a piece
  are drawn as the clip-art kitchen draws them (on a pizza drawn larger than the photos, blurred to their pieces'
  softness and over the same soft shadow);
- drizzles are the kitchen's strokes in the colour of the photos' drizzles, thinner and wavy as theirs.

What it paints with is a ``PhotoBank`` (``bank.py``), the shipped one by default.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional

import numpy as np
from PIL import Image, ImageFilter

from ..compositing import shadowed
from .bank import BANK_SIDE, CELL, PhotoBank, shipped_bank
from .procedural import SAUCES, TOPPINGS, Geometry, Kitchen, Light, PizzaLayers, Topping
from ..recipe import DEFAULT_VOCABULARY, Vocabulary

PHOTO_COVERAGE = (0.4, 0.7)  # share of the sauce disc under toppings: the photos' layer maps show 0.32 to 0.74, 0.53 on average
TURNS = 16  # a piece's angle is rounded to 22.5 degrees: turned sprites are cached
FLECK = 0.5  # half-width of a dried herb's fleck in the photos, in their (BANK_SIDE) pixels
# The photos' drizzles (BBQ, ranch, sweet-and-sour) are lines of 1.5-2 px at 108 px, bending every 10 px or so by
# 1-2 px: the clip-art kitchen's width times DRIZZLE_THIN, bent by DRIZZLE_WOBBLE of the sauce disc's radius every
# DRIZZLE_WAVE of it, drawn through points DRIZZLE_STEP of it apart.
DRIZZLE_THIN, DRIZZLE_WOBBLE, DRIZZLE_WAVE, DRIZZLE_STEP = 0.65, 0.025, 0.45, 0.02
# Meats with no clean piece in the photos (their one photo each is crowded) take the real pieces of a kindred topping,
# in the clip-art kitchen's colour for them: hunter sausages lie in slices and ground beef in crumbs as pepperoni does
# (ground beef's pieces are smaller), beef in cooked chunks as ham does. Basil, garlic and red onion have no such kin
# and keep their clip-art shapes.
KIN = {name: (source, TOPPINGS[name].colour)
       for name, source in (("hunter_sausages", "pepperoni"), ("beef", "ham"), ("ground_beef", "pepperoni"))}


def _on_pizza(size: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """(S, S, 1) float32: 1 on the pizza (centre and radius in px), 0 on the background, soft over 2 px."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) + 0.5
    return np.clip((radius + 1.5 - np.hypot(xx - cx, yy - cy)) / 2, 0, 1)[..., None]


def _lay(draw, premultiplied: np.ndarray) -> None:
    """Replace the (empty or just drawn) layer under ``draw`` by ``premultiplied`` (n, n, 4) in [0, 1], used up."""
    premultiplied[..., :3] /= np.maximum(premultiplied[..., 3:], 1e-6)  # straight colour
    premultiplied *= 255
    premultiplied += 0.5
    draw._image.paste(Image.fromarray(np.clip(premultiplied, 0, 255, out=premultiplied).astype(np.uint8), "RGBA"))


class PaintedKitchen(Kitchen):
    """The kitchen painted with real pixels from a ``PhotoBank`` (module docstring)."""

    def __init__(self, vocabulary: Vocabulary = DEFAULT_VOCABULARY, supersample: int = 2, bank: Optional[PhotoBank] = None,
                 coverage: Optional[tuple[float, float]] = None):
        super().__init__(vocabulary, supersample)
        self.bank = (bank if bank is not None else shipped_bank()).borrowing(KIN)
        self.coverage = coverage
        self._sprites: dict = {}
        self._reaches: dict = {}
        self._fills: dict = {}

    def _frame(self, rng: np.random.Generator) -> tuple[float, float, float]:
        """As the photos frame their pizzas: radius anywhere in the bank's photos' range (0.486 to 0.506 of the
        side; the clip-art kitchen's 0.45 to 0.476 left a white margin no photo has), the centre off by as much
        as theirs spreads (a uniform draw with their offsets' standard deviation). The same draws as the clip-art
        kitchen's, so every later draw of a seed, and the layout relative to the pizza, stay the same."""
        geometry = self.bank.geometry[list(self.bank.photos)] / BANK_SIDE  # (n, 3) cx, cy, radius
        radius = float(rng.uniform(geometry[:, 2].min(), geometry[:, 2].max()))
        slack = math.sqrt(3) * float(np.sqrt(np.mean((geometry[:, :2] - 0.5) ** 2)))
        cx, cy = (0.5 + rng.uniform(-slack, slack, 2)).tolist()
        return radius, cx, cy

    def _base(self, recipe, canvas, rng, cx, cy, radius, inner) -> Image.Image:
        """A photo's base turned, mirrored and scaled onto (cx, cy, radius), colour jittered; (S, S) RGB."""
        size, bank = canvas.size, self.bank
        sauces = [i for i in recipe.ingredients if i in SAUCES]
        b = bank.base_for(sauces[0] if sauces else None, "mozzarella" in recipe.ingredients, rng)
        px, py, pr = (float(v) for v in bank.geometry[b])
        turn, mirror = float(rng.uniform(0, 2 * math.pi)), rng.random() < 0.5
        # Output pixel (u, v) -> photo pixel: centre, unscale, unturn, unmirror, recentre.
        s = pr / (radius * size)
        c, t = math.cos(turn) * s, math.sin(turn) * s
        m = -1.0 if mirror else 1.0
        ox, oy = cx * size, cy * size
        coeffs = (m * c, m * t, px - m * (c * ox + t * oy), -t, c, py - (-t * ox + c * oy))
        # Sampled at 3x and box-filtered down: the photo shrinks about 1.7x at 64 px, and sampling alone would
        # alias its texture into a grain the photos do not have. Bicubic, as the photos themselves are resized
        # (data.to_tensor): bilinear sampling blurred the base (at 96 px 0.026 of its 3x3 patches flat against
        # the photos' 0.004; bicubic 0.006). At 4x the pixels differ by 0.2 grey levels on average, 20% slower.
        up = 3
        fine = tuple(v * f for v, f in zip(coeffs, (1 / up, 1 / up, 1, 1 / up, 1 / up, 1)))  # PIL maps pixel centres
        photo = Image.fromarray(bank.bases[b])
        img = photo.transform((size * up, size * up), Image.AFFINE, fine, Image.BICUBIC, fillcolor=(255, 255, 255))
        img = np.asarray(img.reduce(up), np.float32)  # (S, S, 3)
        # The colour jitter touches the pizza only: the photos lie on pure white.
        gain = rng.normal(1, 0.02, 3) * rng.normal(1, 0.03)
        on = _on_pizza(size, ox, oy, radius * size)
        return Image.fromarray(np.clip(img * (1 + (gain - 1) * on), 0, 255).astype(np.uint8))

    def render_layers(self, recipe, seed: int, size: int = 64) -> PizzaLayers:
        """As ``Kitchen.render_layers``, with the light on the pizza only (the photos' background is pure white)."""
        parts = super().render_layers(recipe, seed, size)
        g = parts.geometry
        on = _on_pizza(size, g.cx * size, g.cy * size, g.radius * size)
        return replace(parts, light=Light(1 + (parts.light.gain - 1) * on, parts.light.saturation))

    def _crowds(self, toppings: list[str], seed: int) -> dict[str, float]:
        """With ``coverage`` (e.g. ``PHOTO_COVERAGE``), as many pieces as cover a share of the sauce disc drawn
        from it (single portions), pieces overlapping at random: the photos are covered edge to edge, about
        twice as densely as the clip-art kitchen's counts cover them; herbs keep their counts. Without it, the
        clip-art kitchen's counts."""
        crowds = super()._crowds(toppings, seed)
        spread = [t for t in toppings if TOPPINGS[t].layer < 3]
        if self.coverage is None or not spread:
            return crowds
        target = np.random.default_rng([seed, 0, 1]).uniform(*self.coverage)
        # A piece covers fill * pi * half-width^2 with half-widths size * 2 / 0.88 of the inner radius: at its
        # table's count a topping covers this many sauce discs, overlaps counted twice.
        area = sum(TOPPINGS[t].count * self._fill(t) * (TOPPINGS[t].size * 2 / 0.88) ** 2 for t in spread)
        crowd = float(np.clip(-math.log(1 - target) / area, 0.6, 4.0))  # pieces at random cover 1 - exp(-area)
        return crowds | dict.fromkeys(spread, crowd)

    def _fill(self, ingredient_id: str) -> float:
        """The share of the disc of its reach that a piece of this topping covers (sprites are ragged)."""
        if ingredient_id not in self.bank.pieces:
            return 0.5  # the clip-art shapes
        if ingredient_id not in self._fills:  # every render asks: measured once
            sprites = self.bank.pieces[ingredient_id]
            reach = np.array([self._reach(ingredient_id, k) for k in range(len(sprites))])
            self._fills[ingredient_id] = float(np.mean((sprites[..., 3] >= 128).sum((1, 2)) / (math.pi * reach ** 2)))
        return self._fills[ingredient_id]

    def _cut(self, img: Image.Image, rng: np.random.Generator, n: int, geometry: Geometry) -> np.ndarray:
        """The photos show their own slice cuts: none drawn."""
        return np.asarray(img, np.float32)

    def _drizzle_colour(self, ingredient_id: str) -> tuple[int, int, int]:
        return tuple(self.bank.drizzles.get(ingredient_id, super()._drizzle_colour(ingredient_id)))

    def _look(self, ingredient_id: str) -> Topping:
        """A topping with no piece from the photos keeps its clip-art shape, in the colour its photos show it in
        (the mean over them, by pixels), its highlight that colour as far towards white as the clip-art's is."""
        look, rows = super()._look(ingredient_id), self.bank.colours.get(ingredient_id)
        if not rows:
            return look
        rows = np.asarray(rows, np.float64)  # (photos, 5): photo, r, g, b, pixels
        colour = (rows[:, 1:4] * rows[:, 4:]).sum(0) / rows[:, 4].sum()
        clip, lit = np.asarray(look.colour, np.float64), np.asarray(look.detail, np.float64)
        towards_white = np.clip((lit - clip).sum() / max((255 - clip).sum(), 1), 0, 1)
        return replace(look, colour=tuple(colour.round().astype(int).tolist()),
                       detail=tuple((colour + towards_white * (255 - colour)).round().astype(int).tolist()))

    def _drizzle_line(self, draw, pts: list[float], colour, width: float, inner: float) -> None:
        """The photos' drizzles are thinner than the clip-art's and wavy, as a squeeze bottle lays them: each pass
        bends on a sine across it. Pass k's bend starts at phase k, so the same zig-zag bends the same way every time
        (what a model's drizzle templates can learn) while the path itself is the kitchen's."""
        corners = np.asarray(pts, np.float64).reshape(-1, 2)  # (passes, 2) canvas px
        path = []
        for k, (a, b) in enumerate(zip(corners[:-1], corners[1:])):
            along = b - a
            length = float(np.hypot(*along))
            if length < 1e-6:
                continue
            t = np.linspace(0, 1, max(2, int(length / (DRIZZLE_STEP * inner))), endpoint=False)  # (m,)
            bend = DRIZZLE_WOBBLE * inner * np.sin(2 * math.pi * t * length / (DRIZZLE_WAVE * inner) + k)  # (m,) px
            normal = np.array([-along[1], along[0]]) / length
            path.append(a + t[:, None] * along + bend[:, None] * normal)  # (m, 2)
        path.append(corners[-1:])
        line = np.concatenate(path).ravel().tolist()
        draw.line(line, fill=colour, width=max(1, round(width * DRIZZLE_THIN)), joint="curve")

    def _sprite(self, ingredient_id: str, k: int, side: int, turn: int) -> tuple[np.ndarray, np.ndarray, int, int, int]:
        """Sprite k of a topping scaled to ``side`` px, turned by ``turn`` steps of 360 / TURNS degrees, with its contact
        shadow, cached: (h, w, 4) float32 premultiplied RGBA in [0, 1] and its (h, w, 1) 1 - alpha, cut to where it is not
        transparent (most of a turned sprite is not the piece), that cut's left and top in the turned sprite, its side."""
        key = (ingredient_id, k, side, turn)
        if key not in self._sprites:
            sprite = Image.fromarray(self.bank.pieces[ingredient_id][k], "RGBA").resize((side, side), Image.BICUBIC)
            turned = np.asarray(sprite.rotate(turn * 360 / TURNS, Image.BICUBIC, expand=True), np.float32) / 255
            laid = shadowed(turned, max(1, round(side * 0.05)))
            rows, cols = np.nonzero(laid[..., 3].any(1))[0], np.nonzero(laid[..., 3].any(0))[0]
            top, left = (rows[0], cols[0]) if len(rows) else (0, 0)
            cut = np.ascontiguousarray(laid[top:rows[-1] + 1, left:cols[-1] + 1] if len(rows) else laid[:0, :0])
            self._sprites[key] = cut, 1 - cut[..., 3:], int(left), int(top), laid.shape[0]
        return self._sprites[key]

    def _reach(self, ingredient_id: str, k: int) -> float:
        """How far sprite k's opaque texels reach from its cell's centre, in bank pixels."""
        key = (ingredient_id, k)
        if key not in self._reaches:
            yy, xx = np.nonzero(self.bank.pieces[ingredient_id][k][..., 3] >= 128)
            self._reaches[key] = float(np.hypot(xx + 0.5 - CELL / 2, yy + 0.5 - CELL / 2).max()) + 0.5 if len(xx) else CELL / 4
        return self._reaches[key]

    def _paint_pieces(self, draw, ingredient_id, xy, size, angle, shade, rng, n) -> Optional[np.ndarray]:
        """Real pieces, scaled so each one's reach is its half-width, with a soft contact shadow; a topping
        the bank has no piece of is drawn as the clip-art kitchen draws it, and on a pizza drawn larger than the photos
        as soft as theirs, over a shadow as theirs."""
        larger = n > BANK_SIDE * self.supersample  # drawn larger than the photos
        if ingredient_id not in self.bank.pieces:
            if larger and TOPPINGS[ingredient_id].shape == "fleck":
                # Dried herbs are 1 px flecks in the 108 px photos: enlarged, a fleck is that pixel enlarged, half the
                # clip-art fleck's width (at the models' sizes it is one pixel either way).
                size = np.minimum(size, FLECK * n / BANK_SIDE)
            super()._paint_pieces(draw, ingredient_id, xy, size, angle, shade, rng, n)
            if not larger:  # at the models' sizes as drawn: shadowed, they looked less like photos
                return None
            # Blurred as a real piece enlarged from the photos' 108 px is soft (canvas px), over a shadow falling 0.2 of
            # a half-width (the real pieces': 0.14-0.35 but oregano's specks), soft as their edges.
            blur = 0.5 * (n / BANK_SIDE - 1)
            layer = draw._image.convert("RGBa").filter(ImageFilter.GaussianBlur(blur)).convert("RGBA")  # premultiplied
            off = 0.2 * float(np.median(size))
            _lay(draw, shadowed(np.asarray(layer, np.float32) / 255, max(1, round(off)), soft=off))
            return None
        variant = rng.integers(0, len(self.bank.pieces[ingredient_id]), len(xy))
        jitter = rng.normal(1, 0.03, (len(xy), 3))  # (k, 3) per channel: each piece recoloured slightly
        if larger:
            # Drawn larger than the photos the hue shift shows (white feta in pink, mint and lilac, 6x the spread of the
            # photos' own pieces): a piece is only lighter or darker, its colour its photo's.
            jitter = np.repeat(jitter[:, :1], 3, 1)
        tint = np.append(jitter * shade, np.ones((len(xy), 1)), 1).astype(np.float32)  # (k, 4)
        canvas = np.zeros((n, n, 4), np.float32)  # premultiplied
        reach = np.array([self._reach(ingredient_id, int(k)) for k in variant])
        sides = np.maximum(2, np.round(CELL * size / reach)).astype(int).tolist()
        turns = (np.round(-np.degrees(angle) * TURNS / 360) % TURNS).astype(int).tolist()
        for (x, y), side, turn, k, gain in zip(xy.tolist(), sides, turns, variant.tolist(), tint):
            piece, clear, left, top, full = self._sprite(ingredient_id, k, side, turn)
            (h, w), x0, y0 = piece.shape[:2], round(x - full / 2) + left, round(y - full / 2) + top
            px0, py0, px1, py1 = max(0, -x0), max(0, -y0), min(w, n - x0), min(h, n - y0)
            if px1 <= px0 or py1 <= py0:
                continue
            dst = canvas[y0 + py0:y0 + py1, x0 + px0:x0 + px1]
            dst *= clear[py0:py1, px0:px1]
            dst += piece[py0:py1, px0:px1] * gain
        _lay(draw, canvas)
        return variant

    def _premultiplied(self, layer: Image.Image) -> np.ndarray:
        # Pieces have soft edges and shadows: premultiply before the box filter.
        k = self.supersample
        rgba = np.asarray(layer, np.float32)  # (n, n, 4) straight, a copy
        rgba[..., 3:] *= np.float32(1 / 255)
        rgba[..., :3] *= rgba[..., 3:]
        rows = sum(rgba[i::k] for i in range(k))  # the k x k box filter as sums of strided views (a mean is slower)
        box = sum(rows[:, i::k] for i in range(k))
        box *= np.float32(1 / (k * k))
        return box  # (S, S, 4)


__all__ = ["KIN", "PHOTO_COVERAGE", "PaintedKitchen"]
