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
  records which sprite of its topping's bank it is (``Pieces.variant``). A topping the photos gave
  no clean piece of is drawn as the clip-art kitchen draws it, over the same soft shadow;
- drizzles are the kitchen's strokes in the colour of the photos' drizzles, thinner and wavy as theirs.

The bank is built from the photos by ``scripts/photo_layers.py`` and ships with the package
(``pizza_models/kitchen/photo_bank``, about 0.5 MB). ``PhotoBank.subset`` keeps only what some photos
gave, so that a model can be built from some photos and judged on the others.
"""

from __future__ import annotations

import colorsys
import functools
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from ..compositing import moved, shadowed
from ..data import to_tensor
from .procedural import DRIZZLES, SAUCES, TOPPINGS, Geometry, Kitchen, Light, PizzaLayers, Topping
from ..recipe import DEFAULT_VOCABULARY, Vocabulary

BANK = Path(__file__).with_name("photo_bank")
BANK_SIDE = 108  # the photos' side in the bank (they are 107-110 px)
CELL = 24  # a piece sprite's side in the bank, in photo pixels
LAYERS = tuple(TOPPINGS) + tuple(DRIZZLES) + ("condensed_milk",)  # layer k of a photo's map is LAYERS[k - 1]
PHOTO_COVERAGE = (0.4, 0.7)  # share of the sauce disc under toppings: the photos' layer maps show 0.32 to 0.74, 0.53 on average
WHOLE = ("none", "white", "all")  # which photos a crust table lays whole (``PhotoBank.crust_fields``)
TURNS = 16  # a piece's angle is rounded to 22.5 degrees: turned sprites are cached
# The photos' drizzles (BBQ, ranch, sweet-and-sour) are lines of 1.5-2 px at 108 px, bending every 10 px or so by
# 1-2 px: the clip-art kitchen's width times DRIZZLE_THIN, bent by DRIZZLE_WOBBLE of the sauce disc's radius every
# DRIZZLE_WAVE of it, drawn through points DRIZZLE_STEP of it apart.
DRIZZLE_THIN, DRIZZLE_WOBBLE, DRIZZLE_WAVE, DRIZZLE_STEP = 0.65, 0.025, 0.45, 0.02


def layer_palette() -> np.ndarray:
    """(1 + L, 3) float colours to show a photo's layer map: black base, one hue per layer."""
    hues = [colorsys.hsv_to_rgb((k * 0.381966) % 1, 0.9, 1.0) for k in range(len(LAYERS))]
    return np.array([(0, 0, 0)] + hues, np.float32) * 255


