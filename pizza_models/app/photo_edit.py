"""Restyle a real photo as layer edits on the photo itself.

The photo reader (``photo_reader.PhotoReader``) reads which pixels of the photo show each topping of
its recipe; then

- ``remove`` refills a topping's pixels with the photo's own base: the photo turned about the pizza's
  centre, where the turned photo shows crust, sauce or cheese at the same distance from the centre
  (the same kind of surface, with its own sauce specks and browning), not a kitchen base;
- ``add`` lays the painted kitchen's pieces (or drizzle) of an ingredient, placed and shadowed as the
  painted kitchen places them, as densely as the photos are covered (``portion_kitchen``), fitted to
  the photo's disc; a double portion lays more pieces.

Everything happens at the photo's own resolution (its longer side at most ``MAX_SIDE``); the layers,
read at the reader's size, are upsampled smoothly. Every pixel outside the edited layers is exactly
as uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..data import to_tensor
from ..kitchen.bank import layer_palette
from ..kitchen.painted import PHOTO_COVERAGE, PaintedKitchen
from ..families.photo_reader import PhotoReader, read_layers
from ..framing import disc_box
from ..recipe import MAX_PORTIONS, Recipe, RecipeLike, parse_recipe

MAX_SIDE = 512  # photos are edited at their own resolution up to this
INNER = 0.84  # the sauce disc over the pizza's radius, as in the menu photos
RENDER_SIDE = 256  # the painted kitchen draws added pieces at this size, then they are fitted to the photo
TURNS = (30, -30, 60, -60, 90, -90, 120, -120, 150, -150, 180, 45, -45, 135, -135)  # degrees tried when refilling


@dataclass(frozen=True)
class PhotoReading:
    """A photo taken apart: the photo (H, W, 3) uint8, the square ``box`` (left, top, side) around its
    pizza (it may reach past the photo's edges), ``shows`` (side, side) int the layer each box pixel
    shows (0 base, k ``layers[k - 1]``), and the recipe it was read with."""

    photo: np.ndarray
    box: tuple[int, int, int]
    shows: np.ndarray
    layers: tuple[str, ...]
    recipe: Recipe

    def crop(self) -> np.ndarray:
        """(side, side, 3) uint8: the box, padded with the photo's edge pixels where it leaves the photo."""
        left, top, side = self.box
        h, w = self.photo.shape[:2]
        ys = np.clip(np.arange(top, top + side), 0, h - 1)
        xs = np.clip(np.arange(left, left + side), 0, w - 1)
        return self.photo[ys[:, None], xs[None, :]]

    def paste(self, crop: np.ndarray) -> np.ndarray:
        """The photo with the box's pixels from ``crop`` (side, side, 3); what lies outside the photo is dropped."""
        left, top, side = self.box
        h, w = self.photo.shape[:2]
        out = self.photo.copy()
        y0, x0, y1, x1 = max(0, top), max(0, left), min(h, top + side), min(w, left + side)
        out[y0:y1, x0:x1] = crop[y0 - top:y1 - top, x0 - left:x1 - left]
        return out

    def mask(self, ingredient: str) -> np.ndarray:
        """(side, side) bool: the box pixels that show ``ingredient``."""
        return self.shows == 1 + self.layers.index(ingredient)


def fit_photo(image: Image.Image, max_side: int = MAX_SIDE) -> np.ndarray:
    """The photo as (H, W, 3) uint8, its longer side at most ``max_side``."""
    image = image.convert("RGB")
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    return np.asarray(image).copy()


def fit_photo_image(image: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """``fit_photo`` as a PIL image: the photo as a photo edit works on it."""
    return Image.fromarray(fit_photo(image, max_side))


def read(reader: PhotoReader, image: Image.Image, recipe: RecipeLike, box: tuple[int, int, int]) -> PhotoReading:
    """Read the layers of ``image`` (already at the edit size) inside ``box`` (left, top, side) for ``recipe``."""
    recipe = parse_recipe(recipe, reader.config.vocabulary, allow_empty=True)
    photo = np.asarray(image.convert("RGB")).copy()
    reading = PhotoReading(photo, box, np.zeros((box[2], box[2]), np.int64), reader.config.layers, recipe)
    x = to_tensor(Image.fromarray(reading.crop()), reader.config.image_size)[None]  # (1, 3, S, S) in [-1, 1]
    shows = read_layers(reader, x, recipe, box[2])
    return PhotoReading(photo, box, shows, reader.config.layers, recipe)


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """(H, W) bool mask dilated by ``pixels`` (a square neighbourhood)."""
    if pixels <= 0:
        return mask
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    return F.max_pool2d(m, 2 * pixels + 1, stride=1, padding=pixels)[0, 0].numpy() > 0


def _turned(array: np.ndarray, degrees: float, nearest: bool) -> np.ndarray:
    """An (S, S[, 3]) uint8 array turned about its centre."""
    image = Image.fromarray(array)
    return np.asarray(image.rotate(degrees, Image.NEAREST if nearest else Image.BILINEAR))


def remove(reading: PhotoReading, ingredient: str) -> np.ndarray:
    """The photo (H, W, 3) uint8 with ``ingredient``'s pixels (and a thin rim around them, its edges and
    shadow) refilled from the photo's own base at the same distance from the centre."""
    crop, side = reading.crop(), reading.box[2]
    hole = _grow(reading.mask(ingredient), max(1, round(side / 64)))  # the reading is coarse: take the rim too
    base = ((reading.shows == 0) & ~_grow(reading.shows > 0, max(1, round(side / 128)))).astype(np.uint8) * 255
    filled = crop.copy()
    todo = hole.copy()
    for degrees in TURNS:
        if not todo.any():
            break
        source_ok = _turned(base, degrees, nearest=True) > 0
        take = todo & source_ok
        filled[take] = _turned(crop, degrees, nearest=False)[take]
        todo &= ~take
    for _ in range(side):  # what no turn covered: grown in from the filled neighbours
        if not todo.any():
            break
        known = torch.from_numpy((~todo).astype(np.float32))[None, None]
        colour = torch.from_numpy(filled.astype(np.float32)).permute(2, 0, 1)[None] * known
        total = F.avg_pool2d(colour, 3, 1, 1, count_include_pad=False)
        weight = F.avg_pool2d(known, 3, 1, 1, count_include_pad=False)
        reach = (weight[0, 0] > 0).numpy() & todo
        mean = (total / weight.clamp(min=1e-6))[0].permute(1, 2, 0).numpy()
        filled[reach] = np.clip(mean[reach] + 0.5, 0, 255).astype(np.uint8)
        todo &= ~reach
    return reading.paste(np.where(hole[..., None], filled, crop))


def portion_kitchen() -> PaintedKitchen:
    """The kitchen that lays added pieces: the painted one at the photos' density (``PHOTO_COVERAGE``), so
    a portion laid on a photo is as many pieces as its own toppings have, not the sparser clip-art count."""
    return PaintedKitchen(coverage=PHOTO_COVERAGE)


def _fitted_layer(kitchen: PaintedKitchen, recipe: Recipe, ingredient: str, seed: int, side: int) -> np.ndarray:
    """``ingredient``'s layer of the painted kitchen's pizza for ``recipe``, its sauce disc fitted to the
    box's: (side, side, 4) float, colour in [0, 255] premultiplied by alpha in [0, 1]."""
    parts = kitchen.render_layers(recipe, seed, RENDER_SIDE)
    rgba = next(layer for name, layer in parts.layers if name == ingredient)  # (N, N, 4)
    g, n = parts.geometry, RENDER_SIDE
    inner = side / 2 / 1.04 * INNER  # the box frames the disc with a 4% margin (framing.disc_box)
    scale = g.inner * n / inner  # kitchen px per box px
    centre = (np.arange(side, dtype=np.float32) + 0.5 - side / 2) * scale
    gx = (g.cx * n + centre) * 2 / n - 1
    gy = (g.cy * n + centre) * 2 / n - 1
    grid = torch.from_numpy(np.stack(np.broadcast_arrays(gx[None, :], gy[:, None]), -1))[None]  # (1, side, side, 2)
    layer = torch.from_numpy(np.ascontiguousarray(rgba)).permute(2, 0, 1)[None]
    fitted = F.grid_sample(layer, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return fitted[0].permute(1, 2, 0).numpy()


def add(reading: PhotoReading, ingredient: str, portions: int = 1, seed: int = 0,
        kitchen: Optional[PaintedKitchen] = None) -> np.ndarray:
    """The photo (H, W, 3) uint8 with ``portions`` portions of ``ingredient`` laid on it as the painted
    kitchen lays them (pieces with their contact shadow, or a drizzle), fitted to the photo's disc; by default
    ``portion_kitchen``'s pieces."""
    kitchen = kitchen or portion_kitchen()
    # The kitchen spreads fewer pieces on busy pizzas: it is told the photo's other toppings too.
    others = [i for i in reading.recipe.ingredients if i != ingredient][:MAX_PORTIONS - portions]
    recipe = parse_recipe(others + [ingredient] * portions)
    layer = _fitted_layer(kitchen, recipe, ingredient, seed, reading.box[2])
    crop = reading.crop().astype(np.float32)
    alpha = layer[..., 3:]
    laid = np.clip(crop * (1 - alpha) + layer[..., :3] + 0.5, 0, 255).astype(np.uint8)
    return reading.paste(np.where(alpha > 0, laid, reading.crop()))


def reading_image(reading: PhotoReading, opacity: float = 0.6) -> Image.Image:
    """The photo with each read layer tinted in its own colour (``bank.layer_palette``), the base untouched."""
    palette = layer_palette()
    crop = reading.crop().astype(np.float32)
    tint = palette[reading.shows]
    shown = np.where((reading.shows > 0)[..., None], crop * (1 - opacity) + tint * opacity, crop)
    return Image.fromarray(reading.paste(np.clip(shown + 0.5, 0, 255).astype(np.uint8)))


def changes(source: Recipe, target: Recipe, layers: Sequence[str]) -> tuple[list[str], dict[str, int], list[str]]:
    """What turns ``source`` into ``target`` on a photo: (ingredients to remove, {ingredient: portions to
    add}, ingredients a photo edit cannot change: sauces and cheese under the toppings, fewer portions)."""
    removed = [i for i in source.ingredients if i in layers and i not in target.ingredients]
    added = {i: target.count(i) - source.count(i) for i in target.ingredients
             if i in layers and target.count(i) > source.count(i)}
    kept_apart = sorted({i for i in set(source.ingredients) ^ set(target.ingredients) if i not in layers}
                        | {i for i in target.ingredients if i in layers and 0 < target.count(i) < source.count(i)})
    return removed, dict(sorted(added.items(), key=lambda kv: layers.index(kv[0]))), kept_apart


def restyle_photo(reading: PhotoReading, target: RecipeLike, seed: int = 0,
                  kitchen: Optional[PaintedKitchen] = None) -> tuple[np.ndarray, list[str]]:
    """The photo edited from its recipe to ``target``: removals first, then additions in drawing order.
    Returns the photo (H, W, 3) uint8 and what could not be edited (ingredient ids)."""
    target = parse_recipe(target, allow_empty=True)
    removed, added, skipped = changes(reading.recipe, target, reading.layers)
    photo = reading.photo
    for ingredient in removed:
        photo = remove(replace(reading, photo=photo), ingredient)
    kitchen = kitchen or portion_kitchen()
    for k, (ingredient, portions) in enumerate(added.items()):
        photo = add(replace(reading, photo=photo), ingredient, portions, seed * 131 + k, kitchen)
    return photo, skipped


def unseen(reading: PhotoReading, target: RecipeLike) -> list[str]:
    """The toppings and drizzles that turning the photo's recipe into ``target`` takes off but the reading found
    no pixel of: nothing of them is removed (the reader missed them, or the photo does not show them)."""
    removed, _, _ = changes(reading.recipe, parse_recipe(target, allow_empty=True), reading.layers)
    return [i for i in removed if not reading.mask(i).any()]


def edit_photo(reader: PhotoReader, image: Image.Image, source: RecipeLike, target: RecipeLike, seed: int = 0,
               kitchen: Optional[PaintedKitchen] = None) -> tuple[Image.Image, Image.Image, list[str], list[str]]:
    """Restyle an uploaded photo: (the photo edited from ``source`` to ``target``, the reader's reading of it,
    what a photo edit cannot change, what it was asked to take off but found none of: ``unseen``), both pictures
    at the photo's own size up to ``MAX_SIDE``."""
    photo = fit_photo_image(image)
    reading = read(reader, photo, source, disc_box(photo))
    result, skipped = restyle_photo(reading, target, seed, kitchen)
    return Image.fromarray(result), reading_image(reading), skipped, unseen(reading, target)


def try_it_photos(renders: Path, menu: Path) -> dict[str, Path]:
    """Try-it photos by name: the kitchens' renders in ``renders`` (``scripts/restyle_examples.py``), and
    the 20 menu photos in ``menu`` when it is there (read in place, never copied)."""
    found = {path.stem.replace("_", " "): path for path in sorted(renders.glob("*.png"))}
    found.update({f"menu photo: {path.stem[3:].replace('-', ' ')}": path for path in sorted(menu.glob("*.png"))})
    return found


__all__ = ["MAX_SIDE", "PhotoReading", "add", "changes", "edit_photo", "fit_photo", "fit_photo_image", "portion_kitchen", "read",
           "reading_image", "remove", "restyle_photo", "try_it_photos", "unseen"]
