"""The kitchen's piece shapes: each topping's pieces drawn as ImageDraw primitives.

Shapes are unit polygons in the piece's own frame (x along its length), scaled and rotated per
piece in one numpy expression, then handed to ImageDraw. Every drawing function has the signature
``(draw, xy (n, 2), size (n,), angle (n,), rng, fill, detail, width)``; ``SHAPES`` names them.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np



def _circle(k: int, sx: float = 1.0, sy: float = 1.0, a0: float = 0.0, a1: float = 2 * math.pi) -> np.ndarray:
    a = np.linspace(a0, a1, k, endpoint=(a1 - a0) < 2 * math.pi - 1e-6)
    return np.stack([sx * np.cos(a), sy * np.sin(a)], axis=1)


_SQUARE = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * 0.8
_STRIP = np.array([[-1, -0.22], [1, -0.28], [1, 0.22], [-1, 0.28]], float)
_WEDGE = np.array([[-0.9, -0.8], [0.9, -0.8], [0.5, 0.8], [-0.5, 0.8]], float)
_BACON = np.array([[-1, -0.42], [1, -0.36], [1, 0.42], [-1, 0.36]], float)
_FAT = np.array([[-0.95, -0.06], [0.95, -0.02], [0.95, 0.12], [-0.95, 0.1]], float)
_MUSHROOM = np.concatenate([_circle(11, 1.0, -0.8, 0, math.pi) + [0, 0.1],
                            [[-1, 0.1], [-0.28, 0.1], [-0.28, 0.75], [0.28, 0.75], [0.28, 0.1]]])
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


SHAPES: dict[str, Callable] = {
    "disc": _draw_disc, "square": _draw_polygon(_SQUARE), "slice": _draw_irregular(6, 0.6, 1.05),
    "bacon": _draw_bacon, "chunk": _draw_irregular(7, 0.6, 1.05), "mushroom": _draw_polygon(_MUSHROOM),
    "tomato": _draw_tomato, "wedge": _draw_polygon(_WEDGE), "oval": _draw_polygon(_OVAL),
    "shrimp": _draw_shrimp, "pickle": _draw_pickle, "crumb": _draw_irregular(5, 0.5, 1.1, rim=False),
    "ring": _draw_ring, "arc": _draw_arc, "strip": _draw_polygon(_STRIP), "jalapeno": _draw_jalapeno,
    "berry": _draw_berry, "flake": _draw_irregular(5, 0.5, 1.0), "leaf": _draw_leaf, "fleck": _draw_fleck,
}
