"""The kitchen: a procedural renderer of photo-like top-down pizzas, and a sampler of menu recipes.

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

``sample_recipe(rng)`` draws realistic recipes: one base sauce (tomato about 80%; condensed milk,
the dessert base, rarely and usually without mozzarella), mozzarella about 90% of the time,
1 to 7 toppings weighted like the dodo20 menu (with a floor so every topping appears in several
percent of recipes), a double portion in about 8% and a drizzle in about 10%, at most 9 portions.

``HELD_OUT_RECIPES`` are 16 fixed combinations the sampler never returns (unless asked to): unusual
but plausible pizzas, none on the dodo20 menu, each of whose ingredients is common in training
recipes. A model trained on sampled recipes is tested on them for generalisation to new
combinations; ``is_held_out`` recognises them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

from pizza_models.recipe import (
    CHEESE, DEFAULT_VOCABULARY, DRIZZLE, MAX_PORTIONS, SAUCE, TOPPING,
    Recipe, RecipeLike, Vocabulary, parse_recipe,
)

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
    shape: str  # a key of _SHAPES
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
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
DRAWABLE = frozenset(SAUCES) | frozenset(TOPPINGS) | frozenset(DRIZZLES) | {"mozzarella"}

# --------------------------------------------------------------------------------------------
# Piece shapes: unit polygons in the piece's own frame (x along its length), scaled and rotated
# per piece in one numpy expression, then handed to ImageDraw.


def _circle(k: int, sx: float = 1.0, sy: float = 1.0, a0: float = 0.0, a1: float = 2 * math.pi) -> np.ndarray:
    a = np.linspace(a0, a1, k, endpoint=(a1 - a0) < 2 * math.pi - 1e-6)
    return np.stack([sx * np.cos(a), sy * np.sin(a)], axis=1)


_SQUARE = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * 0.8
_STRIP = np.array([[-1, -0.22], [1, -0.28], [1, 0.22], [-1, 0.28]], float)
_WEDGE = np.array([[-0.9, -0.8], [0.9, -0.8], [0.5, 0.8], [-0.5, 0.8]], float)
_BACON = np.array([[-1, -0.42], [1, -0.36], [1, 0.42], [-1, 0.36]], float)
_FAT = np.array([[-0.95, -0.06], [0.95, -0.02], [0.95, 0.12], [-0.95, 0.1]], float)
_MUSHROOM = np.concatenate([_circle(11, 1.0, -0.8, 0, math.pi) + [0, 0.1], [[-1, 0.1], [-0.28, 0.1], [-0.28, 0.75], [0.28, 0.75], [0.28, 0.1]]])
_CURL = np.concatenate([_circle(10, 1, 1, -0.3, 3.9), _circle(10, 0.45, 0.45, -0.3, 3.9)[::-1]])
_LEAF = np.concatenate([_circle(7, 1, 0.5, 0, math.pi), _circle(7, 1, 0.5, math.pi, 2 * math.pi)])
_OVAL = _circle(10, 1.0, 0.7)


def _place(xy: np.ndarray, template: np.ndarray, size: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(n, k, 2) polygon vertices: each piece's template scaled, rotated and moved to its centre."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    tx, ty = template[None, :, 0] * size[:, None], template[None, :, 1] * size[:, None]
    return np.stack([xy[:, :1] + c * tx - s * ty, xy[:, 1:] + s * tx + c * ty], axis=2)


def _polygons(draw, pts, fills, outlines=None, width=1):
    for i, p in enumerate(pts):
        draw.polygon(p.ravel().tolist(), fill=fills[i], outline=None if outlines is None else outlines[i], width=width)


def _boxes(xy: np.ndarray, r: np.ndarray) -> list:
    return np.concatenate([xy - r[:, None], xy + r[:, None]], axis=1).tolist()


def _draw_polygon(template, rim=True):
    def draw_fn(draw, xy, size, angle, rng, fill, detail, w):
        _polygons(draw, _place(xy, template, size, angle), fill, detail if rim else None, w)
    return draw_fn


def _draw_irregular(k, low, high, rim=True):
    # Chunks and crumbs: a circle with a random radius per vertex, so no two pieces look alike.
    def draw_fn(draw, xy, size, angle, rng, fill, detail, w):
        radii = rng.uniform(low, high, (len(xy), k, 1))
        pts = xy[:, None] + _place(np.zeros_like(xy), _circle(k), size, angle) * radii
        _polygons(draw, pts, fill, detail if rim else None, w)
    return draw_fn


def _draw_disc(draw, xy, size, angle, rng, fill, detail, w):
    for box, f, d in zip(_boxes(xy, size), fill, detail):
        draw.ellipse(box, fill=f, outline=d, width=2 * w)


def _draw_pickle(draw, xy, size, angle, rng, fill, detail, w):
    for box, inner, f, d in zip(_boxes(xy, size), _boxes(xy, size * 0.55), fill, detail):
        draw.ellipse(box, fill=f, outline=tuple(int(c * 0.6) for c in f), width=w)
        draw.ellipse(inner, outline=d, width=w)


def _draw_shrimp(draw, xy, size, angle, rng, fill, detail, w):
    _polygons(draw, _place(xy, _CURL, size, angle), fill, [tuple(int(c * 0.8) for c in f) for f in fill], w)
    start = np.degrees(angle)
    for box, a, d in zip(_boxes(xy, size * 0.72), start, detail):
        draw.arc(box, a, a + 200, fill=d, width=w)


def _draw_jalapeno(draw, xy, size, angle, rng, fill, detail, w):
    for box, inner, f, d in zip(_boxes(xy, size), _boxes(xy, size * 0.62), fill, detail):
        draw.ellipse(box, fill=f)
        draw.ellipse(inner, fill=d)
    for box in _boxes(xy + size[:, None] * rng.uniform(-0.3, 0.3, xy.shape), size * 0.14):
        draw.ellipse(box, fill=(250, 250, 220))


def _draw_ring(draw, xy, size, angle, rng, fill, detail, w):
    for box, f, s in zip(_boxes(xy, size), fill, size):
        draw.ellipse(box, outline=f, width=max(1, int(s * 0.75)))


def _draw_arc(draw, xy, size, angle, rng, fill, detail, w):
    start = np.degrees(angle)
    span = rng.uniform(90, 220, len(xy))
    for box, a, b, f, s in zip(_boxes(xy, size), start, start + span, fill, size):
        draw.arc(box, a, b, fill=f, width=max(1, int(s * 0.3)))


_draw_tomato_flesh = _draw_irregular(6, 0.8, 1.1, rim=False)


def _draw_tomato(draw, xy, size, angle, rng, fill, detail, w):
    _draw_tomato_flesh(draw, xy, size, angle, rng, fill, detail, w)
    for box, d in zip(_boxes(xy + size[:, None] * rng.uniform(-0.35, 0.35, xy.shape), size * 0.3), detail):
        draw.ellipse(box, fill=d)


def _draw_bacon(draw, xy, size, angle, rng, fill, detail, w):
    _polygons(draw, _place(xy, _BACON, size, angle), fill)
    _polygons(draw, _place(xy, _FAT, size, angle), detail)


def _draw_leaf(draw, xy, size, angle, rng, fill, detail, w):
    _polygons(draw, _place(xy, _LEAF, size, angle), fill)
    for p, d in zip(_place(xy, np.array([[-0.9, 0], [0.8, 0]]), size, angle), detail):
        draw.line(p.ravel().tolist(), fill=d, width=w)


def _draw_berry(draw, xy, size, angle, rng, fill, detail, w):
    for box, hl, f, d in zip(_boxes(xy, size), _boxes(xy - size[:, None] * 0.35, size * 0.3), fill, detail):
        draw.ellipse(box, fill=f)
        draw.ellipse(hl, fill=d)


def _draw_fleck(draw, xy, size, angle, rng, fill, detail, w):
    for box, f in zip(_boxes(xy, size * rng.uniform(0.6, 1.4, len(xy))), fill):
        draw.rectangle(box, fill=f)


_SHAPES: dict[str, Callable] = {
    "disc": _draw_disc, "square": _draw_polygon(_SQUARE), "slice": _draw_irregular(6, 0.6, 1.05),
    "bacon": _draw_bacon, "chunk": _draw_irregular(7, 0.6, 1.05), "mushroom": _draw_polygon(_MUSHROOM),
    "tomato": _draw_tomato, "wedge": _draw_polygon(_WEDGE), "oval": _draw_polygon(_OVAL),
    "shrimp": _draw_shrimp, "pickle": _draw_pickle, "crumb": _draw_irregular(5, 0.5, 1.1, rim=False),
    "ring": _draw_ring, "arc": _draw_arc, "strip": _draw_polygon(_STRIP), "jalapeno": _draw_jalapeno,
    "berry": _draw_berry, "flake": _draw_irregular(5, 0.5, 1.0), "leaf": _draw_leaf, "fleck": _draw_fleck,
}

# --------------------------------------------------------------------------------------------


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

    def can_draw(self, ingredient_id: str) -> bool:
        """Whether the kitchen has a drawing for this ingredient id."""
        return ingredient_id in DRAWABLE

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

        # Geometry as fractions of the image side; the pizza always lies fully inside the frame.
        radius = float(rng.uniform(0.45, 0.476))
        slack = 0.479 - radius
        cx, cy = (0.5 + rng.uniform(-slack, slack, 2)).tolist()
        inner = radius * (1 - float(rng.uniform(0.1, 0.13)))
        rotation = float(rng.uniform(0, 2 * math.pi))
        geometry = Geometry(cx, cy, radius, inner, rotation)

        n = size * self.supersample
        img = self._base(recipe, canvas, rng, cx, cy, radius, inner)
        if n != size:
            img = img.resize((n, n), Image.BILINEAR)
        draw = ImageDraw.Draw(img)
        cx, cy, radius, inner = cx * n, cy * n, radius * n, inner * n
        if rng.random() < 0.4:  # slice cuts, as many menu photos show
            k = int(rng.choice([6, 8]))
            for a in rotation + np.arange(k // 2) * math.pi / (k // 2):
                dx, dy = math.cos(a) * radius * 0.97, math.sin(a) * radius * 0.97
                draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=(214, 160, 104), width=max(1, n // 160))
        base = np.asarray(img.reduce(self.supersample) if n != size else img, np.float32)

        layers, pieces, strokes = [], {}, {}
        toppings = sorted((i for i in recipe.ingredients if i in TOPPINGS), key=lambda i: TOPPINGS[i].layer)
        crowd = max(0.6, 1 - 0.06 * (len(toppings) - 1))  # busy pizzas carry fewer pieces of each
        for ingredient_id in toppings:
            layer, draw = self._layer_canvas(n)
            pieces[ingredient_id] = self._scatter(
                draw, ingredient_id, recipe.count(ingredient_id), crowd, seed, n, cx, cy, inner, rotation)
            layers.append((ingredient_id, self._premultiplied(layer)))
        for ingredient_id in (i for i in recipe.ingredients if i in DRIZZLES or i == "condensed_milk"):
            layer, draw = self._layer_canvas(n)
            strokes[ingredient_id] = self._drizzle(
                draw, ingredient_id, recipe.count(ingredient_id), seed, n, cx, cy, inner, rotation)
            layers.append((ingredient_id, self._premultiplied(layer)))
        return PizzaLayers(base, layers, self._light(canvas, rng), geometry, pieces, strokes)

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

    def _scatter(self, draw, ingredient_id, portions, crowd, seed, n, cx, cy, inner, rotation) -> Pieces:
        """The pieces of one topping, placed uniformly over the sauce in polar coordinates."""
        spec = TOPPINGS[ingredient_id]
        rng = np.random.default_rng([seed, 1 + self.vocabulary.index(ingredient_id)])
        count = max(1, round(spec.count * crowd * (1.9 if portions > 1 else 1) * rng.uniform(0.85, 1.15)))
        size = spec.size * 2 * inner / 0.88 * rng.uniform(0.8, 1.2, count)
        # A jittered sunflower spiral: spread evenly, as a cook spreads a topping, yet never a grid.
        i = rng.permutation(count) + rng.uniform(0.1, 0.9, count)
        rho = np.sqrt(i / count) * (inner - size * 0.8)
        phi = rotation + rng.uniform(0, 2 * math.pi) + i * GOLDEN_ANGLE + rng.normal(0, 0.25, count)
        xy = np.stack([cx + rho * np.cos(phi), cy + rho * np.sin(phi)], axis=1)
        angle = rng.uniform(0, 2 * math.pi, count)
        shade = rng.normal(1, 0.05, (count, 1))
        fill = [tuple(c) for c in np.clip(_rgb(spec.colour) * shade, 0, 255).astype(int).tolist()]
        detail = [tuple(c) for c in np.clip(_rgb(spec.detail) * shade, 0, 255).astype(int).tolist()]
        _SHAPES[spec.shape](draw, xy, size, angle, rng, fill, detail, max(1, n // 96))
        return Pieces(xy / n, size / n, angle, shade[:, 0])

    def _drizzle(self, draw, ingredient_id, portions, seed, n, cx, cy, inner, rotation) -> "Stroke":
        """A zig-zag line over the top; condensed milk is drizzled thin and white over its own base."""
        rng = np.random.default_rng([seed, 1 + self.vocabulary.index(ingredient_id)])
        colour = DRIZZLES.get(ingredient_id, (255, 253, 246))
        passes = int(rng.integers(9, 13)) * (2 if portions > 1 else 1)
        v = np.linspace(-0.9, 0.9, passes) * inner + rng.normal(0, 0.01 * inner, passes)
        u = np.sqrt(np.maximum(inner * inner * 0.92 - v * v, 0)) * np.where(np.arange(passes) % 2, 1, -1)
        a = rotation + rng.uniform(-0.5, 0.5)
        c, s = math.cos(a), math.sin(a)
        pts = np.stack([cx + c * u - s * v, cy + s * u + c * v], axis=1).ravel().tolist()
        width = max(1, round(n * (0.013 if ingredient_id == "condensed_milk" else 0.024)))
        draw.line(pts, fill=colour, width=width, joint="curve")
        return Stroke(a, passes)

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
        rgb = self.base.copy()
        for _, rgba in self.layers[:upto]:
            rgb *= 1 - rgba[..., 3:]
            rgb += rgba[..., :3]
        return rgb

    def image(self) -> Image.Image:
        """The lit photo, as ``Kitchen.render`` returns it."""
        return Image.fromarray(np.clip(self.light.apply(self.composite()), 0, 255).astype(np.uint8), "RGB")


# --------------------------------------------------------------------------------------------
# Recipes

# How many of the 20 dodo20 menu pizzas carry each topping (ingredients.csv); the floor keeps the
# rare ones frequent enough to learn.
MENU_COUNTS = {
    "red_onion": 7, "tomatoes": 7, "chicken": 7, "pepperoni": 7, "mushrooms": 6, "ham": 5,
    "bacon": 4, "oregano": 4, "olives": 4, "bell_pepper": 4, "feta": 3, "pineapple": 2,
}
TOPPING_FLOOR = 2.0
BASES = {"tomato_sauce": 0.8, "cheese_sauce": 0.08, "ranch_sauce": 0.06, "condensed_milk": 0.04, None: 0.02}
TOPPING_COUNTS = np.array([0.13, 0.2, 0.2, 0.17, 0.13, 0.1, 0.07])  # P(1..7 toppings)


def _held_out(*recipes: str) -> tuple[Recipe, ...]:
    return tuple(parse_recipe(r) for r in recipes)


HELD_OUT_RECIPES: tuple[Recipe, ...] = _held_out(
    "tomato_sauce, mozzarella, pineapple, jalapeno",
    "tomato_sauce, mozzarella, shrimp, pineapple",
    "tomato_sauce, mozzarella, pepperoni, mushrooms, olives",
    "cheese_sauce, mozzarella, ham, pineapple",
    "ranch_sauce, mozzarella, bacon, mushrooms",
    "tomato_sauce, mozzarella, chicken, bell_pepper, basil",
    "tomato_sauce, mozzarella, beef, red_onion, jalapeno",
    "tomato_sauce, mozzarella, feta, tomatoes, olives, basil",
    "tomato_sauce, mozzarella, pepperoni, pepperoni, jalapeno",
    "tomato_sauce, mozzarella, hunter_sausages, pickles, red_onion",
    "cheese_sauce, mozzarella, shrimp, garlic",
    "tomato_sauce, mozzarella, ground_beef, mushrooms, oregano",
    "tomato_sauce, mozzarella, chicken, pineapple, bbq_sauce",
    "tomato_sauce, mozzarella, bacon, tomatoes, sweet_sour_sauce",
    "tomato_sauce, mozzarella, ham, feta, bell_pepper",
    "condensed_milk, pineapple, lingonberry, basil",
)
_HELD_OUT = frozenset(HELD_OUT_RECIPES)


def is_held_out(recipe: RecipeLike, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> bool:
    """Whether the recipe is one of ``HELD_OUT_RECIPES`` (same ingredients and portions)."""
    return parse_recipe(recipe, vocabulary, allow_empty=True) in _HELD_OUT


def single_ingredient_recipe(ingredient_id: str, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> Recipe:
    """The pizza that shows one ingredient: it on tomato sauce and mozzarella.

    A sauce comes with mozzarella only, mozzarella on tomato sauce, and tomato sauce alone, so
    that each of the 28 pizzas differs from the others.
    """
    ingredient_id = vocabulary.ingredients[vocabulary.index(ingredient_id)].id
    kind = vocabulary.ingredients[vocabulary.index(ingredient_id)].kind
    if ingredient_id == "tomato_sauce":  # with mozzarella it would be the mozzarella pizza
        return parse_recipe([ingredient_id], vocabulary)
    base = ["mozzarella"] if kind == SAUCE else ["tomato_sauce", "mozzarella"]
    return parse_recipe(base + ([] if kind == CHEESE else [ingredient_id]), vocabulary)


def sample_recipe(rng: np.random.Generator, vocabulary: Vocabulary = DEFAULT_VOCABULARY,
                  include_held_out: bool = False) -> Recipe:
    """A realistic random recipe (see the module docstring); never a held-out one unless asked."""
    by_kind = {kind: [i.id for i in vocabulary if i.kind == kind] for kind in (SAUCE, CHEESE, TOPPING, DRIZZLE)}
    toppings = by_kind[TOPPING]
    weights = np.array([MENU_COUNTS.get(i, 1) + TOPPING_FLOOR for i in toppings], float)
    bases = [b for b in BASES if b is None or b in by_kind[SAUCE]]
    base_p = np.array([BASES[b] for b in bases]) / sum(BASES[b] for b in bases)
    while True:
        base = bases[rng.choice(len(bases), p=base_p)]
        dessert = base == "condensed_milk"
        portions = [] if base is None else [base]
        if by_kind[CHEESE] and rng.random() < (0.3 if dessert else 0.9):
            portions.append(by_kind[CHEESE][0])
        k = min(len(toppings), 1 + rng.choice(len(TOPPING_COUNTS), p=TOPPING_COUNTS))
        w = weights * np.array([4.0 if dessert and i in ("pineapple", "lingonberry") else 1.0 for i in toppings])
        if k:
            portions += [toppings[j] for j in rng.choice(len(toppings), size=k, replace=False, p=w / w.sum())]
        if by_kind[DRIZZLE] and rng.random() < 0.1:
            portions.append(by_kind[DRIZZLE][rng.integers(len(by_kind[DRIZZLE]))])
        if rng.random() < 0.08:
            doublable = [p for p in portions if p not in by_kind[SAUCE]]
            if doublable:
                portions.append(doublable[rng.integers(len(doublable))])
        while len(portions) > MAX_PORTIONS:  # drop toppings, never the base
            extra = [j for j, p in enumerate(portions) if p in toppings]
            portions.pop(extra[-1])
        if not portions:
            continue
        recipe = parse_recipe(portions, vocabulary)
        if include_held_out or recipe not in _HELD_OUT:
            return recipe