@dataclass(frozen=True)
class PhotoBank:
    """What the photos give the painted kitchen, all at ``BANK_SIDE`` px.

    ``bases`` (N, S, S, 3) uint8 the photos with their toppings refilled; ``geometry`` (N, 3) their
    centre and radius in px; ``sauces``/``cheese`` what each photo's base is; ``pieces`` maps a topping
    to its sprites (K, CELL, CELL, 4) uint8 and ``piece_photo`` to the photo each came from;
    ``drizzles`` the mean colour of each drizzle; ``shows`` (N, S, S) uint8 the layer each photo pixel
    shows (0 base, k: ``LAYERS[k - 1]``); ``names`` the photos' file stems; ``colours`` maps a topping with no
    pieces to rows [photo, r, g, b, pixels]: the colour its photos show it in, where only its colour gives it away."""

    bases: np.ndarray
    geometry: np.ndarray
    inner: float
    sauces: tuple
    cheese: tuple
    pieces: dict
    piece_photo: dict
    drizzles: dict
    shows: np.ndarray
    names: tuple
    photos: tuple = ()  # the photo indices this bank keeps (all by default)
    colours: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.photos:
            object.__setattr__(self, "photos", tuple(range(len(self.bases))))

    @classmethod
    def build(cls, bases, geometry, inner, sauces, cheese, pieces, drizzles, shows, names, colours=None) -> "PhotoBank":
        """From the photo tools' output; ``pieces`` maps a topping to [(photo index, (CELL, CELL, 4) RGBA)]."""
        return cls(np.asarray(bases, np.uint8), np.asarray(geometry, np.float32), float(inner),
                   tuple(tuple(s) for s in sauces), tuple(bool(c) for c in cheese),
                   {k: np.stack([r for _, r in v]) for k, v in pieces.items() if v},
                   {k: np.array([b for b, _ in v]) for k, v in pieces.items() if v},
                   dict(drizzles), np.asarray(shows, np.uint8), tuple(names), colours=dict(colours or {}))

    # ------------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        """bases.png and shows.png (photos side by side), pieces.png (one row per topping), bank.json."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate(list(self.bases), 1)).save(folder / "bases.png", optimize=True)
        Image.fromarray(np.concatenate(list(self.shows), 1), "L").save(folder / "shows.png", optimize=True)
        rows = max(len(v) for v in self.pieces.values())
        atlas = np.zeros((len(self.pieces) * CELL, rows * CELL, 4), np.uint8)
        for r, sprites in enumerate(self.pieces.values()):
            for c, sprite in enumerate(sprites):
                atlas[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] = sprite
        Image.fromarray(atlas, "RGBA").save(folder / "pieces.png", optimize=True)
        meta = dict(side=BANK_SIDE, cell=CELL, layers=list(LAYERS), inner=self.inner, names=list(self.names),
                    geometry=self.geometry.round(3).tolist(), sauces=[list(s) for s in self.sauces], cheese=list(self.cheese),
                    pieces={k: self.piece_photo[k].tolist() for k in self.pieces}, drizzles=self.drizzles, colours=self.colours)
        (folder / "bank.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, folder: str | Path = BANK) -> "PhotoBank":
        """The bank saved in ``folder`` (the one shipped with the package by default)."""
        folder = Path(folder)
        meta = json.loads((folder / "bank.json").read_text())
        if meta["side"] != BANK_SIDE or meta["cell"] != CELL or tuple(meta["layers"]) != LAYERS:
            raise ValueError(f"{folder}: a photo bank of another layout (side, cell or layers differ); rebuild it")
        n = len(meta["names"])
        bases = np.asarray(Image.open(folder / "bases.png").convert("RGB")).reshape(BANK_SIDE, n, BANK_SIDE, 3).swapaxes(0, 1)
        shows = np.asarray(Image.open(folder / "shows.png")).reshape(BANK_SIDE, n, BANK_SIDE).swapaxes(0, 1)
        atlas = np.asarray(Image.open(folder / "pieces.png").convert("RGBA"))
        pieces, piece_photo = {}, {}
        for r, (name, photos) in enumerate(meta["pieces"].items()):
            pieces[name] = np.stack([atlas[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] for c in range(len(photos))])
            piece_photo[name] = np.array(photos)
        return cls(np.ascontiguousarray(bases), np.array(meta["geometry"], np.float32), meta["inner"],
                   tuple(tuple(s) for s in meta["sauces"]), tuple(meta["cheese"]), pieces, piece_photo,
                   meta["drizzles"], np.ascontiguousarray(shows), tuple(meta["names"]), colours=meta.get("colours", {}))

    def subset(self, photos: Sequence[int]) -> "PhotoBank":
        """The bank as if built from these photos only: their bases, their pieces, their drizzles and colours.
        A topping none of them shows has no pieces (the painted kitchen then draws its clip-art piece)."""
        keep = sorted(set(int(p) for p in photos))
        pieces = {k: v[np.isin(self.piece_photo[k], keep)] for k, v in self.pieces.items()}
        piece_photo = {k: v[np.isin(v, keep)] for k, v in self.piece_photo.items()}
        drizzles = {k: v for k, v in self.drizzles.items() if (self.shows[keep] == 1 + LAYERS.index(k)).any()}
        colours = {k: [row for row in rows if row[0] in keep] for k, rows in self.colours.items()}
        return replace(self, pieces={k: v for k, v in pieces.items() if len(v)},
                       piece_photo={k: v for k, v in piece_photo.items() if len(v)}, drizzles=drizzles, photos=tuple(keep),
                       colours={k: rows for k, rows in colours.items() if rows})

    def seen(self, hold_out: str = "") -> list[int]:
        """The indices of the bank's photos but those ``hold_out`` names (indices, comma-separated; '' keeps them all)."""
        try:
            held = {int(i) for i in hold_out.split(",") if i.strip()}
        except ValueError:
            raise ValueError(f"--hold-out {hold_out!r}: photo indices, comma-separated (e.g. 2,4,6,19)") from None
        if not held <= set(range(len(self.names))):
            raise ValueError(f"--hold-out {hold_out}: the photo bank has photos 0 to {len(self.names) - 1}")
        return [i for i in range(len(self.names)) if i not in held]

    def crust_fields(self, hold_out: str = "", whole: str = "none") -> dict:
        """A layered model's config fields for a crust table of the photos ``seen``: their names, what their bases are
        (sauces, then mozzarella where they have it), so that a pizza lays a crust of its own kind of base, and the
        photos laid ``whole`` (base and crust): "none", "white" (those without tomato sauce) or "all"."""
        seen = self.seen(hold_out)
        if whole not in WHOLE:
            raise ValueError(f"whole: one of {', '.join(WHOLE)}, not {whole!r}")
        white = [i for i in seen if "tomato_sauce" not in self.sauces[i]]
        return {"crusts": tuple(self.names[i] for i in seen),
                "crust_bases": tuple(tuple(self.sauces[i]) + ("mozzarella",) * bool(self.cheese[i]) for i in seen),
                "crust_whole": tuple(self.names[i] for i in {"none": [], "white": white, "all": seen}[whole])}

    def crust_table(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The bases as a layered model's crust table: (K, 3, S, S) pictures in [0, 1], each resized and quantised as
        ``data.to_tensor`` reads a photo, moved by whole pixels so that its pizza's centre is the picture's (white
        where it moved in), and their radii (K,) as a share of the side."""
        pictures = []
        for base, (px, py, _) in zip(self.bases, self.geometry.tolist()):
            x = ((to_tensor(Image.fromarray(base), size) + 1) * 127.5).round() / 255  # (3, S, S): as a photo is read
            pictures.append(moved(x, round(size / 2 - px * size / BANK_SIDE), round(size / 2 - py * size / BANK_SIDE)))
        return torch.stack(pictures), torch.as_tensor(self.geometry[:, 2] / BANK_SIDE, dtype=torch.float32)

    def piece_sheet(self, scale: int = 3) -> Image.Image:
        """Every sprite of the bank on a light grey board, one row per topping."""
        cols = max(len(v) for v in self.pieces.values())
        board = Image.new("RGBA", (cols * CELL, len(self.pieces) * CELL), (226, 226, 226, 255))
        for r, sprites in enumerate(self.pieces.values()):
            for c, sprite in enumerate(sprites):
                board.alpha_composite(Image.fromarray(sprite, "RGBA"), (c * CELL, r * CELL))
        return board.convert("RGB").resize((board.width * scale, board.height * scale), Image.NEAREST)

    def base_for(self, sauce: Optional[str], cheese: bool, rng: np.random.Generator) -> int:
        """A photo whose base suits the recipe: its first sauce and cheese if one has both, else its sauce,
        else any; picked at random among the suitable ones, the less refilled the likelier."""
        first = (sauce,) if sauce else ()
        both = [b for b in self.photos if self.sauces[b][:1] == first and self.cheese[b] == cheese]
        same = [b for b in self.photos if sauce in self.sauces[b]]
        suitable = both or same or list(self.photos)
        # Photos with few toppings had little to refill: their bases are the most real.
        weight = np.array([(self.shows[b] == 0).mean() for b in suitable]) ** 4
        return int(rng.choice(suitable, p=weight / weight.sum()))


def _on_pizza(size: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """(S, S, 1) float32: 1 on the pizza (centre and radius in px), 0 on the background, soft over 2 px."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) + 0.5
    return np.clip((radius + 1.5 - np.hypot(xx - cx, yy - cy)) / 2, 0, 1)[..., None]


def _lay(draw, premultiplied: np.ndarray) -> None:
    """Replace the (empty or just drawn) layer under ``draw`` by ``premultiplied`` (n, n, 4) in [0, 1]."""
    alpha = premultiplied[..., 3:]
    straight = np.concatenate([premultiplied[..., :3] / np.maximum(alpha, 1e-6), alpha], -1)
    draw._image.paste(Image.fromarray(np.clip(straight * 255 + 0.5, 0, 255).astype(np.uint8), "RGBA"))


@functools.lru_cache(maxsize=1)
def shipped_bank() -> PhotoBank:
    """The bank shipped with the package, loaded once."""
    return PhotoBank.load(BANK)


class PaintedKitchen(Kitchen):
    """The kitchen painted with real pixels from a ``PhotoBank`` (module docstring)."""

    def __init__(self, vocabulary: Vocabulary = DEFAULT_VOCABULARY, supersample: int = 2, bank: Optional[PhotoBank] = None,
                 coverage: Optional[tuple[float, float]] = None):
        super().__init__(vocabulary, supersample)
        self.bank = bank if bank is not None else shipped_bank()
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

    def _sprite(self, ingredient_id: str, k: int, side: int, turn: int) -> np.ndarray:
        """Sprite k of a topping scaled to ``side`` px, turned by ``turn`` steps of 360 / TURNS degrees, with
        its contact shadow: (w, w, 4) float32 premultiplied RGBA in [0, 1], cached."""
        key = (ingredient_id, k, side, turn)
        if key not in self._sprites:
            sprite = Image.fromarray(self.bank.pieces[ingredient_id][k], "RGBA").resize((side, side), Image.BICUBIC)
            turned = np.asarray(sprite.rotate(turn * 360 / TURNS, Image.BICUBIC, expand=True), np.float32) / 255
            self._sprites[key] = shadowed(turned, max(1, round(side * 0.05)))
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
        the bank has no piece of is drawn as the clip-art kitchen draws it, over a shadow as theirs."""
        if ingredient_id not in self.bank.pieces:
            super()._paint_pieces(draw, ingredient_id, xy, size, angle, shade, rng, n)
            # The shadow falls 0.2 of a half-width (the real pieces': 0.14-0.35 but oregano's specks), soft as their edges.
            clip = np.asarray(draw._image, np.float32) / 255  # (n, n, 4) straight, opaque shapes
            off = 0.2 * float(np.median(size))
            _lay(draw, shadowed(clip, max(1, round(off)), soft=off))
            return None
        variant = rng.integers(0, len(self.bank.pieces[ingredient_id]), len(xy))
        tint = np.append(rng.normal(1, 0.03, (len(xy), 3)) * shade, np.ones((len(xy), 1)), 1).astype(np.float32)  # (k, 4) recoloured
        canvas = np.zeros((n, n, 4), np.float32)  # premultiplied
        reach = np.array([self._reach(ingredient_id, int(k)) for k in variant])
        sides = np.maximum(2, np.round(CELL * size / reach)).astype(int).tolist()
        turns = (np.round(-np.degrees(angle) * TURNS / 360) % TURNS).astype(int).tolist()
        for (x, y), side, turn, k, gain in zip(xy.tolist(), sides, turns, variant.tolist(), tint):
            piece = self._sprite(ingredient_id, k, side, turn)
            w = piece.shape[0]
            x0, y0 = round(x - w / 2), round(y - w / 2)
            px0, py0, px1, py1 = max(0, -x0), max(0, -y0), min(w, n - x0), min(w, n - y0)
            if px1 <= px0 or py1 <= py0:
                continue
            src = piece[py0:py1, px0:px1]
            dst = canvas[y0 + py0:y0 + py1, x0 + px0:x0 + px1]
            dst *= 1 - src[..., 3:]
            dst += src * gain
        _lay(draw, canvas)
        return variant

    def _premultiplied(self, layer: Image.Image) -> np.ndarray:
        # Pieces have soft edges and shadows: premultiply before the box filter.
        k = self.supersample
        rgba = np.asarray(layer, np.float32)  # (n, n, 4) straight, a copy
        rgba[..., 3:] *= np.float32(1 / 255)
        rgba[..., :3] *= rgba[..., 3:]
        s = rgba.shape[0] // k  # the k x k box filter as two sums over contiguous axes (a mean over (1, 3) is slow)
        return rgba.reshape(s, k, s, k * 4).sum(1).reshape(s, s, k, 4).sum(2) * np.float32(1 / (k * k))  # (S, S, 4)


__all__ = ["BANK", "PHOTO_COVERAGE", "PaintedKitchen", "PhotoBank", "layer_palette", "shipped_bank"]
