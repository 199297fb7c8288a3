"""The kitchen: a procedural renderer of photo-like top-down pizzas.

``Kitchen.render(recipe, seed, size)`` draws a pizza the way the dodo20 product photos show one: a
near-white background, a speckled golden crust ring, the sauce, blotchy melted mozzarella, the
toppings as many small pieces each with its own shape and colour, and drizzles zig-zagged over
the top. The picture is a pure function of (recipe, seed, size). The seed decides everything that
is not the recipe: rotation, piece placement, radius and centre, lighting and colour jitter. Each
ingredient gets its own random stream derived from the seed, so adding a topping to a recipe
leaves the other pieces where they were. A double portion draws about twice the pieces.

The kitchen draws the 28 ingredients of ``DEFAULT_VOCABULARY``; rendering a recipe with an
ingredient it has no drawing for (from a custom vocabulary) raises ``ValueError`` naming it,
rather than quietly drawing something a model would then learn as that ingredient.

What to render, the recipe distribution and the held-out recipes, lives in ``pizza_models.recipe_sampler``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..compositing import over, vogel_angle
from ..recipe import DEFAULT_VOCABULARY, RecipeLike, Vocabulary, parse_recipe
from .shapes import SHAPES

# --------------------------------------------------------------------------------------------
# Ingredient tables. Sizes are piece half-widths as a fraction of the pizza diameter; counts are
# pieces of a single portion. Layers put flat, wide pieces under small ones and herbs on top.

SAUCES = {  # base colour of the sauce disc
    "tomato_sauce": (204, 70, 30),
    "cheese_sauce": (240, 196, 80),
    "ranch_sauce": (248, 247, 238),
    "condensed_milk": (236, 218, 178),
}
DOUGH = (228, 196, 140)  # no sauce at all
MOZZARELLA = (252, 230, 168)
DRIZZLES = {"bbq_sauce": (92, 38, 22), "sweet_sour_sauce": (240, 96, 36)}


@dataclass(frozen=True)
class Topping:
    shape: str  # a key of shapes.SHAPES
    colour: tuple[int, int, int]
    detail: tuple[int, int, int]  # rim, stripe, seeds or highlight, depending on the shape
    size: float
    count: int
    layer: int = 1


TOPPINGS = {
    "ham": Topping("square", (236, 132, 144), (250, 190, 196), 0.06, 12, 0),
    "beef": Topping("slice", (132, 72, 46), (92, 48, 30), 0.068, 11, 0),
    "bacon": Topping("bacon", (196, 62, 62), (250, 226, 214), 0.078, 10, 0),
    "pepperoni": Topping("disc", (186, 40, 30), (124, 20, 14), 0.068, 14, 0),
    "chicken": Topping("chunk", (216, 164, 102), (150, 96, 44), 0.056, 14, 1),
    "mushrooms": Topping("mushroom", (192, 168, 140), (100, 76, 54), 0.062, 12, 1),
    "tomatoes": Topping("tomato", (232, 44, 28), (255, 168, 116), 0.05, 17, 1),
    "pineapple": Topping("wedge", (255, 214, 48), (214, 160, 20), 0.048, 16, 1),
    "hunter_sausages": Topping("oval", (122, 34, 30), (72, 16, 12), 0.042, 14, 1),
    "shrimp": Topping("shrimp", (255, 146, 104), (255, 228, 214), 0.062, 11, 1),
    "pickles": Topping("pickle", (112, 132, 44), (200, 208, 130), 0.06, 11, 1),
    "ground_beef": Topping("crumb", (96, 54, 34), (70, 38, 24), 0.027, 40, 2),
    "olives": Topping("ring", (30, 26, 32), (30, 26, 32), 0.04, 16, 2),
    "red_onion": Topping("arc", (146, 48, 138), (210, 150, 206), 0.07, 14, 2),
    "bell_pepper": Topping("strip", (50, 158, 40), (28, 108, 22), 0.062, 14, 2),
    "jalapeno": Topping("jalapeno", (40, 150, 30), (214, 232, 96), 0.042, 14, 2),
    "feta": Topping("square", (255, 255, 252), (196, 196, 192), 0.032, 20, 2),
    "lingonberry": Topping("berry", (150, 14, 40), (236, 120, 140), 0.022, 40, 2),
    "garlic": Topping("flake", (255, 246, 206), (150, 122, 62), 0.026, 28, 3),
    "basil": Topping("leaf", (34, 108, 36), (110, 170, 80), 0.056, 9, 3),
    "oregano": Topping("fleck", (62, 84, 32), (62, 84, 32), 0.01, 120, 3),
}
DRIZZLED = frozenset(DRIZZLES) | {"condensed_milk"}  # condensed milk is a sauce and, thin and white, a drizzle
DRAWABLE = frozenset(SAUCES) | frozenset(TOPPINGS) | frozenset(DRIZZLES) | {"mozzarella"}

class _Canvas:
    """What every render of one size shares: coordinate grids and noise textures at the output size."""

    def __init__(self, size: int):
        self.size = size
        coords = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
        self.x, self.y = coords[None, :], coords[:, None]
        rng = np.random.default_rng(20)  # textures are fixed; each render crops them at a random offset
        self.noise = {"low": self._smooth(rng, 2 * size, 14), "mid": self._smooth(rng, 2 * size, 40),
                      "high": rng.standard_normal((2 * size, 2 * size), dtype=np.float32)}

    @staticmethod
    def _smooth(rng: np.random.Generator, n: int, cells: int) -> np.ndarray:
        grid = Image.fromarray(rng.random((cells, cells), dtype=np.float32), mode="F")
        field = np.asarray(grid.resize((n, n), Image.BICUBIC), dtype=np.float32)
        return (field - field.mean()) / (field.std() + 1e-6)

    def crop(self, name: str, rng: np.random.Generator) -> np.ndarray:
        ox, oy = rng.integers(0, self.size, 2)
        return self.noise[name][oy:oy + self.size, ox:ox + self.size]


def _rgb(colour) -> np.ndarray:
    return np.asarray(colour, np.float32)


class Kitchen:
    """Renders recipes as top-down pizza photos; one instance caches textures per image size.

    The smooth layers (background, crust, sauce, cheese) are numpy arithmetic at the output size;
    the pieces are ImageDraw primitives on a ``supersample`` times larger canvas, box-filtered
    down, so small pieces keep clean anti-aliased edges at 64 x 64.
    """

    def __init__(self, vocabulary: Vocabulary = DEFAULT_VOCABULARY, supersample: int = 2):
        if supersample < 1:
            raise ValueError(f"supersample must be >= 1, got {supersample}")
        self.vocabulary, self.supersample = vocabulary, supersample
        self._canvases: dict[int, _Canvas] = {}
        self._order = self.drawing_order()

    def drawing_order(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(pieces, strokes): the vocabulary's ingredients drawn as pieces and as strokes, each bottom to
        top as ``render_layers`` lays them: toppings by their table's layer (flat, wide pieces under
        small ones, herbs on top), then in vocabulary order; every drizzle over every topping. A model
        of the layers takes its order from here."""
        pieces = sorted((i for i in self.vocabulary.ids if i in TOPPINGS), key=lambda i: TOPPINGS[i].layer)  # stable
        return tuple(pieces), tuple(i for i in self.vocabulary.ids if i in DRIZZLED)

    def render(self, recipe: RecipeLike, seed: int, size: int = 64) -> Image.Image:
        """An RGB ``size`` x ``size`` photo of the recipe; the same (recipe, seed, size) gives the same pixels."""
        return self.render_layers(recipe, seed, size).image()

    def render_layers(self, recipe: RecipeLike, seed: int, size: int = 64) -> "PizzaLayers":
        """The recipe's pizza as the kitchen builds it: an unlit base, one premultiplied RGBA layer per
        topping and drizzle in drawing order, the light, and the geometry and piece layout behind them.

        ``render(recipe, seed, size)`` is exactly ``render_layers(recipe, seed, size).image()``.
        """
        recipe = parse_recipe(recipe, self.vocabulary, allow_empty=True)
        missing = [i for i in recipe.ingredients if i not in DRAWABLE]
        if missing:
            raise ValueError(f"the kitchen cannot draw {', '.join(map(repr, missing))}: no drawing for that ingredient")
        canvas = self._canvases.get(size) or self._canvases.setdefault(size, _Canvas(size))
        rng = np.random.default_rng([seed, 0])

        radius, cx, cy = self._frame(rng)
        inner = radius * (1 - float(rng.uniform(0.1, 0.13)))
        rotation = float(rng.uniform(0, 2 * math.pi))
        geometry = Geometry(cx, cy, radius, inner, rotation)

        n = size * self.supersample
        base = self._cut(self._base(recipe, canvas, rng, cx, cy, radius, inner), rng, n, geometry)
        cx, cy, inner = cx * n, cy * n, inner * n

        layers, pieces, strokes = [], {}, {}
        piece_order, stroke_order = self._order
        toppings = [i for i in piece_order if i in recipe.ingredients]
        crowds = self._crowds(toppings, seed)
        for ingredient_id in toppings:
            layer, draw = self._layer_canvas(n)
            pieces[ingredient_id] = self._scatter(
                draw, ingredient_id, recipe.count(ingredient_id), crowds[ingredient_id], seed, n, cx, cy, inner, rotation)
            layers.append((ingredient_id, self._premultiplied(layer)))
        for ingredient_id in (i for i in stroke_order if i in recipe.ingredients):
            layer, draw = self._layer_canvas(n)
            strokes[ingredient_id] = self._drizzle(
                draw, ingredient_id, recipe.count(ingredient_id), seed, n, cx, cy, inner, rotation)
            layers.append((ingredient_id, self._premultiplied(layer)))
        return PizzaLayers(base, layers, self._light(canvas, rng), geometry, pieces, strokes)

    def _frame(self, rng: np.random.Generator) -> tuple[float, float, float]:
        """The pizza's radius and centre (cx, cy) as fractions of the image side: fully inside the frame."""
        radius = float(rng.uniform(0.45, 0.476))
        slack = 0.479 - radius
        cx, cy = (0.5 + rng.uniform(-slack, slack, 2)).tolist()
        return radius, cx, cy

    def render_batch(self, recipes: Sequence[RecipeLike], seeds: Sequence[int], size: int = 64) -> np.ndarray:
        """Renders as a uint8 array of shape (len(recipes), size, size, 3)."""
        if len(recipes) != len(seeds):
            raise ValueError(f"{len(recipes)} recipes but {len(seeds)} seeds")
        out = np.empty((len(recipes), size, size, 3), np.uint8)
        for i, (recipe, seed) in enumerate(zip(recipes, seeds)):
            out[i] = np.asarray(self.render(recipe, seed, size))
        return out

    # Layers ---------------------------------------------------------------------------------

    def _base(self, recipe, canvas, rng, cx, cy, radius, inner) -> Image.Image:
        """Background, crust, sauce and mozzarella: scalar fields first, then few RGB operations."""
        size = canvas.size
        low, mid, high = canvas.crop("low", rng), canvas.crop("mid", rng), canvas.crop("high", rng)
        dx, dy = canvas.x - (2 * cx - 1), canvas.y - (2 * cy - 1)
        r = np.sqrt(dx * dx + dy * dy) * (0.5 / radius) + 0.006 * mid  # 1 at the rim, a slightly ragged edge
        rin = inner / radius
        edge = 1 / (radius * size)  # one output pixel in units of r: anti-aliased edges
        in_pizza = np.clip((1 - r) / edge + 0.5, 0, 1)[..., None]
        in_top = np.clip((rin - r) / edge + 0.5, 0, 1)[..., None]

        background = float(rng.uniform(246, 254)) + rng.uniform(-2, 2, 3).astype(np.float32)
        shade = 1 - np.clip(1 - (r - 1) / 0.07, 0, 1) * 0.07  # soft contact shadow outside the rim

        # Crust: lighter on top of the ring, browner at both edges, flour-white and charred specks.
        t = np.clip((r - rin) / (1 - rin), 0, 1)
        bake = np.clip(0.15 + 2.4 * (t - 0.45) ** 2 + 0.15 * mid + 0.1 * low, 0, 1)[..., None]
        speck = 1 + 0.04 * high + 0.1 * (high > 1.7) - 0.16 * (high < -1.7)
        crust = (_rgb((242, 174, 98)) + _rgb((-54, -70, -54)) * bake) * speck[..., None]

        sauces = [i for i in recipe.ingredients if i in SAUCES]
        grain = (1 + 0.05 * low + 0.02 * high)[..., None]
        top = _rgb(SAUCES[sauces[0]] if sauces else DOUGH) * grain
        for i, other in enumerate(sauces[1:]):  # a second sauce marbles into the first
            top = np.where((mid > 0.3 + 0.4 * i)[..., None], _rgb(SAUCES[other]) * grain, top)
        if "mozzarella" in recipe.ingredients:
            cover = 0.85 if recipe.count("mozzarella") == 1 else 1.1
            melt = np.clip(cover + 0.3 * (0.7 * low + 0.7 * mid), 0.15, 1)[..., None]
            blister = np.clip(mid - 1.4, 0, 0.6) + 0.04 * high  # browned bubbles
            cheese = _rgb(MOZZARELLA) * 0.86 + _rgb(SAUCES[sauces[0]] if sauces else DOUGH) * 0.14
            cheese = cheese - _rgb((40, 70, 100)) * blister[..., None]
            top = top + (cheese - top) * melt
        else:
            top = top * (1 - 0.1 * (high > 1.8))[..., None]

        img = background * shade[..., None]
        img += (crust + (top - crust) * in_top - img) * in_pizza
        return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")

    def _cut(self, img: Image.Image, rng: np.random.Generator, n: int, geometry: "Geometry") -> np.ndarray:
        """The (S, S, 3) float base: the picture with slice cuts, as many menu photos show, drawn at
        ``n`` px and shrunk back."""
        size = img.width
        if n != size:
            img = img.resize((n, n), Image.BILINEAR)
        if rng.random() < 0.4:
            draw = ImageDraw.Draw(img)
            cx, cy, radius = geometry.cx * n, geometry.cy * n, geometry.radius * n
            k = int(rng.choice([6, 8]))
            for a in geometry.rotation + np.arange(k // 2) * math.pi / (k // 2):
                dx, dy = math.cos(a) * radius * 0.97, math.sin(a) * radius * 0.97
                draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=(214, 160, 104), width=max(1, n // 160))
        return np.asarray(img.reduce(self.supersample) if n != size else img, np.float32)

    def _crowds(self, toppings: list[str], seed: int) -> dict[str, float]:
        """How many pieces of each topping, as a multiple of its table's count: busy pizzas carry fewer of each."""
        return dict.fromkeys(toppings, max(0.6, 1 - 0.06 * (len(toppings) - 1)))

    def _scatter(self, draw, ingredient_id, portions, crowd, seed, n, cx, cy, inner, rotation) -> Pieces:
        """The pieces of one topping, placed uniformly over the sauce in polar coordinates."""
        spec = TOPPINGS[ingredient_id]
        rng = np.random.default_rng([seed, 1 + self.vocabulary.index(ingredient_id)])
        count = max(1, round(spec.count * crowd * (1.9 if portions > 1 else 1) * rng.uniform(0.85, 1.15)))
        size = spec.size * 2 * inner / 0.88 * rng.uniform(0.8, 1.2, count)
        # A jittered sunflower spiral: spread evenly, as a cook spreads a topping, yet never a grid.
        i = rng.permutation(count) + rng.uniform(0.1, 0.9, count)
        rho = np.sqrt(i / count) * (inner - size * 0.8)
        phi = rotation + rng.uniform(0, 2 * math.pi) + vogel_angle(i) + rng.normal(0, 0.25, count)
        xy = np.stack([cx + rho * np.cos(phi), cy + rho * np.sin(phi)], axis=1)
        angle = rng.uniform(0, 2 * math.pi, count)
        shade = rng.normal(1, 0.05, (count, 1))
        variant = self._paint_pieces(draw, ingredient_id, xy, size, angle, shade, rng, n)
        return Pieces(xy / n, size / n, angle, shade[:, 0], variant)

    def _paint_pieces(self, draw, ingredient_id, xy, size, angle, shade, rng, n) -> Optional[np.ndarray]:
        """Draw one topping's pieces (centres xy (k, 2), half-widths size (k,) in canvas pixels, angles,
        shades (k, 1)) on the layer; returns which sprite each piece is, where pieces come from a bank."""
        spec = self._look(ingredient_id)
        fill = [tuple(c) for c in np.clip(_rgb(spec.colour) * shade, 0, 255).astype(int).tolist()]
        detail = [tuple(c) for c in np.clip(_rgb(spec.detail) * shade, 0, 255).astype(int).tolist()]
        SHAPES[spec.shape](draw, xy, size, angle, rng, fill, detail, max(1, n // 96))
        return None

    def _look(self, ingredient_id: str) -> Topping:
        """How a topping's pieces are drawn (shape, colours); where, how big and how many is ``TOPPINGS``' alone."""
        return TOPPINGS[ingredient_id]

    def _drizzle(self, draw, ingredient_id, portions, seed, n, cx, cy, inner, rotation) -> "Stroke":
        """A zig-zag line over the top; condensed milk is drizzled thin and white over its own base."""
        rng = np.random.default_rng([seed, 1 + self.vocabulary.index(ingredient_id)])
        colour = self._drizzle_colour(ingredient_id)
        passes = int(rng.integers(9, 13)) * (2 if portions > 1 else 1)
        v = np.linspace(-0.9, 0.9, passes) * inner + rng.normal(0, 0.01 * inner, passes)
        u = np.sqrt(np.maximum(inner * inner * 0.92 - v * v, 0)) * np.where(np.arange(passes) % 2, 1, -1)
        a = rotation + rng.uniform(-0.5, 0.5)
        c, s = math.cos(a), math.sin(a)
        pts = np.stack([cx + c * u - s * v, cy + s * u + c * v], axis=1).ravel().tolist()
        self._drizzle_line(draw, pts, colour, n * (0.013 if ingredient_id == "condensed_milk" else 0.024), inner)
        return Stroke(a, passes)

    def _drizzle_line(self, draw, pts: list[float], colour, width: float, inner: float) -> None:
        """Lay a drizzle's zig-zag through ``pts`` (x0, y0, x1, y1, ...), ``width`` canvas px wide: straight and even."""
        draw.line(pts, fill=colour, width=max(1, round(width)), joint="curve")

    def _drizzle_colour(self, ingredient_id: str) -> tuple[int, int, int]:
        return DRIZZLES.get(ingredient_id, (255, 253, 246))

    @staticmethod
    def _layer_canvas(n: int):
        layer = Image.new("RGBA", (n, n), (0, 0, 0, 0))
        return layer, ImageDraw.Draw(layer)

    def _premultiplied(self, layer: Image.Image) -> np.ndarray:
        # Pieces are drawn opaque on a transparent canvas (sub-pixel alpha is 0 or 255, colour 0
        # where transparent), so the box filter of the colour channels alone is premultiplied colour.
        k = self.supersample
        rgb, alpha = layer.convert("RGB"), layer.getchannel("A")
        if k > 1:
            rgb, alpha = rgb.reduce(k), alpha.reduce(k)
        rgba = np.empty((rgb.height, rgb.width, 4), np.float32)
        rgba[..., :3] = np.asarray(rgb)
        rgba[..., 3] = np.asarray(alpha) * np.float32(1 / 255)
        return rgba  # (S, S, 4): colour in [0, 255] premultiplied by alpha, alpha in [0, 1]

    @staticmethod
    def _light(canvas: _Canvas, rng: np.random.Generator) -> "Light":
        """A soft directional light, exposure, white balance and saturation jitter."""
        a = float(rng.uniform(0, 2 * math.pi))
        strength = float(rng.uniform(0.0, 0.05))
        gain = float(rng.normal(1.0, 0.025)) + strength * (math.cos(a) * canvas.x + math.sin(a) * canvas.y)
        white = rng.normal(1, 0.015, 3).astype(np.float32)
        return Light(gain[..., None] * white, float(rng.uniform(0.9, 1.1)))


@dataclass(frozen=True)
class Geometry:
    """Where the pizza lies, as fractions of the image side: centre, outer and inner (sauce) radius,
    and the rotation (radians) that slice cuts, spirals of pieces and drizzles follow."""

    cx: float
    cy: float
    radius: float
    inner: float
    rotation: float


@dataclass(frozen=True)
class Pieces:
    """One topping's pieces as the kitchen placed them; lengths as fractions of the image side."""

    xy: np.ndarray  # (n, 2) centres
    size: np.ndarray  # (n,) half-widths
    angle: np.ndarray  # (n,) radians
    shade: np.ndarray  # (n,) brightness factor of the piece's colours
    variant: Optional[np.ndarray] = None  # (n,) which sprite of the topping's bank each piece is (painted kitchen)


@dataclass(frozen=True)
class Stroke:
    """One drizzle as the kitchen drew it: the zig-zag's direction (radians) and its number of passes."""

    angle: float
    passes: int


@dataclass(frozen=True)
class Light:
    """The photo's light: a per-pixel, per-channel gain, then a saturation factor around grey."""

    gain: np.ndarray  # (S, S, 3)
    saturation: float

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Light an (S, S, 3) float picture in [0, 255]; returns float, unclipped."""
        rgb = rgb * self.gain
        grey = rgb.mean(axis=2, keepdims=True)
        return grey + (rgb - grey) * self.saturation


@dataclass(frozen=True)
class PizzaLayers:
    """A kitchen pizza taken apart: ``image()`` puts it back together exactly as ``render`` draws it."""

    base: np.ndarray  # (S, S, 3) float in [0, 255]: background, crust, sauce, cheese, slice cuts; unlit
    layers: list  # [(ingredient_id, (S, S, 4) premultiplied RGBA: colour in [0, 255], alpha in [0, 1])]
    light: Light
    geometry: Geometry
    pieces: dict  # ingredient_id -> Pieces, for every topping
    strokes: dict  # ingredient_id -> Stroke, for every drizzle

    def composite(self, upto: Optional[int] = None) -> np.ndarray:
        """The unlit (S, S, 3) float picture: each layer laid "over" the ones before it, in order."""
        rgb = self.base.copy()  # the caller may change the picture; the base stays whole
        for _, rgba in self.layers[:upto]:
            rgb = over(rgb, rgba[..., :3], rgba[..., 3:])
        return rgb

    def image(self) -> Image.Image:
        """The lit photo, as ``Kitchen.render`` returns it."""
        return Image.fromarray(np.clip(self.light.apply(self.composite()), 0, 255).astype(np.uint8), "RGB")
